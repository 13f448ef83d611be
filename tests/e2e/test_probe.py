"""probe: open/closed endpoints over TCP, UDP and Unix sockets, --echo, --count statistics,
--json, -q/--open, usage errors, IPv6, and a full 1-65535 scan of 127.0.0.1 checked against ss.

Everything is on 127.0.0.1, ::1 or Unix paths in a temporary directory. A "closed" port is one
this file holds bound (TCP: bound, never listening; UDP: bound and connected elsewhere, so the
kernel answers other senders with ICMP port unreachable): nothing else can take it meanwhile.
"""

import json
import os
import random
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (E2E, SOCKECHO, T, Server, SilentTcpListener, UdpPeer, family_of, have_tool,
                     ipv6_available, kv, no_pending_connection, require_binary, require_ipv6,
                     run_sockecho)


def setUpModule():
    require_binary()


HEADER = ["Proto", "Local", "Address", "Foreign", "Address", "State", "RTT"]
PROTOS = {"tcp", "udp", "unix", "unixdg"}
STATES = {"OPEN", "CLOSED", "FILTERED", "UNREACHABLE", "OPEN|FILTERED", "BADECHO", "NOECHO"}
SUMMARY_KEYS = ["event", "time", "endpoints", "states", "duration_s", "resolved"]
SUMMARY_STATES = ["open", "closed", "filtered", "unreachable", "open_filtered", "badecho",
                  "noecho", "badtls", "expiring", "error"]
PROBE_KEYS = ["event", "time", "proto", "local", "remote", "state", "rtt_ms", "seq", "error"]
STATS_KEYS = ["event", "time", "proto", "remote", "state", "sent", "received", "loss_percent",
              "min_ms", "avg_ms", "max_ms", "stddev_ms", "p50_ms", "p90_ms", "p99_ms"]
FULL_SCAN_BOUND = 60.0  # "does not hang" for the 65,535-port scan (it takes a few seconds)
FLOAT = r"\d+(?:\.\d+)?"


# ----------------------------------------------------------------------------- output parsing

class Row:
    def __init__(self, line):
        self.line = line
        self.fields = line.split()
        f = self.fields + [""] * 5
        self.proto, self.local, self.foreign, self.state = f[0], f[1], f[2], f[3]
        self.rest = self.fields[4:]

    @property
    def port(self):
        return int(self.foreign.rsplit(":", 1)[1])

    @property
    def host(self):
        return self.foreign.rsplit(":", 1)[0]

    def __repr__(self):
        return repr(self.line)


class Table:
    """The table output: header, rows, 'NAME resolved to ADDR...' lines, the summary line.

    Under --count N > 1 a row per probe (with seq=) comes first, as each probe comes back:
    those are .probes; .rows are the rows per endpoint (the statistics)."""

    def __init__(self, test, out: bytes):
        text = out.decode("utf-8", "replace")
        test.assertTrue(text.endswith("\n"), f"output does not end with a newline: {text!r}")
        lines = text.splitlines()
        test.assertGreaterEqual(len(lines), 2, f"no header and summary: {text!r}")
        test.assertEqual(lines[0].split(), HEADER, f"header line: {lines[0]!r}")
        test.assertTrue(lines[-1].startswith("summary "), f"last line is not the summary: {text!r}")
        self.text = text
        self.summary = kv(lines[-1])
        self.resolved = {}
        self.rows = []
        self.probes = []
        for line in lines[1:-1]:
            m = re.match(r"^(\S+) resolved to (.+)$", line)
            if m:
                self.resolved[m.group(1)] = m.group(2).split()
                continue
            test.assertFalse(self.resolved, f"a row after the resolved lines: {text!r}")
            row = Row(line)
            test.assertGreaterEqual(len(row.fields), 5, f"row has fewer than 5 columns: {line!r}")
            test.assertIn(row.proto, PROTOS, f"Proto column of {line!r}")
            test.assertIn(row.state, STATES, f"State column of {line!r}")
            if "seq" in kv(line):
                test.assertFalse(self.rows, f"a probe's row after the rows per endpoint: {text!r}")
                self.probes.append(row)
            else:
                self.rows.append(row)

    def by_port(self):
        return {r.port: r for r in self.rows}


def json_lines(test, out: bytes):
    text = out.decode("utf-8", "replace")
    test.assertTrue(text.endswith("\n"), f"JSON output does not end with a newline: {text!r}")
    objs = []
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise AssertionError(f"not a JSON line ({e}): {line!r}")
        test.assertIsInstance(obj, dict, line)
        objs.append(obj)
    test.assertTrue(objs, "no JSON lines")
    return objs


# ----------------------------------------------------------------------------- fixtures

