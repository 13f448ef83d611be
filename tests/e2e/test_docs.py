"""The man page and the shell completions cover the command line the binary really has.

For every subcommand `sockecho --help` lists (serve, send, probe), every option its --help
prints must have an entry in man/sockecho.1 and be in the bash, zsh and fish completions, and
the completions must offer exactly the options of that subcommand; the man page documents no
option the binary lacks. The man page must be clean under `mandoc -Tlint` (style messages
included) and `groff -man -ww -z`.

Needs: bash, mandoc (else the whole file is skipped, exit 77). Uses when installed, else
skips those tests: groff (groff-base), fish, zsh, bash-completion (its loader).
Stdlib only; the binary comes from $SOCKECHO, default build/sockecho under the repo root.
"""

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SOCKECHO = os.environ.get("SOCKECHO") or os.path.join(REPO, "build", "sockecho")
MAN = os.path.join(REPO, "man", "sockecho.1")
BASH_COMPLETION = os.path.join(REPO, "completions", "sockecho.bash")
ZSH_COMPLETION = os.path.join(REPO, "completions", "_sockecho")
FISH_COMPLETION = os.path.join(REPO, "completions", "sockecho.fish")
BASH_COMPLETION_MAIN = "/usr/share/bash-completion/bash_completion"

SKIP = 77  # ctest SKIP_RETURN_CODE
T = 60  # seconds: a "does not hang" bound for each helper process
MODES = {"upper", "echo", "lower", "discard"}


def have(tool):
    return shutil.which(tool) is not None


# A scratch HOME/XDG tree so that fish and zsh write nothing into the real home.
_SCRATCH = tempfile.TemporaryDirectory(prefix="sockecho-docs-")


def tool_env(**extra):
    env = dict(os.environ)
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        path = os.path.join(_SCRATCH.name, var.lower())
        os.makedirs(path, exist_ok=True)
        env[var] = path
    env.pop("BASH_ENV", None)
    env.pop("ENV", None)
    env.update(extra)
    return env


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=T, env=tool_env(), **kw)


# ----------------------------------------------------------------------------- the CLI's own words

_LONG = re.compile(r"(?<![\w-])--[a-z0-9][a-z0-9-]*")
_SHORT = re.compile(r"^\s+(-[A-Za-z0-9])\b", re.M)
# "  -w, --timeout DUR   ..." / "      --retries N   ...": the options taking a number or duration.
_NUMERIC = re.compile(r"(--[a-z0-9-]+) (?:N|DUR)\b")


@functools.lru_cache(maxsize=None)
def help_of(*args):
    p = subprocess.run([SOCKECHO, *args], capture_output=True, text=True, timeout=T)
    if p.returncode != 0 or not p.stdout:
        raise AssertionError(f"sockecho {' '.join(args)}: exit {p.returncode}, stderr {p.stderr!r}")
    return p.stdout


def sub_help(sub):
    return help_of(sub, "--help")


def long_flags(sub):
    return set(_LONG.findall(sub_help(sub)))


def short_flags(sub):
    return set(_SHORT.findall(sub_help(sub)))


def numeric_flags(sub):
    return set(_NUMERIC.findall(sub_help(sub)))


def main_flags():
    return set(_LONG.findall(help_of("--help")))


def subcommands():
    """The subcommands `sockecho --help` lists, in its order."""
    text = help_of("--help")
    block = text.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
    return tuple(re.findall(r"(?m)^  ([a-z][a-z0-9-]*)\s", block))


def man_text():
    """The man page source with roff escapes for dashes and fonts taken out."""
    with open(MAN, encoding="utf-8") as f:
        src = f.read()
    src = src.replace("\\-", "-").replace("\\&", "")
    return re.sub(r"\\f(?:[BIRP]|\[[A-Z]*\])", "", src)


def man_tags():
    """The tag lines of the man page's .TP paragraphs: where each option gets its entry."""
    lines = man_text().split("\n")
    return "\n".join(lines[i + 1] for i, line in enumerate(lines[:-1]) if line.startswith(".TP"))


def mentions(text, flag):
    return re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", text) is not None


def setUpModule():
    if not (os.path.isfile(SOCKECHO) and os.access(SOCKECHO, os.X_OK)):
        raise RuntimeError(f"sockecho binary not found at {SOCKECHO!r} (set $SOCKECHO or build it)")


# ----------------------------------------------------------------------------- the man page

