"""The Debian package is one Debian would accept, and what it installs works.

- lintian reports no error and no warning on it (E:, W:); info and pedantic tags (I:, P:)
  are allowed and printed. Built by `make deb`, its binary has Debian's hardening: no
  hardening-no-relro, -no-fortify-functions or -no-pie tag even at info level.
- Its control fields: Section net, Priority optional, a synopsis and a long description, a
  Maintainer lintian accepts, and a Depends computed by dpkg-shlibdeps that names the
  package of every library the binary links, libssl3 among them.
- /usr/share/doc/sockecho/copyright is machine-readable (DEP-5): Format, Upstream-Name, one
  Files: * paragraph whose Copyright is LICENSE's and whose License is ISC with LICENSE's
  whole text. /usr/share/doc/sockecho/changelog.gz (a native package: no Debian revision)
  is a Debian changelog whose top entry is the package's version, gzipped without a name or
  a time stamp (-n).
- Installed with dpkg into a throwaway root (its own admin directory, never the machine's),
  the binary runs: --version, and `serve -p 0 -b 127.0.0.1` answers one round trip from a
  socket and one from the installed `sockecho send`; then `dpkg --purge` leaves no file and
  no trace in that root's dpkg database.

The package: $SOCKECHO_DEB, the one `make deb` built (`make test` passes it); else one that
cpack builds from the build directory of $SOCKECHO (default build/sockecho) into a temporary
directory. Needs lintian (else the whole file is skipped, exit 77), dpkg and dpkg-deb, and
cpack without $SOCKECHO_DEB. Everything is on 127.0.0.1; every process is killed by PID and
reaped; the temporary directory goes, whatever happens.
"""

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import Server, connect, exchange

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SOCKECHO = os.path.abspath(harness.SOCKECHO)
BUILD = os.path.dirname(SOCKECHO)
GIVEN_DEB = os.environ.get("SOCKECHO_DEB") or None

SKIP = 77  # ctest SKIP_RETURN_CODE
T = 120  # seconds: a "does not hang" bound for each helper process
DEP5_FORMAT = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
DOC = "usr/share/doc/sockecho"
INSTALLED = "usr/bin/sockecho"


def have(tool):
    return shutil.which(tool) is not None


def run(argv, *, env=None, check=True):
    """Runs argv (killed and reaped if it outlives T); stdout as text, or the failure."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=T, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {p.returncode}\n"
                             f"stdout: {p.stdout[-3000:]}\nstderr: {p.stderr[-3000:]}")
    return p.stdout


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*sockecho\b[^)]*\bVERSION\s+([0-9][0-9.]*)", f.read())
    if not m:
        raise AssertionError("no project(sockecho VERSION ...) in CMakeLists.txt")
    return m.group(1)


def deb822(text):
    """RFC 822-style paragraphs (control files, DEP-5): a list of {field: value}, a value's
    continuation lines joined to it with newlines, each without its one leading space."""
    paragraphs, fields, key = [], {}, None
    for line in text.split("\n"):
        if not line.strip():
            if fields:
                paragraphs.append(fields)
            fields, key = {}, None
        elif line[0] in " \t":
            if key is None:
                raise AssertionError(f"continuation line before any field: {line!r}")
            fields[key] += "\n" + line[1:]
        else:
            key, sep, value = line.partition(":")
            if not sep:
                raise AssertionError(f"not a field: {line!r}")
            if key in fields:
                raise AssertionError(f"field {key} twice in a paragraph")
            fields[key] = value.strip()
    if fields:
        paragraphs.append(fields)
    return paragraphs


class ThrowawayRoot:
    """An empty root with a dpkg database of its own, below TMP: dpkg --root works in it,
    never on the machine's packages."""

    def __init__(self, name):
        self.root = os.path.join(TMP.name, name)
        self.admin = os.path.join(self.root, "var", "lib", "dpkg")
        for sub in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(self.admin, sub))
        for f in ("status", "available"):
            open(os.path.join(self.admin, f), "w").close()
        # --log keeps the machine's dpkg.log untouched.
        self.dpkg = ["dpkg", f"--root={self.root}", "--log=/dev/null", "--force-not-root"]

    def install(self, deb):
        # --path-include='*' undoes any path-exclude in the machine's /etc/dpkg/dpkg.cfg.d
        # (slim container images drop /usr/share/doc and /usr/share/man); --force-depends:
        # the root has no libc6, the machine's libraries serve the binary.
        run(self.dpkg + ["--force-depends", "--path-include=*", "-i", deb])

    def path(self, rel):
        return os.path.join(self.root, rel)

    def files(self):
        """Every non-directory in the root outside the dpkg database, relative to it."""
        found = []
        for d, _, names in os.walk(self.root):
            found += [os.path.relpath(os.path.join(d, f), self.root) for f in names]
        return sorted(p for p in found if not p.startswith("var/lib/dpkg/"))


