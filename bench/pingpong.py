#!/usr/bin/env python3
"""Ping-pong (echo) throughput: xsock::event_loop against libuv, Asio, libevent, POCO.

    python3 bench/pingpong.py --build-dir build/bench [--quick] [--runs 5] [--seconds S]
                              [--json FILE] [--markdown] [--client-mode epoll|loop]

Builds nothing itself: `cmake --build --preset bench --target xsock_pingpong` builds
the echo servers (bench/pingpong: one per library, each single-threaded and written
the library's own way; the plain epoll echo baseline of bench/baselines as a
reference) and the client. As muduo's and evpp's ping-pong benchmarks: N sessions each
send one message, then send back whatever they receive, for S seconds; throughput is
the bytes the client received per second (MiB/s). Messages of 1 KiB and 16 KiB x 1,
10, 100 and 1,000 sessions; each cell is run `--runs` times with the servers' order
rotated from run to run (no library always goes first), and the medians are reported
with the ratio of xsock to each peer and to the fastest peer. Server and client are
pinned to two different CPUs with taskset (unpinned, said so, when there are fewer
than two CPUs or no taskset). The client is a plain epoll loop by default, so it is
never the bottleneck (`--client-mode loop`: the same client on xsock::event_loop).

--quick (CI): one run of 0.3 s, 1 KiB and 16 KiB x 1 and 100 sessions, the client
checking every byte it receives (`--check`); exits 1 when a server echoes wrong bytes,
moves nothing or fails. A peer that was not built is reported as skipped, with why.
Loopback only; every step is bounded in time (a server that does not start or stop,
or a client that does not finish, is killed and reported). Linux only.
"""

import argparse
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

LISTENING = re.compile(rb"listening on (.+):(\d+)\s*$")
RESULT = re.compile(r"sessions (\d+) size (\d+) seconds ([\d.]+) bytes (\d+) mibps ([\d.]+)")
START_LIMIT = 10.0  # seconds a server may take to announce its port
STOP_LIMIT = 10.0  # seconds a server may take to exit after SIGTERM
CLIENT_SLACK = 30.0  # seconds a client may take beyond its measuring time

# (name, binary relative to the build dir's bench/, why it may be missing)
SERVERS = [
    ("xsock", "pingpong/xsock_pingpong_xsock", "xsock's own server was not built"),
    ("libuv", "pingpong/xsock_pingpong_libuv", "libuv not found by CMake (pkg-config libuv)"),
    ("Asio", "pingpong/xsock_pingpong_asio", "standalone Asio not found by CMake (asio.hpp)"),
    ("libevent", "pingpong/xsock_pingpong_libevent",
     "libevent not found by CMake (pkg-config libevent)"),
    ("POCO", "pingpong/xsock_pingpong_poco", "POCO Net not found by CMake (find_package(Poco))"),
    ("plain epoll", "xsock_bench_echo_server", "the epoll echo baseline was not built"),
]
PEERS = ["libuv", "Asio", "libevent", "POCO"]  # the libraries xsock is compared with
REFERENCE = "plain epoll"  # no library: the floor of what a server costs


def fail(message):
    print(f"pingpong: {message}", file=sys.stderr)
    sys.exit(1)


