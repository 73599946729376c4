// The echo baseline: a plain epoll loop that writes back what it reads, no decoding,
// no output. Bytes the socket does not take at once are kept for that connection
// (allocated only then) and sent when it is writable. Linux only; stopped by SIGTERM.
#include <string>
#include <unordered_map>

#include "common.hpp"

int main() {
  using namespace xsock_bench;
  const int listener = open_listener();
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  watch(ep, listener, EPOLLIN);
  static char buffer[65536];
  std::unordered_map<int, std::string> pending;  // only connections with unsent bytes
  epoll_event events[256];
  const auto drop = [&](int fd) {
    pending.erase(fd);
    close(fd);
  };
  for (;;) {
    const int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        accept_all(ep, listener);
        continue;
      }
      const auto it = pending.find(fd);
      if (it != pending.end()) {
        // Waiting for the socket to take the rest: read nothing more until it has.
        const ssize_t put = write(fd, it->second.data(), it->second.size());
        if (put < 0 && errno != EAGAIN) {
          drop(fd);
          continue;
        }
        if (put > 0) it->second.erase(0, static_cast<std::size_t>(put));
        if (it->second.empty()) {
          pending.erase(it);
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = fd;
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        }
        continue;
      }
      const ssize_t got = read(fd, buffer, sizeof buffer);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        drop(fd);
        continue;
      }
      ssize_t put = write(fd, buffer, static_cast<std::size_t>(got));
      if (put < 0) {
        if (errno != EAGAIN) {
          drop(fd);
          continue;
        }
        put = 0;
      }
      if (put < got) {
        pending[fd].assign(buffer + put, static_cast<std::size_t>(got - put));
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
      }
    }
  }
}
