// xsock-server: the tutorial's TCP server, serving any number of clients on one
// thread. Bytes from each client go through that client's own line splitter and
// decoder, then out as text or JSON lines; output is written once per loop turn.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "console.hpp"
#include "event_log.hpp"
#include "stream_lines.hpp"
#include "tool_support.hpp"
#include "xsock/encoder.hpp"
#include "xsock/encodings.hpp"
#include "xsock/error.hpp"
#include "xsock/line_splitter.hpp"
#include "xsock/listener.hpp"
#include "xsock/resolve.hpp"
#include "xsock/server.hpp"
#include "xsock/terminal_escape.hpp"

namespace xsock::tools {
namespace {

constexpr std::string_view program = "xsock-server";

struct config {
  std::uint16_t port = 7788;
  std::string bind;
  int backlog = 128;
  std::string encoding{default_encoding};
  std::string format = "text";
  bool hex = false;
  bool echo = false;
  bool once = false;
  bool raw = false;
  bool quiet = false;
  std::size_t max_clients = 0;
  std::int64_t idle_timeout_ms = 0;  // whole ms, saturated (decimal_duration)
  std::size_t max_line = line_splitter::default_max_line;
  std::int64_t flush_ms = 0;
  std::string eol = "lf";  // appended to lines typed on standard input
  std::string line_end = "lf";
  bool packets = false;
  bool timestamps = false;
  framing how = framing::lf;
  std::string log;  // --log FILE
  bool list_encodings = false;
};

// Formats events into one buffer that the loop writes out once per turn.
class event_writer {
 public:
  explicit event_writer(const config& cfg)
      : cfg_(cfg), json_(cfg.format == "json"), timestamps_(cfg.timestamps) {
    // Text goes to the terminal in the locale's charset; JSON is always UTF-8.
    const std::string local = local_encoding();
    std::error_code ec;
    if (!json_ && canonical_encoding_name(local, ec) != "UTF-8" && !ec)
      to_local_ = std::make_unique<encoder>(local, encode_policy::replace);
  }

  void connected(server::connection_id id, const std::string& peer) {
    if (cfg_.quiet) return;
    if (json_) {
      begin_json("connect", id, peer);
      buffer_ += "}\n";
    } else {
      text_line(peer, "+ connected");
    }
  }

  // `payload` is UTF-8 text, or the raw bytes with --hex.
  void data(server::connection_id id, const std::string& peer, std::string_view payload,
            std::uint64_t invalid, bool partial) {
    if (json_) {
      begin_json("data", id, peer);
      if (cfg_.hex) {
        buffer_ += ",\"hex\":\"";
        buffer_ += to_hex(payload);
        buffer_ += '"';
      } else {
        buffer_ += ",\"text\":";
        append_json_string(buffer_, payload);
        buffer_ += ",\"invalid\":";
        buffer_ += std::to_string(invalid);
      }
      if (partial) buffer_ += ",\"partial\":true";
      buffer_ += "}\n";
    } else if (cfg_.hex) {
      text_line(peer, to_hex(payload));
    } else {
      // Escaped straight into the output: a long line is not copied once more.
      text_line_with(peer, [&](std::string& out) {
        if (cfg_.raw)
          out.append(payload.data(), payload.size());
        else
          escape_for_terminal(payload, out);
      });
    }
  }

  void disconnected(server::connection_id id, const std::string& peer, std::uint64_t bytes,
                    std::uint64_t invalid, const char* reason) {
    if (cfg_.quiet) return;
    if (json_) {
      begin_json("disconnect", id, peer);
      buffer_ += ",\"bytes\":" + std::to_string(bytes);
      buffer_ += ",\"reason\":\"";
      buffer_ += reason;
      buffer_ += "\",\"invalid\":" + std::to_string(invalid) + "}\n";
    } else {
      std::string text = "- disconnected (" + std::to_string(bytes) + " bytes";
      if (invalid > 0) text += ", " + std::to_string(invalid) + " invalid";
      if (std::string_view(reason) != "closed") text += std::string(", ") + reason;
      text += ")";
      text_line(peer, text);
    }
  }

