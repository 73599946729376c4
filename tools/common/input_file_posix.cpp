// input_file on POSIX: open(2) and read(2), so a pipe's bytes are handed on as they
// come (a stdio or iostream read would wait for a full buffer).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "input_file.hpp"

namespace xsock::tools {

input_file::input_file(const std::string& utf8_path, std::error_code& ec) {
  ec.clear();
  int fd = -1;
  do {
    fd = ::open(utf8_path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    ec.assign(errno, std::generic_category());
    return;
  }
  handle_ = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ec.assign(errno, std::generic_category());
    close();
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    ec = std::make_error_code(std::errc::is_a_directory);
    close();
    return;
  }
  // Pipes and devices have no size to show progress against.
  if (S_ISREG(st.st_mode)) {
    size_known_ = true;
    size_ = static_cast<std::uintmax_t>(st.st_size);
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
  for (;;) {
    const ssize_t n = ::read(static_cast<int>(handle_), buffer, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    ec.assign(errno, std::generic_category());
    return 0;
  }
}

void input_file::close() noexcept {
  if (handle_ >= 0) ::close(static_cast<int>(handle_));
  handle_ = -1;
}

}  // namespace xsock::tools
