// Winsock2 backend: the same contract and the same portable behaviour as
// platform/posix/socket_ops.cpp.
#include "winsock.hpp"
// After winsock2.h: if_nametoindex (netioapi.h, linked from iphlpapi).
#include <iphlpapi.h>
// SIO_UDP_CONNRESET.
#include <mswsock.h>

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

// Both socket kinds: non-inheritable from the start, so no window in which another
// thread's CreateProcess could pass the socket on.
SOCKET open_socket(int family, int type, int protocol) noexcept {
  SOCKET s = ::WSASocketW(family, type, protocol, nullptr, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && ::WSAGetLastError() == WSAEINVAL) {
    // Windows 7 without SP1 does not know the flag.
    s = ::WSASocketW(family, type, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET) {
      ::SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
    }
  }
  return s;
}

#if !defined(SIO_UDP_NETRESET)
#define SIO_UDP_NETRESET _WSAIOW(IOC_VENDOR, 15)
#endif

// Sets one of the UDP ICMP-reporting ioctls (SIO_UDP_CONNRESET, SIO_UDP_NETRESET).
// A Winsock that does not know the ioctl (an old Wine) has nothing to turn off or on.
bool udp_ioctl(SOCKET s, DWORD code, bool on, std::error_code& ec) noexcept {
  BOOL value = on ? TRUE : FALSE;
  DWORD returned = 0;
  if (::WSAIoctl(s, code, &value, static_cast<DWORD>(sizeof value), nullptr, 0, &returned, nullptr,
                 nullptr) == 0) {
    return true;
  }
  const int err = ::WSAGetLastError();
  if (err == WSAEINVAL || err == WSAEOPNOTSUPP || err == WSAENOPROTOOPT) return true;
  ec.assign(err, socket_category());
  return false;
}

void report_udp_errors_if_datagram(SOCKET s, std::error_code& ec) noexcept {
  int type = 0;
  int len = static_cast<int>(sizeof type);
  if (::getsockopt(s, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) != 0) return;
  if (type == SOCK_DGRAM) udp_ioctl(s, SIO_UDP_CONNRESET, true, ec);
}

}  // namespace

handle_t open_stream(const endpoint& like, std::error_code& ec) noexcept {
  ec.clear();
  const int family = like.is_v4() ? AF_INET : AF_INET6;
  const SOCKET s = open_socket(family, SOCK_STREAM, IPPROTO_TCP);
  if (s == INVALID_SOCKET) {
    ec = last_error();
    return invalid_handle;
  }
  return to_handle(s);
}

handle_t open_stream_non_blocking(const endpoint& like, std::error_code& ec) noexcept {
  const handle_t h = open_stream(like, ec);
  if (ec) return invalid_handle;
  set_blocking_mode(sock(h), true, ec);
  if (ec) {
    ::closesocket(sock(h));
    return invalid_handle;
  }
  return h;
}

void close_handle(handle_t h) noexcept {
  ::closesocket(sock(h));
}

bool connect(handle_t h, const endpoint& peer, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  const int len = to_sockaddr(peer, ss);
  if (::connect(sock(h), reinterpret_cast<const sockaddr*>(&ss), len) == 0) {
    // A datagram socket's connect completes here (a non-blocking TCP connect never
    // does): its peer's ICMP errors are wanted now, so turn reporting back on
    // (open_datagram turned it off for the unconnected socket).
    report_udp_errors_if_datagram(sock(h), ec);
    return !ec;
  }
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

bool connect_finished(handle_t h, std::error_code& ec) noexcept {
  ec = pending_error(h);
  if (ec) return false;
  // Writable without an error can still be a connect that has not finished (a
  // spurious wake-up): only a peer address proves it.
  peer_endpoint(h, ec);
  if (ec == std::errc::not_connected) {
    ec.clear();
    return false;
  }
  return !ec;
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

namespace {

handle_t accept_socket(handle_t h, bool non_blocking, endpoint& peer,
                       std::error_code& ec) noexcept {
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
    // The accepted socket inherits the listener's non-blocking mode (always on, see
    // listener.cpp): accept() hands out blocking, non-inheritable sockets.
    ::SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
    if (!non_blocking) set_blocking_mode(s, false, ec);
    if (ec) {
      ::closesocket(s);
      return invalid_handle;
    }
    if (!from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), peer)) peer = endpoint();
    return to_handle(s);
  }
}

}  // namespace

