#!/usr/bin/env python3
"""The tools at the machine's limit: xsock-server next to plain epoll baselines.

    python3 bench/tool_bench.py --build-dir build/bench [--quick] [--json FILE]

Builds nothing itself: `cmake --build --preset bench --target xsock_tool_bench` builds
xsock-server, the baselines (bench/baselines: a discard server and an echo server, no
decoding) and the load generator. Measures, side by side in one run (medians):

  ingest  MB/s of GBK text (the tutorial, Chinese and ASCII, ~116-byte lines) sent
          over one connection through `xsock-server --once --quiet` (text and JSON
          output, to /dev/null and to a file) vs the discard baseline, and text to a
          file vs `socat | iconv -f GBK -t UTF-8 > file` (skipped without socat);
          and over TLS (`xsock-server --tls`, a Python ssl sender trusting a CA the
          openssl command makes at bench time) vs the same over plain TCP, every
          line checked to have arrived (skipped without the openssl command, or a
          server built without TLS);
  echo    messages/s, 256 connections x 64-byte lines, `xsock-server --echo --quiet`
          (decoding and printing every line, to /dev/null) vs the echo baseline;
  hold    server RSS per idle connection at 10,000 connections that each exchanged
          one message (fewer, said so, when RLIMIT_NOFILE cannot be raised enough);
  accept  new connections/s (connect, one echoed line, close) vs the echo baseline.

Loopback only; every step is bounded in count and time and the run stops by itself.
--quick (CI) takes well under a minute. Linux only (epoll baselines, /proc RSS).
Exit 0 after printing the table (goals are reported, not enforced), 1 on a failure.
"""

import argparse
import json
import os
import platform
import re
import resource
import select
import ssl
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LISTENING = re.compile(rb"listening on (.+):(\d+)\s*$")
STEP_LIMIT = 120.0  # seconds any one step may take


def fail(message):
    print(f"tool_bench: {message}", file=sys.stderr)
    sys.exit(1)


def gbk_text(size):
    """~`size` bytes of GBK lines of ~116 bytes, cut from the tutorial's text."""
    with open(os.path.join(HERE, "data", "tcp-tutorial-zh.txt"), encoding="utf-8") as f:
        text = " ".join(f.read().split())
    lines, current, length = [], [], 0
    for ch in text:
        b = ch.encode("gbk", errors="replace")
        current.append(b)
        length += len(b)
        if length >= 115:
            lines.append(b"".join(current) + b"\n")
            current, length = [], 0
    block = b"".join(lines)
    repeat = max(1, size // len(block))
    return block * repeat, len(lines) * repeat


class Server:
    """A server process announcing `listening on ADDR:PORT` on stderr."""

    def __init__(self, argv, stdout=subprocess.DEVNULL):
        env = dict(os.environ, LC_ALL="C.UTF-8")
        env.pop("LANG", None)
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 30
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            m = LISTENING.search(line)
            if m:
                self.port = int(m.group(2))
                return
            if not line:
                break
        self.stop()
        fail(f"{argv[0]} did not announce its port (last stderr line: {line!r})")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        fail("no VmRSS for the server")

    def wait(self, limit=STEP_LIMIT):
        # A pidfd turns readable the moment the process exits (Popen.wait with a
        # timeout polls with sleeps, which would count as the server's time).
        fd = os.pidfd_open(self.proc.pid)
        try:
            ready, _, _ = select.select([fd], [], [], limit)
        finally:
            os.close(fd)
        if not ready:
            self.stop()
            fail(f"server did not exit within {limit} s")
        return self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


def ingest_once(argv, data, stdout):
    srv = Server(argv, stdout)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=STEP_LIMIT) as s:
        start = time.perf_counter()
        view = memoryview(data)
        for i in range(0, len(data), 1 << 20):
            s.sendall(view[i:i + (1 << 20)])
        s.shutdown(socket.SHUT_WR)
    code = srv.wait()
    elapsed = time.perf_counter() - start
    srv.stop()
    if code != 0:
        fail(f"{argv[0]} exited with {code}")
    return len(data) / elapsed / 1e6


