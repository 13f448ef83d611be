"""The fault rig: a private network namespace with nftables rules, for tests under a bad network.

    from netns import NetNs, require_netns

    def setUpModule():
        require_binary()
        require_netns()                     # exits 77 (ctest: skipped) without root, ip netns, nft

    ns = NetNs().create()                   # or self.netns() in a NetnsCase (closed on cleanup)
    srv = ns.server("--mode", "echo")       # harness.Server run by `ip netns exec` (same PID)
    ns.loss(srv.port, 20)                   # 20% of the packets to and from the port dropped
    rc, out, err, secs = ns.run(["send", f"127.0.0.1:{srv.port}"], input=data)
    sock = ns.connect(srv.port)             # a Python socket that lives in the namespace
    h = ns.blackhole(srv.port)              # every packet dropped, from now on ...
    ns.delete(h)                            # ... until now
    ns.close()                              # kill what it started by PID, delete rules, namespace

A namespace is named `sockecho-<pid>-<n>` (pid: this process) and has only its loopback, up:
127.0.0.1 and ::1, nothing else, so every test may use fixed ports in it and no fault can touch
traffic outside. Processes run in it through `ip netns exec NAME`, which execs the command,
so the PID kept is the command's own and it is killed by that PID. Python sockets are created
in it by switching the calling thread's network namespace (setns) around socket(2): a socket
keeps the namespace it was made in.

Faults are nftables rules in one table (`inet sockecho`) in that namespace only, each on one
port and direction, all in the `input` hook: a packet dropped there was sent and is lost on
the way, as on a real network (dropped on `output`, the sender's own call would fail with
EPERM instead). "Each way" is a rule for each direction (dport: towards the port, sport: back
from it). This kernel has no netem (sch_netem), so there is no delay, jitter or reordering
here: only what nftables does (drop, reject).

Cleanup, however a test ends: close() in a finally/addCleanup; an atexit hook and SIGTERM,
SIGHUP and SIGINT handlers that delete every namespace with this process's prefix (and kill
what still runs in them, by PID from `ip netns pids`); and at start a sweep of namespaces
left by a test process that died without cleaning up (SIGKILL, a ctest timeout).
"""

import atexit
import contextlib
import ctypes
import itertools
import os
import random
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import threading
import time

from harness import (E2E, SOCKECHO, T, Server, _kill_and_reap, family_of, fd_count, recv_exact,
                     run_timed, skip_file, upper)

PREFIX = "sockecho-"
TABLE = "sockecho"  # inet family: one rule covers IPv4 and IPv6

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count(1)
_lock = threading.Lock()
_live = set()  # names of the namespaces this process created and has not deleted yet


def _own_prefix() -> str:
    return f"{PREFIX}{os.getpid()}-"


def _ip(*args, check=True, timeout=T) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed ({r.returncode}): "
                             f"{r.stderr.decode(errors='replace').strip()}")
    return r


def list_namespaces() -> list:
    """Names from `ip netns list` (its lines read `NAME` or `NAME (id: N)`)."""
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.decode(errors="replace").splitlines() if line.strip()]


def _pids_in(name) -> list:
    r = _ip("netns", "pids", name, check=False)
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def _delete_namespace(name):
    """Kill by PID whatever still runs in it, then delete it (its rules go with it)."""
    pids = _pids_in(name)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in pids:  # reap those that are our children (the others' parents reap them)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    _ip("netns", "delete", name, check=False)
    with _lock:
        _live.discard(name)


def cleanup_own_namespaces():
    """Delete every namespace named with this process's prefix."""
    for name in list_namespaces():
        if name.startswith(_own_prefix()):
            _delete_namespace(name)


def _sweep_stale():
    """Namespaces `sockecho-<pid>-<n>` whose pid is gone were left by a killed test run."""
    for name in list_namespaces():
        m = re.fullmatch(re.escape(PREFIX) + r"(\d+)-\d+", name)
        if m and int(m.group(1)) != os.getpid() and not os.path.exists(f"/proc/{m.group(1)}"):
            _delete_namespace(name)


