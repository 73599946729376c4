#include "xsock/error.hpp"

#include <gtest/gtest.h>

#include "support.hpp"
#include "xsock/resolve.hpp"

namespace xsock {
namespace {

TEST(error, messages_are_portable_lower_case_text) {
  // Whatever native code a backend uses, the condition and its text are the same.
  listener l;
  l.listen(endpoint::loopback_v4(0));
  const auto taken = l.local_endpoint();
  listener second;
  try {
    listen_options options;
    options.reuse_address = false;
    second.listen(taken, options);
    FAIL() << "second listen on " << taken << " succeeded";
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code(), std::errc::address_in_use);
    EXPECT_EQ(e.code().category(), socket_category());
    EXPECT_EQ(std::string(e.what()), "bind " + taken.to_string() + ": address already in use");
  }
}

TEST(error, category_maps_native_codes_to_generic_conditions) {
  std::error_code ec;
  endpoint::parse("nonsense", ec);
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec.category(), socket_category());
  EXPECT_EQ(ec, std::errc::invalid_argument);
  EXPECT_EQ(ec.default_error_condition(), std::errc::invalid_argument);
  EXPECT_EQ(ec.message(), "invalid argument");
  EXPECT_STREQ(socket_category().name(), "xsock.socket");
}

TEST(error, resolve_category_is_separate) {
  const std::error_code ec = resolve_errc::host_not_found;
  EXPECT_EQ(ec.category(), resolve_category());
  EXPECT_EQ(ec.message(), "host not found");
  EXPECT_NE(ec, std::errc::invalid_argument);
  EXPECT_EQ(std::error_code(resolve_errc::service_not_found).message(), "service not found");
}

TEST(error, error_is_a_system_error) {
  try {
    throw xsock::error(make_error_code(resolve_errc::try_again), "resolve example:1");
  } catch (const std::system_error& e) {
    EXPECT_EQ(std::string(e.what()), "resolve example:1: temporary failure in name resolution");
  }
}

TEST(error, error_text_reads_the_same_for_every_category) {
  // What the tools print for a failed write or a poller call: the portable text, not
  // the C library's capitalised one ("Broken pipe").
  EXPECT_EQ(error_text(std::make_error_code(std::errc::broken_pipe)), "broken pipe");
  EXPECT_EQ(error_text(std::make_error_code(std::errc::operation_not_permitted)),
            "operation not permitted");
  EXPECT_EQ(error_text(std::make_error_code(std::errc::no_space_on_device)),
            "no space left on device");
  EXPECT_EQ(error_text(std::error_code(resolve_errc::host_not_found)), "host not found");
  EXPECT_EQ(error_text(std::error_code()), "success");
  // EBADF from a file (a closed standard output) is a file's error, not a socket's.
  EXPECT_EQ(error_text(std::make_error_code(std::errc::bad_file_descriptor)),
            "bad file descriptor");
  // A code of socket_category reads the same through error_text and message().
  std::error_code ec;
  endpoint::parse("nonsense", ec);
  EXPECT_EQ(error_text(ec), ec.message());
  // An unknown generic code still starts lower-case.
  const std::string other = error_text(std::error_code(123456, std::generic_category()));
  ASSERT_FALSE(other.empty());
  EXPECT_FALSE(other[0] >= 'A' && other[0] <= 'Z') << other;
}

}  // namespace
}  // namespace xsock