class ProbeCase(E2E):
    def probe(self, *args, timeout=T):
        """(rc, stdout, stderr) of `sockecho probe ARGS`."""
        return run_sockecho(["probe"] + [str(a) for a in args], timeout=timeout)

    def probe_table(self, *args, rc=None, timeout=T):
        code, out, err = self.probe(*args, timeout=timeout)
        if rc is not None:
            self.assertEqual(code, rc, f"exit status of probe {args}: stdout={out!r} stderr={err!r}")
        self.assertEqual(err, b"", f"stderr of probe {args}")
        return code, Table(self, out)

    def probe_json(self, *args, rc=None, timeout=T):
        code, out, err = self.probe("--json", *args, timeout=timeout)
        if rc is not None:
            self.assertEqual(code, rc, f"exit status of probe --json {args}: stdout={out!r} stderr={err!r}")
        self.assertEqual(err, b"", f"stderr of probe --json {args}")
        return code, json_lines(self, out)

    def closed_tcp(self, host="127.0.0.1"):
        """A TCP port bound (never listening) for the rest of the test: connect is refused."""
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.bind((host, 0))
        return s.getsockname()[1]

    def closed_tcp_range(self, n):
        """n consecutive TCP ports of 127.0.0.1, all bound (not listening) for the test; the first."""
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                lo = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            lo = 32768
        hi = max(2000, lo - n - 1)  # below the ephemeral range: no client socket takes them
        for _ in range(100):
            base = random.randint(1025, hi)
            socks = []
            try:
                for p in range(base, base + n):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
            except OSError:
                for s in socks:
                    s.close()
                continue
            for s in socks:
                self.addCleanup(s.close)
            return base
        self.fail(f"found no {n} consecutive free ports")

    def closed_udp(self, host="127.0.0.1"):
        """A UDP port held by a socket connected elsewhere: datagrams from anyone else get ICMP
        port unreachable."""
        s = socket.socket(family_of(host), socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind((host, 0))
        s.connect((host, 9))
        return s.getsockname()[1]

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="sockecho-probe-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def unix_server(self, path, *args, dgram=False):
        argv = ["serve", "--unix"] + (["--udp"] if dgram else []) + [path] + list(args)
        srv = Server(argv=argv, ready=None)
        self.addCleanup(srv.close)
        srv.start()
        line = srv.line(what="the LISTEN line")
        self.assertIn("LISTEN", line.split(), f"first line of serve --unix: {line!r}")
        return srv


# ----------------------------------------------------------------------------- TCP

class ProbeTcp(ProbeCase):
    def test_open_port(self):
        srv = self.server()
        _, t = self.probe_table(f"127.0.0.1:{srv.port}", rc=0)
        self.assertEqual(len(t.rows), 1, t.text)
        r = t.rows[0]
        self.assertEqual((r.proto, r.foreign, r.state), ("tcp", f"127.0.0.1:{srv.port}", "OPEN"), t.text)
        self.assertRegex(r.local, r"^127\.0\.0\.1:\d+$", "Local Address of an open row is the real one")
        self.assertRegex(r.rest[0], rf"^{FLOAT}ms$", "RTT column")
        self.assertEqual(t.summary.get("endpoints"), "1", t.text)
        self.assertEqual(t.summary.get("open"), "1", t.text)
        self.assertEqual(t.summary.get("closed"), "0", t.text)
        self.assertRegex(t.summary.get("time", ""), rf"^{FLOAT}s$", t.text)

    def test_closed_port(self):
        port = self.closed_tcp()
        _, t = self.probe_table(f"127.0.0.1:{port}", rc=1)
        self.assertEqual(len(t.rows), 1, t.text)
        r = t.rows[0]
        self.assertEqual((r.proto, r.local, r.foreign, r.state, r.rest[0]),
                         ("tcp", "*", f"127.0.0.1:{port}", "CLOSED", "-"), t.text)
        self.assertEqual((t.summary.get("endpoints"), t.summary.get("open"), t.summary.get("closed")),
                         ("1", "0", "1"), t.text)

    def test_port_option_and_default_target_form(self):
        srv = self.server()
        _, t = self.probe_table("-p", srv.port, "127.0.0.1", rc=0)
        self.assertEqual([(r.foreign, r.state) for r in t.rows], [(f"127.0.0.1:{srv.port}", "OPEN")], t.text)

    def test_filtered_when_the_syn_is_dropped(self):
        # A listener whose accept queue is full drops SYNs: the probe gets no answer at all.
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lst.close)
        lst.bind(("127.0.0.1", 0))
        lst.listen(0)
        port = lst.getsockname()[1]
        for _ in range(8):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(c.close)
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            _, w, _ = select.select([], [c], [], 0.5)  # bounded: the queue is full when this times out
            if not w:
                break
        else:
            self.skipTest("could not fill the accept queue")
        t0 = time.monotonic()
        _, t = self.probe_table("-w", "300ms", f"127.0.0.1:{port}", rc=1)
        self.assertLess(time.monotonic() - t0, 5.0, "FILTERED must come after --timeout, not hang")
        self.assertEqual([r.state for r in t.rows], ["FILTERED"], t.text)
        self.assertEqual(t.summary.get("filtered"), "1", t.text)

    def test_resolved_name_is_shown(self):
        srv = self.server()
        _, t = self.probe_table("-4", f"localhost:{srv.port}", rc=0)
        self.assertEqual([(r.foreign, r.state) for r in t.rows], [(f"127.0.0.1:{srv.port}", "OPEN")], t.text)
        self.assertEqual(t.resolved, {"localhost": ["127.0.0.1"]}, t.text)


