#include "xsock/server.hpp"

#include <algorithm>
#include <atomic>
#include <list>
#include <new>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/accept_policy.hpp"
#include "net/throw.hpp"
#include "net/timing.hpp"
#include "xsock/poller.hpp"
#include "xsock/stream_socket.hpp"

namespace xsock {
namespace {

using clock = detail::steady;
constexpr server::connection_id listener_tag = 0;
// Accepts per listener readiness: bounded so a connection storm cannot starve the
// connections already served.
constexpr int accepts_per_turn = 64;

bool would_block(const std::error_code& ec) noexcept {
  return ec == std::errc::operation_would_block || ec == std::errc::resource_unavailable_try_again;
}

close_reason reason_for(const std::error_code& ec) noexcept {
  if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe ||
      ec == std::errc::connection_aborted)
    return close_reason::reset;
  return close_reason::error;
}

// Where a connection is in its life. Reading happens only while `open`.
enum class conn_state : std::uint8_t {
  open,         // reading and writing
  peer_closed,  // end of stream read; the embedder (on_end_of_stream) still sends
  draining,     // ending: what is queued is sent, then the connection finishes
  finished,     // finishes at the end of this turn, queued output dropped
};

}  // namespace

const char* to_string(close_reason reason) noexcept {
  switch (reason) {
    case close_reason::closed:
      return "closed";
    case close_reason::reset:
      return "reset";
    case close_reason::idle_timeout:
      return "idle-timeout";
    case close_reason::shutdown:
      return "shutdown";
    case close_reason::error:
      return "error";
    case close_reason::local:
      return "local";
  }
  return "error";
}

namespace {

struct connection {
  server::connection_id id = 0;
  stream_socket socket;
  endpoint peer;
  // Queued output: bytes [out_pos, out.size()) are still to be sent.
  std::string out;
  std::size_t out_pos = 0;

  conn_state state = conn_state::open;
  close_reason reason = close_reason::closed;
  std::error_code error;
  readiness interest = readiness::none;
  bool registered = false;    // in the poller (interest not none)
  bool dirty = false;         // queued for end_turn
  bool user_paused = false;   // pause_reading()
  bool backpressure = false;  // paused because `out` grew past pause_reading_above
  bool timer_set = false;

  clock::time_point last_active{};
  std::list<server::connection_id>::iterator idle_pos;
  clock::time_point timer_at{};

  std::size_t pending() const noexcept { return out.size() - out_pos; }
  bool finished() const noexcept { return state == conn_state::finished; }
  // send() is refused once the embedder asked to close, or the connection is ending.
  bool accepts_output() const noexcept {
    return state == conn_state::open || state == conn_state::peer_closed ||
           (state == conn_state::draining && reason == close_reason::closed);
  }
  void end(close_reason why, std::error_code ec = {}) noexcept {
    state = conn_state::finished;
    reason = why;
    error = ec;
  }
};

}  // namespace

struct server::impl {
  impl(server& owner, listener&& socket, const server_options& opts, callbacks cb,
       std::error_code& ec)
      : self(owner),
        listen_socket(std::move(socket)),
        loop_poller(ec),
        options(opts),
        handlers(std::move(cb)) {
    if (ec) return;
    listen_socket.set_non_blocking(true, ec);
    read_buffer.resize(std::max<std::size_t>(options.read_size, 1));
  }

  server& self;
  listener listen_socket;
  poller loop_poller;
  server_options options;
  callbacks handlers;
  server_stats stats;
  std::atomic<bool> stop_requested{false};

  std::unordered_map<connection_id, std::unique_ptr<connection>> connections;
  connection_id next_id = 1;
  // Least recently active first: idle expiry looks only at the front.
  std::list<connection_id> idle_order;
  std::set<std::pair<clock::time_point, connection_id>> timers;
  // Connections whose output, interest or state changed this turn.
  std::vector<connection_id> dirty;
  std::vector<connection_id> work;
  std::vector<poller::event> events;
  std::string read_buffer;

