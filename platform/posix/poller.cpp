// The poller backend for POSIX: epoll on Linux, poll() elsewhere, and poll() on Linux
// too when XSOCK_POLLER_POLL is defined (so CI exercises both on one machine). Both
// are level-triggered. The wake-up channel is a self-pipe: write() is
// async-signal-safe, so a signal handler may wake the loop.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <vector>

#include "backend.hpp"
#include "net/timing.hpp"

#if defined(__linux__) && !defined(XSOCK_POLLER_POLL)
#define XSOCK_USE_EPOLL 1
#include <sys/epoll.h>
#endif

namespace xsock::detail {
namespace {

int to_fd(handle_t h) noexcept {
  return static_cast<int>(h);
}

// A non-blocking, close-on-exec pipe: [0] read end, [1] write end.
bool open_wake_pipe(int fds[2], std::error_code& ec) noexcept {
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    ec = last_error();
    return false;
  }
#else
  // macOS has no pipe2. The poller is created before any fork the embedder does on
  // another thread could matter only in a narrow window; FD_CLOEXEC right after.
  if (::pipe(fds) != 0) {
    ec = last_error();
    return false;
  }
  for (int i = 0; i < 2; ++i) {
    ::fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    ::fcntl(fds[i], F_SETFL, ::fcntl(fds[i], F_GETFL) | O_NONBLOCK);
  }
#endif
  return true;
}

void drain(int fd) noexcept {
  char buffer[256];
  // Non-blocking: stops at EAGAIN once the pipe is empty.
  while (::read(fd, buffer, sizeof buffer) > 0) {
  }
}

using clock = std::chrono::steady_clock;

// The deadline of a wait of `timeout_ms` (negative: none) starting now.
clock::time_point wait_deadline(int timeout_ms) noexcept {
  return timeout_ms < 0 ? clock::time_point::max()
                        : clock::now() + std::chrono::milliseconds(timeout_ms);
}

// True when a wait that found nothing ended before its deadline (a signal, a kernel
// that rounded down): the caller waits the rest instead of returning early.
bool before(clock::time_point deadline) noexcept {
  return deadline != clock::time_point::max() && clock::now() < deadline;
}

}  // namespace

struct poller_state {
  int wake_read = -1;
  int wake_write = -1;
#ifdef XSOCK_USE_EPOLL
  int epoll_fd = -1;
  std::size_t registered = 0;
  std::vector<epoll_event> buffer;
#else
  // Slot 0 is the wake-up pipe; `tokens[i]` is core's token for `fds[i]` (kept apart
  // so that `fds` is what poll() takes); `index` maps a descriptor to its slot so
  // removal is O(1) (swap with the last slot).
  std::vector<pollfd> fds;
  std::vector<poller_token> tokens;
  std::unordered_map<int, std::size_t> index;
#endif
};

namespace {
// The wake-up pipe's token: never one of core's (that would take 2^32 slots).
constexpr poller_token wake_token = ~poller_token{0};
}  // namespace

#ifdef XSOCK_USE_EPOLL

namespace {
std::uint32_t to_epoll(unsigned events) noexcept {
  std::uint32_t out = 0;
  if (events & wait_read) out |= EPOLLIN | EPOLLRDHUP;
  if (events & wait_write) out |= EPOLLOUT;
  return out;
}
}  // namespace

poller_state* poller_create(std::error_code& ec) noexcept {
  ec.clear();
  auto* p = new (std::nothrow) poller_state;
  if (p == nullptr) {
    ec = make_error(std::errc::not_enough_memory);
    return nullptr;
  }
  p->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (p->epoll_fd < 0) {
    ec = last_error();
    delete p;
    return nullptr;
  }
  int fds[2];
  if (!open_wake_pipe(fds, ec)) {
    ::close(p->epoll_fd);
    delete p;
    return nullptr;
  }
  p->wake_read = fds[0];
  p->wake_write = fds[1];
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_token;
  if (::epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, p->wake_read, &ev) != 0) {
    ec = last_error();
    poller_destroy(p);
    return nullptr;
  }
  return p;
}

