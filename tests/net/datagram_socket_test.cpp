#include "xsock/datagram_socket.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "../common/wine.hpp"
#include "support.hpp"
#include "xsock/error.hpp"

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
// After winsock2.h.
#include <iphlpapi.h>
#else
#include <net/if.h>
#endif

namespace xsock {
namespace {

using namespace std::chrono_literals;
using test::family;

// Generous limits: a datagram on loopback arrives in microseconds, a limit only ends a
// test that would otherwise hang.
constexpr auto arrival = 5s;

// True when a UDP socket can be bound on ::1 here (containers often lack IPv6).
bool ipv6_datagrams_available() {
  static const bool available = [] {
    datagram_socket s;
    std::error_code ec;
    s.bind(endpoint::loopback_v6(0), bind_options{}, ec);
    return !ec;
  }();
  return available;
}

// The loopback interface's index, 0 when it cannot be found.
std::uint32_t loopback_interface_index() {
#if defined(_WIN32)
  ULONG size = 16 * 1024;
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<unsigned char> buffer(size);
    auto* list = reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buffer.data());
    const ULONG rc = ::GetAdaptersAddresses(AF_UNSPEC, 0, nullptr, list, &size);
    if (rc == ERROR_BUFFER_OVERFLOW) continue;
    if (rc != NO_ERROR) return 0;
    for (auto* a = list; a != nullptr; a = a->Next) {
      if (a->IfType == IF_TYPE_SOFTWARE_LOOPBACK && a->Ipv6IfIndex != 0) return a->Ipv6IfIndex;
    }
    return 0;
  }
  return 0;
#else
  for (const char* name : {"lo", "lo0"}) {
    const unsigned index = ::if_nametoindex(name);
    if (index != 0) return index;
  }
  return 0;
#endif
}

std::string what_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const xsock::error& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

class datagram_socket_test : public testing::TestWithParam<family> {
 protected:
  void SetUp() override {
    if (GetParam() == family::v6 && !ipv6_datagrams_available()) {
      GTEST_SKIP() << "this machine has no IPv6 loopback (::1 cannot be bound)";
    }
  }
  bool v6() const { return GetParam() == family::v6; }
  endpoint loopback(std::uint16_t port = 0) const { return test::loopback(GetParam(), port); }
  std::size_t max_datagram() const { return v6() ? max_datagram_v6 : max_datagram_v4; }

  // A socket bound to the loopback address of the test's family, ephemeral port.
  datagram_socket bound() const {
    datagram_socket s;
    s.bind(loopback());
    return s;
  }

  // A loopback address of the test's family where nothing listens: a port that was
  // bound a moment ago and closed.
  endpoint closed_port() const {
    datagram_socket s = bound();
    const endpoint where = s.local_endpoint();
    s.close();
    return where;
  }
};

TEST_P(datagram_socket_test, empty_datagram_is_a_datagram) {
  auto a = bound();
  auto b = bound();
  EXPECT_EQ(a.send_to("", 0, b.local_endpoint()), 0u);
  char buf[16];
  const auto got = b.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(got.size, 0u);
  EXPECT_FALSE(got.truncated);
  EXPECT_EQ(got.peer, a.local_endpoint());

  // A zero-length buffer takes an empty datagram, not truncated.
  std::error_code ec;
  EXPECT_EQ(a.send_to(std::string_view(), b.local_endpoint(), ec), 0u);
  ASSERT_FALSE(ec) << ec.message();
  const auto zero = b.receive_from(nullptr, 0, arrival, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(zero.size, 0u);
  EXPECT_FALSE(zero.truncated);
  EXPECT_EQ(zero.peer, a.local_endpoint());
}

TEST_P(datagram_socket_test, one_byte) {
  auto a = bound();
  auto b = bound();
  std::error_code ec;
  EXPECT_EQ(a.send_to("x", b.local_endpoint(), ec), 1u);
  ASSERT_FALSE(ec) << ec.message();
  char buf[16] = {};
  const auto got = b.receive_from(buf, sizeof buf, arrival, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(got.size, 1u);
  EXPECT_EQ(buf[0], 'x');
  EXPECT_FALSE(got.truncated);
  EXPECT_EQ(got.peer, a.local_endpoint());
}

TEST_P(datagram_socket_test, largest_datagram_arrives_whole) {
  auto a = bound();
  auto b = bound();
  a.set_send_buffer_size(512 * 1024);
  b.set_receive_buffer_size(512 * 1024);
  EXPECT_GE(a.send_buffer_size(), static_cast<int>(max_datagram()));
  EXPECT_GE(b.receive_buffer_size(), static_cast<int>(max_datagram()));
  std::string payload(max_datagram(), '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>('a' + static_cast<int>(i % 26));
  }
  EXPECT_EQ(a.send_to(payload, b.local_endpoint()), payload.size());
  std::string buf(payload.size() + 1, '\0');
  const auto got = b.receive_from(&buf[0], buf.size(), arrival);
  EXPECT_EQ(got.size, payload.size());
  EXPECT_FALSE(got.truncated);
  buf.resize(got.size);
  EXPECT_TRUE(buf == payload);
}

TEST_P(datagram_socket_test, oversize_datagram_fails_with_message_size) {
  auto a = bound();
  auto b = bound();
  a.set_send_buffer_size(512 * 1024);
  const std::string payload(max_datagram() + 1, 'z');
  std::error_code ec;
  EXPECT_EQ(a.send_to(payload, b.local_endpoint(), ec), 0u);
  EXPECT_EQ(ec, std::errc::message_size) << ec.message();
  EXPECT_EQ(error_text(ec), "message too long");
  const std::string what = what_of([&] { a.send_to(payload, b.local_endpoint()); });
  EXPECT_EQ(what, "send_to " + b.local_endpoint().to_string() + ": message too long");
  // Nothing arrived in part, and the socket still works.
  a.send_to("after", b.local_endpoint());
  char buf[16];
  const auto got = b.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, got.size), "after");
}

