// The ping-pong echo server on POCO Net, as POCO's reactor samples do it: one
// SocketReactor (epoll through PollSet on Linux) run by one thread, a SocketAcceptor
// that makes a handler per connection, and the handler's ReadableNotification
// callback: receiveBytes into its 64 KiB buffer, sendBytes back.
//
// Fairness: the reactor's sockets are blocking, so sendBytes would stall the whole
// reactor on a peer that does not read. In ping-pong each session has at most one
// message (<= 16 KiB) in flight, which the kernel's socket buffer always takes, so it
// never waits here; a general server would queue and wait for WritableNotification
// as POCO's EchoServer sample does with its FIFO buffers (more work per message).
//
// The main thread only waits for SIGTERM/SIGINT (sigwait) and then stops the reactor:
// SocketReactor::stop is not async-signal-safe.
#include <Poco/NObserver.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAcceptor.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/SocketNotification.h>
#include <Poco/Net/SocketReactor.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Thread.h>

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <exception>

#include "common.hpp"

namespace {

class echo_handler {
 public:
  echo_handler(Poco::Net::StreamSocket& socket, Poco::Net::SocketReactor& reactor)
      : socket_(socket), reactor_(reactor) {
    socket_.setNoDelay(true);
    reactor_.addEventHandler(socket_, observer(*this, &echo_handler::on_readable));
  }
  ~echo_handler() {
    reactor_.removeEventHandler(socket_, observer(*this, &echo_handler::on_readable));
  }
  echo_handler(const echo_handler&) = delete;
  echo_handler& operator=(const echo_handler&) = delete;

  void on_readable(const Poco::AutoPtr<Poco::Net::ReadableNotification>&) {
    try {
      const int n = socket_.receiveBytes(buffer_, sizeof buffer_);
      if (n > 0) {
        socket_.sendBytes(buffer_, n);
        return;
      }
    } catch (const Poco::Exception&) {
      // reset by the peer: the connection ends as on end of stream
    }
    delete this;
  }

 private:
  using observer = Poco::NObserver<echo_handler, Poco::Net::ReadableNotification>;
  Poco::Net::StreamSocket socket_;
  Poco::Net::SocketReactor& reactor_;
  char buffer_[xsock_pingpong::read_buffer_size];
};

}  // namespace

int main() {
  xsock_pingpong::ignore_sigpipe();
  // Blocked before any thread starts, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0),
                                   xsock_pingpong::backlog);
    Poco::Net::SocketReactor reactor;
    Poco::Net::SocketAcceptor<echo_handler> acceptor(socket, reactor);
    Poco::Thread thread;
    thread.start(reactor);
    xsock_pingpong::announce(socket.address().port());
    int sig = 0;
    sigwait(&stop_signals, &sig);
    reactor.stop();
    thread.join();
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "xsock_pingpong_poco: %s\n", e.displayText().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xsock_pingpong_poco: %s\n", e.what());
    return 1;
  }
  return 0;
}
