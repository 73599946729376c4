// The ping-pong echo server on libuv: each connection reads into its own 64 KiB
// buffer (alloc_cb hands it out) and writes the bytes back with uv_try_write, queuing
// with uv_write (from a copy) only what the socket did not take at once. libuv's own
// echo server (test/echo-server.c) mallocs a buffer per read and frees it when its
// write completes; with many sessions that frees megabytes per loop turn, which glibc
// hands back to the kernel (heap trimming) and faults in again on the next turn: the
// benchmark would measure malloc, not libuv (the same pattern cost it 6x here). Stops
// on SIGTERM/SIGINT (uv_signal_t).
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.hpp"

namespace {

struct connection {
  uv_tcp_t tcp;  // first: the handle's address is the connection's
  char buffer[xsock_pingpong::read_buffer_size];
};

struct write_request {
  uv_write_t req;
  uv_buf_t buf;
};

void on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* c = reinterpret_cast<connection*>(handle);
  *buf = uv_buf_init(c->buffer, sizeof c->buffer);
}

void on_closed(uv_handle_t* handle) {
  delete reinterpret_cast<connection*>(handle);
}

void on_written(uv_write_t* req, int) {
  auto* w = reinterpret_cast<write_request*>(req);
  std::free(w->buf.base);
  std::free(w);
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_closed);
    return;
  }
  auto size = static_cast<std::size_t>(nread);
  uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(size));
  const int sent = uv_try_write(stream, &out, 1);
  if (sent > 0) size -= static_cast<std::size_t>(sent);
  if (size == 0) return;
  // UV_EAGAIN, or a partial write: the rest goes through the write queue, from a copy
  // (the connection's buffer takes the next read).
  const std::size_t skip = sent > 0 ? static_cast<std::size_t>(sent) : 0;
  auto* w = static_cast<write_request*>(std::malloc(sizeof(write_request)));
  char* copy = static_cast<char*>(std::malloc(size));
  if (w == nullptr || copy == nullptr) std::abort();
  std::memcpy(copy, buf->base + skip, size);
  w->buf = uv_buf_init(copy, static_cast<unsigned>(size));
  if (uv_write(&w->req, stream, &w->buf, 1, on_written) != 0) {
    std::free(copy);
    std::free(w);
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_closed);
  }
}

void on_connection(uv_stream_t* server, int status) {
  if (status != 0) return;
  auto* c = new connection;
  uv_tcp_init(server->loop, &c->tcp);
  auto* stream = reinterpret_cast<uv_stream_t*>(&c->tcp);
  if (uv_accept(server, stream) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(stream, on_alloc, on_read);
}

void on_signal(uv_signal_t* handle, int) {
  uv_stop(handle->loop);
}

void fail(const char* what, int rc) {
  std::fprintf(stderr, "xsock_pingpong_libuv: %s: %s\n", what, uv_strerror(rc));
  std::exit(1);
}

}  // namespace

int main() {
  xsock_pingpong::ignore_sigpipe();
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", 0, &addr);
  int rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc != 0) fail("bind", rc);
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), xsock_pingpong::backlog, on_connection);
  if (rc != 0) fail("listen", rc);
  int len = sizeof addr;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len);
  uv_signal_t term;
  uv_signal_t interrupt;
  uv_signal_init(loop, &term);
  uv_signal_init(loop, &interrupt);
  uv_signal_start(&term, on_signal, SIGTERM);
  uv_signal_start(&interrupt, on_signal, SIGINT);
  xsock_pingpong::announce(ntohs(addr.sin_port));
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
