// xsock::tools::stream_lines: one received byte stream, cut into lines and decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xsock/decoder.hpp"
#include "xsock/line_splitter.hpp"

namespace xsock::tools {

/// How received bytes are cut for display (--line-end, --packets).
enum class framing {
  lf,       ///< a line ends at `\n` (a `\r` just before it is dropped): the default
  cr,       ///< a line ends at `\r`; a `\n` is part of the line
  crlf,     ///< a line ends at `\r\n` only; a lone `\r` or `\n` is part of the line
  any,      ///< `\n`, `\r` or `\r\n` end a line
  packets,  ///< no lines: what each read returned is one piece
};

/// Parses "lf", "cr", "crlf", "any"; false for anything else.
bool parse_line_end(const std::string& name, framing& out);

/// The text path for one connection's incoming bytes: its own line splitter and
/// decoder, so a character cut between two reads is completed by the same stream's
/// next bytes, whatever other streams do meanwhile. Lines are cut on the wire bytes and
/// then decoded; for encodings where a 0x0A byte may be half of another character
/// (UTF-16, UTF-32) the stream is decoded first and cut as UTF-8 (`max_line` then
/// counts UTF-8 bytes). Memory is bounded by `max_line`.
class stream_lines {
 public:
  /// `bytes_only`: no decoding at all (for --hex); lines are cut at 0x0A bytes.
  /// Throws `xsock::text_error` for an unknown encoding.
  stream_lines(const std::string& encoding, std::size_t max_line, bool bytes_only,
               framing how = framing::lf);

  /// Adds received bytes; appends each completed line (and maximum-length piece).
  void push(std::string_view bytes, std::vector<line>& out);
  /// The unterminated rest as a partial piece, if any (for --flush-ms).
  std::optional<line> flush();
  /// End of stream: appends what is left, the last piece included.
  void finish(std::vector<line>& out);
  /// Bytes kept for an unterminated line.
  std::size_t buffered() const noexcept {
    return how_ == framing::lf ? lines_.buffered() : held_.size();
  }

  /// The UTF-8 text of a piece from push/flush/finish, escaped for nothing; a byte
  /// order mark (U+FEFF) at the very start of the stream is dropped. `invalid`
  /// receives the number of invalid sequences it contained (U+FFFD each). A piece that
  /// ends a line also ends every character: a truncated one becomes U+FFFD. With
  /// `bytes_only`, returns the bytes unchanged.
  std::string text(const line& piece, std::uint64_t& invalid);
  /// After `finish`: a character cut at the very end of the stream that no piece
  /// completed, as U+FFFD (empty when there is none).
  std::string rest(std::uint64_t& invalid);

  /// Every invalid sequence seen so far.
  std::uint64_t invalid_total() const noexcept { return invalid_total_; }

 private:
  // The cutting of every framing but lf (which line_splitter does): pieces of `bytes`
  // (UTF-8-compatible, or raw) appended to `out`.
  void cut(std::string_view bytes, std::vector<line>& out);

  bool bytes_only_;
  framing how_;
  std::size_t max_line_;
  std::string held_;               // the line being cut (framings other than lf)
  bool after_cr_ = false;          // the last byte cut was a \r (crlf, any)
  std::unique_ptr<decoder> wire_;  // set only when decoding comes before framing
  line_splitter lines_;
  decoder text_;
  std::uint64_t wire_invalid_ = 0;  // found by wire_, reported with the next piece
  std::uint64_t invalid_total_ = 0;
  bool at_start_ = true;  // no text of the stream seen yet
};

}  // namespace xsock::tools
