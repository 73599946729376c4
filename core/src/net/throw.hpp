// Internal helpers shared by the core sources.
#pragma once

#include <chrono>
#include <climits>
#include <string>
#include <system_error>

#include "xsock/error.hpp"

namespace xsock::detail {

// The throwing form of every operation: "<what>: <portable reason>".
inline void throw_if(const std::error_code& ec, const std::string& what) {
  if (ec) throw xsock::error(ec, what);
}

// A timeout for the backend: milliseconds clamped to int, negative treated as 0.
inline int to_timeout_ms(std::chrono::milliseconds timeout) noexcept {
  const auto count = timeout.count();
  if (count <= 0) return 0;
  if (count > INT_MAX) return INT_MAX;
  return static_cast<int>(count);
}

}  // namespace xsock::detail
