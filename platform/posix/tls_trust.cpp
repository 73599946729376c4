#include "tls/tls_trust.hpp"

#include <openssl/err.h>

namespace xsock::detail {

void load_system_trust(SSL_CTX* ctx) noexcept {
  // OpenSSL's default file and folder (Debian: /usr/lib/ssl/certs -> /etc/ssl/certs),
  // or what SSL_CERT_FILE / SSL_CERT_DIR name.
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();
}

}  // namespace xsock::detail
