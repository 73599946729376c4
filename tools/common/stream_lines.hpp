// xsock::tools::stream_lines: one received byte stream, cut into lines and decoded.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xsock/decoder.hpp"
#include "xsock/line_splitter.hpp"

namespace xsock::tools {

/// How received bytes are cut for display (--line-end, --packets).
enum class framing : unsigned char {
  lf,       ///< a line ends at `\n` (a `\r` just before it is dropped): the default
  cr,       ///< a line ends at `\r`; a `\n` is part of the line
  crlf,     ///< a line ends at `\r\n` only; a lone `\r` or `\n` is part of the line
  any,      ///< `\n`, `\r` or `\r\n` end a line
  packets,  ///< no lines: what each read returned is one piece
};

/// Appends `bytes` as `\xNN` escapes (lower-case hex, as control characters are
/// escaped): the bytes of a character not complete yet, shown by --packets.
void append_byte_escapes(std::string_view bytes, std::string& out);

/// Parses "lf", "cr", "crlf", "any"; false for anything else.
bool parse_line_end(const std::string& name, framing& out);

/// The text path for one connection's incoming bytes: its own line splitter and
/// decoder, so a character cut between two reads is completed by the same stream's
/// next bytes, whatever other streams do meanwhile. Lines are cut on the wire bytes and
/// then decoded; for encodings where a 0x0A byte may be half of another character
/// (UTF-16, UTF-32) the stream is decoded first and cut as UTF-8 (`max_line` then
/// counts UTF-8 bytes); raw (`bytes_only`) UTF-16/UTF-32 is cut on whole code units.
/// Memory is bounded by `max_line`.
class stream_lines {
 public:
  /// `bytes_only`: no decoding at all (for --hex); lines are cut at 0x0A bytes (or as
  /// `how` says). With `framing::packets` every push gives one piece, marked
  /// `line_end::flush` (a character cut at its end is completed by the next one).
  /// Throws `xsock::text_error` for an unknown encoding.
  stream_lines(const std::string& encoding, std::size_t max_line, bool bytes_only,
               framing how = framing::lf);

  /// Adds received bytes; appends each completed line (and maximum-length piece).
  void push(std::string_view bytes, std::vector<line>& out);
  /// Adds received bytes; calls `sink(std::string_view wire_bytes, line_end end, bool
  /// more)` for each completed line (and maximum-length piece), the same pieces as the
  /// other `push`. Lines that arrive whole are handed over as views of `bytes`: nothing
  /// is copied or allocated for them. A line longer than `long_block` is kept in blocks
  /// (never copied into one string, so it costs its size once) and handed over in parts:
  /// `more` is true on every part but the last of a piece. A view is valid during the
  /// call only.
  template <typename Sink>
  void push(std::string_view bytes, Sink&& sink);
  ///@{
  /// The unterminated rest as a partial piece, if any (for --flush-ms); the sink form
  /// hands it over as `push` does.
  std::optional<line> flush();
  template <typename Sink>
  void flush(Sink&& sink);
  ///@}
  ///@{
  /// End of stream: what is left, the last piece included.
  void finish(std::vector<line>& out);
  template <typename Sink>
  void finish(Sink&& sink);
  ///@}
  /// A line kept for the next bytes goes into blocks of this size once it is this long.
  static constexpr std::size_t long_block = 1024 * 1024;
  /// Bytes kept for an unterminated line (a `\r` held back and a cut code unit
  /// included).
  std::size_t buffered() const noexcept {
    if (how_ == framing::packets) return 0;
    if (!by_splitter()) {
      const bool cr_kept = after_cr_ && (how_ == framing::lf || how_ == framing::crlf);
      return (held_ ? held_->bytes.size() + held_->tail_size : 0) + (cr_kept ? unit_ : 0u);
    }
    return (lines_ ? lines_->buffered() : 0) + (held_ ? held_->size : 0);
  }

