#include "xsock/event_loop.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "net/accept_policy.hpp"
#include "net/connect_driver.hpp"
#include "net/datagram_channel.hpp"
#include "net/happy_eyeballs.hpp"
#include "net/throw.hpp"
#include "net/timer_queue.hpp"
#include "net/timing.hpp"
#include "xsock/poller.hpp"
#include "xsock/resolve.hpp"

namespace xsock {
namespace {

using clock = detail::steady;
using id_type = event_loop::id_type;

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
  open,                // reading and writing
  peer_ended,          // end of stream read; the embedder (on_end_of_stream) still sends
  close_when_drained,  // ending: what is queued is sent, then the connection is closed
  closed,              // closed at the end of this turn, queued output dropped
};

// The sending side, which shutdown_send() ends apart from the connection.
enum class send_side : std::uint8_t {
  open,
  shut_down_when_drained,  // shutdown_send(): no more output; FIN once the queue is sent
  shut_down,               // FIN sent
};

// Where a connection's data goes and comes from, beyond itself (see
// loop_options::pause_reading_above). Kept in the loop's `flow_table` for the
// connections that have such flows only (a proxy's, not an echo server's): the others
// pay one flag.
struct flow_links {
  std::vector<id_type> into;  // sends made while delivering its data went there
  std::vector<id_type> from;  // connections whose data was sent to it
};

// Output queued on a pending connect's id, handed to the connection it becomes.
struct early_output {
  std::string bytes;
  std::vector<id_type> from;  // as flow_links::from
  bool shut_send = false;     // shutdown_send() came before the connect
  bool drain_wanted = false;  // as connection::drain_wanted
};

void erase_id(std::vector<id_type>& ids, id_type id) noexcept {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

// Runs `fn` when the scope ends, exception or not.
template <class F>
struct at_scope_exit {
  F fn;
  at_scope_exit(const at_scope_exit&) = delete;
  at_scope_exit& operator=(const at_scope_exit&) = delete;
  ~at_scope_exit() { fn(); }
};
template <class F>
at_scope_exit(F) -> at_scope_exit<F>;

struct idle_entry {
  id_type id = 0;
  clock::time_point last_active{};
};

// A connection's stream_layer (TLS) and what its handshake still owes: held apart,
// so that connections without a layer pay one pointer.
struct layered {
  std::unique_ptr<stream_layer> layer;
  // An outbound connect's report, made once the handshake is over (or failed).
  event_loop::connect_handler on_done;
  id_type timer = 0;         // the loop timer that ends a handshake taking too long
  bool sent_close = false;   // layer->close() was called
  bool was_connect = false;  // an outbound connect (on_done pending until established)
  // close(graceful) before the handshake was over: what was sent waits for it, then
  // close_notify and the close (the connection reads on only for the handshake).
  bool close_after_handshake = false;
};

// Held by value in the loop's map (its nodes never move), one allocation per
// connection; the members are ordered so that the small ones share one word.
struct connection {
  id_type id = 0;
  stream_socket socket;
  endpoint peer;
  // Queued output: bytes [out_pos, out.size()) are still to be sent. Empty (no
  // allocation) whenever nothing is queued.
  std::string out;
  std::size_t out_pos = 0;

  readiness interest = readiness::none;
  conn_state state = conn_state::open;
  send_side sending = send_side::open;
  close_reason reason = close_reason::closed;
  bool registered = false;   // in the poller (interest not none)
  bool dirty = false;        // queued for end_turn
  bool user_paused = false;  // pause_reading(); the loop's flow pauses never touch it
  // Its own on_data sent to it (an echo): its data flows into its own queue. A flag,
  // not a flow_links entry, so that an echo server's connections allocate nothing.
  bool feeds_itself = false;
  // `out` grew past pause_reading_above and has not yet fallen to resume_reading_below:
  // the connections flowing into it are not read.
  bool congested = false;
  bool drain_wanted = false;  // a send was refused (no_buffer_space): on_drained follows
  bool has_flows = false;     // it has an entry in flow_table
  std::error_code error;
  std::unique_ptr<layered> tls;  // with a stream_layer only

  // In idle_order (which holds its last activity) only when the loop has an idle
  // timeout.
  std::list<idle_entry>::iterator idle_pos;
  detail::timer_ticket timer;  // set_timer(): its place in connection_timers

  std::size_t pending() const noexcept { return out.size() - out_pos; }
  bool closed() const noexcept { return state == conn_state::closed; }
  // send() is refused once the embedder asked to close or shut down sending, or the
  // connection is ending.
  bool accepts_output() const noexcept {
    if (sending != send_side::open) return false;
    return state == conn_state::open || state == conn_state::peer_ended ||
           (state == conn_state::close_when_drained && reason == close_reason::closed);
  }
  // Closes it at the end of this turn, dropping its queued output.
  void close_now(close_reason why, std::error_code ec = {}) noexcept {
    state = conn_state::closed;
    reason = why;
    error = ec;
  }
};

struct listen_entry {
  id_type id = 0;
  listener socket;
  event_loop::accept_handler on_accept;
  stream_layer_factory layers;  // empty: plain TCP
  bool watched = false;
};

// A connect() until on_done: its name lookup, then its race (the driver, made once
// there are addresses to try; its sockets are in the loop's poller, tagged with `id`).
struct outbound_connect {
  id_type id = 0;
  event_loop::connect_handler on_done;
  std::string label;             // "host:port" for messages
  clock::time_point deadline{};  // of the whole attempt
  bool resolving = false;
  std::unique_ptr<stream_layer> layer;  // its handshake follows the connect
  // The race (named `engine` as before: run()'s dispatch tests it).
  std::unique_ptr<detail::connect_driver> engine;
};

// The name-lookup threads' way back to the loop: they may outlive it.
struct mailbox {
  std::mutex mutex;
  event_loop* loop = nullptr;
};

// Name lookups for every loop of the process run on a few shared worker threads,
// started when lookups are waiting and no worker is free, and ended after a while
// without work: a thread per lookup cost more than a getaddrinfo of "localhost".
// Workers are detached, never joined: a loop (or the process) never waits for a slow
// lookup; its result goes through the loop's mailbox, which the loop empties when it
// dies, and is then dropped. The pool itself is never destroyed (workers may still be
// waiting on it while static objects are destroyed at exit).
// After fork() the child has none of the workers the pool counts: a handler run in the
// child resets the pool to no workers and an empty queue (the parent's queued lookups
// are abandoned, never touched: their loops are copies the child cannot use anyway).
class resolver_pool {
 public:
  // The task that hands a lookup's outcome to the loop (made by event_loop::connect,
  // which may name the loop's internals).
  using reply_fn = event_loop::task (*)(id_type, std::vector<endpoint>, std::error_code);

  struct job {
    std::shared_ptr<mailbox> box;
    reply_fn reply = nullptr;
    id_type id = 0;
    std::string host;
    std::uint16_t port = 0;
  };

  static resolver_pool& instance() {
    static resolver_pool* const pool = new resolver_pool;
    return *pool;
  }

  // Queues a lookup. Throws std::system_error when no worker exists and none can be
  // started (the job is not queued then).
  void submit(job j) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (forked_) {
      // The queue may have been mid-change in another thread at the fork: leaked as
      // it is, not read or destroyed.
      queue_ = new std::deque<job>;
      forked_ = false;
    }
    queue_->push_back(std::move(j));
    if (queue_->size() > idle_ && threads_ < max_threads) {
      if (!fork_handler_) fork_handler_ = detail::at_fork_child(&after_fork_in_child);
      try {
        std::thread([this] { work(); }).detach();
        ++threads_;
        ++idle_;  // counted idle until it takes a job
      } catch (...) {
        if (threads_ == 0) {
          queue_->pop_back();
          throw;
        }
        // The running workers get to it.
      }
    }
    lock.unlock();
    ready_.notify_one();
  }

 private:
  // Enough for lookups to overlap; one slow lookup does not hold up the others.
  static constexpr std::size_t max_threads = 4;
  static constexpr std::chrono::seconds idle_exit{10};

  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!ready_.wait_for(lock, idle_exit, [this] { return !queue_->empty(); })) {
        --idle_;
        --threads_;
        return;
      }
      job j = std::move(queue_->front());
      queue_->pop_front();
      --idle_;
      lock.unlock();
      run(j);
      j = job{};  // the mailbox reference goes outside the pool's lock
      lock.lock();
      ++idle_;
    }
  }

  static void run(const job& j) noexcept {
    {
      // The loop is gone: nobody wants the answer.
      std::lock_guard<std::mutex> guard(j.box->mutex);
      if (j.box->loop == nullptr) return;
    }
    std::error_code ec;
    std::vector<endpoint> found;
    try {
      found = resolve(j.host, std::to_string(j.port), ec);
    } catch (const std::bad_alloc&) {
      ec = detail::make_error(std::errc::not_enough_memory);
    }
    std::lock_guard<std::mutex> guard(j.box->mutex);
    if (j.box->loop == nullptr) return;
    try {
      j.box->loop->post(j.reply(j.id, std::move(found), ec));
    } catch (...) {
    }
  }

  // In the child of a fork(), which has only the forking thread (not one of ours, so
  // no pool code runs). Another thread may have held the lock or been waiting at the
  // fork: both are made anew in place (no unlock, no destructor, no allocation);
  // submit replaces the queue later, outside this handler.
  static void after_fork_in_child() noexcept {
    resolver_pool& pool = instance();
    new (&pool.mutex_) std::mutex;
    new (&pool.ready_) std::condition_variable;
    pool.threads_ = 0;
    pool.idle_ = 0;
    pool.forked_ = true;
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<job>* queue_ = new std::deque<job>;  // a pointer: see submit after a fork
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;  // workers waiting for a job (or about to)
  bool forked_ = false;   // in a fork's child, queue_ not yet replaced
  bool fork_handler_ = false;
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

struct event_loop::impl {
  impl(event_loop& owner, const loop_options& opts, callbacks cb, std::error_code& ec)
      : self(owner),
        loop_poller(ec),
        options(opts),
        handlers(std::move(cb)),
        datagrams(owner, loop_poller, options, stats, stop_requested) {
    if (ec) return;
    read_buffer.resize(std::max<std::size_t>(options.read_size, 1));
    box = std::make_shared<mailbox>();
    box->loop = &owner;
  }

  ~impl() {
    if (box) {
      std::lock_guard<std::mutex> lock(box->mutex);
      box->loop = nullptr;
    }
    // Sockets close with their owners (a connect's driver takes its sockets out of
    // the poller first); the poller goes last.
  }

  event_loop& self;
  poller loop_poller;
  loop_options options;
  callbacks handlers;
  loop_stats stats;
  std::atomic<bool> stop_requested{false};
  std::shared_ptr<mailbox> box;
  // Datagram sockets (adopt(datagram_socket&&)): their ids come from the listeners'
  // range; everything else about them is in net/datagram_channel.hpp. Declared after
  // the poller, options and stats it uses, so destroyed before them.
  detail::datagram_channels datagrams;

  id_type next_id = 1;
  // Listeners and loop timers: a range of their own, so connection ids count 1, 2, 3...
  id_type next_aux_id = (id_type{1} << 63) + 1;
  std::unordered_map<id_type, connection> connections;
  std::map<id_type, std::unique_ptr<listen_entry>> listeners;
  std::map<id_type, std::unique_ptr<outbound_connect>> connects;
  // Least recently active first: idle expiry looks only at the front. Kept only with an
  // idle timeout (without one nobody looks, and each entry costs memory).
  std::list<idle_entry> idle_order;
  // set_timer() per connection (value: the connection id) and after() (value: the
  // loop timer's id, its task in loop_tasks). Two queues: every due connection timer
  // fires before any due loop timer in a turn.
  detail::timer_queue connection_timers;
  detail::timer_queue loop_timers;
  std::unordered_map<id_type, std::pair<detail::timer_ticket, task>> loop_tasks;
  // Posted from any thread.
  std::mutex post_mutex;
  std::vector<task> posted;
  std::vector<task> running_posted;
  std::size_t posted_next = 0;  // next entry of running_posted to run
  // Connect endings to report on the next turn (see run_reports); loop thread only.
  std::vector<task> reports;
  std::vector<task> running_reports;
  std::size_t reports_next = 0;
  // run() is on the stack: a nested run() is refused, destroying the loop is a bug.
  bool running = false;
  // Connections whose output, interest or state changed this turn.
  std::vector<id_type> dirty;
  std::vector<id_type> work;
  std::size_t work_next = 0;  // next entry of `work` to handle
  std::vector<poller::event> events;
  std::string read_buffer;
  // A layer's output (decrypted input, wire bytes): reused, never held across calls.
  std::string layer_data;
  std::string layer_wire;
  // The connection whose on_data / on_end_of_stream runs now (0: none): a send made
  // meanwhile is a flow from it.
  id_type delivering = 0;
  // Output of pending connects (send before connected).
  std::unordered_map<id_type, early_output> early;
  // emplace_context's objects, for the ids that have one: a connection without a
  // context pays nothing.
  std::unordered_map<id_type, connection_context> contexts;
  // Flows of the connections that have them (connection::has_flows), apart from the
  // connection itself so that the others do not pay for a pointer.
  std::unordered_map<id_type, flow_links> flow_table;

  flow_links* flows_of(const connection& c) noexcept {
    if (!c.has_flows) return nullptr;
    const auto it = flow_table.find(c.id);
    return it == flow_table.end() ? nullptr : &it->second;
  }
  const flow_links* flows_of(const connection& c) const noexcept {
    return const_cast<impl*>(this)->flows_of(c);
  }
  flow_links& make_flows(connection& c) {
    flow_links& f = flow_table[c.id];
    c.has_flows = true;
    return f;
  }
  void forget_flows(connection& c) noexcept {
    if (!c.has_flows) return;
    flow_table.erase(c.id);
    c.has_flows = false;
  }

  bool accept_paused_by_error = false;
  clock::time_point accept_retry_at{};

  connection* find(id_type id) noexcept {
    const auto it = connections.find(id);
    return it == connections.end() ? nullptr : &it->second;
  }
  const connection* find(id_type id) const noexcept {
    const auto it = connections.find(id);
    return it == connections.end() ? nullptr : &it->second;
  }

  // ---- connections ------------------------------------------------------------

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

  bool idle_tracked() const noexcept { return !options.idle_timeout.unlimited(); }

  // The idle timeout in force: zero ("at once") counts as the shortest time_limit,
  // 1 ms. A connection is then idle on the first turn a millisecond after its last
  // traffic, and one that on_idle keeps is handed over again a millisecond later: with
  // a true zero its deadline would already have passed when it is re-armed, and the
  // idle pass (and the loop's wait) would spin forever without looking at stop().
  time_limit idle_limit() const noexcept {
    if (options.idle_timeout.milliseconds().count() == 0 && !options.idle_timeout.unlimited())
      return std::chrono::milliseconds(1);
    return options.idle_timeout;
  }

  void touch(connection& c, clock::time_point now) noexcept {
    if (!idle_tracked()) return;
    c.idle_pos->last_active = now;
    idle_order.splice(idle_order.end(), idle_order, c.idle_pos);
  }

  void cancel_connection_timer(connection& c) noexcept { connection_timers.cancel(c.timer); }

  // ---- flows (backpressure per direction) ----------------------------------------

  std::size_t low_water() const noexcept {
    return std::min(options.resume_reading_below, options.pause_reading_above);
  }

  // True when a queue that `c`'s data flows into is congested: reading `c` would only
  // grow it.
  bool flow_blocked(const connection& c) const noexcept {
    if (c.feeds_itself && c.congested) return true;
    const flow_links* f = flows_of(c);
    if (f == nullptr) return false;
    for (const id_type to : f->into) {
      if (const connection* d = find(to)) {
        if (d->congested) return true;
        continue;
      }
      const auto e = early.find(to);
      if (e != early.end() && e->second.bytes.size() > options.pause_reading_above) return true;
    }
    return false;
  }

  // Records that `from`'s data flows into `to` (a connection or a pending connect).
  void link(id_type from, id_type to) {
    connection* s = find(from);
    if (s == nullptr) return;
    if (const flow_links* f = flows_of(*s);
        f != nullptr && std::find(f->into.begin(), f->into.end(), to) != f->into.end())
      return;
    std::vector<id_type>* back = nullptr;
    if (connection* d = find(to)) {
      back = &make_flows(*d).from;
    } else {
      const auto e = early.find(to);
      if (e == early.end()) return;
      back = &e->second.from;
    }
    std::vector<id_type>& into = make_flows(*s).into;
    into.push_back(to);
    try {
      back->push_back(from);
    } catch (...) {
      into.pop_back();
      throw;
    }
  }

  // The connections flowing into a queue are looked at again at the end of the turn
  // (their reading may stop or resume).
  void wake_feeders(const std::vector<id_type>& from) noexcept {
    for (const id_type f : from)
      if (connection* s = find(f)) mark_dirty(*s);
  }

  // `c` is going away: it flows nowhere and nothing flows into it any more.
  void drop_flows(connection& c) noexcept {
    flow_links* f = flows_of(c);
    if (f == nullptr) return;
    for (const id_type to : f->into) {
      if (connection* d = find(to)) {
        if (flow_links* df = flows_of(*d)) erase_id(df->from, c.id);
      } else {
        const auto e = early.find(to);
        if (e != early.end()) erase_id(e->second.from, c.id);
      }
    }
    for (const id_type from : f->from) {
      if (connection* s = find(from)) {
        if (flow_links* sf = flows_of(*s)) erase_id(sf->into, c.id);
        mark_dirty(*s);
      }
    }
    forget_flows(c);
  }

  void note_congestion(connection& c) noexcept {
    if (c.congested || c.pending() <= options.pause_reading_above) return;
    c.congested = true;
    if (const flow_links* f = flows_of(c)) wake_feeders(f->from);
  }

  // After a flush: a queue back down to the low-water mark lets its feeders read again
  // and is reported (once per crossing).
  void note_drained(connection& c) {
    if (!(c.congested || c.drain_wanted) || c.pending() > low_water() || c.closed()) return;
    c.congested = false;
    c.drain_wanted = false;
    mark_dirty(c);  // its own reading (echo), and again if on_drained throws
    if (const flow_links* f = flows_of(c)) wake_feeders(f->from);
    if (handlers.on_drained && !stop_requested.load()) handlers.on_drained(self, c.id);
  }

  // Interest follows state: read only while open and not paused (by the embedder or a
  // congested queue it flows into) or stopping; write while output is queued. A
  // connection interested in nothing is taken out of the poller altogether, because
  // error/hang-up is reported even for an empty interest set and would make a
  // level-triggered wait return at once, forever.
  void update_interest(connection& c) noexcept {
    readiness want = readiness::none;
    if (c.state == conn_state::open && !c.user_paused && !stop_requested.load() && !flow_blocked(c))
      want |= readiness::readable;
    if (!c.closed() && c.pending() > 0) want |= readiness::writable;
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
    if (ec && !c.closed()) {
      c.close_now(close_reason::error, ec);
      mark_dirty(c);
    }
  }

  // Takes a connected socket in. The caller reports it (on_accept, on_done).
  // `non_blocking`: the loop made the socket itself, non-blocking already (no system
  // call to set it again). `watched_for_write`: it is in the poller with the tag `id`
  // for writability (a connect's winner), so the interest changes with one modify.
  connection& add_connection(id_type id, stream_socket&& socket, const endpoint& peer,
                             clock::time_point now, bool non_blocking = false,
                             bool watched_for_write = false) {
    connection& ref =
        connections
            .emplace(std::piecewise_construct, std::forward_as_tuple(id), std::forward_as_tuple())
            .first->second;
    ref.id = id;
    ref.socket = std::move(socket);
    ref.peer = peer;
    if (watched_for_write) {
      ref.registered = true;
      ref.interest = readiness::writable;
    }
    std::error_code ec;
    if (!non_blocking) ref.socket.set_non_blocking(true, ec);
    if (!ec && options.no_delay) ref.socket.set_no_delay(true, ec);
    if (idle_tracked()) {
      try {
        idle_order.push_back(idle_entry{id, now});
      } catch (...) {
        std::error_code ignored;
        if (watched_for_write) loop_poller.remove(ref.socket.native_handle(), ignored);
        connections.erase(id);
        throw;
      }
      ref.idle_pos = std::prev(idle_order.end());
    }
    update_interest(ref);
    return ref;
  }

  void read_some(connection& c, clock::time_point now) {
    std::error_code ec;
    const std::size_t n = c.socket.receive(&read_buffer[0], read_buffer.size(), ec);
    // Sends made by the callbacks below are flows from `c`.
    delivering = c.id;
    at_scope_exit reset_delivering{[this] { delivering = 0; }};
    if (ec) {
      if (would_block(ec)) return;
      c.close_now(reason_for(ec), ec);
    } else if (n == 0) {
      // A layer's stream ends with its own record (close_notify): a transport that
      // ends first cut it short.
      if (c.tls) {
        layer_failed(c, c.tls->layer->transport_ended());
        return;
      }
      end_of_stream(c);
      return;
    } else {
      stats.bytes_received += n;
      touch(c, now);
      mark_dirty(c);
      if (c.tls) {
        deliver_layered(c, std::string_view(read_buffer.data(), n));
        return;
      }
      if (handlers.on_data) handlers.on_data(self, c.id, std::string_view(read_buffer.data(), n));
      return;
    }
    mark_dirty(c);
  }

  // The peer ended its stream (TCP end of stream, or a layer's close_notify).
  void end_of_stream(connection& c) {
    if (handlers.on_end_of_stream) {
      c.state = conn_state::peer_ended;
      mark_dirty(c);
      handlers.on_end_of_stream(self, c.id);
      return;
    }
    // Close once what is queued for the peer is sent.
    c.state = conn_state::close_when_drained;
    c.reason = close_reason::closed;
    send_close(c);
    mark_dirty(c);
  }

  // ---- stream layers (TLS) --------------------------------------------------------

  // Writes `bytes` at once when nothing is queued, as libuv's uv_try_write does, and
  // queues what the kernel does not take (bytes already queued go first, so the queue
  // stays in order). A queue filled and freed on every message made glibc trim and
  // fault the heap back in on every turn (16 KiB echoes over 100+ connections ran 2-8x
  // slower than the peers). A failed write closes the connection at the end of the
  // turn, with no callback here. False only when the rest cannot be queued (ec).
  bool write_or_queue(connection& c, std::string_view bytes, std::error_code& ec) noexcept {
    if (c.pending() == 0 && !bytes.empty()) {
      if (!write_now(c, bytes)) {
        mark_dirty(c);
        return true;
      }
      if (bytes.empty()) {
        // A connection ending once drained (end of stream read) may close now.
        if (c.state == conn_state::close_when_drained) mark_dirty(c);
        return true;
      }
    }
    try {
      // Compact before growing: the sent prefix is dead weight.
      if (c.out_pos > 0) {
        c.out.erase(0, c.out_pos);
        c.out_pos = 0;
      }
      c.out.append(bytes.data(), bytes.size());
    } catch (const std::bad_alloc&) {
      ec = detail::make_error(std::errc::not_enough_memory);
      return false;
    }
    note_congestion(c);
    mark_dirty(c);  // interest: writable
    return true;
  }

  // Hands what the layer produced for the wire (layer_wire) to the connection.
  void send_wire(connection& c) noexcept {
    if (layer_wire.empty()) return;
    std::error_code ec;
    if (!write_or_queue(c, layer_wire, ec)) {
      c.close_now(close_reason::error, ec);
      mark_dirty(c);
    }
    layer_wire.clear();
  }

  // The layer broke (a failed handshake, a bad record, a truncated stream, a handshake
  // too slow): the connection ends with its error once what the layer queued (an alert
  // telling the peer why) is sent. An outbound connect still waiting for its handshake
  // reports it through on_done instead of on_close (close_and_report).
  void layer_failed(connection& c, const std::error_code& ec) noexcept {
    if (c.closed()) return;
    c.state = conn_state::close_when_drained;
    c.reason = close_reason::error;
    c.error = ec;
    mark_dirty(c);
  }

  // This end sends no more through the layer: its end-of-stream record (close_notify),
  // once, after what is queued. Nothing before the handshake is over.
  void send_close(connection& c) noexcept {
    if (!c.tls || c.tls->sent_close || c.closed() || !c.tls->layer->established()) return;
    c.tls->sent_close = true;
    layer_wire.clear();
    try {
      c.tls->layer->close(layer_wire);
    } catch (const std::bad_alloc&) {
      layer_wire.clear();
      return;  // no record: the peer sees a truncated stream, nothing worse
    }
    send_wire(c);
  }

  // Gives `c` its layer and starts the handshake, which must be over within `limit`.
  void start_layer(connection& c, std::unique_ptr<stream_layer> layer, time_limit limit) {
    c.tls = std::make_unique<layered>();
    c.tls->layer = std::move(layer);
    layer_wire.clear();
    std::error_code ec;
    c.tls->layer->start(layer_wire, ec);
    send_wire(c);
    if (ec) {
      layer_failed(c, ec);
      return;
    }
    if (!limit.unlimited()) {
      const id_type id = c.id;
      c.tls->timer = self.after(limit, [id](event_loop& loop) {
        impl& m = *loop.impl_;
        connection* t = m.find(id);
        if (t == nullptr || !t->tls || t->tls->layer->established()) return;
        t->tls->timer = 0;
        m.layer_failed(*t, detail::make_error(std::errc::timed_out));
      });
    }
  }

  // Bytes from the wire of a layered connection: through the layer, then to on_data.
  void deliver_layered(connection& c, std::string_view in) {
    layered& t = *c.tls;
    const bool was_established = t.layer->established();
    layer_data.clear();
    layer_wire.clear();
    std::error_code ec;
    t.layer->receive(in, layer_data, layer_wire, ec);
    send_wire(c);
    if (ec) {
      layer_failed(c, ec);
      return;
    }
    if (!was_established && t.layer->established()) handshake_done(c);
    if (t.close_after_handshake) {
      // Closed meanwhile: what the layer kept went out with the handshake's end; no
      // on_data after close().
      if (!t.layer->established()) return;
      t.close_after_handshake = false;
      send_close(c);
      if (c.closed()) return;
      c.state = conn_state::close_when_drained;
      c.reason = close_reason::local;
      mark_dirty(c);
      return;
    }
    // on_done may have closed it: no on_data after close().
    if (c.state != conn_state::open) return;
    if (!layer_data.empty() && handlers.on_data) {
      // Sends made by on_data use layer_wire, never layer_data.
      handlers.on_data(self, c.id, layer_data);
      if (c.state != conn_state::open) return;
    }
    if (t.layer->peer_closed()) end_of_stream(c);
  }

  // The handshake is over: its timer goes; an outbound connect is reported now.
  void handshake_done(connection& c) {
    layered& t = *c.tls;
    if (t.timer != 0) {
      self.cancel(t.timer);
      t.timer = 0;
    }
    // A shutdown_send() made meanwhile can go out now (close_notify, then FIN).
    if (c.sending == send_side::shut_down_when_drained) mark_dirty(c);
    if (!t.was_connect) return;
    t.was_connect = false;
    const connect_handler on_done = std::move(t.on_done);
    ++stats.connected;
    connect_result result;
    result.peer = c.peer;
    // Not a delivery of the connection's data: what on_done sends is no flow (as for
    // a plain connect), or it would pause the reading of its own replies.
    const id_type was_delivering = delivering;
    delivering = 0;
    at_scope_exit restore{[this, was_delivering] { delivering = was_delivering; }};
    if (on_done) on_done(self, c.id, result);
  }

  // send()'s direct write, on an empty queue: takes off `bytes` what the kernel took.
  // False when the connection failed (closed at the end of the turn with the error).
  bool write_now(connection& c, std::string_view& bytes) noexcept {
    std::error_code ec;
    const std::size_t n = c.socket.send(bytes.data(), bytes.size(), ec);
    if (ec) {
      if (would_block(ec)) return true;
      c.close_now(reason_for(ec), ec);
      return false;
    }
    bytes.remove_prefix(n);
    stats.bytes_sent += n;
    if (idle_tracked()) touch(c, clock::now());
    return true;
  }

  void flush(connection& c, clock::time_point now) {
    while (c.pending() > 0) {
      std::error_code ec;
      const std::size_t n = c.socket.send(c.out.data() + c.out_pos, c.pending(), ec);
      if (ec) {
        if (would_block(ec)) break;
        c.close_now(reason_for(ec), ec);
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
    if (any(ready & (readiness::writable | readiness::error)) && c.pending() > 0) {
      flush(c, now);
      note_drained(c);
    }
    if (c.closed()) {
      mark_dirty(c);
      return;
    }
    // The interest is updated at the end of the turn; the state now: a connection that
    // a callback of this turn closed (or paused) is not read again.
    if (c.state == conn_state::open && !c.user_paused && any(c.interest & readiness::readable) &&
        any(ready & (readiness::readable | readiness::error)))
      read_some(c, now);
    else
      mark_dirty(c);
  }

  // Closes the socket, forgets the connection and reports it (on_close with its
  // reason), then destroys its context.
  void close_and_report(connection& c) {
    const id_type id = c.id;
    const close_reason reason = c.reason;
    const std::error_code ec = c.error;
    if (c.registered) {
      std::error_code ignored;
      loop_poller.remove(c.socket.native_handle(), ignored);
    }
    cancel_connection_timer(c);
    if (idle_tracked()) idle_order.erase(c.idle_pos);
    drop_flows(c);
    c.socket.close();
    // An outbound connect that ends before its handshake is over is a failed connect:
    // on_done reports it, no on_close follows.
    std::unique_ptr<layered> tls = std::move(c.tls);
    const endpoint peer = c.peer;
    connections.erase(id);  // `c` is gone from here on
    if (tls && tls->timer != 0) self.cancel(tls->timer);
    // A descriptor was freed: listeners paused for EMFILE may succeed now.
    accept_paused_by_error = false;
    update_listeners(clock::now());
    // After on_close, which may still use it; even when on_close throws.
    at_scope_exit drop_context{[this, id] { contexts.erase(id); }};
    if (tls && tls->was_connect) {
      connect_result result;
      result.error = ec ? ec
                        : detail::make_error(reason == close_reason::idle_timeout
                                                 ? std::errc::timed_out
                                                 : std::errc::operation_canceled);
      result.peer = peer;
      result.message = std::string(tls->layer->handshake_name()) + " " + peer.to_string() + ": " +
                       error_text(result.error);
      const connect_handler on_done = std::move(tls->on_done);
      tls.reset();
      if (on_done) on_done(self, id, result);
      return;
    }
    tls.reset();
    if (handlers.on_close) handlers.on_close(self, id, reason, ec);
  }

  // The FIN of shutdown_send(), once nothing is queued before it.
  void shut_down_sending(connection& c) noexcept {
    if (c.tls) {
      // The layer's close_notify goes before the FIN, and only after the handshake
      // (bytes sent meanwhile go first); end_turn calls again once it is sent.
      if (!c.tls->layer->established()) return;
      if (!c.tls->sent_close) {
        send_close(c);
        if (c.pending() > 0 || c.closed()) return;
      }
    }
    std::error_code ec;
    c.socket.shutdown(shutdown_type::send, ec);
    c.sending = send_side::shut_down;
    if (ec) c.close_now(reason_for(ec), ec);
  }

  void end_turn(clock::time_point now) {
    // `work` and `work_next` are members: when a callback (on_close) throws, the
    // entries after it stay in `work` (still marked dirty) and the next end_turn, in a
    // later run(), takes them up first instead of forgetting their output.
    for (;;) {
      if (work_next >= work.size()) {
        work.clear();
        work_next = 0;
        if (dirty.empty()) break;
        work.swap(dirty);
      }
      const id_type id = work[work_next++];
      connection* c = find(id);
      if (c == nullptr) continue;
      c->dirty = false;
      if (!c->closed() && c->pending() > 0) {
        flush(*c, now);
        note_drained(*c);
      }
      if (c->sending == send_side::shut_down_when_drained && !c->closed() && c->pending() == 0)
        shut_down_sending(*c);
      if (c->closed() || (c->state == conn_state::close_when_drained && c->pending() == 0)) {
        close_and_report(*c);
        continue;
      }
      update_interest(*c);
      if (c->closed()) close_and_report(*c);
    }
  }

  // ---- listeners ----------------------------------------------------------------

  bool room_for_more() const noexcept {
    return options.max_connections == 0 || connections.size() < options.max_connections;
  }

  void update_listeners(clock::time_point now) {
    if (accept_paused_by_error && now >= accept_retry_at) accept_paused_by_error = false;
    const bool want = !stop_requested.load() && !accept_paused_by_error && room_for_more();
    for (auto& entry : listeners) {
      listen_entry& l = *entry.second;
      if (want == l.watched) continue;
      std::error_code ec;
      if (want) {
        loop_poller.add(l.socket.native_handle(), readiness::readable, l.id, ec);
      } else {
        loop_poller.remove(l.socket.native_handle(), ec);
      }
      l.watched = want && !ec;
      if (ec && handlers.on_accept_error) handlers.on_accept_error(self, l.id, ec);
    }
  }

  void close_listener(id_type id) noexcept {
    const auto it = listeners.find(id);
    if (it == listeners.end()) return;
    if (it->second->watched) {
      std::error_code ignored;
      loop_poller.remove(it->second->socket.native_handle(), ignored);
    }
    listeners.erase(it);
  }

  void accept_some(listen_entry& l, clock::time_point now) {
    const id_type listener_id = l.id;
    for (int i = 0; i < accepts_per_turn; ++i) {
      if (!room_for_more()) break;
      // on_accept may have closed this listener.
      const auto it = listeners.find(listener_id);
      if (it == listeners.end()) return;
      listen_entry& current = *it->second;
      std::error_code ec;
      // Straight from the backend, not listener::accept: the socket comes non-blocking
      // (accept4 on Linux), with no system call to make it so afterwards.
      endpoint peer;
      const detail::handle_t h =
          detail::accept_non_blocking(current.socket.native_handle(), peer, ec);
      if (ec) {
        const detail::accept_outcome outcome = detail::classify_accept_error(ec);
        if (outcome == detail::accept_outcome::no_connection) break;
        ++stats.accept_errors;
        if (outcome == detail::accept_outcome::skip) continue;
        // Out of descriptors or memory, or a failure we do not understand: retrying
        // at once would fail again, so listeners are paused for accept_retry instead
        // of being retried on every turn.
        accept_paused_by_error = true;
        accept_retry_at = detail::deadline_after(now, options.accept_retry);
        ++stats.accept_pauses;
        update_listeners(now);
        if (handlers.on_accept_error) handlers.on_accept_error(self, listener_id, ec);
        return;
      }
      const id_type id = next_id++;
      // Made first: a factory that throws leaves no connection behind.
      std::unique_ptr<stream_layer> layer;
      if (current.layers) {
        try {
          layer = current.layers(peer);
        } catch (...) {
          stream_socket drop(h);
          throw;
        }
      }
      connection& c = add_connection(id, stream_socket(h), peer, now, true);
      ++stats.accepted;
      if (layer) start_layer(c, std::move(layer), options.handshake_timeout);
      // Copied: the handler may close its own listener.
      const accept_handler on_accept = current.on_accept;
      if (on_accept) on_accept(self, id, peer);
    }
    update_listeners(now);
  }

  // ---- output before a connect completes -----------------------------------------

  bool send_early(id_type id, std::string_view bytes, std::error_code& ec) noexcept {
    try {
      early_output& e = early[id];
      if (e.shut_send) {
        ec = detail::make_error(std::errc::not_connected);
        return false;
      }
      if (e.bytes.size() + bytes.size() > options.max_output) {
        e.drain_wanted = true;
        ec = detail::make_error(std::errc::no_buffer_space);
        return false;
      }
      if (delivering != 0) link(delivering, id);
      e.bytes.append(bytes.data(), bytes.size());
    } catch (const std::bad_alloc&) {
      ec = detail::make_error(std::errc::not_enough_memory);
      return false;
    }
    return true;
  }

  // The connect `id` became connection `c`: what was sent or shut down meanwhile goes
  // first, before anything on_done sends.
  void take_early(connection& c) {
    const auto it = early.find(c.id);
    if (it == early.end()) return;
    early_output e = std::move(it->second);
    early.erase(it);
    if (c.tls) {
      // The layer keeps them until its handshake is over.
      std::error_code ec;
      layer_wire.clear();
      if (!e.bytes.empty()) c.tls->layer->send(e.bytes, layer_wire, ec);
      send_wire(c);
      if (ec) layer_failed(c, ec);
    } else {
      c.out = std::move(e.bytes);
    }
    c.drain_wanted = e.drain_wanted;
    if (e.shut_send) c.sending = send_side::shut_down_when_drained;
    if (!e.from.empty()) make_flows(c).from = std::move(e.from);
    note_congestion(c);
    mark_dirty(c);
  }

  // A connect failed: its early output is dropped; whoever it paused reads again.
  void drop_early(id_type id) noexcept {
    const auto it = early.find(id);
    if (it == early.end()) return;
    for (const id_type f : it->second.from) {
      if (connection* s = find(f)) {
        if (flow_links* sf = flows_of(*s)) erase_id(sf->into, id);
        mark_dirty(*s);
      }
    }
    early.erase(it);
  }

  // ---- outbound connects ----------------------------------------------------------

  // Reports the end of a connect and forgets it. `result.error` empty: `winner` is
  // the new connection.
  // `watched`: the winner is still in the poller, registered for writability.
  void complete(id_type id, connect_result result, stream_socket winner, clock::time_point now,
                bool watched = false) {
    const auto it = connects.find(id);
    if (it == connects.end()) return;
    std::unique_ptr<outbound_connect> e = std::move(it->second);
    connects.erase(it);
    if (!result.error && e->layer) {
      // Connected: the handshake comes next, and on_done with its end (handshake_done,
      // or close_and_report when it fails), within what is left of the timeout.
      connection& c = add_connection(id, std::move(winner), result.peer, now, true, watched);
      start_layer(c, std::move(e->layer), detail::remaining(e->deadline, now));
      c.tls->was_connect = true;
      c.tls->on_done = std::move(e->on_done);
      take_early(c);
      return;
    }
    if (!result.error) {
      take_early(add_connection(id, std::move(winner), result.peer, now, true, watched));
      ++stats.connected;
    } else {
      drop_early(id);
    }
    // A failed connect's context goes after on_done (even when it throws).
    at_scope_exit drop_context{[this, id, failed = bool(result.error)] {
      if (failed) contexts.erase(id);
    }};
    if (e->on_done) e->on_done(self, id, result);
  }

  // `defer`: the report goes to run_reports (the embedder's own call caused it).
  void fail_connect(outbound_connect& e, std::error_code ec, clock::time_point now,
                    bool defer = false) {
    connect_result result;
    result.error = ec;
    std::string tried;
    std::size_t count = 0;
    if (e.engine) {
      e.engine->abandon();
      result.peer = e.engine->last_tried();
      tried = e.engine->attempts_text();
      count = e.engine->candidate_count();
    }
    // The blocking connect's xsock::error says the same: "connect LABEL (TRIED): WHY".
    result.message = "connect " +
                     detail::connect_failure_target(e.label, count, result.peer, tried) + ": " +
                     error_text(ec);
    if (defer) {
      const auto it = connects.find(e.id);
      const id_type id = e.id;
      connect_handler on_done = std::move(e.on_done);
      connects.erase(it);  // `e` is gone from here on
      drop_early(id);
      reports.push_back(
          [id, on_done = std::move(on_done), result = std::move(result)](event_loop& loop) {
            impl& m = *loop.impl_;
            at_scope_exit drop_context{[&m, id] { m.contexts.erase(id); }};
            if (on_done) on_done(loop, id, result);
          });
      loop_poller.wake();  // the next turn must come, and not wait
      return;
    }
    complete(e.id, std::move(result), stream_socket(), now);
  }

  // Drives one connect: starts due attempts, takes a winner, reports exhaustion.
  void drive_connect(outbound_connect& e, clock::time_point now) {
    if (!e.engine) return;
    e.engine->start_due(now);
    if (e.engine->won()) {
      bool watched = false;
      const detail::happy_eyeballs::attempt a = e.engine->take_winner(true, &watched);
      connect_result result;
      result.peer = a.where;
      complete(e.id, std::move(result), stream_socket(a.handle), now, watched);
      return;
    }
    if (e.engine->exhausted()) fail_connect(e, e.engine->failure(), now);
  }

  id_type start_connect(std::vector<endpoint> candidates, std::string label, time_limit timeout,
                        connect_handler on_done, std::unique_ptr<stream_layer> layer) {
    auto e = std::make_unique<outbound_connect>();
    e->id = next_id++;
    e->on_done = std::move(on_done);
    e->layer = std::move(layer);
    e->label = std::move(label);
    e->deadline = detail::deadline_after(clock::now(), timeout);
    outbound_connect& ref = *e;
    connects.emplace(ref.id, std::move(e));
    const id_type id = ref.id;
    if (stop_requested.load()) {
      // Stopping: nothing new starts (an on_done that reconnects at once would keep the
      // shutdown going forever); it ends as cancelled, reported on a later turn.
      fail_connect(ref, detail::make_error(std::errc::operation_canceled), clock::now(), true);
      return id;
    }
    if (candidates.empty()) {
      ref.resolving = true;  // the caller resolves and calls resolved()
      return ref.id;
    }
    ref.engine = std::make_unique<detail::connect_driver>(
        std::move(candidates), options.attempt_delay, loop_poller, ref.id);
    // Started on the loop's next turn, so on_done never runs inside connect().
    return ref.id;
  }

  void resolved(id_type id, std::vector<endpoint> candidates, std::error_code ec) {
    const auto it = connects.find(id);
    if (it == connects.end()) return;  // cancelled meanwhile
    outbound_connect& e = *it->second;
    e.resolving = false;
    const clock::time_point now = clock::now();
    if (ec) {
      connect_result result;
      result.error = ec;
      result.message = "resolve " + e.label + ": " + error_text(ec);
      complete(id, std::move(result), stream_socket(), now);
      return;
    }
    e.engine = std::make_unique<detail::connect_driver>(std::move(candidates),
                                                        options.attempt_delay, loop_poller, id);
    drive_connect(e, now);
  }

  void on_connect_ready(outbound_connect& e, native_handle_type h, clock::time_point now) {
    e.engine->on_ready(h, now);
    drive_connect(e, now);
  }

  void drive_connects(clock::time_point now) {
    if (connects.empty()) return;
    std::vector<id_type> ids;
    for (const auto& entry : connects)
      ids.push_back(entry.first);
    for (const id_type id : ids) {
      const auto it = connects.find(id);
      if (it == connects.end()) continue;
      outbound_connect& e = *it->second;
      if (now >= e.deadline) {
        fail_connect(e, detail::make_error(std::errc::timed_out), now);
        continue;
      }
      if (!e.engine) continue;
      drive_connect(e, now);
    }
  }

  void cancel_connect(id_type id) {
    const auto it = connects.find(id);
    if (it == connects.end()) return;
    fail_connect(*it->second, detail::make_error(std::errc::operation_canceled), clock::now(),
                 true);
  }

  // ---- timers and posted work ----------------------------------------------------

  void fire_timers(clock::time_point now) {
    id_type id = 0;
    while (connection_timers.pop_expired(now, id)) {
      connection* c = find(id);
      if (c == nullptr) continue;
      c->timer = detail::timer_ticket{};
      if (!c->closed() && handlers.on_timer) handlers.on_timer(self, id);
    }
    while (loop_timers.pop_expired(now, id)) {
      const auto it = loop_tasks.find(id);
      if (it == loop_tasks.end()) continue;
      task fn = std::move(it->second.second);
      loop_tasks.erase(it);
      if (fn) fn(self);
    }
    if (!options.idle_timeout.unlimited()) {
      while (!idle_order.empty()) {
        connection* c = find(idle_order.front().id);
        if (c == nullptr ||
            detail::deadline_after(idle_order.front().last_active, idle_limit()) > now)
          break;
        // Moving it to the back first guarantees the loop ends.
        touch(*c, now);
        if (c->closed()) continue;
        if (handlers.on_idle && c->accepts_output()) {
          handlers.on_idle(self, c->id);
          continue;
        }
        c->close_now(close_reason::idle_timeout);
        mark_dirty(*c);
      }
    }
    if (accept_paused_by_error && now >= accept_retry_at) update_listeners(now);
    datagrams.fire_timers(now);
  }

  // Runs `batch` from `next` on; each task is moved out before it runs, so one that
  // throws has run once and is gone, and the rest of the batch stays for the next call
  // (before anything queued later).
  void run_batch(std::vector<task>& batch, std::size_t& next) {
    while (next < batch.size()) {
      task fn = std::move(batch[next++]);
      if (fn) fn(self);
    }
    batch.clear();
    next = 0;
  }

  void run_posted() {
    if (running_posted.empty()) {
      std::lock_guard<std::mutex> lock(post_mutex);
      running_posted.swap(posted);
    }
    run_batch(running_posted, posted_next);
  }

  // Connect endings that the embedder caused (close(id) of a pending connect, a
  // connect() after stop()) are reported from here, on a later turn: never inside the
  // call that caused them.
  void run_reports() {
    if (running_reports.empty()) running_reports.swap(reports);
    run_batch(running_reports, reports_next);
  }

  time_limit next_timeout(clock::time_point now) const {
    // Work left for the next turn (reports, or what a throwing callback left behind).
    // `dirty`: connections changed after the turn's end (in on_turn), such as a send
    // whose remainder was queued, which needs its write interest.
    if (!reports.empty() || !running_reports.empty() || !running_posted.empty() ||
        work_next < work.size() || !dirty.empty() || datagrams.has_work())
      return time_limit{};
    clock::time_point next = clock::time_point::max();
    next = std::min(next, connection_timers.next_deadline());
    next = std::min(next, loop_timers.next_deadline());
    next = std::min(next, datagrams.next_deadline());
    if (!options.idle_timeout.unlimited() && !idle_order.empty()) {
      const idle_entry& oldest = idle_order.front();
      if (find(oldest.id) != nullptr)
        next = std::min(next, detail::deadline_after(oldest.last_active, idle_limit()));
    }
    if (accept_paused_by_error) next = std::min(next, accept_retry_at);
    for (const auto& entry : connects) {
      const outbound_connect& e = *entry.second;
      next = std::min(next, e.deadline);
      if (!e.engine) continue;
      next = std::min(next, e.engine->next_attempt_at());
    }
    // Rounded up: waking a little early would make a zero-timeout spin until the
    // deadline really passes.
    return detail::remaining(next, now);
  }

  void shut_down(std::error_code& ec) {
    stop_requested.store(true);
    while (!listeners.empty())
      close_listener(listeners.begin()->first);
    while (!connects.empty())
      cancel_connect(connects.begin()->first);
    // One round of connect reports: those cancelled just now and earlier ones. A
    // connect that an on_done starts now ends cancelled too, but is reported only by a
    // later run() (after restart()), or dropped with the loop.
    run_reports();
    // Stop reading everywhere; keep writing what is queued, for stop_linger at most.
    const clock::time_point deadline = detail::deadline_after(clock::now(), options.stop_linger);
    for (auto& entry : connections) {
      connection& c = entry.second;
      send_close(c);  // a layer's close_notify, after what is queued
      if (!c.closed() && c.pending() > 0) flush(c, clock::now());
      update_interest(c);
    }
    datagrams.begin_shutdown();
    for (;;) {
      datagrams.end_turn();
      bool waiting = datagrams.has_output();
      for (auto& entry : connections) {
        const connection& c = entry.second;
        if (!c.closed() && c.pending() > 0) waiting = true;
      }
      const clock::time_point now = clock::now();
      if (!waiting || now >= deadline) break;
      loop_poller.wait(events, detail::remaining(deadline, now), ec);
      if (ec) break;
      for (const poller::event& ev : events) {
        if (datagrams.on_linger_event(ev.tag)) continue;
        connection* c = find(ev.tag);
        if (c == nullptr || c->closed()) continue;
        flush(*c, clock::now());
        update_interest(*c);
      }
    }
    while (!connections.empty()) {
      connection& c = connections.begin()->second;
      if (!c.closed()) c.close_now(close_reason::shutdown);
      close_and_report(c);
    }
    // Without a callback: datagram sockets have no on_close.
    datagrams.close_all();
    dirty.clear();
    work.clear();
    work_next = 0;
    loop_timers.clear();
    loop_tasks.clear();
    if (handlers.on_turn) handlers.on_turn(self);
  }
};

// ---- event_loop -------------------------------------------------------------------

event_loop::event_loop(const loop_options& options, callbacks handlers) {
  std::error_code ec;
  impl_ = std::make_unique<impl>(*this, options, std::move(handlers), ec);
  if (ec) detail::throw_error(ec, "create event loop");
}

event_loop::event_loop(const loop_options& options, callbacks handlers, std::error_code& ec)
    : impl_(std::make_unique<impl>(*this, options, std::move(handlers), ec)) {}

event_loop::~event_loop() {
  // Destroying the loop from one of its own callbacks (or from another thread while it
  // runs) would leave run() on freed memory: a bug in the caller, stopped here rather
  // than left to corrupt memory.
  if (impl_ && impl_->running) {
    std::fputs("xsock: event_loop destroyed while run() is running (from a callback?)\n", stderr);
    std::abort();
  }
}

event_loop::id_type event_loop::listen(listener&& socket, accept_handler on_accept,
                                       std::error_code& ec) {
  return listen(std::move(socket), std::move(on_accept), stream_layer_factory(), ec);
}

event_loop::id_type event_loop::listen(listener&& socket, accept_handler on_accept,
                                       stream_layer_factory layers) {
  std::error_code ec;
  const id_type id = listen(std::move(socket), std::move(on_accept), std::move(layers), ec);
  if (ec) detail::throw_error(ec, "listen");
  return id;
}

event_loop::id_type event_loop::listen(listener&& socket, accept_handler on_accept,
                                       stream_layer_factory layers, std::error_code& ec) {
  ec.clear();
  if (!socket.is_open()) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return 0;
  }
  socket.set_non_blocking(true, ec);
  if (ec) return 0;
  auto entry = std::make_unique<listen_entry>();
  entry->id = impl_->next_aux_id++;
  entry->socket = std::move(socket);
  entry->on_accept = std::move(on_accept);
  entry->layers = std::move(layers);
  const id_type id = entry->id;
  impl_->listeners.emplace(id, std::move(entry));
  impl_->update_listeners(clock::now());
  return id;
}

event_loop::id_type event_loop::listen(listener&& socket, accept_handler on_accept) {
  std::error_code ec;
  const id_type id = listen(std::move(socket), std::move(on_accept), ec);
  if (ec) detail::throw_error(ec, "listen");
  return id;
}

event_loop::id_type event_loop::adopt(stream_socket&& socket, std::error_code& ec) {
  return adopt(std::move(socket), std::unique_ptr<stream_layer>(), ec);
}

event_loop::id_type event_loop::adopt(stream_socket&& socket, std::unique_ptr<stream_layer> layer,
                                      std::error_code& ec) {
  ec.clear();
  if (!socket.is_open()) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return 0;
  }
  std::error_code ignored;
  const endpoint peer = socket.peer_endpoint(ignored);
  const id_type id = impl_->next_id++;
  connection& c = impl_->add_connection(id, std::move(socket), peer, clock::now());
  if (layer) impl_->start_layer(c, std::move(layer), impl_->options.handshake_timeout);
  return id;
}

event_loop::id_type event_loop::adopt(stream_socket&& socket, std::unique_ptr<stream_layer> layer) {
  std::error_code ec;
  const id_type id = adopt(std::move(socket), std::move(layer), ec);
  if (ec) detail::throw_error(ec, "adopt");
  return id;
}

event_loop::id_type event_loop::adopt(stream_socket&& socket) {
  std::error_code ec;
  const id_type id = adopt(std::move(socket), ec);
  if (ec) detail::throw_error(ec, "adopt");
  return id;
}

event_loop::id_type event_loop::adopt(datagram_socket&& socket, datagram_handlers handlers,
                                      std::error_code& ec) {
  const id_type id = impl_->next_aux_id;
  impl_->datagrams.adopt(id, std::move(socket), std::move(handlers), ec);
  if (ec) return 0;
  ++impl_->next_aux_id;
  return id;
}

event_loop::id_type event_loop::adopt(datagram_socket&& socket, datagram_handlers handlers) {
  std::error_code ec;
  const id_type id = adopt(std::move(socket), std::move(handlers), ec);
  if (ec) detail::throw_error(ec, "adopt datagram socket");
  return id;
}

event_loop::id_type event_loop::connect(const endpoint& peer, time_limit timeout,
                                        connect_handler on_done,
                                        std::unique_ptr<stream_layer> layer) {
  return impl_->start_connect({peer}, peer.to_string(), timeout, std::move(on_done),
                              std::move(layer));
}

event_loop::id_type event_loop::connect(const std::vector<endpoint>& candidates, time_limit timeout,
                                        connect_handler on_done,
                                        std::unique_ptr<stream_layer> layer) {
  std::string label;
  for (const endpoint& ep : candidates) {
    if (!label.empty()) label += ", ";
    label += ep.to_string();
  }
  if (candidates.empty()) {
    // Nothing to try: reported on the next turn like any other failure.
    const id_type id =
        impl_->start_connect({}, "(no address)", timeout, std::move(on_done), std::move(layer));
    post([id](event_loop& loop) {
      loop.impl_->resolved(id, {}, detail::make_error(std::errc::invalid_argument));
    });
    return id;
  }
  return impl_->start_connect(candidates, std::move(label), timeout, std::move(on_done),
                              std::move(layer));
}

event_loop::id_type event_loop::connect(std::string_view host, std::uint16_t port,
                                        time_limit timeout, connect_handler on_done,
                                        std::unique_ptr<stream_layer> layer) {
  std::string label = detail::host_label(host, port);
  // A numeric address (bracketed or not) needs no lookup.
  std::string_view bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  std::error_code parse_ec;
  const endpoint numeric = endpoint::from_address(bare, port, parse_ec);
  if (!parse_ec)
    return impl_->start_connect({numeric}, std::move(label), timeout, std::move(on_done),
                                std::move(layer));

  const id_type id =
      impl_->start_connect({}, std::move(label), timeout, std::move(on_done), std::move(layer));
  try {
    const resolver_pool::reply_fn reply = [](id_type for_id, std::vector<endpoint> found,
                                             std::error_code ec) -> task {
      return [for_id, found = std::move(found), ec](event_loop& loop) mutable {
        loop.impl_->resolved(for_id, std::move(found), ec);
      };
    };
    resolver_pool::instance().submit(
        resolver_pool::job{impl_->box, reply, id, std::string(bare), port});
  } catch (const std::system_error& e) {
    // No thread to be had: report it like a failed lookup, on the next turn.
    const std::error_code ec = e.code();
    post([id, ec](event_loop& loop) { loop.impl_->resolved(id, {}, ec); });
  }
  return id;
}

event_loop::id_type event_loop::after(time_limit delay, task fn) {
  const id_type id = impl_->next_aux_id++;
  const clock::time_point at =
      delay.unlimited() ? clock::time_point::max() : detail::deadline_after(clock::now(), delay);
  if (at == clock::time_point::max()) return id;  // never: nothing to schedule
  const auto entry =
      impl_->loop_tasks.emplace(id, std::make_pair(detail::timer_ticket{}, std::move(fn))).first;
  try {
    entry->second.first = impl_->loop_timers.schedule(at, id);
  } catch (...) {
    impl_->loop_tasks.erase(entry);
    throw;
  }
  return id;
}

bool event_loop::cancel(id_type timer) noexcept {
  const auto it = impl_->loop_tasks.find(timer);
  if (it == impl_->loop_tasks.end()) return false;
  impl_->loop_timers.cancel(it->second.first);
  impl_->loop_tasks.erase(it);
  return true;
}

void event_loop::post(task fn) {
  {
    std::lock_guard<std::mutex> lock(impl_->post_mutex);
    impl_->posted.push_back(std::move(fn));
  }
  impl_->loop_poller.wake();
}

void event_loop::restart() noexcept {
  if (!impl_->running) impl_->stop_requested.store(false);
}

void event_loop::stop() noexcept {
  impl_->stop_requested.store(true);
  impl_->loop_poller.wake();
}

bool event_loop::stopping() const noexcept {
  return impl_->stop_requested.load();
}

void event_loop::send(id_type id, std::string_view bytes) {
  std::error_code ec;
  send(id, bytes, ec);
  if (ec) detail::throw_error(ec, "send to connection", std::to_string(id));
}

bool event_loop::send(id_type id, std::string_view bytes, std::error_code& ec) noexcept {
  ec.clear();
  impl& m = *impl_;
  connection* c = m.find(id);
  if (c == nullptr && m.connects.count(id) != 0) return m.send_early(id, bytes, ec);
  if (c == nullptr && m.datagrams.contains(id)) return m.datagrams.send_to(id, nullptr, bytes, ec);
  if (c == nullptr || !c->accepts_output() || (c->tls && c->tls->close_after_handshake)) {
    // Ended by a reset or an error this turn (on_close still to come): that error,
    // not a vague not_connected.
    ec = c != nullptr && c->closed() && c->error ? c->error
                                                 : detail::make_error(std::errc::not_connected);
    return false;
  }
  if (c->pending() + bytes.size() > m.options.max_output) {
    c->drain_wanted = true;
    ec = detail::make_error(std::errc::no_buffer_space);
    return false;
  }
  try {
    if (m.delivering == id) {
      c->feeds_itself = true;
    } else if (m.delivering != 0) {
      m.link(m.delivering, id);
    }
    if (c->tls) {
      // Through the layer (before its handshake is over, it keeps the bytes).
      m.layer_wire.clear();
      c->tls->layer->send(bytes, m.layer_wire, ec);
      if (ec) {
        m.layer_failed(*c, ec);
        return false;
      }
      const bool ok = m.write_or_queue(*c, m.layer_wire, ec);
      m.layer_wire.clear();
      return ok;
    }
  } catch (const std::bad_alloc&) {
    ec = detail::make_error(std::errc::not_enough_memory);
    return false;
  }
  // A failed direct write closes the connection at the end of the turn (its on_close
  // carries the error, as when a queued send fails): no callback runs here.
  return m.write_or_queue(*c, bytes, ec);
}

void event_loop::send_to(id_type id, const endpoint& peer, std::string_view bytes) {
  std::error_code ec;
  send_to(id, peer, bytes, ec);
  if (ec) detail::throw_error(ec, "send_to", peer);
}

bool event_loop::send_to(id_type id, const endpoint& peer, std::string_view bytes,
                         std::error_code& ec) noexcept {
  return impl_->datagrams.send_to(id, &peer, bytes, ec);
}

void event_loop::close(id_type id, close_mode how) noexcept {
  if (connection* c = impl_->find(id)) {
    if (c->closed()) return;
    if (how == close_mode::abort) {
      c->close_now(close_reason::local);
    } else {
      if (c->tls && !c->tls->was_connect && c->state == conn_state::open &&
          !c->tls->layer->established()) {
        // What was sent before waits inside the layer for the handshake: the close
        // comes after it (deliver_layered), within handshake_timeout.
        c->tls->close_after_handshake = true;
        return;
      }
      impl_->send_close(*c);  // a layer's close_notify, after what is queued
      c->state = conn_state::close_when_drained;
      c->reason = close_reason::local;
    }
    impl_->mark_dirty(*c);
    return;
  }
  if (impl_->listeners.count(id) != 0) {
    impl_->close_listener(id);
    return;
  }
  if (impl_->datagrams.close(id, how)) return;
  if (impl_->connects.count(id) != 0) {
    try {
      impl_->cancel_connect(id);
    } catch (...) {
      // on_done threw: dropped here, close() promises not to throw.
    }
    return;
  }
  cancel(id);
}

void event_loop::shutdown_send(id_type id) noexcept {
  connection* c = impl_->find(id);
  if (c == nullptr) {
    // A pending connect: once connected, after what was queued.
    const auto e = impl_->early.find(id);
    if (e != impl_->early.end()) {
      e->second.shut_send = true;
    } else if (impl_->connects.count(id) != 0) {
      try {
        impl_->early[id].shut_send = true;
      } catch (const std::bad_alloc&) {
        // Nothing to record it in: the connect goes on without the half-close.
      }
    }
    return;
  }
  if (c->closed() || c->sending != send_side::open || (c->tls && c->tls->close_after_handshake))
    return;
  c->sending = send_side::shut_down_when_drained;
  if (c->pending() == 0) {
    // Nothing queued: now, not at the end of a turn that may be a wait away (this may
    // be called from on_turn, after the turn's own end).
    impl_->shut_down_sending(*c);
    if (c->closed()) impl_->loop_poller.wake();  // closed at the end of the next turn
  }
  impl_->mark_dirty(*c);
}

void event_loop::pause_reading(id_type id) noexcept {
  if (connection* c = impl_->find(id)) {
    c->user_paused = true;
    impl_->update_interest(*c);
  }
}

void event_loop::resume_reading(id_type id) noexcept {
  if (connection* c = impl_->find(id)) {
    c->user_paused = false;
    impl_->update_interest(*c);
  }
}

void event_loop::set_timer(id_type id, time_limit after) noexcept {
  connection* c = impl_->find(id);
  if (c == nullptr) return;
  impl_->cancel_connection_timer(*c);
  const clock::time_point at = detail::deadline_after(clock::now(), after);
  if (at == clock::time_point::max()) return;  // never: nothing to schedule
  try {
    c->timer = impl_->connection_timers.schedule(at, id);
  } catch (...) {
  }
}

void event_loop::cancel_timer(id_type id) noexcept {
  if (connection* c = impl_->find(id)) impl_->cancel_connection_timer(*c);
}

std::size_t event_loop::output_size(id_type id) const noexcept {
  if (const connection* c = impl_->find(id)) return c->pending();
  std::size_t queued = 0;
  if (impl_->datagrams.output_size(id, queued)) return queued;
  const auto e = impl_->early.find(id);
  return e == impl_->early.end() ? 0 : e->second.bytes.size();
}

connection_context* event_loop::context_slot(id_type id, std::error_code& ec) {
  ec.clear();
  if (impl_->find(id) == nullptr && impl_->connects.count(id) == 0) {
    ec = detail::make_error(std::errc::not_connected);
    return nullptr;
  }
  return &impl_->contexts[id];
}

connection_context& event_loop::context_slot(id_type id) {
  std::error_code ec;
  connection_context* slot = context_slot(id, ec);
  if (slot == nullptr) detail::throw_error(ec, "context of connection", std::to_string(id));
  return *slot;
}

const connection_context* event_loop::find_context(id_type id) const noexcept {
  const auto it = impl_->contexts.find(id);
  return it == impl_->contexts.end() ? nullptr : &it->second;
}

void event_loop::reset_context(id_type id) noexcept {
  const auto it = impl_->contexts.find(id);
  if (it == impl_->contexts.end()) return;
  // Taken out first: the object's destructor may look at the loop.
  connection_context doomed = std::move(it->second);
  impl_->contexts.erase(it);
}

endpoint event_loop::peer(id_type id) const noexcept {
  if (const connection* c = impl_->find(id)) return c->peer;
  endpoint connected;
  impl_->datagrams.peer(id, connected);
  return connected;
}

const stream_layer* event_loop::layer(id_type id) const noexcept {
  const connection* c = impl_->find(id);
  return c == nullptr || !c->tls ? nullptr : c->tls->layer.get();
}

std::size_t event_loop::connection_count() const noexcept {
  return impl_->connections.size();
}

endpoint event_loop::local_endpoint(id_type listener) const noexcept {
  const auto it = impl_->listeners.find(listener);
  if (it == impl_->listeners.end()) {
    endpoint bound;
    impl_->datagrams.local_endpoint(listener, bound);
    return bound;
  }
  std::error_code ec;
  return it->second->socket.local_endpoint(ec);
}

const loop_stats& event_loop::stats() const noexcept {
  return impl_->stats;
}

const loop_options& event_loop::options() const noexcept {
  return impl_->options;
}

void event_loop::run() {
  std::error_code ec;
  run(ec);
  if (ec) detail::throw_error(ec, "event loop");
}

void event_loop::run(std::error_code& ec) {
  ec.clear();
  impl& m = *impl_;
  if (!m.loop_poller.is_open()) {
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return;
  }
  if (m.running) {
    // A nested run() would replay the batch its caller is in the middle of.
    ec = detail::make_error(std::errc::operation_in_progress);
    return;
  }
  struct running_guard {
    bool& flag;
    explicit running_guard(bool& f) noexcept : flag(f) { flag = true; }
    running_guard(const running_guard&) = delete;
    running_guard& operator=(const running_guard&) = delete;
    ~running_guard() { flag = false; }
  } guard(m.running);
  m.update_listeners(clock::now());
  // Work queued before run() (connects, posts) starts on the first turn.
  bool first = true;
  while (!m.stop_requested.load()) {
    if (!first) {
      m.loop_poller.wait(m.events, m.next_timeout(clock::now()), ec);
      if (ec) break;
    } else {
      m.events.clear();
    }
    first = false;
    ++m.stats.turns;
    const clock::time_point now = clock::now();
    for (const poller::event& ev : m.events) {
      if (connection* c = m.find(ev.tag)) {
        if (!c->closed()) m.on_ready(*c, ev.ready, now);
        continue;
      }
      const auto l = m.listeners.find(ev.tag);
      if (l != m.listeners.end()) {
        if (l->second->watched) m.accept_some(*l->second, now);
        continue;
      }
      if (m.datagrams.on_event(ev.tag, ev.ready)) continue;
      const auto k = m.connects.find(ev.tag);
      if (k != m.connects.end() && k->second->engine)
        m.on_connect_ready(*k->second, ev.handle, now);
    }
    m.run_posted();
    m.run_reports();
    m.drive_connects(clock::now());
    m.fire_timers(clock::now());
    m.end_turn(clock::now());
    m.datagrams.end_turn();
    if (m.handlers.on_turn) m.handlers.on_turn(*this);
  }
  std::error_code ignored;
  m.shut_down(ignored);
}

}  // namespace xsock
