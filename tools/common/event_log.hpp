// --log FILE: every event of a tool, both directions, as JSON lines with timestamps and
// the bytes in hex, whatever the screen shows.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace xsock::tools {

/// Appends JSON lines to a file: {"ts":"...Z","event":"received","id":1,
/// "peer":"127.0.0.1:5000","hex":"6869"}. A thread of its own writes them (and flushes
/// each batch at once: a `tail -f` sees it), so a log that takes nothing (a FIFO nobody
/// reads) never blocks the tool for long: `record` queues at most `max_queue` bytes,
/// then waits while the log makes progress, and once it has made none for a second
/// drops records (said once on stderr; a `"dropped"` record counts them when the log
/// takes records again). A FIFO is opened on that thread (opening one blocks until a
/// reader comes). `record` is called from one thread.
class event_log {
 public:
  /// Bytes of records queued for the writer, above which `record` waits or drops.
  static constexpr std::size_t max_queue = 2 * 1024 * 1024;

  /// No file: every call does nothing.
  event_log() = default;
  /// Opens `path` (UTF-8) for appending; throws std::runtime_error ("--log PATH: ...").
  /// `program` starts the messages about a failed write or dropped records.
  event_log(const std::string& path, std::string_view program);
  event_log(event_log&&) noexcept = default;
  event_log& operator=(event_log&&) = delete;
  /// Writes out what is queued, waiting as long as the log makes progress (at most
  /// about a second without); a log that takes nothing is left behind (see
  /// `finish_event_logs`).
  ~event_log();

  bool enabled() const noexcept { return writer_ != nullptr; }
  /// `event`: connect, received, sent, disconnect. `id` 0 (datagrams: no connection)
  /// writes no `"id"` field. `bytes` are logged as hex when
  /// `with_bytes`; `extra` is appended as is (`,"reason":"closed"`). A write that
  /// fails (a full disk) is said once on stderr and ends the logging; the tool goes on.
  void record(std::string_view event, std::uint64_t id, std::string_view peer,
              std::string_view bytes = {}, bool with_bytes = false, std::string_view extra = {});

  /// The writer thread and its queue (event_log.cpp).
  struct writer;

 private:
  std::shared_ptr<writer> writer_;
  std::string line_;
};

/// Writes out what every open log still queues, as its destructor does. False when a
/// log was left behind, its writer blocked (a FIFO nobody reads): the process must
/// then end with `std::_Exit`, as for a console reader blocked in a read. Called at
/// the end of main.
bool finish_event_logs();

}  // namespace xsock::tools
