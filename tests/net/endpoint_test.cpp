#include "xsock/endpoint.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "xsock/error.hpp"

namespace xsock {
namespace {

TEST(endpoint, default_is_ipv4_any_port_zero) {
  endpoint ep;
  EXPECT_TRUE(ep.is_v4());
  EXPECT_TRUE(ep.is_unspecified());
  EXPECT_EQ(ep.port(), 0);
  EXPECT_EQ(ep.to_string(), "0.0.0.0:0");
}

TEST(endpoint, parses_and_formats_ipv4) {
  const auto ep = endpoint::parse("192.168.1.20:7788");
  EXPECT_TRUE(ep.is_v4());
  EXPECT_EQ(ep.port(), 7788);
  EXPECT_EQ(ep.address_string(), "192.168.1.20");
  EXPECT_EQ(ep.to_string(), "192.168.1.20:7788");
  EXPECT_EQ((ep.v4_bytes()), (endpoint::bytes_v4{192, 168, 1, 20}));
}

TEST(endpoint, parses_and_formats_ipv6) {
  const auto ep = endpoint::parse("[::1]:80");
  EXPECT_TRUE(ep.is_v6());
  EXPECT_TRUE(ep.is_loopback());
  EXPECT_EQ(ep.port(), 80);
  EXPECT_EQ(ep.to_string(), "[::1]:80");
  EXPECT_EQ(endpoint::parse("[2001:db8:0:0:0:0:0:1]:443").to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(endpoint::parse("[::]:0").to_string(), "[::]:0");
  EXPECT_EQ(endpoint::parse("[fe80::1%7]:22").scope_id(), 7u);
  EXPECT_EQ(endpoint::parse("[fe80::1%7]:22").to_string(), "[fe80::1%7]:22");
}

TEST(endpoint, ipv4_mapped_ipv6_formats_as_ipv4) {
  const auto ep = endpoint::parse("[::ffff:10.1.2.3]:8080");
  EXPECT_TRUE(ep.is_v6());
  EXPECT_TRUE(ep.is_v4_mapped());
  EXPECT_EQ(ep.address_string(), "10.1.2.3");
  EXPECT_EQ(ep.to_string(), "10.1.2.3:8080");
  EXPECT_EQ((ep.v4_bytes()), (endpoint::bytes_v4{10, 1, 2, 3}));
  EXPECT_TRUE(endpoint::parse("[::ffff:127.0.0.1]:1").is_loopback());
}

TEST(endpoint, helpers) {
  EXPECT_EQ(endpoint::any_v4(5).to_string(), "0.0.0.0:5");
  EXPECT_EQ(endpoint::any_v6(5).to_string(), "[::]:5");
  EXPECT_EQ(endpoint::loopback_v4(6).to_string(), "127.0.0.1:6");
  EXPECT_EQ(endpoint::loopback_v6(6).to_string(), "[::1]:6");
  EXPECT_TRUE(endpoint::loopback_v4().is_loopback());
  EXPECT_TRUE(endpoint::loopback_v6().is_loopback());
  EXPECT_FALSE(endpoint::any_v6().is_loopback());
  EXPECT_TRUE(endpoint::any_v6().is_unspecified());
}

TEST(endpoint, from_address) {
  EXPECT_EQ(endpoint::from_address("::1", 9).to_string(), "[::1]:9");
  EXPECT_EQ(endpoint::from_address("10.0.0.1", 9).to_string(), "10.0.0.1:9");
  std::error_code ec;
  endpoint::from_address("[::1]", 9, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
}

TEST(endpoint, port_boundaries) {
  EXPECT_EQ(endpoint::parse("1.2.3.4:0").port(), 0);
  EXPECT_EQ(endpoint::parse("1.2.3.4:65535").port(), 65535);
  EXPECT_EQ(endpoint::parse("1.2.3.4:00080").port(), 80);
}

class endpoint_bad_text : public testing::TestWithParam<const char*> {};

TEST_P(endpoint_bad_text, is_rejected_with_the_text_in_the_message) {
  const std::string text = GetParam();
  std::error_code ec;
  endpoint::parse(text, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument) << text;
  try {
    endpoint::parse(text);
    FAIL() << "no exception for " << text;
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("\"" + text + "\""), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(texts, endpoint_bad_text,
                         testing::Values("", "1.2.3.4", "1.2.3.4:", ":80", "1.2.3.4:65536",
                                         "1.2.3.4:123456", "1.2.3.4:-1", "1.2.3.4:8o", "1.2.3:80",
                                         "1.2.3.4.5:80", "256.1.1.1:80", "localhost:80", "::1:80",
                                         "[::1]", "[::1]80", "[::1:80", "[1.2.3.4]:80", "[::g]:80",
                                         "[]:80", "[::1]:", "[fe80::1%]:1", "1.2.3.4 :80",
                                         " 1.2.3.4:80", "1.2.3.4:80 "));

TEST(endpoint, comparison_and_stream) {
  EXPECT_EQ(endpoint::parse("1.2.3.4:5"), endpoint(endpoint::bytes_v4{1, 2, 3, 4}, 5));
  EXPECT_NE(endpoint::parse("1.2.3.4:5"), endpoint::parse("1.2.3.4:6"));
  EXPECT_NE(endpoint::parse("[::ffff:1.2.3.4]:5"), endpoint::parse("1.2.3.4:5"));
  EXPECT_LT(endpoint::parse("1.2.3.4:5"), endpoint::parse("1.2.3.5:5"));
  EXPECT_LT(endpoint::parse("9.9.9.9:5"), endpoint::parse("[::1]:5"));
  std::ostringstream os;
  os << endpoint::parse("[::1]:7788");
  EXPECT_EQ(os.str(), "[::1]:7788");
}

}  // namespace
}  // namespace xsock
