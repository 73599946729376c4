// Console I/O on POSIX: bytes in the locale's charset on file descriptors 0, 1, 2.
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "console.hpp"

namespace xsock::tools {
namespace {

void (*interrupt_handler)() = nullptr;
volatile std::sig_atomic_t interrupted = 0;
// Written by the signal handler: a write waiting for a stalled reader wakes up.
int wake_pipe[2] = {-1, -1};

// Once a stop is requested, output that cannot be written within this long is dropped:
// a reader that stalls can delay the exit, not prevent it.
constexpr std::chrono::milliseconds stop_linger{1000};

extern "C" void handle_interrupt(int) {
  const int saved = errno;
  interrupted = 1;
  if (interrupt_handler != nullptr) interrupt_handler();
  if (wake_pipe[1] >= 0) {
    const ssize_t ignored = ::write(wake_pipe[1], "x", 1);
    (void)ignored;
  }
  errno = saved;
}

// Waits until `fd` takes bytes. Without a stop request that may take forever (a pager
// the user scrolls); after one, at most until stop_linger has passed.
bool wait_writable(int fd, std::error_code& ec) {
  using clock = std::chrono::steady_clock;
  static clock::time_point deadline{};
  for (;;) {
    int timeout_ms = -1;
    if (interrupted) {
      const clock::time_point now = clock::now();
      if (deadline == clock::time_point{}) deadline = now + stop_linger;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      timeout_ms = static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
    }
    pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_pipe[0], POLLIN, 0}};
    const nfds_t count = !interrupted && wake_pipe[0] >= 0 ? 2 : 1;
    const int ready = ::poll(fds, count, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
    // Writable, or an error that the write will report.
    if (fds[0].revents != 0) return true;
    if (ready == 0 && interrupted) {
      ec = std::make_error_code(std::errc::timed_out);
      return false;
    }
    // Woken by the signal: wait again, now bounded.
  }
}

// What standard output and error are, found once per descriptor: a server writes
// every turn, and two system calls per write (fstat, poll) cost as much as the write.
enum class sink_kind : unsigned char { unknown, file, stream, other };

sink_kind kind_of(int fd) {
  static sink_kind kinds[3] = {};
  sink_kind& kind = kinds[fd];
  if (kind == sink_kind::unknown) {
    struct stat st {};
    const bool known = ::fstat(fd, &st) == 0;
    // A device that is not a terminal (/dev/null) takes bytes as a file does.
    const bool file = known && (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && ::isatty(fd) != 1));
    kind = file                                                      ? sink_kind::file
           : known && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) ? sink_kind::stream
                                                                     : sink_kind::other;
  }
  return kind;
}

bool write_all(int fd, std::string_view bytes, std::error_code& ec) {
  ec.clear();
  // After poll says a pipe or socket is writable, a write of at most PIPE_BUF bytes
  // does not block; a larger one may, until the reader drains it. A regular file never
  // makes a writer wait for a reader: it is written whole, without asking poll.
  const sink_kind kind = kind_of(fd);
  const std::size_t chunk = kind == sink_kind::stream ? PIPE_BUF
                            : kind == sink_kind::file ? bytes.size()
                                                      : 64 * 1024;
  while (!bytes.empty()) {
    if (kind != sink_kind::file && !wait_writable(fd, ec)) return false;
    const ssize_t n = ::write(fd, bytes.data(), std::min(bytes.size(), chunk));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

void console_init() {
  // A descriptor 0-2 closed at start would be the number the next socket gets, and the
  // tool would then print into its connection. Each is opened on /dev/null in the
  // direction the tool does not use it, so it still behaves as closed (reading 0 and
  // writing 1 or 2 fail with EBADF, reported as for any failing stream) but is taken.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int opened = ::open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (opened >= 0 && opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
  std::setlocale(LC_ALL, "");
  // A reader that goes away must give a write error we can report, not kill us.
  ::signal(SIGPIPE, SIG_IGN);
}

std::vector<std::string> console_arguments(int argc, char** argv) {
  return std::vector<std::string>(argv, argv + argc);
}

std::string argument_encoding() {
  return local_encoding();
}

std::string local_encoding() {
  const char* codeset = ::nl_langinfo(CODESET);
  // The C/POSIX locale reports ASCII ("ANSI_X3.4-1968"): treat it as UTF-8, which
  // contains ASCII and is what a C-locale container's pipes carry in practice.
  if (codeset == nullptr || *codeset == '\0' || std::strcmp(codeset, "ANSI_X3.4-1968") == 0 ||
      std::strcmp(codeset, "US-ASCII") == 0 || std::strcmp(codeset, "ASCII") == 0)
    return "UTF-8";
  return codeset;
}

bool input_is_terminal() {
  return ::isatty(0) == 1;
}
bool output_is_terminal() {
  return ::isatty(1) == 1;
}
bool error_is_terminal() {
  return ::isatty(2) == 1;
}

std::size_t read_input(char* buffer, std::size_t size, std::error_code& ec) {
  ec.clear();
  for (;;) {
    const ssize_t n = ::read(0, buffer, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    ec = std::error_code(errno, std::generic_category());
    return 0;
  }
}

bool write_output(std::string_view bytes, std::error_code& ec) {
  return write_all(1, bytes, ec);
}

bool write_error(std::string_view bytes) {
  std::error_code ec;
  std::string scratch;
  return write_all(2, error_bytes(bytes, scratch), ec);
}

void erase_error_line() {
  if (::isatty(2) != 1) return;
  // Carriage return, then "erase to end of line" (ECMA-48 EL): every terminal emulator
  // a POSIX system offers knows it.
  std::error_code ignored;
  write_all(2, "\r\x1b[K", ignored);
}

std::tm local_calendar_time(std::time_t t) {
  std::tm parts{};
  ::localtime_r(&t, &parts);
  return parts;
}

void on_interrupt(void (*handler)()) {
  interrupt_handler = handler;
  if (wake_pipe[0] < 0 && ::pipe(wake_pipe) == 0) {
    for (const int fd : wake_pipe) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  struct sigaction action {};
  action.sa_handler = handle_interrupt;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a write blocked on a terminal (Ctrl+S) returns EINTR instead of
  // carrying on, and the bounded wait above takes over.
  action.sa_flags = 0;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

}  // namespace xsock::tools
