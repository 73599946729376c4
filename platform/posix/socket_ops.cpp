// BSD-sockets backend: Linux and macOS.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>

#include "backend.hpp"
#include "sockaddr.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock::detail {
namespace {

#if defined(MSG_NOSIGNAL)
constexpr int send_flags = MSG_NOSIGNAL;
#else
constexpr int send_flags = 0;  // SO_NOSIGPIPE is set on every socket instead
#endif

int fd(handle_t h) noexcept {
  return static_cast<int>(h);
}
handle_t to_handle(int f) noexcept {
  return static_cast<handle_t>(static_cast<std::intptr_t>(f));
}

// Sockets never raise SIGPIPE and are not inherited by child processes.
bool prepare_new_socket(int s, bool set_cloexec, std::error_code& ec) noexcept {
  if (set_cloexec && ::fcntl(s, F_SETFD, FD_CLOEXEC) != 0) {
    ec = last_error();
    return false;
  }
#if defined(SO_NOSIGPIPE)
  int one = 1;
  if (::setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) != 0) {
    ec = last_error();
    return false;
  }
#endif
  return true;
}

int poll_events(unsigned events) noexcept {
  int e = 0;
  if (events & wait_read) e |= POLLIN;
  if (events & wait_write) e |= POLLOUT;
  return e;
}

}  // namespace

namespace {

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM), close-on-exec and, when asked,
// non-blocking: both in the socket() call itself where the system has the flags
// (Linux, the BSDs), one fcntl each otherwise (macOS).
handle_t open_socket(int family, int type, int protocol, bool non_blocking,
                     std::error_code& ec) noexcept {
  ec.clear();
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  const int s =
      ::socket(family, type | SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0), protocol);
  const bool need_cloexec = false;
  const bool need_non_blocking = false;
#elif defined(SOCK_CLOEXEC)
  const int s = ::socket(family, type | SOCK_CLOEXEC, protocol);
  const bool need_cloexec = false;
  const bool need_non_blocking = non_blocking;
#else
  const int s = ::socket(family, type, protocol);
  const bool need_cloexec = true;
  const bool need_non_blocking = non_blocking;
#endif
  if (s < 0) {
    ec = last_error();
    return invalid_handle;
  }
  if (!prepare_new_socket(s, need_cloexec, ec)) {
    ::close(s);
    return invalid_handle;
  }
  // A new socket is blocking: O_NONBLOCK is the only status flag to set, no F_GETFL.
  if (need_non_blocking && ::fcntl(s, F_SETFL, O_NONBLOCK) != 0) {
    ec = last_error();
    ::close(s);
    return invalid_handle;
  }
  return to_handle(s);
}

}  // namespace

handle_t open_stream(const endpoint& like, std::error_code& ec) noexcept {
  return open_socket(like.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP, false, ec);
}

handle_t open_stream_non_blocking(const endpoint& like, std::error_code& ec) noexcept {
  return open_socket(like.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP, true, ec);
}

void close_handle(handle_t h) noexcept {
  // Never retry close() on EINTR: the descriptor is gone either way on Linux, and a
  // retry could close a descriptor another thread has just been given.
  ::close(fd(h));
}

bool connect(handle_t h, const endpoint& peer, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(peer, ss);
  if (::connect(fd(h), reinterpret_cast<const sockaddr*>(&ss), len) == 0) return true;
  const int err = errno;
  if (err == EINPROGRESS) return false;
  if (err == EINTR) {
    // The connection goes on asynchronously; wait for it like a non-blocking one.
    pollfd p{fd(h), POLLOUT, 0};
    while (::poll(&p, 1, -1) < 0) {
      if (errno != EINTR) {
        ec = last_error();
        return false;
      }
    }
    ec = pending_error(h);
    return !ec;
  }
  ec = {err, socket_category()};
  return false;
}

std::error_code pending_error(handle_t h) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd(h), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return last_error();
  if (err == 0) return {};
  return {err, socket_category()};
}

bool connect_finished(handle_t h, std::error_code& ec) noexcept {
  ec = pending_error(h);
  if (ec) return false;
#if defined(__linux__)
  // Linux reports a connecting TCP socket writable only once the handshake is over
  // (tcp_poll gives no POLLOUT in SYN_SENT): no error means connected.
  return true;
#else
  // Other systems may report writable early (a spurious wake-up): only a peer address
  // proves the connection.
  peer_endpoint(h, ec);
  if (ec == std::errc::not_connected) {
    ec.clear();
    return false;
  }
  return !ec;
#endif
}

