// xsock::event_loop, issue 19: backpressure per direction (flows, on_drained,
// resume_reading_below), per-connection context, output sent on a connect's id before
// it completes. Real loopback sockets; every wait is for an event, bounded by the
// watchdog. Built once per poller backend, like event_loop_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/event_loop.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using id_type = event_loop::id_type;

// Ends a test's loop even if what it waits for never happens (a deadlock fails the
// test instead of hanging it).
constexpr auto watchdog = 20s;

void guard(event_loop& loop) {
  loop.after(watchdog, [](event_loop& l) {
    ADD_FAILURE() << "the loop did not finish in time";
    l.stop();
  });
}

// A port nothing listens on (refused at once): bound, noted, closed.
endpoint closed_port(const endpoint& like) {
  listener l;
  l.listen(like);
  const endpoint where = l.local_endpoint();
  l.close();
  return where;
}

// Byte `i` of a test stream: catches loss, duplication and reordering.
// The streams are far larger than what loopback socket buffers hold (several MiB each
// way), so the loop's queues do fill.
char pattern(std::size_t i) {
  return static_cast<char>('a' + (i * 7 + i / 4099) % 26);
}

// A stream sent by the embedder from outside on_data (on_done, on_drained): it fills
// the queue until `send` refuses (no_buffer_space), then waits for on_drained.
struct outgoing {
  std::size_t total = 0;
  std::size_t sent = 0;
  bool done() const { return sent == total; }
  void pump(event_loop& loop, id_type id) {
    std::string chunk;
    while (sent < total) {
      const std::size_t n = std::min<std::size_t>(64 * 1024, total - sent);
      chunk.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        chunk[i] = pattern(sent + i);
      std::error_code ec;
      if (!loop.send(id, chunk, ec)) {
        EXPECT_EQ(ec, std::errc::no_buffer_space) << error_text(ec);
        return;
      }
      sent += n;
    }
  }
};

struct incoming {
  std::size_t got = 0;
  bool intact = true;
  void take(std::string_view bytes) {
    for (const char c : bytes)
      intact = intact && c == pattern(got++);
  }
};

class event_loop_flow_test : public test::loopback_test {};

// A proxy on the loop relays an upload and a download at once, and the client sends
// its whole upload before it reads anything. Before issue 19 the proxy's client side
// stopped being read as soon as its own queue (the download) was full, so the upload
// never finished and nothing moved again.
TEST_P(event_loop_flow_test, a_proxy_relays_both_ways_while_the_client_reads_nothing) {
  constexpr std::size_t total = 24 * 1024 * 1024;
  const loop_options defaults;
  id_type client = 0, proxy_client = 0, proxy_target = 0, target = 0;
  outgoing up{total}, down{total};
  incoming target_got, client_got;
  std::size_t max_proxy_queue = 0;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    if (id == proxy_client || id == proxy_target) {
      const id_type other = id == proxy_client ? proxy_target : proxy_client;
      loop.send(other, bytes);
      max_proxy_queue = std::max(max_proxy_queue, loop.output_size(other));
    } else if (id == target) {
      target_got.take(bytes);
      // The client reads only once its whole upload has arrived.
      if (target_got.got == total) loop.resume_reading(client);
    } else if (id == client) {
      client_got.take(bytes);
      if (client_got.got == total) loop.stop();
    }
  };
  cb.on_drained = [&](event_loop& loop, id_type id) {
    if (id == client) up.pump(loop, client);
    if (id == target) down.pump(loop, target);
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type target_listener =
      loop.listen(make_listener(), [&](event_loop& l, id_type id, const endpoint&) {
        target = id;
        down.pump(l, target);
      });
  const endpoint target_at = loop.local_endpoint(target_listener);
  const id_type proxy_listener =
      loop.listen(make_listener(), [&](event_loop& l, id_type id, const endpoint&) {
        proxy_client = id;
        proxy_target = l.connect(target_at, 5s, [](event_loop&, id_type, const connect_result& r) {
          ASSERT_FALSE(r.error) << r.message;
        });
      });
  client = loop.connect(loop.local_endpoint(proxy_listener), 5s,
                        [&](event_loop& l, id_type id, const connect_result& r) {
                          ASSERT_FALSE(r.error) << r.message;
                          l.pause_reading(id);
                          up.pump(l, id);
                        });
  loop.run();
  EXPECT_EQ(target_got.got, total);
  EXPECT_EQ(client_got.got, total);
  EXPECT_TRUE(target_got.intact);
  EXPECT_TRUE(client_got.intact);
  // Each proxy queue stops growing one read past the mark.
  EXPECT_LE(max_proxy_queue, defaults.pause_reading_above + defaults.read_size);
}

