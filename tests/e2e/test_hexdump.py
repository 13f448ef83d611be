"""-x/--hexdump on serve and send: every chunk read or written, in `hexdump -C` layout.

Each dumped chunk is checked against what util-linux `hexdump -C -v` prints for the same
bytes (its closing offset line taken off), and the chunks of each direction, put together,
against the bytes that really went each way. serve dumps on stdout among its other lines,
send on stderr, leaving stdout exactly the replies.
"""

import base64
import json
import os
import re
import socket
import subprocess
import unittest

from harness import (E2E, SOCKECHO, T, exchange, recv_exact, require_binary, require_tool,
                     run_sockecho, upper)


def setUpModule():
    require_binary()


HEADER = re.compile(r"^([<>]) (\S+) (\d+) bytes$")
DUMP_LINE = re.compile(r"^([0-9a-f]{8})  (.{49}) \|(.*)\|$")


def hexdump_c(data: bytes) -> list:
    """The lines `hexdump -C -v` prints for data, without its closing offset line."""
    out = subprocess.run(["hexdump", "-C", "-v"], input=data, capture_output=True, check=True,
                         timeout=T).stdout.decode("ascii")
    if not data:
        assert out == "", out  # hexdump -C prints nothing at all for nothing
        return []
    lines = out.split("\n")
    assert lines[-1] == "" and re.fullmatch(r"[0-9a-f]{8}", lines[-2]), out[-100:]
    return lines[:-2]


class Chunk:
    def __init__(self, direction, peer, size, lines):
        self.dir = direction
        self.peer = peer
        self.size = size
        self.lines = lines
        self.data = b"".join(bytes.fromhex(DUMP_LINE.match(l).group(2).replace(" ", ""))
                             for l in lines)


