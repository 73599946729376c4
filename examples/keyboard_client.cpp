// A client that reads the keyboard and the socket at once. The tutorial's client
// sends one line and closes; a real one must also show what the server says while
// the user is typing. A blocking getline cannot wait on a socket, so the event loop
// owns the connection and a reader thread only reads lines and post()s them to it.
//
//   keyboard_client HOST PORT
//
// Lines typed (UTF-8) go out as GBK; what the server sends is printed, decoded from
// GBK, as it arrives. End of input (Ctrl+D, Ctrl+Z on Windows) half-closes: the
// server still answers. Exits when the server closes: 0 on a normal close, 1 on a
// reset or error (or a failed connect), 2 on bad arguments.
#include <xsock/decoder.hpp>
#include <xsock/encoder.hpp>
#include <xsock/xsock.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  char* end = nullptr;
  const unsigned long port = argc == 3 ? std::strtoul(argv[2], &end, 10) : 0;
  if (argc != 3 || *argv[2] == '\0' || *end != '\0' || port == 0 || port > 65535) {
    std::cerr << "usage: keyboard_client HOST PORT\n";
    return 2;
  }
  int exit_code = 1;
  xsock::decoder gbk("GBK");  // loop thread only
  xsock::event_loop::id_type conn = 0;

  xsock::event_loop::callbacks cb;
  cb.on_data = [&](xsock::event_loop&, auto, std::string_view bytes) {
    std::cout << gbk.decode(bytes) << std::flush;
  };
  cb.on_close = [&](xsock::event_loop& loop, auto, xsock::close_reason why,
                    const std::error_code& ec) {
    std::cout << gbk.finish() << std::flush;
    if (why == xsock::close_reason::closed) {
      exit_code = 0;
    } else {
      std::cerr << "keyboard_client: connection " << to_string(why)
                << (ec ? ": " + xsock::error_text(ec) : std::string()) << '\n';
    }
    loop.stop();
  };
  xsock::event_loop loop({}, cb);
  // The keyboard reader: it reads lines and hands them to the loop thread, which alone
  // may send.
  std::atomic<bool> reader_done{false};
  std::thread reader;
  const auto read_keyboard = [&] {
    xsock::encoder to_gbk("GBK");  // this thread's own
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::error_code ec;
      std::string bytes = to_gbk.encode(line + "\n", ec);
      if (ec) {
        std::cerr << "keyboard_client: not sent: " << xsock::error_text(ec) << '\n';
        continue;
      }
      // Lines typed while the connect is still going are queued on its id and sent
      // once connected. If the connect failed or the server has gone meanwhile, the
      // send fails quietly (on_done or on_close said so).
      loop.post([&conn, bytes = std::move(bytes)](xsock::event_loop& l) {
        std::error_code gone;
        l.send(conn, bytes, gone);
      });
    }
    // End of input: once what is queued is sent, shut down sending (the server reads
    // end of stream and may still answer); before the connect completes, that waits
    // for it too.
    loop.post([&conn](xsock::event_loop& l) { l.shutdown_send(conn); });
    reader_done = true;
  };
  // Resolves HOST on another thread and races its addresses (Happy Eyeballs); 10 s for
  // all of them. The id is known at once, so the keyboard is read from now on: lines
  // typed meanwhile are queued and go out once connected (dropped if it fails).
  conn = loop.connect(argv[1], static_cast<std::uint16_t>(port), std::chrono::seconds(10),
                      [&](xsock::event_loop& l, auto, const xsock::connect_result& r) {
                        if (r.error) {
                          std::cerr << "keyboard_client: " << r.message << '\n';
                          l.stop();
                        }
                      });
  reader = std::thread(read_keyboard);

  loop.run();  // until on_close (or a failed connect) stops it
  std::cout << std::flush;
  if (!reader.joinable()) return exit_code;
  if (reader_done) {
    reader.join();
    return exit_code;
  }
  // The reader is still blocked reading the keyboard, and nothing portable interrupts
  // a read of standard input: leave without waiting for it (or destroying the loop it
  // posts to).
  std::_Exit(exit_code);
}
