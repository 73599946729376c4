// A program outside the xsock tree: an echo round trip through the installed library.
#include <xsock/xsock.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  xsock::listener l;
  l.listen(xsock::endpoint::loopback_v4(0));
  std::thread server([&] {
    auto [s, peer] = l.accept(10s);
    char buf[64];
    const auto n = s.receive(buf, sizeof buf, 10s);
    s.send_all(buf, n);
  });
  xsock::stream_socket c;
  c.connect(l.local_endpoint(), 10s);
  c.send_all("ping");
  char buf[4];
  std::size_t have = 0;
  while (have < sizeof buf) {
    const auto n = c.receive(buf + have, sizeof buf - have, 10s);
    if (n == 0) break;
    have += n;
  }
  server.join();
  if (std::string(buf, have) != "ping") {
    std::cerr << "echo mismatch\n";
    return 1;
  }
  std::cout << "echo over " << l.local_endpoint() << " ok\n";
  return 0;
}
