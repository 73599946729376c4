// POSIX sockets need no library start-up.
#include <pthread.h>

#include <atomic>

#include "backend.hpp"
#include "xsock/startup.hpp"

namespace xsock::detail {

void ensure_initialized(std::error_code& ec) noexcept {
  ec.clear();
}

bool at_fork_child(void (*handler)()) noexcept {
  return ::pthread_atfork(nullptr, nullptr, handler) == 0;
}

}  // namespace xsock::detail

namespace xsock {
namespace {
std::atomic<bool> manual_mode{false};  // remembered, no effect on POSIX
}  // namespace

// Nothing to set up: the guard is always active and never fails.
startup::startup() : active_(true) {}
startup::startup(std::error_code& ec) noexcept : active_(true) {
  ec.clear();
}
startup::~startup() = default;

void set_manual_startup(bool manual) noexcept {
  manual_mode.store(manual);
}
bool manual_startup() noexcept {
  return manual_mode.load();
}

}  // namespace xsock
