// xsock-client's input: the -m messages (encoded before connecting), and the reader
// thread that reads standard input or --file, converts each line (local encoding ->
// UTF-8 -> wire encoding, both strict) and hands its wire bytes to the session on the
// loop, no faster than they are sent (flow_control).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client_options.hpp"
#include "client_session.hpp"
#include "input_file.hpp"
#include "input_lines.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"
#include "xsock/endpoint.hpp"
#include "xsock/text_error.hpp"

namespace xsock::tools::client {

/// Turns an unmappable-character error into the one-line message the contract asks
/// for: the character, where it is in the line, and an encoding that has it.
/// `chars_before`/`bytes_before`: the characters and UTF-8 bytes of the line that came
/// before the text `e` is about; `sent`: wire bytes of the line already sent.
std::string encoding_failure(const text_error& e, const std::string& wire,
                             std::size_t message_number, std::uint64_t chars_before = 0,
                             std::uint64_t bytes_before = 0, std::uint64_t sent = 0);

/// What a fresh encoder of `wire` writes before its first text: the byte order mark of
/// UTF-16/UTF-32, ISO-2022-KR's designator `ESC $ ) C`; empty for most encodings. Each
/// connection is a stream of its own and starts with it (session::queue), so the
/// encoders of messages and lines are primed (primed_encoder) and never write it.
std::string stream_signature(const std::string& wire);

/// An encoder of `wire` that has written its signature already (into a space nobody
/// sees): what it encodes next fits any connection, after that connection's signature.
encoder primed_encoder(const std::string& wire);

/// UTF-8 characters in `text` (bytes that do not continue a sequence).
std::uint64_t count_characters(std::string_view text);

/// The -m messages in wire bytes (each with `eol`; --hex-input: the bytes the digits
/// give), all converted before connecting: one that cannot be sent stops the run
/// before anything goes out (usage_error for bad hex or bytes invalid in the arguments'
/// encoding `args_encoding`, runtime_error for a character the wire encoding lacks).
std::vector<std::string> encode_messages(const config& cfg, const std::string& wire,
                                         const std::string& eol, const std::string& args_encoding);

/// The --file progress bar: "\r[####      ] 40% 1.6/4.0 MiB".
std::string progress_bar(int percent, std::uintmax_t done, std::uintmax_t size);

/// The reader thread: lines of standard input (or --file's bytes), each posted to the
/// loop as soon as it is complete; long lines in bounded pieces.
class input_reader {
 public:
  /// `file`: --file's, opened already (its name is `file_name`); null: standard input.
  /// `datagrams_to`: --udp's destination; each line is then handed over alone, as one
  /// datagram, and a line over its size limit is refused.
  input_reader(std::shared_ptr<shared_state> state, const std::string& wire,
               const std::string& local, const std::string& eol, bool hex,
               std::shared_ptr<input_file> file, std::string file_name, bool datagrams = false,
               endpoint datagrams_to = endpoint());
  /// Reads to the end of the input (or a failure, or the end of the session).
  void run();

 private:
  void read_all();
  void read_file();
  bool take_hex(const line& piece);
  bool take(const line& piece);
  bool refuse(const std::string& message, bool line_end);
  void next_line();
  bool hand_over(std::string& bytes, bool current_line);
  bool flush_ready() { return hand_over(ready_, false); }
  void fail(const std::string& message);
  bool hand_over_datagram(std::string& bytes);
  template <typename Fn>
  void post(Fn fn);

  std::shared_ptr<shared_state> state_;
  const bool hex_;
  const std::shared_ptr<input_file> file_;
  const std::string file_name_;
  std::string hex_line_;  // --hex-input: the digits of the current line
  std::string text_;      // the UTF-8 text of the piece being converted
  std::string ready_;     // wire bytes of complete lines, not handed over yet
  const std::string wire_;
  const std::string local_;
  const std::string eol_;
  input_lines input_;  // standard input (not --file)
  decoder from_local_;
  encoder to_wire_;
  const bool interactive_;
  // The current line: its number, wire bytes not handed over yet, bytes handed over,
  // and the characters and UTF-8 bytes converted so far; where it starts in the
  // decoder's stream.
  std::size_t number_ = 1;
  std::string held_;
  std::uint64_t line_sent_ = 0;
  std::uint64_t line_chars_ = 0;
  std::uint64_t line_bytes_ = 0;
  std::uint64_t stream_pos_ = 0;
  std::uint64_t line_start_ = 0;
  bool refusing_ = false;
  const bool datagrams_;
  const endpoint datagrams_to_;
  const std::size_t datagram_limit_;
};

}  // namespace xsock::tools::client
