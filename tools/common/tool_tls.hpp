// TLS for both tools (--tls and its options): the command line, its checks, and the
// contexts and layers the connections go through. Builds without xsock::tls
// (XSOCK_TOOLS_TLS unset) keep the same command line and refuse --tls, so a script
// gets one clear line instead of "unknown option".
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xsock/endpoint.hpp"
#include "xsock/stream_layer.hpp"

namespace xsock::tools {

/// Whether this build has TLS (xsock::tls linked).
bool tls_built() noexcept;

/// What --tls and its options ask for.
struct tls_options {
  bool on = false;                     ///< --tls
  std::string cert;                    ///< --cert FILE (server)
  std::string key;                     ///< --key FILE (server)
  std::string ca;                      ///< --ca FILE (client)
  bool insecure = false;               ///< --insecure (client)
  std::string sni;                     ///< --sni NAME (client)
  std::string alpn;                    ///< --alpn LIST, comma-separated
  std::vector<std::string> protocols;  ///< --alpn, split (after check_tls_options)
};

/// Which end a tool is: the options it has differ.
enum class tls_end { client, server };

/// Adds --tls and the options of `end` to `app`.
void add_tls_options(CLI::App& app, tls_options& tls, tls_end end);

/// Checks the TLS options together with --udp, after parsing. Returns the one-line
/// usage error (exit 2), or an empty string when they are fine (`tls.protocols` is then
/// filled).
std::string check_tls_options(const CLI::App& app, tls_options& tls, tls_end end, bool udp);

/// --alpn's LIST as names: "h2,http/1.1" -> {"h2", "http/1.1"}. False with `error` set
/// for an empty name or one longer than 255 bytes.
bool split_alpn(std::string_view list, std::vector<std::string>& names, std::string& error);

/// The TLS settings of a tool, made from its options (files loaded): layers for its
/// connections. Throws std::runtime_error with one line naming the file and OpenSSL's
/// reason when a certificate, key or CA file cannot be used (exit 1); usage_error when
/// the build has no TLS.
class tls_setup {
 public:
  tls_setup(const tls_options& options, tls_end end);
  ~tls_setup();
  tls_setup(const tls_setup&) = delete;
  tls_setup& operator=(const tls_setup&) = delete;

  /// A client connection's layer: `server_name` is checked against the certificate
  /// and sent as SNI (--sni, or HOST).
  std::unique_ptr<stream_layer> client_layer(std::string_view server_name,
                                             std::uint16_t port) const;
  /// The server's layers, for `xsock::server`. `made` is told of each connection's
  /// layer as it is made, before the connection's `on_accept`: its flag turns true once
  /// the handshake is over (a failure before that is a failed handshake).
  stream_layer_factory server_layers(
      std::function<void(const endpoint& peer, std::shared_ptr<const bool> established)> made)
      const;
  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace xsock::tools