# ----------------------------------------------------------------------------- lists and ranges

class ProbeLists(ProbeCase):
    def test_mixed_list_and_range_sorted_by_port(self):
        a, b = self.server(), self.server()
        base = self.closed_tcp_range(3)
        closed1 = self.closed_tcp()
        # deliberately out of order: the table sorts by port
        spec = f"127.0.0.1:{b.port},{base}-{base + 2},{closed1},{a.port}"
        _, t = self.probe_table(spec, rc=1)
        want = {a.port: "OPEN", b.port: "OPEN", closed1: "CLOSED",
                base: "CLOSED", base + 1: "CLOSED", base + 2: "CLOSED"}
        self.assertEqual({r.port: r.state for r in t.rows}, want, t.text)
        self.assertEqual(len(t.rows), 6, f"one row per endpoint: {t.text}")
        self.assertEqual([r.port for r in t.rows], sorted(want), f"rows not sorted by port: {t.text}")
        self.assertEqual({r.host for r in t.rows}, {"127.0.0.1"})
        self.assertEqual((t.summary.get("endpoints"), t.summary.get("open"), t.summary.get("closed")),
                         ("6", "2", "4"), t.text)

    def test_numeric_port_order(self):
        # 9999 < 10000 as numbers, not as strings
        socks = []
        for p in range(9995, 10005):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                self.skipTest(f"port {p} is in use")
        ports = [10004, 9995, 10000, 9999]
        _, t = self.probe_table("127.0.0.1:" + ",".join(map(str, ports)), rc=1)
        self.assertEqual([r.port for r in t.rows], sorted(ports), t.text)

    def test_several_targets_sorted_by_host_then_port(self):
        a, b = self.server(), self.server()
        c = self.closed_tcp()
        hi, lo = max(a.port, b.port), min(a.port, b.port)
        args = [f"127.0.0.1:{hi}", f"127.0.0.1:{c}", f"127.0.0.1:{lo}"]
        six = ipv6_available()
        if six:
            s6 = self.server(host="::1")
            c6 = self.closed_tcp("::1")
            args = [f"[::1]:{s6.port}"] + args + [f"[::1]:{c6}"]
        _, t = self.probe_table(*args, rc=1)
        self.assertEqual(len(t.rows), len(args), t.text)
        hosts = [r.host for r in t.rows]
        # each host's rows together, ports ascending within a host
        blocks = [h for i, h in enumerate(hosts) if i == 0 or hosts[i - 1] != h]
        self.assertEqual(len(blocks), len(set(blocks)), f"rows of one host are not together: {t.text}")
        for h in set(hosts):
            ports = [r.port for r in t.rows if r.host == h]
            self.assertEqual(ports, sorted(ports), f"ports of {h} not sorted: {t.text}")
        self.assertEqual({r.port: r.state for r in t.rows if r.host == "127.0.0.1"},
                         {a.port: "OPEN", b.port: "OPEN", c: "CLOSED"}, t.text)

    def test_exit_zero_only_when_all_open(self):
        a, b = self.server(), self.server()
        c = self.closed_tcp()
        rc, t = self.probe_table(f"127.0.0.1:{a.port},{b.port}", rc=0)
        self.assertEqual([r.state for r in t.rows], ["OPEN", "OPEN"], t.text)
        rc, t = self.probe_table(f"127.0.0.1:{a.port},{b.port},{c}", rc=1)
        rc, t = self.probe_table(f"127.0.0.1:{a.port}", f"127.0.0.1:{c}", rc=1)

    def test_concurrency_one_still_probes_every_port(self):
        srv = self.server()
        base = self.closed_tcp_range(20)
        _, t = self.probe_table("--concurrency", "1", f"127.0.0.1:{base}-{base + 19},{srv.port}", rc=1)
        self.assertEqual([r.port for r in t.rows], sorted(list(range(base, base + 20)) + [srv.port]), t.text)
        self.assertEqual(t.summary.get("open"), "1", t.text)
        self.assertEqual(t.summary.get("closed"), "20", t.text)


# ----------------------------------------------------------------------------- UDP