_handlers_installed = False


def _install_handlers():
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True
    atexit.register(cleanup_own_namespaces)

    def on_signal(signum, frame):
        cleanup_own_namespaces()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)


def _missing() -> str:
    if os.geteuid() != 0:
        return "network namespaces and nftables need root"
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            return f"{tool} is not installed (Debian: {'iproute2' if tool == 'ip' else 'nftables'})"
    try:
        with NetNs() as ns:
            # Every kind of rule the faults use: a kernel without one of the nft modules
            # (numgen, reject, meta) fails here, not in the middle of a test.
            ns.loss(9, 1)
            ns.drop_syns(9)
            ns.reject(9, "tcp reset")
            ns.reject(9, "port-unreachable", proto="udp")
            ns.drop_data_from(9)
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        return f"cannot set up a network namespace with nftables faults here: {e}"
    return None


def require_netns():
    """Call from setUpModule: without root, ip netns or nftables the whole file exits 77."""
    why = _missing()
    if why:
        skip_file(why)


@contextlib.contextmanager
def _thread_in(path):
    """Run the block with the calling thread in the network namespace at path."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(target, _CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"setns {path}: {os.strerror(e)}")
        finally:
            os.close(target)
        try:
            yield
        finally:
            if _libc.setns(home, _CLONE_NEWNET) != 0:
                # A thread left in the test namespace would put every later socket there.
                os._exit(70)
    finally:
        os.close(home)


class NetNs:
    """One private network namespace: its loopback, its nftables table, what runs in it."""

    def __init__(self):
        self.name = f"{_own_prefix()}{next(_counter)}"
        self.path = f"/run/netns/{self.name}"
        self.prefix = ["ip", "netns", "exec", self.name]
        self._procs = []    # Popen objects started in it, killed by PID on close
        self._servers = []  # harness.Server objects started in it
        self._socks = []
        self._created = False

    # -- lifecycle
    def create(self):
        _install_handlers()
        _sweep_stale()
        with _lock:
            _live.add(self.name)
        self._created = True
        try:
            _ip("netns", "add", self.name)
            _ip("-n", self.name, "link", "set", "lo", "up")
            self.nft(f"add table inet {TABLE}\n"
                     f"add chain inet {TABLE} input {{ type filter hook input priority 0; policy accept; }}\n")
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Kill and reap every process it started (by PID), close its sockets, delete its
        rules and the namespace. Safe to call twice."""
        for srv in self._servers:
            srv.close()
        for p in self._procs:
            _kill_and_reap(p)
            for pipe in (p.stdin, p.stdout, p.stderr):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
        for s in self._socks:
            s.close()
        self._servers, self._procs, self._socks = [], [], []
        if self._created:
            self._created = False
            self.nft(f"delete table inet {TABLE}", check=False)
            _delete_namespace(self.name)

    # -- nftables
    def nft(self, script, check=True, args=()) -> str:
        r = subprocess.run(self.prefix + ["nft"] + list(args) + ["-f", "-"], input=script.encode(),
                           capture_output=True, timeout=T)
        if check and r.returncode != 0:
            raise AssertionError(f"nft in {self.name} failed: {r.stderr.decode(errors='replace').strip()}"
                                 f"\n{script}")
        return r.stdout.decode(errors="replace")

    def rule(self, expr) -> int:
        """Add `expr` to the input chain; the new rule's handle (for delete)."""
        r = subprocess.run(self.prefix + ["nft", "--echo", "--handle", "add", "rule", "inet", TABLE,
                                          "input"] + expr.split(),
                           capture_output=True, timeout=T)
        out = r.stdout.decode(errors="replace")
        m = re.search(r"# handle (\d+)", out)
        if r.returncode != 0 or not m:
            raise AssertionError(f"nft add rule {expr!r} in {self.name} failed ({r.returncode}): "
                                 f"{r.stderr.decode(errors='replace').strip()} {out!r}")
        return int(m.group(1))

    def delete(self, *handles):
        """Delete rules by handle (a fault's list of handles, or single ones)."""
        flat = []
        for h in handles:
            flat += list(h) if isinstance(h, (list, tuple)) else [h]
        self.nft("".join(f"delete rule inet {TABLE} input handle {h}\n" for h in flat))

    def clear(self):
        """Remove every fault: flush the input chain."""
        self.nft(f"flush chain inet {TABLE} input")

    def ruleset(self) -> str:
        return self.nft("list ruleset")

    def hits(self, *handles) -> int:
        """Packets matched so far by these rules (every fault rule has a counter)."""
        want = set()
        for h in handles:
            want |= set(h) if isinstance(h, (list, tuple)) else {h}
        total = 0
        for line in self.nft(f"list chain inet {TABLE} input", check=True, args=["-a"]).splitlines():
            m = re.search(r"counter packets (\d+) bytes \d+ .*# handle (\d+)", line)
            if m and int(m.group(2)) in want:
                total += int(m.group(1))
        return total

    # -- faults: each returns the handles of the rules it added
    @staticmethod
    def _directions(port, proto, each_way, to_port=True):
        ways = ([f"{proto} dport {port}"] if to_port else []) + ([f"{proto} sport {port}"] if each_way else [])
        return ways

    def loss(self, port, percent, proto="tcp", each_way=True) -> list:
        """Drop percent% of the packets to the port (and, each_way, from it), at random."""
        return [self.rule(f"{m} numgen random mod 100 < {int(percent)} counter drop")
                for m in self._directions(port, proto, each_way)]

    def blackhole(self, port, proto="tcp", each_way=True) -> list:
        """Drop every packet to the port (and, each_way, from it)."""
        return [self.rule(f"{m} counter drop") for m in self._directions(port, proto, each_way)]

    def drop_syns(self, port, percent=100) -> list:
        """Drop connection attempts to the port (SYN without ACK), all or percent% of them."""
        chance = "" if percent >= 100 else f" numgen random mod 100 < {int(percent)}"
        return [self.rule(f"tcp dport {port} tcp flags & (syn|ack) == syn{chance} counter drop")]

    def reject(self, port, how, proto="tcp") -> list:
        """Answer packets to the port with an error: `port-unreachable`, `host-unreachable`,
        `admin-prohibited` (ICMP or ICMPv6 as the packet's family: icmpx) or `tcp reset`."""
        if how == "tcp reset":
            return [self.rule(f"{proto} dport {port} counter reject with tcp reset")]
        if how not in ("port-unreachable", "host-unreachable", "admin-prohibited"):
            raise ValueError(f"unknown reject {how!r}")
        return [self.rule(f"{proto} dport {port} counter reject with icmpx type {how}")]

    def drop_data_from(self, port, min_length=100) -> list:
        """Drop the packets from the port that carry data (longer than min_length bytes at the
        IP layer), so the TCP handshake and bare ACKs still pass."""
        return [self.rule(f"tcp sport {port} meta length > {int(min_length)} counter drop")]

    # -- processes
    def server(self, *args, **kw) -> Server:
        """harness.Server in the namespace (default -b 127.0.0.1), started; closed with it."""
        srv = Server(*args, prefix=self.prefix, **kw)
        self._servers.append(srv)
        return srv.start()

    def run(self, args, input=None, timeout=T, stdin=None, env=None):
        """Run sockecho once in the namespace; (rc, stdout, stderr, seconds). Killed and
        reaped by PID on timeout."""
        return run_timed(self.prefix + [SOCKECHO] + [str(a) for a in args], input=input,
                         timeout=timeout, stdin=stdin, env=env)

    def popen(self, args, **kw) -> subprocess.Popen:
        """sockecho ARGS in the namespace in the background (PID is sockecho's own); killed
        and reaped by PID on close."""
        p = subprocess.Popen(self.prefix + [SOCKECHO] + [str(a) for a in args], **kw)
        self._procs.append(p)
        return p

    # -- sockets
    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM) -> "socket.socket":
        """A socket made in the namespace (closed with it)."""
        with _thread_in(self.path):
            s = socket.socket(family, type)
        self._socks.append(s)
        return s

    def connect(self, port, host="127.0.0.1", timeout=T) -> "socket.socket":
        s = self.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.settimeout(timeout)
        s.connect((host, port))
        return s

    def has_ipv6(self) -> bool:
        """Whether ::1 is there (not with IPv6 disabled on the kernel command line)."""
        try:
            with self.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
            return True
        except OSError:
            return False

    def pids(self) -> list:
        """PIDs of the processes in the namespace now (`ip netns pids`)."""
        return _pids_in(self.name)


