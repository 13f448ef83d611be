"""probe --wait (the readiness gate, as wait-for-it) and --count's rows as each probe comes back.

The waits take seconds by nature: a server that appears 1.5 s after the start IS the scenario,
so a timer in the test starts it (the only place these tests sleep on purpose). To keep the file
short, every scenario starts at once in setUpModule, each in a thread of its own with its own
fixtures (ports it holds, servers, temp dirs), and each test checks the result of its scenario:
the file takes about as long as its longest wait (the 10 s of the CPU-time one), not the sum.

Everything is on 127.0.0.1 or a Unix path in a temporary directory. A "closed" port is one a
scenario holds bound and not listening; a server that "appears" is that socket starting to
listen, so no other process can take the port meanwhile. Every process is killed by PID and
reaped (harness.Server), also when a scenario fails.
"""

import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import T, Server, require_binary, upper
from test_probe import Table, json_lines

# A scenario's whole run, a "does not hang" bound for joining it.
SCENARIO_BOUND = 60.0
INTERVAL = 0.25  # --wait's default --interval


def setUpModule():
    require_binary()
    for s in SCENARIOS.values():
        s.start()


def tearDownModule():
    for s in SCENARIOS.values():
        s.join(SCENARIO_BOUND)


# ----------------------------------------------------------------------------- fixtures

class Scenario(threading.Thread):
    """Runs fn() in the background; result() is what it returned, or raises what it raised."""

    def __init__(self, fn):
        super().__init__(daemon=True, name=fn.__name__)
        self.fn = fn
        self.value = None
        self.error = None

    def run(self):
        try:
            self.value = self.fn()
        except BaseException as e:  # re-raised in the test that asks for it
            self.error = e

    def result(self):
        self.join(SCENARIO_BOUND)
        if self.is_alive():
            raise AssertionError(f"scenario {self.name} did not finish within {SCENARIO_BOUND}s")
        if self.error is not None:
            raise self.error
        return self.value


class Fixtures:
    """What a scenario holds, closed (servers killed by PID and reaped) at its end."""

    def __init__(self):
        self.closers = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for close in reversed(self.closers):
            try:
                close()
            except Exception:
                pass
        return False

    def reserved_port(self):
        """A TCP socket bound to 127.0.0.1, not listening: connects are refused until
        .listen() is called on it, and no one else can take its port meanwhile."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.closers.append(s.close)
        s.bind(("127.0.0.1", 0))
        return s

    def timer(self, delay, fn):
        """fn after delay seconds; cancelled at the end if it has not run."""
        t = threading.Timer(delay, fn)
        t.daemon = True
        self.closers.append(lambda: (t.cancel(), t.join(T)))
        t.start()
        return t

    def probe(self, *args):
        """`sockecho probe ARGS` in the background (stdout read line by line), and when its
        clock started, as near as the test can tell (time.monotonic()): a table's header line
        is printed once probe has set up, just after its start, so t0 is when the header came
        (start-up, slow under a sanitizer, is not counted); for --json and -q, when it was
        started. Delays and times are measured from t0."""
        proc = Server(argv=["probe"] + [str(a) for a in args], ready=None)
        self.closers.append(proc.close)
        t0 = time.monotonic()
        proc.start()
        if "--json" not in args and "-q" not in args:
            header = proc.line(what="the header")
            if header.split()[:2] != ["Proto", "Local"]:
                raise AssertionError(f"the first line is not the header: {header!r}")
            t0 = time.monotonic()
        return proc, t0

    def server(self, *args, **kw):
        srv = Server(*args, **kw)
        self.closers.append(srv.close)
        return srv.start()

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="sockecho-wait-")
        self.closers.append(lambda: shutil.rmtree(d, True))
        return d


def finish(proc, t0, timeout=T + 15):
    """Wait for the probe to exit: (rc, every stdout line, seconds since t0)."""
    rc, rest = proc.wait_exit(timeout)
    return rc, proc.seen, time.monotonic() - t0


def up_of(line):
    """The up= of a row, in seconds."""
    for f in line.split():
        if f.startswith("up="):
            return float(f[3:].rstrip("s"))
    raise AssertionError(f"no up= in {line!r}")


class EchoGate:
    """A TCP service on 127.0.0.1 that accepts and reads, but answers (upper-cased, as sockecho
    does) only once open() was called: a listener that is there but not yet healthy."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.is_open = threading.Event()
        self.opened_at = None
        self.accepted_before_open = 0
        self._stop = threading.Event()
        self._threads = []
        self._conns = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def open(self):
        self.opened_at = time.monotonic()
        self.is_open.set()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if not self.is_open.is_set():
                self.accepted_before_open += 1
            self._conns.append(conn)
            th = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(th)
            th.start()

    def _serve(self, conn):
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                b = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not b:
                return
            if self.is_open.is_set():
                try:
                    conn.sendall(upper(b))
                except OSError:
                    return

    def close(self):
        self._stop.set()
        self._thread.join(T)
        for th in self._threads:
            th.join(T)
        for c in self._conns:
            c.close()
        self.sock.close()


