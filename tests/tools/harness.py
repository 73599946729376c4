"""Process helpers for the xsock tool tests.

The executables and an optional launcher (for example `wine` for a MinGW build) come
from the command line of run_tool_tests.py (or the XSOCK_SERVER / XSOCK_CLIENT /
XSOCK_LAUNCHER environment variables). Nothing here sleeps to synchronise: every wait
is for an event (a line of output, a process exit, a socket event) with a bound.
"""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

SERVER = os.environ.get("XSOCK_SERVER", "")
CLIENT = os.environ.get("XSOCK_CLIENT", "")
LAUNCHER = os.environ.get("XSOCK_LAUNCHER", "").split()
# Bound for anything that should happen at once (slow machines, sanitizers, Wine).
SOON = float(os.environ.get("XSOCK_TEST_TIMEOUT", "30"))
ON_WINDOWS = os.environ.get("XSOCK_TARGET_WINDOWS") == "1" or os.name == "nt"
# Windows tools run by a launcher on a POSIX system: under Wine. There, SIGINT to the
# tool's process is Ctrl+C (Wine turns it into CTRL_C_EVENT), and a pseudo-terminal on
# its standard input is its console (Wine's conhost reads the terminal).
UNDER_WINE = ON_WINDOWS and os.name != "nt"

LISTENING = re.compile(rb"listening on (.+):(\d+)\s*$")


def configure(server, client, launcher):
    global SERVER, CLIENT, LAUNCHER, ON_WINDOWS, UNDER_WINE
    SERVER, CLIENT = server, client
    LAUNCHER = launcher.split() if launcher else []
    if server.lower().endswith(".exe"):
        ON_WINDOWS = True
    UNDER_WINE = ON_WINDOWS and os.name != "nt"


def child_env(extra=None):
    env = dict(os.environ)
    # A known locale for the tools' local text: UTF-8 (C.UTF-8 exists everywhere).
    env["LC_ALL"] = "C.UTF-8"
    env.pop("LANG", None)
    # The TLS tests trust the CAs they make: a runner's bundle would only be parsed by
    # every --tls client (0.4 s each under Wine).
    env.pop("SSL_CERT_FILE", None)
    env.pop("SSL_CERT_DIR", None)
    if extra:
        env.update(extra)
    return env


class _LineReader:
    """Reads a stream line by line on a thread, so waits can have timeouts."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            self.lines.put(raw)
        # Closed here, at its end of file, not by whoever ends the process: closing a
        # stream another thread reads waits for that read, and under Wine a program on
        # a console hands its output handles to the desktop process (explorer.exe),
        # which may hold them long after the program is gone. Closed before the end is
        # told, so that whoever saw the end finds the stream closed.
        stream.close()
        self.lines.put(None)

    def next(self, timeout):
        """The next line (bytes, newline kept), None at end of stream; raises on timeout."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s; so far: {self.seen[-5:]}")
        if line is not None:
            self.seen.append(line)
        return line

    def join(self, timeout):
        self._thread.join(timeout)


class Server:
    """xsock-server on port 0; `port` comes from its `listening on` line."""

    def __init__(self, *args, port=0, env=None, expect_listening=True, stdin=None):
        cmd = LAUNCHER + [SERVER, *[str(a) for a in args]]
        if port is not None:
            cmd.append(str(port))
        self.args = args
        self.port = None
        for attempt in (1, 2):
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(env))
            self.out = _LineReader(self.proc.stdout)
            self.err = _LineReader(self.proc.stderr)
            if not expect_listening:
                return
            line = self.err.next(SOON)
            if line is None and attempt == 1 and UNDER_WINE:
                returncode = self.proc.wait(SOON)
                if silent_launch_failure(returncode, self.out.next(SOON)):
                    _relaunching("xsock-server")
                    continue
            break
        if expect_listening:
            m = LISTENING.search(line or b"")
            if not m:
                self.kill()
                raise AssertionError(f"expected 'listening on', got {line!r}")
            self.host = m.group(1).decode()
            self.port = int(m.group(2))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(SOON)
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        # stdout and stderr are closed by their readers (see _LineReader).

    def connect(self, nodelay=True):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=SOON)
        if nodelay:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def line(self, timeout=None):
        """The next stdout line as text (UTF-8, no newline); raises at end or timeout."""
        raw = self.out.next(SOON if timeout is None else timeout)
        if raw is None:
            raise AssertionError("server output ended")
        return raw.decode("utf-8").rstrip("\n")

    def event(self, timeout=None):
        """The next JSON event (for --format json)."""
        return json.loads(self.line(timeout))

    def events_until(self, pred, timeout=None):
        """JSON events until one satisfies pred (returned list includes it)."""
        deadline = time.monotonic() + (SOON if timeout is None else timeout)
        got = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"condition not met; last events: {got[-5:]}")
            e = self.event(left)
            got.append(e)
            if pred(e):
                return got

    def type(self, data):
        """Writes bytes to the server's standard input (started with stdin=PIPE)."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def error_line(self, timeout=None):
        """The next stderr line as text (no newline); raises at end or timeout."""
        raw = self.err.next(SOON if timeout is None else timeout)
        if raw is None:
            raise AssertionError("server stderr ended")
        return raw.decode("utf-8").rstrip("\n")

    def terminate(self):
        """SIGTERM (POSIX); returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(SOON)

    def wait(self, timeout=None):
        return self.proc.wait(SOON if timeout is None else timeout)

    def rest_of_output(self):
        """Everything left on stdout, after the process ended."""
        lines = []
        while True:
            raw = self.out.next(SOON)
            if raw is None:
                return lines
            lines.append(raw.decode("utf-8").rstrip("\n"))


