// xsock::event_loop with TLS layers over real loopback sockets: an accepted and an
// outbound TLS connection on one loop, bytes queued before the handshake, verification
// failures reported by on_done, the handshake timeout against a silent peer, garbage
// against the server, truncation, and the loop against blocking tls_streams both ways.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cert_factory.hpp"
#include "support.hpp"
#include "tls_support.hpp"
#include "xsock/event_loop.hpp"
#include "xsock/server.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/tls_context.hpp"
#include "xsock/tls_error.hpp"
#include "xsock/tls_stream.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using id_type = event_loop::id_type;
using test::numeric_host;
using test::peer_text;

// Ends a test's loop even if what it waits for never happens.
constexpr auto watchdog = 10s;

void guard(event_loop& loop) {
  loop.after(watchdog, [](event_loop& l) {
    ADD_FAILURE() << "the loop did not finish in time";
    l.stop();
  });
}

using listener_maker = std::function<listener()>;

struct closed_with {
  bool seen = false;
  close_reason reason = close_reason::local;
  std::error_code ec;
};

// A loop with one TLS connect to a blocking server (test::tls_server): what the
// connection received, how the connect and the connection ended. The loop stops when
// either fails or the connection closes.
struct loop_client {
  std::string got;
  closed_with closed;
  connect_result done;
  event_loop loop{loop_options{}, callbacks()};

  // Connects through a layer for `host`; `on_connected` runs once the handshake is
  // over.
  id_type connect(const std::string& host, std::uint16_t port, const tls_context& ctx,
                  std::function<void(event_loop&, id_type)> on_connected = nullptr) {
    return loop.connect(
        host, port, 5s,
        [this, on_connected](event_loop& l, id_type id, const connect_result& r) {
          done = r;
          if (r.error) {
            l.stop();
          } else if (on_connected) {
            on_connected(l, id);
          }
        },
        ctx.make_layer(host, port));
  }

 private:
  event_loop::callbacks callbacks() {
    event_loop::callbacks cb;
    cb.on_data = [this](event_loop&, id_type, std::string_view bytes) {
      got.append(bytes.data(), bytes.size());
    };
    cb.on_close = [this](event_loop& l, id_type, close_reason r, const std::error_code& ec) {
      closed = {true, r, ec};
      l.stop();
    };
    return cb;
  }
};

class tls_loop_test : public test::loopback_test {
 protected:
  test::cert_factory certs;
  tls_context server_ctx{test::server_context(certs.server)};
  tls_context client_ctx{test::client_context(certs.ca)};
  std::string host() const { return numeric_host(GetParam()); }
};

