// Datagram benchmark: UDP echo through xsock::event_loop against a plain baseline in
// the same run, a thread doing blocking recvfrom/sendto one datagram at a time (no
// recvmmsg, no poller, one system call per datagram each way: the simplest server there is, which
// the loop should not fall far behind). Loopback only.
//
//   xsock_datagram_bench [--quick] [--runs N]
//
// One client (a blocking datagram_socket on the main thread) keeps a window of
// datagrams in flight, each carrying its sequence number, and sends the next one for
// every echo it gets; the echo's bytes are checked. A window that loses datagrams
// (a receive buffer overflow) is refilled after 100 ms and the loss is counted. Prints
// a table of medians (datagrams/s, MB/s of payload each way) and the ratio of the loop
// to the baseline. The servers alternate run by run. Exits 1 when an echo is wrong or
// a run loses more than a tenth of its datagrams.
#include <xsock/xsock.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using xsock::endpoint;

constexpr std::size_t window = 32;
constexpr auto refill_after = 100ms;
constexpr auto run_budget = 20s;  // a run that takes longer stops and is reported

// The plain baseline: blocking receive_from / send_to on its own thread.
struct plain_server {
  xsock::datagram_socket socket;
  std::atomic<bool> done{false};
  std::thread worker;

  explicit plain_server(const endpoint& where) {
    socket.bind(where);
    socket.set_receive_buffer_size(1 << 20);
    worker = std::thread([this] {
      std::vector<char> buffer(65536);
      for (;;) {
        std::error_code ec;
        xsock::datagram_info got = socket.receive_from(buffer.data(), buffer.size(), ec);
        if (ec) continue;
        // The benchmark's datagrams are never empty: an empty one from the owner
        // (the destructor) says stop, so the loop needs no timed wait.
        if (got.size == 0 && done) return;
        socket.send_to(buffer.data(), got.size, got.peer, ec);
      }
    });
  }
  ~plain_server() {
    done = true;
    xsock::datagram_socket stopper;
    stopper.open(address());
    stopper.send_to("", 0, address());
    worker.join();
  }
  endpoint address() const { return socket.local_endpoint(); }
};

// The same echo on xsock::event_loop.
struct loop_server {
  xsock::event_loop loop;
  endpoint bound;
  std::thread worker;

  explicit loop_server(const endpoint& where) {
    xsock::datagram_socket socket;
    socket.bind(where);
    socket.set_receive_buffer_size(1 << 20);
    bound = socket.local_endpoint();
    xsock::event_loop::datagram_handlers handlers;
    handlers.on_datagram = [](xsock::event_loop& l, xsock::event_loop::id_type id,
                              const endpoint& peer, std::string_view bytes, bool) {
      std::error_code ec;
      l.send_to(id, peer, bytes, ec);  // a full queue drops the echo, as UDP would
    };
    loop.adopt(std::move(socket), std::move(handlers));
    worker = std::thread([this] { loop.run(); });
  }
  ~loop_server() {
    loop.stop();
    worker.join();
  }
  endpoint address() const { return bound; }
};

struct result {
  double datagrams_per_second = 0;
  std::uint64_t lost = 0;
  bool wrong = false;
};

std::uint64_t sequence_of(const char* data) {
  std::uint64_t n = 0;
  std::memcpy(&n, data, sizeof n);
  return n;
}

