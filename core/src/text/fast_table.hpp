// The decoding table for stateless single/double-byte encodings, derived from ICU.
#pragma once

#include <unicode/ucnv.h>

#include <array>
#include <cstdint>
#include <vector>

namespace xsock::detail {

/// One table cell: the UTF-8 output (up to 3 bytes, so a cell is 4 bytes and can be
/// copied as a word) and what the input bytes are.
struct fast_entry {
  // escaped_character: a character whose `escaped` is set, so that the decoder's hot
  // loop meets it on the branch it takes for invalid cells anyway, and a plain
  // character costs no more than one compare.
  enum kind : std::uint8_t { character = 0, lead = 1, invalid = 2, escaped_character = 3 };
  unsigned char utf8[3];
  std::uint8_t utf8_len;  // 0..3
  // Packed separately from utf8 so the hot path copies exactly 4 bytes.
};

struct fast_cell {
  fast_entry out;
  std::uint8_t kind;      // fast_entry::kind
  std::uint8_t consumed;  // bytes this cell stands for (an invalid pair may be 1: the
                          // second byte is then decoded on its own, as ICU does)
  // Which escaping changes the output: bit 0 terminal escaping (a control character
  // other than tab, DEL, or a code point is_escaped_code_point names), bit 1 JSON
  // escaping (those, tab, `"` and `\\`). ORed into the decoder's marks.
  std::uint8_t escaped;
  std::uint8_t pad;
};

/// What ICU does with every byte and every lead+byte pair of one converter. For a lead
/// byte, `single[lead].out` is ICU's substitution for that byte cut off at the end.
struct fast_table {
  std::array<fast_cell, 256> single{};
  std::array<std::uint16_t, 256> row{};  // lead byte -> row in `pairs`
  std::vector<fast_cell> pairs;          // rows of 256 cells
  // The row of each lead byte, null for other bytes: one load tells "lead?" and
  // finds the row. Points into `pairs`, which never changes after the build.
  std::array<const fast_cell*, 256> rows{};
  bool ascii_identity = false;  // bytes 00-7F decode to themselves

  const fast_cell& pair(unsigned char lead, unsigned char next) const noexcept {
    return pairs[static_cast<std::size_t>(row[lead]) * 256 + next];
  }
};

/// The table for the converter named `icu_name` (as ucnv_getName gives it), built once
/// per converter from ICU and shared; null when that converter has no fast path.
const fast_table* get_fast_table(const char* icu_name);

}  // namespace xsock::detail
