// Connect benchmark: how long until a connection is up when some of the addresses
// never answer, Happy Eyeballs (stream_socket and event_loop) against connecting to
// each address in turn with its own timeout (what sockpp, Asio's connect() and a
// hand-written loop do). Loopback only: a "dead" address is a listener that never
// accepts and whose backlog is full, so the system drops the SYN and the connect can
// only time out, like an unreachable host.
//
//   xsock_connect_bench [--quick] [--runs N]
//
// Prints one table of medians (ms) and the ratio to the sequential connects. A full
// run takes about 25 s; --quick makes one run of each (about 5 s), for CI.
#include <xsock/xsock.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using xsock::endpoint;

constexpr auto sequential_timeout = 1s;  // per address, for the sequential connects
constexpr auto budget = 10s;             // total, for the Happy Eyeballs connects

// A listener that never accepts, its backlog filled: connects to it time out.
struct dead_listener {
  xsock::listener socket;
  std::vector<xsock::stream_socket> queue;

  explicit dead_listener(const endpoint& where) {
    xsock::listen_options options;
    options.backlog = 1;
    options.v6_only = where.is_v6();
    socket.listen(where, options);
    for (int i = 0; i < 64; ++i) {
      xsock::stream_socket c;
      std::error_code ec;
      c.connect(socket.local_endpoint(), 200ms, ec);
      if (ec) return;  // the queue is full: this SYN got no answer
      queue.push_back(std::move(c));
    }
    throw std::runtime_error("the backlog of " + where.to_string() + " never filled");
  }
  endpoint address() const { return socket.local_endpoint(); }
};

// A listener that accepts (and closes) everything on its own thread.
struct live_listener {
  xsock::listener socket;
  std::atomic<bool> done{false};
  std::thread acceptor;

  explicit live_listener(const endpoint& where) {
    socket.listen(where);
    acceptor = std::thread([this] {
      while (!done) {
        std::error_code ec;
        socket.accept(50ms, ec);  // the accepted socket closes at once
      }
    });
  }
  ~live_listener() {
    done = true;
    acceptor.join();
  }
  endpoint address() const { return socket.local_endpoint(); }
};

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

// Each address in turn, each with its own timeout, until one connects.
double sequential(const std::vector<endpoint>& candidates) {
  const auto start = clock_type::now();
  for (const endpoint& ep : candidates) {
    xsock::stream_socket s;
    std::error_code ec;
    s.connect(ep, sequential_timeout, ec);
    if (!ec) return ms_since(start);
  }
  throw std::runtime_error("sequential: nothing connected");
}

double happy_eyeballs_blocking(const std::vector<endpoint>& candidates) {
  const auto start = clock_type::now();
  xsock::stream_socket s;
  s.connect(candidates, budget);
  return ms_since(start);
}

// The same race with attempt_delay 0: every address at once, blocking.
double all_at_once_blocking(const std::vector<endpoint>& candidates) {
  const auto start = clock_type::now();
  xsock::connect_options options;
  options.timeout = budget;
  options.attempt_delay = std::chrono::milliseconds(0);
  xsock::stream_socket s;
  s.connect(candidates, options);
  return ms_since(start);
}

double happy_eyeballs_loop(const std::vector<endpoint>& candidates) {
  xsock::event_loop loop;
  double took = -1;
  const auto start = clock_type::now();
  loop.connect(
      candidates, budget,
      [&](xsock::event_loop& l, xsock::event_loop::id_type id, const xsock::connect_result& r) {
        if (!r.error) took = ms_since(start);
        l.close(id);
        l.stop();
      });
  loop.run();
  if (took < 0) throw std::runtime_error("event_loop: nothing connected");
  return took;
}

// Every address at once on one loop; the first connection wins, the rest are closed.
double all_at_once_loop(const std::vector<endpoint>& candidates) {
  xsock::event_loop loop;
  std::vector<xsock::event_loop::id_type> ids;
  double took = -1;
  const auto start = clock_type::now();
  for (const endpoint& ep : candidates) {
    ids.push_back(loop.connect(
        ep, budget,
        [&](xsock::event_loop& l, xsock::event_loop::id_type, const xsock::connect_result& r) {
          if (r.error || took >= 0) return;
          took = ms_since(start);
          for (auto other : ids)
            l.close(other);  // cancels the rest
          l.stop();
        }));
  }
  loop.run();
  if (took < 0) throw std::runtime_error("event_loop: nothing connected");
  return took;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct method {
  const char* name;
  double (*run)(const std::vector<endpoint>&);
};

void report(const char* title, const std::vector<endpoint>& candidates,
            const std::vector<method>& methods, int runs) {
  std::printf("\n%s:", title);
  for (const endpoint& ep : candidates)
    std::printf(" %s", ep.to_string().c_str());
  std::printf("\n  %-44s %10s %10s\n", "method", "median ms", "speed-up");
  double baseline = 0;
  for (const method& m : methods) {
    std::vector<double> times;
    for (int i = 0; i < runs; ++i)
      times.push_back(m.run(candidates));
    const double t = median(times);
    if (baseline == 0) baseline = t;
    std::printf("  %-44s %10.1f %9.1fx\n", m.name, t, baseline / t);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      runs = 1;
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else {
      runs = 0;
    }
    if (runs < 1 || runs > 100) {
      std::fprintf(stderr, "usage: xsock_connect_bench [--quick] [--runs 1-100]\n");
      return 2;
    }
  }
  try {
    // ::1 when the system has IPv6, so the dead address is of the other family.
    bool have_v6 = true;
    {
      xsock::listener probe;
      std::error_code ec;
      probe.listen(endpoint::loopback_v6(), {}, ec);
      have_v6 = !ec;
    }
    const endpoint dead_first = have_v6 ? endpoint::loopback_v6() : endpoint::loopback_v4();
    dead_listener dead_a(dead_first);
    dead_listener dead_b(endpoint::loopback_v4());
    live_listener live(endpoint::loopback_v4());

    std::printf(
        "connect benchmark, loopback, median of %d run(s); sequential: %lld ms per "
        "address; Happy Eyeballs: next attempt every 250 ms\n",
        runs, static_cast<long long>(std::chrono::milliseconds(sequential_timeout).count()));
    const std::vector<method> first_of_3 = {
        {"sequential connects", sequential},
        {"stream_socket::connect(candidates) (HE)", happy_eyeballs_blocking},
        {"event_loop::connect(candidates) (HE)", happy_eyeballs_loop},
        {"event_loop, every address at once", all_at_once_loop},
        {"stream_socket, attempt_delay 0", all_at_once_blocking},
    };
    report("first of 3 (2 dead, 1 live)", {dead_a.address(), dead_b.address(), live.address()},
           first_of_3, runs);
    const std::vector<method> dead_v6 = {first_of_3[0], first_of_3[1], first_of_3[2]};
    report(have_v6 ? "dead IPv6, live IPv4" : "dead first, live second (no IPv6 here)",
           {dead_a.address(), live.address()}, dead_v6, runs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xsock_connect_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
