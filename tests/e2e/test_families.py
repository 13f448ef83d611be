"""IPv4, IPv6 and dual-stack: what serve listens on, how peers print, and send over each;
every address form of the grammar (brackets or not, service names) serving and connecting."""

import errno
import socket
import unittest

from harness import (E2E, claim_port_in_other_family, exchange, ipv6_available, one_error_line,
                     require_binary, require_ipv6, run_sockecho)


def setUpModule():
    require_binary()


class IPv4(E2E):
    def test_tcp_v4(self):
        srv = self.server(host="127.0.0.1")
        self.assertEqual(srv.listen_line.split()[3], f"127.0.0.1:{srv.port}")
        c = self.tcp(srv.port, "127.0.0.1")
        cport = c.getsockname()[1]
        self.assertEqual(exchange(c, b"v4\n"), b"V4\n")
        est = srv.expect_state("ESTABLISHED", f"127.0.0.1:{cport}").split()
        self.assertEqual(est[3], f"127.0.0.1:{srv.port}")

    def test_dash4_without_bind_listens_on_0000(self):
        srv = self.server("-4", host=None)
        f = srv.listen_line.split()
        self.assertEqual((f[3], f[4]), (f"0.0.0.0:{srv.port}", "0.0.0.0:*"))
        c = self.tcp(srv.port, "127.0.0.1")
        self.assertEqual(exchange(c, b"four\n"), b"FOUR\n")
        if ipv6_available():
            claim_port_in_other_family(self, srv, "::1")

    def test_positional_addr_port(self):
        srv = self.server(argv=["serve", "127.0.0.1:0"])
        self.assertEqual(srv.listen_line.split()[3], f"127.0.0.1:{srv.port}")
        c = self.tcp(srv.port)
        self.assertEqual(exchange(c, b"pos\n"), b"POS\n")

    def test_positional_port_wins_over_dash_p(self):
        srv = self.server(argv=["serve", "-p", "1", "127.0.0.1:0"])
        self.assertNotEqual(srv.port, 1)
        self.assertEqual(srv.listen_line.split()[3], f"127.0.0.1:{srv.port}")

    def test_send_to_localhost_name(self):
        srv = self.server(host="127.0.0.1")
        rc, out, err = run_sockecho(["send", f"localhost:{srv.port}", "by", "name"])
        self.assertEqual((rc, out, err), (0, b"BY NAME\n", b""))


class IPv6(E2E):
    def setUp(self):
        require_ipv6(self)

    def test_tcp_v6(self):
        srv = self.server(host="::1")
        f = srv.listen_line.split()
        self.assertEqual((f[0], f[3], f[4], f[5]), ("tcp", f"[::1]:{srv.port}", "[::]:*", "LISTEN"))
        c = self.tcp(srv.port, "::1")
        cport = c.getsockname()[1]
        self.assertEqual(exchange(c, b"six\n"), b"SIX\n")
        est = srv.expect_state("ESTABLISHED", f"[::1]:{cport}").split()
        self.assertEqual(est[3], f"[::1]:{srv.port}")

    def test_v6_server_refuses_v4(self):
        srv = self.server(host="::1")
        claim_port_in_other_family(self, srv, "127.0.0.1")

    def test_udp_v6(self):
        srv = self.server(host="::1", udp=True)
        f = srv.listen_line.split()
        self.assertEqual((f[0], f[3], f[5]), ("udp", f"[::1]:{srv.port}", "LISTEN"))
        u = self.udp("::1")
        u.sendto(b"hello6", ("::1", srv.port))
        data, addr = u.recvfrom(100)
        self.assertEqual((data, addr[:2]), (b"HELLO6", ("::1", srv.port)))

    def test_positional_bracketed(self):
        srv = self.server(argv=["serve", "[::1]:0"])
        self.assertEqual(srv.listen_line.split()[3], f"[::1]:{srv.port}")

    def test_send_to_bracketed_target(self):
        srv = self.server(host="::1")
        rc, out, err = run_sockecho(["send", f"[::1]:{srv.port}"], input=b"over six\n")
        self.assertEqual((rc, out, err), (0, b"OVER SIX\n", b""))

    def test_send_udp_to_bracketed_target(self):
        srv = self.server(host="::1", udp=True)
        rc, out, err = run_sockecho(["send", "--udp", f"[::1]:{srv.port}"], input=b"a\nb\n")
        self.assertEqual((rc, out, err), (0, b"A\nB\n", b""))

    def test_verbose_shows_v6_peer(self):
        srv = self.server("-v", host="::1")
        c = self.tcp(srv.port, "::1")
        cport = c.getsockname()[1]
        self.assertEqual(exchange(c, b"hello\n"), b"HELLO\n")
        line = srv.expect(lambda f: f[:1] == ["get"])
        # The tutorial format wraps the peer in brackets; a v6 peer has its own, once.
        self.assertEqual(line, f"get message from [::1]:{cport}: hello -> HELLO")