  /// The UTF-8 text of a piece from push/flush/finish, escaped for nothing; a byte
  /// order mark (U+FEFF) at the very start of the stream is dropped. `invalid`
  /// receives the number of invalid sequences it contained (U+FFFD each). A piece that
  /// ends a line also ends every character: a truncated one becomes U+FFFD. With
  /// `bytes_only`, returns the bytes unchanged.
  std::string text(const line& piece, std::uint64_t& invalid);
  /// `text` appended to `out`: the piece's wire bytes (`partial`: it does not end a
  /// line) decoded straight into the caller's buffer.
  void append_text(std::string_view piece, bool partial, std::string& out, std::uint64_t& invalid);
  ///@{
  /// Whether the text the last `append_text` appended is plain (the decoder's
  /// `last_text_plain` and `last_text_json_plain`): terminal (JSON) escaping would
  /// leave it as it is.
  bool last_text_plain() const noexcept { return last_plain_; }
  bool last_text_json_plain() const noexcept { return last_json_plain_; }
  ///@}
  /// After `text`/`append_text` of a partial piece: its last bytes that start a
  /// character not complete yet (the decoder keeps them for the next piece), for
  /// --packets to show them at once (for encodings decoded before framing: the last
  /// read's wire bytes that the decoder keeps). Empty with `bytes_only`.
  std::string_view incomplete_tail(std::string_view piece) const noexcept {
    if (wire_) {
      const bool kept = how_ == framing::packets && held_;
      return kept ? std::string_view(held_->bytes) : std::string_view();
    }
    if (bytes_only_) return {};
    const std::size_t kept = text_.pending_bytes();
    return piece.substr(piece.size() - (kept < piece.size() ? kept : piece.size()));
  }
  /// After `finish`: a character cut at the very end of the stream that no piece
  /// completed, as U+FFFD (empty when there is none).
  std::string rest(std::uint64_t& invalid);

  /// Every invalid sequence seen so far.
  std::uint64_t invalid_total() const noexcept { return invalid_total_; }

 private:
  template <typename Sink>
  void push_framed(std::string_view bytes, Sink& sink);
  // lf on bytes is line_splitter's (fast, memchr); every other framing is cut()'s.
  bool by_splitter() const noexcept { return how_ == framing::lf && unit_ == 1; }
  // The cutting of every framing but lf on bytes: pieces of `bytes` (UTF-8-compatible,
  // raw, or raw UTF-16/UTF-32 code units) appended to `out`.
  void cut(std::string_view bytes, std::vector<line>& out);
  // One code unit (`unit_` bytes) through the framing.
  void cut_unit(std::string_view unit, std::vector<line>& out);
  // Appends a code unit to the line, cutting a max_length piece first when it would
  // not fit.
  void add_unit(std::string_view unit, std::vector<line>& out);
  // The code unit of `code` (\r) in the stream's byte order.
  std::string_view unit_of(char code, char (&buffer)[4]) const noexcept;
  template <typename Sink>
  void push_to_splitter(std::string_view bytes, Sink& sink);
  // A line in blocks (lf): takes what of `bytes` from `start` on belongs to it (handing
  // over the pieces it completes); returns where the rest begins.
  template <typename Sink>
  std::size_t push_long(std::string_view bytes, std::size_t start, Sink& sink);
  // Hands over the first `count` bytes of the blocks and then `tail` as one piece and
  // drops the blocks; the bytes after `count` are dropped too (a \r of the line end), or
  // with `keep_rest` start the next line.
  template <typename Sink>
  void hand_over_long(std::size_t count, std::string_view tail, line_end end, bool keep_rest,
                      Sink& sink);
  // The splitter's line goes into blocks once it is long_block long.
  void to_blocks_when_long();
  void append_long(std::string_view bytes);
  // finish() after the decoder's rest and the blocks: the cut() framings' and the
  // splitter's last pieces.
  void finish_rest(std::vector<line>& out);
  // flush() when no line is in blocks.
  std::optional<line> flush_short();

  // The splitter exists only while it keeps the start of a line: a stream between
  // lines (an idle connection) holds no framing state.
  line_splitter& splitter();
  void release_splitter() noexcept;

