// Winsock set-up: WSAStartup on first use (one process-wide reference, released at
// exit), explicit references through xsock::startup, and a manual mode in which the
// library leaves WSAStartup to the program.
#include "winsock.hpp"

#include <atomic>
#include <mutex>

#include "backend.hpp"
#include "xsock/error.hpp"
#include "xsock/startup.hpp"

namespace xsock {
namespace detail {
namespace {

std::atomic<bool> manual_mode{false};
std::atomic<bool> auto_started{false};
std::mutex auto_mutex;

// One WSAStartup reference for Winsock 2.2; returns 0 or the WSA error.
int take_reference() noexcept {
  WSADATA data;
  const int result = ::WSAStartup(MAKEWORD(2, 2), &data);
  if (result != 0) return result;
  if (data.wVersion != MAKEWORD(2, 2)) {
    ::WSACleanup();
    return WSAVERNOTSUPPORTED;
  }
  return 0;
}

// Releases the automatic reference when static objects are destroyed at exit.
struct auto_release {
  auto_release() = default;
  auto_release(const auto_release&) = delete;
  auto_release& operator=(const auto_release&) = delete;
  ~auto_release() {
    if (auto_started.exchange(false)) ::WSACleanup();
  }
};

}  // namespace

void ensure_initialized(std::error_code& ec) noexcept {
  ec.clear();
  if (auto_started.load(std::memory_order_acquire)) return;
  if (manual_mode.load(std::memory_order_acquire)) return;  // the program holds Winsock
  std::lock_guard<std::mutex> lock(auto_mutex);
  if (auto_started.load(std::memory_order_relaxed)) return;
  const int result = take_reference();
  if (result != 0) {
    ec.assign(result, socket_category());
    return;
  }
  static auto_release release_at_exit;
  auto_started.store(true, std::memory_order_release);
}

// No fork on Windows: nothing ever needs the handler.
bool at_fork_child(void (*)()) noexcept {
  return true;
}

}  // namespace detail

startup::startup(std::error_code& ec) noexcept {
  ec.clear();
  const int result = detail::take_reference();
  if (result != 0) {
    ec.assign(result, socket_category());
    return;
  }
  active_ = true;
}

startup::startup() {
  std::error_code ec;
  const int result = detail::take_reference();
  if (result != 0) {
    ec.assign(result, socket_category());
    throw error(ec, "WSAStartup");
  }
  active_ = true;
}

startup::~startup() {
  if (active_) ::WSACleanup();
}

void set_manual_startup(bool manual) noexcept {
  detail::manual_mode.store(manual, std::memory_order_release);
}

bool manual_startup() noexcept {
  return detail::manual_mode.load(std::memory_order_acquire);
}

}  // namespace xsock
