"""Unix-domain sockets: stream and datagram service, abstract names, the socket file's life."""

import os
import signal
import socket
import stat
import tempfile
import unittest

from harness import Server, recv_to_eof, SOCKECHO, require_binary, run_sockecho, upper

require_binary()

ALL_BYTES = bytes(range(256)) * 64



class UnixCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="sockecho-unix-")
        self.addCleanup(self.dir.cleanup)

    def path(self, name="s.sock"):
        return os.path.join(self.dir.name, name)

    def serve(self, *args):
        return Server(argv=["serve", "--unix", *args])


class UnixStream(UnixCase):
    def test_byte_exact_and_peer_credentials(self):
        p = self.path()
        with self.serve(p) as srv:
            self.assertEqual(srv.listen_line.split()[0], "unix")
            self.assertEqual(srv.listen_line.split()[3], p)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.settimeout(5)
                c.connect(p)
                c.sendall(ALL_BYTES)
                c.shutdown(socket.SHUT_WR)
                self.assertEqual(recv_to_eof(c), upper(ALL_BYTES))
            line = srv.expect_state("ESTABLISHED")
            self.assertEqual(line.split()[4], f"pid={os.getpid()},uid={os.getuid()}")
            rc, _ = srv.stop(signal.SIGINT)
            self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(p), "the socket file must be removed on exit")

    def test_send_over_unix_stream(self):
        p = self.path()
        with self.serve(p):
            rc, out, err = run_sockecho(["send", "--unix", p], input=b"hello\nworld\n")
            self.assertEqual((rc, out, err), (0, b"HELLO\nWORLD\n", b""))

    def test_abstract_name(self):
        name = f"@sockecho-test-{os.getpid()}-{id(self)}"
        with self.serve(name) as srv:
            self.assertEqual(srv.listen_line.split()[3], name)
            rc, out, _ = run_sockecho(["send", "--unix", name, "hi"])
            self.assertEqual((rc, out), (0, b"HI\n"))

    def test_unix_mode_0600(self):
        p = self.path()
        with self.serve(p, "--unix-mode", "0600"):
            self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o600)
            self.assertTrue(stat.S_ISSOCK(os.lstat(p).st_mode))

    def test_stale_socket_file_is_replaced(self):
        p = self.path()
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(p)
        dead.close()  # the file stays, nobody listens: stale
        self.assertTrue(os.path.exists(p))
        with self.serve(p):
            rc, out, _ = run_sockecho(["send", "--unix", p, "again"])
            self.assertEqual((rc, out), (0, b"AGAIN\n"))

    def test_live_server_path_is_an_error_and_untouched(self):
        p = self.path()
        with self.serve(p) as first:
            inode = os.lstat(p).st_ino
            rc, out, err = run_sockecho(["serve", "--unix", p])
            self.assertEqual(rc, 1)
            self.assertEqual(out, b"")
            self.assertEqual(err.count(b"\n"), 1, err)
            self.assertTrue(err.startswith(b"sockecho: "), err)
            self.assertEqual(os.lstat(p).st_ino, inode)
            rc, out, _ = run_sockecho(["send", "--unix", p, "still"])
            self.assertEqual((rc, out), (0, b"STILL\n"))
            first.stop()

    def test_regular_file_and_directory_are_left_alone(self):
        f = self.path("file")
        with open(f, "w") as fh:
            fh.write("keep me")
        d = self.path("dir")
        os.mkdir(d)
        for target in (f, d):
            rc, out, err = run_sockecho(["serve", "--unix", target])
            self.assertEqual(rc, 1, target)
            self.assertEqual(out, b"")
            self.assertEqual(err.count(b"\n"), 1, err)
        with open(f) as fh:
            self.assertEqual(fh.read(), "keep me")
        self.assertTrue(os.path.isdir(d))

    def test_once_removes_the_file(self):
        p = self.path()
        with self.serve(p, "--once") as srv:
            rc, out, _ = run_sockecho(["send", "--unix", p, "one"])
            self.assertEqual(out, b"ONE\n")
            rc, _ = srv.wait_exit()
            self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(p))

    def test_send_to_missing_path_exits_1(self):
        rc, out, err = run_sockecho(["send", "--unix", self.path("nobody"), "x"])
        self.assertEqual((rc, out), (1, b""))
        self.assertEqual(err.count(b"\n"), 1, err)

    def test_closed_line_send_q_is_0_with_the_reply_unread(self):
        # The client half-closes without reading its reply: the server's CLOSED line comes
        # while "ABC\n" still waits in the client's socket. A Unix socket's SIOCOUTQ is the
        # buffer memory that costs (768), not bytes: Send-Q says 0.
        p = self.path()
        with self.serve(p) as srv:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.settimeout(5)
                c.connect(p)
                c.sendall(b"abc\n")
                c.shutdown(socket.SHUT_WR)
                f = srv.expect_state("CLOSED").split()
                self.assertIn("tx=4", f)
                self.assertEqual(f[2], "0", f"Send-Q of {f}")
                self.assertEqual(recv_to_eof(c), b"ABC\n", "the reply was there all along")


class UnixDatagram(UnixCase):
    def test_datagram_replies_in_order(self):
        p = self.path()
        with self.serve("--udp", p) as srv:
            self.assertEqual(srv.listen_line.split()[0], "unixdg")
            rc, out, err = run_sockecho(["send", "--unix", "--udp", p], input=b"one\ntwo\n\nthree")
            self.assertEqual((rc, out, err), (0, b"ONE\nTWO\n\nTHREE\n", b""))

    def test_plain_datagram_client_binary(self):
        p = self.path()
        with self.serve("--udp", p):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as c:
                c.settimeout(5)
                c.bind(self.path("client.sock"))
                payload = bytes(range(256)) * 16
                c.sendto(payload, p)
                self.assertEqual(c.recv(1 << 16), upper(payload))

    def test_shutdown_word_removes_the_file(self):
        p = self.path()
        with self.serve("--udp", p, "--shutdown-word", "halt") as srv:
            rc, _, _ = run_sockecho(["send", "--unix", "--udp", "-w", "200ms", p, "halt"])
            rc, _ = srv.wait_exit()
            self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(p))


class UnixUsage(unittest.TestCase):
    def test_unix_with_port_or_family_is_usage_error(self):
        for args in (["serve", "--unix", "/tmp/x", "-p", "1"], ["send", "--unix", "-4", "/tmp/x"],
                     ["serve", "--unix"], ["serve", "--unix-mode", "0600"],
                     ["serve", "--unix", "/tmp/x", "--unix-mode", "999"]):
            rc, out, err = run_sockecho(args)
            self.assertEqual(rc, 2, args)
            self.assertEqual(out, b"")
            self.assertEqual(err.count(b"\n"), 1, (args, err))


if __name__ == "__main__":
    unittest.main()
