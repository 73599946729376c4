// The tutorial's last blocking server ("二、tcp服务器构建流程", the version that
// notices a client's close), with xsock: one client at a time.
//
//   tutorial_server [PORT [CLIENTS]]   (default 7788; 0 picks a free port)
//
// Prints "listening on ADDRESS:PORT" on stderr once it listens, then for each client
// everything it sends, decoded from GBK, as one line on stdout. With CLIENTS, exits
// after serving that many (tests use it); otherwise serves forever.
#include <xsock/decoder.hpp>
#include <xsock/xsock.hpp>

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  unsigned long numbers[2] = {7788, 0};  // PORT, CLIENTS (0: no limit)
  for (int i = 1; i < argc; ++i) {
    char* end = argv[i];
    if (i <= 2 && std::isdigit(static_cast<unsigned char>(*argv[i])))
      numbers[i - 1] = std::strtoul(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || numbers[0] > 65535) {
      std::cerr << "usage: tutorial_server [PORT [CLIENTS]] (PORT 0-65535)\n";
      return 2;
    }
  }
  try {
    // socket + bind + listen: one call. ("", 7788) is "every IPv4 address".
    xsock::listener tcp_server_socket;
    xsock::listen_options options;
    options.backlog = 128;  // tcp_server_socket.listen(128)
    tcp_server_socket.listen(xsock::endpoint::any_v4(static_cast<std::uint16_t>(numbers[0])),
                             options);
    std::cerr << "listening on " << tcp_server_socket.local_endpoint() << std::endl;

    for (unsigned long served = 0; numbers[1] == 0 || served < numbers[1]; ++served) {
      // accept: a new socket for this one client (point 5 of the summary).
      auto [client_socket, client_addr] = tcp_server_socket.accept();
      std::cerr << "client " << client_addr << " connected" << std::endl;

      // recv(1024) may cut a two-byte GBK character in half; recv_data.decode("gbk")
      // would then fail. One decoder per connection keeps the first half until the
      // second arrives.
      xsock::decoder gbk("GBK");
      std::cout << "接收到的数据为:";
      char recv_data[1024];
      for (;;) {
        std::error_code ec;
        const std::size_t n = client_socket.receive(recv_data, sizeof recv_data, ec);
        if (ec) {  // a reset: the tutorial's recv would raise; we go on to the next client
          std::cerr << "client " << client_addr << ": " << xsock::error_text(ec) << '\n';
          break;
        }
        if (n == 0) break;  // point 9: an empty read means the client closed
        std::cout << gbk.decode(std::string_view(recv_data, n)) << std::flush;
      }
      std::cout << gbk.finish() << std::endl;  // a half character left over becomes U+FFFD
      client_socket.close();
      std::cerr << "client " << client_addr << " closed" << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "tutorial_server: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
