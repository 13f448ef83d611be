"""serve --tls with real TLS clients: openssl s_client, ncat --ssl, socat and Python's ssl.

SPEC, TLS: the LISTEN line's fingerprint is the served certificate's; the generated
certificate; --cert/--key; ALPN; --tls-min; ESTABLISHED once the handshake is done, with
tls= cipher= alpn= sni=; and every serve feature as over TCP. Heavier runs (bad input,
hundreds of clients, 64 MiB, backpressure, faults) are in test_tls_serve_load.py.

Every Python client pins the certificate against the LISTEN line (its DER's sha256).
"""

import calendar
import ipaddress
import json
import os
import re
import shlex
import signal
import socket
import ssl
import tempfile
import time
import unittest

from harness import (E2E, T, Server, have_tool, one_error_line, recv_to_eof, require_binary,
                     require_ipv6, require_tool, run_sockecho, run_timed, upper)
from tls_peers import (SClient, TlsConn, client_context, drive, fingerprint, listen_fingerprint,
                       make_certificate, openssl)


def setUpModule():
    require_binary()


def tls_kv(line: str) -> dict:
    """key=value fields of a line, a value with spaces in double quotes as serve writes it."""
    return dict(f.split("=", 1) for f in shlex.split(line) if "=" in f)


def recv_until_closed(sock, timeout=T) -> bytes:
    """What comes before the server closes, by a FIN or a RST: a plaintext client's request
    is not all read when the handshake fails on its first bytes, so its close may be a RST."""
    try:
        return recv_to_eof(sock, timeout)
    except ConnectionResetError:
        return b""


def pem_blocks(text: bytes):
    return re.findall(rb"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n", text, re.S)


def openssl_fingerprint(pem: bytes) -> str:
    out = openssl(["x509", "-noout", "-fingerprint", "-sha256"], input=pem).decode()
    return out.strip().split("=", 1)[1]  # "sha256 Fingerprint=AB:CD:..."


class TlsCase(E2E):
    def tls_server(self, *args, **kw) -> Server:
        srv = self.server("--tls", *args, **kw)
        srv.fp = None if srv.listen_line.lstrip().startswith("{") else listen_fingerprint(srv)
        return srv

    def client(self, srv, host="127.0.0.1", **kw) -> TlsConn:
        c = TlsConn.connect(srv.port, host, **kw)
        self.addCleanup(c.close)
        return c

    def pinned(self, srv, host="127.0.0.1", **kw) -> TlsConn:
        """A client whose handshake is done, and whose server showed the LISTEN line's
        certificate."""
        c = self.client(srv, host, **kw).handshake()
        self.assertEqual(fingerprint(c.peer_der()), srv.fp, "served certificate != LISTEN's sha256")
        return c

    def established(self, srv, port=None, host="127.0.0.1") -> dict:
        line = srv.expect_state("ESTABLISHED", f"{host}:{port}" if port else None)
        return tls_kv(line)

    def closed(self, srv, port=None, host="127.0.0.1"):
        line = srv.expect_state("CLOSED", f"{host}:{port}" if port else None)
        return line, tls_kv(line)


# ----------------------------------------------------------------------------- real clients

