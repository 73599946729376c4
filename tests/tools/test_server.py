"""xsock-server through its command-line contract (README.md, docs/design.md)."""

import json
import os
import random
import selectors
import socket
import subprocess
import unittest

import harness
from harness import SOON, Server, run_server

NIHAO = "你好，世界"
NIHAO_GBK = NIHAO.encode("gbk")


def peer_of(sock):
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


class Events(unittest.TestCase):
    def test_listening_line_and_text_events(self):
        with Server() as srv:
            self.assertGreater(srv.port, 0)
            c = srv.connect()
            peer = peer_of(c)
            self.assertEqual(srv.line(), f"[{peer}] + connected")
            c.sendall(NIHAO_GBK + b"\n")
            self.assertEqual(srv.line(), f"[{peer}] {NIHAO}")
            c.close()
            self.assertEqual(srv.line(), f"[{peer}] - disconnected ({len(NIHAO_GBK) + 1} bytes)")

    def test_json_events_are_valid_json(self):
        with Server("--format", "json") as srv:
            c = srv.connect()
            peer = peer_of(c)
            e = srv.event()
            self.assertEqual(e, {"event": "connect", "id": 1, "peer": peer})
            sent = NIHAO_GBK + b'\r\n"quoted" \\ back\n'
            c.sendall(sent)
            self.assertEqual(srv.event(), {"event": "data", "id": 1, "peer": peer,
                                           "text": NIHAO, "invalid": 0})
            self.assertEqual(srv.event()["text"], '"quoted" \\ back')
            c.close()
            e = srv.event()
            self.assertEqual(e["event"], "disconnect")
            self.assertEqual(e["bytes"], len(sent))
            self.assertEqual(e["reason"], "closed")
            self.assertEqual(e["id"], 1)

    def test_quiet_drops_connect_and_disconnect(self):
        with Server("-q") as srv:
            c = srv.connect()
            peer = peer_of(c)
            c.sendall(b"one\n")
            self.assertEqual(srv.line(), f"[{peer}] one")
            c.close()
            c2 = srv.connect()
            c2.sendall(b"two\n")
            self.assertEqual(srv.line(), f"[{peer_of(c2)}] two")

    def test_events_reach_a_pipe_while_the_client_is_still_connected(self):
        # The line is shown while the connection stays open: output is flushed every
        # loop turn, not held until exit or a full buffer.
        with Server("--format", "json", "-q") as srv:
            c = srv.connect()
            c.sendall(b"prompt\n")
            self.assertEqual(srv.event(timeout=10)["text"], "prompt")
            c.close()

    def test_ipv6_peer_in_brackets(self):
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            self.skipTest("no IPv6 loopback on this machine")
        with Server("--format", "json") as srv:  # default bind: dual-stack ::
            c = socket.create_connection(("::1", srv.port), timeout=SOON)
            port = c.getsockname()[1]
            self.assertEqual(srv.event()["peer"], f"[::1]:{port}")
            c4 = srv.connect()
            self.assertEqual(srv.event()["peer"], peer_of(c4))  # IPv4-mapped shows as IPv4
        with Server("--bind", "::1") as srv:
            self.assertEqual(srv.host, "[::1]")
            c = socket.create_connection(("::1", srv.port), timeout=SOON)
            self.assertEqual(srv.line(), f"[[::1]:{c.getsockname()[1]}] + connected")

    def test_hex(self):
        with Server("--hex", "--format", "json", "-q") as srv:
            c = srv.connect()
            c.sendall(b"\xc4\xe3\xba\xc3\n")
            e = srv.event()
            self.assertEqual(e["hex"], "c4e3bac3")
            self.assertNotIn("text", e)
        with Server("--hex", "-q") as srv:
            c = srv.connect()
            c.sendall(b"\x00\xff\n")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] 00ff")

    def test_encoding_option(self):
        with Server("-e", "UTF-8", "-q") as srv:
            c = srv.connect()
            c.sendall(NIHAO.encode("utf-8") + b"\n")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] {NIHAO}")
        with Server("--encoding", "Big5", "-q") as srv:
            c = srv.connect()
            c.sendall("中文".encode("big5") + b"\n")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] 中文")

    def test_utf16_is_decoded_before_it_is_cut_into_lines(self):
        # In UTF-16 a 0x0A byte is often half of another character (U+0A4E, U+4E0A 上).
        text = "上\u0a4e行\n第二\n".encode("utf-16-le")
        with Server("-e", "UTF-16LE", "--format", "json", "-q") as srv:
            c = srv.connect()
            for i in range(len(text)):  # split everywhere, odd offsets included
                c.sendall(text[i:i + 1])
            self.assertEqual(srv.event()["text"], "上\u0a4e行")
            self.assertEqual(srv.event()["text"], "第二")
            c.sendall(b"\x00")  # half a code unit, then the end
            c.close()
            e = srv.event()
            self.assertEqual(e["text"], "\ufffd")
            self.assertEqual(e["invalid"], 1)


