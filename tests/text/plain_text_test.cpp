// The table decoder's fast paths: the 16-byte scan for plain ASCII in each instruction
// set against the portable one, the decoder's "plain text" report against the escapers
// it lets callers skip, and ASCII-heavy streams against ICU.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "text/ascii_scan.hpp"
#include "xsock/decoder.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock {
namespace {

using test::to_hex;

using scan = unsigned (*)(const unsigned char*) noexcept;

// Every implementation this build has, by name; the portable one is the reference.
std::vector<std::pair<const char*, scan>> scans() {
  std::vector<std::pair<const char*, scan>> all;
#if defined(XSOCK_HAVE_SSE2)
  all.emplace_back("sse2", &detail::plain_prefix_sse2);
#endif
#if defined(XSOCK_HAVE_NEON)
  all.emplace_back("neon", &detail::plain_prefix_neon);
#endif
  all.emplace_back("dispatch", &detail::plain_prefix);
  return all;
}

// Blocks that stop anywhere: mostly plain ASCII, then any byte at all.
std::array<unsigned char, 16> random_block() {
  auto& r = test::rng();
  std::uniform_int_distribution<int> plain(0x20, 0x7E), any(0, 255), kind(0, 15);
  std::array<unsigned char, 16> block{};
  for (auto& b : block)
    b = static_cast<unsigned char>(kind(r) == 0 ? any(r) : plain(r));
  return block;
}

TEST(plain_prefix, portable_counts_plain_ascii_up_to_the_first_other_byte) {
  unsigned char block[16];
  std::fill(std::begin(block), std::end(block), static_cast<unsigned char>('a'));
  EXPECT_EQ(detail::plain_prefix_portable(block), 16u);
  for (const int stop : {0x00, 0x09, 0x1F, 0x22, 0x5C, 0x7F, 0x80, 0xFF}) {
    block[5] = static_cast<unsigned char>(stop);
    EXPECT_EQ(detail::plain_prefix_portable(block), 5u) << "byte " << stop;
  }
  block[5] = ' ';
  EXPECT_EQ(detail::plain_prefix_portable(block), 16u);
}

TEST(plain_prefix, every_implementation_agrees_with_the_portable_one) {
#if !defined(XSOCK_HAVE_SSE2) && !defined(XSOCK_HAVE_NEON)
  GTEST_SKIP() << "this target has neither SSE2 nor NEON: only the portable scan exists";
#endif
  for (const auto& [name, fn] : scans()) {
    // Each byte value at each position of an otherwise plain block.
    unsigned char block[16];
    for (int at = 0; at < 16; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::fill(std::begin(block), std::end(block), static_cast<unsigned char>('x'));
        block[at] = static_cast<unsigned char>(b);
        ASSERT_EQ(fn(block), detail::plain_prefix_portable(block))
            << name << ": byte " << b << " at " << at;
      }
    }
    for (int i = 0; i < 100000; ++i) {
      const auto random = random_block();
      ASSERT_EQ(fn(random.data()), detail::plain_prefix_portable(random.data()))
          << name << " seed " << test::seed() << ": "
          << to_hex(std::string(random.begin(), random.end()));
    }
  }
}

// What the decoder claims about the text one call appended, against the escapers.
void expect_marks_exact(const decoder& d, const std::string& text, const std::string& input) {
  const bool terminal_plain = escape_for_terminal(text) == text;
  const bool json_plain = terminal_plain && text.find_first_of("\t\"\\") == std::string::npos;
  EXPECT_EQ(d.last_text_plain(), terminal_plain)
      << d.encoding() << " seed " << test::seed() << " input " << to_hex(input);
  EXPECT_EQ(d.last_text_json_plain(), json_plain)
      << d.encoding() << " seed " << test::seed() << " input " << to_hex(input);
}

// GBK-shaped bytes with long runs of ASCII (the 16-byte loop), quotes, backslashes,
// tabs and other control characters, valid and invalid pairs, lone bytes.
std::string random_stream(std::size_t n) {
  auto& r = test::rng();
  std::uniform_int_distribution<int> kind(0, 11), any(0, 255), lead(0x81, 0xFE), trail(0x40, 0xFE),
      ascii(0x20, 0x7E), run(1, 40), control(0, 0x1F);
  std::string s;
  while (s.size() < n) {
    switch (kind(r)) {
      case 0:
        s.push_back(static_cast<char>(any(r)));
        break;
      case 1:
        s.push_back(static_cast<char>(control(r)));
        break;
      case 2:
        s.push_back("\"\\\t\x7f"[any(r) % 4]);
        break;
      case 3:
      case 4:
      case 5:
        for (int i = run(r); i > 0; --i)
          s.push_back(static_cast<char>(ascii(r)));
        break;
      default:
        s.push_back(static_cast<char>(lead(r)));
        s.push_back(static_cast<char>(trail(r)));
        break;
    }
  }
  return s;
}

