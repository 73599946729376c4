#include "xsock/datagram_socket.hpp"

#include <string>
#include <utility>

#include "backend.hpp"
#include "net/throw.hpp"
#include "net/timing.hpp"

// The OS handle of a socket opened here is always non-blocking (as a listener's is):
// a blocking call is a non-blocking attempt plus wait_one, so a timed receive never
// blocks in the system call after its wait saw a datagram that another thread (or a
// checksum failure) then took away. `non_blocking_` only says whether a call that
// would block fails or waits.

namespace xsock {
namespace {

std::error_code not_open() noexcept {
  return detail::make_error(std::errc::bad_file_descriptor);
}

unsigned to_wait_events(readiness what) noexcept {
  unsigned events = 0;
  if (any(what & readiness::readable)) events |= detail::wait_read;
  if (any(what & readiness::writable)) events |= detail::wait_write;
  return events;
}

bool is_multicast(const endpoint& group) noexcept {
  if (group.is_v4()) return (group.v4_bytes()[0] & 0xf0) == 0xe0;  // 224.0.0.0/4
  if (group.is_v4_mapped()) return false;
  return group.v6_bytes()[0] == 0xff;  // ff00::/8
}

// A new UDP socket of `like`'s family, non-blocking at the OS level.
detail::handle_t open_handle(const endpoint& like, std::error_code& ec) noexcept {
  detail::ensure_initialized(ec);
  if (ec) return invalid_handle;
  const auto h = detail::open_datagram(like, ec);
  if (ec) return invalid_handle;
  detail::set_non_blocking(h, true, ec);
  if (ec) {
    detail::close_handle(h);
    return invalid_handle;
  }
  return h;
}

// "239.255.0.1 on 127.0.0.1", "ff12::1 on interface 1": what a membership names.
std::string membership_text(const endpoint& group, const endpoint* address, std::uint32_t index) {
  std::string text = group.address_string();
  if (address) {
    text += " on ";
    text += address->address_string();
  } else {
    text += " on interface ";
    text += std::to_string(index);
  }
  return text;
}

std::string interface_text(const endpoint* address, std::uint32_t index) {
  if (address) return address->address_string();
  return "interface " + std::to_string(index);
}

}  // namespace

datagram_socket::datagram_socket(datagram_socket&& other) noexcept
    : handle_(std::exchange(other.handle_, invalid_handle)),
      non_blocking_(std::exchange(other.non_blocking_, false)),
      v6_(std::exchange(other.v6_, false)),
      has_peer_(std::exchange(other.has_peer_, false)),
      peer_(other.peer_) {}

datagram_socket& datagram_socket::operator=(datagram_socket&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, invalid_handle);
    non_blocking_ = std::exchange(other.non_blocking_, false);
    v6_ = std::exchange(other.v6_, false);
    has_peer_ = std::exchange(other.has_peer_, false);
    peer_ = other.peer_;
  }
  return *this;
}

datagram_socket::~datagram_socket() {
  close();
}

void datagram_socket::fail(const std::error_code& ec, const char* operation,
                           const endpoint* where) const {
  if (where) detail::throw_error(ec, operation, *where);
  if (has_peer_) detail::throw_error(ec, operation, peer_);
  if (is_open()) {
    std::error_code ignored;
    const endpoint local = detail::local_endpoint(handle_, ignored);
    if (!ignored) detail::throw_error(ec, operation, local);
  }
  detail::throw_error(ec, operation);
}

// ---- open, bind, connect -----------------------------------------------------------

void datagram_socket::open(const endpoint& like, std::error_code& ec) noexcept {
  ec.clear();
  close();
  handle_ = open_handle(like, ec);
  if (!ec) v6_ = like.is_v6();
}

void datagram_socket::open(const endpoint& like) {
  std::error_code ec;
  open(like, ec);
  if (ec) detail::throw_error(ec, "open", like);
}

void datagram_socket::bind(const endpoint& where, const bind_options& options,
                           std::error_code& ec) noexcept {
  ec.clear();
  const bool opened_here = !is_open();
  if (opened_here) {
    open(where, ec);
    if (ec) return;
  }
  if (where.is_v6())
    detail::set_option(handle_, detail::option::v6_only, options.v6_only ? 1 : 0, ec);
  if (!ec && options.reuse_address) {
    detail::set_option(handle_, detail::option::reuse_address, 1, ec);
  }
  if (!ec) detail::bind(handle_, where, ec);
  if (ec && opened_here) close();
}