TEST_P(datagram_socket_test, truncated_datagram_is_reported_and_the_next_is_intact) {
  auto a = bound();
  auto b = bound();
  std::string hundred(100, '\0');
  for (std::size_t i = 0; i < hundred.size(); ++i)
    hundred[i] = static_cast<char>(i);
  a.send_to(hundred, b.local_endpoint());
  a.send_to("next", b.local_endpoint());
  a.send_to("gone", b.local_endpoint());
  char buf[10];
  const auto cut = b.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(cut.size, 10u);
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(std::string(buf, 10), hundred.substr(0, 10));
  EXPECT_EQ(cut.peer, a.local_endpoint());

  char whole[100];
  const auto next = b.receive_from(whole, sizeof whole, arrival);
  EXPECT_EQ(std::string(whole, next.size), "next");
  EXPECT_FALSE(next.truncated);

  // A zero-length buffer takes a non-empty datagram, flagged as truncated.
  const auto zero = b.receive_from(nullptr, 0, arrival);
  EXPECT_EQ(zero.size, 0u);
  EXPECT_TRUE(zero.truncated);

  // A buffer of exactly the datagram's size is not truncation.
  a.send_to("four", b.local_endpoint());
  char four[4];
  const auto exact = b.receive_from(four, sizeof four, arrival);
  EXPECT_EQ(exact.size, 4u);
  EXPECT_FALSE(exact.truncated);
}

TEST_P(datagram_socket_test, connected_socket_talks_to_its_peer_only) {
  auto a = bound();
  auto b = bound();
  auto stranger = bound();
  b.connect(a.local_endpoint());
  a.connect(b.local_endpoint());
  EXPECT_EQ(a.peer_endpoint(), b.local_endpoint());
  EXPECT_EQ(b.peer_endpoint(), a.local_endpoint());

  // Sent first, dropped by the system: b is connected to a.
  stranger.send_to("stranger", b.local_endpoint());
  EXPECT_EQ(a.send("from a"), 6u);
  char buf[32];
  const auto got = b.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, got.size), "from a");
  EXPECT_EQ(got.peer, a.local_endpoint());
  std::error_code ec;
  b.receive_from(buf, sizeof buf, 100ms, ec);
  EXPECT_EQ(ec, std::errc::timed_out) << "a datagram from another sender arrived";

  std::error_code send_ec;
  EXPECT_EQ(b.send(std::string_view("back"), send_ec), 4u);
  ASSERT_FALSE(send_ec) << send_ec.message();
  const auto back = a.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, back.size), "back");
}

TEST_P(datagram_socket_test, send_without_peer_is_not_connected) {
  auto a = bound();
  std::error_code ec;
  a.send("x", ec);
  EXPECT_EQ(ec, std::errc::not_connected) << ec.message();
  a.peer_endpoint(ec);
  EXPECT_EQ(ec, std::errc::not_connected) << ec.message();
  EXPECT_THROW(a.send("x"), xsock::error);
}

