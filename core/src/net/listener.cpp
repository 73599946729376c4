#include "xsock/listener.hpp"

#include <utility>

#include "backend.hpp"
#include "net/accept_policy.hpp"
#include "net/throw.hpp"
#include "net/timing.hpp"

namespace xsock {
namespace {

// Sets up a listening socket; returns the name of the step that failed (for the
// message of the throwing form) or nullptr.
const char* open_listener(const endpoint& where, const listen_options& options,
                          detail::handle_t& out, std::error_code& ec) noexcept {
  detail::ensure_initialized(ec);
  if (ec) return "listen";
  // The handle stays non-blocking at the OS level: a connection that is reset between
  // readiness and accept() must not block a caller that asked for a timeout. Made so
  // by socket() itself where the system allows.
  const auto h = detail::open_stream_non_blocking(where, ec);
  if (ec) return "socket";
  const char* step = nullptr;
  if (where.is_v6()) {
    detail::set_option(h, detail::option::v6_only, options.v6_only ? 1 : 0, ec);
    if (ec) step = "set v6_only";
  }
  if (!step) {
    detail::prepare_listener(h, options.reuse_address, ec);
    if (ec) step = "set address reuse";
  }
  if (!step) {
    detail::bind(h, where, ec);
    if (ec) step = "bind";
  }
  if (!step) {
    detail::listen(h, options.backlog, ec);
    if (ec) step = "listen";
  }
  if (step) {
    detail::close_handle(h);
    return step;
  }
  out = h;
  return nullptr;
}

}  // namespace

listener::listener(listener&& other) noexcept
    : handle_(std::exchange(other.handle_, invalid_handle)),
      non_blocking_(std::exchange(other.non_blocking_, false)) {}

listener& listener::operator=(listener&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, invalid_handle);
    non_blocking_ = std::exchange(other.non_blocking_, false);
  }
  return *this;
}

listener::~listener() {
  close();
}

void listener::listen(const endpoint& where, const listen_options& options,
                      std::error_code& ec) noexcept {
  ec.clear();
  close();
  open_listener(where, options, handle_, ec);
}

void listener::listen(const endpoint& where, const listen_options& options) {
  close();
  std::error_code ec;
  const char* step = open_listener(where, options, handle_, ec);
  if (step) detail::throw_error(ec, step, where);
}

listener::accepted listener::accept(time_limit timeout, std::error_code& ec) noexcept {
  ec.clear();
  accepted result;
  if (!is_open()) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return result;
  }
  const auto deadline = detail::deadline_after(detail::steady::now(), timeout);
  for (;;) {
    auto h = detail::accept(handle_, result.peer, ec);
    if (!ec) {
      result.socket = stream_socket(h);
      result.socket.has_remote_ = true;
      result.socket.remote_ = result.peer;
      return result;
    }
    switch (detail::classify_accept_error(ec)) {
      case detail::accept_outcome::skip:
        continue;  // that connection is gone; the next may be waiting already
      case detail::accept_outcome::no_connection:
        break;
      case detail::accept_outcome::back_off:
      case detail::accept_outcome::fail:
        return result;
    }
    if (non_blocking_) return result;
    const time_limit left = detail::remaining(deadline, detail::steady::now());
    if (detail::wait_one(handle_, detail::wait_read, detail::to_wait_ms(left), ec) == 0) {
      if (ec) return result;
      // A wait longer than the backend takes at once wakes up early: wait again.
      if (detail::steady::now() < deadline) continue;
      ec = detail::make_error(std::errc::timed_out);
      return result;
    }
    if (ec) return result;
  }
}

listener::accepted listener::accept(std::error_code& ec) noexcept {
  return accept(no_timeout, ec);
}

listener::accepted listener::accept(time_limit timeout) {
  std::error_code ec;
  auto result = accept(timeout, ec);
  if (ec) {
    std::error_code ignored;
    detail::throw_error(ec, "accept", local_endpoint(ignored));
  }
  return result;
}

void listener::close() noexcept {
  if (is_open()) detail::close_handle(std::exchange(handle_, invalid_handle));
  non_blocking_ = false;
}

void listener::set_non_blocking(bool on, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return;
  }
  non_blocking_ = on;  // the OS handle is always non-blocking; this sets accept's behaviour
}

void listener::set_non_blocking(bool on) {
  std::error_code ec;
  set_non_blocking(on, ec);
  if (ec) detail::throw_error(ec, "set non_blocking");
}

endpoint listener::local_endpoint(std::error_code& ec) const noexcept {
  ec.clear();
  if (!is_open()) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return {};
  }
  return detail::local_endpoint(handle_, ec);
}

endpoint listener::local_endpoint() const {
  std::error_code ec;
  auto ep = local_endpoint(ec);
  if (ec) detail::throw_error(ec, "local_endpoint");
  return ep;
}

}  // namespace xsock
