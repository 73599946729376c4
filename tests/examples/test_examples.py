#!/usr/bin/env python3
"""Runs the examples/ programs as processes, over loopback only.

    python3 test_examples.py --tutorial-client PATH ... [--launcher wine] [TESTS...]

TESTS are unittest class names (Tutorial, ChatRoom, ...); default: all. Servers are
started on port 0 and read their `listening on` line; every wait is for an event
(a line of output, a process exit, bytes on a socket) with a bound, never a sleep.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import harness  # noqa: E402  (line readers, child environment, the time bound)

SOON = harness.SOON
PROGRAMS = {}
LAUNCHER = []


def command(name, *args):
    return LAUNCHER + [PROGRAMS[name], *[str(a) for a in args]]


def gbk(text):
    return text.encode("gbk")


class Program:
    """An example run with pipes; a server's port comes from its `listening on` line."""

    def __init__(self, name, *args, server=False, env=None):
        self.proc = subprocess.Popen(command(name, *args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env or harness.child_env())
        self.out = harness._LineReader(self.proc.stdout)
        self.err = harness._LineReader(self.proc.stderr)
        self.port = None
        if server:
            line = self.err.next(SOON)
            m = harness.LISTENING.search(line or b"")
            if not m:
                self.kill()
                raise AssertionError(f"expected 'listening on', got {line!r}")
            self.port = int(m.group(2))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(SOON)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()

    def line(self):
        """The next stdout line (UTF-8, no newline); fails at end of output."""
        raw = self.out.next(SOON)
        if raw is None:
            raise AssertionError(f"output ended; stderr so far: {self.err.seen}")
        return raw.decode("utf-8").rstrip("\r\n")

    def err_line(self):
        raw = self.err.next(SOON)
        if raw is None:
            raise AssertionError("stderr ended")
        return raw.decode("utf-8").rstrip("\r\n")

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=SOON)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def wait(self):
        return self.proc.wait(SOON)


def run(name, *args, input=b""):
    return subprocess.run(command(name, *args), input=input, capture_output=True,
                          timeout=SOON, env=harness.child_env())


def name_of(sock):
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


def recv_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError(f"connection closed after {data!r}")
        data += chunk
    return data


