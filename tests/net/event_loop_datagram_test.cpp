// xsock::event_loop with datagram sockets over real loopback sockets (IPv4 and IPv6):
// echo to a blocking client at every size, the size and queue limits, truncation,
// ICMP errors on a connected socket, close and stop, fairness between a flood and the
// other sockets, the counters and the per-id queries. Built once per poller backend,
// like event_loop_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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

// What the refused tests watch: where a connection_refused was reported.
struct refusal_log {
  int on_receive = 0;  // on_error with an empty peer
  int on_send = 0;     // on_error naming the dead peer
  std::vector<std::error_code> other;
};

// A connected socket on the loop sends to a closed loopback port: the ICMP port
// unreachable comes back as connection_refused, from a receive or from a later send
// (Wine reports it only on a send), and the socket is still served afterwards, as is
// another socket of the loop.
TEST_P(event_loop_datagram_test, connection_refused_is_reported_and_the_sockets_keep_serving) {
  event_loop loop;
  guard(loop);
  const endpoint dead = closed_port();
  datagram_socket connected = bound();
  connected.connect(dead);
  datagram_socket other = bound();
  const endpoint other_address = other.local_endpoint();

  refusal_log log;
  std::vector<std::string> on_connected;
  std::vector<std::string> on_other;
  event_loop::datagram_handlers h;
  h.on_error = [&](event_loop&, id_type, const std::error_code& ec, const endpoint& peer) {
    if (ec != std::errc::connection_refused) {
      log.other.push_back(ec);
    } else if (peer == endpoint{}) {
      ++log.on_receive;
    } else {
      EXPECT_EQ(peer, dead) << "a failed send names its destination";
      ++log.on_send;
    }
  };
  h.on_datagram = [&](event_loop& l, id_type, const endpoint& from, std::string_view bytes, bool) {
    EXPECT_EQ(from, dead);
    on_connected.emplace_back(bytes);
    if (!on_other.empty()) l.stop();
  };
  const id_type id = loop.adopt(std::move(connected), h);
  EXPECT_EQ(loop.peer(id), dead);
  event_loop::datagram_handlers oh;
  oh.on_datagram = [&](event_loop& l, id_type, const endpoint&, std::string_view bytes, bool) {
    on_other.emplace_back(bytes);
    if (!on_connected.empty()) l.stop();
  };
  loop.adopt(std::move(other), oh);

  // A datagram every 20 ms until the refusal shows (bounded: 100 tries), then the
  // dead port comes back to life and both sockets get a datagram from a live peer.
  datagram_socket revived;
  int tries = 0;
  std::function<void(event_loop&)> probe = [&](event_loop& l) {
    if (log.on_receive + log.on_send == 0 && tries < 100) {
      ++tries;
      std::error_code ec;
      l.send(id, "probe", ec);
      EXPECT_FALSE(ec) << ec.message();
      l.after(20ms, probe);
      return;
    }
    EXPECT_GT(log.on_receive + log.on_send, 0) << "no connection_refused after " << tries;
    bind_options options;
    options.v6_only = GetParam() == test::family::v6;
    std::error_code ec;
    revived.bind(dead, options, ec);
    if (ec) {
      ADD_FAILURE() << "rebinding " << dead.to_string() << ": " << ec.message();
      l.stop();
      return;
    }
    revived.send_to("alive", l.local_endpoint(id));
    revived.send_to("also alive", other_address);
  };
  loop.after(0ms, probe);
  loop.run();
  EXPECT_TRUE(log.other.empty()) << log.other.front().message();
  EXPECT_EQ(on_connected, (std::vector<std::string>{"alive"}));
  EXPECT_EQ(on_other, (std::vector<std::string>{"also alive"}));
  EXPECT_EQ(loop.stats().datagrams_received, 2u);
  EXPECT_EQ(loop.stats().datagrams_sent + static_cast<std::uint64_t>(log.on_send),
            static_cast<std::uint64_t>(tries))
      << "a failed send is not counted as sent";
}

