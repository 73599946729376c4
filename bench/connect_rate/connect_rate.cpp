// Connect rate: connections per second through xsock::event_loop against libuv, with K
// connects in flight, over loopback, to an accept server of our own on another thread
// (pinned to another CPU when the process may use two).
//
//   xsock_connect_rate [--quick] [--runs N] [--inflight K] [--count C] [--no-pin] [--verbose]
//
// Methods (each connect that succeeds is closed at once, and the next one starts):
//   plain       event_loop::connect(127.0.0.1:port)       / uv_tcp_connect
//   by name     event_loop::connect("localhost", port):    / uv_getaddrinfo("localhost"),
//               resolved on a thread, Happy Eyeballs          then uv_tcp_connect to the
//               (RFC 8305) over the addresses                 first address (libuv has no
//                                                             Happy Eyeballs)
//   candidates  event_loop::connect({127.0.0.1:p, [::1]:p}) (when ::1 can listen)
//
// The server accepts and keeps each connection until the client closes it, then closes
// its side: the client always closes first, with a plain close() (no SO_LINGER) for both
// libraries, so the TIME_WAIT states stay on the client side, the same for both. Each run
// gets a fresh server port, so the TIME_WAITs of earlier runs (a 4-tuple each) never
// exhaust the ephemeral ports; a run's count stays below the ephemeral range.
//
// Prints the median connections/s of each method (runs alternate between xsock and libuv)
// and the ratio xsock/libuv. Every connect must succeed: failures are counted, printed,
// and make the exit status 1.
#include <xsock/xsock.hpp>

#ifdef XSOCK_HAVE_LIBUV
#include <uv.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using xsock::endpoint;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// The CPUs this process may run on (the client takes the first, the server the second).
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(static_cast<std::size_t>(c), &set)) cpus.push_back(c);
  return cpus;
}

void pin_this_thread(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  (void)sched_setaffinity(0, sizeof set, &set);  // best effort: the numbers stay valid
}

int open_listener(int family, std::uint16_t port, int& error) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno;
    return -1;
  }
  const int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (family == AF_INET6) {
    (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  // The kernel caps the backlog at net.core.somaxconn.
  if (rc != 0 || ::listen(fd, 65535) != 0) {
    error = errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error(errno_text("getsockname"));
  return a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port)
                                 : ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
}

// The accept server: one thread, one epoll, listening on 127.0.0.1 and (when asked and
// possible) on [::1] with the same port. Accepted connections are read until the client
// closes them, then closed.
class accept_server {
 public:
  accept_server(bool want_v6, int cpu, bool verbose) {
    int error = 0;
    v4_ = open_listener(AF_INET, 0, error);
    if (v4_ < 0) throw std::runtime_error(std::string("listen 127.0.0.1: ") + std::strerror(error));
    port_ = bound_port(v4_);
    if (want_v6) {
      v6_ = open_listener(AF_INET6, port_, error);
      if (v6_ < 0) v6_reason_ = std::string("listen [::1]:port: ") + std::strerror(error);
    }
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_ < 0 || wake_ < 0) throw std::runtime_error(errno_text("epoll/eventfd"));
    for (int fd : {v4_, v6_, wake_})
      if (fd >= 0) watch(fd);
    if (verbose) {
      std::fprintf(stderr, "listening on 127.0.0.1:%u\n", port_);
      if (v6_ >= 0) std::fprintf(stderr, "listening on [::1]:%u\n", port_);
    }
    thread_ = std::thread([this, cpu] {
      pin_this_thread(cpu);
      serve();
    });
  }
  accept_server(const accept_server&) = delete;
  accept_server& operator=(const accept_server&) = delete;
  ~accept_server() {
    const std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    thread_.join();
    for (std::size_t fd = 0; fd < open_.size(); ++fd)
      if (open_[fd]) ::close(static_cast<int>(fd));
    for (int fd : {v4_, v6_, wake_, epoll_})
      if (fd >= 0) ::close(fd);
  }

  std::uint16_t port() const { return port_; }
  bool has_v6() const { return v6_ >= 0; }
  const std::string& v6_reason() const { return v6_reason_; }
  std::uint64_t accepted() const { return accepted_.load(); }

 private:
  void watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
      throw std::runtime_error(errno_text("epoll_ctl"));
  }

  void serve() {
    epoll_event events[256];
    char buffer[4096];
    for (;;) {
      const int n = ::epoll_wait(epoll_, events, 256, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_) return;
        if (fd == v4_ || fd == v6_) {
          for (;;) {
            const int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) break;  // EAGAIN, or an error: the next readiness tries again
            accepted_.fetch_add(1, std::memory_order_relaxed);
            const auto slot = static_cast<std::size_t>(c);
            if (open_.size() <= slot) open_.resize(slot + 1, false);
            open_[slot] = true;
            watch(c);
          }
          continue;
        }
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          open_[static_cast<std::size_t>(fd)] = false;
          ::close(fd);  // also leaves the epoll set
        }
      }
    }
  }

  int v4_ = -1;
  int v6_ = -1;
  int epoll_ = -1;
  int wake_ = -1;
  std::uint16_t port_ = 0;
  std::string v6_reason_;
  std::vector<bool> open_;  // by descriptor, the accepted connections still open
  std::atomic<std::uint64_t> accepted_{0};
  std::thread thread_;
};

