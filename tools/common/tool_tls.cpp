#include "tool_tls.hpp"

#include <stdexcept>
#include <utility>

#include "tool_support.hpp"

#if XSOCK_TOOLS_TLS

#include "xsock/error.hpp"
#include "xsock/tls_context.hpp"
#endif

namespace xsock::tools {

bool tls_built() noexcept {
  return XSOCK_TOOLS_TLS != 0;
}

void add_tls_options(CLI::App& app, tls_options& tls, tls_end end) {
  app.add_flag("--tls", tls.on,
               tls_built() ? "TLS over the TCP connection (TLS 1.2 and 1.3)"
                           : "TLS over the TCP connection (not in this build: built without TLS)");
  if (end == tls_end::server) {
    app.add_option("--cert", tls.cert,
                   "With --tls: the server's certificate chain (PEM: its certificate first)")
        ->type_name("FILE");
    app.add_option("--key", tls.key, "With --tls: the private key of --cert (PEM, unencrypted)")
        ->type_name("FILE");
    app.add_option("--alpn", tls.alpn,
                   "With --tls: ALPN protocols, comma-separated, the first the client also "
                   "offers is chosen")
        ->type_name("LIST");
    return;
  }
  app.add_option("--ca", tls.ca,
                 "With --tls: trust the CA certificates of this PEM file too (besides the "
                 "system's)")
      ->type_name("FILE");
  app.add_flag("--insecure", tls.insecure,
               "With --tls: do not check the server's certificate nor its name (encrypted, "
               "NOT authenticated)");
  app.add_option("--sni", tls.sni,
                 "With --tls: the server name sent (SNI) and checked against the certificate, "
                 "instead of HOST")
      ->type_name("NAME");
  app.add_option("--alpn", tls.alpn,
                 "With --tls: ALPN protocols to offer, comma-separated, preferred first")
      ->type_name("LIST");
}

bool split_alpn(std::string_view list, std::vector<std::string>& names, std::string& error) {
  names.clear();
  std::size_t at = 0;
  while (true) {
    const std::size_t comma = list.find(',', at);
    const std::string_view name =
        list.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    if (name.empty()) {
      error = "empty protocol name in '" + std::string(list.substr(0, 64)) + "'";
      return false;
    }
    // ALPN carries each name behind a one-byte length.
    if (name.size() > 255) {
      error = "protocol name of " + std::to_string(name.size()) + " bytes (at most 255)";
      return false;
    }
    names.emplace_back(name);
    if (comma == std::string_view::npos) return true;
    at = comma + 1;
  }
}

std::string check_tls_options(const CLI::App& app, tls_options& tls, tls_end end, bool udp) {
  const std::vector<const char*> names =
      end == tls_end::server ? std::vector<const char*>{"--cert", "--key", "--alpn"}
                             : std::vector<const char*>{"--ca", "--insecure", "--sni", "--alpn"};
  if (!tls.on) {
    for (const char* name : names)
      if (app.count(name) > 0) return std::string(name) + " needs --tls (see --help)";
    return std::string();
  }
  if (!tls_built())
    return "--tls: this program was built without TLS (build xsock with XSOCK_BUILD_TLS=ON and "
           "OpenSSL 3)";
  if (udp) return "--tls does not apply to --udp (TLS runs over a TCP connection)";
  if (end == tls_end::server && (tls.cert.empty() || tls.key.empty()))
    return "--tls needs --cert FILE and --key FILE (the server's certificate chain and its "
           "private key, PEM; see --help)";
  if (end == tls_end::client) {
    if (tls.insecure && app.count("--ca") > 0)
      return "--ca and --insecure cannot be used together (--insecure checks no certificate)";
    if (app.count("--sni") > 0 && tls.sni.empty()) return "--sni: the name is empty (see --help)";
  }
  if (app.count("--alpn") > 0) {
    std::string error;
    if (!split_alpn(tls.alpn, tls.protocols, error)) return "--alpn: " + error;
  }
  return std::string();
}

#if XSOCK_TOOLS_TLS

namespace {

// The library's messages name the file and OpenSSL's reason; the option is said first
// so the user knows which of the files it was.
std::runtime_error file_error(const char* option, const std::exception& e) {
  return std::runtime_error(std::string(option) + ": " + e.what());
}

// Forwards to the TLS layer and remembers, where the tool can see it after the loop
// took the layer, whether the handshake was over (the server names a failure "tls
// handshake" only then).
class tracked_layer final : public stream_layer {
 public:
  tracked_layer(std::unique_ptr<stream_layer> inner, std::shared_ptr<bool> established)
      : inner_(std::move(inner)), established_(std::move(established)) {}

