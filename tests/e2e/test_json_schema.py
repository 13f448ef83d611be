"""Every JSON event sockecho prints fits tests/e2e/json_schema.py, which the man page documents.

Runs every event at least once (serve over TCP, UDP, Unix stream and datagram with -v --json;
refused through --max-clients; probe --json with --count; the TLS variants with serve --tls
and probe --tls -k), checks the harness's JSON check fails a test on a bad line, and checks
the man page's "JSON lines" against the schema. Also --timestamps: the text lines with a time
in front, and --json unchanged by it.

Besides what each test asserts, harness.Server and run_sockecho validate every --json line
they read against the schema (see harness.py): a line that does not fit fails the test.
"""

import base64
import datetime
import json
import os
import re
import signal
import socket
import ssl
import sys
import tempfile
import unittest

import json_schema
from harness import (E2E, SOCKECHO, T, Server, check_json_output, connect, exchange,
                     recv_to_eof, require_binary, run_sockecho, run_timed, upper)

HERE = os.path.dirname(os.path.abspath(__file__))
MAN = os.path.join(os.path.dirname(os.path.dirname(HERE)), "man", "sockecho.1")
STAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"


def setUpModule():
    require_binary()


def parse_time(text) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def objects(lines):
    """The objects of JSON lines (the harness has validated each one already)."""
    return [json_schema.check_line(line) for line in lines]


def by_event(objs):
    out = {}
    for o in objs:
        out.setdefault(o["event"], []).append(o)
    return out


class JsonCase(E2E):
    def assertFits(self, obj):
        self.assertEqual(json_schema.validate(obj), [], obj)

    def assertTimesWithin(self, objs, t0, t1):
        """Every time is when it happened: between t0 and t1 (this machine's clock, as the
        server's), and never earlier than the line before it."""
        last = None
        for o in objs:
            t = parse_time(o["time"])
            self.assertLessEqual(t0 - datetime.timedelta(seconds=1), t, o)
            self.assertLessEqual(t, t1 + datetime.timedelta(seconds=1), o)
            if last is not None:
                self.assertLessEqual(last, t, f"time goes back: {o}")
            last = t

    def serve_session(self, srv):
        """All of a server's lines once stopped, as objects (LISTEN first)."""
        rc, _ = srv.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, srv.stderr())
        return objects(srv.seen)


# ----------------------------------------------------------------------------- serve

