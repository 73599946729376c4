#include "xsock/text_error.hpp"

#include <string>

namespace xsock {
namespace {

class text_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "xsock.text"; }
  std::string message(int value) const override {
    switch (static_cast<text_errc>(value)) {
      case text_errc::unknown_encoding:
        return "unknown encoding";
      case text_errc::unsupported_encoding:
        return "encoding not supported here";
      case text_errc::invalid_input:
        return "invalid byte sequence";
      case text_errc::unmappable_character:
        return "character cannot be encoded";
      case text_errc::invalid_utf8:
        return "invalid UTF-8";
      case text_errc::conversion_failed:
        return "conversion failed";
    }
    return "unknown text error";
  }
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<text_errc>(value)) {
      case text_errc::unknown_encoding:
      case text_errc::unsupported_encoding:
        return std::errc::invalid_argument;
      case text_errc::invalid_input:
      case text_errc::unmappable_character:
      case text_errc::invalid_utf8:
        return std::errc::illegal_byte_sequence;
      case text_errc::conversion_failed:
        break;
    }
    return {value, *this};
  }
};

}  // namespace

const std::error_category& text_category() noexcept {
  static const text_category_impl category;
  return category;
}

std::error_code make_error_code(text_errc value) noexcept {
  return {static_cast<int>(value), text_category()};
}

}  // namespace xsock
