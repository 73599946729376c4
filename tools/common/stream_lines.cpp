#include "stream_lines.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "xsock/encodings.hpp"

namespace xsock::tools {
namespace {

bool decode_before_framing(const std::string& encoding, bool bytes_only) {
  return !bytes_only && !encoding_is_line_safe(encoding);
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

bool native_little_endian() noexcept {
  const std::uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

}  // namespace

void append_byte_escapes(std::string_view bytes, std::string& out) {
  static const char digits[] = "0123456789abcdef";
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    const char escape[] = {'\\', 'x', digits[b >> 4], digits[b & 15]};
    out.append(escape, sizeof escape);
  }
}

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
      at_start_(true),
      last_plain_(false),
      last_json_plain_(false),
      after_cr_(false),
      little_endian_(false),
      order_from_bom_(false),
      how_(how) {
  // The splitter's own checks (a maximum of 0 is an error); the encoding it frames is
  // line-safe here, as decode_before_framing made sure.
  if (max_line == 0) line_splitter(max_line, "UTF-8");
  if (bytes_only) {
    // Raw UTF-16/UTF-32 is cut on code units: a 0x0A byte there is half of a character
    // as often as not. An unknown name is the tool's to report, not ours.
    std::error_code ec;
    const std::string name = canonical_encoding_name(encoding, ec);
    if (!ec) {
      if (starts_with(name, "UTF-16") || starts_with(name, "UTF16_")) unit_ = 2;
      if (starts_with(name, "UTF-32") || starts_with(name, "UTF32_")) unit_ = 4;
    }
    if (unit_ > 1) {
      const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
      if (has("PlatformEndian"))
        little_endian_ = native_little_endian();
      else if (has("OppositeEndian"))
        little_endian_ = !native_little_endian();
      else if (has("LE") || has("Little"))
        little_endian_ = true;
      else if (!has("BE") && !has("Big"))
        order_from_bom_ = true;  // big-endian unless a byte order mark says otherwise
    }
  }
}

line_splitter& stream_lines::splitter() {
  // Framing is on bytes, the same for every line-safe encoding: UTF-8 stands for them.
  if (!lines_) lines_ = std::make_unique<line_splitter>(max_line_, "UTF-8");
  return *lines_;
}

void stream_lines::release_splitter() noexcept {
  if (lines_ && lines_->buffered() == 0) lines_.reset();
}

namespace {

// The sink of the vector forms: the parts of a piece joined into one string.
struct collect {
  std::vector<line>& out;
  std::string part;
  void operator()(std::string_view bytes, line_end end, bool more) {
    part.append(bytes.data(), bytes.size());
    if (more) return;
    out.push_back(line{std::move(part), end});
    part = std::string();
  }
};

}  // namespace

void stream_lines::push(std::string_view bytes, std::vector<line>& out) {
  push(bytes, collect{out, std::string()});
}

void stream_lines::to_blocks_when_long() {
  if (!lines_ || lines_->buffered() < long_block) return;
  // finish() hands the buffer itself over (moved, not copied).
  std::vector<line> taken;
  lines_->finish(taken);
  lines_.reset();
  held_ = std::make_unique<kept_line>();
  for (line& piece : taken) {
    held_->size += piece.bytes.size();
    held_->blocks.push_back(std::move(piece.bytes));
  }
}

void stream_lines::append_long(std::string_view bytes) {
  std::vector<std::string>& blocks = held_->blocks;
  while (!bytes.empty()) {
    std::string& last = blocks.back();
    const std::size_t room = last.capacity() - last.size();
    if (room == 0) {
      // A new block of its final size: appending never reallocates it.
      blocks.emplace_back();
      blocks.back().reserve(long_block);
      continue;
    }
    const std::size_t n = room < bytes.size() ? room : bytes.size();
    last.append(bytes.data(), n);
    bytes.remove_prefix(n);
    held_->size += n;
  }
}

void stream_lines::cut(std::string_view bytes, std::vector<line>& out) {
  if (how_ == framing::packets) {
    if (!bytes.empty()) out.push_back(line{std::string(bytes), line_end::flush});
    return;
  }
  std::size_t at = 0;
  if (held_ && held_->tail_size > 0) {
    // A code unit cut between two reads: completed by this one's first bytes.
    char unit[4];
    std::uint8_t& tail_size = held_->tail_size;
    std::memcpy(unit, held_->tail, tail_size);
    const std::size_t need = std::min<std::size_t>(unit_ - tail_size, bytes.size());
    std::memcpy(unit + tail_size, bytes.data(), need);
    at = need;
    tail_size = static_cast<std::uint8_t>(tail_size + need);
    if (tail_size < unit_) {
      std::memcpy(held_->tail, unit, tail_size);
      return;
    }
    tail_size = 0;
    cut_unit(std::string_view(unit, unit_), out);
  }
  const std::size_t end = at + (bytes.size() - at) / unit_ * unit_;
  for (; at < end; at += unit_)
    cut_unit(bytes.substr(at, unit_), out);
  if (end < bytes.size()) {
    if (!held_) held_ = std::make_unique<kept_line>();
    held_->tail_size = static_cast<std::uint8_t>(bytes.size() - end);
    std::memcpy(held_->tail, bytes.data() + end, held_->tail_size);
  }
  if (held_ && held_->bytes.empty() && held_->tail_size == 0) held_.reset();
}

void stream_lines::cut_unit(std::string_view unit, std::vector<line>& out) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(unit[i]); };
  if (order_from_bom_) {
    // The first unit: FF FE (00 00) is a little-endian byte order mark.
    order_from_bom_ = false;
    little_endian_ = byte(0) == 0xFF && byte(1) == 0xFE && (unit_ == 2 || (byte(2) | byte(3)) == 0);
  }
  std::uint32_t code = 0;
  for (std::size_t i = 0; i < unit_; ++i)
    code = code << 8 | byte(little_endian_ ? unit_ - 1 - i : i);
  const auto emit = [&](line_end end) {
    out.push_back(line{held_ ? std::move(held_->bytes) : std::string(), end});
    if (held_) held_->bytes.clear();
  };
  switch (how_) {
    case framing::cr:
      if (code == '\r')
        emit(line_end::newline);
      else
        add_unit(unit, out);
      break;
    case framing::any: {
      const bool was_cr = after_cr_;
      after_cr_ = code == '\r';
      if (code == '\n' && was_cr) break;  // the end of a \r\n already cut at the \r
      if (code == '\r' || code == '\n')
        emit(line_end::newline);
      else
        add_unit(unit, out);
      break;
    }
    default:  // lf, crlf: a \r is held back until the next unit says what it is
      if (code == '\n' && (after_cr_ || how_ == framing::lf)) {
        after_cr_ = false;
        emit(line_end::newline);
        break;
      }
      if (after_cr_) {
        // Not the end of a line: the \r held back is part of it. A run of \r is cut
        // at the maximum like any other bytes, with one \r held back at most.
        char cr[4];
        add_unit(unit_of('\r', cr), out);
      }
      after_cr_ = code == '\r';
      if (!after_cr_) add_unit(unit, out);
      break;
  }
}

