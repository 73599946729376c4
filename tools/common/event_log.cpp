#include "event_log.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "console.hpp"
#include "tool_support.hpp"
#include "xsock/error.hpp"

namespace xsock::tools {
namespace {

// How long a log may make no progress before a record is dropped instead of waited
// for, and before the end of the tool stops waiting for it.
constexpr std::chrono::seconds stuck_after{1};

std::atomic<bool> abandoned{false};

}  // namespace

struct event_log::writer {
  std::mutex mutex;
  std::condition_variable work;  // the writer's: something queued, or the end
  std::condition_variable room;  // record's and finish's: progress, or the writer ended
  std::string queue;             // records not written yet
  std::uint64_t progress = 0;    // batches written
  std::uint64_t dropped = 0;     // records dropped since the log last took one
  bool stuck = false;            // records are dropped until the log empties its queue
  bool said_dropped = false;
  bool ending = false;       // no more records: write what is queued and end
  bool ended = false;        // the thread is done (finished, or the log failed)
  bool left_behind = false;  // finish() gave up on it
  bool open_later = false;
  std::ofstream file;
  std::filesystem::path where;
  std::string path;
  std::string program;
  std::thread thread;

  void run() {
    if (open_later) {
      file.open(where, std::ios::out | std::ios::app | std::ios::binary);
      if (!file) return end_with("--log " + path + ": cannot be opened; logging stopped");
    }
    std::string batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        work.wait(lock, [&] { return !queue.empty() || ending; });
        if (queue.empty()) break;
        batch.clear();
        batch.swap(queue);
      }
      file.write(batch.data(), static_cast<std::streamsize>(batch.size()));
      file.flush();
      if (!file)
        return end_with("--log " + path + ": write failed; logging stopped (the tool goes on)");
      {
        std::lock_guard<std::mutex> lock(mutex);
        ++progress;
        if (queue.empty()) stuck = false;
      }
      room.notify_all();
      // A huge batch (a burst of records) does not keep its memory.
      if (batch.capacity() > max_queue) std::string().swap(batch);
    }
    end_with({});
  }

  void end_with(const std::string& message) {
    if (!message.empty()) print_error(program, message);
    file.close();
    {
      std::lock_guard<std::mutex> lock(mutex);
      ended = true;
      std::string().swap(queue);
    }
    room.notify_all();
  }

  // Ends the writer once it has written what is queued; waits while it makes progress.
  // False when it made none for stuck_after: it is left behind.
  bool finish() {
    std::unique_lock<std::mutex> lock(mutex);
    if (left_behind) return false;
    ending = true;
    work.notify_one();
    std::uint64_t seen = progress;
    while (!ended) {
      if (!room.wait_for(lock, stuck_after, [&] { return ended || progress != seen; })) break;
      seen = progress;
    }
    const bool done = ended;
    left_behind = !done;
    lock.unlock();
    if (!thread.joinable()) return done;
    if (done) {
      thread.join();
    } else {
      thread.detach();
      abandoned = true;
    }
    return done;
  }
};

namespace {

std::mutex registry_mutex;
std::vector<std::weak_ptr<event_log::writer>>& registry() {
  static std::vector<std::weak_ptr<event_log::writer>> writers;
  return writers;
}

}  // namespace

event_log::event_log(const std::string& path, std::string_view program)
    : writer_(std::make_shared<writer>()) {
  writer& w = *writer_;
  w.where = std::filesystem::u8path(path);
  w.path = path;
  w.program = std::string(program);
  std::error_code ec;
  // Opening a FIFO for writing waits for a reader: the writer thread does it.
  w.open_later = std::filesystem::status(w.where, ec).type() == std::filesystem::file_type::fifo;
  if (!w.open_later) {
    w.file.open(w.where, std::ios::out | std::ios::app | std::ios::binary);
    if (!w.file) {
      const auto status =
          std::filesystem::status(w.where.parent_path().empty() ? "." : w.where.parent_path(), ec);
      std::string why = "cannot be opened for appending";
      if (ec) {
        why = error_text(ec);
      } else if (!std::filesystem::is_directory(status)) {
        why = "no such directory";
      }
      throw std::runtime_error("--log " + path + ": " + why);
    }
  }
  std::shared_ptr<writer> keep = writer_;
  w.thread = std::thread([keep] { keep->run(); });
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry().push_back(writer_);
}

event_log::~event_log() {
  if (writer_) writer_->finish();
}

void event_log::record(std::string_view event, std::uint64_t id, std::string_view peer,
                       std::string_view bytes, bool with_bytes, std::string_view extra) {
  if (!writer_) return;
  writer& w = *writer_;
  const auto now = std::chrono::system_clock::now();
  line_ = "{\"ts\":\"" + utc_time_text(now) + "\",\"event\":\"";
  line_ += event;
  line_ += '"';
  // Connections are numbered from 1; a datagram socket's events (id 0) have no id.
  if (id != 0) line_ += ",\"id\":" + std::to_string(id);
  line_ += ",\"peer\":";
  append_json_string(line_, peer);
  if (with_bytes) {
    line_ += ",\"bytes\":" + std::to_string(bytes.size()) + ",\"hex\":\"";
    line_ += to_hex(bytes);
    line_ += '"';
  }
  line_ += extra;
  line_ += "}\n";

  std::unique_lock<std::mutex> lock(w.mutex);
  if (w.ended) return;
  const auto fits = [&] { return w.queue.empty() || w.queue.size() + line_.size() <= max_queue; };
  if (!fits() && !w.stuck) {
    // A slow log (a busy disk) is waited for as long as it makes progress.
    std::uint64_t seen = w.progress;
    while (!fits() && !w.ended) {
      if (!w.room.wait_for(lock, stuck_after,
                           [&] { return fits() || w.ended || w.progress != seen; })) {
        w.stuck = true;
        break;
      }
      seen = w.progress;
    }
    if (w.ended) return;
  }
  if (w.stuck && !fits()) {
    ++w.dropped;
    if (w.said_dropped) return;
    w.said_dropped = true;
    lock.unlock();
    print_error(w.program, "--log " + w.path +
                               ": the log takes nothing (a FIFO nobody reads?); records are "
                               "dropped until it does (the tool goes on)");
    return;
  }
  if (w.dropped > 0) {
    w.queue += "{\"ts\":\"" + utc_time_text(now) +
               "\",\"event\":\"dropped\",\"records\":" + std::to_string(w.dropped) + "}\n";
    w.dropped = 0;
  }
  w.queue += line_;
  lock.unlock();
  w.work.notify_one();
}

bool finish_event_logs() {
  std::vector<std::shared_ptr<event_log::writer>> live;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    for (const auto& w : registry())
      if (auto p = w.lock()) live.push_back(std::move(p));
    registry().clear();
  }
  for (const auto& w : live)
    w->finish();
  return !abandoned.load();
}

}  // namespace xsock::tools
