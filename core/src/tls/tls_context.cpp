#include "xsock/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <filesystem>

#include "backend.hpp"
#include "net/throw.hpp"
#include "tls/tls_engine.hpp"
#include "tls/tls_layer.hpp"
#include "tls/tls_platform.hpp"
#include "xsock/tls_error.hpp"

namespace xsock {
namespace {

// A client's new session (TLS 1.3: a ticket after the handshake): kept under the
// engine's "name:port" for the next handshake to the same server.
int keep_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* engine = static_cast<detail::tls_engine*>(SSL_get_app_data(ssl));
  auto* context = static_cast<tls_context::impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (engine == nullptr || context == nullptr || !context->resume) return 0;
  const std::string& key = engine->session_key();
  if (key.empty()) return 0;
  context->keep_session(key, session);
  return 1;  // the reference is ours now
}

// A server's ALPN choice: its own first preference that the client offers; none in
// common goes on without ALPN rather than failing.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                unsigned int in_size, void* arg) {
  const auto* context = static_cast<const tls_context::impl*>(arg);
  if (context->alpn.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* chosen = nullptr;
  const auto* mine = reinterpret_cast<const unsigned char*>(context->alpn.data());
  if (SSL_select_next_proto(&chosen, out_size, mine, static_cast<unsigned>(context->alpn.size()),
                            in, in_size) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

tls_context::impl::impl(tls_role r, std::error_code& ec) : role(r) {
  ec.clear();
  ERR_clear_error();
  ctx = SSL_CTX_new(role == tls_role::client ? TLS_client_method() : TLS_server_method());
  if (ctx == nullptr) {
    ec = detail::take_openssl_error(detail::make_error(std::errc::not_enough_memory));
    return;
  }
  SSL_CTX_set_app_data(ctx, this);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // An idle connection gives its record buffers back (some 34 KiB each).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // TLS 1.2 renegotiation lets a peer make this end redo expensive handshakes on an
  // open connection at will; nothing here needs it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (role == tls_role::client) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    detail::load_system_trust(ctx);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_new_session);
  } else {
    static const unsigned char id[] = "xsock";
    SSL_CTX_set_session_id_context(ctx, id, sizeof id - 1);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, this);
  }
  ERR_clear_error();
}

tls_context::impl::~impl() {
  for (auto& entry : sessions)
    SSL_SESSION_free(entry.second);
  SSL_CTX_free(ctx);
}

SSL_SESSION* tls_context::impl::find_session(const std::string& key) {
  std::lock_guard<std::mutex> lock(sessions_mutex);
  const auto it = sessions.find(key);
  if (it == sessions.end()) return nullptr;
  if (SSL_SESSION_is_resumable(it->second) != 1) {
    SSL_SESSION_free(it->second);
    sessions.erase(it);
    return nullptr;
  }
  SSL_SESSION_up_ref(it->second);
  return it->second;
}

void tls_context::impl::keep_session(const std::string& key, SSL_SESSION* session) {
  std::lock_guard<std::mutex> lock(sessions_mutex);
  SSL_SESSION*& slot = sessions[key];
  if (slot != nullptr) SSL_SESSION_free(slot);
  slot = session;
}

tls_context::tls_context(tls_role role) {
  std::error_code ec;
  impl_ = std::make_shared<impl>(role, ec);
  if (ec) detail::throw_error(ec, "tls context");
}

tls_context::tls_context(tls_role role, std::error_code& ec)
    : impl_(std::make_shared<impl>(role, ec)) {}

tls_role tls_context::role() const noexcept {
  return impl_->role;
}

namespace {

// The error of a failed load, its reason from OpenSSL's queue (a missing file comes
// as the system's "no such file or directory").
std::error_code load_error() {
  const unsigned long first = ERR_peek_error();
  if (ERR_GET_LIB(first) == ERR_LIB_X509 && ERR_GET_REASON(first) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    return make_error_code(tls_errc::key_mismatch);
  }
  return detail::take_openssl_error(make_error_code(tls_errc::bad_file));
}

}  // namespace

void tls_context::load_verify_file(const std::string& path, std::error_code& ec) {
  ERR_clear_error();
  ec.clear();
  if (SSL_CTX_load_verify_file(impl_->ctx, path.c_str()) != 1) ec = load_error();
}

void tls_context::load_verify_file(const std::string& path) {
  std::error_code ec;
  load_verify_file(path, ec);
  if (ec) detail::throw_error(ec, "load CA file", path);
}

void tls_context::load_verify_dir(const std::string& path, std::error_code& ec) {
  ERR_clear_error();
  ec.clear();
  // OpenSSL looks into the folder only when it verifies: a wrong path would surface
  // as "unable to get local issuer certificate" at the first handshake.
  std::error_code status_ec;
  const std::filesystem::file_status st = std::filesystem::status(path, status_ec);
  if (!std::filesystem::exists(st)) {
    ec = detail::make_error(std::errc::no_such_file_or_directory);
    return;
  }
  if (!std::filesystem::is_directory(st)) {
    ec = detail::make_error(std::errc::not_a_directory);
    return;
  }
  if (SSL_CTX_load_verify_dir(impl_->ctx, path.c_str()) != 1) ec = load_error();
}

void tls_context::load_verify_dir(const std::string& path) {
  std::error_code ec;
  load_verify_dir(path, ec);
  if (ec) detail::throw_error(ec, "load CA folder", path);
}

void tls_context::use_certificate_chain_file(const std::string& path, std::error_code& ec) {
  ERR_clear_error();
  ec.clear();
  if (SSL_CTX_use_certificate_chain_file(impl_->ctx, path.c_str()) != 1) ec = load_error();
}

void tls_context::use_certificate_chain_file(const std::string& path) {
  std::error_code ec;
  use_certificate_chain_file(path, ec);
  if (ec) detail::throw_error(ec, "load certificate chain", path);
}

void tls_context::use_private_key_file(const std::string& path, std::error_code& ec) {
  ERR_clear_error();
  ec.clear();
  if (SSL_CTX_use_PrivateKey_file(impl_->ctx, path.c_str(), SSL_FILETYPE_PEM) != 1) {
    ec = load_error();
    return;
  }
  if (SSL_CTX_get0_certificate(impl_->ctx) != nullptr &&
      SSL_CTX_check_private_key(impl_->ctx) != 1) {
    ERR_clear_error();
    ec = make_error_code(tls_errc::key_mismatch);
  }
}

void tls_context::use_private_key_file(const std::string& path) {
  std::error_code ec;
  use_private_key_file(path, ec);
  if (ec) detail::throw_error(ec, "load private key", path);
}

void tls_context::set_alpn(const std::vector<std::string>& protocols, std::error_code& ec) {
  ec.clear();
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      ec = make_error_code(tls_errc::bad_alpn);
      return;
    }
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  if (impl_->role == tls_role::client) {
    // 0 is success here, unlike the rest of OpenSSL.
    if (SSL_CTX_set_alpn_protos(impl_->ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0) {
      ec = detail::take_openssl_error(detail::make_error(std::errc::not_enough_memory));
      return;
    }
  }
  impl_->alpn = std::move(wire);
}

void tls_context::set_alpn(const std::vector<std::string>& protocols) {
  std::error_code ec;
  set_alpn(protocols, ec);
  if (ec) detail::throw_error(ec, "set ALPN");
}

void tls_context::set_min_version(tls_version version) noexcept {
  SSL_CTX_set_min_proto_version(impl_->ctx,
                                version == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
}

void tls_context::set_insecure_skip_verify(bool on) noexcept {
  impl_->insecure = on;
  if (impl_->role == tls_role::client)
    SSL_CTX_set_verify(impl_->ctx, on ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
}

bool tls_context::insecure_skip_verify() const noexcept {
  return impl_->insecure;
}

void tls_context::set_session_resumption(bool on) noexcept {
  impl_->resume = on;
  if (impl_->role == tls_role::server) {
    if (on) {
      SSL_CTX_clear_options(impl_->ctx, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(impl_->ctx, 2);
      SSL_CTX_set_session_cache_mode(impl_->ctx, SSL_SESS_CACHE_SERVER);
    } else {
      SSL_CTX_set_options(impl_->ctx, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(impl_->ctx, 0);
      SSL_CTX_set_session_cache_mode(impl_->ctx, SSL_SESS_CACHE_OFF);
    }
  }
}

std::unique_ptr<stream_layer> tls_context::make_layer(std::string_view server_name,
                                                      std::uint16_t port) const {
  return detail::make_tls_layer(impl_, server_name, port);
}

stream_layer_factory tls_context::layer_factory() const {
  return [context = impl_](const endpoint&) { return detail::make_tls_layer(context, {}, 0); };
}

void* tls_context::native_handle() const noexcept {
  return impl_->ctx;
}

}  // namespace xsock
