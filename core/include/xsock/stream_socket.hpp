// xsock::stream_socket: a connected TCP socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "xsock/endpoint.hpp"
#include "xsock/native_handle.hpp"
#include "xsock/readiness.hpp"
#include "xsock/time_limit.hpp"

namespace xsock {

/// Which direction(s) `shutdown` closes.
enum class shutdown_type { receive, send, both };

/// How a blocking connect to several addresses runs (`stream_socket::connect` by host
/// name or by a list of candidates).
struct connect_options {
  /// The budget for the whole connect, every address included (not per address); when
  /// it runs out the connect fails with `timed_out`.
  time_limit timeout = no_timeout;
  /// Happy Eyeballs (RFC 8305 "Connection Attempt Delay"): while an attempt is still
  /// pending, the next address is tried after this long (at once when an attempt
  /// fails). Zero tries every address at once; the default is 250 ms, RFC 8305's
  /// recommendation.
  time_limit attempt_delay = std::chrono::milliseconds(250);
};

/// A TCP stream socket: move-only, closes on destruction.
///
/// Every operation has two forms: one throws `xsock::error` (message names the
/// operation and the address), one takes `std::error_code&` and is `noexcept` (the
/// name-resolving `connect` may throw only `std::bad_alloc`). Errors compare equal to
/// `std::errc` conditions on every platform. Timed calls take a `time_limit` (any
/// `std::chrono` duration, or `no_timeout`; zero: just look) and report
/// `std::errc::timed_out` when it elapses. On a socket put in non-blocking mode, `send`
/// and `receive` report `std::errc::operation_would_block` instead of waiting.
class stream_socket {
 public:
  /// Not open.
  stream_socket() noexcept = default;
  /// Takes ownership of a connected native socket.
  explicit stream_socket(native_handle_type handle) noexcept : handle_(handle) {}
  /// Takes `other`'s socket; `other` is left closed.
  stream_socket(stream_socket&& other) noexcept;
  /// Closes this socket, then takes `other`'s.
  stream_socket& operator=(stream_socket&& other) noexcept;
  stream_socket(const stream_socket&) = delete;
  stream_socket& operator=(const stream_socket&) = delete;
  /// Closes the socket.
  ~stream_socket();

