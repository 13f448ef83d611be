"""Interop with real peers: nc and socat as clients of serve, and as the far end of send."""

import os
import subprocess
import unittest

from harness import (E2E, T, Peer, have_tool, require_binary, require_ipv6, require_tool,
                     run_sockecho, run_timed, skip_file, upper, wait_bound_port)

NC_LISTENING = r"Listening on \S+ (\d+)"          # nc -v -l
SOCAT_LISTENING = r"listening on AF=\d+ \S*:(\d+)"  # socat -d -d ...-LISTEN


def setUpModule():
    require_binary()


class NcClient(E2E):
    def setUp(self):
        require_tool(self, "nc")

    def test_nc_lines(self):
        srv = self.server()
        rc, out, err, _ = run_timed(["nc", "-N", "127.0.0.1", str(srv.port)], input=b"hello\nworld\n")
        self.assertEqual((rc, out), (0, b"HELLO\nWORLD\n"), err)

    def test_nc_binary_1mib(self):
        srv = self.server()
        data = os.urandom(1024 * 1024) + b"the end\n"
        rc, out, err, _ = run_timed(["nc", "-N", "127.0.0.1", str(srv.port)], input=data, timeout=3 * T)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out == upper(data), f"reply differs ({len(out)} of {len(data)} bytes)")

    def test_nc_exit_word(self):
        srv = self.server()
        # The server closes on `exit`; nc sees EOF and ends without anything after HELLO.
        rc, out, err, _ = run_timed(["nc", "-N", "127.0.0.1", str(srv.port)], input=b"hello\nexit\n")
        self.assertEqual((rc, out), (0, b"HELLO\n"), err)

    def test_nc_ipv6(self):
        require_ipv6(self)
        srv = self.server(host="::1")
        rc, out, err, _ = run_timed(["nc", "-N", "::1", str(srv.port)], input=b"six\n")
        self.assertEqual((rc, out), (0, b"SIX\n"), err)


class SocatClient(E2E):
    def setUp(self):
        require_tool(self, "socat")

    def test_socat_tcp(self):
        srv = self.server()
        rc, out, err, _ = run_timed(["socat", "-t", "5", "-", f"TCP:127.0.0.1:{srv.port}"],
                                    input=b"hello\nworld\n")
        self.assertEqual((rc, out), (0, b"HELLO\nWORLD\n"), err)

    def test_socat_udp(self):
        srv = self.server(udp=True)
        rc, out, err, _ = run_timed(["socat", "-t", "1", "-", f"UDP:127.0.0.1:{srv.port}"],
                                    input=b"hello\n")
        self.assertEqual((rc, out), (0, b"HELLO\n"), err)

    def test_socat_udp_exit_word_gets_no_reply(self):
        srv = self.server(udp=True)
        rc, out, err, _ = run_timed(["socat", "-t", "1", "-", f"UDP:127.0.0.1:{srv.port}"],
                                    input=b"exit\n")
        self.assertEqual((rc, out), (0, b""), err)
        rc, out, err, _ = run_timed(["socat", "-t", "1", "-", f"UDP:127.0.0.1:{srv.port}"],
                                    input=b"again\n")
        self.assertEqual((rc, out), (0, b"AGAIN\n"), err)


class FarEnd(E2E):
    """sockecho send against listeners it did not write."""

    def test_send_to_socat_tr(self):
        require_tool(self, "socat")
        with Peer(["socat", "-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork",
                   "EXEC:tr a-z A-Z"], ready=SOCAT_LISTENING) as far:
            rc, out, err = run_sockecho(["send", f"127.0.0.1:{far.port}"], input=b"hello\nworld\n")
            self.assertEqual((rc, out, err), (0, b"HELLO\nWORLD\n", b""))
            data = os.urandom(1024 * 1024)
            rc, out, err = run_sockecho(["send", f"127.0.0.1:{far.port}"], input=data, timeout=3 * T)
            self.assertEqual((rc, err), (0, b""))
            self.assertTrue(out == upper(data), f"reply differs ({len(out)} of {len(data)} bytes)")

    def test_send_words_to_socat_system(self):
        require_tool(self, "socat")
        with Peer(["socat", "-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork",
                   "SYSTEM:rev"], ready=SOCAT_LISTENING) as far:
            rc, out, err = run_sockecho(["send", f"127.0.0.1:{far.port}", "hello", "world"])
        self.assertEqual((rc, out, err), (0, b"dlrow olleh\n", b""))

    def test_send_to_nc_listener(self):
        require_tool(self, "nc")
        with Peer(["nc", "-v", "-N", "-l", "127.0.0.1", "0"], ready=NC_LISTENING,
                  stdin=subprocess.PIPE) as far:
            far.proc.stdin.write(b"REPLY FROM NC\n")
            far.proc.stdin.close()
            rc, out, err = run_sockecho(["send", f"127.0.0.1:{far.port}"], input=b"hello nc\n")
            self.assertEqual(far.wait(), 0)
            self.assertEqual(far.stdout(), b"hello nc\n")
        self.assertEqual((rc, out, err), (0, b"REPLY FROM NC\n", b""))

    def test_send_udp_to_socat(self):
        require_tool(self, "socat")
        with Peer(["socat", "UDP-RECVFROM:0,bind=127.0.0.1,fork", "EXEC:tr a-z A-Z"]) as far:
            port = wait_bound_port(far.proc.pid, "udp", T, far.proc)
            rc, out, err = run_sockecho(["send", "--udp", f"127.0.0.1:{port}"],
                                        input=b"one\ntwo\nthree\n")
        self.assertEqual((rc, out, err), (0, b"ONE\nTWO\nTHREE\n", b""))

    def test_serve_and_send_together(self):
        srv = self.server()
        rc, out, err = run_sockecho(["send", f"127.0.0.1:{srv.port}"], input=b"round trip\n")
        self.assertEqual((rc, out, err), (0, b"ROUND TRIP\n", b""))


if __name__ == "__main__":
    if not (have_tool("nc") or have_tool("socat")):
        skip_file("neither nc nor socat is installed")
    unittest.main()