class Server:
    """A server process announcing `listening on ADDR:PORT` on stderr."""

    def __init__(self, name, argv):
        self.name = name
        # restore_signals=False keeps Python's SIG_IGN for SIGPIPE: the epoll baseline
        # writes with write(2) and would die when the client closes first.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, restore_signals=False)
        deadline = time.monotonic() + START_LIMIT
        pending = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                fail(f"{name}: server did not announce its port within {START_LIMIT:.0f} s")
            ready, _, _ = select.select([self.proc.stderr], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                self.stop()
                fail(f"{name}: server exited before announcing its port "
                     f"(stderr: {pending.decode(errors='replace').strip()!r})")
            pending += chunk
            for line in pending.split(b"\n"):
                m = LISTENING.search(line)
                if m:
                    self.port = int(m.group(2))
                    return

    state = ""

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_LIMIT; returns False when it had to kill."""
        clean = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_LIMIT)
            except subprocess.TimeoutExpired:
                self.state = process_state(self.proc.pid)
                self.proc.kill()
                self.proc.wait()
                clean = False
        self.proc.stderr.close()
        return clean


def process_state(pid):
    """The State line and wait channel of a process, for a report on a hung one."""
    try:
        with open(f"/proc/{pid}/status") as f:
            state = next((l.split(":", 1)[1].strip() for l in f if l.startswith("State:")), "?")
        with open(f"/proc/{pid}/wchan") as f:
            return f"state {state}, waiting in {f.read().strip() or '-'}"
    except OSError:
        return "state unknown"


def pinning():
    """(server prefix, client prefix, note): taskset to two different CPUs if we can."""
    cpus = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if len(cpus) >= 2 and taskset:
        return ([taskset, "-c", str(cpus[0])], [taskset, "-c", str(cpus[1])],
                f"server pinned to CPU {cpus[0]}, client to CPU {cpus[1]} (taskset)")
    why = "no taskset" if not taskset else f"only {len(cpus)} CPU"
    return [], [], f"unpinned ({why})"


def raise_nofile(wanted):
    """Raises RLIMIT_NOFILE (inherited by servers and client) toward `wanted`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def measure(name, server_argv, client_argv, args, size, sessions):
    srv = Server(name, server_argv)
    argv = client_argv + ["--port", str(srv.port), "--sessions", str(sessions),
                          "--size", str(size), "--seconds", str(args.seconds),
                          "--mode", args.client_mode]
    if args.check:
        argv.append("--check")
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=args.seconds + CLIENT_SLACK)
    except subprocess.TimeoutExpired:
        srv.stop()
        fail(f"{name}, {size} B x {sessions}: the client did not finish within "
             f"{args.seconds + CLIENT_SLACK:.0f} s")
    alive = srv.proc.poll() is None
    code = srv.proc.returncode
    if not srv.stop():
        fail(f"{name}, {size} B x {sessions}: server did not exit within {STOP_LIMIT:.0f} s "
             f"of SIGTERM ({srv.state}; killed)")
    if not alive:
        fail(f"{name}, {size} B x {sessions}: the server died during the run (status {code})")
    if done.returncode != 0:
        fail(f"{name}, {size} B x {sessions}: client failed (status {done.returncode}): "
             f"{done.stderr.strip()}")
    m = RESULT.search(done.stdout)
    if not m:
        fail(f"{name}, {size} B x {sessions}: no result line from the client: {done.stdout!r}")
    if int(m.group(4)) == 0:
        fail(f"{name}, {size} B x {sessions}: nothing was echoed")
    return float(m.group(5))


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def number(x):
    return "-" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def size_name(size):
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def table(cells, names):
    """Rows: message size, sessions, MiB/s per server ("ratio" = xsock / that peer)."""
    head = ["message", "sessions"] + [f"{n} MiB/s" for n in names] + ["xsock / fastest peer"]
    rows = []
    for (size, sessions), medians in cells:
        ours = medians.get("xsock")
        row = [size_name(size), f"{sessions:,}"]
        for n in names:
            value = medians.get(n)
            if n in PEERS and value and ours:
                row.append(f"{number(value)} ({ratio(ours, value)})")
            else:
                row.append(number(value))
        peers = [(medians[p], p) for p in PEERS if medians.get(p)]
        best = max(peers) if peers else None
        row.append(f"{ratio(ours, best[0])} ({best[1]})" if best and ours else "-")
        rows.append(row)
    return head, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True, help="the bench preset's build dir")
    ap.add_argument("--quick", action="store_true", help="CI: short, checked, 4 cells")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0, help="measuring time per run")
    ap.add_argument("--client-mode", choices=("epoll", "loop"), default="epoll")
    ap.add_argument("--check", action="store_true", help="client checks every byte")
    ap.add_argument("--json", help="write every run's numbers here")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args()
    sizes, session_counts = (1024, 16384), (1, 10, 100, 1000)
    if args.quick:
        args.runs, args.seconds, args.check = 1, 0.3, True
        session_counts = (1, 100)
    if args.runs < 1 or not 0 < args.seconds <= 600:
        fail("--runs must be >= 1 and --seconds in (0, 600]")
    if platform.system() != "Linux":
        fail("Linux only (epoll baseline and client)")

    bench = os.path.join(args.build_dir, "bench")
    client = os.path.join(bench, "pingpong", "xsock_pingpong_client")
    if not os.access(client, os.X_OK):
        fail(f"{client} not built: cmake --build --preset bench --target xsock_pingpong")
    servers, skipped = [], []
    for name, rel, why in SERVERS:
        path = os.path.join(bench, rel)
        if os.access(path, os.X_OK):
            servers.append((name, path))
        else:
            skipped.append((name, why))
    if not any(name == "xsock" for name, _ in servers):
        fail("xsock's server is not built: cmake --build --preset bench --target xsock_pingpong")
    server_prefix, client_prefix, pin_note = pinning()
    nofile = raise_nofile(max(session_counts) * 2 + 256)

    print(f"ping-pong: {platform.machine()}, Linux {platform.release()}, "
          f"{os.cpu_count()} CPUs; {pin_note}; client: {args.client_mode}"
          f"{', checking every byte' if args.check else ''}; {args.runs} run(s) x "
          f"{args.seconds:g} s per cell", flush=True)
    for name, why in skipped:
        print(f"  skipped {name}: {why}", flush=True)

    cells, runs_json, rotation = [], [], 0
    for size in sizes:
        for sessions in session_counts:
            if sessions + 64 > nofile:
                print(f"  skipped {size_name(size)} x {sessions}: RLIMIT_NOFILE is {nofile}",
                      flush=True)
                continue
            values = {name: [] for name, _ in servers}
            for run in range(args.runs):
                k = rotation % len(servers)
                rotation += 1
                for name, path in servers[k:] + servers[:k]:
                    mibps = measure(name, server_prefix + [path], client_prefix + [client], args,
                                    size, sessions)
                    values[name].append(mibps)
                    runs_json.append({"server": name, "size": size, "sessions": sessions,
                                      "run": run, "mibps": mibps})
            medians = {name: statistics.median(v) for name, v in values.items()}
            cells.append(((size, sessions), medians))
            line = ", ".join(f"{n} {number(v)}" for n, v in medians.items())
            print(f"  {size_name(size)} x {sessions}: {line} MiB/s", flush=True)

    names = [name for name, _ in servers]
    head, rows = table(cells, names)
    print()
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("| --- | ---: |" + " ---: |" * (len(head) - 2))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        for r in [head] + rows:
            print("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(r, widths))))
    print("\n(peer cells: the peer's MiB/s and xsock's ratio to it; medians of "
          f"{args.runs} run(s); {pin_note})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pinning": pin_note, "client_mode": args.client_mode,
                       "runs": args.runs, "seconds": args.seconds,
                       "skipped": dict(skipped), "results": runs_json,
                       "medians": [{"size": s, "sessions": n, "mibps": m}
                                   for (s, n), m in cells]}, f, indent=1)
    if args.quick:
        print("pingpong --quick: every server echoed every byte intact")


if __name__ == "__main__":
    main()
