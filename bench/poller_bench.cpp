// The cost of one poller wait against the number of idle registered sockets, for both
// Windows pollers in the same run: the AFD poller (IOCTL_AFD_POLL on a completion
// port) and the WSAPoll fallback, selected with XSOCK_POLLER before each poller is
// created. Meant to run under Wine or on Windows (docs/windows.md has the numbers):
//
//   scripts/wine-run.sh build/mingw/bench/xsock_poller_bench.exe [COUNT...]
//
// On Linux (the one compiled backend, epoll or poll), built with the tests:
//
//   build/default/bench/xsock_poller_bench [COUNT...]
//
// COUNT: numbers of idle registered sockets (default 1 1000 10000). The idle sockets
// are both ends of connected loopback pairs (10,000 sockets = 5,000 pairs: one process
// under Wine cannot hold 10,000 pairs when the descriptor limit is 20,000, as Wine's
// server keeps one descriptor per socket). One more pair has data waiting that is never
// read, so a wait always has exactly one ready socket.
//
// Per backend and count: the time to register the sockets, the first wait (which, for
// AFD, issues one poll per socket), then the median of many waits that find the one
// ready socket, and of many zero-timeout waits that find none. Each measurement is bounded
// (at most 20,000 waits or half a second). Last, the cost per event of a wait that finds
// up to 1,000 ready sockets (what handing back the kernel's token saves: no lookup per
// event). Exit code 0, or 1 with a message when the sockets cannot be set up.
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <sys/utsname.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "xsock/error.hpp"
#include "xsock/listener.hpp"
#include "xsock/poller.hpp"
#include "xsock/stream_socket.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using xsock::poller;
using xsock::readiness;

struct backend {
  const char* variable;  // XSOCK_POLLER
  const char* name;      // poller::backend_name()
};

#if defined(_WIN32)
const backend backends[] = {{"afd", "afd"}, {"wsapoll", "WSAPoll"}};

void select_backend(const char* variable) {
  ::SetEnvironmentVariableA("XSOCK_POLLER", variable);
}
#else
// One backend, chosen when xsock was built.
const backend backends[] = {{nullptr, xsock::poller::backend_name()}};

void select_backend(const char*) {}
#endif

