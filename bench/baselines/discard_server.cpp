// The ingest and accept baseline: a plain epoll loop that reads and discards, no
// decoding, no output. `--once`: exit when the first connection ends (as
// `xsock-server --once`). Linux only; stopped by SIGTERM otherwise.
#include <cstring>

#include "common.hpp"

int main(int argc, char** argv) {
  using namespace xsock_bench;
  const bool once = argc > 1 && std::strcmp(argv[1], "--once") == 0;
  const int listener = open_listener();
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  watch(ep, listener, EPOLLIN);
  static char buffer[65536];  // one read buffer for every connection
  epoll_event events[256];
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
        if (once) epoll_ctl(ep, EPOLL_CTL_DEL, listener, nullptr);
        continue;
      }
      const ssize_t got = read(fd, buffer, sizeof buffer);
      if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR))) continue;
      close(fd);  // also leaves the epoll set
      if (once) return 0;
    }
  }
}
