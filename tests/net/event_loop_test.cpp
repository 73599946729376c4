// xsock::event_loop over real loopback sockets: outbound connects (success, refused,
// timed out, cancelled, Happy Eyeballs), accepted and outbound connections on one
// loop, loop timers, work posted from other threads, stop from a signal handler.
// Built once per poller backend, like poller_test.cpp.
#include "xsock/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

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
    // No callback inside the call that caused it (libuv's rule): on a later turn.
    EXPECT_FALSE(done) << "on_done ran inside close()";
    l.after(0ms, [&](event_loop& l2) {
      EXPECT_TRUE(done) << "the cancellation was not reported on the next turn";
      l2.stop();
    });
  });
  loop.run();
  EXPECT_TRUE(done);
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

// ---- issue 18 --------------------------------------------------------------------

// A connected pair whose server side the loop adopts; the client side stays here.
struct adopted_pair {
  stream_socket client;
  id_type id = 0;
};

adopted_pair adopt_one(event_loop& loop, listener& l) {
  test::socket_pair p = test::connect_pair(l);
  adopted_pair a;
  a.client = std::move(p.client);
  a.id = loop.adopt(std::move(p.server));
  return a;
}

// idle_timeout zero ("at once") used to spin inside the idle pass forever, deaf to
// stop(). Now it is handed over a turn later, again at most once a millisecond.
TEST_P(event_loop_test, a_zero_idle_timeout_neither_spins_nor_ignores_stop) {
  loop_options options;
  options.idle_timeout = 0ms;
  int idle_calls = 0;
  event_loop::callbacks cb;
  cb.on_idle = [&](event_loop&, id_type) { ++idle_calls; };  // keeps the connection
  event_loop loop(options, cb);
  guard(loop);
  listener l = make_listener();
  adopted_pair a = adopt_one(loop, l);
  loop.after(100ms, [](event_loop& lp) { lp.stop(); });
  loop.run();
  EXPECT_GE(idle_calls, 1);
  // About one turn per millisecond (fewer where timers are coarse), not a busy loop.
  EXPECT_LE(loop.stats().turns, 300u);
  EXPECT_LE(idle_calls, 300);
}

TEST_P(event_loop_test, a_zero_idle_timeout_closes_an_idle_connection_on_a_later_turn) {
  loop_options options;
  options.idle_timeout = -5ms;  // negative: the same as zero
  close_reason reason = close_reason::error;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code&) {
    reason = r;
    loop.stop();
  };
  event_loop loop(options, cb);
  guard(loop);
  listener l = make_listener();
  adopted_pair a = adopt_one(loop, l);
  loop.run();
  EXPECT_EQ(reason, close_reason::idle_timeout);
  EXPECT_LE(loop.stats().turns, 10u);
}

// The wait used to be truncated to whole milliseconds: a 300 ms timer woke 0.x ms
// early and then spun on zero-length waits (hundreds of turns).
TEST(event_loop, one_50ms_timer_costs_at_most_3_turns) {
  event_loop loop;
  guard(loop);
  const auto start = clock_type::now();
  loop.after(50ms, [](event_loop& l) { l.stop(); });
  loop.run();
  EXPECT_GE(clock_type::now() - start, 50ms);
  EXPECT_LE(loop.stats().turns, 3u);
}

// close(id) promises that reading stops at once: data of that connection already
// ready in the same turn is not delivered any more.
TEST_P(event_loop_test, a_graceful_close_stops_reading_in_the_same_turn) {
  std::vector<id_type> got;
  id_type ids[2] = {0, 0};
  int closed = 0;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view) {
    got.push_back(id);
    loop.close(ids[0]);
    loop.close(ids[1]);
  };
  cb.on_close = [&](event_loop& loop, id_type, close_reason, const std::error_code&) {
    if (++closed == 2) loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  listener l = make_listener();
  test::socket_pair p[2] = {test::connect_pair(l), test::connect_pair(l)};
  for (auto& pair : p) {
    pair.client.send_all("data", 4);
    // Both readable before the loop looks: one wait reports both.
    ASSERT_TRUE(pair.server.wait(readiness::readable, 5s));
  }
  ids[0] = loop.adopt(std::move(p[0].server));
  ids[1] = loop.adopt(std::move(p[1].server));
  loop.run();
  ASSERT_EQ(got.size(), 1u) << "on_data for a connection closed earlier in the turn";
}

