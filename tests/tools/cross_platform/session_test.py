#!/usr/bin/env python3
"""One scripted session against the Linux and the Windows build of xsock-server: their
output must be identical, byte for byte.

    session_test.py --linux SERVER --windows SERVER.exe [--launcher "scripts/wine-run.sh"]
    session_test.py --show SERVER [--launcher ...]     # print one server's transcript

The session (the same bytes, in the same order, from Python sockets on 127.0.0.1):
GBK text, CRLF, invalid bytes, a character split across two reads, a line longer than
--max-line, a partial line flushed by a half-close, a graceful close, a reset, a client
still connected when the server gets SIGINT (Ctrl+C under Wine); then a second run
with --hex, and a third in UTF-8 with --raw. Every step waits for an event (the echo
of what was sent, or a line of output), never for time.

Compared: standard output, standard error and the exit code. Only the ephemeral port
numbers differ between two runs; they are replaced by names (<server>, <A>, <B>...)
before comparing, and nothing else is touched.

Exit status: 0 identical, 1 different or failed, 77 (ctest SKIP_RETURN_CODE) when no
Linux server is given (set XSOCK_LINUX_SERVER, as .ci/mingw.sh does).
"""

import argparse
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

SOON = float(os.environ.get("XSOCK_TEST_TIMEOUT", "30"))
LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")


