// What every ping-pong echo server shares, so that they differ only in the library:
// the same read buffer size, the same listen backlog (1,000 sessions connect at once)
// and the same announcement on stderr as bench/baselines ("listening on
// 127.0.0.1:PORT"), which bench/pingpong.py waits for.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdio>

namespace xsock_pingpong {

// Bytes read per read call wherever the library lets us choose (xsock's default
// read_size is this too).
constexpr std::size_t read_buffer_size = 64 * 1024;

// Above the client's 1,000 simultaneous connects, so none waits for a SYN retry.
constexpr int backlog = 4096;

// A client that closes while a reply is being written must not kill the server: not
// every library sends with MSG_NOSIGNAL (libevent and libuv write(2)).
inline void ignore_sigpipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

inline void announce(unsigned port) {
  std::fprintf(stderr, "listening on 127.0.0.1:%u\n", port);
  std::fflush(stderr);
}

}  // namespace xsock_pingpong