  void start(std::string& wire, std::error_code& ec) override {
    inner_->start(wire, ec);
    note();
  }
  void receive(std::string_view in, std::string& data, std::string& wire,
               std::error_code& ec) override {
    inner_->receive(in, data, wire, ec);
    note();
  }
  void send(std::string_view data, std::string& wire, std::error_code& ec) override {
    inner_->send(data, wire, ec);
  }
  void close(std::string& wire) override { inner_->close(wire); }
  bool established() const noexcept override { return inner_->established(); }
  bool peer_closed() const noexcept override { return inner_->peer_closed(); }
  std::error_code transport_ended() const noexcept override { return inner_->transport_ended(); }
  const char* handshake_name() const noexcept override { return inner_->handshake_name(); }
  std::string protocol_version() const override { return inner_->protocol_version(); }
  std::string alpn_protocol() const override { return inner_->alpn_protocol(); }

 private:
  void note() {
    if (!*established_ && inner_->established()) *established_ = true;
  }

  std::unique_ptr<stream_layer> inner_;
  std::shared_ptr<bool> established_;
};

}  // namespace

struct tls_setup::impl {
  explicit impl(tls_role role) : context(role) {}

  tls_context context;
};

tls_setup::tls_setup(const tls_options& options, tls_end end)
    : impl_(std::make_unique<impl>(end == tls_end::server ? tls_role::server : tls_role::client)) {
  tls_context& context = impl_->context;
  if (end == tls_end::server) {
    try {
      context.use_certificate_chain_file(options.cert);
    } catch (const std::exception& e) {
      throw file_error("--cert", e);
    }
    try {
      context.use_private_key_file(options.key);
    } catch (const std::exception& e) {
      throw file_error("--key", e);
    }
  } else {
    if (!options.ca.empty()) {
      try {
        context.load_verify_file(options.ca);
      } catch (const std::exception& e) {
        throw file_error("--ca", e);
      }
    }
    context.set_insecure_skip_verify(options.insecure);
  }
  if (!options.protocols.empty()) context.set_alpn(options.protocols);
}

tls_setup::~tls_setup() = default;

std::unique_ptr<stream_layer> tls_setup::client_layer(std::string_view server_name,
                                                      std::uint16_t port) const {
  return impl_->context.make_layer(server_name, port);
}

stream_layer_factory tls_setup::server_layers(
    std::function<void(const endpoint& peer, std::shared_ptr<const bool> established)> made) const {
  stream_layer_factory inner = impl_->context.layer_factory();
  return [inner, made](const endpoint& peer) -> std::unique_ptr<stream_layer> {
    auto established = std::make_shared<bool>(false);
    if (made) made(peer, established);
    return std::make_unique<tracked_layer>(inner(peer), std::move(established));
  };
}

#else  // no TLS in this build: check_tls_options refuses --tls first

struct tls_setup::impl {};

tls_setup::tls_setup(const tls_options&, tls_end) {
  throw usage_error("--tls: this program was built without TLS");
}
tls_setup::~tls_setup() = default;
std::unique_ptr<stream_layer> tls_setup::client_layer(std::string_view, std::uint16_t) const {
  return nullptr;
}
stream_layer_factory tls_setup::server_layers(
    std::function<void(const endpoint&, std::shared_ptr<const bool>)>) const {
  return nullptr;
}
#endif

}  // namespace xsock::tools