  bool listener_watched = false;
  bool accept_paused_by_error = false;
  clock::time_point accept_retry_at{};

  connection* find(connection_id id) const noexcept {
    const auto it = connections.find(id);
    return it == connections.end() ? nullptr : it->second.get();
  }

  // Queues `c` for end_turn. Only an allocation failure can lose the entry, and that
  // merely delays the update to the connection's next event.
  void mark_dirty(connection& c) noexcept {
    if (c.dirty) return;
    try {
      dirty.push_back(c.id);
      c.dirty = true;
    } catch (...) {
    }
  }

  void touch(connection& c, clock::time_point now) noexcept {
    c.last_active = now;
    idle_order.splice(idle_order.end(), idle_order, c.idle_pos);
  }

  void cancel_timer(connection& c) noexcept {
    if (!c.timer_set) return;
    timers.erase({c.timer_at, c.id});
    c.timer_set = false;
  }

  // Interest follows state: read only while open and not paused or stopping; write
  // while output is queued. A connection interested in nothing is taken out of the
  // poller altogether, because error/hang-up is reported even for an empty interest
  // set and would make a level-triggered wait return at once, forever.
  void update_interest(connection& c) noexcept {
    if (c.backpressure && c.pending() == 0) c.backpressure = false;
    readiness want = readiness::none;
    if (c.state == conn_state::open && !c.user_paused && !c.backpressure && !stop_requested.load())
      want |= readiness::readable;
    if (!c.finished() && c.pending() > 0) want |= readiness::writable;
    if (want == c.interest && c.registered == (want != readiness::none)) return;
    std::error_code ec;
    const native_handle_type h = c.socket.native_handle();
    if (want == readiness::none) {
      if (c.registered) loop_poller.remove(h, ec);
      c.registered = false;
    } else if (!c.registered) {
      loop_poller.add(h, want, c.id, ec);
      c.registered = !ec;
    } else {
      loop_poller.modify(h, want, ec);
    }
    c.interest = want;
    if (ec && !c.finished()) {
      c.end(close_reason::error, ec);
      mark_dirty(c);
    }
  }

  bool want_listener() const noexcept {
    return listen_socket.is_open() && !stop_requested.load() && !accept_paused_by_error &&
           (options.max_connections == 0 || connections.size() < options.max_connections);
  }

  void update_listener(clock::time_point now) {
    if (accept_paused_by_error && now >= accept_retry_at) accept_paused_by_error = false;
    const bool want = want_listener();
    if (want == listener_watched) return;
    std::error_code ec;
    if (want) {
      loop_poller.add(listen_socket.native_handle(), readiness::readable, listener_tag, ec);
    } else {
      loop_poller.remove(listen_socket.native_handle(), ec);
    }
    listener_watched = want && !ec;
    if (ec && handlers.on_accept_error) handlers.on_accept_error(self, ec);
  }

  void stop_accepting() noexcept {
    if (listener_watched) {
      std::error_code ignored;
      loop_poller.remove(listen_socket.native_handle(), ignored);
      listener_watched = false;
    }
    listen_socket.close();
  }

