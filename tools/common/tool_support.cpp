#include "tool_support.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "console.hpp"
#include "escape_scan.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encodings.hpp"
#include "xsock/terminal_escape.hpp"

#ifndef XSOCK_VERSION
#define XSOCK_VERSION "unknown"
#endif

namespace xsock::tools {

void print_error(std::string_view program, std::string_view message) {
  std::string line(program);
  line += ": ";
  line += message;
  line += '\n';
  write_error(line);
}

int parse_command_line(CLI::App& app, std::string_view program, std::vector<std::string> args,
                       std::string_view hint) {
  // CLI11 takes the arguments without the program name, last first.
  if (!args.empty()) args.erase(args.begin());
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::error_code ec;
    write_output(app.help(), ec);
    return exit_ok;
  } catch (const CLI::CallForVersion&) {
    std::error_code ec;
    write_output(version_line(program) + "\n", ec);
    return exit_ok;
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    if (!hint.empty()) message += "; " + std::string(hint);
    print_error(program, message + " (see --help)");
    return exit_usage;
  }
  return -1;
}

std::string checked_encoding(std::string_view name) {
  std::error_code ec;
  std::string canonical = canonical_encoding_name(name, ec);
  if (ec || canonical.empty())
    throw usage_error("unknown encoding '" + std::string(name) + "' (see --list-encodings)");
  return canonical;
}

int list_encodings_command() {
  std::string out;
  for (const std::string& name : list_encodings()) {
    out += name;
    out += '\n';
  }
  std::error_code ec;
  write_output(out, ec);
  return ec ? exit_failure : exit_ok;
}

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

framing view_options::how() const {
  if (packets) return framing::packets;
  framing f = framing::lf;
  parse_line_end(line_end, f);  // checked by the option
  return f;
}

void add_view_options(CLI::App& app, view_options& view, const std::string& packets_help,
                      const std::string& timestamps_help) {
  app.add_option("--line-end", view.line_end,
                 "What ends a received line: lf (\\n, a \\r before it dropped), cr, crlf, any")
      ->default_val("lf")
      ->check(CLI::IsMember({"lf", "cr", "crlf", "any"}));
  app.add_flag("--packets", view.packets, packets_help);
  app.add_flag("--timestamps", view.timestamps, timestamps_help);
  app.add_option("--log", view.log,
                 "Append every event, both directions, to FILE as JSON lines (bytes in hex)")
      ->type_name("FILE");
}

std::string local_time_text(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  auto seconds = static_cast<std::time_t>(ms.count() / 1000);
  long millis = static_cast<long>(ms.count() % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  const std::tm parts = local_calendar_time(seconds);
  char text[64];  // room for any int: no truncation warning
  std::snprintf(text, sizeof text, "%02d:%02d:%02d.%03ld", parts.tm_hour, parts.tm_min,
                parts.tm_sec, millis);
  return text;
}

std::string utc_time_text(std::chrono::system_clock::time_point t) {
  const std::int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::int64_t days = ms / 86400000;
  std::int64_t of_day = ms % 86400000;
  if (of_day < 0) {
    of_day += 86400000;
    --days;
  }
  // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2);
  char text[128];  // room for any int64 year: no truncation warning
  std::snprintf(text, sizeof text, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(year), static_cast<long long>(month),
                static_cast<long long>(day), static_cast<long long>(of_day / 3600000),
                static_cast<long long>(of_day / 60000 % 60),
                static_cast<long long>(of_day / 1000 % 60), static_cast<long long>(of_day % 1000));
  return text;
}

bool parse_hex(std::string_view text, std::string& bytes, std::string& error) {
  bytes.clear();
  int high = -1;  // the first digit of a byte, once seen
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t') {
      if (high >= 0) {
        error = "a byte is cut by a space at position " + std::to_string(i + 1);
        return false;
      }
      continue;
    }
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) {
      const auto b = static_cast<unsigned char>(c);
      error = (b >= 0x20 && b < 0x7F ? "'" + std::string(1, c) + "'" : std::string("a byte")) +
              " is not a hex digit, at position " + std::to_string(i + 1);
      return false;
    }
    if (high < 0) {
      high = digit;
    } else {
      bytes += static_cast<char>(high * 16 + digit);
      high = -1;
    }
  }
  if (high >= 0) {
    error = "odd number of hex digits";
    return false;
  }
  return true;
}

namespace {

// The input of an error message, shortened: a 300-digit number is not repeated.
std::string quoted_input(const std::string& text) {
  std::string shown;
  for (const char c : text.substr(0, 24)) {
    const auto b = static_cast<unsigned char>(c);
    shown += b >= 0x20 && b < 0x7F ? c : '?';
  }
  if (text.size() > 24) shown += "...";
  return "'" + shown + "'";
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view without_leading_zeros(std::string_view digits) {
  const std::size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? digits.substr(digits.size() - 1) : digits.substr(first);
}

// Decimal digits (no leading zeros) to a number, saturating at `cap`.
std::uint64_t saturating_value(std::string_view digits, std::uint64_t cap) {
  std::uint64_t value = 0;
  for (const char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (value > (cap - d) / 10) return cap;
    value = value * 10 + d;
  }
  return value;
}

}  // namespace

CLI::Validator decimal_integer(std::uint64_t min, std::uint64_t max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        if (!all_digits(text))
          return quoted_input(text) + " is not a whole decimal number (" + range + ")";
        const std::string_view digits = without_leading_zeros(text);
        // One past max when larger (max itself is below 2^64 - 1 for every option).
        const std::uint64_t value = saturating_value(digits, max + 1);
        if (value < min || value > max) return quoted_input(text) + " is out of range " + range;
        text = std::string(digits);
        return std::string();
      },
      "INT in [" + std::to_string(min) + " - " + std::to_string(max) + "]", "DECIMAL_INTEGER");
}

