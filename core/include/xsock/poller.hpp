// xsock::poller: readiness of many sockets at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

#include "xsock/native_handle.hpp"
#include "xsock/readiness.hpp"
#include "xsock/time_limit.hpp"

namespace xsock {

/// Waits for readiness on many sockets: epoll on Linux, poll() on other POSIX systems
/// (and on Linux when built with `-DXSOCK_POLLER=poll`), `IOCTL_AFD_POLL` on an I/O
/// completion port on Windows (WSAPoll when the AFD device cannot be opened, or when
/// the environment has `XSOCK_POLLER=wsapoll`).
///
/// A failed non-blocking connect is reported (`error`, and `writable` when asked for)
/// on every backend, WSAPoll on old Windows versions included.
///
/// Semantics are **level-triggered** on every backend: `wait` reports a socket as
/// readable for as long as unread data (or end of stream, or an error) is pending, and
/// writable for as long as its send buffer has room, whether or not the previous
/// `wait` already reported it. A caller may therefore read only part of what is
/// available and come back later without losing a notification; a caller that does
/// not want to hear about writability must drop `writable` from the interest set
/// (otherwise every `wait` returns at once).
///
/// A poller does not own the sockets it watches. Remove a socket before closing it:
/// a closed handle left registered is reported with `error` (poll) or silently
/// forgotten (epoll), and the number may be reused by the next socket the process
/// opens.
///
/// Thread safety: one thread uses a poller (add/modify/remove/wait). `wake()` is the
/// exception: any thread, and a signal handler, may call it at any time.
///
/// Every operation has a throwing form (`xsock::error`, naming the operation and the
/// handle) and a `noexcept` `std::error_code&` form.
class poller {
 public:
  /// One ready socket.
  struct event {
    /// The socket.
    native_handle_type handle;
    /// The value given to `add` for this socket, as registered when `wait` returned
    /// (a socket removed and re-added later in the same turn does not change it).
    std::uint64_t tag;
    /// `readiness::readable`, `writable` and/or `error`.
    readiness ready;
  };

  ///@{
  /// Creates the system object and the wake-up channel. Throws `xsock::error`.
  poller();
  explicit poller(std::error_code& ec) noexcept;
  poller(poller&& other) noexcept;
  poller& operator=(poller&& other) noexcept;
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  ~poller();
  ///@}

  /// False when construction failed (error_code form) or after a move.
  bool is_open() const noexcept { return impl_ != nullptr; }

  ///@{
  /// Starts watching `handle` for `interest` (`readiness::readable` and/or `writable`;
  /// `none` keeps it registered but silent, except for errors on some systems). `tag`
  /// comes back in every event for it. Adding a handle twice fails with `file_exists`.
  void add(native_handle_type handle, readiness interest, std::uint64_t tag = 0);
  void add(native_handle_type handle, readiness interest, std::uint64_t tag,
           std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Changes the interest set of a registered handle (the tag stays). Unknown handle:
  /// `no_such_file_or_directory`.
  void modify(native_handle_type handle, readiness interest);
  void modify(native_handle_type handle, readiness interest, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Stops watching `handle`. Unknown handle: `no_such_file_or_directory`.
  void remove(native_handle_type handle);
  void remove(native_handle_type handle, std::error_code& ec) noexcept;
  ///@}

  /// Number of registered handles.
  std::size_t size() const noexcept;

  ///@{
  /// Waits until at least one registered socket is ready, `wake()` is called, or
  /// `timeout` elapses (`no_timeout`: no limit; zero: just look). Replaces the
  /// contents of `events` with the ready sockets and returns how many there are: 0 on
  /// timeout or on a wake-up with nothing ready. Interrupted system calls are retried
  /// with the remaining time. A backend may return only a batch of the ready sockets
  /// (epoll: up to 1024); level-triggered, the others are reported by the next `wait`.
  std::size_t wait(std::vector<event>& events, time_limit timeout = no_timeout);
  std::size_t wait(std::vector<event>& events, time_limit timeout, std::error_code& ec) noexcept;
  ///@}

  /// Makes the current or the next `wait` return. Safe from any thread and from a
  /// signal handler (it only writes to a pipe/socket and preserves errno). Several
  /// wake-ups before a `wait` count as one. Never fails; a no-op on a closed poller.
  void wake() noexcept;

  /// The backend in use: "epoll", "poll", "afd" (Windows default) or "WSAPoll" (Windows
  /// fallback: when the AFD device cannot be opened, or XSOCK_POLLER=wsapoll is in the
  /// environment when the poller is created); on Windows, the one a poller created now
  /// gets.
  static const char* backend_name() noexcept;

 private:
  struct impl;
  void close() noexcept;

  impl* impl_ = nullptr;
};

}  // namespace xsock
