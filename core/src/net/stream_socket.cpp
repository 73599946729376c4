#include "xsock/stream_socket.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "net/connect_driver.hpp"
#include "net/happy_eyeballs.hpp"
#include "net/throw.hpp"
#include "net/timing.hpp"
#include "xsock/resolve.hpp"

namespace xsock {
namespace {

// A closed (or moved-from, or never connected) stream_socket is not connected: the
// same answer shutdown() gives after a reset-close as before any connect, rather than
// the handle-level "bad socket handle".
std::error_code not_open() noexcept {
  return detail::make_error(std::errc::not_connected);
}

// Completes a connect on `h` within `timeout`. The socket is non-blocking during a
// limited attempt.
void connect_handle(detail::handle_t h, const endpoint& peer, time_limit timeout,
                    std::error_code& ec) noexcept {
  const bool limited = !timeout.unlimited();
  if (limited) {
    detail::set_non_blocking(h, true, ec);
    if (ec) return;
  }
  const bool done = detail::connect(h, peer, ec);
  if (ec || done) return;
  const unsigned ready = detail::wait_one(h, detail::wait_write, detail::to_wait_ms(timeout), ec);
  if (ec) return;
  if (ready == 0) {
    ec = detail::make_error(std::errc::timed_out);
    return;
  }
  ec = detail::pending_error(h);
  if (ec) return;
  if (limited) detail::set_non_blocking(h, false, ec);
}

unsigned to_wait_events(readiness what) noexcept {
  unsigned events = 0;
  if (any(what & readiness::readable)) events |= detail::wait_read;
  if (any(what & readiness::writable)) events |= detail::wait_write;
  return events;
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

void stream_socket::fail(const std::error_code& ec, const char* operation) const {
  if (has_remote_) detail::throw_error(ec, operation, remote_);
  detail::throw_error(ec, operation);
}

// ---- connect ----------------------------------------------------------------------

void stream_socket::connect(const endpoint& peer, time_limit timeout,
                            std::error_code& ec) noexcept {
  close();
  detail::ensure_initialized(ec);
  if (ec) return;
  const auto h = detail::open_stream(peer, ec);
  if (ec) return;
  connect_handle(h, peer, timeout, ec);
  if (ec) {
    detail::close_handle(h);
    return;
  }
  handle_ = h;
  has_remote_ = true;
  remote_ = peer;
}

void stream_socket::connect(const endpoint& peer, std::error_code& ec) noexcept {
  connect(peer, no_timeout, ec);
}

void stream_socket::connect(const endpoint& peer, time_limit timeout) {
  std::error_code ec;
  connect(peer, timeout, ec);
  if (ec) detail::throw_error(ec, "connect", peer);
}

namespace {

// Happy Eyeballs over `candidates` (connect_first) until `deadline` for all of them.
// With several addresses the winner comes back in `won` (blocking again) for the
// caller to take; with one, `s` connects it itself. On failure `tried` lists every
// address with its error.
void race(stream_socket& s, const std::vector<endpoint>& candidates,
          detail::steady::time_point deadline, time_limit attempt_delay, endpoint& last,
          std::string& tried, detail::handle_t& won, std::error_code& ec) {
  won = invalid_handle;
  if (candidates.empty()) {
    ec = detail::make_error(std::errc::invalid_argument);
    return;
  }
  if (candidates.size() == 1) {
    last = candidates.front();
    s.connect(last, detail::remaining(deadline, detail::steady::now()), ec);
    return;
  }
  detail::connect_first(candidates, deadline, attempt_delay, won, last, tried, ec);
}

void connect_by_name(stream_socket& s, std::string_view host, std::uint16_t port,
                     const connect_options& options, endpoint& last, bool& resolved,
                     std::size_t& count, std::string& tried, detail::handle_t& won,
                     std::error_code& ec) {
  won = invalid_handle;
  resolved = false;
  const auto deadline = detail::deadline_after(detail::steady::now(), options.timeout);
  const auto candidates = resolve(host, std::to_string(port), ec);
  if (ec) return;
  resolved = true;
  count = candidates.size();
  race(s, candidates, deadline, options.attempt_delay, last, tried, won, ec);
}

[[noreturn]] void throw_connect_failure(const std::error_code& ec, std::string_view host,
                                        std::uint16_t port, bool resolved, std::size_t count,
                                        const endpoint& last, const std::string& tried) {
  const std::string named = detail::host_label(host, port);
  if (!resolved) detail::throw_error(ec, "resolve", named);
  detail::throw_error(ec, "connect", detail::connect_failure_target(named, count, last, tried));
}

}  // namespace

void stream_socket::connect(std::string_view host, std::uint16_t port, std::error_code& ec) {
  connect(host, port, no_timeout, ec);
}

void stream_socket::connect(std::string_view host, std::uint16_t port, time_limit timeout,
                            std::error_code& ec) {
  connect(host, port, connect_options{timeout}, ec);
}

void stream_socket::connect(std::string_view host, std::uint16_t port, time_limit timeout) {
  connect(host, port, connect_options{timeout});
}

void stream_socket::connect(std::string_view host, std::uint16_t port,
                            const connect_options& options, std::error_code& ec) {
  close();
  endpoint last;
  bool resolved = false;
  std::size_t count = 0;
  std::string tried;
  detail::handle_t won = invalid_handle;
  connect_by_name(*this, host, port, options, last, resolved, count, tried, won, ec);
  if (ec) close();
  if (won != invalid_handle) adopt_connected(won, last);
}

void stream_socket::connect(std::string_view host, std::uint16_t port,
                            const connect_options& options) {
  close();
  std::error_code ec;
  endpoint last;
  bool resolved = false;
  std::size_t count = 0;
  std::string tried;
  detail::handle_t won = invalid_handle;
  connect_by_name(*this, host, port, options, last, resolved, count, tried, won, ec);
  if (ec) {
    close();
    throw_connect_failure(ec, host, port, resolved, count, last, tried);
  }
  if (won != invalid_handle) adopt_connected(won, last);
}

void stream_socket::connect(const std::vector<endpoint>& candidates, time_limit timeout,
                            std::error_code& ec) {
  connect(candidates, connect_options{timeout}, ec);
}

void stream_socket::connect(const std::vector<endpoint>& candidates, time_limit timeout) {
  connect(candidates, connect_options{timeout});
}

void stream_socket::connect(const std::vector<endpoint>& candidates, const connect_options& options,
                            std::error_code& ec) {
  close();
  endpoint last;
  std::string tried;
  detail::handle_t won = invalid_handle;
  race(*this, candidates, detail::deadline_after(detail::steady::now(), options.timeout),
       options.attempt_delay, last, tried, won, ec);
  if (ec) close();
  if (won != invalid_handle) adopt_connected(won, last);
}

void stream_socket::connect(const std::vector<endpoint>& candidates,
                            const connect_options& options) {
  close();
  std::error_code ec;
  endpoint last;
  std::string tried;
  detail::handle_t won = invalid_handle;
  race(*this, candidates, detail::deadline_after(detail::steady::now(), options.timeout),
       options.attempt_delay, last, tried, won, ec);
  if (ec) {
    close();
    std::string what;
    for (const endpoint& ep : candidates) {
      if (!what.empty()) what += ", ";
      what += ep.to_string();
    }
    if (what.empty()) what = "(no address)";
    detail::throw_error(ec, "connect",
                        detail::connect_failure_target(what, candidates.size(), last, tried));
  }
  if (won != invalid_handle) adopt_connected(won, last);
}

void stream_socket::adopt_connected(native_handle_type h, const endpoint& peer) noexcept {
  close();
  handle_ = h;
  has_remote_ = true;
  remote_ = peer;
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
  if (ec) fail(ec, "send");
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
    std::string what;
    if (has_remote_) what = remote_.to_string() + " ";
    what += "(after " + std::to_string(n) + " of " + std::to_string(size) + " bytes)";
    detail::throw_error(ec, "send", what);
  }
  return n;
}

std::size_t stream_socket::receive(void* data, std::size_t size, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return 0;
  }
  // recv() with a zero length would block until data arrives and then return 0,
  // which reads as end of stream.
  if (size == 0) return 0;
  return detail::receive(handle_, data, size, ec);
}

std::size_t stream_socket::receive(void* data, std::size_t size, time_limit timeout,
                                   std::error_code& ec) noexcept {
  if (size == 0 || timeout.unlimited()) return receive(data, size, ec);
  if (!wait(readiness::readable, timeout, ec)) {
    if (!ec) ec = detail::make_error(std::errc::timed_out);
    return 0;
  }
  return receive(data, size, ec);
}

std::size_t stream_socket::receive(void* data, std::size_t size, time_limit timeout) {
  std::error_code ec;
  const auto n = receive(data, size, timeout, ec);
  if (ec) fail(ec, "receive");
  return n;
}

bool stream_socket::wait(readiness what, time_limit timeout, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return false;
  }
  // An error or hang-up counts as ready: the next receive/send reports it.
  return detail::wait_one(handle_, to_wait_events(what), detail::to_wait_ms(timeout), ec) != 0 &&
         !ec;
}

