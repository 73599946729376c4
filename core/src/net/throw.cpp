#include "net/throw.hpp"

namespace xsock::detail {

void throw_error(const std::error_code& ec, const char* operation) {
  throw xsock::error(ec, operation);
}

void throw_error(const std::error_code& ec, const char* operation, const endpoint& where) {
  std::string text = operation;
  text += ' ';
  text += where.to_string();
  throw xsock::error(ec, text);
}

void throw_error(const std::error_code& ec, const char* operation, std::string_view what) {
  std::string text = operation;
  text += ' ';
  text.append(what.data(), what.size());
  throw xsock::error(ec, text);
}

std::string printable(std::string_view text) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted(std::string_view text) {
  return "\"" + printable(text) + "\"";
}

}  // namespace xsock::detail