enum class target { plain, by_name, candidates };

struct run_result {
  double per_second = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  bool timed_out = false;
  std::string first_error;
};

struct settings {
  int runs = 5;
  int inflight = 64;
  int count = 20000;
  std::chrono::seconds bound{60};  // per run
  bool quick = false;
  bool pin = true;
  bool verbose = false;
};

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

run_result xsock_run(target what, std::uint16_t port, const settings& s) {
  using xsock::event_loop;
  event_loop loop;
  run_result r;
  int started = 0;
  int finished = 0;
  clock_type::time_point end;
  const std::vector<endpoint> candidates = {endpoint::loopback_v4(port),
                                            endpoint::loopback_v6(port)};
  std::function<void(event_loop&)> start_one;
  const auto on_done = [&](event_loop& l, event_loop::id_type id,
                           const xsock::connect_result& result) {
    ++finished;
    if (result.error) {
      ++r.failed;
      if (r.first_error.empty())
        r.first_error = result.message.empty() ? result.error.message() : result.message;
    } else {
      ++r.ok;
      l.close(id);
    }
    if (started < s.count && !r.timed_out) {
      start_one(l);
    } else if (finished == s.count) {
      end = clock_type::now();
      l.stop();
    }
  };
  start_one = [&](event_loop& l) {
    ++started;
    switch (what) {
      case target::plain:
        l.connect(endpoint::loopback_v4(port), 10s, on_done);
        break;
      case target::by_name:
        l.connect("localhost", port, 10s, on_done);
        break;
      case target::candidates:
        l.connect(candidates, 10s, on_done);
        break;
    }
  };
  loop.after(s.bound, [&](event_loop& l) {
    r.timed_out = true;
    l.stop();
  });
  const auto start = clock_type::now();
  for (int i = 0; i < std::min(s.inflight, s.count); ++i)
    start_one(loop);
  loop.run();
  if (!r.timed_out) r.per_second = s.count / seconds_between(start, end);
  return r;
}

#ifdef XSOCK_HAVE_LIBUV
struct uv_bench {
  uv_loop_t loop;
  uv_timer_t timer;
  bool by_name = false;
  sockaddr_in address{};
  std::string port_text;
  int count = 0;
  int started = 0;
  int finished = 0;
  clock_type::time_point end;
  run_result r;
};

struct uv_connection {
  uv_tcp_t tcp;
  uv_connect_t request;
  uv_bench* bench;
};

struct uv_lookup {
  uv_getaddrinfo_t request;
  uv_bench* bench;
};

void uv_start_one(uv_bench* b);

void uv_finish(uv_bench* b, int status) {
  ++b->finished;
  if (status != 0) {
    ++b->r.failed;
    if (b->r.first_error.empty()) b->r.first_error = uv_strerror(status);
  } else {
    ++b->r.ok;
  }
  if (b->started < b->count && !b->r.timed_out) {
    uv_start_one(b);
  } else if (b->finished == b->count && !b->r.timed_out) {
    b->end = clock_type::now();
    uv_close(reinterpret_cast<uv_handle_t*>(&b->timer), nullptr);  // uv_run then returns
  }
}

void uv_connection_closed(uv_handle_t* handle) {
  delete static_cast<uv_connection*>(handle->data);
}

void uv_connected(uv_connect_t* request, int status) {
  auto* c = static_cast<uv_connection*>(request->data);
  uv_bench* b = c->bench;
  // After a time-out the handle may already be closing (then status is UV_ECANCELED).
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp)))
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), uv_connection_closed);
  uv_finish(b, status);
}

void uv_connect_to(uv_bench* b, const sockaddr* address) {
  auto* c = new uv_connection;
  c->bench = b;
  c->tcp.data = c;
  c->request.data = c;
  int rc = uv_tcp_init(&b->loop, &c->tcp);
  if (rc != 0) {
    delete c;
    uv_finish(b, rc);
    return;
  }
  rc = uv_tcp_connect(&c->request, &c->tcp, address, uv_connected);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), uv_connection_closed);
    uv_finish(b, rc);
  }
}

