// The ping-pong client (muduo's benchmark): N sessions to 127.0.0.1:PORT, each sends
// one message of SIZE bytes, then sends back whatever it receives, for T seconds; the
// throughput is the bytes received per second over all sessions. Prints one line:
//   sessions N size S seconds T bytes B mibps X
// (T the measured seconds, from the moment the last session connected; MiB/s as
// muduo reports). --mode epoll (default): a plain epoll loop, so the client costs as
// little as it can; --mode loop: the same on xsock::event_loop. --check: every byte
// received must be the next byte of that session's stream (the message circulates, so
// byte k is pattern(session, k mod SIZE)); a mismatch, a session that received
// nothing, or a connection closed early makes it print why and exit 1.
#include <xsock/event_loop.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto connect_budget = std::chrono::seconds(10);  // for all sessions together
constexpr std::size_t read_size = 64 * 1024;
// After the measured time, a session that has not received anything yet (a server
// starved of CPU by other processes) gets this long more, unmeasured, before it is
// reported: only a server that never answers fails.
constexpr auto first_echo_grace = std::chrono::seconds(10);

struct options {
  unsigned port = 0;
  std::size_t sessions = 1;
  std::size_t size = 1024;
  double seconds = 1.0;
  bool loop_mode = false;
  bool check = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: xsock_pingpong_client --port P [--sessions N] [--size BYTES] "
               "[--seconds T] [--mode loop|epoll] [--check]\n");
  std::exit(2);
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "xsock_pingpong_client: %s\n", why.c_str());
  std::exit(1);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    const auto number = [&](unsigned long long low, unsigned long long high) {
      const char* text = value();
      char* end = nullptr;
      errno = 0;
      const unsigned long long n = std::strtoull(text, &end, 10);
      if (*text == '\0' || *end != '\0' || errno != 0 || n < low || n > high) usage();
      return n;
    };
    if (arg == "--port") {
      o.port = static_cast<unsigned>(number(1, 65535));
    } else if (arg == "--sessions") {
      o.sessions = static_cast<std::size_t>(number(1, 100000));
    } else if (arg == "--size") {
      o.size = static_cast<std::size_t>(number(1, 1 << 20));
    } else if (arg == "--seconds") {
      char* end = nullptr;
      const char* text = value();
      o.seconds = std::strtod(text, &end);
      if (*text == '\0' || *end != '\0' || !(o.seconds > 0 && o.seconds <= 3600)) usage();
    } else if (arg == "--mode") {
      const std::string_view mode = value();
      if (mode != "loop" && mode != "epoll") usage();
      o.loop_mode = mode == "loop";
    } else if (arg == "--check") {
      o.check = true;
    } else {
      usage();
    }
  }
  if (o.port == 0) usage();
  return o;
}

unsigned char pattern(std::size_t session, std::uint64_t offset) {
  return static_cast<unsigned char>((offset * 131 + session * 7 + 17) & 0xff);
}

std::string message(std::size_t session, std::size_t size) {
  std::string m(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    m[i] = static_cast<char>(pattern(session, i));
  return m;
}

// What both modes keep per session and do with received bytes.
struct session_state {
  std::uint64_t received = 0;
};

struct tally {
  const options& opt;
  std::vector<session_state> sessions;
  std::uint64_t total = 0;
  std::size_t heard = 0;  // sessions that received something

  explicit tally(const options& o) : opt(o), sessions(o.sessions) {}

  void received(std::size_t session, const char* data, std::size_t n) {
    session_state& s = sessions[session];
    if (opt.check) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t offset = s.received + i;
        const unsigned char expected = pattern(session, offset % opt.size);
        const auto got = static_cast<unsigned char>(data[i]);
        if (got != expected) {
          fail("session " + std::to_string(session) + " byte " + std::to_string(offset) +
               ": expected " + std::to_string(expected) + ", got " + std::to_string(got));
        }
      }
    }
    if (s.received == 0) ++heard;
    s.received += n;
    total += n;
  }

  void report(std::uint64_t bytes, double elapsed) const {
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      if (sessions[i].received == 0) fail("session " + std::to_string(i) + " received nothing");
    }
    const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
    std::printf("sessions %zu size %zu seconds %.3f bytes %llu mibps %.2f\n", opt.sessions,
                opt.size, elapsed, static_cast<unsigned long long>(bytes),
                elapsed > 0 ? mib / elapsed : 0.0);
  }
};

