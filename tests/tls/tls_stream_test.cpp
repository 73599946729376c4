// xsock::tls_stream over real loopback sockets, 127.0.0.1 and ::1: verification (names,
// addresses, trust, expiry), data both ways, close_notify against truncation,
// half-close, stalled and garbled handshakes, ALPN, session resumption, context errors.
// The certificates are made for each test (cert_factory).
#include "xsock/tls_stream.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cert_factory.hpp"
#include "support.hpp"
#include "tls_support.hpp"
#include "xsock/error.hpp"
#include "xsock/listener.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/tls_context.hpp"
#include "xsock/tls_error.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using test::numeric_host;
using test::one_line;
using test::peer_text;
using test::tls_server;

class tls_stream_test : public test::loopback_test {
 protected:
  test::cert_factory certs;
  std::string host() const { return numeric_host(GetParam()); }

  // The handshake as a client of `host()` fails; returns the exception.
  error connect_fails(const tls_context& client, std::uint16_t port) {
    tls_stream s(client);
    try {
      s.connect(host(), port, 5s);
    } catch (const error& e) {
      return e;
    }
    ADD_FAILURE() << "the handshake with " << host() << " succeeded";
    return error(std::error_code(), "");
  }

  // "tls handshake HOST:PORT: certificate verify failed: " (numeric hosts).
  std::string verify_failed_prefix(std::uint16_t port) const {
    return "tls handshake " + peer_text(host(), port) + ": certificate verify failed: ";
  }
};

// Echoes a 1-byte message, then a 1 MiB one (read whole, then sent back: the client
// does the same, so neither side waits on a full buffer), then ends with close_notify.
void echo_one_byte_then_one_mebibyte(tls_stream& s) {
  for (std::size_t size : {std::size_t{1}, std::size_t{1024 * 1024}}) {
    const std::string got = test::receive_exact(s, size);
    ASSERT_EQ(got.size(), size);
    s.send_all(got);
  }
  s.shutdown();
}

TEST_P(tls_stream_test, handshake_and_echo_of_one_byte_and_one_mebibyte) {
  std::vector<std::string> hosts{host()};
  // localhost: the name is checked against DNS:localhost (and sent as SNI). Only over
  // IPv4: some systems do not map localhost to ::1.
  if (GetParam() == test::family::v4) hosts.push_back("localhost");
  tls_server server(GetParam(), test::server_context(certs.server), echo_one_byte_then_one_mebibyte,
                    static_cast<int>(hosts.size()));
  const tls_context client = test::client_context(certs.ca);
  EXPECT_FALSE(client.insecure_skip_verify());

  for (const auto& h : hosts) {
    SCOPED_TRACE(h);
    tls_stream s(client);
    EXPECT_FALSE(s.is_open());
    EXPECT_EQ(s.protocol_version(), "");
    s.connect(h, server.port(), 5s);
    EXPECT_TRUE(s.is_open());
    const std::string version = s.protocol_version();
    EXPECT_TRUE(version == "TLSv1.3" || version == "TLSv1.2") << version;
    EXPECT_EQ(s.peer().port(), server.port());
    EXPECT_EQ(s.alpn_protocol(), "");

    EXPECT_EQ(s.send_all("x"), 1u);
    EXPECT_EQ(test::receive_exact(s, 1), "x");

    const std::string big = test::pattern(1024 * 1024);
    EXPECT_EQ(s.send_all(big), big.size());
    const std::string back = test::receive_exact(s, big.size());
    EXPECT_EQ(back.size(), big.size());
    EXPECT_TRUE(back == big) << "the 1 MiB echo differs";

    const auto end = test::receive_to_end(s);
    EXPECT_FALSE(end.ec) << end.ec.message();
    EXPECT_EQ(end.data, "");
  }
  server.join();
  EXPECT_EQ(server.served, static_cast<int>(hosts.size()));
  EXPECT_TRUE(server.handshake_errors.empty());
}

