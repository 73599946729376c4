#include "net/datagram_channel.hpp"

#include <algorithm>
#include <utility>

#include "backend.hpp"

namespace xsock::detail {
namespace {

bool would_block(const std::error_code& ec) noexcept {
  return ec == std::errc::operation_would_block || ec == std::errc::resource_unavailable_try_again;
}

// A receive error that reports an ICMP message about one earlier datagram: consumed
// by the receive that reported it, so reading goes on.
bool icmp_report(const std::error_code& ec) noexcept {
  return ec == std::errc::connection_refused || ec == std::errc::connection_reset ||
         ec == std::errc::host_unreachable || ec == std::errc::network_unreachable ||
         ec == std::errc::message_size;
}

// The largest payload a datagram to `to` may have.
std::size_t largest_datagram(const endpoint& to) noexcept {
  return to.is_v6() && !to.is_v4_mapped() ? max_datagram_v6 : max_datagram_v4;
}

}  // namespace

datagram_channels::datagram_channels(event_loop& loop, poller& events, const loop_options& options,
                                     loop_stats& stats, const std::atomic<bool>& stopping) noexcept
    : loop_(loop), poller_(events), options_(options), stats_(stats), stopping_(stopping) {}

datagram_channels::~datagram_channels() {
  close_all();
}

datagram_channels::channel* datagram_channels::find(id_type id) noexcept {
  const auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : it->second.get();
}

const datagram_channels::channel* datagram_channels::find(id_type id) const noexcept {
  const auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : it->second.get();
}

void datagram_channels::mark_dirty(channel& c) noexcept {
  if (c.dirty) return;
  try {
    dirty_.push_back(c.id);
    c.dirty = true;
  } catch (...) {
    // Only memory can fail here: the update waits for the socket's next event.
  }
}

bool datagram_channels::wants_reading(const channel& c) const noexcept {
  return c.status == state::open && !c.paused && !stopping_.load();
}

// Read while open and not paused; write while datagrams are queued. A socket
// interested in nothing leaves the poller (an error is reported even for an empty
// interest set, and a level-triggered wait would return at once, forever).
void datagram_channels::update_interest(channel& c, std::error_code& ec) noexcept {
  readiness want = readiness::none;
  if (wants_reading(c)) want |= readiness::readable;
  if (c.status != state::closed && !c.queue.empty()) want |= readiness::writable;
  if (want == c.interest && c.registered == (want != readiness::none)) return;
  const native_handle_type h = c.socket.native_handle();
  if (want == readiness::none) {
    if (c.registered) poller_.remove(h, ec);
    c.registered = false;
  } else if (!c.registered) {
    poller_.add(h, want, c.id, ec);
    c.registered = !ec;
  } else {
    poller_.modify(h, want, ec);
  }
  c.interest = want;
}

void datagram_channels::adopt(id_type id, datagram_socket&& socket,
                              event_loop::datagram_handlers handlers, std::error_code& ec) {
  ec.clear();
  if (!socket.is_open()) {
    ec = make_error(std::errc::bad_file_descriptor);
    return;
  }
  if (buffer_.empty()) buffer_.resize(std::max<std::size_t>(options_.max_datagram, 1));
  socket.set_non_blocking(true, ec);
  if (ec) return;
  auto c = std::make_unique<channel>(id, options_);
  std::error_code not_connected;
  c->peer = socket.peer_endpoint(not_connected);
  c->connected = !not_connected;
  if (!c->connected) c->peer = endpoint{};
  c->socket = std::move(socket);
  c->handlers = std::move(handlers);
  channel& ref = *c;
  channels_.emplace(id, std::move(c));
  update_interest(ref, ec);
  if (ec) {
    // Handed back closed, not half-adopted: the caller learns it from `ec`.
    channels_.erase(id);
  }
}

bool datagram_channels::on_event(id_type id, readiness ready) {
  channel* c = find(id);
  if (c == nullptr) return false;
  if (c->status == state::closed) return true;
  if (any(ready & (readiness::writable | readiness::error)) && !c->queue.empty()) mark_dirty(*c);
  if (wants_reading(*c) && any(c->interest & readiness::readable) &&
      any(ready & (readiness::readable | readiness::error))) {
    read_some(*c);
  } else if (any(ready & readiness::error)) {
    // Not reading now (paused, draining): the pending error is taken here, so that it
    // is neither lost nor reported by every wait until reading resumes.
    const std::error_code ec = pending_error(c->socket.native_handle());
    if (ec) report(*c, ec, endpoint{});
  }
  return true;
}

void datagram_channels::read_some(channel& c) {
  for (int i = 0; i < datagrams_per_turn; ++i) {
    std::error_code ec;
    endpoint from;
    bool truncated = false;
    const std::size_t n = receive_datagram(c.socket.native_handle(), buffer_.data(),
                                           options_.max_datagram, from, truncated, ec);
    if (ec) {
      if (would_block(ec)) return;
      if (!icmp_report(ec)) {
        // Possibly persistent: reading this socket again at once could fail again at
        // once, every turn. Paused; the other sockets are served meanwhile.
        c.paused = true;
        try {
          c.pause = pauses_.schedule(steady::now() + receive_error_pause, c.id);
        } catch (...) {
          c.paused = false;  // no timer to end the pause: keep reading rather than stop
        }
        mark_dirty(c);
      }
      report(c, ec, endpoint{});
    } else {
      ++stats_.datagrams_received;
      if (c.handlers.on_datagram)
        c.handlers.on_datagram(loop_, c.id, from, std::string_view(buffer_.data(), n), truncated);
    }
    // A callback may have closed the socket, or stopped the loop.
    if (!wants_reading(c)) return;
  }
}

void datagram_channels::report(channel& c, const std::error_code& ec, const endpoint& peer) {
  if (c.handlers.on_error) c.handlers.on_error(loop_, c.id, ec, peer);
}

void datagram_channels::flush(channel& c) {
  while (!c.queue.empty() && c.status != state::closed) {
    const datagram_queue::entry e = c.queue.front();
    std::error_code ec;
    send_datagram(c.socket.native_handle(), e.bytes.data(), e.bytes.size(), e.peer, ec);
    if (ec && would_block(ec)) return;  // the rest waits for writable
    if (!ec) {
      ++stats_.datagrams_sent;
      c.queue.pop();
      continue;
    }
    // This datagram is dropped (before the callback: one that throws does not see it
    // again); the ones after it go on.
    const endpoint to = e.peer != nullptr ? *e.peer : c.peer;
    c.queue.pop();
    report(c, ec, to);
  }
}

bool datagram_channels::send_to(id_type id, const endpoint* peer, std::string_view bytes,
                                std::error_code& ec) noexcept {
  ec.clear();
  channel* c = find(id);
  if (c == nullptr || c->status != state::open || (peer == nullptr && !c->connected)) {
    ec = make_error(std::errc::not_connected);
    return false;
  }
  if (bytes.size() > largest_datagram(peer != nullptr ? *peer : c->peer)) {
    ec = make_error(std::errc::message_size);
    return false;
  }
  if (!c->queue.push(peer, bytes, ec)) return false;
  mark_dirty(*c);
  return true;
}

bool datagram_channels::close(id_type id, close_mode how) noexcept {
  channel* c = find(id);
  if (c == nullptr) return false;
  if (c->status == state::closed) return true;
  if (how == close_mode::abort) {
    c->status = state::closed;
    c->queue.clear();
  } else {
    c->status = state::draining;
  }
  mark_dirty(*c);
  return true;
}

bool datagram_channels::output_size(id_type id, std::size_t& out) const noexcept {
  const channel* c = find(id);
  if (c == nullptr) return false;
  out = c->queue.bytes();
  return true;
}

bool datagram_channels::peer(id_type id, endpoint& out) const noexcept {
  const channel* c = find(id);
  if (c == nullptr) return false;
  out = c->peer;
  return true;
}

bool datagram_channels::local_endpoint(id_type id, endpoint& out) const noexcept {
  const channel* c = find(id);
  if (c == nullptr) return false;
  // Asked each time: an unbound socket gets its port with its first send.
  std::error_code ec;
  out = c->socket.local_endpoint(ec);
  if (ec) out = endpoint{};
  return true;
}

void datagram_channels::fire_timers(steady::time_point now) {
  id_type id = 0;
  while (pauses_.pop_expired(now, id)) {
    channel* c = find(id);
    if (c == nullptr) continue;
    c->pause = timer_ticket{};
    c->paused = false;
    mark_dirty(*c);
  }
}

void datagram_channels::end_turn() {
  for (;;) {
    if (work_next_ >= work_.size()) {
      work_.clear();
      work_next_ = 0;
      if (dirty_.empty()) break;
      work_.swap(dirty_);
    }
    const id_type id = work_[work_next_++];
    channel* c = find(id);
    if (c == nullptr) continue;
    c->dirty = false;
    if (c->status != state::closed) flush(*c);
    if (c->status == state::closed || (c->status == state::draining && c->queue.empty())) {
      destroy(id);
      continue;
    }
    std::error_code ec;
    update_interest(*c, ec);
    if (ec) {
      // The poller refused it: it cannot be served any more. Closed (datagram sockets
      // have no on_close); on_error says why it went silent.
      event_loop::datagram_handlers handlers = std::move(c->handlers);
      destroy(id);
      if (handlers.on_error) handlers.on_error(loop_, id, ec, endpoint{});
    }
  }
}

void datagram_channels::destroy(id_type id) noexcept {
  const auto it = channels_.find(id);
  if (it == channels_.end()) return;
  channel& c = *it->second;
  if (c.registered) {
    std::error_code ignored;
    poller_.remove(c.socket.native_handle(), ignored);
  }
  pauses_.cancel(c.pause);
  c.socket.close();
  channels_.erase(it);
}

void datagram_channels::begin_shutdown() {
  // Reading stops (wants_reading sees the stop flag) and every queue is flushed once.
  for (auto& entry : channels_)
    mark_dirty(*entry.second);
  end_turn();
}

bool datagram_channels::has_output() const noexcept {
  for (const auto& entry : channels_) {
    const channel& c = *entry.second;
    if (c.status != state::closed && !c.queue.empty()) return true;
  }
  return false;
}

bool datagram_channels::on_linger_event(id_type id) {
  channel* c = find(id);
  if (c == nullptr) return false;
  mark_dirty(*c);
  return true;
}

void datagram_channels::close_all() noexcept {
  while (!channels_.empty())
    destroy(channels_.begin()->first);
  dirty_.clear();
  work_.clear();
  work_next_ = 0;
  pauses_.clear();
}

}  // namespace xsock::detail
