"""The tools' UDP mode (--udp) through their command-line contract, against Python UDP
sockets and each other, on loopback only (127.0.0.1, ::1; broadcast only to
127.255.255.255; multicast joined and sent on the loopback interface)."""

import json
import os
import socket
import tempfile
import unittest

import harness
from harness import SOON, Server, run_client, run_server, start_client

NIHAO = "你好，世界"


def udp_socket(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.settimeout(SOON)
    return s


def has_ipv6_loopback():
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        probe.close()
        return True
    except OSError:
        return False


def udp_server(*args, **kw):
    return Server("--udp", *args, **kw)


def nothing_more(sock):
    """True when nothing was queued on `sock` before now: a marker datagram sent to it
    from itself comes first (no waiting for something that should not come)."""
    sock.sendto(b"marker", sock.getsockname())
    data, _ = sock.recvfrom(70000)
    return data == b"marker"


def closed_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ServerEvents(unittest.TestCase):
    def test_listening_line_and_gbk_text_with_its_sender(self):
        with udp_server() as srv:
            self.assertTrue(srv.host.startswith("udp "), srv.host)
            s = udp_socket()
            s.sendto(NIHAO.encode("gbk") + b"\n", ("127.0.0.1", srv.port))
            self.assertEqual(srv.line(), f"[127.0.0.1:{s.getsockname()[1]}] {NIHAO}")
            # Every datagram is an event, an empty one too.
            s.sendto(b"", ("127.0.0.1", srv.port))
            self.assertEqual(srv.line(), f"[127.0.0.1:{s.getsockname()[1]}] ")

    def test_ipv6_sender_in_brackets(self):
        if not has_ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        for args in ((), ("-b", "::1")):
            with self.subTest(args=args), udp_server(*args) as srv:
                s = udp_socket(socket.AF_INET6, "::1")
                s.sendto(b"hi\r\n", ("::1", srv.port))
                self.assertEqual(srv.line(), f"[[::1]:{s.getsockname()[1]}] hi")

    def test_a_character_cut_at_a_datagrams_end_is_never_carried_over(self):
        with udp_server("--format", "json") as srv:
            a, b = udp_socket(), udp_socket()
            a.sendto(b"ab\xc4", ("127.0.0.1", srv.port))
            e = srv.event()
            self.assertEqual((e["text"], e["incomplete"], e["bytes"]), ("ab", "c4", 3))
            b.sendto(b"\xe3", ("127.0.0.1", srv.port))  # 0xc4 0xe3 would be one character
            e = srv.event()
            self.assertEqual((e["peer"], e["text"], e["incomplete"]),
                             (f"127.0.0.1:{b.getsockname()[1]}", "", "e3"))
            a.sendto("你".encode("gbk"), ("127.0.0.1", srv.port))
            self.assertEqual(srv.event()["text"], "你")
        with udp_server() as srv:
            a = udp_socket()
            a.sendto(b"ab\xc4", ("127.0.0.1", srv.port))
            self.assertEqual(srv.line(), f"[127.0.0.1:{a.getsockname()[1]}] ab\\xc4")

    def test_hex_json_and_timestamps(self):
        with udp_server("--hex") as srv:
            s = udp_socket()
            s.sendto(b"\x01\x03\x00\n", ("127.0.0.1", srv.port))
            self.assertEqual(srv.line(), f"[127.0.0.1:{s.getsockname()[1]}] 0103000a")
        with udp_server("--format", "json", "--timestamps") as srv:
            s = udp_socket()
            s.sendto(NIHAO.encode("gbk"), ("127.0.0.1", srv.port))
            e = srv.event()
            self.assertEqual(e["event"], "data")
            self.assertEqual(e["peer"], f"127.0.0.1:{s.getsockname()[1]}")
            self.assertEqual((e["text"], e["invalid"], e["bytes"]), (NIHAO, 0, 10))
            self.assertRegex(e["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertNotIn("truncated", e)
        with udp_server("--format", "json", "--hex") as srv:
            s = udp_socket()
            s.sendto(b"\xff\x00", ("127.0.0.1", srv.port))
            e = srv.event()
            self.assertEqual((e["hex"], e["bytes"]), ("ff00", 2))
            self.assertNotIn("text", e)
        with udp_server("--timestamps") as srv:
            s = udp_socket()
            s.sendto(b"x", ("127.0.0.1", srv.port))
            self.assertRegex(srv.line(), r"^\d\d:\d\d:\d\d\.\d{3} \[127\.0\.0\.1:\d+\] x$")

    def test_echo_sends_each_datagram_back_to_its_sender(self):
        with udp_server("--echo", "-q") as srv:
            a, b = udp_socket(), udp_socket()
            for sock, data in ((a, NIHAO.encode("gbk")), (b, b"\x00\xff\n"), (a, b"")):
                sock.sendto(data, ("127.0.0.1", srv.port))
                got, sender = sock.recvfrom(70000)
                self.assertEqual(got, data)
                self.assertEqual(sender[1], srv.port)
            # The largest datagram IPv4 takes comes back whole.
            big = bytes(range(256)) * 255 + b"x" * (65507 - 256 * 255)
            a.sendto(big, ("127.0.0.1", srv.port))
            self.assertEqual(a.recvfrom(70000)[0], big)
            self.assertEqual(srv.line(), f"[127.0.0.1:{a.getsockname()[1]}] {NIHAO}")

    @unittest.skipIf(harness.ON_WINDOWS and not harness.UNDER_WINE,
                     "Ctrl+C reaches a child on Windows only through a shared console")
    def test_log_has_both_directions_without_an_id(self):
        import signal
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "udp.jsonl")
            with udp_server("--echo", "--log", path) as srv:
                s = udp_socket()
                s.sendto(b"hi", ("127.0.0.1", srv.port))
                self.assertEqual(s.recvfrom(100)[0], b"hi")
                srv.line()
                # The log's own thread writes it: a stop writes out what it queues (a
                # kill would not).
                srv.proc.send_signal(signal.SIGINT)  # under Wine: Ctrl+C
                self.assertEqual(srv.wait(), 0)
            with open(path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f]
            peer = f"127.0.0.1:{s.getsockname()[1]}"
            self.assertEqual([(r["event"], r["peer"], r["hex"]) for r in records],
                             [("received", peer, "6869"), ("sent", peer, "6869")])
            self.assertTrue(all("id" not in r for r in records))


class ServerOptions(unittest.TestCase):
    def test_options_that_do_not_apply_are_usage_errors(self):
        for args in (("--once",), ("--max-clients", "2"), ("--backlog", "5"),
                     ("--idle-timeout", "1"), ("--max-line", "10"), ("--flush-ms", "5"),
                     ("--packets",)):
            with self.subTest(args=args):
                r = run_server("--udp", *args, "0")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(f"{args[0]} does not apply to --udp", r.stderr.decode())
        r = run_server("--multicast", "239.255.0.1", "0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--multicast needs --udp", r.stderr.decode())
        r = run_server("--udp", "--multicast", "::1", "0")
        self.assertEqual(r.returncode, 2)

    def test_port_in_use_exits_1_with_one_line(self):
        taken = udp_socket()
        port = taken.getsockname()[1]
        r = run_server("--udp", "--bind", "127.0.0.1", port)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr.decode().strip(),
                         rf"^xsock-server: bind 127\.0\.0\.1:{port}: address already in use$")
        taken.close()

    @unittest.skipIf(harness.ON_WINDOWS, "SIGTERM is POSIX; Windows uses Ctrl+Break")
    def test_sigterm_exits_0_after_showing_what_came(self):
        srv = udp_server()
        try:
            s = udp_socket()
            s.sendto(b"last", ("127.0.0.1", srv.port))
            self.assertTrue(srv.line().endswith("] last"))
            self.assertEqual(srv.terminate(), 0)
        finally:
            srv.kill()

    @unittest.skipIf(harness.ON_WINDOWS and not harness.UNDER_WINE,
                     "Ctrl+C reaches a child on Windows only through a shared console")
    def test_sigint_exits_0(self):
        import signal
        srv = udp_server()
        try:
            srv.proc.send_signal(signal.SIGINT)
            self.assertEqual(srv.wait(), 0)
        finally:
            srv.kill()


class ServerConsole(unittest.TestCase):
    def test_last_sender_to_hex_and_list(self):
        import subprocess
        srv = udp_server("--eol", "crlf", stdin=subprocess.PIPE)
        try:
            # No datagram yet: nobody to answer, nothing sent.
            srv.type(b"early\n")
            self.assertIn("no datagram received yet", srv.error_line())
            a, b = udp_socket(), udp_socket()
            a_name = f"127.0.0.1:{a.getsockname()[1]}"
            b_name = f"127.0.0.1:{b.getsockname()[1]}"
            a.sendto(b"from a", ("127.0.0.1", srv.port))
            self.assertEqual(srv.line(), f"[{a_name}] from a")
            srv.type(f"{NIHAO}\n".encode())
            self.assertEqual(a.recvfrom(100)[0], NIHAO.encode("gbk") + b"\r\n")
            self.assertEqual(srv.line(), f"[{a_name}] > {NIHAO}")
            srv.type(f"/to {b_name} to b\n".encode())
            self.assertEqual(b.recvfrom(100)[0], b"to b\r\n")
            self.assertEqual(srv.line(), f"[{b_name}] > to b")
            b.sendto(b"from b", ("127.0.0.1", srv.port))
            self.assertEqual(srv.line(), f"[{b_name}] from b")
            srv.type(b"/hex last 00 ff 0D0a\n")  # b is the last sender now
            self.assertEqual(b.recvfrom(100)[0], b"\x00\xff\r\n")
            self.assertEqual(srv.line(), f"[{b_name}] > (hex) 00ff0d0a")
            srv.type(f"/hex {a_name} 01\n".encode())
            self.assertEqual(a.recvfrom(100)[0], b"\x01")
            srv.line()
            srv.type(b"/list\n")
            first, second = srv.error_line(), srv.error_line()
            self.assertRegex(first, rf"^{b_name}  1 datagram, 6 bytes, last at \d\d:\d\d:\d\d")
            self.assertRegex(second, rf"^{a_name}  1 datagram, 6 bytes, last at ")
            srv.type(b"/to nowhere x\n")
            self.assertIn("is not ADDR:PORT", srv.error_line())
            self.assertTrue(nothing_more(a) and nothing_more(b))
        finally:
            srv.kill()

    def test_to_an_ipv6_peer(self):
        if not has_ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        import subprocess
        srv = udp_server("--format", "json", "--eol", "none", stdin=subprocess.PIPE)
        try:
            c = udp_socket(socket.AF_INET6, "::1")
            name = f"[::1]:{c.getsockname()[1]}"
            srv.type(f"/to {name} hi\n".encode())
            self.assertEqual(c.recvfrom(100)[0], b"hi")
            e = srv.event()
            self.assertEqual((e["event"], e["peer"], e["text"], e["bytes"]), ("sent", name, "hi", 2))
        finally:
            srv.kill()


class ClientSending(unittest.TestCase):
    def test_each_message_is_a_datagram_in_gbk_with_eol(self):
        for eol, ending in (("lf", b"\n"), ("crlf", b"\r\n"), ("none", b"")):
            with self.subTest(eol=eol):
                peer = udp_socket()
                r = run_client("--udp", "127.0.0.1", peer.getsockname()[1], "-m", NIHAO, "-m",
                               "second", "--eol", eol, "--wait", "0")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(peer.recvfrom(100)[0], NIHAO.encode("gbk") + ending)
                self.assertEqual(peer.recvfrom(100)[0], b"second" + ending)
                self.assertTrue(nothing_more(peer))

    def test_each_input_line_is_a_datagram(self):
        peer = udp_socket()
        r = run_client("--udp", "127.0.0.1", peer.getsockname()[1], "--eol", "none", "--wait",
                       "0", input=NIHAO.encode() + b"\nl2\n\nlast")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = [peer.recvfrom(100)[0] for _ in range(4)]
        self.assertEqual(got, [NIHAO.encode("gbk"), b"l2", b"", b"last"])  # empty: a datagram
        self.assertTrue(nothing_more(peer))

    def test_hex_input_and_repeat(self):
        peer = udp_socket()
        r = run_client("--udp", "--hex-input", "127.0.0.1", peer.getsockname()[1], "-m",
                       "01 03 00 00", "--wait", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(peer.recvfrom(100)[0], b"\x01\x03\x00\x00")
        r = run_client("--udp", "--hex-input", "127.0.0.1", peer.getsockname()[1], "--wait", "0",
                       input=b"c4e3\nBA C3 0a\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(peer.recvfrom(100)[0], b"\xc4\xe3")
        self.assertEqual(peer.recvfrom(100)[0], b"\xba\xc3\n")
        r = run_client("--udp", "127.0.0.1", peer.getsockname()[1], "-m", "ping", "-m", "pong",
                       "--repeat", "3", "--interval", "0.05", "--wait", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([peer.recvfrom(100)[0] for _ in range(6)], [b"ping\n", b"pong\n"] * 3)
        self.assertTrue(nothing_more(peer))

    def test_log_has_each_datagram_sent_without_an_id(self):
        peer = udp_socket()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "client.jsonl")
            r = run_client("--udp", "--log", path, "127.0.0.1", peer.getsockname()[1], "-m", "hi",
                           "-m", "", "--eol", "none", "--wait", "0")
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f]
        name = f"127.0.0.1:{peer.getsockname()[1]}"
        self.assertEqual([(r["event"], r["peer"], r["hex"], r["bytes"]) for r in records],
                         [("sent", name, "6869", 2), ("sent", name, "", 0)])
        self.assertTrue(all("id" not in r for r in records))
        self.assertEqual([peer.recvfrom(100)[0] for _ in range(2)], [b"hi", b""])

    def test_ttl_and_ipv6(self):
        peer = udp_socket()
        r = run_client("--udp", "--ttl", "1", "127.0.0.1", peer.getsockname()[1], "-m", "t",
                       "--wait", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(peer.recvfrom(100)[0], b"t\n")
        if not has_ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        peer6 = udp_socket(socket.AF_INET6, "::1")
        for host in ("::1", "[::1]"):
            r = run_client("--udp", "--ttl", "2", host, peer6.getsockname()[1], "-m", host,
                           "--wait", "0")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(peer6.recvfrom(100)[0], host.encode() + b"\n")


class ClientErrors(unittest.TestCase):
    def test_datagram_over_the_limit(self):
        peer = udp_socket()
        port = peer.getsockname()[1]
        # -m: checked before anything is sent (the first message is not sent either).
        # UTF-32 makes 4 bytes of a character: a Windows command line holds at most
        # 32,767 characters. 17,500 characters and the line end, and the byte order mark
        # every datagram starts with: 70,008 bytes.
        r = run_client("--udp", "-e", "UTF-32", "127.0.0.1", port, "-m", "ok", "-m", "a" * 17500)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode().strip(),
                         "xsock-client: message 2 not sent: datagram of 70008 bytes is over the "
                         "limit of 65507 (IPv4)")
        self.assertTrue(nothing_more(peer))
        # A line of standard input: the lines before it are sent, then exit 1.
        r = run_client("--udp", "127.0.0.1", port, "--eol", "none",
                       input=b"before\n" + b"a" * 65508 + b"\nafter\n")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode().strip(),
                         "xsock-client: input line 2: datagram of 65508 bytes is over the limit "
                         "of 65507 (IPv4)")
        self.assertEqual(peer.recvfrom(100)[0], b"before")
        self.assertTrue(nothing_more(peer))
        # At the limit it goes.
        r = run_client("--udp", "127.0.0.1", port, "--eol", "none", "--wait", "0",
                       input=b"a" * 65507)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(peer.recvfrom(70000)[0]), 65507)

    def test_ipv6_limit(self):
        if not has_ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        peer = udp_socket(socket.AF_INET6, "::1")
        port = peer.getsockname()[1]
        # Through standard input: a Windows command line holds at most 32,767 characters.
        r = run_client("--udp", "::1", port, "--eol", "none", "--wait", "0",
                       input=b"a" * 65527)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(peer.recvfrom(70000)[0]), 65527)
        r = run_client("--udp", "::1", port, "--eol", "none", input=b"a" * 65528)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode().strip(),
                         "xsock-client: input line 1: datagram of 65528 bytes is over the limit "
                         "of 65527 (IPv6)")
        self.assertTrue(nothing_more(peer))

    def test_closed_port_is_connection_refused(self):
        port = closed_udp_port()
        # Rounds: Wine reports the ICMP "port unreachable" only on a later send.
        r = run_client("--udp", "127.0.0.1", port, "-m", "x", "--repeat", "20", "--interval",
                       "0.1")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.decode().strip(),
                         f"xsock-client: send to 127.0.0.1:{port}: connection refused")

    def test_options_that_do_not_apply_are_usage_errors(self):
        for args in (("--reconnect",), ("--backoff", "none"), ("--file", "x"), ("--packets",),
                     ("--timeout", "1")):
            with self.subTest(args=args):
                r = run_client("--udp", *args, "127.0.0.1", "9", "-m", "x")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("does not apply to --udp", r.stderr.decode())
        for args in (("--broadcast",), ("--multicast", "239.255.0.1"), ("--ttl", "2")):
            with self.subTest(args=args):
                r = run_client(*args, "127.0.0.1", "9", "-m", "x")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("need --udp", r.stderr.decode())
        for ttl in ("0", "256", "x"):
            r = run_client("--udp", "--ttl", ttl, "127.0.0.1", "9", "-m", "x")
            self.assertEqual(r.returncode, 2, r.stderr)
        r = run_client("--udp", "--broadcast", "--multicast", "239.255.0.1", "127.0.0.1", "9",
                       "-m", "x")
        self.assertEqual(r.returncode, 2, r.stderr)
        r = run_client("--udp", "--multicast", "::1", "127.0.0.1", "9", "-m", "x")
        self.assertEqual(r.returncode, 2, r.stderr)


