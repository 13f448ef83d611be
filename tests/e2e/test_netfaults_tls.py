"""TLS under a bad network, in a private network namespace (netns.py): 20% loss each way under
8 MiB of echo, a blackhole in the middle of a handshake (serve's --handshake-timeout), and a
server whose handshake records never arrive (send's --connect-timeout bounds the handshake).

As in test_netfaults.py: one namespace per test, only its loopback, every fault a counted
nftables rule, and at the end the server alive, answering over TLS, at its baseline fd count.
"""

import ssl
import time
import unittest

from harness import MiB, T, kv, one_error_line, payload, require_binary
from netns import NetnsCase, closed_for, require_netns


def setUpModule():
    require_binary()
    require_netns()


def client_context():
    """TLS 1.3 without verification: these tests are about the network, not certificates."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


class TlsFaults(NetnsCase):
    def test_8mib_echo_through_20pct_loss_each_way(self):
        srv = self.serve("--tls", "--mode", "echo")
        loss = self.ns.loss(srv.port, 20)
        data = payload(self.rng, 8 * MiB)
        # -w 60s: see test_netfaults.py's 8 MiB test (TCP's backoff can be silent for 10 s).
        rc, out, err, secs = self.ns.run(["send", "--tls", "-k", "-w", "60s", self.target(srv)],
                                         input=data, timeout=12 * T)
        self.assertEqual((rc, err), (0, b""), f"after {secs:.1f}s")
        self.assertSameBytes(out, data, "8 MiB echoed over TLS through 20% loss")
        self.assertGreater(self.ns.hits(loss), 0, "the loss rules dropped nothing")
        line = srv.expect(lambda f: len(f) >= 6 and f[5] == "CLOSED", what="the sender's CLOSED line")
        self.assertEqual((kv(line).get("rx"), kv(line).get("tx")), (str(len(data)),) * 2, line)
        self.assertServerWell(srv, "echo")

    def test_blackhole_mid_handshake_ends_at_the_handshake_timeout(self):
        srv = self.serve("--tls", "--handshake-timeout", "2s")
        t0 = time.monotonic()
        sock = self.ns.connect(srv.port)
        cport = sock.getsockname()[1]
        into, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = client_context().wrap_bio(into, out)
        # ClientHello out, the server's whole flight in: our side of the handshake is done,
        # and the server waits for our Finished ...
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(out.read())
                b = sock.recv(65536)
                self.assertNotEqual(b, b"", "the server closed during the handshake")
                into.write(b)
        fault = self.ns.blackhole(cport)  # ... which is lost, with everything after it
        sock.sendall(out.read())
        line = srv.expect(closed_for(cport), timeout=T, what="the CLOSED line of the stalled client")
        secs = time.monotonic() - t0
        f = kv(line)
        self.assertEqual(f.get("reason"), "tls", line)
        self.assertIn("timed out", line)
        self.assertWithin(secs, 2.2, 2.0, "a stalled handshake under --handshake-timeout 2s")
        self.assertWithin(float(f["time"].rstrip("s")), 2.2, 2.0, f"time= of {line!r}")
        self.assertNotIn("ESTABLISHED", "\n".join(srv.seen), "a handshake that never finished")
        self.assertGreater(self.ns.hits(fault), 0)
        sock.close()
        self.assertServerWell(srv)

    def test_send_connect_timeout_bounds_a_handshake_whose_replies_are_lost(self):
        srv = self.serve("--tls")
        start = self.startup_cost()
        # The SYN-ACK and bare ACKs pass, so the connect succeeds; every record the server sends
        # (ServerHello onwards) is dropped.
        fault = self.ns.drop_data_from(srv.port)
        rc, out, err, secs = self.ns.run(["send", "--tls", "-k", "--connect-timeout", "1s",
                                          self.target(srv), "hello"])
        self.assertEqual((rc, out), (1, b""), err)
        one_error_line(self, err)
        self.assertWithin(secs, 1.1 + start, 1.0, "send --tls --connect-timeout 1s")
        self.assertGreater(self.ns.hits(fault), 0, "no server record was dropped")
        line = srv.expect(lambda f: len(f) >= 6 and f[5] == "CLOSED",
                          what="the CLOSED line of the client that gave up")
        self.assertEqual(kv(line).get("reason"), "tls", line)
        self.assertNotIn("ESTABLISHED", "\n".join(srv.seen), "a handshake that never finished")
        self.assertServerWell(srv)


if __name__ == "__main__":
    unittest.main()
