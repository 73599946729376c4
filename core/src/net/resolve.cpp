#include "xsock/resolve.hpp"

#include <string>

#include "backend.hpp"
#include "net/throw.hpp"

namespace xsock {

std::vector<endpoint> resolve(std::string_view host, std::string_view service,
                              std::error_code& ec) {
  ec.clear();
  // getaddrinfo would read an empty host as "the local machine" and stop at an
  // embedded NUL: both would silently connect somewhere the caller did not name.
  if (host.empty() || host.find('\0') != std::string_view::npos ||
      service.find('\0') != std::string_view::npos) {
    ec = detail::make_error(std::errc::invalid_argument);
    return {};
  }
  detail::ensure_initialized(ec);
  if (ec) return {};
  return detail::resolve(host, service, ec);
}

std::vector<endpoint> resolve(std::string_view host, std::string_view service) {
  std::error_code ec;
  auto result = resolve(host, service, ec);
  if (ec) {
    std::string what = host.empty() ? std::string("\"\"") : detail::printable(host);
    what += ':';
    what += detail::printable(service);
    detail::throw_error(ec, "resolve", what);
  }
  return result;
}

}  // namespace xsock