class ServeEvents(JsonCase):
    def test_tcp_listen_established_message_refused_closed_summary(self):
        t0 = now()
        srv = self.server("--json", "-v", "--max-clients", "1")
        a = self.tcp(srv.port)
        srv.expect(lambda f: '"established"' in " ".join(f), what="A's established")
        # A second client while A is served: accepted and closed at once, REFUSED.
        b = self.tcp(srv.port)
        self.assertEqual(recv_to_eof(b), b"")
        srv.expect(lambda f: '"refused"' in " ".join(f), what="B's refused")
        data = b"hello\r\n" + b"caf\xc3\xa9 \xff\x00\x01\n"
        self.assertEqual(exchange(a, data), upper(data))
        a.close()
        srv.expect(lambda f: '"closed"' in " ".join(f), what="A's closed")
        objs = self.serve_session(srv)
        t1 = now()
        ev = by_event(objs)
        self.assertEqual([o["event"] for o in objs][0], "listen")
        self.assertEqual([o["event"] for o in objs][-1], "summary")
        for name in ("listen", "established", "refused", "message", "closed", "summary"):
            self.assertIn(name, ev, objs)
        self.assertTimesWithin(objs, t0, t1)
        listen = ev["listen"][0]
        self.assertEqual((listen["proto"], listen["local"], listen["state"], listen["remote"]),
                         ("tcp", f"127.0.0.1:{srv.port}", "LISTEN", "0.0.0.0:*"))
        est = ev["established"][0]
        for k in ("rtt_ms", "rttvar_ms", "retransmits", "cwnd"):  # -v on TCP
            self.assertIn(k, est)
        self.assertNotIn("tls_version", est)  # no --tls
        refused = ev["refused"][0]
        self.assertEqual((refused["reason"], refused["err"], refused["state"]),
                         ("max-clients", "", "REFUSED"))
        msgs = ev["message"]
        self.assertEqual(len(msgs), 2, msgs)
        got = b"".join(base64.b64decode(m["data_b64"]) for m in msgs)
        replies = b"".join(base64.b64decode(m["reply_b64"]) for m in msgs)
        self.assertEqual(got, data, "data_b64: the exact bytes, newlines and all")
        self.assertEqual(replies, upper(data))
        self.assertEqual((msgs[0]["data"], msgs[0]["reply"]), ("hello", "HELLO"))
        # Readable text: U+FFFD for the byte that is not UTF-8, never the character U+00FF.
        self.assertEqual(msgs[1]["data"], "caf\u00e9 \ufffd\u0000\u0001")
        for m in msgs:
            self.assertEqual((m["proto"], m["local"], m["remote"]),
                             ("tcp", f"127.0.0.1:{srv.port}", est["remote"]), m)
        closed = [c for c in ev["closed"] if c["remote"] == est["remote"]][0]
        self.assertEqual((closed["rx"], closed["tx"], closed["reason"]),
                         (len(data), len(data), "eof"), closed)
        self.assertNotIn("tls_error", closed)
        self.assertEqual((ev["summary"][0]["clients"], ev["summary"][0]["refused"]), (1, 1))

    def test_udp_message_has_the_datagram_exactly(self):
        srv = self.server("--json", "-v", udp=True)
        c = self.udp()
        datagram = b"\x00\x00abc\r\n\x00"
        c.sendto(datagram, ("127.0.0.1", srv.port))
        self.assertEqual(c.recvfrom(100)[0], upper(datagram))
        line = srv.expect(lambda f: '"message"' in " ".join(f), what="the message")
        objs = self.serve_session(srv)
        m = json_schema.check_line(line)
        self.assertEqual((m["proto"], m["local"], m["remote"], m["data"], m["reply"]),
                         ("udp", f"127.0.0.1:{srv.port}", f"127.0.0.1:{c.getsockname()[1]}",
                          "abc", "ABC"))
        self.assertEqual(base64.b64decode(m["data_b64"]), datagram)
        self.assertEqual(base64.b64decode(m["reply_b64"]), upper(datagram))
        self.assertEqual([o["event"] for o in objs], ["listen", "message", "summary"], objs)
        self.assertEqual(objs[0]["proto"], "udp")

    def test_discard_mode_has_an_empty_reply(self):
        srv = self.server("--json", "-v", "--mode", "discard", udp=True)
        c = self.udp()
        c.sendto(b"x", ("127.0.0.1", srv.port))
        m = json_schema.check_line(srv.expect(lambda f: '"message"' in " ".join(f)))
        self.assertEqual((m["data"], m["reply"], m["data_b64"], m["reply_b64"]),
                         ("x", "", "eA==", ""))

    def test_unix_stream(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s")
            srv = self.server(argv=["serve", "--unix", "--json", "-v", path])
            self.assertEqual(json_schema.check_line(srv.listen_line)["local"], path)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.settimeout(T)
                c.connect(path)
                self.assertEqual(exchange(c, b"unix\n"), b"UNIX\n")
            srv.expect(lambda f: '"closed"' in " ".join(f))
            ev = by_event(self.serve_session(srv))
        est, msg = ev["established"][0], ev["message"][0]
        self.assertEqual((est["proto"], est["local"]), ("unix", path))
        self.assertRegex(est["remote"], r"\Apid=\d+,uid=\d+\Z")
        self.assertNotIn("rtt_ms", est)  # TCP_INFO is TCP's
        self.assertEqual((msg["proto"], msg["local"], msg["remote"], msg["data_b64"]),
                         ("unix", path, est["remote"], "dW5peAo="))

    def test_unix_datagram(self):
        with tempfile.TemporaryDirectory() as d:
            path, mine = os.path.join(d, "s"), os.path.join(d, "c")
            srv = self.server(argv=["serve", "--unix", "--udp", "--json", "-v", path])
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as c:
                c.settimeout(T)
                c.bind(mine)
                c.sendto(b"dg", path)
                self.assertEqual(c.recv(10), b"DG")
            m = json_schema.check_line(srv.expect(lambda f: '"message"' in " ".join(f)))
            self.serve_session(srv)
        self.assertEqual((m["proto"], m["local"], m["remote"]), ("unixdg", path, mine))

    def test_timestamps_change_nothing_in_json(self):
        srv = self.server("--json", "--timestamps")
        with connect(srv.port) as c:
            self.assertEqual(exchange(c, b"x\n"), b"X\n")
        objs = self.serve_session(srv)  # each line validated: pure JSON, no prefix
        self.assertEqual([o["event"] for o in objs],
                         ["listen", "established", "closed", "summary"])


class ServeTimestamps(JsonCase):
    def test_every_line_starts_with_the_time(self):
        t0 = now()
        srv = Server("-v", "--timestamps", ready=None)
        self.addCleanup(srv.close)
        srv.start()
        listen = srv.line(what="the LISTEN line")
        m = re.match(rf"\A({STAMP}) (tcp .*)\Z", listen)
        self.assertIsNotNone(m, listen)
        fields = m.group(2).split()
        self.assertEqual(fields[5], "LISTEN", listen)
        port = int(fields[3].rsplit(":", 1)[1])
        with connect(port) as c:
            cport = c.getsockname()[1]
            self.assertEqual(exchange(c, b"hi\n"), b"HI\n")
        srv.expect(lambda f: len(f) > 6 and f[6] == "CLOSED")
        rc, _ = srv.stop()
        self.assertEqual(rc, 0)
        t1 = now()
        self.assertEqual(len(srv.seen), 5, srv.seen)  # LISTEN, ESTABLISHED, message, CLOSED, summary
        last = None
        for line in srv.seen:
            stamp, rest = line.split(" ", 1)
            self.assertRegex(stamp, rf"\A{STAMP}\Z", line)
            t = parse_time(stamp)
            self.assertTrue(t0 - datetime.timedelta(seconds=1) <= t <= t1 + datetime.timedelta(seconds=1), line)
            self.assertTrue(last is None or last <= t, line)
            last = t
        rest = [line.split(" ", 1)[1] for line in srv.seen]
        self.assertEqual(rest[2], f"get message from [127.0.0.1:{cport}]: hi -> HI")
        self.assertTrue(rest[4].startswith("summary clients=1 "), rest[4])


# ----------------------------------------------------------------------------- send

class SendIsText(JsonCase):
    def test_send_verbose_lines_are_text_with_timestamps(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", "-v", "--timestamps", f"127.0.0.1:{srv.port}", "hi"])
        self.assertEqual((rc, out), (0, b"HI\n"), err)  # stdout: the replies, untouched
        lines = err.decode().splitlines()
        self.assertEqual(len(lines), 2, err)
        for line, state in zip(lines, ("ESTABLISHED", "CLOSED")):
            self.assertRegex(line, rf"\A{STAMP} tcp ", line)
            self.assertEqual(line.split()[6], state, line)

    def test_send_without_timestamps_has_no_prefix(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", "-v", f"127.0.0.1:{srv.port}", "hi"])
        self.assertEqual(rc, 0, err)
        self.assertTrue(all(line.startswith("tcp ") for line in err.decode().splitlines()), err)
        rc, out, err = run_sockecho(["send", "--timestamps", f"127.0.0.1:{srv.port}", "hi"])
        self.assertEqual((rc, out, err), (0, b"HI\n", b""))

    def test_send_has_no_json(self):
        rc, out, err = run_sockecho(["send", "--json", "127.0.0.1:1", "x"])
        self.assertUsageError(rc, out, err)


# ----------------------------------------------------------------------------- probe

class ProbeEvents(JsonCase):
    def closed_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.addCleanup(s.close)
        return s.getsockname()[1]

    def test_probe_stats_summary(self):
        srv = self.server()
        closed = self.closed_port()
        t0 = now()
        rc, out, err = run_sockecho(["probe", "--json", "-c", "2", "-i", "50ms",
                                     f"127.0.0.1:{srv.port},{closed}"])
        t1 = now()
        self.assertEqual((rc, err), (1, b""), out)
        objs = json_schema.check_output(out)
        self.assertTimesWithin(objs, t0, t1)
        ev = by_event(objs)
        self.assertEqual((len(ev["probe"]), len(ev["probe_stats"]), len(ev["probe_summary"])),
                         (4, 2, 1), objs)
        self.assertEqual(objs[-1]["event"], "probe_summary")
        for s in ev["probe_stats"]:
            for k in ("local", "rtt_ms", "seq", "error"):
                self.assertNotIn(k, s, "one probe's key in the endpoint's statistics")
        summary = ev["probe_summary"][0]
        self.assertEqual(tuple(summary["states"]), json_schema.STATES)
        self.assertEqual((summary["states"]["open"], summary["states"]["closed"],
                          summary["states"]["error"]), (1, 1, 0))
        refused = [p for p in ev["probe"] if p["state"] == "CLOSED"]
        self.assertEqual({p["error"] for p in refused}, {"Connection refused"})

    def test_probe_udp_and_a_name(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))  # silent: OPEN|FILTERED
            rc, out, err = run_sockecho(["probe", "--json", "--udp", "-w", "200ms",
                                         f"127.0.0.1:{u.getsockname()[1]}"])
        self.assertEqual((rc, err), (1, b""), out)
        objs = json_schema.check_output(out)
        self.assertEqual(objs[0]["state"], "OPEN|FILTERED")
        self.assertEqual(objs[-1]["states"]["open_filtered"], 1)
        # A name (from /etc/hosts: no DNS query leaves the machine) is in resolved.
        closed = self.closed_port()
        rc, out, err = run_sockecho(["probe", "--json", "-4", f"localhost:{closed}"])
        self.assertEqual(rc, 1, err)
        objs = json_schema.check_output(out)
        self.assertEqual((objs[0]["state"], objs[0]["remote"]), ("CLOSED", f"127.0.0.1:{closed}"))
        self.assertEqual(objs[-1]["resolved"], {"localhost": ["127.0.0.1"]})

    def test_probe_timestamps(self):
        srv = self.server()
        rc, out, err = run_sockecho(["probe", "--timestamps", f"localhost:{srv.port}", "-4"])
        self.assertEqual((rc, err), (0, b""), out)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 4, out)  # header, row, "resolved to", summary
        stamps, rest = zip(*(line.split(" ", 1) for line in lines))
        for s in stamps:
            self.assertRegex(s, rf"\A{STAMP}\Z", out)
        self.assertTrue(rest[0].startswith("Proto Local Address"), out)
        self.assertEqual(rest[1].split()[3], "OPEN", out)
        self.assertEqual(rest[2], "localhost resolved to 127.0.0.1", out)
        self.assertTrue(rest[3].startswith("summary endpoints=1 open=1 "), out)
        t = [parse_time(s) for s in stamps]
        self.assertTrue(t[0] <= t[1] <= t[3], out)  # the run's start, the probe's end, the end
        # Without the flag: the same lines, no times.
        rc, plain, err = run_sockecho(["probe", f"localhost:{srv.port}", "-4"])
        self.assertEqual(plain.decode().splitlines()[0], rest[0])
        self.assertEqual(run_sockecho(["probe", "-q", "--timestamps", f"127.0.0.1:{srv.port}"]),
                         (0, b"", b""))

    def test_probe_timestamps_with_json_change_nothing(self):
        srv = self.server()
        rc, out, err = run_sockecho(["probe", "--json", "--timestamps", f"127.0.0.1:{srv.port}"])
        self.assertEqual((rc, err), (0, b""))
        self.assertEqual([o["event"] for o in json_schema.check_output(out)],
                         ["probe", "probe_summary"])


# ----------------------------------------------------------------------------- TLS

def tls_client(port, sni="localhost") -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=T)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