class DualStack(E2E):
    def setUp(self):
        require_ipv6(self)

    def test_no_bind_listens_on_all_v6_and_shows_v4_peers_as_v4(self):
        srv = self.server(host=None)
        f = srv.listen_line.split()
        self.assertEqual((f[0], f[3], f[4], f[5]), ("tcp", f"[::]:{srv.port}", "[::]:*", "LISTEN"))
        c4 = self.tcp(srv.port, "127.0.0.1")
        c4port = c4.getsockname()[1]
        self.assertEqual(exchange(c4, b"from four\n"), b"FROM FOUR\n")
        est = srv.expect(lambda f: len(f) >= 6 and f[5] == "ESTABLISHED" and
                         f[4].endswith(f":{c4port}"), what="the v4 client's ESTABLISHED line").split()
        self.assertEqual(est[4], f"127.0.0.1:{c4port}", "v4 peer of a dual-stack server")
        self.assertEqual(est[3], f"127.0.0.1:{srv.port}")
        c6 = self.tcp(srv.port, "::1")
        c6port = c6.getsockname()[1]
        self.assertEqual(exchange(c6, b"from six\n"), b"FROM SIX\n")
        est = srv.expect(lambda f: len(f) >= 6 and f[5] == "ESTABLISHED" and
                         f[4].endswith(f":{c6port}"), what="the v6 client's ESTABLISHED line").split()
        self.assertEqual((est[3], est[4]), (f"[::1]:{srv.port}", f"[::1]:{c6port}"))
        c4.close()
        closed = srv.expect(lambda f: len(f) >= 6 and f[5] == "CLOSED" and
                            f[4].endswith(f":{c4port}"), what="the v4 client's CLOSED line").split()
        self.assertEqual(closed[4], f"127.0.0.1:{c4port}")

    def test_dash6_without_bind_is_v6_only(self):
        srv = self.server("-6", host=None)
        self.assertEqual(srv.listen_line.split()[3], f"[::]:{srv.port}")
        c = self.tcp(srv.port, "::1")
        self.assertEqual(exchange(c, b"x\n"), b"X\n")
        claim_port_in_other_family(self, srv, "127.0.0.1")

    def test_udp_dual_stack(self):
        srv = self.server("-v", host=None, udp=True)
        f = srv.listen_line.split()
        self.assertEqual((f[0], f[3]), ("udp", f"[::]:{srv.port}"))
        u4 = self.udp("127.0.0.1")
        u4.sendto(b"four", ("127.0.0.1", srv.port))
        data, addr = u4.recvfrom(100)
        self.assertEqual((data, addr[:2]), (b"FOUR", ("127.0.0.1", srv.port)))
        line = srv.expect(lambda f: f[:1] == ["get"])
        self.assertEqual(line, f"get message from [127.0.0.1:{u4.getsockname()[1]}]: four -> FOUR")
        u6 = self.udp("::1")
        u6.sendto(b"six", ("::1", srv.port))
        data, addr = u6.recvfrom(100)
        self.assertEqual((data, addr[:2]), (b"SIX", ("::1", srv.port)))

    def test_send_to_dual_stack_server_over_both(self):
        srv = self.server(host=None)
        for target in (f"127.0.0.1:{srv.port}", f"[::1]:{srv.port}", f"localhost:{srv.port}"):
            with self.subTest(target=target):
                rc, out, err = run_sockecho(["send", target, "hi"])
                self.assertEqual((rc, out, err), (0, b"HI\n", b""))


