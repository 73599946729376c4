#include "xsock/decoder.hpp"

#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "ascii_scan.hpp"
#include "fast_table.hpp"
#include "text_support.hpp"

namespace xsock {

using detail::fast_cell;
using detail::fast_entry;

namespace {
struct invalid_counts {
  std::uint64_t sequences = 0;
  std::uint64_t bytes = 0;
};
// What only the ICU engine or an error needs: a decoder on the fast table (a server
// holds one per connection) allocates it only if it ever meets an error.
struct decoder_rare {
  detail::converter_ptr cnv;
  text_error_info last_error;
  // Input after a strict error, decoded first by the next call.
  std::string carry;
  // ICU path.
  std::vector<UChar> utf16;
  UChar high = 0;
};

// What every decoder of one encoding shares (its name, its table if it has one), kept
// for the life of the program: a decoder points to it instead of holding a copy.
struct encoding_info {
  std::string name;
  const detail::fast_table* table = nullptr;
  bool operator<(const encoding_info& other) const {
    return name < other.name || (name == other.name && table < other.table);
  }
};

const encoding_info* interned_info(std::string name, const detail::fast_table* table) {
  static std::mutex mutex;
  static std::set<encoding_info> infos;
  std::lock_guard<std::mutex> lock(mutex);
  return &*infos.insert(encoding_info{std::move(name), table}).first;
}

}  // namespace

struct decoder::impl {
  const encoding_info* info = nullptr;
  invalid_counts invalid;
  std::uint64_t given = 0;  // bytes handed to decode()
  std::uint64_t fed = 0;    // stream offset of the next byte not yet taken by the engine
  // Fast path: a lead byte cut off at the end of the previous input (-1: none).
  int pending_lead = -1;
  // The escape marks (fast_cell::escaped) of what the last decode() or finish()
  // appended.
  unsigned marks = 0;
  decode_policy policy = decode_policy::replace;
  std::unique_ptr<decoder_rare> rare;

  decoder_rare& rare_part() {
    if (!rare) rare = std::make_unique<decoder_rare>();
    return *rare;
  }

