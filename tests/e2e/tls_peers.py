"""TLS clients for the serve --tls end-to-end tests (test_tls_serve*.py).

TlsConn is a TLS client whose every byte on the wire the test decides: Python's ssl
through memory BIOs (ssl.SSLObject) over a non-blocking socket. So a test can tell a
close_notify from a bare FIN (end == "close_notify" or "eof"), write 8 MiB without reading,
half-close with a close_notify or a FIN and go on reading, and drive hundreds of clients
from one thread (drive()).

    c = TlsConn.connect(port)              # or TlsConn(sock, sni=..., ctx=...)
    c.handshake()                          # blocking-style helpers drive only this client
    c.exchange(b"hello")                   # -> b"HELLO" (default: upper(data) expected)
    c.close_notify(); c.read_to_end()      # (replies, "close_notify" | "eof")

SClient runs `openssl s_client` with stdin on a pipe: it writes a line, waits for the reply
on stdout (the readiness signal), then ends its input, as a person at the terminal would.
"""

import hashlib
import os
import selectors
import socket
import ssl
import subprocess
import threading
import time

from harness import T, _kill_and_reap, kv, upper


def client_context(alpn=None, min_version=None, max_version=None) -> ssl.SSLContext:
    """No verification: each test pins the certificate against the LISTEN line instead."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if min_version:
        ctx.minimum_version = min_version
    if max_version:
        ctx.maximum_version = max_version
    return ctx


_DEFAULT_CTX = client_context()


def fingerprint(der: bytes) -> str:
    """As serve prints it: upper-case hex pairs joined by colons."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def listen_fingerprint(srv) -> str:
    fp = kv(srv.listen_line).get("sha256")
    if not fp:
        raise AssertionError(f"LISTEN line has no sha256=: {srv.listen_line!r}")
    return fp


class TlsError(AssertionError):
    pass