TEST(decoder_marks, say_exactly_whether_the_escapers_change_the_text) {
  // Short streams: in a long one something to escape is almost always somewhere.
  std::uniform_int_distribution<std::size_t> len(0, 64);
  for (const char* encoding : {"GBK", "Big5", "Shift_JIS", "EUC-KR"}) {
    if (!test::have_converter(encoding)) continue;
    for (int iter = 0; iter < 2000; ++iter) {
      const std::string bytes = random_stream(len(test::rng()));
      const auto cuts = test::random_cuts(bytes.size());
      decoder d(encoding);
      ASSERT_TRUE(d.uses_fast_path()) << encoding;
      std::size_t from = 0;
      for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t to = i < cuts.size() ? cuts[i] : bytes.size();
        const std::string text = d.decode(std::string_view(bytes).substr(from, to - from));
        expect_marks_exact(d, text, bytes);
        from = to;
      }
      expect_marks_exact(d, d.finish(), bytes);
    }
  }
}

TEST(decoder_marks, one_byte_to_escape_anywhere_in_a_run_of_ascii_is_seen) {
  for (const char* encoding : {"GBK", "Big5", "Shift_JIS", "EUC-KR"}) {
    if (!test::have_converter(encoding)) continue;
    for (int b = 0; b < 0x80; ++b) {
      if (detail::is_plain_ascii(static_cast<unsigned>(b))) continue;
      for (std::size_t at = 0; at < 40; ++at) {
        std::string text(48, 'a');
        text[at] = static_cast<char>(b);
        decoder d(encoding);
        // Not always `text`: IBM's Shift_JIS maps some control characters to others.
        expect_marks_exact(d, d.decode(text), text);
        EXPECT_FALSE(d.last_text_json_plain()) << encoding << " byte " << b << " at " << at;
      }
    }
  }
}

TEST(decoder_marks, plain_text_is_said_plain_and_the_icu_path_never_claims_it) {
  decoder gbk("GBK");
  gbk.decode("hello, \xc4\xe3\xba\xc3 world 0123456789 and more ASCII than sixteen bytes");
  EXPECT_TRUE(gbk.last_text_plain());
  EXPECT_TRUE(gbk.last_text_json_plain());
  gbk.decode("say \"hi\"");
  EXPECT_TRUE(gbk.last_text_plain());  // a quote is plain on a terminal
  EXPECT_FALSE(gbk.last_text_json_plain());
  gbk.decode("bell \x07");
  EXPECT_FALSE(gbk.last_text_plain());
  EXPECT_FALSE(gbk.last_text_json_plain());

  decoder icu("GBK", decode_policy::replace, decoder_backend::icu);
  icu.decode("plain");
  EXPECT_FALSE(icu.last_text_plain());
  EXPECT_FALSE(icu.last_text_json_plain());
}

TEST(decoder_marks, ascii_heavy_streams_decode_as_icu_decodes_them) {
  std::uniform_int_distribution<std::size_t> len(0, 600);
  for (const char* encoding : {"GBK", "Big5", "Shift_JIS", "EUC-KR"}) {
    if (!test::have_converter(encoding)) continue;
    for (int iter = 0; iter < 200; ++iter) {
      const std::string bytes = random_stream(len(test::rng()));
      const auto cuts = test::random_cuts(bytes.size());
      std::uint64_t fast_invalid = 0, icu_invalid = 0;
      const std::string fast = test::decode_split(encoding, bytes, cuts, 0, &fast_invalid);
      const std::string icu = test::decode_split(encoding, bytes, {}, 1, &icu_invalid);
      ASSERT_EQ(fast, icu) << encoding << " seed " << test::seed() << " input " << to_hex(bytes);
      ASSERT_EQ(fast_invalid, icu_invalid) << encoding << " input " << to_hex(bytes);
    }
  }
}

}  // namespace
}  // namespace xsock
