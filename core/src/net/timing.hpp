// Internal: turning a time_limit into what system calls and loops need, saturating.
#pragma once

#include <chrono>
#include <climits>
#include <cstdint>

#include "xsock/time_limit.hpp"

namespace xsock::detail {

using steady = std::chrono::steady_clock;

// A wait for the backend: -1 for no limit, else milliseconds clamped to INT_MAX (a
// longer wait simply wakes up early and the caller waits again).
inline int to_wait_ms(time_limit limit) noexcept {
  if (limit.unlimited()) return -1;
  const auto count = limit.milliseconds().count();
  return count > INT_MAX ? INT_MAX : static_cast<int>(count);
}

// now + limit, saturating at time_point::max() (which stands for "never").
inline steady::time_point deadline_after(steady::time_point now, time_limit limit) noexcept {
  if (limit.unlimited()) return steady::time_point::max();
  const auto room =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady::time_point::max() - now);
  if (limit.milliseconds() >= room) return steady::time_point::max();
  return now + limit.milliseconds();
}

// The one place a deadline becomes whole milliseconds of waiting: rounded UP, so a
// wait of that many milliseconds never ends before the deadline. (Truncating made a
// 300 ms timer end its wait 0.x ms early, then spin on zero-millisecond waits until the
// deadline really passed: hundreds of loop turns instead of one.) Zero once the
// deadline has passed.
inline std::int64_t ms_until(steady::time_point deadline, steady::time_point now) noexcept {
  if (deadline <= now) return 0;
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
}

// For the backends' own waits: -1 for no deadline (time_point::max()), else
// ms_until clamped to INT_MAX.
inline int wait_ms_until(steady::time_point deadline, steady::time_point now) noexcept {
  if (deadline == steady::time_point::max()) return -1;
  const std::int64_t ms = ms_until(deadline, now);
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// What is left of a deadline as a time_limit (zero once it has passed), rounded up.
inline time_limit remaining(steady::time_point deadline, steady::time_point now) noexcept {
  if (deadline == steady::time_point::max()) return no_timeout;
  return std::chrono::milliseconds(ms_until(deadline, now));
}

}  // namespace xsock::detail
