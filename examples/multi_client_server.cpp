// The tutorial's "many clients" step done right. Its loop (accept, then recv until
// the client closes) serves one client at a time: "我们始终都只能同时为一个客户端服务".
// Here one thread serves every client at once: xsock::server waits on all sockets
// together and calls back whichever has data.
//
//   multi_client_server [PORT [CLIENTS]]   (default 7788; 0 picks a free port)
//
// Prints "listening on ADDRESS:PORT" on stderr, then each line a client sends,
// decoded from GBK, as "PEER: text". With CLIENTS, exits once that many have left.
#include <xsock/decoder.hpp>
#include <xsock/line_splitter.hpp>
#include <xsock/xsock.hpp>

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

// What the tutorial kept in local variables of its inner loop, now per client.
struct client {
  std::string name;                         // "127.0.0.1:50123"
  xsock::line_splitter lines{4096, "GBK"};  // bounded: a longer line comes in pieces
  xsock::decoder gbk{"GBK"};                // a character cut between reads stays whole
};

int main(int argc, char** argv) {
  unsigned long numbers[2] = {7788, 0};  // PORT, CLIENTS (0: no limit)
  for (int i = 1; i < argc; ++i) {
    char* end = argv[i];
    if (i <= 2 && std::isdigit(static_cast<unsigned char>(*argv[i])))
      numbers[i - 1] = std::strtoul(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || numbers[0] > 65535) {
      std::cerr << "usage: multi_client_server [PORT [CLIENTS]] (PORT 0-65535)\n";
      return 2;
    }
  }
  std::map<xsock::server::connection_id, client> clients;
  unsigned long gone = 0;
  auto print = [](client& c, const std::vector<xsock::line>& lines) {
    for (const xsock::line& l : lines)
      std::cout << c.name << ": " << c.gbk.decode(l.bytes) << '\n';
    std::cout << std::flush;
  };

  xsock::server::callbacks cb;
  cb.on_accept = [&](xsock::server&, auto id, const xsock::endpoint& peer) {
    clients[id].name = peer.to_string();  // accept(): a new client, its own state
  };
  cb.on_data = [&](xsock::server&, auto id, std::string_view bytes) {
    client& c = clients[id];
    print(c, c.lines.push(bytes));  // recv(): whatever arrived, cut into lines
  };
  cb.on_close = [&](xsock::server& s, auto id, xsock::close_reason, const std::error_code&) {
    client& c = clients[id];  // the empty read: flush what the client left unterminated
    print(c, c.lines.finish());
    clients.erase(id);
    if (numbers[1] != 0 && ++gone == numbers[1]) s.stop();
  };
  try {
    xsock::listener tcp_server_socket;
    xsock::listen_options options;
    options.backlog = 128;
    tcp_server_socket.listen(xsock::endpoint::any_v4(static_cast<std::uint16_t>(numbers[0])),
                             options);
    xsock::server srv(std::move(tcp_server_socket), {}, cb);
    std::cerr << "listening on " << srv.local_endpoint() << std::endl;
    srv.run();  // the `while True` of the tutorial, for every client at once
  } catch (const std::exception& e) {
    std::cerr << "multi_client_server: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
