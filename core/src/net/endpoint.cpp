#include "xsock/endpoint.hpp"

#include <algorithm>
#include <cstring>
#include <ostream>
#include <tuple>

#include "backend.hpp"
#include "net/throw.hpp"

namespace xsock {
namespace {

constexpr std::uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool parse_port(std::string_view text, std::uint16_t& port) noexcept {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

endpoint::endpoint(const bytes_v4& address, std::uint16_t port) noexcept : port_(port) {
  std::copy(address.begin(), address.end(), bytes_.begin());
}

endpoint::endpoint(const bytes_v6& address, std::uint16_t port, std::uint32_t scope_id) noexcept
    : bytes_(address), scope_id_(scope_id), port_(port), v6_(true) {}

endpoint endpoint::parse(std::string_view text, std::error_code& ec) noexcept {
  ec.clear();
  std::string_view address;
  std::string_view port_text;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      ec = detail::make_error(std::errc::invalid_argument);
      return {};
    }
    address = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    bracketed = true;
  } else {
    const auto colon = text.rfind(':');
    // An unbracketed IPv6 address would make the port ambiguous.
    if (colon == std::string_view::npos ||
        text.substr(0, colon).find(':') != std::string_view::npos) {
      ec = detail::make_error(std::errc::invalid_argument);
      return {};
    }
    address = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  std::uint16_t port = 0;
  endpoint result;
  if (!parse_port(port_text, port) || !detail::parse_address(address, result) ||
      result.is_v6() != bracketed) {
    ec = detail::make_error(std::errc::invalid_argument);
    return {};
  }
  result.port_ = port;
  return result;
}

endpoint endpoint::parse(std::string_view text) {
  std::error_code ec;
  auto result = parse(text, ec);
  if (ec) detail::throw_error(ec, "parse endpoint", detail::quoted(text));
  return result;
}

endpoint endpoint::from_address(std::string_view address, std::uint16_t port,
                                std::error_code& ec) noexcept {
  ec.clear();
  endpoint result;
  if (!detail::parse_address(address, result)) {
    ec = detail::make_error(std::errc::invalid_argument);
    return {};
  }
  result.port_ = port;
  return result;
}

endpoint endpoint::from_address(std::string_view address, std::uint16_t port) {
  std::error_code ec;
  auto result = from_address(address, port, ec);
  if (ec) detail::throw_error(ec, "parse address", detail::quoted(address));
  return result;
}

endpoint endpoint::any_v4(std::uint16_t port) noexcept {
  return endpoint(bytes_v4{}, port);
}

endpoint endpoint::any_v6(std::uint16_t port) noexcept {
  return endpoint(bytes_v6{}, port);
}

endpoint endpoint::loopback_v4(std::uint16_t port) noexcept {
  return endpoint(bytes_v4{127, 0, 0, 1}, port);
}

endpoint endpoint::loopback_v6(std::uint16_t port) noexcept {
  bytes_v6 b{};
  b[15] = 1;
  return endpoint(b, port);
}

bool endpoint::is_v4_mapped() const noexcept {
  return v6_ && std::memcmp(bytes_.data(), v4_mapped_prefix, sizeof v4_mapped_prefix) == 0;
}

bool endpoint::is_loopback() const noexcept {
  if (!v6_) return bytes_[0] == 127;
  if (is_v4_mapped()) return bytes_[12] == 127;
  return *this == loopback_v6(port_) && scope_id_ == 0;
}

bool endpoint::is_unspecified() const noexcept {
  const auto end = bytes_.begin() + (v6_ ? 16 : 4);
  return std::all_of(bytes_.begin(), end, [](std::uint8_t b) { return b == 0; });
}

endpoint::bytes_v4 endpoint::v4_bytes() const noexcept {
  const auto* from = bytes_.data() + (is_v4_mapped() ? 12 : 0);
  return {from[0], from[1], from[2], from[3]};
}

endpoint::bytes_v6 endpoint::v6_bytes() const noexcept {
  if (v6_) return bytes_;
  bytes_v6 b{};
  std::memcpy(b.data(), v4_mapped_prefix, sizeof v4_mapped_prefix);
  std::copy(bytes_.begin(), bytes_.begin() + 4, b.begin() + 12);
  return b;
}

std::string endpoint::address_string() const {
  if (is_v4_mapped()) return detail::format_address(endpoint(v4_bytes(), port_));
  return detail::format_address(*this);
}

std::string endpoint::to_string() const {
  std::string text = address_string();
  if (v6_ && !is_v4_mapped()) text = "[" + text + "]";
  return text + ":" + std::to_string(port_);
}

bool operator==(const endpoint& a, const endpoint& b) noexcept {
  return a.v6_ == b.v6_ && a.port_ == b.port_ && a.scope_id_ == b.scope_id_ && a.bytes_ == b.bytes_;
}

bool operator<(const endpoint& a, const endpoint& b) noexcept {
  return std::tie(a.v6_, a.bytes_, a.scope_id_, a.port_) <
         std::tie(b.v6_, b.bytes_, b.scope_id_, b.port_);
}

std::ostream& operator<<(std::ostream& os, const endpoint& ep) {
  return os << ep.to_string();
}

}  // namespace xsock
