// xsock::event_loop: one thread, one poller, every kind of connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "xsock/connection_context.hpp"
#include "xsock/datagram_socket.hpp"
#include "xsock/endpoint.hpp"
#include "xsock/listener.hpp"
#include "xsock/stream_layer.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/time_limit.hpp"

namespace xsock {

/// Why a connection of an `event_loop` (or a `server`) ended. One byte: the loop keeps
/// one per connection.
enum class close_reason : std::uint8_t {
  closed,        ///< the peer closed (end of stream) and pending output was sent
  reset,         ///< the peer reset the connection, or a send found it gone
  idle_timeout,  ///< nothing was received or sent for `loop_options::idle_timeout`
  shutdown,      ///< `stop()` ended it
  error,         ///< any other socket error
  local,         ///< `close(id)` was called
};

/// "closed", "reset", "idle-timeout", "shutdown", "error", "local".
const char* to_string(close_reason reason) noexcept;

/// How `close` treats output still queued for the connection.
enum class close_mode {
  graceful,  ///< send what is queued first (reading stops at once), then close
  abort,     ///< drop what is queued and close at the end of this loop turn
};

/// Tuning of an `event_loop`. Every limit is per connection unless said otherwise.
/// Time limits follow `time_limit`'s rule (`no_timeout`: never; zero: at once).
struct loop_options {
  /// Connections served at once, accepted and outbound together (0: no limit). At the
  /// limit the loop stops accepting; new clients wait in the listen backlog.
  std::size_t max_connections = 0;
  /// A connection with no bytes received or sent for this long is handed to
  /// `on_idle` (by default: closed with `close_reason::idle_timeout`). Zero (or
  /// negative) counts as the shortest limit, 1 ms: a connection is handed over on the
  /// first turn a millisecond after its last traffic, and one that `on_idle` keeps is
  /// handed over again a millisecond later (never a busy loop).
  time_limit idle_timeout = no_timeout;
  /// Bytes read from one connection per readiness (one read per loop turn, so a
  /// fast sender cannot starve the others).
  std::size_t read_size = 64 * 1024;
  /// Backpressure, per direction: when a connection's output queue grows above this,
  /// the loop stops reading from every connection whose data flows into it, that is
  /// each connection whose `on_data` (or `on_end_of_stream`) sent to it: itself for an
  /// echo server, the other side for a proxy. A peer that does not read is paused,
  /// not buffered without limit, and only the direction it blocks stops. Sends made
  /// elsewhere (timers, posted work, `on_done`) pause nobody: use `on_drained`.
  std::size_t pause_reading_above = 256 * 1024;
  /// The low-water mark: once the queue is back down to this many bytes, the
  /// connections paused by it are read again and `on_drained` is called. A value above
  /// `pause_reading_above` counts as `pause_reading_above`.
  std::size_t resume_reading_below = 64 * 1024;
  /// Hard cap on the bytes queued for one connection: `send` refuses more.
  std::size_t max_output = 1024 * 1024;
  /// After accept fails for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
  /// ENOMEM), listeners are left alone this long before trying again (sooner when a
  /// connection closes): no busy loop, the others keep being served.
  time_limit accept_retry = std::chrono::milliseconds(250);
  /// On `stop()`: how long queued output may still be sent before every connection
  /// is closed.
  time_limit stop_linger = std::chrono::seconds(1);
  /// Happy Eyeballs (RFC 8305 "Connection Attempt Delay"): while an outbound attempt
  /// is still pending, the next address is tried after this long (at once when one
  /// fails). Zero tries every address at once; 250 ms is RFC 8305's recommendation.
  time_limit attempt_delay = std::chrono::milliseconds(250);
  /// TCP_NODELAY on every connection: output is already coalesced per loop turn.
  bool no_delay = true;
  /// Datagram sockets: the receive buffer, the largest datagram delivered whole (a
  /// larger one is delivered cut to this size with `truncated` set). 65,536 takes
  /// any UDP datagram.
  std::size_t max_datagram = 65536;
  /// Connections with a `stream_layer` (TLS) accepted or adopted: the handshake must be
  /// over within this long, or the connection ends with `timed_out` (a peer that
  /// connects and stalls holds nothing for long). An outbound connect's `timeout`
  /// covers its handshake instead.
  time_limit handshake_timeout = std::chrono::seconds(10);
  /// Datagram sockets: datagrams queued for sending at most (their bytes count
  /// against `max_output` too); `send_to` refuses more with `no_buffer_space`.
  std::size_t max_queued_datagrams = 4096;
};

/// Counters, for monitoring and tests.
struct loop_stats {
  std::uint64_t accepted = 0;            ///< connections accepted
  std::uint64_t connected = 0;           ///< outbound connections established
  std::uint64_t accept_errors = 0;       ///< failed accept calls (EMFILE, ...)
  std::uint64_t accept_pauses = 0;       ///< times the listeners were paused by errors
  std::uint64_t bytes_received = 0;      ///< over every connection
  std::uint64_t bytes_sent = 0;          ///< over every connection
  std::uint64_t turns = 0;               ///< loop iterations (each one waited on the poller)
  std::uint64_t datagrams_received = 0;  ///< over every datagram socket
  std::uint64_t datagrams_sent = 0;      ///< over every datagram socket
};

/// How an outbound `connect` ended.
struct connect_result {
  /// Empty on success; otherwise the reason (`timed_out`, `connection_refused`,
  /// `operation_canceled` when the id was closed first, a `resolve_errc`...).
  std::error_code error;
  /// The address connected to (success), or the last one tried.
  endpoint peer;
  /// On failure, one line naming the host and every address tried with its own
  /// error, the same text as the blocking `stream_socket::connect` throws:
  /// "connect example.com:80 ([::1]:80: connection refused, 127.0.0.1:80: timed
  /// out): timed out". Empty on success.
  std::string message;
};

/// A single-threaded, non-blocking event loop: one thread, one poller, any number of
/// listeners, accepted and outbound connections (the same per-connection machinery:
/// output queue with backpressure, idle timer, timer, end-of-stream reporting), loop
/// timers, and functions posted by other threads. It deals in bytes; framing and
/// replies are the embedder's, through callbacks, each given the loop.
///
/// Ids are never reused. Connections (accepted, adopted, and outbound: a connect's id
/// is the id of the connection it becomes) count up from 1; listeners and loop timers
/// take theirs from a separate range (high bit set), so no two things share an id.
///
/// Threads: `run()` runs the loop on the calling thread; callbacks run there. From
/// that thread the embedder may call everything. From any other thread, only `post`
/// and `stop` (and `stop` from a signal handler). Several loops may run in several
/// threads. A callback must not block; an exception it throws leaves `run()` (a later
/// `run()` carries on: the rest of that turn's posted work and queued output are not
/// lost). No callback runs inside the call that caused it (libuv's rule): `close` of a
/// pending connect reports `operation_canceled` on a later turn, as `on_close` comes
/// at the end of the turn. A callback must not destroy the loop (checked: the program
/// aborts with a message).
///
/// fork(): a loop copied into the child of a fork() is not usable there (neither run
/// nor destroyed: its poller and locks are the parent's); the child makes its own
/// loops, whose name lookups work as in any process. Lookups the parent's loops had
/// pending are dropped in the child.
///
/// `send` on a connection with nothing queued writes at once (a non-blocking write, as
/// libuv's `uv_try_write`); what the kernel does not take is queued, in order, and
/// written as the peer reads (a send made while output is queued joins the queue, and
/// queued sends of one turn go out in one system call). A connect's id takes output
/// before it connects.
/// Backpressure follows the data: a queue above `pause_reading_above` pauses the
/// connections whose data flows into it, not the connection itself (a proxy relays
/// both directions at once). End of stream is not hang-up: with
/// `on_end_of_stream` set, a connection whose peer shut down its sending side stays
/// open for replies until it is closed (or idle for `idle_timeout`); without it the
/// connection ends once its queued output is sent (`close_reason::closed`).
class event_loop {
 public:
  /// Identifies a connection, a pending connect, a listener or a loop timer.
  using id_type = std::uint64_t;

