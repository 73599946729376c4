#include "xsock/server.hpp"

#include <algorithm>
#include <new>
#include <utility>

#include "net/throw.hpp"

namespace xsock {
namespace {

constexpr server::connection_id listener_tag = 0;
// Accepts per listener readiness: bounded so a connection storm cannot starve the
// connections already served.
constexpr int accepts_per_turn = 64;

bool would_block(const std::error_code& ec) noexcept {
  return ec == std::errc::operation_would_block || ec == std::errc::resource_unavailable_try_again;
}

// accept failures about one pending connection only (it vanished before we took it).
bool transient_accept_error(const std::error_code& ec) noexcept {
  return ec == std::errc::connection_aborted || ec == std::errc::connection_reset ||
         ec == std::errc::interrupted || ec == std::errc::protocol_error;
}

close_reason reason_for(const std::error_code& ec) noexcept {
  if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe ||
      ec == std::errc::connection_aborted)
    return close_reason::reset;
  return close_reason::error;
}

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

struct server::connection {
  connection_id id = 0;
  stream_socket socket;
  endpoint peer;
  // Queued output: bytes [out_pos, out.size()) are still to be sent.
  std::string out;
  std::size_t out_pos = 0;

  bool user_paused = false;
  bool backpressure = false;  // paused because `out` grew past pause_reading_above
  bool peer_eof = false;      // end of stream read: finish once `out` is sent
  bool local_close = false;   // close(id) called: no more send()
  bool drop = false;          // close without sending what is queued
  bool done = false;          // finish at the end of this turn, with `reason`
  close_reason reason = close_reason::closed;
  std::error_code error;

  bool dirty = false;
  bool registered = false;
  unsigned interest = poller::none;

  clock::time_point last_active{};
  std::list<connection_id>::iterator idle_pos;
  bool timer_set = false;
  clock::time_point timer_at{};

