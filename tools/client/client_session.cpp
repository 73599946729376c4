#include "client_session.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "tool_support.hpp"
#include "xsock/error.hpp"

namespace xsock::tools::client {

std::int64_t next_backoff_ms(const config& cfg, std::int64_t current_ms) {
  if (cfg.backoff != "double") return current_ms;
  const std::int64_t cap = std::max<std::int64_t>(max_backoff_ms, cfg.reconnect_ms);
  return std::min<std::int64_t>(cap, std::max<std::int64_t>(1, current_ms) * 2);
}

std::string seconds_text(std::int64_t ms) {
  std::string text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0')
      frac.pop_back();
    text += "." + frac;
  }
  return text;
}

// ---- flow_control ------------------------------------------------------------------

// Reader: waits until fewer than max_in_flight bytes are in flight, then counts `n`
// more. False once the loop is finishing: nothing more is wanted.
bool flow_control::reserve(std::size_t n) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return closed_ || handed_ < drained_ + max_in_flight; });
  if (closed_) return false;
  handed_ += n;
  return true;
}
// Loop: `total` bytes of all handed over have left the client.
void flow_control::drained(std::uint64_t total) {
  std::lock_guard<std::mutex> lock(mutex_);
  drained_ = total;
  cv_.notify_all();
}
void flow_control::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  cv_.notify_all();
}

// ---- prompt ------------------------------------------------------------------------

void prompt::enable(bool replies_on_screen) {
  enabled_ = true;
  replies_on_screen_ = replies_on_screen;
}

// Reader: ready for the next line.
void prompt::show() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!enabled_ || shown_) return;
  write_error("> ");
  shown_ = true;
}
// Reader: Enter was pressed; the cursor is on a fresh line.
void prompt::entered() {
  std::lock_guard<std::mutex> lock(mutex_);
  shown_ = false;
}
// "xsock-client: TEXT" on its own line.
void prompt::notice(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shown_) erase_error_line();
  write_error(std::string(program) + ": " + text + "\n");
  if (shown_) write_error("> ");
}
// The session is over: the prompt goes and does not come back.
void prompt::retire() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shown_) erase_error_line();
  shown_ = false;
  enabled_ = false;
}

// ---- session -----------------------------------------------------------------------

// `signature`: what every connection's stream starts with (see stream_signature).
session::session(const config& cfg, const std::string& wire, const std::string& local,
                 std::vector<std::string> messages, std::string signature, flow_control& flow,
                 prompt& shown, const tls_setup* tls)
    : cfg_(cfg),
      tls_(tls),
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

