"""Usage errors: exit 2, one `sockecho: <what>: <why>` line on stderr, empty stdout, nothing sent."""

import socket
import unittest

from harness import (E2E, T, family_of, ipv6_available, no_pending_connection,
                     no_pending_datagram, require_binary, run_sockecho)


def setUpModule():
    require_binary()


class UsageErrors(E2E):
    def setUp(self):
        # A listener the bad commands point at: it must never see a connection or a datagram.
        # On ::1 where there is one: e2e.probe scans every TCP port of 127.0.0.1, and its
        # connections must not be taken for ours when the two files run in parallel.
        host = "::1" if ipv6_available() else "127.0.0.1"
        fam = family_of(host)
        self.listener = socket.socket(fam, socket.SOCK_STREAM)
        self.addCleanup(self.listener.close)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.tport = self.listener.getsockname()[1]
        self.target = f"[{host}]:{self.tport}" if fam == socket.AF_INET6 else f"{host}:{self.tport}"
        self.ulistener = socket.socket(fam, socket.SOCK_DGRAM)
        self.addCleanup(self.ulistener.close)
        self.ulistener.bind((host, 0))
        uport = self.ulistener.getsockname()[1]
        self.utarget = f"[{host}]:{uport}" if fam == socket.AF_INET6 else f"{host}:{uport}"
        self.v6 = fam == socket.AF_INET6

    def check(self, args):
        rc, out, err = run_sockecho(args, timeout=T)
        self.assertUsageError(rc, out, err)
        self.assertTrue(no_pending_connection(self.listener), f"{args} connected to the target")
        self.assertTrue(no_pending_datagram(self.ulistener), f"{args} sent a datagram")

    def cases(self, table):
        for args in table:
            with self.subTest(args=args):
                self.check(args)

    def test_bad_port(self):
        self.cases([
            ["serve", "-p", "70000"],
            ["serve", "-p", "65536"],
            ["serve", "-p", "-1"],
            ["serve", "-p", "abc"],
            ["serve", "-p", ""],
            ["serve", "--port=12ab"],
            ["serve", "127.0.0.1:70000"],
            ["serve", "-b", "127.0.0.1", "-p", "99999999999999999999"],
            ["send", "127.0.0.1:70000", "hello"],
            ["send", "127.0.0.1:-1", "hello"],
            ["send", "127.0.0.1:abc", "hello"],
            ["send", "127.0.0.1:0", "hello"],
            ["send", "127.0.0.1:", "hello"],
            ["send", "-p", "abc", "127.0.0.1", "hello"],
            ["send", "-p", "70000", "127.0.0.1", "hello"],
            ["send", "--udp", "127.0.0.1:70000", "hello"],
        ])

    def test_bad_duration(self):
        self.cases([
            ["send", "-w", "5x", self.target, "hello"],
            ["send", "-w", "", self.target, "hello"],
            ["send", "-w", "ms", self.target, "hello"],
            ["send", "-w", "-1s", self.target, "hello"],
            ["send", "--timeout", "1h2", self.target, "hello"],
            ["send", "--connect-timeout", "abc", self.target, "hello"],
            ["send", "--udp", "-w", "5x", self.utarget, "hello"],
            ["serve", "--idle-timeout", "5x"],
            ["serve", "--idle-timeout", "fast"],
        ])

    def test_unknown_flag(self):
        self.cases([
            ["send", "--bogus", self.target, "hello"],
            ["send", "-Z", self.target, "hello"],
            ["send", "--udp", "--bogus", self.utarget, "hello"],
            ["serve", "--bogus"],
            ["serve", "-Z"],
            ["--bogus"],
        ])

    def test_bad_numbers(self):
        self.cases([
            ["send", "--udp", "--retries", "abc", self.utarget, "hello"],
            ["send", "--udp", "--retries", "-2", self.utarget, "hello"],
            ["serve", "--max-clients", "abc"],
            ["serve", "--max-clients", "-1"],
            ["serve", "--backlog", "many"],
        ])

    def test_missing_target(self):
        self.cases([["send"], ["send", "-w", "1s"], ["send", "--udp"]])

    def test_malformed_target(self):
        self.cases([
            ["send", f"[::1:{self.tport}", "hello"],
            ["send", "[::1", "hello"],
            ["send", f"[::1]x:{self.tport}", "hello"],
            ["send", "[::1]:", "hello"],
            ["serve", "[::1:0"],
        ])

    def test_unbracketed_ipv6_with_port(self):
        # TARGET is host:port or [v6addr]:port: "::1:PORT" is neither (which colon ends the
        # address?), so it is malformed, not a name to look up. (An ephemeral port has five
        # digits, so "::1:PORT" is never itself a valid IPv6 address that could be dialled.)
        self.assertGreaterEqual(self.tport, 10000)
        self.cases([["send", f"::1:{self.tport}", "hello"]])

    def test_all_digit_target(self):
        self.cases([
            ["send", str(self.tport), "hello"],
            ["send", "-p", str(self.tport), str(self.tport), "hello"],
            ["send", "12345"],
            ["send", "--udp", "12345", "hello"],
        ])

    def test_unknown_mode(self):
        self.cases([["serve", "--mode", "bogus"], ["serve", "--mode", ""], ["serve", "--mode", "UPPER!"]])

    def test_unknown_subcommand(self):
        self.cases([["frobnicate"], ["sernd", self.target, "hello"], ["help", "frobnicate"]])

    def test_extra_positional_for_serve(self):
        self.cases([["serve", "127.0.0.1:0", "extra"]])

    def test_error_line_names_the_bad_value(self):
        rc, out, err = run_sockecho(["send", "-w", "5x", self.target, "hello"])
        self.assertUsageError(rc, out, err)
        self.assertIn(b"5x", err)
        rc, out, err = run_sockecho(["serve", "-p", "70000"])
        self.assertUsageError(rc, out, err)
        self.assertIn(b"70000", err)


class Help(E2E):
    def test_version(self):
        rc, out, err = run_sockecho(["--version"])
        self.assertEqual((rc, err), (0, b""))
        self.assertRegex(out.decode(), r"\Asockecho \d+\.\d+\.\d+\S*\n\Z")

    def test_help_everywhere(self):
        for args in (["--help"], ["serve", "--help"], ["send", "--help"], ["help", "serve"],
                     ["help", "send"]):
            with self.subTest(args=args):
                rc, out, err = run_sockecho(args)
                self.assertEqual((rc, err), (0, b""))
                self.assertIn(b"sockecho", out)

    def test_serve_help_lists_flags(self):
        rc, out, err = run_sockecho(["serve", "--help"])
        self.assertEqual(rc, 0)
        for flag in (b"--udp", b"--port", b"--bind", b"--backlog", b"--mode", b"--exit-word",
                     b"--shutdown-word", b"--max-clients", b"--idle-timeout", b"--once",
                     b"--reuseport", b"--verbose", b"--quiet", b"--json", b"-4", b"-6"):
            self.assertIn(flag, out)

    def test_send_help_lists_flags(self):
        rc, out, err = run_sockecho(["send", "--help"])
        self.assertEqual(rc, 0)
        for flag in (b"--udp", b"--port", b"--timeout", b"--connect-timeout", b"--retries",
                     b"--exit-word", b"--verbose", b"-4", b"-6"):
            self.assertIn(flag, out)


if __name__ == "__main__":
    unittest.main()