class ProbeUdp(ProbeCase):
    def test_open_against_serve_udp(self):
        srv = self.server(udp=True)
        _, t = self.probe_table("--udp", f"127.0.0.1:{srv.port}", rc=0)
        self.assertEqual(len(t.rows), 1, t.text)
        r = t.rows[0]
        self.assertEqual((r.proto, r.foreign, r.state), ("udp", f"127.0.0.1:{srv.port}", "OPEN"), t.text)
        self.assertRegex(r.rest[0], rf"^{FLOAT}ms$", t.text)

    def test_closed_by_icmp_port_unreachable(self):
        port = self.closed_udp()
        t0 = time.monotonic()
        _, t = self.probe_table("--udp", "-w", "5s", f"127.0.0.1:{port}", rc=1)
        # the ICMP error answers at once: well before the 5 s timeout
        self.assertLess(time.monotonic() - t0, 4.0, "CLOSED must come from the ICMP error, not the timeout")
        self.assertEqual([(r.proto, r.state) for r in t.rows], [("udp", "CLOSED")], t.text)
        self.assertEqual(t.summary.get("closed"), "1", t.text)

    def test_open_and_closed_together(self):
        srv = self.server(udp=True)
        port = self.closed_udp()
        _, t = self.probe_table("--udp", f"127.0.0.1:{srv.port},{port}", rc=1)
        self.assertEqual({r.port: r.state for r in t.rows}, {srv.port: "OPEN", port: "CLOSED"}, t.text)

    def test_payload_is_what_is_sent(self):
        with UdpPeer() as peer:
            _, t = self.probe_table("--udp", "--payload", "hello there", f"127.0.0.1:{peer.port}", rc=0)
            self.assertEqual(peer.got, [b"hello there"])
        self.assertEqual([r.state for r in t.rows], ["OPEN"], t.text)

    def test_silence_is_open_filtered_json(self):
        with UdpPeer(reply=None) as peer:
            _, objs = self.probe_json("--udp", "-w", "300ms", f"127.0.0.1:{peer.port}", rc=1)
        probes = [o for o in objs if o.get("event") == "probe"]
        self.assertEqual([o["state"] for o in probes], ["OPEN|FILTERED"], objs)
        self.assertIsNone(probes[0]["rtt_ms"], objs)

    def test_silence_is_open_filtered_table(self):
        with UdpPeer(reply=None) as peer:
            _, t = self.probe_table("--udp", "-w", "300ms", f"127.0.0.1:{peer.port}", rc=1)
        self.assertEqual([(r.state, r.rest[:1]) for r in t.rows], [("OPEN|FILTERED", ["-"])], t.text)


# ----------------------------------------------------------------------------- Unix

class ProbeUnix(ProbeCase):
    def test_stream_open_and_missing(self):
        d = self.tmpdir()
        path, missing = os.path.join(d, "s"), os.path.join(d, "nope")
        self.unix_server(path)
        _, t = self.probe_table("--unix", path, missing, rc=1)
        got = {r.foreign: (r.proto, r.state) for r in t.rows}
        self.assertEqual(got, {path: ("unix", "OPEN"), missing: ("unix", "CLOSED")}, t.text)
        _, t = self.probe_table("--unix", path, rc=0)
        _, t = self.probe_table("--unix", missing, rc=1)

    def test_stream_echo(self):
        d = self.tmpdir()
        path = os.path.join(d, "s")
        self.unix_server(path)
        _, t = self.probe_table("--unix", "--echo", path, rc=0)
        self.assertEqual([r.state for r in t.rows], ["OPEN"], t.text)

    def test_datagram_open_and_missing_json(self):
        d = self.tmpdir()
        path, missing = os.path.join(d, "d"), os.path.join(d, "nope")
        self.unix_server(path, dgram=True)
        _, objs = self.probe_json("--unix", "--udp", path, missing, rc=1)
        got = {o["remote"]: (o["proto"], o["state"]) for o in objs if o.get("event") == "probe"}
        self.assertEqual(got, {path: ("unixdg", "OPEN"), missing: ("unixdg", "CLOSED")}, objs)
        _, objs = self.probe_json("--unix", "--udp", "--echo", path, rc=0)

    def test_datagram_table(self):
        d = self.tmpdir()
        path, missing = os.path.join(d, "d"), os.path.join(d, "nope")
        self.unix_server(path, dgram=True)
        _, t = self.probe_table("--unix", "--udp", path, missing, rc=1)
        got = {r.foreign: (r.proto, r.state) for r in t.rows}
        self.assertEqual(got, {path: ("unixdg", "OPEN"), missing: ("unixdg", "CLOSED")}, t.text)


# ----------------------------------------------------------------------------- --echo