class SClientPeer(TlsCase):
    def setUp(self):
        require_tool(self, "openssl")

    def s_client(self, srv, *args):
        """A round trip through s_client, then its stdin ends; it must exit 0. Its stdout."""
        with SClient(srv.port, *args) as c:
            c.say(b"hello sockecho\n")
            self.assertTrue(c.read_until(b"HELLO SOCKECHO\n"),
                            f"s_client ended without the reply: {bytes(c.out[-400:])!r} "
                            f"{c.stderr()[-400:]!r}")
            rc, out = c.end_input()
        self.assertEqual(rc, 0, f"s_client exit; stderr={c.stderr()[-400:]!r}")
        return out

    def test_tls12_round_trip_with_sni(self):
        srv = self.tls_server()
        out = self.s_client(srv, "-tls1_2", "-servername", "localhost")
        est = self.established(srv)
        self.assertEqual(est["tls"], "TLSv1.2")
        self.assertEqual(est["sni"], "localhost")
        self.assertEqual(est["alpn"], "-")
        m = re.search(rb"Cipher is (\S+)", out)
        self.assertIsNotNone(m, out[-800:])
        self.assertEqual(est["cipher"], m.group(1).decode(), "the ESTABLISHED cipher is s_client's")
        self.assertIn(b"Protocol  : TLSv1.2", out)
        line, v = self.closed(srv)
        self.assertEqual((v["rx"], v["tx"], v["reason"]), ("15", "15", "eof"), line)

    def test_tls13_round_trip_without_sni(self):
        srv = self.tls_server()
        out = self.s_client(srv, "-tls1_3", "-noservername")
        est = self.established(srv)
        self.assertEqual(est["tls"], "TLSv1.3")
        self.assertEqual(est["sni"], "-", "no SNI was sent")
        m = re.search(rb"Cipher is (\S+)", out)
        self.assertEqual(est["cipher"], m.group(1).decode())
        self.assertTrue(est["cipher"].startswith("TLS_"), est)
        line, v = self.closed(srv)
        self.assertEqual((v["rx"], v["tx"], v["reason"]), ("15", "15", "eof"), line)

    def test_listen_fingerprint_is_the_certificate_s_client_received(self):
        srv = self.tls_server()
        out = self.s_client(srv, "-showcerts")
        certs = pem_blocks(out)
        self.assertEqual(len(certs), 1, "one certificate, self-signed, no chain")
        self.assertEqual(openssl_fingerprint(certs[0]), srv.fp)
        self.assertRegex(srv.fp, r"\A([0-9A-F]{2}:){31}[0-9A-F]{2}\Z")

    def test_alpn_server_preference_wins(self):
        srv = self.tls_server("--alpn", "h2,http/1.1")
        out = self.s_client(srv, "-alpn", "http/1.1,h2")
        self.assertIn(b"ALPN protocol: h2\n", out)
        self.assertEqual(self.established(srv)["alpn"], "h2")

    def test_alpn_none_in_common_is_refused(self):
        srv = self.tls_server("--alpn", "h2,http/1.1")
        with SClient(srv.port, "-alpn", "smtp") as c:
            c.say(b"hello\n")
            rc = c.wait()
            err = c.stderr()
        self.assertNotEqual(rc, 0, "s_client's handshake should have failed")
        self.assertIn(b"no application protocol", err)
        line, v = self.closed(srv)
        self.assertEqual(v["reason"], "tls", line)
        self.assertIn("no application protocol", v["tls_error"], line)
        self.assertEqual((v["rx"], v["tx"]), ("0", "0"), line)
        self.assertNotIn("ESTABLISHED", " ".join(srv.seen))
        # The service goes on: a client that offers one of ours agrees on it.
        self.s_client(srv, "-alpn", "http/1.1")
        self.assertEqual(self.established(srv)["alpn"], "http/1.1")

    def test_alpn_not_offered_is_served(self):
        srv = self.tls_server("--alpn", "h2,http/1.1")
        out = self.s_client(srv)
        self.assertIn(b"No ALPN negotiated", out)
        self.assertEqual(self.established(srv)["alpn"], "-")

    def test_tls_min_13_refuses_12_and_serves_13(self):
        srv = self.tls_server("--tls-min", "1.3")
        with SClient(srv.port, "-tls1_2") as c:
            c.say(b"hello\n")
            self.assertNotEqual(c.wait(), 0, "a TLS 1.2 client got in")
        line, v = self.closed(srv)
        self.assertEqual(v["reason"], "tls", line)
        self.assertIn("unsupported protocol", v["tls_error"], line)
        self.s_client(srv, "-tls1_3")
        self.assertEqual(self.established(srv)["tls"], "TLSv1.3")


    def test_key_update_requested_by_the_client(self):
        # s_client's K command: a KeyUpdate asking for one back, which the server sends from
        # within its read (a read that writes); the data after it, under the new keys, is served.
        srv = self.tls_server()
        with SClient(srv.port, "-tls1_3") as c:
            c.say(b"before the update\n")
            self.assertTrue(c.read_until(b"BEFORE THE UPDATE\n"))
            c.say(b"K\n")
            self.assertTrue(c.read_until(b"KEYUPDATE", stream="err"))
            c.say(b"after the update\n")
            self.assertTrue(c.read_until(b"AFTER THE UPDATE\n"))
            rc, _ = c.end_input()
        self.assertEqual(rc, 0, c.stderr()[-400:])
        line, v = self.closed(srv)
        self.assertEqual((v["rx"], v["tx"], v["reason"]), ("35", "35", "eof"), line)


    def test_tls12_renegotiation_is_refused_and_the_service_goes_on(self):
        # SSL_OP_NO_RENEGOTIATION: s_client's R command gets a no_renegotiation alert, which
        # s_client answers by failing; the server logs that, and serves the next client.
        srv = self.tls_server()
        with SClient(srv.port, "-tls1_2") as c:
            c.say(b"hello sockecho\n")
            self.assertTrue(c.read_until(b"HELLO SOCKECHO\n"))
            c.say(b"R\n")
            self.assertTrue(c.read_until(b"no renegotiation", stream="err"), c.stderr())
            c.wait()
        line, v = self.closed(srv)
        self.assertEqual((v["rx"], v["tx"], v["reason"]), ("15", "15", "tls"), line)
        self.s_client(srv, "-tls1_2")


