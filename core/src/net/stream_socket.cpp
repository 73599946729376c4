#include "xsock/stream_socket.hpp"

#include <string>
#include <utility>

#include "backend.hpp"
#include "net/throw.hpp"
#include "xsock/resolve.hpp"

namespace xsock {
namespace {

std::error_code not_open() noexcept {
  return detail::make_error(std::errc::bad_file_descriptor);
}

// Completes a connect on `h` within timeout_ms (negative: no limit). The socket is
// non-blocking during the attempt when a limit is given.
void connect_handle(detail::handle_t h, const endpoint& peer, int timeout_ms,
                    std::error_code& ec) noexcept {
  if (timeout_ms >= 0) {
    detail::set_non_blocking(h, true, ec);
    if (ec) return;
  }
  const bool done = detail::connect(h, peer, ec);
  if (ec || done) return;
  const unsigned ready = detail::wait_one(h, detail::wait_write, timeout_ms, ec);
  if (ec) return;
  if (ready == 0) {
    ec = detail::make_error(std::errc::timed_out);
    return;
  }
  ec = detail::pending_error(h);
  if (ec) return;
  if (timeout_ms >= 0) detail::set_non_blocking(h, false, ec);
}

}  // namespace

stream_socket::stream_socket(stream_socket&& other) noexcept
    : handle_(std::exchange(other.handle_, invalid_handle)),
      non_blocking_(std::exchange(other.non_blocking_, false)),
      has_remote_(std::exchange(other.has_remote_, false)),
      remote_(other.remote_) {}

stream_socket& stream_socket::operator=(stream_socket&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, invalid_handle);
    non_blocking_ = std::exchange(other.non_blocking_, false);
    has_remote_ = std::exchange(other.has_remote_, false);
    remote_ = other.remote_;
  }
  return *this;
}

stream_socket::~stream_socket() {
  close();
}

std::string stream_socket::describe(const char* operation) const {
  std::string text = operation;
  if (has_remote_) text += " " + remote_.to_string();
  return text;
}

// ---- connect ----------------------------------------------------------------------

void stream_socket::connect(const endpoint& peer, duration timeout, std::error_code& ec) noexcept {
  close();
  detail::ensure_initialized(ec);
  if (ec) return;
  const auto h = detail::open_stream(peer, ec);
  if (ec) return;
  connect_handle(h, peer, timeout.count() < 0 ? 0 : detail::to_timeout_ms(timeout), ec);
  if (ec) {
    detail::close_handle(h);
    return;
  }
  handle_ = h;
  has_remote_ = true;
  remote_ = peer;
}

void stream_socket::connect(const endpoint& peer, std::error_code& ec) noexcept {
  close();
  detail::ensure_initialized(ec);
  if (ec) return;
  const auto h = detail::open_stream(peer, ec);
  if (ec) return;
  connect_handle(h, peer, -1, ec);
  if (ec) {
    detail::close_handle(h);
    return;
  }
  handle_ = h;
  has_remote_ = true;
  remote_ = peer;
}

void stream_socket::connect(const endpoint& peer) {
  std::error_code ec;
  connect(peer, ec);
  detail::throw_if(ec, "connect " + peer.to_string());
}

void stream_socket::connect(const endpoint& peer, duration timeout) {
  std::error_code ec;
  connect(peer, timeout, ec);
  detail::throw_if(ec, "connect " + peer.to_string());
}

namespace {

// Tries each resolved address in turn; `last` receives the last address tried.
void connect_by_name(stream_socket& s, std::string_view host, std::uint16_t port,
                     const stream_socket::duration* timeout, endpoint& last, bool& resolved,
                     std::error_code& ec) {
  resolved = false;
  const auto candidates = resolve(host, std::to_string(port), ec);
  if (ec) return;
  resolved = true;
  for (const auto& candidate : candidates) {
    last = candidate;
    if (timeout) {
      s.connect(candidate, *timeout, ec);
    } else {
      s.connect(candidate, ec);
    }
    if (!ec) return;
  }
}

std::string describe_attempt(std::string_view host, std::uint16_t port, bool resolved,
                             const endpoint& last) {
  const std::string named = std::string(host) + ":" + std::to_string(port);
  if (!resolved) return "resolve " + named;
  const std::string tried = last.to_string();
  if (named == tried || "[" + std::string(host) + "]:" + std::to_string(port) == tried) {
    return "connect " + tried;
  }
  return "connect " + named + " (" + tried + ")";
}

}  // namespace