event_loop::callbacks session::callbacks() {
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
// With --tls the handshake is part of the connect: a failed one ends it as a refused
// connect does (its message "tls handshake HOST:PORT: ..."), within the same --timeout.
void session::connect(event_loop& loop) {
  const std::string host = unbracketed_host(cfg_.host);
  const auto port = static_cast<std::uint16_t>(cfg_.port);
  std::unique_ptr<stream_layer> layer;
  if (tls_) layer = tls_->client_layer(cfg_.tls.sni.empty() ? host : cfg_.tls.sni, port);
  id_ = loop.connect(
      host, port, std::chrono::milliseconds(cfg_.timeout_ms),
      [this](event_loop& l, event_loop::id_type, const connect_result& r) { connect_done(l, r); },
      std::move(layer));
}

// A person typing is told where they are connected (with TLS, what was agreed); with
// --alpn a script is told the protocol too, as it asked for one.
void session::say_connected(event_loop& loop) {
  if (!tls_) {
    if (interactive_) say("connected to " + loop.peer(id_).to_string());
    return;
  }
  // What the handshake agreed: the connection's layer says.
  const stream_layer* layer = loop.layer(id_);
  const std::string version = layer == nullptr ? std::string() : layer->protocol_version();
  const std::string agreed_alpn = layer == nullptr ? std::string() : layer->alpn_protocol();
  const std::string alpn = agreed_alpn.empty() ? "no ALPN protocol agreed" : "ALPN " + agreed_alpn;
  if (interactive_) {
    std::string text = "connected to " + loop.peer(id_).to_string() + " (";
    text += version.empty() ? std::string("TLS") : version;
    if (!cfg_.tls.protocols.empty()) text += ", " + alpn;
    say(text + ")");
  } else if (!cfg_.tls.protocols.empty()) {
    say(alpn);
  }
}

void session::connect_done(event_loop& loop, const connect_result& result) {
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
  say_connected(loop);
  if (!pending_.empty()) {
    std::string bytes;
    bytes.swap(pending_);
    queue(loop, bytes);  // counted in handed_ already
  }
  if (!messages_.empty() && !round_scheduled_ && !input_ended_) round(loop);
  if (!deferred_failure_.empty()) end(loop, exit_failure, deferred_failure_, close_mode::graceful);
}

// Queues wire bytes (a message, a line or a piece of one); kept until connected.
void session::send(event_loop& loop, std::string_view bytes) {
  if (finished_) return;
  handed_ += bytes.size();
  if (!open_) {
    pending_.append(bytes.data(), bytes.size());
    return;
  }
  queue(loop, bytes);
}

void session::queue(event_loop& loop, std::string_view bytes) {
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

// A failure found while reading or converting the input: what was sent before it is
// still delivered, then the client ends with exit 1.
void session::input_failed(event_loop& loop, const std::string& message) {
  // Not connected yet: the lines before the failure go out first, once connected.
  if (!open_ && !pending_.empty() && cfg_.reconnect_ms < 0) {
    deferred_failure_ = message;
    return;
  }
  end(loop, exit_failure, message, close_mode::graceful);
}

// Ends the run (once): `message` on stderr unless empty. `graceful`: what is queued
// is sent first.
void session::end(event_loop& loop, int code, std::string message, close_mode how) {
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

// Sends the -m messages once more (--repeat, --interval): one round now, the next
// after the interval; a queue still full of the last round delays the next one.
void session::round(event_loop& loop) {
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
void session::retry(event_loop& loop, const std::string& why) {
  const std::int64_t delay = backoff_ms_;
  backoff_ms_ = next_backoff_ms(cfg_, backoff_ms_);
  say(why + "; connecting again in " + seconds_text(delay) + " s");
  loop.after(std::chrono::milliseconds(delay), [this](event_loop& l) {
    if (!finished_) connect(l);
  });
}

void session::closed(event_loop& loop, close_reason why, const std::error_code& ec) {
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
  end(loop, exit_failure, "receive from " + target_ + ": " + error_text(shown), close_mode::abort);
}

// The next connection's replies are a stream of their own (a decoder without the
// last one's state): what is left of this one's is shown first, ending its line.
bool session::new_reply_stream(event_loop& loop) {
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
std::size_t session::queued_input(const event_loop& loop) const {
  const std::size_t queued = loop.output_size(id_);
  const std::uint64_t sent = loop.stats().bytes_sent;
  const std::uint64_t signature_left =
      signed_ && signature_sent_by_ > sent
          ? std::min<std::uint64_t>(signature_sent_by_ - sent, signature_.size())
          : 0;
  return queued - static_cast<std::size_t>(std::min<std::uint64_t>(queued, signature_left));
}

void session::turn_ended(event_loop& loop) {
  if (!open_ || finished_) return;
  const std::size_t queued = loop.output_size(id_);
  // With --tls the queue holds records, a little more than the bytes they carry: what
  // is counted as still queued never exceeds what was handed to the connection.
  const std::uint64_t on_connection = handed_ - pending_.size();
  const std::uint64_t input_queued = std::min<std::uint64_t>(queued_input(loop), on_connection);
  if (on_connection - input_queued != drained_) {
    drained_ = on_connection - input_queued;
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

void session::finish_printing() {
  if (printed_end_) return;
  printed_end_ = true;
  std::error_code ec;
  if (!prompt_.reply([&] { return printer_.finish(ec); }, [] { return false; }) &&
      message_.empty()) {
    exit_code_ = exit_failure;
    message_ = "write to standard output: " + error_text(ec);
  }
}

}  // namespace xsock::tools::client
