// The poller backends for Windows, level-triggered like the POSIX ones.
//
// "afd" (the default): readiness from the AFD driver (the kernel side of Winsock)
// through IOCTL_AFD_POLL, completed on an I/O completion port, as wepoll, mio and
// c-ares do. Each registered socket has at most one poll outstanding; a poll that
// completed is issued again at the start of the next wait, and AFD completes it at
// once while the condition still holds, which is what makes it level-triggered. The
// cost of a wait is the number of ready sockets, not the number registered. The NT
// pieces (NtCreateFile, NtDeviceIoControlFile, the AFD_POLL_INFO layout) are not in
// the SDK headers: declared here, loaded from ntdll at run time.
//
// "WSAPoll" (the fallback): chosen when the AFD device cannot be opened, or when the
// environment variable XSOCK_POLLER is "wsapoll" when a poller is created (that is
// how the tests run the whole suite against both). Its wake-up channel is a connected
// loopback TCP pair (Winsock has no pipe that WSAPoll can watch).
#include "winsock.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cwchar>
#include <new>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backend.hpp"
#include "net/timing.hpp"
#include "xsock/error.hpp"

namespace xsock::detail {

// Both backends implement this; poller_state is the type backend.hpp promises.
struct poller_state {
  virtual ~poller_state() = default;
  virtual void add(handle_t h, unsigned events, poller_token token,
                   std::error_code& ec) noexcept = 0;
  virtual void modify(handle_t h, unsigned events, std::error_code& ec) noexcept = 0;
  virtual void remove(handle_t h, std::error_code& ec) noexcept = 0;
  virtual void wait(std::vector<poller_ready>& out, int timeout_ms,
                    std::error_code& ec) noexcept = 0;
  virtual void wake() noexcept = 0;
};

namespace {

using clock = std::chrono::steady_clock;

// Milliseconds left until `deadline` (INFINITE without one), for the Win32 waits:
// rounded up by the one helper every backend uses, so a wait never ends just before
// its deadline and spins.
DWORD remaining_ms(bool limited, clock::time_point deadline) noexcept {
  if (!limited) return INFINITE;
  return static_cast<DWORD>(wait_ms_until(deadline, clock::now()));
}

// ---- selection -----------------------------------------------------------------

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

// ---- the NT interface of AFD (undocumented, stable since Windows XP) --------------

using nt_status = LONG;
constexpr nt_status status_success = 0;
constexpr nt_status status_pending = 0x103;
constexpr nt_status status_cancelled = static_cast<nt_status>(0xC0000120L);
constexpr nt_status status_invalid_handle = static_cast<nt_status>(0xC0000008L);
constexpr nt_status status_object_type_mismatch = static_cast<nt_status>(0xC0000024L);
constexpr ULONG ioctl_afd_poll = 0x00012024;

// AFD_POLL_* event bits.
constexpr ULONG afd_poll_receive = 0x0001;
constexpr ULONG afd_poll_send = 0x0004;
constexpr ULONG afd_poll_disconnect = 0x0008;   // the peer shut its side down
constexpr ULONG afd_poll_abort = 0x0010;        // the connection was reset
constexpr ULONG afd_poll_local_close = 0x0020;  // closesocket() on our side
constexpr ULONG afd_poll_accept = 0x0080;
constexpr ULONG afd_poll_connect_fail = 0x0100;
// AFD_POLL_CONNECT (0x0040, "connected") is never asked for: it is no readiness.

struct io_status_block {
  union {
    nt_status status;
    void* pointer;
  };
  ULONG_PTR information;
};

struct unicode_string {
  USHORT length;
  USHORT maximum_length;
  PWSTR buffer;
};

struct object_attributes {
  ULONG length;
  HANDLE root_directory;
  unicode_string* object_name;
  ULONG attributes;
  void* security_descriptor;
  void* security_quality_of_service;
};

struct afd_poll_handle_info {
  HANDLE handle;
  ULONG events;
  nt_status status;
};

struct afd_poll_info {
  LARGE_INTEGER timeout;
  ULONG number_of_handles;
  ULONG exclusive;
  afd_poll_handle_info handles[1];
};

using nt_create_file_fn = nt_status(NTAPI*)(HANDLE*, ACCESS_MASK, object_attributes*,
                                            io_status_block*, LARGE_INTEGER*, ULONG, ULONG, ULONG,
                                            ULONG, void*, ULONG);
using nt_device_io_control_file_fn = nt_status(NTAPI*)(HANDLE, HANDLE, void*, void*,
                                                       io_status_block*, ULONG, void*, ULONG, void*,
                                                       ULONG);
using rtl_nt_status_to_dos_error_fn = ULONG(NTAPI*)(nt_status);

struct nt_functions {
  nt_create_file_fn create_file = nullptr;
  nt_device_io_control_file_fn device_io_control_file = nullptr;
  rtl_nt_status_to_dos_error_fn status_to_dos_error = nullptr;
  bool ok() const noexcept {
    return create_file != nullptr && device_io_control_file != nullptr &&
           status_to_dos_error != nullptr;
  }
};

template <typename F>
F load(HMODULE module, const char* name) noexcept {
  // Through void(*)() so GCC's -Wcast-function-type accepts the conversion.
  return reinterpret_cast<F>(reinterpret_cast<void (*)()>(::GetProcAddress(module, name)));
}

const nt_functions& nt() noexcept {
  static const nt_functions functions = [] {
    nt_functions f;
    if (const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll")) {
      f.create_file = load<nt_create_file_fn>(ntdll, "NtCreateFile");
      f.device_io_control_file = load<nt_device_io_control_file_fn>(ntdll, "NtDeviceIoControlFile");
      f.status_to_dos_error = load<rtl_nt_status_to_dos_error_fn>(ntdll, "RtlNtStatusToDosError");
    }
    return f;
  }();
  return functions;
}

std::error_code nt_error(nt_status status) noexcept {
  return std::error_code(static_cast<int>(nt().status_to_dos_error(status)),
                         std::system_category());
}

// Opening \Device\Afd without extended attributes gives a handle to the driver that is
// no socket: polls are issued on it, for any socket of the process. The name after
// the device is free (it shows up in handle listings); Wine accepts only the device
// itself in some versions, hence the second candidate.
HANDLE open_afd(std::error_code& ec) noexcept {
  ec.clear();
  if (!nt().ok()) {
    ec = make_error(std::errc::function_not_supported);
    return nullptr;
  }
  static wchar_t named[] = L"\\Device\\Afd\\Xsock";
  static wchar_t plain[] = L"\\Device\\Afd";
  wchar_t* const names[] = {named, plain};
  nt_status status = status_success;
  for (wchar_t* name : names) {
    const auto bytes = static_cast<USHORT>(wcslen(name) * sizeof(wchar_t));
    unicode_string path{bytes, static_cast<USHORT>(bytes + sizeof(wchar_t)), name};
    object_attributes attributes{sizeof(object_attributes), nullptr, &path, 0, nullptr, nullptr};
    io_status_block iosb{};
    HANDLE device = nullptr;
    status = nt().create_file(&device, SYNCHRONIZE, &attributes, &iosb, nullptr, 0,
                              FILE_SHARE_READ | FILE_SHARE_WRITE, 1 /* FILE_OPEN */, 0, nullptr, 0);
    if (status == status_success) return device;
  }
  ec = nt_error(status);
  return nullptr;
}

// Whether this process can use AFD polling: probed once (open and close the device).
bool afd_available() noexcept {
  static const bool available = [] {
    std::error_code ec;
    const HANDLE device = open_afd(ec);
    if (device == nullptr) return false;
    ::CloseHandle(device);
    return true;
  }();
  return available;
}

// The socket the AFD driver knows: layered service providers may hand out a handle
// of their own, which AFD would reject. SIO_BASE_HANDLE is not intercepted by LSPs;
// some (Komodia-based ones) break it, and SIO_BSP_HANDLE_POLL then helps.
#ifndef SIO_BASE_HANDLE
#define SIO_BASE_HANDLE 0x48000022
#endif
#ifndef SIO_BSP_HANDLE_POLL
#define SIO_BSP_HANDLE_POLL 0x4800001D
#endif

SOCKET base_socket(SOCKET s, std::error_code& ec) noexcept {
  ec.clear();
  for (const DWORD control :
       {static_cast<DWORD>(SIO_BASE_HANDLE), static_cast<DWORD>(SIO_BSP_HANDLE_POLL)}) {
    SOCKET base = INVALID_SOCKET;
    DWORD bytes = 0;
    if (::WSAIoctl(s, control, nullptr, 0, &base, sizeof base, &bytes, nullptr, nullptr) == 0 &&
        base != INVALID_SOCKET)
      return base;
    if (::WSAGetLastError() == WSAENOTSOCK) {
      ec = make_error(std::errc::bad_file_descriptor);
      return INVALID_SOCKET;
    }
  }
  return s;  // no LSP answered: the socket is its own base
}

// ---- the AFD backend ---------------------------------------------------------------

// Completion keys on the port.
constexpr ULONG_PTR key_poll = 1;
constexpr ULONG_PTR key_wake = 2;

struct afd_socket {
  // First member: the completion hands back &overlapped, and CancelIoEx finds the
  // poll by it. Its Internal/InternalHigh fields are the poll's IO_STATUS_BLOCK.
  OVERLAPPED overlapped{};
  afd_poll_info info{};
  SOCKET socket = INVALID_SOCKET;  // the caller's handle (reported back)
  SOCKET base = INVALID_SOCKET;    // the one AFD polls
  poller_token token = 0;          // core's, reported with every event
  unsigned interest = 0;           // wait_read | wait_write
  ULONG polled = 0;                // AFD events of the outstanding poll
  bool pending = false;            // a poll is outstanding (its completion will come)
  bool queued = false;             // in the update list: (re)issue a poll at the next wait
  bool closed = false;             // the socket was closed while registered
  bool removed = false;            // no longer registered: free when the poll completes
};

static_assert(offsetof(afd_socket, overlapped) == 0, "the completion is the socket state");

io_status_block* status_block(afd_socket* s) noexcept {
  return reinterpret_cast<io_status_block*>(&s->overlapped);
}

ULONG afd_events_for(unsigned interest) noexcept {
  // Errors and hang-ups always (as epoll reports EPOLLERR/EPOLLHUP unasked), and
  // the local close so that a socket closed while registered ends its poll.
  ULONG events = afd_poll_abort | afd_poll_connect_fail | afd_poll_local_close;
  if (interest & wait_read) events |= afd_poll_receive | afd_poll_accept | afd_poll_disconnect;
  if (interest & wait_write) events |= afd_poll_send;
  return events;
}

unsigned ready_from_afd(ULONG events, unsigned interest) noexcept {
  unsigned ready = 0;
  if (events & (afd_poll_receive | afd_poll_accept)) ready |= wait_read;
  if (events & afd_poll_send) ready |= wait_write;
  ready &= interest;
  // End of stream, reset, failed connect: the next read returns it.
  if (events & (afd_poll_disconnect | afd_poll_abort | afd_poll_connect_fail))
    ready |= wait_error | wait_read;
  // A failed connect also ends the wait for writable (as on Linux).
  if ((events & afd_poll_connect_fail) && (interest & wait_write)) ready |= wait_write;
  return ready;
}

class afd_poller final : public poller_state {
 public:
  // Bounded batch per wait (level-triggered: the rest come with the next one).
  static constexpr ULONG batch = 1024;