// A posted task that throws: every task runs at most once, and the rest of its
// batch runs on the next run(), before later posts.
TEST(event_loop, a_throwing_task_runs_once_and_the_rest_of_its_batch_runs_next) {
  event_loop loop;
  guard(loop);
  std::string order;
  loop.post([&](event_loop&) { order += 'A'; });
  loop.post([&](event_loop&) {
    order += 'B';
    throw std::runtime_error("B");
  });
  loop.post([&](event_loop&) { order += 'C'; });
  EXPECT_THROW(loop.run(), std::runtime_error);
  EXPECT_EQ(order, "AB");
  loop.post([&](event_loop& l) {
    order += 'D';
    l.stop();
  });
  loop.run();
  EXPECT_EQ(order, "ABCD");
}

// An exception from on_close used to strand the output of the connections after it
// in that turn's list: never sent, even by later runs.
TEST_P(event_loop_test, an_exception_from_on_close_does_not_strand_other_output) {
  id_type thrower = 0;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop&, id_type id, close_reason, const std::error_code&) {
    if (id == thrower) throw std::runtime_error("on_close");
  };
  bool armed = false;
  bool sent = false;
  id_type other = 0;
  cb.on_turn = [&](event_loop& loop) {
    // Not the shutdown's own flush: sent while the loop was serving.
    if (armed && !loop.stopping() && loop.output_size(other) == 0) {
      sent = true;
      loop.stop();
    }
  };
  event_loop loop({}, cb);
  guard(loop);
  listener l = make_listener();
  adopted_pair a = adopt_one(loop, l);
  adopted_pair b = adopt_one(loop, l);
  thrower = a.id;
  other = b.id;
  loop.post([&](event_loop& lp) {
    lp.close(a.id, close_mode::abort);  // first in the turn's list
    lp.send(b.id, "x");
  });
  EXPECT_THROW(loop.run(), std::runtime_error);
  armed = true;
  loop.after(1s, [](event_loop& lp) { lp.stop(); });
  loop.run();
  EXPECT_TRUE(sent) << "the queued byte was not sent by the next run()";
  char c = 0;
  EXPECT_EQ(b.client.receive(&c, 1, 5s), 1u);
  EXPECT_EQ(c, 'x');
}

// run() from one of the loop's callbacks is refused: it would replay the batch its
// caller is in.
TEST(event_loop, run_inside_a_callback_is_refused) {
  event_loop loop;
  guard(loop);
  int runs = 0;
  loop.post([&](event_loop& l) {
    ++runs;
    std::error_code ec;
    l.run(ec);
    EXPECT_EQ(ec, std::errc::operation_in_progress);
    try {
      l.run();
      ADD_FAILURE() << "a nested run() did not throw";
    } catch (const xsock::error& e) {
      EXPECT_EQ(e.code(), std::errc::operation_in_progress);
    }
    l.stop();
  });
  loop.post([&](event_loop&) { ++runs; });
  loop.run();
  EXPECT_EQ(runs, 2);
}

#if GTEST_HAS_DEATH_TEST
TEST(event_loop_death, destroying_the_loop_inside_its_callback_is_stopped) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* loop = new event_loop;
        loop->post([loop](event_loop&) { delete loop; });
        loop->run();
      },
      "destroyed while run");
}
#endif

