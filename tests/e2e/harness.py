"""Shared helpers for the sockecho end-to-end tests.

The binary comes from $SOCKECHO (set by ctest); run by hand it defaults to build/sockecho.
Everything talks over loopback (127.0.0.1, ::1) on port 0 / ephemeral ports, so two test
files may run at once. Every process a test starts is killed by PID and reaped, also when the
test fails. Timeouts are generous "does not hang" bounds, never the thing being waited for:
the server's LISTEN line (or a peer's own "listening" message) is the readiness signal.

Every line sockecho writes to stdout under --json is checked against json_schema as it is
read (Server.line, its drain at exit, run_sockecho/run_timed/run_faulted), and the lines a
test never read when a Server is closed: a line that is not JSON or breaks the schema fails
the test then and there (a SchemaError, an AssertionError).
"""

import errno
import hashlib
import json
import os
import queue
import random
import re
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import json_schema

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SOCKECHO = os.environ.get("SOCKECHO") or os.path.join(REPO, "build", "sockecho")

# The generous bound for anything that should happen "at once" (a reply, an exit, a line).
T = 10.0

SKIP = 77  # ctest SKIP_RETURN_CODE

_UPPER = bytes(b - 32 if 0x61 <= b <= 0x7A else b for b in range(256))


def upper(data: bytes) -> bytes:
    """What the default service must return: ASCII a-z upper-cased, every other byte as is."""
    return data.translate(_UPPER)


def require_binary():
    """Call from setUpModule: a missing binary is an error, not a skip."""
    if not (os.path.isfile(SOCKECHO) and os.access(SOCKECHO, os.X_OK)):
        raise RuntimeError(f"sockecho binary not found at {SOCKECHO!r} (set $SOCKECHO or build it)")


def skip_file(reason: str):
    """Skip the whole file: ctest counts exit status 77 as skipped."""
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP)


def have_tool(name: str) -> bool:
    return shutil.which(name) is not None


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def require_tool(test: unittest.TestCase, name: str):
    if not have_tool(name):
        test.skipTest(f"{name} is not installed")


def require_ipv6(test: unittest.TestCase):
    if not ipv6_available():
        test.skipTest("::1 is not available")


# ----------------------------------------------------------------------------- processes

def _kill_and_reap(proc: subprocess.Popen, group: bool = False):
    if proc.poll() is None:
        try:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=T)
    except subprocess.TimeoutExpired:
        pass
    if group:
        # The peer's children (socat fork, its EXEC) share the group the peer leads.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _LineReader(threading.Thread):
    """Reads a pipe line by line into a queue; None marks EOF."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.q = queue.Queue()

    def run(self):
        try:
            for raw in iter(self.pipe.readline, b""):
                self.q.put(raw)
        except (OSError, ValueError):
            pass
        finally:
            self.q.put(None)


class _Collector(threading.Thread):
    """Reads a pipe to EOF into a bytes buffer."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.chunks = []
        self.lock = threading.Lock()

    def run(self):
        try:
            while True:
                b = self.pipe.read1(65536) if hasattr(self.pipe, "read1") else self.pipe.read(65536)
                if not b:
                    break
                with self.lock:
                    self.chunks.append(b)
        except (OSError, ValueError):
            pass

    def data(self) -> bytes:
        with self.lock:
            return b"".join(self.chunks)


def listen_port(line: str):
    """The port of a LISTEN line: field 4 after the last ':' (or the JSON 'local' key);
    None for a Unix-domain listener, whose local address is a path."""
    if line.lstrip().startswith("{"):
        local = json.loads(line)["local"]
    else:
        local = line.split()[3]
    if local.startswith(("/", "@")):
        return None
    return int(local.rsplit(":", 1)[1])


def json_output_of(args) -> bool:
    """Whether sockecho's stdout for args (after the binary) is JSON lines: --json, and no
    --help (which prints help whatever else is given)."""
    args = [str(a) for a in args]
    return "--json" in args and not ({"-h", "--help"} & set(args))


def check_json_line(raw: bytes, what: str):
    """Validates one stdout line of a --json run against json_schema; fails the test
    (json_schema.SchemaError) with what it came from."""
    try:
        json_schema.check_line(raw)
    except json_schema.SchemaError as e:
        raise json_schema.SchemaError(f"{what}: {e}") from None


