#include "xsock/tls_stream.hpp"

#include <algorithm>
#include <new>
#include <vector>

#include "backend.hpp"
#include "net/throw.hpp"
#include "net/timing.hpp"
#include "tls/tls_engine.hpp"
#include "xsock/tls_error.hpp"

namespace xsock {
namespace {

// Room for a whole TLS record with its header and expansion, so one receive can hand
// the engine a record at once.
constexpr std::size_t receive_buffer = 17 * 1024;

}  // namespace

struct tls_stream::impl {
  explicit impl(const tls_context& c) : context(c) {}

  // Sends what the engine has for the peer.
  void flush(std::error_code& ec) {
    wire.clear();
    engine->take_output(wire);
    if (!wire.empty()) socket.send_all(wire.data(), wire.size(), ec);
  }

  // Reads more bytes from the peer into the engine, waiting at most until `deadline`.
  // End of stream is `end` (truncated or a cut handshake).
  void pull(detail::steady::time_point deadline, std::error_code& ec) {
    if (buffer.empty()) buffer.resize(receive_buffer);
    const std::size_t n = socket.receive(buffer.data(), buffer.size(),
                                         detail::remaining(deadline, detail::steady::now()), ec);
    if (ec) return;
    if (n == 0) {
      ec = make_error_code(engine->established() ? tls_errc::truncated : tls_errc::handshake_cut);
      return;
    }
    engine->feed(std::string_view(buffer.data(), n), ec);
  }