void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// --- plain epoll ---------------------------------------------------------------

struct epoll_session {
  int fd = -1;
  bool connecting = true;
  std::string pending;  // bytes the socket did not take yet
};

void run_epoll(const options& opt) {
  tally t(opt);
  std::vector<epoll_session> sessions(opt.sessions);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail(std::string("epoll_create1: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(opt.port));
  const auto watch = [&](std::size_t i, int op, unsigned events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    if (epoll_ctl(ep, op, sessions[i].fd, &ev) < 0) {
      fail(std::string("epoll_ctl: ") + std::strerror(errno));
    }
  };
  for (std::size_t i = 0; i < opt.sessions; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sessions[i].fd = fd;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0 &&
        errno != EINPROGRESS) {
      fail("session " + std::to_string(i) + ": connect: " + std::strerror(errno));
    }
    watch(i, EPOLL_CTL_ADD, EPOLLOUT);
  }

  // Writes what is pending; watches for writability only while something is.
  const auto flush = [&](std::size_t i) {
    epoll_session& s = sessions[i];
    const ssize_t put = write(s.fd, s.pending.data(), s.pending.size());
    if (put < 0 && errno != EAGAIN && errno != EINTR) {
      fail("session " + std::to_string(i) + ": write: " + std::strerror(errno));
    }
    if (put > 0) s.pending.erase(0, static_cast<std::size_t>(put));
    return s.pending.empty();
  };

  std::size_t connected = 0;
  std::uint64_t base = 0;
  clock_type::time_point start;
  double elapsed = 0;
  std::uint64_t bytes = 0;
  bool measured = false;
  const auto connect_deadline = clock_type::now() + connect_budget;
  clock_type::time_point deadline = connect_deadline;
  static char buffer[read_size];
  std::vector<epoll_event> events(1024);
  for (;;) {
    auto now = clock_type::now();
    if (now >= deadline && connected < opt.sessions) {
      fail(std::to_string(connected) + " of " + std::to_string(opt.sessions) +
           " sessions connected within " + std::to_string(connect_budget.count()) + " s");
    }
    if (now >= deadline && !measured) {
      measured = true;
      elapsed = seconds_since(start);
      bytes = t.total - base;
      deadline = now + first_echo_grace;
    }
    if (measured && (t.heard == opt.sessions || now >= deadline)) break;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    const int n =
        epoll_wait(ep, events.data(), static_cast<int>(events.size()), static_cast<int>(wait));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(std::string("epoll_wait: ") + std::strerror(errno));
    }
    for (int k = 0; k < n; ++k) {
      const auto i = static_cast<std::size_t>(events[static_cast<std::size_t>(k)].data.u64);
      const unsigned ready = events[static_cast<std::size_t>(k)].events;
      epoll_session& s = sessions[i];
      if (s.connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) fail("session " + std::to_string(i) + ": connect: " + std::strerror(err));
        s.connecting = false;
        s.pending = message(i, opt.size);
        watch(i, EPOLL_CTL_MOD, flush(i) ? EPOLLIN : EPOLLIN | EPOLLOUT);
        if (++connected == opt.sessions) {
          start = clock_type::now();
          base = t.total;
          deadline = start + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(opt.seconds));
        }
        continue;
      }
      if ((ready & EPOLLOUT) != 0 && flush(i)) watch(i, EPOLL_CTL_MOD, EPOLLIN);
      if ((ready & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) continue;
      const ssize_t got = read(s.fd, buffer, sizeof buffer);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        fail("session " + std::to_string(i) + ": connection closed early" +
             (got < 0 ? std::string(" (") + std::strerror(errno) + ")" : std::string()));
      }
      t.received(i, buffer, static_cast<std::size_t>(got));
      const bool was_empty = s.pending.empty();
      s.pending.append(buffer, static_cast<std::size_t>(got));
      if (!flush(i) && was_empty) watch(i, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
    }
  }
  for (epoll_session& s : sessions)
    close(s.fd);
  close(ep);
  t.report(bytes, elapsed);
}

