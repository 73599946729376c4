// xsock-client: the tutorial's TCP client on xsock::event_loop. Sends each -m message,
// or each line of standard input as it is read, in the wire encoding, and prints what
// comes back as it arrives. One loop thread owns the connection; a reader thread reads
// standard input (a terminal, a pipe, a Windows console: console.hpp's read_input),
// converts each line and posts its wire bytes to the loop. At the end of input the
// client half-closes and prints replies until the server closes (at most --wait). When
// the server closes first, the loop notices at once, whatever the reader is doing.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "console.hpp"
#include "event_log.hpp"
#include "input_file.hpp"
#include "stream_lines.hpp"
#include "tool_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"
#include "xsock/encodings.hpp"
#include "xsock/error.hpp"
#include "xsock/event_loop.hpp"
#include "xsock/line_splitter.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock::tools {
namespace {

constexpr std::string_view program = "xsock-client";
// Longest piece of an input line decoded and encoded at once.
constexpr std::size_t max_input_piece = 1024 * 1024;
// A line is encoded completely before any of it is sent, up to this many wire bytes: a
// character that cannot be encoded stops it with nothing of it sent. A longer line goes
// out in pieces of about this size, so memory stays bounded whatever the input.
constexpr std::size_t max_held_line = 4 * 1024 * 1024;
// Wire bytes handed to the loop and not sent yet, above which the reader waits: input
// is read no faster than the server takes it (memory stays bounded).
constexpr std::size_t max_in_flight = 64 * 1024;
// Exit status after Ctrl+C (SIGINT/SIGTERM), what a shell reports for SIGINT.
constexpr int exit_interrupted = 130;
// Files at least this large show a progress bar (when stderr is a terminal).
constexpr std::uintmax_t progress_from = 4 * 1024 * 1024;
// --reconnect: the shortest delay (a server that accepts and closes at once is not
// flooded with connections), and the longest the doubling goes to unless SEC is longer.
constexpr std::int64_t min_reconnect_ms = 50;
constexpr std::int64_t max_backoff_ms = 8000;

struct config {
  std::string host;
  int port = -1;
  std::vector<std::string> messages;
  std::string encoding{default_encoding};
  std::string eol = "lf";
  std::int64_t timeout_ms = 10000;  // whole ms, saturated (decimal_duration)
  std::int64_t wait_ms = 2000;
  bool hex = false;
  bool hex_input = false;    // -m and input lines are hex digits
  std::string file;          // --file: its bytes, unchanged
  std::uint64_t repeat = 1;  // rounds of -m messages (0: until Ctrl+C)
  std::int64_t interval_ms = 1000;
  std::int64_t reconnect_ms = -1;  // -1: no --reconnect
  std::string backoff = "double";  // --backoff: double, or none (always reconnect_ms)
  view_options view;
  framing how = framing::lf;  // from view
  std::string local_encoding;
  bool list_encodings = false;
};

// Turns an unmappable-character error into the one-line message the contract asks
// for: the character, where it is in the line, and an encoding that has it.
// `chars_before`/`bytes_before`: the characters and UTF-8 bytes of the line that came
// before the text `e` is about; `sent`: wire bytes of the line already sent.
std::string encoding_failure(const text_error& e, const std::string& wire,
                             std::size_t message_number, std::uint64_t chars_before = 0,
                             std::uint64_t bytes_before = 0, std::uint64_t sent = 0) {
  std::string what = e.what();
  const std::size_t at = what.find(" at character ");
  const std::size_t after = what.find(')', at == std::string::npos ? what.size() : at);
  if (e.code() == text_errc::unmappable_character && after != std::string::npos) {
    what = what.substr(0, at) + " at character " +
           std::to_string(chars_before + e.character_number()) + " (byte offset " +
           std::to_string(bytes_before + e.offset()) + what.substr(after);
  }
  std::string text = "message " + std::to_string(message_number);
  text += sent == 0
              ? " not sent: "
              : " only partly sent (its first " + std::to_string(sent) + " bytes had gone out): ";
  text += what;
  if (e.code() == text_errc::unmappable_character && wire != "GB18030" &&
      wire.rfind("UTF-", 0) != 0)
    text += "; --encoding GB18030 (or UTF-8) can encode every character";
  return text;
}

// Prints what the server sends, decoded (or as hex), in the local encoding, control
// characters escaped. Runs on the loop thread.
class reply_printer {
 public:
  reply_printer(const config& cfg, const std::string& wire, const std::string& local)
      : hex_(cfg.hex),
        packets_(cfg.how == framing::packets),
        timestamps_(cfg.view.timestamps),
        lines_(wire, max_input_piece, cfg.hex, cfg.how) {
    std::error_code ec;
    if (canonical_encoding_name(local, ec) != "UTF-8" && !ec)
      to_local_ = std::make_unique<encoder>(local, encode_policy::replace);
  }

  bool print(std::string_view bytes, std::error_code& ec) {
    if (hex_) return emit(to_hex(bytes) + "\n", ec);
    std::vector<line> pieces;
    lines_.push(bytes, pieces);
    // Shown at once even without a newline: a prompt from the server is visible.
    if (!packets_)
      if (auto rest = lines_.flush()) pieces.push_back(std::move(*rest));
    return emit(format(pieces), ec);
  }

  bool at_line_start() const { return hex_ || at_line_start_; }

  bool finish(std::error_code& ec) {
    if (hex_) return true;
    std::vector<line> pieces;
    lines_.finish(pieces);
    std::string out = format(pieces);
    std::uint64_t invalid = 0;
    out += escape_for_terminal(lines_.rest(invalid));
    // End on a fresh line, so what follows (a shell prompt) does not join the reply.
    if (out.empty() ? !at_line_start_ : out.back() != '\n') out += '\n';
    return emit(out, ec);
  }

