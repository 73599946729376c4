#include "xsock/terminal_escape.hpp"

#include <gtest/gtest.h>

#include <initializer_list>

namespace xsock {
namespace {

TEST(escape_for_terminal, keeps_printable_text_and_tab) {
  EXPECT_EQ(escape_for_terminal("你好，世界\tok \\path"), "你好，世界\tok \\path");
  EXPECT_EQ(escape_for_terminal(""), "");
}

TEST(escape_for_terminal, shows_c0_controls_and_del) {
  EXPECT_EQ(escape_for_terminal("\x1b[31mRED\x1b[0m"), "\\x1b[31mRED\\x1b[0m");
  EXPECT_EQ(escape_for_terminal(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_for_terminal("\r\n\x07\x08\x7f"), "\\x0d\\x0a\\x07\\x08\\x7f");
}

TEST(escape_for_terminal, shows_c1_and_bidi_controls) {
  EXPECT_EQ(escape_for_terminal("\xC2\x9B"
                                "2J"),
            "\\u009b2J");
  EXPECT_EQ(escape_for_terminal("\xC2\x85"), "\\u0085");
  EXPECT_EQ(escape_for_terminal("abc\u202Efed"), "abc\\u202efed");
  EXPECT_EQ(escape_for_terminal("\u200E\u200F\u2066\u2069\u061C"),
            "\\u200e\\u200f\\u2066\\u2069\\u061c");
  // Neighbours of the bidi controls are ordinary text.
  EXPECT_EQ(escape_for_terminal("\u202F\u2065\u200A"), "\u202F\u2065\u200A");
}

TEST(escape_for_terminal, shows_invisible_and_format_characters) {
  // What a client sent is what the operator sees: nothing hides in the output.
  EXPECT_EQ(escape_for_terminal("a\u200Bb\u200C\u200D"), "a\\u200bb\\u200c\\u200d");
  EXPECT_EQ(escape_for_terminal("\uFEFFstart"), "\\ufeffstart");
  EXPECT_EQ(escape_for_terminal("\u2060\u2061\u2062\u2063\u2064"),
            "\\u2060\\u2061\\u2062\\u2063\\u2064");
  EXPECT_EQ(escape_for_terminal("soft\u00ADhyphen\u180E"), "soft\\u00adhyphen\\u180e");
  EXPECT_EQ(escape_for_terminal("line\u2028para\u2029"), "line\\u2028para\\u2029");
  // Tag characters (U+E0000-U+E007F) can smuggle whole invisible strings.
  EXPECT_EQ(escape_for_terminal("flag\U000E0041\U000E007F"), "flag\\U000e0041\\U000e007f");
  // Neighbours stay: a variation selector (U+E0100) and U+FEFE are ordinary.
  EXPECT_EQ(escape_for_terminal("\U000E0100\uFEFE"), "\U000E0100\uFEFE");
  for (const char32_t cp :
       std::initializer_list<char32_t>{0x00AD, 0x061C, 0x180E, 0x200B, 0x200F, 0x2028, 0x202E,
                                       0x2060, 0x2064, 0x2066, 0x2069, 0xFEFF, 0xE0000, 0xE007F})
    EXPECT_TRUE(is_escaped_code_point(cp)) << std::hex << static_cast<unsigned>(cp);
  for (const char32_t cp : std::initializer_list<char32_t>{0x00A0, 0x00AC, 0x061B, 0x200A, 0x2027,
                                                           0x202F, 0x2065, 0xFEFE, 0xE0080, 0x4F60})
    EXPECT_FALSE(is_escaped_code_point(cp)) << std::hex << static_cast<unsigned>(cp);
}

TEST(escape_for_terminal, copies_long_runs_between_escapes_unchanged) {
  std::string text;
  for (int i = 0; i < 1000; ++i)
    text += "你好 world \x1b";
  std::string expected;
  for (int i = 0; i < 1000; ++i)
    expected += "你好 world \\x1b";
  EXPECT_EQ(escape_for_terminal(text), expected);
}

TEST(escape_for_terminal, shows_bytes_that_are_not_utf8) {
  // A raw 0x9B is CSI on 8-bit terminals.
  EXPECT_EQ(escape_for_terminal("a\x9b"
                                "2Jb"),
            "a\\x9b2Jb");
  EXPECT_EQ(escape_for_terminal("\xE4\xBD"), "\\xe4\\xbd");
  EXPECT_EQ(escape_for_terminal("\xED\xA0\x80"), "\\xed\\xa0\\x80");
}

TEST(escape_for_terminal, appends) {
  std::string out = ">";
  escape_for_terminal("\x1b", out);
  EXPECT_EQ(out, ">\\x1b");
}

TEST(escape_for_terminal, output_never_holds_a_control_character) {
  std::string all;
  for (int b = 0; b < 256; ++b)
    all.push_back(static_cast<char>(b));
  for (char32_t cp = 0x80; cp < 0xA0; ++cp) {
    all += static_cast<char>(0xC0 | (cp >> 6));
    all += static_cast<char>(0x80 | (cp & 0x3F));
  }
  const std::string out = escape_for_terminal(all);
  for (const char ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    EXPECT_TRUE(c == '\t' || (c >= 0x20 && c < 0x7F) || c >= 0x80) << static_cast<int>(c);
  }
  EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos);
}

}  // namespace
}  // namespace xsock