  void accept_some(clock::time_point now) {
    for (int i = 0; i < accepts_per_turn; ++i) {
      // on_accept may have called stop_accepting(), or filled the last slot.
      if (!listen_socket.is_open()) break;
      if (options.max_connections != 0 && connections.size() >= options.max_connections) break;
      std::error_code ec;
      listener::accepted a = listen_socket.accept(ec);
      if (ec) {
        const detail::accept_outcome outcome = detail::classify_accept_error(ec);
        if (outcome == detail::accept_outcome::no_connection) break;
        ++stats.accept_errors;
        if (outcome == detail::accept_outcome::skip) continue;
        // Out of descriptors or memory, or a failure we do not understand: retrying
        // at once would fail again, so the listener is paused for accept_retry
        // instead of being retried on every turn.
        accept_paused_by_error = true;
        accept_retry_at = detail::deadline_after(now, options.accept_retry);
        ++stats.accept_pauses;
        update_listener(now);
        if (handlers.on_accept_error) handlers.on_accept_error(self, ec);
        return;
      }
      a.socket.set_non_blocking(true, ec);
      if (ec) continue;  // the socket closes here; the client sees a reset
      if (options.no_delay) a.socket.set_no_delay(true, ec);

      auto c = std::make_unique<connection>();
      c->id = next_id++;
      c->socket = std::move(a.socket);
      c->peer = a.peer;
      c->last_active = now;
      idle_order.push_back(c->id);
      c->idle_pos = std::prev(idle_order.end());
      connection& ref = *c;
      connections.emplace(ref.id, std::move(c));
      ++stats.accepted;
      update_interest(ref);
      if (handlers.on_accept) handlers.on_accept(self, ref.id, ref.peer);
    }
    update_listener(now);
  }

  void read_some(connection& c, clock::time_point now) {
    std::error_code ec;
    const std::size_t n = c.socket.receive(&read_buffer[0], read_buffer.size(), ec);
    if (ec) {
      if (would_block(ec)) return;
      c.end(reason_for(ec), ec);
    } else if (n == 0) {
      if (handlers.on_end_of_stream) {
        c.state = conn_state::peer_closed;
        mark_dirty(c);
        handlers.on_end_of_stream(self, c.id);
        return;
      }
      // End of stream: finish once what is queued for the peer is sent.
      c.state = conn_state::draining;
      c.reason = close_reason::closed;
    } else {
      stats.bytes_received += n;
      touch(c, now);
      mark_dirty(c);
      if (handlers.on_data) handlers.on_data(self, c.id, std::string_view(read_buffer.data(), n));
      return;
    }
    mark_dirty(c);
  }

  void flush(connection& c, clock::time_point now) {
    while (c.pending() > 0) {
      std::error_code ec;
      const std::size_t n = c.socket.send(c.out.data() + c.out_pos, c.pending(), ec);
      if (ec) {
        if (would_block(ec)) break;
        c.end(reason_for(ec), ec);
        return;
      }
      c.out_pos += n;
      stats.bytes_sent += n;
      touch(c, now);
    }
    if (c.pending() == 0) {
      // Gives the memory back: an idle connection keeps no output buffer.
      std::string().swap(c.out);
      c.out_pos = 0;
    }
  }

  void on_ready(connection& c, readiness ready, clock::time_point now) {
    if (any(ready & (readiness::writable | readiness::error)) && c.pending() > 0) flush(c, now);
    if (c.finished()) {
      mark_dirty(c);
      return;
    }
    if (any(c.interest & readiness::readable) &&
        any(ready & (readiness::readable | readiness::error)))
      read_some(c, now);
    else
      mark_dirty(c);
  }

  void fire_timers(clock::time_point now) {
    while (!timers.empty() && timers.begin()->first <= now) {
      const connection_id id = timers.begin()->second;
      timers.erase(timers.begin());
      connection* c = find(id);
      if (c == nullptr) continue;
      c->timer_set = false;
      if (!c->finished() && handlers.on_timer) handlers.on_timer(self, id);
    }
    if (!options.idle_timeout.unlimited()) {
      while (!idle_order.empty()) {
        connection* c = find(idle_order.front());
        if (c == nullptr || detail::deadline_after(c->last_active, options.idle_timeout) > now)
          break;
        // Moving it to the back first guarantees the loop ends.
        touch(*c, now);
        if (c->finished()) continue;
        if (handlers.on_idle && c->accepts_output()) {
          handlers.on_idle(self, c->id);
          continue;
        }
        c->end(close_reason::idle_timeout);
        mark_dirty(*c);
      }
    }
    if (accept_paused_by_error && now >= accept_retry_at) update_listener(now);
  }

