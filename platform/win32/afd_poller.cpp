// The AFD poller (the Windows default): readiness from IOCTL_AFD_POLL (afd.hpp),
// completed on an I/O completion port, as wepoll, mio and c-ares do. Each registered
// socket has at most one poll outstanding; a poll that completed is issued again at
// the start of the next wait, and AFD completes it at once while the condition still
// holds, which is what makes it level-triggered. The cost of a wait is the number of
// ready sockets, not the number registered.
#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <new>
#include <unordered_map>
#include <vector>

#include "afd.hpp"
#include "backend.hpp"
#include "poller_backends.hpp"
#include "winsock.hpp"

namespace xsock::detail {
namespace {

// Completion keys on the port.
constexpr ULONG_PTR key_poll = 1;
constexpr ULONG_PTR key_wake = 2;

// Where a registered socket is; exactly one at a time. The update queue holds the
// `queued` and `closed` ones.
enum class afd_state : unsigned char {
  queued,   // no poll outstanding: one is issued at the start of the next wait
  pending,  // a poll is outstanding; its completion will come (and re-queue it)
  closed,   // closed while registered (or AFD refused it as no socket): reported at
            // every wait until removed, as poll() reports POLLNVAL
  removed,  // removed while its poll was outstanding: freed when the completion comes
};

struct afd_socket {
  // First member: the completion hands back &overlapped, and afd_cancel finds the
  // poll by it. Its Internal/InternalHigh fields are the poll's IO_STATUS_BLOCK.
  OVERLAPPED overlapped{};
  afd_poll_info info{};
  SOCKET socket = INVALID_SOCKET;  // the caller's handle (the registry's key)
  SOCKET base = INVALID_SOCKET;    // the one AFD polls
  poller_token token = 0;          // core's, reported with every event
  unsigned interest = 0;           // wait_read | wait_write
  ULONG polled = 0;                // AFD events of the outstanding poll
  afd_state state = afd_state::queued;
  // The update queue, intrusive: linking and unlinking never allocate or search.
  afd_socket* prev = nullptr;
  afd_socket* next = nullptr;
};

static_assert(offsetof(afd_socket, overlapped) == 0, "the completion is the socket state");

io_status_block* status_block(afd_socket* s) noexcept {
  return reinterpret_cast<io_status_block*>(&s->overlapped);
}

bool in_queue(afd_state state) noexcept {
  return state == afd_state::queued || state == afd_state::closed;
}

ULONG afd_events_for(unsigned interest) noexcept {
  // Errors and hang-ups always (as epoll reports EPOLLERR/EPOLLHUP unasked), and
  // the local close so that a socket closed while registered ends its poll.
  ULONG events = afd_poll_abort | afd_poll_connect_fail | afd_poll_local_close;
  if (interest & wait_read) events |= afd_poll_receive | afd_poll_accept | afd_poll_disconnect;
  if (interest & wait_write) events |= afd_poll_send;
  return events;
}

unsigned ready_from_afd(ULONG events, unsigned interest) noexcept {
  unsigned ready = 0;
  if (events & (afd_poll_receive | afd_poll_accept)) ready |= wait_read;
  if (events & afd_poll_send) ready |= wait_write;
  ready &= interest;
  // End of stream, reset, failed connect: the next read returns it.
  if (events & (afd_poll_disconnect | afd_poll_abort | afd_poll_connect_fail))
    ready |= wait_error | wait_read;
  // A failed connect also ends the wait for writable (as on Linux).
  if ((events & afd_poll_connect_fail) && (interest & wait_write)) ready |= wait_write;
  return ready;
}

class afd_poller final : public poller_state {
 public:
  // Bounded batch per wait (level-triggered: the rest come with the next one).
  static constexpr ULONG batch = 1024;

  bool open(std::error_code& ec) noexcept {
    try {
      entries_.resize(batch);
      sockets_.reserve(64);
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return false;
    }
    port_ = ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
    if (port_ == nullptr) {
      ec.assign(static_cast<int>(::GetLastError()), std::system_category());
      return false;
    }
    device_ = open_afd(ec);
    if (device_ == nullptr) return false;
    if (::CreateIoCompletionPort(device_, port_, key_poll, 0) == nullptr) {
      ec.assign(static_cast<int>(::GetLastError()), std::system_category());
      return false;
    }
    // Completions go to the port only; the device handle's own event is not needed.
    // (Not FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: a poll that completes at once still
    // queues its packet, so every poll ends in exactly one completion.)
    ::SetFileCompletionNotificationModes(device_, FILE_SKIP_SET_EVENT_ON_HANDLE);
    return true;
  }