void stream_socket::connect(std::string_view host, std::uint16_t port, std::error_code& ec) {
  endpoint last;
  bool resolved = false;
  connect_by_name(*this, host, port, nullptr, last, resolved, ec);
}

void stream_socket::connect(std::string_view host, std::uint16_t port, duration timeout,
                            std::error_code& ec) {
  endpoint last;
  bool resolved = false;
  connect_by_name(*this, host, port, &timeout, last, resolved, ec);
}

void stream_socket::connect(std::string_view host, std::uint16_t port) {
  std::error_code ec;
  endpoint last;
  bool resolved = false;
  connect_by_name(*this, host, port, nullptr, last, resolved, ec);
  detail::throw_if(ec, describe_attempt(host, port, resolved, last));
}

void stream_socket::connect(std::string_view host, std::uint16_t port, duration timeout) {
  std::error_code ec;
  endpoint last;
  bool resolved = false;
  connect_by_name(*this, host, port, &timeout, last, resolved, ec);
  detail::throw_if(ec, describe_attempt(host, port, resolved, last));
}

// ---- data transfer ----------------------------------------------------------------

std::size_t stream_socket::send(const void* data, std::size_t size, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return 0;
  }
  return detail::send(handle_, data, size, ec);
}

std::size_t stream_socket::send(const void* data, std::size_t size) {
  std::error_code ec;
  const auto n = send(data, size, ec);
  if (ec) detail::throw_if(ec, describe("send"));
  return n;
}

std::size_t stream_socket::send_all(const void* data, std::size_t size,
                                    std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return 0;
  }
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::size_t sent = 0;
  while (sent < size) {
    const auto n = detail::send(handle_, bytes + sent, size - sent, ec);
    if (ec == std::errc::operation_would_block) {
      // Non-blocking socket with a full send buffer: wait instead of failing.
      detail::wait_one(handle_, detail::wait_write, -1, ec);
      if (ec) return sent;
      continue;
    }
    if (ec) return sent;
    sent += n;
  }
  return sent;
}

std::size_t stream_socket::send_all(const void* data, std::size_t size) {
  std::error_code ec;
  const auto n = send_all(data, size, ec);
  if (ec) {
    detail::throw_if(ec, describe("send") + " (after " + std::to_string(n) + " of " +
                             std::to_string(size) + " bytes)");
  }
  return n;
}

std::size_t stream_socket::receive(void* data, std::size_t size, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return 0;
  }
  return detail::receive(handle_, data, size, ec);
}

std::size_t stream_socket::receive(void* data, std::size_t size) {
  std::error_code ec;
  const auto n = receive(data, size, ec);
  detail::throw_if(ec, describe("receive"));
  return n;
}

std::size_t stream_socket::receive(void* data, std::size_t size, duration timeout,
                                   std::error_code& ec) noexcept {
  if (!wait(wait_type::read, timeout, ec)) {
    if (!ec) ec = detail::make_error(std::errc::timed_out);
    return 0;
  }
  return receive(data, size, ec);
}

std::size_t stream_socket::receive(void* data, std::size_t size, duration timeout) {
  std::error_code ec;
  const auto n = receive(data, size, timeout, ec);
  detail::throw_if(ec, describe("receive"));
  return n;
}

bool stream_socket::wait(wait_type what, duration timeout, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return false;
  }
  const unsigned events = what == wait_type::read ? detail::wait_read : detail::wait_write;
  // An error or hang-up counts as ready: the next receive/send reports it.
  return detail::wait_one(handle_, events, detail::to_timeout_ms(timeout), ec) != 0 && !ec;
}

bool stream_socket::wait(wait_type what, duration timeout) {
  std::error_code ec;
  const bool ready = wait(what, timeout, ec);
  detail::throw_if(ec, describe("wait"));
  return ready;
}

void stream_socket::shutdown(shutdown_type what, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  detail::shutdown(handle_, what, ec);
}

void stream_socket::shutdown(shutdown_type what) {
  std::error_code ec;
  shutdown(what, ec);
  detail::throw_if(ec, describe("shutdown"));
}

void stream_socket::close() noexcept {
  if (is_open()) detail::close_handle(std::exchange(handle_, invalid_handle));
  non_blocking_ = false;
  has_remote_ = false;
}

native_handle_type stream_socket::release() noexcept {
  non_blocking_ = false;
  has_remote_ = false;
  return std::exchange(handle_, invalid_handle);
}

// ---- options ----------------------------------------------------------------------

void stream_socket::set_int_option(int opt, int value, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  detail::set_option(handle_, static_cast<detail::option>(opt), value, ec);
}