# ----------------------------------------------------------------------------- scenarios

def delayed_server():
    """A port that starts listening 1.5 s after the start: up= about 1.5 s, exit 0."""
    with Fixtures() as fx:
        held = fx.reserved_port()
        port = held.getsockname()[1]
        proc, t0 = fx.probe("--wait", "10s", f"127.0.0.1:{port}")
        listened = []
        fx.timer(1.5, lambda: (held.listen(16), listened.append(time.monotonic() - t0)))
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "took": took, "listened": listened, "port": port,
                "stderr": proc.stderr()}


def never_up():
    """A closed port and a listener that never answers the echo, --wait 2s: exit 1 at 2 s,
    the probe of the silent one (its --timeout is 10 s) cut short at the deadline."""
    with Fixtures() as fx:
        closed = fx.reserved_port().getsockname()[1]
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        fx.closers.append(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # never accepted: connects succeed, nothing ever answers
        proc, t0 = fx.probe("--echo", "-w", "10s", "--wait", "2s", f"127.0.0.1:{closed}",
                            f"127.0.0.1:{silent.getsockname()[1]}")
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "took": took, "closed": closed,
                "silent": silent.getsockname()[1], "stderr": proc.stderr()}


def echo_gate():
    """A listener that accepts at once but answers only after 1.5 s: not up under --echo
    until it answers."""
    with Fixtures() as fx:
        gate = EchoGate()
        fx.closers.append(gate.close)
        proc, t0 = fx.probe("--echo", "-w", "400ms", "--wait", "10s", f"127.0.0.1:{gate.port}")
        fx.timer(1.5, gate.open)
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "took": took, "opened": gate.opened_at - t0,
                "before": gate.accepted_before_open, "stderr": proc.stderr()}


def several():
    """Three ports that come up at 0.3 s, 0.8 s and 1.3 s, in another order than given."""
    with Fixtures() as fx:
        a, b, c = fx.reserved_port(), fx.reserved_port(), fx.reserved_port()
        pa, pb, pc = (s.getsockname()[1] for s in (a, b, c))
        proc, t0 = fx.probe("--json", "--wait", "10s", f"127.0.0.1:{pa},{pb}", f"127.0.0.1:{pc}")
        fx.timer(0.3, lambda: c.listen(16))
        fx.timer(0.8, lambda: a.listen(16))
        fx.timer(1.3, lambda: b.listen(16))
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "order": [pc, pa, pb], "stderr": proc.stderr()}


def unix_socket():
    """--unix: the socket file appears (sockecho serve starts) 1 s after the start."""
    with Fixtures() as fx:
        path = os.path.join(fx.tmpdir(), "s")
        proc, t0 = fx.probe("--unix", "--wait", "10s", path)
        started = []

        def start_server():
            srv = Server(argv=["serve", "--unix", path], ready=None)
            fx.closers.append(srv.close)
            started.append(time.monotonic() - t0)
            srv.start()
        fx.timer(1.0, start_server)
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "took": took, "started": started, "path": path,
                "stderr": proc.stderr()}


