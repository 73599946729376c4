// The WSAPoll poller: the fallback when the AFD device cannot be opened, or when
// XSOCK_POLLER=wsapoll. Level-triggered like poll(); its wake-up channel is a connected
// loopback TCP pair (Winsock has no pipe that WSAPoll can watch). Its cost grows with
// every registered socket on every wait.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <new>
#include <unordered_map>
#include <vector>

#include "backend.hpp"
#include "poller_backends.hpp"
#include "winsock.hpp"
#include "xsock/error.hpp"

namespace xsock::detail {
namespace {

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

class wsapoll_poller final : public poller_state {
 public:
  // How long WSAPoll sleeps at a time while a socket waits for writable: between
  // two slices, select() looks for failed connects, which WSAPoll did not report
  // before Windows 10 2004.
  static constexpr int connect_check_ms = 100;

  bool open(std::error_code& ec) noexcept {
    SOCKET pair[2];
    if (!open_wake_pair(pair, ec)) return false;
    wake_read_ = pair[0];
    wake_write_ = pair[1];
    try {
      WSAPOLLFD entry{};
      entry.fd = wake_read_;
      entry.events = POLLRDNORM;
      fds_.push_back(entry);
      tokens_.push_back(0);  // never reported
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return false;
    }
    return true;
  }

  ~wsapoll_poller() override {
    if (wake_read_ != INVALID_SOCKET) ::closesocket(wake_read_);
    if (wake_write_ != INVALID_SOCKET) ::closesocket(wake_write_);
  }

  void add(handle_t h, unsigned events, poller_token token, std::error_code& ec) noexcept override {
    ec.clear();
    const SOCKET s = sock(h);
    if (s == INVALID_SOCKET) {
      ec = make_error(std::errc::bad_file_descriptor);
      return;
    }
    if (index_.count(s) != 0) {
      ec = make_error(std::errc::file_exists);
      return;
    }
    try {
      fds_.reserve(fds_.size() + 1);
      tokens_.reserve(fds_.size() + 1);
      index_.emplace(s, fds_.size());
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    WSAPOLLFD entry{};
    entry.fd = s;
    entry.events = to_poll(events);
    fds_.push_back(entry);  // room reserved: cannot throw
    tokens_.push_back(token);
  }

  void modify(handle_t h, unsigned events, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = index_.find(sock(h));
    if (it == index_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    fds_[it->second].events = to_poll(events);
  }

  void remove(handle_t h, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = index_.find(sock(h));
    if (it == index_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    const std::size_t slot = it->second;
    index_.erase(it);
    const std::size_t last = fds_.size() - 1;
    if (slot != last) {
      fds_[slot] = fds_[last];
      tokens_[slot] = tokens_[last];
      index_[fds_[slot].fd] = slot;
    }
    fds_.pop_back();
    tokens_.pop_back();
  }

  void wait(std::vector<poller_ready>& out, int timeout_ms, std::error_code& ec) noexcept override {
    ec.clear();
    out.clear();
    const bool limited = timeout_ms >= 0;
    const auto deadline = poller_clock::now() + std::chrono::milliseconds(limited ? timeout_ms : 0);
    try {
      out.reserve(fds_.size());
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    for (;;) {
      const bool connecting = watches_writable();
      if (connecting && failed_connects(out)) return;
      DWORD slice = remaining_ms(limited, deadline);
      if (connecting) slice = std::min<DWORD>(slice, connect_check_ms);
      for (WSAPOLLFD& entry : fds_)
        entry.revents = 0;
      const int n = ::WSAPoll(fds_.data(), static_cast<ULONG>(fds_.size()),
                              slice == INFINITE ? -1 : static_cast<int>(slice));
      if (n == SOCKET_ERROR) {
        const int err = ::WSAGetLastError();
        if (err != WSAENOTSOCK) {
          ec.assign(err, socket_category());
          return;
        }
        // Some WSAPoll implementations (Wine) fail the whole call when a registered
        // handle was closed, where Windows and poll() flag that one entry POLLNVAL.
        // Report those entries the POSIX way, without waiting.
        for (std::size_t i = 1; i < fds_.size(); ++i) {
          if (!is_socket(fds_[i].fd)) fds_[i].revents = POLLNVAL;
        }
      } else if (n == 0) {
        // Early (a connect check slice, or a timer tick shorter than asked): wait the
        // rest rather than return before the deadline.
        if (!limited || poller_clock::now() < deadline) continue;
        return;
      }
      collect(out);
      return;
    }
  }

  void wake() noexcept override {
    const char byte = 1;
    // WSAEWOULDBLOCK means the wake-up socket is full: a wake-up is already pending.
    ::send(wake_write_, &byte, 1, 0);
  }

 private:
  bool watches_writable() const noexcept {
    for (std::size_t i = 1; i < fds_.size(); ++i)
      if (fds_[i].events & POLLWRNORM) return true;
    return false;
  }

  // select()'s except set over the sockets that wait for writable: a failed
  // non-blocking connect shows there on every Windows version.
  bool failed_connects(std::vector<poller_ready>& out) noexcept {
    constexpr u_int chunk = 64;
    struct {
      u_int count;
      SOCKET sockets[chunk];
    } set;
    const std::size_t before = out.size();
    std::size_t i = 1;
    while (i < fds_.size()) {
      set.count = 0;
      const std::size_t first = i;
      for (; i < fds_.size() && set.count < chunk; ++i)
        if (fds_[i].events & POLLWRNORM) set.sockets[set.count++] = fds_[i].fd;
      if (set.count == 0) break;
      timeval zero{};
      if (::select(0, nullptr, nullptr, reinterpret_cast<fd_set*>(&set), &zero) <= 0) continue;
      // select() left the failed ones in the set: find their slots in this chunk
      // (rare: a failed connect is reported once, then removed by its owner).
      for (u_int k = 0; k < set.count; ++k)
        for (std::size_t j = first; j < i; ++j)
          if (fds_[j].fd == set.sockets[k]) {
            out.push_back(poller_ready{tokens_[j], wait_error | wait_read | wait_write});
            break;
          }
    }
    return out.size() > before;
  }

  void collect(std::vector<poller_ready>& out) noexcept {
    for (std::size_t i = 0; i < fds_.size(); ++i) {
      WSAPOLLFD& entry = fds_[i];
      if (entry.revents == 0) continue;
      const short revents = entry.revents;
      entry.revents = 0;
      if (i == 0) {  // the wake-up socket
        drain(wake_read_);
        continue;
      }
      const unsigned ready = from_poll(revents);
      if (ready != 0) out.push_back(poller_ready{tokens_[i], ready});
    }
  }

  SOCKET wake_read_ = INVALID_SOCKET;
  SOCKET wake_write_ = INVALID_SOCKET;
  // Slot 0 is the wake-up socket; `index_` maps a handle to its slot so removal is
  // O(1) (swap with the last slot).
  std::vector<WSAPOLLFD> fds_;
  std::vector<poller_token> tokens_;  // core's token for fds_[i]
  std::unordered_map<SOCKET, std::size_t> index_;
};

}  // namespace

poller_state* make_wsapoll_poller(std::error_code& ec) noexcept {
  ec.clear();
  auto* p = new (std::nothrow) wsapoll_poller;
  if (p == nullptr) {
    ec = make_error(std::errc::not_enough_memory);
    return nullptr;
  }
  if (p->open(ec)) return p;
  delete p;
  return nullptr;
}

}  // namespace xsock::detail
