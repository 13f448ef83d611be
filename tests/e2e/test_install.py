"""`make install`, `cmake --install` and the Debian package put each file where it belongs.

- `DESTDIR=... cmake --install BUILD --prefix /usr/local` and `make install DESTDIR=...
  PREFIX=/opt/x` install exactly the binary, the man page and the three completions, under
  the prefix's bin/ and share/ (LAYOUT); `make uninstall` removes all five again.
- The .deb that `cpack -G DEB` builds from the build directory's CPackConfig.cmake (into a
  temporary directory, not the build directory) is sockecho_<version>_<arch>.deb, with the
  right control fields (the Maintainer the build directory was configured with, or
  $SOCKECHO_MAINTAINER when cpack runs) and a Depends on libc6, libstdc++6, libfmt and
  libssl; it holds exactly DEB_LAYOUT, root-owned; `dpkg -x` gives the same tree; `dpkg
  --root` installs it into an empty root (`dpkg --verify` clean), and `dpkg -r` / `--purge`
  leave nothing behind. The package differs from `make install` in Debian's conventions
  (cmake/DebStage.cmake): the man page is gzipped, the zsh completion is in
  vendor-completions, and it has /usr/share/doc/sockecho/copyright and changelog.gz
  (test_deb.py checks what they say, and lintian).
- Each of those directories is on the default search path of this machine's man, zsh, fish
  and bash-completion (each check skipped when that tool is not installed).

Needs: cmake, cpack, dpkg-deb (else the whole file is skipped, exit 77); make and dpkg for
some tests (else those are skipped). Stdlib only; the binary comes from $SOCKECHO (default
build/sockecho under the repo root) and the build directory is the binary's directory.
"""

import gzip
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SOCKECHO = os.path.abspath(os.environ.get("SOCKECHO") or os.path.join(REPO, "build", "sockecho"))
BUILD = os.path.dirname(SOCKECHO)

SKIP = 77  # ctest SKIP_RETURN_CODE
T = 120  # seconds: a "does not hang" bound for each helper process

# Installed path below the prefix -> the file in the source tree it is a copy of.
LAYOUT = {
    "bin/sockecho": None,  # the built binary
    "share/man/man1/sockecho.1": "man/sockecho.1",
    "share/bash-completion/completions/sockecho": "completions/sockecho.bash",
    "share/zsh/site-functions/_sockecho": "completions/_sockecho",
    "share/fish/vendor_completions.d/sockecho.fish": "completions/sockecho.fish",
}
# The same in the .deb, below /usr: the man page gzipped, zsh's completion where Debian's zsh
# looks for it.
DEB_PREFIX = "/usr"
DEB_LAYOUT = {
    "bin/sockecho": None,
    "share/man/man1/sockecho.1.gz": "man/sockecho.1",
    "share/bash-completion/completions/sockecho": "completions/sockecho.bash",
    "share/zsh/vendor-completions/_sockecho": "completions/_sockecho",
    "share/fish/vendor_completions.d/sockecho.fish": "completions/sockecho.fish",
    "share/doc/sockecho/copyright": None,  # made from LICENSE (DEP-5): test_deb.py reads it
    "share/doc/sockecho/changelog.gz": "packaging/changelog",
}
EXECUTABLE = "bin/sockecho"


def have(tool):
    return shutil.which(tool) is not None


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*sockecho\b[^)]*\bVERSION\s+([0-9][0-9.]*)", f.read())
    if not m:
        raise AssertionError("no project(sockecho VERSION ...) in CMakeLists.txt")
    return m.group(1)


def clean_env(**extra):
    """The environment without what an outer make or a shell session would leak in."""
    env = dict(os.environ)
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES", "DESTDIR", "PREFIX", "BUILD",
                "CMAKE_INSTALL_MODE", "BASH_ENV", "ENV", "SOCKECHO_MAINTAINER"):
        env.pop(var, None)
    env.update(extra)
    return env


