// The poller backend for Windows: the choice between the AFD poller (afd_poller.cpp,
// the default) and the WSAPoll poller (wsapoll_poller.cpp), made for each poller when
// it is created, and the contract's poller_* functions, which forward to the chosen
// one. Both are level-triggered like the POSIX ones.
//
// WSAPoll is chosen when the environment variable XSOCK_POLLER is "wsapoll" when a
// poller is created (that is how the tests run the whole suite against both), or when
// the AFD device cannot be opened.
#include <cerrno>
#include <string_view>
#include <vector>

#include "afd.hpp"
#include "backend.hpp"
#include "poller_backends.hpp"
#include "winsock.hpp"

namespace xsock::detail {
namespace {

enum class choice { automatic, afd, wsapoll };

// XSOCK_POLLER read from the Win32 environment (not the C runtime's copy, so that a
// program may change it with SetEnvironmentVariable between pollers).
choice requested_backend() noexcept {
  char value[16];
  const DWORD n = ::GetEnvironmentVariableA("XSOCK_POLLER", value, sizeof value);
  if (n == 0 || n >= sizeof value) return choice::automatic;
  for (DWORD i = 0; i < n; ++i)
    if (value[i] >= 'A' && value[i] <= 'Z') value[i] = static_cast<char>(value[i] - 'A' + 'a');
  const std::string_view v(value, n);
  if (v == "wsapoll") return choice::wsapoll;
  if (v == "afd") return choice::afd;
  return choice::automatic;
}

bool use_afd() noexcept {
  return requested_backend() != choice::wsapoll && afd_available();
}

}  // namespace

poller_state* poller_create(std::error_code& ec) noexcept {
  ec.clear();
  if (use_afd()) {
    if (poller_state* p = make_afd_poller(ec)) return p;
    // The device opened for the probe but not now: WSAPoll after all.
  }
  return make_wsapoll_poller(ec);
}

void poller_destroy(poller_state* p) noexcept {
  delete p;
}

void poller_add(poller_state* p, handle_t h, unsigned events, poller_token token,
                std::error_code& ec) noexcept {
  p->add(h, events, token, ec);
}

// Both pollers keep the token from poller_add.
void poller_modify(poller_state* p, handle_t h, unsigned events, poller_token,
                   std::error_code& ec) noexcept {
  p->modify(h, events, ec);
}

void poller_remove(poller_state* p, handle_t h, std::error_code& ec) noexcept {
  p->remove(h, ec);
}

void poller_wait(poller_state* p, std::vector<poller_ready>& out, int timeout_ms,
                 std::error_code& ec) noexcept {
  p->wait(out, timeout_ms, ec);
}

void poller_wake(poller_state* p) noexcept {
  if (p == nullptr) return;
  // May run on a console control handler's thread or in a signal handler: only a
  // posted completion (AFD) or a one-byte send (WSAPoll), errors preserved.
  const DWORD saved_error = ::GetLastError();
  const int saved_errno = errno;
  p->wake();
  ::SetLastError(saved_error);
  errno = saved_errno;
}

const char* poller_backend_name() noexcept {
  return use_afd() ? "afd" : "WSAPoll";
}

}  // namespace xsock::detail
