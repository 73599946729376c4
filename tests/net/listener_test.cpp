#include "xsock/listener.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;

class listener_test : public test::loopback_test {};

TEST_P(listener_test, port_zero_picks_a_free_port) {
  auto l = make_listener();
  const auto ep = l.local_endpoint();
  EXPECT_NE(ep.port(), 0);
  EXPECT_EQ(ep.is_v6(), GetParam() == test::family::v6);
  EXPECT_TRUE(ep.is_loopback());
}

TEST_P(listener_test, address_already_in_use) {
  auto l = make_listener();
  const auto taken = l.local_endpoint();
  listener second;
  std::error_code ec;
  second.listen(taken, listen_options{}, ec);
  EXPECT_EQ(ec, std::errc::address_in_use) << ec.message();
  EXPECT_FALSE(second.is_open());
  try {
    second.listen(taken);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()), "bind " + taken.to_string() + ": address already in use");
  }
}

TEST_P(listener_test, blocked_accept_is_woken_by_its_timeout) {
  auto l = make_listener();
  std::error_code ec;
  auto result = l.accept(30ms, ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_FALSE(result.socket.is_open());
  try {
    l.accept(10ms);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()), "accept " + l.local_endpoint().to_string() + ": timed out");
  }
  // The listener still works after timing out.
  stream_socket c;
  c.connect(l.local_endpoint());
  auto [s, peer] = l.accept(10s);
  EXPECT_TRUE(s.is_open());
  EXPECT_EQ(peer, c.local_endpoint());
}

TEST_P(listener_test, blocking_accept_waits_for_a_client) {
  auto l = make_listener();
  const auto where = l.local_endpoint();
  std::thread client([where] {
    stream_socket c;
    c.connect(where, 10s);
    c.send_all("hi");
  });
  auto [s, peer] = l.accept();
  char buf[2];
  std::size_t have = 0;
  while (have < 2) {
    const auto n = s.receive(buf + have, 2 - have, 10s);
    ASSERT_GT(n, 0u);
    have += n;
  }
  EXPECT_EQ(std::string(buf, 2), "hi");
  client.join();
}

TEST_P(listener_test, non_blocking_accept_would_block) {
  auto l = make_listener();
  l.set_non_blocking(true);
  std::error_code ec;
  l.accept(ec);
  EXPECT_EQ(ec, std::errc::operation_would_block);
  stream_socket c;
  c.connect(l.local_endpoint());
  // connect() returned, so the connection is queued: a non-blocking accept takes it.
  auto r = l.accept(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(r.socket.is_open());
  EXPECT_FALSE(r.socket.non_blocking());
  EXPECT_EQ(r.peer, c.local_endpoint());
}

TEST_P(listener_test, moved_listener_keeps_listening) {
  auto l = make_listener();
  const auto where = l.local_endpoint();
  listener moved(std::move(l));
  EXPECT_FALSE(l.is_open());  // NOLINT(bugprone-use-after-move)
  l.close();
  stream_socket c;
  c.connect(where);
  EXPECT_TRUE(moved.accept(10s).socket.is_open());
  listener assigned;
  assigned = std::move(moved);
  assigned.close();
  assigned.close();
  std::error_code ec;
  assigned.accept(ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
}

XSOCK_INSTANTIATE_FAMILIES(listener_test);

TEST(listener, dual_stack_accepts_ipv4_as_mapped_addresses) {
  if (!test::ipv6_available()) GTEST_SKIP() << "this machine has no IPv6 (cannot bind ::)";
  listener l;
  listen_options options;
  options.v6_only = false;
  l.listen(endpoint::any_v6(0), options);
  stream_socket c;
  c.connect(endpoint::loopback_v4(l.local_endpoint().port()), 10s);
  auto [s, peer] = l.accept(10s);
  EXPECT_TRUE(peer.is_v4_mapped());
  EXPECT_EQ(peer.to_string(), c.local_endpoint().to_string());
  EXPECT_EQ(peer.address_string(), "127.0.0.1");
}

TEST(listener, v6_only_refuses_ipv4) {
  if (!test::ipv6_available()) GTEST_SKIP() << "this machine has no IPv6 (cannot bind ::)";
  listener l;
  listen_options options;
  options.v6_only = true;
  l.listen(endpoint::any_v6(0), options);
  stream_socket c;
  std::error_code ec;
  c.connect(endpoint::loopback_v4(l.local_endpoint().port()), 10s, ec);
  EXPECT_EQ(ec, std::errc::connection_refused) << ec.message();
  c.connect(endpoint::loopback_v6(l.local_endpoint().port()), 10s, ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST(listener, connect_by_name_tries_every_address) {
  // Listen on the last address "localhost" resolves to; every earlier one refuses,
  // so the connection only succeeds if each is tried in turn.
  const auto addresses = resolve("localhost", "0");
  endpoint target = addresses.back();
  if (target.is_v6() && !test::ipv6_available()) target = endpoint::loopback_v4();
  listener l;
  l.listen(target);
  stream_socket c;
  c.connect("localhost", l.local_endpoint().port(), 10s);
  EXPECT_EQ(c.peer_endpoint(), l.local_endpoint());
}

TEST(listener, connect_by_name_reports_the_last_address) {
  endpoint closed;
  {
    listener l;
    l.listen(endpoint::loopback_v4());
    closed = l.local_endpoint();
  }
  stream_socket c;
  try {
    c.connect("127.0.0.1", closed.port(), 10s);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()), "connect " + closed.to_string() + ": connection refused");
  }
  try {
    c.connect("no-such-host.invalid", 80);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code().category(), resolve_category());
    EXPECT_EQ(std::string(e.what()).rfind("resolve no-such-host.invalid:80: ", 0), 0u);
  }
}

}  // namespace
}  // namespace xsock
