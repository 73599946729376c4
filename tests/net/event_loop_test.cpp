// xsock::event_loop over real loopback sockets: outbound connects (success, refused,
// timed out, cancelled, Happy Eyeballs), accepted and outbound connections on one
// loop, loop timers, work posted from other threads, stop from a signal handler.
// Built once per poller backend, like poller_test.cpp.
#include "xsock/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using id_type = event_loop::id_type;
using clock_type = std::chrono::steady_clock;

// Ends a test's loop even if what it waits for never happens.
constexpr auto watchdog = 10s;

void guard(event_loop& loop) {
  loop.after(watchdog, [](event_loop& l) {
    ADD_FAILURE() << "the loop did not finish in time";
    l.stop();
  });
}

using test::dead_listener;

// A port nothing listens on (refused at once).
endpoint closed_port(const endpoint& like) {
  listener l;
  l.listen(like);
  const endpoint where = l.local_endpoint();
  l.close();
  return where;
}

class event_loop_test : public test::loopback_test {};

TEST_P(event_loop_test, an_outbound_and_an_accepted_connection_share_the_loop) {
  std::string server_got;
  std::string client_got;
  event_loop::callbacks cb;
  id_type outbound = 0;
  id_type inbound = 0;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    if (id == inbound) {
      server_got.append(bytes.data(), bytes.size());
      loop.send(id, "pong");
    } else {
      client_got.append(bytes.data(), bytes.size());
      loop.close(outbound);
    }
  };
  std::vector<close_reason> closes;
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code&) {
    closes.push_back(r);
    if (closes.size() == 2) loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid =
      loop.listen(make_listener(), [&](event_loop&, id_type id, const endpoint&) { inbound = id; });
  const endpoint where = loop.local_endpoint(lid);
  connect_result seen;
  outbound = loop.connect(where, 5s, [&](event_loop& l, id_type id, const connect_result& r) {
    seen = r;
    EXPECT_EQ(id, outbound);
    if (!r.error) l.send(id, "ping");
  });
  loop.run();
  EXPECT_FALSE(seen.error) << seen.message;
  EXPECT_EQ(seen.peer, where);
  EXPECT_TRUE(seen.message.empty());
  EXPECT_EQ(server_got, "ping");
  EXPECT_EQ(client_got, "pong");
  EXPECT_NE(inbound, outbound);
  EXPECT_EQ(loop.stats().connected, 1u);
  EXPECT_EQ(loop.stats().accepted, 1u);
  // The outbound side closed (local); the inbound side read end of stream (closed).
  ASSERT_EQ(closes.size(), 2u);
}

TEST_P(event_loop_test, a_refused_connect_is_reported_with_its_address) {
  const endpoint nobody = closed_port(any_port());
  event_loop loop;
  guard(loop);
  connect_result seen;
  loop.connect(nobody, 5s, [&](event_loop& l, id_type, const connect_result& r) {
    seen = r;
    l.stop();
  });
  loop.run();
  EXPECT_EQ(seen.error, std::errc::connection_refused);
  EXPECT_EQ(seen.message, "connect " + nobody.to_string() + ": connection refused");
  EXPECT_EQ(loop.connection_count(), 0u);
}

TEST_P(event_loop_test, a_connect_that_cannot_complete_times_out) {
  dead_listener dead(any_port());
  event_loop loop;
  guard(loop);
  connect_result seen;
  const auto start = clock_type::now();
  loop.connect(dead.address(), 300ms, [&](event_loop& l, id_type, const connect_result& r) {
    seen = r;
    l.stop();
  });
  loop.run();
  EXPECT_EQ(seen.error, std::errc::timed_out) << seen.message;
  EXPECT_GE(clock_type::now() - start, 299ms);
}

TEST_P(event_loop_test, closing_a_pending_connect_cancels_it) {
  dead_listener dead(any_port());
  event_loop loop;
  guard(loop);
  connect_result seen;
  bool done = false;
  const id_type id =
      loop.connect(dead.address(), 30s, [&](event_loop&, id_type, const connect_result& r) {
        seen = r;
        done = true;
      });
  loop.after(50ms, [&](event_loop& l) {
    EXPECT_FALSE(done);
    l.close(id);
    EXPECT_TRUE(done) << "on_done runs when the connect is closed";
    l.stop();
  });
  loop.run();
  EXPECT_EQ(seen.error, std::errc::operation_canceled);
}

