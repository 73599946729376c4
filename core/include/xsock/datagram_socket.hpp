// xsock::datagram_socket: a UDP socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "xsock/endpoint.hpp"
#include "xsock/native_handle.hpp"
#include "xsock/readiness.hpp"
#include "xsock/time_limit.hpp"

namespace xsock {

/// The largest UDP payload over IPv4: 65,535 minus the IPv4 and UDP headers.
inline constexpr std::size_t max_datagram_v4 = 65507;
/// The largest UDP payload over IPv6 (no jumbograms): 65,535 minus the UDP header.
inline constexpr std::size_t max_datagram_v6 = 65527;

/// How `datagram_socket::bind` sets up the socket.
struct bind_options {
  /// SO_REUSEADDR: several sockets may bind the same port (on POSIX; needed by
  /// several listeners of one multicast group). Off by default: a second bind of a
  /// port in use fails with `address_in_use`, on every platform.
  bool reuse_address = false;
  /// For an IPv6 endpoint: IPv6 only (true) or IPv4 too, as IPv4-mapped addresses
  /// (false: dual-stack). Set explicitly, never left to the system default.
  bool v6_only = false;
};

/// One datagram taken by `receive_from` / `receive`.
struct datagram_info {
  /// Bytes stored in the caller's buffer (0 for an empty datagram: a valid datagram,
  /// never an end of stream, which UDP does not have).
  std::size_t size = 0;
  /// Who sent it.
  endpoint peer;
  /// The datagram was larger than the buffer: `size` bytes were kept, the rest is
  /// lost (the system discards it). Never silent.
  bool truncated = false;
};

/// A UDP socket: move-only, closes on destruction.
///
/// Every operation has two forms: one throws `xsock::error` (message names the
/// operation and the address), one takes `std::error_code&` and is `noexcept`. Errors
/// compare equal to `std::errc` conditions on every platform. A datagram is sent whole
/// or not at all: one larger than the path allows fails with `message_size`
/// (`max_datagram_v4` / `max_datagram_v6` bytes at most). An ICMP "port unreachable"
/// for an earlier datagram is reported only on a connected socket, by a later call
/// failing with `connection_refused` (on Windows too: `SIO_UDP_CONNRESET` is turned
/// off, so an unconnected socket's read loop is never ended by another peer's ICMP);
/// the socket stays usable. Timed calls take a `time_limit` and fail with `timed_out`.
class datagram_socket {
 public:
  /// Not open.
  datagram_socket() noexcept = default;
  /// Takes ownership of a native UDP socket.
  explicit datagram_socket(native_handle_type handle) noexcept : handle_(handle) {}
  /// Takes `other`'s socket; `other` is left closed.
  datagram_socket(datagram_socket&& other) noexcept;
  /// Closes this socket, then takes `other`'s.
  datagram_socket& operator=(datagram_socket&& other) noexcept;
  datagram_socket(const datagram_socket&) = delete;
  datagram_socket& operator=(const datagram_socket&) = delete;
  /// Closes the socket.
  ~datagram_socket();

