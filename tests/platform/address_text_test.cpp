// Numeric address text: both backends accept and print exactly what glibc's
// inet_pton/inet_ntop do (the expected column was produced by glibc), so
// endpoint::from_address and address_string() are the same on Linux and Windows.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "xsock/endpoint.hpp"

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
// After winsock2.h: if_indextoname (netioapi.h).
#include <iphlpapi.h>
#else
#include <net/if.h>
#endif

namespace {

struct address_case {
  const char* text;
  const char* printed;  // nullptr: rejected
};

const address_case cases[] = {
    {"0.0.0.0", "0.0.0.0"},
    {"255.255.255.255", "255.255.255.255"},
    {"1.2.3.4", "1.2.3.4"},
    {"01.2.3.4", nullptr},
    {"1.2.3", nullptr},
    {"1.2.3.4.5", nullptr},
    {"256.1.1.1", nullptr},
    {"1.2.3.04", nullptr},
    {"1..2.3", nullptr},
    {"1.2.3.4 ", nullptr},
    {" 1.2.3.4", nullptr},
    {"0x1.2.3.4", nullptr},
    {"1.2.3.-4", nullptr},
    {"::", "::"},
    {"::1", "::1"},
    {"1::", "1::"},
    {"::ffff:1.2.3.4", "1.2.3.4"},  // IPv4-mapped prints as IPv4
    {"::1.2.3.4", "::1.2.3.4"},
    {"::ffff:0:1.2.3.4", "::ffff:0:102:304"},
    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
    {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
    {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
    {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
    {"1:0:0:0:2:0:0:3", "1::2:0:0:3"},
    {"0:0:1:0:0:0:0:0", "0:0:1::"},
    {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
    {"1:2:3:4:5:6:7:1.2.3.4", nullptr},
    {"::1:2:3:4:5:6:7:8", nullptr},
    {":::", nullptr},
    {"1:::2", nullptr},
    {"1::2::3", nullptr},
    {"12345::", nullptr},
    {"ABCD:EF01::", "abcd:ef01::"},
    {"abcd:ef01::1", "abcd:ef01::1"},
    {"fe80::1", "fe80::1"},
    {"2001:db8::", "2001:db8::"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
    {"1:2:3:4:5:6:7:8:9", nullptr},
    {"1:", nullptr},
    {":1", nullptr},
    {"::ffff:1.2.3", nullptr},
    {"::ffff:1.2.3.256", nullptr},
    {"1:2::3:4:1.2.3.4", "1:2::3:4:102:304"},
    {"::0:0:0:0:0:0:1", "::1"},
    {"0:0:0:0:0:0:0:0", "::"},
    {"::ffff:ffff", "::255.255.255.255"},
    {"::0.0.0.1", "::1"},
    {"::1.0.0.0", "::1.0.0.0"},
    {"fe80::1%3", "fe80::1%3"},
    {"fe80::1%", nullptr},
    {"", nullptr},
};

TEST(address_text, parses_and_prints_like_glibc) {
  for (const auto& c : cases) {
    std::error_code ec;
    const auto ep = xsock::endpoint::from_address(c.text, 80, ec);
    if (c.printed == nullptr) {
      EXPECT_TRUE(ec) << '"' << c.text << "\" should be rejected, got " << ep.address_string();
      continue;
    }
    ASSERT_FALSE(ec) << '"' << c.text << "\": " << ec.message();
    EXPECT_EQ(ep.address_string(), c.printed) << '"' << c.text << '"';
    EXPECT_EQ(ep.port(), 80);
  }
}

TEST(address_text, round_trips_through_to_string_and_parse) {
  for (const auto& c : cases) {
    if (c.printed == nullptr) continue;
    const auto ep = xsock::endpoint::from_address(c.text, 7788);
    const auto again = xsock::endpoint::parse(ep.to_string());
    EXPECT_EQ(again.to_string(), ep.to_string()) << c.text;
  }
}

// The first network interface the system names, as (index, name): taken from the
// system directly, not through xsock, so the parse below is checked independently.
std::pair<std::uint32_t, std::string> some_interface() {
  for (unsigned index = 1; index <= 256; ++index) {
    char name[256] = {};
    if (::if_indextoname(index, name) != nullptr && name[0] != '\0') return {index, name};
  }
  return {0, ""};
}

TEST(address_text, a_scope_given_by_interface_name_is_that_interfaces_index) {
  const auto [index, name] = some_interface();
  ASSERT_NE(index, 0u) << "the system names no network interface";
  const auto ep = xsock::endpoint::from_address("fe80::1%" + name, 80);
  EXPECT_EQ(ep.scope_id(), index) << name;
  // Printed with the number: a name means something on one machine only.
  EXPECT_EQ(ep.address_string(), "fe80::1%" + std::to_string(index));
  EXPECT_EQ(xsock::endpoint::parse("[fe80::1%" + name + "]:80"), ep);
  std::error_code ec;
  xsock::endpoint::from_address("fe80::1%no-such-interface-xsock", 80, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  xsock::endpoint::from_address("fe80::1%" + std::string(300, 'x'), 80, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
}

}  // namespace