  /// Called for each accepted connection: its id and the peer's address.
  using accept_handler = std::function<void(event_loop& loop, id_type id, const endpoint& peer)>;
  /// Called once when an outbound connect ends: on success the connection `id` is
  /// open and served; on failure `id` is gone.
  using connect_handler =
      std::function<void(event_loop& loop, id_type id, const connect_result& result)>;
  /// A loop timer or a posted function.
  using task = std::function<void(event_loop& loop)>;

  /// What happens on connections, whatever their origin.
  struct callbacks {
    /// Bytes arrived (never empty).
    std::function<void(event_loop& loop, id_type id, std::string_view bytes)> on_data;
    /// The peer shut down its sending side: no more data will arrive. The connection
    /// stays open for `send` until `close(id)` (or the idle timeout); its timer keeps
    /// running. Not set: the connection ends once its queued output is sent.
    std::function<void(event_loop& loop, id_type id)> on_end_of_stream;
    /// The connection is gone (its socket closed, its queued output sent or dropped
    /// as the reason implies). `ec` carries the socket error for `reset`/`error`.
    std::function<void(event_loop& loop, id_type id, close_reason reason,
                       const std::error_code& ec)>
        on_close;
    /// The connection was idle for `idle_timeout`. Not set: close it with
    /// `close_reason::idle_timeout`. Set: the callback decides (if it does not close
    /// the connection, its idle timer starts again).
    std::function<void(event_loop& loop, id_type id)> on_idle;
    /// The connection's timer (`set_timer`) expired.
    std::function<void(event_loop& loop, id_type id)> on_timer;
    /// The connection's output queue fell to `resume_reading_below` after it had grown
    /// above `pause_reading_above`, or after a `send` to it was refused with
    /// `no_buffer_space`: there is room again. Called once per such crossing.
    std::function<void(event_loop& loop, id_type id)> on_drained;
    /// End of every loop turn, right before the loop waits again: the place to
    /// flush output that the callbacks of this turn produced.
    std::function<void(event_loop& loop)> on_turn;
    /// accept failed on a listener (after it was paused when the error was a lack of
    /// descriptors). For logging; the loop carries on.
    std::function<void(event_loop& loop, id_type listener, const std::error_code& ec)>
        on_accept_error;
  };

