#include "tls/tls_layer.hpp"

#include <string>

#include "tls/tls_engine.hpp"
#include "xsock/tls_error.hpp"

namespace xsock::detail {
namespace {

// Decrypted bytes are appended in steps of this much (one TLS record's worth).
constexpr std::size_t read_step = 16 * 1024;

class tls_layer final : public stream_layer {
 public:
  tls_layer(std::shared_ptr<tls_context::impl> context, std::string_view server_name,
            std::uint16_t port)
      : engine_(std::move(context), server_name, port, setup_error_) {}

  void start(std::string& wire, std::error_code& ec) override {
    ec = setup_error_;
    if (ec) return;
    // A client speaks first (its hello); a server's first step waits for input.
    engine_.handshake(ec);
    engine_.take_output(wire);
  }

  void receive(std::string_view in, std::string& data, std::string& wire,
               std::error_code& ec) override {
    ec.clear();
    if (engine_.peer_closed()) return;
    engine_.feed(in, ec);
    if (ec) return;
    if (!engine_.established()) {
      const bool done = engine_.handshake(ec);
      if (!done || ec) {
        engine_.take_output(wire);  // an alert tells the peer why
        return;
      }
      if (!early_.empty()) {
        engine_.write(early_, ec);
        std::string().swap(early_);
        if (ec) return;
      }
    }
    // Everything decryptable now: the loop reads once per readiness, and input left in
    // the engine would wait for bytes that may never come.
    for (;;) {
      const std::size_t old = data.size();
      data.resize(old + read_step);
      const std::size_t n = engine_.read(&data[old], read_step, ec);
      data.resize(old + n);
      if (ec || n == 0) break;
    }
    engine_.take_output(wire);  // key updates, tickets, an alert
  }

  void send(std::string_view data, std::string& wire, std::error_code& ec) override {
    ec.clear();
    if (!engine_.established()) {
      early_.append(data.data(), data.size());
      return;
    }
    engine_.write(data, ec);
    engine_.take_output(wire);
  }

  void close(std::string& wire) override {
    engine_.close_notify();
    engine_.take_output(wire);
  }

  bool established() const noexcept override { return engine_.established(); }
  bool peer_closed() const noexcept override { return engine_.peer_closed(); }
  std::error_code transport_ended() const noexcept override {
    return make_error_code(engine_.established() ? tls_errc::truncated : tls_errc::handshake_cut);
  }
  const char* handshake_name() const noexcept override { return "tls handshake"; }
  std::string protocol_version() const override { return engine_.version(); }
  std::string alpn_protocol() const override { return engine_.alpn(); }

 private:
  std::error_code setup_error_;
  tls_engine engine_;
  std::string early_;  // sent before the handshake was over
};

}  // namespace

std::unique_ptr<stream_layer> make_tls_layer(std::shared_ptr<tls_context::impl> context,
                                             std::string_view server_name, std::uint16_t port) {
  return std::make_unique<tls_layer>(std::move(context), server_name, port);
}

}  // namespace xsock::detail