 private:
  std::string format(const std::vector<line>& pieces) {
    std::string out;
    for (const line& piece : pieces) {
      std::uint64_t invalid = 0;
      const std::string text = lines_.text(piece, invalid);
      // --packets: a read that starts a character shows those bytes at once (`\xc4`);
      // the character comes whole with the read that completes it. A read that shows
      // nothing at all (a shift sequence) is no line of output.
      const std::string_view cut = packets_ ? lines_.incomplete_tail(piece.bytes) : "";
      if (packets_ && text.empty() && invalid == 0 && cut.empty()) continue;
      out += escape_for_terminal(text);
      append_byte_escapes(cut, out);
      if (!piece.partial() || packets_) out += '\n';
    }
    return out;
  }

  bool emit(const std::string& text, std::error_code& ec) {
    if (text.empty()) return true;
    const std::string utf8 = timestamps_ ? stamped(text) : text;
    at_line_start_ = utf8.back() == '\n';
    if (!to_local_) return write_output(utf8, ec);
    std::string local;
    to_local_->encode(utf8, local, ec);
    if (ec) local = utf8;
    return write_output(local, ec);
  }

  // --timestamps: the local time at the start of every line of output.
  std::string stamped(const std::string& text) const {
    const std::string now = local_time_text(std::chrono::system_clock::now()) + ' ';
    std::string out;
    bool start = at_line_start_;
    for (const char c : text) {
      if (start) out += now;
      out += c;
      start = c == '\n';
    }
    return out;
  }

  bool hex_;
  bool packets_;
  bool timestamps_;
  stream_lines lines_;
  std::unique_ptr<encoder> to_local_;
  bool at_line_start_ = true;
};

// What a fresh encoder of `wire` writes before its first text: the byte order mark of
// UTF-16/UTF-32, ISO-2022-KR's designator `ESC $ ) C`; empty for most encodings. Each
// connection is a stream of its own and starts with it (session::queue), so the
// encoders of messages and lines are primed (primed_encoder) and never write it.
std::string stream_signature(const std::string& wire) {
  encoder fresh(wire, encode_policy::strict);
  std::error_code ec;
  const std::string first = fresh.encode(" ", ec);
  const std::string again = ec ? std::string() : fresh.encode(" ", ec);
  if (ec || again.empty() || first.size() <= again.size() ||
      first.compare(first.size() - again.size(), again.size(), again) != 0)
    return std::string();
  return first.substr(0, first.size() - again.size());
}

// An encoder of `wire` that has written its signature already (into a space nobody
// sees): what it encodes next fits any connection, after that connection's signature.
encoder primed_encoder(const std::string& wire) {
  encoder e(wire, encode_policy::strict);
  std::error_code ec;
  e.encode(" ", ec);
  return e;
}

// UTF-8 characters in `text` (bytes that do not continue a sequence).
std::uint64_t count_characters(std::string_view text) {
  std::uint64_t n = 0;
  for (const char c : text)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Flow control between the reader thread and the loop: the wire bytes handed over so far
// and the bytes of them the loop has sent.
class flow_control {
 public:
  // Reader: waits until fewer than max_in_flight bytes are in flight, then counts `n`
  // more. False once the loop is finishing: nothing more is wanted.
  bool reserve(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return closed_ || handed_ < drained_ + max_in_flight; });
    if (closed_) return false;
    handed_ += n;
    return true;
  }
  // Loop: `total` bytes of all handed over have left the client.
  void drained(std::uint64_t total) {
    std::lock_guard<std::mutex> lock(mutex_);
    drained_ = total;
    cv_.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t handed_ = 0;
  std::uint64_t drained_ = 0;
  bool closed_ = false;
};

// A person is typing the input: standard input is a terminal and is what is sent.
bool typing(const config& cfg) {
  return cfg.messages.empty() && cfg.file.empty() && input_is_terminal();
}

// The "> " prompt of a person typing (standard error on a terminal). The reader shows
// it when it waits for the next line; whatever else is printed meanwhile (replies on
// the same terminal, notices) moves it out of the way: its line is blanked, the output
// written, the prompt shown again below. Text typed but not entered is still in the
// terminal's line buffer and is sent on Enter. Used by the loop and the reader thread.
class prompt {
 public:
  // `replies_on_screen`: standard output is that terminal too.
  void enable(bool replies_on_screen) {
    enabled_ = true;
    replies_on_screen_ = replies_on_screen;
  }

  // Reader: ready for the next line.
  void show() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!enabled_ || shown_) return;
    write_error("> ");
    shown_ = true;
  }
  // Reader: Enter was pressed; the cursor is on a fresh line.
  void entered() {
    std::lock_guard<std::mutex> lock(mutex_);
    shown_ = false;
  }
  // "xsock-client: TEXT" on its own line.
  void notice(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shown_) erase_error_line();
    write_error(std::string(program) + ": " + text + "\n");
    if (shown_) write_error("> ");
  }
  // Loop: `print()` writes replies; the prompt comes back below them when
  // `prompt_again()` (not after a line the server left open: its own prompt stands
  // there).
  template <typename Print, typename Again>
  bool reply(Print&& print, Again&& prompt_again) {
    if (!replies_on_screen_) return print();
    std::lock_guard<std::mutex> lock(mutex_);
    if (shown_) erase_error_line();
    shown_ = false;
    const bool ok = print();
    if (enabled_ && prompt_again()) {
      write_error("> ");
      shown_ = true;
    }
    return ok;
  }
  // The session is over: the prompt goes and does not come back.
  void retire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shown_) erase_error_line();
    shown_ = false;
    enabled_ = false;
  }

 private:
  std::mutex mutex_;
  bool enabled_ = false;
  bool replies_on_screen_ = false;
  bool shown_ = false;
};

