// xsock::listener: a listening TCP socket.
#pragma once

#include <system_error>

#include "xsock/endpoint.hpp"
#include "xsock/native_handle.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/time_limit.hpp"

namespace xsock {

/// How `listener::listen` sets up the socket.
struct listen_options {
  /// Pending-connection queue length passed to listen().
  int backlog = 128;
  /// Lets a restarted server bind a port that still has connections in TIME_WAIT
  /// (SO_REUSEADDR on POSIX). On Windows listeners always use SO_EXCLUSIVEADDRUSE
  /// instead, so no other process can take the port; this flag then has no effect.
  bool reuse_address = true;
  /// For an IPv6 endpoint: accept IPv6 only (true) or IPv4 too, as IPv4-mapped
  /// addresses (false: dual-stack). Set explicitly, never left to the system default.
  bool v6_only = false;
};

/// A listening TCP socket: move-only, closes on destruction. Errors and time limits as
/// in `stream_socket`: a throwing form and a `noexcept` error_code form each.
class listener {
 public:
  /// A connection taken by `accept`.
  struct accepted {
    stream_socket socket;  ///< the connected socket (blocking)
    endpoint peer;         ///< the peer's address
  };

  /// Not open.
  listener() noexcept = default;
  /// Takes `other`'s socket; `other` is left closed.
  listener(listener&& other) noexcept;
  /// Closes this listener, then takes `other`'s socket.
  listener& operator=(listener&& other) noexcept;
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener();

  ///@{
  /// Binds and listens. Port 0 picks a free port (`local_endpoint()` tells which).
  /// Throws `xsock::error` naming the address ("bind 0.0.0.0:7788: address already
  /// in use"). A listener that is already open is closed first.
  void listen(const endpoint& where, const listen_options& options = {});
  void listen(const endpoint& where, const listen_options& options, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Waits for and takes the next connection, at most `timeout` (`no_timeout`: no
  /// limit; zero: take one only if it is already pending), then fails with
  /// `timed_out`. A pending connection that was aborted or reset before it was taken
  /// is skipped, not reported. On a non-blocking listener, fails with
  /// `operation_would_block` when none is pending. Out of descriptors: fails with
  /// `too_many_files_open` (the connection stays queued). The accepted socket is
  /// blocking.
  accepted accept(time_limit timeout = no_timeout);
  accepted accept(std::error_code& ec) noexcept;
  accepted accept(time_limit timeout, std::error_code& ec) noexcept;
  ///@}

  /// Stops listening and closes the socket. Idempotent.
  void close() noexcept;
  /// True while listening.
  bool is_open() const noexcept { return handle_ != invalid_handle; }
  /// The system's handle (`invalid_handle` when closed).
  native_handle_type native_handle() const noexcept { return handle_; }

  ///@{
  /// Makes `accept` fail with `operation_would_block` instead of waiting when nothing
  /// is pending (for event loops), or wait again.
  void set_non_blocking(bool on);
  void set_non_blocking(bool on, std::error_code& ec) noexcept;
  ///@}
  /// True when `accept` does not wait.
  bool non_blocking() const noexcept { return non_blocking_; }

  ///@{
  /// The address listened on, with the port the system picked for port 0.
  endpoint local_endpoint() const;
  endpoint local_endpoint(std::error_code& ec) const noexcept;
  ///@}

 private:
  native_handle_type handle_ = invalid_handle;
  bool non_blocking_ = false;
};

}  // namespace xsock
