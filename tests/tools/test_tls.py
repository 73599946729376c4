"""--tls in xsock-server and xsock-client (issue 22): the two tools over TLS, what they
say when a certificate or a name does not check out, their usage errors, and interop
with `openssl s_client` and `openssl s_server`.

The certificates are made at test time with the `openssl` command in a temporary
folder (a CA, a server certificate for localhost, 127.0.0.1 and ::1 signed by it, and a
self-signed one nobody trusts); nothing secret is committed. A build without TLS (the
MinGW build under Wine) skips the TLS classes, saying why, and runs `NoTls`.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

import harness
from harness import SOON, Server, run_client, run_server

NIHAO = "你好，世界"
NIHAO_GBK = NIHAO.encode("gbk")
CONNECTED = re.compile(r"^\[(127\.0\.0\.1:\d+)\] \+ connected$")


def tls_built():
    """The tools were built with TLS: their help does not say they were built without."""
    if not harness.SERVER:
        return False
    if tls_built.cached is None:
        out = run_server("--help")
        tls_built.cached = b"--tls" in out.stdout and b"built without TLS" not in out.stdout
    return tls_built.cached


tls_built.cached = None

_certs = None


class Certs:
    """A test CA, a server certificate it signed (localhost, 127.0.0.1, ::1), and an
    untrusted self-signed one (localhost, 127.0.0.1), made by the openssl command."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="xsock-tls-test-")
        self.ca = self.path("ca.pem")
        self.server_cert, self.server_key = self.path("server.pem"), self.path("server.key")
        self.self_cert, self.self_key = self.path("self.pem"), self.path("self.key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-x509", *ec, "-keyout", self.path("ca.key"), "-out", self.ca,
                      "-days", "2", "-subj", "/CN=xsock test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._openssl("req", *ec, "-keyout", self.server_key, "-out", self.path("server.csr"),
                      "-subj", "/CN=localhost")
        with open(self.path("leaf.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                    "basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n")
        self._openssl("x509", "-req", "-in", self.path("server.csr"), "-CA", self.ca,
                      "-CAkey", self.path("ca.key"), "-set_serial", "0x5eed", "-days", "2",
                      "-out", self.server_cert, "-extfile", self.path("leaf.ext"))
        self._openssl("req", "-x509", *ec, "-keyout", self.self_key, "-out", self.self_cert,
                      "-days", "2", "-subj", "/CN=localhost",
                      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=SOON)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def certs(test):
    """The module's certificates, made on first use; skips `test` (saying why) where
    the build has no TLS or there is no openssl command."""
    global _certs
    if not tls_built():
        test.skipTest("this build has no TLS (xsock-server --help: built without TLS)")
    if shutil.which("openssl") is None:
        test.skipTest("no openssl command to make the test certificates")
    if _certs is None:
        _certs = Certs()
    return _certs


def tearDownModule():
    if _certs is not None:
        _certs.remove()


def tls_server(c, *args, cert=None, key=None, **kw):
    return Server("--tls", "--cert", cert or c.server_cert, "--key", key or c.server_key, *args,
                  **kw)


def one_error_line(test, result, pattern):
    """`result` (a finished tool) said exactly one line on stderr, matching `pattern`."""
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    test.assertEqual(len(lines), 1, lines)
    test.assertRegex(lines[0], pattern)
    return lines[0]


class TlsSessions(unittest.TestCase):
    def setUp(self):
        self.c = certs(self)

    def test_gbk_lines_reach_the_server_over_tls(self):
        with tls_server(self.c) as srv:
            r = run_client("--tls", "--ca", self.c.ca, "127.0.0.1", srv.port, "-m", NIHAO,
                           "-m", "second line")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            m = CONNECTED.match(srv.line())
            self.assertIsNotNone(m)
            peer = m.group(1)
            self.assertEqual(srv.line(), f"[{peer}] {NIHAO}")
            self.assertEqual(srv.line(), f"[{peer}] second line")
            size = len(NIHAO_GBK) + 1 + len("second line") + 1
            self.assertEqual(srv.line(), f"[{peer}] - disconnected ({size} bytes)")

    def test_host_name_localhost_checks_against_the_certificate(self):
        with tls_server(self.c, "-b", "127.0.0.1") as srv:
            r = run_client("--tls", "--ca", self.c.ca, "localhost", srv.port, "-m", "by name")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIsNotNone(CONNECTED.match(srv.line()))
            self.assertTrue(srv.line().endswith("] by name"))

    def test_echo_and_json_over_tls(self):
        with tls_server(self.c, "--echo", "--format", "json", "-e", "UTF-8") as srv:
            r = run_client("--tls", "--ca", self.c.ca, "-e", "UTF-8", "127.0.0.1", srv.port,
                           "-m", "hello", "-m", NIHAO)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode("utf-8").splitlines(), ["hello", NIHAO])
            events = srv.events_until(lambda e: e["event"] == "disconnect")
            self.assertEqual([e["text"] for e in events if e["event"] == "data"],
                             ["hello", NIHAO])
            self.assertEqual(events[-1]["reason"], "closed")
            self.assertEqual(events[-1]["bytes"], len(f"hello\n{NIHAO}\n".encode()))

    def test_console_lines_reach_a_tls_client(self):
        # The server's console sends over TLS too: a typed line (UTF-8 on standard input)
        # reaches the client in GBK and is printed there.
        with tls_server(self.c, stdin=subprocess.PIPE) as srv:
            client = harness.start_client("--tls", "--ca", self.c.ca, "127.0.0.1", srv.port)
            try:
                replies = harness._LineReader(client.stdout)
                self.assertIsNotNone(CONNECTED.match(srv.line()))
                srv.type(NIHAO.encode("utf-8") + b"\n")
                self.assertRegex(srv.line(), rf"\] > {NIHAO}$")
                self.assertEqual(replies.next(SOON), NIHAO.encode("utf-8") + b"\n")
                client.stdin.close()
                self.assertEqual(client.wait(SOON), 0)
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait(SOON)
                client.stderr.close()

    def test_a_file_of_4_mib_streams_over_tls(self):
        # Flow control counts what went out through the TLS layer: the whole file arrives
        # and the client ends.
        size = 4 << 20
        path = os.path.join(self.c.dir, "big.bin")
        with open(path, "wb") as f:
            f.write(b"a" * size)
        with tls_server(self.c, "--format", "json", "--once") as srv:
            r = run_client("--tls", "--ca", self.c.ca, "--file", path, "127.0.0.1", srv.port,
                           timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            events = srv.events_until(lambda e: e["event"] == "disconnect", timeout=120)
            self.assertEqual(events[-1]["bytes"], size)
            self.assertEqual(events[-1]["reason"], "closed")
            self.assertEqual(srv.wait(), 0)

    def test_insecure_connects_and_warns(self):
        with tls_server(self.c, cert=self.c.self_cert, key=self.c.self_key) as srv:
            r = run_client("--tls", "--insecure", "127.0.0.1", srv.port, "-m", "hi")
            self.assertEqual(r.returncode, 0, r.stderr)
            line = one_error_line(self, r, r"^xsock-client: warning: --insecure: ")
            self.assertIn("not checked", line)
            self.assertIsNotNone(CONNECTED.match(srv.line()))
            self.assertTrue(srv.line().endswith("] hi"))

    def test_alpn_agreed_is_said(self):
        with tls_server(self.c, "--alpn", "x-other,xsock/1") as srv:
            r = run_client("--tls", "--ca", self.c.ca, "--alpn", "xsock/1,x-none", "127.0.0.1",
                           srv.port, "-m", "hi")
            self.assertEqual(r.returncode, 0, r.stderr)
            one_error_line(self, r, r"^xsock-client: ALPN xsock/1$")
            r = run_client("--tls", "--ca", self.c.ca, "--alpn", "x-none", "127.0.0.1", srv.port,
                           "-m", "hi")
            self.assertEqual(r.returncode, 0, r.stderr)
            one_error_line(self, r, r"^xsock-client: no ALPN protocol agreed$")

    def test_reconnect_makes_a_new_handshake(self):
        # --reconnect against a server that is not there yet: the second connection's
        # handshake is made from a fresh layer.
        port = harness.closed_port()
        client = harness.start_client("--tls", "--ca", self.c.ca, "--reconnect=0.05",
                                      "--backoff", "none", "127.0.0.1", port)
        try:
            with tls_server(self.c, "-b", "127.0.0.1", port=port) as srv:
                self.assertIsNotNone(CONNECTED.match(srv.line()))
                # Standard input is in the local encoding (UTF-8), sent as GBK.
                client.stdin.write(NIHAO.encode("utf-8") + b"\n")
                client.stdin.close()
                self.assertRegex(srv.line(), rf"\] {NIHAO}$")
                self.assertEqual(client.wait(SOON), 0)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(SOON)
            client.stdout.close()
            client.stderr.close()


class TlsErrors(unittest.TestCase):
    def setUp(self):
        self.c = certs(self)

    def assert_handshake_error_on_server(self, srv):
        """The server shows the failed client as a connection that ended with an error,
        the TLS reason said, and goes on."""
        m = CONNECTED.match(srv.line())
        self.assertIsNotNone(m)
        line = srv.line()
        self.assertRegex(line, r"^\[" + re.escape(m.group(1)) +
                         r"\] - disconnected \(0 bytes, error: tls handshake: .+\)$")
        return line

    def test_unknown_ca_fails_like_a_connect(self):
        with tls_server(self.c) as srv:
            r = run_client("--tls", "127.0.0.1", srv.port, "-m", "hi")
            self.assertEqual(r.returncode, 1)
            one_error_line(self, r, rf"^xsock-client: tls handshake 127\.0\.0\.1:{srv.port}: "
                                    r"certificate verify failed: .+$")
            self.assert_handshake_error_on_server(srv)
            # ...and serves the next client.
            r = run_client("--tls", "--ca", self.c.ca, "127.0.0.1", srv.port, "-m", NIHAO)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIsNotNone(CONNECTED.match(srv.line()))
            self.assertTrue(srv.line().endswith(f"] {NIHAO}"))

    def test_self_signed_certificate_is_refused(self):
        with tls_server(self.c, cert=self.c.self_cert, key=self.c.self_key) as srv:
            r = run_client("--tls", "--ca", self.c.ca, "127.0.0.1", srv.port, "-m", "hi")
            self.assertEqual(r.returncode, 1)
            one_error_line(self, r, rf"^xsock-client: tls handshake 127\.0\.0\.1:{srv.port}: "
                                    r"certificate verify failed: self-signed certificate$")

    def test_sni_name_is_checked_instead_of_host(self):
        with tls_server(self.c, "--format", "json") as srv:
            r = run_client("--tls", "--ca", self.c.ca, "--sni", "other.name", "127.0.0.1",
                           srv.port, "-m", "hi")
            self.assertEqual(r.returncode, 1)
            one_error_line(self, r, rf"^xsock-client: tls handshake 127\.0\.0\.1:{srv.port}: "
                                    r"certificate verify failed: hostname mismatch$")
            events = srv.events_until(lambda e: e["event"] == "disconnect")
            self.assertEqual(events[-1]["reason"], "error")
            self.assertTrue(events[-1]["error"].startswith("tls handshake: "), events[-1])
            # The name the certificate has, sent to an address: accepted.
            r = run_client("--tls", "--ca", self.c.ca, "--sni", "localhost", "127.0.0.1",
                           srv.port, "-m", "hi")
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_plain_bytes_to_the_tls_server(self):
        with tls_server(self.c) as srv:
            plain = srv.connect()
            plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
            line = self.assert_handshake_error_on_server(srv)
            self.assertNotIn("\n", line)
            plain.close()
            r = run_client("--tls", "--ca", self.c.ca, "127.0.0.1", srv.port, "-m", NIHAO)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIsNotNone(CONNECTED.match(srv.line()))
            self.assertTrue(srv.line().endswith(f"] {NIHAO}"))

    def test_tls_client_to_a_plain_server_times_out(self):
        # A plain server never answers the hello: --timeout bounds the handshake too.
        with Server("-q") as srv:
            r = run_client("--tls", "--ca", self.c.ca, "--timeout", "0.5", "127.0.0.1",
                           srv.port, "-m", "hi")
            self.assertEqual(r.returncode, 1)
            one_error_line(self, r, rf"^xsock-client: tls handshake 127\.0\.0\.1:{srv.port}: "
                                    r".*timed out")

    def test_usage_errors_exit_2(self):
        c = self.c
        cases = [
            (run_server, ["--tls", "--cert", c.server_cert, "0"], "--tls needs --cert FILE and --key"),
            (run_server, ["--tls", "0"], "--tls needs --cert FILE and --key"),
            (run_server, ["--cert", c.server_cert, "--key", c.server_key, "0"], "--cert needs --tls"),
            (run_server, ["--alpn", "x", "0"], "--alpn needs --tls"),
            (run_server, ["--tls", "--udp", "--cert", c.server_cert, "--key", c.server_key, "0"],
             "--tls does not apply to --udp"),
            (run_server, ["--tls", "--cert", c.server_cert, "--key", c.server_key, "--alpn",
                          "a,,b", "0"], "--alpn: empty protocol name"),
            (run_client, ["--ca", c.ca, "127.0.0.1", "1"], "--ca needs --tls"),
            (run_client, ["--insecure", "127.0.0.1", "1"], "--insecure needs --tls"),
            (run_client, ["--sni", "x", "127.0.0.1", "1"], "--sni needs --tls"),
            (run_client, ["--tls", "--udp", "127.0.0.1", "1"], "--tls does not apply to --udp"),
            (run_client, ["--tls", "--insecure", "--ca", c.ca, "127.0.0.1", "1"],
             "--ca and --insecure cannot be used together"),
            (run_client, ["--tls", "--alpn", "x" * 256, "127.0.0.1", "1"],
             "--alpn: protocol name of 256 bytes"),
        ]
        for run, args, said in cases:
            with self.subTest(args=args[:4]):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                line = one_error_line(self, r, r"^xsock-(server|client): ")
                self.assertIn(said, line)

    def test_bad_files_exit_1_naming_the_file(self):
        c = self.c
        missing = os.path.join(c.dir, "missing.pem")
        garbage = os.path.join(c.dir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("not a certificate\n")
        cases = [
            (run_server, ["--tls", "--cert", missing, "--key", c.server_key, "0"], "--cert", missing),
            (run_server, ["--tls", "--cert", garbage, "--key", c.server_key, "0"], "--cert", garbage),
            (run_server, ["--tls", "--cert", c.server_cert, "--key", missing, "0"], "--key", missing),
            # The key of another certificate.
            (run_server, ["--tls", "--cert", c.server_cert, "--key", c.self_key, "0"], "--key",
             c.self_key),
            (run_client, ["--tls", "--ca", missing, "127.0.0.1", harness.closed_port()], "--ca",
             missing),
            (run_client, ["--tls", "--ca", garbage, "127.0.0.1", harness.closed_port()], "--ca",
             garbage),
        ]
        for run, args, option, path in cases:
            with self.subTest(option=option, path=os.path.basename(path)):
                r = run(*args)
                self.assertEqual(r.returncode, 1, r.stderr)
                line = one_error_line(self, r, r"^xsock-(server|client): " + re.escape(option))
                self.assertIn(path, line)
                # Said before listening or connecting.
                self.assertNotIn("listening on", line)
                self.assertNotIn("connect", line)


class TlsInterop(unittest.TestCase):
    def setUp(self):
        self.c = certs(self)

    def test_openssl_s_client_to_the_server(self):
        with tls_server(self.c) as srv:
            s_client = subprocess.Popen(
                ["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", "-CAfile", self.c.ca,
                 "-verify_return_error", "-quiet"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                s_client.stdin.write(NIHAO_GBK + b"\n")
                s_client.stdin.flush()
                self.assertIsNotNone(CONNECTED.match(srv.line()))
                self.assertTrue(srv.line().endswith(f"] {NIHAO}"))
            finally:
                s_client.kill()
                s_client.communicate(timeout=SOON)

    def test_client_to_openssl_s_server(self):
        port = harness.closed_port()
        s_server = subprocess.Popen(
            ["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-cert",
             self.c.server_cert, "-key", self.c.server_key],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            received = harness._LineReader(s_server.stdout)
            # s_server says nothing when it listens: the client tries until it is there,
            # bounded by the run's time limit.
            client = harness.start_client("--tls", "--ca", self.c.ca, "--reconnect=0.05",
                                          "--backoff", "none", "--wait", "0.2", "127.0.0.1",
                                          port, "-m", NIHAO)
            try:
                line = received.next(SOON)
                self.assertEqual(line, NIHAO_GBK + b"\n")
                self.assertEqual(client.wait(SOON), 0)
            finally:
                if client.poll() is None:
                    client.kill()
                client.communicate(timeout=SOON)
        finally:
            s_server.kill()
            s_server.wait(SOON)
            s_server.stdin.close()
            s_server.stdout.close()
            s_server.stderr.close()


class NoTls(unittest.TestCase):
    """A build without TLS refuses --tls in one line, exit 2."""

    def test_tls_says_built_without_tls(self):
        if tls_built():
            self.skipTest("this build has TLS (TlsSessions, TlsErrors, TlsInterop test it)")
        for run, args in ((run_server, ["--tls", "--cert", "c.pem", "--key", "k.pem", "0"]),
                          (run_client, ["--tls", "127.0.0.1", "1", "-m", "hi"])):
            r = run(*args)
            self.assertEqual(r.returncode, 2, r.stderr)
            one_error_line(self, r, r"^xsock-(server|client): --tls: .*built without TLS")
