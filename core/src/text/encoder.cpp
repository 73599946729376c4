#include "xsock/encoder.hpp"

#include <unicode/uchar.h>

#include <vector>

#include "text_support.hpp"

namespace xsock {
namespace {

struct callback_state {
  UChar32 code_point = -1;
  std::uint64_t replaced = 0;
};

// Stops on every unmappable character. ICU's own UCNV_FROM_U_CALLBACK_STOP clears the
// error for default-ignorable code points, so they would vanish without a trace.
void U_CALLCONV stop_on_any(const void* context, UConverterFromUnicodeArgs*, const UChar*, int32_t,
                            UChar32 code_point, UConverterCallbackReason reason, UErrorCode*) {
  if (reason > UCNV_IRREGULAR) return;
  static_cast<callback_state*>(const_cast<void*>(context))->code_point = code_point;
}

void U_CALLCONV count_and_substitute(const void* context, UConverterFromUnicodeArgs* args,
                                     const UChar* units, int32_t length, UChar32 code_point,
                                     UConverterCallbackReason reason, UErrorCode* status) {
  if (reason <= UCNV_IRREGULAR) {
    static_cast<callback_state*>(const_cast<void*>(context))->replaced += 1;
  }
  UCNV_FROM_U_CALLBACK_SUBSTITUTE(nullptr, args, units, length, code_point, reason, status);
}

// Whether a character can be shown inside an error message on a terminal.
bool displayable(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  return u_isgraph(c) && !u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) &&
         !u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL);
}

}  // namespace

struct encoder::impl {
  detail::converter_ptr cnv;
  std::string name;
  encode_policy policy = encode_policy::strict;
  text_error_info last_error;
  callback_state state;
  std::vector<UChar> utf16;
  // What the converter writes before every conversion (the byte order mark of UTF-16
  // and UTF-32), and whether the stream has had it already.
  std::string signature;
  bool started = false;

  bool run(std::string_view utf8, std::string& out);
  bool convert(std::string_view utf8, std::string& out);
};

bool encoder::impl::run(std::string_view utf8, std::string& out) {
  const std::size_t old = out.size();
  if (!convert(utf8, out)) return false;
  if (!signature.empty() && out.size() > old) {
    // The messages of one encoder are one stream: a byte order mark goes only before
    // the first of them, never in the middle.
    if (started && out.compare(old, signature.size(), signature) == 0)
      out.erase(old, signature.size());
    started = true;
  }
  return true;
}

