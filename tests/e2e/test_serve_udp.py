"""serve --udp: one reply datagram per datagram, the exit word, --once, output."""

import json
import os
import signal
import socket
import unittest

from harness import (E2E, kv, one_error_line, require_binary, run_sockecho, upper)


def setUpModule():
    require_binary()


class UdpService(E2E):
    def ask(self, sock, srv, data, host="127.0.0.1"):
        """Send one datagram; return the reply, checking it comes from the server's address."""
        sock.sendto(data, (host, srv.port))
        reply, addr = sock.recvfrom(70000)
        self.assertEqual(addr[:2], (host, srv.port))
        return reply

    def test_listen_line(self):
        srv = self.server(udp=True)
        f = srv.listen_line.split()
        self.assertEqual(f[0], "udp")
        self.assertEqual(f[3], f"127.0.0.1:{srv.port}")
        self.assertEqual(f[4], "0.0.0.0:*")
        self.assertEqual(f[5], "LISTEN")

    def test_ordered_replies_to_several_datagrams(self):
        srv = self.server(udp=True)
        c = self.udp()
        msgs = [b"one", b"two\n", b"Three\r\n", b"four four", b"\x00five\x00", b"six"] * 3
        for m in msgs:
            c.sendto(m, ("127.0.0.1", srv.port))
        replies = [c.recvfrom(70000)[0] for _ in msgs]
        self.assertEqual(replies, [upper(m) for m in msgs])

    def test_zero_byte_datagram_gets_zero_byte_reply(self):
        srv = self.server(udp=True)
        c = self.udp()
        self.assertEqual(self.ask(c, srv, b""), b"")
        self.assertEqual(self.ask(c, srv, b"after"), b"AFTER")

    def test_binary_datagram(self):
        srv = self.server(udp=True)
        c = self.udp()
        data = bytes(range(256)) * 3 + "ünïcødé ß 日本".encode()
        self.assertEqual(self.ask(c, srv, data), upper(data))

    def test_largest_datagram(self):
        srv = self.server(udp=True)
        c = self.udp()
        data = os.urandom(65507 - 10) + b"abcdefghij"
        self.assertEqual(self.ask(c, srv, data), upper(data))

    def test_tutorial_client_1024_byte_nul_padded_buffer(self):
        srv = self.server(udp=True)
        c = self.udp()
        buf = b"hello\n" + b"\0" * 1018
        self.assertEqual(self.ask(c, srv, buf), b"HELLO\n" + b"\0" * 1018)

    def test_each_peer_gets_its_own_reply(self):
        srv = self.server(udp=True)
        peers = [self.udp() for _ in range(5)]
        for i, p in enumerate(peers):
            p.sendto(b"peer %d" % i, ("127.0.0.1", srv.port))
        for i, p in enumerate(peers):
            self.assertEqual(p.recvfrom(100)[0], b"PEER %d" % i)

    def test_many_peers_many_datagrams(self):
        srv = self.server(udp=True)
        peers = [self.udp() for _ in range(50)]
        for round_ in range(5):
            for i, p in enumerate(peers):
                p.sendto(b"peer %d round %d" % (i, round_), ("127.0.0.1", srv.port))
        for i, p in enumerate(peers):
            got = [p.recvfrom(100)[0] for _ in range(5)]
            self.assertEqual(got, [b"PEER %d ROUND %d" % (i, r) for r in range(5)])

    def test_mode_echo(self):
        srv = self.server("--mode", "echo", udp=True)
        c = self.udp()
        self.assertEqual(self.ask(c, srv, b"Hello World"), b"Hello World")