  /// What happens on one datagram socket (given to `adopt`).
  struct datagram_handlers {
    /// A datagram arrived from `peer`. `bytes` may be empty (an empty datagram is a
    /// datagram). `truncated`: it was larger than `loop_options::max_datagram` and
    /// only that much is delivered.
    std::function<void(event_loop& loop, id_type id, const endpoint& peer, std::string_view bytes,
                       bool truncated)>
        on_datagram;
    /// A receive or a queued send failed: `connection_refused` for an ICMP port
    /// unreachable on a connected socket, `message_size` for a datagram too large for
    /// the path, ...; `peer` is the destination of the failed send (empty for a
    /// receive). The socket stays open and served (a failed datagram is dropped; the
    /// ones queued after it are still sent). Not set: errors are only counted away.
    std::function<void(event_loop& loop, id_type id, const std::error_code& ec,
                       const endpoint& peer)>
        on_error;
  };

  /// Creates the poller and the wake-up channel. Throws `xsock::error`.
  explicit event_loop(const loop_options& options = {}, callbacks handlers = {});
  ///@{
  /// As above; reports the failure through `ec`. May throw only `std::bad_alloc`.
  event_loop(const loop_options& options, callbacks handlers, std::error_code& ec);
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  ///@}
  /// Closes every socket without calling callbacks; pending name lookups are
  /// abandoned (their threads finish on their own and find the loop gone), as are
  /// connect reports not yet made. Must not be called while `run()` runs (from a
  /// callback): checked, the program aborts with a message.
  ~event_loop();

  ///@{
  /// Adds a listening socket (made non-blocking here); `on_accept` is called for each
  /// connection it accepts. Returns the listener's id (`close(id)` stops it).
  id_type listen(listener&& socket, accept_handler on_accept);
  id_type listen(listener&& socket, accept_handler on_accept, std::error_code& ec);
  ///@}