// stop() ends connects started during the shutdown: an on_done that reconnects at
// once used to keep the shutdown going (100,000 times). After stop(), connect() ends
// with operation_canceled, reported later, never inside the call.
TEST_P(event_loop_test, connects_started_after_stop_end_cancelled_on_a_later_turn) {
  const endpoint where = closed_port(any_port());
  event_loop loop;
  guard(loop);
  int reports = 0;
  bool inside = false;
  std::vector<std::error_code> errors;
  std::function<void(event_loop&)> start = [&](event_loop& l) {
    inside = true;
    l.connect(where, 5s, [&](event_loop& l2, id_type, const connect_result& r) {
      EXPECT_FALSE(inside) << "on_done ran inside connect()";
      ++reports;
      errors.push_back(r.error);
      if (reports < 1000) start(l2);
    });
    inside = false;
  };
  loop.post([&](event_loop& l) {
    l.stop();
    start(l);
  });
  const auto begin = clock_type::now();
  loop.run();
  EXPECT_LT(clock_type::now() - begin, 1s) << "run() outlived stop_linger";
  // One on the turn of the stop, one by the shutdown; the third waits for a restart.
  EXPECT_GE(reports, 1);
  EXPECT_LE(reports, 2);
  for (const std::error_code& ec : errors)
    EXPECT_EQ(ec, std::errc::operation_canceled);
}

// stop() is sticky: run() returns at once until restart(); after it the loop serves
// again, and what the shutdown left (a connect report) is delivered then.
TEST_P(event_loop_test, stop_then_restart_then_run_serves_again) {
  const endpoint where = closed_port(any_port());
  event_loop loop;
  guard(loop);
  int reports = 0;
  loop.post([&](event_loop& l) { l.stop(); });
  loop.run();
  const auto turns = loop.stats().turns;
  loop.run();  // still stopped: returns at once
  EXPECT_EQ(loop.stats().turns, turns);
  loop.connect(where, 5s, [&](event_loop&, id_type, const connect_result& r) {
    ++reports;
    EXPECT_EQ(r.error, std::errc::operation_canceled);
  });
  loop.run();  // the shutdown reports it
  EXPECT_EQ(reports, 1);
  loop.restart();
  EXPECT_FALSE(loop.stopping());
  bool fired = false;
  loop.after(10ms, [&](event_loop& l) {
    fired = true;
    l.stop();
  });
  loop.run();
  EXPECT_TRUE(fired);
  EXPECT_GT(loop.stats().turns, turns);
}

// A send in the turn where the loop read a reset (on_close still to come) says
// "connection reset by peer", not a vague "not connected".
TEST_P(event_loop_test, a_send_after_a_reset_in_the_same_turn_reports_the_reset) {
  std::error_code send_error;
  close_reason reason = close_reason::closed;
  id_type id = 0;
  bool posted = false;
  event_loop::callbacks cb;
  cb.on_turn = [&](event_loop& loop) {
    if (posted) return;
    posted = true;
    // Runs in the next turn, after that turn's reads.
    loop.post([&](event_loop& l) { l.send(id, "late", send_error); });
  };
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code&) {
    reason = r;
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  listener l = make_listener();
  test::socket_pair p = test::connect_pair(l);
  p.client.set_linger(true, 0);
  p.client.close();  // a reset
  ASSERT_TRUE(p.server.wait(readiness::readable, 5s));
  id = loop.adopt(std::move(p.server));
  loop.run();
  EXPECT_EQ(reason, close_reason::reset);
  EXPECT_EQ(send_error, std::errc::connection_reset) << error_text(send_error);
}

