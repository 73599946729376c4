// Internal: what a tls_context holds, shared by its copies, streams and layers.
#pragma once

#include <openssl/ssl.h>

#include <mutex>
#include <string>
#include <system_error>
#include <unordered_map>

#include "xsock/tls_context.hpp"

namespace xsock {

struct tls_context::impl {
  impl(tls_role r, std::error_code& ec);
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // The session kept for "name:port", or nullptr (the caller owns a reference).
  SSL_SESSION* find_session(const std::string& key);
  void keep_session(const std::string& key, SSL_SESSION* session);

  SSL_CTX* ctx = nullptr;
  tls_role role;
  bool insecure = false;
  bool resume = true;
  // ALPN in wire form (length-prefixed names), for the server's choice.
  std::string alpn;

  std::mutex sessions_mutex;
  std::unordered_map<std::string, SSL_SESSION*> sessions;
};

namespace detail {

// The first error in OpenSSL's queue as an error_code (the queue is cleared), or
// `fallback` when the queue is empty. Verification failures are reported by the
// engine, which knows the SSL.
std::error_code take_openssl_error(std::error_code fallback);

}  // namespace detail
}  // namespace xsock