class Lines(unittest.TestCase):
    def test_one_byte_at_a_time(self):
        # --echo: each byte is echoed before the next is sent, so the server really
        # reads them one by one (a split inside every character).
        payload = NIHAO_GBK + b"\n" + "第二行".encode("gbk") + b"\n"
        with Server("--echo", "--format", "json", "-q") as srv:
            c = srv.connect()
            for i in range(len(payload)):
                c.sendall(payload[i:i + 1])
                self.assertEqual(harness.recv_exactly(c, 1), payload[i:i + 1])
            self.assertEqual(srv.event()["text"], NIHAO)
            self.assertEqual(srv.event()["text"], "第二行")

    def test_no_newline_is_shown_at_close(self):
        with Server("--format", "json", "-q") as srv:
            c = srv.connect()
            c.sendall(NIHAO_GBK)  # the tutorial's client: one send, no newline, close
            c.close()
            e = srv.event()
            self.assertEqual(e["text"], NIHAO)
            self.assertNotIn("partial", e)

    def test_no_newline_is_shown_after_flush_ms(self):
        with Server("--format", "json", "-q", "--flush-ms", "100") as srv:
            c = srv.connect()
            c.sendall(b"typing " + NIHAO_GBK[:3])  # ends inside a character
            e = srv.event()
            self.assertEqual(e["text"], "typing 你")
            self.assertTrue(e["partial"])
            c.sendall(NIHAO_GBK[3:] + b"\n")
            self.assertEqual(srv.event()["text"], NIHAO[1:])

    def test_line_over_max_line_comes_in_pieces(self):
        with Server("--format", "json", "-q", "--max-line", "10") as srv:
            c = srv.connect()
            c.sendall(b"0123456789abcdefghijKLMNO\nshort\n")
            pieces = [srv.event() for _ in range(4)]
            self.assertEqual([p["text"] for p in pieces],
                             ["0123456789", "abcdefghij", "KLMNO", "short"])
            self.assertEqual([p.get("partial", False) for p in pieces],
                             [True, True, False, False])

    def test_long_line_default_limit(self):
        with Server("--format", "json", "-q") as srv:
            c = srv.connect()
            c.sendall(b"x" * 65536 + b"y" * 10 + b"\n")
            self.assertEqual(srv.event()["text"], "x" * 65536)
            self.assertEqual(srv.event()["text"], "y" * 10)

    def test_invalid_bytes_become_replacement_and_are_counted(self):
        with Server("--format", "json") as srv:
            c = srv.connect()
            srv.event()
            c.sendall(b"A\x81 ok\n\x81\x30\x81\x30\n")
            e = srv.event()
            self.assertEqual(e["text"], "A\ufffd ok")
            self.assertEqual(e["invalid"], 1)
            e = srv.event()
            self.assertEqual(e["invalid"], 2)
            c.close()
            self.assertEqual(srv.event()["invalid"], 3)
        with Server("-q") as srv:
            c = srv.connect()
            c.sendall(b"A\x81 ok\n")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] A\ufffd ok")

    def test_control_characters_are_escaped_unless_raw(self):
        with Server("-q") as srv:
            c = srv.connect()
            c.sendall(b"red\x1b[31m\x07\ttab\n")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] red\\x1b[31m\\x07\ttab")
        with Server("-q", "--raw") as srv:
            c = srv.connect()
            c.sendall(b"red\x1b[31m\x07\n")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] red\x1b[31m\x07")
        with Server("-q", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(b"red\x1b[31m\n")
            self.assertEqual(srv.event()["text"], "red\x1b[31m")  # JSON escapes it itself


class Concurrency(unittest.TestCase):
    def test_200_clients_100_lines_split_anywhere(self):
        clients, lines_each = 200, 100
        rng = random.Random(4)
        with Server("--format", "json", "-q", "--backlog", "512") as srv:
            socks, pending, expected = [], [], {}
            for i in range(clients):
                s = srv.connect()
                text = [f"客户{i}：第{j}行 — 数据{'测试' * (j % 7)}" for j in range(lines_each)]
                expected[peer_of(s)] = text
                data = b"".join(t.encode("gbk") + b"\n" for t in text)
                # Random cut points, so pieces end in the middle of characters.
                cuts = sorted(rng.sample(range(1, len(data)), 60))
                pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
                socks.append(s)
                pending.append(pieces)
            # Round-robin, one piece per client per round: the server sees all the
            # clients' bytes interleaved.
            while any(pending):
                for s, pieces in zip(socks, pending):
                    if pieces:
                        s.sendall(pieces.pop(0))
            got = {peer: [] for peer in expected}
            total = clients * lines_each
            for _ in range(total):
                e = srv.event(timeout=60)
                self.assertEqual(e["event"], "data")
                self.assertEqual(e["invalid"], 0)
                got[e["peer"]].append(e["text"])
            for peer, text in expected.items():
                self.assertEqual(got[peer], text, peer)
            for s in socks:
                s.close()


class Options(unittest.TestCase):
    def test_echo_returns_exactly_the_bytes_sent(self):
        rng = random.Random(7)
        payload = bytes(rng.getrandbits(8) for _ in range(300000))
        with Server("--echo", "-q", "--hex") as srv:
            c = srv.connect()
            sel = selectors.DefaultSelector()
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
            sent, back = 0, b""
            # Send and receive together: the server pauses a client that does not read.
            while len(back) < len(payload):
                events = sel.select(SOON)
                self.assertTrue(events, "echo stalled")
                for _, mask in events:
                    if mask & selectors.EVENT_WRITE and sent < len(payload):
                        sent += c.send(payload[sent:sent + 65536])
                        if sent == len(payload):
                            sel.modify(c, selectors.EVENT_READ)
                    if mask & selectors.EVENT_READ:
                        chunk = c.recv(65536)
                        self.assertTrue(chunk, "server closed early")
                        back += chunk
            self.assertEqual(back, payload)

    def test_once_serves_one_client_then_exits(self):
        srv = Server("--once", "-q")
        try:
            c = srv.connect()
            peer = peer_of(c)
            c.sendall(b"only\n")
            c.close()
            self.assertEqual(srv.wait(), 0)
            self.assertEqual(srv.rest_of_output(), [f"[{peer}] only"])
            # Nobody listens any more.
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", srv.port), timeout=SOON).close()
        finally:
            srv.kill()

    def test_idle_timeout(self):
        with Server("--format", "json", "--idle-timeout", "0.3") as srv:
            c = srv.connect()
            srv.event()
            c.settimeout(SOON)
            self.assertEqual(c.recv(1), b"")  # the server closed it
            e = srv.event()
            self.assertEqual(e["event"], "disconnect")
            self.assertEqual(e["reason"], "idle-timeout")

    def test_max_clients(self):
        with Server("--format", "json", "--max-clients", "1") as srv:
            a = srv.connect()
            self.assertEqual(srv.event()["event"], "connect")
            b = srv.connect()  # waits in the backlog
            b.sendall(b"from b\n")
            a.sendall(b"from a\n")
            self.assertEqual(srv.event()["text"], "from a")
            a.close()
            events = srv.events_until(lambda e: e.get("text") == "from b")
            self.assertEqual([e["event"] for e in events], ["disconnect", "connect", "data"])

    def test_bind_address(self):
        with Server("--bind", "127.0.0.1") as srv:
            self.assertEqual(srv.host, "127.0.0.1")
            c = srv.connect()
            c.close()

    @unittest.skipIf(harness.ON_WINDOWS, "SIGTERM is POSIX; Windows uses Ctrl+Break")
    def test_sigterm_closes_everything_and_exits_0(self):
        srv = Server("--format", "json", "--echo")
        try:
            c = srv.connect()
            srv.event()
            # The echo proves the server has read the bytes before the signal.
            c.sendall(b"partial, no newline")
            self.assertEqual(harness.recv_exactly(c, 19), b"partial, no newline")
            self.assertEqual(srv.terminate(), 0)
            rest = [json.loads(line) for line in srv.rest_of_output()]
            self.assertEqual([e["event"] for e in rest], ["data", "disconnect"])
            self.assertEqual(rest[0]["text"], "partial, no newline")
            self.assertEqual(rest[1]["reason"], "shutdown")
            c.settimeout(SOON)
            self.assertEqual(c.recv(1), b"")
        finally:
            srv.kill()

    @unittest.skipIf(harness.ON_WINDOWS and not harness.UNDER_WINE,
                     "Ctrl+C reaches a child on Windows only through a shared console")
    def test_sigint_exits_0(self):  # under Wine, SIGINT is Ctrl+C
        import signal
        srv = Server()
        try:
            srv.proc.send_signal(signal.SIGINT)
            self.assertEqual(srv.wait(), 0)
        finally:
            srv.kill()


def _server_is_sanitized():
    with open(harness.SERVER, "rb") as f:
        return b"__asan_init" in f.read()


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Descriptors(unittest.TestCase):
    @unittest.skipIf(harness.ON_WINDOWS or not os.path.isdir("/proc/self/fd"),
                     "needs RLIMIT_NOFILE and /proc (Linux)")
    def test_out_of_descriptors_pauses_accept_without_spinning(self):
        if _server_is_sanitized():
            self.skipTest("sanitizer runtimes need free descriptors themselves")
        import resource

        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (24, resource.getrlimit(
                resource.RLIMIT_NOFILE)[1]))

        cmd = harness.LAUNCHER + [harness.SERVER, "--format", "json", "--echo", "0"]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=harness.child_env(),
                                preexec_fn=low_limit)
        srv = Server.__new__(Server)  # adopt the process: same helpers
        srv.proc, srv.args = proc, ()
        srv.out = harness._LineReader(proc.stdout)
        srv.err = harness._LineReader(proc.stderr)
        try:
            srv.port = int(harness.LISTENING.search(srv.err.next(SOON)).group(2))
            # One client served first: the server is in its steady state when its
            # descriptors are counted.
            first = srv.connect()
            self.assertEqual(srv.event()["event"], "connect")
            first.sendall(b"ping\n")
            self.assertEqual(harness.recv_exactly(first, 5), b"ping\n")
            self.assertEqual(srv.event()["text"], "ping")
            free = 24 - len(os.listdir(f"/proc/{proc.pid}/fd"))
            self.assertGreater(free, 1)
            clients = [first] + [srv.connect() for _ in range(free + 3)]
            connects = [srv.event() for _ in range(free)]
            self.assertEqual({e["event"] for e in connects}, {"connect"})
            # The rest wait while accept fails with EMFILE: the loop must not spin, and
            # the accepted clients are still served.
            cpu_before = _cpu_seconds(proc.pid)
            for i in range(5):
                first.sendall(b"ping\n")
                self.assertEqual(harness.recv_exactly(first, 5), b"ping\n")
                self.assertEqual(srv.event()["text"], "ping")
            first.settimeout(0.5)
            with self.assertRaises(socket.timeout):  # half a second with nothing to do
                first.recv(1)
            self.assertLess(_cpu_seconds(proc.pid) - cpu_before, 0.25, "accept loop spins")
            # A descriptor frees up: the next waiting client is accepted and served.
            clients[1].close()
            events = srv.events_until(lambda e: e["event"] == "connect")
            self.assertEqual(events[0]["event"], "disconnect")
            late = clients[free + 1]  # the first of those that waited
            late.sendall(b"late\n")
            self.assertEqual(harness.recv_exactly(late, 5), b"late\n")
        finally:
            srv.kill()