// Sends `count` datagrams of `size` bytes (at least 8: the sequence number) to
// `server`, `window` in flight, and checks each echo.
result run_client(const endpoint& server, std::size_t size, std::uint64_t count) {
  xsock::datagram_socket client;
  client.connect(server);
  client.set_receive_buffer_size(1 << 20);
  client.set_non_blocking(true);
  std::vector<char> out(size, 'x');
  std::vector<char> in(65536);
  result r;
  std::uint64_t next = 0;
  std::uint64_t received = 0;
  std::size_t in_flight = 0;
  auto send_one = [&] {
    std::memcpy(out.data(), &next, sizeof next);
    ++next;
    client.send(out.data(), out.size());
    ++in_flight;
  };
  const auto start = clock_type::now();
  while (received + r.lost < count) {
    while (in_flight < window && next < count)
      send_one();
    // Non-blocking first: with a window in flight an echo is usually there already,
    // and the client should cost one system call per datagram each way.
    std::error_code ec;
    xsock::datagram_info got = client.receive_from(in.data(), in.size(), ec);
    if (ec == std::errc::operation_would_block) {
      got = client.receive_from(in.data(), in.size(), refill_after, ec);
    }
    if (ec == std::errc::timed_out) {
      r.lost += in_flight;  // dropped by a full receive buffer somewhere
      in_flight = 0;
      if (clock_type::now() - start > run_budget) break;
      continue;
    }
    if (ec) throw xsock::error(ec, "receive from " + server.to_string());
    if (got.size != size || got.truncated || sequence_of(in.data()) >= next ||
        std::memcmp(in.data() + 8, out.data() + 8, size - 8) != 0) {
      r.wrong = true;
      break;
    }
    ++received;
    if (in_flight > 0) --in_flight;
  }
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  r.datagrams_per_second = static_cast<double>(received) / seconds;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
      runs = 1;
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: xsock_datagram_bench [--quick] [--runs N]\n");
      return 2;
    }
  }
  const std::uint64_t count = quick ? 20000 : 200000;
  const std::size_t sizes[] = {32, 1024, 16384};
  int status = 0;
  try {
    std::printf("UDP echo over 127.0.0.1, %zu datagrams in flight, %llu per run, median of %d\n",
                window, static_cast<unsigned long long>(count), runs);
    std::printf("%-8s %-22s %14s %10s %8s %8s\n", "size", "server", "datagrams/s", "MB/s", "lost",
                "ratio");
    for (std::size_t size : sizes) {
      std::vector<double> plain_rates;
      std::vector<double> loop_rates;
      std::uint64_t plain_lost = 0;
      std::uint64_t loop_lost = 0;
      for (int run = 0; run < runs; ++run) {
        // Alternate which server goes first, so neither always gets the warmer cache.
        for (int which = 0; which < 2; ++which) {
          const bool loop_turn = ((run + which) % 2) == 0;
          result r;
          if (loop_turn) {
            loop_server server(endpoint::loopback_v4(0));
            r = run_client(server.address(), size, count);
            loop_rates.push_back(r.datagrams_per_second);
            loop_lost += r.lost;
          } else {
            plain_server server(endpoint::loopback_v4(0));
            r = run_client(server.address(), size, count);
            plain_rates.push_back(r.datagrams_per_second);
            plain_lost += r.lost;
          }
          if (r.wrong) {
            std::fprintf(stderr, "xsock_datagram_bench: a wrong echo (size %zu, %s)\n", size,
                         loop_turn ? "event_loop" : "plain");
            return 1;
          }
          if (r.lost * 10 > count) {
            std::fprintf(stderr, "xsock_datagram_bench: %llu of %llu datagrams lost (size %zu)\n",
                         static_cast<unsigned long long>(r.lost),
                         static_cast<unsigned long long>(count), size);
            status = 1;
          }
        }
      }
      const double plain = median(plain_rates);
      const double looped = median(loop_rates);
      const auto mb = [size](double rate) { return rate * static_cast<double>(size) / 1e6; };
      std::printf("%-8zu %-22s %14.0f %10.1f %8llu %8s\n", size, "plain recvfrom/sendto", plain,
                  mb(plain), static_cast<unsigned long long>(plain_lost), "1.00x");
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2fx", looped / plain);
      std::printf("%-8zu %-22s %14.0f %10.1f %8llu %8s\n", size, "xsock::event_loop", looped,
                  mb(looped), static_cast<unsigned long long>(loop_lost), ratio);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xsock_datagram_bench: %s\n", e.what());
    return 1;
  }
  return status;
}
