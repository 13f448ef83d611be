"""send and serve started with stdin, stdout or stderr closed.

A closed fd 0, 1 or 2 is the lowest free fd, so the first socket would land on it: replies
written to "stdout" would go back into the connection (a reply loop), `send -v`'s lines
on "stderr" would be sent as data, and "stdin" would be the socket itself. sockecho opens
/dev/null on a closed std fd first thing, so none of that can happen: the server receives
exactly what the user sent, and both commands work as usual (SPEC.md, "Everywhere").
"""

import os
import re
import signal
import subprocess
import unittest

from harness import (E2E, SOCKECHO, T, Server, _kill_and_reap, exchange, kv, require_binary,
                     upper)


def setUpModule():
    require_binary()


REDIRECT = {0: "<&-", 1: ">&-", 2: "2>&-"}
NAME = {0: "stdin", 1: "stdout", 2: "stderr"}
MESSAGE = re.compile(r"^get message from \[([^]]+)\]: (.*)$")


def with_closed(fd, argv):
    """argv run with fd closed: the shell's exec applies the redirection and keeps the PID."""
    return ["sh", "-c", f'exec "$@" {REDIRECT[fd]}', "sh"] + list(argv)


def std_fd_targets(pid):
    return {fd: os.readlink(f"/proc/{pid}/fd/{fd}") for fd in (0, 1, 2)}


class ClosedFdServer(Server):
    """harness.Server started with one std fd closed."""

    def __init__(self, fd, *args, **kw):
        super().__init__(*args, **kw)
        self.argv = with_closed(fd, self.argv)


class SendWithClosedFd(E2E):
    def send(self, fd, args, stdin_data=None, srv=None, verbose=True):
        """Run `sockecho send [-v] 127.0.0.1:PORT args` with fd closed against a `serve -v`.

        With stdin_data, it is written once the send process runs, the server's message line
        for it awaited (so it is one read, one message), and stdin then closed.
        Returns (rc, stdout, stderr, the server's CLOSED fields, the server's messages)."""
        argv = [SOCKECHO, "send"] + (["-v"] if verbose else []) + [f"127.0.0.1:{srv.port}"]
        argv += list(args)
        proc = subprocess.Popen(with_closed(fd, argv),
                                stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            if stdin_data is not None:
                proc.stdin.write(stdin_data)
                proc.stdin.flush()
                srv.expect(lambda f: bool(MESSAGE.match(" ".join(f))), what="the message line")
                proc.stdin.close()
                proc.stdin = None  # so that communicate() does not flush it
            try:
                out, err = proc.communicate(timeout=T)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"send with {NAME[fd]} closed did not exit within {T}s; "
                                     f"server said {srv.seen[-5:]!r}")
        finally:
            _kill_and_reap(proc)
        closed = kv(srv.expect_state("CLOSED"))
        messages = [MESSAGE.match(line).group(2) for line in srv.seen if MESSAGE.match(line)]
        return proc.returncode, out, err, closed, messages

    def test_stdout_closed_replies_go_nowhere_and_no_reply_loop(self):
        # Without -v the socket was fd 1: the server logged `HI -> HI` over and over.
        for verbose in (False, True):
            with self.subTest(verbose=verbose):
                srv = self.server("-v")
                rc, out, err, closed, messages = self.send(1, [], b"hi\n", srv, verbose)
                self.assertEqual(messages, ["hi -> HI"], "the replies went back into the connection")
                self.assertEqual(closed["rx"], "3", closed)
                self.assertEqual(rc, 0, err)
                self.assertEqual(out, b"")

    def test_stderr_closed_verbose_lines_are_not_sent(self):
        srv = self.server("-v")
        rc, out, err, closed, messages = self.send(2, [], b"hi\n", srv)
        self.assertEqual(messages, ["hi -> HI"], "send -v's lines were sent as data")
        self.assertEqual(closed["rx"], "3", closed)
        self.assertEqual(rc, 0)
        self.assertEqual(out, b"HI\n")
        self.assertEqual(err, b"")

    def test_stdin_closed_is_empty_input(self):
        srv = self.server("-v")
        rc, out, err, closed, messages = self.send(0, [], srv=srv)
        self.assertEqual((rc, out), (0, b""), err)
        self.assertEqual(messages, [])
        self.assertEqual(closed["rx"], "0", closed)

    def test_stdin_closed_words_are_sent(self):
        srv = self.server("-v")
        rc, out, err, closed, messages = self.send(0, ["hi"], srv=srv)
        self.assertEqual((rc, out), (0, b"HI\n"), err)
        self.assertEqual(messages, ["hi -> HI"])
        self.assertEqual(closed["rx"], "3", closed)


class ServeWithClosedFd(E2E):
    def check_serves(self, fd, udp):
        # With stdout closed there is no LISTEN line to read: the port comes from /proc.
        srv = ClosedFdServer(fd, "-v", udp=udp, ready="proc" if fd == 1 else "listen")
        self.addCleanup(srv.close)
        srv.start()
        targets = std_fd_targets(srv.pid)
        self.assertEqual(targets[fd], "/dev/null", targets)
        for n, target in targets.items():
            self.assertFalse(target.startswith("socket:"), f"fd {n} is a socket: {targets}")
        if udp:
            c = self.udp()
            c.sendto(b"hello", ("127.0.0.1", srv.port))
            self.assertEqual(c.recvfrom(100)[0], b"HELLO")
        else:
            c = self.tcp(srv.port)
            self.assertEqual(exchange(c, b"hello\n"), upper(b"hello\n"))
            c.close()
        rc, _ = srv.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, srv.stderr())

    def test_serves_with_each_std_fd_closed(self):
        for fd in (0, 1, 2):
            for udp in (False, True):
                with self.subTest(closed=NAME[fd], proto="udp" if udp else "tcp"):
                    self.check_serves(fd, udp)


if __name__ == "__main__":
    unittest.main()