void datagram_socket::bind(const endpoint& where, const bind_options& options) {
  std::error_code ec;
  bind(where, options, ec);
  if (ec) detail::throw_error(ec, "bind", where);
}

void datagram_socket::connect(const endpoint& peer, std::error_code& ec) noexcept {
  ec.clear();
  const bool opened_here = !is_open();
  if (opened_here) {
    open(peer, ec);
    if (ec) return;
  }
  // A datagram connect only records the default peer: it completes at once, even on
  // a non-blocking socket.
  detail::connect(handle_, peer, ec);
  if (ec) {
    if (opened_here) close();
    return;
  }
  has_peer_ = true;
  peer_ = peer;
}

void datagram_socket::connect(const endpoint& peer) {
  std::error_code ec;
  connect(peer, ec);
  if (ec) detail::throw_error(ec, "connect", peer);
}

// ---- sending -------------------------------------------------------------------------

namespace {

std::size_t send_one(detail::handle_t h, bool non_blocking, const void* data, std::size_t size,
                     const endpoint* peer, std::error_code& ec) noexcept {
  ec.clear();
  if (h == invalid_handle) {
    ec = not_open();
    return 0;
  }
  for (;;) {
    const auto n = detail::send_datagram(h, data, size, peer, ec);
    if (ec != std::errc::operation_would_block || non_blocking) return n;
    // A full send buffer: wait for room, as a blocking socket would.
    detail::wait_one(h, detail::wait_write, -1, ec);
    if (ec) return 0;
  }
}

}  // namespace

std::size_t datagram_socket::send_to(const void* data, std::size_t size, const endpoint& peer,
                                     std::error_code& ec) noexcept {
  return send_one(handle_, non_blocking_, data, size, &peer, ec);
}

std::size_t datagram_socket::send_to(const void* data, std::size_t size, const endpoint& peer) {
  std::error_code ec;
  const auto n = send_to(data, size, peer, ec);
  if (ec) fail(ec, "send_to", &peer);
  return n;
}

std::size_t datagram_socket::send(const void* data, std::size_t size,
                                  std::error_code& ec) noexcept {
  const auto n = send_one(handle_, non_blocking_, data, size, nullptr, ec);
  // Without a peer POSIX says EDESTADDRREQ, Windows WSAENOTCONN, Wine WSAEINVAL: one
  // answer for all. Checked only after a failure, and only when no connect() here
  // recorded a peer (an adopted handle may have one).
  if (ec && is_open() && !has_peer_) {
    std::error_code no_peer;
    detail::peer_endpoint(handle_, no_peer);
    if (no_peer) ec = detail::make_error(std::errc::not_connected);
  }
  return n;
}

std::size_t datagram_socket::send(const void* data, std::size_t size) {
  std::error_code ec;
  const auto n = send(data, size, ec);
  if (ec) fail(ec, "send", nullptr);
  return n;
}

// ---- receiving -----------------------------------------------------------------------

datagram_info datagram_socket::receive_from(void* data, std::size_t size, time_limit timeout,
                                            std::error_code& ec) noexcept {
  ec.clear();
  datagram_info info;
  if (!is_open()) {
    ec = not_open();
    return info;
  }
  const auto deadline = detail::deadline_after(detail::steady::now(), timeout);
  for (;;) {
    info.size = detail::receive_datagram(handle_, data, size, info.peer, info.truncated, ec);
    if (ec != std::errc::operation_would_block) return info;
    if (non_blocking_ && timeout.unlimited()) return info;
    const time_limit left = detail::remaining(deadline, detail::steady::now());
    const unsigned ready =
        detail::wait_one(handle_, detail::wait_read, detail::to_wait_ms(left), ec);
    if (ec) return info;
    if (ready == 0) {
      // A wait longer than the backend takes at once wakes up early: wait again.
      if (detail::steady::now() < deadline) continue;
      ec = detail::make_error(std::errc::timed_out);
      return info;
    }
    // Readable (or an error is pending): the next attempt takes it. If someone else
    // took the datagram first, the attempt says would-block and this waits again.
  }
}

