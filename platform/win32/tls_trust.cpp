#include "tls/tls_trust.hpp"

#include <openssl/err.h>

namespace xsock::detail {

void load_system_trust(SSL_CTX* ctx) noexcept {
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();
}

}  // namespace xsock::detail
