#include "server_console.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "console.hpp"
#include "input_lines.hpp"
#include "tool_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/error.hpp"
#include "xsock/text_error.hpp"

namespace xsock::tools {
namespace {

constexpr std::string_view program = "xsock-server";
// Longest console line: a longer one is refused (nobody types that much, and a pipe
// cannot make the server hold more).
constexpr std::size_t max_console_line = 1024 * 1024;
// Console input posted to the loop and not yet handled, above which the reader stops
// reading (see console_reader::shared::pending).
constexpr std::size_t max_console_pending = 64 * 1024;

void tell(const std::string& message) {
  write_error(std::string(program) + ": " + message + "\n");
}

// Splits "word rest" at the first space.
std::pair<std::string_view, std::string_view> first_word(std::string_view text) {
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return {text, std::string_view()};
  return {text.substr(0, space), text.substr(space + 1)};
}

bool parse_id(std::string_view text, std::uint64_t& id) {
  if (text.empty() || text.size() > 19) return false;
  id = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    id = id * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return id > 0;
}

}  // namespace

std::string server_console_help() {
  return "Lines typed here go to every connected client (in the wire encoding, with the\n"
         "line end of --eol). Commands:\n"
         "  /list              the clients: id, address, bytes received and sent, since when\n"
         "  /to ID TEXT        TEXT to client ID only\n"
         "  /hex ID|all HEX    raw bytes (hex digits, spaces allowed) to one client or all\n"
         "  /kick ID           disconnect client ID (queued output gets 1 s)\n"
         "  /help              this text\n"
         "  //TEXT             send /TEXT (a line starting with /)\n";
}

server_console::server_console(const std::string& wire, std::string eol, hooks h)
    : wire_(wire),
      eol_(std::move(eol)),
      to_wire_(wire, encode_policy::strict),
      hooks_(std::move(h)) {
  // A stream's first message differs from a later one exactly when the encoding starts
  // a stream with something.
  encoder probe(wire, encode_policy::replace);
  const std::string first = probe.encode("a");
  stream_start_ = first != probe.encode("a");
}

void server_console::execute(std::string_view line, std::uint64_t number) {
  if (line.empty() || line[0] != '/') return send_text("all", line, number);
  if (line.size() >= 2 && line[1] == '/') return send_text("all", line.substr(1), number);
  const auto [command, rest] = first_word(line);
  if (command == "/help") {
    write_error(server_console_help());
  } else if (command == "/list") {
    list();
  } else if (command == "/to") {
    const auto [target, text] = first_word(rest);
    std::uint64_t id = 0;
    if (!parse_id(target, id)) return tell("usage: /to ID TEXT (ids: /list)");
    send_text(target, text, number);
  } else if (command == "/hex") {
    const auto [target, digits] = first_word(rest);
    std::string bytes;
    std::string error;
    if (target.empty()) return tell("usage: /hex ID|all HEX");
    if (!parse_hex(digits, bytes, error)) return tell("/hex: " + error + "; nothing sent");
    if (bytes.empty()) return tell("/hex: no bytes given; nothing sent");
    send_bytes(target, bytes, bytes, true);
  } else if (command == "/kick") {
    std::uint64_t id = 0;
    if (!parse_id(rest, id)) return tell("usage: /kick ID (ids: /list)");
    if (!hooks_.kick(id)) tell("no client " + std::string(rest) + " (see /list)");
  } else {
    tell("unknown command " + std::string(command) +
         " (see /help; // sends a line starting with /)");
  }
}

void server_console::send_text(std::string_view target, std::string_view text,
                               std::uint64_t number) {
  const std::string typed = std::string(text) + eol_;
  std::string wire;  // a stream's first message, or any message when !stream_start_
  try {
    wire = stream_start_ ? encoder(wire_, encode_policy::strict).encode(typed)
                         : to_wire_.encode(typed);
  } catch (const text_error& e) {
    std::string message = "line " + std::to_string(number) + " not sent: " + e.what();
    if (e.code() == text_errc::unmappable_character && wire_ != "GB18030" &&
        wire_.rfind("UTF-", 0) != 0)
      message += "; --encoding GB18030 (or UTF-8) can encode every character";
    return tell(message);
  }
  if (!stream_start_) return send_bytes(target, wire, text, false);
  std::vector<std::uint64_t> ids;
  if (!targets(target, ids)) return;
  std::string later;  // the same message in a stream that has started
  for (const std::uint64_t id : ids) {
    const bool started = started_.count(id) != 0;
    if (started && later.empty()) {
      if (!primed_) to_wire_.encode(typed);  // encodable: `wire` was
      primed_ = true;
      later = to_wire_.encode(typed);
    }
    std::string error;
    if (!hooks_.send(id, started ? later : wire, text, false, error)) {
      tell("client " + std::to_string(id) + ": not sent: " + error);
      continue;
    }
    started_.insert(id);
  }
}

bool server_console::targets(std::string_view target, std::vector<std::uint64_t>& ids) {
  const std::vector<console_client> now = hooks_.clients();
  if (started_.size() > now.size()) {
    // Connections that are gone leave the set (ids are never reused).
    std::unordered_set<std::uint64_t> kept;
    for (const console_client& c : now)
      if (started_.count(c.id) != 0) kept.insert(c.id);
    started_.swap(kept);
  }
  if (target == "all") {
    for (const console_client& c : now)
      ids.push_back(c.id);
    if (ids.empty()) tell("no client is connected; nothing sent");
    return !ids.empty();
  }
  std::uint64_t id = 0;
  if (parse_id(target, id)) {
    for (const console_client& c : now) {
      if (c.id != id) continue;
      ids.push_back(id);
      return true;
    }
  }
  tell("no client " + std::string(target) + " (see /list); nothing sent");
  return false;
}

void server_console::send_bytes(std::string_view target, const std::string& wire,
                                std::string_view shown, bool hex) {
  std::vector<std::uint64_t> ids;
  if (!targets(target, ids)) return;
  for (const std::uint64_t id : ids) {
    std::string error;
    if (!hooks_.send(id, wire, shown, hex, error))
      tell("client " + std::to_string(id) + ": not sent: " + error);
  }
}

void server_console::list() {
  const std::vector<console_client> now = hooks_.clients();
  if (now.empty()) {
    write_error("no client is connected\n");
    return;
  }
  const auto wall = std::chrono::system_clock::now();
  std::string out;
  for (const console_client& c : now) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wall - c.since).count();
    out += std::to_string(c.id) + "  " + c.peer + "  received " + std::to_string(c.received) +
           " bytes, sent " + std::to_string(c.sent) + " bytes, connected since " +
           local_time_text(c.since).substr(0, 8) + " (" +
           std::to_string(std::max<long long>(seconds, 0)) + " s)\n";
  }
  write_error(out);
}

