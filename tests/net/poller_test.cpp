// xsock::poller over real loopback sockets. The same file is built once per backend
// (epoll and poll on Linux) or run once per backend (afd and WSAPoll on Windows, chosen
// with the XSOCK_POLLER environment variable); expected_poller() names the one under
// test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#endif

#include "../common/wine.hpp"
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

// The backend this run is meant to exercise ("" when nobody said): compiled in, or on
// Windows "WSAPoll" when XSOCK_POLLER=wsapoll selects the fallback (the CTest
// "wsapoll." run).
std::string expected_poller() {
#if defined(_WIN32)
  if (const char* chosen = std::getenv("XSOCK_POLLER")) {
    std::string value = chosen;
    for (char& c : value)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (value == "wsapoll") return "WSAPoll";
  }
#endif
#ifdef XSOCK_EXPECTED_POLLER
  return XSOCK_EXPECTED_POLLER;
#else
  return "";
#endif
}

TEST(poller_backend, is_the_configured_one) {
  const std::string expected = expected_poller();
  if (!expected.empty()) {
    EXPECT_EQ(poller::backend_name(), expected);
  } else {
    EXPECT_NE(std::string(poller::backend_name()), "");
  }
}

// A raw non-blocking TCP socket whose connect to 127.0.0.1:port is under way (or has
// already failed); xsock has no public non-blocking connect.
struct raw_connect {
  native_handle_type handle = invalid_handle;
  bool failed_at_once = false;

  explicit raw_connect(std::uint16_t port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
#if defined(_WIN32)
    const SOCKET s = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) return;
    u_long on = 1;
    ::ioctlsocket(s, static_cast<long>(FIONBIO), &on);
    handle = static_cast<native_handle_type>(s);
    if (::connect(s, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 &&
        ::WSAGetLastError() != WSAEWOULDBLOCK)
      failed_at_once = true;
#else
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return;
    ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK);
    handle = static_cast<native_handle_type>(s);
    if (::connect(s, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 &&
        errno != EINPROGRESS)
      failed_at_once = true;
#endif
  }
  raw_connect(const raw_connect&) = delete;
  raw_connect& operator=(const raw_connect&) = delete;
  ~raw_connect() {
    if (handle == invalid_handle) return;
#if defined(_WIN32)
    ::closesocket(static_cast<SOCKET>(handle));
#else
    ::close(static_cast<int>(handle));
#endif
  }
  // SO_ERROR: the outcome of the connect.
  int pending_error() const {
    int value = 0;
#if defined(_WIN32)
    int len = sizeof value;
    ::getsockopt(static_cast<SOCKET>(handle), SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&value),
                 &len);
#else
    socklen_t len = sizeof value;
    ::getsockopt(static_cast<int>(handle), SOL_SOCKET, SO_ERROR, &value, &len);
#endif
    return value;
  }
};