// The connection's side of the client: everything here runs on the loop thread.
class session {
 public:
  // `signature`: what every connection's stream starts with (see stream_signature).
  session(const config& cfg, const std::string& wire, const std::string& local,
          std::vector<std::string> messages, std::string signature, flow_control& flow,
          prompt& shown)
      : cfg_(cfg),
        target_(cfg.host + ":" + std::to_string(cfg.port)),
        wire_(wire),
        local_(local),
        signature_(std::move(signature)),
        printer_(cfg, wire, local),
        messages_(std::move(messages)),
        flow_(flow),
        prompt_(shown),
        interactive_(typing(cfg)),
        backoff_ms_(cfg.reconnect_ms),
        log_(cfg.view.log.empty() ? event_log() : event_log(cfg.view.log, program)) {}

  event_loop::callbacks callbacks() {
    event_loop::callbacks cb;
    cb.on_data = [this](event_loop& loop, event_loop::id_type, std::string_view bytes) {
      log_.record("received", connections_, peer_, bytes, true);
      std::error_code ec;
      if (!prompt_.reply([&] { return printer_.print(bytes, ec); },
                         [&] { return printer_.at_line_start(); }))
        end(loop, exit_failure, "write to standard output: " + error_text(ec), close_mode::abort);
    };
    cb.on_close = [this](event_loop& loop, event_loop::id_type, close_reason why,
                         const std::error_code& ec) { closed(loop, why, ec); };
    cb.on_timer = [this](event_loop& loop, event_loop::id_type) {
      if (finished_) return;
      end(loop, exit_failure,
          "send to " + target_ + ": timed out (the server took no data for the --timeout period)",
          close_mode::abort);
    };
    cb.on_turn = [this](event_loop& loop) { turn_ended(loop); };
    return cb;
  }

  // Connects on the loop: Happy Eyeballs over every address of HOST within --timeout
  // (names resolved off the loop thread), while the loop goes on reading input and
  // answering Ctrl+C; a failure names the host and every address tried.
  void connect(event_loop& loop) {
    id_ = loop.connect(unbracketed_host(cfg_.host), static_cast<std::uint16_t>(cfg_.port),
                       std::chrono::milliseconds(cfg_.timeout_ms),
                       [this](event_loop& l, event_loop::id_type, const connect_result& r) {
                         connect_done(l, r);
                       });
  }

 private:
  void connect_done(event_loop& loop, const connect_result& result) {
    // Cancelled by Ctrl+C (stop) or by the end of the run: nothing to say.
    if (finished_ || loop.stopping()) return;
    if (result.error) {
      if (cfg_.reconnect_ms < 0) return end(loop, exit_failure, result.message, close_mode::abort);
      return retry(loop, result.message);
    }
    backoff_ms_ = cfg_.reconnect_ms;
    open_ = true;
    signed_ = false;  // a new stream: it starts with the signature again
    ++connections_;
    peer_ = loop.peer(id_).to_string();
    log_.record("connect", connections_, peer_);
    half_closed_ = false;
    timer_armed_ = false;
    if (interactive_) say("connected to " + loop.peer(id_).to_string());
    if (!pending_.empty()) {
      std::string bytes;
      bytes.swap(pending_);
      queue(loop, bytes);  // counted in handed_ already
    }
    if (!messages_.empty() && !round_scheduled_ && !input_ended_) round(loop);
    if (!deferred_failure_.empty())
      end(loop, exit_failure, deferred_failure_, close_mode::graceful);
  }

 public:
  // Queues wire bytes (a message, a line or a piece of one); kept until connected.
  void send(event_loop& loop, std::string_view bytes) {
    if (finished_) return;
    handed_ += bytes.size();
    if (!open_) {
      pending_.append(bytes.data(), bytes.size());
      return;
    }
    queue(loop, bytes);
  }

 private:
  void queue(event_loop& loop, std::string_view bytes) {
    // Each connection is a stream of its own, as from a fresh encoder: its first bytes
    // are the signature (a byte order mark, ISO-2022-KR's designator).
    std::string with_signature;
    if (!signed_ && !signature_.empty() && !bytes.empty()) {
      signed_ = true;
      signature_sent_by_ = loop.stats().bytes_sent + loop.output_size(id_) + signature_.size();
      with_signature = signature_;
      with_signature.append(bytes.data(), bytes.size());
      bytes = with_signature;
    }
    log_.record("sent", connections_, peer_, bytes, true);
    std::error_code ec;
    if (!loop.send(id_, bytes, ec))
      end(loop, exit_failure, "send to " + target_ + ": " + error_text(ec), close_mode::abort);
  }

 public:
  // No more input: once what is queued has gone out, half-close.
  void input_ended() { input_ended_ = true; }

  // A failure found while reading or converting the input: what was sent before it is
  // still delivered, then the client ends with exit 1.
  void input_failed(event_loop& loop, const std::string& message) {
    // Not connected yet: the lines before the failure go out first, once connected.
    if (!open_ && !pending_.empty() && cfg_.reconnect_ms < 0) {
      deferred_failure_ = message;
      return;
    }
    end(loop, exit_failure, message, close_mode::graceful);
  }

  // Ends the run (once): `message` on stderr unless empty. `graceful`: what is queued
  // is sent first.
  void end(event_loop& loop, int code, std::string message, close_mode how) {
    if (finished_) return;
    finished_ = true;
    exit_code_ = code;
    message_ = std::move(message);
    flow_.close();
    finish_printing();
    if (open_ && how == close_mode::graceful) {
      // on_close (local) stops the loop once the queue is sent; a server that takes
      // nothing more has --timeout for it, as any send.
      loop.close(id_, how);
      loop.after(std::chrono::milliseconds(cfg_.timeout_ms), [](event_loop& l) { l.stop(); });
    } else {
      if (open_) loop.close(id_, close_mode::abort);
      loop.stop();
    }
  }

  // After run(): the exit status and the message for stderr.
  int exit_code(const event_loop& loop) const {
    return finished_ ? exit_code_ : loop.stopping() ? exit_interrupted : exit_failure;
  }
  const std::string& message() const { return message_; }

 private:
  void say(const std::string& text) { prompt_.notice(text); }

