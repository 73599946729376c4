// tools/common/input_lines: the standard input reader both tools share, fed from a
// scripted source (reads as a pipe or a terminal would return them).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "input_lines.hpp"

namespace xsock::tools {
namespace {

// A source that returns `reads` one at a time, then the end (or `error` instead).
input_lines::source scripted(std::vector<std::string> reads, std::error_code error = {}) {
  auto at = std::make_shared<std::size_t>(0);
  auto all = std::make_shared<std::vector<std::string>>(std::move(reads));
  return [at, all, error](char* buffer, std::size_t size, std::error_code& ec) -> std::size_t {
    if (*at == all->size()) {
      ec = error;
      return 0;
    }
    const std::string& next = (*all)[(*at)++];
    EXPECT_LE(next.size(), size);
    std::memcpy(buffer, next.data(), next.size());
    return next.size();
  };
}

// Every piece until the end, as "bytes|" ("bytes+|" for a partial one).
std::string drain(input_lines& input, std::error_code& ec, std::size_t* reads = nullptr) {
  std::string out;
  std::vector<line> pieces;
  bool more = true;
  while (more) {
    more = input.next(pieces, ec);
    if (reads) ++*reads;
    for (const line& piece : pieces)
      out += piece.bytes + (piece.partial() ? "+|" : "|");
  }
  return out;
}

TEST(InputLines, LinesCutAcrossReads) {
  input_lines input(1024, "UTF-8", scripted({"ab", "c\nde", "f\n"}));
  std::error_code ec;
  std::size_t reads = 0;
  EXPECT_EQ(drain(input, ec, &reads), "abc|def|");
  EXPECT_FALSE(ec);
  EXPECT_EQ(reads, 4u);  // three reads and the end
}

TEST(InputLines, UnterminatedLastLineComesAtTheEnd) {
  input_lines input(1024, "UTF-8", scripted({"one\r\ntwo"}));
  std::error_code ec;
  std::vector<line> pieces;
  EXPECT_TRUE(input.next(pieces, ec));
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].bytes, "one");  // the \r before \n is dropped
  EXPECT_FALSE(input.next(pieces, ec));
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].bytes, "two");
}

TEST(InputLines, LongLineInPartialPieces) {
  input_lines input(4, "UTF-8", scripted({"abcdefghij\n"}));
  std::error_code ec;
  EXPECT_EQ(drain(input, ec), "abcd+|efgh+|ij|");
}

TEST(InputLines, EnterIsSeenAtTheEndOfARead) {
  input_lines input(1024, "UTF-8", scripted({"typed\n", "half"}));
  std::error_code ec;
  std::vector<line> pieces;
  input.next(pieces, ec);
  EXPECT_TRUE(input.read_ended_line());
  input.next(pieces, ec);
  EXPECT_FALSE(input.read_ended_line());
}

TEST(InputLines, ReadErrorEndsWithNothing) {
  input_lines input(1024, "UTF-8",
                    scripted({"kept\nlost"}, std::make_error_code(std::errc::io_error)));
  std::error_code ec;
  std::vector<line> pieces;
  EXPECT_TRUE(input.next(pieces, ec));
  EXPECT_FALSE(input.next(pieces, ec));
  EXPECT_EQ(ec, std::errc::io_error);
  EXPECT_TRUE(pieces.empty());  // "lost" was never ended: not handed over as a line
}

TEST(InputLines, GbkBytesAreCutNotDecoded) {
  // 你好 in GBK, a newline between: lines are the local bytes, undecoded.
  input_lines input(1024, "GBK", scripted({"\xc4\xe3\n\xba\xc3\n"}));
  std::error_code ec;
  EXPECT_EQ(drain(input, ec), "\xc4\xe3|\xba\xc3|");
}

}  // namespace
}  // namespace xsock::tools
