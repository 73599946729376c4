// Happy Eyeballs' attempt delay (RFC 8305 "Connection Attempt Delay") in the blocking
// connect (connect_options) and the loop (loop_options): zero tries every address at
// once, a long delay keeps the next address waiting. The dead address is a loopback
// listener whose backlog is full (its SYNs are dropped, so a connect to it stays
// pending). Outcomes, not stopwatches: with a budget shorter than the delay, a long
// delay means the live address is never tried at all.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/event_loop.hpp"
#include "xsock/resolve.hpp"
#include "xsock/stream_socket.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using id_type = event_loop::id_type;
using test::dead_listener;

// Longer than any budget below: an address behind it is never reached.
constexpr auto long_delay = 60s;
constexpr auto budget = 1s;

// Nobody connected to `l` (its queue is empty right now).
bool untouched(listener& l) {
  std::error_code ec;
  l.accept(0ms, ec);
  return ec == std::errc::timed_out;
}

struct dead_then_live : testing::Test {
  void SetUp() override {
    if (!dead.full()) GTEST_SKIP() << "the full backlog does not drop connects here";
    live.listen(endpoint::loopback_v4(0));
  }
  dead_listener dead{endpoint::loopback_v4(0)};
  listener live;
  std::vector<endpoint> candidates() const { return {dead.address(), live.local_endpoint()}; }
};

TEST_F(dead_then_live, blocking_connect_with_zero_delay_tries_the_second_address_at_once) {
  connect_options o;
  o.timeout = budget;
  o.attempt_delay = 0ms;
  stream_socket c;
  c.connect(candidates(), o);
  EXPECT_EQ(c.peer_endpoint(), live.local_endpoint());
  EXPECT_FALSE(untouched(live));
}

TEST_F(dead_then_live, blocking_connect_with_a_long_delay_never_reaches_the_second_address) {
  connect_options o;
  o.timeout = budget;
  o.attempt_delay = long_delay;
  stream_socket c;
  std::error_code ec;
  c.connect(candidates(), o, ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_FALSE(c.is_open());
  EXPECT_TRUE(untouched(live)) << "the second address was tried before its delay";
  // The throwing form names what was tried: only the dead address.
  try {
    c.connect(candidates(), o);
    FAIL() << "connected before the attempt delay";
  } catch (const xsock::error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dead.address().to_string() + ": timed out"), std::string::npos) << what;
    // The label lists both; what was tried (in parentheses) only the dead one.
    const std::string tried = what.substr(what.find('('));
    EXPECT_EQ(tried.find(live.local_endpoint().to_string() + ":"), std::string::npos) << what;
  }
}

TEST_F(dead_then_live, the_old_signatures_keep_the_250ms_delay) {
  // A budget below 250 ms: the live address is not tried (the default delay holds).
  stream_socket c;
  std::error_code ec;
  c.connect(candidates(), 100ms, ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_TRUE(untouched(live));
  // With room for one delay it is.
  c.connect(candidates(), 5s, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(c.peer_endpoint(), live.local_endpoint());
}

connect_result loop_connect(const std::vector<endpoint>& to, time_limit attempt_delay) {
  loop_options options;
  options.attempt_delay = attempt_delay;
  event_loop loop(options);
  loop.after(10s, [](event_loop& l) {
    ADD_FAILURE() << "the loop did not finish in time";
    l.stop();
  });
  connect_result seen;
  loop.connect(to, budget, [&](event_loop& l, id_type, const connect_result& r) {
    seen = r;
    l.stop();
  });
  loop.run();
  return seen;
}

TEST_F(dead_then_live, loop_connect_with_zero_delay_tries_the_second_address_at_once) {
  const connect_result r = loop_connect(candidates(), 0ms);
  ASSERT_FALSE(r.error) << r.message;
  EXPECT_EQ(r.peer, live.local_endpoint());
}

TEST_F(dead_then_live, loop_connect_with_a_long_delay_never_reaches_the_second_address) {
  const connect_result r = loop_connect(candidates(), long_delay);
  EXPECT_EQ(r.error, std::errc::timed_out) << r.message;
  EXPECT_TRUE(untouched(live));
  EXPECT_NE(r.message.find(dead.address().to_string() + ": timed out"), std::string::npos)
      << r.message;
}

// connect(host, port, options): "localhost" with a dead listener on its first address
// and a live one on the second, same port. Skipped where localhost is not both families
// or the port is taken on the other one.
TEST(connect_delay, connect_by_name_takes_the_attempt_delay_too) {
  std::error_code ec;
  const std::vector<endpoint> found = resolve("localhost", "0", ec);
  if (ec || found.size() < 2 || found[0].is_v6() == found[1].is_v6())
    GTEST_SKIP() << "localhost is not one address of each family here";
  const bool v6_first = found[0].is_v6();
  if (!test::ipv6_available()) GTEST_SKIP() << "this machine has no IPv6 loopback";
  dead_listener dead(v6_first ? endpoint::loopback_v6(0) : endpoint::loopback_v4(0));
  if (!dead.full()) GTEST_SKIP() << "the full backlog does not drop connects here";
  const std::uint16_t port = dead.address().port();
  listener live;
  listen_options lo;
  lo.v6_only = true;
  live.listen(v6_first ? endpoint::loopback_v4(port) : endpoint::loopback_v6(port), lo, ec);
  if (ec) GTEST_SKIP() << "port " << port << " is taken on the other family";

  connect_options o;
  o.timeout = budget;
  o.attempt_delay = long_delay;
  stream_socket c;
  c.connect("localhost", port, o, ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_TRUE(untouched(live));

  o.attempt_delay = 0ms;
  c.connect("localhost", port, o);
  EXPECT_EQ(c.peer_endpoint(), live.local_endpoint());
}

// The host form with options, where it can run everywhere: a numeric host, one address.
TEST(connect_delay, connect_by_name_with_options_connects_and_reports_like_the_others) {
  listener live;
  live.listen(endpoint::loopback_v4(0));
  connect_options o;
  o.timeout = 5s;
  o.attempt_delay = 0ms;
  stream_socket c;
  c.connect("127.0.0.1", live.local_endpoint().port(), o);
  EXPECT_EQ(c.peer_endpoint(), live.local_endpoint());
  // A refused port: the same message as the time_limit form.
  const std::uint16_t closed = [] {
    listener l;
    l.listen(endpoint::loopback_v4(0));
    return l.local_endpoint().port();
  }();
  std::string with_options, with_limit;
  try {
    c.connect("127.0.0.1", closed, o);
  } catch (const xsock::error& e) {
    with_options = e.what();
  }
  try {
    c.connect("127.0.0.1", closed, 5s);
  } catch (const xsock::error& e) {
    with_limit = e.what();
  }
  EXPECT_FALSE(with_options.empty());
  EXPECT_EQ(with_options, with_limit);
}

}  // namespace
}  // namespace xsock