  ~afd_poller() override {
    // Cancel every outstanding poll and collect its completion before the memory
    // it writes to is freed; a poll that never completes (bounded wait) is leaked
    // rather than freed under the kernel's feet.
    for (auto& entry : sockets_)
      unregister(entry.second);
    sockets_.clear();
    const auto deadline = poller_clock::now() + std::chrono::seconds(2);
    while (outstanding_ > 0 && port_ != nullptr) {
      ULONG n = 0;
      if (!::GetQueuedCompletionStatusEx(port_, entries_.data(),
                                         static_cast<ULONG>(entries_.size()), &n,
                                         remaining_ms(true, deadline), FALSE))
        break;  // timed out
      for (ULONG i = 0; i < n; ++i)
        if (entries_[i].lpCompletionKey == key_poll && entries_[i].lpOverlapped != nullptr)
          completed(reinterpret_cast<afd_socket*>(entries_[i].lpOverlapped), nullptr);
    }
    if (device_ != nullptr) ::CloseHandle(device_);
    if (port_ != nullptr) ::CloseHandle(port_);
  }

  void add(handle_t h, unsigned events, poller_token token, std::error_code& ec) noexcept override {
    ec.clear();
    const SOCKET s = sock(h);
    if (s == INVALID_SOCKET) {
      ec = make_error(std::errc::bad_file_descriptor);
      return;
    }
    if (sockets_.count(s) != 0) {
      ec = make_error(std::errc::file_exists);
      return;
    }
    const SOCKET base = base_socket(s, ec);
    if (ec) return;
    auto* state = new (std::nothrow) afd_socket;
    if (state == nullptr) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    state->socket = s;
    state->base = base;
    state->token = token;
    state->interest = events;
    try {
      sockets_.emplace(s, state);
    } catch (...) {
      delete state;  // never linked, never polled: nothing else knows it
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    link(state);  // queued: its first poll is issued at the next wait
  }

  void modify(handle_t h, unsigned events, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = sockets_.find(sock(h));
    if (it == sockets_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    afd_socket* s = it->second;
    s->interest = events;
    // Queued: the next poll watches the new set. Pending: a poll that watches too
    // little is cancelled (its completion re-queues it); one that watches too much
    // may complete for an event no longer wanted, which is dropped and the poll
    // re-issued with the new set.
    if (s->state == afd_state::pending && (afd_events_for(events) & ~s->polled) != 0)
      afd_cancel(device_, &s->overlapped);
  }

  void remove(handle_t h, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = sockets_.find(sock(h));
    if (it == sockets_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    afd_socket* s = it->second;
    sockets_.erase(it);
    unregister(s);
  }

  void wait(std::vector<poller_ready>& out, int timeout_ms, std::error_code& ec) noexcept override {
    ec.clear();
    out.clear();
    const bool limited = timeout_ms >= 0;
    const auto deadline = poller_clock::now() + std::chrono::milliseconds(limited ? timeout_ms : 0);
    try {
      out.reserve(batch);
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    for (;;) {
      issue_polls(out);
      // A closed socket is reported on every wait while it stays registered (as
      // poll() reports POLLNVAL): no point in sleeping then.
      const DWORD wait_ms = out.empty() ? remaining_ms(limited, deadline) : 0;
      ULONG n = 0;
      if (!::GetQueuedCompletionStatusEx(port_, entries_.data(),
                                         static_cast<ULONG>(entries_.size()), &n, wait_ms, FALSE)) {
        const DWORD err = ::GetLastError();
        // A timer tick can end the wait a little early: wait the rest, never return
        // before the deadline (the caller would only spin on zero-length waits).
        if (err == WAIT_TIMEOUT) {
          if (out.empty() && limited && poller_clock::now() < deadline) continue;
          return;
        }
        ec.assign(static_cast<int>(err), std::system_category());
        return;
      }
      bool woken = false;
      for (ULONG i = 0; i < n; ++i) {
        const OVERLAPPED_ENTRY& entry = entries_[i];
        if (entry.lpCompletionKey == key_wake) {
          woken = true;
          continue;
        }
        if (entry.lpCompletionKey != key_poll || entry.lpOverlapped == nullptr) continue;
        completed(reinterpret_cast<afd_socket*>(entry.lpOverlapped), &out);
      }
      if (woken) wake_pending_.store(false, std::memory_order_release);
      if (!out.empty() || woken) return;
      // Only cancelled polls or events no longer wanted: re-issue, wait the rest.
      if (limited && poller_clock::now() >= deadline) return;
    }
  }

  void wake() noexcept override {
    // One wake-up packet at a time; more would only be drained.
    if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
    if (!::PostQueuedCompletionStatus(port_, 0, key_wake, nullptr))
      wake_pending_.store(false, std::memory_order_release);
  }

 private:
  void link(afd_socket* s) noexcept {
    s->prev = tail_;
    s->next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = s;
    tail_ = s;
  }

  void unlink(afd_socket* s) noexcept {
    (s->prev != nullptr ? s->prev->next : head_) = s->next;
    (s->next != nullptr ? s->next->prev : tail_) = s->prev;
    s->prev = s->next = nullptr;
  }

  // A socket that is no longer registered (already out of the registry): freed now,
  // or, with a poll outstanding, cancelled and freed by completed().
  void unregister(afd_socket* s) noexcept {
    if (s->state == afd_state::pending) {
      // Its completion may already be queued: then there is nothing to cancel.
      afd_cancel(device_, &s->overlapped);
      s->state = afd_state::removed;
      ++outstanding_;
      return;
    }
    release(s);
  }

  // The one place an afd_socket is freed: never while the kernel may still write to
  // it (no poll outstanding).
  void release(afd_socket* s) noexcept {
    if (in_queue(s->state)) unlink(s);
    if (s->state == afd_state::removed) --outstanding_;
    delete s;
  }

  static void report(const afd_socket* s, unsigned ready, std::vector<poller_ready>* out) noexcept {
    if (ready != 0 && out != nullptr && out->size() < out->capacity())
      out->push_back(poller_ready{s->token, ready});
  }

  // Brings every queued socket to one poll watching its interest set. Closed sockets
  // stay in the queue (reported at every wait); the others leave it.
  void issue_polls(std::vector<poller_ready>& out) noexcept {
    for (afd_socket* s = head_; s != nullptr;) {
      afd_socket* const next = s->next;
      if (s->state == afd_state::closed) {
        report(s, wait_error | wait_read, &out);
        s = next;
        continue;
      }
      const ULONG wanted = afd_events_for(s->interest);
      s->info.timeout.QuadPart = LLONG_MAX;
      s->info.number_of_handles = 1;
      s->info.exclusive = FALSE;
      s->info.handles[0].handle = reinterpret_cast<HANDLE>(s->base);
      s->info.handles[0].events = wanted;
      s->info.handles[0].status = 0;
      const nt_status status = afd_poll(device_, &s->overlapped, status_block(s), &s->info);
      if (status == status_success || status == status_pending) {
        unlink(s);
        s->state = afd_state::pending;
        s->polled = wanted;
      } else {
        // The poll was refused for this socket alone: report it, never fail the wait
        // for the others. A handle that is no longer a socket (closed without being
        // removed; Windows says invalid handle, Wine 8 object type mismatch) stays
        // reported until removed; anything else is tried again at the next wait.
        if (status == status_invalid_handle || status == status_object_type_mismatch)
          s->state = afd_state::closed;
        report(s, wait_error | wait_read, &out);
      }
      s = next;
    }
  }

  // A poll's completion: re-queues the socket and reports what the poll saw (`out`
  // is nullptr while the poller is being destroyed).
  void completed(afd_socket* s, std::vector<poller_ready>* out) noexcept {
    if (s->state == afd_state::removed) {
      release(s);
      return;
    }
    const nt_status status = status_block(s)->status;
    unsigned ready = 0;
    s->state = afd_state::queued;
    if (status == status_cancelled) {
      // Cancelled by modify: re-issued at the next wait with the new interest set.
    } else if (status < 0) {
      ready = wait_error | wait_read;  // the poll itself failed
    } else if (s->info.number_of_handles >= 1) {
      const ULONG events = s->info.handles[0].events;
      if (events & afd_poll_local_close) {
        s->state = afd_state::closed;
        ready = wait_error | wait_read;
      } else {
        ready = ready_from_afd(events, s->interest);
      }
    }
    link(s);
    report(s, ready, out);
  }

  HANDLE port_ = nullptr;
  HANDLE device_ = nullptr;
  std::atomic<bool> wake_pending_{false};
  // The registered sockets by handle, for add/modify/remove (events find theirs by
  // the completion's OVERLAPPED, never here).
  std::unordered_map<SOCKET, afd_socket*> sockets_;
  // The update queue: sockets whose poll must be (re)issued, and closed ones.
  afd_socket* head_ = nullptr;
  afd_socket* tail_ = nullptr;
  std::size_t outstanding_ = 0;  // removed, their cancelled poll not yet completed
  std::vector<OVERLAPPED_ENTRY> entries_;
};

}  // namespace

poller_state* make_afd_poller(std::error_code& ec) noexcept {
  ec.clear();
  auto* p = new (std::nothrow) afd_poller;
  if (p == nullptr) {
    ec = make_error(std::errc::not_enough_memory);
    return nullptr;
  }
  if (p->open(ec)) return p;
  delete p;
  return nullptr;
}

}  // namespace xsock::detail