void poller_destroy(poller_state* p) noexcept {
  if (p == nullptr) return;
  if (p->epoll_fd >= 0) ::close(p->epoll_fd);
  if (p->wake_read >= 0) ::close(p->wake_read);
  if (p->wake_write >= 0) ::close(p->wake_write);
  delete p;
}

void poller_add(poller_state* p, handle_t h, unsigned events, poller_token token,
                std::error_code& ec) noexcept {
  ec.clear();
  epoll_event ev{};
  ev.events = to_epoll(events);
  // The kernel hands the token back with every event: no lookup in poller_wait.
  ev.data.u64 = token;
  if (::epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, to_fd(h), &ev) != 0) {
    ec = last_error();
    return;
  }
  ++p->registered;
}

void poller_modify(poller_state* p, handle_t h, unsigned events, poller_token token,
                   std::error_code& ec) noexcept {
  ec.clear();
  epoll_event ev{};
  ev.events = to_epoll(events);
  ev.data.u64 = token;
  if (::epoll_ctl(p->epoll_fd, EPOLL_CTL_MOD, to_fd(h), &ev) != 0) ec = last_error();
}

void poller_remove(poller_state* p, handle_t h, std::error_code& ec) noexcept {
  ec.clear();
  epoll_event ev{};  // ignored, but kernels before 2.6.9 required it
  if (::epoll_ctl(p->epoll_fd, EPOLL_CTL_DEL, to_fd(h), &ev) != 0) {
    ec = last_error();
    return;
  }
  --p->registered;
}

void poller_wait(poller_state* p, std::vector<poller_ready>& out, int timeout_ms,
                 std::error_code& ec) noexcept {
  ec.clear();
  out.clear();
  // Enough room for every registered socket up to a batch of 1024; more stay pending
  // (level-triggered) for the next call.
  const std::size_t want =
      std::min<std::size_t>(std::max<std::size_t>(p->registered + 1, 16), 1024);
  try {
    if (p->buffer.size() < want) p->buffer.resize(want);
    out.reserve(want);
  } catch (...) {
    ec = make_error(std::errc::not_enough_memory);
    return;
  }
  const auto deadline = wait_deadline(timeout_ms);
  int n;
  for (;;) {
    n = ::epoll_wait(p->epoll_fd, p->buffer.data(), static_cast<int>(p->buffer.size()),
                     wait_ms_until(deadline, clock::now()));
    if (n > 0 || (n == 0 && !before(deadline))) break;
    if (n == 0) continue;
    if (errno != EINTR) {
      ec = last_error();
      return;
    }
  }
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = p->buffer[static_cast<std::size_t>(i)];
    if (ev.data.u64 == wake_token) {
      drain(p->wake_read);
      continue;
    }
    unsigned ready = 0;
    if (ev.events & (EPOLLIN | EPOLLPRI)) ready |= wait_read;
    if (ev.events & EPOLLOUT) ready |= wait_write;
    // Hang-up / error: the next read returns end of stream or the error.
    if (ev.events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ready |= wait_error | wait_read;
    out.push_back(poller_ready{ev.data.u64, ready});
  }
}

const char* poller_backend_name() noexcept {
  return "epoll";
}

#else  // poll()

namespace {
short to_poll(unsigned events) noexcept {
  short out = 0;
  if (events & wait_read) out |= POLLIN;
  if (events & wait_write) out |= POLLOUT;
  return out;
}
}  // namespace

poller_state* poller_create(std::error_code& ec) noexcept {
  ec.clear();
  auto* p = new (std::nothrow) poller_state;
  if (p == nullptr) {
    ec = make_error(std::errc::not_enough_memory);
    return nullptr;
  }
  int fds[2];
  if (!open_wake_pipe(fds, ec)) {
    delete p;
    return nullptr;
  }
  p->wake_read = fds[0];
  p->wake_write = fds[1];
  try {
    p->fds.push_back(pollfd{p->wake_read, POLLIN, 0});
    p->tokens.push_back(wake_token);
  } catch (...) {
    ec = make_error(std::errc::not_enough_memory);
    poller_destroy(p);
    return nullptr;
  }
  return p;
}