class OtherPeers(TlsCase):
    def test_ncat_ssl(self):
        require_tool(self, "ncat")
        srv = self.tls_server()
        rc, out, err, _ = run_timed(["ncat", "--ssl", "--ssl-servername", "localhost", "127.0.0.1",
                                     str(srv.port)], input=b"hello ncat\nbye\n")
        # Exit 0 needs the server's close_notify after the replies: ncat takes a bare FIN
        # for a cut connection ("Input/output error", exit 1).
        self.assertEqual((rc, out), (0, b"HELLO NCAT\nBYE\n"), err)
        est = self.established(srv)
        self.assertEqual((est["tls"], est["sni"], est["alpn"]), ("TLSv1.3", "localhost", "-"))
        self.assertTrue(est["cipher"], est)
        line, v = self.closed(srv)
        self.assertEqual((v["rx"], v["tx"], v["reason"]), ("15", "15", "eof"), line)

    def test_socat_openssl(self):
        require_tool(self, "socat")
        srv = self.tls_server()
        rc, out, err, _ = run_timed(["socat", "-t", "5", "-", f"OPENSSL:127.0.0.1:{srv.port},verify=0"],
                                    input=b"hello socat\n")
        self.assertEqual((rc, out), (0, b"HELLO SOCAT\n"), err)
        est = self.established(srv)
        self.assertEqual((est["tls"], est["alpn"]), ("TLSv1.3", "-"))
        # socat 1.7.4 sends the IP literal as SNI (RFC 6066 says not to); serve shows what came.
        self.assertIn(est["sni"], ("-", "127.0.0.1"))
        self.closed(srv)
        # Told to send none, the line says so.
        rc, out, err, _ = run_timed(["socat", "-t", "5", "-",
                                     f"OPENSSL:127.0.0.1:{srv.port},verify=0,no-sni=1"],
                                    input=b"again\n")
        self.assertEqual((rc, out), (0, b"AGAIN\n"), err)
        self.assertEqual(self.established(srv)["sni"], "-")

    def test_sockecho_send_pinned(self):
        srv = self.tls_server()
        rc, out, err = run_sockecho(["send", "--tls", "--pin", srv.fp, f"127.0.0.1:{srv.port}"],
                                    input=b"hello send\n")
        self.assertEqual((rc, out, err), (0, b"HELLO SEND\n", b""))
        self.assertEqual(self.established(srv)["sni"], "-", "send sends no IP literal as SNI")


# ----------------------------------------------------------------------------- certificates

def cert_text(der: bytes) -> str:
    return openssl(["x509", "-inform", "DER", "-noout", "-text"], input=der).decode()


def cert_dates(der: bytes):
    out = openssl(["x509", "-inform", "DER", "-noout", "-startdate", "-enddate"], input=der).decode()
    d = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    parse = lambda s: calendar.timegm(time.strptime(s.strip(), "%b %d %H:%M:%S %Y GMT"))
    return parse(d["notBefore"]), parse(d["notAfter"])


def cert_san(der: bytes) -> set:
    """subjectAltName entries as DNS:name / IP:addr, addresses normalized (::1, not 0:0:...)."""
    out = openssl(["x509", "-inform", "DER", "-noout", "-ext", "subjectAltName"], input=der).decode()
    entries = set()
    for e in out.splitlines()[1].split(","):
        kind, value = e.strip().split(":", 1)
        if kind == "IP Address":
            entries.add("IP:" + str(ipaddress.ip_address(value)))
        else:
            entries.add(f"{kind}:{value}")
    return entries