// An echo's data flows into its own queue: a client that does not read its echo stops
// the echo from reading, so the echo's queue stays bounded.
TEST_P(event_loop_flow_test, an_echo_is_paused_by_its_own_queue) {
  constexpr std::size_t total = 24 * 1024 * 1024;
  const loop_options defaults;
  id_type client = 0, echo = 0;
  outgoing out{total};
  incoming back;
  std::size_t max_echo_queue = 0;
  bool echo_queue_full = false;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    if (id == echo) {
      loop.send(id, bytes);
      max_echo_queue = std::max(max_echo_queue, loop.output_size(id));
      if (!echo_queue_full && loop.output_size(id) > defaults.pause_reading_above) {
        // The echo is paused now; let the client read so that it drains.
        echo_queue_full = true;
        loop.resume_reading(client);
      }
      return;
    }
    back.take(bytes);
    if (back.got == total) loop.stop();
  };
  cb.on_drained = [&](event_loop& loop, id_type id) {
    if (id == client) out.pump(loop, client);
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid =
      loop.listen(make_listener(), [&](event_loop&, id_type id, const endpoint&) { echo = id; });
  client = loop.connect(loop.local_endpoint(lid), 5s,
                        [&](event_loop& l, id_type id, const connect_result& r) {
                          ASSERT_FALSE(r.error) << r.message;
                          l.pause_reading(id);
                          out.pump(l, id);
                        });
  loop.run();
  EXPECT_TRUE(echo_queue_full);
  EXPECT_EQ(back.got, total);
  EXPECT_TRUE(back.intact);
  EXPECT_LE(max_echo_queue, defaults.pause_reading_above + defaults.read_size);
}

// on_drained comes once each time a queue falls from above pause_reading_above to
// resume_reading_below (a refused send on the way adds no second call), and not for a
// queue that never crossed.
TEST_P(event_loop_flow_test, on_drained_is_called_once_per_crossing) {
  const loop_options defaults;
  const std::string chunk(64 * 1024, 'x');
  id_type sender = 0;
  std::size_t sent = 0;
  std::size_t received = 0;
  bool sending_done = false;
  std::vector<std::size_t> drained_at;  // bytes received by then
  std::error_code refused;
  // A send with nothing queued is written at once: the queue grows only once the
  // kernel's buffers are full (the reader is on this loop, not reading meanwhile).
  const auto cross = [&](event_loop& loop, id_type id) {
    for (int i = 0; i < 4096 && loop.output_size(id) <= defaults.pause_reading_above; ++i) {
      loop.send(id, chunk);
      sent += chunk.size();
    }
    EXPECT_GT(loop.output_size(id), defaults.pause_reading_above);
  };
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type, std::string_view bytes) {
    received += bytes.size();
    if (sending_done && received == sent) loop.stop();
  };
  cb.on_drained = [&](event_loop& loop, id_type id) {
    EXPECT_EQ(id, sender);
    drained_at.push_back(received);
    // The second crossing, made from here (outside any on_data).
    if (drained_at.size() == 1) {
      cross(loop, id);
      sending_done = true;
    }
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), [](event_loop&, id_type, const endpoint&) {});
  sender = loop.connect(loop.local_endpoint(lid), 5s,
                        [&](event_loop& l, id_type id, const connect_result& r) {
                          ASSERT_FALSE(r.error) << r.message;
                          l.send(id, "0123456789");  // small: no crossing
                          sent += 10;
                          cross(l, id);
                          // Refused (over max_output): still one call for this crossing.
                          EXPECT_FALSE(l.send(id, std::string(defaults.max_output, 'y'), refused));
                        });
  loop.run();
  EXPECT_EQ(refused, std::errc::no_buffer_space);
  EXPECT_EQ(drained_at.size(), 2u);
}