  std::unique_ptr<decoder> wire_;  // set only when decoding comes before framing
  std::unique_ptr<line_splitter> lines_;
  // What is kept of an unfinished line, like the splitter only while there is any:
  // cut()'s line and a code unit cut between two reads, or (lf on bytes) a line longer
  // than long_block in blocks of long_block bytes, which growing never copies (growing
  // one string would hold it twice at the moment the string moves; the splitter is
  // empty meanwhile). One pointer for both: every idle connection holds a stream_lines.
  struct kept_line {
    std::string bytes;
    std::vector<std::string> blocks;
    std::size_t size = 0;  // bytes in blocks
    std::uint8_t tail_size = 0;
    char tail[3] = {};
  };
  std::unique_ptr<kept_line> held_;
  decoder text_;
  std::uint64_t wire_invalid_ = 0;  // found by wire_, reported with the next piece
  std::uint64_t invalid_total_ = 0;
  // 32 bits, in one word with the flags: every idle connection holds a stream_lines.
  std::uint32_t max_line_;
  bool bytes_only_ : 1;
  bool at_start_ : 1;  // no text of the stream seen yet
  bool last_plain_ : 1;
  bool last_json_plain_ : 1;
  // cut(): lf, crlf: a \r is held back (not in held_) until the next unit says whether
  // it ends the line; any: the last unit cut was a \r that ended a line.
  bool after_cr_ : 1;
  bool little_endian_ : 1;
  bool order_from_bom_ : 1;  // the byte order is the first unit's (UTF-16, UTF-32)
  framing how_ = framing::lf;
  // Raw UTF-16/UTF-32 (--hex): lines are cut on whole code units of unit_ bytes (a
  // newline is the unit U+000A, not a 0x0A byte), 1 for every other stream.
  std::uint8_t unit_ = 1;
};

template <typename Sink>
void stream_lines::push(std::string_view bytes, Sink&& sink) {
  if (!wire_) {
    push_framed(bytes, sink);
    return;
  }
  const std::uint64_t before = wire_->invalid_count();
  const std::string decoded = wire_->decode(bytes);
  wire_invalid_ += wire_->invalid_count() - before;
  if (how_ == framing::packets) {
    // The read's last bytes that start a character not complete yet, kept for
    // incomplete_tail: a read of half a code unit is shown at once all the same.
    const std::size_t kept = std::min(wire_->pending_bytes(), bytes.size());
    held_.reset();
    if (kept > 0) {
      held_ = std::make_unique<kept_line>();
      held_->bytes.assign(bytes.substr(bytes.size() - kept));
      if (decoded.empty()) sink(std::string_view(), line_end::flush, false);
    }
  }
  push_framed(decoded, sink);
}

template <typename Sink>
void stream_lines::flush(Sink&& sink) {
  if (held_ && by_splitter()) {
    // A trailing \r stays, in case a \n follows (as the splitter keeps it).
    const std::string& last = held_->blocks.back();
    const std::size_t count = held_->size - (last.back() == '\r' ? 1 : 0);
    hand_over_long(count, std::string_view(), line_end::flush, true, sink);
    return;
  }
  if (auto piece = flush_short()) sink(std::string_view(piece->bytes), piece->end, false);
}

template <typename Sink>
void stream_lines::finish(Sink&& sink) {
  if (wire_) {
    const std::uint64_t before = wire_->invalid_count();
    const std::string rest = wire_->finish();
    wire_invalid_ += wire_->invalid_count() - before;
    if (!rest.empty()) push_framed(rest, sink);
  }
  if (held_ && by_splitter()) {
    // Only a \r held back at max_line + 1 makes it longer than the maximum.
    if (held_->size > max_line_)
      hand_over_long(max_line_, std::string_view(), line_end::max_length, true, sink);
    else
      hand_over_long(held_->size, std::string_view(), line_end::end_of_stream, false, sink);
  }
  std::vector<line> pieces;
  finish_rest(pieces);
  for (const line& piece : pieces)
    sink(std::string_view(piece.bytes), piece.end, false);
}

template <typename Sink>
void stream_lines::push_to_splitter(std::string_view bytes, Sink& sink) {
  std::vector<line> pieces;
  splitter().push(bytes, pieces);
  to_blocks_when_long();
  release_splitter();
  for (const line& piece : pieces)
    sink(std::string_view(piece.bytes), piece.end, false);
}

template <typename Sink>
void stream_lines::hand_over_long(std::size_t count, std::string_view tail, line_end end,
                                  bool keep_rest, Sink& sink) {
  std::unique_ptr<kept_line> held = std::move(held_);
  std::vector<std::string>& blocks = held->blocks;
  std::string rest;  // the bytes after `count`: a \r at most
  if (keep_rest && count < held->size) {
    std::size_t skip = count;
    for (const std::string& block : blocks) {
      if (skip < block.size()) rest.append(block, skip, std::string::npos);
      skip = skip > block.size() ? skip - block.size() : 0;
    }
  }
  std::size_t left = count;
  for (std::size_t i = 0; i < blocks.size() && left > 0; ++i) {
    const std::size_t n = blocks[i].size() < left ? blocks[i].size() : left;
    left -= n;
    const bool more = left > 0 || !tail.empty();
    sink(std::string_view(blocks[i].data(), n), end, more);
    std::string().swap(blocks[i]);  // handed over: its memory goes back at once
  }
  if (count == 0 || !tail.empty()) sink(tail, end, false);
  if (!rest.empty()) push_to_splitter(rest, sink);
}

template <typename Sink>
std::size_t stream_lines::push_long(std::string_view bytes, std::size_t start, Sink& sink) {
  // The splitter's rules, on the blocks and `bytes` as one buffer: a '\n' within
  // max_line + 2 bytes ends the line (a '\r' before it dropped), else a piece of
  // max_line bytes, unless only a '\r' that may start a "\r\n" is past the maximum.
  const char* const data = bytes.data();
  const std::size_t avail = bytes.size() - start;
  const std::size_t held = held_->size;  // at most max_line + 1
  const std::size_t max_line = max_line_;
  const std::size_t reach = max_line + 2 - held;
  if (const void* nl = std::memchr(data + start, '\n', avail < reach ? avail : reach)) {
    const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - (data + start));
    const bool cr = len > 0 ? data[start + len - 1] == '\r' : held_->blocks.back().back() == '\r';
    if (held + len - (cr ? 1 : 0) <= max_line) {
      if (len > 0)
        hand_over_long(held, bytes.substr(start, len - (cr ? 1 : 0)), line_end::newline, false,
                       sink);
      else
        hand_over_long(held - (cr ? 1 : 0), std::string_view(), line_end::newline, false, sink);
      return start + len + 1;
    }
  }
  if (held + avail <= max_line || (held + avail == max_line + 1 && bytes.back() == '\r')) {
    append_long(bytes.substr(start));
    return bytes.size();
  }
  if (held >= max_line) {
    hand_over_long(max_line, std::string_view(), line_end::max_length, true, sink);
    return start;
  }
  const std::size_t take = max_line - held;
  hand_over_long(held, bytes.substr(start, take), line_end::max_length, false, sink);
  return start + take;
}

