"""-s/--source ADDR[:PORT] on send and probe: the local address (and port) connected from.

Linux routes all of 127.0.0.0/8 to lo, so a client can bind 127.0.0.2 or 127.0.0.3 without
setting anything up: the server's ESTABLISHED line (its Foreign column) shows where a
connection came from. Everything else is on 127.0.0.1 and ::1.
"""

import errno
import json
import socket
import unittest

from harness import E2E, one_error_line, require_binary, require_ipv6, run_sockecho


def setUpModule():
    require_binary()


def free_port(host):
    """A TCP port of host nobody uses now (bound and released: the kernel hands out another
    ephemeral port next, so it stays free for the moment this test needs it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def time_wait_at(host, port):
    """TCP sockets in TIME_WAIT on host:port (IPv4), from /proc/net/tcp."""
    local = "%08X:%04X" % (int.from_bytes(socket.inet_aton(host), "little"), port)
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if r[1] == local and r[3] == "06")


def localhost_families():
    return {ai[0] for ai in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)}


class Source(E2E):
    def established_from(self, srv):
        """The Foreign address of the server's next ESTABLISHED line."""
        return srv.expect_state("ESTABLISHED").split()[4]

    def test_send_from_another_loopback_address(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", "-s", "127.0.0.2", f"127.0.0.1:{srv.port}", "hello"])
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))
        self.assertRegex(self.established_from(srv), r"^127\.0\.0\.2:\d+$")

    def test_send_from_a_fixed_port(self):
        srv = self.server()
        port = free_port("127.0.0.3")
        rc, out, err = run_sockecho(["send", "--source", f"127.0.0.3:{port}",
                                     f"127.0.0.1:{srv.port}", "hi"])
        self.assertEqual((rc, out, err), (0, b"HI\n", b""))
        self.assertEqual(self.established_from(srv), f"127.0.0.3:{port}")

    def test_send_udp_from_another_address(self):
        srv = self.server("-v", udp=True)
        rc, out, err = run_sockecho(["send", "--udp", "-s", "127.0.0.4", f"127.0.0.1:{srv.port}", "ping"])
        self.assertEqual((rc, out, err), (0, b"PING\n", b""))
        line = srv.expect(lambda f: f[:2] == ["get", "message"], what="the -v message line")
        self.assertIn("[127.0.0.4:", line)

    def test_probe_from_another_address(self):
        srv = self.server()
        rc, out, err = run_sockecho(["probe", "-s", "127.0.0.2", f"127.0.0.1:{srv.port}"])
        self.assertEqual((rc, err), (0, b""), out)
        row = out.decode().splitlines()[1].split()
        self.assertRegex(row[1], r"^127\.0\.0\.2:\d+$", out)
        self.assertEqual(row[3], "OPEN", out)
        self.assertRegex(self.established_from(srv), r"^127\.0\.0\.2:\d+$")

    def test_probe_udp_from_another_address(self):
        srv = self.server(udp=True)
        rc, out, err = run_sockecho(["probe", "--json", "--udp", "-s", "127.0.0.5",
                                     f"127.0.0.1:{srv.port}"])
        self.assertEqual((rc, err), (0, b""), out)
        first = json.loads(out.decode().splitlines()[0])
        self.assertEqual(first["state"], "OPEN", first)
        self.assertTrue(first["local"].startswith("127.0.0.5:"), first)

    def test_probe_from_a_fixed_port_again_and_again(self):
        # Each probe's connection is reset, not closed: no TIME_WAIT keeps the port.
        srv = self.server()
        port = free_port("127.0.0.3")
        rc, out, err = run_sockecho(["probe", "-c", "3", "-i", "50ms", "-s", f"127.0.0.3:{port}",
                                     f"127.0.0.1:{srv.port}"])
        self.assertEqual((rc, err), (0, b""), out)
        lines = out.decode().splitlines()
        self.assertIn("recv=3", lines[-2].split(), out)
        for _ in range(3):
            self.assertEqual(self.established_from(srv), f"127.0.0.3:{port}")
        self.assertEqual(time_wait_at("127.0.0.3", port), 0,
                         "a probe from a fixed port left TIME_WAIT behind")

    def test_ipv6_source(self):
        require_ipv6(self)
        srv = self.server(host="::1")
        rc, out, err = run_sockecho(["send", "-s", "::1", f"[::1]:{srv.port}", "six"])
        self.assertEqual((rc, out, err), (0, b"SIX\n", b""))
        self.assertRegex(self.established_from(srv), r"^\[::1\]:\d+$")


class SourceErrors(E2E):
    def test_address_not_on_this_host(self):
        # 192.0.2.1 (TEST-NET-1) is only bound, never sent to: the bind fails first.
        with socket.socket() as s:
            try:
                s.bind(("192.0.2.1", 0))
                self.skipTest("this host has 192.0.2.1")
            except OSError as e:
                self.assertEqual(e.errno, errno.EADDRNOTAVAIL)
        srv = self.server()
        for sub in (["send"], ["probe"], ["probe", "--wait", "5s"]):
            with self.subTest(sub=sub):
                rc, out, err = run_sockecho(sub + ["-s", "192.0.2.1", f"127.0.0.1:{srv.port}", "x"]
                                            if sub == ["send"] else
                                            sub + ["-s", "192.0.2.1", f"127.0.0.1:{srv.port}"])
                self.assertEqual((rc, out), (1, b""), err)
                one_error_line(self, err)
                self.assertEqual(err, b"sockecho: bind to 192.0.2.1: Cannot assign requested address\n")

    def test_families_of_literals_are_a_usage_error(self):
        for args in (["send", "-s", "::1", "127.0.0.1:9", "x"],
                     ["send", "-s", "127.0.0.2", "[::1]:9", "x"],
                     ["probe", "-s", "127.0.0.2", "127.0.0.1:9", "[::1]:9"],
                     ["send", "-6", "-s", "127.0.0.2", "localhost:9", "x"],
                     ["send", "--unix", "-s", "127.0.0.2", "/tmp/nothing-here"],
                     ["probe", "--unix", "-s", "127.0.0.2", "/tmp/nothing-here"],
                     ["send", "-s", "127.0.0.2:70000", "127.0.0.1:9"],
                     ["probe", "-s", "127.0.0.3:5000", "127.0.0.1:9,10"],
                     ["probe", "-s", "127.0.0.3:5000", "127.0.0.1:9", "127.0.0.1:10"]):
            with self.subTest(args=args):
                rc, out, err = run_sockecho(args)
                self.assertUsageError(rc, out, err)
                self.assertTrue(err.startswith(b"sockecho: --source"), err)

    def test_families_of_a_name_are_settled_when_resolved(self):
        fams = localhost_families()
        if fams == {socket.AF_INET}:
            source, family = "::1", "IPv6"
        elif fams == {socket.AF_INET6}:
            source, family = "127.0.0.2", "IPv4"
        else:
            self.skipTest("localhost has both IPv4 and IPv6 addresses here")
        shown = "[::1]" if source == "::1" else source
        want = (f"sockecho: bind to {shown}: an {family} address, and the target has no "
                f"{family} address\n").encode()
        for args in (["send", "-s", source, "localhost:9", "x"], ["probe", "-s", source, "localhost:9"]):
            with self.subTest(args=args):
                rc, out, err = run_sockecho(args)
                self.assertEqual((rc, out, err), (1, b"", want))


if __name__ == "__main__":
    unittest.main()
