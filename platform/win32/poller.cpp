// The poller backend for Windows: WSAPoll, level-triggered like the POSIX ones. The
// wake-up channel is a connected loopback TCP pair (Winsock has no pipe that WSAPoll
// can watch): poller_wake sends one byte, poller_wait drains it.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <winsock2.h>

#include <cerrno>
#include <new>
#include <unordered_map>
#include <vector>

#include "backend.hpp"
#include "xsock/error.hpp"

namespace xsock::detail {
namespace {

SOCKET sock(handle_t h) noexcept {
  return static_cast<SOCKET>(h);
}

// Interest in WSAPoll's terms: POLLRDNORM/POLLWRNORM (POLLPRI and POLLRDBAND are
// rejected by some Windows versions with WSAEINVAL).
short to_poll(unsigned events) noexcept {
  int out = 0;
  if (events & wait_read) out |= POLLRDNORM;
  if (events & wait_write) out |= POLLWRNORM;
  return static_cast<short>(out);
}

unsigned from_poll(short revents) noexcept {
  unsigned ready = 0;
  if (revents & (POLLRDNORM | POLLRDBAND)) ready |= wait_read;
  if (revents & POLLWRNORM) ready |= wait_write;
  // Hang-up / error / closed handle: the next read returns end of stream or the
  // error. (After the peer's shutdown(SD_SEND), Wine reports POLLHUP alone.)
  if (revents & (POLLERR | POLLHUP | POLLNVAL)) ready |= wait_error | wait_read;
  return ready;
}

// A connected pair of loopback sockets: [0] is read by the poller, [1] is written by
// poller_wake. The accepted end is checked to be our own connection, so another local
// program cannot slip into the listener's queue in between.
bool open_wake_pair(SOCKET pair[2], std::error_code& ec) noexcept {
  const endpoint candidates[] = {endpoint::loopback_v4(0), endpoint::loopback_v6(0)};
  for (const endpoint& where : candidates) {
    ec.clear();
    const handle_t server = open_stream(where, ec);
    if (ec) continue;
    handle_t client = invalid_handle;
    handle_t accepted = invalid_handle;
    do {
      prepare_listener(server, false, ec);
      if (ec) break;
      bind(server, where, ec);
      if (ec) break;
      listen(server, 1, ec);
      if (ec) break;
      const endpoint target = local_endpoint(server, ec);
      if (ec) break;
      client = open_stream(where, ec);
      if (ec) break;
      if (!connect(client, target, ec) && !ec) ec = make_error(std::errc::operation_in_progress);
      if (ec) break;
      const endpoint mine = local_endpoint(client, ec);
      if (ec) break;
      for (int attempt = 0; attempt < 16 && !ec; ++attempt) {
        endpoint peer;
        accepted = accept(server, peer, ec);
        if (ec) break;
        if (peer == mine) break;
        close_handle(accepted);  // someone else's connection
        accepted = invalid_handle;
      }
      if (!ec && accepted == invalid_handle) ec = make_error(std::errc::connection_aborted);
      if (ec) break;
      set_non_blocking(accepted, true, ec);
      if (!ec) set_non_blocking(client, true, ec);
      if (!ec) set_option(client, option::no_delay, 1, ec);
    } while (false);
    close_handle(server);
    if (!ec) {
      pair[0] = sock(accepted);
      pair[1] = sock(client);
      return true;
    }
    if (accepted != invalid_handle) close_handle(accepted);
    if (client != invalid_handle) close_handle(client);
  }
  return false;
}

void drain(SOCKET s) noexcept {
  char buffer[256];
  // Non-blocking: stops at WSAEWOULDBLOCK once nothing is pending.
  while (::recv(s, buffer, static_cast<int>(sizeof buffer), 0) > 0) {
  }
}

bool is_socket(SOCKET s) noexcept {
  int type = 0;
  int len = static_cast<int>(sizeof type);
  return ::getsockopt(s, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) == 0;
}

}  // namespace

struct poller_state {
  SOCKET wake_read = INVALID_SOCKET;
  SOCKET wake_write = INVALID_SOCKET;
  // Slot 0 is the wake-up socket; `index` maps a handle to its slot so removal is
  // O(1) (swap with the last slot).
  std::vector<WSAPOLLFD> fds;
  std::unordered_map<SOCKET, std::size_t> index;
};

poller_state* poller_create(std::error_code& ec) noexcept {
  ec.clear();
  auto* p = new (std::nothrow) poller_state;
  if (p == nullptr) {
    ec = make_error(std::errc::not_enough_memory);
    return nullptr;
  }
  SOCKET pair[2];
  if (!open_wake_pair(pair, ec)) {
    delete p;
    return nullptr;
  }
  p->wake_read = pair[0];
  p->wake_write = pair[1];
  try {
    WSAPOLLFD entry{};
    entry.fd = p->wake_read;
    entry.events = POLLRDNORM;
    p->fds.push_back(entry);
  } catch (...) {
    ec = make_error(std::errc::not_enough_memory);
    poller_destroy(p);
    return nullptr;
  }
  return p;
}

void poller_destroy(poller_state* p) noexcept {
  if (p == nullptr) return;
  if (p->wake_read != INVALID_SOCKET) ::closesocket(p->wake_read);
  if (p->wake_write != INVALID_SOCKET) ::closesocket(p->wake_write);
  delete p;
}

void poller_add(poller_state* p, handle_t h, unsigned events, std::error_code& ec) noexcept {
  ec.clear();
  const SOCKET s = sock(h);
  if (s == INVALID_SOCKET) {
    ec = make_error(std::errc::bad_file_descriptor);
    return;
  }
  if (p->index.count(s) != 0) {
    ec = make_error(std::errc::file_exists);
    return;
  }
  try {
    WSAPOLLFD entry{};
    entry.fd = s;
    entry.events = to_poll(events);
    p->fds.push_back(entry);
    p->index.emplace(s, p->fds.size() - 1);
  } catch (...) {
    if (p->fds.size() > p->index.size() + 1) p->fds.pop_back();
    ec = make_error(std::errc::not_enough_memory);
  }
}

void poller_modify(poller_state* p, handle_t h, unsigned events, std::error_code& ec) noexcept {
  ec.clear();
  const auto it = p->index.find(sock(h));
  if (it == p->index.end()) {
    ec = make_error(std::errc::no_such_file_or_directory);
    return;
  }
  p->fds[it->second].events = to_poll(events);
}

void poller_remove(poller_state* p, handle_t h, std::error_code& ec) noexcept {
  ec.clear();
  const auto it = p->index.find(sock(h));
  if (it == p->index.end()) {
    ec = make_error(std::errc::no_such_file_or_directory);
    return;
  }
  const std::size_t slot = it->second;
  p->index.erase(it);
  const std::size_t last = p->fds.size() - 1;
  if (slot != last) {
    p->fds[slot] = p->fds[last];
    p->index[p->fds[slot].fd] = slot;
  }
  p->fds.pop_back();
}

void poller_wait(poller_state* p, std::vector<poller_ready>& out, int timeout_ms,
                 std::error_code& ec) noexcept {
  ec.clear();
  out.clear();
  for (WSAPOLLFD& entry : p->fds)
    entry.revents = 0;
  const int n =
      ::WSAPoll(p->fds.data(), static_cast<ULONG>(p->fds.size()), timeout_ms < 0 ? -1 : timeout_ms);
  if (n == SOCKET_ERROR) {
    const int err = ::WSAGetLastError();
    if (err != WSAENOTSOCK) {
      ec.assign(err, socket_category());
      return;
    }
    // Some WSAPoll implementations (Wine) fail the whole call when a registered
    // handle was closed, where Windows and poll() flag that one entry POLLNVAL.
    // Report those entries the POSIX way, without waiting.
    for (std::size_t i = 1; i < p->fds.size(); ++i) {
      if (!is_socket(p->fds[i].fd)) p->fds[i].revents = POLLNVAL;
    }
  } else if (n == 0) {
    return;
  }
  try {
    out.reserve(p->fds.size());
  } catch (...) {
    ec = make_error(std::errc::not_enough_memory);
    return;
  }
  for (WSAPOLLFD& entry : p->fds) {
    if (entry.revents == 0) continue;
    const short revents = entry.revents;
    entry.revents = 0;
    if (entry.fd == p->wake_read) {
      drain(p->wake_read);
      continue;
    }
    const unsigned ready = from_poll(revents);
    if (ready != 0) out.push_back(poller_ready{static_cast<handle_t>(entry.fd), ready});
  }
}

void poller_wake(poller_state* p) noexcept {
  if (p == nullptr) return;
  const int saved_wsa = ::WSAGetLastError();
  const int saved_errno = errno;
  const char byte = 1;
  // WSAEWOULDBLOCK means the wake-up socket is full: a wake-up is already pending.
  ::send(p->wake_write, &byte, 1, 0);
  ::WSASetLastError(saved_wsa);
  errno = saved_errno;
}

const char* poller_backend_name() noexcept {
  return "WSAPoll";
}

// WSAPoll reports a failed connect only from Windows 10 2004 on.
bool poller_reports_failed_connect() noexcept {
  return false;
}

}  // namespace xsock::detail
