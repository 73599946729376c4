// A program outside the xsock tree: a TLS client context from the installed xsock::tls
// (which brings OpenSSL in through the package) writes its first handshake record. No
// peer is needed: a ClientHello in the wire buffer proves OpenSSL is linked and running.
#include <xsock/tls_context.hpp>
#include <xsock/tls_error.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <system_error>

int main() {
  xsock::tls_context context(xsock::tls_role::client);
  if (context.role() != xsock::tls_role::client || context.native_handle() == nullptr) {
    std::cerr << "tls_context: not a client context\n";
    return 1;
  }
  const std::unique_ptr<xsock::stream_layer> layer = context.make_layer("localhost", 443);
  std::string wire;
  std::error_code ec;
  layer->start(wire, ec);
  // A TLS record: content type 22 (handshake), then version 3.x.
  if (ec || wire.size() < 5 || wire[0] != '\x16' || wire[1] != '\x03') {
    std::cerr << "tls start: " << (ec ? ec.message() : "no ClientHello record") << "\n";
    return 1;
  }
  if (layer->established()) {
    std::cerr << "tls: established without a peer\n";
    return 1;
  }
  std::cout << "tls ClientHello " << wire.size() << " bytes ok\n";
  return 0;
}
