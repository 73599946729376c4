// xsock-client --udp: the datagram socket on the event loop. Each -m message, input
// line or --repeat round is one datagram; each datagram that comes back is shown on a
// line of its own. Everything here runs on the loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client_options.hpp"
#include "client_session.hpp"
#include "datagram_view.hpp"
#include "event_log.hpp"
#include "xsock/datagram_socket.hpp"
#include "xsock/encoder.hpp"
#include "xsock/event_loop.hpp"

namespace xsock::tools::client {

/// Where --udp sends: HOST:PORT resolved (its first address), or --multicast's group.
/// Throws for a HOST that does not resolve (exit 1) or a bad --multicast (usage_error).
endpoint udp_destination(const config& cfg);

/// Opens the datagram socket for `to` as the options say: connected to it for a
/// single peer (ICMP errors reported: a closed port is `connection refused`); for
/// --broadcast (SO_BROADCAST) and --multicast (its interface: HOST's address) not
/// connected, so replies from any sender are taken; --ttl.
datagram_socket open_udp_socket(const config& cfg, const endpoint& to);

/// The client's UDP side.
class udp_session : public input_sink {
 public:
  /// `messages`: the -m datagrams, encoded; `signature`: what every datagram starts
  /// with (a byte order mark...: each datagram decodes on its own).
  udp_session(const config& cfg, const std::string& wire, const std::string& local,
              std::vector<std::string> messages, std::string signature, flow_control& flow,
              prompt& shown, endpoint to);

  event_loop::callbacks callbacks();
  /// Adopts `socket` into `loop` and starts the -m rounds.
  void start(event_loop& loop, datagram_socket&& socket);
  void send(event_loop& loop, std::string_view bytes) override;
  void input_ended() override { input_ended_ = true; }
  void input_failed(event_loop& loop, const std::string& message) override;
  /// After run(): the exit status and the message for stderr.
  int exit_code(const event_loop& loop) const {
    return finished_ ? exit_code_ : loop.stopping() ? exit_interrupted : exit_failure;
  }
  const std::string& message() const { return message_; }

 private:
  void end(event_loop& loop, int code, std::string message);
  void round(event_loop& loop);
  void turn_ended(event_loop& loop);
  void received(event_loop& loop, const endpoint& peer, std::string_view bytes, bool truncated);

  const config& cfg_;
  const endpoint to_;
  const std::string target_;  // to_ as text, for messages
  const std::string signature_;
  const std::vector<std::string> messages_;
  flow_control& flow_;
  prompt& prompt_;
  datagram_format format_;
  datagram_decoder decoder_;
  std::unique_ptr<encoder> to_local_;
  const bool show_peer_;  // replies may come from any sender: each names it
  event_log log_;
  event_loop::id_type id_ = 0;
  bool input_ended_ = false;
  bool wait_armed_ = false;
  bool finished_ = false;
  bool round_due_ = false;
  std::uint64_t rounds_ = 0;
  std::uint64_t handed_ = 0;   // bytes given to send
  std::uint64_t drained_ = 0;  // of them, handed to the system
  std::string deferred_failure_;
  int exit_code_ = exit_ok;
  std::string message_;
};

}  // namespace xsock::tools::client