def run(argv, *, env=None, cwd=None):
    """Runs argv; fails the test with its output unless it exits 0. Returns stdout."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=T, env=env or clean_env(),
                       cwd=cwd)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {p.returncode}\n"
                             f"stdout: {p.stdout[-3000:]}\nstderr: {p.stderr[-3000:]}")
    return p.stdout


def files_under(root):
    """Every non-directory below root, as paths relative to root."""
    found = set()
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def under(prefix, layout):
    """The layout's paths below prefix, relative to / (as they are below a DESTDIR)."""
    return {os.path.join(prefix.strip("/"), rel) for rel in layout}


class LayoutChecks:
    """Checks shared by the install and package tests; mixed into TestCase classes."""

    def assert_tree(self, root, prefix, layout, ignore=None):
        """root (a DESTDIR or an unpacked package) holds exactly layout below prefix (apart
        from what is below ignore), each file a copy of its source, the binary executable and
        runnable."""
        found = {f for f in files_under(root) if not (ignore and f.startswith(ignore + "/"))}
        self.assertEqual(found, under(prefix, layout))
        base = os.path.join(root, prefix.strip("/"))
        for rel, src in layout.items():
            path = os.path.join(base, rel)
            with self.subTest(file=rel):
                mode = stat.S_IMODE(os.lstat(path).st_mode)
                self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode), "not a regular file")
                if rel == EXECUTABLE:
                    self.assertEqual(mode, 0o755)
                    out = run([path, "--version"])
                    self.assertEqual(out.strip(), f"sockecho {project_version()}")
                    continue
                self.assertEqual(mode, 0o644)
                if src is None:
                    continue
                data = read_bytes(path)
                if rel.endswith(".gz"):
                    data = gzip.decompress(data)
                self.assertEqual(data, read_bytes(os.path.join(REPO, src)),
                                 f"not a copy of {src}")


# ----------------------------------------------------------------------------- make / cmake install

class Install(LayoutChecks, unittest.TestCase):
    def test_cmake_install_into_a_relative_destdir(self):
        # `DESTDIR=tmp`, relative to the working directory, as in the issue.
        with tempfile.TemporaryDirectory(prefix="sockecho-install-") as cwd:
            run(["cmake", "--install", BUILD, "--prefix", "/usr/local"],
                env=clean_env(DESTDIR="stage"), cwd=cwd)
            self.assert_tree(os.path.join(cwd, "stage"), "/usr/local", LAYOUT)

    @unittest.skipUnless(have("make"), "make is not installed")
    def test_make_install_and_uninstall(self):
        with tempfile.TemporaryDirectory(prefix="sockecho-install-") as dest:
            args = ["make", "-s", "-C", REPO, f"DESTDIR={dest}", "PREFIX=/opt/x",
                    f"BUILD={BUILD}"]
            run(args + ["install"])
            self.assert_tree(dest, "/opt/x", LAYOUT)
            run(args + ["uninstall"])
            self.assertEqual(files_under(dest), set())


# ----------------------------------------------------------------------------- the .deb

