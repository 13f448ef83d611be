"""serve --allow / --deny: checked at accept and per datagram, refusals logged."""

import socket
import unittest

from harness import Server, recv_to_eof, ipv6_available, require_binary, run_sockecho

require_binary()



class StreamAccess(unittest.TestCase):
    def test_client_outside_allow_sees_eof_and_is_logged(self):
        with Server("--allow", "127.0.0.2/32") as srv:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
                me = c.getsockname()
                self.assertEqual(recv_to_eof(c), b"")
            line = srv.expect_state("REFUSED", f"127.0.0.1:{me[1]}")
            self.assertIn("reason=denied", line)
            rc, rest = srv.stop()
            self.assertEqual(rc, 0)
            self.assertIn("refused=1", rest[-1])
            self.assertIn("clients=0", rest[-1])

    def test_client_inside_allow_is_served(self):
        with Server("--allow", "10.0.0.0/8", "--allow", "127.0.0.0/8") as srv:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
                c.sendall(b"hello\n")
                c.shutdown(socket.SHUT_WR)
                self.assertEqual(recv_to_eof(c), b"HELLO\n")

    def test_deny_wins_over_allow(self):
        with Server("--allow", "127.0.0.0/8", "--deny", "127.0.0.1") as srv:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
                self.assertEqual(recv_to_eof(c), b"")
            srv.expect_state("REFUSED")

    @unittest.skipUnless(ipv6_available(), "no ::1")
    def test_dual_stack_ipv4_client_matches_ipv4_rules(self):
        # The server sees ::ffff:127.0.0.1; the rule is written in IPv4.
        with Server("--deny", "127.0.0.1/32", host=None) as srv:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
                self.assertEqual(recv_to_eof(c), b"")
            with socket.create_connection(("::1", srv.port), timeout=5) as c:
                c.sendall(b"v6\n")
                c.shutdown(socket.SHUT_WR)
                self.assertEqual(recv_to_eof(c), b"V6\n")


class DatagramAccess(unittest.TestCase):
    def test_denied_datagram_gets_no_reply_and_others_do(self):
        with Server("--udp", "--deny", "127.0.0.1", host="127.0.0.1") as srv:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.5)
                s.sendto(b"hi", ("127.0.0.1", srv.port))
                with self.assertRaises(socket.timeout):
                    s.recvfrom(100)
            srv.expect_state("REFUSED")
        with Server("--udp", "--allow", "127.0.0.1", host="127.0.0.1") as srv:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                s.sendto(b"hi", ("127.0.0.1", srv.port))
                self.assertEqual(s.recvfrom(100)[0], b"HI")


class AccessUsage(unittest.TestCase):
    def test_bad_prefixes_are_usage_errors(self):
        for args in (["--allow", "127.0.0.1/33"], ["--deny", "localhost"], ["--allow", ""],
                     ["--unix", "/tmp/x.sock", "--allow", "::1"]):
            rc, out, err = run_sockecho(["serve", "-p", "0"] + args)
            self.assertEqual(rc, 2, args)
            self.assertEqual(out, b"")
            self.assertEqual(err.count(b"\n"), 1, err)
            self.assertTrue(err.startswith(b"sockecho: "), err)


if __name__ == "__main__":
    unittest.main()
