#include "xsock/poller.hpp"

#include <cstdint>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>

#include "backend.hpp"
#include "net/throw.hpp"
#include "net/timing.hpp"

namespace xsock {

// The backend's object plus the registration table, kept here (portable).
//
// Each registered socket has a slot; the backend stores the slot's token where the
// kernel hands it back with every event (epoll's data.u64, the AFD poll's state, the
// entry beside a pollfd), so an event finds its handle and tag by indexing `slots`, not
// by a hash lookup. The token carries the slot's generation too: a slot is reused by
// the next add after a remove, and an event the kernel still delivers for the old
// socket (a descriptor closed before its removal but kept alive by a dup, a completion
// already queued) carries the old generation and is dropped instead of being handed
// to the new socket. `index` (handle -> slot) serves add/modify/remove only.
//
// A slot is 16 bytes (an event loop holds one per connection, and the tools are
// measured by their memory per idle connection): the handle is kept in 32 bits, which
// loses nothing, since POSIX descriptors are ints and 64-bit Windows handles are
// 32-bit significant (sign-extended, as Windows documents for interoperability);
// `add` refuses a handle that would not come back whole. Free slots form a list
// threaded through their `tag`, so releasing never allocates.
struct poller::impl {
  static constexpr std::uint32_t no_slot = ~std::uint32_t{0};

  struct slot {
    std::uint64_t tag = no_slot;  // while free: the next free slot
    std::int32_t handle = -1;     // -1: free
    // Bumped when the slot is released, so no token handed out before matches again.
    std::uint32_t generation = 0;
  };
  static_assert(sizeof(slot) == 16, "a slot is 16 bytes");

  static bool fits(native_handle_type handle) noexcept {
    return widen(static_cast<std::int32_t>(handle)) == handle;
  }
  static native_handle_type widen(std::int32_t handle) noexcept {
    return static_cast<native_handle_type>(static_cast<std::intptr_t>(handle));
  }

  detail::poller_state* state = nullptr;
  std::vector<slot> slots;
  std::uint32_t free_head = no_slot;
  std::unordered_map<native_handle_type, std::uint32_t> index;
  // Reused between calls so a busy loop does not allocate every turn.
  std::vector<detail::poller_ready> ready;

  static detail::poller_token token(std::uint32_t at, std::uint32_t generation) noexcept {
    return (static_cast<std::uint64_t>(generation) << 32) | at;
  }

  // The live slot `t` names, or nullptr when it was released since (a stale event).
  const slot* find(detail::poller_token t) const noexcept {
    const auto at = static_cast<std::uint32_t>(t);
    if (at >= slots.size()) return nullptr;
    const slot& s = slots[at];
    if (s.generation != static_cast<std::uint32_t>(t >> 32) || s.handle == -1) return nullptr;
    return &s;
  }

  // Takes a free slot (or a new one) for `handle`; false when memory runs out.
  bool acquire(native_handle_type handle, std::uint64_t tag, std::uint32_t& at) noexcept {
    try {
      if (free_head == no_slot) {
        slots.emplace_back();  // free, its `tag` ends the list
        free_head = static_cast<std::uint32_t>(slots.size() - 1);
      }
      at = free_head;
      index.emplace(handle, at);
    } catch (...) {
      return false;  // the slot, if one was made, stays free
    }
    free_head = static_cast<std::uint32_t>(slots[at].tag);
    slots[at].handle = static_cast<std::int32_t>(handle);
    slots[at].tag = tag;
    return true;
  }

  void release(std::uint32_t at) noexcept {
    slots[at].handle = -1;
    ++slots[at].generation;
    slots[at].tag = free_head;
    free_head = at;
  }
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
  return impl_ == nullptr ? 0 : impl_->index.size();
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
  if (handle == invalid_handle || !impl::fits(handle)) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return;
  }
  if (impl_->index.count(handle) != 0) {
    ec = detail::make_error(std::errc::file_exists);
    return;
  }
  std::uint32_t at = 0;
  if (!impl_->acquire(handle, tag, at)) {
    ec = detail::make_error(std::errc::not_enough_memory);
    return;
  }
  detail::poller_add(impl_->state, handle, to_backend(interest),
                     impl::token(at, impl_->slots[at].generation), ec);
  if (ec) {
    impl_->index.erase(handle);
    impl_->release(at);
  }
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
  const auto it = impl_->index.find(handle);
  if (it == impl_->index.end()) {
    ec = detail::make_error(std::errc::no_such_file_or_directory);
    return;
  }
  const std::uint32_t at = it->second;
  detail::poller_modify(impl_->state, handle, to_backend(interest),
                        impl::token(at, impl_->slots[at].generation), ec);
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
  const auto it = impl_->index.find(handle);
  if (it == impl_->index.end()) {
    ec = detail::make_error(std::errc::no_such_file_or_directory);
    return;
  }
  impl_->release(it->second);
  impl_->index.erase(it);
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
    // A token whose slot was released (a socket the kernel still watches though it
    // was removed after a failed system call, or one whose slot a new socket has
    // now) is not the caller's business.
    const impl::slot* s = impl_->find(r.token);
    if (s == nullptr) continue;
    events.push_back(event{impl::widen(s->handle), s->tag, from_backend(r.events)});
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
