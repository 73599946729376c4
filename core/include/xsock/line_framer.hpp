// xsock::line_framer: cuts a byte stream into bounded lines (xsock::net, no ICU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xsock {

/// Why a line (or piece of one) was emitted.
enum class line_end {
  /// A `\n` ended it (the `\n` and a `\r` just before it are not part of the line).
  newline,
  /// It reached the maximum length; the rest of the line follows in the next piece.
  max_length,
  /// `flush()` was called (for example after a quiet period); more may follow.
  flush,
  /// The stream ended without a final `\n`.
  end_of_stream,
};

/// A line or a piece of one, as raw wire bytes.
struct line {
  /// The bytes, without the line end.
  std::string bytes;
  /// How the piece ended.
  line_end end = line_end::newline;
  /// True when the line goes on in the next piece (cut at the maximum or flushed).
  bool partial() const noexcept { return end == line_end::max_length || end == line_end::flush; }
};

/// Splits the raw bytes of one stream into lines on `\n`, dropping a `\r` just before
/// it, with a maximum line length: a longer line comes out in pieces of `max_line`
/// bytes flagged partial. Bytes only: for ASCII-compatible wire encodings (UTF-8,
/// Latin-1...), where byte 0x0A is always a newline; `xsock::line_splitter`
/// (xsock::text) is this framer with that check made for a named encoding. How the
/// input is cut into `push` calls never changes the lines (a read that stops
/// mid-line, even between `\r` and `\n`, is kept for the next). Buffers at most
/// `max_line + 1` bytes. Nothing here reads a socket, so it has no timeout; the end of
/// the stream is told by `finish()`.
class line_framer {
 public:
  /// The longest line kept whole unless told otherwise: 64 KiB.
  static constexpr std::size_t default_max_line = 65536;

  /// Throws `xsock::error` (`std::errc::invalid_argument`) when `max_line` is 0.
  explicit line_framer(std::size_t max_line = default_max_line);

  ///@{
  /// Adds the next bytes of the stream; appends each line completed by them (and each
  /// maximum-length piece) to `out`. An unterminated rest is kept for the next call.
  void push(std::string_view bytes, std::vector<line>& out);
  std::vector<line> push(std::string_view bytes);
  ///@}

  /// Emits the kept unterminated bytes as a partial piece (nothing when none are kept).
  /// A trailing `\r` stays kept, in case a `\n` follows.
  std::optional<line> flush();
  ///@{
  /// End of stream: appends the kept bytes to `out` as the last line
  /// (`line_end::end_of_stream`; a kept rest longer than the maximum gives a
  /// `max_length` piece first), nothing when none are kept, and starts over for a new
  /// stream.
  void finish(std::vector<line>& out);
  std::vector<line> finish();
  ///@}

  ///@{
  /// Bytes kept (an unterminated line).
  std::size_t buffered() const noexcept { return buffer_.size(); }
  std::size_t max_line() const noexcept { return max_line_; }
  ///@}
  /// Bytes searched for a newline so far. Each byte pushed is searched at most once,
  /// so this never exceeds the bytes pushed (for tests and monitoring: a long line
  /// costs linear time however it is cut).
  std::uint64_t bytes_scanned() const noexcept { return bytes_scanned_; }

 private:
  // Appends the piece of `content` bytes at `start` (which ends `consumed` bytes
  // later) and sets next_start_ to where the rest begins.
  void emit(std::size_t start, std::size_t content, std::size_t consumed, line_end end,
            std::vector<line>& out);

  std::size_t max_line_;
  std::string buffer_;
  std::size_t scanned_ = 0;  // buffer_[0, scanned_) holds no '\n'
  std::size_t next_start_ = 0;
  std::uint64_t bytes_scanned_ = 0;
};

}  // namespace xsock