handle_t accept(handle_t h, endpoint& peer, std::error_code& ec) noexcept {
  return accept_socket(h, false, peer, ec);
}

handle_t accept_non_blocking(handle_t h, endpoint& peer, std::error_code& ec) noexcept {
  return accept_socket(h, true, peer, ec);
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

// ---- datagrams ----------------------------------------------------------------------

namespace {

// An ICMP port unreachable on a UDP socket: Winsock says WSAECONNRESET, POSIX
// ECONNREFUSED; the contract says connection_refused everywhere.
int datagram_error(int err) noexcept {
  return err == WSAECONNRESET ? WSAECONNREFUSED : err;
}

in_addr to_in_addr(const endpoint& ep) noexcept {
  in_addr a{};
  const auto b = ep.v4_bytes();
  std::memcpy(&a, b.data(), b.size());
  return a;
}

// IPv4 interface for IP_ADD_MEMBERSHIP / IP_MULTICAST_IF: by index in the 0.0.0.x
// form Windows documents for both (the index in network byte order), else by
// address.
in_addr v4_interface(const endpoint& address, std::uint32_t index) noexcept {
  if (index == 0) return to_in_addr(address);
  in_addr a{};
  a.s_addr = htonl(index);
  return a;
}

}  // namespace

handle_t open_datagram(const endpoint& like, std::error_code& ec) noexcept {
  ec.clear();
  const SOCKET s = open_socket(like.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
  if (s == INVALID_SOCKET) {
    ec = last_error();
    return invalid_handle;
  }
  // Without these, an ICMP error for one peer fails the next read of an unconnected
  // socket with WSAECONNRESET / WSAENETRESET: a server's read loop would end because
  // one client went away. SO_EXCLUSIVEADDRUSE: no other socket may take over the port
  // (bind_options::reuse_address turns it off).
  const DWORD exclusive = 1;
  if (!udp_ioctl(s, SIO_UDP_CONNRESET, false, ec) || !udp_ioctl(s, SIO_UDP_NETRESET, false, ec) ||
      ::setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&exclusive),
                   static_cast<int>(sizeof exclusive)) != 0) {
    if (!ec) ec = last_error();
    ::closesocket(s);
    return invalid_handle;
  }
  return to_handle(s);
}

std::size_t send_datagram(handle_t h, const void* data, std::size_t size, const endpoint* peer,
                          std::error_code& ec) noexcept {
  ec.clear();
  // A datagram is never cut: beyond an int is beyond any datagram.
  if (size > static_cast<std::size_t>(INT_MAX)) {
    ec.assign(WSAEMSGSIZE, socket_category());
    return 0;
  }
  const auto* bytes = static_cast<const char*>(data);
  const int length = static_cast<int>(size);
  int n = 0;
  if (peer) {
    sockaddr_storage ss;
    const int len = to_sockaddr(*peer, ss);
    n = ::sendto(sock(h), bytes, length, 0, reinterpret_cast<const sockaddr*>(&ss), len);
  } else {
    n = ::send(sock(h), bytes, length, 0);
  }
  if (n == SOCKET_ERROR) {
    ec.assign(datagram_error(::WSAGetLastError()), socket_category());
    return 0;
  }
  return static_cast<std::size_t>(n);
}