  tls_context context;
  stream_socket socket;
  endpoint peer;
  std::unique_ptr<detail::tls_engine> engine;
  std::vector<char> buffer;
  std::string wire;
};

tls_stream::tls_stream(const tls_context& context) : impl_(std::make_unique<impl>(context)) {}
tls_stream::tls_stream(tls_stream&& other) noexcept = default;
tls_stream& tls_stream::operator=(tls_stream&& other) noexcept = default;
tls_stream::~tls_stream() = default;

void tls_stream::connect(std::string_view host, std::uint16_t port, time_limit timeout) {
  if (impl_->context.role() != tls_role::client)
    detail::throw_error(make_error_code(tls_errc::wrong_role), "tls connect",
                        std::string(host) + ":" + std::to_string(port));
  const detail::steady::time_point deadline =
      detail::deadline_after(detail::steady::now(), timeout);
  stream_socket s;
  s.connect(host, port, timeout);  // throws naming every address tried
  handshake(std::move(s), host, detail::remaining(deadline, detail::steady::now()));
}

void tls_stream::connect(std::string_view host, std::uint16_t port, time_limit timeout,
                         std::error_code& ec) {
  if (impl_->context.role() != tls_role::client) {
    ec = make_error_code(tls_errc::wrong_role);
    return;
  }
  const detail::steady::time_point deadline =
      detail::deadline_after(detail::steady::now(), timeout);
  stream_socket s;
  s.connect(host, port, timeout, ec);
  if (ec) return;
  handshake(std::move(s), host, detail::remaining(deadline, detail::steady::now()), ec);
}

void tls_stream::handshake(stream_socket&& socket, std::string_view server_name,
                           time_limit timeout) {
  std::error_code ec;
  handshake(std::move(socket), server_name, timeout, ec);
  if (ec) detail::throw_error(ec, "tls handshake", impl_->peer);
}

void tls_stream::handshake(stream_socket&& socket, std::string_view server_name, time_limit timeout,
                           std::error_code& ec) {
  ec.clear();
  impl& m = *impl_;
  const detail::steady::time_point deadline =
      detail::deadline_after(detail::steady::now(), timeout);
  m.socket = std::move(socket);
  m.peer = m.socket.peer_endpoint(ec);
  if (ec) return;
  std::uint16_t port = m.peer.port();
  m.engine = std::make_unique<detail::tls_engine>(m.context.impl_, server_name, port, ec);
  if (ec) return;
  for (;;) {
    const bool done = m.engine->handshake(ec);
    std::error_code send_ec;
    m.flush(send_ec);  // the next flight, or the alert that says why it failed
    if (ec) return;
    if (send_ec) {
      ec = send_ec;
      return;
    }
    if (done) return;
    m.pull(deadline, ec);
    if (ec) return;
  }
}

std::size_t tls_stream::send_all(const void* data, std::size_t size) {
  std::error_code ec;
  const std::size_t n = send_all(data, size, ec);
  if (ec) detail::throw_error(ec, "tls send", impl_->peer);
  return n;
}

std::size_t tls_stream::send_all(const void* data, std::size_t size, std::error_code& ec) noexcept {
  ec.clear();
  impl& m = *impl_;
  if (!m.engine || !m.engine->established()) {
    ec = make_error_code(tls_errc::not_established);
    return 0;
  }
  // In records' worth of steps, so a large write does not hold its whole ciphertext.
  constexpr std::size_t step = 256 * 1024;
  const char* p = static_cast<const char*>(data);
  std::size_t sent = 0;
  try {
    while (sent < size) {
      const std::size_t n = std::min(step, size - sent);
      m.engine->write(std::string_view(p + sent, n), ec);
      if (ec) return sent;
      m.flush(ec);
      if (ec) return sent;
      sent += n;
    }
  } catch (const std::bad_alloc&) {
    ec = detail::make_error(std::errc::not_enough_memory);
  }
  return sent;
}

std::size_t tls_stream::receive(void* data, std::size_t size, time_limit timeout) {
  std::error_code ec;
  const std::size_t n = receive(data, size, timeout, ec);
  if (ec) detail::throw_error(ec, "tls receive", impl_->peer);
  return n;
}

std::size_t tls_stream::receive(void* data, std::size_t size, time_limit timeout,
                                std::error_code& ec) noexcept {
  ec.clear();
  impl& m = *impl_;
  if (!m.engine || !m.engine->established()) {
    ec = make_error_code(tls_errc::not_established);
    return 0;
  }
  if (size == 0) return 0;
  const detail::steady::time_point deadline =
      detail::deadline_after(detail::steady::now(), timeout);
  try {
    for (;;) {
      const std::size_t n = m.engine->read(data, size, ec);
      std::error_code send_ec;
      // A read may answer (a key update) or hand over session tickets.
      if (m.engine->has_output()) m.flush(send_ec);
      if (n > 0 || ec) return n;
      if (m.engine->peer_closed()) return 0;
      m.pull(deadline, ec);
      if (ec) return 0;
    }
  } catch (const std::bad_alloc&) {
    ec = detail::make_error(std::errc::not_enough_memory);
  }
  return 0;
}

void tls_stream::shutdown() {
  std::error_code ec;
  shutdown(ec);
  if (ec) detail::throw_error(ec, "tls shutdown", impl_->peer);
}

void tls_stream::shutdown(std::error_code& ec) noexcept {
  ec.clear();
  impl& m = *impl_;
  if (!m.engine || !m.engine->established()) {
    ec = make_error_code(tls_errc::not_established);
    return;
  }
  try {
    m.engine->close_notify();
    m.flush(ec);
  } catch (const std::bad_alloc&) {
    ec = detail::make_error(std::errc::not_enough_memory);
  }
}

void tls_stream::close() noexcept {
  if (!impl_) return;
  impl_->socket.close();
  impl_->engine.reset();
}

bool tls_stream::is_open() const noexcept {
  return impl_ && impl_->socket.is_open();
}

std::string tls_stream::alpn_protocol() const {
  return impl_->engine ? impl_->engine->alpn() : std::string();
}

std::string tls_stream::protocol_version() const {
  return impl_->engine ? impl_->engine->version() : std::string();
}

bool tls_stream::session_reused() const noexcept {
  return impl_->engine && impl_->engine->session_reused();
}

stream_socket& tls_stream::socket() noexcept {
  return impl_->socket;
}

const endpoint& tls_stream::peer() const noexcept {
  return impl_->peer;
}

}  // namespace xsock
