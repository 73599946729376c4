// xsock-server: the tutorial's TCP server, serving any number of clients on one
// thread. Bytes from each client go through that client's own line splitter and
// decoder, then out as text or JSON lines; output is written once per loop turn.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "console.hpp"
#include "datagram_view.hpp"
#include "event_log.hpp"
#include "server_console.hpp"
#include "stream_lines.hpp"
#include "tool_support.hpp"
#include "tool_tls.hpp"
#include "udp_console.hpp"
#include "xsock/datagram_socket.hpp"
#include "xsock/encoder.hpp"
#include "xsock/encodings.hpp"
#include "xsock/error.hpp"
#include "xsock/line_splitter.hpp"
#include "xsock/listener.hpp"
#include "xsock/resolve.hpp"
#include "xsock/server.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock::tools {
namespace {

constexpr std::string_view program = "xsock-server";
// How long /kick lets a client take what is queued for it before the connection is
// aborted (README: /kick).
constexpr std::chrono::seconds kick_linger{1};

struct config {
  std::uint16_t port = 7788;
  std::string bind;
  int backlog = 128;
  std::string encoding{default_encoding};
  std::string format = "text";
  bool hex = false;
  bool echo = false;
  bool once = false;
  bool raw = false;
  bool quiet = false;
  std::size_t max_clients = 0;
  std::int64_t idle_timeout_ms = 0;  // whole ms, saturated (decimal_duration)
  std::size_t max_line = line_splitter::default_max_line;
  std::int64_t flush_ms = 0;
  std::string eol = "lf";  // appended to lines typed on standard input (lf, crlf, cr, none)
  view_options view;
  framing how = framing::lf;  // from view
  bool list_encodings = false;
  bool udp = false;       // --udp: one datagram socket, each datagram an event
  std::string multicast;  // --multicast GROUP (UDP): joined on -b's interface
  tls_options tls;        // --tls, --cert, --key, --alpn
};

// What the tool keeps per connection: the text that starts each of its output lines
// (formatted once), and its own line framing and decoding (stream_lines), so clients
// never corrupt each other's characters.
struct client {
  std::string tag;  // text: "[peer] "; JSON: "\"id\":ID,\"peer\":\"peer\""
  stream_lines lines;
  std::uint64_t bytes = 0;
  // When it connected, in whole seconds since the epoch (/list): 4 bytes, with the
  // three fields below in one word (every idle connection holds this).
  std::uint32_t since = 0;
  // The peer's text is tag[peer_at, peer_at + peer_size): an address, never escaped.
  std::uint8_t peer_at = 0;
  std::uint8_t peer_size = 0;
  bool line_open = false;  // the last data event shown was partial
  bool kicked = false;     // /kick closed it: its disconnect reason is `kicked`
  // --tls: turns true once its handshake is over (tool_tls.hpp); null without TLS.
  std::shared_ptr<const bool> handshake_done = nullptr;

  std::string_view peer() const { return std::string_view(tag).substr(peer_at, peer_size); }
};

// Formats events into one buffer that the loop writes out once per turn.
class event_writer {
 public:
  explicit event_writer(const config& cfg)
      : cfg_(cfg), json_(cfg.format == "json"), timestamps_(cfg.view.timestamps) {
    // Text goes to the terminal in the locale's charset; JSON is always UTF-8.
    const std::string local = local_encoding();
    std::error_code ec;
    if (!json_ && canonical_encoding_name(local, ec) != "UTF-8" && !ec)
      to_local_ = std::make_unique<encoder>(local, encode_policy::replace);
  }

  // A new connection's `client`: the start of every line about it (its tag), and its
  // framing and decoding.
  client make_client(server::connection_id id, const std::string& peer) const {
    client c{std::string(), stream_lines(cfg_.encoding, cfg_.max_line, cfg_.hex, cfg_.how)};
    if (json_) {
      c.tag = "\"id\":" + std::to_string(id) + ",\"peer\":";
      c.peer_at = static_cast<std::uint8_t>(c.tag.size() + 1);  // after the quote
      append_json_string(c.tag, peer);
    } else {
      c.tag = "[" + peer + "] ";
      c.peer_at = 1;
    }
    c.peer_size = static_cast<std::uint8_t>(peer.size());
    c.since = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    return c;
  }

  void connected(const client& c) {
    if (cfg_.quiet) return;
    if (json_) {
      begin_json("connect", c);
      buffer_ += "}\n";
    } else {
      text_line(c, "+ connected");
    }
  }

