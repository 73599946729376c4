// xsock-client: the tutorial's TCP client. Sends each -m message, or each line of
// standard input as it is read, in the wire encoding; prints what comes back while it
// sends (a second thread reads the socket); half-closes at the end of input.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "console.hpp"
#include "stream_lines.hpp"
#include "tool_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"
#include "xsock/encodings.hpp"
#include "xsock/error.hpp"
#include "xsock/line_splitter.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock::tools {
namespace {

constexpr std::string_view program = "xsock-client";
// Longest piece of an input line decoded and encoded at once.
constexpr std::size_t max_input_piece = 1024 * 1024;
// A line is encoded completely before any of it is sent, up to this many wire bytes: a
// character that cannot be encoded stops it with nothing of it sent. A longer line goes
// out in pieces of about this size, so memory stays bounded whatever the input.
constexpr std::size_t max_held_line = 4 * 1024 * 1024;

struct config {
  std::string host;
  int port = -1;
  std::vector<std::string> messages;
  std::string encoding{default_encoding};
  std::string eol = "lf";
  std::int64_t timeout_ms = 10000;  // whole ms, saturated (decimal_duration)
  std::int64_t wait_ms = 2000;
  bool hex = false;
  std::string local_encoding;
  bool list_encodings = false;
};

// Turns an unmappable-character error into the one-line message the contract asks
// for: the character, where it is in the line, and an encoding that has it.
// `chars_before`/`bytes_before`: the characters and UTF-8 bytes of the line that came
// before the text `e` is about; `sent`: wire bytes of the line already sent.
[[noreturn]] void throw_encoding_failure(const text_error& e, const std::string& wire,
                                         std::size_t message_number, std::uint64_t chars_before = 0,
                                         std::uint64_t bytes_before = 0, std::uint64_t sent = 0) {
  std::string what = e.what();
  const std::size_t at = what.find(" at character ");
  const std::size_t after = what.find(')', at == std::string::npos ? what.size() : at);
  if (e.code() == text_errc::unmappable_character && after != std::string::npos) {
    what = what.substr(0, at) + " at character " +
           std::to_string(chars_before + e.character_number()) + " (byte offset " +
           std::to_string(bytes_before + e.offset()) + what.substr(after);
  }
  std::string text = "message " + std::to_string(message_number);
  text += sent == 0
              ? " not sent: "
              : " only partly sent (its first " + std::to_string(sent) + " bytes had gone out): ";
  text += what;
  if (e.code() == text_errc::unmappable_character && wire != "GB18030" &&
      wire.rfind("UTF-", 0) != 0)
    text += "; --encoding GB18030 (or UTF-8) can encode every character";
  throw std::runtime_error(text);
}

// Prints what the server sends, decoded (or as hex), in the local encoding, control
// characters escaped. Runs on its own thread.
class reply_printer {
 public:
  reply_printer(const config& cfg, const std::string& wire, const std::string& local)
      : hex_(cfg.hex), lines_(wire, max_input_piece, cfg.hex) {
    std::error_code ec;
    if (canonical_encoding_name(local, ec) != "UTF-8" && !ec)
      to_local_ = std::make_unique<encoder>(local, encode_policy::replace);
  }

  bool print(std::string_view bytes, std::error_code& ec) {
    if (hex_) return emit(to_hex(bytes) + "\n", ec);
    std::vector<line> pieces;
    lines_.push(bytes, pieces);
    // Shown at once even without a newline: a prompt from the server is visible.
    if (auto rest = lines_.flush()) pieces.push_back(std::move(*rest));
    return emit(format(pieces), ec);
  }

  bool finish(std::error_code& ec) {
    if (hex_) return true;
    std::vector<line> pieces;
    lines_.finish(pieces);
    std::string out = format(pieces);
    std::uint64_t invalid = 0;
    out += escape_for_terminal(lines_.rest(invalid));
    // End on a fresh line, so what follows (a shell prompt) does not join the reply.
    if (out.empty() ? !at_line_start_ : out.back() != '\n') out += '\n';
    return emit(out, ec);
  }

 private:
  std::string format(const std::vector<line>& pieces) {
    std::string out;
    for (const line& piece : pieces) {
      std::uint64_t invalid = 0;
      out += escape_for_terminal(lines_.text(piece, invalid));
      if (!piece.partial()) out += '\n';
    }
    return out;
  }

  bool emit(const std::string& utf8, std::error_code& ec) {
    if (utf8.empty()) return true;
    at_line_start_ = utf8.back() == '\n';
    if (!to_local_) return write_output(utf8, ec);
    std::string local;
    to_local_->encode(utf8, local, ec);
    if (ec) local = utf8;
    return write_output(local, ec);
  }

