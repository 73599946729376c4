// xsock::error and the socket error category.
#pragma once

#include <string>
#include <system_error>

namespace xsock {

/// The exception every throwing xsock operation raises. `what()` names the operation
/// and the address, then the portable reason: "connect 127.0.0.1:7788: connection
/// refused". `code()` compares equal to the portable `std::errc` condition on every
/// platform (`e.code() == std::errc::connection_refused`).
class error : public std::system_error {
 public:
  /// The error `code` after the operation and address `what`.
  error(std::error_code code, const std::string& what) : std::system_error(code, what) {}
};

/// The category of native socket error codes (errno on POSIX, WSA codes on Windows).
/// Its `default_error_condition` maps each native code onto the portable
/// `std::generic_category` condition, and `message` gives the same lower-case text for
/// the same condition on every platform.
const std::error_category& socket_category() noexcept;

/// The text of any error code as xsock prints it: one lower-case text per portable
/// condition, the same on every platform, for codes of `socket_category()`,
/// `std::generic_category()` and `std::system_category()` alike ("broken pipe",
/// "connection refused"); other categories give their own message, its first letter
/// lower-cased. May throw only `std::bad_alloc`.
std::string error_text(const std::error_code& ec);

}  // namespace xsock
