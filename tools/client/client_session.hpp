// xsock-client's session: the connection, on the event loop thread (connecting and
// --reconnect, sending what the input reader hands over, printing replies, the end of
// the run and its exit status), and what it shares with the input reader thread (flow
// control, the "> " prompt).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "client_options.hpp"
#include "console.hpp"
#include "event_log.hpp"
#include "reply_printer.hpp"
#include "tool_tls.hpp"
#include "xsock/event_loop.hpp"

namespace xsock::tools::client {

/// --reconnect: the delay after `current_ms` (--backoff double: doubled, at most 8 s or
/// the given SEC if larger; --backoff none: always the given SEC).
std::int64_t next_backoff_ms(const config& cfg, std::int64_t current_ms);

/// Milliseconds as seconds for messages: 1500 -> "1.5", 2000 -> "2", 50 -> "0.05".
std::string seconds_text(std::int64_t ms);

/// Flow control between the reader thread and the loop: the wire bytes handed over so
/// far and the bytes of them the loop has sent.
class flow_control {
 public:
  /// Reader: waits until fewer than max_in_flight bytes are in flight, then counts `n`
  /// more. False once the loop is finishing: nothing more is wanted.
  bool reserve(std::size_t n);
  /// Loop: `total` bytes of all handed over have left the client.
  void drained(std::uint64_t total);
  void close();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t handed_ = 0;
  std::uint64_t drained_ = 0;
  bool closed_ = false;
};

/// The "> " prompt of a person typing (standard error on a terminal). The reader shows
/// it when it waits for the next line; whatever else is printed meanwhile (replies on
/// the same terminal, notices) moves it out of the way: its line is blanked, the output
/// written, the prompt shown again below. Text typed but not entered is still in the
/// terminal's line buffer and is sent on Enter. Used by the loop and the reader thread.
class prompt {
 public:
  /// `replies_on_screen`: standard output is that terminal too.
  void enable(bool replies_on_screen);
  /// Reader: ready for the next line.
  void show();
  /// Reader: Enter was pressed; the cursor is on a fresh line.
  void entered();
  /// "xsock-client: TEXT" on its own line.
  void notice(const std::string& text);
  /// Loop: `print()` writes replies; the prompt comes back below them when
  /// `prompt_again()` (not after a line the server left open: its own prompt stands
  /// there).
  template <typename Print, typename Again>
  bool reply(Print&& print, Again&& prompt_again) {
    if (!replies_on_screen_) return print();
    std::lock_guard<std::mutex> lock(mutex_);
    if (shown_) erase_error_line();
    shown_ = false;
    const bool ok = print();
    if (enabled_ && prompt_again()) {
      write_error("> ");
      shown_ = true;
    }
    return ok;
  }
  /// The session is over: the prompt goes and does not come back.
  void retire();

 private:
  std::mutex mutex_;
  bool enabled_ = false;
  bool replies_on_screen_ = false;
  bool shown_ = false;
};

/// What the input reader hands its bytes to, on the loop thread: the TCP session, or
/// the UDP one (udp_session.hpp).
class input_sink {
 public:
  virtual ~input_sink() = default;
  /// Wire bytes: a piece of the stream (TCP), or one datagram (UDP).
  virtual void send(event_loop& loop, std::string_view bytes) = 0;
  /// No more input.
  virtual void input_ended() = 0;
  /// A failure found while reading or converting the input: what was sent before it is
  /// still delivered, then the client ends with exit 1.
  virtual void input_failed(event_loop& loop, const std::string& message) = 0;
};

/// The connection's side of the client: everything here runs on the loop thread.
class session : public input_sink {
 public:
  /// `signature`: what every connection's stream starts with (see stream_signature).
  /// `tls`: each connection goes through its layer (--tls); null: plain TCP.
  session(const config& cfg, const std::string& wire, const std::string& local,
          std::vector<std::string> messages, std::string signature, flow_control& flow,
          prompt& shown, const tls_setup* tls = nullptr);

