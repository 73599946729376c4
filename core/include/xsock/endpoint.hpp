// xsock::endpoint: an IPv4 or IPv6 address and a port.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <system_error>

namespace xsock {

/// An IPv4 or IPv6 address with a port (and, for IPv6, a scope id). A plain value:
/// copyable, comparable, hashable by its text. Text forms are `1.2.3.4:80` and
/// `[::1]:80` (`[fe80::1%2]:80` with a numeric scope); an IPv4-mapped IPv6 address
/// (`0:0:0:0:0:ffff:1.2.3.4`) formats as IPv4.
class endpoint {
 public:
  /// An IPv4 address in network byte order.
  using bytes_v4 = std::array<std::uint8_t, 4>;
  /// An IPv6 address in network byte order.
  using bytes_v6 = std::array<std::uint8_t, 16>;

  /// 0.0.0.0:0.
  endpoint() noexcept = default;
  /// An IPv4 address and a port.
  endpoint(const bytes_v4& address, std::uint16_t port) noexcept;
  /// An IPv6 address, a port and (for link-local addresses) a scope id.
  endpoint(const bytes_v6& address, std::uint16_t port, std::uint32_t scope_id = 0) noexcept;

  ///@{
  /// Parses `ADDRESS:PORT` (IPv6 in brackets). Throws `xsock::error` with
  /// `std::errc::invalid_argument` whose message quotes the text.
  static endpoint parse(std::string_view text);
  static endpoint parse(std::string_view text, std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Builds an endpoint from a numeric address without brackets (`::1`, `10.0.0.1`)
  /// and a port. Errors as `parse`.
  static endpoint from_address(std::string_view address, std::uint16_t port);
  static endpoint from_address(std::string_view address, std::uint16_t port,
                               std::error_code& ec) noexcept;
  ///@}

  /// 0.0.0.0:port (every IPv4 interface).
  static endpoint any_v4(std::uint16_t port = 0) noexcept;
  /// The IPv6 "any" address and `port` (every IPv6 interface; IPv4 too on a
  /// dual-stack listener).
  static endpoint any_v6(std::uint16_t port = 0) noexcept;
  /// 127.0.0.1:port.
  static endpoint loopback_v4(std::uint16_t port = 0) noexcept;
  /// The IPv6 loopback address and `port`.
  static endpoint loopback_v6(std::uint16_t port = 0) noexcept;

  /// True for an IPv4 endpoint.
  bool is_v4() const noexcept { return !v6_; }
  /// True for an IPv6 endpoint (IPv4-mapped ones included).
  bool is_v6() const noexcept { return v6_; }
  /// True for an IPv4-mapped IPv6 address (`0:0:0:0:0:ffff:a.b.c.d`).
  bool is_v4_mapped() const noexcept;
  /// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
  bool is_loopback() const noexcept;
  /// True for 0.0.0.0 and ::.
  bool is_unspecified() const noexcept;

  /// The port.
  std::uint16_t port() const noexcept { return port_; }
  /// Changes the port.
  void port(std::uint16_t value) noexcept { port_ = value; }
  /// The IPv6 scope id (interface index); 0 for none and for IPv4.
  std::uint32_t scope_id() const noexcept { return scope_id_; }

  /// The IPv4 address; meaningful when `is_v4()`.
  bytes_v4 v4_bytes() const noexcept;
  /// The IPv6 address; for an IPv4 endpoint, its IPv4-mapped form.
  bytes_v6 v6_bytes() const noexcept;

  /// The address without port or brackets: `127.0.0.1`, `::1`.
  std::string address_string() const;
  /// `127.0.0.1:80`, `[::1]:80`.
  std::string to_string() const;

  /// Same family, address, scope and port.
  friend bool operator==(const endpoint& a, const endpoint& b) noexcept;
  /// Not `==`.
  friend bool operator!=(const endpoint& a, const endpoint& b) noexcept { return !(a == b); }
  /// A strict weak order (family, address, scope, port), for ordered containers.
  friend bool operator<(const endpoint& a, const endpoint& b) noexcept;

 private:
  bytes_v6 bytes_{};  // IPv4 uses the first four bytes
  std::uint32_t scope_id_ = 0;
  std::uint16_t port_ = 0;
  bool v6_ = false;
};

std::ostream& operator<<(std::ostream& os, const endpoint& ep);

}  // namespace xsock