void uv_resolved(uv_getaddrinfo_t* request, int status, addrinfo* found) {
  auto* q = static_cast<uv_lookup*>(request->data);
  uv_bench* b = q->bench;
  delete q;
  if (status != 0 || b->r.timed_out) {
    // After a time-out nothing new starts: a connect now might hang with the server.
    if (status == 0) uv_freeaddrinfo(found);
    uv_finish(b, status != 0 ? status : UV_ECANCELED);
    return;
  }
  uv_connect_to(b, found->ai_addr);  // the first address: libuv has no Happy Eyeballs
  uv_freeaddrinfo(found);
}

void uv_start_one(uv_bench* b) {
  ++b->started;
  if (!b->by_name) {
    uv_connect_to(b, reinterpret_cast<const sockaddr*>(&b->address));
    return;
  }
  auto* q = new uv_lookup;
  q->bench = b;
  q->request.data = q;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const int rc =
      uv_getaddrinfo(&b->loop, &q->request, uv_resolved, "localhost", b->port_text.c_str(), &hints);
  if (rc != 0) {
    delete q;
    uv_finish(b, rc);
  }
}

void uv_timed_out(uv_timer_t* timer) {
  auto* b = static_cast<uv_bench*>(timer->data);
  b->r.timed_out = true;
  uv_stop(&b->loop);
}

run_result libuv_run(target what, std::uint16_t port, const settings& s) {
  uv_bench b;
  b.by_name = what == target::by_name;
  b.count = s.count;
  b.port_text = std::to_string(port);
  b.address.sin_family = AF_INET;
  b.address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  b.address.sin_port = htons(port);
  if (uv_loop_init(&b.loop) != 0) throw std::runtime_error("uv_loop_init failed");
  uv_timer_init(&b.loop, &b.timer);
  b.timer.data = &b;
  uv_timer_start(&b.timer, uv_timed_out,
                 static_cast<std::uint64_t>(std::chrono::milliseconds(s.bound).count()), 0);
  const auto start = clock_type::now();
  for (int i = 0; i < std::min(s.inflight, s.count); ++i)
    uv_start_one(&b);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  if (b.r.timed_out) {
    // Close what is left, let the callbacks run (they start nothing more), then free.
    b.count = b.started;
    uv_walk(
        &b.loop,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, h->type == UV_TCP ? uv_connection_closed : nullptr);
        },
        nullptr);
    uv_run(&b.loop, UV_RUN_DEFAULT);
  } else {
    b.r.per_second = s.count / seconds_between(start, b.end);
  }
  uv_loop_close(&b.loop);
  return b.r;
}
#endif

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct row {
  std::vector<double> rates;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::string first_error;
  bool timed_out = false;

  void add(const run_result& r) {
    if (!r.timed_out) rates.push_back(r.per_second);
    ok += r.ok;
    failed += r.failed;
    timed_out = timed_out || r.timed_out;
    if (first_error.empty()) first_error = r.first_error;
  }
  bool clean() const { return failed == 0 && !timed_out; }
  double rate() const { return rates.empty() ? 0 : median(rates); }
};

struct measure {
  row xsock;
  row libuv;
};

bool print_row(const char* name, const row& r, double versus) {
  std::printf("  %-58s %10.0f", name, r.rate());
  if (versus > 0)
    std::printf(" %9.2fx", r.rate() / versus);
  else
    std::printf(" %10s", "");
  std::printf("  %llu ok, %llu failed%s\n", static_cast<unsigned long long>(r.ok),
              static_cast<unsigned long long>(r.failed), r.timed_out ? ", TIMED OUT" : "");
  if (!r.first_error.empty()) std::printf("      first failure: %s\n", r.first_error.c_str());
  return r.clean();
}

