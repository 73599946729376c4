#include "udp_session.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "console.hpp"
#include "tool_support.hpp"
#include "xsock/encodings.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock::tools::client {

endpoint udp_destination(const config& cfg) {
  const auto port = static_cast<std::uint16_t>(cfg.port);
  std::error_code ec;
  if (!cfg.multicast.empty()) {
    const endpoint group = endpoint::from_address(unbracketed_host(cfg.multicast), port, ec);
    if (ec || group.is_v6())
      throw usage_error("--multicast " + cfg.multicast +
                        ": give a numeric IPv4 group address (224.0.0.0 to 239.255.255.255)");
    return group;
  }
  const std::string host = unbracketed_host(cfg.host);
  const endpoint numeric = endpoint::from_address(host, port, ec);
  if (!ec) return numeric;
  const std::vector<endpoint> found = resolve(host, std::to_string(cfg.port), ec);
  if (ec || found.empty())
    throw std::runtime_error(
        "resolve " + cfg.host + ": " +
        error_text(ec ? ec : std::make_error_code(std::errc::host_unreachable)));
  return found.front();
}

datagram_socket open_udp_socket(const config& cfg, const endpoint& to) {
  datagram_socket socket;
  if (!cfg.multicast.empty()) {
    std::error_code ec;
    const endpoint interface_address = endpoint::from_address(unbracketed_host(cfg.host), 0, ec);
    if (ec || !interface_address.is_v4() || interface_address.is_unspecified())
      throw usage_error(
          "--multicast: HOST must be the IPv4 address of the interface to send by "
          "(127.0.0.1: loopback)");
    socket.open(to);
    socket.set_multicast_interface(interface_address);
    if (cfg.ttl > 0) socket.set_multicast_ttl(cfg.ttl);
    return socket;
  }
  if (cfg.broadcast) {
    socket.open(to);
    socket.set_broadcast(true);
    if (cfg.ttl > 0) socket.set_ttl(cfg.ttl);
    return socket;
  }
  // One peer: connected, so the system reports its ICMP errors (a closed port) and
  // drops datagrams from anyone else.
  socket.connect(to);
  if (cfg.ttl > 0) socket.set_ttl(cfg.ttl);
  return socket;
}

udp_session::udp_session(const config& cfg, const std::string& wire, const std::string& local,
                         std::vector<std::string> messages, std::string signature,
                         flow_control& flow, prompt& shown, endpoint to)
    : cfg_(cfg),
      to_(to),
      target_(to.to_string()),
      signature_(std::move(signature)),
      messages_(std::move(messages)),
      flow_(flow),
      prompt_(shown),
      decoder_(wire),
      show_peer_(cfg.broadcast || !cfg.multicast.empty()),
      log_(cfg.view.log.empty() ? event_log() : event_log(cfg.view.log, program)) {
  format_.hex = cfg.hex;
  format_.timestamps = cfg.view.timestamps;
  format_.how = cfg.how;
  std::error_code ec;
  if (canonical_encoding_name(local, ec) != "UTF-8" && !ec)
    to_local_ = std::make_unique<encoder>(local, encode_policy::replace);
}

event_loop::callbacks udp_session::callbacks() {
  event_loop::callbacks cb;
  cb.on_turn = [this](event_loop& loop) { turn_ended(loop); };
  return cb;
}

void udp_session::start(event_loop& loop, datagram_socket&& socket) {
  event_loop::datagram_handlers handlers;
  handlers.on_datagram = [this](event_loop& l, event_loop::id_type, const endpoint& peer,
                                std::string_view bytes,
                                bool truncated) { received(l, peer, bytes, truncated); };
  handlers.on_error = [this](event_loop& l, event_loop::id_type, const std::error_code& ec,
                             const endpoint& peer) {
    // An ICMP error for a datagram sent earlier (connection_refused: nothing listens
    // on that port), or a datagram the path refused.
    const std::string where = peer == endpoint() ? target_ : peer.to_string();
    end(l, exit_failure, "send to " + where + ": " + error_text(ec));
  };
  id_ = loop.adopt(std::move(socket), std::move(handlers));
  if (!messages_.empty()) round(loop);
}