datagram_info datagram_socket::receive_from(void* data, std::size_t size,
                                            std::error_code& ec) noexcept {
  return receive_from(data, size, no_timeout, ec);
}

datagram_info datagram_socket::receive_from(void* data, std::size_t size, time_limit timeout) {
  std::error_code ec;
  auto info = receive_from(data, size, timeout, ec);
  if (ec) fail(ec, "receive_from", nullptr);
  return info;
}

bool datagram_socket::wait(readiness what, time_limit timeout, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return false;
  }
  const auto deadline = detail::deadline_after(detail::steady::now(), timeout);
  for (;;) {
    const time_limit left = detail::remaining(deadline, detail::steady::now());
    const unsigned ready =
        detail::wait_one(handle_, to_wait_events(what), detail::to_wait_ms(left), ec);
    if (ec) return false;
    if (ready != 0) return true;
    if (detail::steady::now() >= deadline) return false;
  }
}

bool datagram_socket::wait(readiness what, time_limit timeout) {
  std::error_code ec;
  const bool ready = wait(what, timeout, ec);
  if (ec) fail(ec, "wait", nullptr);
  return ready;
}

// ---- ownership -----------------------------------------------------------------------

void datagram_socket::close() noexcept {
  if (is_open()) detail::close_handle(std::exchange(handle_, invalid_handle));
  non_blocking_ = false;
  v6_ = false;
  has_peer_ = false;
  peer_ = endpoint();
}

native_handle_type datagram_socket::release() noexcept {
  // Handed back in the mode the caller asked for (the OS handle was kept
  // non-blocking for the timed calls).
  if (is_open() && !non_blocking_) {
    std::error_code ignored;
    detail::set_non_blocking(handle_, false, ignored);
  }
  non_blocking_ = false;
  v6_ = false;
  has_peer_ = false;
  peer_ = endpoint();
  return std::exchange(handle_, invalid_handle);
}

void datagram_socket::set_non_blocking(bool on, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  // A handle adopted from the caller may be blocking: make it non-blocking as the
  // ones opened here are.
  detail::set_non_blocking(handle_, true, ec);
  if (!ec) non_blocking_ = on;
}

void datagram_socket::set_non_blocking(bool on) {
  std::error_code ec;
  set_non_blocking(on, ec);
  if (ec) fail(ec, "set non_blocking", nullptr);
}

// ---- options ---------------------------------------------------------------------------

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

// The socket's family: from the system when it tells (a handle adopted from the
// caller), else what open() recorded (Winsock refuses getsockname before bind).
bool socket_is_v6(native_handle_type h, bool recorded) noexcept {
  std::error_code ec;
  const endpoint local = detail::local_endpoint(h, ec);
  return ec ? recorded : local.is_v6();
}

// A per-family hop-count option in range [low, 255].
void set_hops(native_handle_type h, bool recorded_v6, detail::option v4, detail::option v6,
              int hops, int low, std::error_code& ec) noexcept {
  ec.clear();
  if (h == invalid_handle) {
    ec = not_open();
    return;
  }
  if (hops < low || hops > 255) {
    ec = detail::make_error(std::errc::invalid_argument);
    return;
  }
  detail::set_option(h, socket_is_v6(h, recorded_v6) ? v6 : v4, hops, ec);
}

}  // namespace

void datagram_socket::set_broadcast(bool on, std::error_code& ec) noexcept {
  set_int(handle_, detail::option::broadcast, on ? 1 : 0, ec);
}
void datagram_socket::set_broadcast(bool on) {
  std::error_code ec;
  set_broadcast(on, ec);
  if (ec) fail(ec, "set broadcast", nullptr);
}

void datagram_socket::set_ttl(int hops, std::error_code& ec) noexcept {
  set_hops(handle_, v6_, detail::option::ttl_v4, detail::option::hops_v6, hops, 1, ec);
}
void datagram_socket::set_ttl(int hops) {
  std::error_code ec;
  set_ttl(hops, ec);
  if (ec) fail(ec, ("set ttl " + std::to_string(hops)).c_str(), nullptr);
}

