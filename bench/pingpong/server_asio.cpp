// The ping-pong echo server on standalone Asio, as Asio's own example
// (asio/example/cpp11/echo/async_tcp_echo_server.cpp): one io_context, a session per
// connection that async_read_some's into its buffer and async_write's it back, then
// reads again. The buffer is 64 KiB as everywhere here (the example's is 1 KiB).
// Stops on SIGTERM/SIGINT (asio::signal_set).
#include <asio.hpp>

#include <array>
#include <cstdio>
#include <exception>
#include <memory>
#include <utility>

#include "common.hpp"

using asio::ip::tcp;

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket socket) : socket_(std::move(socket)) {}
  void start() { do_read(); }

 private:
  void do_read() {
    auto self(shared_from_this());
    socket_.async_read_some(asio::buffer(data_),
                            [this, self](std::error_code ec, std::size_t length) {
                              if (!ec) do_write(length);
                            });
  }
  void do_write(std::size_t length) {
    auto self(shared_from_this());
    asio::async_write(socket_, asio::buffer(data_, length),
                      [this, self](std::error_code ec, std::size_t) {
                        if (!ec) do_read();
                      });
  }

  tcp::socket socket_;
  std::array<char, xsock_pingpong::read_buffer_size> data_;
};

class server {
 public:
  explicit server(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0), true) {
    acceptor_.listen(xsock_pingpong::backlog);
    do_accept();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  void do_accept() {
    acceptor_.async_accept([this](std::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<session>(std::move(socket))->start();
      }
      do_accept();
    });
  }

  tcp::acceptor acceptor_;
};

}  // namespace

int main() {
  xsock_pingpong::ignore_sigpipe();
  try {
    asio::io_context io(1);  // one thread: Asio may skip its locking
    server s(io);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code&, int) { io.stop(); });
    xsock_pingpong::announce(s.port());
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xsock_pingpong_asio: %s\n", e.what());
    return 1;
  }
  return 0;
}
