"""serve over TCP: the upper-case service, the exit word, concurrency, limits, signals, output."""

import json
import os
import selectors
import signal
import socket
import struct
import time
import unittest

from harness import (E2E, T, Server, connect, exchange, kv, recv_exact, recv_to_eof,
                     require_binary, rss_kib, run_sockecho, one_error_line, upper)


def setUpModule():
    require_binary()


class Service(E2E):
    def test_listen_line_shows_bound_address(self):
        srv = self.server()
        f = srv.listen_line.split()
        self.assertEqual(f[0], "tcp")
        self.assertEqual(f[3], f"127.0.0.1:{srv.port}")
        self.assertEqual(f[4], "0.0.0.0:*")
        self.assertEqual(f[5], "LISTEN")
        self.assertTrue(f[1].isdigit() and f[2].isdigit(), srv.listen_line)

    def test_all_256_byte_values_nul_and_utf8_only_a_to_z_change(self):
        srv = self.server()
        c = self.tcp(srv.port)
        data = (bytes(range(256)) * 4 + b"\0" * 300 + "héllo wörld ß ñ Ωμέγα 日本語 😀\n".encode()
                + b"mixed CASE \x00abc\x00xyz\xff{|}`@[\n")
        got = exchange(c, data)
        self.assertEqual(got, upper(data))
        # Spot checks on the table itself, so a wrong `upper` cannot hide a wrong server.
        self.assertEqual(upper(b"az`{@[AZ\xe1\xff"), b"AZ`{@[AZ\xe1\xff")
        self.assertEqual(got[0x61:0x7B], b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        self.assertEqual(got[0x80:0x100], bytes(range(0x80, 0x100)))

    def test_reply_without_newline_arrives_with_connection_open(self):
        srv = self.server()
        c = self.tcp(srv.port)
        c.sendall(b"hello")
        self.assertEqual(recv_exact(c, 5), b"HELLO")
        # Still open and still served: the same connection answers again.
        self.assertEqual(exchange(c, b" world\n"), b" WORLD\n")

    def test_tutorial_client_1024_byte_nul_padded_buffer(self):
        srv = self.server()
        c = self.tcp(srv.port)
        buf = b"hello\n" + b"\0" * (1024 - 6)
        self.assertEqual(exchange(c, buf), b"HELLO\n" + b"\0" * 1018)
        buf2 = b"second message" + b"\0" * (1024 - 14)
        self.assertEqual(exchange(c, buf2), b"SECOND MESSAGE" + b"\0" * 1010)

    def test_half_close_gets_rest_of_reply_then_eof(self):
        srv = self.server()
        c = self.tcp(srv.port)
        data = os.urandom(200_000) + b"tail text\n"
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_to_eof(c), upper(data))

    def test_established_and_closed_lines(self):
        srv = self.server()
        c = self.tcp(srv.port)
        cport = c.getsockname()[1]
        est = srv.expect_state("ESTABLISHED", f"127.0.0.1:{cport}")
        self.assertEqual(est.split()[0], "tcp")
        self.assertEqual(est.split()[3], f"127.0.0.1:{srv.port}")
        self.assertEqual(exchange(c, b"hello world\n"), b"HELLO WORLD\n")
        c.close()
        closed = srv.expect_state("CLOSED", f"127.0.0.1:{cport}")
        self.assertEqual(closed.split()[3], f"127.0.0.1:{srv.port}")
        v = kv(closed)
        self.assertEqual((v.get("rx"), v.get("tx")), ("12", "12"), closed)
        self.assertIn("time", v, closed)

    def test_modes(self):
        data = b"Hello, World! \x00\xc3\xa9 abcXYZ\n"
        for mode, want in (("upper", upper(data)), ("echo", data),
                           ("lower", data.translate(bytes(b + 32 if 65 <= b <= 90 else b
                                                          for b in range(256))))):
            with self.subTest(mode=mode), Server("--mode", mode) as srv:
                with connect(srv.port) as c:
                    self.assertEqual(exchange(c, data, want), want)

    def test_mode_discard_returns_nothing(self):
        srv = self.server("--mode", "discard")
        c = self.tcp(srv.port)
        c.sendall(b"hello\n" * 1000)
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_to_eof(c), b"")

    def test_backlog_shown_in_listen_send_q(self):
        with Server() as srv:
            self.assertEqual(srv.listen_line.split()[2], "128", srv.listen_line)
        with Server("--backlog", "7") as srv:
            self.assertEqual(srv.listen_line.split()[2], "7", srv.listen_line)

    def test_reuseport_lets_two_servers_share_a_port(self):
        a = self.server("--reuseport")
        b = self.server("--reuseport", argv=["serve", "-b", "127.0.0.1", "-p", str(a.port), "--reuseport"])
        self.assertEqual(b.port, a.port)
        with connect(a.port) as c:
            self.assertEqual(exchange(c, b"shared\n"), b"SHARED\n")

    def test_client_reset_does_not_hurt_server(self):
        srv = self.server()
        c = self.tcp(srv.port)
        cport = c.getsockname()[1]
        c.sendall(b"hello\n" * 1000)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST
        srv.expect_state("CLOSED", f"127.0.0.1:{cport}")
        with connect(srv.port) as d:
            self.assertEqual(exchange(d, b"after reset\n"), b"AFTER RESET\n")
        self.assertIsNone(srv.proc.poll())

    def test_no_fd_leak_over_many_connections(self):
        srv = self.server()

        def fds_with_probe():
            # A round trip through the (single) event loop first: a CLOSED line may be printed
            # just before close(2), and the handler that printed it must have finished.
            with connect(srv.port) as probe:
                pport = probe.getsockname()[1]
                self.assertEqual(exchange(probe, b"probe\n"), b"PROBE\n")
                n = len(os.listdir(f"/proc/{srv.pid}/fd"))
            srv.expect_state("CLOSED", f"127.0.0.1:{pport}")
            return n

        before = fds_with_probe()
        for i in range(200):
            with connect(srv.port) as c:
                if i % 2:
                    self.assertEqual(exchange(c, b"x%d\n" % i), b"X%d\n" % i)
        for _ in range(200):
            srv.expect_state("CLOSED")
        self.assertEqual(fds_with_probe(), before, "file descriptors leaked")