  bool hex_;
  stream_lines lines_;
  std::unique_ptr<encoder> to_local_;
  bool at_line_start_ = true;
};

// UTF-8 characters in `text` (bytes that do not continue a sequence).
std::uint64_t count_characters(std::string_view text) {
  std::uint64_t n = 0;
  for (const char c : text)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

int run_client(const config& cfg) {
  const std::string wire = checked_encoding(cfg.encoding);
  const std::string local =
      cfg.local_encoding.empty() ? local_encoding() : checked_encoding(cfg.local_encoding);
  // Standard input is cut into lines on its bytes: the local encoding must keep 0x0A a
  // newline (UTF-16 and UTF-32 do not). A usage error, found before connecting.
  std::error_code local_ec;
  if (!encoding_is_line_safe(local, local_ec) || local_ec) {
    throw usage_error("--local-encoding " + local +
                      " cannot be a local (terminal) encoding: its bytes 0x0A/0x0D are not "
                      "always newlines (use UTF-8, GB18030 or another ASCII-compatible "
                      "encoding)");
  }
  const std::string eol = cfg.eol == "crlf" ? "\r\n" : cfg.eol == "lf" ? "\n" : "";
  encoder to_wire(wire, encode_policy::strict);

  // -m messages are all encoded before connecting: one that cannot be sent stops the
  // run before anything goes out.
  std::vector<std::string> encoded;
  const std::string args_encoding = argument_encoding();
  for (std::size_t i = 0; i < cfg.messages.size(); ++i) {
    try {
      encoded.push_back(to_wire.encode(to_utf8(cfg.messages[i], args_encoding) + eol));
    } catch (const text_error& e) {
      throw_encoding_failure(e, wire, i + 1);
    }
  }

  const std::string host = unbracketed_host(cfg.host);
  const std::chrono::milliseconds timeout(cfg.timeout_ms);
  stream_socket socket;
  socket.connect(host, static_cast<std::uint16_t>(cfg.port), timeout);
  // Non-blocking from here: a send waits at most --timeout for the server to take
  // bytes, instead of blocking forever on one that never reads.
  socket.set_non_blocking(true);

  reply_printer printer(cfg, wire, local);
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
  std::atomic<bool> give_up{false};
  std::error_code receive_error;
  std::error_code print_error_code;
  std::thread receiver([&] {
    std::vector<char> buffer(64 * 1024);
    while (!give_up.load()) {
      std::error_code ec;
      // Short waits so the main thread can end this after --wait.
      const std::size_t n =
          socket.receive(buffer.data(), buffer.size(), std::chrono::milliseconds(100), ec);
      if (ec == std::errc::timed_out || ec == std::errc::operation_would_block) continue;
      if (ec) {
        receive_error = ec;
        break;
      }
      if (n == 0) break;
      if (!printer.print(std::string_view(buffer.data(), n), print_error_code)) break;
    }
    if (!print_error_code) printer.finish(print_error_code);
    std::lock_guard<std::mutex> lock(mutex);
    finished = true;
    finished_cv.notify_all();
  });
  // However this function ends (an error thrown included), the reader stops first.
  struct stop_receiver {
    std::atomic<bool>& give_up;
    std::thread& thread;
    ~stop_receiver() {
      give_up = true;
      if (thread.joinable()) thread.join();
    }
  } receiver_guard{give_up, receiver};

  // Sends; on failure remembers the message and stops sending. A send that makes no
  // progress for --timeout fails: the server is not reading.
  std::string failure;
  const auto send = [&](const std::string& bytes) {
    std::error_code ec;
    std::string_view rest = bytes;
    while (!rest.empty()) {
      const std::size_t n = socket.send(rest.data(), rest.size(), ec);
      if (ec == std::errc::operation_would_block) {
        ec.clear();
        if (socket.wait(readiness::writable, timeout, ec) || ec) {
          if (ec) break;
          continue;
        }
        failure = "send to " + cfg.host + ":" + std::to_string(cfg.port) +
                  ": timed out (the server took no data for the --timeout period)";
        return false;
      }
      if (ec) break;
      rest.remove_prefix(n);
    }
    if (ec)
      failure = "send to " + cfg.host + ":" + std::to_string(cfg.port) + ": " + error_text(ec);
    return !ec;
  };

  if (!cfg.messages.empty()) {
    for (const std::string& bytes : encoded)
      if (!send(bytes)) break;
  } else {
    // Lines of standard input, each sent as soon as it is complete; long lines in
    // bounded pieces. Local bytes -> UTF-8 -> wire encoding (strict).
    const bool prompt = input_is_terminal();
    line_splitter lines(max_input_piece, local);
    decoder from_local(local);
    std::vector<line> pieces;
    std::vector<char> buffer(64 * 1024);
    std::size_t number = 1;
    bool input_done = false;
    // The current line: wire bytes not sent yet, bytes already sent, and the
    // characters and UTF-8 bytes before the piece being encoded.
    std::string held;
    std::uint64_t line_sent = 0;
    std::uint64_t line_chars = 0;
    std::uint64_t line_bytes = 0;
    if (prompt) write_error("> ");
    while (failure.empty() && !input_done) {
      std::error_code ec;
      const std::size_t n = read_input(buffer.data(), buffer.size(), ec);
      if (ec) {
        failure = "read standard input: " + error_text(ec);
        break;
      }
      {
        // Replies can no longer be printed (standard output gone): stop sending too.
        std::lock_guard<std::mutex> lock(mutex);
        if (finished && print_error_code) break;
      }
      pieces.clear();
      if (n == 0) {
        lines.finish(pieces);
        input_done = true;
      } else {
        lines.push(std::string_view(buffer.data(), n), pieces);
      }
      for (const line& piece : pieces) {
        std::string text = from_local.decode(piece.bytes);
        if (!piece.partial()) {
          from_local.finish(text);
          text += eol;
        }
        try {
          to_wire.encode(text, held);
        } catch (const text_error& e) {
          throw_encoding_failure(e, wire, number, line_chars, line_bytes, line_sent);
        }
        line_chars += count_characters(text);
        line_bytes += text.size();
        if (piece.partial() && held.size() < max_held_line) continue;
        if (!send(held)) break;
        line_sent += held.size();
        held.clear();
        if (!piece.partial()) {
          line_sent = line_chars = line_bytes = 0;
          ++number;
          if (prompt && !input_done) write_error("> ");
        }
      }
    }
  }

  if (failure.empty()) {
    // Half-close: the server reads end of stream and may still answer.
    std::error_code ec;
    socket.shutdown(shutdown_type::send, ec);
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    finished_cv.wait_for(lock, std::chrono::milliseconds(cfg.wait_ms), [&] { return finished; });
  }
  give_up = true;
  receiver.join();

  if (!failure.empty()) throw std::runtime_error(failure);
  if (print_error_code)
    throw std::runtime_error("write to standard output: " + error_text(print_error_code));
  if (receive_error)
    throw std::runtime_error("receive from " + cfg.host + ":" + std::to_string(cfg.port) + ": " +
                             error_text(receive_error));
  return exit_ok;
}

int run(int argc, char** argv) {
  console_init();
  config cfg;
  CLI::App app("Sends text to a TCP server in its encoding and prints what comes back.",
               std::string(program));
  app.add_option("HOST", cfg.host, "Server name or address (every resolved address is tried)");
  app.add_option("PORT", cfg.port, "Server port")->transform(decimal_integer(1, 65535));
  app.add_option("-m,--message", cfg.messages,
                 "Send TEXT (repeatable), then finish; without -m, lines of standard input "
                 "are sent as they are read")
      // One TEXT per -m, so `-m hi HOST PORT` leaves HOST and PORT to the positionals.
      ->allow_extra_args(false);
  app.add_option("-e,--encoding", cfg.encoding, "Wire encoding (any ICU converter name)")
      ->default_val(std::string(default_encoding));
  app.add_option("--eol", cfg.eol, "Appended to each message or line")
      ->default_val("lf")
      ->check(CLI::IsMember({"lf", "crlf", "none"}));
  app.add_option("--timeout", cfg.timeout_ms,
                 "Seconds allowed for connecting, and for each send to make progress")
      ->default_str("10")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, true));
  app.add_option("--wait", cfg.wait_ms,
                 "Seconds to keep printing replies after the input ends (until the server "
                 "closes)")
      ->default_str("2")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, false));
  app.add_flag("--hex", cfg.hex, "Show received bytes as hex instead of text");
  app.add_option("--local-encoding", cfg.local_encoding,
                 "Encoding of the terminal/pipes (default: the locale's; UTF-8 for C/POSIX)");
  app.add_flag("--list-encodings", cfg.list_encodings, "Print the encoding names and exit");
  app.set_version_flag("--version", version_line(program));
  app.footer(R"(Examples:
  xsock-client 127.0.0.1 7788 -m "你好，世界"            one message in GBK, like the tutorial
  xsock-client 127.0.0.1 7788 -m hi --eol none           exactly "hi", no newline
  xsock-client -e UTF-8 localhost 9000 < lines.txt       every line of a file, as UTF-8
  xsock-client --hex 127.0.0.1 9000 -m ping              show the reply as hex

Exit status: 0 done, 1 connect/IO/conversion failure (one line on stderr), 2 usage error.)");

  const int parsed = parse_command_line(app, program, console_arguments(argc, argv));
  if (parsed >= 0) return parsed;
  if (cfg.list_encodings) return list_encodings_command();
  if (cfg.host.empty() || cfg.port < 0) {
    print_error(program, "HOST and PORT are required (see --help)");
    return exit_usage;
  }
  return run_client(cfg);
}

}  // namespace
}  // namespace xsock::tools

int main(int argc, char** argv) {
  return xsock::tools::guarded_main(xsock::tools::program,
                                    [&] { return xsock::tools::run(argc, argv); });
}