class TlsEvents(JsonCase):
    def test_serve_tls_listen_established_closed(self):
        srv = self.server("--tls", "--json", "-v")
        listen = json_schema.check_line(srv.listen_line)
        self.assertRegex(listen["sha256"], r"\A([0-9A-F]{2}:){31}[0-9A-F]{2}\Z")
        c = tls_client(srv.port)
        self.addCleanup(c.close)
        c.sendall(b"tls\n")
        self.assertEqual(c.recv(10), b"TLS\n")
        est = json_schema.check_line(srv.expect(lambda f: '"established"' in " ".join(f)))
        self.assertEqual((est["tls_version"], est["sni"], est["alpn"], est["peer_subject"]),
                         (c.version(), "localhost", None, None))
        self.assertEqual(est["cipher"], c.cipher()[0])
        self.assertIn("rtt_ms", est)
        # A client that speaks no TLS: a closed event with reason tls and why.
        plain = self.tcp(srv.port)
        plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            recv_to_eof(plain)  # an alert, then the end
        except ConnectionResetError:
            pass  # or a reset: the server closed with our request unread
        bad = json_schema.check_line(srv.expect(
            lambda f: '"closed"' in " ".join(f) and '"tls"' in " ".join(f)))
        self.assertEqual(bad["remote"], f"127.0.0.1:{plain.getsockname()[1]}")
        self.assertTrue(bad["tls_error"], bad)
        c.close()
        self.serve_session(srv)

    def test_probe_tls_keys_and_stats(self):
        srv = self.server("--tls")
        rc, out, err = run_sockecho(["probe", "--tls", "-k", "--json", "-c", "2", "-i", "50ms",
                                     f"127.0.0.1:{srv.port}"])
        self.assertEqual((rc, err), (0, b""), out)
        ev = by_event(json_schema.check_output(out))
        served = re.search(r"sha256=(\S+)", srv.listen_line).group(1)
        for p in ev["probe"]:
            self.assertEqual((p["verify"], p["sha256"], p["alpn"]), ("skipped", served, None), p)
            self.assertIn("DNS:localhost", p["san"])
            self.assertIsInstance(p["tls_ms"], float)
        stats = ev["probe_stats"][0]
        self.assertIsInstance(stats["tls_min_ms"], float, stats)
        self.assertNotIn("verify", stats)

    def test_probe_tls_without_a_certificate_is_null(self):
        srv = self.server()  # plain: the handshake fails at once, no certificate
        rc, out, err = run_sockecho(["probe", "--tls", "-k", "--json", f"127.0.0.1:{srv.port}"])
        self.assertEqual((rc, err), (1, b""), out)
        p = json_schema.check_output(out)[0]
        self.assertEqual(p["state"], "BADTLS", p)
        for k in ("subject", "issuer", "san", "not_before", "not_after", "days_left", "sha256"):
            self.assertIsNone(p[k], f"{k}: {p}")
        self.assertTrue(p["verify"], p)