  std::size_t pending() const noexcept { return out.size() - out_pos; }
  bool closing() const noexcept { return peer_eof || local_close; }
};

server::server(listener&& socket, const server_options& options, callbacks handlers)
    : listener_(std::move(socket)), options_(options), handlers_(std::move(handlers)) {
  listener_.set_non_blocking(true);
  read_buffer_.resize(std::max<std::size_t>(options_.read_size, 1));
}

server::server(listener&& socket, const server_options& options, callbacks handlers,
               std::error_code& ec)
    : listener_(std::move(socket)), poller_(ec), options_(options), handlers_(std::move(handlers)) {
  if (ec) return;
  listener_.set_non_blocking(true, ec);
  read_buffer_.resize(std::max<std::size_t>(options_.read_size, 1));
}

server::~server() = default;

server::connection* server::find(connection_id id) const noexcept {
  const auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

void server::stop() noexcept {
  stop_requested_.store(true);
  poller_.wake();
}

void server::stop_accepting() noexcept {
  if (listener_watched_) {
    std::error_code ignored;
    poller_.remove(listener_.native_handle(), ignored);
    listener_watched_ = false;
  }
  listener_.close();
}

endpoint server::local_endpoint() const noexcept {
  if (!listener_.is_open()) return endpoint{};
  std::error_code ec;
  return listener_.local_endpoint(ec);
}

std::size_t server::output_size(connection_id id) const noexcept {
  const connection* c = find(id);
  return c == nullptr ? 0 : c->pending();
}

bool server::send(connection_id id, std::string_view bytes) {
  std::error_code ec;
  const bool ok = send(id, bytes, ec);
  detail::throw_if(ec, "send to connection " + std::to_string(id));
  return ok;
}

bool server::send(connection_id id, std::string_view bytes, std::error_code& ec) noexcept {
  ec.clear();
  connection* c = find(id);
  if (c == nullptr || c->done || c->local_close) {
    ec = std::make_error_code(std::errc::not_connected);
    return false;
  }
  if (c->pending() + bytes.size() > options_.max_output) {
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
    if (c->pending() > options_.pause_reading_above) c->backpressure = true;
    mark_dirty(*c);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return false;
  }
  return true;
}

void server::close(connection_id id, bool flush) noexcept {
  connection* c = find(id);
  if (c == nullptr || c->done) return;
  if (!c->local_close) {
    c->local_close = true;
    c->reason = close_reason::local;
  }
  if (!flush) c->drop = true;
  mark_dirty(*c);
}

void server::pause_reading(connection_id id) noexcept {
  if (connection* c = find(id)) {
    c->user_paused = true;
    update_interest(*c);
  }
}

void server::resume_reading(connection_id id) noexcept {
  if (connection* c = find(id)) {
    c->user_paused = false;
    update_interest(*c);
  }
}

void server::set_timer(connection_id id, std::chrono::milliseconds after) noexcept {
  connection* c = find(id);
  if (c == nullptr) return;
  if (c->timer_set) {
    timers_.erase({c->timer_at, id});
    c->timer_set = false;
  }
  if (after.count() < 0) return;
  try {
    c->timer_at = clock::now() + after;
    timers_.emplace(c->timer_at, id);
    c->timer_set = true;
  } catch (...) {
  }
}

// Queues `c` for end_turn. Only an allocation failure can lose the entry, and that
// merely delays the update to the connection's next event.
void server::mark_dirty(connection& c) noexcept {
  if (c.dirty) return;
  try {
    dirty_.push_back(c.id);
    c.dirty = true;
  } catch (...) {
  }
}

void server::touch(connection& c, clock::time_point now) noexcept {
  c.last_active = now;
  idle_order_.splice(idle_order_.end(), idle_order_, c.idle_pos);
}

// Interest follows state: read unless paused, closing or stopping; write while
// output is queued. A connection interested in nothing is taken out of the poller
// altogether, because error/hang-up is reported even for an empty interest set and
// would make a level-triggered wait return at once, forever.
void server::update_interest(connection& c) noexcept {
  const bool stopping = stop_requested_.load();
  if (c.backpressure && c.pending() == 0) c.backpressure = false;
  unsigned want = poller::none;
  if (!c.done && !c.user_paused && !c.backpressure && !c.closing() && !stopping)
    want |= poller::readable;
  if (!c.done && !c.drop && c.pending() > 0) want |= poller::writable;
  if (want == c.interest && c.registered == (want != poller::none)) return;
  std::error_code ec;
  const native_handle_type h = c.socket.native_handle();
  if (want == poller::none) {
    if (c.registered) poller_.remove(h, ec);
    c.registered = false;
  } else if (!c.registered) {
    poller_.add(h, want, c.id, ec);
    c.registered = !ec;
  } else {
    poller_.modify(h, want, ec);
  }
  c.interest = want;
  if (ec && !c.done) {
    c.done = true;
    c.reason = close_reason::error;
    c.error = ec;
    mark_dirty(c);
  }
}

void server::update_listener(clock::time_point now) {
  if (accept_paused_by_error_ && now >= accept_retry_at_) accept_paused_by_error_ = false;
  const bool want =
      listener_.is_open() && !stop_requested_.load() && !accept_paused_by_error_ &&
      (options_.max_connections == 0 || connections_.size() < options_.max_connections);
  if (want == listener_watched_) return;
  std::error_code ec;
  if (want) {
    poller_.add(listener_.native_handle(), poller::readable, listener_tag, ec);
  } else {
    poller_.remove(listener_.native_handle(), ec);
  }
  listener_watched_ = want && !ec;
  if (ec && handlers_.on_accept_error) handlers_.on_accept_error(ec);
}

void server::pause_accepting(bool retry_later, clock::time_point now) {
  if (retry_later) {
    accept_paused_by_error_ = true;
    accept_retry_at_ = now + options_.accept_retry;
    ++stats_.accept_pauses;
  }
  update_listener(now);
}

void server::accept_some(clock::time_point now) {
  for (int i = 0; i < accepts_per_turn; ++i) {
    // on_accept may have called stop_accepting(), or filled the last slot.
    if (!listener_.is_open()) break;
    if (options_.max_connections != 0 && connections_.size() >= options_.max_connections) break;
    std::error_code ec;
    listener::accepted a = listener_.accept(ec);
    if (ec) {
      if (would_block(ec)) break;
      ++stats_.accept_errors;
      if (transient_accept_error(ec)) continue;
      // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), or an error
      // we do not understand: retrying at once would fail again, so the listener is
      // paused for accept_retry instead of being retried on every turn.
      pause_accepting(true, now);
      if (handlers_.on_accept_error) handlers_.on_accept_error(ec);
      return;
    }
    a.socket.set_non_blocking(true, ec);
    if (ec) continue;  // the socket closes here; the client sees a reset
    if (options_.no_delay) a.socket.set_no_delay(true, ec);

    auto c = std::make_unique<connection>();
    c->id = next_id_++;
    c->socket = std::move(a.socket);
    c->peer = a.peer;
    c->last_active = now;
    idle_order_.push_back(c->id);
    c->idle_pos = std::prev(idle_order_.end());
    connection& ref = *c;
    connections_.emplace(ref.id, std::move(c));
    ++stats_.accepted;
    update_interest(ref);
    if (handlers_.on_accept) handlers_.on_accept(ref.id, ref.peer);
  }
  update_listener(now);
}

void server::read_some(connection& c, clock::time_point now) {
  std::error_code ec;
  const std::size_t n = c.socket.receive(&read_buffer_[0], read_buffer_.size(), ec);
  if (ec) {
    if (would_block(ec)) return;
    c.done = true;
    c.reason = reason_for(ec);
    c.error = ec;
  } else if (n == 0) {
    // End of stream: finish once what is queued for the peer is sent.
    c.peer_eof = true;
    if (!c.local_close) c.reason = close_reason::closed;
  } else {
    stats_.bytes_received += n;
    touch(c, now);
    if (handlers_.on_data) handlers_.on_data(c.id, std::string_view(read_buffer_.data(), n));
  }
  mark_dirty(c);
}

void server::flush(connection& c, clock::time_point now) {
  while (c.pending() > 0) {
    std::error_code ec;
    const std::size_t n = c.socket.send(c.out.data() + c.out_pos, c.pending(), ec);
    if (ec) {
      if (would_block(ec)) break;
      c.done = true;
      c.reason = reason_for(ec);
      c.error = ec;
      return;
    }
    c.out_pos += n;
    stats_.bytes_sent += n;
    touch(c, now);
  }
  if (c.pending() == 0) {
    c.out.clear();
    c.out_pos = 0;
  }
}

void server::on_ready(connection& c, unsigned ready, clock::time_point now) {
  if ((ready & (poller::writable | poller::error)) && c.pending() > 0 && !c.drop) flush(c, now);
  if (c.done) {
    mark_dirty(c);
    return;
  }
  if ((c.interest & poller::readable) && (ready & (poller::readable | poller::error)))
    read_some(c, now);
  else
    mark_dirty(c);
}

void server::fire_timers(clock::time_point now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const connection_id id = timers_.begin()->second;
    timers_.erase(timers_.begin());
    connection* c = find(id);
    if (c == nullptr) continue;
    c->timer_set = false;
    if (!c->done && handlers_.on_timer) handlers_.on_timer(id);
  }
  if (options_.idle_timeout.count() > 0) {
    while (!idle_order_.empty()) {
      connection* c = find(idle_order_.front());
      if (c == nullptr || c->last_active + options_.idle_timeout > now) break;
      // Moving it to the back first guarantees the loop ends.
      touch(*c, now);
      if (c->done) continue;
      if (handlers_.on_idle && !c->closing()) {
        handlers_.on_idle(c->id);
        continue;
      }
      c->done = true;
      c->reason = close_reason::idle_timeout;
      mark_dirty(*c);
    }
  }
  if (accept_paused_by_error_ && now >= accept_retry_at_) update_listener(now);
}

void server::finish(connection& c, close_reason reason, std::error_code ec) {
  const connection_id id = c.id;
  if (c.registered) {
    std::error_code ignored;
    poller_.remove(c.socket.native_handle(), ignored);
  }
  if (c.timer_set) timers_.erase({c.timer_at, id});
  idle_order_.erase(c.idle_pos);
  c.socket.close();
  connections_.erase(id);  // `c` is gone from here on
  // A descriptor was freed: a listener paused for EMFILE may succeed now.
  accept_paused_by_error_ = false;
  update_listener(clock::now());
  if (handlers_.on_close) handlers_.on_close(id, reason, ec);
}

void server::end_turn(clock::time_point now) {
  std::vector<connection_id> work;
  while (!dirty_.empty()) {
    work.clear();
    work.swap(dirty_);
    for (const connection_id id : work) {
      connection* c = find(id);
      if (c == nullptr) continue;
      c->dirty = false;
      if (!c->done && !c->drop && c->pending() > 0) flush(*c, now);
      if (c->done) {
        finish(*c, c->reason, c->error);
      } else if (c->closing() && (c->drop || c->pending() == 0)) {
        finish(*c, c->reason, c->error);
      } else {
        update_interest(*c);
        if (c->done) finish(*c, c->reason, c->error);
      }
    }
  }
}

std::chrono::milliseconds server::next_timeout(clock::time_point now) const {
  clock::time_point next = clock::time_point::max();
  if (!timers_.empty()) next = std::min(next, timers_.begin()->first);
  if (options_.idle_timeout.count() > 0 && !idle_order_.empty()) {
    const connection* c = find(idle_order_.front());
    if (c != nullptr) next = std::min(next, c->last_active + options_.idle_timeout);
  }
  if (accept_paused_by_error_) next = std::min(next, accept_retry_at_);
  if (next == clock::time_point::max()) return poller::infinite;
  if (next <= now) return std::chrono::milliseconds(0);
  // Rounded up: waking a little early would make a zero-timeout spin until the
  // deadline really passes.
  return std::chrono::ceil<std::chrono::milliseconds>(next - now);
}

void server::run() {
  std::error_code ec;
  run(ec);
  detail::throw_if(ec, "server");
}

void server::run(std::error_code& ec) {
  ec.clear();
  if (!poller_.is_open()) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return;
  }
  update_listener(clock::now());
  while (!stop_requested_.load()) {
    const std::chrono::milliseconds timeout = next_timeout(clock::now());
    poller_.wait(events_, timeout, ec);
    if (ec) break;
    ++stats_.turns;
    const clock::time_point now = clock::now();
    for (const poller::event& ev : events_) {
      if (ev.tag == listener_tag) {
        if (listener_watched_) accept_some(now);
        continue;
      }
      connection* c = find(ev.tag);
      if (c != nullptr && !c->done) on_ready(*c, ev.ready, now);
    }
    fire_timers(now);
    end_turn(now);
    if (handlers_.on_turn) handlers_.on_turn();
  }
  std::error_code ignored;
  shut_down(ignored);
}