class ProbeEcho(ProbeCase):
    def test_echo_against_sockecho(self):
        srv = self.server()
        _, t = self.probe_table("--echo", f"127.0.0.1:{srv.port}", rc=0)
        self.assertEqual([r.state for r in t.rows], ["OPEN"], t.text)
        self.assertRegex(t.rows[0].rest[0], rf"^{FLOAT}ms$", t.text)

    def test_echo_against_plain_echo_is_badecho(self):
        srv = self.server("--mode", "echo")
        _, t = self.probe_table("--echo", f"127.0.0.1:{srv.port}", rc=1)
        self.assertEqual([r.state for r in t.rows], ["BADECHO"], t.text)
        self.assertEqual(t.summary.get("open"), "0", t.text)

    def test_expect(self):
        plain = self.server("--mode", "echo")
        upper_srv = self.server()
        self.probe_table("--expect", "probe", f"127.0.0.1:{plain.port}", rc=0)
        _, t = self.probe_table("--echo", "--payload", "Hi", "--expect", "HI", f"127.0.0.1:{upper_srv.port}", rc=0)
        self.assertEqual([r.state for r in t.rows], ["OPEN"], t.text)
        _, t = self.probe_table("--expect", "nope", f"127.0.0.1:{upper_srv.port}", rc=1)
        self.assertEqual([r.state for r in t.rows], ["BADECHO"], t.text)

    def test_badecho_shows_the_reply(self):
        srv = self.server("--mode", "echo")
        _, t = self.probe_table("--echo", "--payload", 'a "b"\x01\\', f"127.0.0.1:{srv.port}", rc=1)
        self.assertEqual([r.state for r in t.rows], ["BADECHO"], t.text)
        self.assertTrue(t.rows[0].line.endswith(r' got="a \"b\"\x01\\"'), t.text)
        # Long replies: the first 64 bytes, then "..."
        _, t = self.probe_table("--echo", "--payload", "x" * 100, f"127.0.0.1:{srv.port}", rc=1)
        self.assertTrue(t.rows[0].line.endswith(' got="' + "x" * 64 + '"...'), t.text)
        _, objs = self.probe_json("--echo", "--payload", "hi\n", f"127.0.0.1:{srv.port}", rc=1)
        self.assertEqual([(o["state"], o["got"]) for o in objs if o.get("event") == "probe"],
                         [("BADECHO", "hi\n")], objs)
        # Only BADECHO shows a reply
        good = self.server()
        _, objs = self.probe_json("--echo", f"127.0.0.1:{good.port}", rc=0)
        self.assertEqual([(o["state"], o["got"], o["up_s"]) for o in objs if o.get("event") == "probe"],
                         [("OPEN", None, None)], objs)

    def test_expect_alone_turns_the_echo_check_on(self):
        with SilentTcpListener() as lst:
            _, t = self.probe_table("--expect", "PONG", "-w", "300ms", f"127.0.0.1:{lst.port}", rc=1)
            deadline = time.monotonic() + T
            while lst.data != b"probe" and time.monotonic() < deadline:
                time.sleep(0.01)  # the listener's thread reads what the probe sent
            self.assertEqual(bytes(lst.data), b"probe", "--expect sent no payload: no echo check")
        self.assertEqual([r.state for r in t.rows], ["NOECHO"], t.text)
        rc, out, err = self.probe("--help")
        self.assertIn(b"(implies --echo)", out)

    def test_echo_mixed(self):
        good, bad = self.server(), self.server("--mode", "echo")
        _, t = self.probe_table("--echo", f"127.0.0.1:{good.port},{bad.port}", rc=1)
        self.assertEqual({r.port: r.state for r in t.rows}, {good.port: "OPEN", bad.port: "BADECHO"}, t.text)

    def test_noecho_from_a_silent_listener(self):
        with SilentTcpListener() as lst:
            t0 = time.monotonic()
            _, t = self.probe_table("--echo", "-w", "500ms", f"127.0.0.1:{lst.port}", rc=1)
            took = time.monotonic() - t0
        self.assertEqual([r.state for r in t.rows], ["NOECHO"], t.text)
        self.assertLess(took, 5.0, "NOECHO must come within the timeout")
        self.assertEqual(bytes(lst.data), b"probe", "what --echo sent")

    def test_noecho_when_closed_early(self):
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lst.close)
        lst.bind(("127.0.0.1", 0))
        lst.listen(4)
        port = lst.getsockname()[1]

        def accept_and_close():
            lst.settimeout(T)
            try:
                c, _ = lst.accept()
                c.close()
            except OSError:
                pass
        th = threading.Thread(target=accept_and_close, daemon=True)
        th.start()
        self.addCleanup(th.join, T)
        _, t = self.probe_table("--echo", "-w", "5s", f"127.0.0.1:{port}", rc=1)
        self.assertEqual([r.state for r in t.rows], ["NOECHO"], t.text)


# ----------------------------------------------------------------------------- --count

class ProbeCount(ProbeCase):
    STATS = (rf"^min/avg/max/stddev=({FLOAT})/({FLOAT})/({FLOAT})/({FLOAT})ms$",
             rf"^p50/p90/p99=({FLOAT})/({FLOAT})/({FLOAT})ms$")

    def stats(self, row):
        d = kv(" ".join(row.rest))
        self.assertIn("min/avg/max/stddev", d, row)
        self.assertIn("p50/p90/p99", d, row)
        m = re.match(self.STATS[0], "min/avg/max/stddev=" + d["min/avg/max/stddev"])
        self.assertTrue(m, row)
        p = re.match(self.STATS[1], "p50/p90/p99=" + d["p50/p90/p99"])
        self.assertTrue(p, row)
        return d, [float(x) for x in m.groups()], [float(x) for x in p.groups()]

    def test_count_stats(self):
        srv = self.server()
        _, t = self.probe_table("--count", "5", "--interval", "50ms", f"127.0.0.1:{srv.port}", rc=0)
        self.assertEqual(len(t.rows), 1, t.text)
        r = t.rows[0]
        self.assertEqual(r.state, "OPEN", t.text)
        d, (mn, avg, mx, sd), (p50, p90, p99) = self.stats(r)
        self.assertEqual((d.get("sent"), d.get("recv"), d.get("loss")), ("5", "5", "0.0%"), t.text)
        self.assertTrue(0 < mn <= avg <= mx, t.text)
        self.assertTrue(sd >= 0, t.text)
        self.assertTrue(mn <= p50 <= p90 <= p99 <= mx, t.text)
        # 5 probes 50 ms apart take at least 4 intervals
        self.assertGreaterEqual(float(t.summary["time"].rstrip("s")), 0.19, t.text)

    def test_count_stats_printed_when_every_probe_failed(self):
        port = self.closed_tcp()
        _, t = self.probe_table("--count", "5", "--interval", "50ms", f"127.0.0.1:{port}", rc=1)
        self.assertEqual(len(t.rows), 1, t.text)
        r = t.rows[0]
        self.assertEqual(r.state, "CLOSED", t.text)
        # the counts and the loss are printed; with no round trip at all there is nothing to put
        # in min/avg/max (ping prints no rtt line then), so those are not required here
        d = kv(" ".join(r.rest))
        self.assertEqual((d.get("sent"), d.get("recv"), d.get("loss")), ("5", "0", "100.0%"), t.text)
        self.assertEqual((t.summary.get("endpoints"), t.summary.get("closed")), ("1", "1"), t.text)

    def test_count_udp(self):
        srv = self.server(udp=True)
        _, t = self.probe_table("--udp", "-c", "3", "-i", "50ms", f"127.0.0.1:{srv.port}", rc=0)
        d, _, _ = self.stats(t.rows[0])
        self.assertEqual((d.get("sent"), d.get("recv"), d.get("loss")), ("3", "3", "0.0%"), t.text)


