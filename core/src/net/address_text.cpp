// Numeric address text: the same rules and output as glibc's inet_pton/inet_ntop, in
// portable code, so an address reads and prints the same on every platform (Winsock's
// InetPton accepts other forms, and needs no WSAStartup only on some versions).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "backend.hpp"
#include "xsock/endpoint.hpp"

namespace xsock::detail {
namespace {

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

}  // namespace

bool parse_address(std::string_view text, endpoint& out) noexcept {
  if (text.empty() || text.size() > 128) return false;
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
    if (name.empty() || name.find('\0') != std::string_view::npos) return false;
    if (name.find_first_not_of("0123456789") == std::string_view::npos) {
      if (name.size() > 9) return false;
      for (const char c : name)
        scope = scope * 10 + static_cast<std::uint32_t>(c - '0');
    } else {
      // An interface name ("eth0", "lo"): the system's own table.
      scope = interface_index(name);
      if (scope == 0) return false;
    }
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
  // Scope ids print as numbers: an interface name is only meaningful on one machine.
  if (ep.scope_id() != 0) text += "%" + std::to_string(ep.scope_id());
  return text;
}

}  // namespace xsock::detail
