// xsock::text_errc, xsock::text_category() and xsock::text_error: errors of xsock::text.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "xsock/error.hpp"

namespace xsock {

/// Why a text operation failed. Values belong to `text_category()`.
enum class text_errc {
  /// No converter is known by that name.
  unknown_encoding = 1,
  /// The converter exists but cannot serve this purpose (for example UTF-16 as a
  /// newline-framed wire encoding).
  unsupported_encoding,
  /// Wire bytes that are not valid in the encoding (strict decoding).
  invalid_input,
  /// A character the encoding cannot represent (strict encoding).
  unmappable_character,
  /// Encoder input that is not well-formed UTF-8.
  invalid_utf8,
  /// ICU failed for another reason (for example out of memory).
  conversion_failed,
};

/// The category of `text_errc`. Its messages are lower-case phrases ("unknown
/// encoding"); the detailed text (name, offset, character) is in the exception or in
/// `text_error_info::message`.
const std::error_category& text_category() noexcept;

std::error_code make_error_code(text_errc value) noexcept;

/// What went wrong in the last failed text operation, with the position as numbers so
/// a caller can format its own one-line message.
struct text_error_info {
  /// `offset` when there is no position.
  static constexpr std::uint64_t no_offset = ~std::uint64_t{0};
  /// `code_point` when no character is concerned.
  static constexpr char32_t no_code_point = 0xFFFFFFFF;

  /// The error, in `text_category()`.
  std::error_code code;
  /// Full message, e.g. `cannot encode U+1F600 (😀) in GBK at character 2 (byte 1)`.
  std::string message;
  /// Byte offset: in the decoded stream (decoder) or in the UTF-8 input (encoder).
  std::uint64_t offset = no_offset;
  /// Number of bytes of the offending sequence (decoder, encoder invalid UTF-8).
  std::uint32_t length = 0;
  /// The character that could not be encoded (encoder), else `no_code_point`.
  char32_t code_point = no_code_point;
  /// 1-based position of that character, counted in code points of the input.
  std::uint64_t character_number = 0;
};

/// The exception thrown by the throwing forms of xsock::text operations. `code()` is in
/// `text_category()`; `info()` gives the position of the problem.
class text_error : public error {
 public:
  /// The error described by `info` (its message becomes `what()`).
  explicit text_error(text_error_info info)
      : error(info.code, info.message), info_(std::move(info)) {}

  /// Everything known about the error.
  const text_error_info& info() const noexcept { return info_; }
  /// `info().offset`.
  std::uint64_t offset() const noexcept { return info_.offset; }
  /// `info().code_point`.
  char32_t code_point() const noexcept { return info_.code_point; }
  /// `info().character_number`.
  std::uint64_t character_number() const noexcept { return info_.character_number; }

 private:
  text_error_info info_;
};

}  // namespace xsock

namespace std {
template <>
struct is_error_code_enum<xsock::text_errc> : true_type {};
}  // namespace std
