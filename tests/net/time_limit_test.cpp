// One meaning for every time limit: the same value means the same thing through
// every timed call (no_timeout: no limit; zero or negative: just look), any duration
// type converts, rounding up, saturating instead of wrapping.
#include "xsock/time_limit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/listener.hpp"
#include "xsock/poller.hpp"
#include "xsock/stream_socket.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;

TEST(time_limit, converts_any_duration_rounding_up) {
  EXPECT_EQ(time_limit(std::chrono::duration<double>(1.5)).milliseconds(), 1500ms);
  EXPECT_EQ(time_limit(500us).milliseconds(), 1ms);
  EXPECT_EQ(time_limit(1ns).milliseconds(), 1ms);
  EXPECT_EQ(time_limit(1001us).milliseconds(), 2ms);
  EXPECT_EQ(time_limit(2s).milliseconds(), 2000ms);
  EXPECT_EQ(time_limit(std::chrono::duration<double, std::milli>(0.0004)).milliseconds(), 1ms);
  EXPECT_EQ(time_limit(std::chrono::minutes(3)).milliseconds(), 180000ms);
  EXPECT_FALSE(time_limit(2s).unlimited());
}

TEST(time_limit, zero_negative_and_nan_mean_just_look) {
  EXPECT_EQ(time_limit(0ms), time_limit());
  EXPECT_EQ(time_limit(-5ms), time_limit());
  EXPECT_EQ(time_limit(std::chrono::duration<double>(-1.5)), time_limit());
  EXPECT_EQ(time_limit(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())),
            time_limit());
  EXPECT_EQ(time_limit().milliseconds(), 0ms);
}

TEST(time_limit, too_long_to_represent_saturates_to_no_limit) {
  EXPECT_TRUE(no_timeout.unlimited());
  EXPECT_TRUE(time_limit(std::chrono::milliseconds::max()).unlimited());
  EXPECT_TRUE(time_limit(std::chrono::hours::max()).unlimited());
  // Representable (about 292 years): rounded up, not saturated.
  EXPECT_EQ(time_limit(std::chrono::nanoseconds::max()).milliseconds().count(), 9223372036855);
  EXPECT_TRUE(time_limit(std::chrono::duration<double>(std::numeric_limits<double>::infinity()))
                  .unlimited());
  EXPECT_TRUE(time_limit(std::chrono::duration<double>(1e300)).unlimited());
  EXPECT_EQ(time_limit(std::chrono::milliseconds::max()), no_timeout);
}

class time_limit_calls : public test::loopback_test {};

// The same "just look" values through every timed call of the library.
TEST_P(time_limit_calls, zero_and_negative_mean_just_look_everywhere) {
  for (const time_limit look : {time_limit(0ms), time_limit(-1ms), time_limit(-10s)}) {
    auto l = make_listener();
    std::error_code ec;
    l.accept(look, ec);
    EXPECT_EQ(ec, std::errc::timed_out) << "accept";

    auto p = test::connect_pair(l);
    char c = 0;
    EXPECT_EQ(p.client.receive(&c, 1, look, ec), 0u);
    EXPECT_EQ(ec, std::errc::timed_out) << "receive";
    EXPECT_FALSE(p.client.wait(readiness::readable, look, ec));
    EXPECT_FALSE(ec) << "wait";

    poller po;
    po.add(p.client.native_handle(), readiness::readable, 1);
    std::vector<poller::event> events;
    // A negative value once meant "forever" here: a wake-up after the bound proves
    // the wait did not return by itself.
    std::atomic<bool> returned{false};
    std::atomic<bool> had_to_wake{false};
    std::thread rescuer([&] {
      const auto until = std::chrono::steady_clock::now() + 5s;
      while (!returned.load() && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
      if (!returned.load()) {
        had_to_wake = true;
        po.wake();
      }
    });
    EXPECT_EQ(po.wait(events, look), 0u);
    returned = true;
    rescuer.join();
    EXPECT_FALSE(had_to_wake.load()) << "poller::wait waited although told to just look";

    // Data there: "just look" sees it.
    p.server.send_all("x");
    EXPECT_TRUE(p.client.wait(readiness::readable, 10s));
    EXPECT_EQ(p.client.receive(&c, 1, look), 1u);
    EXPECT_EQ(c, 'x');
  }
}

TEST_P(time_limit_calls, zero_limit_connect_to_a_full_backlog_times_out_at_once) {
  const test::dead_listener dead(any_port());
  ASSERT_TRUE(dead.full()) << dead.last.message();
  std::error_code ec;
  stream_socket c;
  c.connect(dead.address(), -1ms, ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_FALSE(c.is_open());
}

// no_timeout means no limit in every call (listener::accept(poller::infinite) once
// failed at once with timed_out).
TEST_P(time_limit_calls, no_timeout_waits_as_long_as_it_takes) {
  auto l = make_listener();
  const endpoint where = l.local_endpoint();
  std::mutex m;
  std::condition_variable cv;
  bool accepting = false;
  stream_socket client;
  std::thread connector([&] {
    std::unique_lock<std::mutex> lock(m);
    cv.wait_for(lock, 10s, [&] { return accepting; });
    lock.unlock();
    client.connect(where, no_timeout);
  });
  {
    std::lock_guard<std::mutex> lock(m);
    accepting = true;
  }
  cv.notify_all();
  auto accepted = l.accept(no_timeout);
  connector.join();
  ASSERT_TRUE(accepted.socket.is_open());

  std::thread sender([&] { accepted.socket.send_all("late"); });
  char buf[8];
  const std::size_t n = client.receive(buf, sizeof buf, no_timeout);
  sender.join();
  EXPECT_GT(n, 0u);
  EXPECT_TRUE(client.wait(readiness::writable, no_timeout));

  poller po;
  po.add(client.native_handle(), readiness::writable, 7);
  std::vector<poller::event> events;
  EXPECT_EQ(po.wait(events, no_timeout), 1u);
  EXPECT_EQ(events[0].tag, 7u);
}

TEST_P(time_limit_calls, a_fractional_seconds_limit_compiles_and_waits) {
  auto l = make_listener();
  auto p = test::connect_pair(l);
  char c = 0;
  std::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  p.client.receive(&c, 1, std::chrono::duration<double>(0.05), ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 49ms);
}

XSOCK_INSTANTIATE_FAMILIES(time_limit_calls);

}  // namespace
}  // namespace xsock