// A connection paused by its embedder stays paused when the queue that paused it
// as a flow drains.
TEST_P(event_loop_flow_test, a_flow_resume_does_not_undo_pause_reading) {
  constexpr std::size_t total = 24 * 1024 * 1024;
  const loop_options defaults;
  id_type client = 0, echo = 0;
  outgoing out{total};
  incoming back;
  bool user_paused = false;
  bool drained = false;
  int quiet_turns = 0;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    if (id == echo) {
      EXPECT_FALSE(user_paused) << "read while paused by pause_reading";
      loop.send(id, bytes);
      if (!drained && !user_paused && loop.output_size(id) > defaults.pause_reading_above) {
        user_paused = true;
        loop.pause_reading(id);       // on top of the flow pause
        loop.resume_reading(client);  // so that the echo's queue drains
      }
      return;
    }
    back.take(bytes);
    if (back.got == total) loop.stop();
  };
  // A few turns after the drain, with the client's bytes waiting: nothing was read.
  std::function<void(event_loop&)> count_turn = [&](event_loop& loop) {
    if (++quiet_turns < 10) {
      loop.post(count_turn);
      return;
    }
    user_paused = false;
    loop.resume_reading(echo);
  };
  cb.on_drained = [&](event_loop& loop, id_type id) {
    if (id == client) out.pump(loop, client);
    if (id == echo && user_paused && !drained) {
      drained = true;
      loop.post(count_turn);
    }
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid =
      loop.listen(make_listener(), [&](event_loop&, id_type id, const endpoint&) { echo = id; });
  client = loop.connect(loop.local_endpoint(lid), 5s,
                        [&](event_loop& l, id_type id, const connect_result& r) {
                          ASSERT_FALSE(r.error) << r.message;
                          l.pause_reading(id);
                          out.pump(l, id);
                        });
  loop.run();
  EXPECT_TRUE(drained);
  EXPECT_EQ(quiet_turns, 10);
  EXPECT_EQ(back.got, total);
  EXPECT_TRUE(back.intact);
}

// Records its destruction in a log, to check when contexts go.
struct tracked {
  std::vector<std::string>* log;
  int value;
  tracked(std::vector<std::string>* l, int v) : log(l), value(v) {}
  tracked(const tracked&) = delete;
  tracked& operator=(const tracked&) = delete;
  ~tracked() { log->push_back("destroyed " + std::to_string(value)); }
};

TEST_P(event_loop_flow_test, a_context_is_typed_and_destroyed_after_on_close) {
  std::vector<std::string> log;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop& loop, id_type id, close_reason, const std::error_code&) {
    const tracked* t = loop.context<tracked>(id);
    ASSERT_NE(t, nullptr);
    log.push_back("on_close " + std::to_string(t->value));
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  listener l = make_listener();
  test::socket_pair p = test::connect_pair(l);
  const id_type id = loop.adopt(std::move(p.server));

  EXPECT_EQ(loop.context<int>(id), nullptr);  // nothing attached yet
  loop.emplace_context<int>(id, 5);
  ASSERT_NE(loop.context<int>(id), nullptr);
  EXPECT_EQ(*loop.context<int>(id), 5);
  EXPECT_EQ(loop.context<long>(id), nullptr);      // another type
  EXPECT_EQ(loop.context<unsigned>(id), nullptr);  // another type, same size
  // Replacing destroys the old one (an int: nothing to log) and types the slot anew.
  loop.emplace_context<tracked>(id, &log, 1);
  EXPECT_EQ(loop.context<int>(id), nullptr);
  loop.emplace_context<tracked>(id, &log, 2);
  EXPECT_EQ(log, std::vector<std::string>{"destroyed 1"});
  EXPECT_EQ(loop.context<tracked>(id)->value, 2);

  // Unknown ids: the throwing form throws, the ec form says not_connected.
  const id_type unknown = id + 1000;
  EXPECT_THROW(loop.emplace_context<int>(unknown, 1), xsock::error);
  std::error_code ec;
  EXPECT_EQ(loop.emplace_context<int>(unknown, ec, 1), nullptr);
  EXPECT_EQ(ec, std::errc::not_connected);
  EXPECT_EQ(loop.context<int>(unknown), nullptr);
  loop.reset_context(unknown);  // ignored

  loop.close(id);
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"destroyed 1", "on_close 2", "destroyed 2"}));
  EXPECT_EQ(loop.context<tracked>(id), nullptr);
}

TEST_P(event_loop_flow_test, a_context_set_on_a_pending_connect_stays_with_the_connection) {
  std::vector<std::string> log;
  event_loop::callbacks cb;
  id_type id = 0;
  cb.on_close = [&](event_loop& loop, id_type closed, close_reason, const std::error_code&) {
    if (closed != id) return;  // the accepted side
    log.push_back("on_close");
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), [](event_loop&, id_type, const endpoint&) {});
  id = loop.connect(loop.local_endpoint(lid), 5s,
                    [&](event_loop& l, id_type cid, const connect_result& r) {
                      ASSERT_FALSE(r.error) << r.message;
                      const tracked* t = l.context<tracked>(cid);
                      ASSERT_NE(t, nullptr);
                      EXPECT_EQ(t->value, 7);
                      log.push_back("on_done");
                      l.close(cid);
                    });
  loop.emplace_context<tracked>(id, &log, 7);
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"on_done", "on_close", "destroyed 7"}));
}