def setUpModule():
    global TMP, DEB
    TMP = tempfile.TemporaryDirectory(prefix="sockecho-deb-")
    if GIVEN_DEB:
        DEB = os.path.abspath(GIVEN_DEB)
        if not os.path.isfile(DEB):
            raise AssertionError(f"SOCKECHO_DEB={GIVEN_DEB}: no such file")
        return
    config = os.path.join(BUILD, "CPackConfig.cmake")
    if not os.path.exists(config):
        raise AssertionError(f"{config} missing: is cmake/Packaging.cmake included?")
    out_dir = os.path.join(TMP.name, "cpack")
    env = dict(os.environ)
    env.pop("SOCKECHO_MAINTAINER", None)  # the build directory's own default
    run(["cpack", "-G", "DEB", "--config", config, "-B", out_dir], env=env)
    debs = [f for f in os.listdir(out_dir) if f.endswith(".deb")]
    if len(debs) != 1:
        raise AssertionError(f"cpack made {debs} in {out_dir}")
    DEB = os.path.join(out_dir, debs[0])


def tearDownModule():
    TMP.cleanup()


class Lintian(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Its scratch files in our temporary directory, its home a scratch one.
        scratch = os.path.join(TMP.name, "lintian")
        os.makedirs(os.path.join(scratch, "tmp"))
        env = dict(os.environ, TMPDIR=os.path.join(scratch, "tmp"), HOME=scratch, LC_ALL="C.UTF-8")
        p = subprocess.run(["lintian", "--pedantic", "--display-info", "--fail-on", "none", DEB],
                           capture_output=True, text=True, timeout=T, env=env)
        cls.output, cls.stderr, cls.rc = p.stdout, p.stderr, p.returncode
        cls.tags = [line for line in cls.output.splitlines() if re.match(r"^[A-Z]: ", line)]
        if cls.tags:
            print("lintian " + os.path.basename(DEB) + ":\n  " + "\n  ".join(cls.tags),
                  file=sys.stderr)

    def test_ran(self):
        self.assertEqual(self.rc, 0, f"lintian failed: {self.stderr[-3000:]}")

    def test_no_error_or_warning(self):
        bad = [t for t in self.tags if t.startswith(("E: ", "W: "))]
        self.assertEqual(bad, [], "\n" + self.output)

    def test_hardened_when_built_by_make_deb(self):
        if not GIVEN_DEB:
            self.skipTest("the build directory's binary is not built with Debian's flags "
                          "(make test passes the package `make deb` built as SOCKECHO_DEB)")
        weak = [t for t in self.tags
                if re.search(r"\bhardening-no-(relro|fortify-functions|pie)\b", t)]
        self.assertEqual(weak, [])


class Control(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        (cls.fields,) = deb822(run(["dpkg-deb", "-f", DEB]))

    def test_fields(self):
        f = self.fields
        self.assertEqual(f.get("Package"), "sockecho")
        self.assertEqual(f.get("Version"), project_version())
        self.assertEqual(f.get("Section"), "net")
        self.assertEqual(f.get("Priority"), "optional")
        self.assertEqual(f.get("Architecture"), run(["dpkg", "--print-architecture"]).strip())
        self.assertRegex(f.get("Maintainer", ""), r"^[^<>@]+ <[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>$")
        synopsis, _, long = f.get("Description", "").partition("\n")
        self.assertTrue(0 < len(synopsis) < 80, synopsis)
        self.assertGreaterEqual(len(long.splitlines()), 2, "no long description")

    def test_depends_names_every_linked_library(self):
        names = set()
        for clause in filter(None, (c.strip() for c in self.fields.get("Depends", "").split(","))):
            m = re.fullmatch(r"([a-z0-9][a-z0-9.+-]*)(?::\S+)?(?:\s*\((?:<<|<=|=|>=|>>)\s*[^)\s]+\))?",
                             clause)
            self.assertIsNotNone(m, f"unparsable Depends clause {clause!r}")
            names.add(m.group(1))
        self.assertLessEqual({"libc6", "libstdc++6", "libgcc-s1"}, names)
        self.assertTrue(any(re.fullmatch(r"libfmt\d+", n) for n in names), names)
        self.assertTrue(any(re.fullmatch(r"libssl\d+(t64)?", n) for n in names),
                        f"no libssl in Depends: {sorted(names)}")


class Installed(unittest.TestCase):
    """The package installed into a throwaway root."""

    @classmethod
    def setUpClass(cls):
        cls.target = ThrowawayRoot("installed")
        cls.target.install(DEB)
        cls.binary = cls.target.path(INSTALLED)

    def test_installed(self):
        dpkg = self.target.dpkg
        self.assertIn("install ok installed", run(dpkg + ["-s", "sockecho"]))
        run(dpkg + ["--verify", "sockecho"])  # md5sums match the files
        listed = set(run(dpkg + ["-L", "sockecho"]).split())
        for rel in (INSTALLED, "usr/share/man/man1/sockecho.1.gz",
                    "usr/share/bash-completion/completions/sockecho",
                    "usr/share/zsh/vendor-completions/_sockecho",
                    "usr/share/fish/vendor_completions.d/sockecho.fish",
                    f"{DOC}/copyright", f"{DOC}/changelog.gz"):
            with self.subTest(file=rel):
                self.assertIn("/" + rel, listed)
                self.assertTrue(os.path.isfile(self.target.path(rel)))

    def test_version(self):
        self.assertEqual(run([self.binary, "--version"]).strip(), f"sockecho {project_version()}")

    def test_round_trip_on_loopback(self):
        srv = Server(argv=["serve", "-p", "0", "-b", "127.0.0.1"])
        srv.argv[0] = self.binary  # the installed binary, not $SOCKECHO
        with srv:
            with connect(srv.port) as s:
                self.assertEqual(exchange(s, b"hello\n"), b"HELLO\n")
            out = run([self.binary, "send", f"127.0.0.1:{srv.port}", "hello", "world"])
            self.assertEqual(out, "HELLO WORLD\n")
            rc, _ = srv.stop()
            self.assertEqual(rc, 0, srv.stderr())

    def test_copyright_is_dep5_with_the_licence(self):
        with open(self.target.path(f"{DOC}/copyright"), encoding="utf-8") as f:
            header, *rest = deb822(f.read())
        with open(os.path.join(REPO, "LICENSE"), encoding="utf-8") as f:
            notice, _, text = f.read().partition("\n\n")
        self.assertEqual(header.get("Format"), DEP5_FORMAT)
        self.assertEqual(header.get("Upstream-Name"), "sockecho")
        if "Source" in header:  # optional; when there, where the source is
            self.assertRegex(header["Source"], r"^https?://\S+$")
        self.assertEqual(len(rest), 1, rest)
        files = rest[0]
        self.assertEqual(files.get("Files"), "*")
        holders = re.fullmatch(r"Copyright \([cC]\) (.+)", notice.strip())
        self.assertIsNotNone(holders, f"LICENSE starts {notice!r}")
        self.assertEqual(files.get("Copyright"), holders.group(1))
        name, _, body = files.get("License", "").partition("\n")
        self.assertEqual(name, "ISC")
        body = "\n".join("" if line == "." else line for line in body.split("\n"))
        self.assertEqual(body.strip(), text.strip())

    def test_changelog(self):
        path = self.target.path(f"{DOC}/changelog.gz")
        with open(path, "rb") as f:
            head = f.read(10)
        self.assertEqual(head[:3], b"\x1f\x8b\x08")
        self.assertEqual(head[3] & 0x08, 0, "the gzip header names the file (gzip -n)")
        self.assertEqual(head[4:8], b"\0\0\0\0", "the gzip header has a time stamp (gzip -n)")
        if not have("dpkg-parsechangelog"):
            self.skipTest("dpkg-parsechangelog (dpkg-dev) is not installed")
        plain = os.path.join(TMP.name, "changelog")
        with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
            dst.write(src.read())
        (top,) = deb822(run(["dpkg-parsechangelog", "-l", plain]))
        self.assertEqual(top.get("Source"), "sockecho")
        self.assertEqual(top.get("Version"), project_version())


class Removal(unittest.TestCase):
    def test_remove_then_purge_leaves_nothing(self):
        target = ThrowawayRoot("removed")
        target.install(DEB)
        self.assertIn(INSTALLED, target.files())
        run(target.dpkg + ["-r", "sockecho"])
        self.assertEqual(target.files(), [])
        self.assertEqual(os.listdir(target.root), ["var"], "directories left behind")
        run(target.dpkg + ["--purge", "sockecho"])
        status = run(["dpkg-query", f"--root={target.root}", "-W", "-f", "${db:Status-Status}",
                      "sockecho"], check=False)
        self.assertIn(status.strip(), ("", "not-installed"))
        self.assertEqual([f for f in os.listdir(os.path.join(target.admin, "info"))
                          if f.startswith("sockecho.")], [])


if __name__ == "__main__":
    for tool in ("lintian", "dpkg", "dpkg-deb", "dpkg-query"):
        if not have(tool):
            print(f"SKIP: {tool} is not installed", file=sys.stderr)
            sys.exit(SKIP)
    if not GIVEN_DEB and not have("cpack"):
        print("SKIP: cpack is not installed and no SOCKECHO_DEB given", file=sys.stderr)
        sys.exit(SKIP)
    unittest.main()