// ---- console_reader -------------------------------------------------------------

struct console_reader::shared {
  // A line to handle, or a notice about a refused one: both go through the loop, so
  // what the server says about line N comes after what it did with line N-1.
  struct entry {
    std::string text;
    std::uint64_t number;  // 0: `text` is a notice
  };

  std::mutex mutex;
  std::condition_variable room;  // `pending` went down, or the reader is stopped
  event_loop* loop = nullptr;    // null once stopped: nothing more is posted
  line_handler on_line;
  // Bytes of lines posted and not yet handled on the loop thread. The reader waits
  // while this is above max_console_pending, so standard input (a pipe of any size)
  // never makes the server hold more than that, and one loop turn never handles more.
  std::size_t pending = 0;
  std::atomic<bool> done{false};
  std::thread thread;

  // Waits for room (a batch larger than the bound goes alone), then posts the batch
  // and empties it. False once stopped.
  bool post(std::vector<entry>& batch, std::size_t size) {
    if (batch.empty()) return true;
    std::unique_lock<std::mutex> lock(mutex);
    room.wait(lock, [&] {
      return loop == nullptr || pending == 0 || pending + size <= max_console_pending;
    });
    if (loop == nullptr) return false;
    pending += size;
    shared* self = this;
    loop->post([self, lines = std::move(batch), size](event_loop&) {
      // Handed back even when the handler throws: the reader must not wait for good.
      struct release {
        shared* owner;
        std::size_t size;
        ~release() {
          {
            std::lock_guard<std::mutex> guard(owner->mutex);
            owner->pending -= size;
          }
          owner->room.notify_one();
        }
      } give_back{self, size};
      for (const entry& e : lines) {
        if (e.number == 0)
          tell(e.text);
        else
          self->on_line(e.text, e.number);
      }
    });
    batch.clear();
    return true;
  }

