// xsock::event_loop with datagram sockets over real loopback sockets (IPv4 and IPv6):
// echo to a blocking client at every size, the size and queue limits, truncation,
// ICMP errors on a connected socket, close and stop, fairness between a flood and the
// other sockets, the counters and the per-id queries. Built once per poller backend,
// like event_loop_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "../common/wine.hpp"
#include "support.hpp"
#include "xsock/datagram_socket.hpp"
#include "xsock/error.hpp"
#include "xsock/event_loop.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using id_type = event_loop::id_type;

// Ends a test's loop even if what it waits for never happens.
constexpr auto watchdog = 10s;

void guard(event_loop& loop) {
  loop.after(watchdog, [](event_loop& l) {
    ADD_FAILURE() << "the loop did not finish in time";
    l.stop();
  });
}

// Stops the loop at the end of its first turn (after that turn's output is sent).
void stop_after_one_turn(event_loop& loop) {
  loop.post([](event_loop& l) { l.stop(); });
}

std::size_t largest(test::family f) {
  return f == test::family::v4 ? max_datagram_v4 : max_datagram_v6;
}

std::string pattern(std::size_t size, std::size_t seed = 0) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>('A' + (i * 7 + seed) % 53);
  return s;
}

class event_loop_datagram_test : public test::loopback_test {
 protected:
  // A socket bound to the family's loopback address, port 0, with a receive buffer
  // that holds a few of the largest datagrams.
  datagram_socket bound() const {
    datagram_socket s;
    bind_options options;
    options.v6_only = GetParam() == test::family::v6;
    s.bind(any_port(), options);
    std::error_code ignored;
    s.set_receive_buffer_size(1 << 20, ignored);
    s.set_send_buffer_size(1 << 20, ignored);
    return s;
  }

  // The address of a port nothing is bound to now (ICMP port unreachable).
  endpoint closed_port() const {
    datagram_socket s = bound();
    const endpoint where = s.local_endpoint();
    s.close();
    return where;
  }

  // Takes every datagram that arrives within `quiet` of the previous one (at most
  // `limit`).
  static std::vector<std::string> drain(datagram_socket& s, std::size_t limit,
                                        std::chrono::milliseconds quiet = 500ms) {
    std::vector<std::string> got;
    std::vector<char> buffer(70000);
    for (std::size_t i = 0; i < limit; ++i) {
      std::error_code ec;
      const datagram_info info = s.receive_from(buffer.data(), buffer.size(), quiet, ec);
      if (ec) break;
      got.emplace_back(buffer.data(), info.size);
    }
    return got;
  }
};

TEST_P(event_loop_datagram_test, echo_answers_a_blocking_client_at_every_size) {
  const std::vector<std::size_t> sizes = {0, 1, largest(GetParam())};
  event_loop loop;
  guard(loop);
  datagram_socket server = bound();
  const endpoint where = server.local_endpoint();
  std::size_t echoed = 0;
  event_loop::datagram_handlers h;
  h.on_datagram = [&](event_loop& l, id_type id, const endpoint& peer, std::string_view bytes,
                      bool truncated) {
    EXPECT_FALSE(truncated);
    l.send_to(id, peer, bytes);
    ++echoed;
  };
  h.on_error = [](event_loop&, id_type, const std::error_code& ec, const endpoint& peer) {
    ADD_FAILURE() << "on_error " << ec.message() << " " << peer.to_string();
  };
  const id_type id = loop.adopt(std::move(server), h);
  EXPECT_EQ(loop.local_endpoint(id), where);
  EXPECT_EQ(loop.peer(id), endpoint{}) << "not connected";

  std::vector<std::string> answers;
  std::thread client([&] {
    datagram_socket c = bound();
    std::vector<char> buffer(70000);
    for (const std::size_t size : sizes) {
      const std::string sent = pattern(size, size);
      std::error_code ec;
      c.send_to(sent, where, ec);
      if (ec) {
        ADD_FAILURE() << "send_to " << size << ": " << ec.message();
        break;
      }
      const datagram_info info = c.receive_from(buffer.data(), buffer.size(), 5s, ec);
      if (ec) {
        ADD_FAILURE() << "no echo of " << size << " bytes: " << ec.message();
        break;
      }
      EXPECT_EQ(info.peer, where);
      EXPECT_FALSE(info.truncated);
      answers.emplace_back(buffer.data(), info.size);
    }
    loop.stop();
  });
  loop.run();
  client.join();
  ASSERT_EQ(answers.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i)
    EXPECT_EQ(answers[i], pattern(sizes[i], sizes[i])) << sizes[i] << " bytes";
  EXPECT_EQ(echoed, sizes.size());
  EXPECT_EQ(loop.stats().datagrams_received, sizes.size());
  EXPECT_EQ(loop.stats().datagrams_sent, sizes.size());
  EXPECT_EQ(loop.stats().bytes_received, 0u) << "the byte counters are the connections'";
}

