// The load generator of bench/tool_bench.py (Linux, one thread, epoll), loopback only,
// bounded in time and count:
//   xsock_bench_load echo PORT CONNECTIONS SECONDS
//     CONNECTIONS connections each send a 64-byte GBK line, wait for all 64 bytes to
//     come back, and send the next; prints "messages N seconds S".
//   xsock_bench_load accept PORT COUNT CONCURRENCY SECONDS
//     CONCURRENCY connections at a time: connect, send "x\n", wait for the echo, close
//     with a reset (no TIME_WAIT, so the ports last); stops after COUNT or SECONDS;
//     prints "connections N seconds S".
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

using namespace xsock_bench;
using clock_type = std::chrono::steady_clock;

// 64 bytes of GBK: Chinese (你好, C4E3 BAC3) and ASCII, one line.
std::string gbk_message() {
  std::string m;
  for (int i = 0; i < 8; ++i)
    m += "\xC4\xE3\xBA\xC3";
  m += "hello, world 0123456789 abcdefghi";
  m.resize(63, '.');
  m += '\n';
  return m;
}

int connect_nonblocking(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 && errno != EINPROGRESS)
    die("connect");
  return fd;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

int echo_load(std::uint16_t port, int connections, double seconds) {
  const std::string message = gbk_message();
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  std::vector<std::size_t> received(static_cast<std::size_t>(connections), 0);
  std::vector<int> fds;
  for (int i = 0; i < connections; ++i) {
    const int fd = connect_nonblocking(port);
    fds.push_back(fd);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  std::uint64_t messages = 0;
  char buffer[4096];
  epoll_event events[512];
  const auto start = clock_type::now();
  while (seconds_since(start) < seconds) {
    const int n = epoll_wait(ep, events, 512, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      const std::uint32_t i = events[k].data.u32;
      const int fd = fds[i];
      if (events[k].events & EPOLLOUT) {
        // Connected: the first message; from now on each reply triggers the next.
        if (write(fd, message.data(), message.size()) != static_cast<ssize_t>(message.size()))
          die("first write");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        continue;
      }
      const ssize_t got = read(fd, buffer, sizeof buffer);
      if (got == 0) {
        std::fprintf(stderr, "the server closed a connection\n");
        return 1;
      }
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        die("read");
      }
      received[i] += static_cast<std::size_t>(got);
      while (received[i] >= message.size()) {
        received[i] -= message.size();
        ++messages;
        if (write(fd, message.data(), message.size()) != static_cast<ssize_t>(message.size()))
          die("write");
      }
    }
  }
  const double elapsed = seconds_since(start);
  for (const int fd : fds)
    close(fd);
  std::printf("messages %llu seconds %.6f\n", static_cast<unsigned long long>(messages), elapsed);
  return 0;
}

int accept_load(std::uint16_t port, long count, int concurrency, double seconds) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  long started = 0;
  long done = 0;
  const auto open_one = [&] {
    const int fd = connect_nonblocking(port);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    ++started;
  };
  const auto start = clock_type::now();
  for (int i = 0; i < concurrency && started < count; ++i)
    open_one();
  epoll_event events[512];
  char buffer[64];
  while (done < started && seconds_since(start) < seconds) {
    const int n = epoll_wait(ep, events, 512, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      const int fd = events[k].data.fd;
      if (events[k].events & EPOLLOUT) {
        if (write(fd, "x\n", 2) != 2) die("write");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        continue;
      }
      const ssize_t got = read(fd, buffer, sizeof buffer);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        std::fprintf(stderr, "a connection ended before its echo\n");
        return 1;
      }
      const linger reset{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      close(fd);
      ++done;
      if (started < count && seconds_since(start) < seconds) open_one();
    }
  }
  std::printf("connections %ld seconds %.6f\n", done, seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "echo" && argc == 5)
    return echo_load(static_cast<std::uint16_t>(std::atoi(argv[2])), std::atoi(argv[3]),
                     std::atof(argv[4]));
  if (mode == "accept" && argc == 6)
    return accept_load(static_cast<std::uint16_t>(std::atoi(argv[2])), std::atol(argv[3]),
                       std::atoi(argv[4]), std::atof(argv[5]));
  std::fprintf(stderr,
               "usage: xsock_bench_load echo PORT CONNECTIONS SECONDS\n"
               "       xsock_bench_load accept PORT COUNT CONCURRENCY SECONDS\n");
  return 2;
}