TEST_P(event_loop_flow_test, a_failed_connect_drops_its_context_after_on_done) {
  std::vector<std::string> log;
  event_loop loop;
  guard(loop);
  const id_type id = loop.connect(
      closed_port(any_port()), 5s, [&](event_loop& l, id_type cid, const connect_result& r) {
        EXPECT_EQ(r.error, std::errc::connection_refused) << r.message;
        EXPECT_NE(l.context<tracked>(cid), nullptr);  // still there during on_done
        log.push_back("on_done");
        l.stop();
      });
  loop.emplace_context<tracked>(id, &log, 3);
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"on_done", "destroyed 3"}));
  EXPECT_EQ(loop.context<tracked>(id), nullptr);
}

// Bytes sent on a connect's id before it completes go first, in order, before what
// on_done sends.
TEST_P(event_loop_flow_test, output_sent_before_the_connect_completes_is_delivered_in_order) {
  std::string got;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type, std::string_view bytes) {
    got.append(bytes.data(), bytes.size());
    if (got.size() >= 17) loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), [](event_loop&, id_type, const endpoint&) {});
  std::size_t queued_at_done = 0;
  const id_type id = loop.connect(loop.local_endpoint(lid), 5s,
                                  [&](event_loop& l, id_type cid, const connect_result& r) {
                                    ASSERT_FALSE(r.error) << r.message;
                                    queued_at_done = l.output_size(cid);
                                    l.send(cid, "third");
                                  });
  loop.send(id, "first ");
  std::error_code ec;
  EXPECT_TRUE(loop.send(id, "second ", ec)) << error_text(ec);
  EXPECT_EQ(loop.output_size(id), 13u);
  // Counted against max_output like any queue.
  EXPECT_FALSE(loop.send(id, std::string(loop.options().max_output, 'z'), ec));
  EXPECT_EQ(ec, std::errc::no_buffer_space);
  loop.run();
  EXPECT_EQ(got, "first second third");
  EXPECT_EQ(queued_at_done, 13u);
}

TEST_P(event_loop_flow_test, output_sent_before_a_failed_connect_is_dropped_with_its_error) {
  event_loop loop;
  guard(loop);
  connect_result seen;
  std::size_t queued_at_done = 99;
  const id_type id = loop.connect(closed_port(any_port()), 5s,
                                  [&](event_loop& l, id_type cid, const connect_result& r) {
                                    seen = r;
                                    queued_at_done = l.output_size(cid);
                                    l.stop();
                                  });
  loop.send(id, "never sent");
  loop.shutdown_send(id);
  EXPECT_EQ(loop.output_size(id), 10u);
  loop.run();
  EXPECT_EQ(seen.error, std::errc::connection_refused) << seen.message;
  EXPECT_EQ(queued_at_done, 0u);
  EXPECT_EQ(loop.output_size(id), 0u);
  std::error_code ec;
  EXPECT_FALSE(loop.send(id, "late", ec));
  EXPECT_EQ(ec, std::errc::not_connected);
}

// shutdown_send before the connect completes: the peer reads the queued bytes, then
// end of stream; the connection still reads the reply.
TEST_P(event_loop_flow_test, shutdown_send_before_the_connect_completes_half_closes_after_it) {
  std::string server_got, client_got;
  id_type client = 0;
  std::error_code send_after;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop&, id_type id, std::string_view bytes) {
    (id == client ? client_got : server_got).append(bytes.data(), bytes.size());
  };
  cb.on_end_of_stream = [&](event_loop& loop, id_type id) {
    if (id != client) loop.send(id, "reply to " + server_got);
    loop.close(id);
  };
  std::vector<close_reason> closes;
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code&) {
    closes.push_back(r);
    if (closes.size() == 2) loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), [](event_loop&, id_type, const endpoint&) {});
  client = loop.connect(loop.local_endpoint(lid), 5s,
                        [&](event_loop& l, id_type id, const connect_result& r) {
                          ASSERT_FALSE(r.error) << r.message;
                          l.send(id, "more", send_after);
                        });
  loop.send(client, "question");
  loop.shutdown_send(client);
  loop.run();
  EXPECT_EQ(server_got, "question");
  EXPECT_EQ(client_got, "reply to question");
  EXPECT_EQ(send_after, std::errc::not_connected);
  ASSERT_EQ(closes.size(), 2u);
}

XSOCK_INSTANTIATE_FAMILIES(event_loop_flow_test);

}  // namespace
}  // namespace xsock
