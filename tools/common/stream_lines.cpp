#include "stream_lines.hpp"

#include <algorithm>
#include <cstdint>
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
    : wire_(decode_before_framing(encoding, bytes_only) ? std::make_unique<decoder>(encoding)
                                                        : nullptr),
      // Bytes only, or decoded first: the text is UTF-8.
      text_(wire_ || bytes_only ? "UTF-8" : encoding),
      // Longer lines than 4 GiB are cut all the same (the tools allow at most 1 GiB).
      max_line_(static_cast<std::uint32_t>(std::min<std::size_t>(max_line, UINT32_MAX))),
      bytes_only_(bytes_only),
      how_(how) {
  // The splitter's own checks (a maximum of 0 is an error); the encoding it frames is
  // line-safe here, as decode_before_framing made sure.
  if (max_line == 0) line_splitter(max_line, "UTF-8");
}

line_splitter& stream_lines::splitter() {
  // Framing is on bytes, the same for every line-safe encoding: UTF-8 stands for them.
  if (!lines_) lines_ = std::make_unique<line_splitter>(max_line_, "UTF-8");
  return *lines_;
}

void stream_lines::release_splitter() noexcept {
  if (lines_ && lines_->buffered() == 0) lines_.reset();
}

void stream_lines::push(std::string_view bytes, std::vector<line>& out) {
  std::string decoded;
  if (wire_) {
    const std::uint64_t before = wire_->invalid_count();
    decoded = wire_->decode(bytes);
    wire_invalid_ += wire_->invalid_count() - before;
    bytes = decoded;
  }
  if (how_ != framing::lf) {
    cut(bytes, out);
    return;
  }
  splitter().push(bytes, out);
  release_splitter();
}

void stream_lines::cut(std::string_view bytes, std::vector<line>& out) {
  if (how_ == framing::packets) {
    if (!bytes.empty()) out.push_back(line{std::string(bytes), line_end::flush});
    return;
  }
  if (!held_) held_ = std::make_unique<std::string>();
  std::string& held = *held_;
  const auto emit = [&](line_end end) {
    out.push_back(line{std::move(held), end});
    held.clear();
  };
  for (const char c : bytes) {
    const bool was_cr = after_cr_;
    after_cr_ = c == '\r';
    if (how_ == framing::cr) {
      if (c == '\r') {
        emit(line_end::newline);
        continue;
      }
    } else if (how_ == framing::crlf) {
      if (c == '\n' && was_cr) {
        held.pop_back();  // the \r
        emit(line_end::newline);
        continue;
      }
    } else {                              // any
      if (c == '\n' && was_cr) continue;  // the end of a \r\n already cut at the \r
      if (c == '\r' || c == '\n') {
        emit(line_end::newline);
        continue;
      }
    }
    held += c;
    // A crlf line keeps a last \r until the next byte says whether it ends the line.
    if (held.size() >= max_line_ && !(how_ == framing::crlf && after_cr_))
      emit(line_end::max_length);
  }
  if (held.empty()) held_.reset();
}

std::optional<line> stream_lines::flush() {
  if (how_ != framing::lf) {
    if (!held_ || held_->empty()) return std::nullopt;
    line piece{std::move(*held_), line_end::flush};
    held_.reset();
    return piece;
  }
  if (!lines_) return std::nullopt;
  std::optional<line> piece = lines_->flush();
  release_splitter();
  return piece;
}

void stream_lines::finish(std::vector<line>& out) {
  if (wire_) {
    const std::uint64_t before = wire_->invalid_count();
    const std::string rest = wire_->finish();
    wire_invalid_ += wire_->invalid_count() - before;
    if (!rest.empty()) {
      if (how_ != framing::lf)
        cut(rest, out);
      else
        splitter().push(rest, out);
    }
  }
  if (held_ && !held_->empty()) out.push_back(line{std::move(*held_), line_end::end_of_stream});
  held_.reset();
  if (lines_) lines_->finish(out);
  lines_.reset();
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

void stream_lines::append_text(std::string_view piece, bool partial, std::string& out,
                               std::uint64_t& invalid) {
  if (bytes_only_) {
    invalid = 0;
    out.append(piece.data(), piece.size());
    return;
  }
  const std::size_t from = out.size();
  const std::uint64_t before = text_.invalid_count();
  text_.decode(piece, out);
  if (!partial) text_.finish(out);
  if (at_start_ && (out.size() > from || !partial)) {
    if (out.compare(from, 3, "\xEF\xBB\xBF") == 0) out.erase(from, 3);
    at_start_ = false;
  }
  invalid = text_.invalid_count() - before + std::exchange(wire_invalid_, 0);
  invalid_total_ += invalid;
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