std::size_t receive_datagram(handle_t h, void* data, std::size_t size, endpoint& peer,
                             bool& truncated, std::error_code& ec) noexcept {
  ec.clear();
  truncated = false;
  char none = 0;
  char* buffer = data ? static_cast<char*>(data) : &none;
  const int length = clamp_length(size);
  sockaddr_storage ss;
  std::memset(&ss, 0, sizeof ss);
  int len = static_cast<int>(sizeof ss);
  int n = ::recvfrom(sock(h), buffer, length, 0, reinterpret_cast<sockaddr*>(&ss), &len);
  if (n == SOCKET_ERROR) {
    const int err = ::WSAGetLastError();
    if (err != WSAEMSGSIZE) {
      ec.assign(datagram_error(err), socket_category());
      return 0;
    }
    // The datagram was larger: the buffer holds its first bytes, the rest is gone.
    truncated = true;
    n = length;
  }
  if (!from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), peer)) peer = endpoint();
  return static_cast<std::size_t>(n);
}

void multicast_membership(handle_t h, const endpoint& group, const endpoint& interface_address,
                          std::uint32_t interface_index, bool join, std::error_code& ec) noexcept {
  ec.clear();
  int rc = 0;
  if (group.is_v4()) {
    ip_mreq m{};
    m.imr_multiaddr = to_in_addr(group);
    m.imr_interface = v4_interface(interface_address, interface_index);
    rc = ::setsockopt(sock(h), IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                      reinterpret_cast<const char*>(&m), static_cast<int>(sizeof m));
  } else {
    ipv6_mreq m{};
    const auto b = group.v6_bytes();
    std::memcpy(&m.ipv6mr_multiaddr, b.data(), b.size());
    m.ipv6mr_interface = interface_index;
    rc = ::setsockopt(sock(h), IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
                      reinterpret_cast<const char*>(&m), static_cast<int>(sizeof m));
  }
  if (rc != 0) ec = last_error();
}

void set_multicast_interface(handle_t h, bool v6, const endpoint& interface_address,
                             std::uint32_t interface_index, std::error_code& ec) noexcept {
  ec.clear();
  int rc = 0;
  if (v6) {
    const DWORD index = interface_index;
    rc = ::setsockopt(sock(h), IPPROTO_IPV6, IPV6_MULTICAST_IF,
                      reinterpret_cast<const char*>(&index), static_cast<int>(sizeof index));
  } else {
    const in_addr a = v4_interface(interface_address, interface_index);
    rc = ::setsockopt(sock(h), IPPROTO_IP, IP_MULTICAST_IF, reinterpret_cast<const char*>(&a),
                      static_cast<int>(sizeof a));
  }
  if (rc != 0) ec = last_error();
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
    case option::reuse_address:
      return {SOL_SOCKET, SO_REUSEADDR, true};
    case option::broadcast:
      return {SOL_SOCKET, SO_BROADCAST, true};
    case option::ttl_v4:
      return {IPPROTO_IP, IP_TTL, false};
    case option::hops_v6:
      return {IPPROTO_IPV6, IPV6_UNICAST_HOPS, false};
    case option::multicast_ttl_v4:
      return {IPPROTO_IP, IP_MULTICAST_TTL, false};
    case option::multicast_hops_v6:
      return {IPPROTO_IPV6, IPV6_MULTICAST_HOPS, false};
    case option::multicast_loop_v4:
      return {IPPROTO_IP, IP_MULTICAST_LOOP, true};
    case option::multicast_loop_v6:
      return {IPPROTO_IPV6, IPV6_MULTICAST_LOOP, true};
  }
  return {SOL_SOCKET, SO_KEEPALIVE, true};
}

}  // namespace

void set_option(handle_t h, option opt, int value, std::error_code& ec) noexcept {
  ec.clear();
  const auto o = lookup(opt);
  if (opt == option::reuse_address) {
    // open_datagram set SO_EXCLUSIVEADDRUSE, which Windows will not combine with
    // SO_REUSEADDR: sharing the port asked for is the one case to drop it.
    const DWORD exclusive = value != 0 ? 0u : 1u;
    if (::setsockopt(sock(h), SOL_SOCKET, SO_EXCLUSIVEADDRUSE,
                     reinterpret_cast<const char*>(&exclusive),
                     static_cast<int>(sizeof exclusive)) != 0 &&
        value != 0) {
      ec = last_error();
      return;
    }
  }
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
