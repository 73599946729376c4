#include "xsock/terminal_escape.hpp"

#include "text_support.hpp"

namespace xsock {
namespace {

bool is_bidi_control(char32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

void append_escape(std::string& out, const char* prefix, unsigned value, int digits) {
  static const char hex[] = "0123456789abcdef";
  out += prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out.push_back(hex[(value >> shift) & 0xF]);
  }
}

}  // namespace

void escape_for_terminal(std::string_view utf8, std::string& out) {
  out.reserve(out.size() + utf8.size());
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  const auto* const last = p + utf8.size();
  while (p < last) {
    const unsigned char b = *p;
    if (b < 0x80) {
      if ((b < 0x20 && b != '\t') || b == 0x7F) {
        append_escape(out, "\\x", b, 2);
      } else {
        out.push_back(static_cast<char>(b));
      }
      ++p;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = detail::next_utf8(p, last, cp);
    if (n == 0) {
      // A stray byte such as 0x9B is CSI to some terminals: never pass it through.
      append_escape(out, "\\x", b, 2);
      ++p;
      continue;
    }
    if ((cp >= 0x80 && cp <= 0x9F) || is_bidi_control(cp)) {
      append_escape(out, "\\u", static_cast<unsigned>(cp), 4);
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
    }
    p += n;
  }
}

std::string escape_for_terminal(std::string_view utf8) {
  std::string out;
  escape_for_terminal(utf8, out);
  return out;
}

}  // namespace xsock
