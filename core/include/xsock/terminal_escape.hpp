// xsock::escape_for_terminal: makes text from the network safe to print.
#pragma once

#include <string>
#include <string_view>

namespace xsock {

/// Returns `utf8` with everything that could drive a terminal, or hide from the reader,
/// made visible: C0 controls other than tab, and DEL, become `\xHH` (`\x1b`, `\x0a`,
/// `\x7f`); the code points of `is_escaped_code_point` above U+007F become `\uHHHH`
/// (`\u009b`, `\u202e`, `\ufeff`; `\UHHHHHHHH` above U+FFFF: `\U000e0001`);
/// bytes that are not well-formed UTF-8 become `\xHH`. Printable text, tab and
/// backslash are kept as they are. Stateless: pieces may be escaped separately as long
/// as each is whole characters (decoder output always is).
std::string escape_for_terminal(std::string_view utf8);
/// Appends the escaped text to `out`.
void escape_for_terminal(std::string_view utf8, std::string& out);

/// True for the code points shown escaped: C0 controls but tab, DEL, C1 controls
/// (U+0080-U+009F, U+0085 included); bidi controls (U+061C, U+200E/F, U+202A-U+202E,
/// U+2066-U+2069); line and paragraph separators (U+2028, U+2029); invisible format
/// characters (U+00AD, U+180E, U+200B-U+200D, U+2060-U+2064, U+206A-U+206F, U+FEFF)
/// and tag characters (U+E0000-U+E007F).
bool is_escaped_code_point(char32_t cp) noexcept;

}  // namespace xsock