def ingest_tls_once(argv, data, stdout, ca):
    """As ingest_once, the sender a Python ssl socket trusting `ca`: from the first byte
    sent (after the handshake) to the server's exit after the sender's close_notify."""
    srv = Server(argv, stdout)
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=STEP_LIMIT) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            start = time.perf_counter()
            view = memoryview(data)
            for i in range(0, len(data), 1 << 20):
                s.sendall(view[i:i + (1 << 20)])
            try:
                s.unwrap()  # close_notify: the server reads end of stream
            except (ssl.SSLError, OSError):
                pass  # the server closed as soon as it read it
    code = srv.wait()
    elapsed = time.perf_counter() - start
    srv.stop()
    if code != 0:
        fail(f"{argv[0]} --tls exited with {code}")
    return len(data) / elapsed / 1e6


def make_test_ca(folder):
    """A CA and a certificate for 127.0.0.1 it signed, by the openssl command: (ca,
    cert, key) paths."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    openssl("req", "-x509", *ec, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "1",
            "-subj", "/CN=xsock bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", *ec, "-keyout", path("server.key"), "-out", path("server.csr"),
            "-subj", "/CN=localhost")
    with open(path("leaf.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey",
            path("ca.key"), "-set_serial", "1", "-days", "1", "-extfile", path("leaf.ext"),
            "-out", path("server.pem"))
    return path("ca.pem"), path("server.pem"), path("server.key")


def pipeline_once(data, out_path):
    """`socat | iconv -f GBK -t UTF-8 > file`, the shell's way to the same job: socat
    reads the accepted connection (handed over as a descriptor, so no port is chosen
    for it) and writes to iconv. MB/s from the first byte sent to iconv's exit."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        client = socket.create_connection(lsock.getsockname(), timeout=STEP_LIMIT)
        conn, _ = lsock.accept()
    with client, open(out_path, "wb") as out:
        socat = subprocess.Popen(["socat", "-u", f"FD:{conn.fileno()}", "STDOUT"],
                                 stdout=subprocess.PIPE, pass_fds=[conn.fileno()])
        iconv = subprocess.Popen(["iconv", "-f", "GBK", "-t", "UTF-8"], stdin=socat.stdout,
                                 stdout=out)
        socat.stdout.close()
        conn.close()
        start = time.perf_counter()
        view = memoryview(data)
        for i in range(0, len(data), 1 << 20):
            client.sendall(view[i:i + (1 << 20)])
        client.shutdown(socket.SHUT_WR)
        try:
            codes = (iconv.wait(timeout=STEP_LIMIT), socat.wait(timeout=STEP_LIMIT))
        except subprocess.TimeoutExpired:
            iconv.kill()
            socat.kill()
            fail(f"socat | iconv did not finish within {STEP_LIMIT} s")
        elapsed = time.perf_counter() - start
    if codes != (0, 0):
        fail(f"socat | iconv exited with {codes}")
    return len(data) / elapsed / 1e6


def run_load(load, *args):
    out = subprocess.run([load, *map(str, args)], capture_output=True, text=True,
                         timeout=STEP_LIMIT + 30)
    if out.returncode != 0:
        fail(f"load generator failed: {out.stderr.strip()}")
    words = out.stdout.split()
    return int(words[1]) / float(words[3])


def echo_rate(argv, load, seconds):
    srv = Server(argv)
    try:
        return run_load(load, "echo", srv.port, 256, seconds)
    finally:
        srv.stop()


def accept_rate(argv, load, count, seconds):
    srv = Server(argv)
    try:
        return run_load(load, "accept", srv.port, count, 32, seconds)
    finally:
        srv.stop()


def exchange(sock, message):
    sock.sendall(message)
    got = b""
    while len(got) < len(message):
        chunk = sock.recv(len(message) - len(got))
        if not chunk:
            fail("the server closed a connection during the hold test")
        got += chunk


