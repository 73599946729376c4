"""xsock-server's console: lines on its standard input go to the clients (issue 10)."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import SOON, Server


def recv_exactly(conn, size):
    data = harness.recv_exactly(conn, size)
    if len(data) != size:
        raise AssertionError(f"expected {size} bytes, got {data!r} and end of stream")
    return data


class Console(unittest.TestCase):
    def _server(self, *args):
        return Server("--format", "json", *args, stdin=subprocess.PIPE)

    def _clients(self, srv, count):
        """`count` connected clients and their ids, once the server has reported them."""
        conns, ids = [], []
        for _ in range(count):
            conns.append(srv.connect())
            ids.append(srv.events_until(lambda e: e["event"] == "connect")[-1]["id"])
        for c in conns:
            c.settimeout(SOON)
        return conns, ids

    def _stderr_until(self, srv, text):
        lines = []
        while True:
            line = srv.error_line()
            lines.append(line)
            if text in line:
                return lines

    def test_a_line_reaches_every_client_in_gbk(self):
        with self._server() as srv:
            (a, b), ids = self._clients(srv, 2)
            srv.type("你好，世界\n".encode())
            wire = "你好，世界\n".encode("gbk")
            self.assertEqual(recv_exactly(a, len(wire)), wire)
            self.assertEqual(recv_exactly(b, len(wire)), wire)
            sent = [srv.events_until(lambda e: e["event"] == "sent")[-1] for _ in ids]
            self.assertEqual(sorted(e["id"] for e in sent), sorted(ids))
            for e in sent:
                self.assertEqual(e["text"], "你好，世界")
                self.assertEqual(e["bytes"], len(wire))
            a.close()
            b.close()

    def test_to_reaches_one_client_and_hex_sends_exact_bytes(self):
        with self._server() as srv:
            (a, b), (ida, idb) = self._clients(srv, 2)
            srv.type(f"/to {idb} only b\n".encode())
            srv.type(f"/hex {ida} 00 ff 0D0a 1b\n".encode())
            srv.type(b"/hex all 41\n")
            self.assertEqual(recv_exactly(a, 6), b"\x00\xff\r\n\x1bA")
            self.assertEqual(recv_exactly(b, 8), b"only b\nA")
            events = srv.events_until(lambda e: e["event"] == "sent" and e.get("hex") == "41"
                                      and e["id"] == max(ida, idb))
            hexed = [e for e in events if e["event"] == "sent" and e.get("hex") == "00ff0d0a1b"]
            self.assertEqual([e["id"] for e in hexed], [ida])
            a.close()
            b.close()

    def test_eol_sets_the_end_of_typed_lines(self):
        for eol, ending in (("lf", b"\n"), ("crlf", b"\r\n"), ("none", b"")):
            with self.subTest(eol=eol), self._server("--eol", eol) as srv:
                (a,), _ = self._clients(srv, 1)
                srv.type("你好\n".encode())
                srv.type(b"/hex all 21\n")  # bytes as given: no line end added
                wire = "你好".encode("gbk") + ending + b"!"
                self.assertEqual(recv_exactly(a, len(wire)), wire)
                a.close()

    def test_kick_disconnects_one_client(self):
        with self._server() as srv:
            (a, b), (ida, idb) = self._clients(srv, 2)
            srv.type(f"/kick {ida}\n".encode())
            self.assertEqual(a.recv(10), b"")  # end of stream
            e = srv.events_until(lambda e: e["event"] == "disconnect")[-1]
            self.assertEqual((e["id"], e["reason"]), (ida, "kicked"))
            srv.type(b"still here\n")
            self.assertEqual(recv_exactly(b, 11), b"still here\n")
            a.close()
            b.close()

    def test_unencodable_and_invalid_lines_are_refused_and_the_server_goes_on(self):
        with self._server() as srv:
            (a,), _ = self._clients(srv, 1)
            srv.type("smile 😀\n".encode())
            line = self._stderr_until(srv, "not sent")[-1]
            self.assertIn("line 1 not sent", line)
            self.assertIn("U+1F600", line)
            srv.type(b"bad \xff\n")
            line = self._stderr_until(srv, "invalid")[-1]
            self.assertIn("invalid UTF-8 in input line 2 at byte 5", line)
            srv.type(b"//slash\n")
            # Nothing of the refused lines went out: the first bytes are the next line.
            self.assertEqual(recv_exactly(a, 6), b"/slash")
            a.close()

    def test_what_is_said_of_lines_typed_at_once_comes_in_their_order(self):
        # One write of five lines: a line refused while sending (GBK lacks the emoji), an
        # invalid one refused while reading, a good one, a too long one, a command. What
        # the server says of each comes in the lines' order, and the good line goes out.
        with self._server() as srv:
            (a,), _ = self._clients(srv, 1)
            srv.type("smile 😀\n".encode() + b"bad \xff\n" + b"good\n" +
                     b"x" * (1024 * 1024 + 1) + b"\n/list\n")
            said = [line for line in self._stderr_until(srv, "connected since")]
            self.assertEqual(len(said), 4, said)
            self.assertIn("line 1 not sent", said[0])
            self.assertIn("invalid UTF-8 in input line 2 at byte 5", said[1])
            self.assertIn("line 4 is longer than 1048576 bytes; not sent", said[2])
            self.assertIn("connected since", said[3])
            self.assertEqual(recv_exactly(a, 5), b"good\n")
            a.close()

    def test_commands_answer_on_stderr(self):
        with self._server() as srv:
            (a,), (ida,) = self._clients(srv, 1)
            srv.type(b"/list\n")
            line = self._stderr_until(srv, "connected since")[-1]
            self.assertRegex(line, rf"^{ida}  127\.0\.0\.1:\d+  received 0 bytes, sent 0 bytes, "
                                   r"connected since \d\d:\d\d:\d\d \(\d+ s\)$")
            srv.type(b"/help\n")
            help_text = "\n".join(self._stderr_until(srv, "//TEXT"))
            for command in ("/list", "/to ID TEXT", "/hex ID|all HEX", "/kick ID"):
                self.assertIn(command, help_text)
            srv.type(b"/nonsense\n")
            self.assertIn("unknown command /nonsense", self._stderr_until(srv, "unknown")[-1])
            srv.type(b"/hex 1 4g\n")
            self.assertIn("'g' is not a hex digit", self._stderr_until(srv, "hex digit")[-1])
            a.close()

    def test_end_of_input_does_not_stop_the_server(self):
        with self._server() as srv:
            srv.proc.stdin.close()
            (a,), _ = self._clients(srv, 1)
            a.sendall("在\n".encode("gbk"))
            e = srv.events_until(lambda e: e["event"] == "data")[-1]
            self.assertEqual(e["text"], "在")
            self.assertIsNone(srv.proc.poll())
            a.close()

    @unittest.skipIf(harness.ON_WINDOWS and not harness.UNDER_WINE,
                     "Ctrl+C reaches a child on Windows only through a shared console")
    def test_stops_at_once_with_its_input_still_open(self):
        # The console reader is blocked reading the open input, and cannot be woken:
        # the stop must not wait for it. POSIX: SIGTERM and SIGINT; Windows: Ctrl+C
        # (under Wine, SIGINT to the program's process).
        for sig in (signal.SIGINT,) if harness.ON_WINDOWS else (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name), self._server() as srv:
                (a,), _ = self._clients(srv, 1)
                srv.type(b"typed\n")
                self.assertEqual(recv_exactly(a, 6), b"typed\n")
                srv.proc.send_signal(sig)
                self.assertEqual(srv.wait(), 0)
                e = srv.events_until(lambda e: e["event"] == "disconnect")[-1]
                self.assertEqual(e["reason"], "shutdown")
                a.close()

    @unittest.skipIf(harness.ON_WINDOWS and not harness.UNDER_WINE,
                     "a pseudo-terminal stands for the person typing: POSIX, or Wine, which "
                     "makes it the program's console")
    def test_lines_typed_at_a_terminal(self):
        # Standard input is a terminal (under Wine, the Windows console made of it, read
        # as UTF-16): typed lines go out, commands answer, and Ctrl+C stops the server
        # while its reader waits for the next line.
        master, slave = harness.open_terminal()
        try:
            with Server("--format", "json", stdin=slave) as srv:
                os.close(slave)
                slave = None
                (a,), (ida,) = self._clients(srv, 1)
                os.write(master, "你好".encode() + harness.ENTER)
                wire = "你好\n".encode("gbk")
                self.assertEqual(recv_exactly(a, len(wire)), wire)
                os.write(master, b"/list" + harness.ENTER)
                line = self._stderr_until(srv, "connected since")[-1]
                self.assertRegex(line, rf"^{ida}  127\.0\.0\.1:\d+  received 0 bytes, sent 5 bytes")
                srv.proc.send_signal(signal.SIGINT)
                self.assertEqual(srv.wait(), 0)
                a.close()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)

    def test_text_output_shows_what_was_sent(self):
        with Server(stdin=subprocess.PIPE) as srv:
            a = srv.connect()
            a.settimeout(SOON)
            self.assertIn("+ connected", srv.line())
            srv.type(b"hi\n")
            self.assertEqual(recv_exactly(a, 3), b"hi\n")
            self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] > hi$")
            a.close()


class Display(unittest.TestCase):
    """--timestamps, --packets and --line-end on both tools (issue 10)."""

    def _check_ts(self, ts):
        import datetime
        when = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        self.assertRegex(ts, r"\.\d{3}Z$")
        self.assertLess(abs((now - when).total_seconds()), 120)

    def test_server_timestamps(self):
        with Server("--timestamps") as srv:
            c = srv.connect()
            self.assertRegex(srv.line(), r"^\d\d:\d\d:\d\d\.\d{3} \[127\.0\.0\.1:\d+\] \+ connected$")
            c.sendall(b"hi\n")
            self.assertRegex(srv.line(), r"^\d\d:\d\d:\d\d\.\d{3} \[127\.0\.0\.1:\d+\] hi$")
            c.close()
        with Server("--timestamps", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(b"hi\n")
            c.close()
            events = srv.events_until(lambda e: e["event"] == "disconnect")
            self.assertEqual([e["event"] for e in events], ["connect", "data", "disconnect"])
            for e in events:
                self._check_ts(e["ts"])

    def test_server_packets_and_line_ends_show_ok_cr_at_once(self):
        with Server("--packets", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(b"OK\r")
            e = srv.events_until(lambda e: e["event"] == "data")[-1]
            self.assertEqual(e["text"], "OK\r")
            self.assertNotIn("partial", e)
            c.sendall("你".encode("gbk")[:1])  # a character cut between two reads
            c.sendall("你".encode("gbk")[1:] + b"!")
            texts = ""
            while texts != "你!":
                texts += srv.events_until(lambda e: e["event"] == "data")[-1]["text"]
            c.close()
        with Server("--line-end", "cr", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(b"OK\rNEXT")
            e = srv.events_until(lambda e: e["event"] == "data")[-1]
            self.assertEqual(e["text"], "OK")  # before any close
            c.close()
            e = srv.events_until(lambda e: e["event"] == "data")[-1]
            self.assertEqual(e["text"], "NEXT")
        for mode, data, expected in (("any", b"a\rb\nc\r\nd", ["a", "b", "c", "d"]),
                                     ("crlf", b"a\nb\r\nc\rd\r\n", ["a\nb", "c\rd"]),
                                     ("lf", b"a\rb\r\nc\n", ["a\rb", "c"])):
            with self.subTest(mode=mode), Server("--line-end", mode, "--format", "json") as srv:
                c = srv.connect()
                c.sendall(data)
                c.close()
                events = srv.events_until(lambda e: e["event"] == "disconnect")
                self.assertEqual([e["text"] for e in events if e["event"] == "data"], expected)

    def test_log_holds_both_directions(self):
        import json
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            server_log = os.path.join(tmp, "服务器.jsonl")  # UTF-16 file names on Windows
            client_log = os.path.join(tmp, "client.jsonl")
            with Server("--echo", "--log", server_log, "--format", "json") as srv:
                r = harness.run_client("--log", client_log, "127.0.0.1", srv.port, "-m", "hi")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, b"hi\n")
                srv.events_until(lambda e: e["event"] == "disconnect")
            for path in (server_log, client_log):
                with self.subTest(log=os.path.basename(path)), open(path) as f:
                    records = [json.loads(line) for line in f]
                    self.assertEqual([r["event"] for r in records],
                                     ["connect", "sent", "received", "disconnect"]
                                     if path == client_log else
                                     ["connect", "received", "sent", "disconnect"])
                    for rec in records:
                        self._check_ts(rec["ts"])
                        self.assertRegex(rec["peer"], r"^127\.0\.0\.1:\d+$")
                    data = [rec for rec in records if "hex" in rec]
                    self.assertEqual([(d["hex"], d["bytes"]) for d in data],
                                     [("68690a", 3), ("68690a", 3)])
                    self.assertEqual(records[-1]["reason"], "closed")
            r = harness.run_client("--log", os.path.join(tmp, "no", "dir.jsonl"), "127.0.0.1",
                                   "1", "-m", "x")
            self.assertEqual(r.returncode, 1)
            self.assertIn("--log ", r.stderr.decode())

    def test_a_log_that_cannot_be_written_is_said_once_and_the_server_goes_on(self):
        if harness.ON_WINDOWS or not os.path.exists("/dev/full"):
            self.skipTest("needs /dev/full (a file every write to fails), a POSIX device")
        with Server("--log", "/dev/full", "--format", "json") as srv:
            for _ in range(2):
                with srv.connect() as c:
                    c.sendall(b"still shown\n")
                    got = srv.events_until(lambda e: e["event"] == "data")
                    self.assertEqual(got[-1]["text"], "still shown")
                srv.events_until(lambda e: e["event"] == "disconnect")
            self.assertEqual(srv.error_line(),
                             "xsock-server: --log /dev/full: write failed; logging stopped "
                             "(the tool goes on)")
            srv.kill()
            self.assertIsNone(srv.err.next(SOON))  # said once

    def _client_against(self, reply, *args):
        """The client's stdout lines while a peer sends `reply` and stays open."""
        lst = harness.listening_socket()
        client = harness.start_client("127.0.0.1", lst.getsockname()[1], *args)
        try:
            conn, _ = lst.accept()
            conn.sendall(reply)
            out = harness._LineReader(client.stdout)
            return conn, client, out
        finally:
            lst.close()

    def _end(self, conn, client):
        conn.close()
        if client.poll() is None:
            client.wait(SOON)
        client.stdin.close()
        client.stdout.close()
        client.stderr.close()

    def test_client_packets_line_end_and_timestamps(self):
        conn, client, out = self._client_against(b"OK\r", "--packets")
        self.assertEqual(out.next(SOON), b"OK\\x0d\n")  # at once, the server still there
        self._end(conn, client)
        conn, client, out = self._client_against(b"OK\rGO\r", "--line-end", "cr")
        self.assertEqual(out.next(SOON), b"OK\n")
        self.assertEqual(out.next(SOON), b"GO\n")
        self._end(conn, client)
        conn, client, out = self._client_against(b"one\ntwo\n", "--timestamps")
        self.assertRegex(out.next(SOON), rb"^\d\d:\d\d:\d\d\.\d{3} one\n$")
        self.assertRegex(out.next(SOON), rb"^\d\d:\d\d:\d\d\.\d{3} two\n$")
        self._end(conn, client)


