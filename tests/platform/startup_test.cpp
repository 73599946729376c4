// xsock::startup and the manual start-up mode (WSAStartup on Windows, nothing on
// POSIX), and the Wine detection the tests use to name Wine gaps.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include "../common/wine.hpp"
#include "xsock/listener.hpp"
#include "xsock/startup.hpp"
#include "xsock/stream_socket.hpp"

namespace {

// Resets the process-wide mode even when an assertion fails.
struct manual_mode {
  explicit manual_mode(bool on) { xsock::set_manual_startup(on); }
  ~manual_mode() { xsock::set_manual_startup(false); }
};

TEST(startup, guards_are_active_and_nest) {
  xsock::startup outer;
  EXPECT_TRUE(outer.active());
  {
    std::error_code ec;
    xsock::startup inner(ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(inner.active());
  }
  // The outer reference still holds the socket library open.
  xsock::listener l;
  l.listen(xsock::endpoint::loopback_v4(0));
  xsock::stream_socket c;
  c.connect(l.local_endpoint());
  EXPECT_TRUE(c.is_open());
}

TEST(startup, manual_mode_is_reported_and_works_with_a_guard) {
  EXPECT_FALSE(xsock::manual_startup());
  manual_mode manual(true);
  EXPECT_TRUE(xsock::manual_startup());
  xsock::startup guard;
  xsock::listener l;
  l.listen(xsock::endpoint::loopback_v4(0));
  xsock::stream_socket c;
  c.connect(l.local_endpoint(), std::chrono::seconds(10));
  auto accepted = l.accept(std::chrono::seconds(10));
  EXPECT_EQ(c.send_all("x", 1), 1u);
  char ch = 0;
  EXPECT_EQ(accepted.socket.receive(&ch, 1, std::chrono::seconds(10)), 1u);
  EXPECT_EQ(ch, 'x');
}

TEST(wine, detection_matches_the_platform) {
#if defined(_WIN32)
  // Cross-checked against a second, independent sign of Wine: its registry key.
  HKEY key = nullptr;
  const bool wine_registry =
      ::RegOpenKeyExW(HKEY_CURRENT_USER, L"Software\\Wine", 0, KEY_READ, &key) == ERROR_SUCCESS;
  if (key != nullptr) ::RegCloseKey(key);
  EXPECT_EQ(xsock::test::running_under_wine(), wine_registry);
  // The mingw test preset runs everything under Wine and says so.
  if (const char* expected = std::getenv("XSOCK_EXPECT_WINE")) {
    EXPECT_EQ(xsock::test::running_under_wine(), std::string(expected) == "1");
  }
#else
  EXPECT_FALSE(xsock::test::running_under_wine());
#endif
}

}  // namespace