class ClientAndServer(unittest.TestCase):
    def _talk(self, host, family, bind_host):
        with udp_server("--echo") as srv:
            client = start_client("--udp", host, srv.port, "--wait", "0.2")
            try:
                client.stdin.write(NIHAO.encode() + b"\n")
                client.stdin.flush()
                line = srv.line()
                self.assertTrue(line.endswith(f"] {NIHAO}"), line)
                self.assertTrue(line.startswith("[[::1]:" if family == socket.AF_INET6
                                                else "[127.0.0.1:"), line)
                # The echo comes back as a reply, shown while the input is still open.
                reply = harness._LineReader(client.stdout)
                self.assertEqual(reply.next(SOON).decode().rstrip("\n"), NIHAO)
                # Hex and an empty datagram (an empty line with --eol none is not: lf).
                client.stdin.close()
                self.assertEqual(client.wait(SOON), 0)
                self.assertIsNone(reply.next(SOON))
            finally:
                if client.poll() is None:
                    client.kill()
                client.wait(SOON)
                client.stdout.close()
                client.stderr.close()

    def test_ipv4(self):
        self._talk("127.0.0.1", socket.AF_INET, "127.0.0.1")

    def test_ipv6(self):
        if not has_ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        self._talk("::1", socket.AF_INET6, "::1")

    def test_replies_as_hex_with_timestamps(self):
        peer = udp_socket()
        client = start_client("--udp", "--hex", "--timestamps", "127.0.0.1",
                              peer.getsockname()[1], "--wait", "0.2")
        try:
            client.stdin.write(b"q\n")
            client.stdin.flush()
            data, sender = peer.recvfrom(100)
            self.assertEqual(data, b"q\n")
            peer.sendto(b"\x01\x02\n", sender)
            peer.sendto(b"", sender)
            reply = harness._LineReader(client.stdout)
            self.assertRegex(reply.next(SOON).decode(), r"^\d\d:\d\d:\d\d\.\d{3} 01020a\n$")
            self.assertRegex(reply.next(SOON).decode(), r"^\d\d:\d\d:\d\d\.\d{3} \n$")
            client.stdin.close()
            self.assertEqual(client.wait(SOON), 0)
        finally:
            if client.poll() is None:
                client.kill()
            client.wait(SOON)
            client.stdout.close()
            client.stderr.close()


