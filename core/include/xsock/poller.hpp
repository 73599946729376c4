// xsock::poller: readiness of many sockets at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "xsock/stream_socket.hpp"

namespace xsock {

namespace detail {
struct poller_state;
}

/// Waits for readiness on many sockets: epoll on Linux, poll() on other POSIX systems
/// (and on Linux when built with `-DXSOCK_POLLER=poll`), WSAPoll on Windows.
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
/// Every operation has a throwing form (`xsock::error`) and a `std::error_code&` form.
class poller {
 public:
  using duration = std::chrono::milliseconds;
  /// Wait without a time limit.
  static constexpr duration infinite{-1};

  /// Interest and readiness flags (combine with `|`).
  enum flags : unsigned {
    none = 0,
    readable = 1,  ///< data, end of stream or a pending error can be read
    writable = 2,  ///< send would not block (a non-blocking connect has finished)
    /// Reported only: the system flagged an error or a hang-up on the socket. A read
    /// then returns end of stream or the error. Always watched, never requested.
    error = 4,
  };

  /// One ready socket.
  struct event {
    native_handle_type handle;
    /// The value given to `add` for this socket, as registered when `wait` returned
    /// (a socket removed and re-added later in the same turn does not change it).
    std::uint64_t tag;
    /// `readable`, `writable` and/or `error`.
    unsigned ready;
  };

  /// Creates the system object and the wake-up channel. Throws `xsock::error`.
  poller();
  explicit poller(std::error_code& ec) noexcept;
  poller(poller&& other) noexcept;
  poller& operator=(poller&& other) noexcept;
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  ~poller();

  /// False when construction failed (error_code form) or after a move.
  bool is_open() const noexcept { return state_ != nullptr; }

  /// Starts watching `handle` for `interest` (`readable` and/or `writable`; `none`
  /// keeps it registered but silent, except for errors on some systems). `tag` comes
  /// back in every event for it. Adding a handle twice fails with `file_exists`.
  void add(native_handle_type handle, unsigned interest, std::uint64_t tag = 0);
  void add(native_handle_type handle, unsigned interest, std::uint64_t tag,
           std::error_code& ec) noexcept;

  /// Changes the interest set of a registered handle (the tag stays). Unknown handle:
  /// `no_such_file_or_directory`.
  void modify(native_handle_type handle, unsigned interest);
  void modify(native_handle_type handle, unsigned interest, std::error_code& ec) noexcept;

  /// Stops watching `handle`. Unknown handle: `no_such_file_or_directory`.
  void remove(native_handle_type handle);
  void remove(native_handle_type handle, std::error_code& ec) noexcept;

  /// Number of registered handles.
  std::size_t size() const noexcept { return tags_.size(); }

  /// Waits until at least one registered socket is ready, `wake()` is called, or
  /// `timeout` elapses (`infinite`: no limit; zero: just look). Replaces the contents
  /// of `events` with the ready sockets and returns how many there are: 0 on timeout
  /// or on a wake-up with nothing ready. Interrupted system calls are retried with
  /// the remaining time. A backend may return only a batch of the ready sockets (epoll:
  /// up to 1024); level-triggered, the others are reported by the next `wait`.
  std::size_t wait(std::vector<event>& events, duration timeout);
  std::size_t wait(std::vector<event>& events, duration timeout, std::error_code& ec) noexcept;

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
  void close() noexcept;

  detail::poller_state* state_ = nullptr;
  // handle -> tag; kept here (portable) so backends deal only in handles.
  std::unordered_map<native_handle_type, std::uint64_t> tags_;
};

}  // namespace xsock
