#include "xsock/encoder.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "xsock/decoder.hpp"

namespace xsock {
namespace {

using test::from_hex;
using test::to_hex;

TEST(encoder, defaults_to_strict_gbk) {
  encoder e;
  EXPECT_EQ(e.encoding(), "GBK");
  EXPECT_EQ(e.policy(), encode_policy::strict);
  EXPECT_EQ(to_hex(e.encode("你好，世界")), "C4E3BAC3A3ACCAC0BDE7");
}

TEST(encoder, strict_names_the_character_and_its_position) {
  encoder e;
  try {
    e.encode("A😀B");
    FAIL() << "encoded an emoji in GBK";
  } catch (const text_error& err) {
    EXPECT_EQ(err.code(), text_errc::unmappable_character);
    EXPECT_EQ(err.code_point(), U'\U0001F600');
    EXPECT_EQ(err.character_number(), 2u);
    EXPECT_EQ(err.offset(), 1u);
    const std::string what = err.what();
    EXPECT_NE(what.find("U+1F600"), std::string::npos) << what;
    EXPECT_NE(what.find("(😀)"), std::string::npos) << what;
    EXPECT_NE(what.find("GBK"), std::string::npos) << what;
    EXPECT_NE(what.find("character 2"), std::string::npos) << what;
  }
}

TEST(encoder, strict_failure_produces_nothing_of_the_message) {
  encoder e;
  std::string out = "kept";
  std::error_code ec;
  e.encode("你好😀", out, ec);
  EXPECT_EQ(ec, text_errc::unmappable_character);
  EXPECT_EQ(out, "kept");
  EXPECT_EQ(e.last_error().character_number, 3u);
  EXPECT_EQ(e.last_error().offset, 6u);
  EXPECT_TRUE(e.encode("😀", ec).empty());
  // The encoder stays usable after an error.
  EXPECT_EQ(to_hex(e.encode("你", ec)), "C4E3");
  EXPECT_FALSE(ec);
}

TEST(encoder, strict_reports_default_ignorable_characters_icu_would_drop) {
  const char32_t ignorables[] = {
      0x200B,   // zero width space
      0x200C,   // zero width non-joiner
      0x200D,   // zero width joiner
      0xFEFF,   // byte order mark
      0x200E,   // left-to-right mark
      0x202E,   // right-to-left override
      0x2066,   // left-to-right isolate
      0xFE0F,   // variation selector 16
      0xE0100,  // variation selector 17
      0x034F,   // combining grapheme joiner
      0x2060,   // word joiner
  };
  for (char32_t cp : ignorables) {
    const std::string ch = test::utf8_of(cp);
    const std::string text = "ab" + ch + "c";
    // ICU's own substitution drops it: the very loss strict mode must prevent.
    encoder lax("GBK", encode_policy::replace);
    EXPECT_EQ(lax.encode(text), "abc") << std::hex << static_cast<unsigned>(cp);
    EXPECT_EQ(lax.replaced_count(), 1u);

    encoder e("GBK");
    std::error_code ec;
    EXPECT_TRUE(e.encode(text, ec).empty());
    ASSERT_EQ(ec, text_errc::unmappable_character) << std::hex << static_cast<unsigned>(cp);
    EXPECT_EQ(e.last_error().code_point, cp);
    EXPECT_EQ(e.last_error().character_number, 3u);
    EXPECT_EQ(e.last_error().offset, 2u);
    // An invisible character is named, never printed raw into the message.
    EXPECT_EQ(e.last_error().message.find(ch), std::string::npos) << e.last_error().message;
  }
}

TEST(encoder, best_fit_fallbacks_stay_off) {
  encoder strict("GBK");
  std::error_code ec;
  strict.encode("¥", ec);
  EXPECT_EQ(ec, text_errc::unmappable_character);
  EXPECT_EQ(strict.last_error().code_point, U'\u00A5');
  encoder lax("GBK", encode_policy::replace);
  EXPECT_EQ(lax.encode("¥"), "?");
}

TEST(encoder, invalid_utf8_is_an_error_with_its_offset) {
  struct bad {
    std::string text;
    std::uint64_t offset;
  };
  for (const bad& b :
       {bad{"ab\xFF", 2}, bad{"\xC0\xAF", 0}, bad{"x\xED\xA0\x80", 1}, bad{"你\xE4\xBD", 3},
        bad{"\x80", 0}, bad{"\xF4\x90\x80\x80", 0}, bad{"ok\xE0\x80\xAF", 2}}) {
    for (auto policy : {encode_policy::strict, encode_policy::replace}) {
      encoder e("GBK", policy);
      std::string out;
      std::error_code ec;
      e.encode(b.text, out, ec);
      EXPECT_EQ(ec, text_errc::invalid_utf8) << to_hex(b.text);
      EXPECT_TRUE(out.empty());
      EXPECT_EQ(e.last_error().offset, b.offset) << to_hex(b.text);
      EXPECT_NE(e.last_error().message.find("offset " + std::to_string(b.offset)),
                std::string::npos);
    }
  }
}

TEST(encoder, gb18030_encodes_what_gbk_cannot) {
  XSOCK_SKIP_WITHOUT("GB18030");
  encoder e("GB18030");
  const std::string text = "A😀B\u200D·";
  const std::string bytes = e.encode(text);
  decoder d("GB18030", decode_policy::strict);
  EXPECT_EQ(d.decode(bytes) + d.finish(), text);
  // GBK's own characters keep their GBK bytes in GB18030.
  EXPECT_EQ(to_hex(e.encode("你好")), "C4E3BAC3");
}

TEST(encoder, utf8_target_passes_text_through) {
  encoder e("UTF-8");
  const std::string text = "héllo 你好 😀 \u200D";
  EXPECT_EQ(e.encode(text), text);
}

TEST(encoder, unknown_encoding_is_a_clear_error) {
  try {
    encoder e("klingon");
    FAIL();
  } catch (const text_error& err) {
    EXPECT_EQ(err.code(), text_errc::unknown_encoding);
    EXPECT_NE(std::string(err.what()).find("\"klingon\""), std::string::npos);
  }
}

TEST(encoder, replace_counts_substitutions) {
  encoder e("GBK", encode_policy::replace);
  EXPECT_EQ(e.encode("a😀b😀"), "a?b?");
  EXPECT_EQ(e.replaced_count(), 2u);
}

TEST(encoder, empty_message_is_empty) {
  encoder e;
  EXPECT_EQ(e.encode(""), "");
}

TEST(encoder, a_byte_order_mark_starts_the_stream_once) {
  // UTF-16 and UTF-32 (no byte order in the name) begin with a BOM; the messages of one
  // encoder are one stream, so the BOM comes before the first only.
  encoder e("UTF-16");
  const std::string first = e.encode("a");  // the byte order is ICU's choice
  ASSERT_EQ(first.size(), 4u);
  const std::string bom = first.substr(0, 2);
  EXPECT_TRUE(bom == "\xFE\xFF" || bom == "\xFF\xFE");
  const std::string b = e.encode("b\n");
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.substr(0, 2), encoder(bom == "\xFE\xFF" ? "UTF-16BE" : "UTF-16LE").encode("b"));
  std::string out;
  e.encode("c", out);
  EXPECT_EQ(out.size(), 2u);
  encoder e32("UTF-32");
  EXPECT_EQ(e32.encode("a").size(), 8u);
  EXPECT_EQ(e32.encode("b").size(), 4u);
  // A failed message does not count as the start of the stream.
  encoder strict("UTF-16");
  EXPECT_THROW(strict.encode("bad \xFF"), text_error);
  EXPECT_EQ(strict.encode("a").size(), 4u);
  // Encodings without a BOM are unchanged.
  encoder le("UTF-16LE");
  EXPECT_EQ(le.encode("a"), std::string("a\x00", 2));
  EXPECT_EQ(le.encode("a"), std::string("a\x00", 2));
}

}  // namespace
}  // namespace xsock