TEST_P(tls_loop_test, an_outbound_and_an_accepted_tls_connection_echo_256_kib) {
  const std::string big = test::pattern(256 * 1024);
  const std::string expected = "early" + big;
  id_type client = 0;
  id_type server = 0;
  std::string client_got;
  std::string server_got;
  bool server_end_of_stream = false;
  std::map<id_type, closed_with> closes;

  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    if (id == client) {
      client_got.append(bytes.data(), bytes.size());
      if (client_got.size() >= expected.size()) loop.close(id);
    } else {
      server_got.append(bytes.data(), bytes.size());
      loop.send(id, bytes);
    }
  };
  cb.on_end_of_stream = [&](event_loop& loop, id_type id) {
    if (id == server) server_end_of_stream = true;
    loop.close(id);
  };
  cb.on_close = [&](event_loop& loop, id_type id, close_reason r, const std::error_code& ec) {
    closes[id] = {true, r, ec};
    if (closes.size() == 2) loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(
      make_listener(), [&](event_loop&, id_type id, const endpoint&) { server = id; },
      server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();

  connect_result done;
  bool done_called = false;
  client = loop.connect(
      host(), port, 5s,
      [&](event_loop& l, id_type, const connect_result& r) {
        done = r;
        done_called = true;
        // Queued behind "early", which went out once the handshake was over.
        if (!r.error) l.send(client, big);
      },
      client_ctx.make_layer(host(), port));
  // Before the connection (and its handshake) exists: kept, then sent first.
  loop.send(client, "early");
  loop.run();

  ASSERT_TRUE(done_called);
  EXPECT_FALSE(done.error) << done.message;
  EXPECT_TRUE(done.message.empty());
  EXPECT_EQ(done.peer.port(), port);
  EXPECT_EQ(server_got.size(), expected.size());
  EXPECT_TRUE(server_got == expected) << "the server did not get the bytes intact";
  EXPECT_EQ(client_got.size(), expected.size());
  EXPECT_TRUE(client_got == expected) << "the echo is not intact";
  // The client's graceful close sent close_notify: the server read end of stream.
  EXPECT_TRUE(server_end_of_stream);
  ASSERT_TRUE(closes[server].seen);
  EXPECT_FALSE(closes[server].ec) << closes[server].ec.message();
  ASSERT_TRUE(closes[client].seen);
  EXPECT_EQ(closes[client].reason, close_reason::local);
}

TEST_P(tls_loop_test, an_untrusted_server_fails_on_done_with_the_verify_reason) {
  const tls_context untrusted = test::server_context(certs.untrusted);
  id_type client = 0;
  int client_closes = 0;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop&, id_type id, close_reason, const std::error_code&) {
    if (id == client) ++client_closes;
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, untrusted.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  connect_result done;
  client = loop.connect(
      host(), port, 5s,
      [&](event_loop& l, id_type, const connect_result& r) {
        done = r;
        l.stop();
      },
      client_ctx.make_layer(host(), port));
  loop.send(client, "never sent in clear");
  loop.run();

  EXPECT_EQ(&done.error.category(), &tls_verify_category()) << done.message;
  const std::string prefix =
      "tls handshake " + peer_text(host(), port) + ": certificate verify failed: ";
  EXPECT_EQ(done.message.rfind(prefix, 0), 0u) << done.message;
  EXPECT_GT(done.message.size(), prefix.size()) << done.message;
  EXPECT_TRUE(test::one_line(done.message)) << done.message;
  EXPECT_EQ(client_closes, 0) << "a failed connect has no on_close";
}

TEST_P(tls_loop_test, an_expired_server_fails_on_done) {
  const tls_context expired = test::server_context(certs.expired);
  event_loop loop;
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, expired.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  connect_result done;
  loop.connect(
      host(), port, 5s,
      [&](event_loop& l, id_type, const connect_result& r) {
        done = r;
        l.stop();
      },
      client_ctx.make_layer(host(), port));
  loop.run();
  EXPECT_EQ(done.message, "tls handshake " + peer_text(host(), port) +
                              ": certificate verify failed: certificate has expired");
}

// A peer that is not a TLS client (`raw`: silent or sending garbage) and a real TLS
// client, served by one loop at the same time. Returns how the raw connection ended.
struct mixed_result {
  closed_with raw;
  std::string client_got;
  connect_result client_done;
};

mixed_result serve_raw_and_real(const endpoint& where_like, const std::string& host,
                                const tls_context& server_ctx, const tls_context& client_ctx,
                                const loop_options& options, const std::string& raw_sends) {
  mixed_result out;
  id_type raw_id = 0;
  id_type client = 0;
  bool client_closed = false;
  endpoint raw_local;

  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    if (id == client) {
      out.client_got.append(bytes.data(), bytes.size());
      if (out.client_got.size() >= 5) loop.close(id);
    } else {
      loop.send(id, bytes);
    }
  };
  cb.on_close = [&](event_loop& loop, id_type id, close_reason r, const std::error_code& ec) {
    if (id == raw_id && raw_id != 0) out.raw = {true, r, ec};
    if (id == client) client_closed = true;
    if (out.raw.seen && client_closed) loop.stop();
  };
  event_loop loop(options, cb);
  guard(loop);
  listener l;
  listen_options lo;
  lo.v6_only = where_like.is_v6();
  l.listen(where_like, lo);
  const id_type lid = loop.listen(
      std::move(l),
      [&](event_loop&, id_type id, const endpoint& peer) {
        if (peer == raw_local) raw_id = id;
      },
      server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();

  // Connected from the backlog before the loop runs: accepted on its first turn.
  stream_socket raw;
  raw.connect(loop.local_endpoint(lid), 5s);
  raw_local = raw.local_endpoint();
  if (!raw_sends.empty()) raw.send_all(raw_sends);

  client = loop.connect(
      host, port, 5s,
      [&](event_loop& lp, id_type id, const connect_result& r) {
        out.client_done = r;
        if (!r.error) lp.send(id, "hello");
      },
      client_ctx.make_layer(host, port));
  loop.run();

  EXPECT_NE(raw_id, 0u) << "the raw connection was not accepted";
  // The server's side is gone: the raw peer reads its end (or a reset), maybe after
  // an alert record.
  if (out.raw.seen) {
    char buf[1024];
    std::error_code ec;
    std::size_t n = 1;
    for (int reads = 0; reads < 64 && n != 0 && !ec; ++reads) {
      n = raw.receive(buf, sizeof buf, 5s, ec);
    }
    EXPECT_TRUE((n == 0 && !ec) || ec == std::errc::connection_reset) << ec.message();
  }
  return out;
}

TEST_P(tls_loop_test, a_silent_peer_is_closed_after_the_handshake_timeout) {
  loop_options options;
  options.handshake_timeout = 200ms;
  const auto r = serve_raw_and_real(any_port(), host(), server_ctx, client_ctx, options, "");
  ASSERT_TRUE(r.raw.seen);
  EXPECT_EQ(r.raw.reason, close_reason::error);
  EXPECT_EQ(r.raw.ec, std::errc::timed_out) << r.raw.ec.message();
  EXPECT_FALSE(r.client_done.error) << r.client_done.message;
  EXPECT_EQ(r.client_got, "hello");
}

TEST_P(tls_loop_test, garbage_ends_that_connection_only) {
  const auto r =
      serve_raw_and_real(any_port(), host(), server_ctx, client_ctx, {}, "GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.raw.seen);
  EXPECT_EQ(r.raw.reason, close_reason::error);
  EXPECT_EQ(&r.raw.ec.category(), &tls_library_category()) << r.raw.ec.message();
  EXPECT_TRUE(test::one_line(r.raw.ec.message())) << r.raw.ec.message();
  EXPECT_FALSE(r.client_done.error) << r.client_done.message;
  EXPECT_EQ(r.client_got, "hello");
}

// The loop serves; a blocking tls_stream on a thread is the client. `client_fn` runs
// there; the loop stops once the server's connection has closed.
closed_with loop_server_with_blocking_client(const endpoint& where_like,
                                             const tls_context& server_ctx,
                                             const std::function<void(std::uint16_t)>& client_fn,
                                             std::string& server_got) {
  closed_with server_closed;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    server_got.append(bytes.data(), bytes.size());
    loop.send(id, bytes);
  };
  cb.on_end_of_stream = [](event_loop& loop, id_type id) { loop.close(id); };
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code& ec) {
    server_closed = {true, r, ec};
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  listener l;
  listen_options lo;
  lo.v6_only = where_like.is_v6();
  l.listen(where_like, lo);
  const id_type lid = loop.listen(std::move(l), nullptr, server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  std::thread client([&] {
    try {
      client_fn(port);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "client: " << e.what();
      loop.stop();
    }
  });
  loop.run();
  client.join();
  return server_closed;
}

TEST_P(tls_loop_test, a_blocking_client_that_skips_close_notify_is_truncated) {
  std::string server_got;
  const auto closed = loop_server_with_blocking_client(
      any_port(), server_ctx,
      [&](std::uint16_t port) {
        tls_stream s(client_ctx);
        s.connect(host(), port, 5s);
        s.send_all("abc");
        // Reading the echo reads the session tickets too: nothing is left unread when
        // the socket closes (unread bytes would make the close a reset).
        EXPECT_EQ(test::receive_exact(s, 3), "abc");
        s.close();
      },
      server_got);
  EXPECT_EQ(server_got, "abc");
  ASSERT_TRUE(closed.seen);
  EXPECT_EQ(closed.reason, close_reason::error);
  EXPECT_EQ(closed.ec, tls_errc::truncated) << closed.ec.message();
}

TEST_P(tls_loop_test, a_blocking_client_talks_to_the_loop_server) {
  std::string server_got;
  test::received client_end;
  std::string version;
  const auto closed = loop_server_with_blocking_client(
      any_port(), server_ctx,
      [&](std::uint16_t port) {
        tls_stream s(client_ctx);
        s.connect(host(), port, 5s);
        version = s.protocol_version();
        s.send_all("ping");
        EXPECT_EQ(test::receive_exact(s, 4), "ping");
        s.shutdown();
        // The loop answers end of stream by closing, with close_notify.
        client_end = test::receive_to_end(s);
      },
      server_got);
  EXPECT_EQ(server_got, "ping");
  EXPECT_TRUE(version == "TLSv1.3" || version == "TLSv1.2") << version;
  EXPECT_EQ(client_end.data, "");
  EXPECT_FALSE(client_end.ec) << client_end.ec.message();
  ASSERT_TRUE(closed.seen);
  EXPECT_EQ(closed.reason, close_reason::local);
}

TEST_P(tls_loop_test, the_loop_client_talks_to_a_blocking_server) {
  std::string server_got;
  test::tls_server server(GetParam(), server_ctx, [&](tls_stream& s) {
    server_got = test::receive_exact(s, 5);
    s.send_all("world");
    s.shutdown();
    // Bounded wait for the client's own close_notify (or its TCP close).
    test::receive_to_end(s);
  });
  loop_client client;
  guard(client.loop);
  client.connect(host(), server.port(), client_ctx,
                 [](event_loop& l, id_type id) { l.send(id, "hello"); });
  client.loop.run();
  server.join();
  EXPECT_FALSE(client.done.error) << client.done.message;
  EXPECT_EQ(server_got, "hello");
  EXPECT_EQ(client.got, "world");
  // The server's close_notify is the loop's end of stream: a clean close.
  ASSERT_TRUE(client.closed.seen);
  EXPECT_EQ(client.closed.reason, close_reason::closed) << client.closed.ec.message();
  EXPECT_FALSE(client.closed.ec) << client.closed.ec.message();
}

// localhost over IPv4 only: some systems do not map it to ::1.
TEST(tls_loop_name_test, a_layer_for_localhost_checks_the_name) {
  test::cert_factory certs;
  const tls_context other = test::server_context(certs.other_name);
  const tls_context client_ctx = test::client_context(certs.ca);
  event_loop loop;
  guard(loop);
  listener l;
  l.listen(endpoint::loopback_v4(0));
  const id_type lid = loop.listen(std::move(l), nullptr, other.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  connect_result done;
  loop.connect(
      loop.local_endpoint(lid), 5s,
      [&](event_loop& lp, id_type, const connect_result& r) {
        done = r;
        lp.stop();
      },
      client_ctx.make_layer("localhost", port));
  loop.run();
  EXPECT_EQ(&done.error.category(), &tls_verify_category()) << done.message;
  EXPECT_NE(done.message.find("certificate verify failed: hostname mismatch"), std::string::npos)
      << done.message;
}

TEST_P(tls_loop_test, a_verifying_layer_without_a_name_fails_on_done) {
  event_loop loop;
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, server_ctx.layer_factory());
  connect_result done;
  loop.connect(
      loop.local_endpoint(lid), 5s,
      [&](event_loop& l, id_type, const connect_result& r) {
        done = r;
        l.stop();
      },
      client_ctx.make_layer());
  loop.run();
  EXPECT_EQ(done.error, tls_errc::no_server_name) << done.message;
  EXPECT_TRUE(test::one_line(done.message)) << done.message;
}

TEST_P(tls_loop_test, shutdown_send_is_a_close_notify_and_the_reply_still_arrives) {
  std::string server_got;
  std::error_code server_end;
  test::tls_server server(GetParam(), server_ctx, [&](tls_stream& s) {
    const auto r = test::receive_to_end(s);
    server_got = r.data;
    server_end = r.ec;
    s.send_all("reply");
    s.shutdown();
  });
  loop_client client;
  guard(client.loop);
  const id_type id = client.connect(host(), server.port(), client_ctx);
  // Both before the handshake: the request, then the end of it.
  client.loop.send(id, "request");
  client.loop.shutdown_send(id);
  client.loop.run();
  server.join();
  EXPECT_FALSE(client.done.error) << client.done.message;
  EXPECT_EQ(server_got, "request");
  EXPECT_FALSE(server_end) << "the server read " << server_end.message()
                           << " instead of close_notify";
  EXPECT_EQ(client.got, "reply");
  ASSERT_TRUE(client.closed.seen);
  EXPECT_EQ(client.closed.reason, close_reason::closed) << client.closed.ec.message();
}

TEST_P(tls_loop_test, the_server_class_serves_tls_through_its_layers) {
  server::callbacks cb;
  cb.on_data = [](server& srv, server::connection_id id, std::string_view bytes) {
    srv.send(id, bytes);
  };
  server srv(make_listener(), {}, cb, server_ctx.layer_factory());
  const auto port = srv.local_endpoint().port();
  std::string got;
  test::received end;
  std::thread client([&] {
    try {
      tls_stream s(client_ctx);
      s.connect(host(), port, 5s);
      s.send_all("over the server class");
      got = test::receive_exact(s, 21);
      s.shutdown();
      end = test::receive_to_end(s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "client: " << e.what();
    }
    srv.stop();
  });
  srv.run();
  client.join();
  EXPECT_EQ(got, "over the server class");
  // No on_end_of_stream: the server ends the connection after the client's
  // close_notify, with its own.
  EXPECT_FALSE(end.ec) << end.ec.message();
}

// Where the client's first sends are made.
enum class first_sends { from_on_done, from_posted_work };

void sixteen_mebibytes_through_backpressure(const listener_maker& make_listener,
                                            const std::string& host, const tls_context& server_ctx,
                                            const tls_context& client_ctx, first_sends start) {
  // More than the loopback's socket buffers take in one turn, many times max_output:
  // the client's sends are refused with no_buffer_space and go on from on_drained;
  // the echo server's queue pauses the reading of its own connection. Both through
  // the TLS layers.
  constexpr std::size_t total = 16 * 1024 * 1024;
  constexpr std::size_t chunk = 64 * 1024;
  const std::string data = test::pattern(total, 4);
  id_type client = 0;
  std::size_t sent = 0;
  std::size_t refusals = 0;
  std::string client_got;
  bool mismatch = false;

  const auto pump = [&](event_loop& loop) {
    // Each pass sends a chunk or stops: total / chunk passes at most.
    for (std::size_t passes = 0; sent < total && passes <= total / chunk; ++passes) {
      std::error_code ec;
      const std::size_t n = std::min(chunk, total - sent);
      if (!loop.send(client, std::string_view(data).substr(sent, n), ec)) {
        EXPECT_EQ(ec, std::errc::no_buffer_space) << ec.message();
        ++refusals;
        return;
      }
      sent += n;
    }
  };
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    if (id != client) {
      loop.send(id, bytes);
      return;
    }
    if (std::string_view(data).substr(client_got.size(), bytes.size()) != bytes) mismatch = true;
    client_got.append(bytes.data(), bytes.size());
    if (client_got.size() >= total || mismatch) loop.stop();
  };
  cb.on_drained = [&](event_loop& loop, id_type id) {
    if (id == client) pump(loop);
  };
  loop_options options;
  options.max_output = 256 * 1024;
  options.pause_reading_above = 128 * 1024;
  options.resume_reading_below = 32 * 1024;
  event_loop loop(options, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  connect_result done;
  client = loop.connect(
      host, port, 5s,
      [&](event_loop& l, id_type, const connect_result& r) {
        done = r;
        if (r.error) {
          l.stop();
        } else if (start == first_sends::from_on_done) {
          // on_done's sends are no flow (loop_options::pause_reading_above): they
          // must not pause this connection's own reading.
          pump(l);
        } else {
          l.post([&](event_loop& lp) { pump(lp); });
        }
      },
      client_ctx.make_layer(host, port));
  loop.run();
  EXPECT_FALSE(done.error) << done.message;
  EXPECT_FALSE(mismatch) << "the echo differs after " << client_got.size() << " bytes";
  EXPECT_EQ(sent, total);
  EXPECT_EQ(client_got.size(), total);
  EXPECT_GT(refusals, 0u) << "the test did not reach max_output";
}

TEST_P(tls_loop_test, sixteen_mebibytes_through_backpressure_from_on_done) {
  sixteen_mebibytes_through_backpressure([this] { return make_listener(); }, host(), server_ctx,
                                         client_ctx, first_sends::from_on_done);
}

TEST_P(tls_loop_test, sixteen_mebibytes_through_backpressure_from_posted_work) {
  sixteen_mebibytes_through_backpressure([this] { return make_listener(); }, host(), server_ctx,
                                         client_ctx, first_sends::from_posted_work);
}

TEST_P(tls_loop_test, sixteen_tls_clients_at_once) {
  constexpr int clients = 16;
  std::map<id_type, std::string> expected;
  std::map<id_type, std::string> got;
  int finished = 0;
  int failed = 0;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    const auto it = expected.find(id);
    if (it == expected.end()) {
      loop.send(id, bytes);  // a server connection: echo
      return;
    }
    got[id].append(bytes.data(), bytes.size());
    if (got[id].size() >= it->second.size()) loop.close(id);
  };
  cb.on_close = [&](event_loop& loop, id_type id, close_reason, const std::error_code&) {
    if (expected.count(id) != 0 && ++finished + failed == clients) loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  for (int i = 0; i < clients; ++i) {
    const id_type id = loop.connect(
        host(), port, 5s,
        [&](event_loop& l, id_type, const connect_result& r) {
          if (!r.error) return;
          ADD_FAILURE() << r.message;
          if (finished + ++failed == clients) l.stop();
        },
        client_ctx.make_layer(host(), port));
    expected[id] =
        test::pattern(1000 + static_cast<std::size_t>(i) * 997, static_cast<unsigned>(i));
    loop.send(id, expected[id]);
  }
  loop.run();
  EXPECT_EQ(finished, clients);
  for (const auto& [id, bytes] : expected) {
    EXPECT_TRUE(got[id] == bytes) << "client " << id << " got " << got[id].size() << " of "
                                  << bytes.size() << " bytes";
  }
}

TEST_P(tls_loop_test, an_adopted_socket_makes_its_handshake_through_the_layer) {
  listener l = make_listener();
  const endpoint where = l.local_endpoint();
  std::string got;
  test::received end;
  std::thread client([&] {
    try {
      tls_stream s(client_ctx);
      s.connect(host(), where.port(), 5s);
      s.send_all("adopted");
      got = test::receive_exact(s, 7);
      s.shutdown();
      end = test::receive_to_end(s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "client: " << e.what();
    }
  });
  closed_with closed;
  event_loop::callbacks cb;
  cb.on_data = [](event_loop& loop, id_type id, std::string_view bytes) { loop.send(id, bytes); };
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code& ec) {
    closed = {true, r, ec};
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  loop.adopt(l.accept(5s).socket, server_ctx.make_layer());
  loop.run();
  client.join();
  EXPECT_EQ(got, "adopted");
  EXPECT_FALSE(end.ec) << end.ec.message();
  ASSERT_TRUE(closed.seen);
  EXPECT_EQ(closed.reason, close_reason::closed) << closed.ec.message();
}

TEST_P(tls_loop_test, an_aborted_connection_is_truncated_for_the_peer) {
  // close_mode::abort sends nothing more, close_notify included: the peer can tell.
  test::received client_end;
  std::string server_got;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    server_got.append(bytes.data(), bytes.size());
    loop.send(id, "last words");
    // After the send is written (at once: nothing is queued), the abort.
    loop.close(id, close_mode::abort);
  };
  cb.on_close = [](event_loop& loop, id_type, close_reason, const std::error_code&) {
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  std::thread client([&] {
    try {
      tls_stream s(client_ctx);
      s.connect(host(), port, 5s);
      s.send_all("x");
      client_end = test::receive_to_end(s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "client: " << e.what();
    }
  });
  loop.run();
  client.join();
  EXPECT_EQ(server_got, "x");
  EXPECT_EQ(client_end.ec, tls_errc::truncated) << client_end.ec.message();
  // What was written before the abort may arrive whole, or not at all (the close
  // may reset it away), never cut.
  EXPECT_TRUE(client_end.data.empty() || client_end.data == "last words") << client_end.data;
}

TEST_P(tls_loop_test, a_layer_resumes_the_session_of_an_earlier_one) {
  std::vector<bool> server_saw_reused;
  test::tls_server server(
      GetParam(), server_ctx,
      [&](tls_stream& s) {
        server_saw_reused.push_back(s.session_reused());
        s.send_all(test::receive_exact(s, 4));
        test::receive_to_end(s);
      },
      2);
  event_loop::callbacks cb;
  int closes = 0;
  std::string got;
  cb.on_data = [&](event_loop& loop, id_type id, std::string_view bytes) {
    got.append(bytes.data(), bytes.size());
    // The echo came after the session tickets: the session is kept by now.
    loop.close(id);
  };
  std::function<void(event_loop&)> connect_once;
  cb.on_close = [&](event_loop& loop, id_type, close_reason, const std::error_code&) {
    if (++closes == 2) {
      loop.stop();
    } else {
      connect_once(loop);
    }
  };
  connect_once = [&](event_loop& loop) {
    loop.connect(
        host(), server.port(), 5s,
        [&](event_loop& l, id_type id, const connect_result& r) {
          if (r.error) {
            ADD_FAILURE() << r.message;
            l.stop();
            return;
          }
          l.send(id, "ping");
        },
        client_ctx.make_layer(host(), server.port()));
  };
  event_loop loop({}, cb);
  guard(loop);
  connect_once(loop);
  loop.run();
  server.join();
  EXPECT_EQ(got, "pingping");
  ASSERT_EQ(server_saw_reused.size(), 2u);
  EXPECT_FALSE(server_saw_reused[0]);
  EXPECT_TRUE(server_saw_reused[1]);
}

TEST_P(tls_loop_test, a_client_that_ends_mid_handshake_is_a_cut_handshake) {
  // The start of a ClientHello (512 bytes announced), then the end of the transport.
  const std::string partial("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  closed_with closed;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code& ec) {
    closed = {true, r, ec};
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, server_ctx.layer_factory());
  stream_socket raw;
  raw.connect(loop.local_endpoint(lid), 5s);
  raw.send_all(partial);
  raw.shutdown(shutdown_type::send);
  loop.run();
  ASSERT_TRUE(closed.seen);
  EXPECT_EQ(closed.reason, close_reason::error);
  EXPECT_EQ(closed.ec, tls_errc::handshake_cut) << closed.ec.message();
}

TEST_P(tls_loop_test, after_the_clients_close_notify_the_server_still_replies) {
  std::string server_got;
  event_loop::callbacks cb;
  cb.on_data = [&](event_loop&, id_type, std::string_view bytes) {
    server_got.append(bytes.data(), bytes.size());
  };
  // The connection stays open for replies after the peer's end of stream.
  cb.on_end_of_stream = [](event_loop& loop, id_type id) {
    loop.send(id, "answer after your end");
    loop.close(id);
  };
  closed_with closed;
  cb.on_close = [&](event_loop& loop, id_type, close_reason r, const std::error_code& ec) {
    closed = {true, r, ec};
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(make_listener(), nullptr, server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  test::received client_end;
  std::thread client([&] {
    try {
      tls_stream s(client_ctx);
      s.connect(host(), port, 5s);
      s.send_all("question");
      s.shutdown();
      client_end = test::receive_to_end(s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "client: " << e.what();
      loop.stop();
    }
  });
  loop.run();
  client.join();
  EXPECT_EQ(server_got, "question");
  EXPECT_EQ(client_end.data, "answer after your end");
  EXPECT_FALSE(client_end.ec) << client_end.ec.message();
  ASSERT_TRUE(closed.seen);
  EXPECT_EQ(closed.reason, close_reason::local);
}

TEST_P(tls_loop_test, a_connects_timeout_covers_its_handshake) {
  // The kernel completes the TCP connection from the backlog; nobody answers the
  // ClientHello.
  listener silent = make_listener();
  const endpoint where = silent.local_endpoint();
  event_loop loop;
  guard(loop);
  connect_result done;
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  loop.connect(
      host(), where.port(), 300ms,
      [&](event_loop& l, id_type, const connect_result& r) {
        done = r;
        ++calls;
        l.stop();
      },
      client_ctx.make_layer(host(), where.port()));
  loop.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(done.error, std::errc::timed_out) << done.message;
  EXPECT_TRUE(test::one_line(done.message)) << done.message;
  EXPECT_NE(done.message.find(peer_text(host(), where.port())), std::string::npos) << done.message;
  EXPECT_EQ(loop.connection_count(), 0u);
}

TEST_P(tls_loop_test, closing_a_connect_during_its_handshake_cancels_it) {
  listener silent = make_listener();
  const endpoint where = silent.local_endpoint();
  int closes = 0;
  event_loop::callbacks cb;
  cb.on_close = [&](event_loop&, id_type, close_reason, const std::error_code&) { ++closes; };
  event_loop loop({}, cb);
  guard(loop);
  connect_result done;
  int calls = 0;
  const id_type id = loop.connect(
      host(), where.port(), 5s,
      [&](event_loop& l, id_type, const connect_result& r) {
        done = r;
        ++calls;
        l.stop();
      },
      client_ctx.make_layer(host(), where.port()));
  // The TCP connection is up within a turn or two; the handshake never ends. Closed
  // from a timer, long before the connect's own limit.
  loop.after(100ms, [id](event_loop& l) { l.close(id); });
  loop.run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(done.error, std::errc::operation_canceled) << done.message;
  EXPECT_EQ(closes, 0) << "a cancelled connect has no on_close";
  EXPECT_EQ(loop.connection_count(), 0u);
}

// A server that speaks first, from on_accept, before the handshake is over: the bytes
// wait for it. With `close_at_once`, a graceful close follows at once (a banner
// server): the queued bytes and the close_notify still go out, after the handshake.
void greeting_from_on_accept(const listener_maker& make_listener, const std::string& host,
                             const tls_context& server_ctx, const tls_context& client_ctx,
                             bool close_at_once) {
  event_loop::callbacks cb;
  cb.on_data = [](event_loop& loop, id_type id, std::string_view bytes) { loop.send(id, bytes); };
  cb.on_close = [](event_loop& loop, id_type, close_reason, const std::error_code&) {
    loop.stop();
  };
  event_loop loop({}, cb);
  guard(loop);
  const id_type lid = loop.listen(
      make_listener(),
      [close_at_once](event_loop& l, id_type id, const endpoint&) {
        l.send(id, "welcome\n");
        if (close_at_once) l.close(id);
      },
      server_ctx.layer_factory());
  const auto port = loop.local_endpoint(lid).port();
  std::string greeting;
  test::received rest;
  std::thread client([&] {
    try {
      tls_stream s(client_ctx);
      s.connect(host, port, 5s);
      greeting = test::receive_exact(s, 8);
      if (!close_at_once) {
        s.send_all("echo");
        s.shutdown();
      }
      rest = test::receive_to_end(s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "client: " << e.what();
      loop.stop();
    }
  });
  loop.run();
  client.join();
  EXPECT_EQ(greeting, "welcome\n");
  EXPECT_EQ(rest.data, close_at_once ? "" : "echo");
  EXPECT_FALSE(rest.ec) << rest.ec.message();
}

TEST_P(tls_loop_test, a_server_greeting_from_on_accept_waits_for_the_handshake) {
  greeting_from_on_accept([this] { return make_listener(); }, host(), server_ctx, client_ctx,
                          false);
}

TEST_P(tls_loop_test, a_graceful_close_from_on_accept_sends_the_greeting_first) {
  greeting_from_on_accept([this] { return make_listener(); }, host(), server_ctx, client_ctx, true);
}

XSOCK_INSTANTIATE_FAMILIES(tls_loop_test);

}  // namespace
}  // namespace xsock
