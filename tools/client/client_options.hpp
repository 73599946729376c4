// xsock-client's command line: the options (CLI11), their checks, and the limits the
// other parts of the client share. Parsing is apart from running so that the checks
// (which exit status, which message) can be tested without starting the client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stream_lines.hpp"
#include "tool_support.hpp"
#include "tool_tls.hpp"
#include "xsock/default_encoding.hpp"

namespace xsock::tools::client {

inline constexpr std::string_view program = "xsock-client";
// Longest piece of an input line decoded and encoded at once.
inline constexpr std::size_t max_input_piece = 1024 * 1024;
// A line is encoded completely before any of it is sent, up to this many wire bytes: a
// character that cannot be encoded stops it with nothing of it sent. A longer line goes
// out in pieces of about this size, so memory stays bounded whatever the input.
inline constexpr std::size_t max_held_line = 4 * 1024 * 1024;
// Wire bytes handed to the loop and not sent yet, above which the reader waits: input
// is read no faster than the server takes it (memory stays bounded).
inline constexpr std::size_t max_in_flight = 64 * 1024;
// Exit status after Ctrl+C (SIGINT/SIGTERM), what a shell reports for SIGINT.
inline constexpr int exit_interrupted = 130;
// Files at least this large show a progress bar (when stderr is a terminal).
inline constexpr std::uintmax_t progress_from = 4 * 1024 * 1024;
// --reconnect: the shortest delay (a server that accepts and closes at once is not
// flooded with connections), and the longest the doubling goes to unless SEC is longer.
inline constexpr std::int64_t min_reconnect_ms = 50;
inline constexpr std::int64_t max_backoff_ms = 8000;

struct config {
  std::string host;
  int port = -1;
  std::vector<std::string> messages;
  std::string encoding{default_encoding};
  std::string eol = "lf";
  std::int64_t timeout_ms = 10000;  // whole ms, saturated (decimal_duration)
  std::int64_t wait_ms = 2000;
  bool hex = false;
  bool hex_input = false;    // -m and input lines are hex digits
  std::string file;          // --file: its bytes, unchanged
  std::uint64_t repeat = 1;  // rounds of -m messages (0: until Ctrl+C)
  std::int64_t interval_ms = 1000;
  std::int64_t reconnect_ms = -1;  // -1: no --reconnect
  std::string backoff = "double";  // --backoff: double, or none (always reconnect_ms)
  view_options view;
  framing how = framing::lf;  // from view
  std::string local_encoding;
  bool list_encodings = false;
  bool udp = false;        // --udp: each message, line or round is a datagram
  bool broadcast = false;  // --broadcast (UDP): SO_BROADCAST, HOST a broadcast address
  std::string multicast;   // --multicast GROUP (UDP): sent to GROUP:PORT by HOST's interface
  int ttl = 0;             // --ttl N (UDP): 1..255; 0: the system's default
  tls_options tls;         // --tls, --ca, --insecure, --sni, --alpn
};

/// Parses the command line (`args`, program name first, as console_arguments gives
/// it) into `cfg` and checks the options together. Returns -1 to go on, or the exit
/// status: 0 after --help, --version or --list-encodings (printed), 2 after a usage
/// error (one line on stderr).
int parse_options(const std::vector<std::string>& args, config& cfg);

/// `--reconnect 2 HOST PORT` reads 2 as HOST: when a number follows a bare --reconnect,
/// the hint that its value needs '=' (empty otherwise).
std::string reconnect_value_hint(const std::vector<std::string>& args);

/// The bytes --eol NAME appends ("lf" -> "\n", "crlf", "cr", "none" -> "").
std::string eol_bytes(const std::string& name);

/// A person is typing the input: standard input is a terminal and is what is sent.
bool typing(const config& cfg);

}  // namespace xsock::tools::client