class TlsConn:
    CHUNK = 1 << 18

    def __init__(self, sock, ctx=None, sni=None, name=""):
        self.sock = sock
        sock.setblocking(False)
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = (ctx or _DEFAULT_CTX).wrap_bio(self.inc, self.out, server_side=False,
                                                  server_hostname=sni)
        self.name = name
        self.wire_out = bytearray()  # ciphertext not yet taken by the socket
        self.got = bytearray()       # plaintext received
        self.handshaken = False
        self.end = None              # "close_notify" or "eof" (a FIN without close_notify)
        self.error = None            # an exception: the handshake or the connection failed
        self.raw_eof = False
        self.reading = True          # False: leave the replies in the socket (a hog)
        self.fin = False             # SHUT_WR once wire_out is empty
        self.fin_sent = False
        self.wire_rx = 0             # bytes read from the socket
        self.wire_tx = 0
        self.port = sock.getsockname()[1] if sock.family != socket.AF_UNIX else None
        self._start()

    @classmethod
    def connect(cls, port, host="127.0.0.1", source=None, ctx=None, sni=None, rcvbuf=None,
                sndbuf=None, timeout=T, name=""):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if sndbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            if source:
                s.bind((source, 0))
            s.settimeout(timeout)
            s.connect((host, port))
        except BaseException:
            s.close()
            raise
        return cls(s, ctx=ctx, sni=sni, name=name)

    def close(self):
        self.sock.close()

    # ------------------------------------------------------------ state
    def _start(self):
        try:
            self.obj.do_handshake()
            self.handshaken = True
        except ssl.SSLWantReadError:
            pass
        self._collect()

    def _collect(self):
        pending = self.out.pending
        if pending:
            self.wire_out += self.out.read(pending)

    @property
    def done(self) -> bool:
        """Nothing more will happen on this connection from the server's side."""
        return self.error is not None or self.end is not None or self.raw_eof

    def mask(self):
        m = 0
        if self.error is None and not self.raw_eof and self.reading:
            m |= selectors.EVENT_READ
        if self.error is None and (self.wire_out or (self.fin and not self.fin_sent)):
            m |= selectors.EVENT_WRITE
        return m

    def _advance(self):
        if not self.handshaken and self.error is None:
            try:
                self.obj.do_handshake()
                self.handshaken = True
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLError, OSError) as e:
                self.error = e
        if self.handshaken and self.error is None and self.end is None:
            while True:
                try:
                    d = self.obj.read(self.CHUNK)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    self.end = "close_notify"
                    break
                except ssl.SSLEOFError:
                    self.end = "eof"
                    break
                except (ssl.SSLError, OSError) as e:
                    self.error = e
                    break
                if not d:
                    self.end = "close_notify"
                    break
                self.got += d
        self._collect()

    def on_readable(self):
        try:
            b = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError as e:
            self.error = e
            return
        if b:
            self.wire_rx += len(b)
            self.inc.write(b)
        else:
            self.raw_eof = True
            self.inc.write_eof()
        self._advance()

    def on_writable(self):
        if self.wire_out:
            try:
                n = self.sock.send(self.wire_out[:self.CHUNK])
            except BlockingIOError:
                return
            except OSError as e:
                self.error = e
                return
            del self.wire_out[:n]
            self.wire_tx += n
        if self.fin and not self.fin_sent and not self.wire_out:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                self.error = e
            self.fin_sent = True

    # ------------------------------------------------------------ what the test does
    def write(self, data: bytes):
        """Encrypt data now (it goes out as the socket takes it)."""
        if not self.handshaken:
            raise TlsError(f"{self.name}: write before the handshake")
        view = memoryview(data)
        for i in range(0, len(view), 1 << 20):
            self.obj.write(view[i:i + (1 << 20)])
        self._collect()

    def send_close_notify(self):
        """Our end of data as TLS says it; reading goes on (the replies still come)."""
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass  # sent; the server's close_notify has not come yet
        except ssl.SSLZeroReturnError:
            pass
        self._collect()

    def send_fin(self):
        """A TCP FIN without close_notify, once what is queued is out."""
        self.fin = True

    def send_raw(self, data: bytes):
        """Bytes on the wire as they are, outside TLS."""
        self.wire_out += data

    def peer_der(self) -> bytes:
        return self.obj.getpeercert(binary_form=True)

    # blocking-style helpers: drive this connection alone
    def wait(self, pred, timeout=T, what="a condition"):
        drive([self], lambda: pred(), timeout)
        if not pred():
            raise TlsError(f"{self.name or 'client'}: no {what} within {timeout}s: {self.state()}")

    def state(self) -> str:
        return (f"handshaken={self.handshaken} got={len(self.got)} end={self.end} "
                f"error={self.error!r} raw_eof={self.raw_eof} unsent={len(self.wire_out)}")

    def handshake(self, timeout=T):
        """Until the handshake is done on both ends: ours, and our last flight sent."""
        self.wait(lambda: (self.handshaken and not self.wire_out) or self.done, timeout, "handshake")
        if not self.handshaken:
            raise TlsError(f"{self.name or 'client'}: handshake failed: {self.state()}")
        return self

    def exchange(self, data: bytes, expect=None, timeout=T) -> bytes:
        """Send data, read len(expect) bytes (default upper(data)); returns them (and takes
        them out of .got)."""
        want = upper(data) if expect is None else expect
        self.handshake(timeout)
        start = len(self.got)
        self.write(data)
        self.wait(lambda: len(self.got) - start >= len(want) or self.done, timeout,
                  f"reply of {len(want)} bytes")
        reply = bytes(self.got[start:start + len(want)])
        if len(reply) < len(want):
            raise TlsError(f"{self.name or 'client'}: {len(reply)} of {len(want)} bytes: {self.state()}")
        del self.got[start:start + len(want)]
        return reply

    def read_to_end(self, timeout=T):
        """(everything received, how it ended: "close_notify" or "eof")."""
        self.wait(lambda: self.done, timeout, "end of the connection")
        if self.error is not None:
            raise TlsError(f"{self.name or 'client'}: {self.error!r} after {len(self.got)} bytes")
        return bytes(self.got), self.end or "eof"


