"""The syscall seam's failpoints, end to end on the real binary (docs/FAULTS.md).

A smoke test of the mechanism the per-client fault tests build on: failpoints enabled before
main by fiu-run, and switched at run time by PID with fiu-ctrl. Needs a -DSOCKECHO_FAULTS=ON
build and fiu-utils; otherwise the file is skipped (77).
"""

import errno
import signal
import socket
import unittest

from harness import (E2E, fiu_disable, fiu_enable, kv, one_error_line, require_binary,
                     require_faults, run_faulted, upper)


def setUpModule():
    require_binary()
    require_faults()


class Seam(E2E):
    def test_serve_exits_1_when_bind_fails(self):
        for err in (errno.EADDRINUSE, 0):  # 0: the failpoint's default errno, EADDRINUSE
            with self.subTest(failinfo=err):
                rc, out, err_out = run_faulted(["serve", "-p", "0", "-b", "127.0.0.1"],
                                               [fiu_enable("net/bind", err)])
                self.assertEqual(rc, 1, err_out)
                self.assertEqual(out, b"")
                one_error_line(self, err_out)
                self.assertEqual(err_out, b"sockecho: bind 127.0.0.1:0: Address already in use\n")

    def test_send_exits_1_when_connect_fails_though_a_server_listens(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        rc, out, err = run_faulted(["send", f"127.0.0.1:{port}"],
                                   [fiu_enable("net/connect", errno.ECONNREFUSED)],
                                   input=b"hello\n")
        self.assertEqual(rc, 1, err)
        one_error_line(self, err)
        self.assertEqual(err, f"sockecho: connect to 127.0.0.1:{port}: Connection refused\n".encode())

    def test_failpoints_switched_at_run_time_by_pid(self):
        srv = self.fault_server()
        # Nothing enabled: served as usual.
        a = self.tcp(srv.port)
        self.assertEqual(self.round_trip(a, b"first\n"), upper(b"first\n"))
        # The next recv of any client fails with ECONNRESET, once.
        srv.fiu(fiu_enable("net/recv", errno.ECONNRESET, onetime=True))
        b = self.tcp(srv.port)
        srv.expect_state("ESTABLISHED", f"127.0.0.1:{b.getsockname()[1]}")
        b.sendall(b"second\n")
        closed = srv.expect_state("CLOSED", f"127.0.0.1:{b.getsockname()[1]}")
        self.assertNotEqual(kv(closed).get("reason"), "eof", closed)
        # Once means once: the next client, and the first one, are served.
        c = self.tcp(srv.port)
        self.assertEqual(self.round_trip(c, b"third\n"), upper(b"third\n"))
        self.assertEqual(self.round_trip(a, b"again\n"), upper(b"again\n"))
        # Always, then disabled.
        srv.fiu(fiu_enable("net/recv", errno.EIO))
        d = self.tcp(srv.port)
        d.sendall(b"fourth\n")
        closed = srv.expect_state("CLOSED", f"127.0.0.1:{d.getsockname()[1]}")
        self.assertNotEqual(kv(closed).get("reason"), "eof", closed)
        srv.fiu(fiu_disable("net/recv"))
        e = self.tcp(srv.port)
        self.assertEqual(self.round_trip(e, b"fifth\n"), upper(b"fifth\n"))
        # SIGTERM still reaches the loop's signalfd under fiu-run: a clean stop.
        rc, rest = srv.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, srv.stderr())
        self.assertTrue(any(line.startswith("summary") for line in rest), rest)

    def round_trip(self, sock, data):
        sock.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = sock.recv(len(data) - len(got))
            if not chunk:
                break
            got += chunk
        return got


if __name__ == "__main__":
    unittest.main()
