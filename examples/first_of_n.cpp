// "First of N servers to answer": connect to all of them at once on one event loop,
// keep the first connection made, cancel the rest. With blocking connects (the
// tutorial's connect) one would try them in turn and wait out each dead server's
// timeout; threads would have to wait for the losers before they could be joined.
//
//   first_of_n ADDRESS:PORT...   (e.g. 127.0.0.1:7788 [::1]:7788)
//
// Prints "first: ADDRESS:PORT in N ms" and exits 0, or each address's error and 1.
// (event_loop::connect(candidates, ...) is the gentler form: Happy Eyeballs starts
// one attempt every 250 ms rather than all at once.)
#include <xsock/xsock.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <vector>

using id_type = xsock::event_loop::id_type;

int main(int argc, char** argv) {
  std::vector<xsock::endpoint> servers;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    servers.push_back(xsock::endpoint::parse(argv[i], ec));
    if (ec) {
      std::cerr << "first_of_n: not ADDRESS:PORT: '" << argv[i] << "'\n";
      return 2;
    }
  }
  if (servers.empty()) {
    std::cerr << "usage: first_of_n ADDRESS:PORT...\n";
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  xsock::event_loop loop;
  std::map<id_type, xsock::endpoint> pending;  // attempts still running
  id_type winner = 0;
  int failed = 0;

  for (const xsock::endpoint& server : servers) {
    const id_type attempt = loop.connect(
        server, std::chrono::seconds(10),
        [&, server](xsock::event_loop& l, id_type id, const xsock::connect_result& r) {
          pending.erase(id);
          if (!r.error) {
            winner = id;
            const auto ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
            std::cout << "first: " << r.peer << " in " << ms.count() << " ms" << std::endl;
            // Closing a pending connect's id cancels it; its handler reports
            // operation_canceled on a later turn, never inside close().
            for (const auto& loser : pending)
              l.close(loser.first);
            l.close(id);  // a real client would talk now; this one only measures
            l.stop();
          } else if (winner == 0) {
            std::cerr << server << ": " << xsock::error_text(r.error) << '\n';
            if (++failed == static_cast<int>(servers.size())) l.stop();
          }
        });
    pending[attempt] = server;
  }
  loop.run();
  return winner != 0 ? 0 : 1;
}