class Bounds(unittest.TestCase):
    """What the console, --log and /kick may cost: bounded memory and time (issue 18)."""

    # Short lines: what a line costs the server besides its bytes counts most.
    LINE = b"flood: 16 bytes\n"
    # Under ASan (the asan preset sets ASAN_OPTIONS) a line costs the server several
    # times as much: half the flood keeps the class within its time limit.
    FLOOD = (8 if os.environ.get("ASAN_OPTIONS") else 16) * 1024 * 1024
    # Measured: about 1 MiB of growth in release, 14 MiB under ASan (its shadow memory
    # and allocator); without the console's backpressure 54-61 MiB (release).
    GROWTH_LIMIT_KIB = (48 if os.environ.get("ASAN_OPTIONS") else 24) * 1024

    @staticmethod
    def _env():
        # ASan's quarantine is kept small, so that freed memory is not counted as growth.
        return {"ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") +
                                 ":quarantine_size_mb=4").lstrip(":")}

    def _server(self, *args):
        return Server("--format", "json", *args, stdin=subprocess.PIPE, env=self._env())

    def _flooded_server(self):
        """xsock-server with its stdout discarded and its stderr only watched (a flood
        makes a message a line): returns the process, its port and `watch(text)`, which
        starts looking for a stderr line containing `text` and returns a function that
        waits for it (watch first, then cause the line)."""
        proc = subprocess.Popen(
            harness.LAUNCHER + [harness.SERVER, "--format", "json", "0"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=harness.child_env(self._env()))
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(SOON),
                                 proc.stderr.close()))
        first = proc.stderr.readline()
        m = harness.LISTENING.search(first)
        self.assertTrue(m, first)
        watched = {}
        seen = []
        lock = threading.Lock()

        def read():
            for raw in iter(proc.stderr.readline, b""):
                with lock:
                    for text, event in watched.items():
                        if text in raw:
                            seen.append(text)
                            event.set()

        threading.Thread(target=read, daemon=True).start()

        def watch(text, *others):
            """Waits for a line with `text` or any of `others`; the wait returns which."""
            texts = [t.encode() for t in (text,) + others]
            event = threading.Event()
            with lock:
                for t in texts:
                    watched[t] = event

            def wait(timeout=SOON):
                self.assertTrue(event.wait(timeout),
                                f"none of {texts!r} on stderr within {timeout} s")
                with lock:
                    for t in texts:
                        del watched[t]
                    found = [t for t in seen if t in texts]
                    seen[:] = [t for t in seen if t not in texts]
                return found[0].decode()
            return wait

        return proc, int(m.group(2)), watch

    def _feed(self, proc, total):
        """Writes `total` bytes of lines to the server's input on a thread."""
        def run():
            chunk = self.LINE * (65536 // len(self.LINE))
            try:
                for _ in range(total // len(chunk)):
                    proc.stdin.write(chunk)
                proc.stdin.flush()
            except (OSError, ValueError):
                pass  # the server ended (the SIGTERM test)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def _client_that_does_not_read(self, proc, port, watch):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", port))
        self.addCleanup(c.close)
        # connect() returns once the kernel accepted the connection, maybe before the
        # server did: ask again (a bounded number of times) until /list shows it.
        for _ in range(200):
            listed = watch("connected since", "no client is connected")
            proc.stdin.write(b"/list\n")
            proc.stdin.flush()
            if listed() == "connected since":
                return c
        self.fail("the server never listed the connected client")

    def _peak_kib(self, proc):
        peak = harness._peak_rss_kib(proc.pid)
        if peak is None or harness.ON_WINDOWS:
            self.skipTest("the peak memory of the server process is known on Linux only")
        return peak

    def _check_flood(self, clients):
        proc, port, watch = self._flooded_server()
        for _ in range(clients):
            self._client_that_does_not_read(proc, port, watch)
        base = self._peak_kib(proc)
        feeder = self._feed(proc, self.FLOOD)
        feeder.join(120)
        self.assertFalse(feeder.is_alive(), "the server did not take its input")
        listed = watch("connected since" if clients else "no client is connected\n")
        proc.stdin.write(b"/list\n")  # answered once every line before it was handled
        proc.stdin.flush()
        listed(120)
        growth = self._peak_kib(proc) - base
        self.assertLess(growth, self.GROWTH_LIMIT_KIB, f"peak memory grew by {growth} KiB")

    def test_a_console_flood_with_no_client_keeps_memory_bounded(self):
        self._check_flood(0)

    def test_a_console_flood_to_a_client_that_does_not_read_keeps_memory_bounded(self):
        self._check_flood(1)

    @unittest.skipIf(harness.ON_WINDOWS, "SIGTERM is POSIX (Ctrl+C under Wine is tested by "
                                         "Console.test_stops_at_once_with_its_input_still_open)")
    def test_sigterm_stops_the_server_during_a_console_flood(self):
        for clients in (0, 1):
            with self.subTest(clients=clients):
                proc, port, watch = self._flooded_server()
                for _ in range(clients):
                    self._client_that_does_not_read(proc, port, watch)
                # The flood is being handled: lines are refused (no client, or its queue full).
                refused = watch("nothing sent" if clients == 0 else "not sent")
                self._feed(proc, self.FLOOD)
                refused()
                start = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(10), 0)
                self.assertLess(time.monotonic() - start, 5)

    def _fifo(self):
        if harness.ON_WINDOWS or not hasattr(os, "mkfifo"):
            self.skipTest("a FIFO (named pipe in the file system) is POSIX")
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "log.fifo")
        os.mkfifo(path)
        return path

    def test_a_log_nobody_reads_does_not_stop_the_server_or_its_stop(self):
        fifo = self._fifo()
        with self._server("--log", fifo) as srv:
            c = srv.connect()
            # More than the log's queue holds (2 MiB of records): the server goes on
            # without it, and says so once.
            data = b"y" * (1 << 20) + b"\n"
            for _ in range(2):
                c.sendall(data)
            while "records are dropped" not in srv.error_line(10):
                pass
            c.sendall(b"still shown\n")
            srv.events_until(lambda e: e["event"] == "data" and e["text"] == "still shown")
            start = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            self.assertEqual(srv.wait(10), 0)
            self.assertLess(time.monotonic() - start, 5)
            c.close()

    def _client_with_fifo_log(self, *args):
        fifo = self._fifo()
        lst = harness.listening_socket()
        self.addCleanup(lst.close)
        client = harness.start_client("--log", fifo, *args, "127.0.0.1", lst.getsockname()[1])
        self.addCleanup(lambda: client.poll() is None and client.kill())
        conn, _ = lst.accept()
        conn.settimeout(SOON)
        self.addCleanup(conn.close)
        return client, conn

    def test_a_client_with_a_log_nobody_reads_honours_wait(self):
        client, conn = self._client_with_fifo_log("--wait", "0.5", "-m", "hi")
        self.assertEqual(recv_exactly(conn, 3), b"hi\n")
        start = time.monotonic()
        out, err = client.communicate(timeout=10)
        self.assertEqual(client.returncode, 0, err)
        self.assertLess(time.monotonic() - start, 5)

    def test_a_client_with_a_log_nobody_reads_stops_on_ctrl_c(self):
        client, conn = self._client_with_fifo_log()
        client.stdin.write(b"typed\n")
        client.stdin.flush()
        self.assertEqual(recv_exactly(conn, 6), b"typed\n")  # its loop runs
        start = time.monotonic()
        client.send_signal(signal.SIGINT)
        out, err = client.communicate(timeout=10)
        self.assertEqual(client.returncode, 130, err)
        self.assertLess(time.monotonic() - start, 5)

    def test_kick_ends_a_client_that_does_not_read(self):
        with self._server() as srv:
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.connect(("127.0.0.1", srv.port))
            self.addCleanup(c.close)
            cid = srv.events_until(lambda e: e["event"] == "connect")[-1]["id"]
            # Lines for it until its output queue is full (a line is refused): much
            # is queued beyond what the system's buffers took.
            full = False
            for _ in range(64):
                srv.type((b"z" * 1023 + b"\n") * 1024 + b"/list\n")
                while True:
                    line = srv.error_line()
                    full = full or "not sent" in line
                    if "connected since" in line:
                        break
                if full:
                    break
            self.assertTrue(full, "64 MiB went out to a client that does not read")
            start = time.monotonic()
            srv.type(f"/kick {cid}\n".encode())
            e = srv.events_until(lambda e: e["event"] == "disconnect", timeout=10)[-1]
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual((e["id"], e["reason"]), (cid, "kicked"))

    @unittest.skipIf(harness.ON_WINDOWS and not harness.UNDER_WINE,
                     "the log is read after a stop by Ctrl+C, which reaches a child on "
                     "Windows only through a shared console")
    def test_a_kicked_client_is_said_so_in_text_and_in_the_log(self):
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "kick.jsonl")
            with Server("--log", log, stdin=subprocess.PIPE) as srv:
                a = srv.connect()
                self.assertIn("+ connected", srv.line())
                srv.type(b"/list\n")
                cid = srv.error_line().split()[0]
                srv.type(f"/kick {cid}\n".encode())
                self.assertEqual(harness.recv_until_closed(a), b"")
                self.assertRegex(srv.line(),
                                 r"^\[127\.0\.0\.1:\d+\] - disconnected \(0 bytes, kicked\)$")
                a.close()
                b = srv.connect()
                self.assertIn("+ connected", srv.line())
                b.close()  # one that leaves is not kicked
                self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] - disconnected \(0 bytes\)$")
                srv.proc.send_signal(signal.SIGTERM if not harness.ON_WINDOWS else signal.SIGINT)
                self.assertEqual(srv.wait(), 0)
            with open(log) as f:
                records = [json.loads(line) for line in f]
            self.assertEqual([r["reason"] for r in records if r["event"] == "disconnect"],
                             ["kicked", "closed"])

    def test_eol_cr_ends_typed_lines_with_cr(self):
        with self._server("--eol", "cr") as srv:
            a = srv.connect()
            a.settimeout(SOON)
            srv.events_until(lambda e: e["event"] == "connect")
            srv.type(b"AT\n")
            self.assertEqual(recv_exactly(a, 3), b"AT\r")
            a.close()

    def test_every_client_gets_its_own_stream_of_a_stateful_encoding(self):
        # An encoding that starts a stream with something (ISO-2022-KR's designator
        # ESC $ ) C, UTF-16's byte order mark): each connection's stream must have it
        # once, and decode on its own, also one that connects after the first line.
        listed = harness.run_server("--list-encodings").stdout.decode()
        for encoding, codec, starts in (("ISO-2022-KR", "iso2022_kr", (b"\x1b$)C",)),
                                        ("UTF-16", "utf-16", (b"\xfe\xff", b"\xff\xfe"))):
            with self.subTest(encoding=encoding):
                if encoding not in listed.split():
                    self.skipTest(f"this build's ICU has no {encoding} (trimmed ICU)")
                self._check_own_streams(encoding, codec, starts)

    def _check_own_streams(self, encoding, codec, starts):
        with self._server("-e", encoding) as srv:
            conns, ids = [], []
            for i in range(3):
                if i == 2:
                    srv.type("안녕 1\n".encode())
                    for _ in range(2):
                        srv.events_until(lambda e: e["event"] == "sent")
                conns.append(srv.connect())
                conns[-1].settimeout(SOON)
                ids.append(srv.events_until(lambda e: e["event"] == "connect")[-1]["id"])
            srv.type("세계 2\n".encode())
            for cid in ids:
                srv.type(f"/kick {cid}\n".encode())  # what was sent goes out first
            for conn, text in zip(conns, ("안녕 1\n세계 2\n", "안녕 1\n세계 2\n", "세계 2\n")):
                data = harness.recv_until_closed(conn)
                conn.close()
                self.assertTrue(data.startswith(starts), data)
                self.assertEqual(data.decode(codec), text, data)


