// Internal: one outbound connect, as the event loop and the blocking
// stream_socket::connect(host | candidates) both run it. The Happy Eyeballs engine
// decides which address to try when; the driver keeps each attempt's socket watched
// for writability in a poller (the loop's own, or one made for a blocking connect) and
// forgets it there before the engine closes it; and one function words the failure,
// so the loop's connect_result::message and the blocking connect's xsock::error read
// the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "backend.hpp"
#include "net/happy_eyeballs.hpp"
#include "net/timing.hpp"
#include "xsock/endpoint.hpp"
#include "xsock/poller.hpp"
#include "xsock/time_limit.hpp"

namespace xsock::detail {

class connect_driver {
 public:
  // Races `candidates` (resolver order), a new attempt every `attempt_delay` while
  // earlier ones are pending; each attempt's socket is watched in `watcher` (which must
  // outlive the driver) for writability, with `tag`.
  connect_driver(std::vector<endpoint> candidates, time_limit attempt_delay, poller& watcher,
                 std::uint64_t tag);
  connect_driver(const connect_driver&) = delete;
  connect_driver& operator=(const connect_driver&) = delete;
  // Forgets and closes whatever is still pending (and an unclaimed winner).
  ~connect_driver();

  // Starts the attempts due at `now` (the first one at once) and watches them.
  void start_due(steady::time_point now) noexcept;
  // One of the watched sockets is ready: reads its outcome. A failed attempt is
  // forgotten and closed, and the next address becomes due at once.
  void on_ready(handle_t h, steady::time_point now) noexcept;

  bool won() const noexcept { return engine_.won(); }
  // Every address was tried and failed.
  bool exhausted() const noexcept { return engine_.exhausted(); }
  // When start_due() has more to start (time_point::max() when nothing is left).
  steady::time_point next_attempt_at() const noexcept { return engine_.next_attempt_at(); }
  std::size_t candidate_count() const noexcept { return engine_.candidate_count(); }

  // The connected socket (non-blocking); the other attempts are forgotten and closed.
  // `keep_watched`: the winner stays in the poller, registered for writability with
  // the driver's tag, so that its new owner changes the interest with one modify
  // instead of a remove and an add; otherwise the poller forgets it. `*watched` (when
  // given) says whether it is still in the poller: a connect that completed at once
  // never was.
  happy_eyeballs::attempt take_winner(bool keep_watched = false, bool* watched = nullptr) noexcept;
  // Gives up (time limit, cancel): pending attempts are forgotten, closed and listed
  // as "timed out".
  void abandon() noexcept;

  // What to report once it failed (see happy_eyeballs).
  std::error_code failure() const noexcept { return engine_.failure(); }
  endpoint last_tried() const noexcept { return engine_.last_tried(); }
  std::string attempts_text() const { return engine_.attempts_text(); }

 private:
  void unwatch(const std::vector<handle_t>& handles) noexcept;

  happy_eyeballs engine_;
  poller& watcher_;
  std::uint64_t tag_;
  std::vector<handle_t> changed_;  // scratch: handles the engine opened or closed
  // The winner won on a poller event, so it is registered (one that connected at once
  // in start_due never was).
  bool winner_watched_ = false;
};

// A blocking connect's race: drives a connect_driver with a poller of its own until
// one address connects, all fail, or `deadline`. Success: `won` holds the connected
// socket (back in blocking mode) and `last` its address. Failure: `ec`, `last` the
// last address tried and `tried` every address with its error.
void connect_first(const std::vector<endpoint>& candidates, steady::time_point deadline,
                   time_limit attempt_delay, handle_t& won, endpoint& last, std::string& tried,
                   std::error_code& ec);

// What a failed connect names after "connect ": `label` (the host and port, or the
// list of candidates), then in parentheses each address tried with its error
// (`tried`), or the one address used when there is no list; nothing more when the
// label already is that one address, or when no address was there to try
// (`candidate_count` 0: a failed lookup, an empty list).
std::string connect_failure_target(std::string_view label, std::size_t candidate_count,
                                   const endpoint& last, std::string_view tried);

}  // namespace xsock::detail
