"""send: stdin or WORDs in, replies out, byte for byte; timeouts and failures."""

import hashlib
import os
import pty
import re
import select
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (E2E, SOCKECHO, T, Peer, SilentTcpListener, UdpPeer, _kill_and_reap, kv,
                     one_error_line, require_binary, require_tool, run_sockecho, run_timed,
                     upper)


def setUpModule():
    require_binary()


def sha(b):
    return hashlib.sha256(b).hexdigest()


class SendTcp(E2E):
    def target(self, srv):
        return f"127.0.0.1:{srv.port}"

    def test_pipeline_lines(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", self.target(srv)], input=b"hello\nworld\n")
        self.assertEqual((rc, out, err), (0, b"HELLO\nWORLD\n", b""))

    def test_words(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", self.target(srv), "hello", "world"])
        self.assertEqual((rc, out, err), (0, b"HELLO WORLD\n", b""))

    def test_words_ignore_an_open_stdin(self):
        srv = self.server()
        p = subprocess.Popen([SOCKECHO, "send", self.target(srv), "hi", "there"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(p.stderr.close)
        self.addCleanup(p.stdout.close)
        self.addCleanup(_kill_and_reap, p)
        self.addCleanup(p.stdin.close)
        try:
            rc = p.wait(timeout=T)
        except subprocess.TimeoutExpired:
            self.fail("send with WORDs waited on stdin")
        self.assertEqual((rc, p.stdout.read(), p.stderr.read()), (0, b"HI THERE\n", b""))

    def test_stdin_devnull(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", self.target(srv)], stdin=subprocess.DEVNULL)
        self.assertEqual((rc, out, err), (0, b"", b""))

    def test_stdin_regular_file(self):
        srv = self.server()
        with tempfile.TemporaryFile() as f:
            f.write(b"abc\nxyz\n\x00bin\xffary\n")
            f.seek(0)
            rc, out, err = run_sockecho(["send", self.target(srv)], stdin=f)
        self.assertEqual((rc, out, err), (0, b"ABC\nXYZ\n\x00BIN\xffARY\n", b""))

    def test_no_trailing_newline_is_kept_as_is(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", self.target(srv)], input=b"no newline")
        self.assertEqual((rc, out, err), (0, b"NO NEWLINE", b""))

    def test_5mib_random_through_echo_pipe(self):
        srv = self.server("--mode", "echo")
        data = os.urandom(5 * 1024 * 1024)
        rc, out, err = run_sockecho(["send", self.target(srv)], input=data, timeout=6 * T)
        self.assertEqual((rc, err), (0, b""))
        self.assertEqual(len(out), len(data))
        self.assertEqual(sha(out), sha(data))

    def test_5mib_random_from_regular_file_upper(self):
        srv = self.server()
        data = os.urandom(5 * 1024 * 1024)
        with tempfile.TemporaryFile() as f:
            f.write(data)
            f.seek(0)
            rc, out, err = run_sockecho(["send", self.target(srv)], stdin=f, timeout=6 * T)
        self.assertEqual((rc, err), (0, b""))
        self.assertEqual(len(out), len(data))
        self.assertEqual(sha(out), sha(upper(data)))

    def test_5mib_into_discard_sink(self):
        srv = self.server("--mode", "discard")
        data = os.urandom(5 * 1024 * 1024)
        rc, out, err = run_sockecho(["send", self.target(srv)], input=data, timeout=6 * T)
        self.assertEqual((rc, out, err), (0, b"", b""))
        closed = srv.expect(lambda f: len(f) >= 6 and f[5] == "CLOSED" and f"rx={len(data)}" in f,
                            what=f"a CLOSED line with rx={len(data)}")
        self.assertIn(f"rx={len(data)} tx=0", closed)

    def test_half_close_then_reads_until_server_closes(self):
        # A far end that answers only after it has seen EOF: send must half-close and keep reading.
        lsock = socket.socket()
        self.addCleanup(lsock.close)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        got = bytearray()

        def far_end():
            lsock.settimeout(T)
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(T)
                while True:
                    b = conn.recv(65536)
                    if not b:
                        break
                    got.extend(b)
                conn.sendall(b"saw %d bytes\n" % len(got))

        t = threading.Thread(target=far_end, daemon=True)
        t.start()
        rc, out, err = run_sockecho(["send", f"127.0.0.1:{lsock.getsockname()[1]}"], input=b"ping\n" * 100)
        t.join(T)
        self.assertEqual(bytes(got), b"ping\n" * 100)
        self.assertEqual((rc, out, err), (0, b"saw 500 bytes\n", b""))

    def test_host_and_port_flag(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", "-p", str(srv.port), "127.0.0.1", "hello"])
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))

    def test_verbose_keeps_stdout_exact(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", "-v", self.target(srv)], input=b"hello\n")
        self.assertEqual((rc, out), (0, b"HELLO\n"))
        lines = err.decode().splitlines()
        est = [l.split() for l in lines if "ESTABLISHED" in l.split()]
        closed = [l for l in lines if "CLOSED" in l.split()]
        self.assertEqual(len(est), 1, f"-v: no ESTABLISHED line on stderr: {err!r}")
        self.assertEqual(est[0][0], "tcp")
        self.assertRegex(est[0][3], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(est[0][4], f"127.0.0.1:{srv.port}")
        self.assertIn("rtt", err.decode(), "-v: no RTT for TCP")
        self.assertIn("retrans", err.decode(), "-v: no retransmits for TCP")
        self.assertEqual(len(closed), 1, f"-v: no closing line: {err!r}")
        self.assertIn("rx=6", closed[0])
        self.assertIn("tx=6", closed[0])

    def test_durations_parse(self):
        srv = self.server()
        for d in ("250ms", "2s", "1.5s", "1m", "3"):
            with self.subTest(d=d):
                rc, out, err = run_sockecho(["send", "-w", d, "--connect-timeout", d,
                                             self.target(srv), "ok"])
                self.assertEqual((rc, out, err), (0, b"OK\n", b""))

    def test_exit_word_in_input_ends_cleanly(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", self.target(srv)], input=b"hello\nexit\n")
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))

    def test_interactive_terminal(self):
        srv = self.server()
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        p = subprocess.Popen([SOCKECHO, "send", self.target(srv)], stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        self.addCleanup(p.stderr.close)
        self.addCleanup(p.stdout.close)
        self.addCleanup(_kill_and_reap, p)
        os.write(master, b"hello\n")
        got = b""
        deadline = time.monotonic() + T
        while not got.endswith(b"\n") and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, b"HELLO\n")
        os.write(master, b"exit\n")
        try:
            rc = p.wait(timeout=T)
        except subprocess.TimeoutExpired:
            self.fail("typing the exit word did not end send")
        self.assertEqual(rc, 0)
        self.assertEqual(p.stdout.read(), b"")
        self.assertNotEqual(p.stderr.read(), b"", "no prompt on stderr")


class SendTcpFailures(E2E):
    def test_closed_port_exit_1(self):
        with socket.socket() as closed:  # bound, not listening: connect is refused
            closed.bind(("127.0.0.1", 0))
            rc, out, err = run_sockecho(["send", f"127.0.0.1:{closed.getsockname()[1]}", "hello"])
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)

    def test_timeout_after_stdin_end_against_silent_server(self):
        with SilentTcpListener() as far:
            rc, out, err, secs = run_timed([SOCKECHO, "send", "-w", "1s", f"127.0.0.1:{far.port}"],
                                           input=b"hello\n", timeout=T)
            self.assertTrue(far.eof.wait(T), "send did not half-close")
            self.assertEqual(bytes(far.data), b"hello\n")
        self.assertEqual((rc, out), (0, b""), f"stderr={err!r}")
        self.assertGreaterEqual(secs, 0.9, "gave up before -w 1s of silence")
        self.assertLess(secs, T)

    def test_words_timeout_against_silent_server(self):
        with SilentTcpListener() as far:
            rc, out, err, secs = run_timed([SOCKECHO, "send", "-w", "300ms", f"127.0.0.1:{far.port}",
                                            "a", "b"], timeout=T)
            self.assertTrue(far.eof.wait(T))
            self.assertEqual(bytes(far.data), b"a b\n")
        self.assertEqual((rc, out), (0, b""), f"stderr={err!r}")

    def test_reset_by_server_is_exit_1(self):
        lsock = socket.socket()
        self.addCleanup(lsock.close)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)

        def reset_after_first_read():
            lsock.settimeout(T)
            try:
                conn, _ = lsock.accept()
                conn.settimeout(T)
                conn.recv(100)
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST

        t = threading.Thread(target=reset_after_first_read, daemon=True)
        t.start()
        rc, out, err = run_sockecho(["send", f"127.0.0.1:{lsock.getsockname()[1]}"], input=b"hello\n")
        t.join(T)
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)

    def test_connect_timeout(self):
        # A listener whose accept queue is full: the kernel drops further SYNs, so connect hangs.
        lsock = socket.socket()
        self.addCleanup(lsock.close)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        port = lsock.getsockname()[1]
        full = False
        for _ in range(8):
            f = socket.socket()
            self.addCleanup(f.close)
            f.setblocking(False)
            try:
                f.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            _, w, _ = select.select([], [f], [], 0.5)
            if not w:
                full = True
                break
        if not full:
            self.skipTest("could not fill the accept queue on this kernel")
        rc, out, err, secs = run_timed([SOCKECHO, "send", "--connect-timeout", "300ms",
                                        f"127.0.0.1:{port}", "x"], timeout=T)
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)
        self.assertGreaterEqual(secs, 0.25)
        self.assertLess(secs, 5)


class StalledListener:
    """A listener with a small receive buffer that accepts and never reads (None: reads
    pace bytes every interval seconds, a slow but live reader)."""

    def __init__(self, pace=None, interval=0.05):
        self.sock = socket.socket()
        # Set before listen: the accepted socket inherits it, and the window stays small.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.pace = pace
        self.interval = interval
        self.got = 0
        self.conn = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.sock.settimeout(T)
        try:
            self.conn, _ = self.sock.accept()
        except OSError:
            return
        if self.pace is None:
            return
        self.conn.settimeout(T)
        while not self._stop.wait(self.interval):
            try:
                b = self.conn.recv(self.pace)
            except OSError:
                return
            if not b:
                return
            self.got += len(b)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=T)
        if self.conn is not None:
            self.conn.close()
        self.sock.close()
        return False


NOT_ACKED = r"^sockecho: send to 127\.0\.0\.1:(\d+): (\d+) bytes not acknowledged\n$"


class SendDelivery(E2E):
    """Exit 0 means the peer's TCP has every byte; -w bounds a write that makes no progress."""

    def test_peer_that_stops_reading_is_exit_1_within_w(self):
        data = os.urandom(8 * 1024 * 1024)
        with StalledListener() as far:
            rc, out, err, secs = run_timed([SOCKECHO, "send", "-w", "1s", f"127.0.0.1:{far.port}"],
                                           input=data, timeout=T)
        self.assertEqual((rc, out), (1, b""), err)
        m = re.match(NOT_ACKED, err.decode())
        self.assertIsNotNone(m, f"stderr={err!r}")
        self.assertEqual(int(m.group(1)), far.port)
        self.assertGreater(int(m.group(2)), 0)
        self.assertLessEqual(int(m.group(2)), len(data))
        self.assertGreaterEqual(secs, 0.9, "gave up before -w 1s without progress")
        self.assertLess(secs, 2.5, "a stalled write outlived -w 1s by far")

    def test_input_end_with_bytes_unacknowledged_is_exit_1(self):
        # Small enough that every write may succeed into our socket buffer, too big for the
        # peer's window: the bytes wait in our kernel queue after the input ended.
        data = b"x" * (256 * 1024)
        with StalledListener() as far:
            rc, out, err, secs = run_timed([SOCKECHO, "send", "-w", "500ms", f"127.0.0.1:{far.port}"],
                                           input=data, timeout=T)
        self.assertEqual((rc, out), (1, b""), err)
        m = re.match(NOT_ACKED, err.decode())
        self.assertIsNotNone(m, f"stderr={err!r}")
        self.assertGreater(int(m.group(2)), 0)
        self.assertLessEqual(int(m.group(2)), len(data))
        self.assertLess(secs, 2.5)

    def test_slow_reader_making_progress_is_exit_0(self):
        # 512 KiB read 16 KiB at a time every 50 ms takes well over -w 300ms in all, but
        # never 300 ms without progress.
        data = os.urandom(512 * 1024)
        with StalledListener(pace=16384, interval=0.05) as far:
            rc, out, err, secs = run_timed([SOCKECHO, "send", "-w", "300ms", f"127.0.0.1:{far.port}"],
                                           input=data, timeout=6 * T)
        self.assertEqual((rc, out, err), (0, b"", b""))
        self.assertGreater(secs, 0.6, "the reader was not slow enough to prove anything")

    def test_normal_peer_is_exit_0(self):
        srv = self.server("--mode", "discard")
        data = os.urandom(8 * 1024 * 1024)
        rc, out, err = run_sockecho(["send", "-w", "1s", f"127.0.0.1:{srv.port}"], input=data,
                                    timeout=6 * T)
        self.assertEqual((rc, out, err), (0, b"", b""))


class Recorder:
    """A TCP listener that records every byte of one client, answers nothing, and closes
    when the client half-closes. .got grows as bytes arrive; .changed is set on each."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.got = bytearray()
        self.lock = threading.Condition()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.sock.settimeout(T)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(T)
            while True:
                try:
                    b = conn.recv(65536)
                except OSError:
                    break
                if not b:
                    break
                with self.lock:
                    self.got += b
                    self.lock.notify_all()
        self.done.set()

    def wait_for(self, n, timeout=T):
        """Until n bytes have arrived; the bytes so far."""
        with self.lock:
            self.lock.wait_for(lambda: len(self.got) >= n, timeout)
            return bytes(self.got)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()
        self._thread.join(timeout=T)
        return False


class SendCrlf(E2E):
    def test_lf_becomes_crlf_and_crlf_stays_one(self):
        with Recorder() as far:
            rc, out, err = run_sockecho(["send", "--crlf", f"127.0.0.1:{far.port}"],
                                        input=b"one\ntwo\r\nthree\rfour\n\nlast")
            self.assertTrue(far.done.wait(T))
        self.assertEqual((rc, out, err), (0, b"", b""))
        self.assertEqual(bytes(far.got), b"one\r\ntwo\r\nthree\rfour\r\n\r\nlast")

    def test_words_end_with_crlf(self):
        with Recorder() as far:
            rc, out, err = run_sockecho(["send", "--crlf", f"127.0.0.1:{far.port}", "GET", "/"])
            self.assertTrue(far.done.wait(T))
        self.assertEqual((rc, err), (0, b""))
        self.assertEqual(bytes(far.got), b"GET /\r\n")

    def test_cr_and_lf_in_two_reads_stay_one_crlf(self):
        # The CR ends one read of stdin: it is written and received before the LF exists.
        with Recorder() as far:
            p = subprocess.Popen([SOCKECHO, "send", "--crlf", f"127.0.0.1:{far.port}"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.addCleanup(p.stderr.close)
            self.addCleanup(p.stdout.close)
            self.addCleanup(_kill_and_reap, p)
            p.stdin.write(b"a\r")
            p.stdin.flush()
            self.assertEqual(far.wait_for(2), b"a\r")
            p.stdin.write(b"\nb\n")
            p.stdin.close()
            rc = p.wait(timeout=T)
            self.assertTrue(far.done.wait(T))
        self.assertEqual((rc, p.stdout.read(), p.stderr.read()), (0, b"", b""))
        self.assertEqual(bytes(far.got), b"a\r\nb\r\n")

    def test_binary_is_unchanged_but_for_lf(self):
        data = bytes(range(256)) * 64
        with Recorder() as far:
            rc, out, err = run_sockecho(["send", "--crlf", f"127.0.0.1:{far.port}"], input=data)
            self.assertTrue(far.done.wait(T))
        self.assertEqual((rc, err), (0, b""))
        want = bytearray()
        prev = None
        for b in data:
            if b == 0x0A and prev != 0x0D:
                want += b"\r"
            want.append(b)
            prev = b
        self.assertSameBytes(far.got, want, "--crlf of binary data")

    def test_replies_are_not_changed(self):
        srv = self.server("--mode", "echo")
        rc, out, err = run_sockecho(["send", "--crlf", f"127.0.0.1:{srv.port}"], input=b"hi\nthere\n")
        self.assertEqual((rc, out, err), (0, b"hi\r\nthere\r\n", b""))

    def test_against_nc(self):
        require_tool(self, "nc")
        # OpenBSD nc: -l -v prints "Listening on 127.0.0.1 PORT" on stderr once it listens.
        with Peer(["nc", "-v", "-l", "-N", "127.0.0.1", "0"], ready=r"Listening on \S+ (\d+)") as far:
            rc, out, err = run_sockecho(["send", "--crlf", f"127.0.0.1:{far.port}"],
                                        input=b"HELO x\nQUIT\n")
            self.assertEqual(far.wait(), 0)
            self.assertEqual(far.stdout(), b"HELO x\r\nQUIT\r\n")
        self.assertEqual((rc, out, err), (0, b"", b""))


class SendUdp(E2E):
    def test_lines_become_datagrams_and_replies_print_in_order(self):
        with UdpPeer() as far:
            rc, out, err = run_sockecho(["send", "--udp", f"127.0.0.1:{far.port}"],
                                        input=b"one\ntwo\nthree\n")
            self.assertEqual(far.got, [b"one", b"two", b"three"], "datagrams sent")
        self.assertEqual((rc, out, err), (0, b"ONE\nTWO\nTHREE\n", b""))

    def test_against_serve_udp(self):
        srv = self.server(udp=True)
        rc, out, err = run_sockecho(["send", "--udp", f"127.0.0.1:{srv.port}"],
                                    input=b"hello\nworld\nlast line without newline")
        self.assertEqual((rc, out, err), (0, b"HELLO\nWORLD\nLAST LINE WITHOUT NEWLINE\n", b""))

    def test_words_are_one_datagram(self):
        srv = self.server(udp=True)
        rc, out, err = run_sockecho(["send", "--udp", f"127.0.0.1:{srv.port}", "hello", "world"])
        self.assertEqual((rc, out, err), (0, b"HELLO WORLD\n", b""))

    def test_reply_with_newline_is_not_doubled(self):
        with UdpPeer(reply=lambda d: upper(d) + b"\n") as far:
            rc, out, err = run_sockecho(["send", "--udp", f"127.0.0.1:{far.port}"], input=b"a\nb\n")
        self.assertEqual((rc, out, err), (0, b"A\nB\n", b""))

    def test_no_empty_datagram_at_end_of_input(self):
        with UdpPeer() as far:
            rc, out, err = run_sockecho(["send", "--udp", f"127.0.0.1:{far.port}"], input=b"x\n")
            self.assertEqual(far.got, [b"x"])
        self.assertEqual((rc, out), (0, b"X\n"))

    def test_stdin_devnull_sends_nothing(self):
        with UdpPeer() as far:
            rc, out, err = run_sockecho(["send", "--udp", f"127.0.0.1:{far.port}"],
                                        stdin=subprocess.DEVNULL)
            self.assertEqual(far.got, [])
        self.assertEqual((rc, out, err), (0, b"", b""))

    def test_lost_reply_is_exit_1_quickly(self):
        with UdpPeer(reply=None) as far:  # bound, reads, never answers
            rc, out, err, secs = run_timed([SOCKECHO, "send", "--udp", "-w", "300ms",
                                            f"127.0.0.1:{far.port}", "hello"], timeout=T)
            self.assertEqual(far.got, [b"hello"], "retries default to 0")
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)
        self.assertGreaterEqual(secs, 0.25)
        self.assertLess(secs, 5)

    def test_default_reply_timeout_is_1s(self):
        with UdpPeer(reply=None) as far:
            rc, out, err, secs = run_timed([SOCKECHO, "send", "--udp", f"127.0.0.1:{far.port}",
                                            "hello"], timeout=T)
        self.assertEqual((rc, out), (1, b""), err)
        one_error_line(self, err)
        self.assertGreaterEqual(secs, 0.9)
        self.assertLess(secs, 5)

    def test_retries(self):
        with UdpPeer(reply=None) as far:
            rc, out, err = run_sockecho(["send", "--udp", "-w", "200ms", "--retries", "2",
                                         f"127.0.0.1:{far.port}", "hello"])
            self.assertEqual(far.got, [b"hello"] * 3)
        self.assertEqual(rc, 1, err)
        one_error_line(self, err)

    def closed_line(self, err):
        lines = [l for l in err.decode().splitlines() if "CLOSED" in l.split()]
        self.assertEqual(len(lines), 1, f"-v: no closing line: {err!r}")
        return kv(lines[0])

    def test_verbose_tx_counts_every_datagram_sent(self):
        with UdpPeer(reply=None) as far:
            rc, out, err = run_sockecho(["send", "--udp", "-v", "-w", "100ms", "--retries", "3",
                                         f"127.0.0.1:{far.port}", "hello"])
            self.assertEqual(far.got, [b"hello"] * 4)
        self.assertEqual(rc, 1, err)
        closed = self.closed_line(err)
        self.assertEqual((closed["tx"], closed["rx"]), ("20", "0"))

    def test_verbose_tx_counts_a_datagram_to_a_closed_port(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.connect(("127.0.0.1", 9))
            port = s.getsockname()[1]
            rc, out, err = run_sockecho(["send", "--udp", "-v", "--retries", "3",
                                         f"127.0.0.1:{port}", "hello"])
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.closed_line(err)["tx"], "5", "the datagram went out; the port answered ICMP")

    def test_verbose_tx_and_rx_when_answered(self):
        srv = self.server(udp=True)
        rc, out, err = run_sockecho(["send", "--udp", "-v", f"127.0.0.1:{srv.port}"], input=b"ab\ncde\n")
        self.assertEqual((rc, out), (0, b"AB\nCDE\n"))
        closed = self.closed_line(err)
        self.assertEqual((closed["tx"], closed["rx"]), ("5", "5"))

    def test_no_server_exit_1_quickly(self):
        # Hold the port with a socket connected elsewhere: datagrams to it find no socket,
        # so the kernel answers port-unreachable, and no other test can take the port.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.connect(("127.0.0.1", 9))
            port = s.getsockname()[1]
            rc, out, err, secs = run_timed([SOCKECHO, "send", "--udp", "-w", "300ms",
                                            f"127.0.0.1:{port}", "hello"], timeout=T)
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)
        self.assertLess(secs, 5)


if __name__ == "__main__":
    unittest.main()
