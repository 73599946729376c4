#include "fast_table.hpp"

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "text_support.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock::detail {
namespace {

// Converters whose equivalence with ICU the test suite proves on every one- and
// two-byte input. Others (even if stateless double-byte) stay on ICU.
constexpr const char* fast_converters[] = {
    "windows-936-2000",           // GBK
    "windows-950-2000",           // Big5
    "ibm-943_P15A-2003",          // Shift_JIS
    "ibm-970_P110_P110-2006_U2",  // EUC-KR
};

struct probe_result {
  UErrorCode status = U_ZERO_ERROR;
  std::u16string text;
  int invalid_length = 0;
};

probe_result probe(UConverter* cnv, const char* bytes, int n) {
  probe_result r;
  ucnv_resetToUnicode(cnv);
  UChar buf[16];
  UChar* target = buf;
  const char* source = bytes;
  ucnv_toUnicode(cnv, &target, buf + 16, &source, bytes + n, nullptr, true, &r.status);
  r.text.assign(buf, target);
  if (U_FAILURE(r.status)) {
    char invalid[32];
    int8_t len = static_cast<int8_t>(sizeof invalid);
    UErrorCode s = U_ZERO_ERROR;
    ucnv_getInvalidChars(cnv, invalid, &len, &s);
    r.invalid_length = U_SUCCESS(s) ? len : -1;
  }
  return r;
}

// What escaping changes the character `text` holds: 1 terminal escaping (and so JSON
// escaping too), 2 JSON escaping only (tab, `"`, `\\`), 0 neither.
std::uint8_t escape_marks(const std::u16string& text) {
  const char32_t cp = text.empty() ? 0 : text[0];
  if (is_escaped_code_point(cp)) return 3;
  return cp == '\t' || cp == '"' || cp == '\\' ? 2 : 0;
}

// One BMP character as at most 3 UTF-8 bytes; false for anything else.
bool to_entry(const std::u16string& text, fast_entry& e) {
  std::string utf8;
  UChar high = 0;
  if (text.size() != 1 || (text[0] >= 0xD800 && text[0] <= 0xDFFF)) return false;
  append_utf16_as_utf8(utf8, text.data(), text.data() + text.size(), high);
  if (utf8.size() > 3) return false;
  e = fast_entry{};
  std::memcpy(e.utf8, utf8.data(), utf8.size());
  e.utf8_len = static_cast<std::uint8_t>(utf8.size());
  return true;
}

std::unique_ptr<fast_table> build(const char* icu_name) {
  text_error_info info;
  converter_ptr stop = open_converter(icu_name, info);
  converter_ptr sub = open_converter(icu_name, info);
  if (!stop || !sub || ucnv_getMaxCharSize(stop.get()) > 2) return nullptr;
  UErrorCode status = U_ZERO_ERROR;
  ucnv_setToUCallBack(stop.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
  ucnv_setToUCallBack(sub.get(), UCNV_TO_U_CALLBACK_SUBSTITUTE, nullptr, nullptr, nullptr, &status);
  if (U_FAILURE(status)) return nullptr;

  auto table = std::make_unique<fast_table>();
  std::size_t rows = 0;
  table->ascii_identity = true;
  for (int b = 0; b < 256; ++b) {
    const char byte = static_cast<char>(b);
    fast_cell& cell = table->single[static_cast<std::size_t>(b)];
    const probe_result strict = probe(stop.get(), &byte, 1);
    const probe_result replaced = probe(sub.get(), &byte, 1);
    if (U_SUCCESS(strict.status)) {
      if (!to_entry(strict.text, cell.out)) return nullptr;
      cell.kind = fast_entry::character;
      if (b < 0x80 && (cell.out.utf8_len != 1 || cell.out.utf8[0] != b)) {
        table->ascii_identity = false;
      }
    } else if (strict.status == U_TRUNCATED_CHAR_FOUND) {
      if (!to_entry(replaced.text, cell.out)) return nullptr;
      cell.kind = fast_entry::lead;
      table->row[static_cast<std::size_t>(b)] = static_cast<std::uint16_t>(rows++);
    } else {
      if (strict.invalid_length != 1 || !to_entry(replaced.text, cell.out)) return nullptr;
      cell.kind = fast_entry::invalid;
      if (b < 0x80) table->ascii_identity = false;
    }
    cell.consumed = 1;
    cell.escaped = escape_marks(U_SUCCESS(strict.status) ? strict.text : replaced.text);
    if (cell.kind == fast_entry::character && cell.escaped)
      cell.kind = fast_entry::escaped_character;
  }
  table->pairs.resize(rows * 256);
  for (int lead = 0; lead < 256; ++lead) {
    const fast_cell& lead_cell = table->single[static_cast<std::size_t>(lead)];
    if (lead_cell.kind != fast_entry::lead) continue;
    for (int next = 0; next < 256; ++next) {
      const char seq[2] = {static_cast<char>(lead), static_cast<char>(next)};
      fast_cell& cell =
          table->pairs[static_cast<std::size_t>(table->row[static_cast<std::size_t>(lead)]) * 256 +
                       static_cast<std::size_t>(next)];
      const probe_result strict = probe(stop.get(), seq, 2);
      if (U_SUCCESS(strict.status)) {
        if (!to_entry(strict.text, cell.out)) return nullptr;
        cell.consumed = 2;
        cell.escaped = escape_marks(strict.text);
        cell.kind = cell.escaped ? fast_entry::escaped_character : fast_entry::character;
        continue;
      }
      if (strict.status == U_TRUNCATED_CHAR_FOUND || strict.invalid_length < 1 ||
          strict.invalid_length > 2) {
        return nullptr;
      }
      const probe_result replaced = probe(sub.get(), seq, 2);
      cell.kind = fast_entry::invalid;
      cell.consumed = static_cast<std::uint8_t>(strict.invalid_length);
      cell.escaped = escape_marks(replaced.text);
      if (cell.consumed == 2) {
        if (!to_entry(replaced.text, cell.out)) return nullptr;
      } else {
        // Substitution for the lead, then the second byte on its own: the table can
        // only stand for that when ICU's output has exactly that shape.
        const probe_result alone = probe(sub.get(), seq + 1, 1);
        if (replaced.text.size() < 1 || replaced.text.substr(1) != alone.text ||
            !to_entry(replaced.text.substr(0, 1), cell.out)) {
          return nullptr;
        }
      }
    }
  }
  for (std::size_t b = 0; b < 256; ++b) {
    if (table->single[b].kind == fast_entry::lead) {
      table->rows[b] = table->pairs.data() + static_cast<std::size_t>(table->row[b]) * 256;
    }
  }
  return table;
}

}  // namespace

const fast_table* get_fast_table(const char* icu_name) {
  bool listed = false;
  for (const char* name : fast_converters)
    listed = listed || std::strcmp(name, icu_name) == 0;
  if (!listed) return nullptr;
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<fast_table>> tables;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = tables.find(icu_name);
  if (it == tables.end()) it = tables.emplace(icu_name, build(icu_name)).first;
  return it->second.get();
}

}  // namespace xsock::detail