void poller_destroy(poller_state* p) noexcept {
  if (p == nullptr) return;
  if (p->wake_read >= 0) ::close(p->wake_read);
  if (p->wake_write >= 0) ::close(p->wake_write);
  delete p;
}

void poller_add(poller_state* p, handle_t h, unsigned events, poller_token token,
                std::error_code& ec) noexcept {
  ec.clear();
  const int fd = to_fd(h);
  if (fd < 0) {
    ec = make_error(std::errc::bad_file_descriptor);
    return;
  }
  if (p->index.count(fd) != 0) {
    ec = make_error(std::errc::file_exists);
    return;
  }
  try {
    p->fds.reserve(p->fds.size() + 1);
    p->tokens.reserve(p->fds.size() + 1);
    p->index.emplace(fd, p->fds.size());
  } catch (...) {
    ec = make_error(std::errc::not_enough_memory);
    return;
  }
  p->fds.push_back(pollfd{fd, to_poll(events), 0});  // room reserved: cannot throw
  p->tokens.push_back(token);
}

void poller_modify(poller_state* p, handle_t h, unsigned events, poller_token,
                   std::error_code& ec) noexcept {
  ec.clear();
  const auto it = p->index.find(to_fd(h));
  if (it == p->index.end()) {
    ec = make_error(std::errc::no_such_file_or_directory);
    return;
  }
  p->fds[it->second].events = to_poll(events);
}

void poller_remove(poller_state* p, handle_t h, std::error_code& ec) noexcept {
  ec.clear();
  const auto it = p->index.find(to_fd(h));
  if (it == p->index.end()) {
    ec = make_error(std::errc::no_such_file_or_directory);
    return;
  }
  const std::size_t slot = it->second;
  p->index.erase(it);
  const std::size_t last = p->fds.size() - 1;
  if (slot != last) {
    p->fds[slot] = p->fds[last];
    p->tokens[slot] = p->tokens[last];
    p->index[p->fds[slot].fd] = slot;  // the entry exists: no allocation
  }
  p->fds.pop_back();
  p->tokens.pop_back();
}

void poller_wait(poller_state* p, std::vector<poller_ready>& out, int timeout_ms,
                 std::error_code& ec) noexcept {
  ec.clear();
  out.clear();
  const auto deadline = wait_deadline(timeout_ms);
  int n;
  for (;;) {
    n = ::poll(p->fds.data(), static_cast<nfds_t>(p->fds.size()),
               wait_ms_until(deadline, clock::now()));
    if (n > 0 || (n == 0 && !before(deadline))) break;
    if (n == 0) continue;
    if (errno != EINTR) {
      ec = last_error();
      return;
    }
  }
  if (n == 0) return;
  try {
    out.reserve(static_cast<std::size_t>(n));
  } catch (...) {
    ec = make_error(std::errc::not_enough_memory);
    return;
  }
  for (std::size_t i = 0; i < p->fds.size(); ++i) {
    pollfd& entry = p->fds[i];
    if (entry.revents == 0) continue;
    const short revents = entry.revents;
    entry.revents = 0;
    if (i == 0) {  // the wake-up pipe
      drain(p->wake_read);
      continue;
    }
    unsigned ready = 0;
    if (revents & POLLIN) ready |= wait_read;
    if (revents & POLLOUT) ready |= wait_write;
    if (revents & (POLLERR | POLLHUP | POLLNVAL)) ready |= wait_error | wait_read;
    out.push_back(poller_ready{p->tokens[i], ready});
  }
}

const char* poller_backend_name() noexcept {
  return "poll";
}

#endif

void poller_wake(poller_state* p) noexcept {
  if (p == nullptr) return;
  const int saved = errno;
  const char byte = 1;
  // A full pipe (EAGAIN) means a wake-up is already pending: nothing to do.
  while (::write(p->wake_write, &byte, 1) < 0 && errno == EINTR) {
  }
  errno = saved;
}

}  // namespace xsock::detail
