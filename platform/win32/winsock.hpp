// The Winsock preamble every platform/win32 file starts with: <windows.h> without
// what xsock never uses (WIN32_LEAN_AND_MEAN also keeps the old winsock.h out, which
// would clash with winsock2.h) and without the min/max macros that break
// std::min/std::max (NOMINMAX); then Winsock 2 and its TCP/IP extensions. Plus the
// handle conversions between the contract's handle_t and SOCKET.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include "backend.hpp"

namespace xsock::detail {

static_assert(INVALID_SOCKET == invalid_handle, "INVALID_SOCKET must be invalid_handle");

inline SOCKET sock(handle_t h) noexcept {
  return static_cast<SOCKET>(h);
}

inline handle_t to_handle(SOCKET s) noexcept {
  return static_cast<handle_t>(s);
}

}  // namespace xsock::detail