  // Bytes the console sent to a client: `shown` is the UTF-8 text typed, or the bytes
  // themselves when `hex`; `bytes` the wire bytes.
  void sent(server::connection_id id, const std::string& peer, std::string_view shown, bool hex,
            std::size_t bytes) {
    if (json_) {
      begin_json("sent", id, peer);
      if (hex) {
        buffer_ += ",\"hex\":\"";
        buffer_ += to_hex(shown);
        buffer_ += '"';
      } else {
        buffer_ += ",\"text\":";
        append_json_string(buffer_, shown);
      }
      buffer_ += ",\"bytes\":" + std::to_string(bytes) + "}\n";
    } else {
      text_line_with(peer, [&](std::string& out) {
        out += hex ? "> (hex) " + to_hex(shown) : "> ";
        if (!hex) escape_for_terminal(shown, out);
      });
    }
  }

  // Ends a line whose last piece was shown partial: JSON gets an empty, final piece;
  // text output shows no partial marks, so there is nothing to end.
  void end_of_line(server::connection_id id, const std::string& peer) {
    if (json_) data(id, peer, std::string_view(), 0, false);
  }

  // Writes what this turn produced. False when standard output is gone.
  bool flush(std::error_code& ec) {
    ec.clear();
    if (buffer_.empty()) return true;
    const bool ok = write_output(buffer_, ec);
    buffer_.clear();
    return ok;
  }

 private:
  void begin_json(const char* event, server::connection_id id, const std::string& peer) {
    buffer_ += "{\"event\":\"";
    buffer_ += event;
    if (timestamps_) buffer_ += "\",\"ts\":\"" + utc_time_text(std::chrono::system_clock::now());
    buffer_ += "\",\"id\":" + std::to_string(id) + ",\"peer\":";
    append_json_string(buffer_, peer);
  }

  void text_line(const std::string& peer, const std::string& utf8) {
    text_line_with(peer, [&](std::string& out) { out += utf8; });
  }

  // `append(target)` adds the UTF-8 text of the line.
  template <typename Append>
  void text_line_with(const std::string& peer, Append&& append) {
    std::string& target = to_local_ ? scratch_ : buffer_;
    if (timestamps_) target += local_time_text(std::chrono::system_clock::now()) + ' ';
    target += '[';
    target += peer;
    target += "] ";
    append(target);
    target += '\n';
    if (!to_local_) return;
    std::error_code ec;
    to_local_->encode(scratch_, buffer_, ec);
    if (ec) buffer_ += scratch_;
    scratch_.clear();
  }