# ----------------------------------------------------------------------------- the checks

class TheSchema(unittest.TestCase):
    LISTEN = {"event": "listen", "time": "2026-12-03T16:34:17.123456Z", "proto": "tcp",
              "local": "127.0.0.1:1", "remote": "0.0.0.0:*", "state": "LISTEN", "recv_q": 0,
              "send_q": 128}

    def test_one_type_per_key(self):
        seen = {}
        for event, keys in json_schema.SCHEMA.items():
            self.assertEqual(list(keys)[:2], ["event", "time"], event)
            for key, t in keys.items():
                self.assertEqual(seen.setdefault(key, t), t, f"{key} in {event}")
        for event, groups in json_schema.OPTIONAL.items():
            for group in groups:
                for key in group:
                    self.assertIn(key, json_schema.SCHEMA[event], event)

    def test_a_fitting_line_passes(self):
        self.assertEqual(json_schema.validate(dict(self.LISTEN)), [])
        line = json.dumps(self.LISTEN, separators=(",", ":"))
        self.assertEqual(json_schema.check_line(line + "\n"), self.LISTEN)

    def test_each_kind_of_breach_fails(self):
        def broken(**change):
            obj = dict(self.LISTEN)
            for k, v in change.items():
                if v is KeyError:
                    del obj[k]
                else:
                    obj[k] = v
            return obj

        for obj, why in [
            (broken(recv_q=KeyError), "missing"),
            (broken(extra=1), "does not have"),
            (broken(send_q="128"), "not integer"),
            (broken(recv_q=True), "not integer"),
            (broken(time="2026-12-03 16:34:17Z"), "RFC 3339"),
            (broken(state="OPEN"), "state"),
            (broken(event="nosuch"), "unknown event"),
            (dict(broken(), sha256=None), ""),  # fits: sha256 is string|null and optional
        ]:
            with self.subTest(why=why, obj=obj):
                problems = json_schema.validate(obj)
                if why:
                    self.assertTrue(any(why in p for p in problems), problems)
                else:
                    self.assertEqual(problems, [])
        est = {"event": "established", "time": self.LISTEN["time"], **{k: self.LISTEN[k] for k in (
            "proto", "local", "remote", "recv_q", "send_q")}, "state": "ESTABLISHED", "rtt_ms": 1.0}
        self.assertTrue(any("only ['rtt_ms']" in p for p in json_schema.validate(est)))
        msg = {"event": "message", "time": self.LISTEN["time"], "proto": "udp", "local": "a",
               "remote": "b", "data": "x", "reply": "X", "data_b64": "eA=", "reply_b64": "WA=="}
        self.assertTrue(any("base64" in p for p in json_schema.validate(msg)))
        summary = {"event": "probe_summary", "time": self.LISTEN["time"], "endpoints": 1,
                   "states": {"open": 1}, "duration_s": 0.1, "resolved": {}}
        self.assertTrue(any("states has" in p for p in json_schema.validate(summary)))

    def test_check_line_fails_bad_text(self):
        good = json.dumps(self.LISTEN, separators=(",", ":"))
        reordered = json.dumps(dict(reversed(list(self.LISTEN.items()))))
        for line in ["not json", "[1]", good[:-1], good.replace('"proto"', '"send_q":1,"proto"', 1),
                     reordered, good.encode() + b"\xff"]:
            with self.subTest(line=line):
                with self.assertRaises(json_schema.SchemaError):
                    json_schema.check_line(line)
        with self.assertRaises(json_schema.SchemaError):
            json_schema.check_output(good + "\n" + good)  # a cut last line
        self.assertEqual(len(json_schema.check_output(good + "\n" + good[:9], cut_ok=True)), 1)

    def test_the_harness_fails_a_test_on_a_bad_line(self):
        # A "server" that prints a LISTEN line that is not JSON: reading it fails.
        fake = [sys.executable, "-c", "print('{\"event\":\"listen\"', flush=True)"]
        srv = Server("--json", prefix=fake)
        with self.assertRaises(json_schema.SchemaError):
            srv.start()
        # A line no one read is checked when the server is closed.
        srv = Server("--json", prefix=[sys.executable, "-c", "print('{}')"], ready=None)
        srv.start()
        srv.proc.wait(timeout=T)
        with self.assertRaises(json_schema.SchemaError):
            srv.close()
        # run_timed (and so run_sockecho, run_faulted) checks sockecho's stdout under --json.
        with self.assertRaises(json_schema.SchemaError):
            run_timed([sys.executable, "-c", "print('{}')", SOCKECHO, "probe", "--json"])
        run_timed([sys.executable, "-c", "print('{}')", SOCKECHO, "probe"])  # not JSON: not checked
        with self.assertRaises(json_schema.SchemaError):
            check_json_output(["serve", "--json"], b'{"event":"summary"}\n')


