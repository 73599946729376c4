// How many of the 16 bytes at a pointer are plain ASCII before the first that is not:
// the table decoder copies runs of ASCII 16 bytes at a time and advances by this count,
// so a short run between double-byte characters costs one step, not one per byte.
//
// One implementation per instruction set, each usable (and tested against the portable
// one) where the compiler offers it: SSE2 on x86 (GCC and Clang define __SSE2__; MSVC
// does not, and says so with _M_X64 or _M_IX86_FP), NEON on ARM64 (__ARM_NEON; MSVC:
// _M_ARM64). `plain_prefix` is the best of them for the target.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#define XSOCK_HAVE_SSE2 1
#include <emmintrin.h>
#endif
#if defined(__ARM_NEON) || defined(_M_ARM64)
#define XSOCK_HAVE_NEON 1
#include <arm_neon.h>
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace xsock::detail {

/// The index of the lowest set bit of `x`, which is not 0.
inline unsigned lowest_bit(std::uint32_t x) noexcept {
#if defined(_MSC_VER) && !defined(__clang__)
  unsigned long index = 0;
  _BitScanForward(&index, x);
  return static_cast<unsigned>(index);
#else
  return static_cast<unsigned>(__builtin_ctz(x));
#endif
}

/// Whether the decoder may copy `b` as it is and still call its text plain: printable
/// ASCII other than `"` and `\\` (which JSON escapes; control characters and DEL are
/// escaped for terminals and JSON alike).
constexpr bool is_plain_ascii(unsigned b) noexcept {
  return b >= 0x20 && b < 0x7F && b != '"' && b != '\\';
}

/// Any target: byte by byte (the reference the others are tested against).
inline unsigned plain_prefix_portable(const unsigned char* p) noexcept {
  unsigned i = 0;
  while (i < 16 && is_plain_ascii(p[i]))
    ++i;
  return i;
}

#if defined(XSOCK_HAVE_SSE2)
inline unsigned plain_prefix_sse2(const unsigned char* p) noexcept {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const auto splat = [](char c) { return _mm_set1_epi8(c); };
  // Signed: below 0x20 is every control character and every byte above 0x7F.
  __m128i stop = _mm_cmplt_epi8(bytes, splat(0x20));
  stop = _mm_or_si128(stop, _mm_cmpeq_epi8(bytes, splat(0x7F)));
  stop = _mm_or_si128(stop, _mm_cmpeq_epi8(bytes, splat('"')));
  stop = _mm_or_si128(stop, _mm_cmpeq_epi8(bytes, splat('\\')));
  const auto mask = static_cast<std::uint32_t>(_mm_movemask_epi8(stop));
  return mask == 0 ? 16 : lowest_bit(mask);
}
#endif

#if defined(XSOCK_HAVE_NEON)
inline unsigned plain_prefix_neon(const unsigned char* p) noexcept {
  const uint8x16_t bytes = vld1q_u8(p);
  uint8x16_t stop = vorrq_u8(vcltq_u8(bytes, vdupq_n_u8(0x20)), vcgeq_u8(bytes, vdupq_n_u8(0x7F)));
  stop = vorrq_u8(stop, vceqq_u8(bytes, vdupq_n_u8('"')));
  stop = vorrq_u8(stop, vceqq_u8(bytes, vdupq_n_u8('\\')));
  // NEON has no movemask: 4 bits per byte, by narrowing each 16-bit lane.
  const uint8x8_t nibbles = vshrn_n_u16(vreinterpretq_u16_u8(stop), 4);
  const std::uint64_t bits = vget_lane_u64(vreinterpret_u64_u8(nibbles), 0);
  if (bits == 0) return 16;
  const auto low = static_cast<std::uint32_t>(bits);
  return low != 0 ? lowest_bit(low) / 4
                  : 8 + lowest_bit(static_cast<std::uint32_t>(bits >> 32)) / 4;
}
#endif

/// How many of the 16 readable bytes at `p` (0-16) are plain ASCII before the first
/// that is not.
inline unsigned plain_prefix(const unsigned char* p) noexcept {
#if defined(XSOCK_HAVE_SSE2)
  return plain_prefix_sse2(p);
#elif defined(XSOCK_HAVE_NEON)
  return plain_prefix_neon(p);
#else
  return plain_prefix_portable(p);
#endif
}

}  // namespace xsock::detail