def parse_chunks(next_line, done):
    """Reads lines with next_line() (None at the end) and parses the dumps among them,
    other lines skipped, until done(chunks) or the end; the chunks. A header is followed by
    exactly ceil(size / 16) dump lines."""
    chunks = []
    while not done(chunks):
        line = next_line()
        if line is None:
            break
        m = HEADER.match(line)
        if not m:
            assert not DUMP_LINE.match(line), f"a dump line with no header: {line!r}"
            continue
        size = int(m.group(3))
        lines = [next_line() for _ in range((size + 15) // 16)]
        assert all(l is not None and DUMP_LINE.match(l) for l in lines), lines
        chunks.append(Chunk(m.group(1), m.group(2), size, lines))
    return chunks


def total(chunks, direction):
    return sum(c.size for c in chunks if c.dir == direction)


def joined(chunks, direction):
    return b"".join(c.data for c in chunks if c.dir == direction)


class HexdumpCase(E2E):
    def setUp(self):
        require_tool(self, "hexdump")

    def assertChunks(self, chunks, received, sent, peer):
        """Every chunk as hexdump -C prints it, of its stated size, from peer; each
        direction's chunks together are exactly the bytes that went that way."""
        for c in chunks:
            self.assertEqual(c.peer, peer)
            self.assertEqual(len(c.data), c.size, "the header's size is the dump's")
            self.assertEqual(c.lines, hexdump_c(c.data))
        self.assertSameBytes(joined(chunks, "<"), received, "the chunks received")
        self.assertSameBytes(joined(chunks, ">"), sent, "the chunks sent")

    def server_chunks(self, srv, received, sent):
        """The dumps on the server's stdout, until received and sent bytes are all there."""
        return parse_chunks(lambda: srv.line(what="a dump line"),
                            lambda cs: total(cs, "<") >= received and total(cs, ">") >= sent)


class ServeHexdump(HexdumpCase):
    def test_exact_dump_of_known_bytes_both_ways(self):
        srv = self.server("-x")
        c = self.tcp(srv.port)
        peer = "127.0.0.1:%d" % c.getsockname()[1]
        self.assertEqual(exchange(c, b"hello world\n", b"HELLO WORLD\n"), b"HELLO WORLD\n")
        srv.expect_state("ESTABLISHED")
        self.assertEqual(srv.line(), f"< {peer} 12 bytes")
        self.assertEqual(srv.line(), "00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a"
                                     "              |hello world.|")
        self.assertEqual(srv.line(), f"> {peer} 12 bytes")
        self.assertEqual([srv.line()], hexdump_c(b"HELLO WORLD\n"))

    def test_binary_both_ways(self):
        srv = self.server("--mode", "echo", "-x")
        data = bytes(range(256)) * 4 + b"\x00" * 40  # repeated lines are printed, not '*'
        c = self.tcp(srv.port)
        c.sendall(data)
        self.assertEqual(recv_exact(c, len(data)), data)
        chunks = self.server_chunks(srv, len(data), len(data))
        self.assertChunks(chunks, data, data, "127.0.0.1:%d" % c.getsockname()[1])

    def test_large_transfer_is_dumped_whole_and_unchanged(self):
        srv = self.server("-x")
        data = os.urandom(512 * 1024)
        rc, out, err = run_sockecho(["send", f"127.0.0.1:{srv.port}"], input=data, timeout=6 * T)
        self.assertEqual((rc, err), (0, b""))
        self.assertSameBytes(out, upper(data), "the replies under serve -x")
        chunks = self.server_chunks(srv, len(data), len(data))
        for c in chunks:  # hexdump -C once per chunk would be slow: the first and last
            self.assertEqual(len(c.data), c.size)
        self.assertEqual(chunks[0].lines, hexdump_c(chunks[0].data))
        self.assertEqual(chunks[-1].lines, hexdump_c(chunks[-1].data))
        self.assertSameBytes(joined(chunks, "<"), data, "the chunks received")
        self.assertSameBytes(joined(chunks, ">"), upper(data), "the chunks sent")

    def test_udp_each_datagram_is_one_chunk(self):
        srv = self.server("-x", udp=True)
        u = self.udp()
        peer = "127.0.0.1:%d" % u.getsockname()[1]
        datagrams = [b"one", bytes(range(40)), b""]
        for d in datagrams:
            u.sendto(d, ("127.0.0.1", srv.port))
            self.assertEqual(u.recvfrom(65536)[0], upper(d))
        chunks = parse_chunks(lambda: srv.line(what="a dump line"), lambda cs: len(cs) >= 6)
        self.assertEqual([(c.dir, c.data) for c in chunks],
                         [(d, x) for g in datagrams for d, x in (("<", g), (">", upper(g)))])
        self.assertChunks(chunks, b"".join(datagrams), upper(b"".join(datagrams)), peer)
        self.assertEqual(chunks[-1].lines, [], "a 0-byte datagram is a header alone")

    def test_tls_dumps_the_plaintext(self):
        srv = self.server("--tls", "-x")
        rc, out, err = run_sockecho(["send", "--tls", "-k", f"127.0.0.1:{srv.port}", "hello"])
        self.assertEqual((rc, out, err), (0, b"HELLO\n", b""))
        chunks = self.server_chunks(srv, 6, 6)
        self.assertEqual(joined(chunks, "<"), b"hello\n")
        self.assertEqual(joined(chunks, ">"), b"HELLO\n")
        for c in chunks:
            self.assertEqual(c.lines, hexdump_c(c.data))

    def test_json_data_events(self):
        srv = self.server("--json", "-x")
        c = self.tcp(srv.port)
        data = b"bin\x00\xff\n"
        self.assertEqual(exchange(c, data, upper(data)), upper(data))
        events = []
        while sum(1 for e in events if e["event"] == "data") < 2:
            events.append(json.loads(srv.line(what="a JSON line")))
        data_events = [e for e in events if e["event"] == "data"]
        peer = "127.0.0.1:%d" % c.getsockname()[1]
        for e, (direction, want) in zip(data_events, [("<", data), (">", upper(data))]):
            self.assertEqual((e["dir"], e["peer"], e["len"]), (direction, peer, len(want)))
            self.assertEqual(base64.b64decode(e["data_b64"], validate=True), want)

    def test_without_x_nothing_is_dumped(self):
        srv = self.server("-v")
        c = self.tcp(srv.port)
        exchange(c, b"hello\n", b"HELLO\n")
        c.close()
        srv.expect_state("CLOSED")
        rc, rest = srv.stop()
        for line in srv.seen + rest:
            self.assertIsNone(HEADER.match(line), line)

    def test_x_with_q_is_a_usage_error(self):
        rc, out, err = run_sockecho(["serve", "-p", "0", "-b", "127.0.0.1", "-x", "-q"])
        self.assertUsageError(rc, out, err)
        self.assertEqual(err, b"sockecho: -x/-q: pick one\n")


class SendHexdump(HexdumpCase):
    def run_send(self, *args, input=None):
        rc, out, err = run_sockecho(["send", "-x", *args], input=input, timeout=6 * T)
        lines = iter(err.decode("ascii").split("\n"))
        chunks = parse_chunks(lambda: next(lines, None), lambda cs: False)
        return rc, out, chunks

    def test_stdout_is_exactly_the_replies_and_stderr_the_dump(self):
        srv = self.server()
        data = b"hello\nworld\n"
        rc, out, err = run_sockecho(["send", "-x", f"127.0.0.1:{srv.port}"], input=data)
        self.assertEqual((rc, out), (0, b"HELLO\nWORLD\n"))
        peer = f"127.0.0.1:{srv.port}"
        lines = err.decode("ascii").split("\n")
        self.assertEqual(lines[0], f"> {peer} 12 bytes")
        self.assertEqual(lines[1:2], hexdump_c(data))
        it = iter(lines)
        chunks = parse_chunks(lambda: next(it, None), lambda cs: False)
        self.assertChunks(chunks, upper(data), data, peer)
        self.assertEqual(err.count(b"\n"), len(chunks) + sum((c.size + 15) // 16 for c in chunks),
                         "nothing but the dumps on stderr")

    def test_binary_and_large_unchanged(self):
        srv = self.server("--mode", "echo")
        data = os.urandom(1024 * 1024) + bytes(range(256))
        rc, out, chunks = self.run_send(f"127.0.0.1:{srv.port}", input=data)
        self.assertEqual(rc, 0)
        self.assertSameBytes(out, data, "the replies under send -x")
        self.assertSameBytes(joined(chunks, ">"), data, "the chunks sent")
        self.assertSameBytes(joined(chunks, "<"), data, "the chunks received")
        for c in (chunks[0], chunks[-1]):
            self.assertEqual(c.lines, hexdump_c(c.data))

    def test_udp_each_datagram_is_one_chunk(self):
        srv = self.server(udp=True)
        rc, out, chunks = self.run_send("--udp", f"127.0.0.1:{srv.port}", input=b"one\ntwo\n")
        self.assertEqual((rc, out), (0, b"ONE\nTWO\n"))
        self.assertEqual([(c.dir, c.data) for c in chunks],
                         [(">", b"one"), ("<", b"ONE"), (">", b"two"), ("<", b"TWO")])
        self.assertChunks(chunks, b"ONETWO", b"onetwo", f"127.0.0.1:{srv.port}")

    def test_tls_dumps_the_plaintext(self):
        srv = self.server("--tls")
        rc, out, chunks = self.run_send("--tls", "-k", f"127.0.0.1:{srv.port}", input=b"secret\n")
        self.assertEqual((rc, out), (0, b"SECRET\n"))
        self.assertChunks(chunks, b"SECRET\n", b"secret\n", f"127.0.0.1:{srv.port}")

    def test_crlf_dump_shows_what_is_sent(self):
        srv = self.server("--mode", "echo")
        rc, out, chunks = self.run_send("--crlf", f"127.0.0.1:{srv.port}", input=b"a\nb\n")
        self.assertEqual((rc, out), (0, b"a\r\nb\r\n"))
        self.assertEqual(joined(chunks, ">"), b"a\r\nb\r\n")


if __name__ == "__main__":
    unittest.main()
