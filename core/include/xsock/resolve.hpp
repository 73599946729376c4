// xsock::resolve: host and service names to endpoints.
#pragma once

#include <string_view>
#include <system_error>
#include <vector>

#include "xsock/endpoint.hpp"

namespace xsock {

/// Why a name lookup failed, the same on every platform (getaddrinfo's EAI_* values
/// are not errno values and differ between systems).
enum class resolve_errc {
  host_not_found = 1,  ///< the name does not exist (EAI_NONAME, WSAHOST_NOT_FOUND)
  try_again,           ///< temporary failure (EAI_AGAIN, WSATRY_AGAIN)
  service_not_found,   ///< the service/port is unknown (EAI_SERVICE, WSATYPE_NOT_FOUND)
  no_data,             ///< the name exists but has no address (EAI_NODATA, WSANO_DATA)
  failure,             ///< any other resolver failure (EAI_FAIL, EAI_MEMORY, ...)
};

const std::error_category& resolve_category() noexcept;
std::error_code make_error_code(resolve_errc e) noexcept;

///@{
/// Every TCP endpoint `getaddrinfo(host, service)` returns, in its order (the order in
/// which `stream_socket::connect(host, ...)` tries them). `service` is a port number or
/// a service name. Never returns an empty list without an error. An empty host, or a
/// host or service holding a NUL byte, is refused with `std::errc::invalid_argument`
/// (the system would read them as "this machine" or cut them short). The error_code
/// form may throw only `std::bad_alloc`.
std::vector<endpoint> resolve(std::string_view host, std::string_view service);
std::vector<endpoint> resolve(std::string_view host, std::string_view service, std::error_code& ec);
///@}

}  // namespace xsock

template <>
struct std::is_error_code_enum<xsock::resolve_errc> : std::true_type {};
