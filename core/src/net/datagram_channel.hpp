// Internal: the event loop's datagram sockets (event_loop::adopt(datagram_socket&&)).
// event_loop.cpp owns one `datagram_channels` and routes to it whatever concerns a
// datagram socket's id: poller events (the id is the poller tag), send_to / send,
// close, stop, output_size, peer, local_endpoint. Everything else about datagrams is
// here:
//
// - Reading: up to `datagrams_per_turn` datagrams per readiness, each received into
//   one buffer of `loop_options::max_datagram` bytes shared by every socket of the
//   loop, and handed to on_datagram (cut, with `truncated`, when larger).
// - Sending: send_to queues in the socket's datagram_queue (bounded by
//   max_queued_datagrams and max_output); the queue is flushed at the end of the turn.
//   `operation_would_block` keeps the rest queued and waits for writable; any other
//   failure drops that one datagram, goes to on_error with its destination, and the
//   rest go on.
// - Receive errors go to on_error with an empty peer. An ICMP report (refused,
//   unreachable, reset) concerns one earlier datagram: reading goes on. Any other
//   error may persist (the system would report it again at once): reading that
//   socket pauses for `receive_error_pause`, so it cannot spin the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "net/datagram_queue.hpp"
#include "net/timer_queue.hpp"
#include "net/timing.hpp"
#include "xsock/datagram_socket.hpp"
#include "xsock/event_loop.hpp"
#include "xsock/poller.hpp"

namespace xsock::detail {

// Datagrams read from one socket per readiness: a flood on one socket cannot starve
// the others (the stream side's read_size, for datagrams).
inline constexpr int datagrams_per_turn = 64;
// How long reading stops after a receive error that is not an ICMP report.
inline constexpr std::chrono::milliseconds receive_error_pause{100};

class datagram_channels {
 public:
  using id_type = event_loop::id_type;

  // `loop` is handed to the callbacks; `stopping` is the loop's stop flag (reading
  // stops with it). All are the loop's own members and outlive this object.
  datagram_channels(event_loop& loop, poller& events, const loop_options& options,
                    loop_stats& stats, const std::atomic<bool>& stopping) noexcept;
  // Takes the sockets out of the poller and closes them, calling nothing.
  ~datagram_channels();
  datagram_channels(const datagram_channels&) = delete;
  datagram_channels& operator=(const datagram_channels&) = delete;

  // Takes `socket` in (made non-blocking, registered for reading) as `id`. Nothing
  // is kept on failure. Throws only std::bad_alloc.
  void adopt(id_type id, datagram_socket&& socket, event_loop::datagram_handlers handlers,
             std::error_code& ec);

  bool contains(id_type id) const noexcept { return channels_.count(id) != 0; }

  // A poller event for `id` (false: not a datagram socket). Reads up to
  // datagrams_per_turn datagrams, calling on_datagram / on_error.
  bool on_event(id_type id, readiness ready);

  // Queues one datagram, to `peer` or (nullptr) to the connected peer. See
  // event_loop::send_to for the errors.
  bool send_to(id_type id, const endpoint* peer, std::string_view bytes,
               std::error_code& ec) noexcept;

  // graceful: reading stops now, the socket closes once its queue is sent; abort:
  // closed at the end of the turn, its queue dropped. False when `id` is not one.
  bool close(id_type id, close_mode how) noexcept;

  // Queued bytes / connected peer / local address of `id`; false when not one.
  bool output_size(id_type id, std::size_t& out) const noexcept;
  bool peer(id_type id, endpoint& out) const noexcept;
  bool local_endpoint(id_type id, endpoint& out) const noexcept;

  // Sockets paused by a receive error whose pause is over are read again.
  void fire_timers(steady::time_point now);
  // The end of a pause, time_point::max() when none.
  steady::time_point next_deadline() const noexcept { return pauses_.next_deadline(); }
  // Changed sockets not yet handled by end_turn: sends made after it (on_turn), or
  // what a throwing callback left. The loop's next wait must not block.
  bool has_work() const noexcept { return work_next_ < work_.size() || !dirty_.empty(); }

  // End of the loop turn: flushes the queues of this turn's changed sockets, updates
  // their poller interest, closes those that are done.
  void end_turn();

  // ---- stop(): reading stops, queues drain for stop_linger, then everything closes.
  // Takes every socket off reading and flushes once.
  void begin_shutdown();
  // True while some socket still has a queue to send.
  bool has_output() const noexcept;
  // A poller event during the linger: the socket is flushed by the next end_turn.
  bool on_linger_event(id_type id);
  // Closes every socket, dropping what is still queued. No callback.
  void close_all() noexcept;

 private:
  enum class state : std::uint8_t {
    open,      // reading and sending
    draining,  // close(graceful): sending what is queued, then closed
    closed,    // closed at the end of the turn, queue dropped
  };

  struct channel {
    channel(id_type i, const loop_options& options) noexcept
        : id(i), queue(options.max_queued_datagrams, options.max_output) {}
    id_type id;
    datagram_socket socket;
    event_loop::datagram_handlers handlers;
    endpoint peer;  // the connected peer (connected) or empty
    datagram_queue queue;
    timer_ticket pause;  // reading paused by a receive error until it fires
    readiness interest = readiness::none;
    state status = state::open;
    bool connected = false;
    bool registered = false;
    bool dirty = false;
    bool paused = false;
  };

  channel* find(id_type id) noexcept;
  const channel* find(id_type id) const noexcept;
  void mark_dirty(channel& c) noexcept;
  bool wants_reading(const channel& c) const noexcept;
  void update_interest(channel& c, std::error_code& ec) noexcept;
  void read_some(channel& c);
  void flush(channel& c);
  void report(channel& c, const std::error_code& ec, const endpoint& peer);
  void destroy(id_type id) noexcept;

  event_loop& loop_;
  poller& poller_;
  const loop_options& options_;
  loop_stats& stats_;
  const std::atomic<bool>& stopping_;
  // Held by pointer: a callback may adopt another socket (rehashing the map) while
  // its own channel is in use.
  std::unordered_map<id_type, std::unique_ptr<channel>> channels_;
  // One receive buffer for the loop, made on the first adopt (a loop without
  // datagram sockets pays nothing).
  std::vector<char> buffer_;
  // Sockets changed this turn; `work_` is the batch end_turn is in (kept as members
  // so that the entries after a throwing callback are handled by the next end_turn).
  std::vector<id_type> dirty_;
  std::vector<id_type> work_;
  std::size_t work_next_ = 0;
  timer_queue pauses_;  // value: the channel id
};

}  // namespace xsock::detail