def interrupted():
    """SIGINT while one endpoint is up and the other is not: the final row and the summary,
    exit 1."""
    with Fixtures() as fx:
        closed = fx.reserved_port().getsockname()[1]
        srv = fx.server()
        proc, t0 = fx.probe("--wait", "30s", f"127.0.0.1:{srv.port}", f"127.0.0.1:{closed}")
        before = [proc.line(what="the OPEN row")]
        proc.proc.send_signal(signal.SIGINT)
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "before": before, "took": took, "open": srv.port,
                "closed": closed, "stderr": proc.stderr()}


def cpu_time():
    """A 10 s wait on a closed port: its CPU time (wait4's rusage of that one child), and the
    number of probes made (the seq of the final JSON object)."""
    with Fixtures() as fx:
        closed = fx.reserved_port().getsockname()[1]
        proc, t0 = fx.probe("--json", "--wait", "10s", f"127.0.0.1:{closed}")
        pid = proc.proc.pid
        _, status, usage = os.wait4(pid, 0)
        took = time.monotonic() - t0
        proc.proc.returncode = os.waitstatus_to_exitcode(status)
        rc, lines, _ = finish(proc, t0)
        return {"rc": rc, "lines": lines, "took": took, "cpu": usage.ru_utime + usage.ru_stime,
                "stderr": proc.stderr()}


def count_streams():
    """--count 3 --interval 1s: the first row is there while the run goes on (2 s more)."""
    with Fixtures() as fx:
        srv = fx.server()
        proc, t0 = fx.probe("-c", "3", "-i", "1s", f"127.0.0.1:{srv.port}")
        first = proc.line(what="the first probe's row")
        first_at = time.monotonic() - t0
        running = proc.proc.poll() is None
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "first": first, "first_at": first_at,
                "running": running, "took": took, "stderr": proc.stderr()}


def count_interrupted():
    """--count 100: SIGINT after two rows ends the run with the statistics so far."""
    with Fixtures() as fx:
        srv = fx.server()
        proc, t0 = fx.probe("-c", "100", "-i", "200ms", f"127.0.0.1:{srv.port}")
        proc.lines(2)  # two probes' rows
        proc.proc.send_signal(signal.SIGINT)
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "took": took, "stderr": proc.stderr()}


def udp_service():
    """--udp: a port that answers ICMP port unreachable (CLOSED), then, from 0.8 s on, is
    served: up once the reply comes."""
    with Fixtures() as fx:
        held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fx.closers.append(held.close)
        held.bind(("127.0.0.1", 0))
        held.connect(("127.0.0.1", 9))  # others' datagrams draw a port unreachable
        port = held.getsockname()[1]
        proc, t0 = fx.probe("--udp", "-w", "300ms", "--wait", "10s", f"127.0.0.1:{port}")
        served = []
        stop = threading.Event()

        def serve():
            # The same port, now answering (upper-cased, as sockecho serve --udp does).
            held.close()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", port))
                s.settimeout(0.1)
                served.append(time.monotonic() - t0)
                while not stop.is_set():
                    try:
                        data, peer = s.recvfrom(65536)
                    except socket.timeout:
                        continue
                    s.sendto(upper(data), peer)
        th = threading.Thread(target=serve, daemon=True)
        fx.closers.append(lambda: (stop.set(), th.join(T)))
        fx.timer(0.8, th.start)
        rc, lines, took = finish(proc, t0)
        return {"rc": rc, "lines": lines, "served": served, "port": port, "stderr": proc.stderr()}


def quiet():
    """-q: nothing printed; the exit status says whether all came up."""
    with Fixtures() as fx:
        closed = fx.reserved_port().getsockname()[1]
        srv = fx.server()
        down, t0 = fx.probe("-q", "--wait", "1s", f"127.0.0.1:{srv.port}", f"127.0.0.1:{closed}")
        up, t1 = fx.probe("-q", "--wait", "10s", f"127.0.0.1:{srv.port}")
        rc_up, lines_up, took_up = finish(up, t1)
        rc_down, lines_down, took_down = finish(down, t0)
        return {"up": (rc_up, lines_up, up.stderr()), "took_up": took_up,
                "down": (rc_down, lines_down, down.stderr()), "took_down": took_down}


SCENARIOS = {fn.__name__: Scenario(fn) for fn in (
    delayed_server, never_up, echo_gate, several, unix_socket, udp_service, quiet, interrupted,
    cpu_time, count_streams, count_interrupted)}


