#include "net/connect_driver.hpp"

#include <algorithm>
#include <utility>

namespace xsock::detail {

connect_driver::connect_driver(std::vector<endpoint> candidates, time_limit attempt_delay,
                               poller& watcher, std::uint64_t tag)
    : engine_(std::move(candidates), attempt_delay), watcher_(watcher), tag_(tag) {}

connect_driver::~connect_driver() {
  abandon();
}

void connect_driver::unwatch(const std::vector<handle_t>& handles) noexcept {
  for (const handle_t h : handles) {
    std::error_code ignored;
    watcher_.remove(h, ignored);
  }
}

void connect_driver::start_due(steady::time_point now) noexcept {
  changed_.clear();
  engine_.start_due(now, changed_);
  for (const handle_t h : changed_) {
    // A socket the poller refuses is not lost: its attempt ends by the time limit.
    std::error_code ignored;
    watcher_.add(h, readiness::writable, tag_, ignored);
  }
}

void connect_driver::on_ready(handle_t h, steady::time_point now) noexcept {
  changed_.clear();
  engine_.check(h, now, changed_);
  if (engine_.won()) winner_watched_ = true;
  // The engine closed these already: the poller forgets them (epoll does so itself,
  // poll and the Windows pollers would keep a dead handle).
  unwatch(changed_);
}

happy_eyeballs::attempt connect_driver::take_winner(bool keep_watched, bool* watched) noexcept {
  // Out of the poller before the engine closes them.
  for (const auto& a : engine_.pending()) {
    std::error_code ignored;
    watcher_.remove(a.handle, ignored);
  }
  changed_.clear();
  happy_eyeballs::attempt winner = engine_.take_winner(changed_);
  const bool keep = keep_watched && winner_watched_;
  if (!keep) {
    std::error_code ignored;
    watcher_.remove(winner.handle, ignored);
  }
  if (watched) *watched = keep;
  return winner;
}

void connect_driver::abandon() noexcept {
  for (const auto& a : engine_.pending()) {
    std::error_code ignored;
    watcher_.remove(a.handle, ignored);
  }
  changed_.clear();
  engine_.abandon(changed_);
}

void connect_first(const std::vector<endpoint>& candidates, steady::time_point deadline,
                   time_limit attempt_delay, handle_t& won, endpoint& last, std::string& tried,
                   std::error_code& ec) {
  won = invalid_handle;
  poller watch(ec);
  if (ec) return;
  connect_driver driver(candidates, attempt_delay, watch, 0);
  std::vector<poller::event> events;
  for (;;) {
    auto now = steady::now();
    driver.start_due(now);
    if (driver.won() || driver.exhausted() || now >= deadline) break;
    const auto wake_at = std::min(deadline, driver.next_attempt_at());
    watch.wait(events, remaining(wake_at, now), ec);
    if (ec) break;
    now = steady::now();
    for (const poller::event& e : events)
      driver.on_ready(e.handle, now);
  }
  if (driver.won()) {
    const happy_eyeballs::attempt winner = driver.take_winner();
    last = winner.where;
    set_non_blocking(winner.handle, false, ec);
    if (ec) {
      close_handle(winner.handle);
      return;
    }
    won = winner.handle;
    return;
  }
  driver.abandon();
  last = driver.last_tried();
  tried = driver.attempts_text();
  if (!ec) ec = driver.failure();
}

std::string connect_failure_target(std::string_view label, std::size_t candidate_count,
                                   const endpoint& last, std::string_view tried) {
  std::string what(label);
  if (candidate_count == 0) return what;
  const std::string one = last.to_string();
  if (candidate_count == 1 && label == one) return what;
  if (!tried.empty()) {
    what += " (";
    what += tried;
    what += ")";
  } else if (candidate_count == 1) {
    what += " (" + one + ")";
  }
  return what;
}

}  // namespace xsock::detail
