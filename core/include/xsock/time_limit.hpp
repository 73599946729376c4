// xsock::time_limit: how long a timed operation may wait. One rule for every timed call.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>

namespace xsock {

/// How long a timed call may wait, in whole milliseconds. Every timed operation of
/// xsock takes one, with one meaning everywhere:
/// - `no_timeout`: no limit (wait as long as it takes);
/// - zero, or any negative duration: no waiting at all, just look (an expired
///   deadline);
/// - otherwise the duration rounded *up* to whole milliseconds (0.1 ms waits 1 ms, so a
///   short limit never turns into "just look").
///
/// Built implicitly from any `std::chrono::duration`, integral or floating
/// (`std::chrono::duration<double>(1.5)` is 1500 ms). A duration too long to represent
/// (`milliseconds::max()`, `hours::max()`, a huge or infinite floating value) saturates
/// to `no_timeout` instead of wrapping around; a NaN duration means zero.
class time_limit {
 public:
  /// The representation of the milliseconds.
  using rep = std::int64_t;

  /// Zero: just look.
  constexpr time_limit() noexcept = default;

  /// Any duration, by the rule above (implicit, so a duration can be passed directly).
  template <typename Rep, typename Period>
  constexpr time_limit(std::chrono::duration<Rep, Period> d) noexcept  // NOLINT: implicit
      : ms_(from(d)) {}

  /// The limit that never expires.
  static constexpr time_limit none() noexcept { return time_limit(unlimited_tag{}); }

  /// True for `no_timeout`.
  constexpr bool unlimited() const noexcept { return ms_ == unlimited_value; }
  /// The limit in milliseconds (>= 0); meaningless when `unlimited()`.
  constexpr std::chrono::milliseconds milliseconds() const noexcept {
    return std::chrono::milliseconds(unlimited() ? 0 : ms_);
  }

  /// The same limit.
  friend constexpr bool operator==(time_limit a, time_limit b) noexcept { return a.ms_ == b.ms_; }
  /// Not the same limit.
  friend constexpr bool operator!=(time_limit a, time_limit b) noexcept { return a.ms_ != b.ms_; }

 private:
  struct unlimited_tag {};
  // Anything longer than about 292 million years is treated as no limit.
  static constexpr rep unlimited_value = -1;
  static constexpr rep largest = rep{1} << 53;

  constexpr explicit time_limit(unlimited_tag) noexcept : ms_(unlimited_value) {}

  template <typename Rep, typename Period>
  static constexpr rep from(std::chrono::duration<Rep, Period> d) noexcept {
    if constexpr (std::is_floating_point_v<Rep>) {
      const long double ms = static_cast<long double>(d.count()) * Period::num * 1000 / Period::den;
      if (!(ms > 0)) return 0;  // negative, zero and NaN
      if (ms >= static_cast<long double>(largest)) return unlimited_value;
      const rep whole = static_cast<rep>(ms);
      return static_cast<long double>(whole) < ms ? whole + 1 : whole;
    } else {
      if (d.count() <= 0) return 0;
      // Compared in the duration's own unit first, so converting cannot overflow.
      using ms_type = std::chrono::duration<long double, std::milli>;
      if (std::chrono::duration_cast<ms_type>(d).count() >= static_cast<long double>(largest))
        return unlimited_value;
      const auto whole = std::chrono::duration_cast<std::chrono::duration<rep, std::milli>>(d);
      return d > whole ? whole.count() + 1 : whole.count();
    }
  }

  rep ms_ = 0;
};

/// No time limit: accepted by every timed call.
inline constexpr time_limit no_timeout = time_limit::none();

}  // namespace xsock