TEST_P(tls_stream_test, a_certificate_for_another_name_is_refused) {
  tls_server server(GetParam(), test::server_context(certs.other_name), nullptr, 1);
  const error e = connect_fails(test::client_context(certs.ca), server.port());
  const std::string what = e.what();
  EXPECT_EQ(&e.code().category(), &tls_verify_category()) << what;
  EXPECT_TRUE(one_line(what)) << what;
  const std::string prefix = verify_failed_prefix(server.port());
  EXPECT_EQ(what.rfind(prefix, 0), 0u) << what;
  EXPECT_TRUE(what == prefix + "IP address mismatch" || what == prefix + "hostname mismatch")
      << what;
  server.join();
  EXPECT_EQ(server.served, 0);
  EXPECT_EQ(server.handshake_errors.size(), 1u);
}

// localhost over IPv4 only: some systems do not map it to ::1.
// The server's view of SNI: what each handshake's ClientHello named (empty: none).
int record_server_name(SSL* ssl, int*, void* names) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  static_cast<std::vector<std::string>*>(names)->push_back(name == nullptr ? "" : name);
  return SSL_TLSEXT_ERR_OK;
}

// SNI is always sent for a host name, never for an address (RFC 6066). IPv4 only: some
// systems do not map localhost to ::1.
TEST(tls_name_test, a_host_name_is_sent_as_sni_and_an_address_is_not) {
  test::cert_factory certs;
  const tls_context server_ctx = test::server_context(certs.server);
  std::vector<std::string> names;  // written by the server's thread, read after join
  auto* ctx = static_cast<SSL_CTX*>(server_ctx.native_handle());
  SSL_CTX_set_tlsext_servername_callback(ctx, record_server_name);
  SSL_CTX_set_tlsext_servername_arg(ctx, &names);
  tls_server server(
      test::family::v4, server_ctx, [](tls_stream& s) { s.send_all(test::receive_exact(s, 1)); },
      2);
  const tls_context client = test::client_context(certs.ca);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    SCOPED_TRACE(host);
    tls_stream s(client);
    s.connect(host, server.port(), 5s);
    s.send_all("x");
    EXPECT_EQ(test::receive_exact(s, 1), "x");
  }
  server.join();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "localhost");
  for (const std::string& name : names)
    EXPECT_NE(name, "127.0.0.1") << "an address was sent as SNI";
}

TEST(tls_name_test, a_certificate_for_another_host_name_is_refused_by_name) {
  test::cert_factory certs;
  tls_server server(test::family::v4, test::server_context(certs.other_name), nullptr, 2);
  tls_stream s(test::client_context(certs.ca));
  std::error_code ec;
  s.connect("localhost", server.port(), 5s, ec);
  EXPECT_EQ(&ec.category(), &tls_verify_category()) << ec.message();
  EXPECT_EQ(ec.message(), "certificate verify failed: hostname mismatch");
  try {
    tls_stream again(test::client_context(certs.ca));
    again.connect("localhost", server.port(), 5s);
    ADD_FAILURE() << "connected to a server for other.test as localhost";
  } catch (const error& e) {
    // Named as it was asked for, or by the address it reached: either way one line
    // that ends with the reason.
    const std::string what = e.what();
    EXPECT_TRUE(one_line(what)) << what;
    EXPECT_EQ(what.rfind("tls handshake ", 0), 0u) << what;
    const std::string tail = ": certificate verify failed: hostname mismatch";
    ASSERT_GT(what.size(), tail.size());
    EXPECT_EQ(what.substr(what.size() - tail.size()), tail) << what;
  }
}

TEST_P(tls_stream_test, a_certificate_of_an_untrusted_ca_is_refused) {
  tls_server server(GetParam(), test::server_context(certs.untrusted), nullptr);
  const error e = connect_fails(test::client_context(certs.ca), server.port());
  const std::string what = e.what();
  EXPECT_EQ(&e.code().category(), &tls_verify_category()) << what;
  EXPECT_TRUE(one_line(what)) << what;
  const std::string prefix = verify_failed_prefix(server.port());
  ASSERT_EQ(what.rfind(prefix, 0), 0u) << what;
  // OpenSSL's words ("unable to get local issuer certificate", or "self-signed
  // certificate in certificate chain" since the server sends its CA): some reason.
  EXPECT_GT(what.size(), prefix.size() + 5) << what;
}