def _delivered(send, recv):
    """Whether the system delivers what `send()` sends to `recv` (a bounded wait)."""
    recv.settimeout(2)
    try:
        send()
        recv.recvfrom(100)
        return True
    except OSError:
        return False
    finally:
        recv.settimeout(SOON)


class BroadcastMulticast(unittest.TestCase):
    def test_broadcast_on_loopback(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listener.bind(("0.0.0.0", 0))
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        port = listener.getsockname()[1]
        ok = _delivered(lambda: sender.sendto(b"probe", ("127.255.255.255", port)), listener)
        listener.close()
        sender.close()
        if not ok:
            self.skipTest("this system does not deliver datagrams sent to 127.255.255.255")
        with udp_server("-b", "0.0.0.0", "--echo") as srv:
            r = run_client("--udp", "--broadcast", "127.255.255.255", srv.port, "-m", "all",
                           "--wait", "2")
            self.assertTrue(srv.line().endswith("] all"))
            self.assertEqual(r.returncode, 0, r.stderr)
            # Replies may come from anyone: each names its sender.
            self.assertEqual(r.stdout.decode(), f"[127.0.0.1:{srv.port}] all\n")
            r = run_client("--udp", "127.255.255.255", srv.port, "-m", "x")
            self.assertEqual(r.returncode, 1)
            self.assertIn("permission denied", r.stderr.decode())

    def test_multicast_on_loopback(self):
        group = "239.255.77.1"
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listener.bind(("0.0.0.0", 0))
        port = listener.getsockname()[1]
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                                socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                              socket.inet_aton("127.0.0.1"))
            ok = _delivered(lambda: sender.sendto(b"probe", (group, port)), listener)
        except OSError:
            ok = False
        listener.close()
        sender.close()
        if not ok:
            self.skipTest("this system does not deliver multicast on the loopback interface")
        with udp_server("--multicast", group, "-b", "127.0.0.1") as srv:
            r = run_client("--udp", "--multicast", group, "--ttl", "1", "127.0.0.1", srv.port,
                           "-m", "群", "--wait", "0")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(srv.line().endswith("] 群"))
        r = run_client("--udp", "--multicast", group, "0.0.0.0", "9", "-m", "x")
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main()
