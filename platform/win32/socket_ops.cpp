// Winsock2 backend: the same contract and the same portable behaviour as
// platform/posix/socket_ops.cpp.
#include "winsock.hpp"
// After winsock2.h: if_nametoindex (netioapi.h, linked from iphlpapi).
#include <iphlpapi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "backend.hpp"
#include "sockaddr.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock::detail {
namespace {

static_assert(sizeof(SOCKET) == sizeof(handle_t), "SOCKET must fit native_handle_type");
// Winsock lengths are int: larger requests are clamped (callers loop).
int clamp_length(std::size_t size) noexcept {
  return static_cast<int>(std::min<std::size_t>(size, static_cast<std::size_t>(INT_MAX)));
}

void set_blocking_mode(SOCKET s, bool non_blocking, std::error_code& ec) noexcept {
  u_long mode = non_blocking ? 1 : 0;
  // FIONBIO is an unsigned constant above LONG_MAX; ioctlsocket takes a long.
  if (::ioctlsocket(s, static_cast<long>(FIONBIO), &mode) != 0) ec = last_error();
}

// UTF-8 to UTF-16 for the wide Winsock name functions.
bool widen(std::string_view text, std::wstring& out) {
  out.clear();
  if (text.empty()) return true;
  const int n = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(),
                                      clamp_length(text.size()), nullptr, 0);
  if (n <= 0) return false;
  out.resize(static_cast<std::size_t>(n));
  return ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(),
                               clamp_length(text.size()), &out[0], n) == n;
}

}  // namespace

handle_t open_stream(const endpoint& like, std::error_code& ec) noexcept {
  ec.clear();
  const int family = like.is_v4() ? AF_INET : AF_INET6;
  // Non-inheritable from the start: no window in which another thread's
  // CreateProcess could pass it on.
  SOCKET s = ::WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && ::WSAGetLastError() == WSAEINVAL) {
    // Windows 7 without SP1 does not know the flag.
    s = ::WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET) {
      ::SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
    }
  }
  if (s == INVALID_SOCKET) {
    ec = last_error();
    return invalid_handle;
  }
  return to_handle(s);
}

void close_handle(handle_t h) noexcept {
  ::closesocket(sock(h));
}

bool connect(handle_t h, const endpoint& peer, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  const int len = to_sockaddr(peer, ss);
  if (::connect(sock(h), reinterpret_cast<const sockaddr*>(&ss), len) == 0) return true;
  const int err = ::WSAGetLastError();
  // A non-blocking connect in progress: WSAEWOULDBLOCK (EINPROGRESS on POSIX).
  if (err == WSAEWOULDBLOCK || err == WSAEINPROGRESS) return false;
  ec.assign(err, socket_category());
  return false;
}

std::error_code pending_error(handle_t h) noexcept {
  int err = 0;
  int len = static_cast<int>(sizeof err);
  if (::getsockopt(sock(h), SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len) != 0) {
    return last_error();
  }
  if (err == 0) return {};
  return {err, socket_category()};  // a WSA code
}

void prepare_listener(handle_t h, bool /*reuse*/, std::error_code& ec) noexcept {
  ec.clear();
  // Never SO_REUSEADDR on Windows: it lets another socket bind the same port. A
  // listener takes the port exclusively whatever `reuse` says.
  int one = 1;
  if (::setsockopt(sock(h), SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&one),
                   static_cast<int>(sizeof one)) != 0) {
    ec = last_error();
  }
}

void bind(handle_t h, const endpoint& where, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  const int len = to_sockaddr(where, ss);
  if (::bind(sock(h), reinterpret_cast<const sockaddr*>(&ss), len) != 0) ec = last_error();
}

void listen(handle_t h, int backlog, std::error_code& ec) noexcept {
  ec.clear();
  if (::listen(sock(h), backlog) != 0) ec = last_error();
}

handle_t accept(handle_t h, endpoint& peer, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  for (;;) {
    int len = static_cast<int>(sizeof ss);
    const SOCKET s = ::accept(sock(h), reinterpret_cast<sockaddr*>(&ss), &len);
    if (s == INVALID_SOCKET) {
      const int err = ::WSAGetLastError();
      if (err == WSAEINTR) continue;
      // Reported as is: core/src/net/accept_policy.hpp decides what it means.
      ec.assign(err, socket_category());
      return invalid_handle;
    }
    // The accepted socket inherits the listener's non-blocking mode; the contract
    // hands out blocking, non-inheritable sockets.
    ::SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
    set_blocking_mode(s, false, ec);
    if (ec) {
      ::closesocket(s);
      return invalid_handle;
    }
    if (!from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), peer)) peer = endpoint();
    return to_handle(s);
  }
}