  afd_poller() = default;
  afd_poller(const afd_poller&) = delete;
  afd_poller& operator=(const afd_poller&) = delete;

  bool open(std::error_code& ec) noexcept {
    try {
      entries_.resize(batch);
      sockets_.reserve(64);
      updates_.reserve(64);
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return false;
    }
    port_ = ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
    if (port_ == nullptr) {
      ec.assign(static_cast<int>(::GetLastError()), std::system_category());
      return false;
    }
    device_ = open_afd(ec);
    if (device_ == nullptr) return false;
    if (::CreateIoCompletionPort(device_, port_, key_poll, 0) == nullptr) {
      ec.assign(static_cast<int>(::GetLastError()), std::system_category());
      return false;
    }
    // Completions go to the port only; the device handle's own event is not needed.
    // (Not FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: a poll that completes at once still
    // queues its packet, so every poll ends in exactly one completion.)
    ::SetFileCompletionNotificationModes(device_, FILE_SKIP_SET_EVENT_ON_HANDLE);
    return true;
  }

  ~afd_poller() override {
    // Cancel every outstanding poll and collect its completion before the memory
    // it writes to is freed; a poll that never completes (bounded wait) is leaked
    // rather than freed under the kernel's feet.
    std::size_t outstanding = 0;
    for (afd_socket* s : updates_)
      if (s->removed && !s->pending) delete s;
    updates_.clear();
    for (auto& entry : sockets_) {
      afd_socket* s = entry.second;
      s->removed = true;
      if (s->pending) {
        ::CancelIoEx(device_, &s->overlapped);
        ++outstanding;
      } else {
        delete s;
      }
    }
    sockets_.clear();
    outstanding += zombies_;
    const auto deadline = clock::now() + std::chrono::seconds(2);
    while (outstanding > 0 && port_ != nullptr) {
      ULONG n = 0;
      const DWORD left = remaining_ms(true, deadline);
      if (!::GetQueuedCompletionStatusEx(port_, entries_.data(),
                                         static_cast<ULONG>(entries_.size()), &n, left, FALSE))
        break;  // timed out
      for (ULONG i = 0; i < n; ++i) {
        if (entries_[i].lpCompletionKey != key_poll || entries_[i].lpOverlapped == nullptr)
          continue;
        delete reinterpret_cast<afd_socket*>(entries_[i].lpOverlapped);
        --outstanding;
      }
    }
    if (device_ != nullptr) ::CloseHandle(device_);
    if (port_ != nullptr) ::CloseHandle(port_);
  }

