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

    def message(self, args):
        """The usage error's one line, without "sockecho: " and the newline."""
        rc, out, err = run_sockecho(args, timeout=T)
        self.assertUsageError(rc, out, err)
        self.assertTrue(no_pending_connection(self.listener), f"{args} connected to the target")
        self.assertTrue(no_pending_datagram(self.ulistener), f"{args} sent a datagram")
        return err.decode()[len("sockecho: "):-1]

    def messages(self, table):
        """{args: expected line} -> each command gives exactly that line."""
        for args, want in table:
            with self.subTest(args=args):
                self.assertEqual(self.message(args), want)

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

    def test_port_zero_is_one_mistake_with_one_wording(self):
        # serve -p 0 picks a free port (test_families); a client cannot connect to port 0,
        # however the 0 is given.
        why = ": port 0 cannot be connected to"
        h = "[::1]" if self.v6 else "127.0.0.1"
        self.messages([
            (["send", f"{h}:0", "hello"], f"TARGET '{h}:0'" + why),
            (["send", "--udp", f"{h}:0", "hello"], f"TARGET '{h}:0'" + why),
            (["send", "-p", "0", h, "hello"], "--port '0'" + why),
            (["send", "--port=0", h, "hello"], "--port '0'" + why),
            (["probe", f"{h}:0"], f"TARGET '{h}:0'" + why),
            (["probe", f"{h}:{self.tport},0"], f"TARGET '{h}:{self.tport},0'" + why),
            (["probe", f"{h}:0-3"], f"TARGET '{h}:0-3'" + why),
            (["probe", "--udp", "-p", "0", h], "--port '0'" + why),
        ])

    def test_one_wording_per_port_mistake(self):
        h = "[::1]" if self.v6 else "127.0.0.1"
        self.messages([
            (["serve", "-p", "70000"], "--port '70000': port out of range (0-65535)"),
            (["send", f"{h}:70000", "hello"], f"TARGET '{h}:70000': port out of range (0-65535)"),
            (["probe", f"{h}:1-70000"], f"TARGET '{h}:1-70000': port out of range (0-65535)"),
            (["serve", "-p", ""], "--port '': empty port"),
            (["send", f"{h}:", "hello"], f"TARGET '{h}:': empty port"),
            (["probe", f"{h}:"], f"TARGET '{h}:': empty port"),
            (["serve", "-p", "abc"], "--port 'abc': not a port number or a tcp service name"),
            (["send", f"{h}:abc", "hello"], f"TARGET '{h}:abc': not a port number or a tcp service name"),
            (["send", "--udp", f"{h}:abc", "hello"], f"TARGET '{h}:abc': not a port number or a udp service name"),
            (["probe", f"{h}:22,abc"], f"TARGET '{h}:22,abc': not a port number or a tcp service name"),
            (["probe", f"{h}:90-80"], f"TARGET '{h}:90-80': port range runs backwards"),
        ])

    def test_service_names_resolve_per_transport(self):
        # tftp is a udp service only; http a tcp one. Known before anything is sent.
        self.messages([
            (["send", "localhost:tftp", "hello"], "TARGET 'localhost:tftp': not a port number or a tcp service name"),
            (["send", "--udp", "-p", "http", "localhost", "hello"],
             "--port 'http': not a port number or a udp service name"),
            (["probe", "localhost:ssh,nosuchservice"],
             "TARGET 'localhost:ssh,nosuchservice': not a port number or a tcp service name"),
            (["serve", "--udp", "127.0.0.1:http"], "address '127.0.0.1:http': not a port number or a udp service name"),
        ])

    def test_did_you_mean_for_long_flags(self):
        self.messages([
            (["send", "--tiemout", "1s", self.target, "hello"], "--tiemout: unknown option; did you mean '--timeout'?"),
            (["send", "--tiemout=1s", self.target, "hello"], "--tiemout: unknown option; did you mean '--timeout'?"),
            (["send", "--conect-timeout", "1s", self.target, "hello"],
             "--conect-timeout: unknown option; did you mean '--connect-timeout'?"),
            (["serve", "--max-client", "3"], "--max-client: unknown option; did you mean '--max-clients'?"),
            (["serve", "--exitword", "bye"], "--exitword: unknown option; did you mean '--exit-word'?"),
            (["probe", "--intervall", "1s", self.target], "--intervall: unknown option; did you mean '--interval'?"),
            (["probe", "--jsno", self.target], "--jsno: unknown option; did you mean '--json'?"),
            (["send", "--frobnicate", self.target, "hello"], "--frobnicate: unknown option; see 'sockecho send --help'"),
            (["send", "-Z", self.target, "hello"], "-Z: unknown option; see 'sockecho send --help'"),
            (["sned", self.target, "hello"], "'sned': unknown subcommand; did you mean 'send'?"),
        ])

    def test_address_forms(self):
        self.messages([
            (["serve", "-b", "127.0.0.1:0"],
             "--bind '127.0.0.1:0': an address alone, without a port, goes here (the port goes in -p)"),
            (["serve", "-b", "[::1]:0"],
             "--bind '[::1]:0': an address alone, without a port, goes here (the port goes in -p)"),
            (["serve", "-b", "[::1"], "--bind '[::1': missing ']' after IPv6 address"),
            (["serve", "-b", "[localhost]"], "--bind '[localhost]': only an IPv6 address goes in brackets"),
            (["serve", "-b", "127.0.0.1", "[::1]:0"], "'[::1]:0': conflicts with --bind 127.0.0.1"),
            (["send", f"[127.0.0.1]:{self.tport}", "hello"],
             f"TARGET '[127.0.0.1]:{self.tport}': only an IPv6 address goes in brackets"),
            (["send", f"::1:{self.tport}", "hello"],
             f"TARGET '::1:{self.tport}': not an IPv6 address; with a port, write [addr]:port"),
            (["send", f"[::1]x:{self.tport}", "hello"], f"TARGET '[::1]x:{self.tport}': expected ':PORT' after ']'"),
            (["probe", f":{self.tport}"], f"TARGET ':{self.tport}': missing host before ':'"),
        ])

    def test_family_flags_against_numeric_addresses(self):
        # Checked before any lookup or bind, naming the address as typed: -6 with a
        # v4-mapped address used to fail at bind as "bind 127.0.0.1:P: Invalid argument".
        self.messages([
            (["serve", "-6", "[::ffff:127.0.0.1]:0"],
             "address '[::ffff:127.0.0.1]:0': a v4-mapped address is IPv4, and -6 is IPv6 only; "
             "drop -6, or write 127.0.0.1"),
            (["serve", "-6", "-b", "::ffff:127.0.0.1", "-p", "0"],
             "--bind '::ffff:127.0.0.1': a v4-mapped address is IPv4, and -6 is IPv6 only; "
             "drop -6, or write 127.0.0.1"),
            (["serve", "-4", "-b", "[::ffff:127.0.0.1]", "-p", "0"],
             "--bind '[::ffff:127.0.0.1]': a v4-mapped address is IPv6 notation; with -4, write 127.0.0.1"),
            (["serve", "-4", "-b", "[::1]", "-p", "0"], "--bind '[::1]': an IPv6 address, and -4 is IPv4 only"),
            (["serve", "-6", "-b", "127.0.0.1", "-p", "0"], "--bind '127.0.0.1': an IPv4 address, and -6 is IPv6 only"),
            (["send", "-6", f"127.0.0.1:{self.tport}", "hello"],
             f"TARGET '127.0.0.1:{self.tport}': an IPv4 address, and -6 is IPv6 only"),
            (["send", "-4", f"[::1]:{self.tport}", "hello"],
             f"TARGET '[::1]:{self.tport}': an IPv6 address, and -4 is IPv4 only"),
            (["probe", "-4", f"[::1]:{self.tport}"], f"TARGET '[::1]:{self.tport}': an IPv6 address, and -4 is IPv4 only"),
        ])

    def test_unix_paths(self):
        long_path = "/tmp/" + "x" * 103
        self.messages([
            (["serve", "--unix", long_path], f"path '{long_path}': too long for a Unix socket (at most 107 bytes)"),
            (["send", "--unix", long_path, "hello"], f"TARGET '{long_path}': too long for a Unix socket (at most 107 bytes)"),
            (["serve", "--unix", "-b", "@"], "--bind '@': empty abstract socket name after '@'"),
            (["serve", "--unix"], "--unix: needs a PATH (or @name)"),
            (["send", "--unix", "-6", "/tmp/x", "hello"], "--unix: does not go with -4 or -6"),
        ])

    def test_numbers_and_durations_name_the_value(self):
        self.messages([
            (["serve", "--backlog", "0"], "--backlog '0': out of range (1-1048576)"),
            (["serve", "--backlog", "many"], "--backlog 'many': not a whole number"),
            (["send", "--udp", "--retries", "-2", self.utarget, "hello"], "--retries '-2': not a whole number"),
            (["serve", "--idle-timeout", "0"], "--idle-timeout '0': must be more than 0"),
            (["send", "-w", "5x", self.target, "hello"], "--timeout '5x': unknown unit (use ms, s, m, h or d)"),
            (["serve", "--unix", "/tmp/x", "--unix-mode", "0800"], "--unix-mode '0800': not an octal mode (e.g. 0600)"),
        ])

    def test_datagram_only_flags(self):
        self.messages([
            (["send", "--retries", "2", self.target, "hello"], "--retries: goes with --udp only (a stream resends by itself)"),
            (["send", "--udp", "--crlf", self.utarget, "hello"], "--crlf: goes with a stream only (a datagram is a line without its end)"),
        ])

    def test_tls_flags(self):
        # Refused before anything is loaded, bound or sent: these need no TLS engine.
        pin = ":".join(["AB"] * 32)
        self.messages([
            (["serve", "--tls", "--udp"], "--tls: does not go with --udp (TLS runs over a stream)"),
            (["probe", "--tls", "--udp", self.utarget], "--tls: does not go with --udp (TLS runs over a stream)"),
            (["send", "--cert", "c.pem", "--key", "k.pem", self.target, "hello"], "--cert: goes with --tls only"),
            (["send", "-k", self.target, "hello"], "--insecure: goes with --tls only"),
            (["serve", "--tls-min", "1.2"], "--tls-min: goes with --tls only"),
            (["probe", "--warn-expiry", "21d", self.target], "--warn-expiry: goes with --tls only"),
            (["serve", "--tls", "--cert", "c.pem"],
             "--cert: needs --key too (a key in the certificate file: name it twice)"),
            (["send", "--tls", "--key", "k.pem", self.target, "hello"], "--key: needs --cert too"),
            (["send", "--tls", "--pin", "xyz", self.target, "hello"],
             "--pin 'xyz': not a SHA-256 fingerprint (64 hex digits, colons optional)"),
            (["send", "--tls", "-k", "--pin", pin, self.target, "hello"],
             "--pin/-k: pick one (--pin accepts one certificate, -k any)"),
            (["send", "--tls", "--retries", "2", self.target, "hello"],
             "--retries: goes with --udp only (a stream resends by itself)"),
            (["serve", "--tls", "--tls-min", "1.1"], "--tls-min '1.1': TLS 1.0 and 1.1 are not offered (1.2 or 1.3)"),
            (["serve", "--tls", "--handshake-timeout", "0"], "--handshake-timeout '0': must be more than 0"),
            (["send", "--tls", "--alpn", "h2,,http/1.1", self.target, "hello"],
             "--alpn 'h2,,http/1.1': an empty protocol name in the list"),
            (["probe", "--tls", "--servername", "127.0.0.1", self.target],
             "--servername '127.0.0.1': an IP address, not a host name (to check an address, put it in TARGET)"),
            (["probe", "--tls", "--warn-expiry", "3w", self.target],
             "--warn-expiry '3w': unknown unit (use ms, s, m, h or d)"),
            (["serve", "--tls", "-k"], "-k: unknown option; see 'sockecho serve --help'"),
        ])

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


    def test_help_lists_tls_flags(self):
        client = (b"--tls", b"--cafile", b"--servername", b"-k, --insecure", b"--pin", b"--cert",
                  b"--key", b"--alpn", b"--tls-min")
        for sub, flags in (("serve", (b"--tls", b"--cert", b"--key", b"--cafile", b"--alpn",
                                      b"--tls-min", b"--handshake-timeout")),
                           ("send", client), ("probe", client + (b"--warn-expiry",))):
            with self.subTest(sub=sub):
                rc, out, err = run_sockecho([sub, "--help"])
                self.assertEqual((rc, err), (0, b""))
                self.assertIn(b"TLS options", out)
                for flag in flags:
                    self.assertIn(flag, out)


if __name__ == "__main__":
    unittest.main()
