// Helpers for the loopback tests: both address families, connected pairs.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "xsock/endpoint.hpp"
#include "xsock/listener.hpp"
#include "xsock/stream_socket.hpp"

namespace xsock::test {

enum class family { v4, v6 };

inline std::string family_name(const testing::TestParamInfo<family>& info) {
  return info.param == family::v4 ? "ipv4" : "ipv6";
}

inline endpoint loopback(family f, std::uint16_t port = 0) {
  return f == family::v4 ? endpoint::loopback_v4(port) : endpoint::loopback_v6(port);
}

// True when this machine can listen on ::1 (containers often lack IPv6).
inline bool ipv6_available() {
  static const bool available = [] {
    listener l;
    std::error_code ec;
    l.listen(endpoint::loopback_v6(0), listen_options{}, ec);
    return !ec;
  }();
  return available;
}

// Parameterised over 127.0.0.1 and ::1; skips ::1 (saying so) without IPv6.
class loopback_test : public testing::TestWithParam<family> {
 protected:
  void SetUp() override {
    if (GetParam() == family::v6 && !ipv6_available()) {
      GTEST_SKIP() << "this machine has no IPv6 loopback (::1 cannot be bound)";
    }
  }
  endpoint any_port() const { return loopback(GetParam(), 0); }

  // A listener on the loopback address of the test's family, ephemeral port.
  listener make_listener(int backlog = 128) const {
    listener l;
    listen_options options;
    options.backlog = backlog;
    l.listen(any_port(), options);
    return l;
  }
};

// A listener that never accepts and whose backlog is full: the system drops further
// connection requests, so a connect to it can only end by its time limit (the dead
// address of the connect-timeout and Happy Eyeballs tests, on loopback).
struct dead_listener {
  listener socket;
  std::vector<stream_socket> queue;
  std::error_code last;  // what ended the filling: timed_out once the backlog is full

  explicit dead_listener(const endpoint& where) {
    listen_options options;
    options.backlog = 1;
    options.v6_only = where.is_v6();
    socket.listen(where, options);
    for (int i = 0; i < 64; ++i) {
      stream_socket c;
      c.connect(socket.local_endpoint(), std::chrono::milliseconds(200), last);
      if (last) break;
      queue.push_back(std::move(c));
    }
  }
  endpoint address() const { return socket.local_endpoint(); }
  // The backlog is full (the last connect timed out): connects to it hang.
  bool full() const { return last == std::errc::timed_out; }
};

struct socket_pair {
  stream_socket client;
  stream_socket server;
};

// A connected client/server pair over `l`.
inline socket_pair connect_pair(listener& l) {
  socket_pair p;
  p.client.connect(l.local_endpoint());
  p.server = l.accept(std::chrono::seconds(10)).socket;
  return p;
}

#define XSOCK_INSTANTIATE_FAMILIES(suite)                                                     \
  INSTANTIATE_TEST_SUITE_P(loopback, suite,                                                   \
                           testing::Values(xsock::test::family::v4, xsock::test::family::v6), \
                           xsock::test::family_name)

}  // namespace xsock::test
