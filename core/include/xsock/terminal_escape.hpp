// xsock::escape_for_terminal: makes text from the network safe to print.
#pragma once

#include <string>
#include <string_view>

namespace xsock {

/// Returns `utf8` with everything that could drive a terminal made visible: C0 controls
/// other than tab, and DEL, become `\xHH` (`\x1b`, `\x0a`, `\x7f`); C1 controls and
/// bidi controls (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069) become `\uHHHH`
/// (`\u009b`, `\u202e`); bytes that are not well-formed UTF-8 become `\xHH`. Printable
/// text, tab and backslash are kept as they are. Stateless: pieces may be escaped
/// separately as long as each is whole characters (decoder output always is).
std::string escape_for_terminal(std::string_view utf8);
/// Appends the escaped text to `out`.
void escape_for_terminal(std::string_view utf8, std::string& out);

}  // namespace xsock