  // One piece of a line (its wire bytes) from `c.lines`: decoded straight into the
  // output, escaped in place. A piece that shows nothing is not shown: one holding only
  // the start of a character or a shift sequence (its text comes with the next piece),
  // or, in text output, the empty end of a line whose text was shown already (JSON
  // ends that line with it). With --packets every piece is a whole event, never shown
  // partial (it is decoded as partial all the same: a character cut at its end comes
  // whole with the next), and the bytes of that cut character are shown at once as
  // `\xc4` (JSON: "incomplete":"c4"). A long piece comes in parts (`more`: parts
  // follow): its event is written out as it is formed, so it is never held twice.
  void data(client& c, std::string_view part, bool partial, bool more = false) {
    std::string& target = json_ || !to_local_ ? buffer_ : scratch_;
    if (!in_piece_) {
      in_piece_ = true;
      piece_written_ = false;
      piece_invalid_ = 0;
      piece_mark_ = target.size();
      if (json_) {
        begin_json("data", c);
        target += cfg_.hex ? ",\"hex\":\"" : ",\"text\":\"";
      } else {
        if (timestamps_) append_local_time(target);
        target += c.tag;
      }
      piece_text_at_ = target.size();
    }
    const std::size_t from = target.size();
    if (cfg_.hex) {
      append_hex(part, target);
    } else {
      std::uint64_t invalid = 0;
      c.lines.append_text(part, partial || more, target, invalid);
      piece_invalid_ += invalid;
      // Text the decoder found plain needs no second look.
      if (json_) {
        if (!c.lines.last_text_json_plain()) escape_json_in_place(target, from);
      } else if (!cfg_.raw && !c.lines.last_text_plain()) {
        escape_terminal_in_place(target, from);
      }
    }
    if (more) {
      if (target.size() >= write_early_at) write_early(target);
      return;
    }
    in_piece_ = false;
    const bool open = partial && !cfg_.view.packets;
    const std::string_view cut =
        cfg_.view.packets ? c.lines.incomplete_tail(part) : std::string_view();
    if (!piece_written_ && target.size() == piece_text_at_ && piece_invalid_ == 0 && cut.empty() &&
        (partial || (!json_ && c.line_open))) {
      target.resize(piece_mark_);
      if (!partial) c.line_open = false;
      return;
    }
    if (json_) {
      target += '"';
      if (!cfg_.hex) {
        target += ",\"invalid\":";
        append_number(target, piece_invalid_);
      }
      if (!cut.empty()) {
        target += ",\"incomplete\":\"";
        target += to_hex(cut);
        target += '"';
      }
      if (open) target += ",\"partial\":true";
      target += "}\n";
    } else {
      append_byte_escapes(cut, target);
      target += '\n';
      to_local(target);
    }
    c.line_open = open;
  }

  // Text already decoded (the rest of a stream at its end): `data` without decoding.
  void text(client& c, std::string_view utf8, std::uint64_t invalid, bool partial) {
    if (cfg_.hex) {
      hex_data(c, utf8, partial);
      return;
    }
    if (json_) {
      begin_json("data", c);
      buffer_ += ",\"text\":";
      append_json_string(buffer_, utf8);
      buffer_ += ",\"invalid\":";
      append_number(buffer_, invalid);
      if (partial) buffer_ += ",\"partial\":true";
      buffer_ += "}\n";
    } else {
      text_line_with(c, [&](std::string& out) {
        if (cfg_.raw)
          out.append(utf8.data(), utf8.size());
        else
          escape_for_terminal(utf8, out);
      });
    }
    c.line_open = partial;
  }

  // `error`: what went wrong, for reason `error` (--tls: "tls handshake: ..."); empty:
  // nothing is added.
  void disconnected(const client& c, std::uint64_t bytes, std::uint64_t invalid, const char* reason,
                    const std::string& error = std::string()) {
    if (cfg_.quiet) return;
    if (json_) {
      begin_json("disconnect", c);
      buffer_ += ",\"bytes\":" + std::to_string(bytes);
      buffer_ += ",\"reason\":\"";
      buffer_ += reason;
      buffer_ += "\",\"invalid\":" + std::to_string(invalid);
      if (!error.empty()) {
        buffer_ += ",\"error\":";
        append_json_string(buffer_, error);
      }
      buffer_ += "}\n";
    } else {
      std::string text = "- disconnected (" + std::to_string(bytes) + " bytes";
      if (invalid > 0) text += ", " + std::to_string(invalid) + " invalid";
      if (std::string_view(reason) != "closed") text += std::string(", ") + reason;
      if (!error.empty()) text += ": " + error;
      text += ")";
      text_line(c, text);
    }
  }

  // Bytes the console sent to a client: `shown` is the UTF-8 text typed, or the bytes
  // themselves when `hex`; `bytes` the wire bytes.
  void sent(const client& c, std::string_view shown, bool hex, std::size_t bytes) {
    if (json_) {
      begin_json("sent", c);
      if (hex) {
        buffer_ += ",\"hex\":\"";
        buffer_ += to_hex(shown);
        buffer_ += '"';
      } else {
        buffer_ += ",\"text\":";
        append_json_string(buffer_, shown);
      }
      buffer_ += ",\"bytes\":";
      append_number(buffer_, bytes);
      buffer_ += "}\n";
    } else {
      text_line_with(c, [&](std::string& out) {
        out += hex ? "> (hex) " + to_hex(shown) : "> ";
        if (!hex) escape_for_terminal(shown, out);
      });
    }
  }