def check_json_output(args, out: bytes, rc=None):
    """Validates a finished run's stdout when it is JSON lines (json_output_of(args)).
    A cut last line is allowed only when a signal ended the process (rc < 0)."""
    if not json_output_of(args):
        return
    try:
        json_schema.check_output(out, cut_ok=rc is not None and rc < 0)
    except json_schema.SchemaError as e:
        raise json_schema.SchemaError(f"sockecho {' '.join(map(str, args))}: {e}") from None


class Server:
    """`sockecho serve -p 0 -b HOST [args]` running in the background.

    with Server("--mode", "echo") as srv:    # returns once the LISTEN line was read
        srv.port, srv.listen_line
        srv.line() / srv.lines(n) / srv.expect(lambda f: ...)   # further stdout lines
        rc, rest = srv.stop(signal.SIGTERM)   # signal by PID, reap, the remaining stdout lines

    host=None leaves out -b (dual-stack). argv= replaces the whole argument list (after the
    binary). stdin is /dev/null (or the given fd), or with closed_stdin=True the server starts
    with fd 0 closed.
    ready='listen' waits for the LISTEN line; ready='proc' finds the port from /proc (for -q);
    ready=None does not wait. prefix= goes before the binary (a launcher that execs it, so the
    PID stays the server's, e.g. fiu-run: see FaultServer); env= replaces the environment.

    With --json, every stdout line is checked against json_schema when it is read, and at
    close() those never read: a bad one fails the test (see the module's docstring).
    """

    def __init__(self, *args, host="127.0.0.1", udp=False, argv=None, closed_stdin=False,
                 stdin=subprocess.DEVNULL, ready="listen", timeout=T, prefix=(), env=None):
        if argv is None:
            argv = ["serve"] + (["--udp"] if udp else []) + ["-p", "0"]
            if host is not None:
                argv += ["-b", host]
            argv += list(args)
        self.argv = [SOCKECHO] + list(argv)
        self.udp = udp or "--udp" in self.argv
        self.closed_stdin = closed_stdin
        self.stdin = stdin
        self.ready = ready
        self.timeout = timeout
        self.prefix = list(prefix)
        self.env = env
        self.proc = None
        self.port = None
        self.listen_line = None
        self.seen = []  # every stdout line read so far (without the newline)
        self.json = json_output_of(self.argv[1:])  # stdout lines are checked against the schema
        self._stdout = None
        self._stderr = None

    # -- lifecycle
    def start(self):
        cmd = self.prefix + self.argv
        if self.closed_stdin:
            cmd = ["sh", "-c", 'exec "$@" 0<&-', "sh"] + cmd  # exec: same PID
        self.proc = subprocess.Popen(cmd, stdin=self.stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env)
        self._stdout = _LineReader(self.proc.stdout)
        self._stdout.start()
        self._stderr = _Collector(self.proc.stderr)
        self._stderr.start()
        try:
            if self.ready == "listen":
                line = self.line(self.timeout, what="the LISTEN line")
                if line.lstrip().startswith("{"):
                    ok = json.loads(line).get("event") == "listen"
                else:
                    f = line.split()
                    ok = len(f) >= 6 and f[5] == "LISTEN"
                if not ok:
                    raise AssertionError(f"first stdout line is not LISTEN: {line!r}")
                self.listen_line = line
                self.port = listen_port(line)
                if self.port is not None and not 0 < self.port < 65536:
                    raise AssertionError(f"LISTEN line shows port {self.port}: {line!r}")
            elif self.ready == "proc":
                self.port = wait_bound_port(self.proc.pid, "udp" if self.udp else "tcp",
                                            self.timeout, self.proc)
        except BaseException:
            self.close(check=False)
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        self.close(check=exc_type is None)  # a failing test's own error comes first
        return False

    def close(self, check=True):
        """Always: kill by PID and reap. With --json and check, then validates the stdout
        lines no one read (complete ones: our kill may have cut the last)."""
        if self.proc is not None:
            killed = self.proc.poll() is None
            _kill_and_reap(self.proc)
            for t in (self._stdout, self._stderr):
                if t is not None:
                    t.join(timeout=T)
            for p in (self.proc.stdout, self.proc.stderr):
                try:
                    p.close()
                except OSError:
                    pass
            unread = []
            while self._stdout is not None:
                try:
                    raw = self._stdout.q.get_nowait()
                except queue.Empty:
                    break
                if raw is None:
                    self._stdout.q.put(None)
                    break
                unread.append(raw)
            if self.json and check:
                for raw in unread:
                    if raw.endswith(b"\n") or not killed:
                        check_json_line(raw, f"serve {self.argv[1:]}, a line never read")

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self) -> bytes:
        return self._stderr.data() if self._stderr else b""

    def _diag(self) -> str:
        rc = self.proc.poll() if self.proc else None
        return f"(argv={self.argv[1:]}, rc={rc}, stdout so far={self.seen!r}, stderr={self.stderr()!r})"

    # -- stdout
    def line(self, timeout=T, what="a line") -> str:
        """The next stdout line (without '\\n'); fails on timeout or EOF."""
        try:
            raw = self._stdout.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no stdout line within {timeout}s while waiting for {what} {self._diag()}")
        if raw is None:
            self._stdout.q.put(None)  # keep EOF sticky
            raise AssertionError(f"server stdout ended while waiting for {what} {self._diag()}")
        line = raw.decode("utf-8", "replace").rstrip("\n")
        self.seen.append(line)
        if self.json:
            check_json_line(raw, f"serve {self.argv[1:]}")
        return line

    def lines(self, n, timeout=T):
        deadline = time.monotonic() + timeout
        return [self.line(max(0.0, deadline - time.monotonic()), what=f"{n} lines") for _ in range(n)]

    def expect(self, pred, timeout=T, what="a matching line"):
        """Read lines until pred(fields) (fields = line.split()) is true; return that line."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(max(0.0, deadline - time.monotonic()), what=what)
            if pred(line.split()):
                return line

    def expect_state(self, state, remote=None, timeout=T):
        """Wait for a netstat-style line with this State (and Foreign address)."""
        def pred(f):
            return len(f) >= 6 and f[5] == state and (remote is None or f[4] == remote)
        return self.expect(pred, timeout, what=f"a {state} line for {remote or 'any peer'}")

    def _drain(self, timeout):
        out = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = self._stdout.q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if raw is None:
                self._stdout.q.put(None)
                break
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.seen.append(line)
            if self.json:
                check_json_line(raw, f"serve {self.argv[1:]}")
            out.append(line)
        return out

    # -- ending
    def wait_exit(self, timeout=T):
        """Wait for the server to exit on its own; (rc, remaining stdout lines)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server did not exit within {timeout}s {self._diag()}")
        return rc, self._drain(T)

    def stop(self, sig=signal.SIGTERM, timeout=T):
        """Send sig by PID, wait (reaping); (rc, remaining stdout lines)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout)


def run_sockecho(args, input=None, timeout=T, stdin=None, env=None):
    """Run sockecho once; (rc, stdout bytes, stderr bytes). Killed and reaped on timeout."""
    rc, out, err, _ = run_timed([SOCKECHO] + list(args), input=input, timeout=timeout,
                                stdin=stdin, env=env)
    return rc, out, err


def run_timed(argv, input=None, timeout=T, stdin=None, env=None):
    """(rc, stdout, stderr, seconds); fails the test (after kill+reap) if it outlives timeout.
    When argv runs sockecho with --json (after a launcher or not), its stdout must be JSON
    lines that fit json_schema, or the test fails."""
    if input is not None:
        stdin_arg = subprocess.PIPE
    elif stdin is None:
        stdin_arg = subprocess.DEVNULL
    else:
        stdin_arg = stdin
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=stdin_arg, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_and_reap(proc)
        out, err = proc.communicate()
        raise AssertionError(f"{argv[1:] if argv[0] == SOCKECHO else argv} did not exit within "
                             f"{timeout}s; stdout={out[:300]!r} stderr={err[:300]!r}")
    finally:
        _kill_and_reap(proc)
    if SOCKECHO in argv:
        check_json_output(argv[argv.index(SOCKECHO) + 1:], out, proc.returncode)
    return proc.returncode, out, err, time.monotonic() - t0


class Peer:
    """A peer program (nc, socat) in its own process group; killed with its children.

    ready: a regex on its stderr whose group 1 is the port it listens on (e.g. nc -v -l,
    socat -d -d), or None. After start, .port is that port.
    """

    def __init__(self, argv, ready=None, stdin=subprocess.DEVNULL, env=None, timeout=T):
        self.argv = argv
        self.ready = re.compile(ready) if ready else None
        self.stdin = stdin
        self.env = dict(os.environ, LC_ALL="C") if env is None else env
        self.timeout = timeout
        self.proc = None
        self.port = None
        self.err_lines = []
        self._out = None
        self._err = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.argv, stdin=self.stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env,
                                     start_new_session=True)
        self._out = _Collector(self.proc.stdout)
        self._out.start()
        self._err = _LineReader(self.proc.stderr)
        self._err.start()
        try:
            if self.ready is not None:
                deadline = time.monotonic() + self.timeout
                while True:
                    try:
                        raw = self._err.q.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        raise AssertionError(f"{self.argv[0]} not ready within {self.timeout}s: {self.err_lines}")
                    if raw is None:
                        raise AssertionError(f"{self.argv[0]} exited before ready: {self.err_lines}")
                    line = raw.decode("utf-8", "replace")
                    self.err_lines.append(line)
                    m = self.ready.search(line)
                    if m:
                        self.port = int(m.group(1))
                        break
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.proc is not None:
            _kill_and_reap(self.proc, group=True)
            for t in (self._out, self._err):
                if t is not None:
                    t.join(timeout=T)
            for p in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
                if p is not None:
                    try:
                        p.close()
                    except OSError:
                        pass

    def wait(self, timeout=T):
        """Wait for the peer to exit; then its stdout is complete (the reader reached EOF)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.argv} did not exit within {timeout}s")
        self._out.join(timeout=timeout)
        return rc

    def stdout(self) -> bytes:
        """What the peer wrote so far (all of it after wait())."""
        return self._out.data()


