"""Under a bad network: random loss, blackholes, resets and ICMP errors, made with nftables in
a private network namespace (netns.py), over TCP and UDP, for serve, send and probe.

Each test gets its own namespace with only its loopback (127.0.0.1, ::1): serve, the clients
(sockecho run by `ip netns exec`, or Python sockets made in the namespace) and the faults all
live there, and go with it. A fault is a rule with a counter, so every test also checks that
it actually hit. At the end of each test the faults are removed and the server must be alive,
answering, and back at the fds it had after its LISTEN line. The TLS cases are in
test_netfaults_tls.py (a file of their own, so ctest runs the two at once).

There is no netem on this kernel: no delay, jitter or reordering, only drop and reject.
"""

import errno
import math
import os
import re
import subprocess
import threading
import time
import unittest

from harness import (MiB, REPO, SOCKECHO, T, Stream, _kill_and_reap, kv, one_error_line,
                     payload, pump, recv_exact, require_binary, upper)
from netns import NetnsCase, closed_for, require_netns


def setUpModule():
    require_binary()
    require_netns()


MAN_PAGE = os.path.join(REPO, "man", "sockecho.1")
LINGER = 2.0  # serve waits this long for a client's FIN after its own (src/net/stream_session.cc)


def binomial_range(n, p, confidence=0.999):
    """The central `confidence` range [lo, hi] of Binomial(n, p): each tail outside it holds
    at most (1 - confidence) / 2 of the probability."""
    tail = (1 - confidence) / 2
    pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
    lo, acc = 0, 0.0
    while acc + pmf[lo] <= tail:
        acc += pmf[lo]
        lo += 1
    hi, acc = n, 0.0
    while acc + pmf[hi] <= tail:
        acc += pmf[hi]
        hi -= 1
    return lo, hi


def close_quietly(pipe):
    try:
        pipe.close()
    except OSError:  # BrokenPipeError flushing what send never read
        pass


def probe_has_wait() -> bool:
    r = subprocess.run([SOCKECHO, "probe", "--help"], capture_output=True, timeout=T)
    return b"--wait" in r.stdout + r.stderr


def send_reports_unacknowledged() -> bool:
    """send's 'N bytes not acknowledged' exit (SPEC: send, Exit status) is in the man page."""
    try:
        with open(MAN_PAGE, encoding="utf-8", errors="replace") as f:
            return "not acknowledged" in f.read()
    except OSError:
        return False


# ----------------------------------------------------------------------------- TCP under loss

class TcpLoss(NetnsCase):
    def test_8mib_echo_through_20pct_loss_each_way(self):
        srv = self.serve("--mode", "echo")
        loss = self.ns.loss(srv.port, 20)
        data = payload(self.rng, 8 * MiB)
        # -w 60s: at 20% loss each way TCP's retransmission timer backs off to several seconds
        # (one run in ten here takes 7-14 s), and 10 s of silence after the input ended, the
        # default -w, would end send with exit 0 and the rest of the replies never read.
        rc, out, err, secs = self.ns.run(["send", "-w", "60s", self.target(srv)], input=data,
                                         timeout=12 * T)
        self.assertEqual((rc, err), (0, b""), f"after {secs:.1f}s")
        self.assertSameBytes(out, data, "8 MiB echoed through 20% loss")
        self.assertGreater(self.ns.hits(loss), 0, "the loss rules dropped nothing")
        srv.expect(lambda f: len(f) >= 6 and f[5] == "CLOSED", what="the sender's CLOSED line")
        self.assertServerWell(srv, "echo")

    def test_50_clients_at_once_through_10pct_loss_each_way(self):
        srv = self.serve()
        loss = self.ns.loss(srv.port, 10)
        streams = []
        for i in range(50):
            s = self.ns.socket()
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", srv.port))  # all connect at once: SYNs get lost too
            self.assertIn(err, (0, errno.EINPROGRESS), os.strerror(err))
            streams.append(Stream(s, payload(self.rng, 256 * 1024), name=f"client {i}"))
        secs = pump(streams, timeout=6 * T)
        for st in streams:
            self.assertIsNone(st.error, f"{st.name}: {st.error} after {secs:.1f}s")
            self.assertTrue(st.eof, f"{st.name}: no EOF within {secs:.1f}s "
                                    f"({st.sent} sent, {len(st.got)} back)")
            self.assertSameBytes(st.got, upper(st.data), st.name)
        self.assertGreater(self.ns.hits(loss), 0, "the loss rules dropped nothing")
        for st in streams:
            st.sock.close()
        for _ in streams:
            srv.expect(lambda f: len(f) >= 6 and f[5] == "CLOSED", what="50 CLOSED lines")
        self.assertServerWell(srv)