class ManPage(unittest.TestCase):
    def test_documents_every_flag_of_every_subcommand(self):
        tags = man_tags()
        for sub in subcommands():
            for flag in sorted(long_flags(sub) | short_flags(sub)):
                with self.subTest(sub=sub, flag=flag):
                    self.assertTrue(mentions(tags, flag), f"{flag} of '{sub}' has no entry in {MAN}")
        text = man_text()
        for flag in sorted(main_flags()):
            with self.subTest(flag=flag):
                self.assertTrue(mentions(text, flag), f"{flag} is not in {MAN}")

    def test_documents_no_flag_the_binary_lacks(self):
        known = main_flags().union(*(long_flags(s) for s in subcommands()))
        documented = set(_LONG.findall(man_text()))
        self.assertEqual(documented - known, set(), "the man page documents options --help lacks")

    def test_has_a_synopsis_for_every_subcommand(self):
        synopsis = man_text().split(".SH SYNOPSIS", 1)[1].split("\n.SH ", 1)[0]
        for sub in subcommands():
            with self.subTest(sub=sub):
                self.assertRegex(synopsis, r"(?m)^\.B sockecho " + sub + r"\b")

    def test_has_the_sections(self):
        text = man_text()
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "OUTPUT", "EXIT STATUS",
                        "EXAMPLES", "SEE ALSO"):
            with self.subTest(section=section):
                self.assertRegex(text, r"(?m)^\.SH \"?" + section + r"\"?$")
        exit_status = text.split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
        for status in ("0", "1", "2"):
            self.assertRegex(exit_status, r"(?m)^\.B " + status + "$")
        see_also = text.split(".SH SEE ALSO", 1)[1]
        for page in ("nc (1)", "ncat (1)", "socat (1)", "ss (8)", "netstat (8)"):
            self.assertIn(page, see_also)

    def test_mandoc_lint_is_silent(self):
        p = run(["mandoc", "-Tlint", MAN])
        self.assertEqual((p.stdout + p.stderr, p.returncode), ("", 0))

    def test_groff_is_silent(self):
        if not have("groff"):
            self.skipTest("groff is not installed (package groff-base)")
        p = run(["groff", "-man", "-ww", "-z", MAN])
        self.assertEqual((p.stdout + p.stderr, p.returncode), ("", 0))


# ----------------------------------------------------------------------------- completions, as text

class CompletionFiles(unittest.TestCase):
    def read(self, path):
        with open(path, encoding="utf-8") as f:
            return f.read()

    def check(self, path, present):
        text = self.read(path)
        for sub in subcommands():
            for flag in sorted(long_flags(sub)):
                with self.subTest(file=os.path.basename(path), sub=sub, flag=flag):
                    self.assertTrue(present(text, flag), f"{flag} of '{sub}' is not in {path}")

    def test_bash_file_names_every_flag(self):
        self.check(BASH_COMPLETION, mentions)

    def test_zsh_file_names_every_flag(self):
        self.check(ZSH_COMPLETION, mentions)

    def test_fish_file_names_every_flag(self):
        def present(text, flag):
            return re.search(r"(?:-l|--long-option)\s+" + re.escape(flag[2:]) + r"(?![\w-])",
                             text) is not None
        self.check(FISH_COMPLETION, present)


# ----------------------------------------------------------------------------- bash