def drive(conns, until=None, timeout=3 * T, progress=None):
    """Drive every TlsConn (their reads, writes and handshakes) until until() is true, or
    each is done, or timeout. Returns the seconds taken."""
    sel = selectors.DefaultSelector()
    registered = {}

    def update(c):
        m = c.mask()
        old = registered.get(c)
        if m == 0:
            if old is not None:
                sel.unregister(c.sock)
                del registered[c]
        elif old is None:
            sel.register(c.sock, m, c)
            registered[c] = m
        elif old != m:
            sel.modify(c.sock, m, c)
            registered[c] = m

    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        for c in conns:
            update(c)
        while registered and not (until and until()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, ev in sel.select(timeout=min(left, 0.2)):
                c = key.data
                if ev & selectors.EVENT_WRITE:
                    c.on_writable()
                if ev & selectors.EVENT_READ:
                    c.on_readable()
                update(c)
                if progress is not None:
                    progress(c)
    finally:
        sel.close()
    return time.monotonic() - t0


class RoundTripper(threading.Thread):
    """A good client doing round trips over one TLS connection, back to back, until stop();
    records how many and the slowest, and the first failure."""

    def __init__(self, port, host="127.0.0.1", ctx=None, sni=None, fp=None, pause=0.0):
        super().__init__(daemon=True)
        self.conn = TlsConn.connect(port, host, ctx=ctx, sni=sni, name="good client")
        self.fp = fp
        self.pause = pause
        self.count = 0
        self.slowest = 0.0
        self.failure = None
        self._halt = threading.Event()

    def run(self):
        try:
            self.conn.handshake()
            if self.fp and fingerprint(self.conn.peer_der()) != self.fp:
                raise TlsError("the good client got another certificate than LISTEN's")
            while not self._halt.is_set():
                data = b"round trip %d\n" % self.count + os.urandom(64)
                t0 = time.monotonic()
                got = self.conn.exchange(data, timeout=T)
                took = time.monotonic() - t0
                if got != upper(data):
                    raise TlsError(f"round trip {self.count}: wrong reply {got!r}")
                self.slowest = max(self.slowest, took)
                self.count += 1
                if self.pause:
                    self._halt.wait(self.pause)  # pacing, not a wait for readiness
        except BaseException as e:  # reported by finish()
            self.failure = e

    def finish(self, test):
        self._halt.set()
        self.join(2 * T)
        test.assertFalse(self.is_alive(), "the good client is stuck")
        self.conn.close()
        test.assertIsNone(self.failure, f"the good client failed after {self.count} round trips")
        test.assertGreater(self.count, 0, "the good client made no round trip")
        return self.count, self.slowest


class SClient:
    """`openssl s_client` in its own process group, stdin on a pipe; its stdout and stderr
    read here (s_client's own messages, such as KEYUPDATE, are readiness signals too)."""

    def __init__(self, port, *args, host="127.0.0.1"):
        self.argv = ["openssl", "s_client", "-connect", f"{host}:{port}", "-no_ign_eof"] + list(args)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.out = bytearray()
        self.err = bytearray()
        self._open = {self.proc.stdout.fileno(): self.out, self.proc.stderr.fileno(): self.err}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        _kill_and_reap(self.proc, group=True)
        for p in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                p.close()
            except OSError:
                pass

    def stderr(self) -> bytes:
        return bytes(self.err)

    def read_until(self, marker: bytes, timeout=T, stream="out") -> bool:
        """Read stdout and stderr until marker is in one of them (stream "out" or "err"):
        True; or until both ended: False. Fails on timeout."""
        buf = self.out if stream == "out" else self.err
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        for fd in self._open:
            sel.register(fd, selectors.EVENT_READ)
        try:
            while marker not in buf:
                if not self._open:
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"s_client: no {marker!r} within {timeout}s; "
                                         f"stdout={bytes(self.out[-500:])!r} "
                                         f"stderr={bytes(self.err[-500:])!r}")
                for key, _ in sel.select(timeout=left):
                    b = os.read(key.fd, 65536)
                    if b:
                        self._open[key.fd] += b
                    else:
                        sel.unregister(key.fd)
                        del self._open[key.fd]
            return True
        finally:
            sel.close()

    def say(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait(self, timeout=T):
        """Until s_client exits (its output read to the end); its exit status."""
        self.read_until(b"\0never\0", timeout)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"s_client did not exit within {timeout}s")

    def end_input(self, timeout=T):
        """Close its stdin: s_client says goodbye (close_notify) and exits; (rc, all stdout)."""
        self.proc.stdin.close()
        return self.wait(timeout), bytes(self.out)


def openssl(args, input=None, timeout=T) -> bytes:
    """Run the openssl tool; its stdout (fails the test on a non-zero exit)."""
    r = subprocess.run(["openssl"] + list(args), input=input, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    return r.stdout


def make_certificate(directory, name="server", cn="localhost"):
    """A self-signed ECDSA P-256 certificate and key in directory; (cert path, key path)."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={cn}",
             "-addext", f"subjectAltName=DNS:{cn},IP:127.0.0.1"])
    return cert, key