TEST(event_loop, timers_run_in_deadline_order_and_can_be_cancelled) {
  event_loop loop;
  guard(loop);
  std::vector<std::string> order;
  loop.after(60ms, [&](event_loop& l) {
    order.push_back("60");
    l.stop();
  });
  loop.after(20ms, [&](event_loop&) { order.push_back("20"); });
  const id_type cancelled = loop.after(40ms, [&](event_loop&) { order.push_back("40"); });
  loop.after(0ms, [&](event_loop&) { order.push_back("0"); });
  loop.after(-5ms, [&](event_loop&) { order.push_back("-5"); });
  const id_type never = loop.after(no_timeout, [&](event_loop&) { order.push_back("never"); });
  EXPECT_TRUE(loop.cancel(cancelled));
  EXPECT_FALSE(loop.cancel(cancelled));
  EXPECT_FALSE(loop.cancel(never));
  loop.run();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_TRUE((order[0] == "0" && order[1] == "-5") || (order[0] == "-5" && order[1] == "0"));
  EXPECT_EQ(order[2], "20");
  EXPECT_EQ(order[3], "60");
}

TEST_P(event_loop_test, work_posted_from_another_thread_runs_in_order_while_the_loop_is_busy) {
  // The loop is kept busy echoing; another thread posts numbered work meanwhile.
  event_loop::callbacks cb;
  cb.on_data = [](event_loop& loop, id_type id, std::string_view bytes) { loop.send(id, bytes); };
  event_loop loop({}, cb);
  guard(loop);
  loop.listen(make_listener(), {});
  std::vector<int> ran;
  static constexpr int count = 2000;
  std::thread poster([&] {
    for (int i = 0; i < count; ++i)
      loop.post([&ran, i](event_loop& l) {
        ran.push_back(i);
        if (i == count - 1) l.stop();
      });
  });
  loop.run();
  poster.join();
  ASSERT_EQ(ran.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    ASSERT_EQ(ran[static_cast<std::size_t>(i)], i);
}

std::atomic<event_loop*> signal_target{nullptr};
extern "C" void stop_from_signal(int) {
  if (event_loop* l = signal_target.load()) l->stop();
}

TEST(event_loop, stop_from_a_signal_handler) {
  event_loop loop;
  guard(loop);
  signal_target = &loop;
  const auto previous = std::signal(SIGINT, stop_from_signal);
  std::thread raiser([] { std::raise(SIGINT); });
  loop.run();  // returns once the handler's stop() woke it
  raiser.join();
  std::signal(SIGINT, previous);
  signal_target = nullptr;
  EXPECT_TRUE(loop.stopping());
}

TEST_P(event_loop_test, a_half_closed_peer_still_gets_its_reply) {
  event_loop::callbacks cb;
  std::string request;
  cb.on_data = [&](event_loop&, id_type, std::string_view bytes) {
    request.append(bytes.data(), bytes.size());
  };
  cb.on_end_of_stream = [&](event_loop& loop, id_type id) {
    loop.send(id, "you said " + request);
    loop.close(id);
  };
  cb.on_close = [](event_loop& loop, id_type, close_reason, const std::error_code&) {
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), {});
  const endpoint where = loop.local_endpoint(lid);
  std::string reply;
  std::thread client([&] {
    stream_socket c;
    c.connect(where, 5s);
    c.send_all("hello");
    c.shutdown(shutdown_type::send);
    char buf[64];
    for (;;) {
      const auto n = c.receive(buf, sizeof buf, 5s);
      if (n == 0) break;
      reply.append(buf, n);
    }
  });
  loop.run();
  client.join();
  EXPECT_EQ(reply, "you said hello");
}

// The loop's own half-close: the request is sent, then end of stream; the reply
// still arrives on the same connection.
TEST_P(event_loop_test, shutdown_send_half_closes_after_the_queued_output) {
  auto l = make_listener();
  const endpoint where = l.local_endpoint();
  std::string request;
  std::thread server([&] {
    auto a = l.accept(10s);
    char buf[64];
    for (;;) {
      const auto n = a.socket.receive(buf, sizeof buf, 10s);
      if (n == 0) break;  // the client's half-close
      request.append(buf, n);
    }
    a.socket.send_all("reply to " + request);
  });
  std::string reply;
  std::error_code send_after;
  std::vector<close_reason> closes;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop&, id_type, std::string_view bytes) {
    reply.append(bytes.data(), bytes.size());
  };
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code&) {
    closes.push_back(r);
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  loop.connect(where, 5s, [&](event_loop& lp, id_type id, const connect_result& r) {
    ASSERT_FALSE(r.error) << r.message;
    lp.send(id, "question");
    lp.shutdown_send(id);
    lp.send(id, "more", send_after);
  });
  loop.run();
  server.join();
  EXPECT_EQ(request, "question");
  EXPECT_EQ(reply, "reply to question");
  EXPECT_EQ(send_after, std::errc::not_connected);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0], close_reason::closed);
}