class Deb(LayoutChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        config = os.path.join(BUILD, "CPackConfig.cmake")
        if not os.path.exists(config):
            raise AssertionError(f"{config} missing: is cmake/Packaging.cmake included?")
        cls._tmp = tempfile.TemporaryDirectory(prefix="sockecho-deb-")
        cls.tmp = cls._tmp.name
        out_dir = os.path.join(cls.tmp, "out")
        try:  # -B: the package and CPack's staging tree go there, not into the build directory
            run(["cpack", "-G", "DEB", "--config", config, "-B", out_dir])
        except BaseException:
            cls._tmp.cleanup()
            raise
        cls.debs = sorted(f for f in os.listdir(out_dir) if f.endswith(".deb"))
        cls.deb = os.path.join(out_dir, cls.debs[0]) if cls.debs else None

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def control(self):
        """The control file's fields; continuation lines joined with newlines."""
        fields, key = {}, None
        for line in run(["dpkg-deb", "-f", self.deb]).splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        return fields

    @staticmethod
    def configured_maintainer():
        with open(os.path.join(BUILD, "CMakeCache.txt"), encoding="utf-8") as f:
            m = re.search(r"^SOCKECHO_MAINTAINER:STRING=(.*)$", f.read(), re.M)
        if not m:
            raise AssertionError(f"no SOCKECHO_MAINTAINER in {BUILD}/CMakeCache.txt")
        return m.group(1)

    def test_maintainer_from_the_environment(self):
        # `make deb SOCKECHO_MAINTAINER=...` reaches cpack this way, with no reconfigure.
        out_dir = os.path.join(self.tmp, "maintainer")
        who = "Jane O'Doe <jane@example.net>"
        run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
             "-B", out_dir], env=clean_env(SOCKECHO_MAINTAINER=who))
        (deb,) = [f for f in os.listdir(out_dir) if f.endswith(".deb")]
        self.assertEqual(run(["dpkg-deb", "-f", os.path.join(out_dir, deb), "Maintainer"]).strip(),
                         who)

    def depends(self):
        """Depends as a list of clauses, each a list of (name, op, version) alternatives."""
        clauses = []
        depends = self.control().get("Depends", "")
        for clause in filter(None, (c.strip() for c in depends.split(","))):
            alts = []
            for alt in clause.split("|"):
                m = re.fullmatch(r"\s*([a-z0-9][a-z0-9.+-]*)(?::\S+)?\s*"
                                 r"(?:\(\s*(<<|<=|=|>=|>>)\s*([^)\s]+)\s*\))?\s*", alt)
                self.assertIsNotNone(m, f"unparsable Depends entry {alt!r}")
                alts.append(m.groups())
            clauses.append(alts)
        return clauses

    def test_one_package_named_by_version_and_arch(self):
        arch = run(["dpkg", "--print-architecture"]).strip() if have("dpkg") else r"[a-z0-9]+"
        self.assertEqual(len(self.debs), 1, self.debs)
        self.assertRegex(self.debs[0], rf"^sockecho_{re.escape(project_version())}_{arch}\.deb$")

    def test_control_fields(self):
        fields = self.control()
        self.assertEqual(fields.get("Package"), "sockecho")
        self.assertEqual(fields.get("Version"), project_version())
        self.assertEqual(fields.get("Section"), "net")
        self.assertEqual(fields.get("Maintainer"), self.configured_maintainer())
        self.assertTrue(fields.get("Description", "").strip(), "no Description")
        if have("dpkg"):
            self.assertEqual(fields.get("Architecture"),
                             run(["dpkg", "--print-architecture"]).strip())

    def test_depends_on_the_shared_libraries(self):
        names = {alt[0] for clause in self.depends() for alt in clause}
        self.assertLessEqual({"libc6", "libstdc++6"}, names)
        self.assertTrue(any(re.fullmatch(r"libfmt\d+", n) for n in names), names)
        self.assertTrue(any(re.fullmatch(r"libssl\d+(t64)?", n) for n in names), names)

    @unittest.skipUnless(have("dpkg-query"), "dpkg-query is not installed")
    def test_depends_satisfied_on_this_machine(self):
        # dpkg-shlibdeps derives Depends from this machine's packages, so they satisfy it.
        for clause in self.depends():
            with self.subTest(clause=clause):
                self.assertTrue(any(self.installed(*alt) for alt in clause))

    def installed(self, name, op, version):
        p = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status} ${Version}\n", name],
                           capture_output=True, text=True, timeout=T)
        for line in p.stdout.splitlines():
            status, _, have_version = line.partition(" ")
            if status != "installed":
                continue
            if op is None or subprocess.run(
                    ["dpkg", "--compare-versions", have_version, op, version],
                    timeout=T).returncode == 0:
                return True
        return False

    def test_contents(self):
        listing = run(["dpkg-deb", "-c", self.deb])
        files, dirs = {}, set()
        for line in listing.splitlines():
            perms, owner, _size, _date, _time, path = line.split(None, 5)
            with self.subTest(path=path):
                self.assertEqual(owner, "root/root")
                self.assertTrue(path.startswith("./"), path)
            path = path[2:].rstrip("/")
            if perms.startswith("d"):
                dirs.add(path)
                self.assertEqual(perms, "drwxr-xr-x", path)
            else:
                files[path] = perms
        self.assertEqual(set(files), under(DEB_PREFIX, DEB_LAYOUT))
        for path, perms in files.items():
            want = "-rwxr-xr-x" if path.endswith(EXECUTABLE) else "-rw-r--r--"
            self.assertEqual(perms, want, path)
        # Every ancestor directory is in the package (so that dpkg -r removes them again),
        # and nothing else is.
        ancestors = set()
        for path in files:
            while (path := os.path.dirname(path)):
                ancestors.add(path)
        self.assertEqual(dirs, ancestors)

    def test_extract(self):
        root = os.path.join(self.tmp, "x")
        run(["dpkg-deb", "-x", self.deb, root])
        self.assert_tree(root, DEB_PREFIX, DEB_LAYOUT)
        binary = os.path.join(root, DEB_PREFIX.strip("/"), EXECUTABLE)
        if have("readelf"):  # CPACK_STRIP_FILES
            self.assertNotIn(".debug_info", run(["readelf", "-S", "-W", binary]))

    @unittest.skipUnless(have("dpkg"), "dpkg is not installed")
    def test_install_and_remove_into_a_throwaway_root(self):
        root = os.path.join(self.tmp, "root")
        admin = os.path.join(root, "var", "lib", "dpkg")
        for sub in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, sub))
        for name in ("status", "available"):
            open(os.path.join(admin, name), "w").close()
        # --path-include='*' undoes any path-exclude in the host's /etc/dpkg/dpkg.cfg.d (slim
        # container images drop /usr/share/man); --log keeps the host's dpkg.log untouched.
        dpkg = ["dpkg", f"--root={root}", "--log=/dev/null", "--force-not-root"]
        run(dpkg + ["--force-depends", "--path-include=*", "-i", self.deb])
        self.assert_tree(root, DEB_PREFIX, DEB_LAYOUT, ignore="var/lib/dpkg")
        self.assertIn("install ok installed", run(dpkg + ["-s", "sockecho"]))
        run(dpkg + ["--verify", "sockecho"])  # md5sums match what was installed
        listed = {p for p in run(dpkg + ["-L", "sockecho"]).splitlines() if p.strip()}
        self.assertLessEqual({"/" + p for p in under(DEB_PREFIX, DEB_LAYOUT)}, listed)

        run(dpkg + ["-r", "sockecho"])
        self.assertFalse(os.path.exists(os.path.join(root, DEB_PREFIX.strip("/"))),
                         f"left behind: {sorted(files_under(os.path.join(root, 'usr')))}")
        run(dpkg + ["--purge", "sockecho"])
        p = subprocess.run(["dpkg-query", f"--root={root}", "-W", "-f",
                            "${db:Status-Status}", "sockecho"],
                           capture_output=True, text=True, timeout=T)
        self.assertIn(p.stdout.strip(), ("", "not-installed"))
        self.assertEqual([f for f in os.listdir(os.path.join(admin, "info"))
                          if f.startswith("sockecho.")], [])


