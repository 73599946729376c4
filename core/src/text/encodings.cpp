#include "xsock/encodings.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include "text_support.hpp"

namespace xsock {
namespace {

using detail::converter_ptr;

// Decodes `bytes` as a whole (flush) with ICU's substitution; the probe for line safety.
std::u16string probe_decode(UConverter* cnv, const char* bytes, std::size_t n) {
  ucnv_resetToUnicode(cnv);
  UChar buf[16];
  UChar* target = buf;
  const char* source = bytes;
  UErrorCode status = U_ZERO_ERROR;
  ucnv_toUnicode(cnv, &target, buf + 16, &source, bytes + n, nullptr, true, &status);
  if (U_FAILURE(status)) return u"\uFFFF";
  return std::u16string(buf, target);
}

bool ends_with(const std::u16string& s, char16_t c) {
  return !s.empty() && s.back() == c;
}

// A 0x0A/0x0D byte must always be that control character: checked after every one-byte
// prefix, and after every two-byte prefix of a longer sequence (GB18030's four-byte
// form), with ICU as the judge. The converter type rules out families where the
// probes could pass by accident (UTF-16/32 have minimum size 2; SCSU, BOCU-1 and UTF-7
// carry state the probes do not exercise).
bool compute_line_safe(UConverter* cnv) {
  switch (ucnv_getType(cnv)) {
    case UCNV_SBCS:
    case UCNV_DBCS:
    case UCNV_MBCS:
    case UCNV_LATIN_1:
    case UCNV_UTF8:
    case UCNV_US_ASCII:
    case UCNV_CESU8:
    case UCNV_HZ:
    case UCNV_ISO_2022:
      break;
    default:
      return false;
  }
  if (ucnv_getMinCharSize(cnv) != 1) return false;
  for (char16_t c : {u'\n', u'\r'}) {
    ucnv_resetFromUnicode(cnv);
    char out[16];
    char* target = out;
    const UChar* source = &c;
    UErrorCode status = U_ZERO_ERROR;
    ucnv_fromUnicode(cnv, &target, out + 16, &source, &c + 1, nullptr, true, &status);
    if (U_FAILURE(status) || target - out != 1 || out[0] != static_cast<char>(c)) return false;
  }
  const int max_size = ucnv_getMaxCharSize(cnv);
  for (int b = 0; b < 256; ++b) {
    char seq[3] = {static_cast<char>(b), '\n', 0};
    for (char ctl : {'\n', '\r'}) {
      seq[1] = ctl;
      if (!ends_with(probe_decode(cnv, seq, 2), static_cast<char16_t>(ctl))) return false;
    }
    if (max_size <= 2) continue;
    // Only lead bytes of longer sequences need the two-byte-prefix probe.
    ucnv_resetToUnicode(cnv);
    {
      UChar buf[4];
      UChar* target = buf;
      const char* source = seq;
      UErrorCode status = U_ZERO_ERROR;
      ucnv_toUnicode(cnv, &target, buf + 4, &source, seq + 1, nullptr, true, &status);
      if (status != U_TRUNCATED_CHAR_FOUND) continue;
    }
    for (int c = 0; c < 256; ++c) {
      char prefix[3] = {static_cast<char>(b), static_cast<char>(c), 0};
      ucnv_resetToUnicode(cnv);
      UChar buf[4];
      UChar* target = buf;
      const char* source = prefix;
      UErrorCode status = U_ZERO_ERROR;
      ucnv_toUnicode(cnv, &target, buf + 4, &source, prefix + 2, nullptr, true, &status);
      if (status != U_TRUNCATED_CHAR_FOUND) continue;
      for (char ctl : {'\n', '\r'}) {
        prefix[2] = ctl;
        if (!ends_with(probe_decode(cnv, prefix, 3), static_cast<char16_t>(ctl))) return false;
      }
    }
  }
  return true;
}

int compare_nocase(const std::string& a, const std::string& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const int ca = std::tolower(static_cast<unsigned char>(a[i]));
    const int cb = std::tolower(static_cast<unsigned char>(b[i]));
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

}  // namespace

bool encoding_exists(std::string_view name) noexcept {
  try {
    text_error_info info;
    return detail::open_converter(name, info) != nullptr;
  } catch (...) {
    return false;
  }
}

std::string canonical_encoding_name(std::string_view name, std::error_code& ec) {
  text_error_info info;
  converter_ptr cnv = detail::open_converter(name, info);
  if (!cnv) {
    ec = info.code;
    return {};
  }
  ec.clear();
  return detail::preferred_name(cnv.get());
}

std::string canonical_encoding_name(std::string_view name) {
  text_error_info info;
  converter_ptr cnv = detail::open_converter(name, info);
  if (!cnv) detail::throw_text_error(info);
  return detail::preferred_name(cnv.get());
}

std::vector<std::string> list_encodings() {
  std::vector<std::string> names;
  const int32_t count = ucnv_countAvailable();
  for (int32_t i = 0; i < count; ++i) {
    const char* icu_name = ucnv_getAvailableName(i);
    if (!icu_name) continue;
    std::string preferred = icu_name;
    for (const char* standard : {"MIME", "IANA"}) {
      UErrorCode s = U_ZERO_ERROR;
      const char* n = ucnv_getStandardName(icu_name, standard, &s);
      if (U_SUCCESS(s) && n && *n) {
        preferred = n;
        break;
      }
    }
    names.push_back(std::move(preferred));
  }
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return compare_nocase(a, b) < 0; });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<std::string> encoding_aliases(std::string_view name) {
  text_error_info info;
  converter_ptr cnv = detail::open_converter(name, info);
  if (!cnv) detail::throw_text_error(info);
  UErrorCode status = U_ZERO_ERROR;
  const char* icu_name = ucnv_getName(cnv.get(), &status);
  std::vector<std::string> aliases;
  if (U_FAILURE(status) || !icu_name) return aliases;
  aliases.emplace_back(icu_name);
  const uint16_t count = ucnv_countAliases(icu_name, &status);
  for (uint16_t i = 0; U_SUCCESS(status) && i < count; ++i) {
    const char* alias = ucnv_getAlias(icu_name, i, &status);
    if (U_SUCCESS(status) && alias && aliases.front() != alias) aliases.emplace_back(alias);
  }
  return aliases;
}

bool encoding_is_line_safe(std::string_view name, std::error_code& ec) {
  static std::mutex mutex;
  static std::map<std::string, bool> cache;  // by ICU name
  // By the name as asked: a server asks once per connection, and opening a converter
  // only to find the answer cached costs more than the lookup.
  static std::map<std::string, bool, std::less<>> by_request;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = by_request.find(name);
    if (it != by_request.end()) {
      ec.clear();
      return it->second;
    }
  }
  text_error_info info;
  converter_ptr cnv = detail::open_converter(name, info);
  if (!cnv) {
    ec = info.code;
    return false;
  }
  ec.clear();
  UErrorCode status = U_ZERO_ERROR;
  const std::string icu_name = ucnv_getName(cnv.get(), &status);
  bool safe = false;
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = cache.find(icu_name);
    if (it != cache.end()) {
      safe = it->second;
      known = true;
    }
  }
  if (!known) safe = compute_line_safe(cnv.get());
  std::lock_guard<std::mutex> lock(mutex);
  cache.emplace(icu_name, safe);
  // Bounded: only names that open a converter get here.
  if (by_request.size() < 1024) by_request.emplace(std::string(name), safe);
  return safe;
}

bool encoding_is_line_safe(std::string_view name) {
  std::error_code ec;
  const bool safe = encoding_is_line_safe(name, ec);
  if (ec) {
    text_error_info info;
    detail::open_converter(name, info);
    detail::throw_text_error(info);
  }
  return safe;
}

}  // namespace xsock