  // Ends a line whose last piece was shown partial: JSON gets an empty, final piece;
  // text output shows no partial marks, so there is nothing to end.
  void end_of_line(client& c) {
    if (json_) text(c, std::string_view(), 0, false);
  }

  // What is formed and not written yet; past `flush_at` it is written before the turn
  // ends.
  std::size_t buffered() const noexcept { return buffer_.size(); }
  static constexpr std::size_t flush_at = 1024 * 1024;

  // Writes what this turn produced. False when standard output is gone.
  bool flush(std::error_code& ec) {
    ec.clear();
    if (write_error_) {
      ec = write_error_;
      return false;
    }
    if (buffer_.empty()) return true;
    const bool ok = write_output(buffer_, ec);
    buffer_.clear();
    // A turn with much output (a huge line) does not keep its buffer for good.
    if (buffer_.capacity() > 1024 * 1024) std::string().swap(buffer_);
    return ok;
  }

 private:
  static void append_number(std::string& out, std::uint64_t n) {
    char digits[20];
    char* p = digits + sizeof digits;
    do {
      *--p = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n != 0);
    out.append(p, static_cast<std::size_t>(digits + sizeof digits - p));
  }

  void begin_json(const char* event, const client& c) {
    buffer_ += "{\"event\":\"";
    buffer_ += event;
    if (timestamps_) {
      buffer_ += "\",\"ts\":\"";
      const auto now = std::chrono::system_clock::now();
      if (stamp_utc_.empty() || !same_millisecond(now, utc_at_)) {
        stamp_utc_ = utc_time_text(now);
        utc_at_ = now;
      }
      buffer_ += stamp_utc_;
    }
    buffer_ += "\",";
    buffer_ += c.tag;
  }

  // --timestamps in text: the local time and a space. The text of one millisecond is
  // formatted once, however many events share it.
  void append_local_time(std::string& out) {
    const auto now = std::chrono::system_clock::now();
    if (stamp_local_.empty() || !same_millisecond(now, local_at_)) {
      stamp_local_ = local_time_text(now) + ' ';
      local_at_ = now;
    }
    out += stamp_local_;
  }

  static bool same_millisecond(std::chrono::system_clock::time_point a,
                               std::chrono::system_clock::time_point b) {
    using std::chrono::milliseconds;
    return std::chrono::time_point_cast<milliseconds>(a) ==
           std::chrono::time_point_cast<milliseconds>(b);
  }

  static void append_hex(std::string_view bytes, std::string& out) {
    static const char digits[] = "0123456789abcdef";
    for (const char ch : bytes) {
      const auto b = static_cast<unsigned char>(ch);
      const char pair[] = {digits[b >> 4], digits[b & 15]};
      out.append(pair, sizeof pair);
    }
  }

  // The part of a long event formed so far goes out now (the event goes on): the
  // output buffer stays small however long the line.
  void write_early(std::string& target) {
    to_local(target);  // the text formed in scratch_, if any, into buffer_
    if (!write_error_) write_output(buffer_, write_error_);
    buffer_.clear();
    piece_written_ = true;
  }

  void hex_data(const client& c, std::string_view bytes, bool partial) {
    if (json_) {
      begin_json("data", c);
      buffer_ += ",\"hex\":\"";
      buffer_ += to_hex(bytes);
      buffer_ += '"';
      if (partial) buffer_ += ",\"partial\":true";
      buffer_ += "}\n";
    } else {
      text_line(c, to_hex(bytes));
    }
  }

  void text_line(const client& c, const std::string& utf8) {
    text_line_with(c, [&](std::string& out) { out += utf8; });
  }

  // `append(target)` adds the UTF-8 text of the line.
  template <typename Append>
  void text_line_with(const client& c, Append&& append) {
    std::string& target = to_local_ ? scratch_ : buffer_;
    if (timestamps_) append_local_time(target);
    target += c.tag;
    append(target);
    target += '\n';
    to_local(target);
  }

  // A text line formed in scratch_ goes to the output in the locale's charset.
  void to_local(std::string& line) {
    if (!to_local_ || &line != &scratch_) return;
    std::error_code ec;
    to_local_->encode(scratch_, buffer_, ec);
    if (ec) buffer_ += scratch_;
    scratch_.clear();
  }

