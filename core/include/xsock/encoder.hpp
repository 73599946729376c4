// xsock::encoder: UTF-8 to wire bytes, one complete message at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "xsock/default_encoding.hpp"
#include "xsock/text_error.hpp"

namespace xsock {

/// What an encoder does with a character its encoding cannot represent.
enum class encode_policy {
  /// Fail on the first such character, naming it and its position; nothing of the
  /// message is produced. This includes default-ignorable characters (ZWSP, ZWJ, BOM,
  /// bidi controls, variation selectors) that ICU would otherwise drop silently.
  strict,
  /// ICU's substitution (the encoding's substitution character, `?` in GBK;
  /// default-ignorable characters are dropped). Best-fit fallbacks are never used.
  replace,
};

/// Encodes UTF-8 text to any ICU encoding. Each call takes one complete message (an
/// incomplete UTF-8 sequence at its end is invalid input) and returns its complete
/// encoding (stateful encodings return to their initial state at its end). The messages
/// of one encoder are one stream: encodings that start with a byte order mark (UTF-16,
/// UTF-32) write it before the first output only, never between messages. Not
/// thread-safe; movable, not copyable.
class encoder {
 public:
  ///@{
  /// Opens an encoder for `encoding` (any ICU name or alias). Throws
  /// `xsock::text_error` (`text_errc::unknown_encoding`) naming it when unknown.
  explicit encoder(std::string_view encoding = default_encoding,
                   encode_policy policy = encode_policy::strict);
  ~encoder();
  encoder(encoder&&) noexcept;
  encoder& operator=(encoder&&) noexcept;
  encoder(const encoder&) = delete;
  encoder& operator=(const encoder&) = delete;
  ///@}

  /// Encodes `utf8`. Throws `xsock::text_error`: `text_errc::invalid_utf8` (byte offset
  /// of the bad sequence) or, strict, `text_errc::unmappable_character` (`code_point()`,
  /// `character_number()`, byte `offset()`).
  std::string encode(std::string_view utf8);
  /// As above; on failure sets `ec`, returns an empty string (details in
  /// `last_error()`).
  std::string encode(std::string_view utf8, std::error_code& ec);
  ///@{
  /// Appends the encoding to `out`; on failure appends nothing.
  void encode(std::string_view utf8, std::string& out);
  void encode(std::string_view utf8, std::string& out, std::error_code& ec);
  ///@}

  /// Characters substituted or dropped so far (replace policy).
  std::uint64_t replaced_count() const noexcept;
  ///@{
  /// The encoding's preferred name (`GBK` for `cp936`).
  const std::string& encoding() const noexcept;
  encode_policy policy() const noexcept;
  ///@}
  /// The last error reported by `encode`.
  const text_error_info& last_error() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xsock
