// Winsock error codes onto the portable conditions: the same std::errc for the same
// situation as platform/posix/error.cpp.
#include "winsock.hpp"

#include <cstddef>
#include <string>

#include "backend.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock::detail {
namespace {

struct mapping {
  int native;
  std::errc condition;
};

// For make_error, the first row with a condition is the code it returns.
constexpr mapping table[] = {
    {WSAECONNREFUSED, std::errc::connection_refused},
    {WSAETIMEDOUT, std::errc::timed_out},
    {WSAEADDRINUSE, std::errc::address_in_use},
    {WSAEADDRNOTAVAIL, std::errc::address_not_available},
    {WSAECONNRESET, std::errc::connection_reset},
    {WSAECONNABORTED, std::errc::connection_aborted},
    // send() after shutdown(SD_SEND): EPIPE on POSIX.
    {WSAESHUTDOWN, std::errc::broken_pipe},
    {WSAENOTCONN, std::errc::not_connected},
    {WSAEISCONN, std::errc::already_connected},
    {WSAENETUNREACH, std::errc::network_unreachable},
    {WSAENETDOWN, std::errc::network_down},
    {WSAENETRESET, std::errc::network_reset},
    {WSAEHOSTUNREACH, std::errc::host_unreachable},
    {WSAEHOSTDOWN, std::errc::host_unreachable},
    {WSAEWOULDBLOCK, std::errc::operation_would_block},
    {WSAEINPROGRESS, std::errc::operation_in_progress},
    {WSAEALREADY, std::errc::connection_already_in_progress},
    {WSAEINVAL, std::errc::invalid_argument},
    {WSA_INVALID_PARAMETER, std::errc::invalid_argument},
    {WSAEACCES, std::errc::permission_denied},
    {WSAEMFILE, std::errc::too_many_files_open},
    {WSAEBADF, std::errc::bad_file_descriptor},
    {WSA_INVALID_HANDLE, std::errc::bad_file_descriptor},
    {WSAENOTSOCK, std::errc::not_a_socket},
    {WSAEAFNOSUPPORT, std::errc::address_family_not_supported},
    {WSAEPFNOSUPPORT, std::errc::address_family_not_supported},
    {WSAENOBUFS, std::errc::no_buffer_space},
    {WSAEMSGSIZE, std::errc::message_size},
    {WSAEINTR, std::errc::interrupted},
    {WSAEOPNOTSUPP, std::errc::operation_not_supported},
    {WSAEPROTONOSUPPORT, std::errc::protocol_not_supported},
    {WSAEPROTOTYPE, std::errc::wrong_protocol_type},
    {WSAENOPROTOOPT, std::errc::no_protocol_option},
    {WSAEDESTADDRREQ, std::errc::destination_address_required},
    {WSAEFAULT, std::errc::bad_address},
    {WSAELOOP, std::errc::too_many_symbolic_link_levels},
    {WSAENAMETOOLONG, std::errc::filename_too_long},
    {WSA_NOT_ENOUGH_MEMORY, std::errc::not_enough_memory},
    // Not socket errors, but what a file that would not open reports (xsock::tls's
    // certificate files, through OpenSSL).
    {ERROR_FILE_NOT_FOUND, std::errc::no_such_file_or_directory},
    {ERROR_PATH_NOT_FOUND, std::errc::no_such_file_or_directory},
    {ERROR_ACCESS_DENIED, std::errc::permission_denied},
    {WSA_OPERATION_ABORTED, std::errc::operation_canceled},
    // Win32 codes that overlapped socket I/O can report.
    {ERROR_CONNECTION_REFUSED, std::errc::connection_refused},
    {ERROR_NETNAME_DELETED, std::errc::connection_reset},
    {ERROR_CONNECTION_ABORTED, std::errc::connection_aborted},
    {ERROR_SEM_TIMEOUT, std::errc::timed_out},
    // Conditions core reports that have no WSA code (poller registrations), so that
    // make_error gives a socket_category code and its portable text here too.
    {ERROR_FILE_NOT_FOUND, std::errc::no_such_file_or_directory},
    {ERROR_ALREADY_EXISTS, std::errc::file_exists},
    {ERROR_NOT_SUPPORTED, std::errc::operation_not_supported},
};

// Trailing spaces, line breaks and the final period of a FormatMessage text.
void trim(std::string& text) {
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\r' || text.back() == '\n' || text.back() == '.')) {
    text.pop_back();
  }
}

}  // namespace

std::error_code last_error() noexcept {
  return {::WSAGetLastError(), socket_category()};
}

std::error_code make_error(std::errc condition) noexcept {
  for (const auto& row : table) {
    if (row.condition == condition) return {row.native, socket_category()};
  }
  return std::make_error_code(condition);
}

std::error_condition portable_condition(int native) noexcept {
  for (const auto& row : table) {
    if (row.native == native) return std::make_error_condition(row.condition);
  }
  return {native, std::system_category()};
}

std::string native_message(int native) {
  wchar_t* buffer = nullptr;
  const DWORD flags =
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS;
  const DWORD length = ::FormatMessageW(flags, nullptr, static_cast<DWORD>(native), 0,
                                        reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);  // NOLINT
  std::string text;
  if (length > 0 && buffer) {
    const int bytes = ::WideCharToMultiByte(CP_UTF8, 0, buffer, static_cast<int>(length), nullptr,
                                            0, nullptr, nullptr);
    if (bytes > 0) {
      text.resize(static_cast<std::size_t>(bytes));
      ::WideCharToMultiByte(CP_UTF8, 0, buffer, static_cast<int>(length), &text[0], bytes, nullptr,
                            nullptr);
    }
  }
  if (buffer) ::LocalFree(buffer);
  trim(text);
  if (text.empty()) text = "socket error " + std::to_string(native);
  // Lower-case first letter, as the portable texts are.
  if (text[0] >= 'A' && text[0] <= 'Z' && !(text.size() > 1 && text[1] >= 'A' && text[1] <= 'Z')) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

int resolve_error(int native) noexcept {
  switch (native) {
    case WSAHOST_NOT_FOUND:
      return static_cast<int>(resolve_errc::host_not_found);
    case WSATRY_AGAIN:
      return static_cast<int>(resolve_errc::try_again);
    case WSATYPE_NOT_FOUND:
      return static_cast<int>(resolve_errc::service_not_found);
    case WSANO_DATA:
      return static_cast<int>(resolve_errc::no_data);
    default:
      return static_cast<int>(resolve_errc::failure);
  }
}

}  // namespace xsock::detail