class Concurrency(E2E):
    def test_100_concurrent_clients_byte_exact(self):
        srv = self.server()
        n = 100
        socks, payloads = [], []
        for i in range(n):
            s = self.tcp(srv.port)
            socks.append(s)
            payloads.append(f"client {i:03d} says hi\n".encode() + os.urandom(3000 + 37 * i) + b"end\n")
        ports = {s.getsockname()[1] for s in socks}
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        got = {}
        for i, s in enumerate(socks):
            s.sendall(payloads[i])
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
            got[i] = bytearray()
        want = {i: upper(p) for i, p in enumerate(payloads)}
        pending = set(range(n))
        deadline = time.monotonic() + 3 * T
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                i = key.data
                chunk = key.fileobj.recv(65536)
                self.assertNotEqual(chunk, b"", f"client {i} got EOF after {len(got[i])} bytes")
                got[i] += chunk
                if len(got[i]) >= len(want[i]):
                    sel.unregister(key.fileobj)
                    pending.discard(i)
        self.assertEqual(pending, set(), f"{len(pending)} clients did not get their full reply")
        for i in range(n):
            self.assertEqual(bytes(got[i]), want[i], f"client {i}")
        # One ESTABLISHED line per client, each with that client's address.
        want_lines = {f"127.0.0.1:{p}" for p in ports}
        while want_lines:
            f = srv.expect(lambda f: len(f) >= 6 and f[5] == "ESTABLISHED",
                           what=f"ESTABLISHED lines for {len(want_lines)} more clients").split()
            self.assertEqual(f[3], f"127.0.0.1:{srv.port}")
            want_lines.discard(f[4])

    def test_hog_that_does_not_read_does_not_delay_others_and_gets_every_byte(self):
        srv = self.server()
        hog = self.tcp(srv.port)
        data = (b"abcdefghijklmnopqrstuvwxyz0123456789\n" * 16) + os.urandom(8 * 1024 * 1024)
        view = memoryview(data)
        hog.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 3 * T
        while sent < len(data) and time.monotonic() < deadline:
            try:
                sent += hog.send(view[sent:sent + 262144])
            except BlockingIOError:
                sel = selectors.DefaultSelector()
                sel.register(hog, selectors.EVENT_WRITE)
                ready = sel.select(timeout=0.5)
                sel.close()
                if not ready:
                    break  # the server stopped reading from the hog: as it should
        # Another client is served at once while the hog is stuck.
        other = self.tcp(srv.port)
        t0 = time.monotonic()
        self.assertEqual(exchange(other, b"hello\n", timeout=T), b"HELLO\n")
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 2.0, f"other client waited {elapsed:.2f}s behind the hog")
        # Now the hog reads (and writes the rest): every byte comes back, in order.
        want = upper(data)
        got = bytearray()
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        sel.register(hog, selectors.EVENT_READ | (selectors.EVENT_WRITE if sent < len(data) else 0))
        shut = False
        if sent == len(data):
            hog.shutdown(socket.SHUT_WR)
            shut = True
        deadline = time.monotonic() + 6 * T
        while time.monotonic() < deadline:
            events = sel.select(timeout=1.0)
            done = False
            for _, mask in events:
                if mask & selectors.EVENT_WRITE:
                    try:
                        sent += hog.send(view[sent:sent + 262144])
                    except BlockingIOError:
                        pass
                    if sent == len(data) and not shut:
                        hog.shutdown(socket.SHUT_WR)
                        shut = True
                        sel.modify(hog, selectors.EVENT_READ)
                if mask & selectors.EVENT_READ:
                    try:
                        chunk = hog.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        done = True
                    got += chunk
            if done:
                break
        self.assertEqual(sent, len(data))
        self.assertEqual(len(got), len(want), "hog got a different number of bytes back")
        self.assertTrue(bytes(got) == want, "hog's reply differs from upper(data)")

    def test_memory_per_client_is_bounded(self):
        srv = self.server()
        # Warm up: the server allocates its per-client machinery once.
        with connect(srv.port) as w:
            self.assertEqual(exchange(w, b"warm up\n"), b"WARM UP\n")
        before = rss_kib(srv.pid)
        hog = self.tcp(srv.port)
        hog.setblocking(False)
        chunk = b"x" * 262144
        sent, cap = 0, 64 * 1024 * 1024
        stalled = False
        deadline = time.monotonic() + 3 * T
        while sent < cap and time.monotonic() < deadline:
            try:
                sent += hog.send(chunk)
            except BlockingIOError:
                sel = selectors.DefaultSelector()
                sel.register(hog, selectors.EVENT_WRITE)
                ready = sel.select(timeout=0.5)
                sel.close()
                if not ready:
                    stalled = True
                    break
        grown = rss_kib(srv.pid) - before
        # Kernel socket buffers absorb part of what was sent; the server's own memory must not.
        self.assertLess(grown, 16 * 1024, f"server RSS grew {grown} KiB for one client that never "
                        f"reads (sent {sent} bytes, stalled={stalled})")
        other = self.tcp(srv.port)
        self.assertEqual(exchange(other, b"still served\n"), b"STILL SERVED\n")


