// The platform's part of xsock::tls: where the system's trusted CAs are. Implemented
// once per platform, as platform/posix/tls_trust.cpp and platform/win32/tls_trust.cpp.
#pragma once

#include <openssl/ssl.h>

namespace xsock::detail {

// Adds the system's trusted CA certificates to `ctx`'s store. A system without a store
// is not an error here: verification then fails, naming the certificate it could not
// trust.
void load_system_trust(SSL_CTX* ctx) noexcept;

}  // namespace xsock::detail
