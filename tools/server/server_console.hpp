// xsock-server's console: lines typed on standard input go to the clients; lines that
// start with `/` are commands. Kept apart from main.cpp, which only wires it in.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "xsock/encoder.hpp"
#include "xsock/event_loop.hpp"

namespace xsock::tools {

/// One connected client as `/list` shows it.
struct console_client {
  std::uint64_t id = 0;
  std::string peer;
  std::uint64_t received = 0;                   ///< bytes from the client
  std::uint64_t sent = 0;                       ///< bytes sent to it from the console
  std::chrono::system_clock::time_point since;  ///< to the second
};

/// Executes console lines on the server's loop thread.
class server_console {
 public:
  /// What the console asks of the server (all called on the loop thread).
  struct hooks {
    /// The clients connected now, by id.
    std::function<std::vector<console_client>()> clients;
    /// Queues wire bytes for client `id` and records the `sent` event (`shown`: the
    /// UTF-8 text, or the bytes themselves when `hex`). False with `error` set when
    /// the client is gone or its queue is full.
    std::function<bool(std::uint64_t id, std::string_view wire, std::string_view shown, bool hex,
                       std::string& error)>
        send;
    /// Closes client `id` (its queued output is sent first). False when unknown.
    std::function<bool(std::uint64_t id)> kick;
  };

  /// `wire`: the wire encoding; `eol`: appended to text lines ("\n", "\r\n", "\r" or
  /// "").
  server_console(const std::string& wire, std::string eol, hooks h);

  /// One line of standard input as UTF-8, without its line end. `number` counts lines
  /// from 1 (for messages). Messages for the person typing go to standard error.
  void execute(std::string_view line, std::uint64_t number);

 private:
  void send_text(std::string_view target, std::string_view text, std::uint64_t number);
  void send_bytes(std::string_view target, const std::string& wire, std::string_view shown,
                  bool hex);
  bool targets(std::string_view target, std::vector<std::uint64_t>& ids);
  void list();

  std::string wire_;
  std::string eol_;
  // The text of every connection is a stream of its own: with an encoding that starts
  // a stream with something (the designator of ISO-2022-KR, the byte order mark of
  // UTF-16), a connection's first line is encoded as a stream's first message, its
  // later lines as `to_wire_` encodes them once it has started.
  encoder to_wire_;
  bool stream_start_ = false;                  // the encoding starts a stream with something
  bool primed_ = false;                        // to_wire_ has encoded a first message
  std::unordered_set<std::uint64_t> started_;  // connections whose stream has started
  hooks hooks_;
};

/// The text `/help` prints.
std::string server_console_help();

/// Reads standard input on its own thread, cuts it into lines and converts them to
/// UTF-8 from the local encoding (a line with invalid bytes is refused with a message
/// naming its number and byte, and skipped, in order with the lines around it), then
/// hands them to `loop` for `on_line`: the lines of one read together.
/// End of input or a read error just ends the reading. `stop()` (before the loop is
/// destroyed) guarantees nothing more is posted.
class console_reader {
 public:
  using line_handler = std::function<void(std::string_view line, std::uint64_t number)>;
  console_reader(event_loop& loop, line_handler on_line);
  console_reader(const console_reader&) = delete;
  console_reader& operator=(const console_reader&) = delete;
  /// Calls stop().
  ~console_reader();
  /// Stops posting. A thread still blocked reading standard input cannot be woken: it
  /// is detached, and `abandoned()` says the process must end with `std::_Exit`.
  void stop();
  bool abandoned() const noexcept { return abandoned_; }

 private:
  struct shared;
  std::shared_ptr<shared> shared_;
  bool abandoned_ = false;
};

}  // namespace xsock::tools