# ----------------------------------------------------------------------------- transfers

MiB = 1024 * 1024


def sha(b) -> str:
    return hashlib.sha256(b).hexdigest()


def payload(rng: random.Random, n: int) -> bytes:
    """n pseudo-random bytes, a third of them ASCII lower-case, so upper() changes plenty."""
    raw = bytearray(rng.randbytes(n))
    letters = rng.randbytes(n)
    raw[::3] = bytes(0x61 + b % 26 for b in letters[::3])
    return bytes(raw)


def fd_count(pid) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(n, i + 4096)):
                if a[j] != b[j]:
                    return j
    return n


class Stream:
    """One client connection driven by pump(): sends data, half-closes, reads to EOF.

    hold_reads: do not read until everything is sent, or until no write makes progress (the
    server stopped reading because this client does not read its replies).
    """

    def __init__(self, sock, data: bytes, hold_reads=False, sent=0, name=""):
        self.sock = sock
        self.data = data
        self.view = memoryview(data)
        self.sent = sent
        self.got = bytearray()
        self.shut = False
        self.eof = False
        self.error = None
        self.reading = not hold_reads
        self.shut_before_reading = False
        self.name = name
        sock.setblocking(False)

    def mask(self):
        if self.eof or self.error is not None:
            return 0
        m = 0
        if self.sent < len(self.data):
            m |= selectors.EVENT_WRITE
        if self.reading:
            m |= selectors.EVENT_READ
        return m

    def _maybe_shut(self):
        if self.sent == len(self.data) and not self.shut:
            self.sock.shutdown(socket.SHUT_WR)
            self.shut = True
            if not self.reading:
                self.shut_before_reading = True
                self.reading = True


