#include "xsock/terminal_escape.hpp"

#include <gtest/gtest.h>

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
  EXPECT_EQ(escape_for_terminal("\u2029\u202F\u2065"), "\u2029\u202F\u2065");
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
  for (unsigned char c : out) {
    EXPECT_TRUE(c == '\t' || (c >= 0x20 && c < 0x7F) || c >= 0x80) << static_cast<int>(c);
  }
  EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos);
}

}  // namespace
}  // namespace xsock