  // Sends the -m messages once more (--repeat, --interval): one round now, the next
  // after the interval; a queue still full of the last round delays the next one.
  void round(event_loop& loop) {
    round_scheduled_ = false;
    if (finished_ || input_ended_) return;
    if (!open_ || loop.output_size(id_) > max_in_flight) {
      round_due_ = true;  // resumed by connect_done / turn_ended
      return;
    }
    round_due_ = false;
    for (const std::string& bytes : messages_)
      send(loop, bytes);
    ++rounds_;
    if (cfg_.repeat != 0 && rounds_ >= cfg_.repeat) {
      input_ended_ = true;
      return;
    }
    round_scheduled_ = true;
    loop.after(std::chrono::milliseconds(cfg_.interval_ms), [this](event_loop& l) { round(l); });
  }

  // --reconnect: the next connect after the backoff (--backoff double: doubled after
  // each failure, at most 8 s or the given one if larger, back to the given one after a
  // success; --backoff none: always the given one).
  void retry(event_loop& loop, const std::string& why) {
    const std::int64_t delay = backoff_ms_;
    const std::int64_t cap = std::max<std::int64_t>(max_backoff_ms, cfg_.reconnect_ms);
    if (cfg_.backoff == "double")
      backoff_ms_ = std::min<std::int64_t>(cap, std::max<std::int64_t>(1, backoff_ms_) * 2);
    say(why + "; connecting again in " + seconds_text(delay) + " s");
    loop.after(std::chrono::milliseconds(delay), [this](event_loop& l) {
      if (!finished_) connect(l);
    });
  }

  static std::string seconds_text(std::int64_t ms) {
    std::string text = std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
      std::string frac = std::to_string(1000 + ms % 1000).substr(1);
      while (frac.back() == '0')
        frac.pop_back();
      text += "." + frac;
    }
    return text;
  }

  void closed(event_loop& loop, close_reason why, const std::error_code& ec) {
    open_ = false;
    log_.record("disconnect", connections_, peer_, {}, false,
                std::string(",\"reason\":\"") + to_string(why) + "\"");
    // Queued output died with the connection: the reader may go on.
    drained_ = handed_ - pending_.size();
    flow_.drained(drained_);
    if (finished_) {  // the close this client asked for
      loop.stop();
      return;
    }
    if (why == close_reason::shutdown) {  // Ctrl+C: stop() closes the connection
      flow_.close();
      finish_printing();
      return;
    }
    // The normal end: all input sent, then the server closed.
    const bool all_sent = input_ended_ && half_closed_;
    if (cfg_.reconnect_ms >= 0 && !all_sent) {
      if (!new_reply_stream(loop)) return;
      const std::string what =
          why == close_reason::closed
              ? "server closed the connection"
              : "connection to " + target_ + " lost: " +
                    error_text(ec ? ec : std::make_error_code(std::errc::connection_reset));
      return retry(loop, what);
    }
    if (why == close_reason::closed) {
      // Said only to a person typing: a script reads the exit status.
      const bool say_it = interactive_ && !input_ended_;
      end(loop, exit_ok, say_it ? "server closed the connection" : "", close_mode::abort);
      return;
    }
    const std::error_code shown = ec ? ec : std::make_error_code(std::errc::connection_reset);
    end(loop, exit_failure, "receive from " + target_ + ": " + error_text(shown),
        close_mode::abort);
  }

  // The next connection's replies are a stream of their own (a decoder without the
  // last one's state): what is left of this one's is shown first, ending its line.
  bool new_reply_stream(event_loop& loop) {
    std::error_code ec;
    if (!prompt_.reply([&] { return printer_.finish(ec); },
                       [&] { return printer_.at_line_start(); })) {
      end(loop, exit_failure, "write to standard output: " + error_text(ec), close_mode::abort);
      return false;
    }
    printer_ = reply_printer(cfg_, wire_, local_);
    return true;
  }

  // Bytes of the input queued on the connection and not sent yet (the queue less what
  // is left of the signature at its front).
  std::size_t queued_input(const event_loop& loop) const {
    const std::size_t queued = loop.output_size(id_);
    const std::uint64_t sent = loop.stats().bytes_sent;
    const std::uint64_t signature_left =
        signed_ && signature_sent_by_ > sent
            ? std::min<std::uint64_t>(signature_sent_by_ - sent, signature_.size())
            : 0;
    return queued - static_cast<std::size_t>(std::min<std::uint64_t>(queued, signature_left));
  }

  void turn_ended(event_loop& loop) {
    if (!open_ || finished_) return;
    const std::size_t queued = loop.output_size(id_);
    const std::size_t input_queued = queued_input(loop);
    if (handed_ - pending_.size() - input_queued != drained_) {
      drained_ = handed_ - pending_.size() - input_queued;
      flow_.drained(drained_);
    }
    // Output that makes no progress for --timeout: the server is not reading.
    if (queued == 0) {
      if (timer_armed_) loop.cancel_timer(id_);
      timer_armed_ = false;
    } else if (!timer_armed_ || loop.stats().bytes_sent != sent_at_arming_) {
      loop.set_timer(id_, std::chrono::milliseconds(cfg_.timeout_ms));
      timer_armed_ = true;
      sent_at_arming_ = loop.stats().bytes_sent;
    }
    if (round_due_ && queued <= max_in_flight) round(loop);
    if (input_ended_ && !half_closed_ && queued == 0 && pending_.empty()) {
      half_closed_ = true;
      // Half-close: the server reads end of stream and may still answer.
      loop.shutdown_send(id_);
      loop.after(std::chrono::milliseconds(cfg_.wait_ms), [this](event_loop& l) {
        end(l, exit_ok, "", close_mode::abort);  // --wait is over
      });
    }
  }

  void finish_printing() {
    if (printed_end_) return;
    printed_end_ = true;
    std::error_code ec;
    if (!prompt_.reply([&] { return printer_.finish(ec); }, [] { return false; }) &&
        message_.empty()) {
      exit_code_ = exit_failure;
      message_ = "write to standard output: " + error_text(ec);
    }
  }

  const config& cfg_;
  const std::string target_;
  const std::string wire_;
  const std::string local_;
  const std::string signature_;  // empty: the stream starts with its first byte
  reply_printer printer_;
  const std::vector<std::string> messages_;  // -m, encoded: sent in rounds
  flow_control& flow_;
  prompt& prompt_;
  const bool interactive_;
  std::int64_t backoff_ms_;
  event_log log_;
  std::uint64_t connections_ = 0;  // connections made so far (the log's ids)
  std::string peer_;               // of the current connection
  event_loop::id_type id_ = 0;     // the connection, or its connect while pending
  bool open_ = false;
  bool signed_ = false;                  // the connection's stream has its signature
  std::uint64_t signature_sent_by_ = 0;  // loop's bytes_sent once it has gone out
  bool input_ended_ = false;
  bool half_closed_ = false;
  bool finished_ = false;
  bool printed_end_ = false;
  bool timer_armed_ = false;
  bool round_scheduled_ = false;
  bool round_due_ = false;
  std::uint64_t rounds_ = 0;
  std::uint64_t sent_at_arming_ = 0;
  std::string pending_;           // wire bytes waiting for a connection
  std::string deferred_failure_;  // an input failure that waits for pending_ to go out
  std::uint64_t handed_ = 0;      // wire bytes given to send
  std::uint64_t drained_ = 0;     // of them, sent (or lost with a connection)
  int exit_code_ = exit_ok;
  std::string message_;
};

