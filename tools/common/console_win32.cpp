// Console I/O on Windows. A console is read and written as UTF-16 through the wide
// console API (ReadConsoleW/WriteConsoleW), so any character shows whatever the code
// page; redirected streams (pipes, files) carry UTF-8 bytes unchanged, exactly what the
// POSIX tools write. Ctrl+C, Ctrl+Break and closing the console call the interrupt
// handler, like SIGINT/SIGTERM on POSIX.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// After windows.h, which it needs.
#include <fcntl.h>
#include <io.h>
#include <shellapi.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "console.hpp"

namespace xsock::tools {
namespace {

std::atomic<void (*)()> interrupt_handler{nullptr};
// The thread that installed the handler (the one that writes the output).
HANDLE main_thread = nullptr;

std::error_code last_error() {
  return {static_cast<int>(::GetLastError()), std::system_category()};
}

bool is_console(HANDLE h) {
  DWORD mode = 0;
  return h != nullptr && h != INVALID_HANDLE_VALUE && ::GetConsoleMode(h, &mode) != 0;
}

std::string to_utf8(const wchar_t* text, std::size_t length) {
  std::string out;
  if (length == 0) return out;
  const int n = ::WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(length), nullptr, 0,
                                      nullptr, nullptr);
  if (n <= 0) return out;
  out.resize(static_cast<std::size_t>(n));
  ::WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(length), &out[0], n, nullptr, nullptr);
  return out;
}

// Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence
// (an incomplete sequence at the end waits for the next write).
std::size_t complete_prefix(std::string_view bytes) {
  const std::size_t size = bytes.size();
  for (std::size_t back = 1; back <= 3 && back <= size; ++back) {
    const auto c = static_cast<unsigned char>(bytes[size - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    std::size_t need = 1;
    if ((c & 0xE0) == 0xC0) {
      need = 2;
    } else if ((c & 0xF0) == 0xE0) {
      need = 3;
    } else if ((c & 0xF8) == 0xF0) {
      need = 4;
    }
    return need > back ? size - back : size;
  }
  return size;
}

// One output stream: a console (UTF-16) or anything else (bytes).
class output_stream {
 public:
  explicit output_stream(DWORD which) : which_(which) {}

  bool write(std::string_view bytes, std::error_code& ec) {
    ec.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    const HANDLE h = ::GetStdHandle(which_);
    if (h == nullptr || h == INVALID_HANDLE_VALUE) {
      ec = std::make_error_code(std::errc::bad_file_descriptor);
      return false;
    }
    if (!is_console(h)) return write_bytes(h, bytes, ec);
    // Console: UTF-8 -> UTF-16, keeping a sequence split across writes for the next.
    pending_.append(bytes.data(), bytes.size());
    const std::size_t ready = complete_prefix(pending_);
    std::wstring wide;
    if (ready > 0) {
      const int n =
          ::MultiByteToWideChar(CP_UTF8, 0, pending_.data(), static_cast<int>(ready), nullptr, 0);
      if (n > 0) {
        wide.resize(static_cast<std::size_t>(n));
        ::MultiByteToWideChar(CP_UTF8, 0, pending_.data(), static_cast<int>(ready), &wide[0], n);
      }
    }
    pending_.erase(0, ready);
    std::size_t done = 0;
    while (done < wide.size()) {
      // Older consoles reject very large writes: 8 K characters at a time.
      const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(wide.size() - done, 8192));
      DWORD written = 0;
      if (!::WriteConsoleW(h, wide.data() + done, chunk, &written, nullptr)) {
        ec = last_error();
        return false;
      }
      if (written == 0) break;
      done += written;
    }
    return true;
  }

 private:
  static bool write_bytes(HANDLE h, std::string_view bytes, std::error_code& ec) {
    while (!bytes.empty()) {
      const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(bytes.size(), 1u << 20));
      DWORD written = 0;
      if (!::WriteFile(h, bytes.data(), chunk, &written, nullptr)) {
        const DWORD err = ::GetLastError();
        // The reader went away: report it like EPIPE on POSIX.
        // Cancelled by the control handler after a stop request: timed out, as on POSIX.
        ec = err == ERROR_NO_DATA || err == ERROR_BROKEN_PIPE
                 ? std::make_error_code(std::errc::broken_pipe)
             : err == ERROR_OPERATION_ABORTED
                 ? std::make_error_code(std::errc::timed_out)
                 : std::error_code(static_cast<int>(err), std::system_category());
        return false;
      }
      bytes.remove_prefix(written);
    }
    return true;
  }

  DWORD which_;
  std::mutex mutex_;
  std::string pending_;
};

