// xsock::server: a one-thread loop serving many connections over a poller.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xsock/endpoint.hpp"
#include "xsock/listener.hpp"
#include "xsock/poller.hpp"
#include "xsock/stream_socket.hpp"

namespace xsock {

/// Why a connection of a `server` ended.
enum class close_reason {
  closed,        ///< the peer closed (end of stream) and pending output was sent
  reset,         ///< the peer reset the connection, or a send found it gone
  idle_timeout,  ///< nothing was received or sent for `server_options::idle_timeout`
  shutdown,      ///< `server::stop()` ended it
  error,         ///< any other socket error
  local,         ///< `server::close(id)` was called
};

/// "closed", "reset", "idle-timeout", "shutdown", "error", "local".
const char* to_string(close_reason reason) noexcept;

/// Tuning of a `server`. Every limit is per connection unless said otherwise.
struct server_options {
  /// Connections served at once (0: no limit). At the limit the server stops
  /// accepting; new clients wait in the listen backlog until a connection ends.
  std::size_t max_connections = 0;
  /// A connection with no bytes received or sent for this long is handed to
  /// `on_idle` (by default: closed with `close_reason::idle_timeout`). Zero: never.
  std::chrono::milliseconds idle_timeout{0};
  /// Bytes read from one connection per readiness (one read per loop turn, so a
  /// fast sender cannot starve the others).
  std::size_t read_size = 64 * 1024;
  /// While a connection has more than this many bytes queued for sending, the server
  /// stops reading from it (backpressure: a client that does not read its replies is
  /// paused, not buffered without limit). Reading resumes once the queue is empty.
  std::size_t pause_reading_above = 256 * 1024;
  /// Hard cap on the bytes queued for one connection: `send` refuses more.
  std::size_t max_output = 1024 * 1024;
  /// After accept fails for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
  /// ENOMEM), the listener is left alone this long before trying again (sooner when
  /// one of our own connections closes): no busy loop, the others keep being served.
  std::chrono::milliseconds accept_retry{250};
  /// On `stop()`: how long queued output may still be sent before every connection
  /// is closed.
  std::chrono::milliseconds stop_linger{1000};
  /// TCP_NODELAY on accepted sockets: output is already coalesced per loop turn.
  bool no_delay = true;
};

/// Counters, for monitoring and tests.
struct server_stats {
  std::uint64_t accepted = 0;       ///< connections accepted
  std::uint64_t accept_errors = 0;  ///< failed accept calls (EMFILE, ...)
  std::uint64_t accept_pauses = 0;  ///< times the listener was paused by errors
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t turns = 0;  ///< loop iterations (each one waited on the poller)
};

/// A single-threaded, non-blocking TCP server: one thread, one poller, any number of
/// connections, each with its own output queue, idle timer and optional timer. It
/// deals in bytes; framing, decoding and replies are the embedder's, through
/// callbacks.
///
/// Callbacks run on the thread that called `run()`. From inside them (and only from
/// that thread) the embedder may call `send`, `close`, `pause_reading`,
/// `resume_reading`, `set_timer`, `stop_accepting` and `stop`. A callback must not
/// block. An exception thrown by a callback leaves `run()`; the connections stay
/// open until the server is destroyed.
///
/// Output to a connection is queued by `send` and written at the end of the loop
/// turn (several sends in one turn cost one system call). `stop()` may be called from
/// any thread or a signal handler.
class server {
 public:
  using connection_id = std::uint64_t;
  using clock = std::chrono::steady_clock;

  struct callbacks {
    /// A connection was accepted. Ids start at 1 and are never reused.
    std::function<void(connection_id id, const endpoint& peer)> on_accept;
    /// Bytes arrived (never empty). End of stream is reported by `on_close`.
    std::function<void(connection_id id, std::string_view bytes)> on_data;
    /// The connection is gone (its socket closed, its queued output sent or dropped
    /// as the reason implies). `ec` carries the socket error for `reset`/`error`.
    std::function<void(connection_id id, close_reason reason, const std::error_code& ec)> on_close;
    /// The connection was idle for `idle_timeout`. Empty: close it with
    /// `close_reason::idle_timeout`. Set: the callback decides (if it does not close
    /// the connection, its idle timer starts again).
    std::function<void(connection_id id)> on_idle;
    /// The timer set by `set_timer` expired.
    std::function<void(connection_id id)> on_timer;
    /// End of every loop turn, right before the server waits again: the place to
    /// flush output that the callbacks of this turn produced.
    std::function<void()> on_turn;
    /// accept failed (after the listener was paused when the error was a lack of
    /// descriptors). For logging; the server carries on.
    std::function<void(const std::error_code& ec)> on_accept_error;
  };