def hold_bytes_per_connection(argv, count):
    message = ("你好" * 8 + "hello, world 0123456789").encode("gbk").ljust(63, b".") + b"\n"
    srv = Server(argv)
    socks = []
    try:
        # One connection first: what every connection shares (code and data pages
        # touched, converter data) is not counted per connection.
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
            exchange(s, message)
        time.sleep(0.2)  # let the server see that close before measuring (not a sync)
        before = srv.rss_kib()
        deadline = time.monotonic() + STEP_LIMIT
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            socks.append(s)
            exchange(s, message)
            if time.monotonic() > deadline:
                fail(f"{len(socks)} of {count} connections after {STEP_LIMIT} s")
        after = srv.rss_kib()
        return (after - before) * 1024 / count
    finally:
        for s in socks:
            s.close()
        srv.stop()


def median_of(runs, fn):
    return statistics.median(fn() for _ in range(runs))


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build", "bench"))
    parser.add_argument("--quick", action="store_true", help="a short run for CI (< 60 s)")
    parser.add_argument("--connections", type=int, default=None,
                        help="idle connections for the hold test (default 10000, quick 1000)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--only", default="ingest,echo,accept,hold",
                        help="comma-separated subset of: ingest, echo, accept, hold")
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        fail("Linux only (epoll baselines, /proc for RSS)")

    build = os.path.abspath(args.build_dir)
    server = os.path.join(build, "tools", "xsock-server")
    discard = os.path.join(build, "bench", "xsock_bench_discard_server")
    echo = os.path.join(build, "bench", "xsock_bench_echo_server")
    load = os.path.join(build, "bench", "xsock_bench_load")
    for path in (server, discard, echo, load):
        if not os.access(path, os.X_OK):
            fail(f"{path} is missing: cmake --build --preset bench --target xsock_tool_bench")

    quick = args.quick
    runs = 3 if quick else 5
    ingest_size = (32 if quick else 256) << 20
    echo_seconds = 1.0 if quick else 4.0
    accept_count, accept_seconds = (3000, 2.0) if quick else (20000, 10.0)
    count = args.connections or (1000 if quick else 10000)

    # Both this process and the server hold `count` sockets.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = count + 200
    if hard != resource.RLIM_INFINITY and hard < needed:
        print(f"note: the descriptor hard limit is {hard}: holding {hard - 200} connections, "
              f"not {count} (raise ulimit -Hn for the full test)")
        count = max(100, hard - 200)
        needed = count + 200
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))

    data, line_count = gbk_text(ingest_size)
    results = []

    def report(name, unit, xsock, baseline, goal, higher_is_better=True):
        ratio = xsock / baseline if baseline else float("inf")
        results.append({"name": name, "unit": unit, "xsock": xsock, "baseline": baseline,
                        "ratio": ratio, "goal": goal})
        print(f"{name:<44} {xsock:>12.1f} {baseline:>12.1f} {unit:<8} {ratio:>7.3f}x  "
              f"goal {goal}", flush=True)

    print(f"machine: {machine()}")
    print(f"mode: {'quick' if quick else 'full'}, medians of {runs}; ingest {len(data) >> 20} MiB "
          f"of GBK, {len(data) / line_count:.0f} bytes a line")
    print(f"{'measure':<44} {'xsock':>12} {'baseline':>12} {'unit':<8} {'ratio':>8}")

    only = set(args.only.split(","))
    if "ingest" in only:
        ingest(runs, discard, server, data, line_count, report)
    echo_args = [server, "0", "--bind", "127.0.0.1", "--echo", "--quiet", "--backlog", "4096"]
    if "echo" in only:
        report("echo 256 conns x 64 B (decoded, printed)", "msg/s",
               median_of(runs, lambda: echo_rate(echo_args, load, echo_seconds)),
               median_of(runs, lambda: echo_rate([echo], load, echo_seconds)), ">= 1.0x")
    if "accept" in only:
        report("accept: connect, one line echoed, close", "conn/s",
               median_of(runs, lambda: accept_rate(echo_args, load, accept_count,
                                                   accept_seconds)),
               median_of(runs, lambda: accept_rate([echo], load, accept_count, accept_seconds)),
               ">= 0.9x")
    if "hold" in only:
        hold_runs = 1 if quick else 3
        report(f"hold: RSS per idle connection at {count}", "bytes",
               median_of(hold_runs, lambda: hold_bytes_per_connection(echo_args, count)),
               median_of(hold_runs, lambda: hold_bytes_per_connection([echo], count)),
               "<= 512 bytes (xsock)")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "quick": quick, "results": results}, f, indent=2)
    return 0


