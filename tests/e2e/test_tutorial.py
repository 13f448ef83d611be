"""serve against the socket tutorial's own clients (/work/shared/socket-tutorial.md), byte for byte.

The clients' shapes, each message one send() and so one read of the server (each client waits
for the reply before it sends again):
  Python TCP and UDP clients   s.send(user_input.encode())     b"hello", then b"exit": no newline
  C TCP client                 fgets() then send(buf, 1024)    b"hello\\n" + NULs to 1024 bytes
  C UDP client                 scanf("%s") then sendto(1024)   b"hello" + NULs to 1024 bytes
The exit word, in any of these shapes, is not echoed: over TCP the server closes that client's
connection, over UDP it answers with silence; either way it goes on serving everyone else.
"""

import unittest

from harness import E2E, connect, exchange, kv, recv_exact, recv_to_eof, require_binary, upper


def setUpModule():
    require_binary()


def c_buffer(message: bytes) -> bytes:
    """A message as the tutorial's C clients send it: the whole 1024-byte buffer."""
    return message.ljust(1024, b"\0")


# (name, hello, exit): what each tutorial client sends for `hello`, then for `exit`.
CLIENTS = [
    ("python", b"hello", b"exit"),
    ("c-fgets", c_buffer(b"hello\n"), c_buffer(b"exit\n")),
    ("c-scanf", c_buffer(b"hello"), c_buffer(b"exit")),
    ("lines", b"hello\n", b"exit\n"),
    ("crlf-lines", b"hello\r\n", b"exit\r\n"),
]


class TutorialTcp(E2E):
    def setUp(self):
        self.srv = self.server("-v")

    def messages_of(self, port):
        """The server's -v message lines for the client on local port `port`."""
        tag = f"get message from [127.0.0.1:{port}]: "
        return [line[len(tag):] for line in self.srv.seen if line.startswith(tag)]

    def closed(self, port):
        """Wait for the client's CLOSED line; its key=value fields."""
        return kv(self.srv.expect_state("CLOSED", remote=f"127.0.0.1:{port}"))

    def test_each_client_shape_says_exit(self):
        keeper = self.tcp(self.srv.port)
        self.assertEqual(exchange(keeper, b"first"), b"FIRST")
        for name, hello, word in CLIENTS:
            with self.subTest(client=name):
                with connect(self.srv.port) as c:
                    port = c.getsockname()[1]
                    c.sendall(hello)
                    self.assertEqual(recv_exact(c, len(hello)), upper(hello))
                    c.sendall(word)
                    self.assertEqual(recv_to_eof(c), b"", "exit echoed, or the connection kept")
                self.assertEqual(self.closed(port).get("reason"), "exit-word")
                self.assertEqual(self.messages_of(port), ["hello -> HELLO"])
                # One client's exit is that client's alone.
                self.assertEqual(exchange(keeper, b"still here"), b"STILL HERE")

    def test_python_client_exit_after_several_messages(self):
        c = self.tcp(self.srv.port)
        port = c.getsockname()[1]
        for word in (b"hello", b"world", b"exi", b"exits", b"Exit"):
            self.assertEqual(exchange(c, word), upper(word))
        c.sendall(b"exit")
        self.assertEqual(recv_to_eof(c), b"")
        self.assertEqual(self.closed(port).get("reason"), "exit-word")
        self.assertEqual(self.messages_of(port), ["hello -> HELLO", "world -> WORLD", "exi -> EXI",
                                                  "exits -> EXITS", "Exit -> EXIT"])

    def test_exit_within_a_longer_line_is_data(self):
        c = self.tcp(self.srv.port)
        port = c.getsockname()[1]
        for data in (b"xexit", b"exit now", b"xexit\n", b"exit now\n", c_buffer(b"xexit"),
                     c_buffer(b"exit now\n"), b"exitexit", b"ex it\n"):
            with self.subTest(data=data[:12]):
                self.assertEqual(exchange(c, data), upper(data))
        c.close()
        self.assertEqual(self.closed(port).get("reason"), "eof")

    def test_exit_line_after_a_line_in_the_same_send(self):
        c = self.tcp(self.srv.port)
        c.sendall(b"hello\nexit\n")
        self.assertEqual(recv_to_eof(c), b"HELLO\n")


class TutorialUdp(E2E):
    def setUp(self):
        self.srv = self.server("-v", udp=True)
        self.addr = ("127.0.0.1", self.srv.port)

    def ask(self, sock, data):
        sock.sendto(data, self.addr)
        return sock.recvfrom(4096)[0]

    def test_each_client_shape_says_exit(self):
        other = self.udp()
        for name, hello, word in CLIENTS:
            with self.subTest(client=name):
                c = self.udp()  # fresh per client: a failed case leaves nothing for the next
                # The server answers with a datagram the size of what it got, as the C
                # server does with its 1024-byte buffer.
                self.assertEqual(self.ask(c, hello), upper(hello))
                c.sendto(word, self.addr)
                # Datagrams on loopback arrive in order: had the word been answered, that
                # answer would be the first to arrive.
                self.assertEqual(self.ask(c, b"probe"), b"PROBE")
                self.assertEqual(self.ask(other, b"other"), b"OTHER")
        self.assertIsNone(self.srv.proc.poll(), "the exit word stopped the UDP server")

    def test_exit_within_a_longer_datagram_is_data(self):
        c = self.udp()
        for data in (b"xexit", b"exit now", b"xexit\n", c_buffer(b"exit now"), b"exitexit"):
            with self.subTest(data=data[:12]):
                self.assertEqual(self.ask(c, data), upper(data))


if __name__ == "__main__":
    unittest.main()