  /// Takes a listening socket (made non-blocking here). Throws `xsock::error` when
  /// the poller cannot be created.
  server(listener&& socket, const server_options& options, callbacks handlers);
  server(listener&& socket, const server_options& options, callbacks handlers, std::error_code& ec);
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  /// Closes every connection without calling `on_close`.
  ~server();

  /// Serves until `stop()`: then stops accepting and reading, lets queued output
  /// drain for at most `stop_linger`, closes every connection (`on_close` with
  /// `close_reason::shutdown`) and returns. Poller failures end it with an error
  /// (connections are closed the same way).
  void run();
  void run(std::error_code& ec);

  /// Asks `run()` to finish. Async-signal-safe and thread-safe; sticky (a later
  /// `run()` returns at once).
  void stop() noexcept;

  /// Closes the listener: no more connections are accepted; existing ones carry on.
  void stop_accepting() noexcept;

  /// Queues bytes for a connection. Fails (queues nothing) with `no_buffer_space`
  /// when the queue would exceed `max_output`, with `not_connected` for an unknown or
  /// closing connection. Returns false on failure.
  bool send(connection_id id, std::string_view bytes);
  bool send(connection_id id, std::string_view bytes, std::error_code& ec) noexcept;

  /// Ends a connection at the end of this loop turn. `flush`: send what is queued
  /// first (no more reading meanwhile); otherwise drop it. `on_close` reports
  /// `close_reason::local`. Unknown ids are ignored.
  void close(connection_id id, bool flush = true) noexcept;

  /// Stops / resumes reading from a connection (the embedder's own backpressure).
  void pause_reading(connection_id id) noexcept;
  void resume_reading(connection_id id) noexcept;

  /// Calls `on_timer(id)` once, `after` from now (replacing an earlier timer of the
  /// connection). A negative duration cancels.
  void set_timer(connection_id id, std::chrono::milliseconds after) noexcept;

  /// Bytes queued for sending (0 for unknown ids).
  std::size_t output_size(connection_id id) const noexcept;
  /// Connections open now.
  std::size_t connection_count() const noexcept { return connections_.size(); }
  /// The listener's address (port 0 resolved). Empty endpoint once it is closed.
  endpoint local_endpoint() const noexcept;
  const server_stats& stats() const noexcept { return stats_; }

 private:
  struct connection;
  using connection_map = std::unordered_map<connection_id, std::unique_ptr<connection>>;

  connection* find(connection_id id) const noexcept;
  void accept_some(clock::time_point now);
  void pause_accepting(bool retry_later, clock::time_point now);
  void update_listener(clock::time_point now);
  void on_ready(connection& c, unsigned ready, clock::time_point now);
  void read_some(connection& c, clock::time_point now);
  void flush(connection& c, clock::time_point now);
  void update_interest(connection& c) noexcept;
  void touch(connection& c, clock::time_point now) noexcept;
  void mark_dirty(connection& c) noexcept;
  void fire_timers(clock::time_point now);
  void finish(connection& c, close_reason reason, std::error_code ec);
  void end_turn(clock::time_point now);
  std::chrono::milliseconds next_timeout(clock::time_point now) const;
  void shut_down(std::error_code& ec);

  listener listener_;
  poller poller_;
  server_options options_;
  callbacks handlers_;
  server_stats stats_;
  std::atomic<bool> stop_requested_{false};

  connection_map connections_;
  connection_id next_id_ = 1;
  // Least recently active first: idle expiry looks only at the front.
  std::list<connection_id> idle_order_;
  std::set<std::pair<clock::time_point, connection_id>> timers_;
  // Connections whose output, interest or closing state changed this turn.
  std::vector<connection_id> dirty_;
  std::vector<poller::event> events_;
  std::string read_buffer_;

  bool listener_watched_ = false;
  bool accept_paused_by_error_ = false;
  clock::time_point accept_retry_at_{};
};

}  // namespace xsock