TEST_P(event_loop_datagram_test, send_to_larger_than_the_family_allows_fails_at_once) {
  event_loop loop;
  const id_type id = loop.adopt(bound(), {});
  const endpoint to = any_port();
  std::error_code ec;
  EXPECT_FALSE(loop.send_to(id, to, pattern(largest(GetParam()) + 1), ec));
  EXPECT_EQ(ec, std::errc::message_size);
  EXPECT_EQ(loop.output_size(id), 0u) << "nothing queued";
  try {
    loop.send_to(id, to, pattern(largest(GetParam()) + 1));
    ADD_FAILURE() << "no exception";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), std::errc::message_size);
    const std::string what = e.what();
    EXPECT_NE(what.find("send_to " + to.to_string() + ": "), std::string::npos) << what;
  }
  EXPECT_TRUE(loop.send_to(id, to, pattern(largest(GetParam())), ec)) << ec.message();
  EXPECT_EQ(loop.output_size(id), largest(GetParam()));
}

TEST_P(event_loop_datagram_test, a_larger_datagram_arrives_cut_with_truncated_the_next_intact) {
  loop_options options;
  options.max_datagram = 16;
  event_loop loop(options);
  guard(loop);
  datagram_socket server = bound();
  const endpoint where = server.local_endpoint();
  struct seen {
    std::string bytes;
    bool truncated;
  };
  std::vector<seen> got;
  event_loop::datagram_handlers h;
  h.on_datagram = [&](event_loop& l, id_type, const endpoint&, std::string_view bytes,
                      bool truncated) {
    got.push_back({std::string(bytes), truncated});
    if (got.size() == 3) l.stop();
  };
  loop.adopt(std::move(server), h);
  datagram_socket client = bound();
  client.send_to(pattern(100), where);
  client.send_to(pattern(16, 1), where);
  client.send_to(pattern(5, 2), where);
  loop.run();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].bytes, pattern(100).substr(0, 16));
  EXPECT_TRUE(got[0].truncated);
  EXPECT_EQ(got[1].bytes, pattern(16, 1)) << "exactly max_datagram: whole";
  EXPECT_FALSE(got[1].truncated);
  EXPECT_EQ(got[2].bytes, pattern(5, 2));
  EXPECT_FALSE(got[2].truncated);
}

// max_queued_datagrams and max_output bound the queue; what was accepted is all sent.
TEST_P(event_loop_datagram_test, the_queue_is_bounded_and_loses_nothing_it_accepted) {
  loop_options options;
  options.max_queued_datagrams = 8;
  options.max_output = 100;
  event_loop loop(options);
  guard(loop);
  datagram_socket receiver = bound();
  const endpoint to = receiver.local_endpoint();
  const id_type by_count = loop.adopt(bound(), {});
  const id_type by_bytes = loop.adopt(bound(), {});
  std::error_code ec;
  std::size_t accepted = 0;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(loop.send_to(by_count, to, "c", ec)) << i << ": " << ec.message();
    ++accepted;
  }
  EXPECT_FALSE(loop.send_to(by_count, to, "c", ec));
  EXPECT_EQ(ec, std::errc::no_buffer_space);
  EXPECT_FALSE(loop.send_to(by_count, to, "", ec)) << "an empty datagram counts too";
  EXPECT_EQ(ec, std::errc::no_buffer_space);
  EXPECT_EQ(loop.output_size(by_count), 8u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(loop.send_to(by_bytes, to, std::string(30, 'b'), ec)) << i << ": " << ec.message();
    ++accepted;
  }
  EXPECT_FALSE(loop.send_to(by_bytes, to, std::string(11, 'b'), ec)) << "90 + 11 > 100";
  EXPECT_EQ(ec, std::errc::no_buffer_space);
  EXPECT_TRUE(loop.send_to(by_bytes, to, std::string(10, 'b'), ec)) << "90 + 10 fits";
  ++accepted;
  EXPECT_EQ(loop.output_size(by_bytes), 100u);
  EXPECT_FALSE(loop.send_to(by_bytes, to, pattern(101), ec)) << "more than max_output alone";
  EXPECT_EQ(ec, std::errc::no_buffer_space);
  stop_after_one_turn(loop);
  loop.run();
  EXPECT_EQ(loop.stats().datagrams_sent, accepted);
  const std::vector<std::string> got = drain(receiver, 100);
  EXPECT_EQ(got.size(), accepted);
  std::size_t c = 0;
  std::size_t b = 0;
  for (const std::string& d : got) {
    if (d == "c") ++c;
    if (!d.empty() && d[0] == 'b') ++b;
  }
  EXPECT_EQ(c, 8u);
  EXPECT_EQ(b, 4u);
}

