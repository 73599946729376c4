// The internal contract between core and the one compiled platform backend
// (platform/posix or platform/win32, same file names). Core never includes a system
// socket header; everything it needs from the OS goes through these functions.
//
// Conventions: every function is noexcept and reports failure through `ec` (native
// codes in xsock::socket_category()); system calls interrupted by a signal are
// retried; every socket handed out is close-on-exec / non-inheritable and never
// raises SIGPIPE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "xsock/endpoint.hpp"
#include "xsock/stream_socket.hpp"

namespace xsock::detail {

using handle_t = native_handle_type;

// ---- init.cpp ------------------------------------------------------------------
// Makes the socket library usable (WSAStartup, reference-counted, on Windows;
// nothing on POSIX). Called by core before the first socket is created.
void ensure_initialized(std::error_code& ec) noexcept;
// Runs `handler` in the child process after every fork() (pthread_atfork; a no-op on
// Windows, which has no fork). For process-wide state that names threads the child
// does not have. The handler runs while the child has one thread but other threads'
// locks may be held for good: it may only make plain stores. Returns false when the
// system refused (no memory); the caller may try again later.
bool at_fork_child(void (*handler)()) noexcept;

// ---- error.cpp -----------------------------------------------------------------
// The error of the last failed socket call (errno / WSAGetLastError()).
std::error_code last_error() noexcept;
// A native-coded error for a portable condition (ETIMEDOUT / WSAETIMEDOUT, ...).
std::error_code make_error(std::errc condition) noexcept;
// The portable condition of a native code (generic_category when one exists,
// otherwise the native code in system_category).
std::error_condition portable_condition(int native) noexcept;
// The system's own text for a native code without a portable condition.
std::string native_message(int native);
// getaddrinfo failures (the value getaddrinfo returned) as a resolve_errc value.
int resolve_error(int native) noexcept;

// ---- socket_ops.cpp ------------------------------------------------------------
enum class option {
  no_delay,        // TCP_NODELAY
  keep_alive,      // SO_KEEPALIVE
  receive_buffer,  // SO_RCVBUF
  send_buffer,     // SO_SNDBUF
  v6_only,         // IPV6_V6ONLY
  // Datagram sockets. The IP-level options come per family: core knows the socket's.
  reuse_address,      // SO_REUSEADDR (datagram bind only; listeners use prepare_listener)
  broadcast,          // SO_BROADCAST
  ttl_v4,             // IP_TTL
  hops_v6,            // IPV6_UNICAST_HOPS
  multicast_ttl_v4,   // IP_MULTICAST_TTL
  multicast_hops_v6,  // IPV6_MULTICAST_HOPS
  multicast_loop_v4,  // IP_MULTICAST_LOOP
  multicast_loop_v6,  // IPV6_MULTICAST_LOOP
};

// Events for wait_one: bit flags.
inline constexpr unsigned wait_read = 1;
inline constexpr unsigned wait_write = 2;
inline constexpr unsigned wait_error = 4;  // error or hang-up reported by the system

// A TCP socket of the endpoint's family.
handle_t open_stream(const endpoint& like, std::error_code& ec) noexcept;
// The same, non-blocking from the start: set in the socket() call itself where the
// system allows (SOCK_NONBLOCK), so a connect costs no fcntl.
handle_t open_stream_non_blocking(const endpoint& like, std::error_code& ec) noexcept;
void close_handle(handle_t h) noexcept;

// Starts or completes a connect. Returns true when connected; false with no error
// when the socket is non-blocking and the connection is in progress (wait for
// writable, then read pending_error).
bool connect(handle_t h, const endpoint& peer, std::error_code& ec) noexcept;
// SO_ERROR: the outcome of a non-blocking connect.
std::error_code pending_error(handle_t h) noexcept;
// The outcome of a non-blocking connect once its socket was reported ready (writable
// or error): true when connected; false with no error when the connect is still in
// progress (a spurious wake-up, which some systems give); false with `ec` when it
// failed. As cheap as the system allows (Linux: SO_ERROR alone).
bool connect_finished(handle_t h, std::error_code& ec) noexcept;

// Listener set-up: address reuse policy (SO_REUSEADDR on POSIX when `reuse`;
// SO_EXCLUSIVEADDRUSE always on Windows), then bind and listen.
void prepare_listener(handle_t h, bool reuse, std::error_code& ec) noexcept;
void bind(handle_t h, const endpoint& where, std::error_code& ec) noexcept;
void listen(handle_t h, int backlog, std::error_code& ec) noexcept;
// One accept; the new socket is blocking, close-on-exec and SIGPIPE-free. EINTR is
// retried; every other failure is reported as the system gave it (a connection
// aborted while queued included): core's classify_accept_error
// (core/src/net/accept_policy.hpp) alone decides what a failure means.
handle_t accept(handle_t h, endpoint& peer, std::error_code& ec) noexcept;
// The same, the new socket non-blocking (accept4 with SOCK_NONBLOCK where there is
// one): for the event loop, which would otherwise make it non-blocking at once.
handle_t accept_non_blocking(handle_t h, endpoint& peer, std::error_code& ec) noexcept;

// One send/recv call (lengths clamped to what the system takes).
std::size_t send(handle_t h, const void* data, std::size_t size, std::error_code& ec) noexcept;
std::size_t receive(handle_t h, void* data, std::size_t size, std::error_code& ec) noexcept;
void shutdown(handle_t h, shutdown_type what, std::error_code& ec) noexcept;

// ---- datagrams (socket_ops.cpp) -------------------------------------------------
// A UDP socket of the endpoint's family (blocking). On Windows SIO_UDP_CONNRESET and
// SIO_UDP_NETRESET are turned off here, so an ICMP error for one peer never fails a
// read of an unconnected socket. `connect` above sets a datagram socket's default
// peer (it completes at once) and, on Windows, turns SIO_UDP_CONNRESET back on: the
// connected peer's ICMP errors are reported.
handle_t open_datagram(const endpoint& like, std::error_code& ec) noexcept;
// One datagram, whole or not at all: to `peer`, or to the connected peer when `peer`
// is nullptr. Returns `size` on success (0 bytes is a datagram too). Too large:
// EMSGSIZE / WSAEMSGSIZE. An ICMP port-unreachable reported on a connected socket is
// ECONNREFUSED on every platform (Windows' WSAECONNRESET is reported as
// WSAECONNREFUSED).
std::size_t send_datagram(handle_t h, const void* data, std::size_t size, const endpoint* peer,
                          std::error_code& ec) noexcept;
// One datagram into `data` (at most `size` bytes; `size` may be 0). Returns the bytes
// stored, sets `peer` and `truncated` (the datagram was larger: MSG_TRUNC on POSIX,
// WSAEMSGSIZE on Windows, which is not an error here). ICMP errors as for
// send_datagram.
std::size_t receive_datagram(handle_t h, void* data, std::size_t size, endpoint& peer,
                             bool& truncated, std::error_code& ec) noexcept;
// IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP (or DROP / LEAVE when !join). IPv4: the
// interface by index when `interface_index` is not 0, otherwise by address
// (`interface_address`, 0.0.0.0 for the system's choice). IPv6: by index.
void multicast_membership(handle_t h, const endpoint& group, const endpoint& interface_address,
                          std::uint32_t interface_index, bool join, std::error_code& ec) noexcept;
// IP_MULTICAST_IF (by address, or by index when `interface_index` is not 0) or
// IPV6_MULTICAST_IF (by index), as `v6` says.
void set_multicast_interface(handle_t h, bool v6, const endpoint& interface_address,
                             std::uint32_t interface_index, std::error_code& ec) noexcept;

// Waits for `events` (wait_read | wait_write) on one handle for at most timeout_ms
// (negative: no limit). Returns the ready events (wait_error included when the
// system reports an error or hang-up), 0 on timeout.
unsigned wait_one(handle_t h, unsigned events, int timeout_ms, std::error_code& ec) noexcept;

void set_non_blocking(handle_t h, bool on, std::error_code& ec) noexcept;
void set_option(handle_t h, option opt, int value, std::error_code& ec) noexcept;
int get_option(handle_t h, option opt, std::error_code& ec) noexcept;
void set_linger(handle_t h, bool on, int seconds, std::error_code& ec) noexcept;

endpoint local_endpoint(handle_t h, std::error_code& ec) noexcept;
endpoint peer_endpoint(handle_t h, std::error_code& ec) noexcept;

// The index of the network interface named `name` (if_nametoindex), 0 when there is
// none. For IPv6 scopes given by name ("fe80::1%eth0").
std::uint32_t interface_index(std::string_view name) noexcept;

// ---- core/src/net/address_text.cpp (portable, not a backend file) ---------------
// Numeric address text (no brackets, no port; IPv6 may carry %scope, a number or an
// interface name) to an endpoint with port 0, and back. The rules and output are
// glibc's inet_pton/inet_ntop. parse_address returns false for bad text.
bool parse_address(std::string_view text, endpoint& out) noexcept;
std::string format_address(const endpoint& ep);

// getaddrinfo for TCP; errors in resolve_category().
std::vector<endpoint> resolve(std::string_view host, std::string_view service, std::error_code& ec);

// ---- poller.cpp ----------------------------------------------------------------
// Readiness for many sockets, level-triggered (see xsock/poller.hpp). Backends:
// epoll (Linux, unless XSOCK_POLLER_POLL is defined), poll() (other POSIX systems,
// or XSOCK_POLLER_POLL), AFD polls on a completion port or WSAPoll (Windows, chosen at
// run time, see platform/win32/poller.cpp). Interest and readiness use the wait_*
// flags above.
struct poller_state;  // defined by the backend

// Core's name for a registration (a slot index and its generation, see
// core/src/net/poller.cpp), opaque to the backend. The backend keeps it where the
// kernel hands it back with an event (epoll's data.u64; the AFD poll's per-socket
// state; the entry beside a pollfd / WSAPOLLFD) and reports events by token, so no
// event needs a handle lookup, and an event for a registration that is gone carries a
// token core no longer honours.
using poller_token = std::uint64_t;

struct poller_ready {
  poller_token token;
  unsigned events;  // wait_read | wait_write | wait_error
};

// The system object plus a wake-up channel (a non-blocking, close-on-exec pipe on
// POSIX; a posted completion, or a connected loopback socket pair for WSAPoll, on
// Windows). nullptr with `ec` on failure.
poller_state* poller_create(std::error_code& ec) noexcept;
void poller_destroy(poller_state* p) noexcept;
// Registration. `events` may be 0 (registered, not interested); `token` comes back
// in every poller_ready for `h`. Adding a handle that is already there:
// errc::file_exists; modifying/removing an unknown one: errc::no_such_file_or_directory.
void poller_add(poller_state* p, handle_t h, unsigned events, poller_token token,
                std::error_code& ec) noexcept;
// `token` is the one given to poller_add (epoll's MOD replaces the stored data too).
void poller_modify(poller_state* p, handle_t h, unsigned events, poller_token token,
                   std::error_code& ec) noexcept;
void poller_remove(poller_state* p, handle_t h, std::error_code& ec) noexcept;
// Waits at most timeout_ms (negative: no limit) and replaces `out` with the tokens of
// the ready handles (hang-up and error reported as wait_error, plus wait_read so the caller
// reads the end of stream or the error). Returns early, possibly with nothing ready,
// after poller_wake; the wake-up channel is drained here and never appears in `out`.
// EINTR is retried with the remaining time.
void poller_wait(poller_state* p, std::vector<poller_ready>& out, int timeout_ms,
                 std::error_code& ec) noexcept;
// Async-signal-safe and thread-safe: makes the current or next poller_wait return.
// Preserves errno / WSAGetLastError. Wake-ups that arrive while one is already
// pending coalesce (a full pipe is fine).
void poller_wake(poller_state* p) noexcept;
// "epoll", "poll", "afd" or "WSAPoll" (the one a poller created now gets).
const char* poller_backend_name() noexcept;

}  // namespace xsock::detail
