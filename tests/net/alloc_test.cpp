// Throwing forms cost nothing on success: no message is built, nothing is allocated,
// unless an error was seen. Counts every allocation of the process (this executable
// replaces the global operator new), around calls that succeed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <vector>

#include "support.hpp"
#include "xsock/error.hpp"
#include "xsock/poller.hpp"
#include "xsock/stream_socket.hpp"

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Every form of the global allocation functions, so none of them mixes with a
// sanitizer's own (alloc-dealloc-mismatch).
namespace {
void* counted_alloc(std::size_t size) noexcept {
  allocations.fetch_add(1);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_alloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_alloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace xsock {
namespace {

using namespace std::chrono_literals;

TEST(throwing_forms, allocate_nothing_on_success) {
  listener l;
  l.listen(endpoint::loopback_v4(0));
  auto p = test::connect_pair(l);
  poller po;
  po.add(p.server.native_handle(), readiness::readable, 1);
  std::vector<poller::event> events;
  events.reserve(16);
  char buf[64];

  long before = 0;
  // The first round may size buffers that are reused from then on.
  for (int i = 0; i < 101; ++i) {
    if (i == 1) before = allocations.load();
    p.client.send("ping", 4);
    ASSERT_TRUE(p.server.wait(readiness::readable, 10s));
    po.modify(p.server.native_handle(), readiness::readable);
    ASSERT_EQ(po.wait(events, 10s), 1u);
    std::size_t got = 0;
    while (got < 4)
      got += p.server.receive(buf, sizeof buf - got, 10s);
    p.server.set_no_delay(true);
    (void)p.server.no_delay();
  }
  p.client.shutdown(shutdown_type::send);
  EXPECT_EQ(allocations.load() - before, 0) << "allocations on the success path";
}

}  // namespace
}  // namespace xsock