bool stream_socket::wait(readiness what, time_limit timeout) {
  std::error_code ec;
  const bool ready = wait(what, timeout, ec);
  if (ec) fail(ec, "wait");
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
  if (ec) fail(ec, "shutdown");
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

namespace {

void set_int(native_handle_type h, detail::option opt, int value, std::error_code& ec) noexcept {
  ec.clear();
  if (h == invalid_handle) {
    ec = not_open();
    return;
  }
  detail::set_option(h, opt, value, ec);
}

int get_int(native_handle_type h, detail::option opt, std::error_code& ec) noexcept {
  ec.clear();
  if (h == invalid_handle) {
    ec = not_open();
    return 0;
  }
  return detail::get_option(h, opt, ec);
}

}  // namespace

void stream_socket::set_no_delay(bool on, std::error_code& ec) noexcept {
  set_int(handle_, detail::option::no_delay, on ? 1 : 0, ec);
}
void stream_socket::set_no_delay(bool on) {
  std::error_code ec;
  set_no_delay(on, ec);
  if (ec) fail(ec, "set no_delay");
}
bool stream_socket::no_delay(std::error_code& ec) const noexcept {
  return get_int(handle_, detail::option::no_delay, ec) != 0;
}
bool stream_socket::no_delay() const {
  std::error_code ec;
  const bool on = no_delay(ec);
  if (ec) fail(ec, "get no_delay");
  return on;
}

void stream_socket::set_keep_alive(bool on, std::error_code& ec) noexcept {
  set_int(handle_, detail::option::keep_alive, on ? 1 : 0, ec);
}
void stream_socket::set_keep_alive(bool on) {
  std::error_code ec;
  set_keep_alive(on, ec);
  if (ec) fail(ec, "set keep_alive");
}
bool stream_socket::keep_alive(std::error_code& ec) const noexcept {
  return get_int(handle_, detail::option::keep_alive, ec) != 0;
}
bool stream_socket::keep_alive() const {
  std::error_code ec;
  const bool on = keep_alive(ec);
  if (ec) fail(ec, "get keep_alive");
  return on;
}

void stream_socket::set_receive_buffer_size(int bytes, std::error_code& ec) noexcept {
  set_int(handle_, detail::option::receive_buffer, bytes, ec);
}
void stream_socket::set_receive_buffer_size(int bytes) {
  std::error_code ec;
  set_receive_buffer_size(bytes, ec);
  if (ec) fail(ec, "set receive_buffer_size");
}
int stream_socket::receive_buffer_size(std::error_code& ec) const noexcept {
  return get_int(handle_, detail::option::receive_buffer, ec);
}
int stream_socket::receive_buffer_size() const {
  std::error_code ec;
  const int size = receive_buffer_size(ec);
  if (ec) fail(ec, "get receive_buffer_size");
  return size;
}

void stream_socket::set_send_buffer_size(int bytes, std::error_code& ec) noexcept {
  set_int(handle_, detail::option::send_buffer, bytes, ec);
}
void stream_socket::set_send_buffer_size(int bytes) {
  std::error_code ec;
  set_send_buffer_size(bytes, ec);
  if (ec) fail(ec, "set send_buffer_size");
}
int stream_socket::send_buffer_size(std::error_code& ec) const noexcept {
  return get_int(handle_, detail::option::send_buffer, ec);
}
int stream_socket::send_buffer_size() const {
  std::error_code ec;
  const int size = send_buffer_size(ec);
  if (ec) fail(ec, "get send_buffer_size");
  return size;
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
  if (ec) fail(ec, "set linger");
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
  if (ec) fail(ec, "set non_blocking");
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
  if (ec) fail(ec, "local_endpoint");
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
  if (ec) fail(ec, "peer_endpoint");
  return ep;
}

}  // namespace xsock
