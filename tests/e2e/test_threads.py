"""serve --threads N: one listening socket served by N event loops; also run under TSan."""

import hashlib
import os
import selectors
import signal
import socket
import tempfile
import unittest

from harness import Server, kv, require_binary, run_sockecho, upper

require_binary()

CLIENTS = 200


class Threads(unittest.TestCase):
    def test_one_socket_so_the_port_stays_taken(self):
        with Server("--threads", "2", "-b", "127.0.0.1") as srv:
            # One LISTEN line: one socket, whatever the number of loops.
            rc, rest = srv.stop()
            self.assertEqual(rc, 0, rest)
            self.assertEqual([l for l in rest if "LISTEN" in l], [], rest)
        with Server("--threads", "2", "-b", "127.0.0.1") as srv:
            port = str(srv.port)
            # No SO_REUSEPORT: neither another --threads server nor a --reuseport one can
            # join the port and take a share of the clients.
            for extra in ([], ["--reuseport"]):
                rc, out, err = run_sockecho(["serve", "--threads", "2", "-b", "127.0.0.1",
                                             "-p", port] + extra, timeout=10)
                self.assertEqual(rc, 1, (extra, out, err))
                self.assertIn(b"Address already in use", err)
                self.assertEqual(err.count(b"\n"), 1, err)
            self.assertEqual(upper(b"still mine\n"), self.round_trip(srv.port, b"still mine\n"))
            srv.stop()

    def test_reuseport_only_when_asked(self):
        with Server("--reuseport", "-b", "127.0.0.1") as a:
            with Server("--reuseport", "-b", "127.0.0.1", "-p", str(a.port)) as b:
                self.assertEqual(a.port, b.port)
                b.stop()
            a.stop()

    def test_unix_socket_threads(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s")
            with Server(argv=["serve", "--unix", path, "--threads", "2"],
                        ready="listen") as srv:
                for i in range(20):
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                        c.settimeout(5)
                        c.connect(path)
                        c.sendall(b"u%d\n" % i)
                        c.shutdown(socket.SHUT_WR)
                        got = b""
                        while chunk := c.recv(100):
                            got += chunk
                        self.assertEqual(got, b"U%d\n" % i)
                rc, rest = srv.stop()
                self.assertEqual(rc, 0, rest)
            self.assertFalse(os.path.exists(path))

    @staticmethod
    def round_trip(port, data):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := c.recv(65536):
                got += chunk
            return got

    def test_many_clients_byte_exact_then_sigterm_counts_them_all(self):
        with Server("--threads", "2", "-q", ready="proc") as srv:
            sel = selectors.DefaultSelector()
            expect = {}
            for i in range(CLIENTS):
                c = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                payload = os.urandom(997) + f"client {i}\n".encode()
                c.sendall(payload)
                c.shutdown(socket.SHUT_WR)
                c.setblocking(False)
                expect[c] = [hashlib.sha256(upper(payload)).hexdigest(), b""]
                sel.register(c, selectors.EVENT_READ)
            open_count = CLIENTS
            while open_count:
                events = sel.select(timeout=10)
                self.assertTrue(events, "replies stopped coming")
                for key, _ in events:
                    chunk = key.fileobj.recv(65536)
                    if chunk:
                        expect[key.fileobj][1] += chunk
                        continue
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    open_count -= 1
            for want, got in expect.values():
                self.assertEqual(hashlib.sha256(got).hexdigest(), want)
            rc, _ = srv.stop(signal.SIGTERM)
            self.assertEqual(rc, 0)

    def test_summary_adds_up_the_threads(self):
        with Server("--threads", "3") as srv:
            for i in range(12):
                rc, out, _ = run_sockecho(["send", f"127.0.0.1:{srv.port}", f"n{i}"])
                self.assertEqual(out, f"N{i}\n".encode())
            rc, rest = srv.stop(signal.SIGINT)
            self.assertEqual(rc, 0)
            summary = [l for l in rest if l.startswith("summary")]
            self.assertEqual(len(summary), 1, rest)
            self.assertEqual(kv(summary[0])["clients"], "12")

    def test_shutdown_word_stops_every_thread(self):
        with Server("--threads", "2", "--shutdown-word", "halt") as srv:
            keep = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            self.addCleanup(keep.close)
            run_sockecho(["send", "-w", "1s", f"127.0.0.1:{srv.port}", "halt"])
            rc, _ = srv.wait_exit()
            self.assertEqual(rc, 0)

    def test_max_clients_counts_across_threads(self):
        with Server("--threads", "2", "--max-clients", "2") as srv:
            held = []
            for _ in range(2):
                c = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                c.sendall(b"x\n")
                self.assertEqual(c.recv(10), b"X\n")
                held.append(c)
            for _ in range(4):
                with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
                    self.assertEqual(c.recv(10), b"")
            for c in held:
                c.close()
            rc, rest = srv.stop()
            self.assertEqual(kv([l for l in rest if l.startswith("summary")][0])["refused"], "4")

    def test_udp_threads(self):
        with Server("--threads", "2", udp=True) as srv:
            for i in range(20):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(5)
                    s.sendto(f"d{i}".encode(), ("127.0.0.1", srv.port))
                    self.assertEqual(s.recv(100), f"D{i}".encode())

    def test_usage(self):
        for args in (["--threads", "0"], ["--threads", "2", "--once"], ["--threads", "x"]):
            rc, out, err = run_sockecho(["serve", "-p", "0"] + args)
            self.assertEqual((rc, out), (2, b""), args)
            self.assertEqual(err.count(b"\n"), 1, err)


if __name__ == "__main__":
    unittest.main()
