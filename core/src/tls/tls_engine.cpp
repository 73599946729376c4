#include "tls/tls_engine.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <climits>

#include "backend.hpp"
#include "tls/tls_platform.hpp"
#include "xsock/tls_error.hpp"

namespace xsock::detail {
namespace {

// "[::1]" as the name of ::1: what a URL-style host gives.
std::string_view strip_brackets(std::string_view name) noexcept {
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
    return name.substr(1, name.size() - 2);
  return name;
}

bool is_ip_address(const std::string& name) noexcept {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
  if (ip == nullptr) {
    ERR_clear_error();
    return false;
  }
  ASN1_OCTET_STRING_free(ip);
  return true;
}

}  // namespace

tls_engine::tls_engine(std::shared_ptr<tls_context::impl> context, std::string_view server_name,
                       std::uint16_t port, std::error_code& ec)
    : context_(std::move(context)) {
  ec.clear();
  ERR_clear_error();
  ssl_ = SSL_new(context_->ctx);
  BIO* in = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || in == nullptr || out_ == nullptr) {
    BIO_free(in);
    BIO_free(out_);
    out_ = nullptr;
    ec = take_openssl_error(detail::make_error(std::errc::not_enough_memory));
    return;
  }
  // An empty input buffer means "wait for more", not end of stream: the transport's
  // end is the caller's to report.
  BIO_set_mem_eof_return(in, -1);
  SSL_set_bio(ssl_, in, out_);
  SSL_set_app_data(ssl_, this);
  if (context_->role == tls_role::server) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  const std::string name(strip_brackets(server_name));
  const bool verify = !context_->insecure;
  SSL_set_verify(ssl_, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (verify && name.empty()) {
    // A chain check without a name would accept any certificate the CAs ever signed.
    ec = make_error_code(tls_errc::no_server_name);
    return;
  }
  bool ok = true;
  if (!name.empty()) {
    if (is_ip_address(name)) {
      // RFC 6066: no SNI for an address; the certificate must name it as an IP SAN.
      if (verify) ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str()) == 1;
    } else {
      ok = SSL_set_tlsext_host_name(ssl_, name.c_str()) == 1;
      if (ok && verify) {
        SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set1_host(ssl_, name.c_str()) == 1;
      }
    }
  }
  if (!ok) {
    ec = take_openssl_error(detail::make_error(std::errc::invalid_argument));
    return;
  }
  if (context_->resume && !name.empty()) {
    session_key_ = name + ":" + std::to_string(port);
    if (SSL_SESSION* s = context_->find_session(session_key_)) {
      SSL_set_session(ssl_, s);
      SSL_SESSION_free(s);
    }
  }
}

tls_engine::~tls_engine() {
  // A stream that ended with the peer's close_notify ended cleanly, whether or not this
  // end answered with its own: OpenSSL would otherwise take the session for a broken
  // one and make it unresumable when the SSL goes.
  if (ssl_ != nullptr && peer_closed_)
    SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
  SSL_free(ssl_);
}

void tls_engine::feed(std::string_view in, std::error_code& ec) {
  BIO* rbio = SSL_get_rbio(ssl_);
  while (!in.empty()) {
    const int chunk = in.size() > INT_MAX ? INT_MAX : static_cast<int>(in.size());
    const int n = BIO_write(rbio, in.data(), chunk);
    if (n <= 0) {
      ec = take_openssl_error(detail::make_error(std::errc::not_enough_memory));
      return;
    }
    in.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool tls_engine::has_output() const noexcept {
  return out_ != nullptr && BIO_pending(out_) > 0;
}

void tls_engine::take_output(std::string& out) {
  if (out_ == nullptr) return;
  char* data = nullptr;
  const long size = BIO_get_mem_data(out_, &data);
  if (size <= 0) return;
  out.append(data, static_cast<std::size_t>(size));
  (void)BIO_reset(out_);
}

bool tls_engine::handshake(std::error_code& ec) {
  ec.clear();
  if (established_) return true;
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    established_ = true;
    return true;
  }
  ec = failure(ret);
  return false;
}

std::size_t tls_engine::read(void* data, std::size_t size, std::error_code& ec) {
  ec.clear();
  if (peer_closed_ || size == 0) return 0;
  ERR_clear_error();
  std::size_t n = 0;
  if (SSL_read_ex(ssl_, data, size, &n) == 1) return n;
  ec = failure(0);
  return 0;
}

void tls_engine::write(std::string_view data, std::error_code& ec) {
  ec.clear();
  while (!data.empty()) {
    ERR_clear_error();
    std::size_t n = 0;
    if (SSL_write_ex(ssl_, data.data(), data.size(), &n) != 1) {
      ec = failure(0);
      if (!ec) ec = make_error_code(tls_errc::not_established);
      return;
    }
    data.remove_prefix(n);
  }
}

void tls_engine::close_notify() {
  if (closed_ || !established_) return;
  closed_ = true;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string tls_engine::alpn() const {
  const unsigned char* name = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl_, &name, &size);
  return name == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(name), size);
}

std::string tls_engine::version() const {
  return established_ ? std::string(SSL_get_version(ssl_)) : std::string();
}

bool tls_engine::session_reused() const noexcept {
  return SSL_session_reused(ssl_) == 1;
}

std::error_code tls_engine::failure(int ret) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return {};
    case SSL_ERROR_ZERO_RETURN:
      peer_closed_ = true;
      return {};
    case SSL_ERROR_SSL: {
      const long verify = SSL_get_verify_result(ssl_);
      const unsigned long first = ERR_peek_error();
      if (verify != X509_V_OK && ERR_GET_LIB(first) == ERR_LIB_SSL &&
          ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        ERR_clear_error();
        return {static_cast<int>(verify), tls_verify_category()};
      }
      break;
    }
    default:
      break;
  }
  return take_openssl_error(detail::make_error(std::errc::protocol_error));
}

std::error_code take_openssl_error(std::error_code fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  // The system's own errors (a missing file: fopen's errno) read as xsock's do.
  if (ERR_SYSTEM_ERROR(e) || ERR_GET_LIB(e) == ERR_LIB_SYS)
    return openssl_system_error(static_cast<int>(ERR_GET_REASON(e)));
  return {static_cast<int>(e & 0x7fffffffUL), tls_library_category()};
}

}  // namespace xsock::detail
