#include "xsock/decoder.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "xsock/encoder.hpp"

namespace xsock {
namespace {

using test::from_hex;

TEST(decoder, defaults_to_gbk_with_replacement) {
  decoder d;
  EXPECT_EQ(d.encoding(), "GBK");
  EXPECT_EQ(d.policy(), decode_policy::replace);
  EXPECT_EQ(d.decode(from_hex("C4E3BAC3")), "你好");
}

TEST(decoder, accepts_icu_names_and_aliases) {
  for (const char* name : {"GBK", "gbk", "cp936", "windows-936"}) {
    decoder d(name);
    EXPECT_EQ(d.encoding(), "GBK") << name;
    EXPECT_EQ(d.decode(from_hex("C4E3")), "你") << name;
  }
  struct named {
    const char* name;
    const char* hex;
    const char* text;
  };
  for (const named& n :
       {named{"GB18030", "C4E3", "你"}, named{"UTF-8", "E4BDA0", "你"}, named{"Big5", "A741", "你"},
        named{"Shift_JIS", "93FA967B", "日本"}, named{"EUC-KR", "C7D1", "한"}}) {
    if (!test::have_converter(n.name)) continue;
    decoder d(n.name);
    EXPECT_EQ(d.decode(from_hex(n.hex)) + d.finish(), n.text) << n.name;
  }
}

TEST(decoder, unknown_encoding_is_a_clear_error) {
  for (const char* name : {"x-no-such-encoding", ""}) {
    try {
      decoder d(name);
      FAIL() << "opened " << name;
    } catch (const text_error& e) {
      EXPECT_EQ(e.code(), text_errc::unknown_encoding);
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + name + "\""), std::string::npos)
          << e.what();
      EXPECT_EQ(e.code(), std::errc::invalid_argument);
    }
  }
}

TEST(decoder, holds_a_cut_character_until_the_next_read) {
  decoder d;
  EXPECT_EQ(d.decode("A\xC4"), "A");
  EXPECT_EQ(d.pending_bytes(), 1u);
  EXPECT_EQ(d.decode("\xE3"
                     "B"),
            "你B");
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_EQ(d.bytes_consumed(), 4u);
  EXPECT_EQ(d.invalid_count(), 0u);
}

TEST(decoder, finish_turns_a_truncated_sequence_into_replacement) {
  for (auto backend : {decoder_backend::automatic, decoder_backend::icu}) {
    decoder d("GBK", decode_policy::replace, backend);
    EXPECT_EQ(d.decode("ok\xC4"), "ok");
    EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
    EXPECT_EQ(d.invalid_count(), 1u);
    EXPECT_EQ(d.invalid_bytes(), 1u);
    // A new stream starts clean after finish.
    EXPECT_EQ(d.decode("\xE3"), "");
    EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
  }
}