class ExitWord(E2E):
    # The last two are what the tutorial C clients send: a 1024-byte buffer, NUL-padded.
    VARIANTS = [b"exit", b"exit\n", b"exit\r\n", b"exit" + b"\0" * 1020, b"exit\n" + b"\0" * 1019]

    def test_exit_word_closes_only_that_client_and_is_not_echoed(self):
        srv = self.server()
        keeper = self.tcp(srv.port)
        self.assertEqual(exchange(keeper, b"first\n"), b"FIRST\n")
        for word in self.VARIANTS:
            with self.subTest(word=word[:8] + (b"...%d" % len(word) if len(word) > 8 else b"")):
                with connect(srv.port) as c:
                    self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
                    c.sendall(word)
                    self.assertEqual(recv_to_eof(c), b"", "exit word echoed or connection not closed")
                self.assertEqual(exchange(keeper, b"still here\n"), b"STILL HERE\n")

    def test_line_before_exit_word_is_answered(self):
        srv = self.server()
        c = self.tcp(srv.port)
        c.sendall(b"abc\nexit\n")
        self.assertEqual(recv_to_eof(c), b"ABC\n")

    def test_exit_inside_a_line_is_just_data(self):
        srv = self.server()
        c = self.tcp(srv.port)
        for data in (b"exit now\n", b"exits\n", b"EXIT\n", b"please exit\n", b" exit\n"):
            self.assertEqual(exchange(c, data), upper(data))

    def test_custom_exit_word(self):
        srv = self.server("--exit-word", "quit")
        c = self.tcp(srv.port)
        self.assertEqual(exchange(c, b"exit\n"), b"EXIT\n")
        c.sendall(b"quit\r\n")
        self.assertEqual(recv_to_eof(c), b"")

    def test_empty_exit_word_disables_it(self):
        srv = self.server("--exit-word", "")
        c = self.tcp(srv.port)
        self.assertEqual(exchange(c, b"exit\n"), b"EXIT\n")
        self.assertEqual(exchange(c, b"exit"), b"EXIT")

    def test_exit_word_does_not_stop_server(self):
        srv = self.server()
        with connect(srv.port) as c:
            c.sendall(b"exit\n")
            self.assertEqual(recv_to_eof(c), b"")
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"again\n"), b"AGAIN\n")
        self.assertIsNone(srv.proc.poll())

    def test_shutdown_word_stops_server_with_exit_0(self):
        srv = self.server("--shutdown-word", "stop")
        idle = self.tcp(srv.port)
        self.assertEqual(exchange(idle, b"idle\n"), b"IDLE\n")
        c = self.tcp(srv.port)
        self.assertEqual(exchange(c, b"stop it\n"), b"STOP IT\n")  # not the word: data
        c.sendall(b"stop\n")
        rc, rest = srv.wait_exit()
        self.assertEqual(rc, 0, f"stdout={srv.seen} stderr={srv.stderr()!r}")
        self.assertEqual(recv_to_eof(idle), b"")
        self.assertEqual(recv_to_eof(c), b"")


