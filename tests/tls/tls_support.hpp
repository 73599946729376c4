// Helpers of the TLS tests: contexts from the test certificates, a blocking TLS server
// on a thread, bounded reads.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "cert_factory.hpp"
#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/listener.hpp"
#include "xsock/tls_context.hpp"
#include "xsock/tls_error.hpp"
#include "xsock/tls_stream.hpp"

namespace xsock::test {

using namespace std::chrono_literals;

// Every blocking step of a test is bounded by this (a broken library fails the test,
// it does not hang it).
constexpr auto step_timeout = 10s;

inline tls_context server_context(const cert_files& files) {
  tls_context ctx(tls_role::server);
  ctx.use_certificate_chain_file(files.cert);
  ctx.use_private_key_file(files.key);
  return ctx;
}

inline tls_context client_context(const std::string& ca_file) {
  tls_context ctx(tls_role::client);
  ctx.load_verify_file(ca_file);
  return ctx;
}

// The numeric loopback address of a family, as a host to connect to.
inline std::string numeric_host(family f) {
  return f == family::v4 ? "127.0.0.1" : "::1";
}

// "127.0.0.1:PORT", "[::1]:PORT": how the library's messages name a numeric peer.
inline std::string peer_text(const std::string& numeric, std::uint16_t port) {
  return endpoint::from_address(numeric, port).to_string();
}

inline bool one_line(const std::string& text) {
  return !text.empty() && text.find('\n') == std::string::npos &&
         text.find('\r') == std::string::npos;
}

// `size` bytes of every value, from a fixed seed (a failure is reproducible).
inline std::string pattern(std::size_t size, unsigned seed = 22) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(size, '\0');
  for (auto& c : s)
    c = static_cast<char>(byte(gen));
  return s;
}

// Receives exactly `size` bytes; fewer when the stream ends or fails first (`ec` says
// which: an end of stream leaves it clear).
inline std::string receive_exact(tls_stream& s, std::size_t size, std::error_code& ec) {
  std::string out;
  std::vector<char> buf(64 * 1024);
  ec.clear();
  // Each call returns at least one byte or ends the loop: `size` calls at most.
  for (std::size_t calls = 0; out.size() < size && calls < size; ++calls) {
    const std::size_t n =
        s.receive(buf.data(), std::min(buf.size(), size - out.size()), step_timeout, ec);
    if (ec || n == 0) break;
    out.append(buf.data(), n);
  }
  return out;
}

inline std::string receive_exact(tls_stream& s, std::size_t size) {
  std::error_code ec;
  std::string out = receive_exact(s, size, ec);
  EXPECT_FALSE(ec) << "receive: " << ec.message();
  return out;
}

// What arrived until the stream ended (`ec` clear: close_notify) or failed.
struct received {
  std::string data;
  std::error_code ec;
};

inline received receive_to_end(tls_stream& s, std::size_t limit = 16 * 1024 * 1024) {
  received r;
  char buf[16 * 1024];
  for (std::size_t calls = 0; calls <= limit; ++calls) {
    const std::size_t n = s.receive(buf, sizeof buf, step_timeout, r.ec);
    if (r.ec || n == 0) break;
    r.data.append(buf, n);
    if (r.data.size() > limit) {
      ADD_FAILURE() << "more than " << limit << " bytes before the end of stream";
      break;
    }
  }
  return r;
}

// A blocking TLS server on its own thread: accepts `count` connections on a listener
// of the family (port 0), makes each handshake with `context` and hands the stream to
// `serve`. A handshake that fails is recorded (`handshake_errors`, `handshake_messages`)
// and the next connection accepted. Every wait is bounded by `step_timeout`.
class tls_server {
 public:
  using serve_fn = std::function<void(tls_stream&)>;

  tls_server(family f, tls_context context, serve_fn serve, int count = 1)
      : context_(std::move(context)), serve_(std::move(serve)) {
    listen_options options;
    options.v6_only = f == family::v6;
    listener_.listen(loopback(f, 0), options);
    where_ = listener_.local_endpoint();
    thread_ = std::thread([this, count] { run(count); });
  }
  ~tls_server() { join(); }
  tls_server(const tls_server&) = delete;
  tls_server& operator=(const tls_server&) = delete;

  std::uint16_t port() const { return where_.port(); }
  const endpoint& where() const { return where_; }

  void join() {
    if (thread_.joinable()) thread_.join();
  }

  // After join(): one entry per failed handshake, in order.
  std::vector<std::error_code> handshake_errors;
  std::vector<std::string> handshake_messages;
  // After join(): connections served (handshake done).
  int served = 0;

 private:
  void run(int count) {
    for (int i = 0; i < count; ++i) {
      std::error_code ec;
      auto accepted = listener_.accept(step_timeout, ec);
      if (ec) {
        ADD_FAILURE() << "tls_server: accept: " << ec.message();
        return;
      }
      tls_stream stream(context_);
      try {
        stream.handshake(std::move(accepted.socket), "", step_timeout);
      } catch (const error& e) {
        handshake_errors.push_back(e.code());
        handshake_messages.push_back(e.what());
        continue;
      }
      ++served;
      try {
        if (serve_) serve_(stream);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "tls_server: " << e.what();
      }
    }
  }

  tls_context context_;
  serve_fn serve_;
  listener listener_;
  endpoint where_;
  std::thread thread_;
};

}  // namespace xsock::test