  ///@{
  /// Opens a socket of the endpoint's family and connects it. Blocks until the
  /// connection is made or fails, at most `timeout` (then `timed_out`, and the socket
  /// is closed). A socket that is already open is closed first.
  void connect(const endpoint& peer, time_limit timeout = no_timeout);
  void connect(const endpoint& peer, std::error_code& ec) noexcept;
  void connect(const endpoint& peer, time_limit timeout, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Resolves `host` (a name or a numeric address, without NUL bytes; an empty host is
  /// refused with `invalid_argument`) and connects to the first address that answers,
  /// by Happy Eyeballs (RFC 8305): addresses interleaved by family, a new attempt every
  /// 250 ms while earlier ones are still pending, the first to connect wins. `timeout`
  /// is the budget for all of it, not per address. On failure the message names the
  /// host and every address tried with its error. The error_code form may throw only
  /// `std::bad_alloc`.
  void connect(std::string_view host, std::uint16_t port, time_limit timeout = no_timeout);
  void connect(std::string_view host, std::uint16_t port, std::error_code& ec);
  void connect(std::string_view host, std::uint16_t port, time_limit timeout, std::error_code& ec);
  /// As above, with the attempt delay of `options` instead of 250 ms.
  void connect(std::string_view host, std::uint16_t port, const connect_options& options);
  void connect(std::string_view host, std::uint16_t port, const connect_options& options,
               std::error_code& ec);
  ///@}

  ///@{
  /// Connects to the first of `candidates` that answers, by the same Happy Eyeballs
  /// race (interleaved by family, the first address's family first); `timeout` is the
  /// budget for all of them. An empty list fails with `invalid_argument`. The
  /// error_code form may throw only `std::bad_alloc`.
  void connect(const std::vector<endpoint>& candidates, time_limit timeout = no_timeout);
  void connect(const std::vector<endpoint>& candidates, time_limit timeout, std::error_code& ec);
  /// As above, with the attempt delay of `options` instead of 250 ms.
  void connect(const std::vector<endpoint>& candidates, const connect_options& options);
  void connect(const std::vector<endpoint>& candidates, const connect_options& options,
               std::error_code& ec);
  ///@}

  ///@{
  /// Sends some of the bytes; returns how many were sent (may be fewer than `size`).
  std::size_t send(const void* data, std::size_t size);
  std::size_t send(const void* data, std::size_t size, std::error_code& ec) noexcept;
  std::size_t send(std::string_view bytes) { return send(bytes.data(), bytes.size()); }
  std::size_t send(std::string_view bytes, std::error_code& ec) noexcept {
    return send(bytes.data(), bytes.size(), ec);
  }
  ///@}

  ///@{
  /// Sends all the bytes, waiting for the socket to become writable as needed (also
  /// in non-blocking mode). Returns the number of bytes sent, which is less than
  /// `size` only when an error is reported.
  std::size_t send_all(const void* data, std::size_t size);
  std::size_t send_all(const void* data, std::size_t size, std::error_code& ec) noexcept;
  std::size_t send_all(std::string_view bytes) { return send_all(bytes.data(), bytes.size()); }
  std::size_t send_all(std::string_view bytes, std::error_code& ec) noexcept {
    return send_all(bytes.data(), bytes.size(), ec);
  }
  ///@}

  ///@{
  /// Receives up to `size` bytes; returns how many arrived (possibly fewer than
  /// `size`). 0 with no error means end of stream: the peer closed or shut down its
  /// sending side. With a time limit, fails with `timed_out` if nothing arrives in time
  /// (nothing is lost: later calls receive what comes after). A zero `size` returns 0
  /// at once without waiting or touching the socket (that 0 is not end of stream).
  std::size_t receive(void* data, std::size_t size, time_limit timeout = no_timeout);
  std::size_t receive(void* data, std::size_t size, std::error_code& ec) noexcept;
  std::size_t receive(void* data, std::size_t size, time_limit timeout,
                      std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Waits until the socket is `readiness::readable` (data, end of stream or an error
  /// pending) or `readiness::writable`, as `what` asks (either, when both). Returns
  /// false when the time limit elapses first; an error or hang-up counts as ready.
  bool wait(readiness what, time_limit timeout = no_timeout);
  bool wait(readiness what, time_limit timeout, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Half-close: `send` makes the peer read end of stream after what was sent; the
  /// socket can still receive. `receive` discards what arrives later.
  void shutdown(shutdown_type what);
  void shutdown(shutdown_type what, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Closes the socket. Idempotent; safe on a moved-from socket.
  void close() noexcept;
  bool is_open() const noexcept { return handle_ != invalid_handle; }
  ///@}

  ///@{
  /// Gives up ownership of the native handle without closing it.
  native_handle_type release() noexcept;
  native_handle_type native_handle() const noexcept { return handle_; }
  ///@}

  // Options. Setters and getters have both forms; getters report errors through `ec`
  // or throw.

  ///@{
  /// TCP_NODELAY: send small writes at once instead of coalescing them (Nagle).
  void set_no_delay(bool on);
  void set_no_delay(bool on, std::error_code& ec) noexcept;
  bool no_delay() const;
  bool no_delay(std::error_code& ec) const noexcept;
  ///@}
  ///@{
  /// SO_KEEPALIVE: let the system probe an idle connection and reset it when the peer
  /// is gone.
  void set_keep_alive(bool on);
  void set_keep_alive(bool on, std::error_code& ec) noexcept;
  bool keep_alive() const;
  bool keep_alive(std::error_code& ec) const noexcept;
  ///@}
  ///@{
  /// SO_RCVBUF: the system's receive buffer, in bytes (the system may round or double
  /// it; the getter reports what it uses).
  void set_receive_buffer_size(int bytes);
  void set_receive_buffer_size(int bytes, std::error_code& ec) noexcept;
  int receive_buffer_size() const;
  int receive_buffer_size(std::error_code& ec) const noexcept;
  ///@}
  ///@{
  /// SO_SNDBUF: the system's send buffer, in bytes (as for the receive buffer).
  void set_send_buffer_size(int bytes);
  void set_send_buffer_size(int bytes, std::error_code& ec) noexcept;
  int send_buffer_size() const;
  int send_buffer_size(std::error_code& ec) const noexcept;
  ///@}
  ///@{
  /// SO_LINGER. `set_linger(true, 0)` makes `close()` reset the connection.
  void set_linger(bool on, int seconds);
  void set_linger(bool on, int seconds, std::error_code& ec) noexcept;
  ///@}
  ///@{
  /// Non-blocking mode: `send` and `receive` fail with `operation_would_block`
  /// instead of waiting (`send_all` and the timed calls still wait).
  void set_non_blocking(bool on);
  void set_non_blocking(bool on, std::error_code& ec) noexcept;
  bool non_blocking() const noexcept { return non_blocking_; }
  ///@}

  ///@{
  /// This end's address (the port the system picked included).
  endpoint local_endpoint() const;
  endpoint local_endpoint(std::error_code& ec) const noexcept;
  ///@}
  ///@{
  /// The peer's address (`not_connected` once the connection is gone).
  endpoint peer_endpoint() const;
  endpoint peer_endpoint(std::error_code& ec) const noexcept;
  ///@}

 private:
  // Throws xsock::error for `ec`, naming `operation` and the peer: called only after a
  // failure, so the success path builds no text.
  [[noreturn]] void fail(const std::error_code& ec, const char* operation) const;
  // Takes a handle connected to `peer` (by Happy Eyeballs).
  void adopt_connected(native_handle_type h, const endpoint& peer) noexcept;

  native_handle_type handle_ = invalid_handle;
  bool non_blocking_ = false;
  bool has_remote_ = false;
  // The peer, for error messages: getpeername() no longer works once the connection
  // has been reset.
  endpoint remote_;

  friend class listener;
};

}  // namespace xsock