// The output path: a send with nothing queued is written at once (no later event
// needed), the rest is queued in order and reported by output_size.
TEST_P(event_loop_test, a_send_with_nothing_queued_is_written_at_once) {
  event_loop loop({}, {});
  guard(loop);
  listener l = make_listener();
  test::socket_pair p = test::connect_pair(l);
  const id_type id = loop.adopt(std::move(p.server));
  std::string got;
  std::size_t queued = 1;
  std::uint64_t sent = 0;
  loop.after(std::chrono::milliseconds(0), [&](event_loop& lp) {
    lp.send(id, "ping");
    queued = lp.output_size(id);
    sent = lp.stats().bytes_sent;
    // In the kernel already: no turn of the loop in between.
    char buf[16];
    if (p.client.wait(readiness::readable, 5s)) {
      std::error_code ec;
      const std::size_t n = p.client.receive(buf, sizeof buf, ec);
      if (!ec) got.assign(buf, n);
    }
    lp.stop();
  });
  loop.run();
  EXPECT_EQ(queued, 0u);
  EXPECT_EQ(sent, 4u);
  EXPECT_EQ(got, "ping");
}

TEST_P(event_loop_test, a_send_larger_than_the_kernel_takes_queues_the_rest_in_order) {
  constexpr std::size_t big = 32u * 1024 * 1024;
  std::string payload(big, '\0');
  for (std::size_t i = 0; i < big; ++i)
    payload[i] = static_cast<char>(i % 251);
  const std::string tail = "the end";
  loop_options options;
  options.max_output = 2 * big;
  std::vector<close_reason> reasons;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop& lp, id_type, close_reason r, const std::error_code&) {
    reasons.push_back(r);
    lp.stop();
  };
  event_loop loop(options, cb);
  guard(loop);
  listener l = make_listener();
  test::socket_pair p = test::connect_pair(l);
  const id_type id = loop.adopt(std::move(p.server));
  std::size_t queued_after_big = 0;
  std::size_t queued_after_tail = 0;
  std::uint64_t sent_directly = 0;
  std::string received;
  std::thread reader;
  loop.after(std::chrono::milliseconds(0), [&](event_loop& lp) {
    lp.send(id, payload);
    queued_after_big = lp.output_size(id);
    sent_directly = lp.stats().bytes_sent;
    // Behind the queue, not written past it.
    lp.send(id, tail);
    queued_after_tail = lp.output_size(id);
    lp.close(id);  // graceful: once everything is sent
    // The peer starts reading only now: what went out so far went out inside send.
    reader = std::thread([&] {
      char buf[64 * 1024];
      for (;;) {
        std::error_code ec;
        const std::size_t n = p.client.receive(buf, sizeof buf, 10s, ec);
        if (ec || n == 0) break;
        received.append(buf, n);
      }
    });
  });
  loop.run();
  if (reader.joinable()) reader.join();
  EXPECT_GT(sent_directly, 0u);
  EXPECT_GT(queued_after_big, 0u) << "the kernel took all " << big << " bytes at once";
  EXPECT_EQ(sent_directly + queued_after_big, big);
  EXPECT_EQ(queued_after_tail, queued_after_big + tail.size());
  EXPECT_EQ(loop.stats().bytes_sent, big + tail.size());
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], close_reason::local);
  ASSERT_EQ(received.size(), big + tail.size());
  EXPECT_TRUE(received.compare(0, big, payload) == 0) << "the bytes arrived out of order";
  EXPECT_EQ(received.substr(big), tail);
}