bool encoder::impl::convert(std::string_view utf8, std::string& out) {
  // UTF-8 to UTF-16 by hand: ICU's own conversion would not say where input is bad.
  utf16.clear();
  const auto* const first = reinterpret_cast<const unsigned char*>(utf8.data());
  const auto* const last = first + utf8.size();
  for (const unsigned char* p = first; p < last;) {
    if (*p < 0x80) {
      utf16.push_back(*p++);
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = detail::next_utf8(p, last, cp);
    if (n == 0) {
      const auto offset = static_cast<std::uint64_t>(p - first);
      last_error = detail::make_error(
          text_errc::invalid_utf8,
          "invalid UTF-8 byte " +
              detail::format_hex_bytes(std::string_view(reinterpret_cast<const char*>(p), 1)) +
              " at byte offset " + std::to_string(offset));
      last_error.offset = offset;
      last_error.length = 1;
      return false;
    }
    if (cp >= 0x10000) {
      utf16.push_back(static_cast<UChar>(0xD7C0 + (cp >> 10)));
      utf16.push_back(static_cast<UChar>(0xDC00 | (cp & 0x3FF)));
    } else {
      utf16.push_back(static_cast<UChar>(cp));
    }
    p += n;
  }

  ucnv_resetFromUnicode(cnv.get());
  state.code_point = -1;
  const std::size_t old = out.size();
  const auto max_char = static_cast<std::size_t>(ucnv_getMaxCharSize(cnv.get()));
  out.resize(old + (utf16.size() + 10) * max_char);
  const UChar* source = utf16.data();
  const UChar* const source_end = source + utf16.size();
  std::size_t written = old;
  UErrorCode status = U_ZERO_ERROR;
  for (;;) {
    char* target = &out[0] + written;
    char* const target_end = &out[0] + out.size();
    status = U_ZERO_ERROR;
    ucnv_fromUnicode(cnv.get(), &target, target_end, &source, source_end, nullptr, true, &status);
    written = static_cast<std::size_t>(target - out.data());
    if (status != U_BUFFER_OVERFLOW_ERROR) break;
    out.resize(out.size() * 2);
  }
  if (U_SUCCESS(status)) {
    out.resize(written);
    return true;
  }
  out.resize(old);
  if (state.code_point < 0) {
    ucnv_resetFromUnicode(cnv.get());
    last_error = detail::make_error(text_errc::conversion_failed,
                                    "encoding to " + name + ": " + u_errorName(status));
    return false;
  }
  // Find the character in the UTF-8 input: the converter stopped just after it.
  UChar bad[8];
  int8_t bad_len = 8;
  UErrorCode s = U_ZERO_ERROR;
  ucnv_getInvalidUChars(cnv.get(), bad, &bad_len, &s);
  if (U_FAILURE(s)) bad_len = 0;
  ucnv_resetFromUnicode(cnv.get());
  const auto stop_index =
      static_cast<std::size_t>(source - utf16.data()) - static_cast<std::size_t>(bad_len);
  std::size_t index16 = 0;
  std::uint64_t number = 1;
  const unsigned char* p = first;
  while (p < last && index16 < stop_index) {
    char32_t cp = 0;
    const std::size_t n = detail::next_utf8(p, last, cp);
    index16 += cp >= 0x10000 ? 2 : 1;
    p += n;
    ++number;
  }
  const auto cp = static_cast<char32_t>(state.code_point);
  const auto offset = static_cast<std::uint64_t>(p - first);
  std::string message = "cannot encode " + detail::format_code_point(cp);
  if (displayable(cp)) {
    message += " (";
    detail::append_utf8(message, cp);
    message += ")";
  }
  message += " in " + name + " at character " + std::to_string(number) + " (byte offset " +
             std::to_string(offset) + ")";
  last_error = detail::make_error(text_errc::unmappable_character, std::move(message));
  last_error.offset = offset;
  last_error.length = static_cast<std::uint32_t>(cp < 0x80      ? 1
                                                 : cp < 0x800   ? 2
                                                 : cp < 0x10000 ? 3
                                                                : 4);
  last_error.code_point = cp;
  last_error.character_number = number;
  return false;
}

encoder::encoder(std::string_view encoding, encode_policy policy)
    : impl_(std::make_unique<impl>()) {
  text_error_info info;
  impl_->cnv = detail::open_converter(encoding, info);
  if (!impl_->cnv) detail::throw_text_error(info);
  impl_->name = detail::preferred_name(impl_->cnv.get());
  impl_->policy = policy;
  UErrorCode status = U_ZERO_ERROR;
  ucnv_setFromUCallBack(impl_->cnv.get(),
                        policy == encode_policy::strict ? stop_on_any : count_and_substitute,
                        &impl_->state, nullptr, nullptr, &status);
  if (U_FAILURE(status)) {
    detail::throw_text_error(detail::make_error(
        text_errc::conversion_failed, "encoder for " + impl_->name + ": " + u_errorName(status)));
  }
  // A signature is what one space gains over its own encoding in a second position.
  std::string one;
  std::string two;
  if (impl_->convert(" ", one) && impl_->convert("  ", two) && two.size() < 2 * one.size()) {
    const std::size_t unit = two.size() - one.size();
    if (two.compare(0, one.size() - unit, one, 0, one.size() - unit) == 0)
      impl_->signature = one.substr(0, one.size() - unit);
  }
  impl_->last_error = text_error_info{};
}

encoder::~encoder() = default;
encoder::encoder(encoder&&) noexcept = default;
encoder& encoder::operator=(encoder&&) noexcept = default;

std::string encoder::encode(std::string_view utf8) {
  std::string out;
  encode(utf8, out);
  return out;
}

std::string encoder::encode(std::string_view utf8, std::error_code& ec) {
  std::string out;
  encode(utf8, out, ec);
  return out;
}

void encoder::encode(std::string_view utf8, std::string& out) {
  std::error_code ec;
  encode(utf8, out, ec);
  if (ec) detail::throw_text_error(impl_->last_error);
}

void encoder::encode(std::string_view utf8, std::string& out, std::error_code& ec) {
  if (impl_->run(utf8, out)) {
    ec.clear();
  } else {
    ec = impl_->last_error.code;
  }
}

std::uint64_t encoder::replaced_count() const noexcept {
  return impl_->state.replaced;
}
const std::string& encoder::encoding() const noexcept {
  return impl_->name;
}
encode_policy encoder::policy() const noexcept {
  return impl_->policy;
}
const text_error_info& encoder::last_error() const noexcept {
  return impl_->last_error;
}

}  // namespace xsock
