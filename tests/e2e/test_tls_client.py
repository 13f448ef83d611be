"""TLS clients: `send --tls` and `probe --tls` against openssl s_server, socat OPENSSL-LISTEN
and sockecho's own `serve --tls`, with certificates made by tls_certs for each class (a test
CA and leaves that are good, self-signed, expired, not yet valid, for the wrong name, from an
unknown CA, 30 days from expiry, and a client certificate).

Everything is on 127.0.0.1; the servers listen on port 0 and say which port they got
(s_server's "ACCEPT 127.0.0.1:PORT", socat's "listening on", serve's LISTEN line).

What OpenSSL 3.0 says (X509_verify_cert_error_string, as the tests below expect it):
    self-signed leaf        self-signed certificate
    expired leaf            certificate has expired
    not yet valid           certificate is not yet valid
    wrong name, IP target   IP address mismatch
    wrong name, host name   hostname mismatch
    unknown CA (leaf only)  unable to get local issuer certificate
s_server -alpn h2 refuses a client that offers only other protocols (alert
no_application_protocol: "tlsv1 alert no application protocol"), as serve does.
"""

import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest

import tls_certs
from harness import (E2E, SOCKECHO, T, Peer, Server, SilentTcpListener, _kill_and_reap,
                     have_tool, one_error_line, require_binary, require_tool, run_sockecho,
                     skip_file, upper)


def setUpModule():
    require_binary()


ACCEPT = r"^ACCEPT \S+:(\d+)"                     # openssl s_server
SOCAT_LISTENING = r"listening on AF=\d+ \S*:(\d+)"  # socat -d -d ...-LISTEN
TLS_KEYS = ["tls_ms", "tls_version", "cipher", "alpn", "subject", "issuer", "san", "not_before",
            "not_after", "days_left", "sha256", "verify"]
HEADER = ["Proto", "Local", "Address", "Foreign", "Address", "State", "RTT", "TLS"]
MS = r"\d+\.\d{3}ms"


def utc(iso: str) -> datetime.datetime:
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Row:
    """One row of probe's table under --tls: the columns, and the key=value extras with
    their double-quoted values unquoted (quoted_value escapes '"' and '\\' as shlex reads them)."""

    def __init__(self, line):
        self.line = line
        cols = line.split()
        self.proto, self.local, self.foreign, self.state, self.rtt = cols[:5]
        self.tls = cols[5] if len(cols) > 5 and "=" not in cols[5] else None
        self.extras = {}
        for token in shlex.split(line):
            if token.startswith("("):
                break  # the error in parentheses, after the extras
            if "=" in token:
                k, v = token.split("=", 1)
                self.extras[k] = v
        m = re.search(r" \((.*)\)$", line)
        self.error = m.group(1) if m else ""


class TlsCase(E2E):
    @classmethod
    def setUpClass(cls):
        require_tool_or_skip_class("openssl")
        cls.certs = tls_certs.Certs()
        cls.addClassCleanup(cls.certs.remove)

    # -- servers
    def tls_server(self, leaf=None, *args):
        """sockecho serve --tls presenting leaf (default: the good chain)."""
        leaf = leaf or self.certs.good
        return self.server("--tls", "--cert", leaf.cert, "--key", leaf.key, *args)

    def s_server(self, *args, leaf=None):
        """openssl s_server on 127.0.0.1 (port 0), reversing each line it gets (-rev). Its
        stdout (where ACCEPT goes) is sent to stderr, which Peer reads for readiness."""
        leaf = leaf or self.certs.good
        argv = ["sh", "-c", 'exec "$@" 1>&2', "sh", "openssl", "s_server",
                "-accept", "127.0.0.1:0", "-cert", leaf.cert, "-key", leaf.key, "-rev"] + list(args)
        peer = Peer(argv, ready=ACCEPT)
        self.addCleanup(peer.close)
        return peer.__enter__()

    def socat_server(self, leaf=None):
        """socat OPENSSL-LISTEN upper-casing through tr (unbuffered, so a reply without a
        newline comes back at once)."""
        require_tool(self, "socat")
        leaf = leaf or self.certs.good
        peer = Peer(["socat", "-d", "-d",
                     f"OPENSSL-LISTEN:0,bind=127.0.0.1,reuseaddr,fork,cert={leaf.cert},"
                     f"key={leaf.key},verify=0",
                     "EXEC:stdbuf -o0 tr a-z A-Z"], ready=SOCAT_LISTENING)
        self.addCleanup(peer.close)
        return peer.__enter__()

    # -- clients
    def send(self, port, *args, host="127.0.0.1", input=None, words=("hello",)):
        """(rc, stdout, stderr) of `send --tls ARGS HOST:PORT WORDS`."""
        argv = ["send", "--tls"] + list(args) + [f"{host}:{port}"] + list(words)
        return run_sockecho(argv, input=input)

    def send_ca(self, port, *args, **kw):
        return self.send(port, "--cafile", self.certs.ca, *args, **kw)

    def assertSendFails(self, rc, out, err, why, port):
        """exit 1, nothing on stdout, one line `sockecho: tls with 127.0.0.1:PORT: WHY`."""
        self.assertEqual(out, b"", f"stdout of a failed send (stderr={err!r})")
        self.assertEqual(rc, 1, f"exit status (stderr={err!r})")
        one_error_line(self, err)
        self.assertEqual(err.decode(), f"sockecho: tls with 127.0.0.1:{port}: {why}\n")

    def probe(self, port, *args, host="127.0.0.1", timeout=T):
        return run_sockecho(["probe", "--tls"] + list(args) + [f"{host}:{port}"], timeout=timeout)

    def probe_row(self, port, *args, rc=None, **kw) -> Row:
        """The one row of `probe --tls ARGS 127.0.0.1:PORT` (table output)."""
        code, out, err = self.probe(port, *args, **kw)
        self.assertEqual(err, b"", f"stderr of probe {args}")
        if rc is not None:
            self.assertEqual(code, rc, f"exit status of probe {args}: {out!r}")
        lines = [l for l in out.decode().splitlines() if " resolved to " not in l]
        self.assertEqual(lines[0].split(), HEADER, out)
        self.assertTrue(lines[-1].startswith("summary "), out)
        self.assertEqual(len(lines), 3, f"one row expected: {out!r}")
        return Row(lines[1])

    def probe_json(self, port, *args, rc=None, **kw):
        """The JSON objects of `probe --tls --json ARGS 127.0.0.1:PORT`."""
        code, out, err = self.probe(port, "--json", *args, **kw)
        self.assertEqual(err, b"", f"stderr of probe --json {args}")
        if rc is not None:
            self.assertEqual(code, rc, f"exit status of probe --json {args}: {out!r}")
        return [json.loads(line) for line in out.decode().splitlines()]

    def probe_obj(self, port, *args, **kw) -> dict:
        objs = self.probe_json(port, *args, **kw)
        probes = [o for o in objs if o["event"] == "probe"]
        self.assertEqual(len(probes), 1, objs)
        return probes[0]

    def established(self, srv) -> str:
        return srv.expect_state("ESTABLISHED")

    def closed(self, srv) -> str:
        return srv.expect_state("CLOSED")


