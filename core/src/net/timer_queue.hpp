// Internal: a deadline queue (in the spirit of libuv's src/timer.c). The event loop
// keeps one for connection timers and one for loop timers; what a timer means (which
// connection, which task) is the owner's business, held here as a 64-bit value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

#include "net/timing.hpp"

namespace xsock::detail {

// What schedule() hands back: enough to find the entry again (its deadline and its
// place among equal deadlines), 16 bytes, so an owner can keep one per connection.
// Default-constructed: no timer.
struct timer_ticket {
  steady::time_point at{};
  std::uint64_t sequence = 0;  // 0: none; otherwise unique for the queue's life

  bool armed() const noexcept { return sequence != 0; }
};

class timer_queue {
 public:
  // Due at `at`, carrying `value` back out of pop_expired. Among equal deadlines,
  // timers fire in the order they were scheduled. Throws only std::bad_alloc.
  timer_ticket schedule(steady::time_point at, std::uint64_t value);
  // Takes the timer out; false when it already fired, was cancelled or never was. The
  // ticket is reset either way (so a stale ticket can be cancelled again harmlessly).
  bool cancel(timer_ticket& ticket) noexcept;
  // The earliest deadline, steady::time_point::max() when nothing is scheduled.
  steady::time_point next_deadline() const noexcept;
  // Removes the earliest timer due at `now` and gives its value; false when none is
  // due. One at a time: what runs between two calls may cancel or schedule timers.
  bool pop_expired(steady::time_point now, std::uint64_t& value) noexcept;

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  void clear() noexcept { entries_.clear(); }

 private:
  // Ordered by (deadline, sequence): the first entry is the next to fire, and ties
  // keep scheduling order. A node per timer, none for a connection without one.
  std::map<std::pair<steady::time_point, std::uint64_t>, std::uint64_t> entries_;
  std::uint64_t next_sequence_ = 1;
};

}  // namespace xsock::detail
