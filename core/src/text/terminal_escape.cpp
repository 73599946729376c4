#include "xsock/terminal_escape.hpp"

#include <array>

#include "text_support.hpp"

namespace xsock {
namespace {

void append_escape(std::string& out, const char* prefix, unsigned value, int digits) {
  static const char hex[] = "0123456789abcdef";
  out += prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out.push_back(hex[(value >> shift) & 0xF]);
  }
}

// What a byte means to the scanner: 0 copy as is, 1 an ASCII control to escape, 2 the
// start of a multibyte sequence that must be checked (well-formed? escaped code point?).
constexpr std::array<unsigned char, 256> make_byte_classes() {
  std::array<unsigned char, 256> classes{};
  for (int b = 0; b < 256; ++b) {
    if ((b < 0x20 && b != '\t') || b == 0x7F)
      classes[static_cast<std::size_t>(b)] = 1;
    else if (b >= 0x80)
      classes[static_cast<std::size_t>(b)] = 2;
  }
  return classes;
}

constexpr std::array<unsigned char, 256> byte_classes = make_byte_classes();

}  // namespace

bool is_escaped_code_point(char32_t cp) noexcept {
  if (cp < 0x80) return (cp < 0x20 && cp != '\t') || cp == 0x7F;
  if (cp < 0x2000) return cp <= 0x9F || cp == 0x00AD || cp == 0x061C || cp == 0x180E;
  if (cp < 0x2100) {
    return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F);
  }
  return cp == 0xFEFF || (cp >= 0xE0000 && cp <= 0xE007F);
}

void escape_for_terminal(std::string_view utf8, std::string& out) {
  out.reserve(out.size() + utf8.size());
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  const auto* const last = p + utf8.size();
  // Runs of bytes that need nothing are copied in one append.
  const unsigned char* run = p;
  const auto flush_run = [&](const unsigned char* end) {
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
  };
  while (p < last) {
    const unsigned char kind = byte_classes[*p];
    if (kind == 0) {
      ++p;
      continue;
    }
    if (kind == 1) {
      flush_run(p);
      append_escape(out, "\\x", *p, 2);
      run = ++p;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = detail::next_utf8(p, last, cp);
    if (n == 0) {
      // A stray byte such as 0x9B is CSI to some terminals: never pass it through.
      flush_run(p);
      append_escape(out, "\\x", *p, 2);
      run = ++p;
      continue;
    }
    if (is_escaped_code_point(cp)) {
      flush_run(p);
      if (cp > 0xFFFF)
        append_escape(out, "\\U", static_cast<unsigned>(cp), 8);
      else
        append_escape(out, "\\u", static_cast<unsigned>(cp), 4);
      run = p + n;
    }
    p += n;
  }
  flush_run(p);
}

std::string escape_for_terminal(std::string_view utf8) {
  std::string out;
  escape_for_terminal(utf8, out);
  return out;
}

}  // namespace xsock
