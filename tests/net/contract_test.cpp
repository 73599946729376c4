// The promises of the API as a whole: every error_code form is noexcept (or says it
// may throw only std::bad_alloc), error texts are lower-case and name what failed,
// bad input is refused rather than cut short, accept errors have one meaning.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <system_error>
#include <utility>

#include "net/accept_policy.hpp"
#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/listener.hpp"
#include "xsock/poller.hpp"
#include "xsock/resolve.hpp"
#include "xsock/server.hpp"
#include "xsock/stream_socket.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;

template <typename T>
T& lvalue() noexcept;

// The error_code forms that promise not to throw at all.
static_assert(noexcept(lvalue<stream_socket>().connect(lvalue<endpoint>(),
                                                       lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().connect(lvalue<endpoint>(), lvalue<time_limit>(),
                                                       lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().send(nullptr, 0, lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().send_all(nullptr, 0, lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().receive(nullptr, 0, lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().receive(nullptr, 0, lvalue<time_limit>(),
                                                       lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().wait(readiness::readable, lvalue<time_limit>(),
                                                    lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().shutdown(shutdown_type::send,
                                                        lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().set_no_delay(true, lvalue<std::error_code>())));
static_assert(noexcept(lvalue<stream_socket>().local_endpoint(lvalue<std::error_code>())));
static_assert(noexcept(lvalue<listener>().listen(lvalue<endpoint>(), listen_options{},
                                                 lvalue<std::error_code>())));
static_assert(noexcept(lvalue<listener>().accept(lvalue<std::error_code>())));
static_assert(noexcept(lvalue<listener>().accept(lvalue<time_limit>(), lvalue<std::error_code>())));
static_assert(noexcept(poller(lvalue<std::error_code>())));
static_assert(noexcept(lvalue<poller>().add(0, readiness::readable, 0, lvalue<std::error_code>())));
static_assert(noexcept(lvalue<poller>().wait(lvalue<std::vector<poller::event>>(),
                                             lvalue<time_limit>(), lvalue<std::error_code>())));
static_assert(noexcept(endpoint::parse(lvalue<std::string_view>(), lvalue<std::error_code>())));
static_assert(noexcept(endpoint::from_address(lvalue<std::string_view>(), 0,
                                              lvalue<std::error_code>())));
static_assert(noexcept(lvalue<server>().send(0, lvalue<std::string_view>(),
                                             lvalue<std::error_code>())));
static_assert(noexcept(lvalue<server>().stop()));

TEST(contract, poller_errors_read_lower_case_and_name_the_handle) {
  poller p;
  try {
    p.modify(12345, readiness::readable);
    FAIL() << "modify of an unknown handle succeeded";
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::string(e.what()), "poller modify 12345: no such file or directory");
  }
  listener l;
  l.listen(endpoint::loopback_v4(0));
  p.add(l.native_handle(), readiness::readable, 1);
  try {
    p.add(l.native_handle(), readiness::readable, 2);
    FAIL() << "second add succeeded";
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()),
              "poller add " + std::to_string(l.native_handle()) + ": already exists");
  }
}

TEST(contract, accept_errors_have_one_meaning) {
  using detail::accept_outcome;
  using detail::classify_accept_error;
  const auto code = [](std::errc e) { return std::make_error_code(e); };
  EXPECT_EQ(classify_accept_error(code(std::errc::operation_would_block)),
            accept_outcome::no_connection);
  EXPECT_EQ(classify_accept_error(code(std::errc::connection_aborted)), accept_outcome::skip);
  EXPECT_EQ(classify_accept_error(code(std::errc::connection_reset)), accept_outcome::skip);
  EXPECT_EQ(classify_accept_error(code(std::errc::protocol_error)), accept_outcome::skip);
  EXPECT_EQ(classify_accept_error(code(std::errc::too_many_files_open)), accept_outcome::back_off);
  EXPECT_EQ(classify_accept_error(code(std::errc::too_many_files_open_in_system)),
            accept_outcome::back_off);
  EXPECT_EQ(classify_accept_error(code(std::errc::no_buffer_space)), accept_outcome::back_off);
  EXPECT_EQ(classify_accept_error(code(std::errc::bad_file_descriptor)), accept_outcome::fail);
  EXPECT_EQ(classify_accept_error(code(std::errc::invalid_argument)), accept_outcome::fail);
}

class contract_calls : public test::loopback_test {};

TEST_P(contract_calls, a_zero_size_receive_returns_at_once) {
  auto l = make_listener();
  auto p = test::connect_pair(l);
  char c = 0;
  std::error_code ec;
  // Nothing was sent: a recv() of 0 bytes would block until something arrives.
  EXPECT_EQ(p.client.receive(&c, 0, ec), 0u);
  EXPECT_FALSE(ec);
  EXPECT_EQ(p.client.receive(&c, 0, no_timeout), 0u);
  // The connection is untouched: data still arrives.
  p.server.send_all("z");
  EXPECT_EQ(p.client.receive(&c, 1, 10s), 1u);
  EXPECT_EQ(c, 'z');
}

XSOCK_INSTANTIATE_FAMILIES(contract_calls);

TEST(contract, embedded_nul_bytes_are_refused_not_cut_short) {
  using namespace std::string_literals;
  std::error_code ec;
  endpoint::parse("127.0.0.1\0junk:80"s, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  endpoint::from_address("127.0.0.1\0junk"s, 80, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  endpoint::from_address("::1\0"s, 80, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  endpoint::parse("[::1%\0lo]:80"s, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  resolve("127.0.0.1\0junk"s, "80", ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  resolve("localhost", "80\0"s, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  stream_socket s;
  s.connect("127.0.0.1\0junk"s, 80, 1s, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  EXPECT_FALSE(s.is_open());
}

TEST(contract, an_empty_host_is_refused_not_taken_for_loopback) {
  listener l;
  l.listen(endpoint::loopback_v4(0));
  std::error_code ec;
  stream_socket s;
  s.connect("", l.local_endpoint().port(), 1s, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  EXPECT_FALSE(s.is_open());
  try {
    s.connect("", l.local_endpoint().port(), 1s);
    FAIL() << "connect(\"\") succeeded";
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()),
              "resolve \"\":" + std::to_string(l.local_endpoint().port()) + ": invalid argument");
  }
}

TEST(contract, error_messages_escape_what_they_quote) {
  using namespace std::string_literals;
  try {
    endpoint::parse("\x1b[31mred\x07\0:80"s);
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()),
              "parse endpoint \"\\x1b[31mred\\x07\\x00:80\": invalid argument");
  }
  try {
    resolve("bad\nhost", "80");
    FAIL();
  } catch (const xsock::error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("resolve bad\\x0ahost:80: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace xsock