// What the loop thread and the reader thread share. Held by shared_ptr: a reader still
// blocked in read() when the client ends is left behind (see main), and must find these
// alive if it ever wakes up.
struct shared_state {
  flow_control flow;
  prompt shown;
  std::unique_ptr<session> client;
  std::unique_ptr<event_loop> loop;
  std::atomic<bool> reader_done{false};
};

// The loop Ctrl+C stops (stop() is async-signal-safe; the pointer is lock-free).
std::atomic<event_loop*> running_loop{nullptr};
void stop_running_loop() {
  if (event_loop* loop = running_loop.load()) loop->stop();
}

// Set when the reader was left blocked in read(): main ends with _Exit.
bool reader_abandoned = false;

// The reader thread: lines of standard input, each converted (local encoding -> UTF-8
// -> wire encoding, both strict) and posted to the loop as soon as it is complete; long
// lines in bounded pieces.
class input_reader {
 public:
  // `file`: --file's, opened already (its name is `file_name`); null: standard input.
  input_reader(std::shared_ptr<shared_state> state, const std::string& wire,
               const std::string& local, const std::string& eol, bool hex,
               std::shared_ptr<input_file> file, std::string file_name)
      : state_(std::move(state)),
        hex_(hex),
        file_(std::move(file)),
        file_name_(std::move(file_name)),
        wire_(wire),
        local_(local),
        eol_(eol),
        lines_(max_input_piece, local),
        from_local_(local, decode_policy::strict),
        to_wire_(primed_encoder(wire)),
        interactive_(input_is_terminal()) {}

  void run() {
    try {
      if (!file_)
        read_all();
      else
        read_file();
    } catch (const std::exception& e) {
      fail(e.what());
    }
    state_->reader_done = true;
  }

 private:
  void read_all() {
    std::vector<line> pieces;
    std::vector<char> buffer(64 * 1024);
    state_->shown.show();
    for (;;) {
      std::error_code ec;
      const std::size_t n = read_input(buffer.data(), buffer.size(), ec);
      if (n > 0 && buffer[n - 1] == '\n') state_->shown.entered();
      if (ec) {
        if (flush_ready()) fail("read standard input: " + error_text(ec));
        return;
      }
      pieces.clear();
      if (n == 0) {
        lines_.finish(pieces);
      } else {
        lines_.push(std::string_view(buffer.data(), n), pieces);
      }
      for (const line& piece : pieces)
        if (!take(piece)) return;
      // The complete lines of this read go out together: one hand-over, not one per
      // line (a pipe of short lines), and none waits for more input.
      if (!flush_ready()) return;
      if (n == 0) {
        post([](session& s, event_loop&) { s.input_ended(); });
        return;
      }
      state_->shown.show();
    }
  }

  // --file: the bytes as they are, in pieces as the server takes them, each as soon as
  // it was read (a pipe's bytes are not held back to fill a buffer). A progress bar on
  // stderr when it is a terminal and the file is large (a pipe has no size: none).
  void read_file() {
    const std::uintmax_t size = file_->size();
    const bool progress = error_is_terminal() && file_->size_known() && size >= progress_from;
    std::vector<char> buffer(max_in_flight);
    std::uintmax_t done = 0;
    int shown = -1;
    for (;;) {
      std::error_code ec;
      const std::size_t n = file_->read(buffer.data(), buffer.size(), ec);
      if (ec) {
        if (progress) write_error("\n");
        return fail("read " + file_name_ + ": " + error_text(ec));
      }
      if (n == 0) break;
      held_.assign(buffer.data(), n);
      if (!hand_over(held_, false)) return;
      done += n;
      const int percent = size == 0 ? 100 : static_cast<int>(std::min(done, size) * 100 / size);
      if (progress && percent != shown) {
        shown = percent;
        write_error(progress_bar(percent, done, size));
      }
    }
    if (progress) write_error("\n");
    post([](session& s, event_loop&) { s.input_ended(); });
  }

