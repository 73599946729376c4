// xsock::decoder: streaming conversion of wire bytes to UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "xsock/default_encoding.hpp"
#include "xsock/text_error.hpp"

namespace xsock {

/// What a decoder does with bytes that are not valid in its encoding.
enum class decode_policy {
  /// ICU's substitution: each invalid sequence becomes U+FFFD (a lead byte followed by
  /// a byte that cannot continue it is one sequence; that byte is decoded on its own).
  replace,
  /// The first invalid sequence is an error giving its byte offset in the stream.
  strict,
};

/// Which converter does the work. `automatic` uses a lookup table derived from ICU for
/// stateless single/double-byte encodings (GBK, Big5, Shift_JIS, EUC-KR) and ICU's
/// converter for the rest; both give the same output, counts and errors. `icu` always
/// uses ICU's converter (for comparison and benchmarks).
enum class decoder_backend { automatic, icu };

/// Decodes one byte stream (one connection) in any ICU encoding to UTF-8. Keep one
/// decoder per stream: it holds a character cut at the end of one read until the next.
///
/// `decode` may be called with any split of the stream and, together with `finish`,
/// gives exactly the text one call with the whole stream gives. Not thread-safe; use one
/// decoder per thread/stream. Movable, not copyable.
class decoder {
 public:
  ///@{
  /// Opens a decoder for `encoding` (any ICU name or alias). Throws `xsock::text_error`
  /// (`text_errc::unknown_encoding`) naming it when unknown.
  explicit decoder(std::string_view encoding = default_encoding,
                   decode_policy policy = decode_policy::replace,
                   decoder_backend backend = decoder_backend::automatic);
  ~decoder();
  decoder(decoder&&) noexcept;
  decoder& operator=(decoder&&) noexcept;
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;
  ///@}

  /// Decodes the next bytes of the stream. A sequence cut at the end of `bytes` is kept
  /// and completed by the next call (or turned into U+FFFD by `finish`).
  /// Strict policy: stops at the first invalid sequence; the text before it is
  /// returned/appended, the error (throw: `text_error` with `text_errc::invalid_input`)
  /// gives its stream offset; the invalid bytes are skipped and the bytes after them
  /// are kept: the next `decode` (possibly with no bytes) or `finish` goes on with them.
  std::string decode(std::string_view bytes);
  /// Appends to `out` (faster: no temporary string). Throws as above.
  void decode(std::string_view bytes, std::string& out);
  /// Appends to `out`; on a strict error sets `ec` (details in `last_error()`).
  void decode(std::string_view bytes, std::string& out, std::error_code& ec);

  ///@{
  /// Ends the stream: decodes bytes still kept; a truncated sequence at the end becomes
  /// U+FFFD (replace) or an error (strict). Afterwards the decoder starts a new stream
  /// (counters keep counting until `reset`).
  std::string finish();
  void finish(std::string& out);
  void finish(std::string& out, std::error_code& ec);
  ///@}

  /// Forgets any kept bytes and zeroes every counter.
  void reset() noexcept;

  /// Invalid sequences seen so far (each one U+FFFD in replace mode, or one error).
  std::uint64_t invalid_count() const noexcept;
  /// Bytes those invalid sequences held.
  std::uint64_t invalid_bytes() const noexcept;
  /// Bytes handed to `decode` since construction or `reset`.
  std::uint64_t bytes_consumed() const noexcept;
  /// Bytes kept for the next call (an incomplete sequence, or input after a strict
  /// error).
  std::size_t pending_bytes() const noexcept;

  ///@{
  /// The encoding's preferred name (`GBK` for `cp936`).
  const std::string& encoding() const noexcept;
  decode_policy policy() const noexcept;
  ///@}
  /// True when the ICU-derived lookup table does the work.
  bool uses_fast_path() const noexcept;
  ///@{
  /// Whether the text the last `decode` or `finish` call appended is plain, so that a
  /// caller may skip looking for what to escape: for `last_text_plain`, no control
  /// character but tab, no DEL and no code point `is_escaped_code_point` names (what
  /// `escape_for_terminal` changes); for `last_text_json_plain`, none of those, no tab,
  /// `"` or `\` either (what JSON string escaping changes). Found while decoding, at no
  /// cost per character, on the lookup table's path; ICU's path does not look and says
  /// false.
  bool last_text_plain() const noexcept;
  bool last_text_json_plain() const noexcept;
  ///@}
  /// The last error reported by a strict `decode`/`finish`.
  const text_error_info& last_error() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xsock
