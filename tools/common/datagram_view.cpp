#include "datagram_view.hpp"

#include <algorithm>

#include "tool_support.hpp"
#include "xsock/datagram_socket.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock::tools {

std::size_t datagram_limit(const endpoint& to) noexcept {
  return to.is_v6() && !to.is_v4_mapped() ? max_datagram_v6 : max_datagram_v4;
}

std::string oversize_message(std::size_t size, const endpoint& to) {
  const bool v6 = to.is_v6() && !to.is_v4_mapped();
  return "datagram of " + std::to_string(size) + " bytes is over the limit of " +
         std::to_string(datagram_limit(to)) + (v6 ? " (IPv6)" : " (IPv4)");
}

datagram_decoder::datagram_decoder(const std::string& encoding)
    : decoder_(encoding, decode_policy::replace) {}

std::string_view datagram_decoder::decode(std::string_view bytes, framing how, std::string& out,
                                          std::uint64_t& invalid) {
  const std::size_t from = out.size();
  const std::uint64_t before = decoder_.invalid_count();
  decoder_.decode(bytes, out);
  // What the decoder keeps is a character the datagram cut: shown as bytes, never
  // completed by the next datagram.
  const std::size_t kept = std::min(decoder_.pending_bytes(), bytes.size());
  invalid = decoder_.invalid_count() - before;
  decoder_.reset();
  // Every datagram starts a stream: a byte order mark there is no text.
  static constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (out.compare(from, bom.size(), bom) == 0) out.erase(from, bom.size());
  if (kept == 0 && out.size() > from) {
    const std::string_view text = std::string_view(out).substr(from);
    std::size_t drop = 0;
    const bool lf = text.back() == '\n';
    const bool cr = text.back() == '\r';
    const bool crlf = lf && text.size() >= 2 && text[text.size() - 2] == '\r';
    switch (how) {
      case framing::lf:
        drop = crlf ? 2 : lf ? 1 : 0;
        break;
      case framing::cr:
        drop = cr ? 1 : 0;
        break;
      case framing::crlf:
        drop = crlf ? 2 : 0;
        break;
      case framing::any:
        drop = crlf ? 2 : (lf || cr) ? 1 : 0;
        break;
      case framing::packets:
        break;
    }
    out.resize(out.size() - drop);
  }
  return bytes.substr(bytes.size() - kept);
}

void format_datagram(const datagram_format& format, datagram_decoder& decoder,
                     std::string_view peer, std::string_view bytes, bool truncated,
                     std::chrono::system_clock::time_point now, std::string& out) {
  if (format.json) {
    out += "{\"event\":\"data\"";
    if (format.timestamps) out += ",\"ts\":\"" + utc_time_text(now) + '"';
    if (!peer.empty()) {
      out += ",\"peer\":";
      append_json_string(out, peer);
    }
    if (format.hex) {
      out += ",\"hex\":\"" + to_hex(bytes) + '"';
    } else {
      out += ",\"text\":\"";
      const std::size_t from = out.size();
      std::uint64_t invalid = 0;
      const std::string_view cut = decoder.decode(bytes, format.how, out, invalid);
      escape_json_in_place(out, from);
      out += "\",\"invalid\":" + std::to_string(invalid);
      if (!cut.empty()) out += ",\"incomplete\":\"" + to_hex(cut) + '"';
    }
    out += ",\"bytes\":" + std::to_string(bytes.size());
    if (truncated) out += ",\"truncated\":true";
    out += "}\n";
    return;
  }
  if (format.timestamps) out += local_time_text(now) + ' ';
  if (!peer.empty()) {
    out += '[';
    out.append(peer.data(), peer.size());
    out += "] ";
  }
  if (format.hex) {
    out += to_hex(bytes);
  } else {
    const std::size_t from = out.size();
    std::uint64_t invalid = 0;
    const std::string_view cut = decoder.decode(bytes, format.how, out, invalid);
    if (!format.raw) escape_terminal_in_place(out, from);
    append_byte_escapes(cut, out);
  }
  if (truncated) out += " (truncated)";
  out += '\n';
}

void peer_list::seen(const endpoint& peer, std::size_t size,
                     std::chrono::system_clock::time_point when) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const entry& e) { return e.peer == peer; });
  entry e;
  if (it != entries_.end()) {
    e = *it;
    entries_.erase(it);
  } else {
    e.peer = peer;
    if (entries_.size() >= capacity_ && !entries_.empty()) entries_.pop_back();
  }
  ++e.datagrams;
  e.bytes += size;
  e.last = when;
  entries_.insert(entries_.begin(), e);
}

bool peer_list::last(endpoint& peer) const {
  if (entries_.empty()) return false;
  peer = entries_.front().peer;
  return true;
}

std::string peer_list::text(std::chrono::system_clock::time_point now) const {
  if (entries_.empty()) return "no datagram received yet\n";
  std::string out;
  for (const entry& e : entries_) {
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - e.last).count();
    out += e.peer.to_string() + "  " + std::to_string(e.datagrams) +
           (e.datagrams == 1 ? " datagram, " : " datagrams, ") + std::to_string(e.bytes) +
           " bytes, last at " + local_time_text(e.last).substr(0, 8) + " (" +
           std::to_string(std::max<long long>(ago, 0)) + " s ago)\n";
  }
  return out;
}

}  // namespace xsock::tools