# What the Enter key sends: a terminal sends CR (the POSIX terminal driver turns it into
# LF for the program; Wine's console reads it as the Enter key, and LF as Ctrl+J).
ENTER = b"\r"


def open_terminal():
    """A pseudo-terminal (master, slave) to stand for a person typing: the slave is the
    tool's standard input. POSIX only; under Wine it becomes the program's console."""
    import pty
    master, slave = pty.openpty()
    if UNDER_WINE:
        # Wine's console reads the terminal in raw mode, but only from the program's
        # first read on: what is typed before would go through the terminal driver's
        # line editing, and come as Ctrl+J instead of Enter. Raw from the start.
        import tty
        tty.setraw(slave)
    return master, slave


class Screen:
    """What a terminal shows for the bytes a program wrote to it: enough of a VT100 to
    read back the lines whatever draws them (a POSIX program's CR and erase-line, or
    Wine drawing a Windows console with cursor moves)."""

    _CSI = re.compile(rb"\x1b\[([0-9;?]*)([@-~])")
    _OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")

    def __init__(self):
        self.rows = [[]]
        self.row = 0
        self.col = 0

    def _line(self):
        while len(self.rows) <= self.row:
            self.rows.append([])
        return self.rows[self.row]

    def _put(self, ch):
        line = self._line()
        while len(line) < self.col:
            line.append(" ")
        if self.col < len(line):
            line[self.col] = ch
        else:
            line.append(ch)
        self.col += 1

    def feed(self, data):
        data = self._OSC.sub(b"", data)
        at = 0
        while at < len(data):
            m = self._CSI.match(data, at)
            if m:
                self._control(m.group(1).decode(), m.group(2).decode())
                at = m.end()
                continue
            b = data[at:at + 1]
            if b == b"\r":
                self.col = 0
            elif b == b"\n":
                self.row += 1
                self._line()
            elif b == b"\b":
                self.col = max(0, self.col - 1)
            elif b == b"\x1b" or b < b" ":
                pass  # another escape or control: nothing shown
            else:
                end = at + 1
                while end < len(data) and data[end] >= 0x80 and data[end] < 0xC0:
                    end += 1  # the rest of a UTF-8 character
                self._put(data[at:end].decode("utf-8", "replace"))
                at = end
                continue
            at += 1

    def _control(self, params, final):
        if params.startswith("?"):
            return  # modes (cursor shown or hidden)
        n = [int(p) if p else 0 for p in params.split(";")] if params else []
        first = n[0] if n else 0
        line = self._line()
        if final == "K":
            if first == 0:
                del line[self.col:]
            elif first == 1:
                line[:self.col] = [" "] * min(self.col, len(line))
            else:
                line.clear()
        elif final == "C":
            self.col += max(first, 1)
        elif final == "D":
            self.col = max(0, self.col - max(first, 1))
        elif final == "A":
            self.row = max(0, self.row - max(first, 1))
        elif final == "B":
            self.row += max(first, 1)
        elif final == "G":
            self.col = max(first, 1) - 1
        elif final in "Hf":
            self.row = (n[0] if len(n) > 0 and n[0] else 1) - 1
            self.col = (n[1] if len(n) > 1 and n[1] else 1) - 1
        elif final == "J" and first == 2:
            self.rows = [[]]
        self._line()

    def lines(self):
        """The lines shown, trailing blanks removed, empty lines dropped."""
        shown = ["".join(line).rstrip() for line in self.rows]
        return [line for line in shown if line]

    def cursor_line(self):
        """What the cursor's line shows before the cursor (blanks included)."""
        return "".join(self._line()[:self.col]).ljust(self.col)


