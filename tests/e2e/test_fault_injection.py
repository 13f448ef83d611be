"""The failure policy, proved on the real binary by failing its syscalls (docs/FAULTS.md).

SPEC, serve: "One client's trouble is that client's alone"; docs/ARCHITECTURE.md, "Failure
policy". With the seam's libfiu failpoints (a -DSOCKECHO_FAULTS=ON build and fiu-utils;
without them the file is skipped, 77):

- per call: each call made for one client (accept4, its epoll registration, getsockname,
  recv, send, a buffer or session allocation) fails once while 20 other clients stream;
  the server stays up, the others stay byte-exact (sha256), the one that failed is closed
  at once with its errno logged, and the server's fds return to their baseline;
- chaos: 2% of every net/ call fails while 5,000 short connections come and go;
- probe over 10,000 endpoints, and send, under the same 2%; send with each of its calls
  failing once.

Sizes can be made smaller for a slow (sanitizer) run through SOCKECHO_FI_* in the
environment (see the knobs below). The measured numbers are printed as [numbers] lines.
"""

import collections
import errno
import hashlib
import json
import os
import random
import selectors
import socket
import threading
import time
import unittest

from harness import (E2E, MiB, T, _socket_inodes, fd_count, fiu_disable, fiu_enable, kv,
                     one_error_line, payload, require_binary, require_faults, rss_kib, run_faulted,
                     upper)


def setUpModule():
    require_binary()
    require_faults()


SANITIZED = os.environ.get("SOCKECHO_SANITIZED") == "1"


def knob(name, plain, sanitized=None):
    """SOCKECHO_FI_<name> if set, else the default for this build (plain or sanitized)."""
    v = os.environ.get(f"SOCKECHO_FI_{name}")
    if v:
        return type(plain)(v)
    return sanitized if SANITIZED and sanitized is not None else plain


STREAMERS = knob("STREAMERS", 20)                     # clients streaming beside each failure
STREAM_KIB = knob("STREAM_KIB", 512, 256)             # each sends at least this (and gets it back)
CHAOS_CONNS = knob("CHAOS_CONNS", 5000, 2000)         # short connections under chaos
CHAOS_CONCURRENCY = knob("CHAOS_CONCURRENCY", 50)     # ... at most this many at once
CHAOS_P = knob("CHAOS_P", 0.02)                       # the chance that each net/ call fails
RSS_LIMIT_MIB = knob("RSS_LIMIT_MIB", 64, 512)        # ASan: shadow memory and quarantine
PROBE_ENDPOINTS = knob("PROBE_ENDPOINTS", 10000)
SEND_RUNS = knob("SEND_RUNS", 30, 15)
SEED = knob("SEED", 7)                                # payloads and FIU_PRNG_SEED come from it

# An injected errno shows in the CLOSED line's reason: the peer's doing, or an error.
RESET_ERRNOS = (errno.ECONNRESET, errno.EPIPE)


def errname(err) -> str:
    return errno.errorcode[err]


def is_prefix(got, want) -> bool:
    return bytes(want[:len(got)]) == bytes(got)


class RoundTrip:
    """One client's request and reply: sends data, reads len(upper(data)) bytes, or until
    EOF, a reset or timeout. outcome: exact, eof, reset, corrupt (bytes that are not the
    start of the reply), hang (neither reply nor close within timeout)."""

    def __init__(self, port, data, timeout=T):
        self.data, self.want = data, upper(data)
        self.got = bytearray()
        self.port = None
        t0 = time.monotonic()
        self.outcome = self._run(port, timeout, t0)
        self.seconds = time.monotonic() - t0
        if self.outcome not in ("exact", "hang") and not is_prefix(self.got, self.want):
            self.outcome = "corrupt"

    def _run(self, port, timeout, t0):
        with socket.socket() as s:
            s.settimeout(timeout)
            s.connect(("127.0.0.1", port))
            self.port = s.getsockname()[1]
            try:
                s.sendall(self.data)
            except (ConnectionResetError, BrokenPipeError):
                return "reset"
            while len(self.got) < len(self.want):
                left = t0 + timeout - time.monotonic()
                if left <= 0:
                    return "hang"
                s.settimeout(left)
                try:
                    chunk = s.recv(1 << 16)
                except socket.timeout:
                    return "hang"
                except ConnectionResetError:
                    return "reset"
                if not chunk:
                    return "eof"
                self.got += chunk
            return "exact" if self.got == self.want else "corrupt"


