// xsock::tls against the `openssl` command: `openssl s_client` verifies and talks to our
// server, our client verifies and talks to `openssl s_server` (TLS 1.3, and TLS 1.2
// forced by s_server). Linux only (posix_spawn); skipped, saying so, when CMake found no
// `openssl`.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "cert_factory.hpp"
#include "support.hpp"
#include "tls_support.hpp"
#include "xsock/tls_context.hpp"
#include "xsock/tls_stream.hpp"

#if defined(__linux__)
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;
#endif

namespace xsock {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using test::numeric_host;
using test::peer_text;

#if defined(__linux__) && defined(XSOCK_OPENSSL_EXECUTABLE)

// A child process (posix_spawn): stdin from a file, stdout to a pipe read here, stderr
// to a file (shown when a test fails). Killed and reaped by the destructor when still
// running: a stuck openssl cannot outlive its test.
class child_process {
 public:
  child_process(std::vector<std::string> args, const std::string& stdin_path,
                const std::string& stderr_path)
      : stderr_path_(stderr_path) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category());
    out_fd_ = fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(out_fd_);
      throw std::system_error(rc, std::generic_category(), "posix_spawn " + args[0]);
    }
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    ::close(out_fd_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Reads stdout into `out` until `done(out)` holds, stdout ends, or `timeout` runs
  // out. Returns `done(out)`.
  template <class Pred>
  bool read_until(Pred done, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (!done(out) && !out_ended_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0) break;
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const auto n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) {
        out_ended_ = true;
      } else {
        out.append(buf, static_cast<std::size_t>(n));
      }
    }
    return done(out);
  }

  // Waits for the exit (reading stdout meanwhile, so a full pipe cannot stall the
  // child): its exit status, or -1 when it had to be killed after `timeout`.
  int wait(std::chrono::milliseconds timeout) {
    read_until([](const std::string&) { return false; }, timeout);
    // stdout ended (or the time is up): the exit follows at once, or never.
    const auto deadline = clock_type::now() + (out_ended_ ? 5000ms : 0ms);
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (clock_type::now() >= deadline) break;
      // Bounded polling of a process exit: nothing here to wait on but time.
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 10);
    }
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

  std::string stderr_text() const {
    std::ifstream in(stderr_path_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::string out;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool out_ended_ = false;
  std::string stderr_path_;
};

class tls_interop_test : public test::loopback_test {
 protected:
  test::cert_factory certs;
  std::string host() const { return numeric_host(GetParam()); }

  std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = certs.path(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Our client against `openssl s_server -rev` (it answers each line reversed) with
  // `extra` options for s_server. Returns the protocol version negotiated.
  std::string talk_to_s_server(const std::vector<std::string>& extra) {
    const std::string host = numeric_host(GetParam());
    // Port 0: s_server prints the port it got ("ACCEPT 127.0.0.1:PORT") once it
    // listens, so there is no port race and no retrying to connect.
    std::vector<std::string> args{XSOCK_OPENSSL_EXECUTABLE,
                                  "s_server",
                                  "-accept",
                                  peer_text(host, 0),
                                  "-cert",
                                  certs.server.cert,
                                  "-key",
                                  certs.server.key,
                                  "-naccept",
                                  "1",
                                  "-rev",
                                  "-alpn",
                                  "http/1.1"};
    args.insert(args.end(), extra.begin(), extra.end());
    child_process server(args, "/dev/null", certs.path("s_server.err"));
    const bool listening = server.read_until(
        [](const std::string& out) {
          const auto at = out.find("ACCEPT ");
          return at != std::string::npos && out.find('\n', at) != std::string::npos;
        },
        10s);
    EXPECT_TRUE(listening) << server.out << server.stderr_text();
    if (!listening) return "";
    const auto line_start = server.out.find("ACCEPT ");
    const auto line_end = server.out.find('\n', line_start);
    const std::string line = server.out.substr(line_start, line_end - line_start);
    const auto colon = line.rfind(':');
    const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));

    tls_context client = test::client_context(certs.ca);
    client.set_alpn({"h2", "http/1.1"});
    tls_stream s(client);
    s.connect(host, port, 5s);
    const std::string version = s.protocol_version();
    EXPECT_EQ(s.alpn_protocol(), "http/1.1");
    s.send_all("hello\nworld\n");
    EXPECT_EQ(test::receive_exact(s, 12), "olleh\ndlrow\n");
    s.shutdown();
    // s_server's end (close_notify or not) is its business: only its exit is checked.
    test::receive_to_end(s);
    s.close();
    EXPECT_EQ(server.wait(10s), 0) << server.stderr_text();
    return version;
  }
};

