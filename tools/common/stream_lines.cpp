#include "stream_lines.hpp"

#include <utility>

#include "xsock/encodings.hpp"

namespace xsock::tools {
namespace {

bool decode_before_framing(const std::string& encoding, bool bytes_only) {
  return !bytes_only && !encoding_is_line_safe(encoding);
}

}  // namespace

bool parse_line_end(const std::string& name, framing& out) {
  if (name == "lf") {
    out = framing::lf;
  } else if (name == "cr") {
    out = framing::cr;
  } else if (name == "crlf") {
    out = framing::crlf;
  } else if (name == "any") {
    out = framing::any;
  } else {
    return false;
  }
  return true;
}

stream_lines::stream_lines(const std::string& encoding, std::size_t max_line, bool bytes_only,
                           framing how)
    : bytes_only_(bytes_only),
      how_(how),
      max_line_(max_line),
      wire_(decode_before_framing(encoding, bytes_only) ? std::make_unique<decoder>(encoding)
                                                        : nullptr),
      // Bytes only, or decoded first: the splitter sees UTF-8-compatible bytes.
      lines_(max_line, wire_ || bytes_only ? "UTF-8" : encoding),
      text_(wire_ || bytes_only ? "UTF-8" : encoding) {}

void stream_lines::push(std::string_view bytes, std::vector<line>& out) {
  if (!wire_) {
    if (how_ == framing::lf)
      lines_.push(bytes, out);
    else
      cut(bytes, out);
    return;
  }
  const std::uint64_t before = wire_->invalid_count();
  const std::string decoded = wire_->decode(bytes);
  if (how_ == framing::lf)
    lines_.push(decoded, out);
  else
    cut(decoded, out);
  wire_invalid_ += wire_->invalid_count() - before;
}

void stream_lines::cut(std::string_view bytes, std::vector<line>& out) {
  if (how_ == framing::packets) {
    // One piece per read. Marked `flush` so that a character cut at its end is kept
    // for the next read; the tools show packets as whole events all the same.
    if (!bytes.empty()) out.push_back(line{std::string(bytes), line_end::flush});
    return;
  }
  const auto emit = [&](line_end end) {
    out.push_back(line{std::move(held_), end});
    held_.clear();
  };
  for (const char c : bytes) {
    const bool was_cr = after_cr_;
    after_cr_ = c == '\r';
    switch (how_) {
      case framing::cr:
        if (c == '\r') {
          emit(line_end::newline);
          continue;
        }
        break;
      case framing::crlf:
        if (c == '\n' && was_cr) {
          held_.pop_back();  // the \r
          emit(line_end::newline);
          continue;
        }
        break;
      default:                              // any
        if (c == '\n' && was_cr) continue;  // the end of a \r\n already cut at \r
        if (c == '\r' || c == '\n') {
          emit(line_end::newline);
          continue;
        }
        break;
    }
    held_ += c;
    // A crlf line keeps its \r until the next byte says whether it ends the line.
    if (held_.size() >= max_line_ && !(how_ == framing::crlf && after_cr_))
      emit(line_end::max_length);
  }
}

std::optional<line> stream_lines::flush() {
  if (how_ == framing::lf) return lines_.flush();
  if (held_.empty()) return std::nullopt;
  line piece{std::move(held_), line_end::flush};
  held_.clear();
  return piece;
}

void stream_lines::finish(std::vector<line>& out) {
  if (wire_) {
    const std::uint64_t before = wire_->invalid_count();
    const std::string decoded = wire_->finish();
    if (how_ == framing::lf)
      lines_.push(decoded, out);
    else
      cut(decoded, out);
    wire_invalid_ += wire_->invalid_count() - before;
  }
  if (how_ == framing::lf) {
    lines_.finish(out);
  } else if (!held_.empty()) {
    out.push_back(line{std::move(held_), line_end::end_of_stream});
    held_.clear();
  } else if (how_ == framing::packets) {
    // Nothing: packets were shown as they came.
  }
}

std::string stream_lines::text(const line& piece, std::uint64_t& invalid) {
  if (bytes_only_) {
    invalid = 0;
    return piece.bytes;
  }
  const std::uint64_t before = text_.invalid_count();
  std::string out = text_.decode(piece.bytes);
  if (!piece.partial()) text_.finish(out);
  if (at_start_ && (!out.empty() || !piece.partial())) {
    // A byte order mark starts the stream, it is not text; any later U+FEFF is (and
    // is shown escaped).
    if (out.compare(0, 3, "\xEF\xBB\xBF") == 0) out.erase(0, 3);
    at_start_ = false;
  }
  invalid = text_.invalid_count() - before + std::exchange(wire_invalid_, 0);
  invalid_total_ += invalid;
  return out;
}

std::string stream_lines::rest(std::uint64_t& invalid) {
  invalid = std::exchange(wire_invalid_, 0);
  std::string out;
  if (!bytes_only_ && text_.pending_bytes() > 0) {
    const std::uint64_t before = text_.invalid_count();
    text_.finish(out);
    invalid += text_.invalid_count() - before;
  }
  invalid_total_ += invalid;
  return out;
}

}  // namespace xsock::tools
