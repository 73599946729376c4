#include "input_reader.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "console.hpp"
#include "datagram_view.hpp"
#include "tool_support.hpp"
#include "xsock/error.hpp"

namespace xsock::tools::client {

std::string encoding_failure(const text_error& e, const std::string& wire,
                             std::size_t message_number, std::uint64_t chars_before,
                             std::uint64_t bytes_before, std::uint64_t sent) {
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
  return text;
}

std::string stream_signature(const std::string& wire) {
  encoder fresh(wire, encode_policy::strict);
  std::error_code ec;
  const std::string first = fresh.encode(" ", ec);
  const std::string again = ec ? std::string() : fresh.encode(" ", ec);
  if (ec || again.empty() || first.size() <= again.size() ||
      first.compare(first.size() - again.size(), again.size(), again) != 0)
    return std::string();
  return first.substr(0, first.size() - again.size());
}

// An encoder of `wire` that has written its signature already (into a space nobody
// sees): what it encodes next fits any connection, after that connection's signature.
encoder primed_encoder(const std::string& wire) {
  encoder e(wire, encode_policy::strict);
  std::error_code ec;
  e.encode(" ", ec);
  return e;
}

// UTF-8 characters in `text` (bytes that do not continue a sequence).
std::uint64_t count_characters(std::string_view text) {
  std::uint64_t n = 0;
  for (const char c : text)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::vector<std::string> encode_messages(const config& cfg, const std::string& wire,
                                         const std::string& eol, const std::string& args_encoding) {
  std::vector<std::string> encoded;
  std::size_t messages_size = 0;
  encoder to_wire = primed_encoder(wire);
  for (std::size_t i = 0; i < cfg.messages.size(); ++i) {
    if (cfg.hex_input) {
      std::string bytes;
      std::string error;
      if (!parse_hex(cfg.messages[i], bytes, error))
        throw usage_error("-m " + std::to_string(i + 1) + " is not hex (--hex-input): " + error);
      messages_size += bytes.size();
      encoded.push_back(std::move(bytes));
      continue;
    }
    // Strictly, like standard input: bytes invalid in the arguments' encoding are an
    // error, never sent as U+FFFD (on Windows the arguments are UTF-8 converted from
    // the UTF-16 command line).
    decoder from_args(args_encoding, decode_policy::strict);
    std::string text;
    std::error_code ec;
    from_args.decode(cfg.messages[i], text, ec);
    if (!ec) from_args.finish(text, ec);
    if (ec) {
      throw usage_error("invalid " + args_encoding + " in -m " + std::to_string(i + 1) +
                        " at byte " + std::to_string(from_args.last_error().offset + 1));
    }
    try {
      encoded.push_back(to_wire.encode(text + eol));
    } catch (const text_error& e) {
      throw std::runtime_error(encoding_failure(e, wire, i + 1));
    }
    messages_size += encoded.back().size();
  }
  // Rounds of nothing, repeated: the client would only spin.
  if (!cfg.messages.empty() && messages_size == 0 && cfg.repeat != 1) {
    throw usage_error(
        "--repeat: the -m messages are empty, so every round would send nothing (give text, "
        "or an --eol)");
  }
  return encoded;
}

std::string progress_bar(int percent, std::uintmax_t done, std::uintmax_t size) {
  const int width = 30;
  const int filled = std::min(width, percent * width / 100);
  const auto mib = [](std::uintmax_t bytes) {
    const auto tenths = bytes * 10 / (1024 * 1024);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
  };
  return "\r[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(width - filled), ' ') + "] " +
         std::to_string(percent) + "% " + mib(done) + "/" + mib(size) + " MiB";
}

// ---- input_reader --------------------------------------------------------------

template <typename Fn>
void input_reader::post(Fn fn) {
  shared_state* state = state_.get();
  state->loop->post([state, fn = std::move(fn)](event_loop& loop) { fn(*state->sink, loop); });
}

// `file`: --file's, opened already (its name is `file_name`); null: standard input.
input_reader::input_reader(std::shared_ptr<shared_state> state, const std::string& wire,
                           const std::string& local, const std::string& eol, bool hex,
                           std::shared_ptr<input_file> file, std::string file_name, bool datagrams,
                           endpoint datagrams_to)
    : state_(std::move(state)),
      hex_(hex),
      file_(std::move(file)),
      file_name_(std::move(file_name)),
      wire_(wire),
      local_(local),
      eol_(eol),
      input_(max_input_piece, local),
      from_local_(local, decode_policy::strict),
      to_wire_(primed_encoder(wire)),
      interactive_(input_is_terminal()),
      datagrams_(datagrams),
      datagrams_to_(datagrams_to),
      datagram_limit_(datagrams ? datagram_limit(datagrams_to) : 0) {}

void input_reader::run() {
  try {
    if (!file_)
      read_all();
    else
      read_file();
  } catch (const std::exception& e) {
    fail(e.what());
  }
  state_->reader_done = true;
}

void input_reader::read_all() {
  std::vector<line> pieces;
  state_->shown.show();
  for (;;) {
    std::error_code ec;
    const bool more = input_.next(pieces, ec);
    if (input_.read_ended_line()) state_->shown.entered();
    if (ec) {
      if (flush_ready()) fail("read standard input: " + error_text(ec));
      return;
    }
    for (const line& piece : pieces)
      if (!take(piece)) return;
    // The complete lines of this read go out together: one hand-over, not one per
    // line (a pipe of short lines), and none waits for more input.
    if (!flush_ready()) return;
    if (!more) {
      post([](input_sink& s, event_loop&) { s.input_ended(); });
      return;
    }
    state_->shown.show();
  }
}

// --file: the bytes as they are, in pieces as the server takes them, each as soon as
// it was read (a pipe's bytes are not held back to fill a buffer). A progress bar on
// stderr when it is a terminal and the file is large (a pipe has no size: none).
void input_reader::read_file() {
  const std::uintmax_t size = file_->size();
  const bool progress = error_is_terminal() && file_->size_known() && size >= progress_from;
  std::vector<char> buffer(max_in_flight);
  std::uintmax_t done = 0;
  int shown = -1;
  for (;;) {
    std::error_code ec;
    const std::size_t n = file_->read(buffer.data(), buffer.size(), ec);
    if (ec) {
      if (progress) write_error("\n");
      return fail("read " + file_name_ + ": " + error_text(ec));
    }
    if (n == 0) break;
    held_.assign(buffer.data(), n);
    if (!hand_over(held_, false)) return;
    done += n;
    const int percent = size == 0 ? 100 : static_cast<int>(std::min(done, size) * 100 / size);
    if (progress && percent != shown) {
      shown = percent;
      write_error(progress_bar(percent, done, size));
    }
  }
  if (progress) write_error("\n");
  post([](input_sink& s, event_loop&) { s.input_ended(); });
}

// --hex-input: a whole line of hex digits becomes its bytes (no line end added).
bool input_reader::take_hex(const line& piece) {
  const bool line_end = !piece.partial();
  if (refusing_) {
    if (line_end) next_line();
    return true;
  }
  hex_line_ += piece.bytes;
  if (hex_line_.size() > 2 * max_held_line)
    return refuse("input line " + std::to_string(number_) + " is too long for --hex-input",
                  line_end);
  if (!line_end) return true;
  std::string error;
  std::string bytes;
  if (!parse_hex(hex_line_, bytes, error))
    return refuse("input line " + std::to_string(number_) + " is not hex: " + error, true);
  if (datagrams_) {
    // An empty line sends nothing, as over TCP.
    if (bytes.size() > datagram_limit_)
      return refuse("input line " + std::to_string(number_) + ": " +
                        oversize_message(bytes.size(), datagrams_to_),
                    true);
    next_line();
    return bytes.empty() || hand_over_datagram(bytes);
  }
  ready_ += bytes;
  next_line();
  return ready_.size() < max_in_flight || flush_ready();
}

// One piece of a line; false when the reader is done (a failure, or the loop ends).
bool input_reader::take(const line& piece) {
  if (hex_) return take_hex(piece);
  const bool line_end = !piece.partial();
  if (refusing_) {  // the rest of a refused line
    if (line_end) next_line();
    return true;
  }
  std::string& text = text_;  // reused: its buffer stays
  text.clear();
  std::error_code ec;
  from_local_.decode(piece.bytes, text, ec);
  if (!ec && line_end) from_local_.finish(text, ec);
  if (ec) {
    const std::uint64_t at = from_local_.last_error().offset - line_start_ + 1;
    std::string message = "invalid " + local_ + " in input line " + std::to_string(number_) +
                          " at byte " + std::to_string(at);
    if (line_sent_ > 0)
      message += " (its first " + std::to_string(line_sent_) + " bytes had gone out)";
    return refuse(message, line_end);
  }
  stream_pos_ += piece.bytes.size();
  if (line_end) text += eol_;
  try {
    to_wire_.encode(text, held_);
  } catch (const text_error& e) {
    return refuse(encoding_failure(e, wire_, number_, line_chars_, line_bytes_, line_sent_),
                  line_end);
  }
  line_chars_ += count_characters(text);
  line_bytes_ += text.size();
  if (datagrams_) {
    // A line is one datagram: handed over whole, never in pieces.
    if (held_.size() > datagram_limit_)
      return refuse("input line " + std::to_string(number_) + ": " +
                        oversize_message(held_.size(), datagrams_to_),
                    line_end);
    if (!line_end) return true;
    std::string datagram;
    datagram.swap(held_);
    next_line();
    return hand_over_datagram(datagram);
  }
  if (line_end) {
    ready_ += held_;
    next_line();
    return ready_.size() < max_in_flight || flush_ready();
  }
  if (held_.size() < max_held_line) return true;
  // A long line goes out in pieces, after the lines before it.
  return flush_ready() && hand_over(held_, true);
}

// A line that cannot be sent: piped input ends the client (exit 1, after what was
// sent before it); a person typing is told and goes on with the next line.
bool input_reader::refuse(const std::string& message, bool line_end) {
  if (!interactive_) {
    // The lines before it are sent, then the client ends.
    if (flush_ready()) fail(message);
    return false;
  }
  state_->shown.notice(message + "; the line was not sent");
  // A new decoder: nothing of the refused line may leak into the next one.
  from_local_ = decoder(local_, decode_policy::strict);
  stream_pos_ = 0;
  held_.clear();
  refusing_ = true;
  if (line_end) next_line();
  return true;
}

void input_reader::next_line() {
  hex_line_.clear();
  line_sent_ = line_chars_ = line_bytes_ = 0;
  line_start_ = stream_pos_;
  refusing_ = false;
  held_.clear();
  ++number_;
}

// Posts `bytes` in pieces, each once the loop has room for it (what is in flight
// stays small), and empties it, keeping its buffer. `current_line`: they belong to
// the line being read (counted for its error message).
bool input_reader::hand_over(std::string& bytes, bool current_line) {
  for (std::size_t at = 0; at < bytes.size(); at += max_in_flight) {
    const std::size_t n = std::min(max_in_flight, bytes.size() - at);
    if (!state_->flow.reserve(n)) return false;
    if (current_line) line_sent_ += n;
    post([piece = bytes.substr(at, n)](input_sink& s, event_loop& loop) { s.send(loop, piece); });
  }
  bytes.clear();
  return true;
}

// --udp: `bytes` as one datagram (an empty one too: a valid datagram).
bool input_reader::hand_over_datagram(std::string& bytes) {
  if (!state_->flow.reserve(bytes.size())) return false;
  post([datagram = std::move(bytes)](input_sink& s, event_loop& loop) { s.send(loop, datagram); });
  bytes.clear();
  return true;
}

void input_reader::fail(const std::string& message) {
  post([message](input_sink& s, event_loop& loop) { s.input_failed(loop, message); });
}

}  // namespace xsock::tools::client
