// xsock::line_framer with xsock::net alone: this executable links no ICU and no
// xsock::text, so a net-only user can frame lines.
#include "xsock/line_framer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"

namespace xsock {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> texts(const std::vector<line>& lines) {
  std::vector<std::string> out;
  for (const line& l : lines)
    out.push_back(l.bytes);
  return out;
}

TEST(line_framer, splits_on_newline_and_drops_the_carriage_return) {
  line_framer f;
  const auto lines = f.push("one\r\ntwo\nthree");
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(lines[0].end, line_end::newline);
  EXPECT_FALSE(lines[0].partial());
  EXPECT_EQ(f.buffered(), 5u);
  const auto last = f.finish();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].bytes, "three");
  EXPECT_EQ(last[0].end, line_end::end_of_stream);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(line_framer, a_cr_lf_cut_between_pushes_is_one_line_end) {
  line_framer f;
  EXPECT_TRUE(f.push("abc\r").empty());
  const auto lines = f.push("\nxyz\n");
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"abc", "xyz"}));
}

TEST(line_framer, a_long_line_comes_in_partial_pieces_of_the_maximum) {
  line_framer f(4);
  const auto lines = f.push("abcdefghij\n");
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"abcd", "efgh", "ij"}));
  EXPECT_EQ(lines[0].end, line_end::max_length);
  EXPECT_TRUE(lines[1].partial());
  EXPECT_EQ(lines[2].end, line_end::newline);
  EXPECT_LE(f.bytes_scanned(), 11u);
}

TEST(line_framer, flush_emits_the_rest_but_keeps_a_trailing_cr) {
  line_framer f;
  f.push("half\r");
  const auto piece = f.flush();
  ASSERT_TRUE(piece.has_value());
  EXPECT_EQ(piece->bytes, "half");
  EXPECT_EQ(piece->end, line_end::flush);
  EXPECT_EQ(f.buffered(), 1u);
  EXPECT_EQ(texts(f.push("\n")), (std::vector<std::string>{""}));
  EXPECT_FALSE(f.flush().has_value());
}

TEST(line_framer, a_zero_maximum_is_refused_with_invalid_argument) {
  try {
    line_framer f(0);
    FAIL() << "accepted a zero maximum";
  } catch (const xsock::error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
}

class line_framer_socket : public test::loopback_test {};

// Lines written over a real connection in pieces that cut them anywhere come out the
// same as when pushed whole: the framer, not the read sizes, decides.
TEST_P(line_framer_socket, frames_lines_read_from_a_connection) {
  listener l = make_listener();
  test::socket_pair p = test::connect_pair(l);
  const std::string wire = "GET /\r\nHost: x\r\n\r\nlast";
  // One byte per send: every cut, including between \r and \n, is exercised.
  for (char ch : wire)
    p.client.send_all(&ch, 1);
  p.client.shutdown(shutdown_type::send);
  line_framer f;
  std::vector<line> lines;
  char buf[3];
  for (int i = 0; i < 1000; ++i) {  // bounded: the stream is 24 bytes
    const std::size_t n = p.server.receive(buf, sizeof buf, 10s);
    if (n == 0) {
      f.finish(lines);
      break;
    }
    f.push(std::string_view(buf, n), lines);
  }
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"GET /", "Host: x", "", "last"}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3].end, line_end::end_of_stream);
}

XSOCK_INSTANTIATE_FAMILIES(line_framer_socket);

}  // namespace
}  // namespace xsock