# ----------------------------------------------------------------------------- --json

class ProbeJson(ProbeCase):
    def test_json_lines(self):
        srv = self.server()
        closed = self.closed_tcp()
        _, objs = self.probe_json("--count", "3", "--interval", "50ms", f"127.0.0.1:{srv.port},{closed}", rc=1)
        probes = [o for o in objs if o.get("event") == "probe"]
        stats = [o for o in objs if o.get("event") == "probe_stats"]
        summaries = [o for o in objs if o.get("event") == "probe_summary"]
        self.assertEqual(len(probes), 3 * 2, "one probe object per probe (count x endpoints)")
        self.assertEqual(len(stats), 2, "one probe_stats per endpoint with --count > 1")
        self.assertEqual(len(summaries), 1, objs)
        self.assertEqual(objs[-1].get("event"), "probe_summary", "the summary comes last")
        self.assertEqual(len(objs), len(probes) + len(stats) + 1, f"unknown events: {objs}")
        for o in probes:
            for k in PROBE_KEYS:
                self.assertIn(k, o, o)
            self.assertEqual(o["proto"], "tcp", o)
        open_remote, closed_remote = f"127.0.0.1:{srv.port}", f"127.0.0.1:{closed}"
        self.assertEqual(sorted(o["seq"] for o in probes if o["remote"] == open_remote), [1, 2, 3])
        self.assertEqual(sorted(o["seq"] for o in probes if o["remote"] == closed_remote), [1, 2, 3])
        for o in probes:
            if o["remote"] == open_remote:
                self.assertEqual(o["state"], "OPEN", o)
                self.assertIsInstance(o["rtt_ms"], (int, float), o)
                self.assertGreater(o["rtt_ms"], 0, o)
            else:
                self.assertEqual(o["state"], "CLOSED", o)
                self.assertIsNone(o["rtt_ms"], o)
        for o in stats:  # the endpoint and its statistics: no one probe's local, rtt_ms, seq
            self.assertEqual(list(o), STATS_KEYS, o)
        st = {o["remote"]: o for o in stats}
        self.assertEqual(set(st), {open_remote, closed_remote}, stats)
        self.assertEqual((st[open_remote]["state"], st[closed_remote]["state"]),
                         ("OPEN", "CLOSED"), stats)
        self.assertEqual((st[open_remote].get("sent"), st[open_remote].get("received"),
                          st[open_remote].get("loss_percent")), (3, 3, 0.0), stats)
        self.assertEqual((st[closed_remote].get("sent"), st[closed_remote].get("received"),
                          st[closed_remote].get("loss_percent")), (3, 0, 100.0), stats)
        s = summaries[0]
        n = s["states"]
        self.assertEqual((s.get("endpoints"), n.get("open"), n.get("closed"), n.get("filtered"),
                          n.get("unreachable")), (2, 1, 1, 0, 0), s)
        self.assertIsInstance(s.get("duration_s"), (int, float), s)
        self.assertIsInstance(s.get("resolved"), dict, s)

    def test_json_no_stats_with_count_one(self):
        srv = self.server()
        _, objs = self.probe_json(f"127.0.0.1:{srv.port}", rc=0)
        self.assertEqual([o.get("event") for o in objs], ["probe", "probe_summary"], objs)
        self.assertEqual(objs[0]["seq"], 1, objs)

    def test_json_summary_has_every_documented_key(self):
        srv = self.server()
        _, objs = self.probe_json(f"127.0.0.1:{srv.port}", rc=0)
        s = objs[-1]
        self.assertEqual(s.get("event"), "probe_summary", objs)
        self.assertEqual(list(s), SUMMARY_KEYS, f"probe_summary's keys: {s}")
        self.assertEqual(list(s["states"]), SUMMARY_STATES, f"probe_summary's states: {s}")
        self.assertEqual(sum(s["states"].values()), s["endpoints"], s)

    def test_json_counts_badecho(self):
        srv = self.server("--mode", "echo")
        _, objs = self.probe_json("--echo", f"127.0.0.1:{srv.port}", rc=1)
        self.assertEqual([o["state"] for o in objs if o.get("event") == "probe"], ["BADECHO"], objs)
        self.assertEqual(objs[-1]["states"].get("badecho"), 1, objs[-1])

    def test_json_resolved(self):
        srv = self.server()
        _, objs = self.probe_json("-4", f"localhost:{srv.port}", rc=0)
        self.assertEqual(objs[-1].get("resolved"), {"localhost": ["127.0.0.1"]}, objs[-1])

    def test_json_with_open_keeps_every_probe(self):
        srv = self.server()
        closed = self.closed_tcp()
        _, objs = self.probe_json("--open", f"127.0.0.1:{srv.port},{closed}", rc=1)
        self.assertEqual(objs[-1].get("endpoints"), 2, objs)
        self.assertEqual(objs[-1]["states"].get("closed"), 1, objs)


