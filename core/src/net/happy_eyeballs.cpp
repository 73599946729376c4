#include "net/happy_eyeballs.hpp"

#include <algorithm>

#include "net/throw.hpp"

namespace xsock::detail {

happy_eyeballs::happy_eyeballs(std::vector<endpoint> candidates, time_limit attempt_delay)
    : order_(interleave(candidates)), delay_(attempt_delay) {}

happy_eyeballs::~happy_eyeballs() {
  for (const attempt& a : pending_)
    close_handle(a.handle);
  if (winner_.handle != invalid_handle) close_handle(winner_.handle);
}

std::vector<endpoint> happy_eyeballs::interleave(const std::vector<endpoint>& candidates) {
  if (candidates.empty()) return {};
  const bool first_v6 = candidates.front().is_v6();
  std::vector<endpoint> first, second;
  for (const endpoint& ep : candidates)
    (ep.is_v6() == first_v6 ? first : second).push_back(ep);
  std::vector<endpoint> out;
  out.reserve(candidates.size());
  for (std::size_t i = 0; i < std::max(first.size(), second.size()); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < second.size()) out.push_back(second[i]);
  }
  return out;
}

void happy_eyeballs::start_due(steady::time_point now, std::vector<handle_t>& opened) noexcept {
  while (!won() && next_ < order_.size() && (pending_.empty() || now >= next_at_)) {
    const endpoint where = order_[next_++];
    std::error_code ec;
    ensure_initialized(ec);
    handle_t h = ec ? invalid_handle : open_stream_non_blocking(where, ec);
    bool connected = false;
    if (!ec) connected = connect(h, where, ec);
    if (ec) {
      if (h != invalid_handle) close_handle(h);
      try {
        failures_.emplace_back(where, ec);
      } catch (...) {
      }
      continue;  // a failed start costs no waiting: the next address at once
    }
    if (connected) {
      winner_ = attempt{h, where};
      return;
    }
    try {
      pending_.push_back(attempt{h, where});
      opened.push_back(h);
    } catch (...) {
      close_handle(h);
      pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                    [h](const attempt& a) { return a.handle == h; }),
                     pending_.end());
      continue;
    }
    next_at_ = deadline_after(now, delay_);
  }
}

void happy_eyeballs::fail(std::size_t index, std::error_code ec, steady::time_point now,
                          std::vector<handle_t>& closed) noexcept {
  const attempt a = pending_[index];
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(index));
  try {
    failures_.emplace_back(a.where, ec);
    closed.push_back(a.handle);
  } catch (...) {
  }
  close_handle(a.handle);
  // RFC 8305 section 5: a failed attempt lets the next one start at once.
  next_at_ = now;
}

void happy_eyeballs::check(handle_t h, steady::time_point now,
                           std::vector<handle_t>& closed) noexcept {
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].handle != h) continue;
    std::error_code ec;
    if (!connect_finished(h, ec)) {
      if (ec) fail(i, ec, now, closed);
      return;  // no error: still in progress (a spurious wake-up)
    }
    winner_ = pending_[i];
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
}

steady::time_point happy_eyeballs::next_attempt_at() const noexcept {
  if (won() || next_ >= order_.size()) return steady::time_point::max();
  return pending_.empty() ? steady::time_point::min() : next_at_;
}

happy_eyeballs::attempt happy_eyeballs::take_winner(std::vector<handle_t>& closed) noexcept {
  abandon(closed);
  failures_.clear();
  return std::exchange(winner_, attempt{invalid_handle, endpoint{}});
}

void happy_eyeballs::abandon(std::vector<handle_t>& closed) noexcept {
  for (const attempt& a : pending_) {
    try {
      failures_.emplace_back(a.where, make_error(std::errc::timed_out));
      closed.push_back(a.handle);
    } catch (...) {
    }
    close_handle(a.handle);
  }
  pending_.clear();
}

std::error_code happy_eyeballs::failure() const noexcept {
  if (failures_.empty()) return make_error(std::errc::timed_out);
  const std::error_condition first = failures_.front().second.default_error_condition();
  for (const auto& f : failures_)
    if (f.second.default_error_condition() != first) return failures_.back().second;
  return failures_.front().second;
}

std::string happy_eyeballs::attempts_text() const {
  std::string text;
  for (const auto& f : failures_) {
    if (!text.empty()) text += ", ";
    text += f.first.to_string();
    text += ": ";
    text += error_text(f.second);
  }
  return text;
}

endpoint happy_eyeballs::last_tried() const noexcept {
  if (won()) return winner_.where;
  if (!pending_.empty()) return pending_.back().where;
  if (!failures_.empty()) return failures_.back().first;
  return order_.empty() ? endpoint{} : order_.front();
}

std::string host_label(std::string_view host, std::uint16_t port) {
  std::string named = host.empty() ? std::string("\"\"") : printable(host);
  if (named.find(':') != std::string::npos && named.front() != '[') named = "[" + named + "]";
  return named + ":" + std::to_string(port);
}

}  // namespace xsock::detail
