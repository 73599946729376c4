// The AFD device: see afd.hpp.
#include "afd.hpp"

#include <climits>
#include <cwchar>

#include "backend.hpp"

namespace xsock::detail {
namespace {

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

}  // namespace

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

nt_status afd_poll(HANDLE device, OVERLAPPED* overlapped, io_status_block* iosb,
                   afd_poll_info* info) noexcept {
  iosb->status = status_pending;
  return nt().device_io_control_file(device, nullptr, nullptr, overlapped, iosb, ioctl_afd_poll,
                                     info, sizeof *info, info, sizeof *info);
}

void afd_cancel(HANDLE device, OVERLAPPED* overlapped) noexcept {
  ::CancelIoEx(device, overlapped);
}

}  // namespace xsock::detail
