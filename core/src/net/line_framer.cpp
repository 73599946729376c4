#include "xsock/line_framer.hpp"

#include <cstring>
#include <system_error>

#include "backend.hpp"
#include "net/throw.hpp"

namespace xsock {

line_framer::line_framer(std::size_t max_line) : max_line_(max_line) {
  if (max_line == 0)
    detail::throw_error(detail::make_error(std::errc::invalid_argument), "line_framer",
                        "(the maximum line length must be at least 1)");
}

void line_framer::push(std::string_view bytes, std::vector<line>& out) {
  buffer_.append(bytes.data(), bytes.size());
  std::size_t start = 0;
  for (;;) {
    const std::size_t avail = buffer_.size() - start;
    // A line of max_line bytes may still end in "\r\n": look that far for the '\n'.
    const std::size_t window_end = start + (avail < max_line_ + 2 ? avail : max_line_ + 2);
    // Bytes before scanned_ were searched by an earlier call: each byte is looked at
    // once, so a long unterminated line costs linear time however it is cut.
    const std::size_t from = scanned_ > start ? scanned_ : start;
    const char* nl = nullptr;
    if (from < window_end) {
      nl = static_cast<const char*>(std::memchr(buffer_.data() + from, '\n', window_end - from));
      scanned_ = nl ? static_cast<std::size_t>(nl - buffer_.data()) : window_end;
      bytes_scanned_ += scanned_ - from;
    }
    if (nl) {
      const std::size_t len = static_cast<std::size_t>(nl - buffer_.data()) - start;
      const std::size_t content = len > 0 && buffer_[start + len - 1] == '\r' ? len - 1 : len;
      if (content <= max_line_) {
        emit(start, content, len + 1, line_end::newline, out);
        start = next_start_;
        continue;
      }
    }
    if (avail <= max_line_) break;
    // One byte past the maximum: a '\r' there may belong to a "\r\n" still to come.
    if (avail == max_line_ + 1 && buffer_[start + max_line_] == '\r') break;
    emit(start, max_line_, max_line_, line_end::max_length, out);
    start = next_start_;
  }
  buffer_.erase(0, start);
  scanned_ = scanned_ > start ? scanned_ - start : 0;
  // Nothing kept: the memory goes back (a stream between lines holds no buffer).
  if (buffer_.empty()) std::string().swap(buffer_);
}

void line_framer::emit(std::size_t start, std::size_t content, std::size_t consumed, line_end end,
                       std::vector<line>& out) {
  const std::size_t rest = buffer_.size() - start - consumed;
  if (start == 0 && rest < content) {
    // The piece is most of the buffer: hand the buffer itself over and keep a copy of
    // the (smaller) rest, so a long line is never held twice.
    std::string kept = buffer_.substr(consumed);
    buffer_.resize(content);
    out.push_back(line{std::move(buffer_), end});
    buffer_ = std::move(kept);
    scanned_ = scanned_ > consumed ? scanned_ - consumed : 0;
    next_start_ = 0;
    return;
  }
  out.push_back(line{buffer_.substr(start, content), end});
  next_start_ = start + consumed;
}

std::vector<line> line_framer::push(std::string_view bytes) {
  std::vector<line> out;
  push(bytes, out);
  return out;
}

std::optional<line> line_framer::flush() {
  std::size_t n = buffer_.size();
  if (n > 0 && buffer_[n - 1] == '\r') --n;
  if (n == 0) return std::nullopt;
  line piece{buffer_.substr(0, n), line_end::flush};
  buffer_.erase(0, n);
  scanned_ = scanned_ > n ? scanned_ - n : 0;
  return piece;
}

void line_framer::finish(std::vector<line>& out) {
  if (buffer_.empty()) return;
  // Only a '\r' held back at max_line + 1 can make the rest longer than the maximum.
  if (buffer_.size() > max_line_) {
    out.push_back(line{buffer_.substr(0, max_line_), line_end::max_length});
    buffer_.erase(0, max_line_);
  }
  out.push_back(line{std::move(buffer_), line_end::end_of_stream});
  buffer_.clear();
  scanned_ = 0;
}

std::vector<line> line_framer::finish() {
  std::vector<line> out;
  finish(out);
  return out;
}

}  // namespace xsock