class Limits(E2E):
    def test_once_exits_0_after_one_client(self):
        srv = self.server("--once")
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        rc, _ = srv.wait_exit()
        self.assertEqual(rc, 0, f"stderr={srv.stderr()!r}")

    def test_max_clients_refuses_extra_client(self):
        srv = self.server("--max-clients", "1")
        a = self.tcp(srv.port)
        self.assertEqual(exchange(a, b"first\n"), b"FIRST\n")
        b = self.tcp(srv.port)
        bport = b.getsockname()[1]
        self.assertEqual(recv_to_eof(b), b"", "the extra client must see EOF")
        refused = srv.expect_state("REFUSED", f"127.0.0.1:{bport}")
        self.assertEqual(refused.split()[3], f"127.0.0.1:{srv.port}")
        self.assertEqual(exchange(a, b"still\n"), b"STILL\n")
        # Once the first leaves, there is room again.
        aport = a.getsockname()[1]
        a.close()
        srv.expect_state("CLOSED", f"127.0.0.1:{aport}")
        c = self.tcp(srv.port)
        self.assertEqual(exchange(c, b"third\n"), b"THIRD\n")
        rc, rest = srv.stop()
        self.assertEqual(rc, 0)
        summary = [l for l in rest if l.startswith("summary")]
        self.assertEqual(len(summary), 1, rest)
        self.assertEqual(kv(summary[0]).get("refused"), "1", summary[0])

    def test_idle_timeout_closes_silent_client_only(self):
        srv = self.server("--idle-timeout", "300ms")
        active = self.tcp(srv.port)
        silent = self.tcp(srv.port)
        t0 = time.monotonic()
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        sel.register(silent, selectors.EVENT_READ)
        closed_at = None
        n = 0
        while time.monotonic() - t0 < T:
            self.assertEqual(exchange(active, b"ping %d\n" % n), b"PING %d\n" % n)
            n += 1
            if sel.select(timeout=0.1):  # paces the active client: one message per 100 ms
                closed_at = time.monotonic() - t0
                break
        self.assertIsNotNone(closed_at, "silent client was not closed")
        self.assertEqual(recv_to_eof(silent), b"")
        self.assertGreaterEqual(closed_at, 0.25, "closed before the idle timeout")
        # The active one is still served after the silent one went.
        for _ in range(5):
            self.assertEqual(exchange(active, b"alive\n"), b"ALIVE\n")
            time.sleep(0.1)  # pacing (stays under the 300 ms idle timeout), not a wait for readiness

    def test_port_in_use_is_exit_1(self):
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            held.listen(1)
            port = held.getsockname()[1]
            rc, out, err = run_sockecho(["serve", "-b", "127.0.0.1", "-p", str(port)])
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)

    def test_second_server_on_same_port_is_exit_1(self):
        # Neither server asked for --reuseport, so neither may set SO_REUSEPORT.
        first = self.server()
        rc, out, err = run_sockecho(["serve", "-b", "127.0.0.1", "-p", str(first.port)])
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)
        with connect(first.port) as c:
            self.assertEqual(exchange(c, b"first\n"), b"FIRST\n")

    def test_port_in_use_by_bound_only_socket_is_exit_1(self):
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            port = held.getsockname()[1]
            rc, out, err = run_sockecho(["serve", "-b", "127.0.0.1", "-p", str(port)])
        self.assertEqual(rc, 1, f"stdout={out!r} stderr={err!r}")
        self.assertEqual(out, b"")
        one_error_line(self, err)