class Certificates(TlsCase):
    def setUp(self):
        require_tool(self, "openssl")
        self.dir = tempfile.TemporaryDirectory(prefix="sockecho-tls-")
        self.addCleanup(self.dir.cleanup)

    def test_generated_certificate(self):
        t0 = time.time()
        srv = self.tls_server(host="127.0.0.2")  # a bind address of its own, for the SAN
        t1 = time.time()
        der = self.pinned(srv, host="127.0.0.2").peer_der()
        text = cert_text(der)
        self.assertIn("Public Key Algorithm: id-ecPublicKey", text)
        self.assertIn("ASN1 OID: prime256v1", text)
        self.assertIn("NIST CURVE: P-256", text)
        self.assertIn("Signature Algorithm: ecdsa-with-SHA256", text)
        not_before, not_after = cert_dates(der)
        # Whole seconds on the certificate; the start is somewhere in [t0, t1].
        self.assertGreaterEqual(not_before, t0 - 3600 - 60)
        self.assertLessEqual(not_before, t1 - 3600 + 60)
        self.assertGreaterEqual(not_after, t0 + 30 * 86400 - 60)
        self.assertLessEqual(not_after, t1 + 30 * 86400 + 60)
        want = {"DNS:localhost", "IP:127.0.0.1", "IP:::1", "IP:127.0.0.2"}
        host = socket.gethostname()
        want.add(("IP:" if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+", host) else "DNS:") + host)
        self.assertEqual(cert_san(der), want)

    def test_each_start_makes_a_fresh_certificate(self):
        a = self.tls_server()
        b = self.tls_server()
        self.assertNotEqual(a.fp, b.fp)

    def test_given_certificate_is_served_and_printed(self):
        cert, key = make_certificate(self.dir.name)
        with open(cert, "rb") as f:
            pem = f.read()
        srv = self.tls_server("--cert", cert, "--key", key)
        self.assertEqual(srv.fp, openssl_fingerprint(pem))
        c = self.pinned(srv)
        self.assertEqual(c.peer_der(), ssl.PEM_cert_to_DER_cert(pem.decode()))
        self.assertEqual(c.exchange(b"given\n"), b"GIVEN\n")

    def test_key_in_the_certificate_file(self):
        cert, key = make_certificate(self.dir.name)
        both = os.path.join(self.dir.name, "both.pem")
        with open(both, "wb") as out:
            for p in (cert, key):
                with open(p, "rb") as f:
                    out.write(f.read())
        srv = self.tls_server("--cert", both, "--key", both)
        self.assertEqual(self.pinned(srv).exchange(b"one file\n"), b"ONE FILE\n")

    def test_a_long_chain_the_client_does_not_read_does_not_hold_up_others(self):
        # The server's first flight (70 KB of certificates) does not fit in the socket while
        # the client does not read: its handshake waits for writable, the others are served.
        cert, key = make_certificate(self.dir.name)
        filler, _ = make_certificate(self.dir.name, "filler", cn="filler")
        chain = os.path.join(self.dir.name, "chain.pem")
        with open(chain, "wb") as out:
            for p in [cert] + [filler] * 150:
                with open(p, "rb") as f:
                    out.write(f.read())
        srv = self.tls_server("--cert", chain, "--key", key)
        slow = self.client(srv, rcvbuf=4096)
        slow.reading = False
        drive([slow], lambda: not slow.wire_out)  # its ClientHello is out; it reads nothing
        other = self.pinned(srv)
        t0 = time.monotonic()
        self.assertEqual(other.exchange(b"not held up\n"), b"NOT HELD UP\n")
        self.assertLess(time.monotonic() - t0, 1.0)
        slow.reading = True
        slow.handshake()
        self.assertEqual(fingerprint(slow.peer_der()), srv.fp)
        self.assertEqual(slow.exchange(b"finally\n"), b"FINALLY\n")

    def start_fails(self, *args):
        rc, out, err = run_sockecho(["serve", "--tls", "-b", "127.0.0.1", "-p", "0"] + list(args))
        self.assertEqual((rc, out), (1, b""), err)
        one_error_line(self, err)
        return err.decode()

    def test_missing_certificate_file_is_exit_1(self):
        cert = os.path.join(self.dir.name, "missing.crt")
        _, key = make_certificate(self.dir.name)
        err = self.start_fails("--cert", cert, "--key", key)
        self.assertEqual(err, f"sockecho: --cert {cert}: No such file or directory\n")

    def test_key_that_does_not_match_is_exit_1(self):
        cert, _ = make_certificate(self.dir.name, "a")
        _, other_key = make_certificate(self.dir.name, "b")
        err = self.start_fails("--cert", cert, "--key", other_key)
        # The key is what is wrong: its file is named.
        self.assertEqual(err, f"sockecho: --key {other_key}: key values mismatch\n")

    def test_not_a_certificate_is_exit_1(self):
        junk = os.path.join(self.dir.name, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a certificate\n")
        _, key = make_certificate(self.dir.name)
        err = self.start_fails("--cert", junk, "--key", key)
        self.assertTrue(err.startswith(f"sockecho: --cert {junk}: "), err)


class MutualTls(TlsCase):
    """serve --cafile: every client shows a certificate that FILE's CA issued."""

    @classmethod
    def setUpClass(cls):
        if not have_tool("openssl"):
            raise unittest.SkipTest("the openssl tool is not installed")
        cls.dir = tempfile.TemporaryDirectory(prefix="sockecho-mtls-")
        d = cls.dir.name
        cls.ca = os.path.join(d, "ca.crt")
        ca_key = os.path.join(d, "ca.key")
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", ca_key, "-out", cls.ca, "-days", "2", "-subj", "/CN=sockecho test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign"])
        cls.client_key = os.path.join(d, "client.key")
        csr = os.path.join(d, "client.csr")
        cls.client_crt = os.path.join(d, "client.crt")
        openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", cls.client_key, "-out", csr, "-subj", "/O=tests/CN=client one"])
        openssl(["x509", "-req", "-in", csr, "-CA", cls.ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", cls.client_crt, "-days", "2"])
        cls.stranger_crt, cls.stranger_key = make_certificate(d, "stranger", cn="stranger")

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def connect(self, srv, chain, version=None):
        ctx = client_context(max_version=version)
        if chain:
            ctx.load_cert_chain(*chain)
        return self.client(srv, ctx=ctx)

    def test_client_certificate_from_the_ca_is_served_and_named(self):
        for version in (None, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version):
                srv = self.tls_server("--cafile", self.ca)
                c = self.connect(srv, (self.client_crt, self.client_key), version).handshake()
                self.assertEqual(c.exchange(b"it is me\n"), b"IT IS ME\n")
                est = self.established(srv, c.port)
                self.assertEqual(est["peer"], "CN=client one,O=tests")

    def test_client_without_or_with_another_certificate_is_refused(self):
        for version in (None, ssl.TLSVersion.TLSv1_2):
            srv = self.tls_server("--cafile", self.ca)
            for chain, why in ((None, "peer did not return a certificate"),
                               ((self.stranger_crt, self.stranger_key),
                                "certificate verify failed: self-signed certificate")):
                with self.subTest(version=version, chain=chain):
                    c = self.connect(srv, chain, version)
                    # TLS 1.3: the client's handshake ends before the server judges its
                    # certificate, so the refusal comes as an alert on the first read.
                    c.wait(lambda: c.done, what="the refusal")
                    self.assertIsInstance(c.error, ssl.SSLError, c.state())
                    self.assertEqual(c.got, b"")
                    line, v = self.closed(srv, c.port)
                    self.assertEqual((v["reason"], v["tls_error"]), ("tls", why), line)
            self.assertNotIn("ESTABLISHED", " ".join(srv.seen))


# ----------------------------------------------------------------------------- serve's features

class Features(TlsCase):
    def test_established_then_closed_lines(self):
        srv = self.tls_server()
        c = self.pinned(srv, sni="localhost")
        est = self.established(srv, c.port)
        self.assertEqual((est["tls"], est["alpn"], est["sni"]), ("TLSv1.3", "-", "localhost"))
        self.assertEqual(est["cipher"], c.obj.cipher()[0])
        self.assertEqual(c.exchange(b"hello world\n"), b"HELLO WORLD\n")
        c.send_close_notify()
        self.assertEqual(c.read_to_end(), (b"", "close_notify"))
        line, v = self.closed(srv, c.port)
        self.assertEqual((v["rx"], v["tx"], v["reason"]), ("12", "12", "eof"), line)

    def test_tls12_client(self):
        srv = self.tls_server()
        c = self.pinned(srv, ctx=client_context(max_version=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(c.exchange(b"twelve\n"), b"TWELVE\n")
        self.assertEqual(self.established(srv, c.port)["tls"], "TLSv1.2")

    def test_threads_serve_many_clients(self):
        srv = self.tls_server("--threads", "2")
        conns, want = [], {}
        for i in range(40):
            c = self.client(srv, name=f"client {i}")
            conns.append(c)
        drive(conns, lambda: all(c.handshaken or c.done for c in conns))
        for i, c in enumerate(conns):
            self.assertTrue(c.handshaken, f"client {i}: {c.state()}")
            self.assertEqual(fingerprint(c.peer_der()), srv.fp)
            data = b"client %d " % i + os.urandom(20000 + 97 * i) + b"\n"
            want[c] = upper(data)
            c.write(data)
            c.send_close_notify()
        drive(conns, lambda: all(c.done for c in conns), timeout=3 * T)
        for i, c in enumerate(conns):
            self.assertEqual(c.end, "close_notify", f"client {i}: {c.state()}")
            self.assertTrue(bytes(c.got) == want[c], f"client {i}: reply differs")
        ports = {f"127.0.0.1:{c.port}" for c in conns}
        while ports:
            f = srv.expect(lambda f: len(f) >= 6 and f[5] == "ESTABLISHED",
                           what=f"ESTABLISHED for {len(ports)} more").split()
            self.assertTrue(any(x.startswith("tls=TLSv1.") for x in f), f)
            ports.discard(f[4])
        rc, rest = srv.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, srv._diag())
        self.assertEqual(tls_kv(rest[-1])["clients"], "40", rest[-1])

    def test_max_clients_refuses_before_any_handshake(self):
        srv = self.tls_server("--max-clients", "1")
        first = self.pinned(srv)
        self.assertEqual(first.exchange(b"first\n"), b"FIRST\n")
        raw = self.tcp(srv.port)  # says nothing: whatever comes back is the server's doing
        line = srv.expect_state("REFUSED", f"127.0.0.1:{raw.getsockname()[1]}")
        self.assertEqual(tls_kv(line)["reason"], "max-clients", line)
        self.assertEqual(recv_to_eof(raw), b"", "no handshake bytes, only EOF")
        second = self.client(srv)  # a TLS client refused the same way
        second.wait(lambda: second.done, what="refusal")
        self.assertFalse(second.handshaken)
        self.assertEqual(second.wire_rx, 0, "the server sent handshake bytes to a refused client")
        srv.expect_state("REFUSED", f"127.0.0.1:{second.port}")
        self.assertEqual(first.exchange(b"still\n"), b"STILL\n")

    def test_deny_and_allow_are_checked_before_the_handshake(self):
        for args, bad, good in ((("--allow", "127.0.0.2/32"), "127.0.0.1", "127.0.0.2"),
                                (("--deny", "127.0.0.1/32"), "127.0.0.1", "127.0.0.3")):
            # Clients come from other loopback addresses, to the server's 127.0.0.1.
            with self.subTest(args=args), Server("--tls", *args) as srv:
                srv.fp = listen_fingerprint(srv)
                denied = TlsConn.connect(srv.port, "127.0.0.1", source=bad)
                self.addCleanup(denied.close)
                denied.wait(lambda: denied.done, what="refusal")
                self.assertFalse(denied.handshaken)
                self.assertEqual(denied.wire_rx, 0, "handshake bytes went to a denied client")
                line = srv.expect_state("REFUSED", f"{bad}:{denied.port}")
                self.assertEqual(tls_kv(line)["reason"], "denied", line)
                ok = self.pinned(srv, "127.0.0.1", source=good)
                self.assertEqual(ok.exchange(b"let in\n"), b"LET IN\n")
                self.assertEqual(self.established(srv, ok.port, good)["tls"], "TLSv1.3")

    def test_idle_timeout_after_the_handshake(self):
        srv = self.tls_server("--idle-timeout", "1s")
        idle = self.pinned(srv)
        t0 = time.monotonic()
        active = self.pinned(srv)
        n = 0
        while not idle.done and time.monotonic() - t0 < T:
            self.assertEqual(active.exchange(b"ping %d\n" % n), b"PING %d\n" % n)
            n += 1
            drive([idle], lambda: idle.done, timeout=0.2)  # paces the active client too
        took = time.monotonic() - t0
        self.assertEqual(idle.read_to_end(), (b"", "close_notify"), "closed politely")
        self.assertGreaterEqual(took, 0.9, "closed before --idle-timeout")
        self.assertLess(took, 4.0)
        self.assertEqual(active.exchange(b"alive\n"), b"ALIVE\n")
        idle.close()  # the server lingers until its client closes too
        line, v = self.closed(srv, idle.port)
        self.assertEqual(v["reason"], "idle", line)

    def test_idle_timeout_counts_from_the_end_of_a_slow_handshake(self):
        # A handshake that took longer than --idle-timeout (a slow network) is activity: the
        # client is served after it, not closed at once as having been idle since its connect.
        srv = self.tls_server("--idle-timeout", "1s")
        c = self.client(srv)
        hello = bytes(c.wire_out)
        c.wire_out.clear()
        c.sock.sendall(hello[:20])
        time.sleep(1.5)  # the slow handshake under test: longer than the idle timeout
        c.send_raw(hello[20:])
        c.handshake()
        t0 = time.monotonic()
        self.assertEqual(c.exchange(b"right after\n"), b"RIGHT AFTER\n")
        c.wait(lambda: c.done, what="the idle close")
        idle_for = time.monotonic() - t0
        self.assertEqual(c.end, "close_notify", c.state())
        self.assertGreaterEqual(idle_for, 0.9, "closed before --idle-timeout after its last message")
        c.close()
        self.assertEqual(self.closed(srv, c.port)[1]["reason"], "idle")

    def test_exit_word_closes_that_client(self):
        srv = self.tls_server()
        keeper = self.pinned(srv)
        c = self.pinned(srv)
        self.assertEqual(c.exchange(b"hello\n"), b"HELLO\n")
        c.write(b"exit\n")
        self.assertEqual(c.read_to_end(), (b"", "close_notify"))
        c.close()
        line, v = self.closed(srv, c.port)
        self.assertEqual(v["reason"], "exit-word", line)
        self.assertEqual(keeper.exchange(b"still here\n"), b"STILL HERE\n")

    def test_once_exits_0_after_one_client(self):
        srv = self.tls_server("--once")
        c = self.pinned(srv)
        self.assertEqual(c.exchange(b"only one\n"), b"ONLY ONE\n")
        c.send_close_notify()
        self.assertEqual(c.read_to_end(), (b"", "close_notify"))
        rc, rest = srv.wait_exit()
        self.assertEqual(rc, 0, srv._diag())
        self.assertTrue(rest and rest[-1].startswith("summary"), rest)

    def half_close(self, how):
        srv = self.tls_server()
        c = self.pinned(srv)
        data = os.urandom(1 << 20) + b"the tail\n"
        c.write(data)
        how(c)
        got, end = c.read_to_end(timeout=3 * T)
        self.assertTrue(got == upper(data), f"{len(got)} of {len(data)} bytes, or different")
        self.assertEqual(end, "close_notify", "the replies must end with close_notify")
        line, v = self.closed(srv, c.port)
        self.assertEqual((v["rx"], v["tx"], v["reason"]), (str(len(data)),) * 2 + ("eof",), line)

    def test_half_close_by_close_notify_gets_every_reply(self):
        self.half_close(TlsConn.send_close_notify)

    def test_half_close_by_fin_gets_every_reply(self):
        self.half_close(TlsConn.send_fin)

    def test_sigint_sends_close_notify_to_every_client_and_exits_0(self):
        srv = self.tls_server()
        conns = [self.pinned(srv) for _ in range(3)]
        for i, c in enumerate(conns):
            self.assertEqual(c.exchange(b"client %d\n" % i), b"CLIENT %d\n" % i)
        srv.proc.send_signal(signal.SIGINT)
        drive(conns, lambda: all(c.done for c in conns), timeout=T)
        for i, c in enumerate(conns):
            self.assertEqual(c.end, "close_notify", f"client {i}: {c.state()}")
            c.close()  # as a client would, on the server's end of data
        rc, rest = srv.wait_exit()
        self.assertEqual(rc, 0, srv._diag())
        self.assertTrue(rest and rest[-1].startswith("summary"), rest)
        v = tls_kv(rest[-1])
        self.assertEqual((v["clients"], v["errors"]), ("3", "0"), rest[-1])
        reasons = [tls_kv(l).get("reason") for l in srv.seen if " CLOSED " in l]
        self.assertEqual(reasons, ["shutdown"] * 3)
        self.assertEqual(srv.stderr(), b"")

    def test_unix_stream(self):
        d = tempfile.TemporaryDirectory(prefix="sockecho-tls-")
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "tls.sock")
        srv = self.tls_server(argv=["serve", "--tls", "--unix", path])
        self.assertEqual(srv.listen_line.split()[:1] + srv.listen_line.split()[3:4], ["unix", path])
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(T)
        s.connect(path)
        c = TlsConn(s, sni=None)
        self.addCleanup(c.close)
        c.handshake()
        self.assertEqual(fingerprint(c.peer_der()), srv.fp)
        data = bytes(range(256)) * 64
        self.assertEqual(c.exchange(data), upper(data))
        line = srv.expect_state("ESTABLISHED")
        self.assertEqual(line.split()[4], f"pid={os.getpid()},uid={os.getuid()}")
        self.assertEqual(tls_kv(line)["sni"], "-")
        c.send_close_notify()
        self.assertEqual(c.read_to_end(), (b"", "close_notify"))
        rc, _ = srv.stop(signal.SIGINT)
        self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(path))

    def test_json_lines(self):
        srv = self.tls_server("--json", "--alpn", "h2")
        listen = json.loads(srv.listen_line)
        self.assertRegex(listen["sha256"], r"\A([0-9A-F]{2}:){31}[0-9A-F]{2}\Z")
        srv.fp = listen["sha256"]
        c = self.pinned(srv, sni="localhost", ctx=client_context(alpn=["h2"]))
        self.assertEqual(c.exchange(b"json\n"), b"JSON\n")
        est = json.loads(srv.expect(lambda f: '"established"' in " ".join(f)))
        self.assertEqual((est["tls_version"], est["alpn"], est["sni"], est["peer_subject"]),
                         ("TLSv1.3", "h2", "localhost", None))
        self.assertEqual(est["cipher"], c.obj.cipher()[0])
        bad = self.tcp(srv.port)
        bad.sendall(b"GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(recv_until_closed(bad), b"")
        bad_remote = f'"127.0.0.1:{bad.getsockname()[1]}"'
        closed = json.loads(srv.expect(lambda f: '"closed"' in " ".join(f) and bad_remote in " ".join(f)))
        self.assertEqual(closed["reason"], "tls")
        self.assertIsInstance(closed["tls_error"], str)
        self.assertTrue(closed["tls_error"])

    def test_data_in_the_same_segment_as_the_clients_finished(self):
        # TLS 1.3 clients send their first data right behind their Finished: the server must
        # answer it although no new readiness comes after the handshake's last read.
        srv = self.tls_server()
        c = self.client(srv)
        c.wait(lambda: c.handshaken or c.done, what="the server's Finished")
        self.assertTrue(c.handshaken, c.state())
        c.write(b"right behind\n")  # queued after our Finished: one send() carries both
        c.wait(lambda: len(c.got) >= 13 or c.done, what="the reply")
        self.assertEqual(bytes(c.got), b"RIGHT BEHIND\n")

    def test_garbage_record_after_the_handshake_closes_that_client(self):
        srv = self.tls_server()
        other = self.pinned(srv)
        c = self.pinned(srv)
        self.assertEqual(c.exchange(b"fine\n"), b"FINE\n")
        c.send_raw(b"\x17\x03\x03\x00\x20" + os.urandom(32))  # application data nobody encrypted
        c.wait(lambda: c.done, what="the close")
        self.assertIsInstance(c.error, ssl.SSLError, f"no alert from the server: {c.state()}")
        line, v = self.closed(srv, c.port)
        self.assertEqual(v["reason"], "tls", line)
        self.assertIn("bad record mac", v["tls_error"], line)
        self.assertEqual(other.exchange(b"unharmed\n"), b"UNHARMED\n")

    def test_ipv6_loopback(self):
        require_ipv6(self)
        require_tool(self, "openssl")
        srv = self.tls_server(host="::1")
        c = self.pinned(srv, host="::1")
        self.assertEqual(c.exchange(b"six\n"), b"SIX\n")
        line = srv.expect_state("ESTABLISHED", f"[::1]:{c.port}")
        self.assertEqual(tls_kv(line)["tls"], "TLSv1.3")
        self.assertIn("IP:::1", cert_san(c.peer_der()))

    def test_verbose_shows_the_plaintext(self):
        srv = self.tls_server("-v")
        c = self.pinned(srv)
        self.assertEqual(c.exchange(b"secret words\r\n"), b"SECRET WORDS\r\n")
        line = srv.expect(lambda f: f[:1] == ["get"])
        self.assertEqual(line, f"get message from [127.0.0.1:{c.port}]: secret words -> SECRET WORDS")


if __name__ == "__main__":
    unittest.main()