double microseconds(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// Median microseconds per call of `wait_once` (bounded in count and time). The median,
// not the mean: on a shared machine a few calls wait for a CPU far longer than the
// wait itself takes.
template <typename F>
double median_wait(F wait_once) {
  constexpr std::size_t max_calls = 20000;
  const auto budget = std::chrono::milliseconds(500);
  std::vector<double> samples;
  samples.reserve(max_calls);
  const auto start = clock_type::now();
  while (samples.size() < max_calls && clock_type::now() - start < budget) {
    const auto before = clock_type::now();
    wait_once();
    samples.push_back(microseconds(clock_type::now() - before));
  }
  const auto middle = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
  std::nth_element(samples.begin(), middle, samples.end());
  return samples[samples.size() / 2];
}

const char* platform_name() {
#if !defined(_WIN32)
  static utsname u;
  return ::uname(&u) == 0 ? u.sysname : "POSIX";
#else
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  using version_fn = const char* (*)();
  const auto wine_version = ntdll == nullptr
                                ? nullptr
                                : reinterpret_cast<version_fn>(reinterpret_cast<void (*)()>(
                                      ::GetProcAddress(ntdll, "wine_get_version")));
  static std::string name;
  name = wine_version != nullptr ? std::string("Wine ") + wine_version() : "Windows";
  return name.c_str();
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> counts;
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || value == 0 || value > 100000) {
      std::fprintf(stderr, "xsock_poller_bench: bad count '%s' (1..100000 sockets)\n", argv[i]);
      return 2;
    }
    counts.push_back(value);
  }
  if (counts.empty()) counts = {1, 1000, 10000};
  const std::size_t most = *std::max_element(counts.begin(), counts.end());

  try {
    xsock::listener l;
    xsock::listen_options options;
    options.backlog = 512;
    l.listen(xsock::endpoint::loopback_v4(0), options);
    const xsock::endpoint where = l.local_endpoint();
    auto make_pair = [&](std::vector<xsock::stream_socket>& into) {
      xsock::stream_socket client;
      client.connect(where);
      into.push_back(std::move(client));
      into.push_back(l.accept(std::chrono::seconds(10)).socket);
    };

    std::vector<xsock::stream_socket> busy;
    make_pair(busy);
    busy[0].send_all("x", 1);  // never read: busy[1] stays readable

    std::vector<xsock::stream_socket> idle;
    idle.reserve(most + 1);
    const auto setup_start = clock_type::now();
    while (idle.size() < most) {
      try {
        make_pair(idle);
      } catch (const xsock::error& e) {
        std::fprintf(stderr, "xsock_poller_bench: only %zu idle sockets could be opened: %s\n",
                     idle.size(), xsock::error_text(e.code()).c_str());
        return 1;
      }
    }
    std::printf("poller wait cost, %s: %zu idle loopback sockets opened in %.1f s\n",
                platform_name(), idle.size(),
                std::chrono::duration<double>(clock_type::now() - setup_start).count());
    std::printf("%-8s %8s %12s %14s %16s %17s\n", "poller", "idle", "add all ms", "first wait ms",
                "wait 1 ready us", "wait 0 ready us");

    std::vector<poller::event> events;
    for (const std::size_t count : counts) {
      for (const backend& b : backends) {
        select_backend(b.variable);
        poller p;
        if (std::string(poller::backend_name()) != b.name) {
          std::fprintf(stderr, "xsock_poller_bench: asked for %s, got %s\n", b.name,
                       poller::backend_name());
          return 1;
        }
        const auto add_start = clock_type::now();
        for (std::size_t i = 0; i < count; ++i)
          p.add(idle[i].native_handle(), readiness::readable, i);
        const double add_ms = microseconds(clock_type::now() - add_start) / 1000;
        p.add(busy[1].native_handle(), readiness::readable, count);

        const auto first_start = clock_type::now();
        std::size_t n = p.wait(events, std::chrono::seconds(5));
        const double first_ms = microseconds(clock_type::now() - first_start) / 1000;
        if (n != 1 || events[0].tag != count) {
          std::fprintf(stderr,
                       "xsock_poller_bench: %s reported %zu sockets, expected the busy one\n",
                       b.name, n);
          return 1;
        }
        const double one_ready = median_wait([&] { n = p.wait(events, std::chrono::seconds(5)); });
        if (n != 1) {
          std::fprintf(stderr, "xsock_poller_bench: %s lost the ready socket\n", b.name);
          return 1;
        }
        p.modify(busy[1].native_handle(), readiness::none);
        p.wait(events, std::chrono::milliseconds(0));
        const double none_ready =
            median_wait([&] { n = p.wait(events, std::chrono::milliseconds(0)); });
        if (n != 0) {
          std::fprintf(stderr, "xsock_poller_bench: %s reported an idle socket\n", b.name);
          return 1;
        }
        std::printf("%-8s %8zu %12.1f %14.1f %16.1f %17.1f\n", b.name, count, add_ms, first_ms,
                    one_ready, none_ready);
        std::fflush(stdout);
      }
    }

    // Every idle socket made readable (both ends of each pair send a byte, never
    // read), then waits that each return all of them, up to the batch of 1,000.
    const std::size_t ready_count = std::min<std::size_t>(most, 1000);
    for (std::size_t i = 0; i < ready_count; ++i)
      idle[i ^ 1].send_all("x", 1);
    std::printf("\n%-8s %8s %16s\n", "poller", "ready", "us per event");
    for (const backend& b : backends) {
      select_backend(b.variable);
      poller p;
      for (std::size_t i = 0; i < ready_count; ++i)
        p.add(idle[i].native_handle(), readiness::readable, i);
      std::size_t n = 0;
      const double per_wait = median_wait([&] { n = p.wait(events, std::chrono::seconds(5)); });
      if (n != ready_count) {
        std::fprintf(stderr, "xsock_poller_bench: %s reported %zu of %zu ready sockets\n", b.name,
                     n, ready_count);
        return 1;
      }
      std::printf("%-8s %8zu %16.3f\n", b.name, n, per_wait / static_cast<double>(n));
      std::fflush(stdout);
    }
    select_backend(nullptr);
  } catch (const xsock::error& e) {
    std::fprintf(stderr, "xsock_poller_bench: %s: %s\n", e.what(),
                 xsock::error_text(e.code()).c_str());
    return 1;
  }
  return 0;
}