def require_tool_or_skip_class(name):
    if not have_tool(name):
        raise unittest.SkipTest(f"{name} is not installed")


def quoted(line: str, key: str):
    """The value of key=value or key="value with spaces" in a line; None when absent."""
    m = re.search(rf'(?:^|\s){re.escape(key)}=("(?:[^"\\]|\\.)*"|\S+)', line)
    if not m:
        return None
    v = m.group(1)
    return shlex.split(v)[0] if v.startswith('"') else v


# ----------------------------------------------------------------------------- other servers

class OtherServers(TlsCase):
    """openssl s_server and socat OPENSSL-LISTEN as the server."""

    def check_version(self, flag, version):
        far = self.s_server(flag)
        rc, out, err = self.send_ca(far.port, "-v", words=["hello", "world"])
        self.assertEqual((rc, out), (0, b"dlrow olleh\n"), err)
        est = err.decode().splitlines()[0]
        self.assertIn("ESTABLISHED", est.split(), err)
        self.assertEqual(quoted(est, "tls"), version, est)
        self.assertEqual(quoted(est, "verify"), "ok", est)
        self.assertEqual(quoted(est, "peer"), self.certs.good.subject, est)
        self.assertEqual(quoted(est, "issuer"), tls_certs.CA_SUBJECT, est)
        self.assertEqual(quoted(est, "alpn"), "-", est)
        obj = self.probe_obj(far.port, "--cafile", self.certs.ca, rc=0)
        self.assertEqual((obj["state"], obj["tls_version"], obj["verify"]), ("OPEN", version, "ok"), obj)
        return est, obj

    def test_s_server_tls12(self):
        est, obj = self.check_version("-tls1_2", "TLSv1.2")
        self.assertRegex(quoted(est, "cipher"), r"^ECDHE-ECDSA-", est)
        self.assertRegex(obj["cipher"], r"^ECDHE-ECDSA-", obj)

    def test_s_server_tls13(self):
        est, obj = self.check_version("-tls1_3", "TLSv1.3")
        self.assertRegex(quoted(est, "cipher"), r"^TLS_", est)
        self.assertRegex(obj["cipher"], r"^TLS_", obj)

    def test_tls_min_13_refuses_a_12_server(self):
        far = self.s_server("-tls1_2")
        rc, out, err = self.send_ca(far.port, "--tls-min", "1.3")
        self.assertEqual((rc, out), (1, b""), err)
        one_error_line(self, err)
        self.assertRegex(err.decode(), rf"^sockecho: tls with 127\.0\.0\.1:{far.port}: ")

    def test_alpn_agreed(self):
        far = self.s_server("-alpn", "h2,http/1.1")
        rc, out, err = self.send_ca(far.port, "-v", "--alpn", "h2")
        self.assertEqual((rc, out), (0, b"olleh\n"), err)
        self.assertEqual(quoted(err.decode().splitlines()[0], "alpn"), "h2", err)
        # The client's list in its order; the server picks from its own preference.
        rc, out, err = self.send_ca(far.port, "-v", "--alpn", "smtp,http/1.1")
        self.assertEqual((rc, out), (0, b"olleh\n"), err)
        self.assertEqual(quoted(err.decode().splitlines()[0], "alpn"), "http/1.1", err)
        obj = self.probe_obj(far.port, "--cafile", self.certs.ca, "--alpn", "h2", rc=0)
        self.assertEqual((obj["state"], obj["alpn"]), ("OPEN", "h2"), obj)
        row = self.probe_row(far.port, "--cafile", self.certs.ca, "--alpn", "h2", rc=0)
        self.assertEqual(row.extras["alpn"], "h2", row.line)

    def test_alpn_not_offered_is_null(self):
        far = self.s_server("-alpn", "h2")
        obj = self.probe_obj(far.port, "--cafile", self.certs.ca, rc=0)
        self.assertEqual(obj["state"], "OPEN", obj)
        self.assertIsNone(obj["alpn"], obj)
        row = self.probe_row(far.port, "--cafile", self.certs.ca, rc=0)
        self.assertEqual(row.extras["alpn"], "-", row.line)

    def test_alpn_refused(self):
        far = self.s_server("-alpn", "h2")
        rc, out, err = self.send_ca(far.port, "--alpn", "smtp")
        self.assertSendFails(rc, out, err, "tlsv1 alert no application protocol", far.port)
        obj = self.probe_obj(far.port, "--cafile", self.certs.ca, "--alpn", "smtp", rc=1)
        self.assertEqual(obj["state"], "BADTLS", obj)
        self.assertIn("no application protocol", obj["error"], obj)
        self.assertIsNone(obj["alpn"], obj)

    def test_mutual_tls_accepted(self):
        far = self.s_server("-Verify", "1", "-CAfile", self.certs.ca)
        rc, out, err = self.send_ca(far.port, "--cert", self.certs.client.cert,
                                    "--key", self.certs.client.key)
        self.assertEqual((rc, out, err), (0, b"olleh\n", b""))

    def test_mutual_tls_refused_tls12(self):
        # TLS 1.2: the server's refusal ends the client's handshake.
        far = self.s_server("-tls1_2", "-Verify", "1", "-CAfile", self.certs.ca)
        rc, out, err = self.send_ca(far.port)
        self.assertSendFails(rc, out, err, "sslv3 alert handshake failure", far.port)

    def test_mutual_tls_refused_tls13(self):
        # TLS 1.3: the client's handshake is over before the server checks its certificate;
        # the refusal comes as an alert when reading.
        far = self.s_server("-tls1_3", "-Verify", "1", "-CAfile", self.certs.ca)
        for _ in range(3):  # the alert may come while writing or while reading
            rc, out, err = self.send_ca(far.port)
            self.assertSendFails(rc, out, err, "tlsv13 alert certificate required", far.port)

    def test_mutual_tls_refused_probe_echo(self):
        # probe's handshake passes under TLS 1.3 (the server refuses only after it); --echo
        # finds out, and says why.
        far = self.s_server("-tls1_3", "-Verify", "1", "-CAfile", self.certs.ca)
        obj = self.probe_obj(far.port, "--cafile", self.certs.ca, "--echo", rc=1)
        self.assertEqual((obj["state"], obj["verify"]), ("NOECHO", "ok"), obj)
        self.assertEqual(obj["error"], "tlsv13 alert certificate required", obj)

    def test_socat_openssl_listen(self):
        far = self.socat_server()
        rc, out, err = self.send_ca(far.port, input=b"hello\nsocat\n", words=())
        self.assertEqual((rc, out, err), (0, b"HELLO\nSOCAT\n", b""))
        row = self.probe_row(far.port, "--cafile", self.certs.ca, "--echo", rc=0)
        self.assertEqual(row.state, "OPEN", row.line)
        self.assertEqual(row.extras["verify"], "ok", row.line)


