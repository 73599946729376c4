// Console I/O on POSIX: bytes in the locale's charset on file descriptors 0, 1, 2.
#include <errno.h>
#include <langinfo.h>
#include <signal.h>
#include <unistd.h>

#include <clocale>
#include <cstring>

#include "console.hpp"

namespace xsock::tools {
namespace {

void (*interrupt_handler)() = nullptr;

extern "C" void handle_interrupt(int) {
  if (interrupt_handler != nullptr) interrupt_handler();
}

bool write_all(int fd, std::string_view bytes, std::error_code& ec) {
  ec.clear();
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

void console_init() {
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
  return write_all(2, bytes, ec);
}

void on_interrupt(void (*handler)()) {
  interrupt_handler = handler;
  struct sigaction action {};
  action.sa_handler = handle_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

}  // namespace xsock::tools
