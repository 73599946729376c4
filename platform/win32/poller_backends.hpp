// The two Windows pollers behind the contract's poller_* functions: the AFD poller
// (afd_poller.cpp, the default) and the WSAPoll poller (wsapoll_poller.cpp, the
// fallback). poller.cpp chooses one per poller when it is created, so the choice is a
// virtual call per operation (per wait, never per event); POSIX has one backend per
// build and no such dispatch.
#pragma once

#include <chrono>
#include <system_error>
#include <vector>

#include "backend.hpp"
#include "net/timing.hpp"
#include "winsock.hpp"

namespace xsock::detail {

// The type backend.hpp promises; both pollers implement it.
struct poller_state {
  poller_state() = default;
  poller_state(const poller_state&) = delete;
  poller_state& operator=(const poller_state&) = delete;
  virtual ~poller_state() = default;
  virtual void add(handle_t h, unsigned events, poller_token token,
                   std::error_code& ec) noexcept = 0;
  virtual void modify(handle_t h, unsigned events, std::error_code& ec) noexcept = 0;
  virtual void remove(handle_t h, std::error_code& ec) noexcept = 0;
  virtual void wait(std::vector<poller_ready>& out, int timeout_ms,
                    std::error_code& ec) noexcept = 0;
  // Only a posted completion (AFD) or a one-byte send (WSAPoll): safe from any thread.
  virtual void wake() noexcept = 0;
};

// A new poller of each kind, or nullptr with `ec` (the AFD one fails when the device
// cannot be opened).
poller_state* make_afd_poller(std::error_code& ec) noexcept;
poller_state* make_wsapoll_poller(std::error_code& ec) noexcept;

using poller_clock = std::chrono::steady_clock;

// Milliseconds left until `deadline` (INFINITE without one), for the Win32 waits:
// rounded up by the one helper every backend uses, so a wait never ends just before
// its deadline and spins.
inline DWORD remaining_ms(bool limited, poller_clock::time_point deadline) noexcept {
  if (!limited) return INFINITE;
  return static_cast<DWORD>(wait_ms_until(deadline, poller_clock::now()));
}

}  // namespace xsock::detail