CLI::Validator decimal_duration(time_unit unit, bool positive) {
  return CLI::Validator(
      [unit, positive](std::string& text) -> std::string {
        const std::size_t dot = text.find('.');
        const std::string whole = text.substr(0, dot);
        const std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
        const bool well_formed = (whole.empty() || all_digits(whole)) &&
                                 (fraction.empty() || all_digits(fraction)) &&
                                 !(whole.empty() && fraction.empty());
        if (!well_formed) {
          return quoted_input(text) + " is not a decimal number of " +
                 (unit == time_unit::seconds ? "seconds (like 2 or 0.5)"
                                             : "milliseconds (like 250)");
        }
        // Exact decimal arithmetic: the whole part in milliseconds, then the digits of
        // the fraction that are still whole milliseconds; any digit beyond rounds up.
        const std::uint64_t cap = static_cast<std::uint64_t>(max_duration.count());
        const std::size_t ms_digits = unit == time_unit::seconds ? 3 : 0;
        std::string ms_text = whole.empty() ? "0" : whole;
        ms_text += fraction.substr(0, ms_digits);
        ms_text.append(ms_digits - std::min(ms_digits, fraction.size()), '0');
        std::uint64_t ms = saturating_value(without_leading_zeros(ms_text), cap);
        if (fraction.size() > ms_digits &&
            fraction.find_first_not_of('0', ms_digits) != std::string::npos && ms < cap)
          ++ms;
        if (positive && ms == 0) return quoted_input(text) + " must be more than 0";
        text = std::to_string(ms);
        return std::string();
      },
      // No description: the option's type name (SEC, MS) says it all in --help.
      std::string(), "DECIMAL_DURATION");
}

std::string unbracketed_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string(host);
}

namespace {

using detail::escape_target;
using detail::json_special;
using detail::next_candidate;

// The length of the sequence a lead byte starts, and its code point (0 when the
// sequence is cut off or not well-formed: then it is not one to escape here).
std::size_t decode_at(const unsigned char* p, const unsigned char* end, char32_t& cp) {
  const unsigned b = *p;
  const std::size_t n = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  if (static_cast<std::size_t>(end - p) < n) return 0;
  cp = b & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (std::size_t i = 1; i < n; ++i) {
    const unsigned c = p[i];
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  return n;
}

// Where the first thing to escape starts in `[p, end)`, or `end`.
template <escape_target Target>
const unsigned char* first_to_escape(const unsigned char* p, const unsigned char* end) {
  const auto& special = detail::special_bytes<Target>();
  for (;;) {
    p = next_candidate<Target>(p, end);
    if (p == end) return end;
    if (special[*p] == 1) return p;
    char32_t cp = 0;
    const std::size_t n = decode_at(p, end, cp);
    if (n != 0 && is_escaped_code_point(cp)) return p;
    p += n != 0 ? n : 1;
  }
}

void append_json_chars(std::string& out, std::string_view utf8) {
  static const char digits[] = "0123456789abcdef";
  const auto append_u = [&](unsigned unit) {
    char text[6] = {'\\',
                    'u',
                    digits[(unit >> 12) & 15],
                    digits[(unit >> 8) & 15],
                    digits[(unit >> 4) & 15],
                    digits[unit & 15]};
    out.append(text, sizeof text);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  const auto* const end = p + utf8.size();
  for (;;) {
    // Runs with nothing to escape are copied in one append.
    const unsigned char* at = first_to_escape<escape_target::json>(p, end);
    out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(at - p));
    if (at == end) return;
    const unsigned b = *at;
    if (json_special[b] == 1) {
      switch (b) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          append_u(b);
      }
      p = at + 1;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = decode_at(at, end, cp);
    if (cp > 0xFFFF) {
      append_u(0xD800 + ((cp - 0x10000) >> 10));
      append_u(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      append_u(static_cast<unsigned>(cp));
    }
    p = at + n;
  }
}

// Escapes the tail of `out` from `from` with `escape` once something needs it; what
// comes before the first such byte stays where it is.
template <escape_target Target, typename Escape>
void escape_tail(std::string& out, std::size_t from, Escape&& escape) {
  const auto* const begin = reinterpret_cast<const unsigned char*>(out.data());
  const auto* const end = begin + out.size();
  const unsigned char* at = first_to_escape<Target>(begin + from, end);
  if (at == end) return;
  thread_local std::string tail;
  const std::size_t pos = static_cast<std::size_t>(at - begin);
  tail.assign(out, pos, std::string::npos);
  out.resize(pos);
  escape(out, std::string_view(tail));
  if (tail.capacity() > 65536) std::string().swap(tail);  // a huge line is not kept
}

}  // namespace

void append_json_string(std::string& out, std::string_view utf8) {
  out += '"';
  append_json_chars(out, utf8);
  out += '"';
}

void escape_json_in_place(std::string& out, std::size_t from) {
  escape_tail<escape_target::json>(out, from, append_json_chars);
}

void escape_terminal_in_place(std::string& out, std::size_t from) {
  escape_tail<escape_target::terminal>(
      out, from, [](std::string& o, std::string_view text) { escape_for_terminal(text, o); });
}

std::string to_utf8(std::string_view text, const std::string& encoding) {
  decoder d(encoding);
  std::string out = d.decode(text);
  d.finish(out);
  return out;
}

std::string version_line(std::string_view program) {
  return std::string(program) + " " XSOCK_VERSION " (xsock)";
}

}  // namespace xsock::tools
