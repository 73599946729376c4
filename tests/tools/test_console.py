"""xsock-server's console: lines on its standard input go to the clients (issue 10)."""

import socket
import subprocess
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

    def test_kick_disconnects_one_client(self):
        with self._server() as srv:
            (a, b), (ida, idb) = self._clients(srv, 2)
            srv.type(f"/kick {ida}\n".encode())
            self.assertEqual(a.recv(10), b"")  # end of stream
            e = srv.events_until(lambda e: e["event"] == "disconnect")[-1]
            self.assertEqual((e["id"], e["reason"]), (ida, "closed"))
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

    def test_commands_answer_on_stderr(self):
        with self._server() as srv:
            (a,), (ida,) = self._clients(srv, 1)
            srv.type(b"/list\n")
            line = self._stderr_until(srv, "connected since")[-1]
            self.assertRegex(line, rf"^{ida}  127\.0\.0\.1:\d+  received 0 bytes, sent 0 bytes, "
                                   r"connected since \d\d:\d\d:\d\d\.\d\d\d \(\d+ s\)$")
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

    @unittest.skipIf(harness.ON_WINDOWS, "SIGTERM is POSIX")
    def test_stops_at_once_with_its_input_still_open(self):
        with self._server() as srv:
            (a,), _ = self._clients(srv, 1)
            self.assertEqual(srv.terminate(), 0)
            a.close()

    def test_text_output_shows_what_was_sent(self):
        with Server(stdin=subprocess.PIPE) as srv:
            a = srv.connect()
            a.settimeout(SOON)
            self.assertIn("+ connected", srv.line())
            srv.type(b"hi\n")
            self.assertEqual(recv_exactly(a, 3), b"hi\n")
            self.assertRegex(srv.line(), r"^\[127\.0\.0\.1:\d+\] > hi$")
            a.close()


if __name__ == "__main__":
    unittest.main()
