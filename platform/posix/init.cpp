// POSIX sockets need no library start-up.
#include "backend.hpp"

namespace xsock::detail {

void ensure_initialized(std::error_code& ec) noexcept {
  ec.clear();
}

}  // namespace xsock::detail