# ----------------------------------------------------------------------------- test case

def closed_for(port):
    """A predicate on a serve line's fields: the CLOSED line of the client at port."""
    return lambda f: len(f) >= 6 and f[5] == "CLOSED" and f[4].endswith(f":{port}")


class NetnsCase(E2E):
    """A namespace per test (self.ns, closed on cleanup), servers in it with their fd
    baseline, and the closing check every fault test makes (assertServerWell)."""

    def setUp(self):
        self.rng = random.Random(f"netfaults:{self.id()}")
        self.ns = NetNs().create()
        self.addCleanup(self.ns.close)

    def serve(self, *args, udp=False, host="127.0.0.1"):
        """serve -p 0 -b HOST ARGS in the namespace; .baseline is its fd count after LISTEN."""
        srv = self.ns.server(*args, udp=udp, host=host)
        srv.host = host
        srv.tls = "--tls" in args
        srv.baseline = fd_count(srv.pid)
        return srv

    def target(self, srv, port=None):
        host = f"[{srv.host}]" if ":" in srv.host else srv.host
        return f"{host}:{srv.port if port is None else port}"

    def startup_cost(self) -> float:
        """What starting a process in the namespace costs here (`ip netns exec`, then exec of
        sockecho), added to the bounds on how long a run may take: the median of three."""
        times = []
        for _ in range(3):
            rc, _, err, secs = self.ns.run(["--version"])
            self.assertEqual(rc, 0, err)
            times.append(secs)
        return statistics.median(times)

    def wait_fds(self, srv, timeout=T):
        """The server's fd count back at its baseline. It closes a client's fd just after
        printing its CLOSED line, and nothing tells when: poll /proc (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            n = fd_count(srv.pid)
            if n == srv.baseline:
                return
            if time.monotonic() > deadline:
                self.fail(f"server holds {n} fds, {srv.baseline} after LISTEN: "
                          f"{sorted(os.listdir(f'/proc/{srv.pid}/fd'))} {srv.seen[-5:]}")
            time.sleep(0.02)

    def assertServerWell(self, srv, mode="upper"):
        """With the faults gone: the server is alive, answers a new client byte-exact (over
        TLS for a --tls server), and holds no more fds than after its LISTEN line."""
        self.ns.clear()
        self.assertIsNone(srv.proc.poll(), f"server died: {srv.stderr()!r} {srv.seen[-5:]}")
        data = b"still there?\n"
        want = {"upper": upper(data), "echo": data}[mode]
        if srv.udp:
            s = self.ns.socket(family_of(srv.host), socket.SOCK_DGRAM)
            s.settimeout(T)
            s.sendto(data, (srv.host, srv.port))
            self.assertEqual(s.recv(65536), want)
        else:
            s = self.ns.connect(srv.port, srv.host)
            port = s.getsockname()[1]
            if srv.tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(s)
            s.sendall(data)
            self.assertEqual(recv_exact(s, len(want)), want)
            s.close()
            srv.expect(closed_for(port), what=f"the CLOSED line of the check client :{port}")
        self.wait_fds(srv)
        self.assertIsNone(srv.proc.poll(), f"server died: {srv.stderr()!r}")

    def assertWithin(self, secs, high, low, what):
        self.assertGreaterEqual(secs, low, f"{what}: took {secs:.3f}s, less than {low:.3f}s")
        self.assertLessEqual(secs, high, f"{what}: took {secs:.3f}s, more than {high:.3f}s")
