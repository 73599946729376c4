// xsock::line_splitter: cuts a byte stream into bounded lines before decoding. The
// framing is xsock::line_framer (xsock::net); this adds the check that the named wire
// encoding may be framed on bytes at all, which needs ICU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xsock/default_encoding.hpp"
#include "xsock/line_framer.hpp"

namespace xsock {

/// Splits the raw bytes of one stream into lines on `\n`, dropping a `\r` just before
/// it, with a maximum line length: a longer line comes out in pieces of `max_line`
/// bytes flagged partial (a piece may end inside a multibyte character; the stream's
/// decoder keeps it for the next piece). Works on bytes before decoding, so it accepts
/// only encodings where that is safe (`encoding_is_line_safe`). How the input is cut
/// into `push` calls never changes the lines. Buffers at most `max_line + 1` bytes.
/// `line`, `line_end` and the framing itself are `xsock::line_framer`'s.
class line_splitter {
 public:
  /// The longest line kept whole unless told otherwise: 64 KiB.
  static constexpr std::size_t default_max_line = 65536;

  /// Throws `xsock::text_error`: `text_errc::unknown_encoding`, or
  /// `text_errc::unsupported_encoding` (UTF-16, UTF-32, EBCDIC...: a 0x0A byte there
  /// is not always a newline), or `std::errc::invalid_argument` when `max_line` is 0.
  explicit line_splitter(std::size_t max_line = default_max_line,
                         std::string_view encoding = default_encoding);

  ///@{
  /// Adds the next bytes of the stream; appends each line completed by them (and each
  /// maximum-length piece) to `out`. An unterminated rest is kept for the next call.
  void push(std::string_view bytes, std::vector<line>& out) { framer_.push(bytes, out); }
  std::vector<line> push(std::string_view bytes) { return framer_.push(bytes); }
  ///@}

  /// Emits the kept unterminated bytes as a partial piece (nothing when none are kept).
  /// A trailing `\r` stays kept, in case a `\n` follows.
  std::optional<line> flush() { return framer_.flush(); }
  ///@{
  /// End of stream: appends the kept bytes to `out` as the last line
  /// (`line_end::end_of_stream`; a kept rest longer than the maximum gives a
  /// `max_length` piece first), nothing when none are kept, and starts over for a new
  /// stream.
  void finish(std::vector<line>& out) { framer_.finish(out); }
  std::vector<line> finish() { return framer_.finish(); }
  ///@}

  ///@{
  /// Bytes kept (an unterminated line).
  std::size_t buffered() const noexcept { return framer_.buffered(); }
  std::size_t max_line() const noexcept { return framer_.max_line(); }
  ///@}
  /// Bytes searched for a newline so far. Each byte pushed is searched at most once,
  /// so this never exceeds the bytes pushed (for tests and monitoring: a long line
  /// costs linear time however it is cut).
  std::uint64_t bytes_scanned() const noexcept { return framer_.bytes_scanned(); }

 private:
  line_framer framer_;
};

}  // namespace xsock