  const config& cfg_;
  bool json_;
  bool timestamps_;
  std::unique_ptr<encoder> to_local_;
  std::string buffer_;
  std::string scratch_;  // a text line before its conversion to the local charset
};

// What the tool keeps per connection: the peer's text and its own line framing and
// decoding (stream_lines), so clients never corrupt each other's characters.
struct client {
  std::string peer;
  stream_lines lines;
  std::uint64_t bytes = 0;
  bool line_open = false;  // the last data event shown was partial
  std::uint64_t sent = 0;  // bytes the console sent to it
  std::chrono::system_clock::time_point since = std::chrono::system_clock::now();
};

// Set when a console reader was left blocked reading standard input: main ends the
// process with _Exit (see console_reader).
bool console_abandoned = false;

// Set from the signal handler: SIGINT/SIGTERM may arrive before the server exists.
std::atomic<bool> interrupted{false};
std::atomic<server*> running{nullptr};

void stop_running_server() {
  interrupted.store(true);
  if (server* s = running.load()) s->stop();
}

listener open_listener(const config& cfg) {
  listen_options options;
  options.backlog = cfg.backlog;
  listener l;
  if (!cfg.bind.empty()) {
    std::error_code ec;
    const std::string host = unbracketed_host(cfg.bind);
    endpoint where = endpoint::from_address(host, cfg.port, ec);
    if (ec) {
      // Not a numeric address: a host name (resolve errors are runtime failures).
      where = resolve(host, std::to_string(cfg.port)).front();
    }
    l.listen(where, options);
    return l;
  }
  // Default: dual-stack `::` where the system has IPv6, else 0.0.0.0.
  std::error_code ec;
  options.v6_only = false;
  l.listen(endpoint::any_v6(cfg.port), options, ec);
  if (!ec) return l;
  if (ec == std::errc::address_family_not_supported || ec == std::errc::address_not_available ||
      ec == std::errc::protocol_not_supported) {
    l.listen(endpoint::any_v4(cfg.port), options);
    return l;
  }
  // Report the real failure (address in use, permission denied) the throwing way.
  l.listen(endpoint::any_v6(cfg.port), options);
  return l;
}

int serve(const config& cfg) {
  // Installed before the `listening on` line: a test (or a user) may signal as soon
  // as it sees it.
  on_interrupt(stop_running_server);
  listener l = open_listener(cfg);

  server_options options;
  options.max_connections = cfg.max_clients;
  // 0 means no idle timeout on the command line; the library's zero means "at once".
  if (cfg.idle_timeout_ms > 0)
    options.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
  // Smaller than the library default: bounds what one turn can produce for stdout.
  options.read_size = 16 * 1024;

  event_writer out(cfg);
  event_log log = cfg.log.empty() ? event_log() : event_log(cfg.log);
  std::unordered_map<server::connection_id, client> clients;
  std::vector<line> pieces;
  std::error_code output_error;
  bool served_one = false;

  const auto emit = [&](client& c, server::connection_id id, const line& piece) {
    std::uint64_t invalid = 0;
    const std::string text = c.lines.text(piece, invalid);
    // A piece holding only the start of a character says nothing yet: the character
    // comes with the next piece.
    if (piece.partial() && text.empty() && invalid == 0) return;
    // --packets: each read is a whole event, never a partial line.
    const bool partial = piece.partial() && !cfg.packets;
    out.data(id, c.peer, text, invalid, partial);
    c.line_open = partial;
  };

  server::callbacks cb;
  cb.on_accept = [&](server& s, server::connection_id id, const endpoint& peer) {
    if (cfg.once) {
      // Serve this one client only: later ones are refused, not queued.
      s.stop_accepting();
      served_one = true;
    }
    client c{peer.to_string(), stream_lines(cfg.encoding, cfg.max_line, cfg.hex, cfg.how)};
    out.connected(id, c.peer);
    log.record("connect", id, c.peer);
    clients.emplace(id, std::move(c));
  };
  cb.on_data = [&](server& s, server::connection_id id, std::string_view bytes) {
    const auto it = clients.find(id);
    if (it == clients.end()) return;
    client& c = it->second;
    c.bytes += bytes.size();
    log.record("received", id, c.peer, bytes, true);
    if (cfg.echo) {
      // Cannot overflow: reading pauses long before the queue reaches its cap.
      std::error_code ignored;
      if (s.send(id, bytes, ignored)) log.record("sent", id, c.peer, bytes, true);
    }
    pieces.clear();
    c.lines.push(bytes, pieces);
    for (line& piece : pieces) {
      emit(c, id, piece);
      std::string().swap(piece.bytes);  // one long line is held once, not twice
    }
    if (cfg.flush_ms > 0) {
      if (c.lines.buffered() > 0)
        s.set_timer(id, std::chrono::milliseconds(cfg.flush_ms));
      else
        s.cancel_timer(id);
    }
  };
  cb.on_timer = [&](server&, server::connection_id id) {
    const auto it = clients.find(id);
    if (it == clients.end()) return;
    if (auto piece = it->second.lines.flush()) emit(it->second, id, *piece);
  };
  cb.on_close = [&](server& s, server::connection_id id, close_reason reason,
                    const std::error_code&) {
    const auto it = clients.find(id);
    if (it == clients.end()) return;
    client& c = it->second;
    pieces.clear();
    c.lines.finish(pieces);
    for (const line& piece : pieces)
      emit(c, id, piece);
    std::uint64_t invalid = 0;
    const std::string rest = c.lines.rest(invalid);
    // A character cut at the very end (after a flushed piece) never completed.
    if (!rest.empty()) {
      out.data(id, c.peer, rest, invalid, false);
      c.line_open = false;
    }
    // The last piece shown was partial (--flush-ms) and nothing came after it: the
    // line ends here, and the last piece of a line is never partial.
    if (c.line_open) out.end_of_line(id, c.peer);
    const char* why = reason == close_reason::local ? "closed" : to_string(reason);
    out.disconnected(id, c.peer, c.bytes, c.lines.invalid_total(), why);
    log.record("disconnect", id, c.peer, {}, false, std::string(",\"reason\":\"") + why + "\"");
    clients.erase(it);
    if (cfg.once && served_one) s.stop();
  };
  cb.on_turn = [&](server& s) {
    if (!output_error && !out.flush(output_error)) s.stop();
  };

  server s(std::move(l), options, std::move(cb));
  // Lines typed on standard input go to the clients (tools/server/commands.cpp).
  server_console::hooks hooks;
  hooks.clients = [&] {
    std::vector<console_client> list;
    for (const auto& entry : clients)
      list.push_back({entry.first, entry.second.peer, entry.second.bytes, entry.second.sent,
                      entry.second.since});
    std::sort(list.begin(), list.end(),
              [](const console_client& a, const console_client& b) { return a.id < b.id; });
    return list;
  };
  hooks.send = [&](std::uint64_t id, std::string_view wire, std::string_view shown, bool hex,
                   std::string& error) {
    const auto it = clients.find(id);
    std::error_code ec;
    if (it == clients.end() || !s.send(id, wire, ec)) {
      error = error_text(ec ? ec : std::make_error_code(std::errc::not_connected));
      return false;
    }
    it->second.sent += wire.size();
    log.record("sent", id, it->second.peer, wire, true);
    out.sent(id, it->second.peer, shown, hex, wire.size());
    return true;
  };
  hooks.kick = [&](std::uint64_t id) {
    if (clients.count(id) == 0) return false;
    s.close(id);
    return true;
  };
  server_console console(cfg.encoding,
                         cfg.eol == "crlf" ? "\r\n"
                         : cfg.eol == "lf" ? "\n"
                                           : "",
                         std::move(hooks));
  console_reader reader(s.loop(), [&](std::string_view line, std::uint64_t number) {
    console.execute(line, number);
  });
  running.store(&s);
  if (interrupted.load()) s.stop();
  // Printed once everything is set up: whoever reads it can connect, signal, or count
  // our descriptors at once.
  write_error("listening on " + s.local_endpoint().to_string() + "\n");
  s.run();
  running.store(nullptr);
  reader.stop();
  console_abandoned = reader.abandoned();
  if (!output_error) out.flush(output_error);
  if (output_error) {
    std::string what = "write to standard output: " + error_text(output_error);
    if (output_error == std::errc::timed_out && interrupted.load())
      what += " after the stop request; the rest of the output was dropped";
    print_error(program, what);
    return exit_failure;
  }
  return exit_ok;
}

int run(int argc, char** argv) {
  console_init();
  config cfg;
  CLI::App app(
      "Receives text from any number of TCP clients (one thread) and prints it, a "
      "line per event.",
      std::string(program));
  app.add_option("PORT", cfg.port, "Port to listen on; 0 picks a free one")
      ->default_val(7788)
      ->transform(decimal_integer(0, 65535));
  app.add_option("-b,--bind", cfg.bind,
                 "Address to listen on (default: all interfaces, IPv6 and IPv4)");
  app.add_option("--backlog", cfg.backlog, "Pending-connection queue length")
      ->default_val(128)
      ->transform(decimal_integer(1, 65535));
  app.add_option("-e,--encoding", cfg.encoding, "Wire encoding (any ICU converter name)")
      ->default_val(std::string(default_encoding));
  app.add_flag("--list-encodings", cfg.list_encodings, "Print the encoding names and exit");
  app.add_option("--format", cfg.format, "Output format")
      ->default_val("text")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--hex", cfg.hex, "Show received bytes as hex instead of text");
  app.add_flag("--echo", cfg.echo, "Send every received byte back to its sender");
  app.add_flag("--once", cfg.once, "Serve one client, then exit");
  app.add_option("--max-clients", cfg.max_clients,
                 "Clients served at once (0: no limit; more wait in the backlog)")
      ->transform(decimal_integer(0, 4294967295));
  app.add_option("--idle-timeout", cfg.idle_timeout_ms,
                 "Disconnect a client silent for SEC seconds (0: never)")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, false));
  app.add_option("--max-line", cfg.max_line, "Longest line in bytes; longer ones come in pieces")
      ->default_val(line_splitter::default_max_line)
      ->transform(decimal_integer(1, std::uint64_t{1} << 30));
  app.add_option("--flush-ms", cfg.flush_ms,
                 "Show a partial line after MS ms without new bytes (0: only at close)")
      ->type_name("MS")
      ->transform(decimal_duration(time_unit::milliseconds, false));
  app.add_option("--eol", cfg.eol, "Appended to each line typed on standard input")
      ->default_val("lf")
      ->check(CLI::IsMember({"lf", "crlf", "none"}));
  app.add_option("--line-end", cfg.line_end,
                 "What ends a received line: lf (\\n, a \\r before it dropped), cr, crlf, any")
      ->default_val("lf")
      ->check(CLI::IsMember({"lf", "cr", "crlf", "any"}));
  app.add_flag("--packets", cfg.packets,
               "Show what each read returned, as it arrived, instead of cutting lines");
  app.add_flag("--timestamps", cfg.timestamps,
               "Add the time to every event (text: local time; JSON: \"ts\", UTC)");
  app.add_option("--log", cfg.log,
                 "Append every event, both directions, to FILE as JSON lines (bytes in hex)")
      ->type_name("FILE");
  app.add_flag("--raw", cfg.raw, "Print control characters unescaped");
  app.add_flag("-q,--quiet", cfg.quiet, "No connect/disconnect events");
  app.set_version_flag("--version", version_line(program));
  app.footer(R"(Output (stdout): a line per event; the line "listening on ADDR:PORT" goes to stderr.
  [127.0.0.1:50412] + connected
  [127.0.0.1:50412] 你好，世界
  [127.0.0.1:50412] - disconnected (15 bytes)

Examples:
  xsock-server                         listen on port 7788, GBK, like the tutorial
  xsock-server 0 -e UTF-8 --echo       a free port, UTF-8, echo everything back
  xsock-server 7788 --format json -q   JSON lines, data events only
  xsock-server --once --hex 9000       one client, bytes shown as hex

Standard input: each line typed goes to every client; /help lists the commands
(/list, /to ID TEXT, /hex ID|all HEX, /kick ID; // sends a line starting with /).

Exit status: 0 normal end (also after SIGINT/SIGTERM), 1 runtime failure, 2 usage error.)");

  const int parsed = parse_command_line(app, program, console_arguments(argc, argv));
  if (parsed >= 0) return parsed;
  if (cfg.list_encodings) return list_encodings_command();
  cfg.encoding = checked_encoding(cfg.encoding);
  parse_line_end(cfg.line_end, cfg.how);
  if (cfg.packets) cfg.how = framing::packets;
  return serve(cfg);
}

}  // namespace
}  // namespace xsock::tools

int main(int argc, char** argv) {
  const int code = xsock::tools::guarded_main(xsock::tools::program,
                                              [&] { return xsock::tools::run(argc, argv); });
  // The console reader still blocked reading standard input cannot be joined; all
  // output is written (nothing is buffered), so end without running destructors.
  if (xsock::tools::console_abandoned) std::_Exit(code);
  return code;
}
