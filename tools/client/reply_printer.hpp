// xsock-client's reply printer: what the server sends, decoded (or as hex), cut as the
// view options say (lines, --packets, --timestamps), control characters escaped, in the
// local encoding. Runs on the loop thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "client_options.hpp"
#include "console.hpp"
#include "stream_lines.hpp"
#include "xsock/encoder.hpp"

namespace xsock::tools::client {

class reply_printer {
 public:
  /// Where the printed bytes go: standard output (`write_output`) unless a test says
  /// otherwise. False with `ec` when they cannot be written.
  using output = std::function<bool(std::string_view bytes, std::error_code& ec)>;

  reply_printer(const config& cfg, const std::string& wire, const std::string& local,
                output out = write_output);

  /// Prints what one read returned. A line not ended yet is shown at once (a prompt
  /// from the server is visible), except with --packets.
  bool print(std::string_view bytes, std::error_code& ec);
  /// True when what was printed last ended a line.
  bool at_line_start() const { return hex_ || at_line_start_; }
  /// The end of this stream: what is left is shown, ending on a fresh line.
  bool finish(std::error_code& ec);

 private:
  std::string format(const std::vector<line>& pieces);
  bool emit(const std::string& text, std::error_code& ec);
  std::string stamped(const std::string& text) const;

  bool hex_;
  bool packets_;
  bool timestamps_;
  stream_lines lines_;
  std::unique_ptr<encoder> to_local_;
  output out_;
  bool at_line_start_ = true;
};

}  // namespace xsock::tools::client