void server::shut_down(std::error_code& ec) {
  stop_requested_.store(true);
  stop_accepting();
  // Stop reading everywhere; keep writing what is queued, for stop_linger at most.
  const clock::time_point deadline = clock::now() + options_.stop_linger;
  for (auto& entry : connections_) {
    connection& c = *entry.second;
    if (!c.done && !c.drop && c.pending() > 0) flush(c, clock::now());
    update_interest(c);
  }
  for (;;) {
    bool waiting = false;
    for (auto& entry : connections_) {
      const connection& c = *entry.second;
      if (!c.done && !c.drop && c.pending() > 0) waiting = true;
    }
    const clock::time_point now = clock::now();
    if (!waiting || now >= deadline) break;
    poller_.wait(events_, std::chrono::ceil<std::chrono::milliseconds>(deadline - now), ec);
    if (ec) break;
    for (const poller::event& ev : events_) {
      connection* c = find(ev.tag);
      if (c == nullptr || c->done) continue;
      flush(*c, clock::now());
      update_interest(*c);
    }
  }
  while (!connections_.empty()) {
    connection& c = *connections_.begin()->second;
    if (c.done) {
      finish(c, c.reason, c.error);
    } else {
      finish(c, close_reason::shutdown, {});
    }
  }
  dirty_.clear();
  if (handlers_.on_turn) handlers_.on_turn();
}

}  // namespace xsock