_BASH_DRIVER = r'''
source "$1" || exit 3
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
_sockecho "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


def bash_complete(*words):
    """COMPREPLY for the command line `words`, the last one being the word under the cursor."""
    p = run(["bash", "--norc", "--noprofile", "-c", _BASH_DRIVER, "bash", BASH_COMPLETION,
             "sockecho", *words])
    if p.returncode != 0 or p.stderr:
        raise AssertionError(f"bash completion of {words}: exit {p.returncode}, {p.stderr!r}")
    return [line for line in p.stdout.split("\n") if line]


class BashCompletion(unittest.TestCase):
    def test_registers_the_function(self):
        p = run(["bash", "--norc", "--noprofile", "-c", 'source "$1" && complete -p sockecho',
                 "bash", BASH_COMPLETION])
        self.assertEqual((p.stdout.strip(), p.stderr), ("complete -F _sockecho sockecho", ""))

    def test_subcommands(self):
        self.assertEqual(set(bash_complete("")), {*subcommands(), "help"})
        self.assertEqual(set(bash_complete("se")), {s for s in subcommands() if s.startswith("se")})
        self.assertEqual(set(bash_complete("help", "")), set(subcommands()))
        self.assertEqual(set(bash_complete("--")), main_flags())

    def test_exactly_the_long_flags_of_each_subcommand(self):
        for sub in subcommands():
            with self.subTest(sub=sub):
                self.assertEqual(set(bash_complete(sub, "--")), long_flags(sub))

    def test_short_flags_of_each_subcommand(self):
        for sub in subcommands():
            with self.subTest(sub=sub):
                self.assertLessEqual(short_flags(sub), set(bash_complete(sub, "-")))

    def test_mode_flag_from_a_prefix(self):
        self.assertEqual(bash_complete("serve", "--mo"), ["--mode"])

    def test_mode_values(self):
        self.assertEqual(set(bash_complete("serve", "--mode", "")), MODES)
        self.assertEqual(bash_complete("serve", "--mode", "lo"), ["lower"])
        self.assertEqual(bash_complete("serve", "-v", "--mode", "d"), ["discard"])
        # `--mode=` as bash splits it by COMP_WORDBREAKS: --mode, =, the value.
        self.assertEqual(set(bash_complete("serve", "--mode", "=", "")), MODES)
        self.assertEqual(bash_complete("serve", "--mode", "=", "e"), ["echo"])

    def test_nothing_after_a_flag_taking_a_number_or_duration(self):
        for sub in subcommands():
            flags = numeric_flags(sub)
            self.assertTrue(flags, f"no N/DUR options found in 'sockecho {sub} --help'")
            for flag in sorted(flags):
                with self.subTest(sub=sub, flag=flag):
                    self.assertEqual(bash_complete(sub, flag, ""), [])
                    self.assertEqual(bash_complete(sub, flag, "1"), [])

    def test_loaded_by_bash_completion_on_demand(self):
        if not os.path.isfile(BASH_COMPLETION_MAIN):
            self.skipTest("bash-completion is not installed")
        with tempfile.TemporaryDirectory() as user_dir:
            os.mkdir(os.path.join(user_dir, "completions"))
            shutil.copy(BASH_COMPLETION, os.path.join(user_dir, "completions", "sockecho"))
            script = r'''
source "$1" || exit 3
if declare -F _comp_load >/dev/null; then _comp_load sockecho; else _completion_loader sockecho; fi
complete -p sockecho || exit 4
COMP_WORDS=(sockecho serve --mode ''); COMP_CWORD=3
COMP_LINE='sockecho serve --mode '; COMP_POINT=${#COMP_LINE}
_sockecho sockecho '' --mode
printf '%s\n' "${COMPREPLY[@]}"
'''
            p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash",
                                BASH_COMPLETION_MAIN], capture_output=True, text=True, timeout=T,
                               env=tool_env(BASH_COMPLETION_USER_DIR=user_dir))
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = p.stdout.split("\n")
            self.assertEqual(lines[0], "complete -F _sockecho sockecho")
            self.assertEqual({line for line in lines[1:] if line}, MODES)


# ----------------------------------------------------------------------------- fish

def fish_complete(line):
    """The candidates fish offers for `line` (the cursor at its end), descriptions dropped."""
    p = run(["fish", "--no-config", "-c", 'source $argv[1]; and complete -C $argv[2]',
             FISH_COMPLETION, line])
    if p.returncode != 0 or p.stderr:
        raise AssertionError(f"fish completion of {line!r}: exit {p.returncode}, {p.stderr!r}")
    return [entry.split("\t", 1)[0] for entry in p.stdout.split("\n") if entry]


@unittest.skipUnless(have("fish"), "fish is not installed")
class FishCompletion(unittest.TestCase):
    def test_syntax(self):
        p = run(["fish", "--no-config", "--no-execute", FISH_COMPLETION])
        self.assertEqual((p.returncode, p.stderr), (0, ""))

    def test_subcommands(self):
        self.assertEqual(set(fish_complete("sockecho ")), {*subcommands(), "help"})
        self.assertEqual(set(fish_complete("sockecho help ")), set(subcommands()))

    def test_exactly_the_long_flags_of_each_subcommand(self):
        for sub in subcommands():
            with self.subTest(sub=sub):
                self.assertEqual(set(fish_complete(f"sockecho {sub} --")), long_flags(sub))

    def test_short_flags_of_each_subcommand(self):
        for sub in subcommands():
            with self.subTest(sub=sub):
                self.assertLessEqual(short_flags(sub), set(fish_complete(f"sockecho {sub} -")))

    def test_mode_values(self):
        self.assertEqual(fish_complete("sockecho serve --mo"), ["--mode"])
        self.assertEqual(set(fish_complete("sockecho serve --mode ")), MODES)
        self.assertEqual(fish_complete("sockecho serve --mode=lo"), ["--mode=lower"])

    def test_nothing_after_a_flag_taking_a_number_or_duration(self):
        for sub in subcommands():
            for flag in sorted(numeric_flags(sub)):
                with self.subTest(sub=sub, flag=flag):
                    self.assertEqual(fish_complete(f"sockecho {sub} {flag} "), [])


# ----------------------------------------------------------------------------- zsh

# Runs inside an interactive zsh on a pty: completion results are printed instead of shown,
# between two NUL lines (the technique of zsh-users' completion capture scripts).
_ZSH_CAPTURE = r'''
PROMPT=
fpath=($COMPDIR $fpath)
autoload -U compinit
compinit -u -d $ZCOMPDUMP
bindkey '^I' complete-word
_capture_mark() { echo -E - $'\0' }
compprefuncs=( _capture_mark )
comppostfuncs=( _capture_mark exit )
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"; return $?
  fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  local h
  for h in $__hits; do echo -E - "$IPREFIX$h"; done
}
echo capture-ready
'''

_ZSH_DRIVER = r'''
zmodload zsh/zpty || exit 3
zpty z zsh -f -i || exit 3
local line
zpty -w z "source ${(q)1}"
integer ready=0
repeat 100; do
  zpty -r z line || break
  if [[ ${line%$'\n'} == capture-ready$'\r' ]]; then ready=1; break; fi
