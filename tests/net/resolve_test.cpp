#include "xsock/resolve.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "xsock/error.hpp"

namespace xsock {
namespace {

TEST(resolve, numeric_addresses_resolve_to_themselves) {
  const auto v4 = resolve("127.0.0.1", "7788");
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0], endpoint::loopback_v4(7788));
  const auto v6 = resolve("::1", "80");
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0], endpoint::loopback_v6(80));
}

TEST(resolve, localhost_gives_loopback_addresses_only) {
  const auto list = resolve("localhost", "1234");
  ASSERT_FALSE(list.empty());
  for (const auto& ep : list) {
    EXPECT_TRUE(ep.is_loopback()) << ep;
    EXPECT_EQ(ep.port(), 1234);
  }
  // No duplicates even though getaddrinfo may list an address once per socket type.
  auto sorted = list;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

TEST(resolve, unknown_host_is_a_resolve_error) {
  // .invalid is reserved (RFC 2606) and never resolves.
  std::error_code ec;
  const auto list = resolve("no-such-host.invalid", "80", ec);
  EXPECT_TRUE(list.empty());
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec.category(), resolve_category());
  EXPECT_TRUE(ec == resolve_errc::host_not_found || ec == resolve_errc::try_again ||
              ec == resolve_errc::no_data)
      << ec.message();
  try {
    resolve("no-such-host.invalid", "80");
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("resolve no-such-host.invalid:80: ", 0), 0u) << e.what();
  }
}

TEST(resolve, unknown_service_is_a_resolve_error) {
  std::error_code ec;
  resolve("127.0.0.1", "no-such-service-xsock", ec);
  EXPECT_EQ(ec, resolve_errc::service_not_found) << ec.message();
}

}  // namespace
}  // namespace xsock