class Lines:
    """A stream read line by line on a thread, so every wait has a bound."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.all = []
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            self.queue.put(raw)
        self.queue.put(None)

    def next(self, timeout=SOON):
        try:
            line = self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s; last lines: {self.all[-3:]}")
        if line is not None:
            self.all.append(line)
        return line

    def until(self, needle):
        """Reads lines until one contains `needle` (bytes)."""
        while True:
            line = self.next()
            if line is None:
                raise AssertionError(f"output ended before {needle!r}")
            if needle in line:
                return line

    def rest(self):
        while self.next() is not None:
            pass


class Session:
    def __init__(self, command, json):
        self.json = json
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = Lines(self.proc.stdout)
        self.err = Lines(self.proc.stderr)
        m = LISTENING.search(self.err.next() or b"")
        if not m:
            self.proc.kill()
            raise AssertionError(f"no 'listening on' line: {self.err.all}")
        self.port = int(m.group(1))
        self.names = {self.port: "server"}
        self.ports = {}
        self.ids = {}
        self.clients = 0

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=SOON)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.clients += 1
        self.ports[s] = s.getsockname()[1]
        self.ids[s] = self.clients
        self.names[s.getsockname()[1]] = chr(ord("A") + self.clients - 1)
        self.wait(s, "connect")
        return s

    def wait(self, s, event):
        """Waits for the output line of `event` (connect, data, disconnect) for client s."""
        peer = b"127.0.0.1:%d" % self.ports[s]
        if self.json:
            needle = b'{"event":"%s","id":%d,"peer":"%s"' % (event.encode(), self.ids[s], peer)
        else:
            needle = b"[%s] " % peer + {"connect": b"+ connected", "data": b"",
                                        "disconnect": b"- disconnected"}[event]
        self.out.until(needle)

    @staticmethod
    def send_synced(s, data):
        """Sends `data` and waits for its echo: the server has read all of it."""
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(len(data) - len(got))
            if not chunk:
                raise AssertionError("connection closed before the echo")
            got += chunk
        assert got == data, (got, data)

    def finish(self, interrupt):
        if interrupt:
            self.proc.send_signal(signal.SIGINT)  # Ctrl+C under Wine
        code = self.proc.wait(SOON)
        self.out.rest()
        self.err.rest()
        return code

    def transcript(self, code):
        def named(line):
            def repl(m):
                name = self.names.get(int(m.group(2)))
                return m.group(1) + (b"<%s>" % name.encode() if name else m.group(2))
            return re.sub(rb"(127\.0\.0\.1:)(\d+)", repl, line)
        return (b"".join(named(l) for l in self.out.all),
                b"".join(named(l) for l in self.err.all), code)


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def gbk_session(run):
    """The main session: GBK text in every shape the server must handle."""
    a = run.connect()
    run.send_synced(a, "你好，世界\n".encode("gbk"))
    run.wait(a, "data")
    run.send_synced(a, b"plain ascii with CRLF\r\n")
    run.wait(a, "data")
    run.send_synced(a, b"bad \xff bytes \x80\x81 and a cut lead \xc4\n")
    run.wait(a, "data")
    run.send_synced(a, b"split \xc4")  # 你 = C4 E3, cut after its first byte
    run.send_synced(a, b"\xe3 joined\n")
    run.wait(a, "data")
    run.send_synced(a, b"tab\tand escape \x1b[31m and bell \x07\n")
    run.wait(a, "data")
    run.send_synced(a, "长行".encode("gbk") * 20 + b"\n")  # 80 bytes > --max-line 32
    run.wait(a, "data")
    run.send_synced(a, b"no newline, then half-close")
    a.shutdown(socket.SHUT_WR)
    assert a.recv(16) == b""  # the server closes once the echo is flushed
    a.close()
    run.wait(a, "disconnect")

    b = run.connect()
    run.send_synced(b, "再见\n".encode("gbk"))
    run.wait(b, "data")
    b.close()
    run.wait(b, "disconnect")

    c = run.connect()
    run.send_synced(c, b"about to reset\n")
    run.wait(c, "data")
    reset(c)
    run.wait(c, "disconnect")

    d = run.connect()
    run.send_synced(d, "还在\n".encode("gbk"))
    run.wait(d, "data")
    code = run.finish(interrupt=True)  # d is still connected: reason "shutdown"
    d.close()
    return code


def hex_session(run):
    a = run.connect()
    run.send_synced(a, "你好\n".encode("gbk") + b"\xff\xfe\n")
    run.wait(a, "data")
    a.close()
    run.wait(a, "disconnect")
    return run.finish(interrupt=True)


def utf8_session(run):
    a = run.connect()
    run.send_synced(a, "héllo wörld 😀\n".encode("utf-8") + b"\xed\xa0\x80 surrogate\n")
    run.send_synced(a, "emoji cut \xf0\x9f".encode("latin-1"))
    run.send_synced(a, b"\x98\x80 done\n")
    run.send_synced(a, b"raw escape \x1b[0m kept\n")
    run.wait(a, "data")
    a.close()
    run.wait(a, "disconnect")
    return run.finish(interrupt=True)


SESSIONS = [
    ("gbk-json", ["--format", "json", "-e", "GBK", "--echo", "--max-line", "32"], gbk_session),
    ("gbk-hex", ["--format", "json", "-e", "GBK", "--echo", "--hex"], hex_session),
    ("utf8-text-raw", ["--format", "text", "-e", "UTF-8", "--echo", "--raw"], utf8_session),
]


def run_all(server, launcher):
    results = {}
    for name, args, body in SESSIONS:
        run = Session(launcher + [server, *args, "-b", "127.0.0.1", "0"], "json" in args)
        try:
            code = body(run)
        except BaseException:
            run.proc.kill()
            raise
        results[name] = run.transcript(code)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--linux", default=os.environ.get("XSOCK_LINUX_SERVER", ""))
    p.add_argument("--linux-default", default="", help="used when --linux is not given")
    p.add_argument("--windows")
    p.add_argument("--launcher", default="", help="runs the Windows server (wine)")
    p.add_argument("--show", help="print the transcripts of this server and exit")
    a = p.parse_args()
    launcher = a.launcher.split() if a.launcher else []
    if a.show:
        for name, (out, err, code) in run_all(a.show, launcher).items():
            sys.stdout.write(f"== {name}: exit {code}\n-- stderr\n{err.decode()}-- stdout\n")
            sys.stdout.write(out.decode("utf-8", "replace"))
        return 0
    if not a.linux:
        a.linux = a.linux_default
    if not a.linux or not os.path.exists(a.linux):
        print("SKIP: no Linux xsock-server to compare with (set XSOCK_LINUX_SERVER to the "
              "xsock-server of a Linux build, e.g. the default preset's)")
        return 77
    linux = run_all(a.linux, [])
    windows = run_all(a.windows, launcher)
    same = True
    for name in linux:
        for what, l, w in zip(("stdout", "stderr", "exit code"), linux[name], windows[name]):
            if l != w:
                same = False
                print(f"DIFFERENT {name} {what}:\n  Linux:   {l!r}\n  Windows: {w!r}")
        lines = linux[name][0].count(b"\n")
        print(f"{name}: {lines} output lines, exit {linux[name][2]}: "
              f"{'identical' if linux[name] == windows[name] else 'DIFFERENT'}")
    print("1 passed, 0 failed" if same else "0 passed, 1 failed")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
