#include "xsock/line_splitter.hpp"

#include <cstring>

#include "text_support.hpp"
#include "xsock/encodings.hpp"

namespace xsock {

line_splitter::line_splitter(std::size_t max_line, std::string_view encoding)
    : max_line_(max_line) {
  if (max_line == 0) {
    text_error_info info;
    info.code = std::make_error_code(std::errc::invalid_argument);
    info.message = "line_splitter: the maximum line length must be at least 1";
    detail::throw_text_error(info);
  }
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

void line_splitter::push(std::string_view bytes, std::vector<line>& out) {
  buffer_.append(bytes.data(), bytes.size());
  std::size_t start = 0;
  for (;;) {
    const std::size_t avail = buffer_.size() - start;
    // A line of max_line bytes may still end in "\r\n": look that far for the '\n'.
    const std::size_t window = avail < max_line_ + 2 ? avail : max_line_ + 2;
    const char* base = buffer_.data() + start;
    const auto* nl = static_cast<const char*>(window ? std::memchr(base, '\n', window) : nullptr);
    if (nl) {
      std::size_t len = static_cast<std::size_t>(nl - base);
      const std::size_t content = len > 0 && base[len - 1] == '\r' ? len - 1 : len;
      if (content <= max_line_) {
        out.push_back(line{std::string(base, content), line_end::newline});
        start += len + 1;
        continue;
      }
    }
    if (avail <= max_line_) break;
    // One byte past the maximum: a '\r' there may belong to a "\r\n" still to come.
    if (avail == max_line_ + 1 && base[max_line_] == '\r') break;
    out.push_back(line{std::string(base, max_line_), line_end::max_length});
    start += max_line_;
  }
  buffer_.erase(0, start);
}

std::vector<line> line_splitter::push(std::string_view bytes) {
  std::vector<line> out;
  push(bytes, out);
  return out;
}

std::optional<line> line_splitter::flush() {
  std::size_t n = buffer_.size();
  if (n > 0 && buffer_[n - 1] == '\r') --n;
  if (n == 0) return std::nullopt;
  line piece{buffer_.substr(0, n), line_end::flush};
  buffer_.erase(0, n);
  return piece;
}

void line_splitter::finish(std::vector<line>& out) {
  if (buffer_.empty()) return;
  // Only a '\r' held back at max_line + 1 can make the rest longer than the maximum.
  if (buffer_.size() > max_line_) {
    out.push_back(line{buffer_.substr(0, max_line_), line_end::max_length});
    buffer_.erase(0, max_line_);
  }
  out.push_back(line{std::move(buffer_), line_end::end_of_stream});
  buffer_.clear();
}

std::vector<line> line_splitter::finish() {
  std::vector<line> out;
  finish(out);
  return out;
}

}  // namespace xsock