class Errors(unittest.TestCase):
    def test_port_in_use_exits_1_with_one_line(self):
        taken = harness.listening_socket()
        port = taken.getsockname()[1]
        r = run_server("--bind", "127.0.0.1", port)
        self.assertEqual(r.returncode, 1, r.stderr)
        err = r.stderr.decode().strip()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertRegex(err, rf"^xsock-server: bind 127\.0\.0\.1:{port}: address already in use$")
        taken.close()

    def test_bad_option_exits_2(self):
        r = run_server("--no-such-option")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--no-such-option", r.stderr.decode())
        self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1)
        for bad in (["--format", "xml"], ["--max-line", "0"], ["70000"], ["--idle-timeout", "x"],
                    ["--idle-timeout", "1e300"], ["--backlog", "0"], ["--flush-ms", "-5"]):
            with self.subTest(bad=bad):
                self.assertEqual(run_server(*bad).returncode, 2)

    def test_unknown_encoding_exits_2(self):
        r = run_server("-e", "NO-SUCH-ENCODING", 0)
        self.assertEqual(r.returncode, 2)
        self.assertIn("NO-SUCH-ENCODING", r.stderr.decode())
        self.assertEqual(r.stdout, b"")

    def test_help_version_and_list_encodings(self):
        r = run_server("--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for option in ("--bind", "--backlog", "--encoding", "--format", "--hex", "--echo",
                       "--once", "--max-clients", "--idle-timeout", "--max-line",
                       "--flush-ms", "--raw", "--quiet", "--list-encodings", "Examples"):
            self.assertIn(option, out)
        r = run_server("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^xsock-server \d+\.\d+\.\d+")
        r = run_server("--list-encodings")
        self.assertEqual(r.returncode, 0)
        names = r.stdout.decode().split()
        for name in ("GBK", "GB18030", "UTF-8", "Big5", "Shift_JIS"):
            self.assertIn(name, names)