def ingest(runs, discard, server, data, line_count, report):
    base_ingest = median_of(runs, lambda: ingest_once([discard, "--once"], data,
                                                      subprocess.DEVNULL))
    common = [server, "0", "--bind", "127.0.0.1", "--once", "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        # The shell's pipeline, and the server doing the same job (text to a file),
        # alternated so that neither always runs on a warmer machine.
        if shutil.which("socat") and shutil.which("iconv"):
            path = os.path.join(tmp, "out")
            pipe_rates, server_rates = [], []
            for _ in range(runs):
                pipe_rates.append(pipeline_once(data, path))
                with open(path, "wb") as out:
                    server_rates.append(ingest_once(common, data, out))
            os.unlink(path)
            report("ingest GBK to a file vs socat | iconv", "MB/s",
                   statistics.median(server_rates), statistics.median(pipe_rates), ">= 8x")
        else:
            print("ingest vs socat | iconv: skipped (socat or iconv is not installed)")
        ingest_tls(runs, common, data, line_count, tmp, report)
        for fmt in ("text", "json"):
            for target in ("/dev/null", "file"):
                def one():
                    if target == "/dev/null":
                        return ingest_once(common + ["--format", fmt], data, subprocess.DEVNULL)
                    path = os.path.join(tmp, "out")
                    with open(path, "wb") as out:
                        rate = ingest_once(common + ["--format", fmt], data, out)
                    with open(path, "rb") as f:
                        lines = f.read().count(b"\n")
                    os.unlink(path)
                    if lines != line_count:
                        fail(f"{fmt} output has {lines} lines, {line_count} were sent")
                    return rate
                report(f"ingest GBK, {fmt} to {target}", "MB/s", median_of(runs, one),
                       base_ingest, ">= 0.25x" if (fmt, target) == ("text", "/dev/null") else "-")


def ingest_tls(runs, common, data, line_count, tmp, report):
    """TLS vs plain TCP, the same server doing the same job (text to a file), alternated;
    every run checks that every line arrived."""
    help_text = subprocess.run([common[0], "--help"], capture_output=True, timeout=30).stdout
    if b"built without TLS" in help_text or b"--tls" not in help_text:
        print("ingest over TLS: skipped (xsock-server was built without TLS)")
        return
    if not shutil.which("openssl"):
        print("ingest over TLS: skipped (no openssl command to make the bench CA)")
        return
    ca, cert, key = make_test_ca(tmp)
    path = os.path.join(tmp, "out")

    def checked(rate):
        with open(path, "rb") as f:
            lines = f.read().count(b"\n")
        os.unlink(path)
        if lines != line_count:
            fail(f"{lines} lines arrived, {line_count} were sent")
        return rate

    tls_rates, plain_rates = [], []
    for _ in range(runs):
        with open(path, "wb") as out:
            plain_rates.append(checked(ingest_once(common, data, out)))
        with open(path, "wb") as out:
            tls_rates.append(checked(ingest_tls_once(
                common + ["--tls", "--cert", cert, "--key", key], data, out, ca)))
    report("ingest GBK to a file over TLS vs plain TCP", "MB/s", statistics.median(tls_rates),
           statistics.median(plain_rates), "-")


if __name__ == "__main__":
    sys.exit(main())