  ///@{
  /// As above, each accepted connection going through the layer `layers` makes for it
  /// (TLS: `tls_context::layer_factory()`). `on_accept` is called when the TCP
  /// connection is accepted; bytes sent before the handshake is over are kept and sent
  /// after it; `on_data` sees decrypted bytes; the peer's close_notify is its end of
  /// stream. A handshake that fails, or is not over within
  /// `loop_options::handshake_timeout`, ends the connection: `on_close` with
  /// `close_reason::error` and the layer's error (`timed_out`). A transport that ends
  /// without close_notify ends it with `tls_errc::truncated`. A graceful `close` and
  /// `shutdown_send` send close_notify after what is queued; made before the handshake
  /// is over (a greeting and a close from `on_accept`), they wait for it. A null
  /// factory means no layer.
  id_type listen(listener&& socket, accept_handler on_accept, stream_layer_factory layers);
  id_type listen(listener&& socket, accept_handler on_accept, stream_layer_factory layers,
                 std::error_code& ec);
  ///@}

  ///@{
  /// Adopts a connected socket (made non-blocking here) as a connection.
  id_type adopt(stream_socket&& socket);
  id_type adopt(stream_socket&& socket, std::error_code& ec);
  /// As above, through `layer` (its handshake starts now, within
  /// `loop_options::handshake_timeout`; see `listen` with layers). Null: no layer.
  id_type adopt(stream_socket&& socket, std::unique_ptr<stream_layer> layer);
  id_type adopt(stream_socket&& socket, std::unique_ptr<stream_layer> layer, std::error_code& ec);
  ///@}

  ///@{
  /// Adopts an open datagram socket (bound, connected or neither; made non-blocking
  /// here). Up to 64 datagrams are read from it per loop turn, so a flood cannot
  /// starve the other sockets. `send_to` (and `send`, to a connected socket's peer)
  /// queue datagrams, sent at the end of the turn; `close(id)` ends it (graceful:
  /// queued datagrams are sent first); it has no `on_close`, no idle timer and no
  /// flow pauses, and does not count in `connection_count`.
  id_type adopt(datagram_socket&& socket, datagram_handlers handlers);
  id_type adopt(datagram_socket&& socket, datagram_handlers handlers, std::error_code& ec);
  ///@}

  /// Starts a non-blocking connect; `on_done` reports how it ended (within
  /// `timeout`, then `timed_out`), always on a later turn, never inside this call.
  /// Returns the id the connection will have: `send`, `shutdown_send` and
  /// `emplace_context` work on it at once (output is queued and sent once connected,
  /// or dropped if the connect fails). Closing it before `on_done` cancels the
  /// attempt (`on_done` then reports `operation_canceled`, on a later turn). After
  /// `stop()` nothing new is started: the connect ends with `operation_canceled`
  /// (reported during the shutdown, or by the next `run()` after `restart()` when it
  /// was started by a shutdown report itself). Never blocks, never throws but
  /// `std::bad_alloc`.
  ///
  /// With a `layer` (TLS: `tls_context::make_layer(host, port)`), the connection
  /// makes its handshake once connected, and `on_done` comes when the handshake is
  /// over (`timeout` covers both): on failure `result.error` is the layer's error and
  /// `result.message` reads "tls handshake 127.0.0.1:8443: certificate verify failed:
  /// self-signed certificate" (no `on_close` follows). Bytes sent before are sent after
  /// the handshake.
  id_type connect(const endpoint& peer, time_limit timeout, connect_handler on_done,
                  std::unique_ptr<stream_layer> layer = nullptr);
  /// Happy Eyeballs (RFC 8305) to the first of `candidates` that answers: addresses
  /// interleaved by family (the first address's family first), a new attempt every
  /// `attempt_delay` while earlier ones are pending (at once when one fails), the
  /// first to connect wins and the others are closed; `timeout` is the total budget.
  id_type connect(const std::vector<endpoint>& candidates, time_limit timeout,
                  connect_handler on_done, std::unique_ptr<stream_layer> layer = nullptr);
  /// Resolves `host` on another thread (getaddrinfo blocks), then as above. A numeric
  /// host (`::1`, `[::1]`, `127.0.0.1`) is not resolved. On failure the message names
  /// the host and every address tried.
  id_type connect(std::string_view host, std::uint16_t port, time_limit timeout,
                  connect_handler on_done, std::unique_ptr<stream_layer> layer = nullptr);