TEST_P(event_loop_datagram_test, close_graceful_sends_what_is_queued_abort_drops_it) {
  event_loop loop;
  guard(loop);
  datagram_socket receiver = bound();
  const endpoint to = receiver.local_endpoint();
  const id_type graceful = loop.adopt(bound(), {});
  const id_type aborted = loop.adopt(bound(), {});
  for (int i = 0; i < 5; ++i) {
    loop.send_to(graceful, to, "g" + std::to_string(i));
    loop.send_to(aborted, to, "a" + std::to_string(i));
  }
  loop.close(graceful);
  loop.close(aborted, close_mode::abort);
  std::error_code ec;
  EXPECT_FALSE(loop.send_to(graceful, to, "late", ec)) << "closing: no more output";
  EXPECT_EQ(ec, std::errc::not_connected);
  EXPECT_EQ(loop.output_size(graceful), 10u) << "still queued until the turn's end";
  EXPECT_EQ(loop.output_size(aborted), 0u) << "dropped";
  stop_after_one_turn(loop);
  loop.run();
  EXPECT_EQ(loop.output_size(graceful), 0u);
  EXPECT_EQ(loop.local_endpoint(graceful), endpoint{}) << "gone";
  EXPECT_EQ(loop.local_endpoint(aborted), endpoint{}) << "gone";
  // A marker sent after the loop ended: the aborted datagrams, had they been sent,
  // would have arrived before it.
  datagram_socket marker = bound();
  marker.send_to("marker", to);
  const std::vector<std::string> got = drain(receiver, 20);
  const std::vector<std::string> expected = {"g0", "g1", "g2", "g3", "g4", "marker"};
  EXPECT_EQ(got, expected);
}

TEST_P(event_loop_datagram_test, stop_sends_the_queues_then_closes_the_sockets) {
  event_loop loop;
  guard(loop);
  datagram_socket receiver = bound();
  const endpoint to = receiver.local_endpoint();
  datagram_socket s = bound();
  const endpoint local = s.local_endpoint();
  const id_type id = loop.adopt(std::move(s), {});
  for (int i = 0; i < 3; ++i)
    loop.send_to(id, to, "s" + std::to_string(i));
  loop.stop();  // before run(): run() shuts down at once, lingering for the queue
  loop.run();
  EXPECT_EQ(loop.local_endpoint(id), endpoint{}) << "closed by the shutdown";
  std::error_code ec;
  EXPECT_FALSE(loop.send_to(id, to, "late", ec));
  EXPECT_EQ(ec, std::errc::not_connected);
  const std::vector<std::string> got = drain(receiver, 10);
  EXPECT_EQ(got, (std::vector<std::string>{"s0", "s1", "s2"}));
  // Its port is free again: the socket was really closed.
  datagram_socket again;
  bind_options options;
  options.v6_only = GetParam() == test::family::v6;
  again.bind(local, options, ec);
  EXPECT_FALSE(ec) << ec.message();
}
}  // namespace

XSOCK_INSTANTIATE_FAMILIES(event_loop_datagram_test);

}  // namespace xsock
