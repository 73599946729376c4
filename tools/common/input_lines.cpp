#include "input_lines.hpp"

#include <string_view>
#include <utility>

#include "console.hpp"

namespace xsock::tools {

// 64 KiB a read: a pipe's contents come in few reads, a terminal's a line at a time.
input_lines::input_lines(std::size_t max_line, const std::string& encoding, source read)
    : read_(read ? std::move(read) : source(read_input)),
      lines_(max_line, encoding),
      buffer_(64 * 1024) {}

bool input_lines::next(std::vector<line>& pieces, std::error_code& ec) {
  pieces.clear();
  ec.clear();
  const std::size_t n = read_(buffer_.data(), buffer_.size(), ec);
  ended_line_ = n > 0 && buffer_[n - 1] == '\n';
  if (ec) return false;
  if (n == 0) {
    lines_.finish(pieces);
    return false;
  }
  lines_.push(std::string_view(buffer_.data(), n), pieces);
  return true;
}

}  // namespace xsock::tools