  ///@{
  /// Opens an unbound socket of `like`'s family (only the family is used). A socket
  /// that is already open is closed first. Sending from an unbound socket binds it to
  /// a port the system picks.
  void open(const endpoint& like);
  void open(const endpoint& like, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Opens a socket of `where`'s family (unless one is open) and binds it. Port 0
  /// picks a free port (`local_endpoint()` tells which). Throws naming the address
  /// ("bind 0.0.0.0:7788: address already in use").
  void bind(const endpoint& where, const bind_options& options = {});
  void bind(const endpoint& where, const bind_options& options, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Sets the default peer (opening a socket of its family unless one is open):
  /// `send` and `receive` then talk to it only, datagrams from other addresses are
  /// dropped by the system, and ICMP errors for it are reported (`connection_refused`).
  /// No packet is sent.
  void connect(const endpoint& peer);
  void connect(const endpoint& peer, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Sends one datagram to `peer`; returns `size` (a datagram is never sent in part).
  /// An empty datagram is sent as one. Fails with `message_size` when it is too large,
  /// `permission_denied` for a broadcast address without `set_broadcast(true)`.
  std::size_t send_to(const void* data, std::size_t size, const endpoint& peer);
  std::size_t send_to(const void* data, std::size_t size, const endpoint& peer,
                      std::error_code& ec) noexcept;
  std::size_t send_to(std::string_view bytes, const endpoint& peer) {
    return send_to(bytes.data(), bytes.size(), peer);
  }
  std::size_t send_to(std::string_view bytes, const endpoint& peer, std::error_code& ec) noexcept {
    return send_to(bytes.data(), bytes.size(), peer, ec);
  }
  ///@}

  ///@{
  /// Sends one datagram to the connected peer (`not_connected` without one).
  std::size_t send(const void* data, std::size_t size);
  std::size_t send(const void* data, std::size_t size, std::error_code& ec) noexcept;
  std::size_t send(std::string_view bytes) { return send(bytes.data(), bytes.size()); }
  std::size_t send(std::string_view bytes, std::error_code& ec) noexcept {
    return send(bytes.data(), bytes.size(), ec);
  }
  ///@}

  ///@{
  /// Waits for one datagram (at most `timeout`, then `timed_out`; on a non-blocking
  /// socket `operation_would_block` when none is queued) and stores up to `size`
  /// bytes of it. A larger datagram is reported with `truncated` set. A `size` of 0
  /// takes a datagram too (reporting whether it was empty by `truncated`).
  datagram_info receive_from(void* data, std::size_t size, time_limit timeout = no_timeout);
  datagram_info receive_from(void* data, std::size_t size, std::error_code& ec) noexcept;
  datagram_info receive_from(void* data, std::size_t size, time_limit timeout,
                             std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Waits until a datagram is queued (`readiness::readable`, a pending error counts)
  /// or a send would not block (`readiness::writable`). False when the time limit
  /// elapses first.
  bool wait(readiness what, time_limit timeout = no_timeout);
  bool wait(readiness what, time_limit timeout, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Closes the socket. Idempotent; safe on a moved-from socket.
  void close() noexcept;
  bool is_open() const noexcept { return handle_ != invalid_handle; }
  ///@}

  ///@{
  /// Gives up ownership of the native handle without closing it.
  native_handle_type release() noexcept;
  native_handle_type native_handle() const noexcept { return handle_; }
  ///@}

  ///@{
  /// Non-blocking mode: `send*` and `receive*` fail with `operation_would_block`
  /// instead of waiting (the timed calls still wait).
  void set_non_blocking(bool on);
  void set_non_blocking(bool on, std::error_code& ec) noexcept;
  bool non_blocking() const noexcept { return non_blocking_; }
  ///@}

  ///@{
  /// SO_BROADCAST: allows sending to a broadcast address.
  void set_broadcast(bool on);
  void set_broadcast(bool on, std::error_code& ec) noexcept;
  ///@}
  ///@{
  /// IP_TTL / IPV6_UNICAST_HOPS for datagrams to a single peer (1..255).
  void set_ttl(int hops);
  void set_ttl(int hops, std::error_code& ec) noexcept;
  ///@}
  ///@{
  /// Joins / leaves a multicast group on one interface: for an IPv4 group the
  /// interface with address `interface_address` (the system's choice when it is
  /// unspecified, `0.0.0.0`); for an IPv6 group the interface with index
  /// `interface_index` (0: the system's choice). Fails with `invalid_argument` when
  /// `group` is not a multicast address of the socket's family.
  void join_group(const endpoint& group, const endpoint& interface_address = {});
  void join_group(const endpoint& group, const endpoint& interface_address,
                  std::error_code& ec) noexcept;
  void join_group(const endpoint& group, std::uint32_t interface_index);
  void join_group(const endpoint& group, std::uint32_t interface_index,
                  std::error_code& ec) noexcept;
  void leave_group(const endpoint& group, const endpoint& interface_address = {});
  void leave_group(const endpoint& group, const endpoint& interface_address,
                   std::error_code& ec) noexcept;
  void leave_group(const endpoint& group, std::uint32_t interface_index);
  void leave_group(const endpoint& group, std::uint32_t interface_index,
                   std::error_code& ec) noexcept;
  ///@}
  ///@{
  /// The interface multicast datagrams leave by: IPv4 by address
  /// (IP_MULTICAST_IF), IPv6 by index (IPV6_MULTICAST_IF).
  void set_multicast_interface(const endpoint& interface_address);
  void set_multicast_interface(const endpoint& interface_address, std::error_code& ec) noexcept;
  void set_multicast_interface(std::uint32_t interface_index);
  void set_multicast_interface(std::uint32_t interface_index, std::error_code& ec) noexcept;
  ///@}
  ///@{
  /// IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS (0..255; 1, the system default, stays on
  /// the local network).
  void set_multicast_ttl(int hops);
  void set_multicast_ttl(int hops, std::error_code& ec) noexcept;
  ///@}
  ///@{
  /// IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: whether this host's own members of a
  /// group receive what it sends to the group (on by default).
  void set_multicast_loopback(bool on);
  void set_multicast_loopback(bool on, std::error_code& ec) noexcept;
  ///@}
  ///@{
  /// SO_RCVBUF / SO_SNDBUF, in bytes (the system may round or double them; the
  /// getters report what it uses).
  void set_receive_buffer_size(int bytes);
  void set_receive_buffer_size(int bytes, std::error_code& ec) noexcept;
  int receive_buffer_size() const;
  int receive_buffer_size(std::error_code& ec) const noexcept;
  void set_send_buffer_size(int bytes);
  void set_send_buffer_size(int bytes, std::error_code& ec) noexcept;
  int send_buffer_size() const;
  int send_buffer_size(std::error_code& ec) const noexcept;
  ///@}

  ///@{
  /// This end's address (the port the system picked included).
  endpoint local_endpoint() const;
  endpoint local_endpoint(std::error_code& ec) const noexcept;
  ///@}
  ///@{
  /// The connected peer (`not_connected` without one).
  endpoint peer_endpoint() const;
  endpoint peer_endpoint(std::error_code& ec) const noexcept;
  ///@}

 private:
  // Throws xsock::error for `ec`, naming `operation` and `where`: called only after a
  // failure, so the success path builds no text.
  [[noreturn]] void fail(const std::error_code& ec, const char* operation,
                         const endpoint* where) const;

  native_handle_type handle_ = invalid_handle;
  bool non_blocking_ = false;
  bool v6_ = false;
  bool has_peer_ = false;
  endpoint peer_;
};

}  // namespace xsock