class TheManPage(unittest.TestCase):
    """sockecho(1) OUTPUT, "JSON lines": each event with its keys, each key with its type."""

    @classmethod
    def setUpClass(cls):
        with open(MAN, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("\\-", "-").replace("\\&", "").replace("\\\n", "")
        section = text.split(".SS JSON lines\n", 1)[1].split("\n.S", 1)[0]
        events, keys = section.split("\n.B Events\n", 1)[1].split("\n.B Keys\n", 1)
        cls.events = {}
        for para in events.split(".TP\n")[1:]:
            name, body = para.split("\n", 1)
            cls.events[name.replace(".B ", "")] = set(re.findall(r"(?m)^\.BR? ([a-z0-9_]+)\b", body))
        cls.types = {}
        for m in re.finditer(r'(?m)^\.TP\n\.BI "?([a-z0-9_, ]+?)"? " ([^"]+)"$', keys):
            for key in m.group(1).split(", "):
                cls.types[key] = m.group(2)

    def test_every_event_with_its_keys(self):
        self.assertEqual(set(self.events), set(json_schema.SCHEMA))
        for event, keys in json_schema.SCHEMA.items():
            with self.subTest(event=event):
                self.assertLessEqual(set(keys), self.events[event])

    def test_every_key_with_its_type(self):
        self.assertEqual(self.types, json_schema.KEY_TYPES)


if __name__ == "__main__":
    unittest.main()
