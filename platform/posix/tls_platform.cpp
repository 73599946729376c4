#include "tls/tls_platform.hpp"

#include <openssl/err.h>

#include "backend.hpp"

namespace xsock::detail {

void load_system_trust(SSL_CTX* ctx) noexcept {
  // OpenSSL's default file and folder (Debian: /usr/lib/ssl/certs -> /etc/ssl/certs),
  // or what SSL_CERT_FILE / SSL_CERT_DIR name.
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();
}

std::error_code openssl_system_error(int reason) noexcept {
  return make_error(static_cast<std::errc>(reason));
}

}  // namespace xsock::detail
