// xsock::readiness: what a socket is ready for, or what a caller waits for.
#pragma once

namespace xsock {

/// Readiness of a socket, as bit flags (combine with `|`, test with `&` and `any`).
/// `stream_socket::wait` and `poller` use the same names.
enum class readiness : unsigned {
  none = 0,
  /// Data, end of stream or a pending error can be read; for a listener, a
  /// connection can be accepted.
  readable = 1,
  /// A send would not block; a non-blocking connect has finished (check its outcome).
  writable = 2,
  /// Reported only, never waited for: the system flagged an error or a hang-up. A
  /// read then returns end of stream or the error.
  error = 4,
};

constexpr readiness operator|(readiness a, readiness b) noexcept {
  return static_cast<readiness>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr readiness operator&(readiness a, readiness b) noexcept {
  return static_cast<readiness>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr readiness operator~(readiness a) noexcept {
  return static_cast<readiness>(~static_cast<unsigned>(a) & 7u);
}
constexpr readiness& operator|=(readiness& a, readiness b) noexcept {
  return a = a | b;
}
constexpr readiness& operator&=(readiness& a, readiness b) noexcept {
  return a = a & b;
}
/// True when any flag is set.
constexpr bool any(readiness r) noexcept {
  return r != readiness::none;
}

}  // namespace xsock
