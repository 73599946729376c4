// The ping-pong echo server on libevent, as libevent's samples do it: an
// evconnlistener, a bufferevent per connection, and a read callback that moves the
// input buffer to the output buffer (evbuffer_add_buffer, no copy). The most one read
// takes is raised from the bufferevent's 16 KiB to the 64 KiB every server here reads,
// but libevent 2.1's evbuffer_read still reads at most 4,096 bytes per call
// (EVBUFFER_MAX_READ; 2.2 adds evbuffer_set_max_read), and the output is written on
// the next loop turn, after enabling EV_WRITE: both part of libevent as it is used.
// Stops on SIGTERM/SIGINT (evsignal).
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>

#include "common.hpp"

namespace {

void on_read(bufferevent* bev, void*) {
  evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

void on_event(bufferevent* bev, short events, void*) {
  if ((events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) bufferevent_free(bev);
}

void on_accept(evconnlistener* listener, evutil_socket_t fd, sockaddr*, int, void*) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  event_base* base = evconnlistener_get_base(listener);
  bufferevent* bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) {
    evutil_closesocket(fd);
    return;
  }
  bufferevent_set_max_single_read(bev, xsock_pingpong::read_buffer_size);
  bufferevent_setcb(bev, on_read, nullptr, on_event, nullptr);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void on_signal(evutil_socket_t, short, void* base) {
  event_base_loopbreak(static_cast<event_base*>(base));
}

}  // namespace

int main() {
  xsock_pingpong::ignore_sigpipe();
  event_base* base = event_base_new();
  if (base == nullptr) return 1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  evconnlistener* listener = evconnlistener_new_bind(
      base, on_accept, nullptr, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, xsock_pingpong::backlog,
      reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (listener == nullptr) {
    std::perror("xsock_pingpong_libevent: listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(evconnlistener_get_fd(listener), reinterpret_cast<sockaddr*>(&addr), &len);
  event* term = evsignal_new(base, SIGTERM, on_signal, base);
  event* interrupt = evsignal_new(base, SIGINT, on_signal, base);
  event_add(term, nullptr);
  event_add(interrupt, nullptr);
  xsock_pingpong::announce(ntohs(addr.sin_port));
  event_base_dispatch(base);
  event_free(term);
  event_free(interrupt);
  evconnlistener_free(listener);
  event_base_free(base);
  return 0;
}
