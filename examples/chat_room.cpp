// A chat room on one xsock::event_loop: every line a client sends goes to every
// other client, prefixed with the sender's address. The room never decodes: it cuts
// GBK bytes at '\n' (safe in GBK, whose second bytes are never 0x0A) and forwards
// them as they are.
//
//   chat_room [PORT]      (default 7788; 0 picks a free port)
//
// Prints "listening on ADDRESS:PORT" on stderr, then "joined PEER" / "left PEER".
// Runs until interrupted (Ctrl+C).
#include <xsock/event_loop.hpp>
#include <xsock/line_splitter.hpp>
#include <xsock/xsock.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

using id_type = xsock::event_loop::id_type;
static xsock::event_loop* the_room = nullptr;
extern "C" void on_signal(int) {
  the_room->stop();
}  // stop() is async-signal-safe

int main(int argc, char** argv) {
  char* end = nullptr;
  const unsigned long port = argc > 1 ? std::strtoul(argv[1], &end, 10) : 7788;
  if (argc > 2 || (argc > 1 && (*argv[1] == '\0' || *end != '\0' || port > 65535))) {
    std::cerr << "usage: chat_room [PORT] (0-65535)\n";
    return 2;
  }
  struct member {
    std::string name;
    xsock::line_splitter lines{1024, "GBK"};  // bounded: longer lines go out in pieces
  };
  std::map<id_type, member> members;

  xsock::event_loop::callbacks cb;
  cb.on_data = [&](xsock::event_loop& loop, id_type from, std::string_view bytes) {
    member& sender = members[from];
    for (const xsock::line& l : sender.lines.push(bytes)) {
      const std::string message = "[" + sender.name + "] " + l.bytes + "\n";
      for (const auto& [to, m] : members) {
        if (to == from) continue;
        // A member that reads nothing while others talk fills its output queue up
        // to max_output; it is dropped rather than buffered without limit.
        std::error_code ec;
        if (!loop.send(to, message, ec)) loop.close(to, xsock::close_mode::abort);
      }
    }
  };
  cb.on_close = [&](xsock::event_loop&, id_type id, xsock::close_reason, const std::error_code&) {
    std::cerr << "left " << members[id].name << std::endl;
    members.erase(id);  // an unterminated last line is not sent: it was never said
  };
  try {
    xsock::loop_options options;
    options.max_output = 256 * 1024;
    xsock::event_loop room(options, cb);
    xsock::listener socket;
    socket.listen(xsock::endpoint::any_v4(static_cast<std::uint16_t>(port)));
    const id_type listener = room.listen(
        std::move(socket), [&](xsock::event_loop&, id_type id, const xsock::endpoint& peer) {
          members[id].name = peer.to_string();
          std::cerr << "joined " << peer << std::endl;
        });
    std::cerr << "listening on " << room.local_endpoint(listener) << std::endl;
    the_room = &room;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    room.run();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  } catch (const std::exception& e) {
    std::cerr << "chat_room: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
