#include "xsock/resolve.hpp"

#include <string>

#include "backend.hpp"
#include "net/throw.hpp"

namespace xsock {

std::vector<endpoint> resolve(std::string_view host, std::string_view service,
                              std::error_code& ec) {
  ec.clear();
  detail::ensure_initialized(ec);
  if (ec) return {};
  return detail::resolve(host, service, ec);
}

std::vector<endpoint> resolve(std::string_view host, std::string_view service) {
  std::error_code ec;
  auto result = resolve(host, service, ec);
  detail::throw_if(ec, "resolve " + std::string(host) + ":" + std::string(service));
  return result;
}

}  // namespace xsock
