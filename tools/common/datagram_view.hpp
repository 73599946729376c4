// The tools' UDP mode: how a datagram is shown (decoded on its own, as text or JSON),
// the server's list of recent peers, the size limit of a datagram.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stream_lines.hpp"
#include "xsock/decoder.hpp"
#include "xsock/endpoint.hpp"

namespace xsock::tools {

/// The largest datagram that can be sent to `to`: 65,507 bytes over IPv4 (an
/// IPv4-mapped address included), 65,527 over IPv6.
std::size_t datagram_limit(const endpoint& to) noexcept;

/// "datagram of 70000 bytes is over the limit of 65507 (IPv4)": the message of a
/// datagram refused for its size (built only when one is).
std::string oversize_message(std::size_t size, const endpoint& to);

/// How datagram events are shown (xsock-server --udp, xsock-client --udp replies).
struct datagram_format {
  bool json = false;          ///< JSON objects (else text lines)
  bool hex = false;           ///< the bytes as hex, not decoded
  bool raw = false;           ///< control characters unescaped (text only)
  bool timestamps = false;    ///< local time (text) or "ts" (JSON) first
  framing how = framing::lf;  ///< which line end at a datagram's end is dropped
};

/// Decodes datagrams, each on its own: a datagram is a message, so a character cut at
/// its end is never completed by the next datagram (which may come from another peer).
class datagram_decoder {
 public:
  /// Throws `xsock::text_error` for an unknown encoding.
  explicit datagram_decoder(const std::string& encoding);
  /// Appends the UTF-8 text of `bytes` to `out` (invalid sequences as U+FFFD, counted
  /// in `invalid`) and returns the bytes at its end that start a character the
  /// datagram cut (not decoded: shown as escapes). One line end at the end of the text
  /// (as `how` names it) is dropped.
  std::string_view decode(std::string_view bytes, framing how, std::string& out,
                          std::uint64_t& invalid);

 private:
  decoder decoder_;
};

/// Formats one datagram event, UTF-8, a line with its `\n`: in text `[peer] text`
/// (`peer` empty: the text alone, as the client shows replies), the bytes of a cut
/// character as `\xc4` escapes, ` (truncated)` when the datagram was cut; in JSON
/// `{"event":"data","peer":"...","text":"...","invalid":0,"bytes":N}` with
/// `"incomplete":"c4"` and `"truncated":true` when they apply (`"hex"` instead of
/// `"text"` and `"invalid"` with `hex`).
void format_datagram(const datagram_format& format, datagram_decoder& decoder,
                     std::string_view peer, std::string_view bytes, bool truncated,
                     std::chrono::system_clock::time_point now, std::string& out);

/// The peers a UDP server heard from lately (the console's `/list` and its last
/// sender): at most `capacity`, the one heard from longest ago forgotten first.
class peer_list {
 public:
  /// One peer: its address, datagrams and bytes received from it, when it was last
  /// heard from.
  struct entry {
    endpoint peer;
    std::uint64_t datagrams = 0;
    std::uint64_t bytes = 0;
    std::chrono::system_clock::time_point last;
  };

  explicit peer_list(std::size_t capacity = 64) : capacity_(capacity) {}
  /// Counts a datagram of `size` bytes from `peer`, heard at `when`.
  void seen(const endpoint& peer, std::size_t size, std::chrono::system_clock::time_point when);
  /// The peers, most recent first.
  const std::vector<entry>& recent() const noexcept { return entries_; }
  /// The last sender; false when none was heard from yet.
  bool last(endpoint& peer) const;
  /// `/list`'s text, a line a peer, most recent first: `127.0.0.1:5000  3 datagrams,
  /// 12 bytes, last at 14:03:07 (2 s ago)`; "no datagram received yet" when empty.
  std::string text(std::chrono::system_clock::time_point now) const;

 private:
  std::size_t capacity_;
  std::vector<entry> entries_;
};

}  // namespace xsock::tools