def silent_launch_failure(returncode, *outputs):
    """Under Wine and under load, about one launch in a thousand ends at once with a
    failing exit code and no output at all: Wine never ran the program (see "Wine gaps"
    in docs/windows.md). The tools print a line for every failure of their own, so
    such an end is never theirs, and the launch is worth repeating once."""
    return UNDER_WINE and returncode not in (0, None) and not any(outputs)


def _relaunching(what):
    print(f"harness: {what} ended at once without printing anything (Wine did not run it); "
          "launching it again", file=sys.stderr)


def _run_to_completion(cmd, **kwargs):
    for attempt in (1, 2):
        r = subprocess.run(cmd, capture_output=True, **kwargs)
        if attempt == 2 or not silent_launch_failure(r.returncode, r.stdout, r.stderr):
            return r
        _relaunching(os.path.basename(cmd[len(LAUNCHER)]))


def run_server(*args, timeout=None, env=None):
    """Runs xsock-server to completion (for usage errors etc.)."""
    return _run_to_completion(LAUNCHER + [SERVER, *[str(a) for a in args]],
                              stdin=subprocess.DEVNULL,
                              timeout=SOON if timeout is None else timeout, env=child_env(env))


def run_client(*args, input=None, timeout=None, env=None):
    """Runs xsock-client to completion; `input` (bytes) is its standard input."""
    return _run_to_completion(LAUNCHER + [CLIENT, *[str(a) for a in args]],
                              input=input if input is not None else b"",
                              timeout=SOON if timeout is None else timeout, env=child_env(env))


class Measured:
    def __init__(self, returncode, stdout, stderr, max_rss_kib):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.max_rss_kib = max_rss_kib


def _peak_rss_kib(pid):
    """The process's peak resident memory so far (Linux /proc), else None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_client_measured(*args, input=b"", timeout=None):
    """Like run_client, plus the client's peak resident memory in KiB (None where the
    system cannot tell). The peak is a high-water mark, so sampling it while the client
    runs loses at most the last interval. ASan's quarantine is kept small so freed
    memory is not counted as growth."""
    env = child_env()
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4").lstrip(":")
    p = subprocess.Popen(LAUNCHER + [CLIENT, *[str(a) for a in args]], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    outputs = {}
    peak = [None]
    done = threading.Event()

    def feed():
        try:
            for i in range(0, len(input), 1 << 20):
                p.stdin.write(input[i:i + (1 << 20)])
            p.stdin.close()
        except OSError:
            pass

    def drain(name, stream):
        outputs[name] = stream.read()

    def sample():
        while not done.wait(0.02):
            value = _peak_rss_kib(p.pid)
            if value is not None:
                peak[0] = value

    threads = [threading.Thread(target=feed, daemon=True),
               threading.Thread(target=drain, args=("out", p.stdout), daemon=True),
               threading.Thread(target=drain, args=("err", p.stderr), daemon=True),
               threading.Thread(target=sample, daemon=True)]
    for t in threads:
        t.start()
    try:
        p.wait(SOON if timeout is None else timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        done.set()
    for t in threads:
        t.join(SOON)
    return Measured(p.returncode, outputs.get("out", b""), outputs.get("err", b""), peak[0])


def start_client(*args, env=None):
    """xsock-client with pipes, for tests that feed it gradually."""
    return subprocess.Popen(LAUNCHER + [CLIENT, *[str(a) for a in args]], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(env))


def listening_socket():
    """A Python listener on 127.0.0.1, port 0 (the peer for client tests)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.settimeout(SOON)
    return s


def closed_port():
    """A port nothing listens on (bound then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DeadListener:
    """A 127.0.0.1 listener that never accepts, its queue filled: the system drops
    further connection requests, so a connect to `port` hangs until its time limit.
    `usable` is False (close() it and skip) where the system takes any number of
    connections into the queue."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.queued = []
        self.usable = False
        for _ in range(64):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(0.2)
            try:
                s.connect(("127.0.0.1", self.port))
            except socket.timeout:
                s.close()
                self.usable = True
                break
            self.queued.append(s)

    def close(self):
        for s in self.queued:
            s.close()
        self.listener.close()


def connecting_to(port):
    """True while some socket of this machine is sending SYNs to 127.0.0.1:`port`
    (Linux: a SYN_SENT row in /proc/net/tcp); None where that cannot be known."""
    try:
        with open("/proc/net/tcp") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        fields = row.split()
        if fields[3] == "02" and fields[2] == f"0100007F:{port:04X}":
            return True
    return False


def recv_until_closed(conn, limit=1 << 26):
    data = b""
    while len(data) < limit:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def python():
    return sys.executable