def dead_listener():
    """A 127.0.0.1 listener that never accepts, its backlog full: SYNs to it are
    dropped, so a connect to it can only time out. Returns it and the fillers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    fillers = []
    for _ in range(64):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(0.2)  # the queue is full once a connect gets no answer in time
        try:
            c.connect(s.getsockname())
        except OSError:
            c.close()
            break
        fillers.append(c)
    return s, fillers


class EchoServer:
    """A Python echo server for one client on 127.0.0.1: echoes until end of stream,
    then closes (or, with reset=True, resets after the first line)."""

    def __init__(self, close_after_first_line=False, reset=False):
        self.sock = harness.listening_socket()
        self.port = self.sock.getsockname()[1]
        self.close_early, self.reset = close_after_first_line, reset
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(SOON)
        with conn:
            if self.close_early or self.reset:
                conn.sendall(recv_line(conn))
                if self.reset:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                return
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    def close(self):
        self.thread.join(SOON)
        self.sock.close()


class Tutorial(unittest.TestCase):
    TEXT = "你好，TCP：第一行 xsock"

    def test_client_to_server_in_gbk(self):
        with Program("tutorial_server", 0, 1, server=True) as server:
            r = run("tutorial_client", "127.0.0.1", server.port,
                    input=(self.TEXT + "\n").encode("utf-8"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(server.line(), "接收到的数据为:" + self.TEXT)
            self.assertEqual(server.wait(), 0)

    def test_server_one_client_after_another_characters_cut_between_reads(self):
        # 1 + 2 * 1500 bytes: the server's 1024-byte reads end inside characters.
        long_text = "a" + "中文" * 750
        with Program("tutorial_server", 0, 2, server=True) as server:
            for text in (long_text, "第二个客户端"):
                with server.connect() as c:
                    c.sendall(gbk(text))
                self.assertEqual(server.line(), "接收到的数据为:" + text)
            self.assertEqual(server.wait(), 0)
            while server.err.next(SOON) is not None:
                pass
            events = [l.decode().split()[-1] for l in server.err.seen[1:]]
            self.assertEqual(events, ["connected", "closed"] * 2)

    def test_client_connection_refused(self):
        r = run("tutorial_client", "127.0.0.1", harness.closed_port(), input=b"x\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"connection refused", r.stderr)

    def test_bad_arguments_exit_2(self):
        for name, args in (("tutorial_client", ["127.0.0.1", "port"]),
                           ("tutorial_client", ["127.0.0.1", "70000"]),
                           ("tutorial_server", ["-1"]), ("tutorial_server", ["1", "2", "3"]),
                           ("tutorial_server", ["0", "-1"]),
                           ("multi_client_server", ["0", "x"]),
                           ("multi_client_server", ["0", "1", "2"]), ("chat_room", ["65536"])):
            r = run(name, *args)
            self.assertEqual(r.returncode, 2, (name, args))
            self.assertIn(b"usage:", r.stderr)


class MultiClientServer(unittest.TestCase):
    def test_three_clients_at_once(self):
        with Program("multi_client_server", 0, 3, server=True) as server:
            a, b, c = server.connect(), server.connect(), server.connect()
            # a stays connected while b and c are served: the tutorial's server would
            # wait on a until it closed.
            a.sendall(gbk("一号：你好\n第二"))
            self.assertEqual(server.line(), f"{name_of(a)}: 一号：你好")
            b.sendall(gbk("二号\n"))
            self.assertEqual(server.line(), f"{name_of(b)}: 二号")
            piece = gbk("三号半个字")
            c.sendall(piece[:3])  # "三" and half of "号"
            c.sendall(piece[3:] + b"\n")
            self.assertEqual(server.line(), f"{name_of(c)}: 三号半个字")
            a.sendall(gbk("行\n"))
            self.assertEqual(server.line(), f"{name_of(a)}: 第二行")
            b.sendall(gbk("没有换行"))  # flushed when b closes
            b_name = name_of(b)
            b.close()
            self.assertEqual(server.line(), f"{b_name}: 没有换行")
            a.close()
            c.close()
            self.assertEqual(server.wait(), 0)


class ChatRoom(unittest.TestCase):
    def test_a_line_reaches_every_other_client_not_the_sender(self):
        with Program("chat_room", 0, server=True) as room:
            clients = [room.connect() for _ in range(3)]
            joined = {room.err_line() for _ in clients}
            self.assertEqual(joined, {f"joined {name_of(c)}" for c in clients})
            a, b, c = clients
            a.sendall(gbk("大家好\n"))
            expected = b"[" + name_of(a).encode() + b"] " + gbk("大家好") + b"\n"
            self.assertEqual(recv_line(b), expected)
            self.assertEqual(recv_line(c), expected)
            # Had a been sent its own line, it would come before b's.
            b.sendall(b"hi\r\n")
            expected = b"[" + name_of(b).encode() + b"] hi\n"
            self.assertEqual(recv_line(a), expected)
            self.assertEqual(recv_line(c), expected)
            a_name = name_of(a)
            a.close()
            self.assertEqual(room.err_line(), f"left {a_name}")
            c.sendall(b"still here\n")
            self.assertEqual(recv_line(b), b"[" + name_of(c).encode() + b"] still here\n")
            b.close()
            c.close()


class KeyboardClient(unittest.TestCase):
    def test_piped_lines_replies_then_half_close(self):
        echo = EchoServer()
        # "localhost" is resolved and its addresses raced; only 127.0.0.1 listens.
        r = run("keyboard_client", "localhost", echo.port,
                input="第一行\nsecond\n".encode("utf-8"))
        echo.close()
        # The echo server closes only after reading end of stream: the client
        # half-closed and still printed the replies.
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode("utf-8").replace("\r\n", "\n"), "第一行\nsecond\n")

    def test_interactive_and_server_closes_first(self):
        echo = EchoServer(close_after_first_line=True)
        with Program("keyboard_client", "127.0.0.1", echo.port) as client:
            client.proc.stdin.write("键盘\n".encode("utf-8"))
            client.proc.stdin.flush()
            self.assertEqual(client.line(), "键盘")
            # Standard input stays open: the client leaves because the server closed.
            self.assertEqual(client.wait(), 0)
        echo.close()

    def test_reset_exits_1(self):
        echo = EchoServer(reset=True)
        with Program("keyboard_client", "127.0.0.1", echo.port) as client:
            client.proc.stdin.write(b"x\n")
            client.proc.stdin.flush()
            self.assertEqual(client.wait(), 1)
            while client.err.next(SOON) is not None:
                pass
            self.assertIn(b"reset", b"".join(client.err.seen))
        echo.close()

    def test_usage_and_refused(self):
        self.assertEqual(run("keyboard_client", "127.0.0.1").returncode, 2)
        r = run("keyboard_client", "127.0.0.1", harness.closed_port())
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"connection refused", r.stderr)


class FirstOfN(unittest.TestCase):
    def test_live_server_wins_over_a_dead_one_and_a_refused_one(self):
        dead, fillers = dead_listener()
        live = harness.listening_socket()
        try:
            dead_at = "127.0.0.1:%d" % dead.getsockname()[1]
            live_at = "127.0.0.1:%d" % live.getsockname()[1]
            refused_at = "127.0.0.1:%d" % harness.closed_port()
            r = run("first_of_n", dead_at, refused_at, live_at)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode()
            self.assertTrue(out.startswith(f"first: {live_at} in "), out)
            # Not after the dead server's 10 s timeout: at once (a generous bound).
            self.assertLess(float(out.split()[3]), 5000.0, out)
        finally:
            for s in fillers + [dead, live]:
                s.close()

    def test_all_fail_names_each(self):
        ports = [harness.closed_port(), harness.closed_port()]
        r = run("first_of_n", *[f"127.0.0.1:{p}" for p in ports])
        self.assertEqual(r.returncode, 1)
        for p in ports:
            self.assertIn(f"127.0.0.1:{p}: connection refused".encode(), r.stderr)

    def test_bad_arguments_exit_2(self):
        self.assertEqual(run("first_of_n").returncode, 2)
        r = run("first_of_n", "localhost:80")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"'localhost:80'", r.stderr)


class Proxy(unittest.TestCase):
    SIZE = 50 * 1000 * 1000  # each way
    # The proxy's peak resident memory may grow this much over its start: its queues
    # are bounded by pause_reading_above (plus a read) per direction, whatever the size
    # relayed (unbounded, they would hold tens of MB). Measured: 0.7 MiB; 6 MiB under
    # ASan, whose allocator reuses freed memory late.
    GROWTH_KIB = 12 * 1024

    def test_relays_both_ways_at_once_upload_first_and_half_closes(self):
        import hashlib
        import time
        up, down = os.urandom(self.SIZE), os.urandom(self.SIZE)
        target = harness.listening_socket()
        seen = {}

        def serve():
            # The target reads the upload and sends the download at the same time, and
            # keeps sending after it has read the end of the upload (half-close).
            conn, _ = target.accept()
            conn.settimeout(SOON)
            with conn:
                def write():
                    conn.sendall(down)
                    seen["target_sent_all"] = True
                    conn.shutdown(socket.SHUT_WR)
                writer = threading.Thread(target=write, daemon=True)
                writer.start()
                h, n = hashlib.sha256(), 0
                while True:
                    chunk = conn.recv(1 << 16)
                    if not chunk:
                        break
                    h.update(chunk)
                    n += len(chunk)
                seen["up"] = (n, h.hexdigest())
                # End of the upload seen while the download may still be going: the
                # client's half-close went through on its own.
                writer.join(SOON)
                seen["writer_done"] = not writer.is_alive()

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        try:
            env = harness.child_env()
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                                   ":quarantine_size_mb=4").lstrip(":")
            with Program("proxy", 0, "127.0.0.1", target.getsockname()[1], server=True,
                         env=env) as proxy:
                # Under a launcher (wine), /proc/PID is the launcher's, not the program's.
                measure = not LAUNCHER and os.path.exists(f"/proc/{proxy.proc.pid}/status")
                start_kib = harness._peak_rss_kib(proxy.proc.pid) if measure else None
                began = time.monotonic()
                c = proxy.connect()
                with c:
                    # Everything up before reading anything: the download piles up in
                    # the proxy unless it stops reading the target (and only it).
                    c.sendall(up)
                    c.shutdown(socket.SHUT_WR)
                    h, n = hashlib.sha256(), 0
                    while True:
                        chunk = c.recv(1 << 16)
                        if not chunk:
                            break
                        h.update(chunk)
                        n += len(chunk)
                elapsed = time.monotonic() - began
                server.join(SOON)
                peak_kib = harness._peak_rss_kib(proxy.proc.pid) if measure else None
            self.assertEqual(seen.get("up"), (self.SIZE, hashlib.sha256(up).hexdigest()))
            self.assertEqual((n, h.hexdigest()), (self.SIZE, hashlib.sha256(down).hexdigest()))
            self.assertTrue(seen.get("writer_done"))
            sys.stderr.write(f"proxy: {self.SIZE // 1000000} MB each way in {elapsed:.2f} s")
            if measure and start_kib is not None and peak_kib is not None:
                sys.stderr.write(f", VmHWM {start_kib} KiB at start, {peak_kib} KiB peak\n")
                self.assertLess(peak_kib - start_kib, self.GROWTH_KIB)
            else:
                sys.stderr.write(", memory not measured (no /proc entry of the program's)\n")
        finally:
            target.close()

    def test_usage_and_refused_target(self):
        self.assertEqual(run("proxy", 0, "127.0.0.1").returncode, 2)
        with Program("proxy", 0, "127.0.0.1", harness.closed_port(), server=True) as proxy:
            c = proxy.connect()
            with c:
                c.sendall(b"dropped")  # queued for the target, dropped with it
                # The client is closed by the proxy (abort: a reset or a plain close).
                try:
                    self.assertEqual(c.recv(1), b"")
                except ConnectionResetError:
                    pass
            self.assertIn("connection refused", proxy.err_line())


def main():
    global LAUNCHER
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("tutorial_client", "tutorial_server", "multi_client_server", "chat_room",
                 "keyboard_client", "first_of_n", "proxy"):
        parser.add_argument("--" + name.replace("_", "-"), dest=name, required=True)
    parser.add_argument("--launcher", default="", help="command to run them with (e.g. wine)")
    parser.add_argument("tests", nargs="*", default=[])
    args = parser.parse_args()
    for name in ("tutorial_client", "tutorial_server", "multi_client_server", "chat_room",
                 "keyboard_client", "first_of_n", "proxy"):
        PROGRAMS[name] = os.path.abspath(getattr(args, name))
    LAUNCHER = args.launcher.split()
    module = sys.modules[__name__]
    loader = unittest.defaultTestLoader
    suite = (loader.loadTestsFromNames(args.tests, module) if args.tests
             else loader.loadTestsFromModule(module))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
