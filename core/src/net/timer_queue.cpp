#include "net/timer_queue.hpp"

namespace xsock::detail {

timer_ticket timer_queue::schedule(steady::time_point at, std::uint64_t value) {
  const std::uint64_t sequence = next_sequence_;
  entries_.emplace(std::make_pair(at, sequence), value);
  ++next_sequence_;  // only once the entry exists: a failed schedule wastes no number
  return timer_ticket{at, sequence};
}

bool timer_queue::cancel(timer_ticket& ticket) noexcept {
  if (!ticket.armed()) return false;
  const bool found = entries_.erase(std::make_pair(ticket.at, ticket.sequence)) != 0;
  ticket = timer_ticket{};
  return found;
}

steady::time_point timer_queue::next_deadline() const noexcept {
  return entries_.empty() ? steady::time_point::max() : entries_.begin()->first.first;
}

bool timer_queue::pop_expired(steady::time_point now, std::uint64_t& value) noexcept {
  if (entries_.empty()) return false;
  const auto first = entries_.begin();
  if (first->first.first > now) return false;
  value = first->second;
  entries_.erase(first);
  return true;
}

}  // namespace xsock::detail