  static std::string progress_bar(int percent, std::uintmax_t done, std::uintmax_t size) {
    const int width = 30;
    const int filled = std::min(width, percent * width / 100);
    const auto mib = [](std::uintmax_t bytes) {
      const auto tenths = bytes * 10 / (1024 * 1024);
      return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
    };
    return "\r[" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(width - filled), ' ') + "] " +
           std::to_string(percent) + "% " + mib(done) + "/" + mib(size) + " MiB";
  }

  // --hex-input: a whole line of hex digits becomes its bytes (no line end added).
  bool take_hex(const line& piece) {
    const bool line_end = !piece.partial();
    if (refusing_) {
      if (line_end) next_line();
      return true;
    }
    hex_line_ += piece.bytes;
    if (hex_line_.size() > 2 * max_held_line)
      return refuse("input line " + std::to_string(number_) + " is too long for --hex-input",
                    line_end);
    if (!line_end) return true;
    std::string error;
    std::string bytes;
    if (!parse_hex(hex_line_, bytes, error))
      return refuse("input line " + std::to_string(number_) + " is not hex: " + error, true);
    ready_ += bytes;
    next_line();
    return ready_.size() < max_in_flight || flush_ready();
  }

  // One piece of a line; false when the reader is done (a failure, or the loop ends).
  bool take(const line& piece) {
    if (hex_) return take_hex(piece);
    const bool line_end = !piece.partial();
    if (refusing_) {  // the rest of a refused line
      if (line_end) next_line();
      return true;
    }
    std::string& text = text_;  // reused: its buffer stays
    text.clear();
    std::error_code ec;
    from_local_.decode(piece.bytes, text, ec);
    if (!ec && line_end) from_local_.finish(text, ec);
    if (ec) {
      const std::uint64_t at = from_local_.last_error().offset - line_start_ + 1;
      std::string message = "invalid " + local_ + " in input line " + std::to_string(number_) +
                            " at byte " + std::to_string(at);
      if (line_sent_ > 0)
        message += " (its first " + std::to_string(line_sent_) + " bytes had gone out)";
      return refuse(message, line_end);
    }
    stream_pos_ += piece.bytes.size();
    if (line_end) text += eol_;
    try {
      to_wire_.encode(text, held_);
    } catch (const text_error& e) {
      return refuse(encoding_failure(e, wire_, number_, line_chars_, line_bytes_, line_sent_),
                    line_end);
    }
    line_chars_ += count_characters(text);
    line_bytes_ += text.size();
    if (line_end) {
      ready_ += held_;
      next_line();
      return ready_.size() < max_in_flight || flush_ready();
    }
    if (held_.size() < max_held_line) return true;
    // A long line goes out in pieces, after the lines before it.
    return flush_ready() && hand_over(held_, true);
  }

  // A line that cannot be sent: piped input ends the client (exit 1, after what was
  // sent before it); a person typing is told and goes on with the next line.
  bool refuse(const std::string& message, bool line_end) {
    if (!interactive_) {
      // The lines before it are sent, then the client ends.
      if (flush_ready()) fail(message);
      return false;
    }
    state_->shown.notice(message + "; the line was not sent");
    // A new decoder: nothing of the refused line may leak into the next one.
    from_local_ = decoder(local_, decode_policy::strict);
    stream_pos_ = 0;
    held_.clear();
    refusing_ = true;
    if (line_end) next_line();
    return true;
  }

  void next_line() {
    hex_line_.clear();
    line_sent_ = line_chars_ = line_bytes_ = 0;
    line_start_ = stream_pos_;
    refusing_ = false;
    held_.clear();
    ++number_;
  }

  // Posts `bytes` in pieces, each once the loop has room for it (what is in flight
  // stays small), and empties it, keeping its buffer. `current_line`: they belong to
  // the line being read (counted for its error message).
  bool hand_over(std::string& bytes, bool current_line) {
    for (std::size_t at = 0; at < bytes.size(); at += max_in_flight) {
      const std::size_t n = std::min(max_in_flight, bytes.size() - at);
      if (!state_->flow.reserve(n)) return false;
      if (current_line) line_sent_ += n;
      post([piece = bytes.substr(at, n)](session& s, event_loop& loop) { s.send(loop, piece); });
    }
    bytes.clear();
    return true;
  }

  // The complete lines converted so far.
  bool flush_ready() { return hand_over(ready_, false); }

  void fail(const std::string& message) {
    post([message](session& s, event_loop& loop) { s.input_failed(loop, message); });
  }

  template <typename Fn>
  void post(Fn fn) {
    shared_state* state = state_.get();
    state->loop->post([state, fn = std::move(fn)](event_loop& loop) { fn(*state->client, loop); });
  }

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
  line_splitter lines_;
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
};