// Happy Eyeballs: the first address (IPv6) never answers; the second (IPv4) accepts.
// The connection is made through IPv4 one attempt delay (250 ms) after the start, not
// after the first attempt's timeout.
TEST(happy_eyeballs, a_dead_ipv6_address_costs_one_attempt_delay) {
  if (!test::ipv6_available()) GTEST_SKIP() << "this machine has no IPv6 loopback";
  dead_listener dead(endpoint::loopback_v6(0));
  event_loop loop;
  guard(loop);
  listener live;
  live.listen(endpoint::loopback_v4(0));
  const endpoint live_at = live.local_endpoint();
  loop.listen(std::move(live), {});
  connect_result seen;
  clock_type::duration took{};
  const auto start = clock_type::now();
  loop.connect({dead.address(), live_at}, 10s,
               [&](event_loop& l, id_type, const connect_result& r) {
                 took = clock_type::now() - start;
                 seen = r;
                 l.stop();
               });
  loop.run();
  ASSERT_FALSE(seen.error) << seen.message;
  EXPECT_EQ(seen.peer, live_at);
  EXPECT_GE(took, 240ms) << "the IPv6 attempt was not given its head start";
  EXPECT_LT(took, 2s) << "waited for the dead address instead of racing it";
}

TEST(happy_eyeballs, when_every_address_fails_one_error_names_each) {
  if (!test::ipv6_available()) GTEST_SKIP() << "this machine has no IPv6 loopback";
  dead_listener dead(endpoint::loopback_v6(0));
  const endpoint refused = closed_port(endpoint::loopback_v4(0));
  event_loop loop;
  guard(loop);
  connect_result seen;
  loop.connect({dead.address(), refused}, 600ms,
               [&](event_loop& l, id_type, const connect_result& r) {
                 seen = r;
                 l.stop();
               });
  loop.run();
  ASSERT_TRUE(seen.error);
  EXPECT_NE(seen.message.find(dead.address().to_string() + ": timed out"), std::string::npos)
      << seen.message;
  EXPECT_NE(seen.message.find(refused.to_string() + ": connection refused"), std::string::npos)
      << seen.message;
}

TEST(happy_eyeballs, addresses_are_interleaved_by_family_first_family_first) {
  // Observable through the order of attempts: two dead IPv6 addresses and one live
  // IPv4 address, given IPv6 first. Interleaved, IPv4 is the second attempt (after
  // one delay); in the given order it would be the third (after two).
  if (!test::ipv6_available()) GTEST_SKIP() << "this machine has no IPv6 loopback";
  dead_listener dead1(endpoint::loopback_v6(0));
  dead_listener dead2(endpoint::loopback_v6(0));
  loop_options o;
  o.attempt_delay = 300ms;
  event_loop loop(o);
  guard(loop);
  listener live;
  live.listen(endpoint::loopback_v4(0));
  const endpoint live_at = live.local_endpoint();
  loop.listen(std::move(live), {});
  connect_result seen;
  clock_type::duration took{};
  const auto start = clock_type::now();
  loop.connect({dead1.address(), dead2.address(), live_at}, 10s,
               [&](event_loop& l, id_type, const connect_result& r) {
                 took = clock_type::now() - start;
                 seen = r;
                 l.stop();
               });
  loop.run();
  ASSERT_FALSE(seen.error) << seen.message;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 590ms) << "IPv4 waited behind both IPv6 attempts";
}

TEST(happy_eyeballs, a_host_name_is_resolved_off_the_loop_thread) {
  // "localhost" comes from the hosts file: no network traffic.
  listener live;
  live.listen(endpoint::loopback_v4(0));
  const std::uint16_t port = live.local_endpoint().port();
  event_loop loop;
  guard(loop);
  loop.listen(std::move(live), {});
  connect_result seen;
  bool ticked = false;
  loop.connect("localhost", port, 5s, [&](event_loop& l, id_type, const connect_result& r) {
    seen = r;
    l.stop();
  });
  loop.after(0ms, [&](event_loop&) { ticked = true; });
  loop.run();
  EXPECT_TRUE(ticked);
  ASSERT_FALSE(seen.error) << seen.message;
  EXPECT_TRUE(seen.peer.is_loopback());
  EXPECT_EQ(seen.peer.port(), port);
}

