// The AFD device: the kernel side of Winsock, which answers IOCTL_AFD_POLL for any
// socket of the process on a handle to \Device\Afd (how wepoll, mio, c-ares and
// libuv's uv_poll get epoll-like readiness on Windows). The NT pieces (NtCreateFile,
// NtDeviceIoControlFile, the AFD_POLL_INFO layout) are not in the SDK headers: declared
// here, loaded from ntdll at run time. Only the device: afd_poller.cpp is the poller.
#pragma once

#include <system_error>

#include "winsock.hpp"

namespace xsock::detail {

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

// The NT status as a Win32 error (system_category).
std::error_code nt_error(nt_status status) noexcept;

// A handle to the AFD device (no socket: polls for any socket of the process are issued
// on it), or nullptr with `ec` when ntdll lacks the functions or the device is denied.
HANDLE open_afd(std::error_code& ec) noexcept;

// Whether this process can use AFD polling: probed once (open and close the device).
bool afd_available() noexcept;

// The socket AFD knows for `s` (layered service providers may hand out their own).
// bad_file_descriptor when `s` is no socket.
SOCKET base_socket(SOCKET s, std::error_code& ec) noexcept;

// Issues IOCTL_AFD_POLL for `info` (in and out) on `device`; its completion, with
// `overlapped`, goes to the device's completion port. `iosb` overlays the OVERLAPPED's
// Internal fields. status_success or status_pending when issued; anything else means
// no completion will come.
nt_status afd_poll(HANDLE device, OVERLAPPED* overlapped, io_status_block* iosb,
                   afd_poll_info* info) noexcept;

// Asks for an issued poll to end early (status_cancelled); its completion still comes,
// unless it has already been queued (then there is nothing to cancel: fine).
void afd_cancel(HANDLE device, OVERLAPPED* overlapped) noexcept;

}  // namespace xsock::detail
