// Internal helpers shared by the xsock::text sources: ICU converter ownership, UTF-8
// and UTF-16 helpers, error construction. Not installed; ICU appears only here and in
// the .cpp files.
#pragma once

#include <unicode/ucnv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "xsock/text_error.hpp"

namespace xsock::detail {

struct converter_closer {
  void operator()(UConverter* cnv) const noexcept { ucnv_close(cnv); }
};
using converter_ptr = std::unique_ptr<UConverter, converter_closer>;

/// Opens `name`; on failure fills `info` (unknown_encoding naming `name`) and returns
/// null. An empty name fails (ICU would open its default converter).
converter_ptr open_converter(std::string_view name, text_error_info& info);

/// The preferred name of an open converter: MIME, else IANA, else ICU's name.
std::string preferred_name(const UConverter* cnv);

text_error_info make_error(text_errc code, std::string message);
[[noreturn]] void throw_text_error(const text_error_info& info);

/// "U+1F600".
std::string format_code_point(char32_t cp);
/// "81 7F".
std::string format_hex_bytes(std::string_view bytes);
/// The name quoted for a message, with anything non-printable shown as \xHH.
std::string quote_name(std::string_view name);

/// Appends the UTF-8 form of a scalar value.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// Reads one well-formed UTF-8 sequence (no overlongs, surrogates or values above
/// U+10FFFF) at `p`. Returns its length and sets `cp`, or returns 0 when the bytes at
/// `p` are not the start of a well-formed sequence.
std::size_t next_utf8(const unsigned char* p, const unsigned char* end, char32_t& cp) noexcept;

/// Appends UTF-16 code units as UTF-8. `high` carries a high surrogate left at the
/// end of one call into the next; an unpaired surrogate becomes U+FFFD.
void append_utf16_as_utf8(std::string& out, const UChar* begin, const UChar* end, UChar& high);

}  // namespace xsock::detail