def pump(streams, timeout=3 * T, progress=None):
    """Drive every Stream until each saw EOF or an error, or timeout; returns seconds taken.
    progress(stream), if given, is called after each event handled for a stream."""
    sel = selectors.DefaultSelector()
    registered = {}

    def update(s):
        m = s.mask()
        old = registered.get(s)
        if m == 0:
            if old is not None:
                sel.unregister(s.sock)
                del registered[s]
        elif old is None:
            sel.register(s.sock, m, s)
            registered[s] = m
        elif old != m:
            sel.modify(s.sock, m, s)
            registered[s] = m

    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        for s in streams:
            try:
                s._maybe_shut()
            except OSError as e:
                s.error = e
            update(s)
        while registered:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            events = sel.select(timeout=min(left, 0.2))
            if not events:
                # Nothing moved for 0.2 s: the writers are stalled behind their unread replies.
                for s in streams:
                    if not s.reading:
                        s.reading = True
                        update(s)
                continue
            for key, ev in events:
                s = key.data
                if ev & selectors.EVENT_WRITE and s.error is None:
                    try:
                        s.sent += s.sock.send(s.view[s.sent:s.sent + 262144])
                        s._maybe_shut()
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        s.error = e
                if ev & selectors.EVENT_READ and s.error is None:
                    try:
                        chunk = s.sock.recv(1 << 20)
                        if chunk:
                            s.got += chunk
                        else:
                            s.eof = True
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        s.error = e
                update(s)
                if progress is not None:
                    progress(s)
    finally:
        sel.close()
    return time.monotonic() - t0