  void read() {
    const std::string local = local_encoding();
    input_lines input(max_console_line, local);
    decoder from_local(local, decode_policy::strict);
    std::vector<line> pieces;
    // The complete lines of one read go to the loop together: one hand-over per read,
    // not one per line (a pipe of short lines), and none waits for more input.
    std::vector<entry> batch;
    std::size_t batch_size = 0;
    const auto flush = [&] {
      const std::size_t size = batch_size;
      batch_size = 0;
      return post(batch, size);
    };
    const auto add = [&](std::string text, std::uint64_t number) {
      batch_size += text.size() + 1;  // an empty line counts too
      batch.push_back({std::move(text), number});
      return batch_size < max_console_pending || flush();
    };
    std::uint64_t number = 1;
    bool too_long = false;  // the current line went past max_console_line
    for (;;) {
      std::error_code ec;
      const bool more = input.next(pieces, ec);
      // A standard input that cannot be read (closed, /dev/null opened for writing)
      // is a server without a console, not an error.
      if (ec) return;
      for (const line& piece : pieces) {
        if (piece.partial()) {
          too_long = true;
          continue;
        }
        const std::uint64_t this_line = number++;
        if (too_long) {
          too_long = false;
          if (!add("line " + std::to_string(this_line) + " is longer than " +
                       std::to_string(max_console_line) + " bytes; not sent",
                   0))
            return;
          continue;
        }
        std::string text;
        from_local.decode(piece.bytes, text, ec);
        if (!ec) from_local.finish(text, ec);
        const bool invalid = static_cast<bool>(ec);
        if (invalid)
          text = "invalid " + local + " in input line " + std::to_string(this_line) + " at byte " +
                 std::to_string(from_local.last_error().offset + 1) + "; the line was not sent";
        // Each line is decoded on its own: offsets count from its start.
        from_local = decoder(local, decode_policy::strict);
        if (!add(std::move(text), invalid ? 0 : this_line)) return;
      }
      if (!flush()) return;
      if (!more) return;
    }
  }
};

console_reader::console_reader(event_loop& loop, line_handler on_line)
    : shared_(std::make_shared<shared>()) {
  shared_->loop = &loop;
  shared_->on_line = std::move(on_line);
  std::shared_ptr<shared> keep = shared_;
  shared_->thread = std::thread([keep] {
    try {
      keep->read();
    } catch (const std::exception& e) {
      tell(std::string("standard input: ") + e.what());
    }
    keep->done = true;
  });
}

console_reader::~console_reader() {
  stop();
}

void console_reader::stop() {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->loop = nullptr;
  }
  shared_->room.notify_all();  // a reader waiting for room returns
  if (!shared_->thread.joinable()) return;
  if (shared_->done) {
    shared_->thread.join();
  } else {
    // Blocked in read(): a terminal or a pipe kept open cannot be woken portably.
    shared_->thread.detach();
    abandoned_ = true;
  }
}

}  // namespace xsock::tools
