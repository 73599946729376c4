// The decoder's 16-byte scans against the portable one, as a program without
// GoogleTest: built for targets the suite does not run on. CI cross-builds it for
// ARM64 and runs it under qemu (scripts/arm64-scan-check.sh), so the NEON scan is
// checked on every change; plain_text_test.cpp does the same for SSE2 in the suite.
#include <cstdio>
#include <random>

#include "text/ascii_scan.hpp"

namespace {

using scan = unsigned (*)(const unsigned char*) noexcept;

bool agrees(const char* name, scan fn) {
  unsigned char block[16];
  // Each byte value at each position of an otherwise plain block.
  for (int at = 0; at < 16; ++at) {
    for (int b = 0; b < 256; ++b) {
      for (auto& x : block)
        x = 'x';
      block[at] = static_cast<unsigned char>(b);
      if (fn(block) != xsock::detail::plain_prefix_portable(block)) {
        std::printf("%s: byte %d at %d: %u, portable %u\n", name, b, at, fn(block),
                    xsock::detail::plain_prefix_portable(block));
        return false;
      }
    }
  }
  // Random blocks, mostly plain ASCII: a stop anywhere.
  std::mt19937_64 rng(20261206);
  for (int i = 0; i < 1000000; ++i) {
    for (auto& x : block) {
      const auto v = static_cast<unsigned>(rng());
      x = static_cast<unsigned char>((v & 15) == 0 ? (v >> 8) & 255 : 0x20 + (v >> 8) % 95);
    }
    if (fn(block) != xsock::detail::plain_prefix_portable(block)) {
      std::printf("%s: random block %d: %u, portable %u\n", name, i, fn(block),
                  xsock::detail::plain_prefix_portable(block));
      return false;
    }
  }
  std::printf("%s: agrees with the portable scan\n", name);
  return true;
}

}  // namespace

int main() {
  bool ok = true;
  int paths = 0;
#if defined(XSOCK_HAVE_SSE2)
  ok = agrees("sse2", &xsock::detail::plain_prefix_sse2) && ok;
  ++paths;
#endif
#if defined(XSOCK_HAVE_NEON)
  ok = agrees("neon", &xsock::detail::plain_prefix_neon) && ok;
  ++paths;
#endif
  ok = agrees("dispatch", &xsock::detail::plain_prefix) && ok;
  if (paths == 0) std::printf("no SIMD scan on this target: the portable one is used\n");
  return ok ? 0 : 1;
}
