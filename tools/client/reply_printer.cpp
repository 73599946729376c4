#include "reply_printer.hpp"

#include <chrono>
#include <utility>

#include "console.hpp"
#include "tool_support.hpp"
#include "xsock/encodings.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock::tools::client {

reply_printer::reply_printer(const config& cfg, const std::string& wire, const std::string& local,
                             output out)
    : hex_(cfg.hex),
      packets_(cfg.how == framing::packets),
      timestamps_(cfg.view.timestamps),
      lines_(wire, max_input_piece, cfg.hex, cfg.how),
      out_(std::move(out)) {
  std::error_code ec;
  if (canonical_encoding_name(local, ec) != "UTF-8" && !ec)
    to_local_ = std::make_unique<encoder>(local, encode_policy::replace);
}

bool reply_printer::print(std::string_view bytes, std::error_code& ec) {
  if (hex_) return emit(to_hex(bytes) + "\n", ec);
  std::vector<line> pieces;
  lines_.push(bytes, pieces);
  // Shown at once even without a newline: a prompt from the server is visible.
  if (!packets_)
    if (auto rest = lines_.flush()) pieces.push_back(std::move(*rest));
  return emit(format(pieces), ec);
}

bool reply_printer::finish(std::error_code& ec) {
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

std::string reply_printer::format(const std::vector<line>& pieces) {
  std::string out;
  for (const line& piece : pieces) {
    std::uint64_t invalid = 0;
    const std::string text = lines_.text(piece, invalid);
    // --packets: a read that starts a character shows those bytes at once (`\xc4`);
    // the character comes whole with the read that completes it. A read that shows
    // nothing at all (a shift sequence) is no line of output.
    const std::string_view cut = packets_ ? lines_.incomplete_tail(piece.bytes) : "";
    if (packets_ && text.empty() && invalid == 0 && cut.empty()) continue;
    out += escape_for_terminal(text);
    append_byte_escapes(cut, out);
    if (!piece.partial() || packets_) out += '\n';
  }
  return out;
}

bool reply_printer::emit(const std::string& text, std::error_code& ec) {
  if (text.empty()) return true;
  const std::string utf8 = timestamps_ ? stamped(text) : text;
  at_line_start_ = utf8.back() == '\n';
  if (!to_local_) return out_(utf8, ec);
  std::string local;
  to_local_->encode(utf8, local, ec);
  if (ec) local = utf8;
  return out_(local, ec);
}

// --timestamps: the local time at the start of every line of output.
std::string reply_printer::stamped(const std::string& text) const {
  const std::string now = local_time_text(std::chrono::system_clock::now()) + ' ';
  std::string out;
  bool start = at_line_start_;
  for (const char c : text) {
    if (start) out += now;
    out += c;
    start = c == '\n';
  }
  return out;
}

}  // namespace xsock::tools::client
