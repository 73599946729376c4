// The tools' scan for bytes that may need escaping (terminal or JSON output), 16 bytes
// at a time: the one file of the tools that chooses an instruction set, as
// core/src/text/ascii_scan.hpp is for the decoder. One implementation per instruction
// set, each tested against the portable one (tests/tools/tool_support_test.cpp):
// SSE2 on x86 (GCC and Clang say __SSE2__; MSVC does not, and says _M_X64 or
// _M_IX86_FP); `next_candidate` is the best of them for the target.
#pragma once

#include <array>
#include <cstddef>

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#define XSOCK_TOOLS_SSE2 1
#include <emmintrin.h>
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace xsock::tools::detail {

enum class escape_target { json, terminal };

// Bytes that may start something to escape in well-formed UTF-8: 1 an ASCII byte, 2 the
// lead byte of a sequence that may encode an escaped code point (C1 controls and
// U+00AD: C2; U+061C: D8; U+180E: E1; U+200B-U+206F: E2; U+FEFF: EF; tags: F3).
template <escape_target Target>
constexpr std::array<unsigned char, 256> make_special_bytes() {
  std::array<unsigned char, 256> t{};
  for (int b = 0; b < 0x20; ++b)
    t[static_cast<std::size_t>(b)] = 1;
  t[0x7F] = 1;
  if (Target == escape_target::json) {
    t['"'] = 1;
    t['\\'] = 1;
  } else {
    t['\t'] = 0;
  }
  for (const int b : {0xC2, 0xD8, 0xE1, 0xE2, 0xEF, 0xF3})
    t[static_cast<std::size_t>(b)] = 2;
  return t;
}

inline constexpr std::array<unsigned char, 256> json_special =
    make_special_bytes<escape_target::json>();
inline constexpr std::array<unsigned char, 256> terminal_special =
    make_special_bytes<escape_target::terminal>();

template <escape_target Target>
constexpr const std::array<unsigned char, 256>& special_bytes() noexcept {
  return Target == escape_target::json ? json_special : terminal_special;
}

// The first byte in `[p, end)` that may start something to escape, or `end`: a byte at
// a time.
template <escape_target Target>
const unsigned char* next_candidate_portable(const unsigned char* p,
                                             const unsigned char* end) noexcept {
  const auto& special = special_bytes<Target>();
  while (p < end && special[*p] == 0)
    ++p;
  return p;
}

#if defined(XSOCK_TOOLS_SSE2)
// The index of the lowest set bit of `mask`, which is not 0.
inline unsigned lowest_bit(unsigned mask) noexcept {
#if defined(_MSC_VER) && !defined(__clang__)
  unsigned long index = 0;
  _BitScanForward(&index, mask);
  return static_cast<unsigned>(index);
#else
  return static_cast<unsigned>(__builtin_ctz(mask));
#endif
}

// As next_candidate_portable, sixteen bytes at a time: in most text none of them is a
// candidate.
template <escape_target Target>
const unsigned char* next_candidate_sse2(const unsigned char* p,
                                         const unsigned char* end) noexcept {
  const auto splat = [](int b) { return _mm_set1_epi8(static_cast<char>(b)); };
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_cmpeq_epi8(_mm_max_epu8(v, splat(0x1F)), splat(0x1F));  // <= 0x1F
    if (Target == escape_target::terminal)
      hit = _mm_andnot_si128(_mm_cmpeq_epi8(v, splat('\t')), hit);
    else
      hit = _mm_or_si128(
          hit, _mm_or_si128(_mm_cmpeq_epi8(v, splat('"')), _mm_cmpeq_epi8(v, splat('\\'))));
    for (const int b : {0x7F, 0xC2, 0xD8, 0xE1, 0xE2, 0xEF, 0xF3})
      hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, splat(b)));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + lowest_bit(static_cast<unsigned>(mask));
    p += 16;
  }
  return next_candidate_portable<Target>(p, end);
}
#endif

// The best scan for the target.
template <escape_target Target>
const unsigned char* next_candidate(const unsigned char* p, const unsigned char* end) noexcept {
#if defined(XSOCK_TOOLS_SSE2)
  return next_candidate_sse2<Target>(p, end);
#else
  return next_candidate_portable<Target>(p, end);
#endif
}

}  // namespace xsock::tools::detail
