// errno values are the native codes; they already are the generic conditions.
#include <netdb.h>

#include <cerrno>
#include <cstring>

#include "backend.hpp"
#include "xsock/error.hpp"
#include "xsock/resolve.hpp"

namespace xsock::detail {

std::error_code last_error() noexcept {
  return {errno, socket_category()};
}

std::error_code make_error(std::errc condition) noexcept {
  return {static_cast<int>(condition), socket_category()};
}

std::error_condition portable_condition(int native) noexcept {
  return {native, std::generic_category()};
}

std::string native_message(int native) {
  return std::generic_category().message(native);
}

int resolve_error(int native) noexcept {
  switch (native) {
    case EAI_NONAME:
      return static_cast<int>(resolve_errc::host_not_found);
    case EAI_AGAIN:
      return static_cast<int>(resolve_errc::try_again);
    case EAI_SERVICE:
      return static_cast<int>(resolve_errc::service_not_found);
#if defined(EAI_NODATA) && EAI_NODATA != EAI_NONAME
    case EAI_NODATA:
      return static_cast<int>(resolve_errc::no_data);
#endif
#if defined(EAI_ADDRFAMILY)
    case EAI_ADDRFAMILY:
      return static_cast<int>(resolve_errc::no_data);
#endif
    default:
      return static_cast<int>(resolve_errc::failure);
  }
}

}  // namespace xsock::detail