TEST_P(datagram_socket_test, connected_socket_to_closed_port_reports_connection_refused) {
  const endpoint dead = closed_port();
  datagram_socket a;
  a.connect(dead);
  EXPECT_EQ(a.send("ping"), 4u);  // the ICMP answer comes after
  std::error_code ec;
  char buf[16];
  if (test::running_under_wine()) {
    // Wine reports the ICMP error on a later send only (and a wait on the socket
    // takes it away): send until it shows, bounded.
    for (int i = 0; i < 50 && !ec; ++i)
      a.send("ping", ec);
  } else {
    a.receive_from(buf, sizeof buf, arrival, ec);
  }
  EXPECT_EQ(ec, std::errc::connection_refused) << ec.message();
  EXPECT_EQ(error_text(ec), "connection refused");

  // The error was reported once; the socket still works with a live peer.
  auto live = bound();
  a.connect(live.local_endpoint());
  EXPECT_EQ(a.send("alive"), 5u);
  const auto got = live.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, got.size), "alive");
  live.send_to("reply", a.local_endpoint());
  const auto reply = a.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, reply.size), "reply");
  EXPECT_EQ(reply.peer, live.local_endpoint());
}

TEST_P(datagram_socket_test, connection_refused_throws_naming_the_peer) {
  const endpoint dead = closed_port();
  datagram_socket a;
  a.connect(dead);
  a.send("ping");
  char buf[16];
  std::string what;
  if (test::running_under_wine()) {
    // Wine reports the ICMP error on a later send only: send until one throws.
    what = what_of([&] {
      for (int i = 0; i < 50; ++i)
        a.send("ping");
    });
    EXPECT_EQ(what, "send " + dead.to_string() + ": connection refused");
  } else {
    what = what_of([&] { a.receive_from(buf, sizeof buf, arrival); });
    EXPECT_EQ(what, "receive_from " + dead.to_string() + ": connection refused");
  }
}

TEST_P(datagram_socket_test, unconnected_socket_ignores_icmp_for_other_peers) {
  const endpoint dead = closed_port();
  auto a = bound();
  auto b = bound();
  // Several datagrams to a closed port: on Windows each would fail the next read
  // with WSAECONNRESET if SIO_UDP_CONNRESET were left on.
  for (int i = 0; i < 3; ++i)
    a.send_to("lost", dead);
  // A round trip through a itself: the ICMP answers are in before b's datagram.
  a.send_to("self", a.local_endpoint());
  char buf[16];
  std::error_code ec;
  const auto self = a.receive_from(buf, sizeof buf, arrival, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buf, self.size), "self");
  b.send_to("hello", a.local_endpoint());
  const auto got = a.receive_from(buf, sizeof buf, arrival, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buf, got.size), "hello");
  EXPECT_EQ(got.peer, b.local_endpoint());
}

TEST_P(datagram_socket_test, receive_times_out) {
  auto a = bound();
  char buf[16];
  std::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  a.receive_from(buf, sizeof buf, 50ms, ec);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ec, std::errc::timed_out) << ec.message();
  EXPECT_GE(elapsed, 45ms);
  EXPECT_LT(elapsed, arrival);
  const std::string what = what_of([&] { a.receive_from(buf, sizeof buf, 10ms); });
  EXPECT_EQ(what, "receive_from " + a.local_endpoint().to_string() + ": timed out");
  EXPECT_FALSE(a.wait(readiness::readable, 10ms));
}

TEST_P(datagram_socket_test, non_blocking_receive_would_block) {
  auto a = bound();
  auto b = bound();
  b.set_non_blocking(true);
  EXPECT_TRUE(b.non_blocking());
  char buf[16];
  std::error_code ec;
  b.receive_from(buf, sizeof buf, ec);
  EXPECT_EQ(ec, std::errc::operation_would_block) << ec.message();
  EXPECT_THROW(b.receive_from(buf, sizeof buf), xsock::error);
  // A timed receive still waits.
  a.send_to("late", b.local_endpoint());
  const auto got = b.receive_from(buf, sizeof buf, arrival, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buf, got.size), "late");
  // Readiness, then a non-blocking receive that finds the datagram.
  a.send_to("ready", b.local_endpoint());
  ASSERT_TRUE(b.wait(readiness::readable, arrival));
  const auto ready = b.receive_from(buf, sizeof buf, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buf, ready.size), "ready");
  EXPECT_TRUE(b.wait(readiness::writable, arrival));
}

