#include "xsock/line_splitter.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"

namespace xsock {
namespace {

using test::from_hex;

std::vector<std::string> texts(const std::vector<line>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines)
    out.push_back(l.bytes);
  return out;
}

TEST(line_splitter, splits_on_newline_and_drops_cr_before_it) {
  line_splitter s;
  const auto lines = s.push("one\ntwo\r\nthree\r\r\n\nfour");
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"one", "two", "three\r", ""}));
  for (const auto& l : lines) {
    EXPECT_EQ(l.end, line_end::newline);
    EXPECT_FALSE(l.partial());
  }
  EXPECT_EQ(s.buffered(), 4u);
  auto last = s.finish();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].bytes, "four");
  EXPECT_EQ(last[0].end, line_end::end_of_stream);
  EXPECT_FALSE(last[0].partial());
  EXPECT_TRUE(s.finish().empty());
}

TEST(line_splitter, a_line_across_reads_comes_out_once) {
  line_splitter s;
  EXPECT_TRUE(s.push("hel").empty());
  EXPECT_TRUE(s.push("lo\r").empty());
  EXPECT_EQ(texts(s.push("\nworld\n")), (std::vector<std::string>{"hello", "world"}));
}

TEST(line_splitter, long_lines_come_out_in_partial_pieces) {
  line_splitter s(4);
  const auto lines = s.push("abcdefghij\nxy\n");
  ASSERT_EQ(texts(lines), (std::vector<std::string>{"abcd", "efgh", "ij", "xy"}));
  EXPECT_EQ(lines[0].end, line_end::max_length);
  EXPECT_TRUE(lines[0].partial());
  EXPECT_TRUE(lines[1].partial());
  EXPECT_EQ(lines[2].end, line_end::newline);
  EXPECT_LE(s.buffered(), 5u);
}

TEST(line_splitter, a_line_of_exactly_the_maximum_is_one_line) {
  line_splitter s(4);
  EXPECT_EQ(texts(s.push("abcd\n")), (std::vector<std::string>{"abcd"}));
  // Even when its "\r\n" arrives a byte at a time.
  EXPECT_TRUE(s.push("wxyz").empty());
  EXPECT_TRUE(s.push("\r").empty());
  const auto lines = s.push("\n");
  ASSERT_EQ(texts(lines), (std::vector<std::string>{"wxyz"}));
  EXPECT_EQ(lines[0].end, line_end::newline);
}

TEST(line_splitter, buffer_stays_bounded) {
  line_splitter s(16);
  std::vector<line> out;
  for (int i = 0; i < 1000; ++i) {
    s.push("0123456789", out);
    EXPECT_LE(s.buffered(), 17u);
  }
  std::size_t total = 0;
  for (const auto& l : out) {
    EXPECT_EQ(l.bytes.size(), 16u);
    total += l.bytes.size();
  }
  EXPECT_EQ(total + s.buffered(), 10000u);
}

TEST(line_splitter, flush_emits_what_is_kept_except_a_trailing_cr) {
  line_splitter s;
  s.push("partial");
  auto p = s.flush();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->bytes, "partial");
  EXPECT_EQ(p->end, line_end::flush);
  EXPECT_TRUE(p->partial());
  EXPECT_FALSE(s.flush());
  s.push("x\r");
  p = s.flush();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->bytes, "x");
  EXPECT_EQ(texts(s.push("\n")), (std::vector<std::string>{""}));
}

TEST(line_splitter, finish_keeps_pieces_within_the_maximum) {
  line_splitter s(4);
  EXPECT_TRUE(s.push("abcd\r").empty());  // maybe "abcd\r\n": kept
  const auto rest = s.finish();
  ASSERT_EQ(texts(rest), (std::vector<std::string>{"abcd", "\r"}));
  EXPECT_EQ(rest[0].end, line_end::max_length);
  EXPECT_EQ(rest[1].end, line_end::end_of_stream);
}