std::size_t send(handle_t h, const void* data, std::size_t size, std::error_code& ec) noexcept {
  ec.clear();
  const int n = ::send(sock(h), static_cast<const char*>(data), clamp_length(size), 0);
  if (n == SOCKET_ERROR) {
    ec = last_error();
    return 0;
  }
  return static_cast<std::size_t>(n);
}

std::size_t receive(handle_t h, void* data, std::size_t size, std::error_code& ec) noexcept {
  ec.clear();
  const int n = ::recv(sock(h), static_cast<char*>(data), clamp_length(size), 0);
  if (n == SOCKET_ERROR) {
    const int err = ::WSAGetLastError();
    // After shutdown(receive) POSIX reads end of stream; Winsock says WSAESHUTDOWN.
    if (err == WSAESHUTDOWN) return 0;
    ec.assign(err, socket_category());
    return 0;
  }
  if (n == 0 && size > 0) {
    // End of stream, or a reset that Wine reports as one (Windows and POSIX report
    // WSAECONNRESET/ECONNRESET). A zero-byte send tells them apart: it succeeds after
    // the peer's FIN and fails with WSAECONNRESET once the connection was reset. On
    // Windows proper a reset never gets here, so this costs one call per end of stream.
    if (::send(sock(h), "", 0, 0) == SOCKET_ERROR && ::WSAGetLastError() == WSAECONNRESET) {
      ec.assign(WSAECONNRESET, socket_category());
    }
    return 0;
  }
  return static_cast<std::size_t>(n);
}

void shutdown(handle_t h, shutdown_type what, std::error_code& ec) noexcept {
  ec.clear();
  const int how = what == shutdown_type::receive ? SD_RECEIVE
                  : what == shutdown_type::send  ? SD_SEND
                                                 : SD_BOTH;
  if (::shutdown(sock(h), how) != 0) ec = last_error();
}

unsigned wait_one(handle_t h, unsigned events, int timeout_ms, std::error_code& ec) noexcept {
  ec.clear();
  // select(), not WSAPoll: a failed non-blocking connect shows only in select's
  // except set on older Windows (WSAPoll reported nothing before Windows 10 2004).
  // fd_set on Windows is a list of handles: no FD_SETSIZE limit on the value.
  // Filled directly rather than with FD_SET, whose do/while(0) MSVC's /W4 flags.
  const SOCKET s = sock(h);
  fd_set readable, writable, failed;
  readable.fd_count = (events & wait_read) ? 1u : 0u;
  readable.fd_array[0] = s;
  writable.fd_count = (events & wait_write) ? 1u : 0u;
  writable.fd_array[0] = s;
  failed.fd_count = 1u;
  failed.fd_array[0] = s;
  timeval tv{};
  timeval* limit = nullptr;
  if (timeout_ms >= 0) {
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    limit = &tv;
  }
  const int n = ::select(0, &readable, &writable, &failed, limit);
  if (n == SOCKET_ERROR) {
    const int err = ::WSAGetLastError();
    // A closed handle: POSIX poll() reports POLLNVAL, mapped to bad_file_descriptor.
    ec = err == WSAENOTSOCK ? make_error(std::errc::bad_file_descriptor)
                            : std::error_code(err, socket_category());
    return 0;
  }
  if (n == 0) return 0;
  unsigned ready = 0;
  if (FD_ISSET(s, &readable)) ready |= wait_read;
  if (FD_ISSET(s, &writable)) ready |= wait_write;
  if (FD_ISSET(s, &failed)) ready |= wait_error;
  return ready;
}

void set_non_blocking(handle_t h, bool on, std::error_code& ec) noexcept {
  ec.clear();
  set_blocking_mode(sock(h), on, ec);
}

