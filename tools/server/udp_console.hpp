// xsock-server --udp's console: a line typed goes to the last sender as one datagram;
// `/to ADDR:PORT TEXT`, `/hex ADDR:PORT|last HEX`, `/list` (recent peers), `/help`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "datagram_view.hpp"
#include "xsock/endpoint.hpp"

namespace xsock::tools {

/// Executes console lines of a UDP server on its loop thread.
class udp_console {
 public:
  /// Sends one datagram of `wire` bytes to `to` and records the `sent` event (`shown`:
  /// the UTF-8 text, or the bytes themselves when `hex`). False with `error` set when
  /// it could not be queued.
  using send_hook = std::function<bool(const endpoint& to, std::string_view wire,
                                       std::string_view shown, bool hex, std::string& error)>;

  /// `wire`: the wire encoding; `eol`: appended to text lines; `peers`: who was heard
  /// from (outlives the console).
  udp_console(const std::string& wire, std::string eol, const peer_list& peers, send_hook send);

  /// One line of standard input as UTF-8, without its line end; `number` counts lines
  /// from 1. Messages for the person typing go to standard error.
  void execute(std::string_view line, std::uint64_t number);

 private:
  void send_text(const endpoint& to, std::string_view text, std::uint64_t number);
  void send(const endpoint& to, std::string_view wire, std::string_view shown, bool hex);
  bool target(std::string_view text, endpoint& to);

  std::string wire_;
  std::string eol_;
  const peer_list& peers_;
  send_hook send_;
};

/// The text `/help` prints in UDP mode.
std::string udp_console_help();

}  // namespace xsock::tools