done
(( ready )) || exit 3
print -r -- HARNESS-READY
zpty -w z "$2"$'\t'
integer marks=0
while zpty -r z line; do
  line=${line%$'\n'}
  if [[ $line == *$'\0\r' ]]; then
    (( marks++ )) && break || continue
  fi
  (( marks )) && print -r -- ${line%$'\r'}
done
zpty -d z
'''


@unittest.skipUnless(have("zsh"), "zsh is not installed")
class ZshCompletion(unittest.TestCase):
    def test_syntax(self):
        p = run(["zsh", "-n", ZSH_COMPLETION])
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def complete(self, line):
        with tempfile.TemporaryDirectory() as d:
            capture = os.path.join(d, "capture.zsh")
            with open(capture, "w", encoding="utf-8") as f:
                f.write(_ZSH_CAPTURE)
            env = tool_env(COMPDIR=os.path.dirname(ZSH_COMPLETION), TERM="dumb",
                           ZCOMPDUMP=os.path.join(_SCRATCH.name, "zcompdump"))
            p = subprocess.run(["zsh", "-f", "-c", _ZSH_DRIVER, "zsh", capture, line],
                               capture_output=True, text=True, timeout=T, env=env)
        out = p.stdout.split("\n")
        if p.returncode == 3 or "HARNESS-READY" not in out:
            self.skipTest(f"cannot drive zsh on a pty here (exit {p.returncode}): {p.stderr!r}")
        return [entry for entry in out[out.index("HARNESS-READY") + 1:] if entry]

    def test_subcommands(self):
        self.assertEqual(set(self.complete("sockecho ")), {*subcommands(), "help"})
        self.assertEqual(set(self.complete("sockecho help ")), set(subcommands()))

    def test_exactly_the_long_flags_of_each_subcommand(self):
        for sub in subcommands():
            with self.subTest(sub=sub):
                self.assertEqual(set(self.complete(f"sockecho {sub} --")), long_flags(sub))

    def test_mode_values(self):
        self.assertEqual(set(self.complete("sockecho serve --mode ")), MODES)

    def test_nothing_after_a_flag_taking_a_number_or_duration(self):
        for sub in subcommands():
            for flag in sorted(numeric_flags(sub)):
                with self.subTest(sub=sub, flag=flag):
                    self.assertEqual(self.complete(f"sockecho {sub} {flag} "), [])


if __name__ == "__main__":
    for tool in ("bash", "mandoc"):
        if not have(tool):
            print(f"SKIP: {tool} is not installed (package {tool})", file=sys.stderr)
            sys.exit(SKIP)
    unittest.main()