# ----------------------------------------------------------------------------- -q and --open

class ProbeOutputFlags(ProbeCase):
    def test_quiet(self):
        srv = self.server()
        closed = self.closed_tcp()
        self.assertEqual(self.probe("-q", f"127.0.0.1:{srv.port}"), (0, b"", b""))
        self.assertEqual(self.probe("-q", f"127.0.0.1:{closed}"), (1, b"", b""))
        self.assertEqual(self.probe("-q", f"127.0.0.1:{srv.port},{closed}"), (1, b"", b""))
        self.assertEqual(self.probe("-q", "--json", f"127.0.0.1:{closed}"), (1, b"", b""))
        self.assertEqual(self.probe("-q", "-c", "2", "-i", "50ms", f"127.0.0.1:{closed}"), (1, b"", b""))

    def test_open_hides_the_rest(self):
        srv = self.server()
        base = self.closed_tcp_range(3)
        _, t = self.probe_table("--open", f"127.0.0.1:{base}-{base + 2},{srv.port}", rc=1)
        self.assertEqual([(r.port, r.state) for r in t.rows], [(srv.port, "OPEN")], t.text)
        # the summary still counts every endpoint
        self.assertEqual((t.summary.get("endpoints"), t.summary.get("open"), t.summary.get("closed")),
                         ("4", "1", "3"), t.text)

    def test_open_with_nothing_open(self):
        closed = self.closed_tcp()
        _, t = self.probe_table("--open", f"127.0.0.1:{closed}", rc=1)
        self.assertEqual(t.rows, [], t.text)
        self.assertEqual(t.summary.get("closed"), "1", t.text)


# ----------------------------------------------------------------------------- usage errors

class ProbeUsage(ProbeCase):
    def check(self, *args):
        rc, out, err = self.probe(*args)
        self.assertUsageError(rc, out, err)
        return err

    def test_bad_port_in_list(self):
        self.check("127.0.0.1:80,70000")

    def test_backwards_range(self):
        self.check("127.0.0.1:90-80")

    def test_count_zero(self):
        self.check("--count", "0", "127.0.0.1:80")

    def test_missing_target(self):
        self.check()

    def test_more_malformed(self):
        for args in (["127.0.0.1:"], ["127.0.0.1:80,"], ["127.0.0.1:8o"], ["127.0.0.1:0"],
                     ["-w", "soon", "127.0.0.1:80"], ["--interval", "-1s", "127.0.0.1:80"],
                     ["--concurrency", "0", "127.0.0.1:80"], ["--no-such-flag", "127.0.0.1:80"],
                     ["--unix", "-p", "80", "/tmp/x"]):
            with self.subTest(args=args):
                self.check(*args)

    def test_wait_usage_errors(self):
        for args in (["--wait", "5s", "--count", "2", "127.0.0.1:80"],
                     ["-c", "1", "--wait", "5s", "127.0.0.1:80"],
                     ["--wait", "0", "127.0.0.1:80"], ["--wait", "soon", "127.0.0.1:80"],
                     ["--wait", "5s", "--interval", "0", "127.0.0.1:80"]):
            with self.subTest(args=args):
                self.check(*args)

    def test_nothing_sent_on_a_usage_error(self):
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lst.close)
        lst.bind(("127.0.0.1", 0))
        lst.listen(16)
        port = lst.getsockname()[1]
        self.check(f"127.0.0.1:{port}", "127.0.0.1:80,70000")
        self.check(f"127.0.0.1:{port}", "127.0.0.1:90-80")
        self.check("--wait", "5s", "-c", "3", f"127.0.0.1:{port}")
        self.assertTrue(no_pending_connection(lst), "probe connected before reporting a usage error")


# ----------------------------------------------------------------------------- IPv6

