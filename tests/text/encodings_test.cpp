#include "xsock/encodings.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "test_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"
#include "xsock/text_error.hpp"

namespace xsock {
namespace {

TEST(encodings, default_is_gbk) {
  EXPECT_EQ(default_encoding, "GBK");
}

TEST(encodings, names_and_aliases_resolve_to_preferred_names) {
  EXPECT_EQ(canonical_encoding_name("gbk"), "GBK");
  EXPECT_EQ(canonical_encoding_name("cp936"), "GBK");
  EXPECT_EQ(canonical_encoding_name("utf8"), "UTF-8");
  if (test::have_converter("GB18030")) {
    EXPECT_EQ(canonical_encoding_name("gb18030"), "GB18030");
  }
  if (test::have_converter("Shift_JIS")) {
    EXPECT_EQ(canonical_encoding_name("sjis"), "Shift_JIS");
  }
}

TEST(encodings, unknown_names) {
  EXPECT_FALSE(encoding_exists("no-such-thing"));
  EXPECT_FALSE(encoding_exists(""));
  EXPECT_FALSE(encoding_exists(std::string("GBK\0x", 5)));
  EXPECT_TRUE(encoding_exists("GBK"));
  std::error_code ec;
  EXPECT_EQ(canonical_encoding_name("no-such-thing", ec), "");
  EXPECT_EQ(ec, text_errc::unknown_encoding);
  try {
    canonical_encoding_name("no-such-thing");
    FAIL();
  } catch (const text_error& e) {
    EXPECT_NE(std::string(e.what()).find("\"no-such-thing\""), std::string::npos);
  }
  EXPECT_THROW(encoding_aliases("no-such-thing"), text_error);
}

TEST(encodings, list_holds_the_wire_encodings_and_each_opens) {
  const auto names = list_encodings();
  for (const char* n : {"GBK", "UTF-8"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  for (const auto& n : names)
    EXPECT_TRUE(encoding_exists(n)) << n;
  EXPECT_TRUE(
      std::is_sorted(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                            [](char x, char y) {
                                              return std::tolower(static_cast<unsigned char>(x)) <
                                                     std::tolower(static_cast<unsigned char>(y));
                                            });
      }));
}

TEST(encodings, aliases_of_gbk) {
  const auto aliases = encoding_aliases("GBK");
  ASSERT_FALSE(aliases.empty());
  for (const auto& a : aliases)
    EXPECT_EQ(canonical_encoding_name(a), "GBK") << a;
  EXPECT_NE(std::find_if(aliases.begin(), aliases.end(),
                         [](const std::string& a) { return a == "CP936" || a == "cp936"; }),
            aliases.end());
}

TEST(encodings, line_safety) {
  for (const char* safe : {"GBK", "GB18030", "Big5", "Shift_JIS", "EUC-KR", "UTF-8"}) {
    if (test::have_converter(safe)) {
      EXPECT_TRUE(encoding_is_line_safe(safe)) << safe;
    }
  }
  for (const char* unsafe : {"UTF-16", "UTF-16LE", "UTF-32BE"}) {
    if (test::have_converter(unsafe)) {
      EXPECT_FALSE(encoding_is_line_safe(unsafe)) << unsafe;
    }
  }
  // EBCDIC's newline is not 0x0A (skipped where the ICU data is trimmed).
  if (test::have_converter("ibm-37")) {
    EXPECT_FALSE(encoding_is_line_safe("ibm-37"));
  }
  std::error_code ec;
  EXPECT_FALSE(encoding_is_line_safe("no-such-thing", ec));
  EXPECT_EQ(ec, text_errc::unknown_encoding);
}

}  // namespace
}  // namespace xsock

namespace xsock {
namespace {

// The helper that builds expected text is itself checked against bytes written out by
// hand, so a wrong expectation cannot agree with a wrong library.
TEST(test_support, utf8_of_writes_known_bytes) {
  EXPECT_EQ(test::utf8_of(U'A'), "A");
  EXPECT_EQ(test::utf8_of(0xE9), "\xC3\xA9");
  EXPECT_EQ(test::utf8_of(0x4F60), "\xE4\xBD\xA0");
  EXPECT_EQ(test::utf8_of(0xFFFD), "\xEF\xBF\xBD");
  EXPECT_EQ(test::utf8_of(0x1F600), "\xF0\x9F\x98\x80");
}

TEST(default_encoding, is_the_default_of_every_text_class) {
  EXPECT_EQ(default_encoding, "GBK");
  EXPECT_EQ(decoder().encoding(), "GBK");
  EXPECT_EQ(encoder().encoding(), "GBK");
}

}  // namespace
}  // namespace xsock
