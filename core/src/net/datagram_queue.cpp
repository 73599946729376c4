#include "net/datagram_queue.hpp"

#include <new>

#include "backend.hpp"

namespace xsock::detail {

bool datagram_queue::push(const endpoint* peer, std::string_view bytes,
                          std::error_code& ec) noexcept {
  if (size() >= max_count_ || bytes.size() > max_bytes_ ||
      queued_bytes_ > max_bytes_ - bytes.size()) {
    ec = make_error(std::errc::no_buffer_space);
    return false;
  }
  if (head_ > 0 && head_ * 2 >= records_.size()) compact();
  try {
    record r;
    if (peer != nullptr) {
      r.peer = *peer;
      r.to_peer = true;
    }
    r.offset = data_.size();
    r.size = bytes.size();
    records_.push_back(r);
    try {
      data_.append(bytes.data(), bytes.size());
    } catch (...) {
      records_.pop_back();
      throw;
    }
  } catch (const std::bad_alloc&) {
    ec = make_error(std::errc::not_enough_memory);
    return false;
  }
  queued_bytes_ += bytes.size();
  return true;
}

datagram_queue::entry datagram_queue::front() const noexcept {
  const record& r = records_[head_];
  return entry{r.to_peer ? &r.peer : nullptr, std::string_view(data_.data() + r.offset, r.size)};
}

void datagram_queue::pop() noexcept {
  queued_bytes_ -= records_[head_].size;
  ++head_;
  if (empty()) clear();
}

void datagram_queue::clear() noexcept {
  records_.clear();
  data_.clear();
  head_ = 0;
  queued_bytes_ = 0;
  if (data_.capacity() > kept_bytes) std::string().swap(data_);
  if (records_.capacity() > kept_records) std::vector<record>().swap(records_);
}

// Drops the consumed front of both buffers (moves what is still queued to the start).
void datagram_queue::compact() noexcept {
  const std::size_t first = records_[head_].offset;
  records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(head_));
  for (record& r : records_)
    r.offset -= first;
  data_.erase(0, first);
  head_ = 0;
}

}  // namespace xsock::detail