  const config& cfg_;
  bool json_;
  bool timestamps_;
  std::string stamp_utc_;  // --timestamps: the last time formatted, and when it was
  std::string stamp_local_;
  std::chrono::system_clock::time_point utc_at_;
  std::chrono::system_clock::time_point local_at_;
  std::unique_ptr<encoder> to_local_;
  std::string buffer_;
  std::string scratch_;  // a text line before its conversion to the local charset
  // A long piece that `data` takes in parts: where its event starts and its text
  // begins in the target (until part of it was written out), its invalid count.
  static constexpr std::size_t write_early_at = 1024 * 1024;
  bool in_piece_ = false;
  bool piece_written_ = false;
  std::size_t piece_mark_ = 0;
  std::size_t piece_text_at_ = 0;
  std::uint64_t piece_invalid_ = 0;
  std::error_code write_error_;  // from writing early; flush() reports it
};

// Set when a console reader was left blocked reading standard input: main ends the
// process with _Exit (see console_reader).
bool console_abandoned = false;

// Set from the signal handler: SIGINT/SIGTERM may arrive before the server exists.
std::atomic<bool> interrupted{false};
std::atomic<server*> running{nullptr};
std::atomic<event_loop*> running_loop{nullptr};  // --udp

void stop_running_server() {
  interrupted.store(true);
  if (server* s = running.load()) s->stop();
  if (event_loop* loop = running_loop.load()) loop->stop();
}

listener open_listener(const config& cfg) {
  listen_options options;
  options.backlog = cfg.backlog;
  listener l;
  if (!cfg.bind.empty()) {
    std::error_code ec;
    const std::string host = unbracketed_host(cfg.bind);
    endpoint where = endpoint::from_address(host, cfg.port, ec);
    if (ec) {
      // Not a numeric address: a host name (resolve errors are runtime failures).
      where = resolve(host, std::to_string(cfg.port)).front();
    }
    l.listen(where, options);
    return l;
  }
  // Default: dual-stack `::` where the system has IPv6, else 0.0.0.0.
  std::error_code ec;
  options.v6_only = false;
  l.listen(endpoint::any_v6(cfg.port), options, ec);
  if (!ec) return l;
  if (ec == std::errc::address_family_not_supported || ec == std::errc::address_not_available ||
      ec == std::errc::protocol_not_supported) {
    l.listen(endpoint::any_v4(cfg.port), options);
    return l;
  }
  // Report the real failure (address in use, permission denied) the throwing way.
  l.listen(endpoint::any_v6(cfg.port), options);
  return l;
}

int serve(const config& cfg) {
  // --tls: the certificate and key are loaded (and checked) before listening.
  std::unique_ptr<tls_setup> tls;
  if (cfg.tls.on) tls = std::make_unique<tls_setup>(cfg.tls, tls_end::server);
  // Installed before the `listening on` line: a test (or a user) may signal as soon
  // as it sees it.
  on_interrupt(stop_running_server);
  listener l = open_listener(cfg);

  server_options options;
  options.max_connections = cfg.max_clients;
  // 0 means no idle timeout on the command line; the library's zero means "at once".
  if (cfg.idle_timeout_ms > 0)
    options.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
  // The library's default (64 KiB): fewer turns, so fewer system calls, per byte. What
  // one turn produces for stdout stays bounded: on_data writes out once it holds
  // flush_at, whatever the number of clients.

  // --tls: the layer of each connection is made as it is accepted, before its
  // on_accept, which takes its handshake flag (by peer: no two connections share one).
  std::unordered_map<std::string, std::shared_ptr<const bool>> tls_made;
  stream_layer_factory layers;
  if (tls) {
    layers = tls->server_layers([&](const endpoint& peer, std::shared_ptr<const bool> established) {
      tls_made[peer.to_string()] = std::move(established);
    });
  }

  event_writer out(cfg);
  event_log log = cfg.view.log.empty() ? event_log() : event_log(cfg.view.log, program);
  std::unordered_map<server::connection_id, client> clients;
  // Bytes the console sent, for the clients it sent to (/list): kept apart, as few
  // clients get any.
  std::unordered_map<server::connection_id, std::uint64_t> console_sent;
  std::error_code output_error;
  bool served_one = false;

  server::callbacks cb;
  cb.on_accept = [&](server& s, server::connection_id id, const endpoint& peer) {
    if (cfg.once) {
      // Serve this one client only: later ones are refused, not queued.
      s.stop_accepting();
      served_one = true;
    }
    client c = out.make_client(id, peer.to_string());
    if (!tls_made.empty()) {
      const auto made = tls_made.find(peer.to_string());
      if (made != tls_made.end()) {
        c.handshake_done = std::move(made->second);
        tls_made.erase(made);
      }
    }
    out.connected(c);
    log.record("connect", id, c.peer());
    clients.emplace(id, std::move(c));
  };
  cb.on_data = [&](server& s, server::connection_id id, std::string_view bytes) {
    const auto it = clients.find(id);
    if (it == clients.end()) return;
    client& c = it->second;
    c.bytes += bytes.size();
    log.record("received", id, c.peer(), bytes, true);
    if (cfg.echo) {
      // Cannot overflow: reading pauses long before the queue reaches its cap.
      std::error_code ignored;
      if (s.send(id, bytes, ignored)) log.record("sent", id, c.peer(), bytes, true);
    }
    c.lines.push(bytes, [&](std::string_view piece, line_end end, bool more) {
      out.data(c, piece, end == line_end::max_length || end == line_end::flush, more);
    });
    if (out.buffered() >= event_writer::flush_at && !output_error && !out.flush(output_error))
      s.stop();
    if (cfg.flush_ms > 0) {
      if (c.lines.buffered() > 0)
        s.set_timer(id, std::chrono::milliseconds(cfg.flush_ms));
      else
        s.cancel_timer(id);
    }
  };
  cb.on_timer = [&](server&, server::connection_id id) {
    const auto it = clients.find(id);
    if (it == clients.end()) return;
    it->second.lines.flush([&](std::string_view piece, line_end end, bool more) {
      out.data(it->second, piece, end == line_end::flush, more);
    });
  };
  cb.on_close = [&](server& s, server::connection_id id, close_reason reason,
                    const std::error_code& ec) {
    const auto it = clients.find(id);
    if (it == clients.end()) return;
    client& c = it->second;
    c.lines.finish([&](std::string_view piece, line_end end, bool more) {
      out.data(c, piece, end == line_end::max_length || end == line_end::flush, more);
    });
    std::uint64_t invalid = 0;
    const std::string rest = c.lines.rest(invalid);
    // A character cut at the very end (after a flushed piece) never completed.
    if (!rest.empty()) out.text(c, rest, invalid, false);
    // The last piece shown was partial (--flush-ms) and nothing came after it: the
    // line ends here, and the last piece of a line is never partial.
    if (c.line_open) out.end_of_line(c);
    const char* why = c.kicked                        ? "kicked"
                      : reason == close_reason::local ? "closed"
                                                      : to_string(reason);
    // --tls: a client that fails its handshake (a plain TCP client, an untrusted
    // certificate on its side) is a connection that ends with an error, said with it.
    std::string error;
    if (c.handshake_done && reason == close_reason::error && ec)
      error = (*c.handshake_done ? std::string("tls: ") : std::string("tls handshake: ")) +
              error_text(ec);
    out.disconnected(c, c.bytes, c.lines.invalid_total(), why, error);
    std::string fields = std::string(",\"reason\":\"") + why + "\"";
    if (!error.empty()) {
      fields += ",\"error\":";
      append_json_string(fields, error);
    }
    log.record("disconnect", id, c.peer(), {}, false, fields);
    clients.erase(it);
    console_sent.erase(id);
    if (cfg.once && served_one) s.stop();
  };
  cb.on_turn = [&](server& s) {
    if (!output_error && !out.flush(output_error)) s.stop();
  };

  server s(std::move(l), options, std::move(cb), std::move(layers));
  // Lines typed on standard input go to the clients (tools/server/server_console.cpp).
  server_console::hooks hooks;
  hooks.clients = [&] {
    std::vector<console_client> list;
    for (const auto& entry : clients) {
      const client& c = entry.second;
      const auto sent = console_sent.find(entry.first);
      list.push_back({entry.first, std::string(c.peer()), c.bytes,
                      sent == console_sent.end() ? 0 : sent->second,
                      std::chrono::system_clock::time_point(std::chrono::seconds(c.since))});
    }
    std::sort(list.begin(), list.end(),
              [](const console_client& a, const console_client& b) { return a.id < b.id; });
    return list;
  };
  hooks.send = [&](std::uint64_t id, std::string_view wire, std::string_view shown, bool hex,
                   std::string& error) {
    const auto it = clients.find(id);
    std::error_code ec;
    if (it == clients.end() || !s.send(id, wire, ec)) {
      error = error_text(ec ? ec : std::make_error_code(std::errc::not_connected));
      return false;
    }
    console_sent[id] += wire.size();
    log.record("sent", id, it->second.peer(), wire, true);
    out.sent(it->second, shown, hex, wire.size());
    return true;
  };
  hooks.kick = [&](std::uint64_t id) {
    const auto it = clients.find(id);
    if (it == clients.end()) return false;
    it->second.kicked = true;
    s.close(id);
    // A client that takes nothing would keep a graceful close open for good: what is
    // still queued after kick_linger is dropped (ids are never reused, and closing a
    // connection that is gone does nothing).
    s.loop().after(kick_linger, [&s, id](event_loop&) { s.close(id, close_mode::abort); });
    return true;
  };
  server_console console(cfg.encoding,
                         cfg.eol == "crlf" ? "\r\n"
                         : cfg.eol == "lf" ? "\n"
                         : cfg.eol == "cr" ? "\r"
                                           : "",
                         std::move(hooks));
  console_reader reader(s.loop(), [&](std::string_view line, std::uint64_t number) {
    console.execute(line, number);
  });
  running.store(&s);
  if (interrupted.load()) s.stop();
  // Printed once everything is set up: whoever reads it can connect, signal, or count
  // our descriptors at once.
  write_error("listening on " + s.local_endpoint().to_string() + "\n");
  s.run();
  running.store(nullptr);
  reader.stop();
  console_abandoned = reader.abandoned();
  if (!output_error) out.flush(output_error);
  if (output_error) {
    std::string what = "write to standard output: " + error_text(output_error);
    if (output_error == std::errc::timed_out && interrupted.load())
      what += " after the stop request; the rest of the output was dropped";
    print_error(program, what);
    return exit_failure;
  }
  return exit_ok;
}

// --udp: a datagram socket on the address rules of the listener (-b, else dual-stack
// `::` where the system has IPv6, else 0.0.0.0). With --multicast the socket binds the
// wildcard address of the group's family on PORT (a socket bound to a unicast address
// is not given datagrams sent to a group) and joins the group on the interface whose
// address -b gives (the system's choice without -b).
datagram_socket open_datagram_socket(const config& cfg) {
  datagram_socket socket;
  bind_options options;
  endpoint where;
  const bool bound = !cfg.bind.empty();
  if (bound) {
    std::error_code ec;
    const std::string host = unbracketed_host(cfg.bind);
    where = endpoint::from_address(host, cfg.port, ec);
    if (ec) where = resolve(host, std::to_string(cfg.port)).front();
  }
  if (!cfg.multicast.empty()) {
    std::error_code ec;
    const endpoint group = endpoint::from_address(unbracketed_host(cfg.multicast), cfg.port, ec);
    if (ec || group.is_v6())
      throw usage_error("--multicast " + cfg.multicast +
                        ": give a numeric IPv4 group address (224.0.0.0 to 239.255.255.255)");
    if (bound && (!where.is_v4() || where.is_unspecified()))
      throw usage_error("--multicast: -b must be the IPv4 address of the interface to join on");
    options.reuse_address = true;  // several listeners of one group on one host
    socket.bind(endpoint::any_v4(cfg.port), options);
    socket.join_group(group, bound ? where : endpoint::any_v4());
    return socket;
  }
  if (bound) {
    options.v6_only = where.is_v6();
    socket.bind(where, options);
    return socket;
  }
  std::error_code ec;
  options.v6_only = false;
  socket.bind(endpoint::any_v6(cfg.port), options, ec);
  if (!ec) return socket;
  if (ec == std::errc::address_family_not_supported || ec == std::errc::address_not_available ||
      ec == std::errc::protocol_not_supported) {
    socket = datagram_socket();
    socket.bind(endpoint::any_v4(cfg.port), options);
    return socket;
  }
  socket.bind(endpoint::any_v6(cfg.port), options);  // reports the failure, the throwing way
  return socket;
}

// xsock-server --udp: every datagram is an event of its own, decoded on its own (a
// character cut at its end is shown as escapes), shown with its sender; the console
// sends to the last sender or to /to ADDR:PORT. Output is written once per loop turn.
int serve_udp(const config& cfg) {
  on_interrupt(stop_running_server);
  datagram_socket socket = open_datagram_socket(cfg);
  const endpoint local = socket.local_endpoint();

  datagram_format format;
  format.json = cfg.format == "json";
  format.hex = cfg.hex;
  format.raw = cfg.raw;
  format.timestamps = cfg.view.timestamps;
  format.how = cfg.how;
  datagram_decoder decoder(cfg.encoding);
  // Text goes to the terminal in the locale's charset; JSON is always UTF-8.
  std::unique_ptr<encoder> to_local;
  {
    const std::string local_name = local_encoding();
    std::error_code ec;
    if (!format.json && canonical_encoding_name(local_name, ec) != "UTF-8" && !ec)
      to_local = std::make_unique<encoder>(local_name, encode_policy::replace);
  }
  std::string output;
  std::string event;  // one event in UTF-8, before its conversion to the local charset
  const auto emit = [&] {
    std::error_code ec;
    if (to_local) to_local->encode(event, output, ec);
    if (!to_local || ec) output += event;
    event.clear();
  };
  std::error_code output_error;
  event_log log = cfg.view.log.empty() ? event_log() : event_log(cfg.view.log, program);
  peer_list peers;

  event_loop::callbacks cb;
  cb.on_turn = [&](event_loop& loop) {
    if (output_error || output.empty()) return;
    write_output(output, output_error);
    output.clear();
    if (output.capacity() > 1024 * 1024) std::string().swap(output);
    if (output_error) loop.stop();
  };
  loop_options options;
  event_loop loop(options, std::move(cb));

  event_loop::datagram_handlers handlers;
  handlers.on_datagram = [&](event_loop& l, event_loop::id_type id, const endpoint& peer,
                             std::string_view bytes, bool truncated) {
    const auto now = std::chrono::system_clock::now();
    peers.seen(peer, bytes.size(), now);
    const std::string name = peer.to_string();
    log.record("received", 0, name, bytes, true, truncated ? ",\"truncated\":true" : "");
    if (cfg.echo) {
      std::error_code ec;
      if (l.send_to(id, peer, bytes, ec))
        log.record("sent", 0, name, bytes, true);
      else
        print_error(program, "send to " + name + ": " + error_text(ec));
    }
    format_datagram(format, decoder, name, bytes, truncated, now, event);
    emit();
  };
  handlers.on_error = [&](event_loop&, event_loop::id_type, const std::error_code& ec,
                          const endpoint& peer) {
    // A peer that is gone (ICMP port unreachable) or a datagram the path refused:
    // said, and the server goes on.
    if (peer == endpoint())
      print_error(program, "receive on " + local.to_string() + ": " + error_text(ec));
    else
      print_error(program, "send to " + peer.to_string() + ": " + error_text(ec));
  };
  const event_loop::id_type id = loop.adopt(std::move(socket), std::move(handlers));

  const bool v6_socket = local.is_v6();
  udp_console console(cfg.encoding,
                      cfg.eol == "crlf" ? "\r\n"
                      : cfg.eol == "lf" ? "\n"
                      : cfg.eol == "cr" ? "\r"
                                        : "",
                      peers,
                      [&](const endpoint& to, std::string_view wire, std::string_view shown,
                          bool hex, std::string& error) {
                        // A dual-stack socket sends to IPv4 peers by their IPv4-mapped address.
                        endpoint dest = to;
                        if (v6_socket && to.is_v4()) dest = endpoint(to.v6_bytes(), to.port());
                        if (!v6_socket && to.is_v4_mapped())
                          dest = endpoint(to.v4_bytes(), to.port());
                        std::error_code ec;
                        if (!loop.send_to(id, dest, wire, ec)) {
                          error = error_text(ec);
                          return false;
                        }
                        const std::string name = to.to_string();
                        log.record("sent", 0, name, wire, true);
                        if (format.json) {
                          event += "{\"event\":\"sent\"";
                          if (format.timestamps)
                            event += ",\"ts\":\"" +
                                     utc_time_text(std::chrono::system_clock::now()) + '"';
                          event += ",\"peer\":";
                          append_json_string(event, name);
                          if (hex) {
                            event += ",\"hex\":\"" + to_hex(shown) + '"';
                          } else {
                            event += ",\"text\":";
                            append_json_string(event, shown);
                          }
                          event += ",\"bytes\":" + std::to_string(wire.size()) + "}\n";
                        } else {
                          if (format.timestamps)
                            event += local_time_text(std::chrono::system_clock::now()) + ' ';
                          event += "[" + name + "] ";
                          event += hex ? "> (hex) " + to_hex(shown) : "> ";
                          if (!hex) escape_for_terminal(shown, event);
                          event += '\n';
                        }
                        emit();
                        return true;
                      });
  console_reader reader(
      loop, [&](std::string_view line, std::uint64_t number) { console.execute(line, number); });
  running_loop.store(&loop);
  if (interrupted.load()) loop.stop();
  // The shape of the TCP line (a test reads the port after the last ':').
  write_error("listening on udp " + local.to_string() + "\n");
  loop.run();
  running_loop.store(nullptr);
  reader.stop();
  console_abandoned = reader.abandoned();
  if (!output_error && !output.empty()) write_output(output, output_error);
  if (output_error) {
    std::string what = "write to standard output: " + error_text(output_error);
    if (output_error == std::errc::timed_out && interrupted.load())
      what += " after the stop request; the rest of the output was dropped";
    print_error(program, what);
    return exit_failure;
  }
  return exit_ok;
}

int run(int argc, char** argv) {
  console_init();
  config cfg;
  CLI::App app(
      "Receives text from any number of TCP clients (or, with --udp, UDP peers) on one "
      "thread and prints it, a line per event.",
      std::string(program));
  app.add_option("PORT", cfg.port, "Port to listen on; 0 picks a free one")
      ->default_val(7788)
      ->transform(decimal_integer(0, 65535));
  app.add_option("-b,--bind", cfg.bind,
                 "Address to listen on (default: all interfaces, IPv6 and IPv4)");
  app.add_option("--backlog", cfg.backlog, "Pending-connection queue length")
      ->default_val(128)
      ->transform(decimal_integer(1, 65535));
  app.add_option("-e,--encoding", cfg.encoding, "Wire encoding (any ICU converter name)")
      ->default_val(std::string(default_encoding));
  app.add_flag("--list-encodings", cfg.list_encodings, "Print the encoding names and exit");
  app.add_option("--format", cfg.format, "Output format")
      ->default_val("text")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--hex", cfg.hex, "Show received bytes as hex instead of text");
  app.add_flag("--echo", cfg.echo, "Send every received byte back to its sender");
  app.add_flag("--once", cfg.once, "Serve one client, then exit");
  app.add_option("--max-clients", cfg.max_clients,
                 "Clients served at once (0: no limit; more wait in the backlog)")
      ->transform(decimal_integer(0, 4294967295));
  app.add_option("--idle-timeout", cfg.idle_timeout_ms,
                 "Disconnect a client silent for SEC seconds (0: never)")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, false));
  app.add_option("--max-line", cfg.max_line, "Longest line in bytes; longer ones come in pieces")
      ->default_val(line_splitter::default_max_line)
      ->transform(decimal_integer(1, std::uint64_t{1} << 30));
  app.add_option("--flush-ms", cfg.flush_ms,
                 "Show a partial line after MS ms without new bytes (0: only at close)")
      ->type_name("MS")
      ->transform(decimal_duration(time_unit::milliseconds, false));
  app.add_option("--eol", cfg.eol, "Appended to each line typed on standard input")
      ->default_val("lf")
      ->check(CLI::IsMember({"lf", "crlf", "cr", "none"}));
  add_view_options(app, cfg.view,
                   "Show what each read returned, as it arrived, instead of cutting lines",
                   "Add the time to every event (text: local time; JSON: \"ts\", UTC)");
  app.add_flag("--raw", cfg.raw, "Print control characters unescaped");
  app.add_flag("-q,--quiet", cfg.quiet, "No connect/disconnect events");
  app.add_flag("--udp", cfg.udp,
               "UDP: one datagram socket; each datagram is an event shown with its sender");
  app.add_option("--multicast", cfg.multicast,
                 "With --udp: join the IPv4 multicast GROUP (on the interface of -b's address)")
      ->type_name("GROUP");
  add_tls_options(app, cfg.tls, tls_end::server);
  app.set_version_flag("--version", version_line(program));
  app.footer(R"(Output (stdout): a line per event; the line "listening on ADDR:PORT" goes to stderr.
  [127.0.0.1:50412] + connected
  [127.0.0.1:50412] 你好，世界
  [127.0.0.1:50412] - disconnected (15 bytes)

Examples:
  xsock-server                         listen on port 7788, GBK, like the tutorial
  xsock-server 0 -e UTF-8 --echo       a free port, UTF-8, echo everything back
  xsock-server 7788 --format json -q   JSON lines, data events only
  xsock-server --once --hex 9000       one client, bytes shown as hex
  xsock-server --tls --cert server.pem --key server.key 8443   TLS (xsock-client --tls)

Standard input: each line typed goes to every client; /help lists the commands
(/list, /to ID TEXT, /hex ID|all HEX, /kick ID; // sends a line starting with /).

UDP (--udp): each datagram is an event, "[127.0.0.1:5000] text"; typed lines go to the
last sender (/to ADDR:PORT TEXT, /hex ADDR:PORT|last HEX, /list: recent peers).
  xsock-server --udp 9000              datagrams on port 9000, GBK
  xsock-server --udp --echo 0          a free port, every datagram sent back

Exit status: 0 normal end (also after SIGINT/SIGTERM), 1 runtime failure, 2 usage error.)");

  const int parsed = parse_command_line(app, program, console_arguments(argc, argv));
  if (parsed >= 0) return parsed;
  if (cfg.list_encodings) return list_encodings_command();
  cfg.encoding = checked_encoding(cfg.encoding);
  cfg.how = cfg.view.how();
  const std::string tls_error = check_tls_options(app, cfg.tls, tls_end::server, cfg.udp);
  if (!tls_error.empty()) {
    print_error(program, tls_error);
    return exit_usage;
  }
  if (!cfg.multicast.empty() && !cfg.udp) {
    print_error(program, "--multicast needs --udp (see --help)");
    return exit_usage;
  }
  if (cfg.udp) {
    // Options about connections or a byte stream: a datagram socket has neither.
    for (const char* name : {"--once", "--max-clients", "--backlog", "--idle-timeout", "--max-line",
                             "--flush-ms", "--packets"}) {
      if (app.count(name) == 0) continue;
      print_error(program, std::string(name) +
                               " does not apply to --udp (no connections; every datagram is "
                               "shown whole, as one event)");
      return exit_usage;
    }
    return serve_udp(cfg);
  }
  return serve(cfg);
}

}  // namespace
}  // namespace xsock::tools

int main(int argc, char** argv) {
  const int code = xsock::tools::guarded_main(xsock::tools::program,
                                              [&] { return xsock::tools::run(argc, argv); });
  // The console reader still blocked reading standard input cannot be joined; all
  // output is written (nothing is buffered), so end without running destructors.
  // A --log writer blocked for good (a FIFO nobody reads) is left behind the same way.
  const bool logs_done = xsock::tools::finish_event_logs();
  if (xsock::tools::console_abandoned || !logs_done) std::_Exit(code);
  return code;
}
