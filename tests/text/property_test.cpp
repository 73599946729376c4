// Properties over random input (seeded; XSOCK_TEST_SEED replays a run).
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"

namespace xsock {
namespace {

using test::rng;
using test::to_hex;
using test::utf8_of;

// Chinese and ASCII the way chat lines look, plus full-width punctuation.
std::string random_gbk_text(std::size_t chars) {
  static const char32_t punct[] = {U'，', U'。', U'！', U'？', U'、', U'；', U'：', U'“',
                                   U'”',  U'（', U'）', U'《', U'》', U'…',  U'—',  U'·'};
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_int_distribution<std::uint32_t> han(0x4E00, 0x9FA5), ascii(0x20, 0x7E),
      p(0, static_cast<std::uint32_t>(sizeof punct / sizeof punct[0] - 1));
  std::string s;
  for (std::size_t i = 0; i < chars; ++i) {
    const int k = kind(rng());
    if (k < 5) {
      s += utf8_of(han(rng()));
    } else if (k < 8) {
      s += utf8_of(ascii(rng()));
    } else if (k < 9) {
      s += utf8_of(punct[p(rng())]);
    } else {
      s += '\n';
    }
  }
  return s;
}

// Any scalar value: every plane, controls, private use, noncharacters.
std::string random_unicode_text(std::size_t chars) {
  std::uniform_int_distribution<int> plane(0, 9);
  std::uniform_int_distribution<std::uint32_t> bmp(0, 0xFFFF), any(0x10000, 0x10FFFF),
      ascii(0, 0x7F);
  std::string s;
  for (std::size_t i = 0; i < chars; ++i) {
    std::uint32_t cp;
    const int k = plane(rng());
    if (k < 3) {
      cp = ascii(rng());
    } else if (k < 8) {
      do {
        cp = bmp(rng());
      } while (cp >= 0xD800 && cp <= 0xDFFF);
    } else {
      cp = any(rng());
    }
    s += utf8_of(cp);
  }
  return s;
}

TEST(property, random_text_round_trips) {
  struct job {
    const char* encoding;
    bool any_unicode;
  };
  std::uniform_int_distribution<std::size_t> len(0, 200);
  for (const job& j :
       {job{"GBK", false}, job{"GB18030", false}, job{"GB18030", true}, job{"UTF-8", true}}) {
    if (!test::have_converter(j.encoding)) continue;
    encoder enc(j.encoding);
    for (int iter = 0; iter < 200; ++iter) {
      const std::string text =
          j.any_unicode ? random_unicode_text(len(rng())) : random_gbk_text(len(rng()));
      const std::string bytes = enc.encode(text);
      decoder dec(j.encoding, decode_policy::strict);
      std::string back;
      const auto cuts = test::random_cuts(bytes.size());
      std::size_t at = 0;
      for (std::size_t cut : cuts) {
        dec.decode(std::string_view(bytes).substr(at, cut - at), back);
        at = cut;
      }
      dec.decode(std::string_view(bytes).substr(at), back);
      dec.finish(back);
      ASSERT_EQ(back, text) << j.encoding << " seed " << test::seed();
    }
  }
}

TEST(property, decoding_any_split_equals_decoding_whole) {
  std::uniform_int_distribution<std::size_t> len(0, 300);
  std::uniform_int_distribution<int> byte(0, 255), mode(0, 2);
  for (const char* name : {"GBK", "GB18030", "UTF-8", "Big5", "Shift_JIS", "EUC-KR", "UTF-16LE"}) {
    if (!test::have_converter(name)) continue;
    encoder enc(name, encode_policy::replace);
    for (int iter = 0; iter < 150; ++iter) {
      // Valid text with random bytes spliced in, so errors fall across cuts too.
      std::string bytes = enc.encode(random_gbk_text(len(rng()) / 3));
      const int m = mode(rng());
      for (int k = 0; k < m * 4; ++k) {
        std::uniform_int_distribution<std::size_t> at(0, bytes.size());
        bytes.insert(at(rng()), 1, static_cast<char>(byte(rng())));
      }
      if (m == 2) {
        for (auto& b : bytes) {
          if (byte(rng()) < 64) b = static_cast<char>(byte(rng()));
        }
      }
      for (int backend = 0; backend < 2; ++backend) {
        std::uint64_t whole_invalid = 0, split_invalid = 0;
        const std::string whole = test::decode_split(name, bytes, {}, backend, &whole_invalid);
        const std::string split = test::decode_split(name, bytes, test::random_cuts(bytes.size()),
                                                     backend, &split_invalid);
        ASSERT_EQ(split, whole) << name << " " << to_hex(bytes) << " seed " << test::seed();
        ASSERT_EQ(split_invalid, whole_invalid) << name;
      }
    }
  }
}

TEST(property, strict_encoding_never_loses_a_character) {
  std::uniform_int_distribution<std::size_t> len(1, 12);
  std::uniform_int_distribution<int> pick(0, 13);
  // Default-ignorables ICU drops, mixed into arbitrary text.
  const char32_t ignorable[] = {0x200B, 0x200D, 0xFEFF, 0x202E, 0xFE0F, 0xE0101, 0x2064};
  for (const char* name : {"GBK", "GB18030", "Big5", "Shift_JIS", "EUC-KR"}) {
    if (!test::have_converter(name)) continue;
    encoder enc(name);
    int failures = 0, successes = 0;
    for (int iter = 0; iter < 400; ++iter) {
      std::string text;
      const std::size_t n = len(rng());
      for (std::size_t i = 0; i < n; ++i) {
        const int k = pick(rng());
        if (k == 0) {
          text += utf8_of(ignorable[static_cast<std::size_t>(k + iter) % 7]);
        } else if (k < 7) {
          text += random_gbk_text(1);
        } else {
          text += random_unicode_text(1);
        }
      }
      std::error_code ec;
      const std::string bytes = enc.encode(text, ec);
      if (ec) {
        ++failures;
        ASSERT_EQ(ec, text_errc::unmappable_character);
        const auto& e = enc.last_error();
        ASSERT_LT(e.offset, text.size());
        EXPECT_EQ(text.substr(e.offset, e.length), utf8_of(e.code_point)) << name;
        EXPECT_TRUE(bytes.empty());
        continue;
      }
      ++successes;
      decoder dec(name, decode_policy::strict);
      ASSERT_EQ(dec.decode(bytes) + dec.finish(), text)
          << name << ": strict encoding changed " << to_hex(text) << " seed " << test::seed();
    }
    if (std::string(name) != "GB18030") {
      EXPECT_GT(failures, 0) << name;
    }
    EXPECT_GT(successes, 0) << name;
  }
}

}  // namespace
}  // namespace xsock