# ----------------------------------------------------------------------------- default search paths

def scratch_env(scratch, **extra):
    env = clean_env()
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
                "XDG_RUNTIME_DIR"):
        env[var] = os.path.join(scratch, var.lower())
        os.makedirs(env[var], exist_ok=True)
    for var in ("XDG_DATA_DIRS", "FPATH", "MANPATH", "BASH_COMPLETION_USER_DIR"):
        env.pop(var, None)
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env.update(extra)
    return env


def installed_dir(prefix, layout, marker):
    """The directory below prefix that holds the layout entry containing marker."""
    (rel,) = [r for r in layout if marker in r]
    return os.path.join(prefix, os.path.dirname(rel))


class SearchPaths(unittest.TestCase):
    """Each directory the files go to is one its tool searches by default on this machine:
    for `make install` with the default PREFIX (/usr/local) and for the package (/usr)."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="sockecho-paths-")

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def lines(self, argv, **extra):
        return run(argv, env=scratch_env(self._tmp.name, **extra)).splitlines()

    def cases(self, marker):
        return (("/usr/local", installed_dir("/usr/local", LAYOUT, marker)),
                (DEB_PREFIX, installed_dir(DEB_PREFIX, DEB_LAYOUT, marker)))

    @unittest.skipUnless(have("zsh"), "zsh is not installed")
    def test_zsh_fpath(self):
        fpath = self.lines(["zsh", "-f", "-c", "print -rl -- $fpath"])
        for prefix, d in self.cases("zsh/"):
            with self.subTest(prefix=prefix):
                self.assertIn(d, fpath)

    @unittest.skipUnless(have("fish"), "fish is not installed")
    def test_fish_vendor_completions(self):
        script = "printf '%s\\n' $__fish_vendor_completionsdirs"
        unset = self.lines(["fish", "-c", script])
        xdg_default = self.lines(["fish", "-c", script],
                                 XDG_DATA_DIRS="/usr/local/share:/usr/share")
        for prefix, d in self.cases("fish/"):
            with self.subTest(prefix=prefix):
                self.assertIn(d, xdg_default)
                if prefix == DEB_PREFIX:
                    self.assertIn(d, unset)
        # fish reads XDG_DATA_DIRS, without its freedesktop default: with it unset (a console
        # or ssh login) only the /usr directory is searched, /usr/local's only when it is set.

    @unittest.skipUnless(have("bash"), "bash is not installed")
    def test_bash_completion_dirs(self):
        loader = "/usr/share/bash-completion/bash_completion"
        if not os.path.exists(loader):
            self.skipTest("bash-completion is not installed")
        with open(loader, encoding="utf-8", errors="replace") as f:
            text = f.read()
        # __load_completion searches $XDG_DATA_DIRS/bash-completion/completions, with
        # XDG_DATA_DIRS defaulting to /usr/local/share:/usr/share, for a file named after the
        # command. So: each directory is one of those, and the loader does load the completion
        # from it (with XDG_DATA_DIRS pointing into a DESTDIR install instead of /).
        self.assertIn("${XDG_DATA_DIRS:-/usr/local/share:/usr/share}", text)
        stage = os.path.join(self._tmp.name, "stage")
        run(["cmake", "--install", BUILD, "--prefix", "/usr/local"], env=clean_env(DESTDIR=stage))
        for prefix, d in self.cases("bash-completion/"):
            with self.subTest(prefix=prefix):
                share = os.path.join(prefix, "share")
                self.assertEqual(d, os.path.join(share, "bash-completion", "completions"))
        out = self.lines(["bash", "--norc", "--noprofile", "-c",
                          f". {loader} && __load_completion sockecho && complete -p sockecho"],
                         XDG_DATA_DIRS=os.path.join(stage, "usr/local/share"))
        self.assertTrue(any(re.search(r"^complete .* sockecho$", line) for line in out), out)

    @unittest.skipUnless(have("manpath"), "man-db is not installed")
    def test_manpath(self):
        manpath = run(["manpath", "-q"], env=scratch_env(self._tmp.name)).strip().split(":")
        for prefix, d in self.cases("man1/"):
            with self.subTest(prefix=prefix):
                self.assertIn(os.path.dirname(d), manpath)


if __name__ == "__main__":
    for tool in ("cmake", "cpack", "dpkg-deb"):
        if not have(tool):
            print(f"SKIP: {tool} is not installed", file=sys.stderr)
            sys.exit(SKIP)
    if not os.path.exists(os.path.join(BUILD, "cmake_install.cmake")):
        print(f"SKIP: {BUILD} (the directory of $SOCKECHO) is not a build directory",
              file=sys.stderr)
        sys.exit(SKIP)
    unittest.main()