TEST_P(datagram_socket_test, bind_to_port_in_use_fails) {
  auto a = bound();
  const endpoint taken = a.local_endpoint();
  datagram_socket b;
  std::error_code ec;
  b.bind(taken, bind_options{}, ec);
  EXPECT_EQ(ec, std::errc::address_in_use) << ec.message();
  EXPECT_FALSE(b.is_open());
  const std::string what = what_of([&] { b.bind(taken); });
  EXPECT_EQ(what, "bind " + taken.to_string() + ": address already in use");
}

TEST_P(datagram_socket_test, ttl_setters_check_their_range) {
  auto a = bound();
  for (const int hops : {1, 64, 255}) {
    std::error_code ec;
    a.set_ttl(hops, ec);
    EXPECT_FALSE(ec) << hops << ": " << ec.message();
    a.set_multicast_ttl(hops, ec);
    EXPECT_FALSE(ec) << hops << ": " << ec.message();
  }
  for (const int hops : {0, -1, 256}) {
    std::error_code ec;
    a.set_ttl(hops, ec);
    EXPECT_EQ(ec, std::errc::invalid_argument) << hops;
  }
  for (const int hops : {-1, 256}) {
    std::error_code ec;
    a.set_multicast_ttl(hops, ec);
    EXPECT_EQ(ec, std::errc::invalid_argument) << hops;
  }
  EXPECT_NO_THROW(a.set_ttl(2));
  EXPECT_THROW(a.set_ttl(256), xsock::error);
  EXPECT_THROW(a.set_multicast_ttl(-1), xsock::error);
  // Still usable.
  auto b = bound();
  a.send_to("ttl", b.local_endpoint());
  char buf[8];
  const auto got = b.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, got.size), "ttl");
}

TEST_P(datagram_socket_test, move_operations_transfer_the_socket) {
  auto a = bound();
  const endpoint first = a.local_endpoint();
  datagram_socket moved(std::move(a));
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): the contract says closed
  EXPECT_TRUE(moved.is_open());
  EXPECT_EQ(moved.local_endpoint(), first);

  auto other = bound();
  other.set_non_blocking(true);
  const endpoint second = other.local_endpoint();
  moved = std::move(other);       // closes `first`
  EXPECT_FALSE(other.is_open());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(moved.non_blocking());
  EXPECT_EQ(moved.local_endpoint(), second);

  // The port `moved` held before is free again.
  datagram_socket again;
  std::error_code ec;
  again.bind(first, bind_options{}, ec);
  EXPECT_FALSE(ec) << ec.message();

  again.send_to("moved", second);
  char buf[8];
  const auto got = moved.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, got.size), "moved");

  // Moved-from and closed sockets refuse politely.
  a.send_to("x", second, ec);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  a.close();
  moved.close();
  moved.close();
  EXPECT_FALSE(moved.is_open());
}

TEST_P(datagram_socket_test, join_group_refuses_what_is_not_a_group_of_its_family) {
  auto a = bound();
  std::error_code ec;
  a.join_group(loopback(), endpoint(), ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  const endpoint other_family =
      v6() ? endpoint::from_address("239.255.0.1", 0) : endpoint::from_address("ff12::1", 0);
  a.join_group(other_family, 0u, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  const std::string what = what_of([&] { a.join_group(loopback(), 0u); });
  EXPECT_EQ(what.rfind("join_group " + loopback().address_string(), 0), 0u) << what;
  EXPECT_NE(what.find("invalid argument"), std::string::npos) << what;
}

TEST_P(datagram_socket_test, open_then_bind_and_release) {
  datagram_socket a;
  a.open(loopback());
  EXPECT_TRUE(a.is_open());
  a.bind(loopback());
  EXPECT_NE(a.local_endpoint().port(), 0);
  const auto h = a.release();
  EXPECT_FALSE(a.is_open());
  datagram_socket adopted(h);
  EXPECT_TRUE(adopted.is_open());
  auto b = bound();
  b.send_to("adopted", adopted.local_endpoint());
  char buf[16];
  const auto got = adopted.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, got.size), "adopted");
}

INSTANTIATE_TEST_SUITE_P(datagram, datagram_socket_test, testing::Values(family::v4, family::v6),
                         test::family_name);

// ---- IPv4 only: broadcast, multicast ----------------------------------------------