int run_client(const config& cfg) {
  const std::string wire = checked_encoding(cfg.encoding);
  const std::string local =
      cfg.local_encoding.empty() ? local_encoding() : checked_encoding(cfg.local_encoding);
  // Standard input is cut into lines on its bytes: the local encoding must keep 0x0A a
  // newline (UTF-16 and UTF-32 do not). A usage error, found before connecting.
  std::error_code local_ec;
  if (!encoding_is_line_safe(local, local_ec) || local_ec) {
    throw usage_error("--local-encoding " + local +
                      " cannot be a local (terminal) encoding: its bytes 0x0A/0x0D are not "
                      "always newlines (use UTF-8, GB18030 or another ASCII-compatible "
                      "encoding)");
  }
  const std::string eol = cfg.eol == "crlf" ? "\r\n"
                          : cfg.eol == "lf" ? "\n"
                          : cfg.eol == "cr" ? "\r"
                                            : "";
  // Messages are in the local encoding, as replies are (--local-encoding included).
  set_error_encoding(local);

  // -m messages are all encoded before connecting: one that cannot be sent stops the
  // run before anything goes out.
  std::vector<std::string> encoded;
  std::size_t messages_size = 0;
  {
    encoder to_wire = primed_encoder(wire);
    const std::string args_encoding = argument_encoding();
    for (std::size_t i = 0; i < cfg.messages.size(); ++i) {
      if (cfg.hex_input) {
        std::string bytes;
        std::string error;
        if (!parse_hex(cfg.messages[i], bytes, error))
          throw usage_error("-m " + std::to_string(i + 1) + " is not hex (--hex-input): " + error);
        messages_size += bytes.size();
        encoded.push_back(std::move(bytes));
        continue;
      }
      // Strictly, like standard input: bytes invalid in the arguments' encoding are an
      // error, never sent as U+FFFD (on Windows the arguments are UTF-8 converted from
      // the UTF-16 command line).
      decoder from_args(args_encoding, decode_policy::strict);
      std::string text;
      std::error_code ec;
      from_args.decode(cfg.messages[i], text, ec);
      if (!ec) from_args.finish(text, ec);
      if (ec) {
        throw usage_error("invalid " + args_encoding + " in -m " + std::to_string(i + 1) +
                          " at byte " + std::to_string(from_args.last_error().offset + 1));
      }
      try {
        encoded.push_back(to_wire.encode(text + eol));
      } catch (const text_error& e) {
        throw std::runtime_error(encoding_failure(e, wire, i + 1));
      }
      messages_size += encoded.back().size();
    }
  }
  // Rounds of nothing, repeated: the client would only spin.
  if (!cfg.messages.empty() && messages_size == 0 && cfg.repeat != 1) {
    throw usage_error(
        "--repeat: the -m messages are empty, so every round would send nothing (give text, "
        "or an --eol)");
  }
  // --file is opened (and checked) before connecting: a bad path makes no connection.
  std::shared_ptr<input_file> file;
  if (!cfg.file.empty()) {
    std::error_code ec;
    file = std::make_shared<input_file>(cfg.file, ec);
    if (ec) throw std::runtime_error("open " + cfg.file + ": " + error_text(ec));
  }
  // --file and --hex-input bytes go out exactly as they are: no signature.
  const std::string signature =
      cfg.file.empty() && !cfg.hex_input ? stream_signature(wire) : std::string();

  auto state = std::make_shared<shared_state>();
  if (typing(cfg) && error_is_terminal()) state->shown.enable(output_is_terminal());
  state->client =
      std::make_unique<session>(cfg, wire, local, encoded, signature, state->flow, state->shown);
  loop_options options;
  // Replies are always read, however much input waits to be sent (the reader thread
  // already holds the input back).
  options.pause_reading_above = std::numeric_limits<std::size_t>::max();
  // -m messages are queued a round at once; input arrives in pieces of at most
  // max_in_flight.
  options.max_output = 2 * messages_size + std::size_t{4} * max_in_flight + signature.size();
  // The client decides itself when queued output has had its chance; Ctrl+C is at once.
  options.stop_linger = std::chrono::milliseconds(0);
  state->loop = std::make_unique<event_loop>(options, state->client->callbacks());
  event_loop& loop = *state->loop;
  session& client = *state->client;
  client.connect(loop);

  std::thread reader;
  if (cfg.messages.empty()) {
    reader = std::thread([state, wire, local, eol, file, &cfg] {
      input_reader(state, wire, local, eol, cfg.hex_input, file, cfg.file).run();
    });
  }
  // However this ends (an exception from the loop included), the reader is stopped or
  // left behind, never left joinable.
  struct reader_guard {
    shared_state& state;
    std::thread& thread;
    ~reader_guard() {
      running_loop = nullptr;
      state.flow.close();  // wakes a reader waiting for room
      if (!thread.joinable()) return;
      // A reader blocked in read() cannot be woken portably (a terminal, a console, a
      // pipe kept open): it is left behind, and main ends the process with _Exit.
      if (state.reader_done) {
        thread.join();
      } else {
        thread.detach();
        reader_abandoned = true;
      }
    }
  } guard{*state, reader};

  running_loop = &loop;
  on_interrupt(stop_running_loop);
  loop.run();
  state->shown.retire();  // what follows starts on a clean line

  const int code = client.exit_code(loop);
  if (!client.message().empty()) {
    if (code == exit_ok) {
      print_error(program, client.message());
    } else {
      throw std::runtime_error(client.message());
    }
  }
  return code;
}

// --help's usage line shows HOST and PORT as required (CLI11 brackets any positional
// not marked required, and they are not: --list-encodings needs neither).
class usage_formatter : public CLI::Formatter {
 public:
  std::string make_option_usage(const CLI::Option* opt) const override {
    if (opt->get_positional()) return make_option_name(opt, true);
    return CLI::Formatter::make_option_usage(opt);
  }
};

// `--reconnect 2 HOST PORT` reads 2 as HOST: when the command line does not parse and
// a number follows a bare --reconnect, the error says that its value needs '='.
std::string reconnect_value_hint(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i + 1 < args.size(); ++i) {
    if (args[i] == "--") break;
    const std::string& next = args[i + 1];
    const bool number =
        !next.empty() && next.find_first_not_of("0123456789.") == std::string::npos && next != ".";
    if (args[i] == "--reconnect" && number)
      return "--reconnect takes its value after '=': --reconnect=" + next;
  }
  return std::string();
}

