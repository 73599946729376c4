// A TCP proxy on one xsock::event_loop: each client gets its own connection to the
// target, and bytes are relayed both ways at once, as they come.
//
//   proxy LISTEN_PORT TARGET_HOST TARGET_PORT     (LISTEN_PORT 0 picks a free port)
//
// Prints "listening on ADDRESS:PORT" on stderr, then one line per failed connect to
// the target. Runs until interrupted (Ctrl+C).
//
// What it shows:
// - the default loop options are enough: backpressure follows the data (a client that
//   does not read its download pauses the target's side, not its own upload), so
//   memory stays bounded and nothing deadlocks;
// - the pairing lives in each connection's context slot, not in maps keyed by id;
// - the client's bytes are sent to the target's id before that connect completes
//   (queued, then sent once connected);
// - half-close in both directions: a side's end of stream becomes a shutdown of the
//   other side's sending, once what is queued for it is sent; the pair is closed
//   when both directions have ended.
#include <xsock/xsock.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

using id_type = xsock::event_loop::id_type;
static xsock::event_loop* the_proxy = nullptr;
extern "C" void on_signal(int) {
  the_proxy->stop();
}  // stop() is async-signal-safe

namespace {

// One end of a relayed pair: each connection knows the other.
struct relay_end {
  id_type other = 0;
  bool ended = false;  // this side's peer sent end of stream
};

bool parse_port(const char* text, bool zero_ok, std::uint16_t& port) {
  char* end = nullptr;
  const unsigned long value = std::strtoul(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value > 65535 || (value == 0 && !zero_ok)) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t listen_port = 0;
  std::uint16_t target_port = 0;
  if (argc != 4 || !parse_port(argv[1], true, listen_port) ||
      !parse_port(argv[3], false, target_port)) {
    std::cerr << "usage: proxy LISTEN_PORT TARGET_HOST TARGET_PORT\n";
    return 2;
  }
  const std::string target_host = argv[2];

  xsock::event_loop::callbacks cb;
  cb.on_data = [](xsock::event_loop& loop, id_type id, std::string_view bytes) {
    const relay_end* me = loop.context<relay_end>(id);
    if (me == nullptr) return;
    // The loop records this as a flow from `id` into `other`: when `other`'s queue
    // grows past pause_reading_above, `id` is no longer read until it drains. So a
    // send is refused only if the other side is already gone.
    std::error_code ec;
    if (!loop.send(me->other, bytes, ec)) {
      loop.close(id, xsock::close_mode::abort);
      loop.close(me->other, xsock::close_mode::abort);
    }
  };
  cb.on_end_of_stream = [](xsock::event_loop& loop, id_type id) {
    relay_end* me = loop.context<relay_end>(id);
    if (me == nullptr) return;
    me->ended = true;
    // Passes the half-close on, after the bytes queued for the other side (even if
    // that side is still connecting).
    loop.shutdown_send(me->other);
    const relay_end* other = loop.context<relay_end>(me->other);
    if (other == nullptr || other->ended) {
      // Both directions are done: close both once their queues are sent.
      loop.close(id);
      loop.close(me->other);
    }
  };
  cb.on_close = [](xsock::event_loop& loop, id_type id, xsock::close_reason why,
                   const std::error_code&) {
    // A reset, an error or an idle timeout on one side ends the other at once; a
    // normal close of both came from on_end_of_stream.
    if (why == xsock::close_reason::local || why == xsock::close_reason::closed) return;
    if (const relay_end* me = loop.context<relay_end>(id))
      loop.close(me->other, xsock::close_mode::abort);
  };

  try {
    xsock::event_loop proxy({}, cb);
    xsock::listener socket;
    socket.listen(xsock::endpoint::any_v4(listen_port));
    const id_type listener = proxy.listen(
        std::move(socket), [&](xsock::event_loop& loop, id_type client, const xsock::endpoint&) {
          const id_type target =
              loop.connect(target_host, target_port, std::chrono::seconds(10),
                           [](xsock::event_loop& l, id_type self, const xsock::connect_result& r) {
                             if (!r.error) return;
                             std::cerr << "proxy: " << r.message << std::endl;
                             // Nothing to relay to (what the client sent meanwhile was dropped):
                             // the client goes too. The target's context is still here; it is
                             // destroyed once this returns.
                             if (const relay_end* me = l.context<relay_end>(self))
                               l.close(me->other, xsock::close_mode::abort);
                           });
          loop.emplace_context<relay_end>(client, relay_end{target});
          loop.emplace_context<relay_end>(target, relay_end{client});
        });
    std::cerr << "listening on " << proxy.local_endpoint(listener) << std::endl;
    the_proxy = &proxy;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    proxy.run();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  } catch (const std::exception& e) {
    std::cerr << "proxy: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