  bool run(const char* begin, const char* end, bool flush, std::string& out);
  bool run_icu(const char* begin, const char* end, bool flush, std::string& out);
  bool run_fast(const char* begin, const char* end, bool flush, std::string& out);
  void fail(std::uint64_t offset, std::string_view bad, const char* resume,
            const char* end_of_input);
  bool process(std::string_view bytes, bool flush, std::string& out);
};

namespace {

void U_CALLCONV count_and_substitute(const void* context, UConverterToUnicodeArgs* args,
                                     const char* bytes, int32_t length,
                                     UConverterCallbackReason reason, UErrorCode* status) {
  if (reason <= UCNV_IRREGULAR) {
    auto* counts = static_cast<invalid_counts*>(const_cast<void*>(context));
    counts->sequences += 1;
    counts->bytes += static_cast<std::uint64_t>(length);
  }
  UCNV_TO_U_CALLBACK_SUBSTITUTE(nullptr, args, bytes, length, reason, status);
}

}  // namespace

void decoder::impl::fail(std::uint64_t offset, std::string_view bad, const char* resume,
                         const char* end_of_input) {
  ++invalid.sequences;
  invalid.bytes += bad.size();
  decoder_rare& r = rare_part();
  text_error_info& last_error = r.last_error;
  last_error =
      detail::make_error(text_errc::invalid_input, "invalid " + info->name + " byte sequence " +
                                                       detail::format_hex_bytes(bad) +
                                                       " at byte offset " + std::to_string(offset));
  last_error.offset = offset;
  last_error.length = static_cast<std::uint32_t>(bad.size());
  r.carry.assign(resume, end_of_input);
}

bool decoder::impl::run_icu(const char* begin, const char* end, bool flush, std::string& out) {
  // ICU's path does not look at what it produces.
  marks = 3;
  decoder_rare& r = *rare;
  const auto& cnv = r.cnv;
  auto& utf16 = r.utf16;
  auto& high = r.high;
  const char* source = begin;
  for (;;) {
    UChar* target = utf16.data();
    UErrorCode status = U_ZERO_ERROR;
    ucnv_toUnicode(cnv.get(), &target, utf16.data() + utf16.size(), &source, end, nullptr, flush,
                   &status);
    detail::append_utf16_as_utf8(out, utf16.data(), target, high);
    if (status == U_BUFFER_OVERFLOW_ERROR) continue;
    fed += static_cast<std::uint64_t>(source - begin);
    if (U_SUCCESS(status)) break;
    if (status != U_ILLEGAL_CHAR_FOUND && status != U_INVALID_CHAR_FOUND &&
        status != U_TRUNCATED_CHAR_FOUND) {
      r.last_error = detail::make_error(text_errc::conversion_failed,
                                        "decoding " + info->name + ": " + u_errorName(status));
      r.carry.assign(source, end);
      return false;
    }
    char bad[32];
    int8_t bad_len = static_cast<int8_t>(sizeof bad);
    UErrorCode s = U_ZERO_ERROR;
    ucnv_getInvalidChars(cnv.get(), bad, &bad_len, &s);
    if (U_FAILURE(s)) bad_len = 0;
    s = U_ZERO_ERROR;
    const int32_t kept = ucnv_toUCountPending(cnv.get(), &s);
    // Everything the converter took is either decoded (before the error), the invalid
    // sequence, or kept to be decoded again (bytes after it that it had looked at).
    const std::uint64_t offset = fed -
                                 static_cast<std::uint64_t>(U_SUCCESS(s) && kept > 0 ? kept : 0) -
                                 static_cast<std::uint64_t>(bad_len);
    fail(offset, std::string_view(bad, static_cast<std::size_t>(bad_len)), source, end);
    return false;
  }
  if (flush) {
    if (high != 0) {
      detail::append_utf8(out, 0xFFFD);
      high = 0;
    }
    ucnv_resetToUnicode(cnv.get());
  }
  return true;
}

namespace {

// Input is decoded in slices through a scratch buffer that is never zero-filled and
// stays in cache; appending the result costs less than growing `out` to the worst case.
constexpr std::size_t slice_bytes = 16384;
// Worst case: 3 output bytes per input byte, one pair running one byte past the slice,
// cells copied as 4-byte words and ASCII as 16-byte blocks.
constexpr std::size_t scratch_bytes = 3 * (slice_bytes + 1) + 16;

struct slice_result {
  const unsigned char* p;
  char* o;
  const fast_cell* bad;  // strict: the invalid cell at `p`
  unsigned marks;        // fast_cell::escaped of the output, ORed
};

// The hot loop. Stops at `slice_end` (or one byte past it, inside a pair), or before a
// lead byte that is the last byte of the input (the caller keeps it), or (Strict) at an
// invalid sequence.
template <bool Strict, bool Ascii>
slice_result decode_slice(const detail::fast_table& t, const unsigned char* p,
                          const unsigned char* slice_end, const unsigned char* last, char* o,
                          invalid_counts& invalid) {
  // Below `stop` the byte after `p` is readable: a pair needs no bounds check.
  const unsigned char* const stop = slice_end < last ? slice_end : last - 1;
  unsigned marks = 0;
  while (p < stop) {
    const unsigned b = *p;
    // Pairs first: in the text this decoder exists for, most bytes are in pairs.
    if (const fast_cell* row = t.rows[b]) {
      const fast_cell& c = row[p[1]];
      std::memcpy(o, &c.out, sizeof c.out);
      if (c.kind != fast_entry::character) {
        if (c.kind == fast_entry::invalid) {
          if constexpr (Strict) return {p, o, &c, marks};
          ++invalid.sequences;
          invalid.bytes += c.consumed;
          p -= 2 - c.consumed;
        }
        marks |= c.escaped;
      }
      o += c.out.utf8_len;
      // Not `p += c.consumed`: advancing by a constant keeps the table load off the
      // loop's critical path (the rare invalid case corrects itself above).
      p += 2;
      continue;
    }
    if constexpr (Ascii) {
      // Runs of ASCII, often short (a space, a digit, punctuation), between
      // double-byte characters: 16 bytes are copied and the run's length (1-16) taken,
      // so a run costs one step whatever its length.
      // A byte that some escaping changes (a control character, `"`) takes the
      // table's way, which marks it.
      if (b < 0x80 && stop - p >= 16) {
        unsigned n = detail::plain_prefix(p);
        if (n != 0) {
          for (;;) {
            std::memcpy(o, p, 16);
            o += n;
            p += n;
            if (n < 16 || stop - p < 16) break;
            n = detail::plain_prefix(p);
          }
          continue;
        }
      }
    }
    const fast_cell& c = t.single[b];
    if (c.kind != fast_entry::character) {
      if (c.kind == fast_entry::invalid) {
        if constexpr (Strict) return {p, o, &c, marks};
        ++invalid.sequences;
        ++invalid.bytes;
      }
      marks |= c.escaped;
    }
    std::memcpy(o, &c.out, sizeof c.out);
    o += c.out.utf8_len;
    ++p;
  }
  // The input's last byte, alone: kept by the caller when it starts a pair.
  if (p < slice_end && !t.rows[*p]) {
    const fast_cell& c = t.single[*p];
    if (c.kind != fast_entry::character) {
      if (c.kind == fast_entry::invalid) {
        if constexpr (Strict) return {p, o, &c, marks};
        ++invalid.sequences;
        ++invalid.bytes;
      }
      marks |= c.escaped;
    }
    std::memcpy(o, &c.out, sizeof c.out);
    o += c.out.utf8_len;
    ++p;
  }
  return {p, o, nullptr, marks};
}

}  // namespace

bool decoder::impl::run_fast(const char* begin, const char* end, bool flush, std::string& out) {
  const detail::fast_table& t = *info->table;
  const auto* const first = reinterpret_cast<const unsigned char*>(begin);
  const auto* const last = reinterpret_cast<const unsigned char*>(end);
  const unsigned char* p = first;
  const bool strict = policy == decode_policy::strict;
  // One scratch buffer per thread, shared by every decoder: a server holding many
  // streams does not pay for it per stream.
  thread_local std::unique_ptr<char[]> scratch;
  if (!scratch) scratch = std::make_unique<char[]>(scratch_bytes);
  char* const buf = scratch.get();

  auto put = [this, &out, buf](const fast_cell& c) {
    std::memcpy(buf, &c.out, sizeof c.out);
    out.append(buf, c.out.utf8_len);
    marks |= c.escaped;
  };
  // A strict error: text so far is in `out`, the input after the bad bytes is kept.
  auto error = [&](std::uint64_t offset, std::string_view bad, const unsigned char* resume) {
    fed += static_cast<std::uint64_t>(resume - first);
    fail(offset, bad, reinterpret_cast<const char*>(resume), end);
    return false;
  };

  if (pending_lead >= 0 && p != last) {
    const fast_cell& c = t.pair(static_cast<unsigned char>(pending_lead), *p);
    if (c.kind == fast_entry::invalid) {
      const char bad[2] = {static_cast<char>(pending_lead), static_cast<char>(*p)};
      if (strict) {
        pending_lead = -1;
        return error(fed - 1, std::string_view(bad, c.consumed), p + (c.consumed - 1));
      }
      ++invalid.sequences;
      invalid.bytes += c.consumed;
    }
    put(c);
    p += c.consumed - 1;
    pending_lead = -1;
  }
  while (p < last) {
    if (last - p == 1 && t.rows[*p]) {
      pending_lead = *p++;
      break;
    }
    const unsigned char* slice_end =
        static_cast<std::size_t>(last - p) > slice_bytes ? p + slice_bytes : last;
    const slice_result r =
        strict
            ? (t.ascii_identity ? decode_slice<true, true>(t, p, slice_end, last, buf, invalid)
                                : decode_slice<true, false>(t, p, slice_end, last, buf, invalid))
            : (t.ascii_identity ? decode_slice<false, true>(t, p, slice_end, last, buf, invalid)
                                : decode_slice<false, false>(t, p, slice_end, last, buf, invalid));
    out.append(buf, static_cast<std::size_t>(r.o - buf));
    marks |= r.marks;
    p = r.p;
    if (r.bad) {
      const std::size_t n = t.rows[*p] ? r.bad->consumed : 1;
      return error(fed + static_cast<std::uint64_t>(p - first),
                   std::string_view(reinterpret_cast<const char*>(p), n), p + n);
    }
  }
  fed += static_cast<std::uint64_t>(last - first);
  if (flush && pending_lead >= 0) {
    // The stream ended after a lead byte: ICU's truncated-sequence substitution.
    const char lead = static_cast<char>(pending_lead);
    const fast_cell& c = t.single[static_cast<unsigned char>(pending_lead)];
    pending_lead = -1;
    if (strict) {
      // `fed` already counts the whole input, which the lead byte ended.
      fail(fed - 1, std::string_view(&lead, 1), end, end);
      return false;
    }
    ++invalid.sequences;
    ++invalid.bytes;
    put(c);
  }
  return true;
}

bool decoder::impl::run(const char* begin, const char* end, bool flush, std::string& out) {
  return info->table ? run_fast(begin, end, flush, out) : run_icu(begin, end, flush, out);
}

bool decoder::impl::process(std::string_view bytes, bool flush, std::string& out) {
  marks = 0;
  if (rare && !rare->carry.empty()) {
    std::string input = std::move(rare->carry);
    rare->carry.clear();
    input.append(bytes.data(), bytes.size());
    return run(input.data(), input.data() + input.size(), flush, out);
  }
  return run(bytes.data(), bytes.data() + bytes.size(), flush, out);
}

namespace {

// The last encoding that resolved to a fast table, per thread: a server opens a
// decoder per connection, and with the table no ICU converter is needed at all.
struct fast_lookup {
  std::string requested;
  const encoding_info* info = nullptr;
};

fast_lookup& last_fast_lookup() {
  thread_local fast_lookup cached;
  return cached;
}

}  // namespace

decoder::decoder(std::string_view encoding, decode_policy policy, decoder_backend backend)
    : impl_(std::make_unique<impl>()) {
  impl_->policy = policy;
  fast_lookup& last = last_fast_lookup();
  if (backend == decoder_backend::automatic && last.info && last.requested == encoding) {
    impl_->info = last.info;
    return;
  }
  text_error_info info;
  detail::converter_ptr probe = detail::open_converter(encoding, info);
  if (!probe) detail::throw_text_error(info);
  const detail::fast_table* table = nullptr;
  if (backend == decoder_backend::automatic) {
    UErrorCode status = U_ZERO_ERROR;
    const char* icu_name = ucnv_getName(probe.get(), &status);
    if (U_SUCCESS(status) && icu_name) table = detail::get_fast_table(icu_name);
  }
  impl_->info = interned_info(detail::preferred_name(probe.get()), table);
  if (table) {
    // The table decodes everything: no converter is kept (it costs memory per stream).
    last.requested.assign(encoding.data(), encoding.size());
    last.info = impl_->info;
    return;
  }
  decoder_rare& r = impl_->rare_part();
  r.cnv = std::move(probe);
  UErrorCode status = U_ZERO_ERROR;
  if (policy == decode_policy::replace) {
    ucnv_setToUCallBack(r.cnv.get(), count_and_substitute, &impl_->invalid, nullptr, nullptr,
                        &status);
  } else {
    ucnv_setToUCallBack(r.cnv.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
  }
  if (U_FAILURE(status)) {
    detail::throw_text_error(
        detail::make_error(text_errc::conversion_failed,
                           "decoder for " + impl_->info->name + ": " + u_errorName(status)));
  }
  r.utf16.resize(4096);
}

decoder::~decoder() = default;
decoder::decoder(decoder&&) noexcept = default;
decoder& decoder::operator=(decoder&&) noexcept = default;

std::string decoder::decode(std::string_view bytes) {
  std::string out;
  decode(bytes, out);
  return out;
}

void decoder::decode(std::string_view bytes, std::string& out) {
  std::error_code ec;
  decode(bytes, out, ec);
  if (ec) detail::throw_text_error(last_error());
}

void decoder::decode(std::string_view bytes, std::string& out, std::error_code& ec) {
  impl_->given += bytes.size();
  if (impl_->process(bytes, false, out)) {
    ec.clear();
  } else {
    ec = last_error().code;
  }
}

std::string decoder::finish() {
  std::string out;
  finish(out);
  return out;
}

void decoder::finish(std::string& out) {
  std::error_code ec;
  finish(out, ec);
  if (ec) detail::throw_text_error(last_error());
}

void decoder::finish(std::string& out, std::error_code& ec) {
  impl& m = *impl_;
  // The table keeps nothing between characters but a lead byte: a line-by-line caller
  // finishes after every line, mostly with nothing to do.
  if (m.info->table && m.pending_lead < 0 && (!m.rare || m.rare->carry.empty())) {
    m.marks = 0;
    ec.clear();
    return;
  }
  if (m.process({}, true, out)) {
    ec.clear();
  } else {
    ec = last_error().code;
  }
}

void decoder::reset() noexcept {
  if (impl_->rare) {
    if (impl_->rare->cnv) ucnv_resetToUnicode(impl_->rare->cnv.get());
    impl_->rare->carry.clear();
    impl_->rare->high = 0;
  }
  impl_->invalid = {};
  impl_->given = 0;
  impl_->fed = 0;
  impl_->pending_lead = -1;
}

std::uint64_t decoder::invalid_count() const noexcept {
  return impl_->invalid.sequences;
}
std::uint64_t decoder::invalid_bytes() const noexcept {
  return impl_->invalid.bytes;
}
std::uint64_t decoder::bytes_consumed() const noexcept {
  return impl_->given;
}

std::size_t decoder::pending_bytes() const noexcept {
  std::size_t kept = impl_->rare ? impl_->rare->carry.size() : 0;
  if (impl_->info->table) {
    kept += impl_->pending_lead >= 0 ? std::size_t{1} : std::size_t{0};
  } else {
    UErrorCode status = U_ZERO_ERROR;
    const int32_t n = ucnv_toUCountPending(impl_->rare->cnv.get(), &status);
    if (U_SUCCESS(status) && n > 0) kept += static_cast<std::size_t>(n);
  }
  return kept;
}

const std::string& decoder::encoding() const noexcept {
  return impl_->info->name;
}
decode_policy decoder::policy() const noexcept {
  return impl_->policy;
}
bool decoder::uses_fast_path() const noexcept {
  return impl_->info->table != nullptr;
}
bool decoder::last_text_plain() const noexcept {
  return (impl_->marks & 1) == 0;
}
bool decoder::last_text_json_plain() const noexcept {
  return impl_->marks == 0;
}
const text_error_info& decoder::last_error() const noexcept {
  static const text_error_info none;
  return impl_->rare ? impl_->rare->last_error : none;
}

}  // namespace xsock
