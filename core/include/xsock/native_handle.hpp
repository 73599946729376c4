// xsock::native_handle_type: the operating system's socket handle, as an integer.
#pragma once

#include <cstdint>

namespace xsock {

/// The native socket handle as an integer wide enough for every platform: a file
/// descriptor on POSIX, a `SOCKET` on Windows.
using native_handle_type = std::uintptr_t;
/// No socket: -1 on POSIX, `INVALID_SOCKET` on Windows.
inline constexpr native_handle_type invalid_handle = ~native_handle_type{0};

}  // namespace xsock
