"""Hardening (issue 7): faults and hostile peers against the real binary over loopback.

Hogs that never read, connect/RST storms, fd exhaustion, slowloris, resets with replies queued,
half-closes, UDP floods and oversize datagrams, SIGTERM under load, SIGPIPE, a client killed
mid-transfer, and 100 fixed-seed malformed command lines. Every transfer is checked by sha256
("nothing lost"); every process is killed by PID and reaped, also when a test fails.
"""

import collections
import hashlib
import os
import random
import selectors
import signal
import socket
import statistics
import struct
import subprocess
import threading
import time
import unittest

from harness import (E2E, tcp_queues, MiB, SOCKECHO, T, Server, Stream, _kill_and_reap, connect, fd_count,
                     first_difference, ipv6_available, kv, no_pending_connection,
                     no_pending_datagram, one_error_line, payload, pump, recv_exact,
                     require_binary, require_tool, rss_kib, run_timed, upper)


def setUpModule():
    require_binary()


CLK_TCK = os.sysconf("SC_CLK_TCK")
RNG_SEED = 7  # issue 7; every random payload and command line below comes from this seed


def cpu_seconds(pid) -> float:
    """utime + stime of pid, from /proc/PID/stat (fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm_hwm_kib(pid) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def rst_close(sock):
    """close(2) with SO_LINGER {1, 0}: the peer sees a RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Faults(E2E):
    def setUp(self):
        self.rng = random.Random(f"{RNG_SEED}:{self.id()}")

    # ------------------------------------------------------------------ helpers
    def round_trip(self, sock, n=64, tag=b"") -> float:
        """One checked request/reply on sock; its seconds."""
        data = tag + payload(self.rng, n) + b"\n"
        t0 = time.monotonic()
        sock.sendall(data)
        got = recv_exact(sock, len(data))
        dt = time.monotonic() - t0
        self.assertSameBytes(got, upper(data), "round trip")
        return dt

    def assertServes(self, srv, what="a fresh client"):
        self.assertIsNone(srv.proc.poll(), f"server died {srv._diag()}")
        with connect(srv.port) as c:
            self.round_trip(c, 4096, b"fresh ")
        self.assertIsNone(srv.proc.poll(), f"server died {srv._diag()}")

    def fds_settled(self, srv):
        """The server's fd count with one probe client connected, read right after a round
        trip through its (single) event loop; the probe's lines are consumed."""
        with connect(srv.port) as probe:
            pport = probe.getsockname()[1]
            self.round_trip(probe, 16, b"probe ")
            n = fd_count(srv.pid)
        srv.expect_state("CLOSED", f"127.0.0.1:{pport}")
        return n

    def wait_fds(self, srv, want, timeout=T):
        """Until fds_settled() is back to want (closing is asynchronous: there is no event)."""
        deadline = time.monotonic() + timeout
        while True:
            n = self.fds_settled(srv)
            if n == want:
                return n
            if time.monotonic() > deadline:
                fds = sorted(os.readlink(f"/proc/{srv.pid}/fd/{fd}")
                             for fd in os.listdir(f"/proc/{srv.pid}/fd"))
                self.fail(f"server holds {n} fds, {want} before: leaked? {fds}")
            time.sleep(0.05)  # polling /proc: there is no event to wait on

    def spawn(self, argv, **kw):
        """Popen killed by PID and reaped on cleanup."""
        proc = subprocess.Popen(argv, **kw)

        def reap():
            _kill_and_reap(proc)
            for p in (proc.stdin, proc.stdout, proc.stderr):
                if p is not None:
                    try:
                        p.close()
                    except OSError:
                        pass
        self.addCleanup(reap)
        return proc

    # ------------------------------------------------------------------ hog
    def test_hog_writing_8mib_without_reading(self):
        srv = self.server()
        other = self.tcp(srv.port)
        for _ in range(3):  # warm up: per-client machinery and buffer pools allocated once
            self.round_trip(other, 4096)
        rss_before = rss_kib(srv.pid)
        hwm_before = vm_hwm_kib(srv.pid)

        hog = socket.socket()
        self.addCleanup(hog.close)
        # A small receive buffer, so that the kernel cannot soak up the replies the hog leaves
        # unread: the server itself must hold them back and stop reading from the hog.
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        hog.settimeout(T)
        hog.connect(("127.0.0.1", srv.port))
        data = payload(self.rng, 8 * MiB)
        view = memoryview(data)
        hog.setblocking(False)
        st = {"sent": 0, "stalled": False, "error": None}
        under_load = threading.Event()

        def hog_writer():
            sel = selectors.DefaultSelector()
            sel.register(hog, selectors.EVENT_WRITE)
            try:
                while st["sent"] < len(data):
                    try:
                        st["sent"] += hog.send(view[st["sent"]:st["sent"] + 262144])
                    except BlockingIOError:
                        if not sel.select(timeout=1.0):
                            st["stalled"] = True  # the server stopped reading us: backpressure
                            break
                    except OSError as e:
                        st["error"] = e
                        break
                    if st["sent"] >= MiB:
                        under_load.set()
            finally:
                under_load.set()
                sel.close()

        writer = threading.Thread(target=hog_writer, daemon=True)
        writer.start()
        self.addCleanup(writer.join, T)
        self.assertTrue(under_load.wait(T), "the hog could not even send 1 MiB")

        # 20 round trips from another client while the hog writes and never reads.
        lat, rss_samples = [], []
        for i in range(20):
            lat.append(self.round_trip(other, 256, b"rt%02d " % i))
            rss_samples.append(rss_kib(srv.pid))
        writer.join(3 * T)
        self.assertFalse(writer.is_alive(), "hog writer stuck")
        self.assertIsNone(st["error"], f"hog's send failed: {st['error']!r}")
        rss_samples.append(rss_kib(srv.pid))
        # One more round trip once the hog is surely stuck (or done).
        lat.append(self.round_trip(other, 256, b"after "))
        rss_samples.append(rss_kib(srv.pid))
        grown = max(rss_samples) - rss_before
        hwm_grown = vm_hwm_kib(srv.pid) - hwm_before
        # What the server holds in its own buffers: all the hog sent, minus what the kernel
        # holds in the four socket queues (the hog has read nothing). Read until two readings
        # agree. A byte received but not yet acked counts in two queues, so this can only come
        # out too low (even negative), never too high: the check never fails falsely.
        hport = hog.getsockname()[1]
        prev, held = None, None
        for _ in range(50):
            q = tcp_queues(hport, srv.port) + tcp_queues(srv.port, hport)
            if q == prev:
                held = st["sent"] - sum(q)
                break
            prev = q
            time.sleep(0.02)  # polling /proc: there is no event to wait on
        self.assertIsNotNone(held, "the hog's socket queues never settled")

        med, worst = statistics.median(lat), max(lat)
        self.__class__.numbers["hog"] = (
            f"hog sent {st['sent']} of {len(data)} bytes before stalling={st['stalled']}; "
            f"other client's 21 round trips: median {med * 1000:.2f} ms, max {worst * 1000:.2f} ms; "
            f"RSS {rss_before} KiB -> max {max(rss_samples)} KiB (+{grown} KiB), VmHWM +{hwm_grown} KiB; "
            f"kernel queues (hog tx/rx, server tx/rx) {prev}, so the server itself holds {held} bytes")
        # ctest -j2 on a 2-core machine runs another test file beside this one, so a single
        # round trip may wait for a CPU: the bound is on the median (100 ms as the issue
        # states), with max < 1 s as the "never stuck behind the hog" bound.
        self.assertLess(med, 0.100, self.numbers["hog"])
        self.assertLess(worst, 1.0, self.numbers["hog"])
        # Kernel socket buffers hold most of what the hog sent; the server itself holds at
        # most one read's worth (<= 1 MiB by the contract).
        self.assertLess(grown, 8 * 1024, self.numbers["hog"])
        self.assertLess(hwm_grown, 8 * 1024, self.numbers["hog"])
        self.assertLessEqual(held, MiB, "more than 1 MiB buffered for one client: " + self.numbers["hog"])

        # Now the hog reads (and sends the rest): every byte comes back, in order.
        s = Stream(hog, data, sent=st["sent"], name="hog")
        pump([s], timeout=6 * T)
        self.assertIsNone(s.error, f"hog: {s.error!r}")
        self.assertTrue(s.eof, f"hog got no EOF after {len(s.got)} bytes")
        self.assertEqual(s.sent, len(data))
        self.assertSameBytes(s.got, upper(data), "hog's 8 MiB reply")
        self.assertServes(srv)

    # ------------------------------------------------------------------ RST storm
    def test_500_connect_rst_cycles(self):
        srv = self.server()
        baseline = self.fds_settled(srv)
        big = payload(self.rng, 256 * 1024)
        kinds = {"rst-at-once": 0, "rst-after-send": 0, "rst-idle": 0, "rst-mid-reply": 0}
        for i in range(500):
            c = connect(srv.port)
            try:
                kind = i % 4
                if kind == 0:
                    kinds["rst-at-once"] += 1
                elif kind == 1:
                    c.sendall(b"unanswered %d " % i + payload(self.rng, 1000))
                    kinds["rst-after-send"] += 1
                elif kind == 2:
                    self.round_trip(c, 100, b"c%d " % i)
                    kinds["rst-idle"] += 1
                else:
                    c.sendall(big)  # fits the loopback buffers
                    head = recv_exact(c, 4096)  # the reply is flowing: reset in the middle of it
                    self.assertSameBytes(head, upper(big[:4096]), f"cycle {i}: start of reply")
                    kinds["rst-mid-reply"] += 1
            finally:
                rst_close(c)
        self.assertIsNone(srv.proc.poll(), f"server died {srv._diag()}")
        self.assertServes(srv)
        after = self.wait_fds(srv, baseline)
        rc, rest = srv.stop()
        self.assertEqual(rc, 0, srv._diag())
        summary = [l for l in rest if l.startswith("summary")]
        self.assertEqual(len(summary), 1, rest[-5:])
        self.__class__.numbers["rst"] = (f"500 RST cycles {kinds}: fds {baseline} -> {after}; "
                                         f"{summary[0]}")
        # Every connection the kernel completed is accepted, even one reset before accept().
        self.assertGreaterEqual(int(kv(summary[0])["clients"]), 500, summary[0])

    # ------------------------------------------------------------------ fd exhaustion
    def test_fd_exhaustion_under_prlimit(self):
        require_tool(self, "prlimit")
        if os.environ.get("SOCKECHO_SANITIZED") == "1":
            # UBSan's vptr check probes memory through pipe(2); with every fd taken it cannot,
            # and reports a false "invalid vptr". The plain build runs this test.
            self.skipTest("sanitizer runtime needs fds of its own")
        srv = Server()
        srv.argv = ["prlimit", "--nofile=64:64", "--", SOCKECHO, "serve", "-b", "127.0.0.1", "-p", "0"]
        self.addCleanup(srv.close)
        srv.start()
        with open(f"/proc/{srv.pid}/limits") as f:  # prlimit execs the server in place
            lim = [l for l in f if l.startswith("Max open files")][0].split()
        self.assertEqual(lim[3:5], ["64", "64"], lim)

        def open_clients(n, tag):
            socks = []
            for i in range(n):
                c = self.tcp(srv.port)  # backlog 128: the handshake completes either way
                msg = b"%s %03d " % (tag, i) + payload(self.rng, 100) + b"\n"
                try:
                    c.sendall(msg)
                except OSError:
                    pass  # already shed by the server
                socks.append((c, msg))
            return socks

        def classify(socks, timeout):
            """served (full reply), shed (EOF/RST), waiting (nothing yet) per client."""
            sel = selectors.DefaultSelector()
            got = {}
            for c, msg in socks:
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, (c, msg))
                got[c] = bytearray()
            result = {}
            deadline = time.monotonic() + timeout
            try:
                while sel.get_map() and time.monotonic() < deadline:
                    for key, _ in sel.select(timeout=max(0.0, min(0.2, deadline - time.monotonic()))):
                        c, msg = key.data
                        try:
                            chunk = c.recv(65536)
                        except BlockingIOError:
                            continue
                        except ConnectionResetError:
                            chunk = b""
                        if chunk:
                            got[c] += chunk
                            if len(got[c]) < len(msg):
                                continue
                            self.assertSameBytes(got[c], upper(msg), "reply at the fd limit")
                            result[c] = "served"
                        else:
                            self.assertEqual(bytes(got[c]), b"", "a partial reply, then EOF")
                            result[c] = "shed"
                        sel.unregister(c)
            finally:
                sel.close()
            for c, _ in socks:
                result.setdefault(c, "waiting")
                c.setblocking(True)
            return result

        clients = open_clients(100, b"first")
        res = classify(clients, timeout=3.0)
        counts = {k: sum(1 for v in res.values() if v == k) for k in ("served", "shed", "waiting")}
        self.assertGreater(counts["served"], 30, counts)
        self.assertLess(counts["served"], 64, counts)
        self.assertIsNone(srv.proc.poll(), f"server died at the fd limit {srv._diag()}")

        # Hold the served ones (the server is at its limit) while 20 more knock, and watch its
        # CPU time for 2 s: a level-triggered listener it cannot accept from must not spin.
        cpu0, t0 = cpu_seconds(srv.pid), time.monotonic()
        extra = open_clients(20, b"extra")
        time.sleep(2.0)  # the measurement window itself
        cpu = cpu_seconds(srv.pid) - cpu0
        window = time.monotonic() - t0
        res_extra = classify(extra, timeout=0.5)
        counts_extra = {k: sum(1 for v in res_extra.values() if v == k)
                        for k in ("served", "shed", "waiting")}
        self.__class__.numbers["fd"] = (f"nofile=64: first 100 clients {counts}, 20 more at the "
                                        f"limit {counts_extra}; server CPU {cpu:.2f} s over "
                                        f"{window:.2f} s")
        self.assertIsNone(srv.proc.poll(), f"server died at the fd limit {srv._diag()}")
        self.assertLess(cpu, 0.5, self.numbers["fd"])
        self.assertEqual(counts_extra["served"], 0, "served beyond the fd limit? " + self.numbers["fd"])

        # The ones it serves are still served at the limit.
        served = [c for c, _ in clients if res[c] == "served"]
        for i, c in enumerate(served):
            self.round_trip(c, 200, b"again%d " % i)
        served_ports = {f"127.0.0.1:{c.getsockname()[1]}" for c in served}
        for c, _ in clients + extra:
            c.close()
        # Wait (on the server's own CLOSED lines) until it let go of every served client.
        while served_ports:
            f = srv.expect_state("CLOSED").split()
            served_ports.discard(f[4])
        self.assertServes(srv, "a new client after the clients left")

    # ------------------------------------------------------------------ slowloris
    def test_slowloris_silent_clients_closed_active_served(self):
        srv = self.server("--idle-timeout", "500ms")
        active = self.tcp(srv.port)
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        opened = {}
        for i in range(50):
            s = self.tcp(srv.port)
            opened[s] = time.monotonic()
            sel.register(s, selectors.EVENT_READ)
        closed_after = {}
        lat = []
        t0 = time.monotonic()
        next_tick = t0
        while len(closed_after) < 50 and time.monotonic() - t0 < T:
            now = time.monotonic()
            if now >= next_tick:
                # The active client talks every 100 ms (well under the idle timeout).
                lat.append(self.round_trip(active, 128, b"active "))
                next_tick = now + 0.1
            for key, _ in sel.select(timeout=max(0.0, next_tick - time.monotonic())):
                s = key.fileobj
                try:
                    data = s.recv(1024)
                except ConnectionResetError:
                    self.fail("a silent client was reset, not closed with a FIN")
                self.assertEqual(data, b"", "a silent client got data")
                closed_after[s] = time.monotonic() - opened[s]
                sel.unregister(s)
        self.__class__.numbers["slowloris"] = (
            f"{len(closed_after)}/50 silent clients closed after "
            f"{min(closed_after.values(), default=0):.3f}..{max(closed_after.values(), default=0):.3f} s "
            f"(idle timeout 0.5 s); active client's {len(lat)} round trips max "
            f"{max(lat) * 1000:.1f} ms")
        self.assertEqual(len(closed_after), 50, self.numbers["slowloris"])
        self.assertGreaterEqual(min(closed_after.values()), 0.45, self.numbers["slowloris"])
        self.assertLess(max(closed_after.values()), 2.5, self.numbers["slowloris"])
        self.assertLess(max(lat), 1.0, self.numbers["slowloris"])
        for _ in range(3):
            self.round_trip(active, 128, b"still ")
        self.assertServes(srv)

    # ------------------------------------------------------------------ resets, half-closes
    def test_resets_with_queued_replies_while_another_client_streams(self):
        srv = self.server()
        baseline = self.fds_settled(srv)
        streamer_data = payload(self.rng, 4 * MiB)
        streamer = Stream(self.tcp(srv.port), streamer_data, name="streamer")
        result = {}
        th = threading.Thread(target=lambda: result.setdefault("t", pump([streamer], 6 * T)),
                              daemon=True)
        hostile = []
        for i in range(10):
            h = socket.socket()
            self.addCleanup(h.close)
            h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # replies back up fast
            h.settimeout(T)
            h.connect(("127.0.0.1", srv.port))
            hostile.append(h)
        th.start()
        self.addCleanup(th.join, T)
        queued = []
        for i, h in enumerate(hostile):
            data = payload(self.rng, 1 * MiB)
            head = upper(data[:1024])
            h.setblocking(False)
            sent = 0
            while sent < len(data):
                try:
                    sent += h.send(data[sent:sent + 65536])
                except BlockingIOError:
                    break  # our send buffer is full: the server holds replies we do not read
            h.setblocking(True)
            self.assertSameBytes(recv_exact(h, 1024), head, f"hostile {i}: start of reply")
            queued.append(sent)
        for h in hostile:
            rst_close(h)
        th.join(6 * T)
        self.assertFalse(th.is_alive(), "streamer stuck")
        self.assertIsNone(streamer.error, repr(streamer.error))
        self.assertTrue(streamer.eof)
        self.assertSameBytes(streamer.got, upper(streamer_data), "streamer's 4 MiB")
        self.assertServes(srv)
        self.wait_fds(srv, baseline)
        self.__class__.numbers["resets"] = (f"10 clients reset with replies queued after sending "
                                            f"{min(queued)}..{max(queued)} bytes; streamer 4 MiB in "
                                            f"{result['t']:.2f} s")

    def test_peer_closes_while_reply_is_queued(self):
        srv = self.server()
        baseline = self.fds_settled(srv)
        for how in ("close", "shutdown-rdwr-then-close", "rst"):
            with self.subTest(how=how):
                c = socket.socket()
                self.addCleanup(c.close)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                c.settimeout(T)
                c.connect(("127.0.0.1", srv.port))
                cport = c.getsockname()[1]
                srv.expect_state("ESTABLISHED", f"127.0.0.1:{cport}")
                data = payload(self.rng, 2 * MiB)
                c.setblocking(False)
                sent = 0
                while sent < len(data):
                    try:
                        sent += c.send(data[sent:sent + 65536])
                    except BlockingIOError:
                        break
                c.setblocking(True)
                self.assertSameBytes(recv_exact(c, 100), upper(data[:100]), "start of reply")
                if how == "shutdown-rdwr-then-close":
                    c.shutdown(socket.SHUT_RDWR)
                    c.close()
                elif how == "rst":
                    rst_close(c)
                else:
                    c.close()  # unread replies in our buffer: the kernel sends a RST
                # The server notices (it must not keep a connection it can never flush).
                closed = srv.expect_state("CLOSED", f"127.0.0.1:{cport}")
                self.assertIn("rx=", closed)
                self.assertServes(srv)
        self.wait_fds(srv, baseline)

    def test_half_closed_clients_get_their_full_reply(self):
        srv = self.server()
        streams = []
        for i in range(10):
            c = socket.socket()
            self.addCleanup(c.close)
            if i % 2:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # replies queue up
            c.settimeout(T)
            c.connect(("127.0.0.1", srv.port))
            size = [0, 1, 5, 4096, 65536, 65537, 300_000, MiB, MiB + 7, 2 * MiB][i]
            streams.append(Stream(c, payload(self.rng, size), hold_reads=True, name=f"c{i}"))
        took = pump(streams, timeout=6 * T)
        for s in streams:
            self.assertIsNone(s.error, f"{s.name}: {s.error!r}")
            self.assertTrue(s.eof, f"{s.name}: no EOF after {len(s.got)} bytes")
            self.assertSameBytes(s.got, upper(s.data), f"{s.name} ({len(s.data)} bytes, half-closed)")
        n_before = sum(1 for s in streams if s.shut_before_reading)
        self.__class__.numbers["halfclose"] = (f"10 half-closed clients (0..2 MiB) all complete in "
                                               f"{took:.2f} s; {n_before} half-closed before reading")
        self.assertGreaterEqual(n_before, 5, self.numbers["halfclose"])

    # ------------------------------------------------------------------ UDP
    def test_udp_flood_then_fresh_datagram(self):
        srv = self.server(udp=True)
        flooders = []
        for _ in range(4):
            u = self.udp()
            u.setblocking(False)
            flooders.append(u)
        msgs = [b"flood %05d " % i + payload(self.rng, 16 + (i * 37) % 480) for i in range(20_000)]
        dropped_locally = 0
        t0 = time.monotonic()
        for i, m in enumerate(msgs):
            try:
                flooders[i % 4].sendto(m, ("127.0.0.1", srv.port))
            except BlockingIOError:
                dropped_locally += 1
        flood_s = time.monotonic() - t0
        self.assertIsNone(srv.proc.poll(), f"server died under the flood {srv._diag()}")
        # A fresh datagram queues behind the flood: its reply means the flood was handled.
        fresh = self.udp()
        data = b"fresh " + payload(self.rng, 1000)
        reply = None
        attempts = 0
        deadline = time.monotonic() + T
        while reply is None and time.monotonic() < deadline:
            # The kernel drops datagrams while the server's receive queue is full of flood:
            # that loss is UDP's, so the fresh datagram is retried every 0.5 s.
            fresh.sendto(data, ("127.0.0.1", srv.port))
            attempts += 1
            fresh.settimeout(0.5)
            try:
                reply, addr = fresh.recvfrom(65536)
            except socket.timeout:
                continue
        self.assertIsNotNone(reply, f"no reply to a fresh datagram after the flood {srv._diag()}")
        self.assertEqual(addr[1], srv.port)
        self.assertSameBytes(reply, upper(data), "fresh datagram after the flood")
        # Whatever the flooders got back (their buffers overflow: the rest is dropped) is the
        # right reply to one of their own datagrams, whole.
        replies = 0
        for k, u in enumerate(flooders):
            while True:
                try:
                    r = u.recv(65536)
                except BlockingIOError:
                    break
                i = int(r[6:11])
                self.assertEqual(i % 4, k, "a reply went to the wrong socket")
                self.assertSameBytes(r, upper(msgs[i]), f"reply to flood datagram {i}")
                replies += 1
        rc, rest = srv.stop()
        self.assertEqual(rc, 0, srv._diag())
        summary = [l for l in rest if l.startswith("summary")]
        self.assertEqual(len(summary), 1, rest)
        self.__class__.numbers["udpflood"] = (
            f"20000 datagrams from 4 sockets in {flood_s:.2f} s ({dropped_locally} EAGAIN); "
            f"fresh datagram answered on attempt {attempts}; "
            f"{replies} replies read back; {summary[0]}")
        self.assertGreater(replies, 0, self.numbers["udpflood"])

    def test_udp_oversize_datagram_gets_full_size_reply(self):
        cases = [("127.0.0.1", 65507)]
        if ipv6_available():
            cases.append(("::1", 65527))  # IPv6's payload length leaves 65535 - 8 for UDP data
        for host, size in cases:
            with self.subTest(host=host, size=size):
                with Server(udp=True, host=host) as srv:
                    u = self.udp(host)
                    data = payload(self.rng, size)
                    u.sendto(data, (host, srv.port))
                    reply = u.recv(65536 + 1024)
                    self.assertSameBytes(reply, upper(data), f"{size}-byte datagram over {host}")
                    small = b"small after big"
                    u.sendto(small, (host, srv.port))
                    self.assertEqual(u.recv(65536), upper(small))
                    self.assertIsNone(srv.proc.poll())

    # ------------------------------------------------------------------ signals
    def test_sigterm_during_heavy_load(self):
        srv = self.server()
        block = payload(self.rng, MiB)
        ublock = upper(block)
        n = 20
        clients = []
        for i in range(n):
            c = self.tcp(srv.port)
            c.setblocking(False)
            clients.append({"sock": c, "off": (i * 65537) % len(block), "sent": 0, "rcvd": 0,
                            "h_got": hashlib.sha256(), "h_want": hashlib.sha256(),
                            "end": None, "mismatch": None})
        loaded = threading.Event()
        stop = threading.Event()

        def expected(cl, start, n_bytes):
            out = bytearray()
            pos = (cl["off"] + start) % len(block)
            while len(out) < n_bytes:
                take = min(n_bytes - len(out), len(block) - pos)
                out += ublock[pos:pos + take]
                pos = 0
            return bytes(out)

        def load():
            sel = selectors.DefaultSelector()
            try:
                for cl in clients:
                    sel.register(cl["sock"], selectors.EVENT_READ | selectors.EVENT_WRITE, cl)
                live = n
                deadline = time.monotonic() + 6 * T
                while live and not stop.is_set() and time.monotonic() < deadline:
                    for key, ev in sel.select(timeout=0.2):
                        cl = key.data
                        s = cl["sock"]
                        if ev & selectors.EVENT_WRITE:
                            pos = (cl["off"] + cl["sent"]) % len(block)
                            try:
                                cl["sent"] += s.send(block[pos:pos + 65536])
                            except BlockingIOError:
                                pass
                            except OSError as e:
                                cl["end"] = f"send: {e!r}"
                        if ev & selectors.EVENT_READ and cl["end"] is None:
                            try:
                                chunk = s.recv(1 << 18)
                            except BlockingIOError:
                                chunk = None
                            except OSError as e:
                                cl["end"] = f"recv: {e!r}"
                                chunk = None
                            if chunk == b"":
                                cl["end"] = "eof"
                            elif chunk:
                                want = expected(cl, cl["rcvd"], len(chunk))
                                if chunk != want and cl["mismatch"] is None:
                                    cl["mismatch"] = cl["rcvd"] + first_difference(chunk, want)
                                cl["h_got"].update(chunk)
                                cl["h_want"].update(want)
                                cl["rcvd"] += len(chunk)
                                if all(x["rcvd"] >= 256 * 1024 for x in clients):
                                    loaded.set()
                        if cl["end"] is not None:
                            sel.unregister(s)
                            s.close()  # a client that saw the end closes, as nc does
                            live -= 1
            finally:
                sel.close()
                loaded.set()

        th = threading.Thread(target=load, daemon=True)
        th.start()
        self.addCleanup(th.join, T)
        self.addCleanup(stop.set)
        self.assertTrue(loaded.wait(3 * T), "20 clients could not get streaming")
        self.assertIsNone(srv.proc.poll())
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        rc, rest = srv.wait_exit(timeout=3 * T)
        took = time.monotonic() - t0
        th.join(3 * T)
        self.assertFalse(th.is_alive(), "load thread stuck")
        summary = [l for l in rest if l.startswith("summary")]
        ends = collections.Counter(str(cl["end"]).split("(")[0] for cl in clients)
        total = sum(cl["rcvd"] for cl in clients)
        self.__class__.numbers["sigterm"] = (f"SIGTERM with 20 clients streaming ({total} bytes "
                                             f"echoed): exit {rc} after {took:.2f} s; client ends "
                                             f"{ends}; {summary[-1] if summary else 'no summary'}")
        self.assertEqual(rc, 0, srv._diag())
        self.assertLess(took, 5.0, self.numbers["sigterm"])
        self.assertTrue(rest and rest[-1].startswith("summary"), f"last line: {rest[-3:]}")
        self.assertEqual(kv(summary[-1]).get("clients"), str(n), summary[-1])
        for i, cl in enumerate(clients):
            self.assertIsNone(cl["mismatch"], f"client {i}: reply corrupt at byte {cl['mismatch']}")
            self.assertEqual(cl["h_got"].hexdigest(), cl["h_want"].hexdigest(), f"client {i}")
            self.assertEqual(cl["end"], "eof", f"client {i} (after {cl['rcvd']} bytes): "
                             "in-flight replies must be finished, then a FIN")
        # Nothing the server sent was lost: the clients read every byte of its tx count.
        self.assertEqual(int(kv(summary[-1])["tx"]), total, summary[-1])

    def test_send_to_closed_stdout_pipe_is_not_killed_by_sigpipe(self):
        srv = self.server()
        for label, words, stdin_data in (("words", ["hello", "world"], None),
                                         ("4 MiB stdin", [], payload(self.rng, 4 * MiB))):
            with self.subTest(label):
                r, w = os.pipe()
                os.close(r)  # nobody will ever read what send prints
                try:
                    proc = self.spawn([SOCKECHO, "send", "-w", "5s", f"127.0.0.1:{srv.port}"] + words,
                                      stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL,
                                      stdout=w, stderr=subprocess.PIPE)
                finally:
                    os.close(w)
                try:
                    _, err = proc.communicate(input=stdin_data, timeout=T)
                except BrokenPipeError:
                    _, err = proc.communicate(timeout=T)  # send stopped reading its stdin: fine
                rc = proc.returncode
                self.assertGreaterEqual(rc, 0, f"send died by signal {-rc}; stderr={err!r}")
                # SPEC, Everywhere: no message, and 141 as a shell reports SIGPIPE, without
                # dying by it (SIGPIPE stays ignored: a peer that goes away is a value).
                self.assertEqual((rc, err), (141, b""))
                self.assertServes(srv, "a fresh client after the client vanished")

    def test_send_sigkilled_mid_transfer_leaves_server_healthy(self):
        srv = self.server()
        baseline = self.fds_settled(srv)
        data = payload(self.rng, 16 * MiB)
        proc = self.spawn([SOCKECHO, "send", "-w", "5s", f"127.0.0.1:{srv.port}"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def feed():
            try:
                for off in range(0, len(data), 65536):
                    proc.stdin.write(data[off:off + 65536])
                proc.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        self.addCleanup(feeder.join, T)
        est = srv.expect_state("ESTABLISHED")
        peer = est.split()[4]
        got = bytearray()
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + T
        while len(got) < 512 * 1024 and time.monotonic() < deadline:  # the transfer is going
            sel = selectors.DefaultSelector()
            sel.register(fd, selectors.EVENT_READ)
            ready = sel.select(timeout=max(0.0, deadline - time.monotonic()))
            sel.close()
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                got += chunk
        self.assertGreaterEqual(len(got), 512 * 1024, f"send relayed only {len(got)} bytes")
        self.assertIsNone(proc.poll(), "send finished before it could be killed")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=T)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        feeder.join(T)
        self.assertSameBytes(got, upper(data[:len(got)]), "what send relayed before it was killed")
        closed = srv.expect_state("CLOSED", peer)
        self.assertServes(srv)
        self.wait_fds(srv, baseline)
        self.__class__.numbers["sigkill"] = (f"send SIGKILLed after relaying {len(got)} bytes; "
                                             f"server: {' '.join(closed.split()[6:])}")

    # ------------------------------------------------------------------ malformed command lines
    def test_100_random_malformed_command_lines(self):
        # Traps the lines point at: they must never see a connection or a datagram. On ::1
        # where there is one (as test_usage does), else 127.0.0.1.
        host = "::1" if ipv6_available() else "127.0.0.1"
        fam = socket.AF_INET6 if host == "::1" else socket.AF_INET
        trap = socket.socket(fam, socket.SOCK_STREAM)
        self.addCleanup(trap.close)
        trap.bind((host, 0))
        trap.listen(64)
        utrap = socket.socket(fam, socket.SOCK_DGRAM)
        self.addCleanup(utrap.close)
        utrap.bind((host, 0))
        lines = malformed_lines(random.Random(RNG_SEED), 100, host, trap.getsockname()[1],
                                utrap.getsockname()[1])
        self.assertEqual(len(lines), 100)
        for i, (argv, defects) in enumerate(lines):
            with self.subTest(i=i, argv=argv, defects=defects):
                rc, out, err, took = run_timed([SOCKECHO] + argv, timeout=5.0)
                self.assertGreaterEqual(rc, 0, f"died by signal {-rc}; stderr={err!r}")
                self.assertUsageError(rc, out, err)
                self.assertTrue(err.startswith(b"sockecho: "), err)
                self.assertTrue(no_pending_connection(trap), f"{argv} connected to the trap")
                self.assertTrue(no_pending_datagram(utrap), f"{argv} sent a datagram")


# ----------------------------------------------------------------------------- generator

BAD_PORTS = ["70000", "65536", "-1", "abc", "", "5x", "1e3", "0x50", "4.5", "99999999999999999999",
             "\uff18\uff10", "80abc", "\u0663", "--"]
BAD_DURATIONS = ["5x", "", "ms", "-1s", "1.2.3s", "abc", "\u0663s", "nan", "1h2", "s", "5 x",
                 "\u221e", "--"]
BAD_NUMBERS = ["abc", "", "1.5", "99999999999999999999", "\u0663", "5x", "0x"]
BAD_MODES = ["shout", "", "UPPER!", "\u00fbpper", "upper,echo"]
UNKNOWN_FLAGS = ["--frobnicate", "-Z", "--p\u00f6rt", "--udpx", "---port", "-\u00e9",
                 "--no-such-flag=1", b"--\xff", "--timeout-ms=5"]
BAD_SUBCOMMANDS = ["srve", "", "SERVE", "s\u00e9nd", "send2", b"\xff\xfe", "probe!"]
DURATION_FLAGS = {"serve": ["--idle-timeout"], "send": ["-w", "--timeout", "--connect-timeout"],
                  "probe": ["-w", "--timeout", "-i", "--interval"]}
NUMBER_FLAGS = {"serve": ["--backlog", "--max-clients"], "send": ["--retries"],
                "probe": ["--concurrency", "-c", "--count"]}


def malformed_lines(rng, n, host, tport, uport):
    """n distinct command lines, each invalid by construction: a valid base line (pointing only
    at the loopback traps, or serving on 127.0.0.1 port 0) plus one or two defects, none of
    which a later defect can repair. Returns [(argv, [defect names])]."""
    def hp(h, p):
        return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"

    def bad_targets(port):
        return [f"127.0.0.1:70000", "127.0.0.1:-1", "127.0.0.1:abc", "127.0.0.1:",
                "127.0.0.1:\uff18\uff10", "[::1]:abc", "[::1]:99999", "[::1", f"[::1:{port}",
                "[::1]:", f"[::1]x:{port}", f"::1:{port}", f"[]:{port}", "", str(port),
                "127.0.0.1:0"]
        # No host names: a name is looked up (maybe off this machine) before it can fail.

    out, seen = [], set()
    while len(out) < n:
        cmd = rng.choice(["serve", "serve", "send", "send-udp", "probe"])
        sub = "send" if cmd == "send-udp" else cmd
        opts = {}  # flag -> value (None: a switch); rendered in insertion order
        pos = []
        if cmd == "serve":
            if rng.random() < 0.5:
                opts["-b"], opts["-p"] = "127.0.0.1", "0"
            else:
                pos = ["127.0.0.1:0"]
            opts["--once"] = None
        elif cmd == "send":
            opts["-w"], opts["--connect-timeout"] = "1s", "1s"
            pos = [hp(host, tport), "hello"]
        elif cmd == "send-udp":
            opts["--udp"], opts["-w"] = None, "500ms"
            pos = [hp(host, uport), "hello"]
        else:
            opts["-w"] = "500ms"
            pos = [hp(host, tport)]
        subcmd = [sub]
        unknown = []
        trailing = []
        defects = []
        menu = ["port", "duration", "number", "unknown-flag", "subcommand", "unix-mix", "target"]
        if sub == "serve":
            menu += ["mode", "stray", "missing-value"]
        else:
            menu += ["no-target"]
        k = 1 if rng.random() < 0.6 else 2
        for d in rng.sample(menu, k):
            if d == "missing-value" and (k > 1 or pos):
                continue  # only valid as the very last token of a line with no positional
            if d == "port":
                bad = rng.choice(BAD_PORTS + (["0"] if sub == "send" else []))
                opts.pop("-p", None)
                opts[rng.choice(["-p", "--port"])] = bad
            elif d == "duration":
                flag = rng.choice(DURATION_FLAGS[sub])
                if flag in ("-w", "--timeout"):
                    opts.pop("-w", None)  # one option, two names: no good value may win
                    opts.pop("--timeout", None)
                opts[flag] = rng.choice(BAD_DURATIONS)
            elif d == "number":
                pool = BAD_NUMBERS + (["-1"] if sub != "serve" or rng.random() < 0.5 else [])
                flag = rng.choice(NUMBER_FLAGS[sub])
                if flag == "--backlog" and "-1" in pool:
                    pool.remove("-1")  # listen(2) takes a negative backlog; not clearly malformed
                opts[flag] = rng.choice(pool)
            elif d == "mode":
                opts["--mode"] = rng.choice(BAD_MODES)
            elif d == "unknown-flag":
                unknown.append(rng.choice(UNKNOWN_FLAGS))
            elif d == "subcommand":
                subcmd = [rng.choice(BAD_SUBCOMMANDS)]
            elif d == "unix-mix":
                opts["--unix"] = None
                opts[rng.choice(["-4", "-6"])] = None
            elif d == "target":
                t = rng.choice(bad_targets(tport))
                if sub == "serve":
                    if t in ("127.0.0.1:0",) or t.isdigit():
                        t = "127.0.0.1:70000"
                    opts.pop("-p", None)
                    pos = [t]
                else:
                    if sub == "probe" and t == "127.0.0.1:0":
                        t = "127.0.0.1:65536"  # only send's port range excludes 0 for sure
                    pos = [t] + pos[1:]
            elif d == "no-target":
                pos = []
            elif d == "stray":
                pos = (pos or ["127.0.0.1:0"]) + [rng.choice(["extra", "", "\u00e9", "8080"])]
            elif d == "missing-value":
                trailing = [rng.choice(["-p", "--idle-timeout", "--mode", "--backlog", "-b"])]
            defects.append(d)
        if not defects:
            continue
        groups = []  # one option with its value per group: an unknown flag goes between them
        for f, v in opts.items():
            if v is None:
                groups.append([f])
            elif f.startswith("--") and rng.random() < 0.3 and v != "":
                groups.append([f"{f}={v}"])
            else:
                groups.append([f, v])
        for u in unknown:
            groups.insert(rng.randrange(len(groups) + 1), [u])
        argv = subcmd + [a for g in groups for a in g] + pos + trailing
        key = tuple(a if isinstance(a, str) else a.decode("latin-1") for a in argv)
        if key in seen:
            continue
        seen.add(key)
        out.append((argv, defects))
    return out


Faults.numbers = {}


def tearDownModule():
    for k, v in Faults.numbers.items():
        print(f"[numbers] {k}: {v}", flush=True)


if __name__ == "__main__":
    unittest.main()