TEST_P(tls_stream_test, the_system_store_alone_does_not_trust_the_test_ca) {
  tls_server server(GetParam(), test::server_context(certs.server), nullptr);
  const error e = connect_fails(tls_context(tls_role::client), server.port());
  EXPECT_EQ(&e.code().category(), &tls_verify_category()) << e.what();
}

TEST_P(tls_stream_test, an_expired_certificate_is_refused) {
  tls_server server(GetParam(), test::server_context(certs.expired), nullptr);
  const error e = connect_fails(test::client_context(certs.ca), server.port());
  const std::string what = e.what();
  EXPECT_EQ(&e.code().category(), &tls_verify_category()) << what;
  EXPECT_EQ(what, verify_failed_prefix(server.port()) + "certificate has expired");
  EXPECT_EQ(e.code().message(), "certificate verify failed: certificate has expired");
}

TEST_P(tls_stream_test, insecure_skip_verify_accepts_an_untrusted_server) {
  tls_server server(
      GetParam(), test::server_context(certs.untrusted),
      [](tls_stream& s) {
        s.send_all("hi");
        s.shutdown();
      },
      1);
  tls_context client(tls_role::client);
  client.set_insecure_skip_verify(true);
  EXPECT_TRUE(client.insecure_skip_verify());
  tls_stream s(client);
  s.connect(host(), server.port(), 5s);
  const auto r = test::receive_to_end(s);
  EXPECT_EQ(r.data, "hi");
  EXPECT_FALSE(r.ec) << r.ec.message();
}

TEST_P(tls_stream_test, close_notify_is_a_clean_end_of_stream) {
  tls_server server(GetParam(), test::server_context(certs.server), [](tls_stream& s) {
    s.send_all("bye");
    s.shutdown();
    s.close();
  });
  tls_stream s(test::client_context(certs.ca));
  s.connect(host(), server.port(), 5s);
  const auto r = test::receive_to_end(s);
  EXPECT_EQ(r.data, "bye");
  EXPECT_FALSE(r.ec) << r.ec.message();
  // The end stays the end.
  std::error_code ec;
  char c;
  EXPECT_EQ(s.receive(&c, 1, 1s, ec), 0u);
  EXPECT_FALSE(ec) << ec.message();
}

TEST_P(tls_stream_test, a_transport_that_ends_without_close_notify_is_truncated) {
  tls_server server(GetParam(), test::server_context(certs.server), [](tls_stream& s) {
    s.send_all("partial");
    s.close();  // no close_notify
  });
  tls_stream s(test::client_context(certs.ca));
  s.connect(host(), server.port(), 5s);
  const auto r = test::receive_to_end(s);
  // What arrived is delivered first; then the end is reported for what it is.
  EXPECT_EQ(r.data, "partial");
  EXPECT_EQ(r.ec, tls_errc::truncated) << r.ec.message();
  EXPECT_EQ(&r.ec.category(), &tls_category());
}

TEST_P(tls_stream_test, half_close_lets_the_server_still_reply) {
  std::string server_got;
  std::error_code server_end;
  tls_server server(GetParam(), test::server_context(certs.server), [&](tls_stream& s) {
    const auto r = test::receive_to_end(s);
    server_got = r.data;
    server_end = r.ec;
    s.send_all("reply");
    s.shutdown();
  });
  tls_stream s(test::client_context(certs.ca));
  s.connect(host(), server.port(), 5s);
  s.send_all("request");
  s.shutdown();
  const auto r = test::receive_to_end(s);
  EXPECT_EQ(r.data, "reply");
  EXPECT_FALSE(r.ec) << r.ec.message();
  server.join();
  EXPECT_EQ(server_got, "request");
  EXPECT_FALSE(server_end) << server_end.message();
}

TEST_P(tls_stream_test, a_server_that_never_answers_times_the_handshake_out) {
  // The kernel completes the TCP connection from the backlog; nobody ever reads the
  // ClientHello, exactly as a server process that accepted and hung.
  listener silent = make_listener();
  const auto port = silent.local_endpoint().port();
  tls_stream s(test::client_context(certs.ca));
  const auto start = clock_type::now();
  std::error_code ec;
  s.connect(host(), port, 300ms, ec);
  const auto elapsed = clock_type::now() - start;
  EXPECT_EQ(ec, std::errc::timed_out) << ec.message();
  EXPECT_LT(elapsed, 5s);

  // The throwing form says so in one line naming the peer.
  tls_stream again(test::client_context(certs.ca));
  try {
    again.connect(host(), port, 300ms);
    ADD_FAILURE() << "connect to a silent server succeeded";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_TRUE(one_line(e.what())) << e.what();
    EXPECT_NE(std::string(e.what()).find(peer_text(host(), port)), std::string::npos) << e.what();
  }
}