def wait_fds(test, pid, want, timeout=T) -> int:
    """Until the process holds want fds (a client's fd closes right after its CLOSED line
    is written: there is no event for it), bounded."""
    deadline = time.monotonic() + timeout
    while True:
        n = fd_count(pid)
        if n == want:
            return n
        if time.monotonic() > deadline:
            fds = sorted(os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
            test.fail(f"server holds {n} fds, {want} at the start: leaked? {fds}")
        time.sleep(0.02)  # polling /proc: there is no event to wait on


def end_lines(srv, ports, timeout=T) -> dict:
    """The CLOSED or REFUSED line of each client port (127.0.0.1:PORT), read from the
    server's stdout; other lines are skipped."""
    want = {f"127.0.0.1:{p}": p for p in ports}
    found = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(want):
        line = srv.line(max(0.0, deadline - time.monotonic()),
                        what=f"CLOSED/REFUSED lines for {sorted(set(want) - set(found))}")
        f = line.split()
        if len(f) >= 6 and f[5] in ("CLOSED", "REFUSED") and f[4] in want:
            found[want[f[4]]] = line
    return found


class Streamers:
    """n clients streaming through the server at once, until stop() and each has sent at
    least min_bytes: each sends from a random block, round and round from an offset of its
    own, and reads what comes back, checked as it arrives (against upper() of the block at
    the same offset) and by sha256 (of upper(what it sent) and of what it got). Then it
    half-closes and reads to EOF. run() drives them all (on a thread of its own)."""

    def __init__(self, socks, block, min_bytes, mark):
        self.block, self.ublock = block, upper(block)
        self.min_bytes, self.mark = min_bytes, mark
        self.clients = []
        for i, s in enumerate(socks):
            s.setblocking(False)
            self.clients.append({"sock": s, "name": f"streamer{i}", "port": s.getsockname()[1],
                                 "off": (i * 65537) % len(block), "sent": 0, "rcvd": 0,
                                 "h_sent": hashlib.sha256(), "h_got": hashlib.sha256(),
                                 "mismatch": None, "shut": False, "eof": False, "error": None,
                                 "ended_at": None})
        self.loaded = threading.Event()  # each has had mark bytes back
        self._stop = threading.Event()
        self.seconds = None

    def stop(self):
        self._stop.set()

    def exact(self, cl) -> bool:
        return (cl["eof"] and cl["error"] is None and cl["mismatch"] is None
                and cl["rcvd"] == cl["sent"] and cl["h_got"].digest() == cl["h_sent"].digest())

    def _slice(self, cl, start, n, upper_case):
        """n bytes of the (upper-cased) block from cl's offset + start, at most to its end."""
        b = self.ublock if upper_case else self.block
        pos = (cl["off"] + start) % len(b)
        return b[pos:pos + n]

    def _end(self, sel, cl, error=None):
        cl["error"] = error
        cl["ended_at"] = time.monotonic()
        sel.unregister(cl["sock"])

    def run(self, timeout):
        t0 = time.monotonic()
        sel = selectors.DefaultSelector()
        live = len(self.clients)
        try:
            for cl in self.clients:
                sel.register(cl["sock"], selectors.EVENT_READ | selectors.EVENT_WRITE, cl)
            while live and time.monotonic() - t0 < timeout:
                for key, ev in sel.select(timeout=0.2):
                    cl = key.data
                    s = cl["sock"]
                    if ev & selectors.EVENT_WRITE and not cl["shut"]:
                        try:
                            if self._stop.is_set() and cl["sent"] >= self.min_bytes:
                                s.shutdown(socket.SHUT_WR)
                                cl["shut"] = True
                                sel.modify(s, selectors.EVENT_READ, cl)
                            else:
                                n = s.send(self._slice(cl, cl["sent"], 1 << 16, False))
                                cl["h_sent"].update(self._slice(cl, cl["sent"], n, True))
                                cl["sent"] += n
                        except BlockingIOError:
                            pass
                        except OSError as e:
                            self._end(sel, cl, e)
                            live -= 1
                            continue
                    if ev & selectors.EVENT_READ:
                        try:
                            chunk = s.recv(1 << 18)
                        except BlockingIOError:
                            continue
                        except OSError as e:
                            self._end(sel, cl, e)
                            live -= 1
                            continue
                        if not chunk:
                            cl["eof"] = True
                            self._end(sel, cl)
                            live -= 1
                            continue
                        if cl["mismatch"] is None:
                            start = cl["rcvd"]
                            want = bytearray()
                            while len(want) < len(chunk):
                                want += self._slice(cl, start + len(want), len(chunk) - len(want), True)
                            if chunk != want:
                                i = next(j for j in range(len(chunk)) if chunk[j] != want[j])
                                cl["mismatch"] = start + i
                        cl["h_got"].update(chunk)
                        cl["rcvd"] += len(chunk)
                        if not self.loaded.is_set() and all(
                                c["rcvd"] >= self.mark or c["ended_at"] for c in self.clients):
                            self.loaded.set()
        finally:
            sel.close()
            self.loaded.set()
            self.seconds = time.monotonic() - t0


class FaultInjection(E2E):
    numbers = {}

    def setUp(self):
        self.rng = random.Random(f"{SEED}:{self.id()}")

    def served(self, srv, what):
        """The server is up and answers a fresh client byte for byte."""
        self.assertIsNone(srv.proc.poll(), f"server died ({what}) {srv._diag()}")
        rt = RoundTrip(srv.port, b"fresh " + payload(self.rng, 4096) + b"\n")
        self.assertEqual(rt.outcome, "exact", f"a fresh client ({what}) {srv._diag()}")
        return rt

    def baseline(self, srv):
        """The server's fd count with no client, after one client came and went (whatever
        it allocates once is allocated): once its only socket is the listener."""
        rt = self.served(srv, "warm-up")
        end_lines(srv, [rt.port])
        deadline = time.monotonic() + T
        while len(_socket_inodes(srv.pid)) != 1:
            self.assertLess(time.monotonic(), deadline, "the warm-up client's fd stays open")
            time.sleep(0.02)  # polling /proc: there is no event to wait on
        return fd_count(srv.pid)

    # ------------------------------------------------------------------ one call fails once
    def fail_once(self, name, err, kind):
        """name fails once with err while STREAMERS clients stream; then a victim connects
        and makes a round trip. kind says who may fail and how:
          refused  accept4 out of fds: the victim is accepted on the spare fd and closed
                   at once, with a REFUSED line;
          queued   accept4 out of memory: the victim waits in the backlog for the 100 ms
                   back-off, then is served;
          victim   a call made only for a new client (getsockname): the victim is closed;
          any      a call every client makes (recv, send, epoll_ctl, allocations): the next
                   one to make it, the victim or one of the streamers, is closed."""
        srv = self.fault_server()
        base = self.baseline(srv)
        reason = "reset" if err in RESET_ERRNOS else "error"

        socks = [self.tcp(srv.port) for _ in range(STREAMERS)]
        pending = {f"127.0.0.1:{s.getsockname()[1]}" for s in socks}
        while pending:  # every streamer is accepted and registered before the load starts
            pending.discard(srv.expect_state("ESTABLISHED").split()[4])
        load = Streamers(socks, payload(self.rng, MiB), STREAM_KIB * 1024,
                         mark=min(64 * 1024, STREAM_KIB * 1024 // 4))
        th = threading.Thread(target=load.run, args=(6 * T,), daemon=True)
        th.start()
        self.addCleanup(th.join, T)
        self.addCleanup(load.stop)
        self.assertTrue(load.loaded.wait(3 * T), f"{STREAMERS} clients could not get streaming")

        # While they stream: the failure, then a new client's round trip.
        srv.fiu(fiu_enable(name, err, onetime=True))
        injected = time.monotonic()
        victim = RoundTrip(srv.port, b"victim " + payload(self.rng, 1024) + b"\n", timeout=T)
        streaming = sum(1 for cl in load.clients if cl["ended_at"] is None)
        load.stop()
        th.join(6 * T)
        self.assertFalse(th.is_alive(), "the streamers are stuck")

        failed = []  # (who, how, seconds from the failure to its close)
        if victim.outcome != "exact":
            failed.append(("victim", victim.outcome, victim.seconds))
        self.assertNotIn(victim.outcome, ("hang", "corrupt"), f"victim {srv._diag()}")
        for cl in load.clients:
            if load.exact(cl):
                continue
            self.assertIsNotNone(cl["ended_at"],
                                 f"{cl['name']} neither served nor closed: a hang ({cl['rcvd']} bytes)")
            self.assertIsNone(cl["mismatch"],
                              f"{cl['name']}: what came back before the close is not the reply's start")
            e = cl["error"]
            how = "eof" if e is None else errno.errorcode.get(getattr(e, "errno", None), repr(e))
            failed.append((cl["name"], how, cl["ended_at"] - injected))

        lines = end_lines(srv, [cl["port"] for cl in load.clients] + [victim.port])
        by_name = {cl["name"]: lines[cl["port"]] for cl in load.clients}
        by_name["victim"] = lines[victim.port]
        closed_badly = {who: line for who, line in by_name.items()
                        if kv(line).get("reason") not in ("eof", None)}
        exact = STREAMERS + 1 - len(failed)

        if kind == "queued":
            self.assertEqual(failed, [], "a client failed on a paused accept")
            self.assertEqual(closed_badly, {})
            self.assertGreaterEqual(victim.seconds, 0.09, "served before the 100 ms back-off?")
            detail = f"victim served after {victim.seconds * 1000:.0f} ms (back-off 100 ms)"
        else:
            self.assertEqual(len(failed), 1, f"want exactly one client closed, got {failed}")
            who, how, after = failed[0]
            if kind in ("refused", "victim"):
                self.assertEqual(who, "victim", f"{failed}")
                self.assertEqual(bytes(victim.got), b"", "the victim got a part of a reply")
            line = by_name[who]
            want_state = "REFUSED" if kind == "refused" else "CLOSED"
            self.assertEqual(line.split()[5], want_state, line)
            # The peer's doing (ECONNRESET, EPIPE) is reason=reset, without err=.
            want_err = None if reason == "reset" else errname(err)
            self.assertEqual((kv(line).get("reason"), kv(line).get("err")), (reason, want_err), line)
            self.assertEqual(set(closed_badly), {who}, f"other clients closed badly: {closed_badly}")
            self.assertLess(after, 5.0, f"{who} closed only {after:.1f} s after the failure")
            detail = (f"{who} closed ({how}) {after * 1000:.0f} ms after the failure, logged "
                      f"{want_state} {' '.join(f for f in line.split()[6:] if f.startswith(('reason=', 'err=')))}")
        for cl in load.clients:
            if cl["name"] not in {f[0] for f in failed}:
                self.assertTrue(load.exact(cl), f"{cl['name']} (not the one that failed): "
                                f"sent {cl['sent']}, got {cl['rcvd']}, eof {cl['eof']}, "
                                f"error {cl['error']!r}, mismatch at {cl['mismatch']}")
        streamed = sum(cl["sent"] for cl in load.clients)

        self.served(srv, f"after {name} failed")
        after_fds = wait_fds(self, srv.pid, base)
        rc, rest = srv.stop()
        self.assertEqual(rc, 0, srv._diag())
        summary = [l for l in rest if l.startswith("summary")]
        self.assertEqual(len(summary), 1, rest[-3:])
        if reason == "error":
            self.assertEqual(kv(summary[0]).get("errors"), "1", summary[0])
        self.numbers[f"once {name} {errname(err)}"] = (
            f"{detail}; {exact}/{STREAMERS + 1} others byte-exact (sha256; {streaming} of "
            f"{STREAMERS} streaming at the failure, {streamed / MiB:.1f} MiB through in "
            f"{load.seconds:.2f} s); fds {base} -> {after_fds}; "
            f"summary errors={kv(summary[0]).get('errors')}")

    def test_accept4_emfile_refuses_the_waiting_client_with_a_line(self):
        self.fail_once("net/accept4", errno.EMFILE, "refused")

    def test_accept4_enomem_leaves_the_client_queued_for_the_back_off(self):
        self.fail_once("net/accept4", errno.ENOMEM, "queued")

    def test_accept4_enobufs_leaves_the_client_queued_for_the_back_off(self):
        self.fail_once("net/accept4", errno.ENOBUFS, "queued")

    def test_epoll_ctl_enomem_closes_one_client(self):
        self.fail_once("net/epoll_ctl", errno.ENOMEM, "any")

    def test_getsockname_enobufs_closes_the_new_client(self):
        self.fail_once("net/getsockname", errno.ENOBUFS, "victim")

    def test_recv_enomem_closes_one_client(self):
        self.fail_once("net/recv", errno.ENOMEM, "any")

    def test_send_enobufs_closes_one_client(self):
        self.fail_once("net/send", errno.ENOBUFS, "any")

    def test_send_epipe_closes_one_client_as_reset(self):
        self.fail_once("net/send", errno.EPIPE, "any")

    def test_buffer_allocation_failure_closes_one_client(self):
        self.fail_once("alloc/buffer", errno.ENOMEM, "any")

    # ------------------------------------------------------------------ chaos
    def test_chaos_every_net_call_may_fail_while_5000_connections_come_and_go(self):
        srv = self.fault_server(seed=SEED)
        base = self.baseline(srv)
        rss_before = rss_kib(srv.pid)
        srv.fiu(fiu_enable("net/*", errno.ENOMEM, probability=CHAOS_P))
        t0 = time.monotonic()
        outcomes, rss_max, took = self.chaos_load(srv, CHAOS_CONNS, CHAOS_CONCURRENCY)
        self.assertIsNone(srv.proc.poll(), f"server died under chaos {srv._diag()}")
        rss_under = rss_kib(srv.pid)
        srv.fiu(fiu_disable("net/*"))
        self.served(srv, "after the chaos")
        after = wait_fds(self, srv.pid, base)
        rss_after = rss_kib(srv.pid)
        rc, rest = srv.stop()
        summary = [l for l in rest if l.startswith("summary")]
        saw_error = outcomes["eof"] + outcomes["reset"]
        self.numbers["chaos"] = (
            f"{CHAOS_CONNS} connections ({CHAOS_CONCURRENCY} at a time) with {CHAOS_P:.0%} of every "
            f"net/ call failing (ENOMEM, FIU_PRNG_SEED={SEED}) in {took:.1f} s: {dict(outcomes)}, "
            f"so {saw_error} saw the server close them; fds {base} -> {after}; RSS {rss_before} KiB "
            f"-> max {max(rss_max, rss_under)} KiB under chaos -> {rss_after} KiB after; "
            f"{summary[-1] if summary else 'no summary'}")
        self.assertEqual(rc, 0, srv._diag())
        self.assertEqual(outcomes["corrupt"], 0, self.numbers["chaos"])
        self.assertEqual(outcomes["hang"], 0, self.numbers["chaos"])
        self.assertEqual(outcomes["connect-failed"], 0, self.numbers["chaos"])
        self.assertEqual(sum(outcomes.values()), CHAOS_CONNS)
        self.assertGreater(saw_error, 0, "no connection saw a failure: were the faults on?")
        self.assertGreater(outcomes["exact"], CHAOS_CONNS // 2, self.numbers["chaos"])
        self.assertLess(max(rss_max, rss_under, rss_after), RSS_LIMIT_MIB * 1024, self.numbers["chaos"])
        self.assertGreaterEqual(int(kv(summary[-1])["clients"]), outcomes["exact"], summary[-1])

    def chaos_load(self, srv, total, concurrency, hang_s=3 * T):
        """total short round trips, concurrency at a time, each on a connection of its own;
        (Counter of outcomes, max RSS sampled in KiB, seconds)."""
        sel = selectors.DefaultSelector()
        outcomes = collections.Counter()
        live = {}
        started = 0
        rss_max = 0
        t0 = time.monotonic()
        next_scan = t0 + 1.0

        def open_one(i):
            s = socket.socket()
            s.setblocking(False)
            data = b"chaos %05d " % i + payload(self.rng, 16 + self.rng.randrange(200)) + b"\n"
            st = {"sock": s, "data": data, "want": upper(data), "got": bytearray(),
                  "sent": 0, "t0": time.monotonic(), "connected": False}
            err = s.connect_ex(("127.0.0.1", srv.port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                outcomes["connect-failed"] += 1
                return
            live[s] = st
            sel.register(s, selectors.EVENT_WRITE, st)

        def end(st, outcome):
            s = st["sock"]
            if outcome not in ("exact", "hang") and not is_prefix(st["got"], st["want"]):
                outcome = "corrupt"
            outcomes[outcome] += 1
            sel.unregister(s)
            del live[s]
            s.close()

        try:
            while started < total or live:
                while started < total and len(live) < concurrency:
                    open_one(started)
                    started += 1
                    if started % 250 == 0:
                        rss_max = max(rss_max, rss_kib(srv.pid))
                for key, ev in sel.select(timeout=0.5):
                    st = key.data
                    s = st["sock"]
                    if not st["connected"]:
                        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if e:
                            end(st, "connect-failed")
                            continue
                        st["connected"] = True
                    if st["sent"] < len(st["data"]):
                        try:
                            st["sent"] += s.send(st["data"][st["sent"]:])
                        except BlockingIOError:
                            continue
                        except (ConnectionResetError, BrokenPipeError):
                            end(st, "reset")
                            continue
                        if st["sent"] == len(st["data"]):
                            sel.modify(s, selectors.EVENT_READ, st)
                        continue
                    try:
                        chunk = s.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        end(st, "reset")
                        continue
                    if not chunk:
                        end(st, "eof")
                        continue
                    st["got"] += chunk
                    if len(st["got"]) >= len(st["want"]):
                        end(st, "exact" if st["got"] == st["want"] else "corrupt")
                now = time.monotonic()
                if now >= next_scan:
                    next_scan = now + 1.0
                    for st in [st for st in live.values() if now - st["t0"] > hang_s]:
                        end(st, "hang")
                    self.assertIsNone(srv.proc.poll(), f"server died under chaos {srv._diag()}")
        finally:
            for s in list(live):
                s.close()
            sel.close()
        return outcomes, rss_max, time.monotonic() - t0

    # ------------------------------------------------------------------ probe
    def test_probe_10000_endpoints_under_chaos_gives_every_endpoint_a_row(self):
        listeners = []
        for _ in range(3):  # open ones beside the closed ports; never accepted, only connected
            ls = socket.socket()
            self.addCleanup(ls.close)
            ls.bind(("127.0.0.1", 0))
            ls.listen(64)
            listeners.append(ls.getsockname()[1])
        n_range = PROBE_ENDPOINTS - len(listeners)
        # Ports 1..n_range: below the ephemeral range, so never another test's server.
        targets = [f"127.0.0.1:1-{n_range}", "127.0.0.1:" + ",".join(map(str, listeners))]
        want = {f"127.0.0.1:{p}" for p in range(1, n_range + 1)} | {f"127.0.0.1:{p}" for p in listeners}
        argv = ["probe", "--json", "--timeout", "1s"] + targets
        setup_failures = []
        for seed in range(SEED, SEED + 8):
            t0 = time.monotonic()
            rc, out, err = run_faulted(argv, [fiu_enable("net/*", errno.ENOMEM, probability=CHAOS_P)],
                                       seed=seed, timeout=6 * T)
            took = time.monotonic() - t0
            self.assertGreaterEqual(rc, 0, f"probe died by signal {-rc}; stderr={err[-500:]!r}")
            self.assertIn(rc, (0, 1), f"stderr={err[-500:]!r}")
            if out == b"" and rc == 1:
                # Its own setup failed (epoll_create1, eventfd, sigprocmask, signalfd) before
                # any probe: one line, nothing on stdout. Another seed runs the probes.
                one_error_line(self, err)
                setup_failures.append(f"seed {seed}: {err.decode().strip()}")
                continue
            break
        else:
            self.fail(f"probe's setup failed with every seed: {setup_failures}")
        self.assertEqual(err, b"", "stderr of a probe run that got going")
        rows, summary = [], None
        for line in out.decode().splitlines():
            obj = json.loads(line)  # every line one JSON object: no garbage, no cut lines
            if obj["event"] == "probe":
                rows.append(obj)
            elif obj["event"] == "probe_summary":
                summary = obj
        remotes = collections.Counter(r["remote"] for r in rows)
        states = collections.Counter(r["state"] for r in rows)
        errors = collections.Counter(r["error"] for r in rows if r["state"] == "ERROR")
        self.numbers["probe"] = (
            f"{len(rows)} rows for {len(want)} endpoints under {CHAOS_P:.0%} net/ failures "
            f"(seed {seed}) in {took:.2f} s, exit {rc}: {dict(states)}; ERROR rows say "
            f"{dict(errors)}; setup failures first: {setup_failures or 'none'}")
        self.assertEqual(set(remotes), want, "endpoints with no row, or rows for other ones")
        self.assertEqual(max(remotes.values()), 1, "an endpoint with two rows")
        self.assertIsNotNone(summary, "no summary line")
        self.assertEqual(summary["endpoints"], len(want))
        for p in listeners:
            row = next(r for r in rows if r["remote"] == f"127.0.0.1:{p}")
            self.assertIn(row["state"], ("OPEN", "ERROR"), row)
        self.assertGreater(errors.total(), 0, "no probe saw a failure: were the faults on?")

    def test_probe_setup_failure_is_one_line_and_no_rows(self):
        # The signalfd is set up before the first probe: when it fails, nothing is printed.
        rc, out, err = run_faulted(["probe", "--json", "--timeout", "1s", "127.0.0.1:1-100"],
                                   [fiu_enable("net/signalfd", errno.ENOMEM)])
        self.assertEqual((rc, out), (1, b""), err)
        one_error_line(self, err)
        self.assertEqual(err, b"sockecho: signalfd: Cannot allocate memory\n")

    # ------------------------------------------------------------------ send
    def check_send(self, rc, out, err, data, what):
        """Exit 0 with the exact reply, or exit 1 with one error line and (at most) a start of
        the reply: never a signal, never 2, never exit 0 with wrong output."""
        self.assertGreaterEqual(rc, 0, f"{what}: send died by signal {-rc}; stderr={err!r}")
        self.assertIn(rc, (0, 1), f"{what}: stderr={err!r}")
        if rc == 0:
            self.assertSameBytes(out, upper(data), f"{what}: exit 0, so the whole reply")
            self.assertEqual(err, b"", what)
            return "ok"
        one_error_line(self, err)
        self.assertTrue(is_prefix(out, upper(data)), f"{what}: stdout is not a start of the reply")
        return err.decode().strip().split(": ", 1)[1].split(" ", 1)[0]  # "send", "receive", ...

    def test_send_under_chaos_succeeds_exactly_or_fails_in_one_line(self):
        srv = self.server()
        data = payload(self.rng, 64 * 1024).replace(b"\x00", b"\n")
        outcomes = collections.Counter()
        whys = collections.Counter()
        t0 = time.monotonic()
        for i in range(SEND_RUNS):
            rc, out, err = run_faulted(["send", "-w", "2s", f"127.0.0.1:{srv.port}"],
                                       [fiu_enable("net/*", errno.ENOMEM, probability=CHAOS_P)],
                                       input=data, seed=SEED * 1000 + i, timeout=T)
            outcomes[self.check_send(rc, out, err, data, f"run {i}")] += 1
            if rc:
                whys[err.decode().strip()] += 1
        took = time.monotonic() - t0
        self.numbers["send chaos"] = (
            f"{SEND_RUNS} runs of send (64 KiB) with {CHAOS_P:.0%} of net/ calls failing in "
            f"{took:.1f} s: {outcomes['ok']} exact (exit 0); exit 1 by step {dict(outcomes - collections.Counter(ok=outcomes['ok']))}; "
            f"lines {dict(whys)}")
        self.assertGreater(outcomes["ok"], 0, self.numbers["send chaos"])
        self.served(srv, "after the send runs")

    def test_send_with_each_call_failing_once(self):
        srv = self.server()
        data = payload(self.rng, 16 * 1024).replace(b"\x00", b"\n")
        port = srv.port
        cases = [("net/connect", errno.ECONNREFUSED,
                  f"sockecho: connect to 127.0.0.1:{port}: Connection refused\n"),
                 ("net/poll", errno.ENOMEM,
                  f"sockecho: connect to 127.0.0.1:{port}: Cannot allocate memory\n"),
                 ("net/epoll_ctl", errno.ENOMEM, "sockecho: epoll_ctl ADD: Cannot allocate memory\n"),
                 ("net/send", errno.EPIPE, f"sockecho: send to 127.0.0.1:{port}: Broken pipe\n"),
                 ("net/recv", errno.ECONNRESET,
                  f"sockecho: receive from 127.0.0.1:{port}: Connection reset by peer\n")]
        seen = {}
        for name, err, line in cases:
            for e, want in ((err, line), (errno.EINTR, None)):  # EINTR: retried, so exact
                with self.subTest(failpoint=name, err=errname(e)):
                    rc, out, err_out = run_faulted(["send", "-w", "2s", f"127.0.0.1:{port}"],
                                                   [fiu_enable(name, e, onetime=True)],
                                                   input=data, timeout=T)
                    self.check_send(rc, out, err_out, data, f"{name} {errname(e)}")
                    if want is None:
                        self.assertEqual(rc, 0, err_out)
                    else:
                        self.assertEqual(rc, 1, f"{name} failed once, but send succeeded")
                        self.assertEqual(err_out.decode(), want)
                    seen[f"{name} {errname(e)}"] = (
                        "exit 0, exact" if rc == 0 else f"exit 1, {err_out.decode().strip()!r}")
        self.numbers["send once"] = "; ".join(f"{k}: {v}" for k, v in seen.items())
        self.served(srv, "after the send runs")


def tearDownModule():
    for k, v in FaultInjection.numbers.items():
        print(f"[numbers] {k}: {v}", flush=True)


if __name__ == "__main__":
    unittest.main()