class _Bytes:
    """A stream read as it comes (no lines): for output that does not end a line yet."""

    def __init__(self, stream):
        import threading
        self.data = b""
        self._cond = threading.Condition()
        self._ended = False
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream):
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(1)
            with self._cond:
                if not chunk:
                    self._ended = True
                    self._cond.notify_all()
                    return
                self.data += chunk
                self._cond.notify_all()

    def wait_for(self, expected, timeout=SOON):
        """Waits until the output so far is `expected` (bytes); fails if it is not."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.data) >= len(expected) or self._ended, timeout)
            if self.data != expected:
                raise AssertionError(f"expected {expected!r}, got {self.data!r}")


class Framing(unittest.TestCase):
    """The received-text path of both tools on hostile or awkward input (issue 18)."""

    def _json_data(self, srv, count):
        """The next `count` data events (other events skipped)."""
        got = []
        while len(got) < count:
            e = srv.event()
            if e["event"] == "data":
                got.append(e)
        return got

    def test_server_cr_and_lf_in_two_reads(self):
        # The \r is shown (flushed, or cut as a line end) before its \n arrives.
        for mode, first, then in (
                ("crlf", [("OK", True)], [("", False), ("NEXT", False)]),
                ("lf", [("OK", True)], [("", False), ("NEXT", False)]),
                ("any", [("OK", False)], [("NEXT", False)]),
                ("cr", [("OK", False)], [("\nNEXT\n", False)])):
            with self.subTest(mode=mode), Server("--line-end", mode, "--flush-ms", "20",
                                                 "--format", "json") as srv:
                c = srv.connect()
                c.sendall(b"OK\r")
                got = self._json_data(srv, len(first))
                self.assertEqual([(e["text"], e.get("partial", False)) for e in got], first)
                c.sendall(b"\n")
                c.sendall(b"NEXT\r\n" if mode != "cr" else b"NEXT\n\r")
                got = self._json_data(srv, len(then))
                self.assertEqual([(e["text"], e.get("partial", False)) for e in got], then)
                c.close()
                e = srv.events_until(lambda e: e["event"] == "disconnect")[-1]
                self.assertEqual(e["reason"], "closed")
                self.assertIsNone(srv.proc.poll())
        # Text output: the \n that ends a line already shown adds no empty line.
        with Server("--line-end", "crlf", "--flush-ms", "20") as srv:
            c = srv.connect()
            self.assertIn("+ connected", srv.line())
            c.sendall(b"OK\r")
            self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] OK$")
            c.sendall(b"\n")
            c.sendall(b"NEXT\r\n\r\n")
            self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] NEXT$")
            self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] $")  # an empty line is one
            c.close()

    def _client(self, *args):
        lst = harness.listening_socket()
        try:
            client = harness.start_client("127.0.0.1", lst.getsockname()[1], *args)
            conn, _ = lst.accept()
        finally:
            lst.close()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, client, _Bytes(client.stdout)

    def _client_ends(self, conn, client):
        self.assertIsNone(client.poll())  # still running: nothing crashed
        conn.close()
        self.assertEqual(client.wait(SOON), 0)
        client.stdin.close()
        client.stdout.close()
        client.stderr.close()

    def test_client_cr_and_lf_in_two_reads(self):
        for mode, shown, rest in (("crlf", b"OK", b"OK\nNEXT\n"), ("lf", b"OK", b"OK\nNEXT\n"),
                                  ("any", b"OK\n", b"OK\nNEXT\n"),
                                  ("cr", b"OK\n", b"OK\n\\x0aNEXT\\x0a\n")):
            with self.subTest(mode=mode):
                conn, client, out = self._client("--line-end", mode)
                conn.sendall(b"OK\r")  # shown at once (a device's prompt)
                out.wait_for(shown)
                conn.sendall(b"\n")
                conn.sendall(b"NEXT\r\n" if mode != "cr" else b"NEXT\n\r")
                out.wait_for(rest)
                self._client_ends(conn, client)

    def test_a_run_of_cr_is_cut_at_max_line(self):
        # crlf holds a last \r back (it may start a \r\n), never a whole run of them.
        size, max_line = 4 << 20, 65536
        with Server("--line-end", "crlf", "--max-line", max_line, "--format",
                    "json") as srv:
            c = srv.connect()
            c.sendall(b"\r" * size)
            pieces = self._json_data(srv, size // max_line - 1)  # before the line ends
            for e in pieces:
                self.assertEqual((len(e["text"]), e.get("partial")), (max_line, True))
            c.sendall(b"\n")
            c.close()
            rest = [e for e in srv.events_until(lambda e: e["event"] == "disconnect")
                    if e["event"] == "data"]
            self.assertEqual(rest[-1].get("partial", False), False)
            self.assertEqual(sum(len(e["text"]) for e in pieces + rest), size - 1)
            self.assertEqual(set("".join(e["text"] for e in rest)), {"\r"})

    def test_hex_cuts_utf16_and_utf32_on_code_units(self):
        for encoding, data, expected in (
                # U+010A holds a 0x0A byte; --max-line 3 is one code unit of two bytes
                ("UTF-16LE", "ab\n\u010a".encode("utf-16-le"), [("6100", True),
                                                                 ("6200", False),
                                                                 ("0a01", False)]),
                ("UTF-16BE", "\u0a0a\rx\r\n".encode("utf-16-be"), [("0a0a", True),
                                                                       ("000d", True),
                                                                       ("0078", False)]),
                # No byte order in the name: a byte order mark says little-endian...
                ("UTF-16", b"\xff\xfe" + "\n\u0a00".encode("utf-16-le"), [("fffe", False),
                                                                            ("000a", False)]),
                # ... and without one it is big-endian
                ("UTF-16", "a\n".encode("utf-16-be") + b"\x0a", [("0061", False),
                                                                   ("0a", False)]),
                ("UTF-32LE", "\u0a0a\n".encode("utf-32-le"), [("0a0a0000", False)]),
                ("UTF-32", "\n\n".encode("utf-32-be"), [("", False), ("", False)])):
            with self.subTest(encoding=encoding, data=data), \
                    Server("--hex", "-e", encoding, "--max-line", "3", "--format",
                           "json") as srv:
                c = srv.connect()
                for i in range(len(data)):  # a byte a read, as far as the system goes
                    c.sendall(data[i:i + 1])
                c.close()
                events = srv.events_until(lambda e: e["event"] == "disconnect")
                self.assertEqual([(e["hex"], e.get("partial", False)) for e in events
                                  if e["event"] == "data"], expected)
        with Server("--hex", "-e", "UTF-32BE", "--line-end", "crlf", "--format",
                    "json") as srv:
            c = srv.connect()
            c.sendall("a\r\nb\rc\r\n".encode("utf-32-be"))
            c.close()
            events = srv.events_until(lambda e: e["event"] == "disconnect")
            self.assertEqual([e["hex"] for e in events if e["event"] == "data"],
                             ["00000061", "000000620000000d00000063"])

    def test_a_piece_that_decodes_to_nothing_is_not_shown(self):
        # ISO-2022-JP: "日\n" is ESC $ B, two bytes, ESC ( B, \n. At --max-line 5 the
        # last piece, ESC ( B, ends the line but holds no text.
        data = "日\n".encode("iso2022_jp") + b"\nnext\n"
        with Server("-e", "ISO-2022-JP", "--max-line", "5") as srv:
            c = srv.connect()
            c.sendall(data)
            c.close()
            lines = []
            while "disconnected" not in (lines[-1] if lines else ""):
                lines.append(srv.line())
            shown = [line.split("] ", 1)[1] for line in lines]
            self.assertEqual(shown, ["+ connected", "日", "", "next",
                                     "- disconnected (15 bytes)"])
        with Server("-e", "ISO-2022-JP", "--max-line", "5", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(data)
            c.close()
            events = srv.events_until(lambda e: e["event"] == "disconnect")
            # JSON ends the line with the empty piece: the last piece is never partial
            self.assertEqual([(e["text"], e.get("partial", False)) for e in events
                              if e["event"] == "data"],
                             [("日", True), ("", False), ("", False), ("next", False)])

    def _peak_rss_kib(self, srv):
        return None if harness.ON_WINDOWS else harness._peak_rss_kib(srv.proc.pid)

    def test_a_long_line_costs_its_size_once(self):
        # 40 MiB (not a power of two: a string grown by doubling would be copied at
        # 32 MiB, twice the line for a moment) in one line, with --max-line 1 GiB.
        size = 40 << 20
        env = {"ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") +
                                ":quarantine_size_mb=4").lstrip(":")}
        with Server("--max-line", 1 << 30, "--format", "json", "-q", env=env) as srv:
            base = self._peak_rss_kib(srv)
            c = srv.connect()
            block = b"a" * (1 << 20)
            for _ in range(size // len(block)):
                c.sendall(block)
            c.sendall(b"\r\nnext\n")
            got = self._json_data(srv, 2)
            peak = self._peak_rss_kib(srv)
            self.assertEqual(len(got[0]["text"]), size)
            self.assertEqual(got[0]["text"], "a" * size)
            self.assertEqual(got[1]["text"], "next")
            c.close()
            if base is not None and peak is not None:
                growth = peak - base
                # The line once, plus blocks and output in flight (ASan: redzones,
                # shadow memory and its quarantine).
                allowance = (32 if os.environ.get("ASAN_OPTIONS") else 12) << 10
                self.assertLess(growth, size // 1024 * 3 // 2 + allowance,
                                f"peak memory grew by {growth} KiB for a {size >> 10} KiB line")

    def test_long_lines_are_cut_as_short_ones(self):
        # Lines held in blocks (over 1 MiB) keep the framing rules: pieces of
        # --max-line, a \r\n across reads, a \r just past the maximum, --flush-ms.
        m = 2500000
        with Server("--max-line", m, "--format", "json") as srv:
            c = srv.connect()
            c.sendall(b"x" * (6 << 20) + b"\r")
            c.sendall(b"\n" + b"y" * m + b"\r")
            c.sendall(b"\nz" * 2)
            c.sendall(b"w" * (m - 1) + b"\r\r\n")
            c.close()
            got = [(len(e["text"]), e["text"][-1:], e.get("partial", False))
                   for e in srv.events_until(lambda e: e["event"] == "disconnect")
                   if e["event"] == "data"]
            self.assertEqual(got, [(m, "x", True), (m, "x", True), ((6 << 20) - 2 * m, "x", False),
                                   (m, "y", False), (1, "z", False),
                                   (m, "w", True), (1, "\r", False)])
        with Server("--flush-ms", "50", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(b"f" * (3 << 20) + b"\r")
            shown = 0
            while shown < 3 << 20:  # flushed, maybe in several pieces, the \r kept
                e = self._json_data(srv, 1)[0]
                self.assertEqual((set(e["text"]), e["partial"]), ({"f"}, True))
                shown += len(e["text"])
            c.sendall(b"\nend\n")
            self.assertEqual([(e["text"], e.get("partial", False)) for e in self._json_data(srv, 2)],
                             [("", False), ("end", False)])
            c.close()

    def _log_has(self, path, hex_bytes):
        """Waits until the --log file records a read of exactly `hex_bytes`."""
        import json
        import time
        deadline = time.monotonic() + SOON
        while time.monotonic() < deadline:
            with open(path) as f:
                for line in f:
                    rec = json.loads(line)
                    if rec["event"] == "received" and rec["hex"] == hex_bytes:
                        return
            time.sleep(0.01)  # the file has no event to wait on: polled, bounded
        raise AssertionError(f"no read of {hex_bytes} in the log")

    def test_client_packets_skip_a_read_with_no_text(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "client.jsonl")
            conn, client, out = self._client("--packets", "-e", "ISO-2022-JP", "--log", log)
            conn.sendall(b"\x1b$BF|")
            out.wait_for("日\n".encode())
            conn.sendall(b"\x1b(B")  # a shift back to ASCII: no text
            self._log_has(log, "1b2842")
            conn.sendall(b"x")
            out.wait_for("日\nx\n".encode())
            self._client_ends(conn, client)

    def test_packets_show_half_a_character_at_once(self):
        first, second = "你".encode("gbk")[:1], "你".encode("gbk")[1:] + b"!"
        with Server("--packets", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(first)
            e = self._json_data(srv, 1)[0]
            self.assertEqual((e["text"], e["incomplete"]), ("", "c4"))
            c.sendall(second)
            e = self._json_data(srv, 1)[0]
            self.assertEqual((e["text"], e["invalid"]), ("你!", 0))
            self.assertNotIn("incomplete", e)
            c.close()
        with Server("--packets") as srv:
            c = srv.connect()
            srv.line()
            c.sendall(b"ok" + first)
            self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] ok\\xc4$")
            c.sendall(second)
            self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] 你!$")
            c.close()
            self.assertIn("disconnected (5 bytes)", srv.line())
        conn, client, out = self._client("--packets")
        conn.sendall(first)
        out.wait_for(b"\\xc4\n")
        conn.sendall(second)
        out.wait_for("\\xc4\n你!\n".encode())
        self._client_ends(conn, client)
        # UTF-16 is decoded before it is cut: half a code unit, then the rest
        with Server("--packets", "-e", "UTF-16LE", "--format", "json") as srv:
            c = srv.connect()
            c.sendall(b"a")
            e = self._json_data(srv, 1)[0]
            self.assertEqual((e["text"], e["incomplete"]), ("", "61"))
            c.sendall(b"\x00b\x00")
            e = self._json_data(srv, 1)[0]
            self.assertEqual((e["text"], e["invalid"]), ("ab", 0))
            self.assertNotIn("incomplete", e)
            c.sendall(b"\x3d\xd8")  # half of U+1F600: a high surrogate alone
            e = self._json_data(srv, 1)[0]
            self.assertEqual((e["text"], e["incomplete"]), ("", "3dd8"))
            c.sendall(b"\x00\xde")
            self.assertEqual(self._json_data(srv, 1)[0]["text"], "\U0001f600")
            c.close()


if __name__ == "__main__":
    unittest.main()