int stream_socket::get_int_option(int opt, std::error_code& ec) const noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return 0;
  }
  return detail::get_option(handle_, static_cast<detail::option>(opt), ec);
}

void stream_socket::set_int_option(int opt, int value, const char* name) {
  std::error_code ec;
  set_int_option(opt, value, ec);
  detail::throw_if(ec, describe("set") + " " + name);
}

int stream_socket::get_int_option(int opt, const char* name) const {
  std::error_code ec;
  const int value = get_int_option(opt, ec);
  detail::throw_if(ec, describe("get") + " " + name);
  return value;
}

namespace {
constexpr int no_delay_opt = static_cast<int>(detail::option::no_delay);
constexpr int keep_alive_opt = static_cast<int>(detail::option::keep_alive);
constexpr int receive_buffer_opt = static_cast<int>(detail::option::receive_buffer);
constexpr int send_buffer_opt = static_cast<int>(detail::option::send_buffer);
}  // namespace

void stream_socket::set_no_delay(bool on, std::error_code& ec) noexcept {
  set_int_option(no_delay_opt, on ? 1 : 0, ec);
}
void stream_socket::set_no_delay(bool on) {
  set_int_option(no_delay_opt, on ? 1 : 0, "no_delay");
}
bool stream_socket::no_delay(std::error_code& ec) const noexcept {
  return get_int_option(no_delay_opt, ec) != 0;
}
bool stream_socket::no_delay() const {
  return get_int_option(no_delay_opt, "no_delay") != 0;
}

void stream_socket::set_keep_alive(bool on, std::error_code& ec) noexcept {
  set_int_option(keep_alive_opt, on ? 1 : 0, ec);
}
void stream_socket::set_keep_alive(bool on) {
  set_int_option(keep_alive_opt, on ? 1 : 0, "keep_alive");
}
bool stream_socket::keep_alive(std::error_code& ec) const noexcept {
  return get_int_option(keep_alive_opt, ec) != 0;
}
bool stream_socket::keep_alive() const {
  return get_int_option(keep_alive_opt, "keep_alive") != 0;
}

void stream_socket::set_receive_buffer_size(int bytes, std::error_code& ec) noexcept {
  set_int_option(receive_buffer_opt, bytes, ec);
}
void stream_socket::set_receive_buffer_size(int bytes) {
  set_int_option(receive_buffer_opt, bytes, "receive_buffer_size");
}
int stream_socket::receive_buffer_size(std::error_code& ec) const noexcept {
  return get_int_option(receive_buffer_opt, ec);
}
int stream_socket::receive_buffer_size() const {
  return get_int_option(receive_buffer_opt, "receive_buffer_size");
}

void stream_socket::set_send_buffer_size(int bytes, std::error_code& ec) noexcept {
  set_int_option(send_buffer_opt, bytes, ec);
}
void stream_socket::set_send_buffer_size(int bytes) {
  set_int_option(send_buffer_opt, bytes, "send_buffer_size");
}
int stream_socket::send_buffer_size(std::error_code& ec) const noexcept {
  return get_int_option(send_buffer_opt, ec);
}
int stream_socket::send_buffer_size() const {
  return get_int_option(send_buffer_opt, "send_buffer_size");
}

void stream_socket::set_linger(bool on, int seconds, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  detail::set_linger(handle_, on, seconds, ec);
}
void stream_socket::set_linger(bool on, int seconds) {
  std::error_code ec;
  set_linger(on, seconds, ec);
  detail::throw_if(ec, describe("set linger"));
}

void stream_socket::set_non_blocking(bool on, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  detail::set_non_blocking(handle_, on, ec);
  if (!ec) non_blocking_ = on;
}
void stream_socket::set_non_blocking(bool on) {
  std::error_code ec;
  set_non_blocking(on, ec);
  detail::throw_if(ec, describe("set non_blocking"));
}

endpoint stream_socket::local_endpoint(std::error_code& ec) const noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return {};
  }
  return detail::local_endpoint(handle_, ec);
}
endpoint stream_socket::local_endpoint() const {
  std::error_code ec;
  auto ep = local_endpoint(ec);
  detail::throw_if(ec, describe("local_endpoint"));
  return ep;
}

endpoint stream_socket::peer_endpoint(std::error_code& ec) const noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return {};
  }
  return detail::peer_endpoint(handle_, ec);
}
endpoint stream_socket::peer_endpoint() const {
  std::error_code ec;
  auto ep = peer_endpoint(ec);
  detail::throw_if(ec, describe("peer_endpoint"));
  return ep;
}

}  // namespace xsock
