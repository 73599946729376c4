// Internal: what an accept() failure means, decided in one place for every backend and
// every caller (listener::accept, the server loop). Backends report accept errors as
// the system gave them; only this function interprets them.
#pragma once

#include <system_error>

namespace xsock::detail {

enum class accept_outcome {
  no_connection,  // nothing pending (would block): wait for readiness
  skip,           // that one pending connection failed (aborted or reset while queued,
                  // a protocol error, a signal): try the next one at once
  back_off,       // out of descriptors or memory: retrying now would fail again, so
                  // pause accepting for a while (the connections served go on)
  fail,           // the listener itself is broken (closed, invalid): report it
};

inline accept_outcome classify_accept_error(const std::error_code& ec) noexcept {
  if (ec == std::errc::operation_would_block || ec == std::errc::resource_unavailable_try_again)
    return accept_outcome::no_connection;
  if (ec == std::errc::connection_aborted || ec == std::errc::connection_reset ||
      ec == std::errc::interrupted || ec == std::errc::protocol_error ||
      ec == std::errc::network_down || ec == std::errc::network_unreachable ||
      ec == std::errc::host_unreachable || ec == std::errc::timed_out)
    return accept_outcome::skip;
  if (ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
      ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory)
    return accept_outcome::back_off;
  return accept_outcome::fail;
}

}  // namespace xsock::detail
