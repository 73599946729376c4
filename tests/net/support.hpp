// Helpers for the loopback tests: both address families, connected pairs.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

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
