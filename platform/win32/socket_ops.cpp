// Winsock2 backend: the same contract and the same portable behaviour as
// platform/posix/socket_ops.cpp.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "backend.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock::detail {
namespace {

static_assert(sizeof(SOCKET) == sizeof(handle_t), "SOCKET must fit native_handle_type");
static_assert(INVALID_SOCKET == invalid_handle, "INVALID_SOCKET must be invalid_handle");

SOCKET sock(handle_t h) noexcept {
  return static_cast<SOCKET>(h);
}
handle_t to_handle(SOCKET s) noexcept {
  return static_cast<handle_t>(s);
}

// Winsock lengths are int: larger requests are clamped (callers loop).
int clamp_length(std::size_t size) noexcept {
  return static_cast<int>(std::min<std::size_t>(size, static_cast<std::size_t>(INT_MAX)));
}

int to_sockaddr(const endpoint& ep, sockaddr_storage& ss) noexcept {
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

bool from_sockaddr(const sockaddr* sa, endpoint& out) noexcept {
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

void set_blocking_mode(SOCKET s, bool non_blocking, std::error_code& ec) noexcept {
  u_long mode = non_blocking ? 1 : 0;
  if (::ioctlsocket(s, FIONBIO, &mode) != 0) ec = last_error();
}

// ---- numeric address text, the same rules and output as glibc's inet_pton/ntop ----

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly four decimal parts 0-255, no leading zeros, nothing else.
bool parse_v4(std::string_view text, std::uint8_t* out) noexcept {
  std::uint8_t parts[4] = {};
  int count = 0;
  bool digit_seen = false;
  unsigned value = 0;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      if (digit_seen && value == 0) return false;  // leading zero
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (value > 255) return false;
      if (!digit_seen) {
        if (++count > 4) return false;
        digit_seen = true;
      }
      parts[count - 1] = static_cast<std::uint8_t>(value);
    } else if (c == '.' && digit_seen) {
      if (count == 4) return false;
      digit_seen = false;
      value = 0;
    } else {
      return false;
    }
  }
  if (count < 4 || !digit_seen) return false;
  std::memcpy(out, parts, 4);
  return true;
}

// RFC 4291 text: up to eight groups of 1-4 hex digits, one "::", an optional
// dotted IPv4 tail.
bool parse_v6(std::string_view text, std::uint8_t* out) noexcept {
  std::uint8_t bytes[16] = {};
  std::size_t pos = 0;   // next byte to fill
  std::size_t gap = 16;  // where "::" was, 16: none
  std::size_t i = 0;
  if (text.empty()) return false;
  if (text[0] == ':') {
    if (text.size() < 2 || text[1] != ':') return false;
    i = 1;
  }
  std::size_t token = i;  // start of the current group
  unsigned value = 0;
  int digits = 0;
  while (i < text.size()) {
    const char c = text[i++];
    const int d = hex_value(c);
    if (d >= 0) {
      if (digits == 4) return false;
      value = (value << 4) | static_cast<unsigned>(d);
      ++digits;
      continue;
    }
    if (c == ':') {
      token = i;
      if (digits == 0) {
        if (gap != 16) return false;
        gap = pos;
        continue;
      }
      if (i == text.size()) return false;  // trailing single ':'
      if (pos + 2 > 16) return false;
      bytes[pos++] = static_cast<std::uint8_t>(value >> 8);
      bytes[pos++] = static_cast<std::uint8_t>(value & 0xff);
      digits = 0;
      value = 0;
      continue;
    }
    if (c == '.' && pos + 4 <= 16 && parse_v4(text.substr(token), bytes + pos)) {
      pos += 4;
      digits = 0;
      i = text.size();
      break;
    }
    return false;
  }
  if (digits > 0) {
    if (pos + 2 > 16) return false;
    bytes[pos++] = static_cast<std::uint8_t>(value >> 8);
    bytes[pos++] = static_cast<std::uint8_t>(value & 0xff);
  }
  if (gap != 16) {
    if (pos == 16) return false;  // "::" must stand for at least one group
    const std::size_t tail = pos - gap;
    std::memmove(bytes + 16 - tail, bytes + gap, tail);
    std::memset(bytes + gap, 0, 16 - tail - gap);
    pos = 16;
  }
  if (pos != 16) return false;
  std::memcpy(out, bytes, 16);
  return true;
}

std::string format_v4(const std::uint8_t* b) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  return buf;
}

// The longest run (first of equal ones) of two or more zero groups becomes "::";
// ::a.b.c.d and ::ffff:a.b.c.d keep the dotted IPv4 tail.
std::string format_v6(const std::uint8_t* b) {
  unsigned words[8];
  for (int i = 0; i < 8; ++i)
    words[i] = (static_cast<unsigned>(b[2 * i]) << 8) | b[2 * i + 1];
  int best = -1, best_len = 0, cur = -1, cur_len = 0;
  for (int i = 0; i < 8; ++i) {
    if (words[i] == 0) {
      if (cur == -1) {
        cur = i;
        cur_len = 1;
      } else {
        ++cur_len;
      }
    } else if (cur != -1) {
      if (best == -1 || cur_len > best_len) {
        best = cur;
        best_len = cur_len;
      }
      cur = -1;
    }
  }
  if (cur != -1 && (best == -1 || cur_len > best_len)) {
    best = cur;
    best_len = cur_len;
  }
  if (best != -1 && best_len < 2) best = -1;
  std::string text;
  for (int i = 0; i < 8; ++i) {
    if (best != -1 && i >= best && i < best + best_len) {
      if (i == best) text += ':';
      continue;
    }
    if (i != 0) text += ':';
    if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      text += format_v4(b + 12);
      break;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "%x", words[i]);
    text += buf;
  }
  if (best != -1 && best + best_len == 8) text += ':';
  return text;
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
      // A connection reset or aborted while queued is not the listener's failure:
      // report would-block so the caller waits for the next one (as on POSIX).
      if (err == WSAECONNRESET || err == WSAECONNABORTED) {
        ec = make_error(std::errc::operation_would_block);
        return invalid_handle;
      }
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

bool parse_address(std::string_view text, endpoint& out) noexcept {
  // Parsed here rather than by InetPton (which needs no WSAStartup but accepts other
  // forms than glibc): the same text is valid on every platform.
  if (text.empty() || text.size() > 64) return false;
  if (text.find(':') == std::string_view::npos) {
    endpoint::bytes_v4 b;
    if (!parse_v4(text, b.data())) return false;
    out = endpoint(b, 0);
    return true;
  }
  std::uint32_t scope = 0;
  const auto percent = text.find('%');
  if (percent != std::string_view::npos) {
    const std::string_view name = text.substr(percent + 1);
    text = text.substr(0, percent);
    // Numeric scope ids only: interface names are per system.
    if (name.empty() || name.size() > 9 ||
        name.find_first_not_of("0123456789") != std::string_view::npos) {
      return false;
    }
    for (const char c : name)
      scope = scope * 10 + static_cast<std::uint32_t>(c - '0');
  }
  endpoint::bytes_v6 b;
  if (!parse_v6(text, b.data())) return false;
  out = endpoint(b, 0, scope);
  return true;
}

std::string format_address(const endpoint& ep) {
  if (ep.is_v4()) {
    const auto b = ep.v4_bytes();
    return format_v4(b.data());
  }
  const auto b = ep.v6_bytes();
  std::string text = format_v6(b.data());
  if (ep.scope_id() != 0) text += "%" + std::to_string(ep.scope_id());
  return text;
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
