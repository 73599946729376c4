// The source of xsock-client's --file: a file opened by its UTF-8 name and read as its
// bytes arrive, whatever it is: a regular file, a pipe (`--file <(cmd)`, a FIFO) or a
// device (`/dev/stdin`). input_file_posix.cpp / input_file_win32.cpp implement it;
// CMake compiles one of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

namespace xsock::tools {

/// A file open for reading. Movable, not copyable; closed by the destructor.
class input_file {
 public:
  /// Opens `utf8_path` (on Windows by its wide name). On failure sets `ec` (a directory:
  /// `is_a_directory`) and the object is closed. Opening a FIFO waits for its writer.
  input_file(const std::string& utf8_path, std::error_code& ec);
  ~input_file();
  input_file(input_file&& other) noexcept;
  input_file& operator=(input_file&& other) noexcept;
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;

  /// Reads what is there, at most `size` bytes: returns as soon as some arrived (a pipe
  /// is not waited on to fill `buffer`), 0 at the end; sets `ec` on an error.
  std::size_t read(char* buffer, std::size_t size, std::error_code& ec);

  /// True when the size is known in advance (a regular file): `size()` is it.
  bool size_known() const noexcept { return size_known_; }
  std::uintmax_t size() const noexcept { return size_; }

 private:
  void close() noexcept;

  std::intptr_t handle_ = -1;  // a descriptor (POSIX) or a HANDLE (Windows)
  bool size_known_ = false;
  std::uintmax_t size_ = 0;
};

}  // namespace xsock::tools
