// The event loop's deadline queue, white-box (an internal header of core).
#include "net/timer_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace xsock::detail {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint64_t> drain(timer_queue& q, steady::time_point now) {
  std::vector<std::uint64_t> fired;
  std::uint64_t value = 0;
  for (int i = 0; i < 1000 && q.pop_expired(now, value); ++i)
    fired.push_back(value);
  return fired;
}

TEST(timer_queue, fires_in_deadline_order_and_only_when_due) {
  timer_queue q;
  const steady::time_point t0{};
  q.schedule(t0 + 30ms, 3);
  q.schedule(t0 + 10ms, 1);
  q.schedule(t0 + 20ms, 2);
  EXPECT_EQ(q.next_deadline(), t0 + 10ms);
  EXPECT_TRUE(drain(q, t0 + 5ms).empty());
  EXPECT_EQ(drain(q, t0 + 20ms), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(q.next_deadline(), t0 + 30ms);
  EXPECT_EQ(drain(q, t0 + 1s), (std::vector<std::uint64_t>{3}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.next_deadline(), steady::time_point::max());
}

TEST(timer_queue, equal_deadlines_fire_in_scheduling_order) {
  timer_queue q;
  const steady::time_point t0{};
  for (std::uint64_t v : {5u, 3u, 9u, 1u})
    q.schedule(t0 + 10ms, v);
  EXPECT_EQ(drain(q, t0 + 10ms), (std::vector<std::uint64_t>{5, 3, 9, 1}));
}

TEST(timer_queue, cancel_takes_one_timer_out) {
  timer_queue q;
  const steady::time_point t0{};
  q.schedule(t0 + 10ms, 1);
  timer_ticket second = q.schedule(t0 + 10ms, 2);
  q.schedule(t0 + 10ms, 3);
  EXPECT_TRUE(second.armed());
  EXPECT_TRUE(q.cancel(second));
  EXPECT_FALSE(second.armed());
  EXPECT_FALSE(q.cancel(second)) << "a reset ticket cancels nothing";
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(drain(q, t0 + 10ms), (std::vector<std::uint64_t>{1, 3}));
}

TEST(timer_queue, rescheduling_moves_a_timer_behind_its_new_peers) {
  timer_queue q;
  const steady::time_point t0{};
  timer_ticket a = q.schedule(t0 + 10ms, 1);
  q.schedule(t0 + 20ms, 2);
  q.cancel(a);
  a = q.schedule(t0 + 20ms, 1);  // same deadline as 2, scheduled later: after it
  EXPECT_EQ(q.next_deadline(), t0 + 20ms);
  EXPECT_EQ(drain(q, t0 + 20ms), (std::vector<std::uint64_t>{2, 1}));
}

TEST(timer_queue, cancel_after_fire_is_refused_and_harms_no_other_timer) {
  timer_queue q;
  const steady::time_point t0{};
  timer_ticket fired = q.schedule(t0 + 10ms, 1);
  EXPECT_EQ(drain(q, t0 + 10ms), (std::vector<std::uint64_t>{1}));
  // A new timer at the same deadline must not be mistaken for the fired one.
  q.schedule(t0 + 10ms, 2);
  EXPECT_FALSE(q.cancel(fired));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(drain(q, t0 + 10ms), (std::vector<std::uint64_t>{2}));
}

TEST(timer_queue, a_ticket_is_small_enough_to_keep_per_connection) {
  EXPECT_LE(sizeof(timer_ticket), 16u);
}

}  // namespace
}  // namespace xsock::detail