// A direct write that finds the peer gone runs no callback inside send: the error is
// the connection's (later sends report it) and on_close comes at the end of the turn.
TEST_P(event_loop_test, a_direct_write_to_a_reset_peer_reports_it_at_the_end_of_the_turn) {
  bool in_send = false;
  bool callback_inside_send = false;
  close_reason reason = close_reason::closed;
  std::error_code close_error;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop& lp, id_type, close_reason r, const std::error_code& ec) {
    if (in_send) callback_inside_send = true;
    reason = r;
    close_error = ec;
    lp.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  listener l = make_listener();
  test::socket_pair p = test::connect_pair(l);
  p.client.set_linger(true, 0);
  p.client.close();  // a reset
  ASSERT_TRUE(p.server.wait(readiness::readable, 5s));
  const id_type id = loop.adopt(std::move(p.server));
  loop.pause_reading(id);  // the loop must not read the reset first: the send meets it
  bool first_ok = false;
  std::error_code second_error;
  loop.after(std::chrono::milliseconds(0), [&](event_loop& lp) {
    std::error_code ec;
    in_send = true;
    first_ok = lp.send(id, "late", ec);
    in_send = false;
    EXPECT_FALSE(ec) << error_text(ec);
    lp.send(id, "later", second_error);
  });
  loop.run();
  EXPECT_TRUE(first_ok);
  EXPECT_FALSE(callback_inside_send);
  EXPECT_EQ(reason, close_reason::reset);
  EXPECT_TRUE(close_error) << "on_close has no error";
  EXPECT_EQ(second_error, close_error) << error_text(second_error);
  EXPECT_EQ(loop.stats().bytes_sent, 0u);
}

// A send in on_turn whose remainder is queued does not wait for another event.
TEST_P(event_loop_test, a_remainder_queued_from_on_turn_goes_out_without_another_event) {
  constexpr std::size_t big = 32u * 1024 * 1024;
  const std::string payload(big, 'x');
  loop_options options;
  options.max_output = big;
  id_type id = 0;
  bool sent = false;
  std::size_t queued = 0;
  std::thread reader;
  std::size_t received = 0;
  test::socket_pair p;
  event_loop::callbacks cb;
  cb.on_turn = [&](event_loop& lp) {
    if (sent) return;
    sent = true;
    lp.send(id, payload);
    queued = lp.output_size(id);
    lp.close(id);
    reader = std::thread([&] {
      char buf[64 * 1024];
      for (;;) {
        std::error_code ec;
        const std::size_t n = p.client.receive(buf, sizeof buf, 10s, ec);
        if (ec || n == 0) break;
        received += n;
      }
    });
  };
  cb.on_close = [&](event_loop& lp, id_type, close_reason, const std::error_code&) { lp.stop(); };
  event_loop loop(options, cb);
  guard(loop);
  listener l = make_listener();
  p = test::connect_pair(l);
  id = loop.adopt(std::move(p.server));
  loop.pause_reading(id);  // no read events: only the write interest can wake the loop
  loop.run();
  if (reader.joinable()) reader.join();
  EXPECT_GT(queued, 0u);
  EXPECT_EQ(received, big);
}

// A connect's peer is the address it connected to (the loop knows it, no system call
// asks), and the accepted side's peer is what on_accept was given.
TEST_P(event_loop_test, a_connection_s_peer_is_the_address_connected_to) {
  event_loop::callbacks cb;
  id_type inbound = 0;
  endpoint inbound_peer;
  id_type outbound = 0;
  bool connected = false;
  bool checked = false;
  endpoint where;
  // Once both ends are up (run() closes every connection when it returns).
  cb.on_turn = [&](event_loop& loop) {
    if (checked || inbound == 0 || !connected) return;
    checked = true;
    EXPECT_EQ(loop.peer(outbound), where);
    EXPECT_EQ(loop.peer(inbound), inbound_peer);
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), [&](event_loop&, id_type id, const endpoint& p) {
    inbound = id;
    inbound_peer = p;
  });
  where = loop.local_endpoint(lid);
  outbound = loop.connect(where, 5s, [&](event_loop& l, id_type id, const connect_result& r) {
    ASSERT_FALSE(r.error) << r.message;
    EXPECT_EQ(r.peer, where);
    EXPECT_EQ(l.peer(id), where);
    connected = true;
  });
  loop.run();
  EXPECT_TRUE(checked);
  EXPECT_TRUE(inbound_peer.is_loopback());
  EXPECT_NE(inbound_peer.port(), 0);
}

