#include "udp_console.hpp"

#include <chrono>
#include <utility>

#include "console.hpp"
#include "tool_support.hpp"
#include "xsock/encoder.hpp"
#include "xsock/text_error.hpp"

namespace xsock::tools {
namespace {

constexpr std::string_view program = "xsock-server";

void tell(const std::string& message) {
  write_error(std::string(program) + ": " + message + "\n");
}

std::pair<std::string_view, std::string_view> first_word(std::string_view text) {
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return {text, std::string_view()};
  return {text.substr(0, space), text.substr(space + 1)};
}

}  // namespace

std::string udp_console_help() {
  return "Lines typed here go to the last sender as one datagram each (in the wire\n"
         "encoding, with the line end of --eol). Commands:\n"
         "  /list                  the peers heard from lately, most recent first\n"
         "  /to ADDR:PORT TEXT     TEXT to ADDR:PORT ([::1]:5000 for IPv6)\n"
         "  /hex ADDR:PORT|last HEX  raw bytes (hex digits, spaces allowed) as one datagram\n"
         "  /help                  this text\n"
         "  //TEXT                 send /TEXT (a line starting with /)\n";
}

udp_console::udp_console(const std::string& wire, std::string eol, const peer_list& peers,
                         send_hook send)
    : wire_(wire), eol_(std::move(eol)), peers_(peers), send_(std::move(send)) {}

void udp_console::execute(std::string_view line, std::uint64_t number) {
  endpoint to;
  if (line.empty() || line[0] != '/' || (line.size() >= 2 && line[1] == '/')) {
    if (!target("last", to)) return;
    return send_text(to, line.empty() || line[0] != '/' ? line : line.substr(1), number);
  }
  const auto [command, rest] = first_word(line);
  if (command == "/help") {
    write_error(udp_console_help());
  } else if (command == "/list") {
    write_error(peers_.text(std::chrono::system_clock::now()));
  } else if (command == "/to") {
    const auto [where, text] = first_word(rest);
    if (where.empty()) return tell("usage: /to ADDR:PORT TEXT (peers: /list)");
    if (!target(where, to)) return;
    send_text(to, text, number);
  } else if (command == "/hex") {
    const auto [where, digits] = first_word(rest);
    if (where.empty()) return tell("usage: /hex ADDR:PORT|last HEX");
    std::string bytes;
    std::string error;
    if (!parse_hex(digits, bytes, error)) return tell("/hex: " + error + "; nothing sent");
    if (bytes.empty()) return tell("/hex: no bytes given; nothing sent");
    if (!target(where, to)) return;
    send(to, bytes, bytes, true);
  } else {
    tell("unknown command " + std::string(command) +
         " (see /help; // sends a line starting with /)");
  }
}

bool udp_console::target(std::string_view text, endpoint& to) {
  if (text == "last") {
    if (peers_.last(to)) return true;
    tell(
        "no datagram received yet, so there is no last sender (/to ADDR:PORT TEXT); nothing "
        "sent");
    return false;
  }
  std::error_code ec;
  to = endpoint::parse(text, ec);
  if (ec || to.port() == 0) {
    tell("'" + std::string(text) +
         "' is not ADDR:PORT (127.0.0.1:5000, [::1]:5000; see /list); nothing sent");
    return false;
  }
  return true;
}

void udp_console::send_text(const endpoint& to, std::string_view text, std::uint64_t number) {
  std::string wire;
  try {
    // Every datagram is a message of its own, as from a fresh encoder (a byte order
    // mark, ISO-2022-KR's designator: each datagram decodes by itself).
    wire = encoder(wire_, encode_policy::strict).encode(std::string(text) + eol_);
  } catch (const text_error& e) {
    std::string message = "line " + std::to_string(number) + " not sent: " + e.what();
    if (e.code() == text_errc::unmappable_character && wire_ != "GB18030" &&
        wire_.rfind("UTF-", 0) != 0)
      message += "; --encoding GB18030 (or UTF-8) can encode every character";
    return tell(message);
  }
  send(to, wire, text, false);
}

void udp_console::send(const endpoint& to, std::string_view wire, std::string_view shown,
                       bool hex) {
  if (wire.size() > datagram_limit(to))
    return tell(oversize_message(wire.size(), to) + "; not sent");
  std::string error;
  if (!send_(to, wire, shown, hex, error)) tell("send to " + to.to_string() + ": " + error);
}

}  // namespace xsock::tools