  /// Calls `fn` once on the loop thread after `delay` (zero: this turn's end or the
  /// next). Returns its id; `cancel(id)` or `close(id)` cancels it.
  id_type after(time_limit delay, task fn);
  /// Cancels a loop timer; false when it already ran or is unknown.
  bool cancel(id_type timer) noexcept;

  /// Queues `fn` to run on the loop thread (during the next turn), from any thread.
  /// Functions posted from one thread run in the order they were posted. May throw
  /// only `std::bad_alloc`.
  void post(task fn);

  ///@{
  /// Runs until `stop()`: then stops accepting and reading, lets queued output drain
  /// for at most `stop_linger`, closes every connection (`on_close` with
  /// `close_reason::shutdown`), cancels pending connects (reporting them) and returns.
  /// Poller failures end it with an error. Called from one of the loop's own callbacks
  /// it refuses to run (`operation_in_progress`): a nested run would replay the work
  /// of the turn that called it. After `stop()` it returns at once until `restart()`.
  /// The error_code form throws only what a callback throws.
  void run();
  void run(std::error_code& ec);
  ///@}

  /// Asks `run()` to finish. Async-signal-safe and thread-safe; sticky (until
  /// `restart()`).
  void stop() noexcept;
  /// Clears a `stop()`, so that `run()` serves again (as Asio's `restart`): what
  /// survived the shutdown (posted work, connect reports not yet made) runs then;
  /// listeners, connections and loop timers were closed by it. Call it only while
  /// `run()` is not running (ignored otherwise).
  void restart() noexcept;
  /// True once `stop()` was called.
  bool stopping() const noexcept;

