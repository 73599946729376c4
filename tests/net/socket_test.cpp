#include "xsock/stream_socket.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using test::connect_pair;

class socket_test : public test::loopback_test {};

TEST_P(socket_test, echo_over_connect_and_accept) {
  auto l = make_listener();
  std::thread server([&] {
    auto [s, peer] = l.accept(10s);
    char buf[1024];
    for (;;) {
      const auto n = s.receive(buf, sizeof buf);
      if (n == 0) break;
      s.send_all(buf, n);
    }
  });
  stream_socket c;
  c.connect(l.local_endpoint());
  const std::string msg = "hello, 7788";
  EXPECT_EQ(c.send_all(msg), msg.size());
  std::string got(msg.size(), '\0');
  std::size_t have = 0;
  while (have < got.size()) {
    const auto n = c.receive(&got[have], got.size() - have, 10s);
    ASSERT_GT(n, 0u);
    have += n;
  }
  EXPECT_EQ(got, msg);
  c.shutdown(shutdown_type::send);
  char extra;
  EXPECT_EQ(c.receive(&extra, 1, 10s), 0u);  // the server closed after our end of stream
  server.join();
}

TEST_P(socket_test, endpoints_of_a_connection_match) {
  auto l = make_listener();
  stream_socket c;
  c.connect(l.local_endpoint());
  auto [s, peer] = l.accept(10s);
  EXPECT_EQ(c.peer_endpoint(), l.local_endpoint());
  EXPECT_EQ(s.local_endpoint(), l.local_endpoint());
  EXPECT_EQ(s.peer_endpoint(), c.local_endpoint());
  EXPECT_EQ(peer, c.local_endpoint());
  EXPECT_TRUE(c.local_endpoint().is_loopback());
  EXPECT_NE(c.local_endpoint().port(), 0);
}

TEST_P(socket_test, refused_connection) {
  endpoint closed;
  {
    auto l = make_listener();
    closed = l.local_endpoint();
  }
  stream_socket c;
  std::error_code ec;
  c.connect(closed, ec);
  EXPECT_EQ(ec, std::errc::connection_refused) << ec.message();
  EXPECT_FALSE(c.is_open());
  c.connect(closed, 5s, ec);
  EXPECT_EQ(ec, std::errc::connection_refused) << ec.message();
  try {
    c.connect(closed);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()), "connect " + closed.to_string() + ": connection refused");
  }
}

TEST_P(socket_test, connect_timeout_when_the_accept_queue_is_full) {
  // Nobody accepts and the queue is tiny: once it is full the system drops further
  // connection requests, so a connect can only end by its timeout.
  const test::dead_listener dead(any_port());
  EXPECT_TRUE(dead.full()) << dead.last.message() << " after " << dead.queue.size();
  stream_socket c;
  try {
    c.connect(dead.address(), 100ms);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_EQ(std::string(e.what()), "connect " + dead.address().to_string() + ": timed out");
  }
  EXPECT_FALSE(c.is_open());
}

TEST_P(socket_test, receive_timeout_loses_nothing) {
  auto l = make_listener();
  auto p = connect_pair(l);
  char buf[16];
  std::error_code ec;
  EXPECT_EQ(p.client.receive(buf, sizeof buf, 50ms, ec), 0u);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_THROW(p.client.receive(buf, sizeof buf, 10ms), xsock::error);
  p.server.send_all("abc");
  std::string got;
  while (got.size() < 3) {
    const auto n = p.client.receive(buf, sizeof buf, 10s);
    ASSERT_GT(n, 0u);
    got.append(buf, n);
  }
  EXPECT_EQ(got, "abc");
}

TEST_P(socket_test, wait_reports_readiness) {
  auto l = make_listener();
  auto p = connect_pair(l);
  EXPECT_TRUE(p.client.wait(readiness::writable, 10s));
  EXPECT_FALSE(p.client.wait(readiness::readable, 20ms));
  p.server.send_all("x");
  EXPECT_TRUE(p.client.wait(readiness::readable, 10s));
}

TEST_P(socket_test, connect_by_host_name) {
  auto l = make_listener();
  const std::string host = GetParam() == test::family::v4 ? "127.0.0.1" : "::1";
  stream_socket c;
  c.connect(host, l.local_endpoint().port(), 5s);
  EXPECT_EQ(c.peer_endpoint(), l.local_endpoint());
  stream_socket d;
  d.connect(host, l.local_endpoint().port());
  EXPECT_TRUE(d.is_open());
}