#if !defined(_WIN32)
// The loop creates its sockets non-blocking and close-on-exec in one call where it can
// (SOCK_NONBLOCK, accept4): whichever way, both flags must be there.
struct socket_ports {
  int fd = -1;
  std::uint16_t local = 0;
  std::uint16_t peer = 0;  // 0: not connected (a listener)
};

std::uint16_t port_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

// The process's open TCP/IP sockets, by descriptor.
std::vector<socket_ports> open_sockets() {
  std::vector<socket_ports> out;
  for (int fd = 3; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
    socket_ports s;
    s.fd = fd;
    s.local = port_of(ss);
    if (s.local == 0) continue;
    len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) s.peer = port_of(ss);
    out.push_back(s);
  }
  return out;
}

void expect_non_blocking_and_close_on_exec(int fd, const char* which) {
  const int fd_flags = ::fcntl(fd, F_GETFD);
  const int fl_flags = ::fcntl(fd, F_GETFL);
  EXPECT_NE(fd_flags & FD_CLOEXEC, 0) << which << " socket is inherited by child processes";
  EXPECT_NE(fl_flags & O_NONBLOCK, 0) << which << " socket is blocking";
}

TEST_P(event_loop_test, accepted_and_connected_sockets_are_non_blocking_and_close_on_exec) {
  event_loop::callbacks cb;
  id_type inbound = 0;
  bool connected = false;
  endpoint where;
  bool checked = false;
  cb.on_turn = [&](event_loop& loop) {
    if (checked || inbound == 0 || !connected) return;
    checked = true;
    int outbound_count = 0;
    int inbound_count = 0;
    for (const socket_ports& s : open_sockets()) {
      if (s.peer == where.port()) {
        ++outbound_count;
        expect_non_blocking_and_close_on_exec(s.fd, "the connected");
      } else if (s.local == where.port() && s.peer != 0) {
        ++inbound_count;
        expect_non_blocking_and_close_on_exec(s.fd, "the accepted");
      }
    }
    EXPECT_EQ(outbound_count, 1);
    EXPECT_EQ(inbound_count, 1);
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid =
      loop.listen(make_listener(), [&](event_loop&, id_type id, const endpoint&) { inbound = id; });
  where = loop.local_endpoint(lid);
  loop.connect(where, 5s, [&](event_loop&, id_type, const connect_result& r) {
    ASSERT_FALSE(r.error) << r.message;
    connected = true;
  });
  loop.run();
  EXPECT_TRUE(checked);
}

// The blocking API's sockets stay blocking (only the loop's are made non-blocking at
// creation), and close-on-exec too.
TEST_P(event_loop_test, blocking_sockets_stay_blocking_and_close_on_exec) {
  listener l = make_listener();
  test::socket_pair p = test::connect_pair(l);
  for (const stream_socket* s : {&p.client, &p.server}) {
    const int fd = static_cast<int>(s->native_handle());
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  }
}
#endif

// Lookups share a few resolver threads (no thread per lookup): many in flight at once
// all complete, and one closed while its lookup is pending ends cancelled without
// holding up the others.
TEST(happy_eyeballs, many_lookups_in_flight_complete_and_a_closed_one_is_cancelled) {
  // "localhost" comes from the hosts file: no network traffic.
  listener live;
  live.listen(endpoint::loopback_v4(0));
  const std::uint16_t port = live.local_endpoint().port();
  event_loop loop;
  guard(loop);
  loop.listen(std::move(live), {});
  constexpr int count = 40;
  int done = 0;
  int ok = 0;
  int cancelled = 0;
  id_type closed_id = 0;
  id_type cancelled_id = 0;
  const auto on_done = [&](event_loop& l, id_type id, const connect_result& r) {
    ++done;
    if (!r.error) {
      ++ok;
      EXPECT_TRUE(r.peer.is_loopback());
      EXPECT_EQ(r.peer.port(), port);
      EXPECT_EQ(l.peer(id), r.peer);
      l.close(id);
    } else if (r.error == std::errc::operation_canceled) {
      ++cancelled;
      cancelled_id = id;
    } else {
      ADD_FAILURE() << r.message;
    }
    if (done == count) l.stop();
  };
  std::vector<id_type> ids;
  for (int i = 0; i < count; ++i)
    ids.push_back(loop.connect("localhost", port, 5s, on_done));
  closed_id = ids[count / 2];
  loop.close(closed_id);
  loop.run();
  EXPECT_EQ(done, count);
  EXPECT_EQ(ok, count - 1);
  EXPECT_EQ(cancelled, 1);
  EXPECT_EQ(cancelled_id, closed_id);
}

// A loop destroyed with lookups still pending does not wait for them; their answers
// are dropped, and the next loop's lookups work.
TEST(happy_eyeballs, a_loop_destroyed_with_lookups_pending_does_not_wait_for_them) {
  for (int round = 0; round < 3; ++round) {
    event_loop loop;
    for (int i = 0; i < 20; ++i)
      loop.connect("localhost", 1, 5s, [](event_loop&, id_type, const connect_result&) {
        ADD_FAILURE() << "a connect of a destroyed loop was reported";
      });
  }
  listener live;
  live.listen(endpoint::loopback_v4(0));
  const std::uint16_t port = live.local_endpoint().port();
  event_loop loop;
  guard(loop);
  loop.listen(std::move(live), {});
  connect_result seen;
  loop.connect("localhost", port, 5s, [&](event_loop& l, id_type, const connect_result& r) {
    seen = r;
    l.stop();
  });
  loop.run();
  EXPECT_FALSE(seen.error) << seen.message;
}

#if !defined(_WIN32)
// In the child of a fork(), the lookup pool starts workers of its own: the parent's,
// counted by the pool, are not there. The child reports by exit status (its gtest
// state is a copy nobody reads) and stops itself after 10 s.
TEST(happy_eyeballs, a_forked_child_resolves_names_on_its_own_loop) {
  {
    // "localhost" comes from the hosts file: no network traffic.
    listener live;
    live.listen(endpoint::loopback_v4(0));
    const std::uint16_t port = live.local_endpoint().port();
    event_loop loop;
    guard(loop);
    loop.listen(std::move(live), {});
    connect_result seen;
    loop.connect("localhost", port, 5s, [&](event_loop& l, id_type, const connect_result& r) {
      seen = r;
      l.stop();
    });
    loop.run();
    ASSERT_FALSE(seen.error) << seen.message;  // the pool now has an idle worker
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int status = 1;
    try {
      listener live;
      live.listen(endpoint::loopback_v4(0));
      const std::uint16_t port = live.local_endpoint().port();
      event_loop loop;
      loop.listen(std::move(live), {});
      loop.after(watchdog, [](event_loop& l) { l.stop(); });
      loop.connect("localhost", port, 5s, [&](event_loop& l, id_type, const connect_result& r) {
        if (!r.error && r.peer.port() == port) status = 0;
        l.stop();
      });
      loop.run();
    } catch (...) {
      status = 1;
    }
    ::_exit(status);
  }
  // The child ends itself; the kill is for a child stuck beyond that.
  int status = 0;
  pid_t got = 0;
  const auto give_up = clock_type::now() + 2 * watchdog;
  while ((got = ::waitpid(child, &status, WNOHANG)) == 0 && clock_type::now() < give_up)
    std::this_thread::sleep_for(10ms);
  if (got == 0) {
    ::kill(child, SIGKILL);
    got = ::waitpid(child, &status, 0);
    ADD_FAILURE() << "the child did not stop itself";
  }
  ASSERT_EQ(got, child);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's lookup did not complete";
}
#endif

XSOCK_INSTANTIATE_FAMILIES(event_loop_test);

}  // namespace
}  // namespace xsock
