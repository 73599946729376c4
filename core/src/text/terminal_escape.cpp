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
// start of a sequence that must be checked in full (well-formed? escaped code point?),
// 3 and 4 the lead byte of a two- or three-byte sequence that encodes no escaped code
// point when well-formed (only its continuation bytes need a look), 5 a byte that
// cannot start a sequence.
constexpr std::array<unsigned char, 256> make_byte_classes() {
  std::array<unsigned char, 256> classes{};
  for (int b = 0; b < 256; ++b) {
    unsigned char kind = 0;
    if ((b < 0x20 && b != '\t') || b == 0x7F)
      kind = 1;
    else if (b < 0x80)
      kind = 0;
    else if (b < 0xC2 || b > 0xF4)
      kind = 5;
    else if (b >= 0xC3 && b <= 0xDF && b != 0xD8)  // C2: C1 controls and U+00AD; D8: U+061C
      kind = 3;
    else if ((b >= 0xE3 && b <= 0xEC) || b == 0xEE)  // E0 overlong, E1/E2/EF escaped, ED surrogates
      kind = 4;
    else
      kind = 2;
    classes[static_cast<std::size_t>(b)] = kind;
  }
  return classes;
}

constexpr bool continuation(unsigned char b) noexcept {
  return (b & 0xC0) == 0x80;
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
    if (kind == 3) {
      if (last - p >= 2 && continuation(p[1])) {
        p += 2;
        continue;
      }
    } else if (kind == 4) {
      if (last - p >= 3 && continuation(p[1]) && continuation(p[2])) {
        p += 3;
        continue;
      }
    } else if (kind == 1) {
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
