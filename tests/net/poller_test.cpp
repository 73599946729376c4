// xsock::poller over real loopback sockets. The same file is built once per backend
// (epoll and poll on Linux); XSOCK_EXPECTED_POLLER names the one under test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/poller.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using test::connect_pair;

// Generous: these bound waits for events that should come at once.
constexpr auto soon = 5000ms;

const poller::event* find_event(const std::vector<poller::event>& events, native_handle_type h) {
  for (const auto& e : events)
    if (e.handle == h) return &e;
  return nullptr;
}

// Waits until `h` is reported (bounded), returning its readiness; 0 if it never was.
readiness wait_for_handle(poller& p, native_handle_type h, std::chrono::milliseconds limit = soon) {
  std::vector<poller::event> events;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    p.wait(events, std::chrono::duration_cast<std::chrono::milliseconds>(
                       deadline - std::chrono::steady_clock::now()));
    if (const auto* e = find_event(events, h)) return e->ready;
  }
  return readiness::none;
}

class poller_test : public test::loopback_test {};

TEST(poller_backend, is_the_configured_one) {
#ifdef XSOCK_EXPECTED_POLLER
  EXPECT_STREQ(poller::backend_name(), XSOCK_EXPECTED_POLLER);
#else
  EXPECT_NE(std::string(poller::backend_name()), "");
#endif
}

TEST_P(poller_test, reports_readable_only_when_data_is_there) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  p.add(pair.server.native_handle(), readiness::readable, 42);
  std::vector<poller::event> events;
  EXPECT_EQ(p.wait(events, 0ms), 0u);
  EXPECT_TRUE(events.empty());

  pair.client.send_all("hi", 2);
  const readiness ready = wait_for_handle(p, pair.server.native_handle());
  EXPECT_TRUE(any(ready & readiness::readable));
  EXPECT_FALSE(any(ready & readiness::writable)) << "writable was not asked for";
}

TEST_P(poller_test, carries_the_tag) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  p.add(pair.server.native_handle(), readiness::readable, 0xfeedface12345678ull);
  pair.client.send_all("x", 1);
  std::vector<poller::event> events;
  ASSERT_EQ(p.wait(events, soon), 1u);
  EXPECT_EQ(events[0].handle, pair.server.native_handle());
  EXPECT_EQ(events[0].tag, 0xfeedface12345678ull);
}

TEST_P(poller_test, is_level_triggered) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  p.add(pair.server.native_handle(), readiness::readable, 1);
  pair.client.send_all("abcdef", 6);
  ASSERT_TRUE(any(wait_for_handle(p, pair.server.native_handle()) & readiness::readable));
  // Not reading at all: reported again.
  std::vector<poller::event> events;
  EXPECT_EQ(p.wait(events, 0ms), 1u);
  // Reading only part: still reported, until everything is read.
  char buf[3];
  ASSERT_EQ(pair.server.receive(buf, 3), 3u);
  EXPECT_EQ(p.wait(events, 0ms), 1u);
  ASSERT_EQ(pair.server.receive(buf, 3), 3u);
  EXPECT_EQ(p.wait(events, 0ms), 0u);
}

TEST_P(poller_test, writable_until_interest_is_dropped) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  const auto h = pair.client.native_handle();
  p.add(h, readiness::readable | readiness::writable, 7);
  EXPECT_TRUE(any(wait_for_handle(p, h) & readiness::writable));
  std::vector<poller::event> events;
  EXPECT_EQ(p.wait(events, 0ms), 1u) << "level-triggered: still writable";
  p.modify(h, readiness::readable);
  EXPECT_EQ(p.wait(events, 0ms), 0u);
  p.modify(h, readiness::none);
  pair.server.send_all("z", 1);
  EXPECT_EQ(p.wait(events, 50ms), 0u) << "no interest: silent even with data pending";
  p.modify(h, readiness::readable);
  EXPECT_TRUE(any(wait_for_handle(p, h) & readiness::readable));
}

TEST_P(poller_test, removed_handles_are_not_reported) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  p.add(pair.server.native_handle(), readiness::readable, 1);
  EXPECT_EQ(p.size(), 1u);
  p.remove(pair.server.native_handle());
  EXPECT_EQ(p.size(), 0u);
  pair.client.send_all("x", 1);
  std::vector<poller::event> events;
  EXPECT_EQ(p.wait(events, 50ms), 0u);
}

TEST_P(poller_test, registration_errors) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  const auto h = pair.server.native_handle();
  p.add(h, readiness::readable, 1);
  std::error_code ec;
  p.add(h, readiness::readable, 2, ec);
  EXPECT_EQ(ec, std::errc::file_exists);
  p.remove(h);
  p.modify(h, readiness::readable, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  p.remove(h, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  EXPECT_THROW(p.remove(h), xsock::error);
  p.add(invalid_handle, readiness::readable, 3, ec);
  EXPECT_TRUE(ec);
}

TEST_P(poller_test, end_of_stream_is_readable) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  p.add(pair.server.native_handle(), readiness::readable, 1);
  pair.client.close();
  EXPECT_TRUE(any(wait_for_handle(p, pair.server.native_handle()) & readiness::readable));
  char c;
  EXPECT_EQ(pair.server.receive(&c, 1), 0u);
}