TEST_P(tls_stream_test, a_client_that_never_sends_times_the_server_handshake_out) {
  listener l = make_listener();
  stream_socket raw;
  raw.connect(l.local_endpoint(), 5s);
  auto accepted = l.accept(5s);
  tls_stream s(test::server_context(certs.server));
  const auto start = clock_type::now();
  std::error_code ec;
  s.handshake(std::move(accepted.socket), "", 300ms, ec);
  EXPECT_EQ(ec, std::errc::timed_out) << ec.message();
  EXPECT_LT(clock_type::now() - start, 5s);
}

TEST_P(tls_stream_test, garbage_instead_of_a_client_hello_fails_that_handshake_only) {
  tls_server server(
      GetParam(), test::server_context(certs.server),
      [](tls_stream& s) {
        s.send_all(test::receive_exact(s, 5));
        s.shutdown();
      },
      2);
  // Connected first, so accepted first.
  stream_socket raw;
  raw.connect(server.where(), 5s);
  raw.send_all("GET / HTTP/1.0\r\n\r\n");

  tls_stream s(test::client_context(certs.ca));
  s.connect(host(), server.port(), 5s);
  s.send_all("hello");
  const auto r = test::receive_to_end(s);
  EXPECT_EQ(r.data, "hello");
  EXPECT_FALSE(r.ec) << r.ec.message();

  server.join();
  EXPECT_EQ(server.served, 1);
  ASSERT_EQ(server.handshake_errors.size(), 1u);
  EXPECT_EQ(&server.handshake_errors[0].category(), &tls_library_category())
      << server.handshake_messages[0];
  EXPECT_TRUE(one_line(server.handshake_messages[0])) << server.handshake_messages[0];
  EXPECT_EQ(server.handshake_messages[0].rfind("tls handshake ", 0), 0u)
      << server.handshake_messages[0];
}

TEST_P(tls_stream_test, random_bytes_instead_of_a_client_hello_fail_that_handshake_only) {
  tls_server server(
      GetParam(), test::server_context(certs.server),
      [](tls_stream& s) {
        s.send_all("ok");
        s.shutdown();
      },
      2);
  stream_socket raw;
  raw.connect(server.where(), 5s);
  // Not a handshake record (0x16) whatever follows: refused on the first byte, not
  // waited on.
  std::string junk = test::pattern(64, 7);
  junk[0] = '\x80';
  raw.send_all(junk);

  tls_stream s(test::client_context(certs.ca));
  s.connect(host(), server.port(), 5s);
  EXPECT_EQ(test::receive_to_end(s).data, "ok");
  server.join();
  EXPECT_EQ(server.served, 1);
  ASSERT_EQ(server.handshake_errors.size(), 1u);
  EXPECT_EQ(&server.handshake_errors[0].category(), &tls_library_category())
      << server.handshake_messages[0];
}

// The start of a ClientHello record (type 22, TLS 1.0 record version, 512 bytes
// announced) and of its message: a handshake that the transport then cuts.
const std::string partial_client_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);

TEST_P(tls_stream_test, a_client_that_ends_mid_handshake_cuts_the_server_handshake) {
  listener l = make_listener();
  stream_socket raw;
  raw.connect(l.local_endpoint(), 5s);
  raw.send_all(partial_client_hello);
  raw.shutdown(shutdown_type::send);
  auto accepted = l.accept(5s);
  tls_stream s(test::server_context(certs.server));
  std::error_code ec;
  s.handshake(std::move(accepted.socket), "", 5s, ec);
  EXPECT_EQ(ec, tls_errc::handshake_cut) << ec.message();
}