output_stream& standard_output() {
  static output_stream s(STD_OUTPUT_HANDLE);
  return s;
}

output_stream& standard_error() {
  static output_stream s(STD_ERROR_HANDLE);
  return s;
}

// Console input converted to UTF-8, with what did not fit the caller's buffer kept.
struct console_input {
  std::string ready;  // converted, not yet returned
  wchar_t high_surrogate = 0;
  bool at_line_start = true;
  bool ended = false;
};

console_input& input_state() {
  static console_input s;
  return s;
}

// Reads one batch from the console into state.ready. False at end of input.
bool fill_from_console(HANDLE h, console_input& state, std::error_code& ec) {
  wchar_t buffer[4096];
  for (;;) {
    DWORD count = 0;
    std::size_t offset = 0;
    if (state.high_surrogate != 0) {
      buffer[0] = state.high_surrogate;
      state.high_surrogate = 0;
      offset = 1;
    }
    if (!::ReadConsoleW(h, buffer + offset, static_cast<DWORD>(4096 - offset), &count, nullptr)) {
      const DWORD err = ::GetLastError();
      if (err == ERROR_OPERATION_ABORTED) continue;  // Ctrl+C: the handler decides
      ec = std::error_code(static_cast<int>(err), std::system_category());
      return false;
    }
    std::size_t length = offset + count;
    if (count == 0) {
      if (offset == 0) continue;  // interrupted read (Ctrl+C): read again, as POSIX does
    }
    // Ctrl+Z at the start of a line ends the input, as for the C runtime.
    if (state.at_line_start && length > 0 && buffer[0] == 0x1A) {
      state.ended = true;
      return false;
    }
    if (length > 0 && buffer[length - 1] >= 0xD800 && buffer[length - 1] <= 0xDBFF) {
      state.high_surrogate = buffer[--length];
    }
    // The console gives lines as "...\r\n": a POSIX terminal gives "...\n".
    std::wstring text(buffer, length);
    std::wstring lf;
    lf.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == L'\r' && i + 1 < text.size() && text[i + 1] == L'\n') continue;
      lf.push_back(text[i]);
    }
    if (!lf.empty()) state.at_line_start = lf.back() == L'\n';
    state.ready += to_utf8(lf.data(), lf.size());
    if (!state.ready.empty()) return true;
  }
}

BOOL WINAPI control_handler(DWORD type) {
  void (*handler)() = interrupt_handler.load();
  if (handler == nullptr) return FALSE;  // default: terminate
  switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
      handler();
      // A write to a pipe whose reader stalls would keep the main thread from ever
      // seeing the stop: after a second, cancel it (and any later one) so the stop
      // takes effect in bounded time. The process exits meanwhile, ending this thread.
      for (int i = 0; i < 30 && main_thread != nullptr; ++i) {
        ::Sleep(1000);
        ::CancelSynchronousIo(main_thread);
      }
      return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      // Like SIGTERM. The system ends the process when this returns: give the main
      // thread its few seconds to stop cleanly (it exits the process itself).
      handler();
      ::Sleep(5000);
      return TRUE;
    default:
      return FALSE;
  }
}

}  // namespace