class OwnServerMutualTls(TlsCase):
    """serve --tls --cafile: mutual TLS between sockecho's own server and client."""

    def test_client_certificate_accepted(self):
        srv = self.tls_server(None, "--cafile", self.certs.ca)
        rc, out, err = self.send_ca(srv.port, "--cert", self.certs.client.cert,
                                    "--key", self.certs.client.key)
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))
        est = self.established(srv)
        self.assertEqual(quoted(est, "peer"), self.certs.client.subject, est)

    def test_no_client_certificate_refused(self):
        srv = self.tls_server(None, "--cafile", self.certs.ca)
        rc, out, err = self.send_ca(srv.port)
        # TLS 1.3: the refusal is an alert after the client's handshake; it names the reason.
        self.assertSendFails(rc, out, err, "tlsv13 alert certificate required", srv.port)
        closed = self.closed(srv)
        self.assertEqual(quoted(closed, "reason"), "tls", closed)
        self.assertEqual(quoted(closed, "rx"), "0", closed)
        self.assertNotIn("ESTABLISHED", " ".join(srv.seen), srv.seen)


# ----------------------------------------------------------------------------- verification

class SendVerification(TlsCase):
    """send --tls --cafile ca.pem against serve --tls presenting each certificate."""

    def refused(self, leaf, why, *args, host="127.0.0.1"):
        srv = self.tls_server(leaf)
        rc, out, err = self.send_ca(srv.port, *args, host=host)
        self.assertSendFails(rc, out, err, why, srv.port)
        # Nothing was sent to the server it did not trust. (The server may see the
        # client's alert, reason=tls, or a reset: the client closes with the rest of the
        # server's flight unread.)
        closed = self.closed(srv)
        self.assertEqual(quoted(closed, "rx"), "0", closed)
        self.assertIn(quoted(closed, "reason"), ("tls", "reset"), closed)
        self.assertNotIn("ESTABLISHED", " ".join(srv.seen), srv.seen)

    def test_good_chain(self):
        srv = self.tls_server()
        for host in ("127.0.0.1", "localhost"):
            rc, out, err = self.send_ca(srv.port, host=host, input=b"good\nchain\n", words=())
            self.assertEqual((rc, out, err), (0, b"GOOD\nCHAIN\n", b""), host)

    def test_bulk_binary(self):
        # Partial TLS writes and reads through send's relay; the reply byte for byte.
        srv = self.tls_server()
        data = os.urandom(3 * 1024 * 1024) + b"the end\n"
        rc, out, err = run_sockecho(["send", "--tls", "--cafile", self.certs.ca,
                                     f"127.0.0.1:{srv.port}"], input=data, timeout=6 * T)
        self.assertEqual((rc, err), (0, b""))
        self.assertSameBytes(out, upper(data), "reply over TLS")

    def test_unix_socket(self):
        # A Unix path is no host name: the chain is checked, a name only with --servername.
        d = tempfile.mkdtemp(prefix="sockecho-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "tls.sock")
        good = self.certs.good
        srv = Server(argv=["serve", "--unix", "--tls", "--cert", good.cert, "--key", good.key, path])
        self.addCleanup(srv.close)
        srv.start()
        base = ["--unix", "--tls", "--cafile", self.certs.ca]
        rc, out, err = run_sockecho(["send"] + base + [path, "unix"])
        self.assertEqual((rc, out, err), (0, b"UNIX\n", b""))
        rc, out, err = run_sockecho(["send"] + base + ["--servername", "localhost", "-v", path, "sni"])
        self.assertEqual((rc, out), (0, b"SNI\n"), err)
        self.assertEqual(quoted(err.decode().splitlines()[0], "sni"), "localhost", err)
        rc, out, err = run_sockecho(["send"] + base + ["--servername", "wrong.example", path, "x"])
        self.assertEqual((rc, out), (1, b""), err)
        self.assertEqual(err.decode(), f"sockecho: tls with {path}: certificate verify failed: "
                                       "hostname mismatch\n")
        rc, out, err = run_sockecho(["probe", "--json"] + base + [path])
        self.assertEqual((rc, err), (0, b""), out)
        obj = json.loads(out.decode().splitlines()[0])
        self.assertEqual((obj["proto"], obj["state"], obj["verify"]), ("unix", "OPEN", "ok"), obj)

    def test_good_chain_verbose(self):
        srv = self.tls_server()
        rc, out, err = self.send_ca(srv.port, "-v")
        self.assertEqual((rc, out), (0, b"HELLO\n"), err)
        lines = err.decode().splitlines()
        self.assertEqual(len(lines), 2, err)
        est, closed = lines
        self.assertIn("ESTABLISHED", est.split(), est)
        self.assertEqual(quoted(est, "verify"), "ok", est)
        self.assertEqual(quoted(est, "tls"), "TLSv1.3", est)
        self.assertEqual(quoted(est, "peer"), self.certs.good.subject, est)
        self.assertEqual(quoted(est, "issuer"), tls_certs.CA_SUBJECT, est)
        want = tls_certs.not_after(self.certs.good.cert).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(quoted(est, "not_after"), want, est)
        self.assertIn("CLOSED", closed.split(), closed)

    def test_first_reply_is_not_held_by_nagle(self):
        # The first line after the handshake goes at once, not after the server's delayed
        # ACK of our TLS 1.3 Finished (40 ms): see ProbeTls's echo test. The line is typed
        # once the handshake is done (-v's ESTABLISHED line), and timed to its reply.
        srv = self.tls_server()
        best = None
        for _ in range(3):
            p = subprocess.Popen([SOCKECHO, "send", "--tls", "--cafile", self.certs.ca, "-v",
                                  f"127.0.0.1:{srv.port}"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.addCleanup(p.stderr.close)
            self.addCleanup(p.stdout.close)
            self.addCleanup(_kill_and_reap, p)
            self.addCleanup(p.stdin.close)
            est = p.stderr.readline()
            self.assertIn(b"ESTABLISHED", est)
            t0 = time.monotonic()
            p.stdin.write(b"first\n")
            p.stdin.flush()
            self.assertEqual(p.stdout.readline(), b"FIRST\n")
            took = time.monotonic() - t0
            best = took if best is None else min(best, took)
            p.stdin.close()
            self.assertEqual(p.wait(timeout=T), 0)
        self.assertLess(best, 0.020, f"the first reply took {best * 1000:.1f} ms at best")

    def test_system_cas_from_ssl_cert_file(self):
        # Without --cafile the system's CAs are OpenSSL's defaults, which SSL_CERT_FILE moves.
        srv = self.tls_server()
        env = dict(os.environ, SSL_CERT_FILE=self.certs.ca)
        rc, out, err = run_sockecho(["send", "--tls", f"127.0.0.1:{srv.port}", "hello"], env=env)
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))

    def test_insecure_and_pin_do_not_read_the_system_cas(self):
        # -k and --pin judge the certificate without any CA, so they must not pay for
        # reading the system's bundle (tens of milliseconds at every start). A FIFO with no
        # writer as the bundle makes reading it hang.
        srv = self.tls_server()
        fifo = os.path.join(self.certs.dir, "ca-bundle-fifo")
        os.mkfifo(fifo)
        self.addCleanup(os.unlink, fifo)
        env = dict(os.environ, SSL_CERT_FILE=fifo)
        pin = tls_certs.fingerprint(self.certs.good.cert)
        for args in (["-k"], ["--pin", pin]):
            rc, out, err = run_sockecho(["send", "--tls"] + args + [f"127.0.0.1:{srv.port}", "hi"],
                                        env=env, timeout=5)
            self.assertEqual((rc, out, err), (0, b"HI\n", b""), args)
            rc, out, err = run_sockecho(["probe", "--tls"] + args + [f"127.0.0.1:{srv.port}"],
                                        env=env, timeout=5)
            self.assertEqual((rc, err), (0, b""), args)

    def test_missing_files(self):
        # Set-up failures, before any connection: exit 1 and the system's reason in words,
        # not OpenSSL's packed error code.
        missing = os.path.join(self.certs.dir, "no-such.pem")
        good = self.certs.good
        for cmd, args, what in (
                ("send", ["--cafile", missing], f"--cafile {missing}"),
                ("probe", ["--cafile", missing], f"--cafile {missing}"),
                ("send", ["--cert", missing, "--key", good.key], f"--cert {missing}"),
                ("send", ["--cert", good.cert, "--key", missing], f"--key {missing}")):
            rc, out, err = run_sockecho([cmd, "--tls"] + args + ["127.0.0.1:9"] +
                                        (["hi"] if cmd == "send" else []))
            self.assertEqual((rc, out), (1, b""), f"{cmd} {args}: {err!r}")
            self.assertEqual(err.decode(), f"sockecho: {what}: No such file or directory\n")

    def test_system_cas_do_not_know_the_test_ca(self):
        srv = self.tls_server()
        rc, out, err = self.send(srv.port)
        self.assertSendFails(rc, out, err,
                             "certificate verify failed: unable to get local issuer certificate",
                             srv.port)

    def test_self_signed(self):
        self.refused(self.certs.self_signed, "certificate verify failed: self-signed certificate")

    def test_expired(self):
        self.refused(self.certs.expired, "certificate verify failed: certificate has expired")

    def test_not_yet_valid(self):
        self.refused(self.certs.not_yet_valid, "certificate verify failed: certificate is not yet valid")

    def test_wrong_name_ip_target(self):
        self.refused(self.certs.wrong_name, "certificate verify failed: IP address mismatch")

    def test_wrong_name_host_target(self):
        self.refused(self.certs.wrong_name, "certificate verify failed: hostname mismatch",
                     host="localhost")

    def test_wrong_servername(self):
        self.refused(self.certs.good, "certificate verify failed: hostname mismatch",
                     "--servername", "wrong.example")

    def test_unknown_ca(self):
        self.refused(self.certs.unknown_ca,
                     "certificate verify failed: unable to get local issuer certificate")

    def test_servername_against_an_ip_target(self):
        srv = self.tls_server()
        rc, out, err = self.send_ca(srv.port, "--servername", "localhost")
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))
        est = self.established(srv)
        self.assertEqual(quoted(est, "sni"), "localhost", est)

    def test_sni_for_names_not_for_ip_literals(self):
        srv = self.tls_server()
        rc, out, err = self.send_ca(srv.port)
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))
        est = self.established(srv)
        self.assertEqual(quoted(est, "sni"), "-", est)
        rc, out, err = self.send_ca(srv.port, host="localhost")
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))
        est = self.established(srv)
        self.assertEqual(quoted(est, "sni"), "localhost", est)

    def test_pin_as_serve_prints_it(self):
        srv = self.tls_server(self.certs.self_signed)
        fp = quoted(srv.listen_line, "sha256")
        self.assertEqual(fp, tls_certs.fingerprint(self.certs.self_signed.cert), srv.listen_line)
        bare = fp.replace(":", "")
        for pin in (fp, fp.lower(), bare, bare.lower(), "sha256=" + fp, bare[:10].lower() + bare[10:]):
            rc, out, err = self.send(srv.port, "--pin", pin, "-v")
            self.assertEqual((rc, out), (0, b"HELLO\n"), f"--pin {pin}: {err!r}")
            self.assertEqual(quoted(err.decode().splitlines()[0], "verify"), "pinned", err)

    def test_pin_skips_the_rest_of_verification(self):
        srv = self.tls_server(self.certs.expired)
        rc, out, err = self.send(srv.port, "--pin", tls_certs.fingerprint(self.certs.expired.cert))
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))

    def test_wrong_pin(self):
        srv = self.tls_server()
        other = tls_certs.fingerprint(self.certs.self_signed.cert)
        rc, out, err = self.send(srv.port, "--pin", other)
        real = tls_certs.fingerprint(self.certs.good.cert)
        self.assertSendFails(rc, out, err, "certificate verify failed: certificate does not match "
                             f"--pin (its sha256 is {real})", srv.port)
        closed = self.closed(srv)
        self.assertEqual(quoted(closed, "rx"), "0", closed)

    def test_insecure(self):
        for leaf in (self.certs.self_signed, self.certs.expired, self.certs.wrong_name):
            srv = self.tls_server(leaf)
            rc, out, err = self.send(srv.port, "-k", "-v")
            self.assertEqual((rc, out), (0, b"HELLO\n"), err)
            self.assertEqual(quoted(err.decode().splitlines()[0], "verify"), "skipped", err)