// WSAPoll reported nothing for a failed connect before Windows 10 2004; every backend
// must: the error, and the end of the wait for writable.
TEST(poller_connect, a_refused_connect_is_reported_as_an_error) {
  std::uint16_t port = 0;
  {
    listener l;
    l.listen(endpoint::loopback_v4(0));
    port = l.local_endpoint().port();
  }  // closed: nobody listens on `port` now
  raw_connect c(port);
  ASSERT_NE(c.handle, invalid_handle);
  ASSERT_FALSE(c.failed_at_once) << "the connect failed before any poller could see it";
  poller p;
  p.add(c.handle, readiness::writable, 5);
  const readiness ready = wait_for_handle(p, c.handle);
  EXPECT_TRUE(any(ready & readiness::error)) << "ready = " << static_cast<unsigned>(ready);
  EXPECT_TRUE(any(ready & readiness::writable)) << "ready = " << static_cast<unsigned>(ready);
#if defined(_WIN32)
  EXPECT_EQ(c.pending_error(), WSAECONNREFUSED);
#else
  EXPECT_EQ(c.pending_error(), ECONNREFUSED);
#endif
  p.remove(c.handle);
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
  // A slot keeps the handle in 32 bits: one that would not come back whole is refused,
  // never registered under a different number.
  p.add(native_handle_type{1} << 40 | h, readiness::readable, 4, ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
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

// Closing a socket that is still registered is a caller's mistake, but it must not
// crash or hang the poller: epoll forgets the socket, the others report it as an
// error until it is removed (the AFD poller sees the local close end its poll).
// Wine's WSAPoll forgets it too (docs/windows.md, Wine gaps).
TEST_P(poller_test, a_socket_closed_while_registered_is_survived) {
  auto l = make_listener();
  auto pair = connect_pair(l);
  poller p;
  const auto h = pair.server.native_handle();
  p.add(h, readiness::readable, 3);
  std::vector<poller::event> events;
  EXPECT_EQ(p.wait(events, 0ms), 0u);  // the poll is outstanding now
  pair.server.close();
  const std::string backend = poller::backend_name();
  const bool forgets = backend == "epoll" || (backend == "WSAPoll" && test::running_under_wine());
  const readiness ready = wait_for_handle(p, h, forgets ? 100ms : soon);
  if (forgets) {
    EXPECT_EQ(ready, readiness::none);
  } else {
    EXPECT_TRUE(any(ready & readiness::error)) << "ready = " << static_cast<unsigned>(ready);
  }
  std::error_code ec;
  p.remove(h, ec);  // epoll: EBADF, the handle is gone already
  EXPECT_EQ(p.size(), 0u);
  EXPECT_EQ(p.wait(events, 20ms), 0u);
  // The poller still works for the others.
  auto other = connect_pair(l);
  p.add(other.server.native_handle(), readiness::readable, 4);
  other.client.send_all("x", 1);
  EXPECT_TRUE(any(wait_for_handle(p, other.server.native_handle()) & readiness::readable));
}

// Slots (and so the token the kernel holds) are reused by the next add after a
// remove: every event must carry the tag and handle of the registration it belongs to.
TEST_P(poller_test, a_reused_slot_reports_the_new_tag_and_handle) {
  auto l = make_listener();
  auto first = connect_pair(l);
  auto second = connect_pair(l);
  first.client.send_all("x", 1);  // never read: both stay readable
  second.client.send_all("y", 1);
  const native_handle_type handles[] = {first.server.native_handle(),
                                        second.server.native_handle()};
  poller p;
  std::vector<poller::event> events;
  for (std::uint64_t round = 0; round < 40; ++round) {
    const native_handle_type h = handles[round % 2];
    p.add(h, readiness::readable, 1000 + round);
    ASSERT_EQ(p.wait(events, soon), 1u) << "round " << round;
    EXPECT_EQ(events[0].handle, h) << "round " << round;
    EXPECT_EQ(events[0].tag, 1000 + round) << "round " << round;
    p.remove(h);
  }
  EXPECT_EQ(p.size(), 0u);
}

// The kernel may still hold the old token of a registration that is gone: on epoll, a
// socket closed before its removal while a duplicate of its descriptor keeps it alive
// (the removal then fails with EBADF and the kernel keeps reporting it); on AFD, a
// poll completed before the removal. A new socket given the same slot (and here, where
// the system reuses numbers, the same handle number) must not get that event.
TEST_P(poller_test, a_stale_event_never_reaches_the_slots_next_socket) {
  auto l = make_listener();
  auto old_pair = connect_pair(l);
  const native_handle_type old_handle = old_pair.server.native_handle();
  poller p;
  p.add(old_handle, readiness::readable, 1);
  old_pair.client.send_all("x", 1);
  ASSERT_TRUE(any(wait_for_handle(p, old_handle) & readiness::readable));
#if !defined(_WIN32)
  // Keeps the old socket's file alive (and, on epoll, registered) after its close.
  const int keep = ::dup(static_cast<int>(old_handle));
  ASSERT_GE(keep, 0);
#endif
  old_pair.server.close();
  std::error_code ec;
  p.remove(old_handle, ec);  // epoll: EBADF (closed), and the registration lives on
  EXPECT_EQ(p.size(), 0u);

  // The lowest free number (POSIX) is the old one: the new pair's first socket gets
  // it. Register whichever socket has it (else the server end) in the freed slot.
  auto new_pair = connect_pair(l);
  const native_handle_type reused = new_pair.client.native_handle() == old_handle
                                        ? new_pair.client.native_handle()
                                        : new_pair.server.native_handle();
  p.add(reused, readiness::readable, 2);
  // A third socket becomes readable after the old one got more data: once it is
  // reported, the old socket's event has had every chance to show up.
  auto marker = connect_pair(l);
  p.add(marker.server.native_handle(), readiness::readable, 3);
#if !defined(_WIN32)
  // More data for the old socket's file, still open through the duplicate. (On
  // Windows its close, with data unread, reset the connection.)
  old_pair.client.send_all("y", 1);
#endif
  marker.client.send_all("z", 1);
  // Bounded: until the marker is reported, then one more look.
  std::vector<poller::event> events;
  bool marker_seen = false;
  const auto deadline = std::chrono::steady_clock::now() + soon;
  for (int extra = 0; extra < 2 && std::chrono::steady_clock::now() < deadline;) {
    p.wait(events, marker_seen ? 0ms : 1000ms);
    for (const poller::event& e : events) {
      EXPECT_NE(e.tag, 1u) << "an event of the removed socket";
      EXPECT_NE(e.tag, 2u) << "the removed socket's event given to its slot's next socket";
      if (e.tag == 3u) {
        EXPECT_EQ(e.handle, marker.server.native_handle());
        marker_seen = true;
      }
    }
    if (marker_seen) ++extra;
  }
  EXPECT_TRUE(marker_seen);
#if !defined(_WIN32)
  ::close(keep);
#endif
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
