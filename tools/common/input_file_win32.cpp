// input_file on Windows: CreateFileW by the wide name (any character, whatever the
// code page) and ReadFile, which returns a pipe's bytes as they come.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "input_file.hpp"

namespace xsock::tools {
namespace {

// The portable condition of the errors opening and reading a file gives, so messages
// read as on POSIX ("no such file or directory"); others keep the system's text.
std::error_code file_error(DWORD code) {
  switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
      return std::make_error_code(std::errc::no_such_file_or_directory);
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
      return std::make_error_code(std::errc::permission_denied);
    case ERROR_INVALID_NAME:
      return std::make_error_code(std::errc::invalid_argument);
    case ERROR_FILENAME_EXCED_RANGE:
      return std::make_error_code(std::errc::filename_too_long);
    default:
      return {static_cast<int>(code), std::system_category()};
  }
}

HANDLE native(std::intptr_t handle) {
  return reinterpret_cast<HANDLE>(handle);
}

}  // namespace

input_file::input_file(const std::string& utf8_path, std::error_code& ec) {
  ec.clear();
  std::wstring wide;
  if (!utf8_path.empty()) {
    const int n = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8_path.data(),
                                        static_cast<int>(utf8_path.size()), nullptr, 0);
    if (n <= 0) {
      ec = std::make_error_code(std::errc::invalid_argument);
      return;
    }
    wide.resize(static_cast<std::size_t>(n));
    ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8_path.data(),
                          static_cast<int>(utf8_path.size()), &wide[0], n);
  }
  const DWORD attributes = ::GetFileAttributesW(wide.c_str());
  if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    ec = std::make_error_code(std::errc::is_a_directory);
    return;
  }
  const HANDLE h = ::CreateFileW(wide.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                 nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    ec = file_error(::GetLastError());
    return;
  }
  handle_ = reinterpret_cast<std::intptr_t>(h);
  // Pipes and devices have no size to show progress against.
  LARGE_INTEGER size{};
  if (::GetFileType(h) == FILE_TYPE_DISK && ::GetFileSizeEx(h, &size) != 0) {
    size_known_ = true;
    size_ = static_cast<std::uintmax_t>(size.QuadPart);
  }
}

input_file::~input_file() {
  close();
}

input_file::input_file(input_file&& other) noexcept
    : handle_(std::exchange(other.handle_, -1)),
      size_known_(other.size_known_),
      size_(other.size_) {}

input_file& input_file::operator=(input_file&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, -1);
    size_known_ = other.size_known_;
    size_ = other.size_;
  }
  return *this;
}

std::size_t input_file::read(char* buffer, std::size_t size, std::error_code& ec) {
  ec.clear();
  DWORD got = 0;
  const auto want =
      static_cast<DWORD>(std::min<std::size_t>(size, std::numeric_limits<DWORD>::max()));
  if (::ReadFile(native(handle_), buffer, want, &got, nullptr) != 0) return got;
  const DWORD code = ::GetLastError();
  if (code == ERROR_BROKEN_PIPE || code == ERROR_HANDLE_EOF) return 0;  // the writer is done
  ec = file_error(code);
  return 0;
}

void input_file::close() noexcept {
  if (handle_ != -1) ::CloseHandle(native(handle_));
  handle_ = -1;
}

}  // namespace xsock::tools
