// Internal helpers shared by the core sources: the throwing forms' error messages.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "xsock/endpoint.hpp"
#include "xsock/error.hpp"

namespace xsock::detail {

// The throwing form of every operation: "<operation>: <portable reason>". Called only
// once an error was seen ([[noreturn]], out of line), so success costs no text.
[[noreturn]] void throw_error(const std::error_code& ec, const char* operation);
// "<operation> <address>: <reason>" (the address as endpoint::to_string).
[[noreturn]] void throw_error(const std::error_code& ec, const char* operation,
                              const endpoint& where);
// "<operation> <what>: <reason>", for messages that name something else (a handle, a
// connection id, a host and port).
[[noreturn]] void throw_error(const std::error_code& ec, const char* operation,
                              std::string_view what);

// `text` with bytes that a terminal would act on (controls, DEL, NUL), the quote and
// the backslash escaped as \xHH: an error message quoting untrusted input stays one
// harmless line.
std::string printable(std::string_view text);
// `printable(text)` in double quotes.
std::string quoted(std::string_view text);

}  // namespace xsock::detail