int parse_int(const char* text, int low, int high) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > high) return -1;
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  int runs = -1;
  int count = -1;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    int bad = 0;
    if (std::strcmp(argv[i], "--quick") == 0) {
      s.quick = true;
    } else if (std::strcmp(argv[i], "--no-pin") == 0) {
      s.pin = false;
    } else if (std::strcmp(argv[i], "--verbose") == 0) {
      s.verbose = true;
    } else if (std::strcmp(argv[i], "--runs") == 0 && has_value) {
      bad = (runs = parse_int(argv[++i], 1, 100)) < 0;
    } else if (std::strcmp(argv[i], "--inflight") == 0 && has_value) {
      bad = (s.inflight = parse_int(argv[++i], 1, 4096)) < 0;
    } else if (std::strcmp(argv[i], "--count") == 0 && has_value) {
      // Below the ephemeral port range: each run's TIME_WAITs take one port each.
      bad = (count = parse_int(argv[++i], 1, 25000)) < 0;
    } else {
      bad = 1;
    }
    if (bad) {
      std::fprintf(stderr,
                   "usage: xsock_connect_rate [--quick] [--runs 1-100] [--inflight 1-4096] "
                   "[--count 1-25000] [--no-pin] [--verbose]\n");
      return 2;
    }
  }
  if (s.quick) {
    s.runs = 1;
    s.count = 2000;
    s.bound = std::chrono::seconds(4);
  }
  if (runs > 0) s.runs = runs;
  if (count > 0) s.count = count;

  try {
    const std::vector<int> cpus = allowed_cpus();
    int client_cpu = -1;
    int server_cpu = -1;
    if (s.pin && cpus.size() >= 2) {
      client_cpu = cpus[0];
      server_cpu = cpus[1];
      pin_this_thread(client_cpu);
    }
    // Can ::1 listen here? (The by-name and candidates methods need the server on it.)
    bool have_v6;
    std::string v6_reason;
    {
      accept_server probe(true, -1, false);
      have_v6 = probe.has_v6();
      v6_reason = probe.v6_reason();
    }

    std::printf(
        "connect rate, loopback, %d connect(s) in flight, %d per run, median of %d run(s)\n",
        s.inflight, s.count, s.runs);
    if (client_cpu >= 0)
      std::printf("client on CPU %d, accept server on CPU %d\n", client_cpu, server_cpu);
    else
      std::printf("not pinned (%s)\n", s.pin ? "fewer than 2 CPUs allowed" : "--no-pin");
    std::printf(
        "server: epoll, keeps each connection until the client closes it (the client closes "
        "first, plain close(), both libraries); a fresh port per run\n");
#ifndef XSOCK_HAVE_LIBUV
    std::printf("libuv: not built in (pkg-config libuv not found at build time): xsock only\n");
#endif
    if (!have_v6) std::printf("[::1]: unavailable (%s): candidates skipped\n", v6_reason.c_str());

    struct method {
      const char* xsock_name;
      const char* libuv_name;
      target what;
    };
    std::vector<method> methods = {
        {"plain: xsock event_loop::connect(127.0.0.1:port)", "plain: libuv uv_tcp_connect",
         target::plain},
        {"by name: xsock event_loop::connect(\"localhost\") (HE)",
         "by name: libuv uv_getaddrinfo + first address (no HE)", target::by_name},
    };
    if (have_v6)
      methods.push_back(
          {"candidates: xsock connect({127.0.0.1, ::1}) (HE)", nullptr, target::candidates});

    // An untimed warm-up of each library (page faults, first allocations, the kernel's
    // socket caches), so that the first measured run is not the odd one out.
    {
      settings warm = s;
      warm.count = std::min(s.count, 500);
      accept_server server(have_v6, server_cpu, false);
      (void)xsock_run(target::plain, server.port(), warm);
#ifdef XSOCK_HAVE_LIBUV
      (void)libuv_run(target::plain, server.port(), warm);
#endif
    }

    std::printf("\n  %-58s %10s %10s\n", "method", "conn/s", "vs libuv");
    bool all_clean = true;
#ifdef XSOCK_HAVE_LIBUV
    double libuv_plain = 0;
#endif
    for (const method& m : methods) {
      measure result;
      for (int run = 0; run < s.runs; ++run) {
        // Alternate which library goes first, so neither always gets the warmer machine.
        for (int turn = 0; turn < 2; ++turn) {
          const bool xsock_turn = (turn == 0) == (run % 2 == 0);
#ifndef XSOCK_HAVE_LIBUV
          if (!xsock_turn) continue;
#endif
          if (!xsock_turn && m.libuv_name == nullptr) continue;
          accept_server server(have_v6, server_cpu, s.verbose);
          if (xsock_turn) {
            result.xsock.add(xsock_run(m.what, server.port(), s));
          } else {
#ifdef XSOCK_HAVE_LIBUV
            result.libuv.add(libuv_run(m.what, server.port(), s));
#endif
          }
          if (s.quick && !(result.xsock.clean() && result.libuv.clean())) break;
        }
      }
#ifdef XSOCK_HAVE_LIBUV
      if (m.libuv_name != nullptr) {
        const double versus = result.libuv.rate();
        if (m.what == target::plain) libuv_plain = versus;
        all_clean = print_row(m.xsock_name, result.xsock, versus) && all_clean;
        all_clean = print_row(m.libuv_name, result.libuv, versus) && all_clean;
      } else {
        all_clean = print_row(m.xsock_name, result.xsock, libuv_plain) && all_clean;
      }
#else
      all_clean = print_row(m.xsock_name, result.xsock, 0) && all_clean;
#endif
      if (s.quick && !all_clean) break;
    }
#ifdef XSOCK_HAVE_LIBUV
    std::printf(
        "\nvs libuv: xsock/libuv of the same method (candidates: vs libuv plain). libuv has no "
        "Happy Eyeballs: by name it connects to the first address getaddrinfo returns.\n");
#endif
    if (!all_clean) {
      std::fprintf(stderr, "xsock_connect_rate: some connects failed or a run timed out\n");
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xsock_connect_rate: %s\n", e.what());
    return 1;
  }
  return 0;
}