void datagram_socket::set_multicast_ttl(int hops, std::error_code& ec) noexcept {
  set_hops(handle_, v6_, detail::option::multicast_ttl_v4, detail::option::multicast_hops_v6, hops,
           0, ec);
}
void datagram_socket::set_multicast_ttl(int hops) {
  std::error_code ec;
  set_multicast_ttl(hops, ec);
  if (ec) fail(ec, ("set multicast_ttl " + std::to_string(hops)).c_str(), nullptr);
}

void datagram_socket::set_multicast_loopback(bool on, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  detail::set_option(handle_,
                     socket_is_v6(handle_, v6_) ? detail::option::multicast_loop_v6
                                                : detail::option::multicast_loop_v4,
                     on ? 1 : 0, ec);
}
void datagram_socket::set_multicast_loopback(bool on) {
  std::error_code ec;
  set_multicast_loopback(on, ec);
  if (ec) fail(ec, "set multicast_loopback", nullptr);
}

void datagram_socket::set_receive_buffer_size(int bytes, std::error_code& ec) noexcept {
  set_int(handle_, detail::option::receive_buffer, bytes, ec);
}
void datagram_socket::set_receive_buffer_size(int bytes) {
  std::error_code ec;
  set_receive_buffer_size(bytes, ec);
  if (ec) fail(ec, "set receive_buffer_size", nullptr);
}
int datagram_socket::receive_buffer_size(std::error_code& ec) const noexcept {
  return get_int(handle_, detail::option::receive_buffer, ec);
}
int datagram_socket::receive_buffer_size() const {
  std::error_code ec;
  const int size = receive_buffer_size(ec);
  if (ec) fail(ec, "get receive_buffer_size", nullptr);
  return size;
}

void datagram_socket::set_send_buffer_size(int bytes, std::error_code& ec) noexcept {
  set_int(handle_, detail::option::send_buffer, bytes, ec);
}
void datagram_socket::set_send_buffer_size(int bytes) {
  std::error_code ec;
  set_send_buffer_size(bytes, ec);
  if (ec) fail(ec, "set send_buffer_size", nullptr);
}
int datagram_socket::send_buffer_size(std::error_code& ec) const noexcept {
  return get_int(handle_, detail::option::send_buffer, ec);
}
int datagram_socket::send_buffer_size() const {
  std::error_code ec;
  const int size = send_buffer_size(ec);
  if (ec) fail(ec, "get send_buffer_size", nullptr);
  return size;
}

// ---- multicast -------------------------------------------------------------------------

namespace {

// Checks a membership request and turns the interface into what the backend takes.
// IPv6 names interfaces by index only: an address form must be unspecified (the
// system's choice) or carry the index as its scope.
bool membership_interface(native_handle_type h, bool recorded_v6, const endpoint& group,
                          const endpoint* address, std::uint32_t& index, endpoint& v4_address,
                          std::error_code& ec) noexcept {
  ec.clear();
  if (h == invalid_handle) {
    ec = not_open();
    return false;
  }
  const bool v6 = socket_is_v6(h, recorded_v6);
  if (group.is_v6() != v6 || !is_multicast(group)) {
    ec = detail::make_error(std::errc::invalid_argument);
    return false;
  }
  v4_address = endpoint();
  if (!address) return true;
  if (!v6) {
    if (!address->is_v4()) {
      ec = detail::make_error(std::errc::invalid_argument);
      return false;
    }
    v4_address = *address;
    index = 0;
    return true;
  }
  if (!address->is_unspecified() && address->scope_id() == 0) {
    ec = detail::make_error(std::errc::invalid_argument);
    return false;
  }
  index = address->scope_id();
  return true;
}

void membership(native_handle_type h, bool recorded_v6, const endpoint& group,
                const endpoint* address, std::uint32_t index, bool join,
                std::error_code& ec) noexcept {
  endpoint v4_address;
  if (!membership_interface(h, recorded_v6, group, address, index, v4_address, ec)) return;
  detail::multicast_membership(h, group, v4_address, index, join, ec);
}

}  // namespace

