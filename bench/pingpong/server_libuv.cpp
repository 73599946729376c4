// The ping-pong echo server on libuv, as libuv's own echo server (test/echo-server.c)
// does it: alloc_cb hands out a buffer of the suggested size (64 KiB), and the bytes
// read are written back from that same buffer, freed once the write completes (no
// copy). Stops on SIGTERM/SIGINT (uv_signal_t).
#include <uv.h>

#include <cstdio>
#include <cstdlib>

#include "common.hpp"

namespace {

struct write_request {
  uv_write_t req;
  uv_buf_t buf;
};

void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) {
  // The same size for every server, whatever libuv suggests (it suggests 64 KiB).
  buf->base = static_cast<char*>(std::malloc(xsock_pingpong::read_buffer_size));
  buf->len = buf->base == nullptr ? 0 : xsock_pingpong::read_buffer_size;
}

void on_closed(uv_handle_t* handle) {
  std::free(handle);
}

void on_written(uv_write_t* req, int) {
  auto* w = reinterpret_cast<write_request*>(req);
  std::free(w->buf.base);
  std::free(w);
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    auto* w = static_cast<write_request*>(std::malloc(sizeof(write_request)));
    if (w == nullptr) std::abort();
    w->buf = uv_buf_init(buf->base, static_cast<unsigned>(nread));
    if (uv_write(&w->req, stream, &w->buf, 1, on_written) != 0) {
      std::free(w->buf.base);
      std::free(w);
      uv_close(reinterpret_cast<uv_handle_t*>(stream), on_closed);
    }
    return;
  }
  std::free(buf->base);
  if (nread < 0) uv_close(reinterpret_cast<uv_handle_t*>(stream), on_closed);
}

void on_connection(uv_stream_t* server, int status) {
  if (status != 0) return;
  auto* client = static_cast<uv_tcp_t*>(std::malloc(sizeof(uv_tcp_t)));
  if (client == nullptr) std::abort();
  uv_tcp_init(server->loop, client);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(client), on_closed);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(client), on_alloc, on_read);
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