TEST_P(poller_test, reset_is_readable_and_receive_reports_it) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  p.add(pair.server.native_handle(), readiness::readable, 1);
  pair.client.set_linger(true, 0);
  pair.client.close();
  EXPECT_TRUE(any(wait_for_handle(p, pair.server.native_handle()) & readiness::readable));
  char c;
  std::error_code ec;
  const auto n = pair.server.receive(&c, 1, ec);
  EXPECT_EQ(n, 0u);
  // Wine reports an abortive close as a plain end of stream.
  if (ec) {
    EXPECT_EQ(ec, std::errc::connection_reset);
  }
}

TEST_P(poller_test, listener_is_readable_with_a_pending_connection) {
  auto l = make_listener();
  poller p;
  p.add(l.native_handle(), readiness::readable, 9);
  std::vector<poller::event> events;
  EXPECT_EQ(p.wait(events, 0ms), 0u);
  stream_socket client;
  client.connect(l.local_endpoint());
  EXPECT_TRUE(any(wait_for_handle(p, l.native_handle()) & readiness::readable));
}

TEST_P(poller_test, reports_exactly_the_ready_ones_among_many) {
  auto l = make_listener();
  constexpr int count = 200;
  std::vector<test::socket_pair> pairs;
  pairs.reserve(count);
  poller p;
  for (int i = 0; i < count; ++i) {
    pairs.push_back(connect_pair(l));
    p.add(pairs.back().server.native_handle(), readiness::readable, static_cast<std::uint64_t>(i));
  }
  // Every seventh gets data.
  std::vector<bool> expected(count, false);
  int expected_count = 0;
  for (int i = 0; i < count; i += 7) {
    pairs[static_cast<std::size_t>(i)].client.send_all("!", 1);
    expected[static_cast<std::size_t>(i)] = true;
    ++expected_count;
  }
  std::vector<bool> seen(count, false);
  int seen_count = 0;
  std::vector<poller::event> events;
  const auto deadline = std::chrono::steady_clock::now() + soon;
  while (seen_count < expected_count && std::chrono::steady_clock::now() < deadline) {
    p.wait(events, 100ms);
    for (const auto& e : events) {
      ASSERT_LT(e.tag, static_cast<std::uint64_t>(count));
      ASSERT_TRUE(expected[e.tag]) << "socket " << e.tag << " got no data";
      if (!seen[e.tag]) {
        seen[e.tag] = true;
        ++seen_count;
        char c;
        ASSERT_EQ(pairs[e.tag].server.receive(&c, 1), 1u);
      }
    }
  }
  EXPECT_EQ(seen_count, expected_count);
}

XSOCK_INSTANTIATE_FAMILIES(poller_test);

TEST(poller_wake, interrupts_an_endless_wait_from_another_thread) {
  poller p;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    std::vector<poller::event> events;
    p.wait(events, no_timeout);
    returned = true;
  });
  p.wake();
  waiter.join();  // hangs (and the test times out) if wake did nothing
  EXPECT_TRUE(returned);
}

TEST(poller_wake, before_the_wait_makes_it_return_at_once_and_coalesces) {
  poller p;
  p.wake();
  p.wake();
  p.wake();
  std::vector<poller::event> events;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(p.wait(events, 10s), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // The three wake-ups were one: the next wait times out.
  EXPECT_EQ(p.wait(events, 20ms), 0u);
  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(p.wait(events, 30ms), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - again, 25ms);
}

poller* signal_target = nullptr;
extern "C" void wake_from_signal(int) {
  signal_target->wake();
}

TEST(poller_wake, is_usable_from_a_signal_handler) {
  poller p;
  signal_target = &p;
  const auto previous = std::signal(SIGTERM, wake_from_signal);
  ASSERT_NE(previous, SIG_ERR);
  std::raise(SIGTERM);
  std::signal(SIGTERM, previous);
  std::vector<poller::event> events;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(p.wait(events, 10s), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(poller_wait, times_out) {
  poller p;
  std::vector<poller::event> events;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(p.wait(events, 60ms), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(poller_lifetime, moves_and_reports_closed) {
  poller a;
  EXPECT_TRUE(a.is_open());
  poller b(std::move(a));
  EXPECT_TRUE(b.is_open());
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): documented state
  a.wake();                   // no-op on a closed poller
  std::vector<poller::event> events;
  std::error_code ec;
  a.wait(events, 0ms, ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace xsock
