// Console I/O for the tools: the only place that knows how a terminal, a pipe or a
// Windows console is read and written. console_posix.cpp implements it on POSIX,
// console_win32.cpp on Windows (wide console API); CMake compiles one of them.
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace xsock::tools {

/// Sets the process up for console I/O: the user's locale (POSIX), no SIGPIPE death on
/// a closed pipe (write errors are reported instead), binary standard streams
/// (Windows). On POSIX, descriptors 0-2 closed at start are opened on /dev/null in the
/// direction they are not used in (they still fail like closed ones), so no socket can
/// become standard output. Call first in main, before any socket is opened.
void console_init();

/// The command-line arguments, program name first, in `argument_encoding()`.
std::vector<std::string> console_arguments(int argc, char** argv);

/// The encoding of the command-line arguments: the locale's charset on POSIX (UTF-8
/// when the locale is C/POSIX); UTF-8 on Windows (read as UTF-16 and converted).
std::string argument_encoding();

/// The encoding of what `read_input` returns and `write_output` expects for text:
/// POSIX: the locale's charset (UTF-8 for C/POSIX). Windows: UTF-8 (a console is read
/// and written as UTF-16 through the console API; redirected streams are UTF-8).
std::string local_encoding();

/// True when standard input / output / error is an interactive terminal (console).
bool input_is_terminal();
bool output_is_terminal();
bool error_is_terminal();

/// Reads some bytes of standard input. Returns 0 at end of input; sets `ec` on error.
/// Blocks until at least one byte (or the end) is available.
std::size_t read_input(char* buffer, std::size_t size, std::error_code& ec);

/// Writes all of `bytes` to standard output / standard error, retrying partial writes.
/// Returns false (with `ec`) when the stream is gone (closed pipe, full disk). Waits as
/// long as the reader needs, except after an interrupt (`on_interrupt`): then what
/// cannot be written within about a second fails with `std::errc::timed_out`, so a
/// stalled reader cannot keep the tool from stopping.
bool write_output(std::string_view bytes, std::error_code& ec);
/// `write_error` takes UTF-8 text (see set_error_encoding).
bool write_error(std::string_view bytes);

/// Standard error takes its text in `encoding` from now on: the UTF-8 messages given
/// to `write_error` are converted (a character it lacks becomes its substitute, `?`),
/// as standard output's text is. Until called: `local_encoding()`. A Windows console
/// is written as UTF-16 whatever this says.
void set_error_encoding(const std::string& encoding);

/// `utf8` as standard error takes it (see set_error_encoding): `utf8` itself, or its
/// conversion in `scratch`. For the console implementations.
std::string_view error_bytes(std::string_view utf8, std::string& scratch);

/// Standard error on a terminal: moves the cursor to the start of its line and blanks
/// the line, so that a prompt (and what was typed after it) makes room for other
/// output. Anything else: does nothing.
void erase_error_line();

/// `t` in the system's time zone (thread-safe `localtime`).
std::tm local_calendar_time(std::time_t t);

/// Calls `handler` on SIGINT/SIGTERM (Ctrl+C/Ctrl+Break on Windows). The handler runs
/// in signal context (or on a console control thread): it may only do
/// async-signal-safe things, such as `xsock::server::stop()`.
void on_interrupt(void (*handler)());

}  // namespace xsock::tools