namespace {

struct option_name {
  int level;
  int name;
  bool boolean;
};

option_name lookup(option opt) noexcept {
  switch (opt) {
    case option::no_delay:
      return {IPPROTO_TCP, TCP_NODELAY, true};
    case option::keep_alive:
      return {SOL_SOCKET, SO_KEEPALIVE, true};
    case option::receive_buffer:
      return {SOL_SOCKET, SO_RCVBUF, false};
    case option::send_buffer:
      return {SOL_SOCKET, SO_SNDBUF, false};
    case option::v6_only:
      return {IPPROTO_IPV6, IPV6_V6ONLY, true};
  }
  return {SOL_SOCKET, SO_KEEPALIVE, true};
}

}  // namespace

void set_option(handle_t h, option opt, int value, std::error_code& ec) noexcept {
  ec.clear();
  const auto o = lookup(opt);
  DWORD v = o.boolean ? (value != 0 ? 1u : 0u) : static_cast<DWORD>(value);
  if (::setsockopt(sock(h), o.level, o.name, reinterpret_cast<const char*>(&v),
                   static_cast<int>(sizeof v)) != 0) {
    ec = last_error();
  }
}

int get_option(handle_t h, option opt, std::error_code& ec) noexcept {
  ec.clear();
  const auto o = lookup(opt);
  // Zero-initialised: some options (TCP_NODELAY on Windows, IPV6_V6ONLY under Wine)
  // write a single byte.
  DWORD value = 0;
  int len = static_cast<int>(sizeof value);
  if (::getsockopt(sock(h), o.level, o.name, reinterpret_cast<char*>(&value), &len) != 0) {
    ec = last_error();
    return 0;
  }
  if (o.boolean) return value != 0 ? 1 : 0;
  return static_cast<int>(value);
}

void set_linger(handle_t h, bool on, int seconds, std::error_code& ec) noexcept {
  ec.clear();
  linger l{};
  l.l_onoff = on ? 1 : 0;
  l.l_linger = static_cast<u_short>(std::clamp(seconds, 0, 65535));
  if (::setsockopt(sock(h), SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&l),
                   static_cast<int>(sizeof l)) != 0) {
    ec = last_error();
  }
}

endpoint local_endpoint(handle_t h, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  int len = static_cast<int>(sizeof ss);
  endpoint ep;
  if (::getsockname(sock(h), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ec = last_error();
  } else if (!from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), ep)) {
    ec = make_error(std::errc::address_family_not_supported);
  }
  return ep;
}

endpoint peer_endpoint(handle_t h, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  int len = static_cast<int>(sizeof ss);
  endpoint ep;
  if (::getpeername(sock(h), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ec = last_error();
  } else if (!from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), ep)) {
    ec = make_error(std::errc::address_family_not_supported);
  }
  return ep;
}

std::uint32_t interface_index(std::string_view name) noexcept {
  // if_nametoindex (iphlpapi) takes the interface's name as Windows gives it
  // ("ethernet_32769", or the friendly name on some versions).
  char buf[257];
  if (name.empty() || name.size() >= sizeof buf) return 0;
  std::memcpy(buf, name.data(), name.size());
  buf[name.size()] = '\0';
  return static_cast<std::uint32_t>(::if_nametoindex(buf));
}

std::vector<endpoint> resolve(std::string_view host, std::string_view service,
                              std::error_code& ec) {
  ec.clear();
  std::wstring host_w, service_w;
  if (!widen(host, host_w) || !widen(service, service_w)) {
    ec = make_error_code(resolve_errc::host_not_found);
    return {};
  }
  ADDRINFOW hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  ADDRINFOW* list = nullptr;
  const int rc = ::GetAddrInfoW(host_w.empty() ? nullptr : host_w.c_str(),
                                service_w.empty() ? nullptr : service_w.c_str(), &hints, &list);
  if (rc != 0) {
    ec = make_error_code(static_cast<resolve_errc>(resolve_error(rc)));
    return {};
  }
  std::vector<endpoint> result;
  for (const ADDRINFOW* ai = list; ai != nullptr; ai = ai->ai_next) {
    endpoint ep;
    if (ai->ai_addr && from_sockaddr(ai->ai_addr, ep) &&
        std::find(result.begin(), result.end(), ep) == result.end()) {
      result.push_back(ep);
    }
  }
  ::FreeAddrInfoW(list);
  if (result.empty()) ec = make_error_code(resolve_errc::no_data);
  return result;
}

}  // namespace xsock::detail
