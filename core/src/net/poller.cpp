#include "xsock/poller.hpp"

#include <string>
#include <utility>

#include "backend.hpp"
#include "net/throw.hpp"

namespace xsock {
namespace {

unsigned to_backend(unsigned interest) noexcept {
  unsigned out = 0;
  if (interest & poller::readable) out |= detail::wait_read;
  if (interest & poller::writable) out |= detail::wait_write;
  return out;
}

unsigned from_backend(unsigned ready) noexcept {
  unsigned out = 0;
  if (ready & detail::wait_read) out |= poller::readable;
  if (ready & detail::wait_write) out |= poller::writable;
  if (ready & detail::wait_error) out |= poller::error;
  return out;
}

std::error_code closed_poller() noexcept {
  return detail::make_error(std::errc::bad_file_descriptor);
}

std::string describe(const char* operation, native_handle_type handle) {
  return std::string(operation) + " " + std::to_string(handle);
}

}  // namespace

poller::poller() {
  std::error_code ec;
  *this = poller(ec);
  detail::throw_if(ec, "poller");
}

poller::poller(std::error_code& ec) noexcept {
  detail::ensure_initialized(ec);
  if (ec) return;
  state_ = detail::poller_create(ec);
}

poller::poller(poller&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)), tags_(std::move(other.tags_)) {
  other.tags_.clear();
}

poller& poller::operator=(poller&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::exchange(other.state_, nullptr);
    tags_ = std::move(other.tags_);
    other.tags_.clear();
  }
  return *this;
}

poller::~poller() {
  close();
}

void poller::close() noexcept {
  detail::poller_destroy(state_);
  state_ = nullptr;
  tags_.clear();
}

void poller::add(native_handle_type handle, unsigned interest, std::uint64_t tag) {
  std::error_code ec;
  add(handle, interest, tag, ec);
  detail::throw_if(ec, describe("poller add", handle));
}

void poller::add(native_handle_type handle, unsigned interest, std::uint64_t tag,
                 std::error_code& ec) noexcept {
  ec.clear();
  if (state_ == nullptr) {
    ec = closed_poller();
    return;
  }
  if (handle == invalid_handle) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return;
  }
  if (tags_.count(handle) != 0) {
    ec = detail::make_error(std::errc::file_exists);
    return;
  }
  try {
    tags_.emplace(handle, tag);
  } catch (...) {
    ec = detail::make_error(std::errc::not_enough_memory);
    return;
  }
  detail::poller_add(state_, handle, to_backend(interest), ec);
  if (ec) tags_.erase(handle);
}

void poller::modify(native_handle_type handle, unsigned interest) {
  std::error_code ec;
  modify(handle, interest, ec);
  detail::throw_if(ec, describe("poller modify", handle));
}

void poller::modify(native_handle_type handle, unsigned interest, std::error_code& ec) noexcept {
  ec.clear();
  if (state_ == nullptr) {
    ec = closed_poller();
    return;
  }
  if (tags_.count(handle) == 0) {
    ec = detail::make_error(std::errc::no_such_file_or_directory);
    return;
  }
  detail::poller_modify(state_, handle, to_backend(interest), ec);
}

void poller::remove(native_handle_type handle) {
  std::error_code ec;
  remove(handle, ec);
  detail::throw_if(ec, describe("poller remove", handle));
}

void poller::remove(native_handle_type handle, std::error_code& ec) noexcept {
  ec.clear();
  if (state_ == nullptr) {
    ec = closed_poller();
    return;
  }
  const auto it = tags_.find(handle);
  if (it == tags_.end()) {
    ec = detail::make_error(std::errc::no_such_file_or_directory);
    return;
  }
  tags_.erase(it);
  // Forgotten here even if the system refuses (a handle closed before removal is
  // already gone from epoll); report the error all the same.
  detail::poller_remove(state_, handle, ec);
}

std::size_t poller::wait(std::vector<event>& events, duration timeout) {
  std::error_code ec;
  const std::size_t n = wait(events, timeout, ec);
  detail::throw_if(ec, "poller wait");
  return n;
}

std::size_t poller::wait(std::vector<event>& events, duration timeout,
                         std::error_code& ec) noexcept {
  ec.clear();
  events.clear();
  if (state_ == nullptr) {
    ec = closed_poller();
    return 0;
  }
  // Reused between calls so a busy loop does not allocate every turn.
  thread_local std::vector<detail::poller_ready> ready;
  const int timeout_ms = timeout.count() < 0 ? -1 : detail::to_timeout_ms(timeout);
  detail::poller_wait(state_, ready, timeout_ms, ec);
  if (ec) return 0;
  try {
    events.reserve(ready.size());
  } catch (...) {
    ec = detail::make_error(std::errc::not_enough_memory);
    return 0;
  }
  for (const detail::poller_ready& r : ready) {
    const auto it = tags_.find(r.handle);
    // A handle the backend still knows but core does not (removed after a failed
    // system call) is not the caller's business.
    if (it == tags_.end()) continue;
    events.push_back(event{r.handle, it->second, from_backend(r.events)});
  }
  return events.size();
}

void poller::wake() noexcept {
  detail::poller_wake(state_);
}

const char* poller::backend_name() noexcept {
  return detail::poller_backend_name();
}

}  // namespace xsock