class Signals(E2E):
    def _signal_test(self, sig):
        srv = self.server()
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        held = self.tcp(srv.port)  # still connected when the signal comes
        self.assertEqual(exchange(held, b"abc"), b"ABC")
        rc, rest = srv.stop(sig)
        self.assertEqual(rc, 0, f"stderr={srv.stderr()!r}")
        self.assertEqual(recv_to_eof(held), b"", "client not closed on shutdown")
        self.assertTrue(rest and rest[-1].startswith("summary"), f"last line is not summary: {srv.seen}")
        v = kv(rest[-1])
        self.assertEqual(v.get("clients"), "2", rest[-1])
        self.assertEqual((v.get("rx"), v.get("tx")), ("9", "9"), rest[-1])
        self.assertEqual(v.get("refused"), "0", rest[-1])
        self.assertEqual(srv.stderr(), b"")

    def test_sigterm_prints_summary_and_exits_0(self):
        self._signal_test(signal.SIGTERM)

    def test_sigint_prints_summary_and_exits_0(self):
        self._signal_test(signal.SIGINT)

    def test_sigterm_right_after_listen(self):
        srv = self.server()
        rc, rest = srv.stop(signal.SIGTERM)
        self.assertEqual(rc, 0)
        self.assertEqual(len(rest), 1, rest)
        self.assertTrue(rest[0].startswith("summary"), rest)
        self.assertEqual(kv(rest[0]).get("clients"), "0")


