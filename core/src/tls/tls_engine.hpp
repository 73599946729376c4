// Internal: one TLS session driven through memory buffers, so that the blocking
// tls_stream and the event loop's layer share one state machine and neither lets
// OpenSSL touch a socket (no platform code, the loop's own readiness and limits).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "tls/tls_context_impl.hpp"

namespace xsock::detail {

class tls_engine {
 public:
  // A session of `context`'s role; a client's `server_name` is checked against the
  // certificate (host name or IP address) and sent as SNI when it is a name; `port`
  // keys the session cache.
  tls_engine(std::shared_ptr<tls_context::impl> context, std::string_view server_name,
             std::uint16_t port, std::error_code& ec);
  ~tls_engine();
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  // Bytes from the peer, for the next handshake step or read.
  void feed(std::string_view in, std::error_code& ec);
  // Appends what is to be sent to the peer (records made by the calls below).
  void take_output(std::string& out);
  bool has_output() const noexcept;

  // Advances the handshake; true once it is over (at once after that). False with no
  // error: it needs more input.
  bool handshake(std::error_code& ec);
  // Decrypts into `data`: the bytes decrypted, or 0 when more input is needed or the
  // peer sent close_notify (`peer_closed()`).
  std::size_t read(void* data, std::size_t size, std::error_code& ec);
  // Encrypts all of `data` (the output buffer takes everything).
  void write(std::string_view data, std::error_code& ec);
  // close_notify, once.
  void close_notify();

  bool established() const noexcept { return established_; }
  bool peer_closed() const noexcept { return peer_closed_; }
  std::string alpn() const;
  std::string version() const;
  bool session_reused() const noexcept;
  // "name:port" of a client that resumes sessions (empty otherwise).
  const std::string& session_key() const noexcept { return session_key_; }

 private:
  // The error of a failed SSL call that returned `ret`; empty when it only wants more
  // input (or the peer closed).
  std::error_code failure(int ret);

  std::shared_ptr<tls_context::impl> context_;
  SSL* ssl_ = nullptr;
  BIO* out_ = nullptr;  // owned by ssl_, as the read BIO is
  bool established_ = false;
  bool peer_closed_ = false;
  bool closed_ = false;
  std::string session_key_;
};

}  // namespace xsock::detail