# ----------------------------------------------------------------------------- probe

class ProbeTls(TlsCase):
    def check_expired_fields(self, get, days_left):
        certs = self.certs
        self.assertEqual(get("subject"), certs.expired.subject)
        self.assertEqual(get("issuer"), tls_certs.CA_SUBJECT)
        self.assertEqual(get("sha256"), tls_certs.fingerprint(certs.expired.cert))
        self.assertEqual(utc(get("not_after")), tls_certs.not_after(certs.expired.cert))
        self.assertEqual(utc(get("not_before")), tls_certs.not_before(certs.expired.cert))
        self.assertLess(utc(get("not_after")), now_utc())
        self.assertEqual(get("tls_version"), "TLSv1.3")
        self.assertRegex(get("cipher"), r"^TLS_")
        # 30 days ago, in whole days rounded down: -30 (or -31 a second past the day).
        self.assertIn(days_left, (-30, -31))

    def test_expired_table(self):
        srv = self.tls_server(self.certs.expired)
        row = self.probe_row(srv.port, "--cafile", self.certs.ca, rc=1)
        self.assertEqual(row.state, "BADTLS", row.line)
        self.assertRegex(row.rtt, rf"^{MS}$", row.line)
        self.assertRegex(row.tls, rf"^{MS}$", row.line)
        e = row.extras
        self.check_expired_fields(e.get, int(e["days_left"]))
        self.assertEqual(e["san"], "DNS:localhost,IP:127.0.0.1", row.line)
        self.assertEqual(e["alpn"], "-", row.line)
        self.assertEqual(e["verify"], "certificate has expired", row.line)
        self.assertIn('verify="certificate has expired"', row.line)  # quoted: it has spaces
        self.assertIn(f'subject="{self.certs.expired.subject}"', row.line)
        self.assertEqual(row.error, "certificate verify failed: certificate has expired", row.line)

    def test_expired_json(self):
        srv = self.tls_server(self.certs.expired)
        objs = self.probe_json(srv.port, "--cafile", self.certs.ca, rc=1)
        self.assertEqual([o["event"] for o in objs], ["probe", "probe_summary"], objs)
        obj, summary = objs
        for k in TLS_KEYS:
            self.assertIn(k, obj, f"key {k} missing at the top level: {obj}")
        self.assertEqual(obj["state"], "BADTLS", obj)
        self.check_expired_fields(obj.get, obj["days_left"])
        self.assertIsInstance(obj["tls_ms"], float, obj)
        self.assertIsInstance(obj["days_left"], int, obj)
        for k in ("tls_version", "cipher", "subject", "issuer", "not_before", "not_after",
                  "sha256", "verify"):
            self.assertIsInstance(obj[k], str, f"{k}: {obj}")
        for k in ("not_before", "not_after"):
            self.assertRegex(obj[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", obj)
        self.assertEqual(obj["san"], ["DNS:localhost", "IP:127.0.0.1"], obj)
        self.assertIsNone(obj["alpn"], obj)
        self.assertEqual(obj["verify"], "certificate has expired", obj)
        self.assertEqual(obj["error"], "certificate verify failed: certificate has expired", obj)
        self.assertEqual((summary["states"]["badtls"], summary["states"]["open"]), (1, 0), summary)

    def test_expired_insecure_is_expiring(self):
        srv = self.tls_server(self.certs.expired)
        # -k skips verification, so the expiry is --warn-expiry's to judge.
        obj = self.probe_obj(srv.port, "-k", "--warn-expiry", "1d", rc=1)
        self.assertEqual(obj["state"], "EXPIRING", obj)
        self.assertEqual(obj["verify"], "skipped", obj)
        self.assertLessEqual(obj["days_left"], 0, obj)
        row = self.probe_row(srv.port, "-k", "--warn-expiry", "1d", rc=1)
        self.assertEqual(row.state, "EXPIRING", row.line)
        self.assertLessEqual(int(row.extras["days_left"]), 0, row.line)
        # The same under --pin.
        obj = self.probe_obj(srv.port, "--pin", tls_certs.fingerprint(self.certs.expired.cert),
                             "--warn-expiry", "1d", rc=1)
        self.assertEqual((obj["state"], obj["verify"]), ("EXPIRING", "pinned"), obj)

    def test_expired_insecure_without_warn_expiry(self):
        # --warn-expiry defaults to 0: under -k, where verification does not look at dates,
        # an expired leaf is still EXPIRING, and probe exits 1.
        srv = self.tls_server(self.certs.expired)
        obj = self.probe_obj(srv.port, "-k", rc=1)
        self.assertEqual((obj["state"], obj["verify"]), ("EXPIRING", "skipped"), obj)
        self.assertLess(obj["days_left"], 0, obj)

    def test_warn_expiry(self):
        srv = self.tls_server(self.certs.thirty_days)
        obj = self.probe_obj(srv.port, "--cafile", self.certs.ca, "--warn-expiry", "40d", rc=1)
        self.assertEqual((obj["state"], obj["verify"], obj["days_left"]), ("EXPIRING", "ok", 29), obj)
        row = self.probe_row(srv.port, "--cafile", self.certs.ca, "--warn-expiry", "40d", rc=1)
        self.assertEqual(row.state, "EXPIRING", row.line)
        obj = self.probe_obj(srv.port, "--cafile", self.certs.ca, "--warn-expiry", "20d", rc=0)
        self.assertEqual((obj["state"], obj["days_left"]), ("OPEN", 29), obj)

    def test_warn_expiry_with_count(self):
        # An EXPIRING endpoint answered every probe: none of them is lost.
        srv = self.tls_server(self.certs.thirty_days)
        args = ("--cafile", self.certs.ca, "--warn-expiry", "40d", "--count", "3", "-i", "50ms")
        code, out, err = self.probe(srv.port, *args)
        self.assertEqual((code, err), (1, b""), out)
        lines = [l for l in out.decode().splitlines()[1:] if not l.startswith("summary ")]
        # A row per probe as it comes back (seq=N), then the statistics of the endpoint.
        probes = [l for l in lines if " seq=" in l]
        self.assertEqual([l.split()[3] for l in probes], ["EXPIRING"] * 3, out)
        rows = [l for l in lines if " seq=" not in l]
        self.assertEqual(len(rows), 1, out)
        self.assertEqual(rows[0].split()[3], "EXPIRING", out)
        self.assertIn(" sent=3 recv=3 loss=0.0% ", rows[0])
        self.assertIn(" tls min/avg/max/stddev=", rows[0])
        stats = [o for o in self.probe_json(srv.port, *args, rc=1) if o["event"] == "probe_stats"]
        self.assertEqual(len(stats), 1, stats)
        s = stats[0]
        self.assertEqual((s["state"], s["sent"], s["received"], s["loss_percent"]),
                         ("EXPIRING", 3, 3, 0.0), s)
        self.assertIsInstance(s["min_ms"], float, s)

    def test_badtls_wins_over_expiring(self):
        srv = self.tls_server(self.certs.expired)
        obj = self.probe_obj(srv.port, "--cafile", self.certs.ca, "--warn-expiry", "40d", rc=1)
        self.assertEqual(obj["state"], "BADTLS", obj)

    def test_good_chain(self):
        srv = self.tls_server()
        row = self.probe_row(srv.port, "--cafile", self.certs.ca, rc=0)
        self.assertEqual((row.state, row.extras["verify"]), ("OPEN", "ok"), row.line)
        self.assertRegex(row.tls, rf"^{MS}$", row.line)
        self.assertEqual(row.extras["sha256"], tls_certs.fingerprint(self.certs.good.cert))
        self.assertEqual(row.error, "", row.line)
        row = self.probe_row(srv.port, "--cafile", self.certs.ca, host="localhost", rc=0)
        self.assertEqual((row.state, row.extras["verify"]), ("OPEN", "ok"), row.line)

    def test_wait_is_up_only_when_the_handshake_and_verification_pass(self):
        srv = self.tls_server()
        bad = self.tls_server(self.certs.self_signed)
        # The two endpoints in one run: the good chain comes up at once, the self-signed one
        # never does (its last state, BADTLS, comes at the end of the 1 s wait).
        t0 = time.monotonic()
        code, out, err = self.probe(srv.port, "--cafile", self.certs.ca, "--wait", "1s",
                                    f"127.0.0.1:{bad.port}")
        took = time.monotonic() - t0
        self.assertEqual((code, err), (1, b""), out)
        lines = [l for l in out.decode().splitlines()[1:] if not l.startswith("summary ")]
        self.assertEqual([(Row(l).state, "up=" in l) for l in lines],
                         [("OPEN", True), ("BADTLS", False)], out)
        self.assertIn(f"127.0.0.1:{srv.port}", lines[0])
        self.assertEqual(Row(lines[1]).extras["verify"], "self-signed certificate", out)
        self.assertLess(took, 1.1 + 0.5, out)
        obj = self.probe_obj(srv.port, "--cafile", self.certs.ca, "--wait", "5s", rc=0)
        self.assertEqual((obj["state"], obj["verify"]), ("OPEN", "ok"), obj)
        self.assertIsInstance(obj["up_s"], float, obj)

    def test_verification_failures(self):
        for leaf, why in ((self.certs.self_signed, "self-signed certificate"),
                          (self.certs.not_yet_valid, "certificate is not yet valid"),
                          (self.certs.wrong_name, "IP address mismatch")):
            srv = self.tls_server(leaf)
            obj = self.probe_obj(srv.port, "--cafile", self.certs.ca, rc=1)
            self.assertEqual((obj["state"], obj["verify"]), ("BADTLS", why), obj)
            self.assertEqual(obj["sha256"], tls_certs.fingerprint(leaf.cert), obj)

    def test_verify_says_what_send_says(self):
        # probe finishes the handshake to report the certificate; its reason must still be
        # the first failure verification met, as send's is (for an unknown CA OpenSSL goes
        # on to "unable to verify the first certificate").
        for leaf in (self.certs.unknown_ca, self.certs.self_signed, self.certs.expired,
                     self.certs.not_yet_valid, self.certs.wrong_name):
            srv = self.tls_server(leaf)
            rc, out, err = self.send_ca(srv.port)
            prefix = f"sockecho: tls with 127.0.0.1:{srv.port}: certificate verify failed: "
            self.assertTrue(err.decode().startswith(prefix), err)
            why = err.decode()[len(prefix):].rstrip("\n")
            obj = self.probe_obj(srv.port, "--cafile", self.certs.ca, rc=1)
            self.assertEqual((obj["state"], obj["verify"]), ("BADTLS", why), obj)
            self.assertEqual(obj["error"], "certificate verify failed: " + why, obj)
        self.assertEqual(why, "IP address mismatch")

    def test_unknown_ca(self):
        srv = self.tls_server(self.certs.unknown_ca)
        row = self.probe_row(srv.port, "--cafile", self.certs.ca, rc=1)
        self.assertEqual((row.state, row.extras["verify"]),
                         ("BADTLS", "unable to get local issuer certificate"), row.line)
        self.assertEqual(row.extras["issuer"], tls_certs.OTHER_CA_SUBJECT, row.line)

    def test_pin(self):
        srv = self.tls_server(self.certs.self_signed)
        obj = self.probe_obj(srv.port, "--pin", quoted(srv.listen_line, "sha256").lower(), rc=0)
        self.assertEqual((obj["state"], obj["verify"]), ("OPEN", "pinned"), obj)
        obj = self.probe_obj(srv.port, "--pin", tls_certs.fingerprint(self.certs.good.cert), rc=1)
        self.assertEqual(obj["state"], "BADTLS", obj)
        self.assertIn("does not match --pin", obj["verify"], obj)

    def test_count_tls_statistics(self):
        srv = self.tls_server()
        code, out, err = self.probe(srv.port, "-k", "--count", "5", "-i", "100ms")
        self.assertEqual((code, err), (0, b""), out)
        text = out.decode()
        m = re.search(r" tls min/avg/max/stddev=([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+)ms "
                      r"p50/p90/p99=[\d.]+/[\d.]+/[\d.]+ms", text)
        self.assertTrue(m, text)
        lo, avg, hi = (float(m.group(i)) for i in (1, 2, 3))
        self.assertTrue(0 < lo <= avg <= hi, text)
        self.assertIn(" sent=5 recv=5 loss=0.0% ", text)
        objs = self.probe_json(srv.port, "-k", "--count", "5", "-i", "100ms", rc=0)
        stats = [o for o in objs if o["event"] == "probe_stats"]
        self.assertEqual(len(stats), 1, objs)
        s = stats[0]
        for k in ("tls_min_ms", "tls_avg_ms", "tls_max_ms", "tls_stddev_ms", "tls_p50_ms",
                  "tls_p90_ms", "tls_p99_ms"):
            self.assertIsInstance(s.get(k), float, f"{k}: {s}")
        self.assertTrue(0 < s["tls_min_ms"] <= s["tls_avg_ms"] <= s["tls_max_ms"], s)
        self.assertEqual(len([o for o in objs if o["event"] == "probe"]), 5, objs)

    def test_echo(self):
        srv = self.server("--tls")  # a generated certificate
        row = self.probe_row(srv.port, "-k", "--echo", rc=0)
        self.assertEqual(row.state, "OPEN", row.line)
        self.assertRegex(row.rtt, rf"^{MS}$", row.line)
        self.assertRegex(row.tls, rf"^{MS}$", row.line)
        self.assertEqual(row.extras["verify"], "skipped", row.line)
        self.assertEqual(row.extras["sha256"], quoted(srv.listen_line, "sha256"), row.line)

    def test_echo_round_trip_is_not_held_by_nagle(self):
        # Under TLS 1.3 the client's Finished is the last thing of the handshake and serve
        # (no session tickets) sends nothing back, so its ACK is a delayed one (40 ms). The
        # echo's payload must not wait for it behind Nagle's algorithm: on loopback the
        # round trip is well under a millisecond, so 20 ms of median is generous.
        srv = self.server("--tls")
        code, out, err = self.probe(srv.port, "-k", "--echo", "--count", "5", "-i", "20ms")
        self.assertEqual((code, err), (0, b""), out)
        m = re.search(r" p50/p90/p99=([\d.]+)/", out.decode())
        self.assertTrue(m, out)
        self.assertLess(float(m.group(1)), 20.0, out)

    def test_plaintext_server(self):
        srv = self.server()
        row = self.probe_row(srv.port, "-k", rc=1)
        self.assertEqual(row.state, "BADTLS", row.line)
        self.assertNotEqual(row.error, "", row.line)
        obj = self.probe_obj(srv.port, "-k", rc=1)
        self.assertEqual(obj["state"], "BADTLS", obj)
        self.assertTrue(obj["error"], obj)
        self.assertIsNone(obj["sha256"], obj)
        rc, out, err = self.send(srv.port, "-k")
        self.assertEqual((rc, out), (1, b""), err)
        one_error_line(self, err)

    def test_silent_listener_times_out(self):
        with SilentTcpListener() as far:
            t0 = time.monotonic()
            row = self.probe_row(far.port, "-k", "--timeout", "1s", rc=1)
            took = time.monotonic() - t0
        self.assertEqual(row.state, "BADTLS", row.line)
        self.assertEqual(row.error, "handshake timed out", row.line)
        self.assertGreaterEqual(took, 0.9, row.line)
        self.assertLess(took, 3.0, row.line)
        # The TLS column and the extras are there, as for any other BADTLS row.
        self.assertEqual(row.tls, "-", row.line)
        self.assertEqual(row.extras.get("verify"), "handshake timed out", row.line)

    def test_silent_listener_json(self):
        with SilentTcpListener() as far:
            obj = self.probe_obj(far.port, "-k", "--timeout", "1s", rc=1)
        self.assertEqual((obj["state"], obj["error"]), ("BADTLS", "handshake timed out"), obj)
        for k in TLS_KEYS:
            self.assertIn(k, obj, f"key {k} missing at the top level: {obj}")
        self.assertIsNone(obj["tls_ms"], obj)
        self.assertIsNone(obj["sha256"], obj)
        self.assertEqual(obj["verify"], "handshake timed out", obj)

    def test_send_handshake_bounded_by_connect_timeout(self):
        with SilentTcpListener() as far:
            t0 = time.monotonic()
            rc, out, err = self.send(far.port, "-k", "--connect-timeout", "1s")
            took = time.monotonic() - t0
        self.assertSendFails(rc, out, err, "handshake timed out", far.port)
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 3.0)


if __name__ == "__main__":
    if not have_tool("openssl"):
        skip_file("openssl is not installed")
    unittest.main()