def table(test, lines):
    return Table(test, ("\n".join(lines) + "\n").encode())


# ----------------------------------------------------------------------------- tests

class Wait(unittest.TestCase):
    maxDiff = 4000

    def test_a_server_that_appears_later(self):
        r = SCENARIOS["delayed_server"].result()
        self.assertEqual((r["rc"], r["stderr"]), (0, b""), r["lines"])
        t = table(self, r["lines"])
        self.assertEqual([(row.foreign, row.state) for row in t.rows],
                         [(f"127.0.0.1:{r['port']}", "OPEN")], t.text)
        up = up_of(t.rows[0].line)
        listened = r["listened"][0]
        # Up no earlier than it listened (up= is rounded to the millisecond), and within an
        # interval after it (and some slack for a busy machine).
        self.assertGreaterEqual(up, listened - 0.001, t.text)
        self.assertLessEqual(up, listened + INTERVAL + 0.3, t.text)
        self.assertLess(r["took"], listened + INTERVAL + 1.0, "probe went on after all came up")
        self.assertEqual((t.summary.get("open"), t.summary.get("closed")), ("1", "0"), t.text)

    def test_never_up_ends_at_the_deadline(self):
        r = SCENARIOS["never_up"].result()
        self.assertEqual((r["rc"], r["stderr"]), (1, b""), r["lines"])
        t = table(self, r["lines"])
        self.assertEqual({row.port: row.state for row in t.rows},
                         {r["closed"]: "CLOSED", r["silent"]: "NOECHO"}, t.text)
        self.assertNotIn("up=", t.text)
        # Within DUR plus 10%: the probe of the silent one (10 s timeout) was cut short.
        seconds = float(t.summary["time"].rstrip("s"))
        self.assertGreaterEqual(seconds, 2.0, t.text)
        self.assertLessEqual(seconds, 2.2, t.text)
        self.assertLessEqual(r["took"], 2.2 + 0.3, "wall time, exit included")

    def test_not_up_until_the_echo_is_right(self):
        r = SCENARIOS["echo_gate"].result()
        self.assertEqual((r["rc"], r["stderr"]), (0, b""), r["lines"])
        t = table(self, r["lines"])
        self.assertEqual([row.state for row in t.rows], ["OPEN"], t.text)
        up = up_of(t.rows[0].line)
        self.assertGreaterEqual(r["before"], 2, "the probe kept trying while nothing answered")
        self.assertGreaterEqual(up, r["opened"] - 0.001, f"up before the service answered: {t.text}")
        self.assertLessEqual(up, r["opened"] + 0.4 + INTERVAL + 0.3, t.text)

    def test_several_endpoints_in_the_order_they_come_up(self):
        r = SCENARIOS["several"].result()
        self.assertEqual((r["rc"], r["stderr"]), (0, b""), r["lines"])
        objs = json_lines(self, ("\n".join(r["lines"]) + "\n").encode())
        probes = [o for o in objs if o.get("event") == "probe"]
        self.assertEqual([o["remote"] for o in probes], [f"127.0.0.1:{p}" for p in r["order"]], objs)
        self.assertEqual({o["state"] for o in probes}, {"OPEN"}, objs)
        ups = [o["up_s"] for o in probes]
        self.assertTrue(all(isinstance(u, float) for u in ups), objs)
        self.assertEqual(ups, sorted(ups), objs)
        self.assertTrue(all(o["got"] is None for o in probes), objs)
        self.assertEqual(objs[-1].get("event"), "probe_summary", objs)
        self.assertEqual((objs[-1].get("endpoints"), objs[-1]["states"]["open"]), (3, 3), objs[-1])

    def test_unix_waits_for_the_socket_file(self):
        r = SCENARIOS["unix_socket"].result()
        self.assertEqual((r["rc"], r["stderr"]), (0, b""), r["lines"])
        t = table(self, r["lines"])
        self.assertEqual([(row.proto, row.foreign, row.state) for row in t.rows],
                         [("unix", r["path"], "OPEN")], t.text)
        self.assertGreaterEqual(up_of(t.rows[0].line), r["started"][0] - 0.001, t.text)

    def test_udp_is_up_once_it_replies(self):
        r = SCENARIOS["udp_service"].result()
        self.assertEqual((r["rc"], r["stderr"]), (0, b""), r["lines"])
        t = table(self, r["lines"])
        self.assertEqual([(row.proto, row.port, row.state) for row in t.rows],
                         [("udp", r["port"], "OPEN")], t.text)
        self.assertGreaterEqual(up_of(t.rows[0].line), r["served"][0] - 0.001, t.text)

    def test_quiet_says_it_with_the_exit_status(self):
        r = SCENARIOS["quiet"].result()
        self.assertEqual(r["up"], (0, [], b""))
        self.assertEqual(r["down"], (1, [], b""))
        self.assertLess(r["took_up"], 5.0, "a wait for what is up at once ends at once")
        self.assertTrue(1.0 <= r["took_down"] <= 1.1 + 0.5, f"{r['took_down']}s, start-up included")

    def test_sigint_prints_what_is_known_and_exits_1(self):
        r = SCENARIOS["interrupted"].result()
        self.assertEqual((r["rc"], r["stderr"]), (1, b""), r["lines"])
        self.assertIn(f"127.0.0.1:{r['open']}", r["before"][0])
        self.assertIn("up=", r["before"][0])
        t = table(self, r["lines"])
        self.assertEqual([(row.port, row.state) for row in t.rows],
                         [(r["open"], "OPEN"), (r["closed"], "CLOSED")], t.text)
        self.assertEqual((t.summary.get("open"), t.summary.get("closed")), ("1", "1"), t.text)
        self.assertLess(r["took"], 10.0, "SIGINT did not end the 30 s wait")

    def test_a_long_wait_costs_no_cpu(self):
        r = SCENARIOS["cpu_time"].result()
        self.assertEqual((r["rc"], r["stderr"]), (1, b""), r["lines"])
        self.assertLess(r["cpu"], 0.2, f"CPU seconds of a 10 s wait on a closed port")
        objs = json_lines(self, ("\n".join(r["lines"]) + "\n").encode())
        probes = [o for o in objs if o.get("event") == "probe"]
        self.assertEqual([o["state"] for o in probes], ["CLOSED"], objs)
        self.assertIsNone(probes[0]["up_s"], objs)
        # One probe per interval (40 in 10 s), not a hot loop of refused connects.
        self.assertTrue(36 <= probes[0]["seq"] <= 41, probes)
        self.assertGreaterEqual(r["took"], 10.0)
        self.assertTrue(10.0 <= objs[-1]["duration_s"] <= 11.0, objs[-1])