void udp_session::send(event_loop& loop, std::string_view bytes) {
  if (finished_) return;
  handed_ += bytes.size();
  // Every datagram decodes on its own: it starts with the signature (a byte order
  // mark, ISO-2022-KR's designator).
  std::string datagram;
  if (!signature_.empty() && !bytes.empty()) {
    datagram = signature_;
    datagram.append(bytes.data(), bytes.size());
    bytes = datagram;
  }
  if (bytes.size() > datagram_limit(to_))
    return end(loop, exit_failure, oversize_message(bytes.size(), to_) + "; not sent");
  std::error_code ec;
  const bool queued = cfg_.broadcast || !cfg_.multicast.empty() ? loop.send_to(id_, to_, bytes, ec)
                                                                : loop.send(id_, bytes, ec);
  if (!queued) return end(loop, exit_failure, "send to " + target_ + ": " + error_text(ec));
  log_.record("sent", 0, target_, bytes, true);
}

void udp_session::input_failed(event_loop& loop, const std::string& message) {
  // The datagrams before it still go out: the end comes once the queue is empty.
  deferred_failure_ = message;
  input_ended_ = true;
  turn_ended(loop);
}

void udp_session::end(event_loop& loop, int code, std::string message) {
  if (finished_) return;
  finished_ = true;
  exit_code_ = code;
  message_ = std::move(message);
  flow_.close();
  loop.close(id_, close_mode::abort);
  loop.stop();
}

// The -m datagrams once more (--repeat, --interval); a queue still holding much of the
// last round puts the next one off.
void udp_session::round(event_loop& loop) {
  if (finished_ || input_ended_) return;
  if (loop.output_size(id_) > max_in_flight) {
    round_due_ = true;  // resumed by turn_ended
    return;
  }
  round_due_ = false;
  for (const std::string& bytes : messages_)
    send(loop, bytes);
  ++rounds_;
  if (cfg_.repeat != 0 && rounds_ >= cfg_.repeat) {
    input_ended_ = true;
    return;
  }
  loop.after(std::chrono::milliseconds(cfg_.interval_ms), [this](event_loop& l) { round(l); });
}

void udp_session::turn_ended(event_loop& loop) {
  if (finished_) return;
  const std::size_t queued = loop.output_size(id_);
  const std::uint64_t drained = handed_ - std::min<std::uint64_t>(handed_, queued);
  if (drained != drained_) {
    drained_ = drained;
    flow_.drained(drained_);
  }
  if (round_due_ && queued <= max_in_flight) round(loop);
  if (!input_ended_ || queued != 0 || wait_armed_) return;
  // Every datagram is with the system now.
  if (!deferred_failure_.empty()) return end(loop, exit_failure, deferred_failure_);
  wait_armed_ = true;
  loop.after(std::chrono::milliseconds(cfg_.wait_ms),
             [this](event_loop& l) { end(l, exit_ok, ""); });  // --wait is over
}

void udp_session::received(event_loop& loop, const endpoint& peer, std::string_view bytes,
                           bool truncated) {
  if (finished_) return;
  const std::string name = peer.to_string();
  log_.record("received", 0, name, bytes, true, truncated ? ",\"truncated\":true" : "");
  std::string text;
  format_datagram(format_, decoder_, show_peer_ ? std::string_view(name) : std::string_view(),
                  bytes, truncated, std::chrono::system_clock::now(), text);
  if (to_local_) {
    std::string local;
    std::error_code ec;
    to_local_->encode(text, local, ec);
    if (!ec) text.swap(local);
  }
  std::error_code ec;
  if (!prompt_.reply([&] { return write_output(text, ec); }, [] { return true; }))
    end(loop, exit_failure, "write to standard output: " + error_text(ec));
}

}  // namespace xsock::tools::client