TEST_P(tls_stream_test, a_server_that_ends_mid_handshake_cuts_the_client_handshake) {
  listener l = make_listener();
  std::thread server([&] {
    std::error_code ec;
    auto accepted = l.accept(5s, ec);
    if (ec) return;
    // Reads the ClientHello (so the close is a FIN, not a reset), answers nothing.
    char buf[4096];
    accepted.socket.receive(buf, sizeof buf, 5s, ec);
    accepted.socket.shutdown(shutdown_type::send, ec);
    accepted.socket.receive(buf, sizeof buf, 5s, ec);
  });
  tls_stream s(test::client_context(certs.ca));
  std::error_code ec;
  s.connect(host(), l.local_endpoint().port(), 5s, ec);
  s.close();  // the server thread waits for this end's close
  server.join();
  EXPECT_EQ(ec, tls_errc::handshake_cut) << ec.message();
}

TEST_P(tls_stream_test, sending_to_a_peer_that_left_fails_without_killing_the_process) {
  tls_server server(GetParam(), test::server_context(certs.server),
                    [](tls_stream& s) { s.close(); });
  tls_stream s(test::client_context(certs.ca));
  s.connect(host(), server.port(), 5s);
  server.join();
  // The first writes may still be taken by the kernel; then the peer's reset shows,
  // and writing on is EPIPE (a SIGPIPE would end the test binary here).
  const std::string block(64 * 1024, 'x');
  std::error_code ec;
  for (int i = 0; i < 64 && !ec; ++i)
    s.send_all(block, ec);
  EXPECT_TRUE(ec);
}

TEST_P(tls_stream_test, a_hashed_ca_folder_is_trusted) {
  // The layout c_rehash makes: the CA under its subject hash, ".0".
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(certs.ca.c_str(), "r"), BIO_free);
  ASSERT_TRUE(in);
  std::unique_ptr<X509, decltype(&X509_free)> ca(
      PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr), X509_free);
  ASSERT_TRUE(ca);
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08lx.0", X509_subject_name_hash(ca.get()));
  const std::filesystem::path folder = std::filesystem::path(certs.dir()) / "hashed";
  std::filesystem::create_directory(folder);
  std::filesystem::copy_file(certs.ca, folder / hash);

  tls_server server(GetParam(), test::server_context(certs.server), [](tls_stream& s) {
    s.send_all("trusted");
    s.shutdown();
  });
  tls_context client(tls_role::client);
  client.load_verify_dir(folder.string());
  tls_stream s(client);
  s.connect(host(), server.port(), 5s);
  EXPECT_EQ(test::receive_to_end(s).data, "trusted");
}

TEST_P(tls_stream_test, alpn_picks_the_servers_choice_among_the_offered) {
  tls_context server_ctx = test::server_context(certs.server);
  server_ctx.set_alpn({"http/1.1"});
  std::string server_alpn = "unset";
  tls_server server(GetParam(), server_ctx, [&](tls_stream& s) {
    server_alpn = s.alpn_protocol();
    s.shutdown();
  });
  tls_context client = test::client_context(certs.ca);
  client.set_alpn({"h2", "http/1.1"});
  tls_stream s(client);
  s.connect(host(), server.port(), 5s);
  EXPECT_EQ(s.alpn_protocol(), "http/1.1");
  EXPECT_FALSE(test::receive_to_end(s).ec);
  server.join();
  EXPECT_EQ(server_alpn, "http/1.1");
}

TEST_P(tls_stream_test, alpn_without_a_common_protocol_goes_on_without_alpn) {
  tls_context server_ctx = test::server_context(certs.server);
  server_ctx.set_alpn({"http/1.1"});
  std::string server_alpn = "unset";
  tls_server server(GetParam(), server_ctx, [&](tls_stream& s) {
    server_alpn = s.alpn_protocol();
    s.shutdown();
  });
  tls_context client = test::client_context(certs.ca);
  client.set_alpn({"h2"});
  tls_stream s(client);
  s.connect(host(), server.port(), 5s);
  EXPECT_EQ(s.alpn_protocol(), "");
  EXPECT_FALSE(test::receive_to_end(s).ec);
  server.join();
  EXPECT_EQ(server_alpn, "");
}

