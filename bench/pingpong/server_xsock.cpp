// The ping-pong echo server on xsock::event_loop: whatever arrives is queued back with
// loop.send (written at the end of the loop turn). Default loop_options: read_size is
// already 64 KiB as the other servers' buffers, TCP_NODELAY is already on; only the
// listen backlog is raised, as for every server here. Stops on SIGTERM/SIGINT.
#include <xsock/event_loop.hpp>
#include <xsock/listener.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string_view>
#include <system_error>
#include <utility>

#include "common.hpp"

namespace {
xsock::event_loop* the_loop = nullptr;
extern "C" void on_signal(int) {
  the_loop->stop();
}  // stop() is async-signal-safe
}  // namespace

int main() {
  xsock_pingpong::ignore_sigpipe();
  try {
    xsock::event_loop::callbacks cb;
    cb.on_data = [](xsock::event_loop& loop, xsock::event_loop::id_type id,
                    std::string_view bytes) {
      // A send refused because the peer reset this turn: its on_close follows.
      std::error_code ec;
      loop.send(id, bytes, ec);
    };
    xsock::event_loop loop({}, std::move(cb));
    xsock::listener socket;
    xsock::listen_options lo;
    lo.backlog = xsock_pingpong::backlog;
    socket.listen(xsock::endpoint::loopback_v4(0), lo);
    const auto listener =
        loop.listen(std::move(socket),
                    [](xsock::event_loop&, xsock::event_loop::id_type, const xsock::endpoint&) {});
    xsock_pingpong::announce(loop.local_endpoint(listener).port());
    the_loop = &loop;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    loop.run();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xsock_pingpong_xsock: %s\n", e.what());
    return 1;
  }
  return 0;
}