void datagram_socket::join_group(const endpoint& group, const endpoint& interface_address,
                                 std::error_code& ec) noexcept {
  membership(handle_, v6_, group, &interface_address, 0, true, ec);
}
void datagram_socket::join_group(const endpoint& group, const endpoint& interface_address) {
  std::error_code ec;
  join_group(group, interface_address, ec);
  if (ec) detail::throw_error(ec, "join_group", membership_text(group, &interface_address, 0));
}
void datagram_socket::join_group(const endpoint& group, std::uint32_t interface_index,
                                 std::error_code& ec) noexcept {
  membership(handle_, v6_, group, nullptr, interface_index, true, ec);
}
void datagram_socket::join_group(const endpoint& group, std::uint32_t interface_index) {
  std::error_code ec;
  join_group(group, interface_index, ec);
  if (ec) detail::throw_error(ec, "join_group", membership_text(group, nullptr, interface_index));
}
void datagram_socket::leave_group(const endpoint& group, const endpoint& interface_address,
                                  std::error_code& ec) noexcept {
  membership(handle_, v6_, group, &interface_address, 0, false, ec);
}
void datagram_socket::leave_group(const endpoint& group, const endpoint& interface_address) {
  std::error_code ec;
  leave_group(group, interface_address, ec);
  if (ec) detail::throw_error(ec, "leave_group", membership_text(group, &interface_address, 0));
}
void datagram_socket::leave_group(const endpoint& group, std::uint32_t interface_index,
                                  std::error_code& ec) noexcept {
  membership(handle_, v6_, group, nullptr, interface_index, false, ec);
}
void datagram_socket::leave_group(const endpoint& group, std::uint32_t interface_index) {
  std::error_code ec;
  leave_group(group, interface_index, ec);
  if (ec) detail::throw_error(ec, "leave_group", membership_text(group, nullptr, interface_index));
}

void datagram_socket::set_multicast_interface(const endpoint& interface_address,
                                              std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  const bool v6 = socket_is_v6(handle_, v6_);
  if (v6) {
    // By index only: an address must be unspecified or carry the index as its scope.
    if (!interface_address.is_v6() ||
        (!interface_address.is_unspecified() && interface_address.scope_id() == 0)) {
      ec = detail::make_error(std::errc::invalid_argument);
      return;
    }
    detail::set_multicast_interface(handle_, true, endpoint(), interface_address.scope_id(), ec);
    return;
  }
  if (!interface_address.is_v4()) {
    ec = detail::make_error(std::errc::invalid_argument);
    return;
  }
  detail::set_multicast_interface(handle_, false, interface_address, 0, ec);
}
void datagram_socket::set_multicast_interface(const endpoint& interface_address) {
  std::error_code ec;
  set_multicast_interface(interface_address, ec);
  if (ec) {
    detail::throw_error(ec, "set multicast_interface", interface_text(&interface_address, 0));
  }
}
void datagram_socket::set_multicast_interface(std::uint32_t interface_index,
                                              std::error_code& ec) noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return;
  }
  detail::set_multicast_interface(handle_, socket_is_v6(handle_, v6_), endpoint(), interface_index,
                                  ec);
}
void datagram_socket::set_multicast_interface(std::uint32_t interface_index) {
  std::error_code ec;
  set_multicast_interface(interface_index, ec);
  if (ec) {
    detail::throw_error(ec, "set multicast_interface", interface_text(nullptr, interface_index));
  }
}

// ---- addresses -------------------------------------------------------------------------

endpoint datagram_socket::local_endpoint(std::error_code& ec) const noexcept {
  ec.clear();
  if (!is_open()) {
    ec = not_open();
    return {};
  }
  return detail::local_endpoint(handle_, ec);
}
endpoint datagram_socket::local_endpoint() const {
  std::error_code ec;
  auto ep = local_endpoint(ec);
  if (ec) detail::throw_error(ec, "local_endpoint");
  return ep;
}

endpoint datagram_socket::peer_endpoint(std::error_code& ec) const noexcept {
  ec.clear();
  if (!is_open()) {
    ec = detail::make_error(std::errc::not_connected);
    return {};
  }
  return detail::peer_endpoint(handle_, ec);
}
endpoint datagram_socket::peer_endpoint() const {
  std::error_code ec;
  auto ep = peer_endpoint(ec);
  if (ec) fail(ec, "peer_endpoint", nullptr);
  return ep;
}

}  // namespace xsock