  void add(handle_t h, unsigned events, poller_token token, std::error_code& ec) noexcept override {
    ec.clear();
    const SOCKET s = sock(h);
    if (s == INVALID_SOCKET) {
      ec = make_error(std::errc::bad_file_descriptor);
      return;
    }
    if (sockets_.count(s) != 0) {
      ec = make_error(std::errc::file_exists);
      return;
    }
    const SOCKET base = base_socket(s, ec);
    if (ec) return;
    auto* state = new (std::nothrow) afd_socket;
    if (state == nullptr) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    state->socket = s;
    state->base = base;
    state->token = token;
    state->interest = events;
    try {
      sockets_.emplace(s, state);
    } catch (...) {
      delete state;
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    if (!queue(state)) {
      sockets_.erase(s);
      delete state;
      ec = make_error(std::errc::not_enough_memory);
    }
  }

  void modify(handle_t h, unsigned events, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = sockets_.find(sock(h));
    if (it == sockets_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    afd_socket* s = it->second;
    s->interest = events;
    // The outstanding poll may watch too little (cancel it; its completion re-issues
    // it) or too much (it may complete for an event no longer wanted, which is then
    // dropped and the poll re-issued with the new set).
    if (!queue(s)) ec = make_error(std::errc::not_enough_memory);
  }

  void remove(handle_t h, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = sockets_.find(sock(h));
    if (it == sockets_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    afd_socket* s = it->second;
    sockets_.erase(it);
    s->removed = true;
    if (s->pending) {
      // Freed when the cancelled poll's completion arrives (possibly already queued:
      // then CancelIoEx finds nothing, which is fine).
      ::CancelIoEx(device_, &s->overlapped);
      ++zombies_;
    } else if (!s->queued) {
      delete s;
    }
    // A queued one is freed when the update list is processed.
  }

  void wait(std::vector<poller_ready>& out, int timeout_ms, std::error_code& ec) noexcept override {
    ec.clear();
    out.clear();
    const bool limited = timeout_ms >= 0;
    const auto deadline = clock::now() + std::chrono::milliseconds(limited ? timeout_ms : 0);
    try {
      out.reserve(batch);
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    for (;;) {
      issue_polls(out);
      // A closed socket is reported on every wait while it stays registered (as
      // poll() reports POLLNVAL): no point in sleeping then.
      const DWORD wait_ms = out.empty() ? remaining_ms(limited, deadline) : 0;
      ULONG n = 0;
      if (!::GetQueuedCompletionStatusEx(port_, entries_.data(),
                                         static_cast<ULONG>(entries_.size()), &n, wait_ms, FALSE)) {
        const DWORD err = ::GetLastError();
        // A timer tick can end the wait a little early: wait the rest, never return
        // before the deadline (the caller would only spin on zero-length waits).
        if (err == WAIT_TIMEOUT) {
          if (out.empty() && limited && clock::now() < deadline) continue;
          return;
        }
        ec.assign(static_cast<int>(err), std::system_category());
        return;
      }
      bool woken = false;
      for (ULONG i = 0; i < n; ++i) {
        const OVERLAPPED_ENTRY& entry = entries_[i];
        if (entry.lpCompletionKey == key_wake) {
          woken = true;
          continue;
        }
        if (entry.lpCompletionKey != key_poll || entry.lpOverlapped == nullptr) continue;
        completed(reinterpret_cast<afd_socket*>(entry.lpOverlapped), out);
      }
      if (woken) wake_pending_.store(false, std::memory_order_release);
      if (!out.empty() || woken) return;
      // Only cancelled polls or events no longer wanted: re-issue, wait the rest.
      if (limited && clock::now() >= deadline) return;
    }
  }

  void wake() noexcept override {
    // One wake-up packet at a time; more would only be drained.
    if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
    if (!::PostQueuedCompletionStatus(port_, 0, key_wake, nullptr))
      wake_pending_.store(false, std::memory_order_release);
  }

 private:
  bool queue(afd_socket* s) noexcept {
    if (s->queued) return true;
    try {
      updates_.push_back(s);
    } catch (...) {
      return false;
    }
    s->queued = true;
    return true;
  }

  // Reports a socket whose poll failed or ended with its close, when there is room.
  static void report_closed(const afd_socket* s, std::vector<poller_ready>& out) noexcept {
    if (out.size() < out.capacity()) out.push_back(poller_ready{s->token, wait_error | wait_read});
  }

  // Brings every socket in the update list to one poll watching its interest set.
  // Closed sockets stay in the list (reported at every wait); the others leave it.
  void issue_polls(std::vector<poller_ready>& out) noexcept {
    std::size_t keep = 0;
    for (std::size_t i = 0; i < updates_.size(); ++i) {
      afd_socket* s = updates_[i];
      if (s->removed) {
        s->queued = false;
        if (!s->pending) delete s;
        continue;
      }
      if (s->closed) {
        report_closed(s, out);
        updates_[keep++] = s;
        continue;
      }
      const ULONG wanted = afd_events_for(s->interest);
      if (s->pending) {
        // Re-issued when its completion arrives.
        s->queued = false;
        if ((wanted & ~s->polled) != 0) ::CancelIoEx(device_, &s->overlapped);
        continue;
      }
      s->info.timeout.QuadPart = LLONG_MAX;
      s->info.number_of_handles = 1;
      s->info.exclusive = FALSE;
      s->info.handles[0].handle = reinterpret_cast<HANDLE>(s->base);
      s->info.handles[0].events = wanted;
      s->info.handles[0].status = 0;
      io_status_block* iosb = status_block(s);
      iosb->status = status_pending;
      const nt_status status = nt().device_io_control_file(
          device_, nullptr, nullptr, &s->overlapped, iosb, ioctl_afd_poll, &s->info, sizeof s->info,
          &s->info, sizeof s->info);
      if (status == status_success || status == status_pending) {
        s->queued = false;
        s->pending = true;
        s->polled = wanted;
        continue;
      }
      // The poll was refused for this socket alone: report it, never fail the wait
      // for the others. A handle that is no longer a socket (closed without being
      // removed; Windows says invalid handle, Wine 8 object type mismatch) stays
      // reported until removed; anything else is tried again at the next wait.
      if (status == status_invalid_handle || status == status_object_type_mismatch)
        s->closed = true;
      report_closed(s, out);
      updates_[keep++] = s;
    }
    updates_.resize(keep);
  }

  void completed(afd_socket* s, std::vector<poller_ready>& out) noexcept {
    s->pending = false;
    if (s->removed) {
      --zombies_;
      if (!s->queued) delete s;
      return;
    }
    const nt_status status = status_block(s)->status;
    unsigned ready = 0;
    if (status == status_cancelled) {
      // Cancelled by modify: re-issued below with the new interest set.
    } else if (status < 0) {
      ready = wait_error | wait_read;  // the poll itself failed
    } else if (s->info.number_of_handles >= 1) {
      const ULONG events = s->info.handles[0].events;
      if (events & afd_poll_local_close) {
        s->closed = true;
        ready = wait_error | wait_read;
      } else {
        ready = ready_from_afd(events, s->interest);
      }
    }
    // The update list had room for it when it was added (one slot per socket).
    queue(s);
    if (ready != 0 && out.size() < out.capacity()) out.push_back(poller_ready{s->token, ready});
  }

  HANDLE port_ = nullptr;
  HANDLE device_ = nullptr;
  std::atomic<bool> wake_pending_{false};
  std::unordered_map<SOCKET, afd_socket*> sockets_;
  // Sockets whose poll must be (re)issued at the next wait.
  std::vector<afd_socket*> updates_;
  std::size_t zombies_ = 0;  // removed, their cancelled poll not yet completed
  std::vector<OVERLAPPED_ENTRY> entries_;
};

// ---- the WSAPoll backend -----------------------------------------------------------

// Interest in WSAPoll's terms: POLLRDNORM/POLLWRNORM (POLLPRI and POLLRDBAND are
// rejected by some Windows versions with WSAEINVAL).
short to_poll(unsigned events) noexcept {
  int out = 0;
  if (events & wait_read) out |= POLLRDNORM;
  if (events & wait_write) out |= POLLWRNORM;
  return static_cast<short>(out);
}

unsigned from_poll(short revents) noexcept {
  unsigned ready = 0;
  if (revents & (POLLRDNORM | POLLRDBAND)) ready |= wait_read;
  if (revents & POLLWRNORM) ready |= wait_write;
  // Hang-up / error / closed handle: the next read returns end of stream or the
  // error. (After the peer's shutdown(SD_SEND), Wine reports POLLHUP alone.)
  if (revents & (POLLERR | POLLHUP | POLLNVAL)) ready |= wait_error | wait_read;
  return ready;
}

// A connected pair of loopback sockets: [0] is read by the poller, [1] is written by
// poller_wake. The accepted end is checked to be our own connection, so another local
// program cannot slip into the listener's queue in between.
bool open_wake_pair(SOCKET pair[2], std::error_code& ec) noexcept {
  const endpoint candidates[] = {endpoint::loopback_v4(0), endpoint::loopback_v6(0)};
  for (const endpoint& where : candidates) {
    ec.clear();
    const handle_t server = open_stream(where, ec);
    if (ec) continue;
    handle_t client = invalid_handle;
    handle_t accepted = invalid_handle;
    do {
      prepare_listener(server, false, ec);
      if (ec) break;
      bind(server, where, ec);
      if (ec) break;
      listen(server, 1, ec);
      if (ec) break;
      const endpoint target = local_endpoint(server, ec);
      if (ec) break;
      client = open_stream(where, ec);
      if (ec) break;
      if (!connect(client, target, ec) && !ec) ec = make_error(std::errc::operation_in_progress);
      if (ec) break;
      const endpoint mine = local_endpoint(client, ec);
      if (ec) break;
      for (int attempt = 0; attempt < 16 && !ec; ++attempt) {
        endpoint peer;
        accepted = accept(server, peer, ec);
        if (ec) break;
        if (peer == mine) break;
        close_handle(accepted);  // someone else's connection
        accepted = invalid_handle;
      }
      if (!ec && accepted == invalid_handle) ec = make_error(std::errc::connection_aborted);
      if (ec) break;
      set_non_blocking(accepted, true, ec);
      if (!ec) set_non_blocking(client, true, ec);
      if (!ec) set_option(client, option::no_delay, 1, ec);
    } while (false);
    close_handle(server);
    if (!ec) {
      pair[0] = sock(accepted);
      pair[1] = sock(client);
      return true;
    }
    if (accepted != invalid_handle) close_handle(accepted);
    if (client != invalid_handle) close_handle(client);
  }
  return false;
}

void drain(SOCKET s) noexcept {
  char buffer[256];
  // Non-blocking: stops at WSAEWOULDBLOCK once nothing is pending.
  while (::recv(s, buffer, static_cast<int>(sizeof buffer), 0) > 0) {
  }
}

bool is_socket(SOCKET s) noexcept {
  int type = 0;
  int len = static_cast<int>(sizeof type);
  return ::getsockopt(s, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) == 0;
}

class wsapoll_poller final : public poller_state {
 public:
  // How long WSAPoll sleeps at a time while a socket waits for writable: between
  // two slices, select() looks for failed connects, which WSAPoll did not report
  // before Windows 10 2004.
  static constexpr int connect_check_ms = 100;

  bool open(std::error_code& ec) noexcept {
    SOCKET pair[2];
    if (!open_wake_pair(pair, ec)) return false;
    wake_read_ = pair[0];
    wake_write_ = pair[1];
    try {
      WSAPOLLFD entry{};
      entry.fd = wake_read_;
      entry.events = POLLRDNORM;
      fds_.push_back(entry);
      tokens_.push_back(0);  // never reported
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return false;
    }
    return true;
  }

  ~wsapoll_poller() override {
    if (wake_read_ != INVALID_SOCKET) ::closesocket(wake_read_);
    if (wake_write_ != INVALID_SOCKET) ::closesocket(wake_write_);
  }

  void add(handle_t h, unsigned events, poller_token token, std::error_code& ec) noexcept override {
    ec.clear();
    const SOCKET s = sock(h);
    if (s == INVALID_SOCKET) {
      ec = make_error(std::errc::bad_file_descriptor);
      return;
    }
    if (index_.count(s) != 0) {
      ec = make_error(std::errc::file_exists);
      return;
    }
    try {
      fds_.reserve(fds_.size() + 1);
      tokens_.reserve(fds_.size() + 1);
      index_.emplace(s, fds_.size());
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    WSAPOLLFD entry{};
    entry.fd = s;
    entry.events = to_poll(events);
    fds_.push_back(entry);  // room reserved: cannot throw
    tokens_.push_back(token);
  }

  void modify(handle_t h, unsigned events, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = index_.find(sock(h));
    if (it == index_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    fds_[it->second].events = to_poll(events);
  }

  void remove(handle_t h, std::error_code& ec) noexcept override {
    ec.clear();
    const auto it = index_.find(sock(h));
    if (it == index_.end()) {
      ec = make_error(std::errc::no_such_file_or_directory);
      return;
    }
    const std::size_t slot = it->second;
    index_.erase(it);
    const std::size_t last = fds_.size() - 1;
    if (slot != last) {
      fds_[slot] = fds_[last];
      tokens_[slot] = tokens_[last];
      index_[fds_[slot].fd] = slot;
    }
    fds_.pop_back();
    tokens_.pop_back();
  }

  void wait(std::vector<poller_ready>& out, int timeout_ms, std::error_code& ec) noexcept override {
    ec.clear();
    out.clear();
    const bool limited = timeout_ms >= 0;
    const auto deadline = clock::now() + std::chrono::milliseconds(limited ? timeout_ms : 0);
    try {
      out.reserve(fds_.size());
    } catch (...) {
      ec = make_error(std::errc::not_enough_memory);
      return;
    }
    for (;;) {
      const bool connecting = watches_writable();
      if (connecting && failed_connects(out)) return;
      DWORD slice = remaining_ms(limited, deadline);
      if (connecting) slice = std::min<DWORD>(slice, connect_check_ms);
      for (WSAPOLLFD& entry : fds_)
        entry.revents = 0;
      const int n = ::WSAPoll(fds_.data(), static_cast<ULONG>(fds_.size()),
                              slice == INFINITE ? -1 : static_cast<int>(slice));
      if (n == SOCKET_ERROR) {
        const int err = ::WSAGetLastError();
        if (err != WSAENOTSOCK) {
          ec.assign(err, socket_category());
          return;
        }
        // Some WSAPoll implementations (Wine) fail the whole call when a registered
        // handle was closed, where Windows and poll() flag that one entry POLLNVAL.
        // Report those entries the POSIX way, without waiting.
        for (std::size_t i = 1; i < fds_.size(); ++i) {
          if (!is_socket(fds_[i].fd)) fds_[i].revents = POLLNVAL;
        }
      } else if (n == 0) {
        // Early (a connect check slice, or a timer tick shorter than asked): wait the
        // rest rather than return before the deadline.
        if (!limited || clock::now() < deadline) continue;
        return;
      }
      collect(out);
      return;
    }
  }

  void wake() noexcept override {
    const char byte = 1;
    // WSAEWOULDBLOCK means the wake-up socket is full: a wake-up is already pending.
    ::send(wake_write_, &byte, 1, 0);
  }

 private:
  bool watches_writable() const noexcept {
    for (std::size_t i = 1; i < fds_.size(); ++i)
      if (fds_[i].events & POLLWRNORM) return true;
    return false;
  }

  // select()'s except set over the sockets that wait for writable: a failed
  // non-blocking connect shows there on every Windows version.
  bool failed_connects(std::vector<poller_ready>& out) noexcept {
    constexpr u_int chunk = 64;
    struct {
      u_int count;
      SOCKET sockets[chunk];
    } set;
    const std::size_t before = out.size();
    std::size_t i = 1;
    while (i < fds_.size()) {
      set.count = 0;
      const std::size_t first = i;
      for (; i < fds_.size() && set.count < chunk; ++i)
        if (fds_[i].events & POLLWRNORM) set.sockets[set.count++] = fds_[i].fd;
      if (set.count == 0) break;
      timeval zero{};
      if (::select(0, nullptr, nullptr, reinterpret_cast<fd_set*>(&set), &zero) <= 0) continue;
      // select() left the failed ones in the set: find their slots in this chunk
      // (rare: a failed connect is reported once, then removed by its owner).
      for (u_int k = 0; k < set.count; ++k)
        for (std::size_t j = first; j < i; ++j)
          if (fds_[j].fd == set.sockets[k]) {
            out.push_back(poller_ready{tokens_[j], wait_error | wait_read | wait_write});
            break;
          }
    }
    return out.size() > before;
  }

  void collect(std::vector<poller_ready>& out) noexcept {
    for (std::size_t i = 0; i < fds_.size(); ++i) {
      WSAPOLLFD& entry = fds_[i];
      if (entry.revents == 0) continue;
      const short revents = entry.revents;
      entry.revents = 0;
      if (i == 0) {  // the wake-up socket
        drain(wake_read_);
        continue;
      }
      const unsigned ready = from_poll(revents);
      if (ready != 0) out.push_back(poller_ready{tokens_[i], ready});
    }
  }

  SOCKET wake_read_ = INVALID_SOCKET;
  SOCKET wake_write_ = INVALID_SOCKET;
  // Slot 0 is the wake-up socket; `index_` maps a handle to its slot so removal is
  // O(1) (swap with the last slot).
  std::vector<WSAPOLLFD> fds_;
  std::vector<poller_token> tokens_;  // core's token for fds_[i]
  std::unordered_map<SOCKET, std::size_t> index_;
};

bool use_afd() noexcept {
  const choice wanted = requested_backend();
  return wanted != choice::wsapoll && afd_available();
}

}  // namespace

poller_state* poller_create(std::error_code& ec) noexcept {
  ec.clear();
  if (use_afd()) {
    auto* p = new (std::nothrow) afd_poller;
    if (p == nullptr) {
      ec = make_error(std::errc::not_enough_memory);
      return nullptr;
    }
    if (p->open(ec)) return p;
    delete p;
    // The device opened for the probe but not now: WSAPoll after all.
  }
  auto* p = new (std::nothrow) wsapoll_poller;
  if (p == nullptr) {
    ec = make_error(std::errc::not_enough_memory);
    return nullptr;
  }
  if (p->open(ec)) return p;
  delete p;
  return nullptr;
}

void poller_destroy(poller_state* p) noexcept {
  delete p;
}

void poller_add(poller_state* p, handle_t h, unsigned events, poller_token token,
                std::error_code& ec) noexcept {
  p->add(h, events, token, ec);
}

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