def _ipv6_loopback():
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        probe.close()
        return True
    except OSError:
        return False


class Robustness(unittest.TestCase):
    """What hostile peers and careless operators tried (issue 13)."""

    @unittest.skipIf(harness.ON_WINDOWS or not hasattr(os, "pipe"),
                     "SIGTERM and pipe sizes are POSIX; Windows cancels the write from its "
                     "control handler instead")
    def test_sigterm_with_stalled_stdout_ends_in_bounded_time(self):
        import fcntl
        import signal
        import termios
        import time
        r, w = os.pipe()
        size = fcntl.fcntl(r, 1032)  # F_GETPIPE_SZ (Linux); 64 KiB by default
        proc = subprocess.Popen(harness.LAUNCHER + [harness.SERVER, "--format", "json", "0"],
                                stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE,
                                env=harness.child_env())
        os.close(w)
        err = harness._LineReader(proc.stderr)
        try:
            port = int(harness.LISTENING.search(err.next(SOON)).group(2))
            c = socket.create_connection(("127.0.0.1", port), timeout=SOON)
            c.sendall((b"x" * 1000 + b"\n") * (4 * size // 1000))  # four pipes' worth
            # Nobody reads the pipe: wait until it is half full. The server has four
            # pipes' worth to write, so it is stuck on the rest (or about to be).
            deadline = time.monotonic() + SOON
            while True:
                buf = bytearray(4)
                fcntl.ioctl(r, termios.FIONREAD, buf)
                if int.from_bytes(buf, "little") >= size // 2:
                    break
                self.assertLess(time.monotonic(), deadline, "the output pipe never filled")
                time.sleep(0.01)
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(10)  # the old server waited for a reader forever
            self.assertLess(time.monotonic() - start, 10)
            self.assertEqual(code, 1)
            rest = b"".join(iter(lambda: err.next(SOON) or b"", b""))
            self.assertIn(b"write to standard output: timed out after the stop request", rest)
            c.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(SOON)
            os.close(r)
            proc.stderr.close()

    def test_huge_durations_mean_no_limit(self):
        big = "9" * 40
        with Server("--format", "json", "--idle-timeout", big, "--flush-ms", big) as srv:
            c = srv.connect()
            self.assertEqual(srv.event()["event"], "connect")
            c.sendall(b"alive\n")
            self.assertEqual(srv.event()["text"], "alive")
            c.close()
            self.assertEqual(srv.event()["reason"], "closed")

    def test_numbers_are_decimal(self):
        # Leading zeros are decimal (010 is ten, 07788 is 7788), never octal or hex.
        with Server("--format", "json", "-q", "--max-line", "010", port="0000") as srv:
            c = srv.connect()
            c.sendall(b"0123456789abc\n")
            self.assertEqual([srv.event()["text"] for _ in range(2)], ["0123456789", "abc"])
        with Server("--format", "json", "-q", "--max-line", "07788") as srv:
            c = srv.connect()
            c.sendall(b"y" * 7789 + b"\n")
            self.assertEqual(len(srv.event()["text"]), 7788)
        for bad in (["--max-line", "0x10"], ["--backlog", "0x10"], ["0x10"], ["1e3"],
                    ["--max-clients", "-1"], ["--max-line", "+5"], ["--backlog", " 5"],
                    ["070000"]):
            with self.subTest(bad=bad):
                r = run_server(*bad)
                self.assertEqual(r.returncode, 2, r.stderr)
        # An out-of-range number is not repeated in full.
        r = run_server("--backlog", "7" * 300)
        self.assertEqual(r.returncode, 2)
        err = r.stderr.decode()
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("--backlog", err)
        self.assertLess(len(err), 200, err)

    def test_nan_is_refused_and_sub_millisecond_rounds_up(self):
        for option in ("--idle-timeout", "--flush-ms"):
            for bad in ("nan", "NaN", "inf", "-inf", "1e3", "0x1p3", "-1", "1.2.3", "."):
                with self.subTest(option=option, bad=bad):
                    r = run_server(option, bad)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertIn(option, r.stderr.decode())
        # 0.0004 s is a (very short) timeout, not "never".
        with Server("--format", "json", "--idle-timeout", "0.0004") as srv:
            c = srv.connect()
            self.assertEqual(srv.event()["event"], "connect")
            e = srv.event(timeout=10)
            self.assertEqual((e["event"], e["reason"]), ("disconnect", "idle-timeout"))

    def test_no_empty_pieces_and_the_last_piece_is_never_partial(self):
        # GB18030 at --max-line 1: the first three pieces hold a part of 😀 only.
        with Server("--format", "json", "-q", "-e", "GB18030", "--max-line", "1") as srv:
            c = srv.connect()
            c.sendall("😀\n".encode("gb18030") + b"z\n")
            e = srv.event()
            self.assertEqual(e["text"], "😀")
            self.assertNotIn("partial", e)
            self.assertEqual(srv.event()["text"], "z")
        # --flush-ms shows an unfinished line as partial; if nothing follows before the
        # peer closes, an empty final piece ends it.
        with Server("--format", "json", "--flush-ms", "50") as srv:
            c = srv.connect()
            srv.event()
            c.sendall(b"typing")
            e = srv.event()
            self.assertEqual((e["text"], e.get("partial")), ("typing", True))
            c.close()
            e = srv.event()
            self.assertEqual(e["event"], "data")
            self.assertEqual(e["text"], "")
            self.assertNotIn("partial", e)
            self.assertEqual(srv.event()["event"], "disconnect")

    def test_leading_bom_dropped_any_other_shown(self):
        bom, text = "\ufeff", "\ufeffa\n\ufeffb\n"
        with Server("--format", "json", "-q", "-e", "UTF-16LE") as srv:
            c = srv.connect()
            c.sendall(text.encode("utf-16-le"))
            self.assertEqual(srv.event()["text"], "a")
            line = srv.line()
            self.assertIn('"\\ufeffb"', line)
            self.assertEqual(json.loads(line)["text"], bom + "b")
        with Server("-q", "-e", "UTF-8") as srv:
            c = srv.connect()
            c.sendall(text.encode("utf-8"))
            self.assertEqual(srv.line(), f"[{peer_of(c)}] a")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] \\ufeffb")

    def test_invisible_and_control_characters_are_escaped(self):
        sneaky = "a\u009b2J\u202eevil\u2028\u2029\u0085\u200b\ufeff\u2060\u00ad\U000e0041z"
        with Server("--format", "json", "-q", "-e", "UTF-8") as srv:
            c = srv.connect()
            c.sendall(sneaky.encode("utf-8") + b"\n")
            line = srv.line()
            for escaped in ("\\u009b", "\\u202e", "\\u2028", "\\u2029", "\\u0085", "\\u200b",
                            "\\ufeff", "\\u2060", "\\u00ad", "\\udb40\\udc41"):
                self.assertIn(escaped, line)
            self.assertTrue(all(ord(ch) < 0x80 for ch in line), line)
            self.assertEqual(json.loads(line)["text"], sneaky)  # the same text, escaped
        with Server("-q", "-e", "UTF-8") as srv:
            c = srv.connect()
            c.sendall(sneaky.encode("utf-8") + b"\n")
            self.assertEqual(srv.line(), f"[{peer_of(c)}] a\\u009b2J\\u202eevil\\u2028\\u2029"
                             "\\u0085\\u200b\\ufeff\\u2060\\u00ad\\U000e0041z")

    @unittest.skipUnless(_ipv6_loopback(), "no IPv6 loopback on this machine")
    def test_bind_accepts_a_bracketed_ipv6_literal(self):
        with Server("--bind", "[::1]") as srv:
            self.assertEqual(srv.host, "[::1]")
            c = socket.create_connection(("::1", srv.port), timeout=SOON)
            self.assertEqual(srv.line(), f"[[::1]:{c.getsockname()[1]}] + connected")

    @unittest.skipIf(harness.ON_WINDOWS or not os.path.isdir("/proc/self/fd"),
                     "closes descriptor 1 the POSIX way and reads /proc (Linux)")
    def test_closed_stdout_never_becomes_a_socket(self):
        proc = subprocess.Popen(harness.LAUNCHER + [harness.SERVER, "0"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=harness.child_env(),
                                preexec_fn=lambda: os.close(1))
        err = harness._LineReader(proc.stderr)
        try:
            port = int(harness.LISTENING.search(err.next(SOON)).group(2))
            self.assertEqual(os.readlink(f"/proc/{proc.pid}/fd/1"), "/dev/null")
            c = socket.create_connection(("127.0.0.1", port), timeout=SOON)
            # The first event cannot be written: a closed output, exit 1.
            self.assertEqual(proc.wait(SOON), 1)
            self.assertRegex(err.next(SOON).decode().strip(),
                             r"^xsock-server: write to standard output: bad \w+ \w+$")
            c.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(SOON)
            proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