void prepare_listener(handle_t h, bool reuse, std::error_code& ec) noexcept {
  ec.clear();
  if (!reuse) return;
  int one = 1;
  if (::setsockopt(fd(h), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) ec = last_error();
}

void bind(handle_t h, const endpoint& where, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(where, ss);
  if (::bind(fd(h), reinterpret_cast<const sockaddr*>(&ss), len) != 0) ec = last_error();
}

void listen(handle_t h, int backlog, std::error_code& ec) noexcept {
  ec.clear();
  if (::listen(fd(h), backlog) != 0) ec = last_error();
}

namespace {

handle_t accept_socket(handle_t h, bool non_blocking, endpoint& peer,
                       std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  for (;;) {
    socklen_t len = sizeof ss;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    // accept4 sets both flags on the new socket and never inherits the listener's
    // O_NONBLOCK: no fcntl afterwards.
    const int s = ::accept4(fd(h), reinterpret_cast<sockaddr*>(&ss), &len,
                            SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0));
    const bool need_cloexec = false;
    const bool fix_blocking = false;
#else
    const int s = ::accept(fd(h), reinterpret_cast<sockaddr*>(&ss), &len);
    const bool need_cloexec = true;
    // The BSDs' accept() hands out sockets that inherit the listener's O_NONBLOCK
    // (always set, see listener.cpp): set what the caller asked for either way.
    const bool fix_blocking = true;
#endif
    if (s < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      // Reported as is: core/src/net/accept_policy.hpp decides what it means.
      ec = {err, socket_category()};
      return invalid_handle;
    }
    // The SIGPIPE option is per socket.
    if (!prepare_new_socket(s, need_cloexec, ec)) {
      ::close(s);
      return invalid_handle;
    }
    if (fix_blocking) {
      const int flags = ::fcntl(s, F_GETFL, 0);
      const int wanted = flags < 0      ? flags
                         : non_blocking ? (flags | O_NONBLOCK)
                                        : (flags & ~O_NONBLOCK);
      if (wanted != flags && ::fcntl(s, F_SETFL, wanted) != 0) {
        ec = last_error();
        ::close(s);
        return invalid_handle;
      }
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
  const std::size_t chunk = std::min<std::size_t>(size, SSIZE_MAX);
  for (;;) {
    const ssize_t n = ::send(fd(h), data, chunk, send_flags);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    ec = last_error();
    return 0;
  }
}

std::size_t receive(handle_t h, void* data, std::size_t size, std::error_code& ec) noexcept {
  ec.clear();
  const std::size_t chunk = std::min<std::size_t>(size, SSIZE_MAX);
  for (;;) {
    const ssize_t n = ::recv(fd(h), data, chunk, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    ec = last_error();
    return 0;
  }
}

void shutdown(handle_t h, shutdown_type what, std::error_code& ec) noexcept {
  ec.clear();
  const int how = what == shutdown_type::receive ? SHUT_RD
                  : what == shutdown_type::send  ? SHUT_WR
                                                 : SHUT_RDWR;
  if (::shutdown(fd(h), how) != 0) ec = last_error();
}

// ---- datagrams ----------------------------------------------------------------------

handle_t open_datagram(const endpoint& like, std::error_code& ec) noexcept {
  return open_socket(like.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP, false, ec);
}

std::size_t send_datagram(handle_t h, const void* data, std::size_t size, const endpoint* peer,
                          std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  socklen_t len = 0;
  if (peer) len = to_sockaddr(*peer, ss);
  // Larger than SSIZE_MAX is far beyond any datagram: the system says EMSGSIZE for it.
  const std::size_t chunk = std::min<std::size_t>(size, SSIZE_MAX);
  for (;;) {
    const ssize_t n =
        peer ? ::sendto(fd(h), data, chunk, send_flags, reinterpret_cast<const sockaddr*>(&ss), len)
             : ::send(fd(h), data, chunk, send_flags);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    ec = last_error();
    return 0;
  }
}

std::size_t receive_datagram(handle_t h, void* data, std::size_t size, endpoint& peer,
                             bool& truncated, std::error_code& ec) noexcept {
  ec.clear();
  truncated = false;
  // recvmsg, not recvfrom: only msg_flags tells a datagram that filled the buffer
  // exactly from one that was cut (MSG_TRUNC). A zero-length buffer takes the datagram
  // all the same.
  for (;;) {
    sockaddr_storage ss;
    std::memset(&ss, 0, sizeof ss);
    iovec iov{};
    iov.iov_base = data;
    iov.iov_len = std::min<std::size_t>(size, SSIZE_MAX);
    msghdr msg{};
    msg.msg_name = &ss;
    msg.msg_namelen = sizeof ss;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = ::recvmsg(fd(h), &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ec = last_error();
      return 0;
    }
    truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    if (msg.msg_namelen == 0 || !from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), peer)) {
      peer = endpoint();
    }
    return static_cast<std::size_t>(n);
  }
}

namespace {

in_addr to_in_addr(const endpoint& ep) noexcept {
  in_addr a{};
  const auto b = ep.v4_bytes();
  std::memcpy(&a, b.data(), b.size());
  return a;
}

in6_addr to_in6_addr(const endpoint& ep) noexcept {
  in6_addr a{};
  const auto b = ep.v6_bytes();
  std::memcpy(&a, b.data(), b.size());
  return a;
}

}  // namespace

void multicast_membership(handle_t h, const endpoint& group, const endpoint& interface_address,
                          std::uint32_t interface_index, bool join, std::error_code& ec) noexcept {
  ec.clear();
  int rc = 0;
  if (group.is_v4()) {
    const int name = join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP;
#if defined(__linux__)
    // ip_mreqn names the interface by index or by address.
    ip_mreqn m{};
    m.imr_multiaddr = to_in_addr(group);
    m.imr_address = to_in_addr(interface_address);
    m.imr_ifindex = static_cast<int>(interface_index);
    rc = ::setsockopt(fd(h), IPPROTO_IP, name, &m, sizeof m);
#else
    if (interface_index != 0) {
#if defined(MCAST_JOIN_GROUP)
      // The BSDs' ip_mreq takes an address only: the protocol-independent form
      // takes the index.
      group_req g{};
      g.gr_interface = interface_index;
      sockaddr_storage ss;
      to_sockaddr(group, ss);
      std::memcpy(&g.gr_group, &ss, sizeof ss);
      rc = ::setsockopt(fd(h), IPPROTO_IP, join ? MCAST_JOIN_GROUP : MCAST_LEAVE_GROUP, &g,
                        sizeof g);
#else
      ec = make_error(std::errc::operation_not_supported);
      return;
#endif
    } else {
      ip_mreq m{};
      m.imr_multiaddr = to_in_addr(group);
      m.imr_interface = to_in_addr(interface_address);
      rc = ::setsockopt(fd(h), IPPROTO_IP, name, &m, sizeof m);
    }
#endif
  } else {
    ipv6_mreq m{};
    m.ipv6mr_multiaddr = to_in6_addr(group);
    m.ipv6mr_interface = interface_index;
    rc = ::setsockopt(fd(h), IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m, sizeof m);
  }
  if (rc != 0) ec = last_error();
}

void set_multicast_interface(handle_t h, bool v6, const endpoint& interface_address,
                             std::uint32_t interface_index, std::error_code& ec) noexcept {
  ec.clear();
  int rc = 0;
  if (v6) {
    const unsigned int index = interface_index;
    rc = ::setsockopt(fd(h), IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index);
  } else {
#if defined(__linux__)
    ip_mreqn m{};
    m.imr_address = to_in_addr(interface_address);
    m.imr_ifindex = static_cast<int>(interface_index);
    rc = ::setsockopt(fd(h), IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
#else
    if (interface_index != 0) {
#if defined(IP_MULTICAST_IFINDEX)
      const unsigned int index = interface_index;
      rc = ::setsockopt(fd(h), IPPROTO_IP, IP_MULTICAST_IFINDEX, &index, sizeof index);
#else
      ec = make_error(std::errc::operation_not_supported);
      return;
#endif
    } else {
      const in_addr a = to_in_addr(interface_address);
      rc = ::setsockopt(fd(h), IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof a);
    }
#endif
  }
  if (rc != 0) ec = last_error();
}

unsigned wait_one(handle_t h, unsigned events, int timeout_ms, std::error_code& ec) noexcept {
  ec.clear();
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  pollfd p{fd(h), static_cast<short>(poll_events(events)), 0};
  int remaining = timeout_ms;
  for (;;) {
    const int n = ::poll(&p, 1, remaining);
    if (n > 0) break;
    if (n == 0) return 0;
    if (errno != EINTR) {
      ec = last_error();
      return 0;
    }
    if (timeout_ms >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      remaining = left > 0 ? static_cast<int>(left) : 0;
    }
  }
  if (p.revents & POLLNVAL) {
    ec = make_error(std::errc::bad_file_descriptor);
    return 0;
  }
  unsigned ready = 0;
  // A hang-up is readable: recv() then returns 0 (or the pending error).
  if (p.revents & (POLLIN | POLLHUP)) ready |= wait_read;
  if (p.revents & POLLOUT) ready |= wait_write;
  if (p.revents & (POLLERR | POLLHUP)) ready |= wait_error;
  return ready;
}

void set_non_blocking(handle_t h, bool on, std::error_code& ec) noexcept {
  ec.clear();
  const int flags = ::fcntl(fd(h), F_GETFL, 0);
  if (flags < 0) {
    ec = last_error();
    return;
  }
  const int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd(h), F_SETFL, wanted) != 0) ec = last_error();
}

namespace {

struct option_name {
  int level;
  int name;
};

option_name lookup(option opt) noexcept {
  switch (opt) {
    case option::no_delay:
      return {IPPROTO_TCP, TCP_NODELAY};
    case option::keep_alive:
      return {SOL_SOCKET, SO_KEEPALIVE};
    case option::receive_buffer:
      return {SOL_SOCKET, SO_RCVBUF};
    case option::send_buffer:
      return {SOL_SOCKET, SO_SNDBUF};
    case option::v6_only:
      return {IPPROTO_IPV6, IPV6_V6ONLY};
    case option::reuse_address:
      return {SOL_SOCKET, SO_REUSEADDR};
    case option::broadcast:
      return {SOL_SOCKET, SO_BROADCAST};
    case option::ttl_v4:
      return {IPPROTO_IP, IP_TTL};
    case option::hops_v6:
      return {IPPROTO_IPV6, IPV6_UNICAST_HOPS};
    case option::multicast_ttl_v4:
      return {IPPROTO_IP, IP_MULTICAST_TTL};
    case option::multicast_hops_v6:
      return {IPPROTO_IPV6, IPV6_MULTICAST_HOPS};
    case option::multicast_loop_v4:
      return {IPPROTO_IP, IP_MULTICAST_LOOP};
    case option::multicast_loop_v6:
      return {IPPROTO_IPV6, IPV6_MULTICAST_LOOP};
  }
  return {SOL_SOCKET, SO_KEEPALIVE};
}

// The BSDs (macOS included) take IP_MULTICAST_TTL and IP_MULTICAST_LOOP as one
// byte and refuse an int; Linux takes either.
bool byte_sized(option opt) noexcept {
#if defined(__linux__)
  static_cast<void>(opt);
  return false;
#else
  return opt == option::multicast_ttl_v4 || opt == option::multicast_loop_v4;
#endif
}

}  // namespace

void set_option(handle_t h, option opt, int value, std::error_code& ec) noexcept {
  ec.clear();
  const auto o = lookup(opt);
  if (byte_sized(opt)) {
    const auto byte = static_cast<unsigned char>(value);
    if (::setsockopt(fd(h), o.level, o.name, &byte, sizeof byte) != 0) ec = last_error();
    return;
  }
  if (::setsockopt(fd(h), o.level, o.name, &value, sizeof value) != 0) ec = last_error();
}

int get_option(handle_t h, option opt, std::error_code& ec) noexcept {
  ec.clear();
  const auto o = lookup(opt);
  if (byte_sized(opt)) {
    unsigned char byte = 0;
    socklen_t len = sizeof byte;
    if (::getsockopt(fd(h), o.level, o.name, &byte, &len) != 0) {
      ec = last_error();
      return 0;
    }
    return byte;
  }
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd(h), o.level, o.name, &value, &len) != 0) {
    ec = last_error();
    return 0;
  }
  return value;
}