TEST_P(tls_interop_test, openssl_s_client_verifies_and_talks_to_our_server) {
  tls_context server_ctx = test::server_context(certs.server);
  server_ctx.set_alpn({"http/1.1"});
  std::string server_got;
  std::string server_alpn = "unset";
  test::tls_server server(GetParam(), server_ctx, [&](tls_stream& s) {
    server_alpn = s.alpn_protocol();
    server_got = test::receive_exact(s, 6);
    s.send_all("echo: " + server_got);
    s.shutdown();
  });

  // -quiet keeps s_client running after its stdin ends, until our close_notify.
  child_process client({XSOCK_OPENSSL_EXECUTABLE, "s_client", "-connect",
                        peer_text(host(), server.port()), "-CAfile", certs.ca, "-verify_ip", host(),
                        "-verify_return_error", "-alpn", "h2,http/1.1", "-quiet"},
                       write_file("stdin.txt", "hello\n"), certs.path("s_client.err"));
  const int status = client.wait(10s);
  server.join();
  EXPECT_EQ(status, 0) << client.stderr_text();
  EXPECT_EQ(client.out, "echo: hello\n") << client.stderr_text();
  EXPECT_EQ(server_got, "hello\n");
  EXPECT_EQ(server_alpn, "http/1.1");
  EXPECT_EQ(server.served, 1);
}

TEST_P(tls_interop_test, openssl_s_client_refuses_our_server_for_another_name) {
  test::tls_server server(GetParam(), test::server_context(certs.other_name), nullptr);
  child_process client(
      {XSOCK_OPENSSL_EXECUTABLE, "s_client", "-connect", peer_text(host(), server.port()),
       "-CAfile", certs.ca, "-verify_ip", host(), "-verify_return_error", "-quiet"},
      write_file("stdin.txt", "hello\n"), certs.path("s_client.err"));
  const int status = client.wait(10s);
  server.join();
  EXPECT_NE(status, 0);
  EXPECT_NE(client.stderr_text().find("IP address mismatch"), std::string::npos)
      << client.stderr_text();
  // Our server saw the handshake fail (s_client's alert), and said so in one line.
  ASSERT_EQ(server.handshake_errors.size(), 1u);
  EXPECT_TRUE(test::one_line(server.handshake_messages[0])) << server.handshake_messages[0];
}

TEST_P(tls_interop_test, our_client_verifies_and_talks_to_openssl_s_server) {
  EXPECT_EQ(talk_to_s_server({}), "TLSv1.3");
}

TEST_P(tls_interop_test, our_client_speaks_tls_1_2_to_openssl_s_server) {
  EXPECT_EQ(talk_to_s_server({"-tls1_2"}), "TLSv1.2");
}

#else

class tls_interop_test : public test::loopback_test {};

TEST_P(tls_interop_test, openssl_command) {
#if !defined(__linux__)
  GTEST_SKIP() << "the openssl interop tests run on Linux only";
#else
  GTEST_SKIP() << "CMake found no openssl command (find_program(OPENSSL_EXECUTABLE openssl))";
#endif
}

#endif

XSOCK_INSTANTIATE_FAMILIES(tls_interop_test);

}  // namespace
}  // namespace xsock
