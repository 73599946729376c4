#!/usr/bin/env python3
"""xsock-server holds 10,000 idle connections and still serves a new client.

    python3 stress_10k.py --server PATH [--connections N] [--launcher wine]

Raises RLIMIT_NOFILE to the hard limit (the server inherits it) and skips, saying so
(exit 77, which CTest reports as skipped, "SKIP: ..."), when the hard limit is too low. Every step is bounded; the
run stops by itself. Prints one summary line. Exit 1 on failure.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

SKIPPED = 77  # CTest SKIP_RETURN_CODE: the test could not run here, and says why


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def server_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--launcher", default="")
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="seconds allowed for each phase")
    args = parser.parse_args()
    harness.configure(os.path.abspath(args.server), "", args.launcher)
    count = args.connections
    limit = args.time_limit

    try:
        import resource
    except ImportError:
        print("SKIP: no RLIMIT_NOFILE on this system (resource module missing)")
        return SKIPPED
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = count + 200  # both this process and the server hold `count` sockets
    if hard != resource.RLIM_INFINITY and hard < needed:
        print(f"SKIP: the descriptor hard limit is {hard}, {count} connections need "
              f"{needed}; raise it (ulimit -Hn / limits.conf) to run this test")
        return SKIPPED
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    except (ValueError, OSError) as e:
        print(f"SKIP: cannot raise RLIMIT_NOFILE to {needed}: {e}")
        return SKIPPED

    srv = harness.Server("--format", "json", "--backlog", "4096", "--bind", "127.0.0.1")
    socks = []
    try:
        start = time.monotonic()
        for i in range(count):
            try:
                socks.append(srv.connect(nodelay=False))
            except OSError as e:
                fail(f"connection {i + 1} of {count} failed: {e}")
            if time.monotonic() - start > limit:
                fail(f"only {i + 1} connections in {limit} s")
        connected = 0
        while connected < count:
            e = srv.event(timeout=limit)
            if e["event"] == "connect":
                connected += 1
            elif e["event"] == "disconnect":
                fail(f"idle connection dropped: {e}")
        setup = time.monotonic() - start
        rss = server_rss_kib(srv.proc.pid)

        # A new client is served at once, with every idle connection still open.
        t0 = time.monotonic()
        late = srv.connect()
        late.sendall("新客户 hello\n".encode("gbk"))
        events = srv.events_until(lambda e: e["event"] == "data", timeout=limit)
        latency = time.monotonic() - t0
        if events[-1]["text"] != "新客户 hello":
            fail(f"unexpected data event {events[-1]}")
        # And the idle ones are alive: a few of them talk.
        for i in (0, count // 2, count - 1):
            socks[i].sendall(f"idle {i}\n".encode())
            e = srv.events_until(lambda e: e["event"] == "data", timeout=limit)[-1]
            if e["text"] != f"idle {i}":
                fail(f"idle connection {i}: {e}")

        summary = (f"OK: {count} idle connections accepted in {setup:.2f} s "
                   f"(server RSS {rss} KiB); a new client served in {latency * 1000:.1f} ms")
        if harness.ON_WINDOWS:
            # No SIGTERM for a Windows process started from here; Ctrl+Break is the
            # console's and is covered by hand.
            print(summary)
            return 0
        t0 = time.monotonic()
        code = srv.terminate()
        stop = time.monotonic() - t0
        if code != 0:
            fail(f"server exited with {code} after SIGTERM")
        rest = [json.loads(line) for line in srv.rest_of_output()]
        shutdowns = sum(1 for e in rest if e.get("reason") == "shutdown")
        if shutdowns != count + 1:
            fail(f"{shutdowns} shutdown disconnects, expected {count + 1}")
        print(f"{summary}; SIGTERM closed all {count + 1} in {stop:.2f} s, exit 0")
        return 0
    finally:
        for s in socks:
            s.close()
        srv.kill()


if __name__ == "__main__":
    sys.exit(main())