  void finish(connection& c, close_reason reason, std::error_code ec) {
    const connection_id id = c.id;
    if (c.registered) {
      std::error_code ignored;
      loop_poller.remove(c.socket.native_handle(), ignored);
    }
    cancel_timer(c);
    idle_order.erase(c.idle_pos);
    c.socket.close();
    connections.erase(id);  // `c` is gone from here on
    // A descriptor was freed: a listener paused for EMFILE may succeed now.
    accept_paused_by_error = false;
    update_listener(clock::now());
    if (handlers.on_close) handlers.on_close(self, id, reason, ec);
  }

  void end_turn(clock::time_point now) {
    while (!dirty.empty()) {
      work.clear();
      work.swap(dirty);
      for (const connection_id id : work) {
        connection* c = find(id);
        if (c == nullptr) continue;
        c->dirty = false;
        if (!c->finished() && c->pending() > 0) flush(*c, now);
        if (c->finished() || (c->state == conn_state::draining && c->pending() == 0)) {
          finish(*c, c->reason, c->error);
          continue;
        }
        update_interest(*c);
        if (c->finished()) finish(*c, c->reason, c->error);
      }
    }
  }

  time_limit next_timeout(clock::time_point now) const {
    clock::time_point next = clock::time_point::max();
    if (!timers.empty()) next = std::min(next, timers.begin()->first);
    if (!options.idle_timeout.unlimited() && !idle_order.empty()) {
      const connection* c = find(idle_order.front());
      if (c != nullptr)
        next = std::min(next, detail::deadline_after(c->last_active, options.idle_timeout));
    }
    if (accept_paused_by_error) next = std::min(next, accept_retry_at);
    // Rounded up: waking a little early would make a zero-timeout spin until the
    // deadline really passes.
    return detail::remaining(next, now);
  }

  void shut_down(std::error_code& ec) {
    stop_requested.store(true);
    stop_accepting();
    // Stop reading everywhere; keep writing what is queued, for stop_linger at most.
    const clock::time_point deadline = detail::deadline_after(clock::now(), options.stop_linger);
    for (auto& entry : connections) {
      connection& c = *entry.second;
      if (!c.finished() && c.pending() > 0) flush(c, clock::now());
      update_interest(c);
    }
    for (;;) {
      bool waiting = false;
      for (auto& entry : connections) {
        const connection& c = *entry.second;
        if (!c.finished() && c.pending() > 0) waiting = true;
      }
      const clock::time_point now = clock::now();
      if (!waiting || now >= deadline) break;
      loop_poller.wait(events, detail::remaining(deadline, now), ec);
      if (ec) break;
      for (const poller::event& ev : events) {
        connection* c = find(ev.tag);
        if (c == nullptr || c->finished()) continue;
        flush(*c, clock::now());
        update_interest(*c);
      }
    }
    while (!connections.empty()) {
      connection& c = *connections.begin()->second;
      if (c.finished()) {
        finish(c, c.reason, c.error);
      } else {
        finish(c, close_reason::shutdown, {});
      }
    }
    dirty.clear();
    if (handlers.on_turn) handlers.on_turn(self);
  }
};

server::server(listener&& socket, const server_options& options, callbacks handlers) {
  std::error_code ec;
  impl_ = std::make_unique<impl>(*this, std::move(socket), options, std::move(handlers), ec);
  if (ec) detail::throw_error(ec, "create server");
}

server::server(listener&& socket, const server_options& options, callbacks handlers,
               std::error_code& ec)
    : impl_(std::make_unique<impl>(*this, std::move(socket), options, std::move(handlers), ec)) {}

server::~server() = default;

void server::stop() noexcept {
  impl_->stop_requested.store(true);
  impl_->loop_poller.wake();
}

void server::stop_accepting() noexcept {
  impl_->stop_accepting();
}

