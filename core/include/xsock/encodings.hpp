// Encoding names: lookup, canonical names and the list of available converters.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "xsock/default_encoding.hpp"

namespace xsock {

/// True when `name` (any ICU converter name or alias, matched as ICU does: case and
/// punctuation are ignored) opens a converter. An empty name is never an encoding.
bool encoding_exists(std::string_view name) noexcept;

/// The preferred name of the encoding `name` refers to: its MIME name, else its IANA
/// name, else ICU's converter name (`gbk` and `cp936` give `GBK`). Throws
/// `xsock::text_error` (`text_errc::unknown_encoding`) naming `name` when unknown.
std::string canonical_encoding_name(std::string_view name);
/// As above; on failure sets `ec` and returns an empty string.
std::string canonical_encoding_name(std::string_view name, std::error_code& ec);

/// The preferred names of every converter available in the ICU data this program
/// runs with (for `--list-encodings`), sorted case-insensitively.
std::vector<std::string> list_encodings();

/// Every alias ICU knows for the encoding `name` refers to, ICU's converter name
/// first. Throws `xsock::text_error` when unknown.
std::vector<std::string> encoding_aliases(std::string_view name);

/// True when a byte stream in this encoding may be cut into lines at raw 0x0A bytes
/// before decoding: `\n` and `\r` are single bytes that never occur inside another
/// character (GBK, GB18030, Big5, Shift_JIS, EUC-KR, UTF-8, ...). False for UTF-16/32,
/// EBCDIC and other encodings where that is not so. Sets `ec` to `unknown_encoding`
/// for an unknown name. The answer is computed once per encoding from ICU and cached.
bool encoding_is_line_safe(std::string_view name, std::error_code& ec);
/// As above; throws `xsock::text_error` when the name is unknown.
bool encoding_is_line_safe(std::string_view name);

}  // namespace xsock