TEST(tls_context_test, alpn_names_must_be_1_to_255_bytes) {
  tls_context ctx(tls_role::client);
  std::error_code ec;
  ctx.set_alpn({""}, ec);
  EXPECT_EQ(ec, tls_errc::bad_alpn);
  ctx.set_alpn({"h2", std::string(256, 'a')}, ec);
  EXPECT_EQ(ec, tls_errc::bad_alpn);
  ctx.set_alpn({"h2", std::string(255, 'a')}, ec);
  EXPECT_FALSE(ec) << ec.message();
  try {
    ctx.set_alpn({""});
    ADD_FAILURE() << "an empty ALPN name was taken";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), tls_errc::bad_alpn);
    EXPECT_TRUE(one_line(e.what())) << e.what();
  }
}

// How a client connection of the resumption tests ends.
enum class client_end {
  // The client sends its own close_notify before the stream goes.
  shutdown,
  // The client reads the server's close_notify and closes without sending its own
  // (as most clients do once the server has said all).
  after_peer_close_notify,
};

// Two connections of one client context to one server: the second resumes the first's
// session when resumption is on.
void expect_resumption(test::family f, const test::cert_factory& certs, bool client_resumes,
                       client_end end) {
  tls_server server(
      f, test::server_context(certs.server),
      [](tls_stream& s) {
        s.send_all(test::receive_exact(s, 4));
        s.shutdown();
        test::receive_to_end(s);
      },
      2);
  tls_context client = test::client_context(certs.ca);
  client.set_session_resumption(client_resumes);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    tls_stream s(client);
    s.connect(numeric_host(f), server.port(), 5s);
    EXPECT_EQ(s.session_reused(), i == 1 && client_resumes);
    // TLS 1.3 sends the session tickets after the handshake: reading the echo reads
    // them too, so the session is known before the next connect.
    s.send_all("ping");
    if (end == client_end::shutdown) {
      EXPECT_EQ(test::receive_exact(s, 4), "ping");
      s.shutdown();
    } else {
      const auto r = test::receive_to_end(s);
      EXPECT_EQ(r.data, "ping");
      EXPECT_FALSE(r.ec) << r.ec.message();
    }
  }
  server.join();
  EXPECT_EQ(server.served, 2);
}

TEST_P(tls_stream_test, the_second_connect_resumes_the_session) {
  expect_resumption(GetParam(), certs, true, client_end::shutdown);
}

TEST_P(tls_stream_test, a_session_survives_a_close_after_the_servers_close_notify) {
  // The stream ended cleanly (the server's close_notify was read): its session is as
  // good as after a shutdown.
  expect_resumption(GetParam(), certs, true, client_end::after_peer_close_notify);
}

TEST_P(tls_stream_test, no_resumption_when_the_client_turns_it_off) {
  expect_resumption(GetParam(), certs, false, client_end::shutdown);
}

TEST_P(tls_stream_test, tls_1_2_sessions_resume_too) {
  tls_server server(
      GetParam(), test::server_context(certs.server),
      [](tls_stream& s) {
        s.send_all(test::receive_exact(s, 4));
        s.shutdown();
        test::receive_to_end(s);
      },
      2);
  tls_context client = test::client_context(certs.ca);
  // No setter caps the version (nothing should): OpenSSL's own, through the handle.
  ASSERT_EQ(
      SSL_CTX_set_max_proto_version(static_cast<SSL_CTX*>(client.native_handle()), TLS1_2_VERSION),
      1);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    tls_stream s(client);
    s.connect(host(), server.port(), 5s);
    EXPECT_EQ(s.protocol_version(), "TLSv1.2");
    EXPECT_EQ(s.session_reused(), i == 1);
    s.send_all("ping");
    EXPECT_EQ(test::receive_exact(s, 4), "ping");
    s.shutdown();
  }
}

TEST_P(tls_stream_test, a_server_with_min_version_1_3_refuses_a_tls_1_2_client) {
  tls_context server_ctx = test::server_context(certs.server);
  server_ctx.set_min_version(tls_version::tls1_3);
  tls_server server(GetParam(), server_ctx, nullptr);
  tls_context client = test::client_context(certs.ca);
  ASSERT_EQ(
      SSL_CTX_set_max_proto_version(static_cast<SSL_CTX*>(client.native_handle()), TLS1_2_VERSION),
      1);
  tls_stream s(client);
  std::error_code ec;
  s.connect(host(), server.port(), 5s, ec);
  // OpenSSL's reason: the server's protocol_version alert.
  EXPECT_EQ(&ec.category(), &tls_library_category()) << ec.message();
  server.join();
  ASSERT_EQ(server.handshake_errors.size(), 1u);
  EXPECT_EQ(&server.handshake_errors[0].category(), &tls_library_category())
      << server.handshake_messages[0];
}

