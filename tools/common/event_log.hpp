// --log FILE: every event of a tool, both directions, as JSON lines with timestamps and
// the bytes in hex, whatever the screen shows.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

namespace xsock::tools {

/// Appends JSON lines to a file: {"ts":"...Z","event":"received","id":1,
/// "peer":"127.0.0.1:5000","hex":"6869"}. Each record is flushed as it is written (a
/// `tail -f` sees it at once). Not thread-safe: one thread writes.
class event_log {
 public:
  /// No file: every call does nothing.
  event_log() = default;
  /// Opens `path` (UTF-8) for appending; throws std::runtime_error ("--log PATH: ...").
  /// `program` starts the message about a failed write.
  event_log(const std::string& path, std::string_view program);

  bool enabled() const noexcept { return file_.is_open(); }
  /// `event`: connect, received, sent, disconnect. `bytes` are logged as hex when
  /// `with_bytes`; `extra` is appended as is (`,"reason":"closed"`). A write that
  /// fails (a full disk) is said once on stderr and ends the logging; the tool goes on.
  void record(std::string_view event, std::uint64_t id, std::string_view peer,
              std::string_view bytes = {}, bool with_bytes = false, std::string_view extra = {});

 private:
  std::ofstream file_;
  std::string path_;
  std::string_view program_;
  std::string line_;
};

}  // namespace xsock::tools