  ///@{
  /// Sends bytes on a connection: with nothing queued they are written at once, as far
  /// as the kernel takes them; the rest (or all, behind output already queued) is
  /// queued and sent in order over as many turns as the peer's reading takes
  /// (`output_size` reports it). A send on an empty queue is a system call of its own:
  /// join small pieces that belong together. A write that finds the connection reset
  /// or failed runs no callback inside `send`: it returns true, later sends fail with
  /// that error and `on_close` reports it at the end of the turn, as for queued
  /// output. On a pending connect's id they are queued too (counted against
  /// `max_output`, reported by `output_size`) and sent once it connects, before
  /// anything `on_done` sends; if the connect fails they are dropped and `on_done`
  /// reports the connect's error. Fails (queues nothing)
  /// with `no_buffer_space` when the queue would exceed `max_output` (`on_drained`
  /// follows once it has drained; bytes more than `max_output` by themselves never
  /// fit, and on an empty queue no `on_drained` follows: send them in parts); with
  /// the connection's own error (`connection_reset`...) when a reset or an error
  /// ended it this turn (its `on_close` is still to come); with `not_connected` for an
  /// unknown connection, one being closed or one whose sending side is shut down.
  /// Called from a connection's `on_data`, it records that connection's data as
  /// flowing into `id` (see `loop_options::pause_reading_above`). On a connected
  /// datagram socket: one datagram to its peer, as `send_to`.
  void send(id_type id, std::string_view bytes);
  bool send(id_type id, std::string_view bytes, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Queues one datagram to `peer` on a datagram socket; sent whole at the end of the
  /// turn, in order (a send that fails then goes to `on_error`, the rest go on). Fails
  /// at once (queues nothing) with `message_size` when it is larger than the family
  /// allows (`max_datagram_v4` / `max_datagram_v6`), with `no_buffer_space` when the
  /// queue holds `max_queued_datagrams` datagrams or `max_output` bytes, with
  /// `not_connected` for an id that is not an open datagram socket.
  void send_to(id_type id, const endpoint& peer, std::string_view bytes);
  bool send_to(id_type id, const endpoint& peer, std::string_view bytes,
               std::error_code& ec) noexcept;
  ///@}

  /// Ends whatever `id` is: a connection (`close_mode::graceful` sends what is queued
  /// first, `abort` drops it; `on_close` reports `close_reason::local`), a listener
  /// (stops accepting), a datagram socket (`graceful`: after its queued datagrams are
  /// sent; no callback), a pending connect (cancelled: its `on_done` reports
  /// `operation_canceled` on a later turn, not inside this call), a loop timer
  /// (cancelled). A connection's reading stops at once: no `on_data` for it after this
  /// call, even when its bytes are ready in the same turn. Unknown ids are
  /// ignored.
  void close(id_type id, close_mode how = close_mode::graceful) noexcept;

  /// Half-close: once what is queued for the connection is sent, its sending side is
  /// shut down (the peer reads end of stream); reading goes on until the peer closes.
  /// On a pending connect it takes effect once connected (after the queued bytes).
  /// Later `send` calls fail with `not_connected`. Unknown ids are ignored.
  void shutdown_send(id_type id) noexcept;

  ///@{
  /// Stops / resumes reading from a connection (the embedder's own backpressure).
  /// Independent of the loop's flow pauses (`pause_reading_above`): a connection is
  /// read only when neither holds it, and the loop never undoes `pause_reading`.
  void pause_reading(id_type id) noexcept;
  void resume_reading(id_type id) noexcept;
  ///@}

  ///@{
  /// Attaches a `T` built from `args` to a connection or a pending connect (it stays
  /// with the connection the connect becomes), replacing (destroying) what was
  /// attached before. It is destroyed after the connection's `on_close` returns, or
  /// after `on_done` of a failed connect returns, or with the loop. One slot per id:
  /// a proxy keeps its pairing here instead of in maps keyed by id. Throws
  /// `xsock::error` (`not_connected`) for an unknown id, or what `T`'s constructor
  /// throws; the `ec` form returns nullptr instead (and may throw only
  /// `std::bad_alloc` and what `T`'s constructor throws).
  template <class T, class... Args>
  T& emplace_context(id_type id, Args&&... args) {
    return context_slot(id).emplace<T>(std::forward<Args>(args)...);
  }
  template <class T, class... Args>
  T* emplace_context(id_type id, std::error_code& ec, Args&&... args) {
    connection_context* slot = context_slot(id, ec);
    return slot == nullptr ? nullptr : &slot->emplace<T>(std::forward<Args>(args)...);
  }
  ///@}
  /// The object attached to `id`, when it is a `T`; nullptr when the id is unknown,
  /// nothing is attached, or it is of another type. Valid until replaced or until
  /// the connection's `on_close` (or failed connect's `on_done`) returns.
  template <class T>
  T* context(id_type id) const noexcept {
    const connection_context* slot = find_context(id);
    return slot == nullptr ? nullptr : slot->get<T>();
  }
  /// Destroys what is attached to `id` now (nothing for unknown ids).
  void reset_context(id_type id) noexcept;

  ///@{
  /// Calls `on_timer(id)` once, `after` from now, replacing an earlier timer of the
  /// connection. `no_timeout` cancels it.
  void set_timer(id_type id, time_limit after) noexcept;
  void cancel_timer(id_type id) noexcept;
  ///@}

  /// Bytes queued for sending, on a connection, a pending connect or a datagram socket
  /// (0 for unknown ids). On a connection with a layer (TLS) these are wire bytes
  /// (records, a little more than what was sent), as are `loop_stats::bytes_sent` and
  /// `bytes_received`.
  std::size_t output_size(id_type id) const noexcept;
  /// The peer of a connection or of a connected datagram socket (empty endpoint for
  /// unknown ids and unconnected datagram sockets).
  endpoint peer(id_type id) const noexcept;
  /// The layer of a connection (TLS: what its handshake agreed, `alpn_protocol()`,
  /// `protocol_version()`), or nullptr for a plain one or an unknown id. Valid until
  /// the connection's `on_close`, or until a connect's `on_done` returns.
  const stream_layer* layer(id_type id) const noexcept;
  /// Connections open now (accepted and outbound, not pending connects).
  std::size_t connection_count() const noexcept;
  ///@{
  /// A listener's or a datagram socket's address (port 0 resolved); empty endpoint for
  /// unknown ids.
  endpoint local_endpoint(id_type listener) const noexcept;
  const loop_stats& stats() const noexcept;
  const loop_options& options() const noexcept;
  ///@}

 private:
  // The context slot of a connection or pending connect (made on first use).
  connection_context& context_slot(id_type id);
  connection_context* context_slot(id_type id, std::error_code& ec);
  const connection_context* find_context(id_type id) const noexcept;

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xsock
