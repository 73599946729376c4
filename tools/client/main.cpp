// xsock-client: the tutorial's TCP client on xsock::event_loop. Sends each -m message,
// or each line of standard input as it is read, in the wire encoding, and prints what
// comes back as it arrives. One loop thread owns the connection; a reader thread reads
// standard input (a terminal, a pipe, a Windows console: input_lines over console.hpp's
// read_input), converts each line and posts its wire bytes to the loop. At the end of input the
// client half-closes and prints replies until the server closes (at most --wait). When
// the server closes first, the loop notices at once, whatever the reader is doing.
//
// The parts, one file pair each: client_options (the command line), client_session
// (the connection, on the loop thread), input_reader (the reader thread: stdin,
// --file, -m), reply_printer (the views of what comes back). This file wires them.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client_options.hpp"
#include "client_session.hpp"
#include "console.hpp"
#include "event_log.hpp"
#include "input_file.hpp"
#include "input_reader.hpp"
#include "tool_support.hpp"
#include "tool_tls.hpp"
#include "udp_session.hpp"
#include "xsock/encodings.hpp"
#include "xsock/error.hpp"
#include "xsock/event_loop.hpp"

namespace xsock::tools::client {
namespace {

// The loop Ctrl+C stops (stop() is async-signal-safe; the pointer is lock-free).
std::atomic<event_loop*> running_loop{nullptr};
void stop_running_loop() {
  if (event_loop* loop = running_loop.load()) loop->stop();
}

// Set when the reader was left blocked in read(): main ends with _Exit.
bool reader_abandoned = false;

// Checks what only running can check (encodings, -m, --file), then runs the session on
// the loop and the input reader on its thread until the end; returns the exit status.
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
  const std::string eol = eol_bytes(cfg.eol);
  // Messages are in the local encoding, as replies are (--local-encoding included).
  set_error_encoding(local);

  const std::vector<std::string> encoded = encode_messages(cfg, wire, eol, argument_encoding());
  std::size_t messages_size = 0;
  for (const std::string& bytes : encoded)
    messages_size += bytes.size();
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

  // --tls: the files are loaded (and checked) before connecting, as --file is.
  std::unique_ptr<tls_setup> tls;
  if (cfg.tls.on) {
    tls = std::make_unique<tls_setup>(cfg.tls, tls_end::client);
    if (cfg.tls.insecure)
      print_error(program,
                  "warning: --insecure: the server's certificate is not checked (the connection "
                  "is encrypted but not authenticated: anyone in the path can read or change it)");
  }

  auto state = std::make_shared<shared_state>();
  if (typing(cfg) && error_is_terminal()) state->shown.enable(output_is_terminal());
  // --udp: where the datagrams go, known before anything is sent (its family sets the
  // size limit every -m is checked against first).
  endpoint datagrams_to;
  udp_session* datagram_client = nullptr;
  if (cfg.udp) {
    datagrams_to = udp_destination(cfg);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      const std::size_t size = encoded[i].size() + (encoded[i].empty() ? 0 : signature.size());
      if (size > datagram_limit(datagrams_to))
        throw std::runtime_error("message " + std::to_string(i + 1) +
                                 " not sent: " + oversize_message(size, datagrams_to));
    }
    auto udp = std::make_unique<udp_session>(cfg, wire, local, encoded, signature, state->flow,
                                             state->shown, datagrams_to);
    datagram_client = udp.get();
    state->sink = udp.get();
    state->datagram_client = std::move(udp);
  } else {
    state->client = std::make_unique<session>(cfg, wire, local, encoded, signature, state->flow,
                                              state->shown, tls.get());
    state->sink = state->client.get();
  }
  loop_options options;
  // Replies are always read, however much input waits to be sent (the reader thread
  // already holds the input back).
  options.pause_reading_above = std::numeric_limits<std::size_t>::max();
  // -m messages are queued a round at once; input arrives in pieces of at most
  // max_in_flight.
  options.max_output = 2 * messages_size + std::size_t{4} * max_in_flight + signature.size();
  // The client decides itself when queued output has had its chance; Ctrl+C is at once.
  options.stop_linger = std::chrono::milliseconds(0);
  if (datagram_client) options.max_output += encoded.size() * signature.size() + 2 * 65536;
  // --tls: the queue holds records, each send one or more (16 KiB at most) with its
  // header and tag: room for the records of two rounds of -m and of the input in flight.
  constexpr std::size_t record_overhead = 64;
  if (tls) options.max_output += (2 * encoded.size() + 64) * record_overhead;
  state->loop = std::make_unique<event_loop>(
      options, datagram_client ? datagram_client->callbacks() : state->client->callbacks());
  event_loop& loop = *state->loop;
  if (datagram_client)
    datagram_client->start(loop, open_udp_socket(cfg, datagrams_to));
  else
    state->client->connect(loop);

  std::thread reader;
  if (cfg.messages.empty()) {
    const bool datagrams = cfg.udp;
    reader = std::thread([state, wire, local, eol, file, &cfg, datagrams, datagrams_to] {
      input_reader(state, wire, local, eol, cfg.hex_input, file, cfg.file, datagrams, datagrams_to)
          .run();
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

  const int code =
      datagram_client ? datagram_client->exit_code(loop) : state->client->exit_code(loop);
  const std::string& message =
      datagram_client ? datagram_client->message() : state->client->message();
  if (!message.empty()) {
    if (code == exit_ok) {
      print_error(program, message);
    } else {
      throw std::runtime_error(message);
    }
  }
  return code;
}

int run(int argc, char** argv) {
  console_init();
  config cfg;
  const int parsed = parse_options(console_arguments(argc, argv), cfg);
  if (parsed >= 0) return parsed;
  return run_client(cfg);
}

}  // namespace
}  // namespace xsock::tools::client

int main(int argc, char** argv) {
  namespace client = xsock::tools::client;
  const int code =
      xsock::tools::guarded_main(client::program, [&] { return client::run(argc, argv); });
  // A reader thread still blocked reading standard input cannot be joined, and exit()
  // would destroy what it may touch once it wakes: everything is written (the console
  // functions do not buffer), so the process ends here without running destructors.
  // A --log writer blocked for good (a FIFO nobody reads) is left behind the same way.
  const bool logs_done = xsock::tools::finish_event_logs();
  if (client::reader_abandoned || !logs_done) std::_Exit(code);
  return code;
}