class Output(E2E):
    def test_quiet_prints_nothing(self):
        srv = self.server("-q", ready="proc")
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        rc, rest = srv.stop()
        self.assertEqual(rc, 0)
        self.assertEqual(srv.seen, [], "-q printed on stdout")
        self.assertEqual(srv.stderr(), b"")

    def test_verbose_message_line(self):
        srv = self.server("-v")
        c = self.tcp(srv.port)
        cport = c.getsockname()[1]
        self.assertEqual(exchange(c, b"hello\r\n"), b"HELLO\r\n")
        line = srv.expect(lambda f: f[:1] == ["get"])
        self.assertEqual(line, f"get message from [127.0.0.1:{cport}]: hello -> HELLO")
        self.assertEqual(exchange(c, b"two words\n"), b"TWO WORDS\n")
        line = srv.expect(lambda f: f[:1] == ["get"])
        self.assertEqual(line, f"get message from [127.0.0.1:{cport}]: two words -> TWO WORDS")

    def test_verbose_tutorial_buffer_drops_nuls(self):
        srv = self.server("-v")
        c = self.tcp(srv.port)
        cport = c.getsockname()[1]
        self.assertEqual(exchange(c, b"hello\n" + b"\0" * 1018), b"HELLO\n" + b"\0" * 1018)
        line = srv.expect(lambda f: f[:1] == ["get"])
        self.assertEqual(line, f"get message from [127.0.0.1:{cport}]: hello -> HELLO")

    def test_json_lines_parse(self):
        srv = self.server("--json", "-v")
        obj = json.loads(srv.listen_line)
        self.assertEqual(obj["event"], "listen")
        self.assertEqual(obj["proto"], "tcp")
        self.assertEqual(obj["local"], f"127.0.0.1:{srv.port}")
        with connect(srv.port) as c:
            cport = c.getsockname()[1]
            self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        closed = srv.expect(lambda f: '"closed"' in " ".join(f))
        rc, rest = srv.stop()
        self.assertEqual(rc, 0)
        events = []
        for line in srv.seen:
            try:
                events.append(json.loads(line))
            except ValueError:
                self.fail(f"not a JSON line: {line!r}")
        kinds = [e.get("event") for e in events]
        for k in ("listen", "established", "message", "closed", "summary"):
            self.assertIn(k, kinds, srv.seen)
        for e in events:
            if e["event"] in ("listen", "established", "closed", "refused"):
                for key in ("proto", "local", "remote", "state", "recv_q", "send_q"):
                    self.assertIn(key, e, f"{e['event']} event lacks {key!r}")
                self.assertIsInstance(e["recv_q"], int)
                self.assertIsInstance(e["send_q"], int)
        self.assertEqual(events[0]["state"], "LISTEN")
        est = events[kinds.index("established")]
        self.assertEqual(est["remote"], f"127.0.0.1:{cport}")
        self.assertEqual(est["local"], f"127.0.0.1:{srv.port}")
        msg = events[kinds.index("message")]
        self.assertEqual(msg["data"].rstrip("\r\n"), "hello")
        self.assertEqual(msg["reply"].rstrip("\r\n"), "HELLO")
        cl = json.loads(closed)
        self.assertEqual((cl["rx"], cl["tx"]), (6, 6))
        self.assertEqual(kinds[-1], "summary")
        self.assertEqual(events[-1]["clients"], 1)

    def test_verbose_shows_control_bytes_as_hex(self):
        srv = self.server("-v")
        c = self.tcp(srv.port)
        cport = c.getsockname()[1]
        self.assertEqual(exchange(c, b"a\x01b\tc\n"), b"A\x01B\tC\n")
        line = srv.expect(lambda f: f[:1] == ["get"])
        self.assertEqual(line, f"get message from [127.0.0.1:{cport}]: a\\x01b\\x09c -> A\\x01B\\x09C")

    def test_quiet_json_prints_nothing(self):
        srv = self.server("-q", "--json", ready="proc")
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        rc, rest = srv.stop()
        self.assertEqual(rc, 0)
        self.assertEqual(srv.seen, [])


class Stdin(E2E):
    def test_stdin_devnull(self):
        srv = self.server()  # the harness always gives /dev/null
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        self.assertEqual(srv.stop()[0], 0)

    def test_stdin_closed(self):
        srv = self.server(closed_stdin=True)
        socks = [self.tcp(srv.port) for _ in range(3)]
        for i, c in enumerate(socks):
            self.assertEqual(exchange(c, b"hello %d\n" % i), b"HELLO %d\n" % i)
        for c in socks:
            c.close()
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"after\n"), b"AFTER\n")
        rc, rest = srv.stop()
        self.assertEqual(rc, 0, srv.stderr())
        self.assertTrue(rest[-1].startswith("summary"), rest)

    def test_never_reads_its_stdin(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        os.write(w, b"exit\nstdin data\n")
        os.close(w)
        srv = self.server(stdin=r)  # the test keeps the read end to see what is left
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        self.assertEqual(srv.stop()[0], 0)
        os.set_blocking(r, False)
        self.assertEqual(os.read(r, 100), b"exit\nstdin data\n", "the server read its stdin")


if __name__ == "__main__":
    unittest.main()
