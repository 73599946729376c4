// xsock::tls_stream: a blocking TLS connection over a stream_socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "xsock/endpoint.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/time_limit.hpp"
#include "xsock/tls_context.hpp"

namespace xsock {

/// A TLS connection over a `stream_socket`, blocking (with time limits) as the socket
/// is. Move-only; closes on destruction (without close_notify: call `shutdown` for a
/// clean end).
///
/// Errors: the throwing forms raise `xsock::error` with one line naming the operation,
/// the peer and the reason: "tls handshake 127.0.0.1:8443: certificate verify failed:
/// self-signed certificate". Codes are in `tls_verify_category()` (verification),
/// `tls_library_category()` (OpenSSL's reasons), `tls_category()` (`truncated`...) or
/// the socket's own (`connection_reset`, `timed_out`). After an error other than
/// `timed_out` the stream is broken: close it.
class tls_stream {
 public:
  /// Not connected; `context` decides the role of the handshakes it makes.
  explicit tls_stream(const tls_context& context);
  ///@{
  /// Takes `other`'s connection (the assignment closes this one first, without
  /// close_notify); `other` may then only be destroyed or assigned to.
  tls_stream(tls_stream&& other) noexcept;
  tls_stream& operator=(tls_stream&& other) noexcept;
  ///@}
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;
  ~tls_stream();

  ///@{
  /// Client: connects to `host` (as `stream_socket::connect`, Happy Eyeballs) and makes
  /// the handshake, `host` being the name checked against the certificate and sent as
  /// SNI. `timeout` is the budget for both.
  void connect(std::string_view host, std::uint16_t port, time_limit timeout = no_timeout);
  void connect(std::string_view host, std::uint16_t port, time_limit timeout, std::error_code& ec);
  ///@}

  ///@{
  /// Makes the handshake over a connected socket (taken over): as the client of
  /// `server_name` (checked and sent as SNI; a numeric address is checked against the
  /// certificate's IP addresses; none: `tls_errc::no_server_name` unless
  /// verification is off) or, with a server context, as the server
  /// (`server_name` ignored). Fails with `timed_out` when it is not done within
  /// `timeout` (the stream is then unusable).
  void handshake(stream_socket&& socket, std::string_view server_name,
                 time_limit timeout = no_timeout);
  void handshake(stream_socket&& socket, std::string_view server_name, time_limit timeout,
                 std::error_code& ec);
  ///@}

  ///@{
  /// Encrypts and sends all of `size` bytes (a TLS record holds at most 16 KiB; larger
  /// writes become several). Returns the bytes sent, fewer only on error.
  std::size_t send_all(const void* data, std::size_t size);
  std::size_t send_all(const void* data, std::size_t size, std::error_code& ec) noexcept;
  std::size_t send_all(std::string_view bytes) { return send_all(bytes.data(), bytes.size()); }
  std::size_t send_all(std::string_view bytes, std::error_code& ec) noexcept {
    return send_all(bytes.data(), bytes.size(), ec);
  }
  ///@}

  ///@{
  /// Receives up to `size` decrypted bytes; returns how many (possibly fewer). 0 with
  /// no error is the end of stream: the peer sent close_notify. A transport that ends
  /// without it fails with `tls_errc::truncated` (what arrived before is delivered
  /// first). With a time limit, `timed_out` when nothing arrives in time (nothing is
  /// lost: a later call goes on). A zero `size` returns 0 at once.
  std::size_t receive(void* data, std::size_t size, time_limit timeout = no_timeout);
  std::size_t receive(void* data, std::size_t size, time_limit timeout,
                      std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Half-close: sends close_notify, after which this end sends nothing more; the peer
  /// reads end of stream. Receiving goes on (TLS 1.3 peers and OpenSSL's TLS 1.2 keep
  /// sending after close_notify; others may close at once). The TCP connection stays
  /// open until `close`.
  void shutdown();
  void shutdown(std::error_code& ec) noexcept;
  ///@}

  ///@{
  /// Closes the connection (no close_notify unless `shutdown` was called). Idempotent.
  /// `is_open`: the socket is open (also after a failed handshake, until `close`).
  void close() noexcept;
  bool is_open() const noexcept;
  ///@}

  /// The protocol ALPN chose (empty: none).
  std::string alpn_protocol() const;
  /// "TLSv1.3", "TLSv1.2" (empty before the handshake).
  std::string protocol_version() const;
  /// The handshake resumed an earlier session (see `tls_context::set_session_resumption`).
  bool session_reused() const noexcept;
  /// The socket underneath (its options; never read or write it directly).
  stream_socket& socket() noexcept;
  /// The peer's address, kept from the connect (empty when never connected).
  const endpoint& peer() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xsock
