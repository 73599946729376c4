// xsock::tls_context: the settings TLS connections share (OpenSSL 3 underneath).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "xsock/stream_layer.hpp"

namespace xsock {

/// Which end of the handshake a context serves.
enum class tls_role { client, server };

/// The oldest protocol version a context accepts.
enum class tls_version { tls1_2, tls1_3 };

/// Settings shared by TLS connections: trust, certificate and key, ALPN, versions and
/// the session cache. A cheap handle: copies share one context, and every stream and
/// layer made from it keeps it alive. Configure it before making connections (the
/// setters are not synchronised with connections being made on other threads).
///
/// Safe by default: a client verifies the server's certificate chain against the
/// system's trust store (OpenSSL's default paths; on Windows the system's ROOT store)
/// and the host name it connects to, and always sends SNI for a host name; both ends
/// accept TLS 1.2 and 1.3 only. Turning verification off takes
/// `set_insecure_skip_verify(true)`, named for what it is.
///
/// Every setter has a throwing form (`xsock::error` naming the file and OpenSSL's
/// reason) and a `std::error_code&` form.
class tls_context {
 public:
  ///@{
  /// A context for `role`, with the safe defaults above. A client loads the system's
  /// trust store here (a missing store is not an error: verification then fails).
  explicit tls_context(tls_role role);
  tls_context(tls_role role, std::error_code& ec);
  ///@}

  /// Which end of the handshake this context serves.
  tls_role role() const noexcept;

  ///@{
  /// Trusts the CA certificates of a PEM file (or of a hashed folder, as `c_rehash`
  /// makes), in addition to what is trusted already.
  void load_verify_file(const std::string& path);
  void load_verify_file(const std::string& path, std::error_code& ec);
  void load_verify_dir(const std::string& path);
  void load_verify_dir(const std::string& path, std::error_code& ec);
  ///@}

  ///@{
  /// The certificate chain this end presents (PEM: its certificate first, then the
  /// intermediates) and its private key (PEM, unencrypted). A server needs both; a
  /// client may present them to a server that asks. `use_private_key_file` checks that
  /// the key belongs to the certificate (`key_mismatch`).
  void use_certificate_chain_file(const std::string& path);
  void use_certificate_chain_file(const std::string& path, std::error_code& ec);
  void use_private_key_file(const std::string& path);
  void use_private_key_file(const std::string& path, std::error_code& ec);
  ///@}

  ///@{
  /// ALPN: a client offers `protocols` in order of preference; a server picks the
  /// first of its own list that the client offers (none in common: the handshake goes
  /// on without ALPN). Names are 1 to 255 bytes (`bad_alpn` otherwise).
  void set_alpn(const std::vector<std::string>& protocols);
  void set_alpn(const std::vector<std::string>& protocols, std::error_code& ec);
  ///@}

  /// The oldest version accepted (default `tls1_2`).
  void set_min_version(tls_version version) noexcept;

  ///@{
  /// INSECURE: a client accepts any certificate and any host name (the connection is
  /// encrypted but not authenticated: anyone in the path can read it). For tests and
  /// debugging only. `insecure_skip_verify()` lets a tool say so.
  void set_insecure_skip_verify(bool on) noexcept;
  bool insecure_skip_verify() const noexcept;
  ///@}

  /// Session resumption (on by default): a server issues session tickets; a client
  /// keeps the last session per server name and port and offers it on the next
  /// handshake to the same server (an abbreviated handshake when the server agrees;
  /// `tls_stream::session_reused` tells).
  void set_session_resumption(bool on) noexcept;

  /// A layer for one `event_loop` connection of this context's role. A client's
  /// `server_name` (a host name, or a numeric address) is checked against the
  /// certificate and sent as SNI (when it is a name); `port` keys the session cache.
  /// A verifying client without a name fails its handshake with
  /// `tls_errc::no_server_name`. Empty for a server.
  std::unique_ptr<stream_layer> make_layer(std::string_view server_name = {},
                                           std::uint16_t port = 0) const;
  /// A server context's layers, for `event_loop::listen`.
  stream_layer_factory layer_factory() const;

  /// OpenSSL's `SSL_CTX*`, for settings this class does not offer. The pointer lives
  /// as long as any copy of this context.
  void* native_handle() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
  friend class tls_stream;
};

}  // namespace xsock