# ----------------------------------------------------------------------------- UDP under loss

class UdpLoss(NetnsCase):
    # "20% loss" for datagrams: a request or its reply lost in one round trip in five. Both
    # ways are lossy (11% each way: 1 - 0.89^2 = 20.8%), so some replies are lost after the
    # server got the request. With --retries 8 a line fails only if 9 tries in a row are lost:
    # 0.208^9 = 7e-7, for 500 lines 4e-4. The reply timeout is 100 ms (loopback answers in
    # well under 1 ms), so the ~130 lost tries cost about 13 s.
    EACH_WAY = 11

    def lines(self, n=500):
        return [b"line %03d %s" % (i, bytes(self.rng.choice(b"abcdefghijklmnopqrstuvwxyz")
                                           for _ in range(20))) for i in range(n)]

    def test_500_lines_with_retries_8_get_every_reply_in_order(self):
        srv = self.serve(udp=True)
        loss = self.ns.loss(srv.port, self.EACH_WAY, proto="udp")
        lines = self.lines()
        rc, out, err, secs = self.ns.run(["send", "--udp", "--retries", "8", "-w", "100ms",
                                          self.target(srv)], input=b"\n".join(lines) + b"\n",
                                         timeout=9 * T)
        self.assertEqual((rc, err), (0, b""), f"after {secs:.1f}s")
        self.assertEqual(out.split(b"\n")[:-1], [upper(x) for x in lines], "replies, in order")
        self.assertGreater(self.ns.hits(loss), 0, "the loss rules dropped nothing")
        self.assertServerWell(srv)

    def test_500_lines_without_retries_exit_1_at_a_lost_reply(self):
        srv = self.serve(udp=True)
        loss = self.ns.loss(srv.port, self.EACH_WAY, proto="udp")
        lines = self.lines()
        rc, out, err, secs = self.ns.run(["send", "--udp", "--retries", "0", "-w", "100ms",
                                          self.target(srv)], input=b"\n".join(lines) + b"\n")
        self.assertEqual(rc, 1, f"stdout={out[-200:]!r} stderr={err!r}")
        self.assertGreater(self.ns.hits(loss), 0, "the loss rules dropped nothing")
        one_error_line(self, err)
        self.assertIn(self.target(srv).encode(), err)
        # The replies printed are those of the lines before the one whose reply was lost.
        got = out.split(b"\n")
        self.assertEqual(got[-1], b"", f"a reply without its newline: {out[-100:]!r}")
        got = got[:-1]
        self.assertLess(len(got), len(lines))
        self.assertEqual(got, [upper(x) for x in lines[:len(got)]], "replies, in order")
        self.assertServerWell(srv)


# ----------------------------------------------------------------------------- probe