void console_init() {
  // Bytes in, bytes out: no CRLF translation or Ctrl+Z handling by the C runtime, so a
  // redirected stream carries the same bytes as on POSIX.
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
  // No "program has stopped working" dialog boxes in unattended runs.
  ::SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
}

std::vector<std::string> console_arguments(int argc, char** argv) {
  // argv is in the ANSI code page (lossy); the UTF-16 command line is not.
  int count = 0;
  wchar_t** wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (wide == nullptr) return std::vector<std::string>(argv, argv + argc);
  std::vector<std::string> args;
  args.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    args.push_back(to_utf8(wide[i], std::wcslen(wide[i])));
  ::LocalFree(wide);
  return args;
}

std::string argument_encoding() {
  return "UTF-8";
}

std::string local_encoding() {
  return "UTF-8";
}

bool input_is_terminal() {
  return is_console(::GetStdHandle(STD_INPUT_HANDLE));
}
bool output_is_terminal() {
  return is_console(::GetStdHandle(STD_OUTPUT_HANDLE));
}
bool error_is_terminal() {
  return is_console(::GetStdHandle(STD_ERROR_HANDLE));
}

std::size_t read_input(char* buffer, std::size_t size, std::error_code& ec) {
  ec.clear();
  if (size == 0) return 0;
  const HANDLE h = ::GetStdHandle(STD_INPUT_HANDLE);
  if (h == nullptr || h == INVALID_HANDLE_VALUE) return 0;  // no standard input: empty
  if (is_console(h)) {
    console_input& state = input_state();
    if (state.ready.empty() && (state.ended || !fill_from_console(h, state, ec))) return 0;
    const std::size_t n = std::min(size, state.ready.size());
    std::memcpy(buffer, state.ready.data(), n);
    state.ready.erase(0, n);
    return n;
  }
  DWORD got = 0;
  const DWORD want = static_cast<DWORD>(std::min<std::size_t>(size, 1u << 20));
  if (!::ReadFile(h, buffer, want, &got, nullptr)) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_BROKEN_PIPE || err == ERROR_HANDLE_EOF) return 0;  // writer closed
    ec = std::error_code(static_cast<int>(err), std::system_category());
    return 0;
  }
  return got;
}

bool write_output(std::string_view bytes, std::error_code& ec) {
  return standard_output().write(bytes, ec);
}

bool write_error(std::string_view bytes) {
  std::error_code ec;
  // A console takes UTF-16 (converted from UTF-8 by the stream); anything else takes
  // the bytes of the error encoding.
  if (is_console(::GetStdHandle(STD_ERROR_HANDLE))) return standard_error().write(bytes, ec);
  std::string scratch;
  return standard_error().write(error_bytes(bytes, scratch), ec);
}

void erase_error_line() {
  const HANDLE h = ::GetStdHandle(STD_ERROR_HANDLE);
  if (!is_console(h)) return;
  // The console API rather than escape sequences: older consoles do not take those.
  CONSOLE_SCREEN_BUFFER_INFO info;
  if (!::GetConsoleScreenBufferInfo(h, &info)) return;
  COORD start;
  start.X = 0;
  start.Y = info.dwCursorPosition.Y;
  DWORD written = 0;
  ::FillConsoleOutputCharacterW(h, L' ', static_cast<DWORD>(info.dwSize.X), start, &written);
  ::SetConsoleCursorPosition(h, start);
}

std::tm local_calendar_time(std::time_t t) {
  std::tm parts{};
  ::localtime_s(&parts, &t);
  return parts;
}

void on_interrupt(void (*handler)()) {
  if (main_thread == nullptr) {
    ::DuplicateHandle(::GetCurrentProcess(), ::GetCurrentThread(), ::GetCurrentProcess(),
                      &main_thread, 0, FALSE, DUPLICATE_SAME_ACCESS);
  }
  interrupt_handler.store(handler);
  ::SetConsoleCtrlHandler(control_handler, handler != nullptr ? TRUE : FALSE);
}

}  // namespace xsock::tools