template <typename Sink>
void stream_lines::push_framed(std::string_view bytes, Sink& sink) {
  if (!by_splitter()) {
    std::vector<line> pieces;
    cut(bytes, pieces);
    for (const line& piece : pieces)
      sink(std::string_view(piece.bytes), piece.end, false);
    return;
  }
  const char* const data = bytes.data();
  const std::size_t size = bytes.size();
  const std::size_t max_line = max_line_;
  std::size_t start = 0;
  while (start < size) {
    if (held_) {
      start = push_long(bytes, start, sink);
      continue;
    }
    // A line begun by an earlier read ends in the splitter, which keeps its start.
    if (lines_ && lines_->buffered() > 0) {
      const void* nl = std::memchr(data + start, '\n', size - start);
      const std::size_t end =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1 : size;
      push_to_splitter(bytes.substr(start, end - start), sink);
      start = end;
      continue;
    }
    // The splitter keeps nothing: whole lines come straight from `bytes`, found the way
    // the splitter finds them (a '\n' within max_line + 2 bytes, a '\r' before it
    // dropped).
    while (start < size) {
      const std::size_t avail = size - start;
      const std::size_t window = avail < max_line + 2 ? avail : max_line + 2;
      const void* nl = std::memchr(data + start, '\n', window);
      if (!nl) break;
      const std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - data) - start;
      const std::size_t content = len > 0 && data[start + len - 1] == '\r' ? len - 1 : len;
      if (content > max_line) break;
      sink(std::string_view(data + start, content), line_end::newline, false);
      start += len + 1;
    }
    // An unterminated rest, or a line longer than the maximum: the splitter's rules.
    if (start < size) {
      push_to_splitter(bytes.substr(start), sink);
      start = size;
    }
  }
}

}  // namespace xsock::tools