class ProbeFaults(NetnsCase):
    def probe(self, *args, timeout=T):
        """(rc, rows, summary, stdout, seconds) of `probe ARGS` in the namespace."""
        rc, out, err, secs = self.ns.run(["probe"] + [str(a) for a in args], timeout=timeout)
        self.assertEqual(err, b"", f"stderr of probe {args}")
        text = out.decode()
        lines = text.splitlines()
        self.assertGreaterEqual(len(lines), 3, text)
        self.assertTrue(lines[-1].startswith("summary "), text)
        return rc, [line.split() for line in lines[1:-1]], kv(lines[-1]), text, secs

    def one_row(self, *args, timeout=T):
        rc, rows, summary, text, secs = self.probe(*args, timeout=timeout)
        self.assertEqual(len(rows), 1, text)
        return rc, rows[0], summary, text, secs

    def hosts(self):
        return ("127.0.0.1", "::1") if self.ns.has_ipv6() else ("127.0.0.1",)

    def check_rejected(self, srv, how, state, reason, udp=False):
        fault = self.ns.reject(srv.port, how, proto="udp" if udp else "tcp")
        rc, row, _, text, _ = self.one_row(*(["--udp"] if udp else []), self.target(srv))
        self.assertEqual((rc, row[3]), (1, state), f"{how}: {text}")
        self.assertIn(f"({reason})", " ".join(row), f"{how}: the reason: {text}")
        self.assertGreater(self.ns.hits(fault), 0, f"the {how} rule saw nothing")
        self.assertServerWell(srv)

    def test_dropped_syns_are_filtered_at_timeout(self):
        srv = self.serve()
        start = self.startup_cost()
        fault = self.ns.drop_syns(srv.port)
        rc, row, summary, text, secs = self.one_row("--timeout", "2s", self.target(srv))
        self.assertEqual((rc, row[3]), (1, "FILTERED"), text)
        self.assertWithin(secs, 2.2 + start, 2.0, "probe of a port whose SYNs are dropped")
        self.assertWithin(float(summary["time"].rstrip("s")), 2.2, 2.0, "the summary's time")
        self.assertGreater(self.ns.hits(fault), 0)
        self.assertServerWell(srv)

    def test_port_unreachable_is_closed(self):
        for host in self.hosts():
            with self.subTest(host=host):
                self.check_rejected(self.serve(host=host), "port-unreachable", "CLOSED",
                                    "Connection refused")

    def test_host_unreachable_is_unreachable(self):
        for host in self.hosts():
            with self.subTest(host=host):
                self.check_rejected(self.serve(host=host), "host-unreachable", "UNREACHABLE",
                                    "No route to host")

    def test_admin_prohibited_is_unreachable(self):
        # IPv4 only: Linux turns ICMPv6 administratively-prohibited into EACCES, not EHOSTUNREACH.
        self.check_rejected(self.serve(), "admin-prohibited", "UNREACHABLE", "No route to host")

    def test_reset_is_closed(self):
        for host in self.hosts():
            with self.subTest(host=host):
                self.check_rejected(self.serve(host=host), "tcp reset", "CLOSED",
                                    "Connection refused")

    def test_udp_dropped_is_open_filtered(self):
        srv = self.serve(udp=True)
        start = self.startup_cost()
        fault = self.ns.blackhole(srv.port, proto="udp", each_way=False)
        rc, row, _, text, secs = self.one_row("--udp", "--timeout", "1s", self.target(srv))
        self.assertEqual((rc, row[3]), (1, "OPEN|FILTERED"), text)
        self.assertWithin(secs, 1.1 + start, 1.0, "UDP probe into a blackhole")
        self.assertGreater(self.ns.hits(fault), 0)
        self.assertServerWell(srv)

    def test_udp_port_unreachable_is_closed(self):
        self.check_rejected(self.serve(udp=True), "port-unreachable", "CLOSED",
                            "Connection refused", udp=True)

    def check_count_loss(self, srv, fault, *args):
        """probe --count 200 -i 10ms at 25% loss: loss % in the binomial 99.9% range, and
        each probe lost is one packet the rule dropped."""
        n, p = 200, 0.25
        lo, hi = binomial_range(n, p)
        # --timeout 200ms, under the kernel's first SYN retransmission (1 s): a probe whose
        # SYN is dropped is lost, never saved by a second SYN.
        rc, rows, _, text, _ = self.probe(*args, "--count", n, "-i", "10ms", "--timeout", "200ms",
                                          self.target(srv), timeout=6 * T)
        # The statistics row is the last (rows per probe may come before it, as ping prints).
        self.assertTrue(rows and "sent=" in " ".join(rows[-1]), text)
        row = rows[-1]
        self.assertEqual((rc, row[3]), (0, "OPEN"), text)
        d = kv(" ".join(row[4:]))
        sent, recv = int(d["sent"]), int(d["recv"])
        self.assertEqual(sent, n, text)
        lost = sent - recv
        self.assertAlmostEqual(float(d["loss"].rstrip("%")), 100 * lost / n, delta=0.05, msg=text)
        self.assertTrue(lo <= lost <= hi, f"{lost} of {n} lost, outside the 99.9% range "
                                          f"[{lo}, {hi}] of Binomial({n}, {p}): {text}")
        self.assertEqual(lost, self.ns.hits(fault), f"probes lost vs packets dropped: {text}")
        per_probe = rows[:-1]
        if per_probe:  # a row per probe as it comes back, as ping prints, before the statistics
            self.assertEqual(len(per_probe), n, text)
            self.assertEqual(sum(r[3] != "OPEN" for r in per_probe), lost, text)
        self.assertServerWell(srv)

    def test_count_loss_of_syns_is_binomial(self):
        srv = self.serve()
        self.check_count_loss(srv, self.ns.drop_syns(srv.port, percent=25))

    def test_count_loss_of_udp_probes_is_binomial(self):
        srv = self.serve(udp=True)
        self.check_count_loss(srv, self.ns.loss(srv.port, 25, proto="udp", each_way=False), "--udp")

    @unittest.skipUnless(probe_has_wait(), "probe --wait is not in this build")
    def test_wait_sees_a_port_come_up_when_it_stops_being_dropped(self):
        srv = self.serve()
        fault = self.ns.blackhole(srv.port)
        p = self.ns.popen(["probe", "--wait", "10s", "-i", "100ms", "--timeout", "200ms",
                           self.target(srv)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
        t0 = time.monotonic()
        time.sleep(2.0)  # the scenario: dropped for 2 s, then passed
        dropped = self.ns.hits(fault)
        self.ns.delete(fault)
        try:
            out, err = p.communicate(timeout=T)
        except subprocess.TimeoutExpired:
            self.fail("probe --wait did not end within 10 s of the port coming up")
        secs = time.monotonic() - t0
        self.assertEqual((p.returncode, err), (0, b""), out)
        rows = [line for line in out.decode().splitlines() if "up=" in line]
        self.assertEqual(len(rows), 1, out)
        self.assertIn(" OPEN ", rows[0])
        up = float(kv(rows[0])["up"].rstrip("s"))
        # up no sooner than the rule went (2 s after the start, less what exec took), no later
        # than one interval and one probe timeout after it.
        self.assertWithin(up, 2.0 + 0.1 + 0.2 + 0.2, 1.9, "up=")
        self.assertLess(secs, 2.0 + 1.0)
        self.assertGreater(dropped, 0, "no probe was dropped in the first 2 s")
        self.assertServerWell(srv)


# ----------------------------------------------------------------------------- blackholes

class Blackholes(NetnsCase):
    def test_connect_timeout_to_dropped_syns(self):
        srv = self.serve()
        start = self.startup_cost()
        fault = self.ns.drop_syns(srv.port)
        rc, out, err, secs = self.ns.run(["send", "--connect-timeout", "1s", self.target(srv),
                                          "hello"])
        self.assertEqual((rc, out), (1, b""), err)
        one_error_line(self, err)
        self.assertWithin(secs, 1.1 + start, 1.0, "send --connect-timeout 1s")
        self.assertGreater(self.ns.hits(fault), 0)
        self.assertServerWell(srv)

    @unittest.skipUnless(send_reports_unacknowledged(),
                         "send's 'bytes not acknowledged' exit is not in this tree's man page yet")
    def test_send_blackholed_mid_transfer_exits_1_at_its_timeout(self):
        # The server reaps the client it no longer hears from, so its fds come back.
        srv = self.serve("--mode", "echo", "--idle-timeout", "1s")
        p = self.ns.popen(["send", "-w", "2s", self.target(srv)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for pipe in (p.stdin, p.stdout, p.stderr):
            self.addCleanup(close_quietly, pipe)
        self.addCleanup(_kill_and_reap, p)  # first: it frees the threads blocked on the pipes
        written, back, err = bytearray(), bytearray(), []
        flowing = threading.Event()

        def feed():  # input for as long as send takes it
            try:
                while True:
                    chunk = payload(self.rng, 64 * 1024)
                    p.stdin.write(chunk)
                    p.stdin.flush()
                    written.extend(chunk)
            except (BrokenPipeError, ValueError, OSError):
                pass

        def drain():
            while True:
                b = p.stdout.read1(1 << 20)
                if not b:
                    return
                back.extend(b)
                if len(back) >= MiB:
                    flowing.set()

        threads = [threading.Thread(target=feed, daemon=True),
                   threading.Thread(target=drain, daemon=True),
                   threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)]
        for t in threads:
            t.start()
        self.assertTrue(flowing.wait(T), f"1 MiB did not come back within {T}s")
        fault = self.ns.blackhole(srv.port)
        t0 = time.monotonic()
        try:
            rc = p.wait(timeout=T)
        except subprocess.TimeoutExpired:
            self.fail(f"send -w 2s still running {T}s into the blackhole")
        secs = time.monotonic() - t0
        for t in threads[1:]:
            t.join(T)
        self.assertEqual(rc, 1, err)
        self.assertWithin(secs, 2.2, 1.95, "send -w 2s into a blackhole")
        stderr = err[0].decode()
        one_error_line(self, err[0])
        m = re.fullmatch(rf"sockecho: send to {re.escape(self.target(srv))}: (\d+) bytes not "
                         r"acknowledged\n", stderr)
        self.assertTrue(m, f"no 'N bytes not acknowledged' line: {stderr!r}")
        unacked = int(m.group(1))
        # Bytes that came back were acknowledged; the rest of what send took may not be.
        self.assertTrue(0 < unacked <= len(written) - len(back),
                        f"{unacked} unacknowledged, {len(written)} written, {len(back)} back")
        self.assertSameBytes(back, written[:len(back)], "what came back before the blackhole")
        self.assertGreater(self.ns.hits(fault), 0)
        srv.expect(lambda f: len(f) >= 6 and f[5] == "CLOSED", what="the sender's CLOSED line")
        self.assertServerWell(srv, "echo")

    def test_idle_timeout_reaps_a_blackholed_client_and_serves_others(self):
        srv = self.serve("--idle-timeout", "1s")
        victim = self.ns.connect(srv.port)
        vport = victim.getsockname()[1]
        victim.sendall(b"hi\n")
        self.assertEqual(recv_exact(victim, 3), b"HI\n")
        fault = self.ns.blackhole(vport)  # every packet to and from the victim's port
        t0 = time.monotonic()
        victim.sendall(b"lost in the dark\n")  # never reaches the server

        served, failures, stop = [0], [], threading.Event()
        other = self.ns.connect(srv.port)
        oport = other.getsockname()[1]

        def others():
            # One steady client and one new client after another, until the victim is reaped.
            while not stop.is_set():
                try:
                    data = b"ping %d\n" % served[0]
                    other.sendall(data)
                    if recv_exact(other, len(data), 2.0) != upper(data):
                        failures.append("wrong reply")
                    with self.ns.connect(srv.port, timeout=2.0) as s:
                        s.sendall(data)
                        if recv_exact(s, len(data), 2.0) != upper(data):
                            failures.append("wrong reply (new client)")
                    served[0] += 1
                except (OSError, AssertionError) as e:
                    failures.append(repr(e))
                    return
                stop.wait(0.05)  # a client's pace, not a wait for anything

        t = threading.Thread(target=others, daemon=True)
        t.start()
        try:
            line = srv.expect(closed_for(vport), timeout=T, what="the victim's CLOSED line")
            secs = time.monotonic() - t0
        finally:
            stop.set()
            t.join(T)
        self.assertEqual(kv(line).get("reason"), "idle", line)
        # serve ends an idle client as any other: FIN, then up to 2 s (k_linger) for the
        # client's own FIN, which never comes through the blackhole.
        self.assertWithin(secs, (1 + LINGER) * 1.1, 1.0,
                          f"the victim reaped after --idle-timeout 1s and the {LINGER}s linger")
        self.assertEqual(failures, [], f"others not served while the victim was black-holed "
                                       f"({served[0]} served)")
        self.assertGreaterEqual(served[0], 5, "others barely served")
        self.assertGreater(self.ns.hits(fault), 0)
        other.close()
        srv.expect(closed_for(oport), what="the steady client's CLOSED line")
        self.assertServerWell(srv)


if __name__ == "__main__":
    unittest.main()