// The receive side alone: one datagram to a closed port, and the receive that follows
// reports the refusal (epoll/poll/AFD report the pending error as readable).
TEST_P(event_loop_datagram_test, connection_refused_is_reported_by_the_receive) {
  XSOCK_SKIP_ON_WINE(
      "a connected UDP socket's ICMP port unreachable is reported only on a later send, "
      "never on a receive");
  event_loop loop;
  guard(loop);
  const endpoint dead = closed_port();
  datagram_socket connected = bound();
  connected.connect(dead);
  std::vector<std::error_code> errors;
  std::vector<endpoint> peers;
  event_loop::datagram_handlers h;
  h.on_error = [&](event_loop& l, id_type, const std::error_code& ec, const endpoint& peer) {
    errors.push_back(ec);
    peers.push_back(peer);
    l.stop();
  };
  const id_type id = loop.adopt(std::move(connected), h);
  loop.send(id, "one");
  loop.run();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], std::errc::connection_refused) << errors[0].message();
  EXPECT_EQ(peers[0], endpoint{}) << "a receive error has no peer";
  EXPECT_EQ(loop.stats().datagrams_sent, 1u);
}

// 64 datagrams per socket per turn: a flood queued on one socket before the loop
// starts does not hold back another datagram socket or a TCP connection.
TEST_P(event_loop_datagram_test, a_flood_on_one_socket_starves_nobody) {
  constexpr std::size_t flood = 400;
  event_loop::callbacks cb;
  std::size_t flooded = 0;
  std::size_t flooded_when_tcp = 0;
  std::size_t flooded_when_other = 0;
  bool tcp_seen = false;
  bool other_seen = false;
  std::function<bool()> all_served;
  cb.on_data = [&](event_loop& l, id_type, std::string_view) {
    if (!tcp_seen) flooded_when_tcp = flooded;
    tcp_seen = true;
    if (all_served()) l.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  datagram_socket target = bound();
  const endpoint flood_to = target.local_endpoint();
  datagram_socket quiet = bound();
  const endpoint quiet_to = quiet.local_endpoint();
  event_loop::datagram_handlers fh;
  all_served = [&] { return tcp_seen && other_seen && flooded > 2 * 64; };
  fh.on_datagram = [&](event_loop& l, id_type, const endpoint&, std::string_view, bool) {
    ++flooded;
    if (all_served()) l.stop();
  };
  loop.adopt(std::move(target), fh);
  event_loop::datagram_handlers qh;
  qh.on_datagram = [&](event_loop& l, id_type, const endpoint&, std::string_view, bool) {
    if (!other_seen) flooded_when_other = flooded;
    other_seen = true;
    if (all_served()) l.stop();
  };
  loop.adopt(std::move(quiet), qh);
  listener l = make_listener();
  test::socket_pair tcp = test::connect_pair(l);
  loop.adopt(std::move(tcp.server));

  datagram_socket sender = bound();
  for (std::size_t i = 0; i < flood; ++i)
    sender.send_to("flood", flood_to);
  sender.send_to("hello", quiet_to);
  tcp.client.send("hello", 5);
  // Loopback delivers at once: everything is queued at the receivers before the loop
  // reads anything. The loop ends once all three were served (or after a bounded
  // time, if the system dropped part of the flood).
  loop.after(3s, [](event_loop& lp) { lp.stop(); });
  loop.run();
  ASSERT_TRUE(tcp_seen);
  ASSERT_TRUE(other_seen);
  ASSERT_GT(flooded, 2u * 64u) << "too few datagrams arrived for the test to mean anything";
  EXPECT_LE(flooded_when_other, 2u * 64u) << "the other datagram socket waited for the flood";
  EXPECT_LE(flooded_when_tcp, 2u * 64u) << "the TCP connection waited for the flood";
  EXPECT_EQ(loop.stats().datagrams_received, flooded + 1);
}

TEST_P(event_loop_datagram_test, queries_and_send_on_datagram_ids) {
  event_loop loop;
  guard(loop);
  datagram_socket receiver = bound();
  const endpoint to = receiver.local_endpoint();
  datagram_socket connected = bound();
  const endpoint connected_local = connected.local_endpoint();
  connected.connect(to);
  datagram_socket unconnected = bound();
  const endpoint unconnected_local = unconnected.local_endpoint();
  const id_type c = loop.adopt(std::move(connected), {});
  const id_type u = loop.adopt(std::move(unconnected), {});
  EXPECT_NE(c, u);
  EXPECT_EQ(loop.connection_count(), 0u) << "datagram sockets are not connections";
  EXPECT_EQ(loop.peer(c), to);
  EXPECT_EQ(loop.peer(u), endpoint{});
  EXPECT_EQ(loop.local_endpoint(c), connected_local);
  EXPECT_EQ(loop.local_endpoint(u), unconnected_local);

  std::error_code ec;
  EXPECT_FALSE(loop.send(u, "x", ec)) << "send needs a connected socket";
  EXPECT_EQ(ec, std::errc::not_connected);
  EXPECT_TRUE(loop.send(c, "one", ec)) << ec.message();
  EXPECT_TRUE(loop.send(c, "", ec)) << ec.message();
  EXPECT_TRUE(loop.send_to(u, to, "three", ec)) << ec.message();
  EXPECT_EQ(loop.output_size(c), 3u);
  EXPECT_EQ(loop.output_size(u), 5u);
  EXPECT_FALSE(loop.send_to(12345, to, "x", ec)) << "unknown id";
  EXPECT_EQ(ec, std::errc::not_connected);
  stop_after_one_turn(loop);
  loop.run();
  const std::vector<std::string> got = drain(receiver, 10);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(loop.stats().datagrams_sent, 3u);
  EXPECT_EQ(loop.output_size(c), 0u);
}

// close(id) from on_datagram: no more on_datagram for it, even for datagrams already
// queued in the same turn.
TEST_P(event_loop_datagram_test, close_from_on_datagram_stops_delivery_at_once) {
  event_loop loop;
  guard(loop);
  datagram_socket s = bound();
  const endpoint where = s.local_endpoint();
  int delivered = 0;
  event_loop::datagram_handlers h;
  h.on_datagram = [&](event_loop& l, id_type id, const endpoint&, std::string_view, bool) {
    ++delivered;
    l.close(id);
    // Stopped on the next turn: had close() not stopped the reading, this turn would
    // have delivered the other four.
    l.post([](event_loop& lp) { lp.stop(); });
  };
  loop.adopt(std::move(s), h);
  datagram_socket sender = bound();
  for (int i = 0; i < 5; ++i)
    sender.send_to("x", where);
  loop.run();
  EXPECT_EQ(delivered, 1);
}

// A send made in on_turn (after the turn's own flush) goes out on the next turn, not
// after the next unrelated event: the loop does not wait with datagrams queued.
TEST_P(event_loop_datagram_test, a_send_from_on_turn_is_not_left_waiting) {
  event_loop::callbacks cb;
  id_type from = 0;
  endpoint to;
  bool sent = false;
  cb.on_turn = [&](event_loop& l) {
    if (sent || from == 0) return;
    sent = true;
    l.send_to(from, to, "from on_turn");
  };
  event_loop loop({}, cb);
  guard(loop);
  datagram_socket target = bound();
  to = target.local_endpoint();
  std::string got;
  event_loop::datagram_handlers h;
  h.on_datagram = [&](event_loop& l, id_type, const endpoint&, std::string_view bytes, bool) {
    got = std::string(bytes);
    l.stop();
  };
  loop.adopt(std::move(target), h);
  from = loop.adopt(bound(), {});
  loop.run();
  EXPECT_EQ(got, "from on_turn");
}
}  // namespace

XSOCK_INSTANTIATE_FAMILIES(event_loop_datagram_test);

}  // namespace xsock