void stream_lines::add_unit(std::string_view unit, std::vector<line>& out) {
  if (!held_) held_ = std::make_unique<kept_line>();
  // A piece holds whole code units: the maximum rounded down to one (at least one unit).
  const std::size_t max_piece = std::max<std::size_t>(unit_, max_line_ - max_line_ % unit_);
  std::string& bytes = held_->bytes;
  if (bytes.size() + unit.size() > max_piece) {
    out.push_back(line{std::move(bytes), line_end::max_length});
    bytes.clear();
  }
  bytes.append(unit.data(), unit.size());
}

std::string_view stream_lines::unit_of(char code, char (&buffer)[4]) const noexcept {
  std::memset(buffer, 0, sizeof buffer);
  buffer[little_endian_ ? 0 : unit_ - 1] = code;
  return std::string_view(buffer, unit_);
}

std::optional<line> stream_lines::flush() {
  if (!held_ || !by_splitter()) return flush_short();
  std::vector<line> out;
  flush(collect{out, std::string()});
  return std::move(out.front());
}

std::optional<line> stream_lines::flush_short() {
  if (how_ == framing::packets) return std::nullopt;  // every read is a piece already
  if (!by_splitter()) {
    // Whole units only; a \r held back and a cut code unit stay for the next bytes.
    if (!held_ || held_->bytes.empty()) return std::nullopt;
    line piece{std::move(held_->bytes), line_end::flush};
    held_->bytes.clear();
    if (held_->tail_size == 0) held_.reset();
    return piece;
  }
  if (!lines_) return std::nullopt;
  std::optional<line> piece = lines_->flush();
  release_splitter();
  return piece;
}

void stream_lines::finish(std::vector<line>& out) {
  finish(collect{out, std::string()});
}

void stream_lines::finish_rest(std::vector<line>& out) {
  if (how_ == framing::packets) {
    held_.reset();  // the wire bytes of the last read, shown with it already
    return;
  }
  if (!by_splitter()) {
    // What is left ends the stream: a \r held back and a cut code unit included (a
    // piece at the maximum first if they do not fit).
    std::string last;
    if (after_cr_ && how_ != framing::any) {
      char cr[4];
      last.append(unit_of('\r', cr));
    }
    if (held_) last.append(held_->tail, held_->tail_size);
    if (!last.empty() && held_ && held_->bytes.size() + last.size() > max_line_) {
      out.push_back(line{std::move(held_->bytes), line_end::max_length});
      held_->bytes.clear();
    }
    if (held_) last.insert(0, held_->bytes);
    if (!last.empty()) out.push_back(line{std::move(last), line_end::end_of_stream});
    held_.reset();
    after_cr_ = false;
  }
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
    last_plain_ = false;
    last_json_plain_ = false;
    return;
  }
  const std::size_t from = out.size();
  const std::uint64_t before = text_.invalid_count();
  text_.decode(piece, out);
  last_plain_ = text_.last_text_plain();
  last_json_plain_ = text_.last_text_json_plain();
  if (!partial) {
    text_.finish(out);
    last_plain_ = last_plain_ && text_.last_text_plain();
    last_json_plain_ = last_json_plain_ && text_.last_text_json_plain();
  }
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
