// Pieces both tools share: error reporting with the documented exit codes, CLI11
// parsing, hex and JSON formatting, local text conversion.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stream_lines.hpp"

namespace xsock::tools {

/// Exit codes of both tools (see README.md, "Exit statuses").
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
/// --help/--version (printed to stdout), 2 after a usage error (one line on stderr,
/// followed by `hint` when it is not empty: what the tool guesses was meant).
int parse_command_line(CLI::App& app, std::string_view program, std::vector<std::string> args,
                       std::string_view hint = {});

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

/// The longest duration any option gives (about ten years): larger values saturate to
/// it, so "huge" means "no limit in practice" and no deadline arithmetic can overflow.
inline constexpr std::chrono::milliseconds max_duration{315360000000};

/// CLI11 transform for a whole-number option: decimal digits only, leading zeros
/// meaning decimal (`010` is 10, `0x10` and `1e3` are refused), within [min, max]. The
/// value handed on has no leading zeros; error messages quote at most a short prefix.
CLI::Validator decimal_integer(std::uint64_t min, std::uint64_t max);

/// The unit of a duration option.
enum class time_unit { seconds, milliseconds };

/// CLI11 transform for a duration option: a decimal number (`2`, `0.5`, `.25`; no sign,
/// exponent, `nan` or `inf`) in `unit`, handed on as whole milliseconds: rounded up
/// when positive (0.0004 s is 1 ms, never 0), saturated at `max_duration`. `positive`:
/// zero is refused too.
CLI::Validator decimal_duration(time_unit unit, bool positive);

/// A host or address as given on the command line, without the brackets of an IPv6
/// literal (`[::1]` -> `::1`, as in URLs and the tools' own `[ip]:port` output).
std::string unbracketed_host(std::string_view host);

/// How both tools show and keep what they receive: --line-end, --packets, --timestamps,
/// --log (`add_view_options`).
struct view_options {
  std::string line_end = "lf";
  bool packets = false;
  bool timestamps = false;
  std::string log;  ///< --log FILE; empty: none
  /// The framing they ask for (after parsing).
  framing how() const;
};

/// Adds --line-end, --packets, --timestamps and --log to `app`; the help of --packets
/// and --timestamps is the tool's own.
void add_view_options(CLI::App& app, view_options& view, const std::string& packets_help,
                      const std::string& timestamps_help);

/// `t` as local time of day with milliseconds, "14:03:07.250" (the system's time zone).
std::string local_time_text(std::chrono::system_clock::time_point t);

/// `t` in RFC 3339, UTC, milliseconds: "2026-12-02T05:30:01.123Z".
std::string utc_time_text(std::chrono::system_clock::time_point t);

/// Lower-case hex of the bytes, no separators: "c4e3".
std::string to_hex(std::string_view bytes);

/// Parses hex digits (either case; spaces and tabs between bytes allowed: "c4 e3",
/// "C4E3") into bytes. False with `error` set ("odd number of hex digits", "'x' is not
/// a hex digit at position 3") on anything else.
bool parse_hex(std::string_view text, std::string& bytes, std::string& error);

/// Appends `utf8` as a JSON string literal (quotes included): `"`, `\`, control
/// characters and every code point `xsock::is_escaped_code_point` names (C1 and bidi
/// controls, U+2028/U+2029, invisible format characters: `\u009b`, `\u202e`) are
/// escaped, so a consumer such as `jq -r` never emits them raw; everything else, valid
/// UTF-8 from the decoders, is copied in runs.
void append_json_string(std::string& out, std::string_view utf8);

/// Escapes `out[from, out.size())`, well-formed UTF-8 (decoder output), in place: as
/// the contents of a JSON string (what `append_json_string` writes between the quotes),
/// or for the terminal (as `xsock::escape_for_terminal`). Text with nothing to escape,
/// the usual case, is only scanned, never copied.
void escape_json_in_place(std::string& out, std::size_t from);
void escape_terminal_in_place(std::string& out, std::size_t from);

/// Converts text from `encoding` to UTF-8 (invalid bytes become U+FFFD); a no-op for
/// UTF-8 itself except for that replacement.
std::string to_utf8(std::string_view text, const std::string& encoding);

/// The version line printed by --version.
std::string version_line(std::string_view program);

}  // namespace xsock::tools
