#include "text_support.hpp"

#include <cstdio>
#include <string>

namespace xsock::detail {

converter_ptr open_converter(std::string_view name, text_error_info& info) {
  // ICU opens its default converter for an empty name and cannot see past an embedded
  // NUL; both would silently pick the wrong encoding.
  if (name.empty() || name.find('\0') != std::string_view::npos ||
      name.size() > static_cast<std::size_t>(UCNV_MAX_CONVERTER_NAME_LENGTH)) {
    info = make_error(text_errc::unknown_encoding, "unknown encoding " + quote_name(name));
    return nullptr;
  }
  std::string z(name);
  UErrorCode status = U_ZERO_ERROR;
  converter_ptr cnv(ucnv_open(z.c_str(), &status));
  if (U_FAILURE(status) || !cnv) {
    info = make_error(text_errc::unknown_encoding, "unknown encoding " + quote_name(name));
    return nullptr;
  }
  ucnv_setFallback(cnv.get(), false);
  return cnv;
}

std::string preferred_name(const UConverter* cnv) {
  UErrorCode status = U_ZERO_ERROR;
  const char* icu_name = ucnv_getName(cnv, &status);
  if (U_FAILURE(status) || !icu_name) return "?";
  for (const char* standard : {"MIME", "IANA"}) {
    UErrorCode s = U_ZERO_ERROR;
    const char* n = ucnv_getStandardName(icu_name, standard, &s);
    if (U_SUCCESS(s) && n && *n) return n;
  }
  return icu_name;
}

text_error_info make_error(text_errc code, std::string message) {
  text_error_info info;
  info.code = make_error_code(code);
  info.message = std::move(message);
  return info;
}

void throw_text_error(const text_error_info& info) {
  throw text_error(info);
}

std::string format_code_point(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

std::string format_hex_bytes(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (const char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    if (!out.empty()) out.push_back(' ');
    std::snprintf(buf, sizeof buf, "%02X", static_cast<unsigned>(b));
    out += buf;
  }
  return out;
}

std::string quote_name(std::string_view name) {
  std::string out = "\"";
  char buf[8];
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

std::size_t next_utf8(const unsigned char* p, const unsigned char* end, char32_t& cp) noexcept {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  const auto avail = static_cast<std::size_t>(end - p);
  auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (avail < 2 || !cont(p[1])) return 0;
    cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (avail < 3 || !cont(p[1]) || !cont(p[2])) return 0;
    // Second-byte ranges exclude overlongs (E0) and surrogates (ED).
    if (b0 == 0xE0 && p[1] < 0xA0) return 0;
    if (b0 == 0xED && p[1] > 0x9F) return 0;
    cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (static_cast<char32_t>(p[1] & 0x3F) << 6) |
         (p[2] & 0x3F);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (avail < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3])) return 0;
    if (b0 == 0xF0 && p[1] < 0x90) return 0;
    if (b0 == 0xF4 && p[1] > 0x8F) return 0;
    cp = (static_cast<char32_t>(b0 & 0x07) << 18) | (static_cast<char32_t>(p[1] & 0x3F) << 12) |
         (static_cast<char32_t>(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    return 4;
  }
  return 0;
}

void append_utf16_as_utf8(std::string& out, const UChar* begin, const UChar* end, UChar& high) {
  for (const UChar* p = begin; p != end; ++p) {
    const char16_t u = *p;
    if (high != 0) {
      if (u >= 0xDC00 && u <= 0xDFFF) {
        append_utf8(out, 0x10000 + ((static_cast<char32_t>(high) - 0xD800) << 10) + (u - 0xDC00));
        high = 0;
        continue;
      }
      append_utf8(out, 0xFFFD);
      high = 0;
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
      high = u;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      append_utf8(out, 0xFFFD);
    } else {
      append_utf8(out, u);
    }
  }
}

}  // namespace xsock::detail