int run(int argc, char** argv) {
  console_init();
  config cfg;
  CLI::App app("Sends text to a TCP server in its encoding and prints what comes back.",
               std::string(program));
  app.add_option("HOST", cfg.host, "Server name or address (every resolved address is tried)");
  app.add_option("PORT", cfg.port, "Server port")->transform(decimal_integer(1, 65535));
  app.add_option("-m,--message", cfg.messages,
                 "Send TEXT (repeatable), then finish; without -m, lines of standard input "
                 "are sent as they are read")
      // One TEXT per -m, so `-m hi HOST PORT` leaves HOST and PORT to the positionals.
      ->allow_extra_args(false);
  app.add_option("-e,--encoding", cfg.encoding, "Wire encoding (any ICU converter name)")
      ->default_val(std::string(default_encoding));
  app.add_option("--eol", cfg.eol,
                 "Appended to each message or line (cr: for devices that want \\r)")
      ->default_val("lf")
      ->check(CLI::IsMember({"lf", "crlf", "cr", "none"}));
  app.add_option("--timeout", cfg.timeout_ms,
                 "Seconds allowed for connecting, and for each send to make progress")
      ->default_str("10")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, true));
  app.add_option("--wait", cfg.wait_ms,
                 "Seconds to keep printing replies after the input ends (until the server "
                 "closes)")
      ->default_str("2")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, false));
  app.add_flag("--hex", cfg.hex, "Show received bytes as hex instead of text");
  add_view_options(app, cfg.view,
                   "Show what each read returned, a line each, instead of cutting lines",
                   "Start every line of replies with the local time");
  app.add_flag("--hex-input", cfg.hex_input,
               "-m messages and input lines are hex digits (spaces allowed), sent as bytes");
  app.add_option("--file", cfg.file,
                 "Send the bytes of PATH (a file, a pipe such as <(cmd), a device) unchanged, "
                 "as they are read, then finish")
      ->type_name("PATH");
  app.add_option("--repeat", cfg.repeat, "Send the -m messages N times (0: until Ctrl+C)")
      ->type_name("N")
      ->transform(decimal_integer(0, std::uint64_t{1} << 62));
  app.add_option("--interval", cfg.interval_ms, "Seconds between two --repeat rounds")
      ->default_str("1")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, false));
  std::string reconnect;
  // A flag (--reconnect or --reconnect=SEC): it never takes HOST as its value.
  // (Not CLI11's "--reconnect{1}" default syntax: its help would show the braces.)
  app.add_flag("--reconnect", reconnect,
               "Connect again after SEC (default 1, at least 0.05; doubled after each failure "
               "up to 8, see --backoff) when the server refuses or closes, until the input is "
               "sent")
      ->type_name("[=SEC]")
      // CLI11 runs the transforms last added first: the bare flag means 1 s.
      ->transform(decimal_duration(time_unit::seconds, false))
      ->transform([](std::string value) { return value == "true" ? std::string("1") : value; }, "",
                  "");
  app.add_option("--backoff", cfg.backoff,
                 "--reconnect's delay: double (after each failure, up to 8 s or SEC) or none "
                 "(always SEC)")
      ->default_val("double")
      ->check(CLI::IsMember({"double", "none"}));
  app.add_option("--local-encoding", cfg.local_encoding,
                 "Encoding of the terminal/pipes (default: the locale's; UTF-8 for C/POSIX)");
  app.add_flag("--list-encodings", cfg.list_encodings, "Print the encoding names and exit");
  app.set_version_flag("--version", version_line(program));
  app.footer(R"(Examples:
  xsock-client 127.0.0.1 7788 -m "你好，世界"            one message in GBK, like the tutorial
  xsock-client 127.0.0.1 7788 -m hi --eol none           exactly "hi", no newline
  xsock-client -e UTF-8 localhost 9000 < lines.txt       every line of a file, as UTF-8
  xsock-client --hex 127.0.0.1 9000 -m ping              show the reply as hex
  xsock-client --hex-input 127.0.0.1 9000 -m "01 03 00"   send three bytes
  xsock-client --file fw.bin 127.0.0.1 9000               a file's bytes, unchanged
  xsock-client --repeat 0 --interval 0.5 -m ping HOST 9000   ping every 0.5 s
  xsock-client --reconnect 127.0.0.1 9000                 wait for the server, reconnect
  xsock-client --reconnect=0.5 --backoff none HOST 9000   try every 0.5 s, no doubling
  xsock-client --file <(make-frames) 127.0.0.1 9000       a pipe's bytes, as they come

Exit status: 0 done (also when the server closed the connection), 1 connect/IO/conversion
failure or a reset by the server (one line on stderr), 2 usage error, 130 Ctrl+C/SIGTERM.)");

  // HOST and PORT are required, though not marked so: --list-encodings needs neither.
  app.formatter(std::make_shared<usage_formatter>());

  const std::vector<std::string> args = console_arguments(argc, argv);
  const int parsed = parse_command_line(app, program, args, reconnect_value_hint(args));
  if (parsed >= 0) return parsed;
  if (cfg.list_encodings) return list_encodings_command();
  cfg.how = cfg.view.how();
  if (app.count("--reconnect") > 0) {
    cfg.reconnect_ms = std::stoll(reconnect);
    if (cfg.reconnect_ms < min_reconnect_ms) {
      print_error(program,
                  "--reconnect=SEC must be at least 0.05 (a server that closes at once would be "
                  "flooded with connections)");
      return exit_usage;
    }
  } else if (app.count("--backoff") > 0) {
    print_error(program, "--backoff is the delay of --reconnect: give --reconnect (see --help)");
    return exit_usage;
  }
  if (app.count("--file") > 0 && cfg.file.empty()) {
    print_error(program, "--file: the path is empty (see --help)");
    return exit_usage;
  }
  if (!cfg.file.empty() && !cfg.messages.empty()) {
    print_error(program, "--file and -m cannot be used together (see --help)");
    return exit_usage;
  }
  if ((app.count("--repeat") > 0 || app.count("--interval") > 0) && cfg.messages.empty()) {
    print_error(program, "--repeat and --interval repeat -m messages: give -m (see --help)");
    return exit_usage;
  }
  if (cfg.host.empty() || cfg.port < 0) {
    print_error(program, "HOST and PORT are required (see --help)");
    return exit_usage;
  }
  return run_client(cfg);
}

}  // namespace
}  // namespace xsock::tools

int main(int argc, char** argv) {
  const int code = xsock::tools::guarded_main(xsock::tools::program,
                                              [&] { return xsock::tools::run(argc, argv); });
  // A reader thread still blocked reading standard input cannot be joined, and exit()
  // would destroy what it may touch once it wakes: everything is written (the console
  // functions do not buffer), so the process ends here without running destructors.
  // A --log writer blocked for good (a FIFO nobody reads) is left behind the same way.
  const bool logs_done = xsock::tools::finish_event_logs();
  if (xsock::tools::reader_abandoned || !logs_done) std::_Exit(code);
  return code;
}