class UdpExitWord(E2E):
    def test_exit_datagram_gets_no_reply_and_server_keeps_serving(self):
        srv = self.server(udp=True)
        other = self.udp()
        for word in (b"exit", b"exit\n", b"exit\r\n", b"exit" + b"\0" * 1020,
                     b"exit\n" + b"\0" * 1019):
            with self.subTest(word=word[:8], size=len(word)):
                c = self.udp()  # fresh per word: a failed case leaves nothing for the next
                c.sendto(word, ("127.0.0.1", srv.port))
                # Datagrams on loopback arrive in order: had "exit" been answered, that
                # answer would be the first thing to arrive.
                c.sendto(b"hello", ("127.0.0.1", srv.port))
                self.assertEqual(c.recvfrom(2000)[0], b"HELLO")
                other.sendto(b"other", ("127.0.0.1", srv.port))
                self.assertEqual(other.recvfrom(2000)[0], b"OTHER")
        self.assertIsNone(srv.proc.poll())

    def test_shutdown_word_datagram_stops_server(self):
        srv = self.server("--shutdown-word", "halt", udp=True)
        c = self.udp()
        c.sendto(b"halt now", ("127.0.0.1", srv.port))
        self.assertEqual(c.recvfrom(100)[0], b"HALT NOW")
        c.sendto(b"halt\n", ("127.0.0.1", srv.port))
        rc, _ = srv.wait_exit()
        self.assertEqual(rc, 0, srv.stderr())


class UdpLifecycle(E2E):
    def test_once_serves_one_datagram_then_exits_0(self):
        srv = self.server("--once", udp=True)
        c = self.udp()
        c.sendto(b"hello", ("127.0.0.1", srv.port))
        self.assertEqual(c.recvfrom(100)[0], b"HELLO")
        rc, _ = srv.wait_exit()
        self.assertEqual(rc, 0, srv.stderr())

    def test_no_per_peer_lines_without_v_and_summary_on_sigterm(self):
        srv = self.server(udp=True)
        c = self.udp()
        for m in (b"a", b"bb", b"ccc"):
            c.sendto(m, ("127.0.0.1", srv.port))
            self.assertEqual(c.recvfrom(100)[0], upper(m))
        rc, rest = srv.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, srv.stderr())
        self.assertEqual(len(rest), 1, f"expected only the summary line: {rest}")
        self.assertTrue(rest[0].startswith("summary"), rest)
        v = kv(rest[0])
        self.assertEqual((v.get("rx"), v.get("tx"), v.get("messages")), ("6", "6", "3"), rest[0])

    def test_sigint_exits_0(self):
        srv = self.server(udp=True)
        rc, rest = srv.stop(signal.SIGINT)
        self.assertEqual(rc, 0)
        self.assertTrue(rest and rest[-1].startswith("summary"), rest)

    def test_verbose_message_line(self):
        srv = self.server("-v", udp=True)
        c = self.udp()
        cport = c.getsockname()[1]
        c.sendto(b"hello\n", ("127.0.0.1", srv.port))
        self.assertEqual(c.recvfrom(100)[0], b"HELLO\n")
        line = srv.expect(lambda f: f[:1] == ["get"])
        self.assertEqual(line, f"get message from [127.0.0.1:{cport}]: hello -> HELLO")

    def test_json(self):
        srv = self.server("--json", udp=True)
        obj = json.loads(srv.listen_line)
        self.assertEqual((obj["event"], obj["proto"], obj["local"]),
                         ("listen", "udp", f"127.0.0.1:{srv.port}"))
        c = self.udp()
        c.sendto(b"x", ("127.0.0.1", srv.port))
        self.assertEqual(c.recvfrom(10)[0], b"X")
        rc, rest = srv.stop()
        self.assertEqual(rc, 0)
        for line in rest:
            json.loads(line)
        self.assertEqual(json.loads(rest[-1])["event"], "summary")

    def test_quiet(self):
        srv = self.server("-q", udp=True, ready="proc")
        c = self.udp()
        c.sendto(b"quiet", ("127.0.0.1", srv.port))
        self.assertEqual(c.recvfrom(10)[0], b"QUIET")
        rc, _ = srv.stop()
        self.assertEqual(rc, 0)
        self.assertEqual(srv.seen, [])

    def test_stdin_closed(self):
        srv = self.server(udp=True, closed_stdin=True)
        c = self.udp()
        for i in range(3):
            c.sendto(b"msg %d" % i, ("127.0.0.1", srv.port))
            self.assertEqual(c.recvfrom(10)[0], b"MSG %d" % i)
        self.assertEqual(srv.stop()[0], 0)

    def test_port_in_use_is_exit_1(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
            held.bind(("127.0.0.1", 0))
            port = held.getsockname()[1]
            rc, out, err = run_sockecho(["serve", "--udp", "-b", "127.0.0.1", "-p", str(port)])
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)


if __name__ == "__main__":
    unittest.main()
