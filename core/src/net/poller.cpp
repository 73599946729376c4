#include "xsock/poller.hpp"

#include <new>
#include <string>
#include <unordered_map>
#include <utility>

#include "backend.hpp"
#include "net/throw.hpp"
#include "net/timing.hpp"

namespace xsock {

// The backend's object plus the handle -> tag map, kept here (portable) so backends
// deal only in handles.
struct poller::impl {
  detail::poller_state* state = nullptr;
  std::unordered_map<native_handle_type, std::uint64_t> tags;
  // Reused between calls so a busy loop does not allocate every turn.
  std::vector<detail::poller_ready> ready;
};

namespace {

unsigned to_backend(readiness interest) noexcept {
  unsigned out = 0;
  if (any(interest & readiness::readable)) out |= detail::wait_read;
  if (any(interest & readiness::writable)) out |= detail::wait_write;
  return out;
}

readiness from_backend(unsigned ready) noexcept {
  readiness out = readiness::none;
  if (ready & detail::wait_read) out |= readiness::readable;
  if (ready & detail::wait_write) out |= readiness::writable;
  if (ready & detail::wait_error) out |= readiness::error;
  return out;
}

std::error_code closed_poller() noexcept {
  return detail::make_error(std::errc::bad_file_descriptor);
}

[[noreturn]] void fail(const std::error_code& ec, const char* operation,
                       native_handle_type handle) {
  detail::throw_error(ec, operation, std::to_string(handle));
}

}  // namespace

poller::poller() {
  std::error_code ec;
  *this = poller(ec);
  if (ec) detail::throw_error(ec, "create poller");
}

poller::poller(std::error_code& ec) noexcept {
  detail::ensure_initialized(ec);
  if (ec) return;
  impl* p = new (std::nothrow) impl;
  if (p == nullptr) {
    ec = detail::make_error(std::errc::not_enough_memory);
    return;
  }
  p->state = detail::poller_create(ec);
  if (ec) {
    delete p;
    return;
  }
  impl_ = p;
}

poller::poller(poller&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}

poller& poller::operator=(poller&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::exchange(other.impl_, nullptr);
  }
  return *this;
}

poller::~poller() {
  close();
}

void poller::close() noexcept {
  if (impl_ == nullptr) return;
  detail::poller_destroy(impl_->state);
  delete std::exchange(impl_, nullptr);
}

std::size_t poller::size() const noexcept {
  return impl_ == nullptr ? 0 : impl_->tags.size();
}

void poller::add(native_handle_type handle, readiness interest, std::uint64_t tag) {
  std::error_code ec;
  add(handle, interest, tag, ec);
  if (ec) fail(ec, "poller add", handle);
}

void poller::add(native_handle_type handle, readiness interest, std::uint64_t tag,
                 std::error_code& ec) noexcept {
  ec.clear();
  if (impl_ == nullptr) {
    ec = closed_poller();
    return;
  }
  if (handle == invalid_handle) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return;
  }
  if (impl_->tags.count(handle) != 0) {
    ec = detail::make_error(std::errc::file_exists);
    return;
  }
  try {
    impl_->tags.emplace(handle, tag);
  } catch (...) {
    ec = detail::make_error(std::errc::not_enough_memory);
    return;
  }
  detail::poller_add(impl_->state, handle, to_backend(interest), ec);
  if (ec) impl_->tags.erase(handle);
}

void poller::modify(native_handle_type handle, readiness interest) {
  std::error_code ec;
  modify(handle, interest, ec);
  if (ec) fail(ec, "poller modify", handle);
}

void poller::modify(native_handle_type handle, readiness interest, std::error_code& ec) noexcept {
  ec.clear();
  if (impl_ == nullptr) {
    ec = closed_poller();
    return;
  }
  if (impl_->tags.count(handle) == 0) {
    ec = detail::make_error(std::errc::no_such_file_or_directory);
    return;
  }
  detail::poller_modify(impl_->state, handle, to_backend(interest), ec);
}

void poller::remove(native_handle_type handle) {
  std::error_code ec;
  remove(handle, ec);
  if (ec) fail(ec, "poller remove", handle);
}

void poller::remove(native_handle_type handle, std::error_code& ec) noexcept {
  ec.clear();
  if (impl_ == nullptr) {
    ec = closed_poller();
    return;
  }
  const auto it = impl_->tags.find(handle);
  if (it == impl_->tags.end()) {
    ec = detail::make_error(std::errc::no_such_file_or_directory);
    return;
  }
  impl_->tags.erase(it);
  // Forgotten here even if the system refuses (a handle closed before removal is
  // already gone from epoll); report the error all the same.
  detail::poller_remove(impl_->state, handle, ec);
}

std::size_t poller::wait(std::vector<event>& events, time_limit timeout) {
  std::error_code ec;
  const std::size_t n = wait(events, timeout, ec);
  if (ec) detail::throw_error(ec, "poller wait");
  return n;
}

std::size_t poller::wait(std::vector<event>& events, time_limit timeout,
                         std::error_code& ec) noexcept {
  ec.clear();
  events.clear();
  if (impl_ == nullptr) {
    ec = closed_poller();
    return 0;
  }
  detail::poller_wait(impl_->state, impl_->ready, detail::to_wait_ms(timeout), ec);
  if (ec) return 0;
  try {
    events.reserve(impl_->ready.size());
  } catch (...) {
    ec = detail::make_error(std::errc::not_enough_memory);
    return 0;
  }
  for (const detail::poller_ready& r : impl_->ready) {
    const auto it = impl_->tags.find(r.handle);
    // A handle the backend still knows but core does not (removed after a failed
    // system call) is not the caller's business.
    if (it == impl_->tags.end()) continue;
    events.push_back(event{r.handle, it->second, from_backend(r.events)});
  }
  return events.size();
}

void poller::wake() noexcept {
  if (impl_ != nullptr) detail::poller_wake(impl_->state);
}

const char* poller::backend_name() noexcept {
  return detail::poller_backend_name();
}

}  // namespace xsock