class CountRows(unittest.TestCase):
    def test_a_row_per_probe_while_it_runs(self):
        r = SCENARIOS["count_streams"].result()
        self.assertEqual((r["rc"], r["stderr"]), (0, b""), r["lines"])
        self.assertTrue(r["running"], "the first row came only when the run was over")
        self.assertLess(r["first_at"], 1.0, "the first row waited for later probes")
        self.assertIn("seq=1", r["first"].split())
        t = table(self, r["lines"])
        self.assertEqual([row.state for row in t.probes], ["OPEN"] * 3, t.text)
        self.assertEqual([row.line.split()[-1] for row in t.probes], ["seq=1", "seq=2", "seq=3"], t.text)
        self.assertEqual(len(t.rows), 1, t.text)
        self.assertIn("sent=3", t.rows[0].fields)
        self.assertIn("recv=3", t.rows[0].fields)

    def test_sigint_ends_with_the_statistics_so_far(self):
        r = SCENARIOS["count_interrupted"].result()
        self.assertEqual((r["rc"], r["stderr"]), (0, b""), r["lines"])
        t = table(self, r["lines"])
        self.assertGreaterEqual(len(t.probes), 2, t.text)
        self.assertEqual(len(t.rows), 1, t.text)
        sent = int(dict(f.split("=", 1) for f in t.rows[0].fields if "=" in f)["sent"])
        self.assertEqual(sent, len(t.probes), t.text)
        self.assertLess(sent, 100, t.text)
        self.assertLess(r["took"], 10.0, t.text)


if __name__ == "__main__":
    unittest.main()