TEST(line_splitter, how_input_is_cut_never_changes_the_lines) {
  std::uniform_int_distribution<int> b(0, 15);
  std::uniform_int_distribution<std::size_t> max(1, 12), len(0, 200);
  for (int iter = 0; iter < 300; ++iter) {
    std::string input;
    const std::size_t n = len(test::rng());
    for (std::size_t i = 0; i < n; ++i) {
      const int v = b(test::rng());
      input.push_back(v == 0 ? '\n' : v == 1 ? '\r' : static_cast<char>('a' + v));
    }
    const std::size_t max_line = max(test::rng());
    line_splitter whole(max_line), split(max_line);
    std::vector<line> a = whole.push(input), c;
    whole.finish(a);
    std::size_t at = 0;
    for (std::size_t cut : test::random_cuts(input.size())) {
      split.push(std::string_view(input).substr(at, cut - at), c);
      at = cut;
    }
    split.push(std::string_view(input).substr(at), c);
    split.finish(c);
    ASSERT_EQ(a.size(), c.size()) << input;
    std::string joined;
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].bytes, c[i].bytes);
      EXPECT_EQ(a[i].end, c[i].end);
      EXPECT_LE(a[i].bytes.size(), max_line);
      joined += a[i].bytes;
      if (a[i].end == line_end::newline) joined += '\n';
    }
    // Nothing lost but the terminators: remove "\r\n" -> "\n" and compare.
    std::string expected;
    for (std::size_t i = 0; i < input.size(); ++i) {
      if (input[i] == '\r' && i + 1 < input.size() && input[i + 1] == '\n') continue;
      expected += input[i];
    }
    EXPECT_EQ(joined, expected) << input;
  }
}

TEST(line_splitter, pieces_cut_inside_a_character_decode_cleanly) {
  // "你好世界" in GBK is 8 bytes; pieces of 3 cut characters in half.
  encoder enc;
  const std::string bytes = enc.encode("你好世界\nA你\n");
  line_splitter s(3);
  decoder d;
  std::string shown;
  for (const auto& l : s.push(bytes)) {
    shown += d.decode(l.bytes);
    shown += l.partial() ? "|" : "\n";
  }
  EXPECT_EQ(shown, "你|好世|界\nA你\n");
  EXPECT_EQ(d.invalid_count(), 0u);
}

TEST(line_splitter, refuses_encodings_where_newline_bytes_are_not_safe) {
  for (const char* name : {"UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "UTF-32LE"}) {
    if (!test::have_converter(name)) continue;
    try {
      line_splitter s(100, name);
      FAIL() << name << " accepted";
    } catch (const text_error& e) {
      EXPECT_EQ(e.code(), text_errc::unsupported_encoding) << name;
      EXPECT_NE(std::string(e.what()).find("UTF-"), std::string::npos) << e.what();
    }
  }
}

TEST(line_splitter, accepts_ascii_compatible_encodings) {
  for (const char* name : {"GBK", "gbk", "GB18030", "Big5", "Shift_JIS", "EUC-KR", "UTF-8"}) {
    if (!test::have_converter(name)) continue;
    EXPECT_NO_THROW(line_splitter(100, name)) << name;
  }
}

TEST(line_splitter, rejects_unknown_encoding_and_zero_length) {
  try {
    line_splitter s(100, "nope-16");
    FAIL();
  } catch (const text_error& e) {
    EXPECT_EQ(e.code(), text_errc::unknown_encoding);
  }
  try {
    line_splitter s(0);
    FAIL();
  } catch (const text_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
}

TEST(line_splitter, each_byte_is_searched_once_however_the_line_is_cut) {
  // A long unterminated line arriving in small reads: searching the whole kept buffer
  // again on every read would be quadratic. Counted, not timed: deterministic.
  const std::size_t max_line = 1 << 20;
  const std::size_t reads = 4000;
  const std::string read(100, 'x');
  for (const std::size_t limit : {max_line, std::size_t{1000}}) {
    line_splitter s(limit, "UTF-8");
    std::uint64_t pushed = 0;
    std::size_t pieces = 0;
    for (std::size_t i = 0; i < reads; ++i) {
      pieces += s.push(read).size();
      pushed += read.size();
      ASSERT_LE(s.bytes_scanned(), pushed) << "read " << i << ", max_line " << limit;
    }
    pieces += s.push("\n").size();
    pushed += 1;
    EXPECT_LE(s.bytes_scanned(), pushed);
    EXPECT_EQ(pieces, limit == max_line ? 1u : reads * read.size() / limit);
  }
}

TEST(line_splitter, a_long_line_is_handed_over_not_copied_twice) {
  // The line is the buffer: it moves into the result, the small rest stays.
  line_splitter s(1 << 20, "UTF-8");
  EXPECT_TRUE(s.push(std::string(300000, 'a')).empty());
  auto lines = s.push("b\r\nrest");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].bytes, std::string(300000, 'a') + "b");
  EXPECT_EQ(lines[0].end, line_end::newline);
  EXPECT_EQ(s.buffered(), 4u);
  EXPECT_EQ(texts(s.push("\nnext\n")), (std::vector<std::string>{"rest", "next"}));
}

}  // namespace
}  // namespace xsock
