"""Interop with the tutorial's own programs (Python 3 `socket`, exactly as the tutorial
writes them; only the address is changed, to loopback and a free port)."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import harness
from harness import SOON, Server, run_client

NIHAO = "你好，世界"

# The tutorial's client: one send of input().encode("gbk"), then close.
TUTORIAL_CLIENT = textwrap.dedent('''
    import socket
    import sys
    # 1.创建socket
    tcp_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    # 2. 链接服务器
    server_addr = ("127.0.0.1", int(sys.argv[1]))
    tcp_socket.connect(server_addr)

    # 3. 发送数据
    send_data = input("请输入要发送的数据:")
    tcp_socket.send(send_data.encode("gbk"))

    # 4. 关闭套接字
    tcp_socket.close()
''')

# The tutorial's last server: accept loop, recv(1024) loop printing .decode("gbk"),
# an empty recv ends the client. Port 0 instead of 7788; the port goes to stderr.
TUTORIAL_SERVER = textwrap.dedent('''
    import socket
    import sys

    # 创建socket
    tcp_server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    # 本地信息
    address = ("127.0.0.1", 0)

    # 绑定
    tcp_server_socket.bind(address)

    tcp_server_socket.listen(128)
    print("port", tcp_server_socket.getsockname()[1], file=sys.stderr, flush=True)

    while True:
        # 等待新的客户端连接
        client_socket, clientAddr = tcp_server_socket.accept()
        while True:
            # 接收对方发送过来的数据
            recv_data = client_socket.recv(1024)  # 接收1024个字节
            if recv_data:
                print("接收到的数据为:", recv_data.decode("gbk"), flush=True)
            else:
                break
        client_socket.close()

    tcp_server_socket.close()
''')


def write_script(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8")
    f.write(text)
    f.close()
    return f.name


class Tutorial(unittest.TestCase):
    def setUp(self):
        self.env = dict(os.environ, PYTHONIOENCODING="utf-8")

    def test_tutorial_client_to_our_server(self):
        script = write_script(TUTORIAL_CLIENT)
        try:
            with Server() as srv:
                r = subprocess.run([sys.executable, script, str(srv.port)],
                                   input=(NIHAO + "\n").encode("utf-8"), capture_output=True,
                                   timeout=SOON, env=self.env)
                self.assertEqual(r.returncode, 0, r.stderr)
                connected = srv.line()
                self.assertRegex(connected, r"^\[127\.0\.0\.1:\d+\] \+ connected$")
                peer = connected.split("]")[0] + "]"
                self.assertEqual(srv.line(), f"{peer} {NIHAO}")  # shown at close
                self.assertEqual(srv.line(), f"{peer} - disconnected (10 bytes)")
        finally:
            os.unlink(script)

    def test_our_client_to_tutorial_server(self):
        script = write_script(TUTORIAL_SERVER)
        proc = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env)
        try:
            err = harness._LineReader(proc.stderr)
            out = harness._LineReader(proc.stdout)
            port = int(err.next(SOON).split()[1])
            # As the tutorial's client: no newline appended.
            r = run_client("127.0.0.1", port, "-m", NIHAO, "--eol", "none")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(out.next(SOON).decode("utf-8"), f"接收到的数据为: {NIHAO}\n")
            # Lines from standard input too, one message each.
            r = run_client("127.0.0.1", port, "--eol", "none", input="第二条\n".encode())
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(out.next(SOON).decode("utf-8"), "接收到的数据为: 第二条\n")
        finally:
            proc.kill()
            proc.wait(SOON)
            os.unlink(script)


if __name__ == "__main__":
    unittest.main()
