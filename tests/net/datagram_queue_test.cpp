// The send queue of the event loop's datagram sockets, white-box (an internal header
// of core): order, the two bounds, no allocation per datagram once warm, memory given
// back after a burst.
#include "net/datagram_queue.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

namespace xsock::detail {
namespace {

std::string payload(std::size_t i, std::size_t size) {
  return std::string(size, static_cast<char>('a' + i % 26));
}

TEST(datagram_queue, keeps_order_peers_and_bytes) {
  datagram_queue q(10, 1000);
  const endpoint a = endpoint::loopback_v4(1000);
  const endpoint b = endpoint::loopback_v6(2000);
  std::error_code ec;
  ASSERT_TRUE(q.push(&a, "one", ec)) << ec.message();
  ASSERT_TRUE(q.push(nullptr, "", ec)) << ec.message();
  ASSERT_TRUE(q.push(&b, "three", ec)) << ec.message();
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.bytes(), 8u);

  datagram_queue::entry e = q.front();
  ASSERT_NE(e.peer, nullptr);
  EXPECT_EQ(*e.peer, a);
  EXPECT_EQ(e.bytes, "one");
  q.pop();
  e = q.front();
  EXPECT_EQ(e.peer, nullptr) << "send(): to the connected peer";
  EXPECT_TRUE(e.bytes.empty()) << "an empty datagram is queued as one";
  q.pop();
  e = q.front();
  ASSERT_NE(e.peer, nullptr);
  EXPECT_EQ(*e.peer, b);
  EXPECT_EQ(e.bytes, "three");
  q.pop();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(datagram_queue, refuses_past_the_count_and_queues_nothing) {
  datagram_queue q(3, 1000);
  const endpoint to = endpoint::loopback_v4(9);
  std::error_code ec;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(q.push(&to, "x", ec));
  EXPECT_FALSE(q.push(&to, "y", ec));
  EXPECT_EQ(ec, std::errc::no_buffer_space);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.bytes(), 3u);
  q.pop();
  EXPECT_TRUE(q.push(&to, "z", ec)) << "room again after a pop";
}

TEST(datagram_queue, refuses_past_the_bytes_and_queues_nothing) {
  datagram_queue q(100, 10);
  const endpoint to = endpoint::loopback_v4(9);
  std::error_code ec;
  ASSERT_TRUE(q.push(&to, "123456", ec));
  EXPECT_FALSE(q.push(&to, "12345", ec)) << "6 + 5 > 10";
  EXPECT_EQ(ec, std::errc::no_buffer_space);
  EXPECT_TRUE(q.push(&to, "1234", ec)) << "6 + 4 fits exactly";
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_TRUE(q.push(&to, "", ec)) << "an empty datagram takes no bytes";
  datagram_queue small(100, 3);
  EXPECT_FALSE(small.push(&to, "1234", ec)) << "larger than the bound by itself";
  EXPECT_TRUE(small.empty());
}

TEST(datagram_queue, zero_count_bound_queues_nothing) {
  datagram_queue q(0, 1000);
  std::error_code ec;
  EXPECT_FALSE(q.push(nullptr, "x", ec));
  EXPECT_EQ(ec, std::errc::no_buffer_space);
}

// A producer that stays ahead of the consumer (never empty) for many rounds: the
// front is compacted as it goes, so the buffers stay within a small multiple of what
// is queued, and every datagram comes out intact and in order.
TEST(datagram_queue, interleaved_push_and_pop_stays_bounded_and_ordered) {
  datagram_queue q(64, 64 * 100);
  const endpoint to = endpoint::loopback_v4(7);
  std::error_code ec;
  std::size_t pushed = 0;
  std::size_t popped = 0;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(q.push(&to, payload(pushed++, 100), ec));
  for (int round = 0; round < 5000; ++round) {
    ASSERT_TRUE(q.push(&to, payload(pushed, 1 + pushed % 100), ec)) << ec.message();
    ++pushed;
    const datagram_queue::entry e = q.front();
    const std::size_t expected_size = popped < 10 ? 100 : 1 + popped % 100;
    ASSERT_EQ(e.bytes, payload(popped, expected_size)) << "datagram " << popped;
    q.pop();
    ++popped;
  }
  EXPECT_EQ(q.size(), 10u);
  EXPECT_LE(q.record_capacity(), 64u) << "the consumed records are dropped as it goes";
  EXPECT_LE(q.byte_capacity(), 4 * 1024u) << "the consumed bytes are dropped as it goes";
}

// Once warm, pushing and popping at the same rate reuses the buffers: no growth.
TEST(datagram_queue, a_steady_stream_reuses_its_buffers) {
  datagram_queue q(16, 1 << 20);
  const endpoint to = endpoint::loopback_v6(7);
  std::error_code ec;
  const std::string datagram(1200, 'd');
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(q.push(&to, datagram, ec));
  while (!q.empty())
    q.pop();
  const std::size_t records = q.record_capacity();
  const std::size_t bytes = q.byte_capacity();
  ASSERT_GE(bytes, 8 * datagram.size()) << "a small queue keeps its capacity when empty";
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 8; ++i)
      ASSERT_TRUE(q.push(&to, datagram, ec));
    while (!q.empty())
      q.pop();
  }
  EXPECT_EQ(q.record_capacity(), records);
  EXPECT_EQ(q.byte_capacity(), bytes);
}

TEST(datagram_queue, a_burst_gives_its_memory_back_once_sent) {
  datagram_queue q(10000, 100 << 20);
  const endpoint to = endpoint::loopback_v4(7);
  std::error_code ec;
  const std::string datagram(1000, 'b');
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(q.push(&to, datagram, ec));
  EXPECT_EQ(q.bytes(), 1000u * 1000u);
  EXPECT_GE(q.byte_capacity(), 1000u * 1000u);
  while (!q.empty())
    q.pop();
  EXPECT_LE(q.byte_capacity(), datagram_queue::kept_bytes);
  EXPECT_LE(q.record_capacity(), datagram_queue::kept_records);
}

TEST(datagram_queue, clear_drops_everything) {
  datagram_queue q(10, 100);
  std::error_code ec;
  ASSERT_TRUE(q.push(nullptr, "abc", ec));
  ASSERT_TRUE(q.push(nullptr, "def", ec));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
  ASSERT_TRUE(q.push(nullptr, "ghi", ec));
  EXPECT_EQ(q.front().bytes, "ghi");
}

}  // namespace
}  // namespace xsock::detail