  event_loop::callbacks callbacks();
  /// Connects on the loop: Happy Eyeballs over every address of HOST within --timeout
  /// (names resolved off the loop thread), while the loop goes on reading input and
  /// answering Ctrl+C; a failure names the host and every address tried.
  void connect(event_loop& loop);
  /// Queues wire bytes (a message, a line or a piece of one); kept until connected.
  void send(event_loop& loop, std::string_view bytes) override;
  /// No more input: once what is queued has gone out, half-close.
  void input_ended() override { input_ended_ = true; }
  /// A failure found while reading or converting the input: what was sent before it is
  /// still delivered, then the client ends with exit 1.
  void input_failed(event_loop& loop, const std::string& message) override;
  /// Ends the run (once): `message` on stderr unless empty. `graceful`: what is queued
  /// is sent first.
  void end(event_loop& loop, int code, std::string message, close_mode how);
  /// After run(): the exit status and the message for stderr.
  int exit_code(const event_loop& loop) const {
    return finished_ ? exit_code_ : loop.stopping() ? exit_interrupted : exit_failure;
  }
  const std::string& message() const { return message_; }

 private:
  void connect_done(event_loop& loop, const connect_result& result);
  void queue(event_loop& loop, std::string_view bytes);
  void say(const std::string& text) { prompt_.notice(text); }
  void round(event_loop& loop);
  void retry(event_loop& loop, const std::string& why);
  void closed(event_loop& loop, close_reason why, const std::error_code& ec);
  bool new_reply_stream(event_loop& loop);
  std::size_t queued_input(const event_loop& loop) const;
  void turn_ended(event_loop& loop);
  void finish_printing();
  void say_connected(event_loop& loop);

  const config& cfg_;
  const tls_setup* tls_;
  const std::string target_;
  const std::string wire_;
  const std::string local_;
  const std::string signature_;  // empty: the stream starts with its first byte
  reply_printer printer_;
  const std::vector<std::string> messages_;  // -m, encoded: sent in rounds
  flow_control& flow_;
  prompt& prompt_;
  const bool interactive_;
  std::int64_t backoff_ms_;
  event_log log_;
  std::uint64_t connections_ = 0;  // connections made so far (the log's ids)
  std::string peer_;               // of the current connection
  event_loop::id_type id_ = 0;     // the connection, or its connect while pending
  bool open_ = false;
  bool signed_ = false;                  // the connection's stream has its signature
  std::uint64_t signature_sent_by_ = 0;  // loop's bytes_sent once it has gone out
  bool input_ended_ = false;
  bool half_closed_ = false;
  bool finished_ = false;
  bool printed_end_ = false;
  bool timer_armed_ = false;
  bool round_scheduled_ = false;
  bool round_due_ = false;
  std::uint64_t rounds_ = 0;
  std::uint64_t sent_at_arming_ = 0;
  std::string pending_;           // wire bytes waiting for a connection
  std::string deferred_failure_;  // an input failure that waits for pending_ to go out
  std::uint64_t handed_ = 0;      // wire bytes given to send
  std::uint64_t drained_ = 0;     // of them, sent (or lost with a connection)
  int exit_code_ = exit_ok;
  std::string message_;
};

/// What the loop thread and the reader thread share. Held by shared_ptr: a reader still
/// blocked in read() when the client ends is left behind (see main), and must find these
/// alive if it ever wakes up.
struct shared_state {
  flow_control flow;
  prompt shown;
  std::unique_ptr<session> client;
  std::unique_ptr<input_sink> datagram_client;  // --udp (udp_session), instead of `client`
  input_sink* sink = nullptr;                   // whichever of the two the reader feeds
  std::unique_ptr<event_loop> loop;
  std::atomic<bool> reader_done{false};
};

}  // namespace xsock::tools::client