class ProbeIPv6(ProbeCase):
    def setUp(self):
        require_ipv6(self)

    def test_brackets(self):
        srv = self.server(host="::1")
        closed = self.closed_tcp("::1")
        _, t = self.probe_table(f"[::1]:{srv.port},{closed}", rc=1)
        got = {r.foreign: r.state for r in t.rows}
        self.assertEqual(got, {f"[::1]:{srv.port}": "OPEN", f"[::1]:{closed}": "CLOSED"}, t.text)
        open_row = [r for r in t.rows if r.state == "OPEN"][0]
        self.assertRegex(open_row.local, r"^\[::1\]:\d+$", t.text)

    def test_udp6(self):
        srv = self.server(host="::1", udp=True)
        _, t = self.probe_table("--udp", f"[::1]:{srv.port}", rc=0)
        self.assertEqual([(r.foreign, r.state) for r in t.rows], [(f"[::1]:{srv.port}", "OPEN")], t.text)

    def test_json6(self):
        srv = self.server(host="::1")
        _, objs = self.probe_json(f"[::1]:{srv.port}", rc=0)
        self.assertEqual(objs[0].get("remote"), f"[::1]:{srv.port}", objs)


# ----------------------------------------------------------------------------- the full scan

def ss_tcp_listeners():
    """(reachable, other) TCP listener ports from `ss -Hltn`.

    reachable: listening on 127.0.0.1, 0.0.0.0 or * (ss prints a dual-stack [::] listener as
    `*:PORT`) with room in the accept queue. other: `[::]:PORT` (an IPV6_V6ONLY listener, which
    127.0.0.1 does not reach) and listeners whose accept queue is full (Recv-Q >= Send-Q: a SYN
    to them is dropped, so a scan rightly says FILTERED, not OPEN). Those are allowed in the
    scan's result but not required."""
    res = subprocess.run(["ss", "-Hltn"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=T, env=dict(os.environ, LC_ALL="C"))
    if res.returncode != 0:
        raise AssertionError(f"ss -Hltn failed: {res.stderr!r}")
    reachable, other = set(), set()
    for line in res.stdout.decode().splitlines():
        f = line.split()
        if len(f) < 4 or f[0] != "LISTEN":
            continue
        addr, _, port = f[3].rpartition(":")
        addr = addr.split("%", 1)[0]  # 127.0.0.1%lo (SO_BINDTODEVICE)
        if addr in ("127.0.0.1", "0.0.0.0", "*", "[::ffff:127.0.0.1]"):
            full = f[1].isdigit() and f[2].isdigit() and int(f[1]) >= int(f[2])
            (other if full else reachable).add(int(port))
        elif addr == "[::]":
            other.add(int(port))
    return reachable, other


class ProbeFullScan(ProbeCase):
    def test_all_ports_of_loopback(self):
        if not have_tool("ss"):
            self.skipTest("ss (iproute2) is not installed")
        a, b = self.server(), self.server()
        before, before_other = ss_tcp_listeners()
        self.assertTrue({a.port, b.port} <= before, f"ss does not show the servers: {sorted(before)}")
        # Other tests may start and stop listeners meanwhile: sample ss while the scan runs, so a
        # port that was listening only in between is allowed too (but not required).
        argv = [SOCKECHO, "probe", "--open", "127.0.0.1:1-65535"]
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        outbuf, errbuf = [], []
        readers = [threading.Thread(target=lambda p=p, buf=buf: buf.append(p.read()), daemon=True)
                   for p, buf in ((proc.stdout, outbuf), (proc.stderr, errbuf))]
        for th in readers:
            th.start()
        sampled = before | before_other
        try:
            while True:
                try:
                    proc.wait(timeout=0.1)  # paces the sampling; the exit is what we wait for
                    break
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() - t0 > FULL_SCAN_BOUND:
                    self.fail(f"probe of 65,535 ports did not finish within {FULL_SCAN_BOUND}s")
                r, o = ss_tcp_listeners()
                sampled |= r | o
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=T)
            for th in readers:
                th.join(timeout=T)
            proc.stdout.close()
            proc.stderr.close()
        took = time.monotonic() - t0
        after, after_other = ss_tcp_listeners()
        out, err = (outbuf or [b""])[0], (errbuf or [b""])[0]
        self.assertEqual(err, b"", "stderr of the full scan")
        t = Table(self, out)
        found = {r.port for r in t.rows}
        required = before & after
        allowed = sampled | after | after_other
        self.assertEqual({r.state for r in t.rows}, {"OPEN"}, f"--open shows only OPEN rows: {t.text}")
        self.assertEqual(len(found), len(t.rows), f"a port shown twice: {t.text}")
        self.assertEqual(required - found, set(),
                         f"listening ports the scan missed (took {took:.1f}s): {t.text}")
        self.assertEqual(found - allowed, set(),
                         f"ports reported open that ss never showed listening: {t.text}")
        for r in t.rows:
            self.assertEqual(r.host, "127.0.0.1", r)
            self.assertNotEqual(r.local, r.foreign, f"a self-connect reported as OPEN: {r}")
        self.assertEqual(t.summary.get("endpoints"), "65535", t.text)
        self.assertEqual(int(t.summary.get("open", -1)), len(found), t.text)
        self.assertEqual(int(t.summary.get("open")) + int(t.summary.get("closed", 0))
                         + int(t.summary.get("filtered", 0)) + int(t.summary.get("unreachable", 0)),
                         65535, t.text)
        # every port is open or answered, so the exit status is 1 (not all open)
        self.assertEqual(proc.returncode, 1, t.text)


if __name__ == "__main__":
    unittest.main()
