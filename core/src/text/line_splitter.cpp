#include "xsock/line_splitter.hpp"

#include "text_support.hpp"
#include "xsock/encodings.hpp"

namespace xsock {
namespace {

// Checked before the framer is built: a zero maximum is a text_error here (as it
// always was), not the framer's xsock::error.
std::size_t checked_max_line(std::size_t max_line) {
  if (max_line == 0) {
    text_error_info info;
    info.code = std::make_error_code(std::errc::invalid_argument);
    info.message = "line_splitter: the maximum line length must be at least 1";
    detail::throw_text_error(info);
  }
  return max_line;
}

}  // namespace

line_splitter::line_splitter(std::size_t max_line, std::string_view encoding)
    : framer_(checked_max_line(max_line)) {
  std::error_code ec;
  const bool safe = encoding_is_line_safe(encoding, ec);
  if (ec) {
    text_error_info info;
    detail::open_converter(encoding, info);
    detail::throw_text_error(info);
  }
  if (!safe) {
    detail::throw_text_error(detail::make_error(
        text_errc::unsupported_encoding,
        canonical_encoding_name(encoding) +
            " cannot be used as a line-based wire encoding: its bytes 0x0A/0x0D are not "
            "always newlines (use UTF-8, GB18030 or another ASCII-compatible encoding)"));
  }
}

}  // namespace xsock
