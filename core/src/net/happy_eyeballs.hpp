// Internal: the Happy Eyeballs (RFC 8305) connection-attempt engine, driven by the
// event loop (non-blocking) and by stream_socket::connect(host, ...) (blocking, with
// a poller of its own). It opens sockets and starts connects; the driver watches the
// pending handles for writability and reports readiness and time back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "net/timing.hpp"
#include "xsock/endpoint.hpp"
#include "xsock/time_limit.hpp"

namespace xsock::detail {

class happy_eyeballs {
 public:
  struct attempt {
    handle_t handle;
    endpoint where;
  };

  // `candidates` in the resolver's order; they are interleaved by family here.
  happy_eyeballs(std::vector<endpoint> candidates, time_limit attempt_delay);
  happy_eyeballs(const happy_eyeballs&) = delete;
  happy_eyeballs& operator=(const happy_eyeballs&) = delete;
  // Closes every handle it still owns (pending attempts, an unclaimed winner).
  ~happy_eyeballs();

  // RFC 8305 section 4: alternate families, starting with the first address's family.
  static std::vector<endpoint> interleave(const std::vector<endpoint>& candidates);

  // Starts the attempts that are due at `now`; each new pending handle is appended to
  // `opened` (for the driver to watch for writability).
  void start_due(steady::time_point now, std::vector<handle_t>& opened) noexcept;
  // A watched handle became writable or reported an error: reads the outcome. On
  // failure the handle is closed (appended to `closed`, so the driver can forget it)
  // and the next attempt becomes due at once.
  void check(handle_t h, steady::time_point now, std::vector<handle_t>& closed) noexcept;

  // When the next attempt is due (time_point::max() when none is left to start).
  steady::time_point next_attempt_at() const noexcept;
  bool won() const noexcept { return winner_.handle != invalid_handle; }
  // Every address was tried and failed.
  bool exhausted() const noexcept { return !won() && next_ >= order_.size() && pending_.empty(); }
  const std::vector<attempt>& pending() const noexcept { return pending_; }
  // How many addresses there are to try in all.
  std::size_t candidate_count() const noexcept { return order_.size(); }

  // The winning connection, handed over (blocking mode unchanged: non-blocking).
  // The other pending attempts are closed first and listed in `closed`.
  attempt take_winner(std::vector<handle_t>& closed) noexcept;
  // Closes every pending attempt (timeout, cancel), listing them in `closed`.
  void abandon(std::vector<handle_t>& closed) noexcept;

  // The error to report once it failed: the common condition when every attempt
  // failed the same way, otherwise the last attempt's.
  std::error_code failure() const noexcept;
  // "A: reason, B: reason" for every address tried (pending ones as "timed out"
  // after abandon()).
  std::string attempts_text() const;
  // The last address tried (for messages and connect_result::peer).
  endpoint last_tried() const noexcept;

 private:
  void fail(std::size_t pending_index, std::error_code ec, steady::time_point now,
            std::vector<handle_t>& closed) noexcept;

  std::vector<endpoint> order_;
  std::size_t next_ = 0;
  time_limit delay_;
  steady::time_point next_at_{};  // when the next attempt may start
  std::vector<attempt> pending_;
  attempt winner_{invalid_handle, endpoint{}};
  std::vector<std::pair<endpoint, std::error_code>> failures_;
};

// "connect HOST:PORT" / "connect [v6]:PORT" as error messages name a host.
std::string host_label(std::string_view host, std::uint16_t port);

}  // namespace xsock::detail
