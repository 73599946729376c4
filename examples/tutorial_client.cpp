// The tutorial's client ("一、tcp客户端构建流程"), step by step with xsock.
//
//   tutorial_client [HOST [PORT]]      (default 127.0.0.1 7788)
//
// Reads one line from standard input (UTF-8), sends it as GBK, closes. Exit codes:
// 0 sent, 1 network or text error, 2 bad arguments.
#include <xsock/encoder.hpp>
#include <xsock/xsock.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "127.0.0.1";
  const std::string port_text = argc > 2 ? argv[2] : "7788";
  char* end = nullptr;
  const unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (argc > 3 || port_text.empty() || *end != '\0' || port == 0 || port > 65535) {
    std::cerr << "usage: tutorial_client [HOST [PORT]] (PORT 1-65535)\n";
    return 2;
  }
  try {
    // 1. 创建socket + 2. 链接服务器: one call. There is no socket without a
    // connection to hold, and `connect` takes a name as well as an address: it
    // resolves it and races the addresses (IPv6 and IPv4, Happy Eyeballs). Unlike
    // Python's connect, it gives up after a time limit, for all addresses together.
    xsock::stream_socket tcp_socket;
    tcp_socket.connect(host, static_cast<std::uint16_t>(port), std::chrono::seconds(10));

    // 3. 发送数据: input() is getline; .encode("gbk") is xsock::encoder. The prompt
    // goes to stderr so that standard output stays for data.
    std::cerr << "请输入要发送的数据:" << std::flush;
    std::string send_data;
    std::getline(std::cin, send_data);
    if (!send_data.empty() && send_data.back() == '\r') send_data.pop_back();  // Windows
    xsock::encoder gbk("GBK");  // strict: a character GBK lacks is an error, not '?'
    // Python's send() may send only part of the bytes (the tutorial ignores that);
    // send_all sends them all.
    tcp_socket.send_all(gbk.encode(send_data));

    // 4. 关闭套接字: close() (the destructor would do it too).
    tcp_socket.close();
  } catch (const std::exception& e) {
    // xsock::error names the operation and the address, e.g.
    // "connect 127.0.0.1:7788: connection refused".
    std::cerr << "tutorial_client: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
