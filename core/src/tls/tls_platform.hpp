// The platform's part of xsock::tls: where the system's trusted CAs are, and what
// OpenSSL's system errors mean. Implemented once per platform, as
// platform/posix/tls_platform.cpp and platform/win32/tls_platform.cpp.
#pragma once

#include <openssl/ssl.h>

#include <system_error>

namespace xsock::detail {

// Adds the system's trusted CA certificates to `ctx`'s store. A system without a store
// is not an error here: verification then fails, naming the certificate it could not
// trust.
void load_system_trust(SSL_CTX* ctx) noexcept;

// The reason of an OpenSSL error of ERR_LIB_SYS (a file that would not open) as xsock's
// error: errno on POSIX, GetLastError() on Windows.
std::error_code openssl_system_error(int reason) noexcept;

}  // namespace xsock::detail