TEST(datagram_broadcast, loopback_broadcast_needs_so_broadcast) {
  datagram_socket receiver;
  receiver.bind(endpoint::any_v4(0));
  const std::uint16_t port = receiver.local_endpoint().port();
  const endpoint broadcast = endpoint::from_address("127.255.255.255", port);

  datagram_socket sender;
  sender.bind(endpoint::loopback_v4(0));
  std::error_code ec;
  sender.send_to("no", broadcast, ec);
  EXPECT_EQ(ec, std::errc::permission_denied) << ec.message();
  EXPECT_EQ(error_text(ec), "permission denied");
  const std::string what = what_of([&] { sender.send_to("no", broadcast); });
  EXPECT_EQ(what, "send_to " + broadcast.to_string() + ": permission denied");

  sender.set_broadcast(true);
  sender.send_to("yes", broadcast, ec);
  if (ec) GTEST_SKIP() << "the system refuses the loopback broadcast: " << error_text(ec);
  char buf[8];
  const auto got = receiver.receive_from(buf, sizeof buf, 2s, ec);
  if (ec == std::errc::timed_out) {
    GTEST_SKIP() << "the system does not route 127.255.255.255 back to loopback";
  }
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buf, got.size), "yes");
}

TEST(datagram_multicast, ipv4_group_on_loopback) {
  const endpoint group = endpoint::from_address("239.255.77.1", 0);
  const endpoint lo = endpoint::loopback_v4(0);
  datagram_socket receiver;
  receiver.bind(endpoint::any_v4(0));
  const std::uint16_t port = receiver.local_endpoint().port();
  std::error_code ec;
  receiver.join_group(group, lo, ec);
  if (ec) GTEST_SKIP() << "joining a group on 127.0.0.1 fails here: " << error_text(ec);

  datagram_socket sender;
  sender.bind(lo);
  sender.set_multicast_interface(lo);
  sender.set_multicast_loopback(true);
  sender.set_multicast_ttl(1);
  endpoint to = group;
  to.port(port);
  sender.send_to("group", to);
  char buf[16];
  const auto got = receiver.receive_from(buf, sizeof buf, arrival);
  EXPECT_EQ(std::string(buf, got.size), "group");
  EXPECT_EQ(got.peer, sender.local_endpoint());

  receiver.leave_group(group, lo);
  sender.send_to("after leave", to);
  EXPECT_FALSE(receiver.wait(readiness::readable, 300ms)) << "a datagram arrived after leave";
  EXPECT_THROW(receiver.leave_group(group, lo), xsock::error);  // not a member any more
}

TEST(datagram_multicast, ipv6_group_on_loopback_interface) {
  if (!ipv6_datagrams_available()) {
    GTEST_SKIP() << "this machine has no IPv6 loopback (::1 cannot be bound)";
  }
  const std::uint32_t lo = loopback_interface_index();
  if (lo == 0) {
    if (test::running_under_wine()) {
      GTEST_SKIP()
          << "Wine: GetAdaptersAddresses lists no loopback adapter, so no index to join on";
    }
    GTEST_SKIP() << "no loopback interface index found";
  }
  const endpoint group = endpoint::from_address("ff12::7788:1", 0);
  datagram_socket receiver;
  bind_options options;
  options.v6_only = true;
  receiver.bind(endpoint::any_v6(0), options);
  const std::uint16_t port = receiver.local_endpoint().port();
  std::error_code ec;
  receiver.join_group(group, lo, ec);
  if (ec) {
    GTEST_SKIP() << "joining " << group.address_string() << " on the loopback interface (" << lo
                 << ") fails here: " << error_text(ec);
  }
  datagram_socket sender;
  sender.bind(endpoint::loopback_v6(0), options);
  sender.set_multicast_interface(lo);
  sender.set_multicast_loopback(true);
  sender.set_multicast_ttl(1);
  endpoint to(group.v6_bytes(), port, lo);
  sender.send_to("group6", to, ec);
  if (ec) {
    GTEST_SKIP() << "sending to " << to
                 << " by the loopback interface fails here: " << error_text(ec);
  }
  char buf[16];
  const auto got = receiver.receive_from(buf, sizeof buf, arrival, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buf, got.size), "group6");

  receiver.leave_group(group, lo);
  sender.send_to("after leave", to);
  EXPECT_FALSE(receiver.wait(readiness::readable, 300ms)) << "a datagram arrived after leave";
}

}  // namespace
}  // namespace xsock