# ----------------------------------------------------------------------------- /proc

def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[len("socket:["):-1])
    except OSError:
        pass
    return inodes


def bound_ports(pid, proto):
    """Local ports of the pid's sockets (TCP: LISTEN only) from /proc/net/{proto,proto6}."""
    inodes = _socket_inodes(pid)
    ports = set()
    for name in (proto, proto + "6"):
        try:
            with open(f"/proc/net/{name}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) < 10 or f[9] not in inodes:
                continue
            if proto == "tcp" and f[3] != "0A":
                continue
            ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def wait_bound_port(pid, proto, timeout=T, proc=None):
    """Poll /proc (bounded) until the process has a bound/listening socket; its port."""
    deadline = time.monotonic() + timeout
    while True:
        ports = bound_ports(pid, proto)
        if ports:
            return min(ports)
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited (rc={proc.returncode}) before binding")
        if time.monotonic() > deadline:
            raise AssertionError(f"pid {pid} bound no {proto} port within {timeout}s")
        time.sleep(0.02)  # polling /proc: there is no signal to wait on


def _table_ports(table, port):
    """Inodes of sockets in /proc/net/<table> whose local port is port."""
    found = set()
    try:
        with open(f"/proc/net/{table}") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return found
    for row in rows:
        f = row.split()
        if len(f) >= 10 and int(f[1].rsplit(":", 1)[1], 16) == port:
            found.add(f[9])
    return found


def claim_port_in_other_family(test, srv, host):
    """The server must not hold srv.port on host's family (e.g. `-6` must not take IPv4).

    Binds host:port itself (no listen, kept until the test ends): the bind succeeding shows
    the server does not hold that port there, and a connect to it is then refused by our
    own socket, never accepted by another test's listener that happened to get the port.
    A bind failing because some *other* process holds the port is a collision: skip.
    """
    fam = family_of(host)
    s = socket.socket(fam, socket.SOCK_STREAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        s.bind((host, srv.port))
    except OSError as e:
        s.close()
        if e.errno != errno.EADDRINUSE:
            raise
        table = "tcp6" if fam == socket.AF_INET6 else "tcp"
        others = _table_ports(table, srv.port) - _socket_inodes(srv.pid)
        if others:
            test.skipTest(f"port {srv.port} on {host} is held by another process")
        test.fail(f"the server holds port {srv.port} on {host} too ({srv.listen_line!r})")
    test.addCleanup(s.close)
    with test.assertRaises(ConnectionRefusedError):
        with socket.create_connection((host, srv.port), timeout=T):
            pass


def tcp_queues(local_port, remote_port):
    """(tx_queue, rx_queue) of the 127.0.0.1 TCP socket local_port -> remote_port, from
    /proc/net/tcp: bytes written but not yet taken by the peer, and bytes not yet read."""
    want = (f"0100007F:{local_port:04X}", f"0100007F:{remote_port:04X}")
    with open("/proc/net/tcp") as f:
        for row in f.read().splitlines()[1:]:
            fl = row.split()
            if (fl[1], fl[2]) == want:
                tx, rx = fl[4].split(":")
                return int(tx, 16), int(rx, 16)
    raise AssertionError(f"no TCP socket 127.0.0.1:{local_port} -> {remote_port}")


def rss_kib(pid) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# ----------------------------------------------------------------------------- sockets

def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(port, host="127.0.0.1", timeout=T) -> socket.socket:
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def udp_socket(host="127.0.0.1", timeout=T) -> socket.socket:
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.bind((host, 0))
    return s


def recv_exact(sock, n, timeout=T) -> bytes:
    """Exactly n bytes; fails on EOF or timeout, saying what had arrived."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {len(buf)} of {n} bytes: {bytes(buf[:200])!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - len(buf), 1 << 20))
        except socket.timeout:
            raise AssertionError(f"timed out after {len(buf)} of {n} bytes: {bytes(buf[:200])!r}")
        if not chunk:
            raise AssertionError(f"EOF after {len(buf)} of {n} bytes: {bytes(buf[:200])!r}")
        buf += chunk
    return bytes(buf)


def recv_to_eof(sock, timeout=T) -> bytes:
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no EOF within {timeout}s; got {len(buf)} bytes: {bytes(buf[:200])!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            raise AssertionError(f"no EOF within {timeout}s; got {len(buf)} bytes: {bytes(buf[:200])!r}")
        if not chunk:
            return bytes(buf)
        buf += chunk


def exchange(sock, data: bytes, expect=None, timeout=T) -> bytes:
    """Send data, read len(expect) bytes (default upper(data)); return what came back."""
    want = upper(data) if expect is None else expect
    sock.sendall(data)
    return recv_exact(sock, len(want), timeout)


def no_pending_connection(listener: socket.socket) -> bool:
    listener.setblocking(False)
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return True
    finally:
        listener.setblocking(True)
    conn.close()
    return False


def no_pending_datagram(sock: socket.socket) -> bool:
    r, _, _ = select.select([sock], [], [], 0)
    return not r


def one_error_line(test: unittest.TestCase, err: bytes):
    """stderr is exactly one line `sockecho: <what>: <why>`."""
    test.assertRegex(err.decode("utf-8", "replace"), r"\Asockecho: [^\n]*\S: [^\n]*\S\n\Z",
                     f"stderr is not one 'sockecho: <what>: <why>' line: {err!r}")


def kv(line: str) -> dict:
    """key=value fields of a line."""
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


class SilentTcpListener:
    """A plain listener that accepts, reads everything, and never answers or closes."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(family_of(host), socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.data = bytearray()
        self.eof = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)
            conn.settimeout(0.1)
            while not self._stop:
                try:
                    b = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not b:
                    self.eof.set()
                    break
                self.data += b

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(timeout=T)
        for c in self.conns:
            c.close()
        self.sock.close()
        return False


class UdpPeer:
    """A UDP peer on 127.0.0.1/::1 that records datagrams and answers with reply(data)
    (None: stays silent)."""

    def __init__(self, reply=upper, host="127.0.0.1"):
        self.reply = reply
        self.sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.got = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.got.append(data)
            if self.reply is not None:
                r = self.reply(data)
                if r is not None:
                    self.sock.sendto(r, addr)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(timeout=T)
        self.sock.close()
        return False


class E2E(unittest.TestCase):
    """Base class: a sockets and servers registry closed on cleanup, plus shorthands."""

    maxDiff = 2000

    def server(self, *args, **kw) -> Server:
        srv = Server(*args, **kw)
        self.addCleanup(srv.close)
        return srv.start()

    def fault_server(self, *args, **kw) -> "FaultServer":
        """A FaultServer (sockecho under fiu-run), closed on cleanup."""
        srv = FaultServer(*args, **kw)
        self.addCleanup(srv.close)
        return srv.start()

    def tcp(self, port, host="127.0.0.1", timeout=T) -> socket.socket:
        s = connect(port, host, timeout)
        self.addCleanup(s.close)
        return s

    def udp(self, host="127.0.0.1", timeout=T) -> socket.socket:
        s = udp_socket(host, timeout)
        self.addCleanup(s.close)
        return s

    def assertSameBytes(self, got, want, what):
        """got == want, or a failure that says where they part (not two megabyte dumps)."""
        got, want = bytes(got), bytes(want)
        if (len(got), sha(got)) != (len(want), sha(want)):
            i = first_difference(got, want)
            self.fail(f"{what}: got {len(got)} bytes sha256 {sha(got)[:16]}, want {len(want)} bytes "
                      f"sha256 {sha(want)[:16]}; first difference at byte {i}: "
                      f"got {got[i:i + 16]!r} want {want[i:i + 16]!r}")

    def assertUsageError(self, rc, out, err):
        self.assertEqual(rc, 2, f"exit status (stdout={out!r}, stderr={err!r})")
        self.assertEqual(out, b"", "stdout must be empty on a usage error")
        one_error_line(self, err)


# ----------------------------------------------------------------------------- faults (libfiu)
#
# A build with -DSOCKECHO_FAULTS=ON checks a libfiu failpoint in every syscall wrapper of
# src/net/sys.cc ("net/accept4", "net/recv", ..., and "alloc/buffer"; the table with each
# one's default errno is in docs/FAULTS.md). These helpers switch them in the real binary:
#
#   def setUpModule():
#       require_binary()
#       require_faults()     # exits 77 (ctest: skipped) without fiu-run/fiu-ctrl or a faults build
#
#   # once, with failpoints enabled from the start (fiu-run -c ...):
#   rc, out, err = run_faulted(["send", f"127.0.0.1:{port}"],
#                              [fiu_enable("net/connect", errno.ECONNREFUSED)])
#
#   # a server, switched at run time by PID (fiu-ctrl):
#   with FaultServer("--mode", "echo") as srv:            # or self.fault_server(...) in an E2E
#       srv.fiu(fiu_enable("net/recv", errno.ECONNRESET, onetime=True))
#       srv.fiu(fiu_enable("net/accept4", errno.EMFILE, probability=0.02))
#       srv.fiu(fiu_disable("net/accept4"))
#       rc, rest = srv.stop()                              # SIGTERM: still exit 0, see below
#
# What was checked (libfiu 1.1, Debian 12) and is handled here:
# - errno: the failpoint's failinfo ("failinfo=N"); 0 picks the wrapper's default. An
#   injected EINTR is retried by the seam, so give it onetime or a probability < 1, or the
#   call retries for ever.
# - onetime: fails the next call only, then the failpoint stays enabled but never fires.
# - enable_random ... probability=P: each call fails with chance P; FIU_PRNG_SEED (seed=)
#   makes the sequence repeatable.
# - Names take a trailing wildcard: "net/*".
# - fiu-run's preload starts libfiu's remote-control thread (the fifo fiu-ctrl writes to)
#   before main, with no signals blocked; serve and probe block SIGINT/SIGTERM in their own
#   thread only and read them from a signalfd, so the kernel would hand a SIGTERM to libfiu's
#   thread and kill the process (rc -15 instead of 0). FaultServer therefore execs serve and
#   probe with SIGINT and SIGTERM already blocked in every thread (not send: it dies of
#   SIGINT by default). run_faulted needs no fifo, so starts no such thread (fiu-run -f '').
# - The fifo lives in a private temp dir (fiu-run -f), removed when the server is closed.
# - fiu-run -x (posix=True) adds libfiu's libc wrappers ("posix/io/net/accept", ...,
#   "libc/mm/malloc"). Our failpoints do not need it. It crashes ASan builds (SIGSEGV at
#   start), so posix=True skips when SOCKECHO_SANITIZED=1.
# - Under ASan, fiu-run's LD_PRELOAD puts libfiu before the ASan runtime:
#   ASAN_OPTIONS=verify_asan_link_order=0 is added, and the fifo paths libfiu and its
#   preload strdup() and never free are suppressed for LeakSanitizer (fiu.lsan.supp).

FIU_RUN = "fiu-run"
FIU_CTRL = "fiu-ctrl"
_FIU_LSAN_SUPPRESSIONS = os.path.join(HERE, "fiu.lsan.supp")


def faults_built() -> bool:
    """Whether $SOCKECHO has the failpoints: from $SOCKECHO_FAULTS (set by ctest), else
    whether the binary links libfiu (a failpoint name alone may be in any build's debug info)."""
    flag = os.environ.get("SOCKECHO_FAULTS")
    if flag is not None:
        return flag.upper() in ("1", "ON", "TRUE", "YES")
    try:
        with open(SOCKECHO, "rb") as f:
            return b"libfiu.so" in f.read()
    except OSError:
        return False


def _faults_missing():
    for tool in (FIU_RUN, FIU_CTRL):
        if not have_tool(tool):
            return f"{tool} is not installed (Debian: fiu-utils)"
    if not faults_built():
        return "sockecho was built without -DSOCKECHO_FAULTS=ON"
    return None


def require_faults():
    """Call from setUpModule (or before unittest.main): without fiu-run/fiu-ctrl or a faults
    build the whole file exits 77, which ctest counts as skipped."""
    why = _faults_missing()
    if why:
        skip_file(why)


def _skip_without_faults(posix=False):
    why = _faults_missing()
    if why:
        raise unittest.SkipTest(why)  # inside a test: skip it (require_faults skips the file)
    if posix and os.environ.get("SOCKECHO_SANITIZED") == "1":
        raise unittest.SkipTest("fiu-run -x crashes ASan builds")


def fiu_enable(name, err=0, onetime=False, probability=None) -> str:
    """A libfiu command enabling failpoint name: fail with errno err (0: the wrapper's
    default), only once, or with a probability (0..1)."""
    params = f"name={name},failinfo={int(err)}"
    if onetime:
        params += ",onetime"
    if probability is not None:
        return f"enable_random {params},probability={probability}"
    return f"enable {params}"


def fiu_disable(name) -> str:
    return f"disable name={name}"


def _fiu_env(seed=None, env=None):
    env = dict(os.environ if env is None else env)
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "verify_asan_link_order=0"
    lsan = env.get("LSAN_OPTIONS", "")
    env["LSAN_OPTIONS"] = ((lsan + ":" if lsan else "") +
                           f"suppressions={_FIU_LSAN_SUPPRESSIONS}:print_suppressions=0")
    if seed is not None:
        env["FIU_PRNG_SEED"] = str(seed)
    return env


# Execs argv[1:] with SIGINT and SIGTERM blocked, so that every thread of the program
# (libfiu's remote-control thread too) starts with them blocked: see above.
_BLOCK_AND_EXEC = ("import os, signal, sys; "
                   "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}); "
                   "os.execvp(sys.argv[1], sys.argv[1:])")


def fiu_prefix(commands=(), ctrl=None, posix=False, block_signals=False):
    """The argv before the binary that runs it under fiu-run with these initial commands.
    ctrl: the fifo base path for fiu-ctrl (None: no remote control)."""
    argv = [FIU_RUN, "-f", ctrl or ""]
    if posix:
        argv.append("-x")
    for c in commands:
        argv += ["-c", c]
    if block_signals:
        argv = [sys.executable, "-c", _BLOCK_AND_EXEC] + argv
    return argv


def run_faulted(args, commands, input=None, timeout=T, stdin=None, posix=False, seed=None,
                env=None):
    """Run sockecho once under fiu-run with the failpoints of commands (fiu_enable(...))
    enabled from the start; (rc, stdout, stderr). No remote control: nothing to fiu-ctrl."""
    _skip_without_faults(posix)
    argv = fiu_prefix(commands, posix=posix) + [SOCKECHO] + list(args)
    rc, out, err, _ = run_timed(argv, input=input, timeout=timeout, stdin=stdin,
                                env=_fiu_env(seed, env))
    return rc, out, err


def fiu_ctrl(pid, ctrl, *commands, timeout=T):
    """Apply libfiu commands to a running process by PID through its fifo (fiu-ctrl).
    fiu-ctrl exits 0 even when a command fails: any output from it is a failure here."""
    for c in commands:
        argv = [FIU_CTRL, "-f", ctrl, "-c", c, str(pid)]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"fiu-ctrl {c!r} {pid}: no answer within {timeout}s "
                                 "(was the process started by FaultServer?)")
        if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
            raise AssertionError(f"fiu-ctrl {c!r} {pid} failed: rc={r.returncode} "
                                 f"stdout={r.stdout!r} stderr={r.stderr!r}")


class FaultServer(Server):
    """A Server run under fiu-run: faults= are enabled before main, .fiu(*commands) switches
    failpoints while it runs (fiu-ctrl by PID). Everything else as Server, and SIGTERM still
    ends serve with 0 (see the notes above). seed= fixes the random failpoints' sequence."""

    def __init__(self, *args, faults=(), posix=False, seed=None, env=None, **kw):
        _skip_without_faults(posix)
        self._ctrl_dir = tempfile.mkdtemp(prefix="sockecho-fiu-")
        self.ctrl = os.path.join(self._ctrl_dir, "fiu")
        super().__init__(*args, env=_fiu_env(seed, env), **kw)
        sub = self.argv[1] if len(self.argv) > 1 else ""
        self.prefix = fiu_prefix(faults, ctrl=self.ctrl, posix=posix,
                                 block_signals=sub in ("serve", "probe"))

    def fiu(self, *commands, timeout=T):
        fiu_ctrl(self.pid, self.ctrl, *commands, timeout=timeout)

    def close(self, check=True):
        try:
            super().close(check)
        finally:
            shutil.rmtree(self._ctrl_dir, ignore_errors=True)
