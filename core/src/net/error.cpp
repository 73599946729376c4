#include "xsock/error.hpp"

#include <string>

#include "backend.hpp"
#include "xsock/resolve.hpp"

namespace xsock {
namespace {

// One text per portable condition, so a message reads the same on every platform
// (strerror and FormatMessage word the same condition differently).
const char* portable_text(std::errc e) noexcept {
  switch (e) {
    case std::errc::connection_refused:
      return "connection refused";
    case std::errc::timed_out:
      return "timed out";
    case std::errc::address_in_use:
      return "address already in use";
    case std::errc::address_not_available:
      return "address not available";
    case std::errc::connection_reset:
      return "connection reset by peer";
    case std::errc::connection_aborted:
      return "connection aborted";
    case std::errc::broken_pipe:
      return "broken pipe";
    case std::errc::not_connected:
      return "not connected";
    case std::errc::already_connected:
      return "already connected";
    case std::errc::network_unreachable:
      return "network unreachable";
    case std::errc::network_down:
      return "network down";
    case std::errc::network_reset:
      return "network reset";
    case std::errc::host_unreachable:
      return "host unreachable";
    case std::errc::operation_would_block:
      return "operation would block";
    case std::errc::operation_in_progress:
      return "operation in progress";
    case std::errc::connection_already_in_progress:
      return "connection already in progress";
    case std::errc::invalid_argument:
      return "invalid argument";
    case std::errc::permission_denied:
      return "permission denied";
    case std::errc::too_many_files_open:
      return "too many open files";
    case std::errc::too_many_files_open_in_system:
      return "too many open files in system";
    case std::errc::bad_file_descriptor:
      return "bad socket handle";
    case std::errc::not_a_socket:
      return "not a socket";
    case std::errc::address_family_not_supported:
      return "address family not supported";
    case std::errc::no_buffer_space:
      return "no buffer space available";
    case std::errc::message_size:
      return "message too long";
    case std::errc::interrupted:
      return "interrupted";
    case std::errc::operation_not_supported:
      return "operation not supported";
    case std::errc::protocol_not_supported:
      return "protocol not supported";
    case std::errc::not_enough_memory:
      return "not enough memory";
    case std::errc::operation_not_permitted:
      return "operation not permitted";
    case std::errc::no_such_file_or_directory:
      return "no such file or directory";
    case std::errc::file_exists:
      return "already exists";
    case std::errc::operation_canceled:
      return "operation canceled";
    case std::errc::io_error:
      return "input/output error";
    case std::errc::no_space_on_device:
      return "no space left on device";
    case std::errc::read_only_file_system:
      return "read-only file system";
    case std::errc::is_a_directory:
      return "is a directory";
    case std::errc::wrong_protocol_type:
      return "wrong protocol type";
    case std::errc::no_protocol_option:
      return "protocol option not available";
    case std::errc::destination_address_required:
      return "destination address required";
    case std::errc::bad_address:
      return "bad address";
    case std::errc::filename_too_long:
      return "name too long";
    case std::errc::function_not_supported:
      return "function not supported";
    default:
      return nullptr;
  }
}

// The system's own text with its first letter lower-cased and no final period, for
// codes that have no portable text.
std::string lowered(std::string text) {
  while (!text.empty() &&
         (text.back() == '.' || text.back() == ' ' || text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      (text.size() < 2 || !(text[1] >= 'A' && text[1] <= 'Z')))
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

class socket_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "xsock.socket"; }
  std::error_condition default_error_condition(int native) const noexcept override {
    return detail::portable_condition(native);
  }
  std::string message(int native) const override {
    const auto cond = detail::portable_condition(native);
    if (cond.category() == std::generic_category()) {
      if (const char* text = portable_text(static_cast<std::errc>(cond.value()))) return text;
    }
    return lowered(detail::native_message(native));
  }
};

class resolve_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "xsock.resolve"; }
  std::string message(int value) const override {
    switch (static_cast<resolve_errc>(value)) {
      case resolve_errc::host_not_found:
        return "host not found";
      case resolve_errc::try_again:
        return "temporary failure in name resolution";
      case resolve_errc::service_not_found:
        return "service not found";
      case resolve_errc::no_data:
        return "host has no address";
      case resolve_errc::failure:
        return "name resolution failed";
    }
    return "unknown resolver error";
  }
};

}  // namespace

const std::error_category& socket_category() noexcept {
  static const socket_category_impl instance;
  return instance;
}

const std::error_category& resolve_category() noexcept {
  static const resolve_category_impl instance;
  return instance;
}

std::string error_text(const std::error_code& ec) {
  if (!ec) return "success";
  const std::error_category& category = ec.category();
  if (category == socket_category() || category == resolve_category()) return ec.message();
  if (category == std::generic_category() || category == std::system_category()) {
    const std::error_condition cond = ec.default_error_condition();
    // Not from a socket call (those carry socket_category): a file, such as a closed
    // standard output.
    if (cond == std::errc::bad_file_descriptor) return "bad file descriptor";
    if (cond.category() == std::generic_category()) {
      if (const char* text = portable_text(static_cast<std::errc>(cond.value()))) return text;
    }
  }
  return lowered(ec.message());
}

std::error_code make_error_code(resolve_errc e) noexcept {
  return {static_cast<int>(e), resolve_category()};
}

}  // namespace xsock
