// xsock::server: a one-thread loop serving many connections over a poller.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <system_error>

#include "xsock/endpoint.hpp"
#include "xsock/event_loop.hpp"
#include "xsock/listener.hpp"
#include "xsock/time_limit.hpp"

namespace xsock {

/// Tuning of a `server`: the loop's options (`max_connections`, `idle_timeout`,
/// backpressure limits, `accept_retry`, `stop_linger`, ...).
using server_options = loop_options;
/// Counters of a `server`.
using server_stats = loop_stats;

/// A single-threaded, non-blocking TCP server: an `event_loop` with one listener, for
/// programs that only serve. One thread, one poller, any number of connections, each
/// with its own output queue, idle timer and optional timer. It deals in bytes;
/// framing, decoding and replies are the embedder's, through callbacks, each of which
/// is given the server it belongs to. `loop()` gives the event loop underneath, for
/// timers, posted work and outbound connections on the same thread.
///
/// Callbacks run on the thread that called `run()`. From inside them (and only from
/// that thread) the embedder may call `send`, `close`, `pause_reading`,
/// `resume_reading`, `set_timer`, `cancel_timer`, `stop_accepting` and `stop`. A
/// callback must not block. An exception thrown by a callback leaves `run()`; the
/// connections stay open until the server is destroyed.
///
/// `send` to a connection with nothing queued writes at once; what the kernel does
/// not take is queued and written, in order, as the peer reads. `stop()` may be called
/// from any thread or a signal handler.
///
/// End of stream is not hang-up: when a peer shuts down its sending side, a server
/// with `on_end_of_stream` keeps the connection open for replies until the embedder
/// closes it (or it is idle for `idle_timeout`); without that callback the connection
/// ends once its queued output is sent (`close_reason::closed`).
class server {
 public:
  /// Identifies a connection; the first is 1, and none is reused.
  using connection_id = std::uint64_t;

  /// What happens on the server's connections; every member is optional.
  struct callbacks {
    /// A connection was accepted. Ids start at 1 and are never reused.
    std::function<void(server& s, connection_id id, const endpoint& peer)> on_accept;
    /// Bytes arrived (never empty).
    std::function<void(server& s, connection_id id, std::string_view bytes)> on_data;
    /// The peer shut down its sending side: no more data will arrive. The connection
    /// stays open for `send` until `close(id)` (or the idle timeout); its timer keeps
    /// running. Not set: the connection ends once its queued output is sent.
    std::function<void(server& s, connection_id id)> on_end_of_stream;
    /// The connection is gone (its socket closed, its queued output sent or dropped
    /// as the reason implies). `ec` carries the socket error for `reset`/`error`.
    std::function<void(server& s, connection_id id, close_reason reason, const std::error_code& ec)>
        on_close;
    /// The connection was idle for `idle_timeout`. Not set: close it with
    /// `close_reason::idle_timeout`. Set: the callback decides (if it does not close
    /// the connection, its idle timer starts again).
    std::function<void(server& s, connection_id id)> on_idle;
    /// The timer set by `set_timer` expired.
    std::function<void(server& s, connection_id id)> on_timer;
    /// End of every loop turn, right before the server waits again: the place to
    /// flush output that the callbacks of this turn produced.
    std::function<void(server& s)> on_turn;
    /// accept failed (after the listener was paused when the error was a lack of
    /// descriptors). For logging; the server carries on.
    std::function<void(server& s, const std::error_code& ec)> on_accept_error;
  };

  /// Takes a listening socket (made non-blocking here). Throws `xsock::error` when
  /// the poller cannot be created.
  server(listener&& socket, const server_options& options, callbacks handlers);
  ///@{
  /// As above; reports the failure through `ec` instead. May throw only
  /// `std::bad_alloc`.
  server(listener&& socket, const server_options& options, callbacks handlers, std::error_code& ec);
  /// As above, each connection through the layer `layers` makes (TLS:
  /// `tls_context::layer_factory()`; see `event_loop::listen` with layers).
  server(listener&& socket, const server_options& options, callbacks handlers,
         stream_layer_factory layers);
  server(listener&& socket, const server_options& options, callbacks handlers,
         stream_layer_factory layers, std::error_code& ec);
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ///@}
  /// Closes every connection without calling `on_close`.
  ~server();

  ///@{
  /// Serves until `stop()`: then stops accepting and reading, lets queued output
  /// drain for at most `stop_linger`, closes every connection (`on_close` with
  /// `close_reason::shutdown`) and returns. Poller failures end it with an error
  /// (connections are closed the same way). The error_code form throws only what a
  /// callback throws (and `std::bad_alloc`).
  void run();
  void run(std::error_code& ec);
  ///@}

  /// Asks `run()` to finish. Async-signal-safe and thread-safe; sticky (a later
  /// `run()` returns at once).
  void stop() noexcept;

  /// Closes the listener: no more connections are accepted; existing ones carry on.
  void stop_accepting() noexcept;

  ///@{
  /// Sends bytes on a connection: written at once when nothing is queued, as far as
  /// the kernel takes them; the rest is queued and sent in order over as many turns as
  /// the peer's reading takes (`event_loop::send`). Fails (queues nothing)
  /// with `no_buffer_space` when the queue would exceed `max_output`, with
  /// `not_connected` for an unknown connection or one being closed. Returns false on
  /// failure (error_code form) or throws `xsock::error`.
  void send(connection_id id, std::string_view bytes);
  bool send(connection_id id, std::string_view bytes, std::error_code& ec) noexcept;
  ///@}

  /// Ends a connection: `close_mode::graceful` sends what is queued first (no more
  /// reading meanwhile), `close_mode::abort` drops it. `on_close` reports
  /// `close_reason::local`. Unknown ids are ignored.
  void close(connection_id id, close_mode how = close_mode::graceful) noexcept;

  ///@{
  /// Stops / resumes reading from a connection (the embedder's own backpressure).
  void pause_reading(connection_id id) noexcept;
  void resume_reading(connection_id id) noexcept;
  ///@}

  /// Calls `on_timer(id)` once, `after` from now (zero: on this loop turn's end or the
  /// next), replacing an earlier timer of the connection. `no_timeout` (or a
  /// duration too long to represent) cancels it.
  void set_timer(connection_id id, time_limit after) noexcept;
  /// Cancels the connection's timer, if any.
  void cancel_timer(connection_id id) noexcept;

  /// Bytes queued for sending (0 for unknown ids).
  std::size_t output_size(connection_id id) const noexcept;
  /// Connections open now.
  std::size_t connection_count() const noexcept;
  ///@{
  /// The listener's address (port 0 resolved). Empty endpoint once it is closed.
  endpoint local_endpoint() const noexcept;
  const server_stats& stats() const noexcept;
  ///@}
  /// The event loop underneath (loop timers, `post`, outbound connects).
  event_loop& loop() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xsock
