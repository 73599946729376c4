// Pieces both tools share: error reporting with the documented exit codes, CLI11
// parsing, hex and JSON formatting, local text conversion.
#pragma once

#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace xsock::tools {

/// Exit codes of both tools (see docs/tools.md).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  ///< runtime failure: connect, bind, I/O, encoding
inline constexpr int exit_usage = 2;    ///< bad command line (option, value, encoding name)

/// A usage problem found after parsing (for example an unknown encoding): exit 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes `program: message` and a newline to standard error.
void print_error(std::string_view program, std::string_view message);

/// Parses `args` (program name first). Returns -1 to go on, or the exit code: 0 after
/// --help/--version (printed to stdout), 2 after a usage error (one line on stderr).
int parse_command_line(CLI::App& app, std::string_view program, std::vector<std::string> args);

/// Runs `body` and maps what escapes it to an exit code and one line on stderr:
/// usage_error -> 2, any other exception -> 1.
template <typename Body>
int guarded_main(std::string_view program, Body&& body) {
  try {
    return body();
  } catch (const usage_error& e) {
    print_error(program, e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    print_error(program, e.what());
    return exit_failure;
  }
}

/// Validates an encoding name for --encoding / --local-encoding and returns its
/// preferred name; throws usage_error ("unknown encoding 'X'; see --list-encodings").
std::string checked_encoding(std::string_view name);

/// Prints every encoding name, one a line.
int list_encodings_command();

/// Lower-case hex of the bytes, no separators: "c4e3".
std::string to_hex(std::string_view bytes);

/// Appends `utf8` as a JSON string literal (quotes included): `"`, `\` and control
/// characters are escaped; everything else, valid UTF-8 from the decoders, is kept.
void append_json_string(std::string& out, std::string_view utf8);

/// Converts text from `encoding` to UTF-8 (invalid bytes become U+FFFD); a no-op for
/// UTF-8 itself except for that replacement.
std::string to_utf8(std::string_view text, const std::string& encoding);

/// The version line printed by --version.
std::string version_line(std::string_view program);

}  // namespace xsock::tools