TEST(decoder, strict_error_gives_the_stream_offset_across_reads) {
  for (auto backend : {decoder_backend::automatic, decoder_backend::icu}) {
    decoder d("GBK", decode_policy::strict, backend);
    std::string out;
    std::error_code ec;
    d.decode(from_hex("C4E3BAC3"), out, ec);  // 4 bytes of good text
    ASSERT_FALSE(ec);
    d.decode(from_hex("41"), out, ec);
    d.decode(from_hex("81"), out, ec);  // lead byte at offset 5, cut off
    ASSERT_FALSE(ec);
    d.decode(from_hex("7F42"), out, ec);  // 7F cannot follow it
    ASSERT_EQ(ec, text_errc::invalid_input);
    EXPECT_EQ(out, "你好A");
    EXPECT_EQ(d.last_error().offset, 5u);
    EXPECT_EQ(d.last_error().length, 1u);
    EXPECT_NE(d.last_error().message.find("GBK"), std::string::npos);
    EXPECT_NE(d.last_error().message.find("81"), std::string::npos);
    EXPECT_NE(d.last_error().message.find("offset 5"), std::string::npos);
    // The bytes after the bad one are kept and decoded by the next call.
    EXPECT_EQ(d.bytes_consumed(), 8u);
    d.decode({}, out, ec);
    EXPECT_FALSE(ec);
    d.finish(out, ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(out,
              "你好A\x7F"
              "B");
    EXPECT_EQ(d.invalid_count(), 1u);
  }
}

TEST(decoder, strict_throwing_form_carries_the_offset) {
  decoder d("GBK", decode_policy::strict);
  try {
    d.decode(from_hex("414243FF"));  // FF alone is U+F8F5 in ICU's GBK: valid
    d.decode(from_hex("8130"));
    FAIL() << "no error";
  } catch (const text_error& e) {
    EXPECT_EQ(e.code(), text_errc::invalid_input);
    EXPECT_EQ(e.offset(), 4u);
    EXPECT_EQ(e.code(), std::errc::illegal_byte_sequence);
  }
}

TEST(decoder, strict_finish_reports_a_truncated_sequence) {
  for (auto backend : {decoder_backend::automatic, decoder_backend::icu}) {
    decoder d("GBK", decode_policy::strict, backend);
    EXPECT_EQ(d.decode("A\xA1"), "A");
    try {
      d.finish();
      FAIL() << "no error";
    } catch (const text_error& e) {
      EXPECT_EQ(e.offset(), 1u);
    }
  }
}

TEST(decoder, gb18030_four_byte_sequence_survives_every_split) {
  XSOCK_SKIP_WITHOUT("GB18030");
  encoder e("GB18030");
  const std::string text = "A😀中\xE2\x82\xAC";
  const std::string bytes = e.encode(text);
  ASSERT_GT(bytes.size(), text.size() - 4);
  for (std::size_t i = 0; i <= bytes.size(); ++i) {
    for (std::size_t j = i; j <= bytes.size(); ++j) {
      EXPECT_EQ(test::decode_split("GB18030", bytes, {i, j}, 0), text) << i << "," << j;
    }
  }
}

TEST(decoder, utf8_and_utf16_sequences_survive_every_split) {
  const std::string text = "é中😀z";
  for (const char* name : {"UTF-8", "UTF-16LE", "UTF-16BE", "UTF-32LE"}) {
    if (!test::have_converter(name)) continue;
    const std::string bytes = encoder(name).encode(text);
    for (std::size_t i = 0; i <= bytes.size(); ++i) {
      EXPECT_EQ(test::decode_split(name, bytes, {i}, 0), text) << name << " cut " << i;
    }
  }
}

TEST(decoder, utf8_invalid_input_is_replaced_and_counted) {
  decoder d("UTF-8");
  EXPECT_EQ(d.decode("a\xFF"
                     "b\xC3"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(d.invalid_count(), 2u);
}

TEST(decoder, fast_path_is_used_for_gbk_only_when_asked) {
  EXPECT_TRUE(decoder("GBK").uses_fast_path());
  EXPECT_FALSE(decoder("GBK", decode_policy::replace, decoder_backend::icu).uses_fast_path());
  if (test::have_converter("GB18030")) {
    EXPECT_FALSE(decoder("GB18030").uses_fast_path());
  }
}

TEST(decoder, moves_keep_the_stream_state) {
  decoder a;
  EXPECT_EQ(a.decode("\xC4"), "");
  decoder b(std::move(a));
  EXPECT_EQ(b.decode("\xE3"), "你");
  decoder c("UTF-8");
  c = std::move(b);
  EXPECT_EQ(c.encoding(), "GBK");
  EXPECT_EQ(c.bytes_consumed(), 2u);
}

TEST(decoder, reset_forgets_bytes_and_counters) {
  decoder d;
  d.decode("\x81\x30\xC4");
  EXPECT_EQ(d.invalid_count(), 1u);
  d.reset();
  EXPECT_EQ(d.invalid_count(), 0u);
  EXPECT_EQ(d.bytes_consumed(), 0u);
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_EQ(d.decode("\xE3\xBA\xC3"), "愫");
}

TEST(decoder, nul_bytes_are_text) {
  decoder d;
  const std::string out = d.decode(std::string("A\0B", 3));
  EXPECT_EQ(out, std::string("A\0B", 3));
}

}  // namespace
}  // namespace xsock