void set_linger(handle_t h, bool on, int seconds, std::error_code& ec) noexcept {
  ec.clear();
  linger l{};
  l.l_onoff = on ? 1 : 0;
  l.l_linger = seconds;
  if (::setsockopt(fd(h), SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) ec = last_error();
}

endpoint local_endpoint(handle_t h, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  endpoint ep;
  if (::getsockname(fd(h), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ec = last_error();
  } else if (!from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), ep)) {
    ec = make_error(std::errc::address_family_not_supported);
  }
  return ep;
}

endpoint peer_endpoint(handle_t h, std::error_code& ec) noexcept {
  ec.clear();
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  endpoint ep;
  if (::getpeername(fd(h), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ec = last_error();
  } else if (!from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), ep)) {
    ec = make_error(std::errc::address_family_not_supported);
  }
  return ep;
}

std::uint32_t interface_index(std::string_view name) noexcept {
  char buf[IF_NAMESIZE];
  if (name.empty() || name.size() >= sizeof buf) return 0;
  std::memcpy(buf, name.data(), name.size());
  buf[name.size()] = '\0';
  return ::if_nametoindex(buf);
}

std::vector<endpoint> resolve(std::string_view host, std::string_view service,
                              std::error_code& ec) {
  ec.clear();
  const std::string host_s(host);
  const std::string service_s(service);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host_s.empty() ? nullptr : host_s.c_str(),
                               service_s.empty() ? nullptr : service_s.c_str(), &hints, &list);
  if (rc != 0) {
    if (rc == EAI_SYSTEM && errno != 0) {
      ec = last_error();
    } else {
      ec = make_error_code(static_cast<resolve_errc>(resolve_error(rc)));
    }
    return {};
  }
  std::vector<endpoint> result;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    endpoint ep;
    if (ai->ai_addr && from_sockaddr(ai->ai_addr, ep) &&
        std::find(result.begin(), result.end(), ep) == result.end()) {
      result.push_back(ep);
    }
  }
  ::freeaddrinfo(list);
  if (result.empty()) ec = make_error_code(resolve_errc::no_data);
  return result;
}

}  // namespace xsock::detail
