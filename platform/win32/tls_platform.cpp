#include "tls/tls_platform.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

// After OpenSSL: <wincrypt.h> defines X509_NAME and friends as macros, which would
// break OpenSSL's declarations of the same names.
#include "win32/winsock.hpp"

#include <wincrypt.h>

#include "xsock/error.hpp"

namespace xsock::detail {

void load_system_trust(SSL_CTX* ctx) noexcept {
  // OpenSSL's own default file and folder (or SSL_CERT_FILE / SSL_CERT_DIR) first: on
  // Windows they rarely exist, but a user who points SSL_CERT_FILE at a bundle gets it.
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();

  // OpenSSL does not read the Windows certificate store by itself: copy the ROOT store's
  // certificates (what Windows trusts for TLS) into the context's X509_STORE.
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  if (store == nullptr) return;
  HCERTSTORE system_store = CertOpenSystemStoreW(0, L"ROOT");
  if (system_store == nullptr) return;
  PCCERT_CONTEXT cert = nullptr;
  while ((cert = CertEnumCertificatesInStore(system_store, cert)) != nullptr) {
    if (cert->dwCertEncodingType != X509_ASN_ENCODING) continue;
    const unsigned char* der = cert->pbCertEncoded;
    X509* x509 = d2i_X509(nullptr, &der, static_cast<long>(cert->cbCertEncoded));
    if (x509 == nullptr) continue;
    // Fails for a certificate already in the store (from the default paths): harmless.
    X509_STORE_add_cert(store, x509);
    X509_free(x509);
  }
  CertCloseStore(system_store, 0);
  // One unparsable or duplicate certificate must not surface as the next call's error.
  ERR_clear_error();
}

// OpenSSL 3.0 keeps GetLastError() there on Windows, not errno: a missing folder is
// ERROR_PATH_NOT_FOUND (3), which read as an errno would be "no such process".
std::error_code openssl_system_error(int reason) noexcept {
  return {reason, socket_category()};
}

}  // namespace xsock::detail
