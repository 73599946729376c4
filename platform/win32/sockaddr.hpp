// endpoint <-> sockaddr for Winsock: the one copy of the conversion on Windows (same
// name, same functions as platform/posix/sockaddr.hpp; only the length type differs).
#pragma once

#include <cstring>

#include "winsock.hpp"
#include "xsock/endpoint.hpp"

namespace xsock::detail {

// Fills `ss` from `ep`; returns the length to pass with it.
inline int to_sockaddr(const endpoint& ep, sockaddr_storage& ss) noexcept {
  std::memset(&ss, 0, sizeof ss);
  if (ep.is_v4()) {
    auto& sin = reinterpret_cast<sockaddr_in&>(ss);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(ep.port());
    const auto b = ep.v4_bytes();
    std::memcpy(&sin.sin_addr, b.data(), b.size());
    return static_cast<int>(sizeof(sockaddr_in));
  }
  auto& sin6 = reinterpret_cast<sockaddr_in6&>(ss);
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(ep.port());
  sin6.sin6_scope_id = ep.scope_id();
  const auto b = ep.v6_bytes();
  std::memcpy(&sin6.sin6_addr, b.data(), b.size());
  return static_cast<int>(sizeof(sockaddr_in6));
}

// False (and `out` untouched) for a family other than IPv4/IPv6.
inline bool from_sockaddr(const sockaddr* sa, endpoint& out) noexcept {
  if (sa->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    endpoint::bytes_v4 b;
    std::memcpy(b.data(), &sin->sin_addr, b.size());
    out = endpoint(b, ntohs(sin->sin_port));
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    endpoint::bytes_v6 b;
    std::memcpy(b.data(), &sin6->sin6_addr, b.size());
    out = endpoint(b, ntohs(sin6->sin6_port), sin6->sin6_scope_id);
    return true;
  }
  return false;
}

}  // namespace xsock::detail
