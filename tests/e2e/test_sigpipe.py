"""A reader of stdout that goes away (`... | head -1`): the command ends quietly, closing its
connections cleanly, with no message and exit status 141, as a shell reports a process
ended by SIGPIPE. sockecho ignores SIGPIPE (a peer that goes away must be an error value,
not a death), so this is its own doing: it sees EPIPE on stdout and acts on it.

Two kinds of closed stdout: a real pipeline into `head -1`, and a pipe whose read end is
closed before sockecho starts (every write fails at once: deterministic).
"""

import os
import socket
import subprocess
import unittest

from harness import (E2E, SOCKECHO, T, _kill_and_reap, kv, listen_port, recv_to_eof,
                     require_binary, require_tool)


def setUpModule():
    require_binary()


BROKEN_PIPE = 141


class ClosedStdout(E2E):
    def closed_pipe(self):
        """A pipe's write end with no reader: writing to it fails with EPIPE."""
        r, w = os.pipe()
        os.close(r)
        self.addCleanup(os.close, w)
        return w

    def popen(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.addCleanup(_kill_and_reap, p)
        return p

    def run_closed(self, args, input=None, timeout=T):
        """sockecho args with stdout a pipe nobody reads; (rc, stderr)."""
        p = self.popen([SOCKECHO, *args], stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                       stdout=self.closed_pipe(), stderr=subprocess.PIPE)
        self.addCleanup(p.stderr.close)
        try:
            _, err = p.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"sockecho {args} did not end with its stdout closed")
        return p.returncode, err

    # -- send

    def test_send_yes_into_head(self):
        require_tool(self, "yes")
        require_tool(self, "head")
        srv = self.server()  # not -v: a line per "y" would make the server the bottleneck
        yes = self.popen(["yes"], stdout=subprocess.PIPE)
        send = self.popen([SOCKECHO, "send", f"127.0.0.1:{srv.port}"], stdin=yes.stdout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = self.popen(["head", "-1"], stdin=send.stdout, stdout=subprocess.PIPE)
        yes.stdout.close()  # only send reads it now, and only head reads send's stdout
        send.stdout.close()
        self.addCleanup(send.stderr.close)
        self.addCleanup(head.stdout.close)
        self.assertEqual(head.stdout.read(), b"Y\n")
        try:
            rc = send.wait(timeout=T)
        except subprocess.TimeoutExpired:
            self.fail("send went on after head -1 left")
        self.assertEqual((rc, send.stderr.read()), (BROKEN_PIPE, b""))
        # The connection ended with our FIN, not a reset: the server saw an orderly end.
        closed = srv.expect_state("CLOSED")
        self.assertEqual(kv(closed).get("reason"), "eof", closed)
        yes.kill()

    def test_send_words_with_stdout_closed(self):
        srv = self.server("-v")
        rc, err = self.run_closed(["send", f"127.0.0.1:{srv.port}", "hello"])
        self.assertEqual((rc, err), (BROKEN_PIPE, b""))
        self.assertEqual(kv(srv.expect_state("CLOSED")).get("reason"), "eof")

    def test_send_tls_with_stdout_closed(self):
        srv = self.server("--tls", "-v")
        rc, err = self.run_closed(["send", "--tls", "-k", f"127.0.0.1:{srv.port}"], input=b"x\n" * 1000)
        self.assertEqual((rc, err), (BROKEN_PIPE, b""))
        self.assertEqual(kv(srv.expect_state("CLOSED")).get("reason"), "eof")

    def test_send_udp_with_stdout_closed(self):
        srv = self.server(udp=True)
        rc, err = self.run_closed(["send", "--udp", f"127.0.0.1:{srv.port}"], input=b"a\nb\n")
        self.assertEqual((rc, err), (BROKEN_PIPE, b""))

    def test_send_hexdump_with_stderr_closed(self):
        srv = self.server()
        r, w = os.pipe()
        os.close(r)
        self.addCleanup(os.close, w)
        p = self.popen([SOCKECHO, "send", "-x", f"127.0.0.1:{srv.port}", "hello"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=w)
        self.addCleanup(p.stdout.close)
        out, _ = p.communicate(timeout=T)
        self.assertEqual(p.returncode, BROKEN_PIPE)

    def test_help_into_closed_stdout(self):
        rc, err = self.run_closed(["send", "--help"])
        self.assertEqual((rc, err), (BROKEN_PIPE, b""))

    # -- serve

    def test_serve_verbose_into_head(self):
        require_tool(self, "head")
        serve = self.popen([SOCKECHO, "serve", "-v", "-p", "0", "-b", "127.0.0.1"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = self.popen(["head", "-1"], stdin=serve.stdout, stdout=subprocess.PIPE)
        serve.stdout.close()
        self.addCleanup(serve.stderr.close)
        self.addCleanup(head.stdout.close)
        listen = head.stdout.read().decode()
        self.assertIn("LISTEN", listen)
        self.assertEqual(head.wait(timeout=T), 0)
        # The next line (this client's ESTABLISHED) finds nobody reading: serve ends, after
        # finishing with this client as on SIGTERM.
        c = socket.create_connection(("127.0.0.1", listen_port(listen)), timeout=T)
        self.addCleanup(c.close)
        c.sendall(b"hello\n")
        got = recv_to_eof(c)  # the server's orderly end of the connection
        self.assertIn(got, (b"", b"HELLO\n"))
        c.close()
        try:
            rc = serve.wait(timeout=T)
        except subprocess.TimeoutExpired:
            self.fail("serve went on after its stdout's reader left")
        self.assertEqual((rc, serve.stderr.read()), (BROKEN_PIPE, b""))

    def test_serve_with_stdout_closed(self):
        for extra in ([], ["--udp"], ["--threads", "2"], ["--json"]):
            with self.subTest(args=extra):
                rc, err = self.run_closed(["serve", "-p", "0", "-b", "127.0.0.1", *extra])
                self.assertEqual((rc, err), (BROKEN_PIPE, b""))

    # -- probe

    def test_probe_with_stdout_closed(self):
        srv = self.server()
        for extra in ([], ["--json"], ["--json", "-c", "3", "-i", "10ms"]):
            with self.subTest(args=extra):
                rc, err = self.run_closed(["probe", *extra, f"127.0.0.1:{srv.port}"])
                self.assertEqual((rc, err), (BROKEN_PIPE, b""))


if __name__ == "__main__":
    unittest.main()