// --- xsock::event_loop ------------------------------------------------------------

void run_loop(const options& opt) {
  tally t(opt);
  std::string error;
  std::size_t connected = 0;
  std::uint64_t base = 0;
  std::uint64_t bytes = 0;
  double elapsed = 0;
  bool measuring_done = false;
  clock_type::time_point start;

  xsock::loop_options lo;
  lo.stop_linger = std::chrono::milliseconds(0);  // the run is over: drop what is queued
  xsock::event_loop::callbacks cb;
  const auto stop_with = [&](xsock::event_loop& loop, std::string why) {
    if (error.empty()) error = std::move(why);
    loop.stop();
  };
  cb.on_data = [&](xsock::event_loop& loop, xsock::event_loop::id_type id, std::string_view data) {
    const std::size_t* index = loop.context<std::size_t>(id);
    if (index == nullptr) return;
    t.received(*index, data.data(), data.size());
    if (measuring_done && t.heard == opt.sessions) {
      loop.stop();
      return;
    }
    std::error_code ec;
    if (!loop.send(id, data, ec)) {
      stop_with(loop, "session " + std::to_string(*index) + ": send: " + ec.message());
    }
  };
  cb.on_close = [&](xsock::event_loop& loop, xsock::event_loop::id_type id, xsock::close_reason r,
                    const std::error_code&) {
    if (measuring_done || r == xsock::close_reason::shutdown) return;
    const std::size_t* index = loop.context<std::size_t>(id);
    stop_with(loop, "session " + std::to_string(index == nullptr ? 0 : *index) +
                        ": connection closed early (" + xsock::to_string(r) + ")");
  };
  xsock::event_loop loop(lo, std::move(cb));
  const auto peer = xsock::endpoint::loopback_v4(static_cast<std::uint16_t>(opt.port));
  for (std::size_t i = 0; i < opt.sessions; ++i) {
    const auto id = loop.connect(
        peer, connect_budget,
        [&, i](xsock::event_loop& l, xsock::event_loop::id_type cid,
               const xsock::connect_result& result) {
          if (result.error) {
            stop_with(l, "session " + std::to_string(i) + ": connect: " + result.message);
            return;
          }
          l.send(cid, message(i, opt.size));
          if (++connected < opt.sessions) return;
          start = clock_type::now();
          base = t.total;
          l.after(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::duration<double>(opt.seconds)),
                  [&](xsock::event_loop& l2) {
                    elapsed = seconds_since(start);
                    bytes = t.total - base;
                    measuring_done = true;
                    if (t.heard == opt.sessions) {
                      l2.stop();
                    } else {
                      l2.after(first_echo_grace, [](xsock::event_loop& l3) { l3.stop(); });
                    }
                  });
        });
    loop.emplace_context<std::size_t>(id, i);
  }
  loop.run();
  if (!error.empty()) fail(error);
  if (!measuring_done) fail("the run ended before it was measured");
  t.report(bytes, elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  raise_descriptor_limit();
  std::signal(SIGPIPE, SIG_IGN);  // a server gone while we write: reported, not fatal
  try {
    if (opt.loop_mode) {
      run_loop(opt);
    } else {
      run_epoll(opt);
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return 0;
}