TEST(happy_eyeballs, a_bad_host_fails_with_a_message_naming_it) {
  using namespace std::string_literals;
  event_loop loop;
  guard(loop);
  connect_result seen;
  loop.connect("bad\0host"s, 80, 5s, [&](event_loop& l, id_type, const connect_result& r) {
    seen = r;
    l.stop();
  });
  loop.run();
  EXPECT_EQ(seen.error, std::errc::invalid_argument);
  EXPECT_EQ(seen.message, "resolve bad\\x00host:80: invalid argument");
}

// A failed connect reads the same from the loop as from the blocking call: a tool may
// use either and keep its messages.
TEST(happy_eyeballs, the_loop_and_the_blocking_connect_fail_with_the_same_text) {
  const endpoint refused = closed_port(endpoint::loopback_v4(0));
  const std::string label = "127.0.0.1:" + std::to_string(refused.port());
  std::string blocking;
  try {
    stream_socket s;
    s.connect(std::string_view("127.0.0.1"), refused.port(), 5s);
    FAIL() << "connected to a closed port";
  } catch (const xsock::error& e) {
    blocking = e.what();
  }
  event_loop loop;
  guard(loop);
  connect_result seen;
  loop.connect("127.0.0.1", refused.port(), 5s,
               [&](event_loop& l, id_type, const connect_result& r) {
                 seen = r;
                 l.stop();
               });
  loop.run();
  EXPECT_EQ(seen.error, std::errc::connection_refused);
  EXPECT_EQ(seen.message, "connect " + label + ": connection refused");
  EXPECT_EQ(seen.message, blocking);
  if (!test::ipv6_available()) return;
  // Two addresses: each is named with its error, in the same place in both texts.
  const endpoint refused6 = closed_port(endpoint::loopback_v6(0));
  try {
    stream_socket s;
    s.connect({refused6, refused}, 5s);
    FAIL() << "connected to a closed port";
  } catch (const xsock::error& e) {
    blocking = e.what();
  }
  event_loop again;  // stop() is sticky: a new loop
  guard(again);
  again.connect({refused6, refused}, 5s, [&](event_loop& l, id_type, const connect_result& r) {
    seen = r;
    l.stop();
  });
  again.run();
  EXPECT_EQ(seen.message, blocking);
  EXPECT_NE(seen.message.find(" (" + refused6.to_string() + ": connection refused, "),
            std::string::npos)
      << seen.message;
}

// The blocking connect races the addresses too, with one budget for all: the same
// engine as the loop's, and the one connect(host, port) uses after resolving.
TEST(happy_eyeballs, the_blocking_connect_uses_the_same_race) {
  if (!test::ipv6_available()) GTEST_SKIP() << "this machine has no IPv6 loopback";
  dead_listener dead(endpoint::loopback_v6(0));
  listener live;
  live.listen(endpoint::loopback_v4(0));
  stream_socket c;
  const auto start = clock_type::now();
  c.connect({dead.address(), live.local_endpoint()}, 10s);
  const auto took = clock_type::now() - start;
  EXPECT_EQ(c.peer_endpoint(), live.local_endpoint());
  EXPECT_GE(took, 240ms) << "the IPv6 attempt was not given its head start";
  EXPECT_LT(took, 2s) << "waited for the dead IPv6 address";
  // One budget for all: two dead addresses and a 500 ms budget end in 500 ms.
  dead_listener dead2(endpoint::loopback_v4(0));
  stream_socket d;
  const auto start2 = clock_type::now();
  try {
    d.connect({dead.address(), dead2.address()}, 500ms);
    FAIL() << "connected to a full backlog";
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    const std::string what = e.what();
    EXPECT_NE(what.find(dead.address().to_string() + ": timed out"), std::string::npos) << what;
    EXPECT_NE(what.find(dead2.address().to_string() + ": timed out"), std::string::npos) << what;
  }
  EXPECT_LT(clock_type::now() - start2, 2s);
  EXPECT_FALSE(d.is_open());
}

XSOCK_INSTANTIATE_FAMILIES(event_loop_test);

}  // namespace
}  // namespace xsock
