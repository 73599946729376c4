// Wine detection for tests: a test that hits a documented difference between Wine and
// Windows skips itself under Wine only, saying which gap:
//
//   XSOCK_SKIP_ON_WINE("closesocket after SO_LINGER{1,0} sends FIN, not RST");
//
// prints "Wine: closesocket after ..." as the skip reason. On Windows proper and on
// every other system the test runs.
#pragma once

#include <gtest/gtest.h>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif

namespace xsock::test {

/// True when this Windows program runs under Wine (ntdll exports wine_get_version).
inline bool running_under_wine() noexcept {
#if defined(_WIN32)
  static const bool wine = [] {
    const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
    return ntdll != nullptr && ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
  }();
  return wine;
#else
  return false;
#endif
}

}  // namespace xsock::test

/// Skips the current test under Wine, naming the Wine gap (a string or a stream chain).
#define XSOCK_SKIP_ON_WINE(gap)              \
  if (::xsock::test::running_under_wine()) { \
    GTEST_SKIP() << "Wine: " << gap;         \
  }                                          \
  static_cast<void>(0)