def can_bind(host, port, kind=socket.SOCK_STREAM):
    """Whether this process may bind host:port now (a low port needs root)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, kind) as s:
        try:
            s.bind((host, port))
            return True
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM, errno.EADDRINUSE):
                return False
            raise


def nothing_listens(host, port):
    """Whether a TCP connect to host:port is refused (nothing there to take our bytes)."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class AddressForms(E2E):
    """Each form of the address grammar serves and connects for real, on loopback."""

    def assert_serves(self, srv, host, local):
        self.assertEqual(srv.listen_line.split()[3], local.format(port=srv.port))
        c = self.tcp(srv.port, host)
        self.assertEqual(exchange(c, b"form\n"), b"FORM\n")

    def test_bind_ipv4_literal(self):
        srv = self.server(argv=["serve", "-b", "127.0.0.1", "-p", "0"])
        self.assert_serves(srv, "127.0.0.1", "127.0.0.1:{port}")
        rc, out, err = run_sockecho(["send", "-p", str(srv.port), "127.0.0.1", "dash", "p"])
        self.assertEqual((rc, out, err), (0, b"DASH P\n", b""))

    def test_bind_ipv6_in_brackets(self):
        require_ipv6(self)
        srv = self.server(argv=["serve", "-b", "[::1]", "-p", "0"])
        self.assert_serves(srv, "::1", "[::1]:{port}")
        rc, out, err = run_sockecho(["send", f"[::1]:{srv.port}", "brackets"])
        self.assertEqual((rc, out, err), (0, b"BRACKETS\n", b""))

    def test_bind_ipv6_bare(self):
        require_ipv6(self)
        srv = self.server(argv=["serve", "-b", "::1", "-p", "0"])
        self.assert_serves(srv, "::1", "[::1]:{port}")

    def test_bind_ipv6_in_brackets_udp(self):
        require_ipv6(self)
        srv = self.server(argv=["serve", "--udp", "-b", "[::1]", "-p", "0"])
        self.assertEqual(srv.listen_line.split()[3], f"[::1]:{srv.port}")
        rc, out, err = run_sockecho(["send", "--udp", f"[::1]:{srv.port}"], input=b"dgram\n")
        self.assertEqual((rc, out, err), (0, b"DGRAM\n", b""))

    def test_positional_bracketed_with_port(self):
        require_ipv6(self)
        srv = self.server(argv=["serve", "[::1]:0"])
        self.assert_serves(srv, "::1", "[::1]:{port}")

    def test_positional_bracketed_without_port_takes_dash_p(self):
        require_ipv6(self)
        srv = self.server(argv=["serve", "-p", "0", "[::1]"])
        self.assert_serves(srv, "::1", "[::1]:{port}")

    def test_bind_and_positional_naming_the_same_address(self):
        require_ipv6(self)
        srv = self.server(argv=["serve", "-b", "::1", "[::1]:0"])
        self.assert_serves(srv, "::1", "[::1]:{port}")

    def test_send_to_ipv6_with_dash_p(self):
        require_ipv6(self)
        srv = self.server(host="::1")
        for target in ("[::1]", "::1"):
            with self.subTest(target=target):
                rc, out, err = run_sockecho(["send", "-p", str(srv.port), target, "hi"])
                self.assertEqual((rc, out, err), (0, b"HI\n", b""))

    def test_probe_bracketed_target(self):
        require_ipv6(self)
        srv = self.server(host="::1")
        rc, out, err = run_sockecho(["probe", "-q", f"[::1]:{srv.port}"])
        self.assertEqual((rc, out, err), (0, b"", b""))

    def test_v4_mapped_without_dash6_serves_ipv4(self):
        # ::ffff:127.0.0.1 is 127.0.0.1 on an IPv6 socket: IPv4 clients of 127.0.0.1 are
        # served, and it prints as IPv4, as netstat shows a mapped address.
        require_ipv6(self)
        srv = self.server(argv=["serve", "[::ffff:127.0.0.1]:0"])
        self.assert_serves(srv, "127.0.0.1", "127.0.0.1:{port}")
        rc, out, err = run_sockecho(["send", f"[::ffff:127.0.0.1]:{srv.port}", "mapped"])
        self.assertEqual((rc, out, err), (0, b"MAPPED\n", b""))

    def test_service_name_resolves_to_its_port_in_the_error(self):
        # Without binding a low port: the refusal names the port /etc/services gives.
        if not nothing_listens("127.0.0.1", 9):
            self.skipTest("something listens on 127.0.0.1:9")
        for args in (["send", "127.0.0.1:discard", "hi"], ["send", "-p", "discard", "127.0.0.1", "hi"]):
            with self.subTest(args=args):
                rc, out, err = run_sockecho(args)
                self.assertEqual((rc, out), (1, b""))
                one_error_line(self, err)
                self.assertIn(b" 127.0.0.1:9: Connection refused\n", err)

    def test_service_name_serves_and_connects(self):
        # echo is 7/tcp in /etc/services: a low port, so this needs root (or a lowered
        # ip_unprivileged_port_start) and the port free on 127.0.0.1.
        if not can_bind("127.0.0.1", 7):
            self.skipTest("cannot bind 127.0.0.1:7 (not root, or in use)")
        srv = self.server(argv=["serve", "-b", "127.0.0.1", "-p", "echo"])
        self.assertEqual((srv.port, srv.listen_line.split()[3]), (7, "127.0.0.1:7"))
        for target in ("localhost:echo", "127.0.0.1:echo"):
            with self.subTest(target=target):
                rc, out, err = run_sockecho(["send", target, "by", "service"])
                self.assertEqual((rc, out, err), (0, b"BY SERVICE\n", b""))
        rc, out, err = run_sockecho(["probe", "-q", "localhost:echo,7"])
        self.assertEqual((rc, out, err), (0, b"", b""))

    def test_udp_service_name_serves_and_connects(self):
        # tftp is 69/udp only: the name means the udp entry under --udp.
        if not can_bind("127.0.0.1", 69, socket.SOCK_DGRAM):
            self.skipTest("cannot bind 127.0.0.1:69/udp (not root, or in use)")
        srv = self.server(argv=["serve", "--udp", "127.0.0.1:tftp"])
        self.assertEqual((srv.port, srv.listen_line.split()[3]), (69, "127.0.0.1:69"))
        rc, out, err = run_sockecho(["send", "--udp", "127.0.0.1:tftp"], input=b"trivial\n")
        self.assertEqual((rc, out, err), (0, b"TRIVIAL\n", b""))


if __name__ == "__main__":
    unittest.main()