TEST_P(tls_stream_test, a_receive_that_times_out_loses_nothing) {
  tls_server server(GetParam(), test::server_context(certs.server), [](tls_stream& s) {
    // Nothing is sent until the client has timed out once and said so.
    EXPECT_EQ(test::receive_exact(s, 2), "go");
    s.send_all("late");
    s.shutdown();
  });
  tls_stream s(test::client_context(certs.ca));
  s.connect(host(), server.port(), 5s);
  char buf[16];
  std::error_code ec;
  EXPECT_EQ(s.receive(buf, sizeof buf, 100ms, ec), 0u);
  EXPECT_EQ(ec, std::errc::timed_out) << ec.message();
  // A zero size returns at once, and is not an end of stream.
  EXPECT_EQ(s.receive(buf, 0, 5s, ec), 0u);
  EXPECT_FALSE(ec) << ec.message();
  s.send_all("go");
  const auto r = test::receive_to_end(s);
  EXPECT_EQ(r.data, "late");
  EXPECT_FALSE(r.ec) << r.ec.message();
}

TEST_P(tls_stream_test, a_moved_stream_carries_the_connection) {
  tls_server server(GetParam(), test::server_context(certs.server), [](tls_stream& s) {
    s.send_all(test::receive_exact(s, 5));
    s.shutdown();
  });
  tls_stream first(test::client_context(certs.ca));
  first.connect(host(), server.port(), 5s);
  tls_stream second(std::move(first));
  tls_stream third{tls_context(tls_role::client)};
  third = std::move(second);
  EXPECT_TRUE(third.is_open());
  third.send_all("moved");
  EXPECT_EQ(test::receive_to_end(third).data, "moved");
  third.close();
  third.close();  // idempotent
  EXPECT_FALSE(third.is_open());
}

TEST_P(tls_stream_test, a_server_context_without_a_certificate_fails_the_handshake_cleanly) {
  tls_server server(GetParam(), tls_context(tls_role::server), nullptr);
  tls_stream s(test::client_context(certs.ca));
  std::error_code ec;
  s.connect(host(), server.port(), 5s, ec);
  EXPECT_TRUE(ec);
  server.join();
  EXPECT_EQ(server.served, 0);
  ASSERT_EQ(server.handshake_errors.size(), 1u);
  EXPECT_TRUE(server.handshake_errors[0]);
  EXPECT_TRUE(one_line(server.handshake_messages[0])) << server.handshake_messages[0];
}

TEST_P(tls_stream_test, a_verifying_client_needs_a_server_name) {
  tls_server server(
      GetParam(), test::server_context(certs.server),
      [](tls_stream& s) {
        s.send_all("ok");
        s.shutdown();
      },
      2);
  {
    stream_socket raw;
    raw.connect(server.where(), 5s);
    tls_stream s(test::client_context(certs.ca));
    std::error_code ec;
    s.handshake(std::move(raw), "", 5s, ec);
    EXPECT_EQ(ec, tls_errc::no_server_name) << ec.message();
  }
  // Without verification there is nothing to check the name against.
  tls_context insecure(tls_role::client);
  insecure.set_insecure_skip_verify(true);
  stream_socket raw;
  raw.connect(server.where(), 5s);
  tls_stream s(insecure);
  s.handshake(std::move(raw), "", 5s);
  EXPECT_EQ(test::receive_to_end(s).data, "ok");
  server.join();
  EXPECT_EQ(server.served, 1);
}

TEST_P(tls_stream_test, handshake_over_a_connected_socket_checks_the_given_name) {
  tls_server server(GetParam(), test::server_context(certs.server), [](tls_stream& s) {
    s.send_all("ok");
    s.shutdown();
  });
  stream_socket raw;
  raw.connect(server.where(), 5s);
  tls_stream s(test::client_context(certs.ca));
  s.handshake(std::move(raw), host(), 5s);
  EXPECT_EQ(s.peer(), server.where());
  EXPECT_EQ(test::receive_to_end(s).data, "ok");
}

