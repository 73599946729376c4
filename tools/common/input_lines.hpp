// xsock::tools::input_lines: standard input read in lines, the one reader of both tools
// (the client's lines to send, the server's console lines).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "xsock/line_splitter.hpp"

namespace xsock::tools {

/// Reads a byte source, standard input unless told otherwise, and cuts it into lines of
/// the local encoding's bytes (not decoded: each tool decodes and reports its own way),
/// a longer line in partial pieces of at most `max_line` bytes.
class input_lines {
 public:
  /// Reads some bytes as `read_input` does: 0 at the end, `ec` on error; blocks.
  using source = std::function<std::size_t(char* buffer, std::size_t size, std::error_code& ec)>;

  /// `encoding`: the bytes' encoding (must keep 0x0A a newline: line_splitter checks).
  /// Throws what line_splitter throws for an encoding that does not.
  input_lines(std::size_t max_line, const std::string& encoding, source read = {});

  /// Reads once (blocking) and puts the pieces it completed into `pieces` (cleared
  /// first); at the end of input, what was left (an unterminated last line). Returns
  /// false at the end of input or on a read error (`ec` set, `pieces` empty).
  bool next(std::vector<line>& pieces, std::error_code& ec);

  /// The last read ended with a newline: someone typing pressed Enter.
  bool read_ended_line() const noexcept { return ended_line_; }

 private:
  source read_;
  line_splitter lines_;
  std::vector<char> buffer_;
  bool ended_line_ = false;
};

}  // namespace xsock::tools