endpoint server::local_endpoint() const noexcept {
  if (!impl_->listen_socket.is_open()) return endpoint{};
  std::error_code ec;
  return impl_->listen_socket.local_endpoint(ec);
}

std::size_t server::output_size(connection_id id) const noexcept {
  const connection* c = impl_->find(id);
  return c == nullptr ? 0 : c->pending();
}

std::size_t server::connection_count() const noexcept {
  return impl_->connections.size();
}

const server_stats& server::stats() const noexcept {
  return impl_->stats;
}

void server::send(connection_id id, std::string_view bytes) {
  std::error_code ec;
  send(id, bytes, ec);
  if (ec) detail::throw_error(ec, "send to connection", std::to_string(id));
}

bool server::send(connection_id id, std::string_view bytes, std::error_code& ec) noexcept {
  ec.clear();
  connection* c = impl_->find(id);
  if (c == nullptr || !c->accepts_output()) {
    ec = std::make_error_code(std::errc::not_connected);
    return false;
  }
  if (c->pending() + bytes.size() > impl_->options.max_output) {
    ec = std::make_error_code(std::errc::no_buffer_space);
    return false;
  }
  try {
    // Compact before growing: the sent prefix is dead weight.
    if (c->out_pos > 0) {
      c->out.erase(0, c->out_pos);
      c->out_pos = 0;
    }
    c->out.append(bytes.data(), bytes.size());
    if (c->pending() > impl_->options.pause_reading_above) c->backpressure = true;
    impl_->mark_dirty(*c);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return false;
  }
  return true;
}

void server::close(connection_id id, close_mode how) noexcept {
  connection* c = impl_->find(id);
  if (c == nullptr || c->finished()) return;
  if (how == close_mode::abort) {
    c->end(close_reason::local);
  } else if (c->state != conn_state::draining || c->reason != close_reason::local) {
    c->state = conn_state::draining;
    c->reason = close_reason::local;
  }
  impl_->mark_dirty(*c);
}

void server::pause_reading(connection_id id) noexcept {
  if (connection* c = impl_->find(id)) {
    c->user_paused = true;
    impl_->update_interest(*c);
  }
}

void server::resume_reading(connection_id id) noexcept {
  if (connection* c = impl_->find(id)) {
    c->user_paused = false;
    impl_->update_interest(*c);
  }
}

void server::set_timer(connection_id id, time_limit after) noexcept {
  connection* c = impl_->find(id);
  if (c == nullptr) return;
  impl_->cancel_timer(*c);
  const clock::time_point at = detail::deadline_after(clock::now(), after);
  if (at == clock::time_point::max()) return;  // never: nothing to schedule
  try {
    impl_->timers.emplace(at, id);
    c->timer_at = at;
    c->timer_set = true;
  } catch (...) {
  }
}

void server::cancel_timer(connection_id id) noexcept {
  if (connection* c = impl_->find(id)) impl_->cancel_timer(*c);
}

void server::run() {
  std::error_code ec;
  run(ec);
  if (ec) detail::throw_error(ec, "server");
}

void server::run(std::error_code& ec) {
  ec.clear();
  impl& m = *impl_;
  if (!m.loop_poller.is_open()) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return;
  }
  m.update_listener(clock::now());
  while (!m.stop_requested.load()) {
    m.loop_poller.wait(m.events, m.next_timeout(clock::now()), ec);
    if (ec) break;
    ++m.stats.turns;
    const clock::time_point now = clock::now();
    for (const poller::event& ev : m.events) {
      if (ev.tag == listener_tag) {
        if (m.listener_watched) m.accept_some(now);
        continue;
      }
      connection* c = m.find(ev.tag);
      if (c != nullptr && !c->finished()) m.on_ready(*c, ev.ready, now);
    }
    m.fire_timers(now);
    m.end_turn(now);
    if (m.handlers.on_turn) m.handlers.on_turn(*this);
  }
  std::error_code ignored;
  m.shut_down(ignored);
}

}  // namespace xsock