TEST_P(tls_stream_test, a_server_context_cannot_connect) {
  listener l = make_listener();
  tls_stream s(test::server_context(certs.server));
  std::error_code ec;
  s.connect(host(), l.local_endpoint().port(), 5s, ec);
  EXPECT_EQ(ec, tls_errc::wrong_role) << ec.message();
}

TEST(tls_context_test, a_stream_before_its_handshake_is_not_established) {
  tls_stream s{tls_context(tls_role::client)};
  std::error_code ec;
  EXPECT_EQ(s.send_all("x", ec), 0u);
  EXPECT_EQ(ec, tls_errc::not_established);
  char c;
  EXPECT_EQ(s.receive(&c, 1, 1s, ec), 0u);
  EXPECT_EQ(ec, tls_errc::not_established);
}

TEST(tls_context_test, a_missing_file_is_named) {
  tls_context ctx(tls_role::client);
  const std::string missing = "/nonexistent/xsock-ca.pem";
  try {
    ctx.load_verify_file(missing);
    ADD_FAILURE() << "a missing CA file was loaded";
  } catch (const error& e) {
    // The system's reason, as for any file (OpenSSL reports the fopen failure).
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory) << e.what();
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_TRUE(one_line(e.what())) << e.what();
  }
  std::error_code ec;
  ctx.load_verify_file(missing, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory) << ec.message();

  tls_context server(tls_role::server);
  server.use_certificate_chain_file(missing, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory) << ec.message();
  server.use_private_key_file(missing, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory) << ec.message();
}

TEST(tls_context_test, a_missing_ca_folder_is_named) {
  // OpenSSL only records a folder, to look in at verification: a typo would show up
  // as every server being untrusted, far from its cause.
  tls_context ctx(tls_role::client);
  const std::string missing = "/nonexistent/xsock-certs";
  std::error_code ec;
  ctx.load_verify_dir(missing, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory) << ec.message();
  try {
    ctx.load_verify_dir(missing);
    ADD_FAILURE() << "a missing CA folder was taken";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

TEST(tls_context_test, a_file_that_is_not_pem_is_refused) {
  test::cert_factory certs;
  // A key is not a certificate, nor a CA list.
  tls_context ctx(tls_role::server);
  std::error_code ec;
  ctx.use_certificate_chain_file(certs.server.key, ec);
  // OpenSSL's reason ("no start line").
  EXPECT_EQ(&ec.category(), &tls_library_category()) << ec.message();
  try {
    ctx.use_certificate_chain_file(certs.server.key);
    ADD_FAILURE() << "a key was taken for a certificate";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find(certs.server.key), std::string::npos) << e.what();
    EXPECT_TRUE(one_line(e.what())) << e.what();
  }
}

TEST(tls_context_test, a_key_of_another_certificate_is_a_mismatch) {
  test::cert_factory certs;
  tls_context ctx(tls_role::server);
  ctx.use_certificate_chain_file(certs.server.cert);
  std::error_code ec;
  ctx.use_private_key_file(certs.other_name.key, ec);
  EXPECT_EQ(ec, tls_errc::key_mismatch) << ec.message();
  try {
    ctx.use_private_key_file(certs.other_name.key);
    ADD_FAILURE() << "a key of another certificate was taken";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), tls_errc::key_mismatch);
    EXPECT_TRUE(one_line(e.what())) << e.what();
  }
  ctx.use_private_key_file(certs.server.key, ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST(tls_context_test, a_context_is_a_shared_handle) {
  tls_context a(tls_role::client);
  tls_context b = a;
  b.set_insecure_skip_verify(true);
  EXPECT_TRUE(a.insecure_skip_verify());
  EXPECT_EQ(a.native_handle(), b.native_handle());
  EXPECT_NE(a.native_handle(), nullptr);
  EXPECT_EQ(a.role(), tls_role::client);
  EXPECT_EQ(tls_context(tls_role::server).role(), tls_role::server);
}

XSOCK_INSTANTIATE_FAMILIES(tls_stream_test);

}  // namespace
}  // namespace xsock
