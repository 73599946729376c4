#include "tool_support.hpp"

#include <algorithm>

#include "console.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encodings.hpp"

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

int parse_command_line(CLI::App& app, std::string_view program, std::vector<std::string> args) {
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

void append_json_string(std::string& out, std::string_view utf8) {
  static const char digits[] = "0123456789abcdef";
  out += '"';
  for (const char c : utf8) {
    const auto b = static_cast<unsigned char>(c);
    switch (c) {
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
        if (b < 0x20 || b == 0x7f) {
          out += "\\u00";
          out += digits[b >> 4];
          out += digits[b & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
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