TEST_P(socket_test, options_round_trip) {
  auto l = make_listener();
  auto p = connect_pair(l);
  auto& s = p.client;
  s.set_no_delay(true);
  EXPECT_TRUE(s.no_delay());
  s.set_no_delay(false);
  EXPECT_FALSE(s.no_delay());
  s.set_keep_alive(true);
  EXPECT_TRUE(s.keep_alive());
  s.set_keep_alive(false);
  EXPECT_FALSE(s.keep_alive());
  // Systems round or double the size; it must at least be honoured.
  s.set_receive_buffer_size(64 * 1024);
  EXPECT_GE(s.receive_buffer_size(), 64 * 1024);
  s.set_send_buffer_size(64 * 1024);
  EXPECT_GE(s.send_buffer_size(), 64 * 1024);
  EXPECT_FALSE(s.non_blocking());
  s.set_non_blocking(true);
  EXPECT_TRUE(s.non_blocking());
}

TEST_P(socket_test, non_blocking_receive_would_block) {
  auto l = make_listener();
  auto p = connect_pair(l);
  p.client.set_non_blocking(true);
  char buf[8];
  std::error_code ec;
  EXPECT_EQ(p.client.receive(buf, sizeof buf, ec), 0u);
  EXPECT_EQ(ec, std::errc::operation_would_block);
  p.server.send_all("z");
  ASSERT_TRUE(p.client.wait(readiness::readable, 10s));
  EXPECT_EQ(p.client.receive(buf, sizeof buf, ec), 1u);
  EXPECT_FALSE(ec);
  EXPECT_EQ(buf[0], 'z');
}

TEST_P(socket_test, moved_from_and_double_close_are_safe) {
  auto l = make_listener();
  auto p = connect_pair(l);
  const auto handle = p.client.native_handle();
  stream_socket moved(std::move(p.client));
  EXPECT_FALSE(p.client.is_open());  // NOLINT(bugprone-use-after-move): checked on purpose
  EXPECT_EQ(p.client.native_handle(), invalid_handle);
  EXPECT_EQ(moved.native_handle(), handle);
  p.client.close();
  p.client.close();
  std::error_code ec;
  char c;
  // A closed stream socket is not connected (issue 18: not "bad socket handle").
  EXPECT_EQ(p.client.send("x", 1, ec), 0u);
  EXPECT_EQ(ec, std::errc::not_connected);
  EXPECT_EQ(p.client.receive(&c, 1, ec), 0u);
  EXPECT_EQ(ec, std::errc::not_connected);
  EXPECT_THROW(p.client.local_endpoint(), xsock::error);
  try {
    p.client.set_no_delay(true);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code(), std::errc::not_connected);
    EXPECT_EQ(std::string(e.what()), "set no_delay: not connected");
  }
  p.client.receive_buffer_size(ec);
  EXPECT_EQ(ec, std::errc::not_connected);
  stream_socket assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.native_handle(), handle);
  assigned.send_all("ok");
  assigned.close();
  assigned.close();
  EXPECT_FALSE(assigned.is_open());
  // The peer sees the close as end of stream: the handle was closed exactly once.
  char buf[4];
  std::string got;
  for (;;) {
    const auto n = p.server.receive(buf, sizeof buf, 10s);
    if (n == 0) break;
    got.append(buf, n);
  }
  EXPECT_EQ(got, "ok");
}

// After a reset-close (linger 0), shutdown() says "not connected", as the tools print
// it, not "bad socket handle".
TEST_P(socket_test, shutdown_after_a_reset_close_is_not_connected) {
  auto l = make_listener();
  auto p = connect_pair(l);
  p.client.set_linger(true, 0);
  p.client.close();
  std::error_code ec;
  p.client.shutdown(shutdown_type::send, ec);
  EXPECT_EQ(ec, std::errc::not_connected);
  try {
    p.client.shutdown(shutdown_type::both);
    FAIL() << "shutdown of a closed socket succeeded";
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()), "shutdown: not connected");
  }
}

TEST_P(socket_test, release_gives_up_ownership) {
  auto l = make_listener();
  auto p = connect_pair(l);
  const auto h = p.client.release();
  EXPECT_FALSE(p.client.is_open());
  stream_socket adopted(h);
  adopted.send_all("r");
  char c = 0;
  EXPECT_EQ(p.server.receive(&c, 1, 10s), 1u);
  EXPECT_EQ(c, 'r');
}

XSOCK_INSTANTIATE_FAMILIES(socket_test);

}  // namespace
}  // namespace xsock
