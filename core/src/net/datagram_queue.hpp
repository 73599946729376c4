// Internal: the send queue of one datagram socket on the event loop (see
// datagram_channel.hpp). A bounded FIFO of (peer, bytes): at most `max_count`
// datagrams and `max_bytes` bytes queued, a push past either refused whole.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "xsock/endpoint.hpp"

namespace xsock::detail {

class datagram_queue {
 public:
  // One queued datagram: its bytes stay valid until the next pop() or push().
  struct entry {
    const endpoint* peer;  // nullptr: to the connected peer
    std::string_view bytes;
  };

  datagram_queue(std::size_t max_count, std::size_t max_bytes) noexcept
      : max_count_(max_count), max_bytes_(max_bytes) {}

  // Appends one datagram (`peer` nullptr: the socket's connected peer). Refused
  // (nothing queued, false) with `no_buffer_space` when it would hold more than
  // max_count datagrams or max_bytes bytes, `not_enough_memory` when growing fails.
  bool push(const endpoint* peer, std::string_view bytes, std::error_code& ec) noexcept;

  // The oldest datagram; only when !empty().
  entry front() const noexcept;
  // Drops the oldest datagram; only when !empty().
  void pop() noexcept;
  // Drops everything (and gives a large buffer's memory back).
  void clear() noexcept;

  bool empty() const noexcept { return head_ == records_.size(); }
  // Datagrams queued.
  std::size_t size() const noexcept { return records_.size() - head_; }
  // Bytes queued (the datagrams' payloads; addresses are not counted).
  std::size_t bytes() const noexcept { return queued_bytes_; }

  // The capacity kept once the queue is empty: a steady sender reuses its buffers
  // (nothing is allocated per datagram), an idle socket after a burst holds no more.
  static constexpr std::size_t kept_bytes = 64 * 1024;
  static constexpr std::size_t kept_records = 256;

  // For the white-box test: the capacity held now.
  std::size_t byte_capacity() const noexcept { return data_.capacity(); }
  std::size_t record_capacity() const noexcept { return records_.capacity(); }

 private:
  // Records [head_, end) are queued, oldest first; each one's bytes are
  // data_[offset, offset + size). Both vectors only grow at the back; the consumed
  // front is dropped once it is at least half of them (amortised O(1), no per-datagram
  // allocation), or all at once when the queue empties.
  struct record {
    endpoint peer;
    std::size_t offset = 0;
    std::size_t size = 0;
    bool to_peer = false;  // peer is set (send_to), not the connected peer (send)
  };

  void compact() noexcept;

  std::vector<record> records_;
  std::string data_;
  std::size_t head_ = 0;
  std::size_t queued_bytes_ = 0;
  std::size_t max_count_;
  std::size_t max_bytes_;
};

}  // namespace xsock::detail
