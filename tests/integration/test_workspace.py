"""`--workspace DIR` (DESIGN.md §1, §4): DIR overlaid at /home/user/workspace, a private
/home/user and /tmp, HOME=/home/user, the command started in the workspace directory that
matches the current one. What the command writes to its home and /tmp vanishes at exit and
nothing is left in the host's temporary directory ($TMPDIR, checked empty afterwards).
`clang-format -i` of badly formatted sources leaves them untouched until `ptvfs apply UPPER`,
after which they are what clang-format makes natively on a copy; apply refuses, naming the
file and changing nothing, when a source changed between the run and the apply; applying
twice is harmless. As root and as nobody."""
import os

from ptvfs_test import (absent_view_path, check, copy_tree, first_difference, give_to_nobody,
                        native, ptvfs_cmd, run, run_sections, scratch_dir, tree_of, write_file)

WS = "/home/user/workspace"
PYTHON = "/usr/bin/python3"
CLANG_FORMAT = "clang-format"

STYLE = "BasedOnStyle: LLVM\nIndentWidth: 8\nUseTab: Always\n"
SOURCES = {
    ".clang-format": STYLE,
    "src/main.c": ("#include \"util.h\"\nint  main( void ){int x=f(1,2);\n"
                   "  if(x){return 0;}\nreturn   1;}\n"),
    "src/util.h": "#pragma once\nint   f(int a,int b);\n",
    "src/util.c": "#include \"util.h\"\nint f(int a, int b) { return a + b; }\n",
    "src/sub/deep.c": "static   int  deep ( ) { return 0 ; }\n",
    "README": "a workspace\n",
}
# What clang-format -i leaves as it is (already formatted): never copied up.
FORMATTED = {b"src/util.c"}
SUBJECTS = ["src/main.c", "src/util.h", "src/util.c", "src/sub/deep.c"]


def who(as_nobody):
    return " (as nobody)" if as_nobody else ""


class Workspace:
    """A repository DIR, a private TMPDIR for ptvfs, and an upper directory to keep the
    workspace's changes in."""

    def __init__(self, as_nobody):
        absent_view_path("/home/user")
        self.as_nobody = as_nobody
        self.top = os.path.realpath(scratch_dir())
        self.dir = os.path.join(self.top, "repo")
        for rel, text in SOURCES.items():
            write_file(os.path.join(self.dir, rel), text)
        self.tmpdir = os.path.join(self.top, "tmpdir")
        os.mkdir(self.tmpdir, 0o700)
        if as_nobody:
            give_to_nobody(self.dir)
            give_to_nobody(self.tmpdir)
        self.upper = os.path.join(self.top, "upper")
        self.env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TMPDIR": self.tmpdir}

    def run(self, cmd, cwd=None, upper=True, extra=()):
        """CMD under --workspace (with --upper unless UPPER is false), from CWD (DIR)."""
        options = ["--workspace", self.dir, *(["--upper", self.upper] if upper else []),
                   "--unsetenv", "TMPDIR", *extra]
        return run(cmd, options=options, cwd=cwd or self.dir, as_nobody=self.as_nobody,
                   env=self.env)

    def check_tmpdir_empty(self, what):
        left = sorted(os.listdir(self.tmpdir))
        check(not left, f"{what}: nothing is left in the host's $TMPDIR{who(self.as_nobody)}: "
              f"{left}")

    def ptvfs(self, *args):
        return ptvfs_cmd(*args, as_nobody=self.as_nobody, env=self.env)


def starting_directory(as_nobody):
    w = who(as_nobody)
    ws = Workspace(as_nobody)
    code = ("import os\n"
            "print(os.getcwd(), os.environ.get('HOME'), os.path.expanduser('~'))\n"
            "print(sorted(os.listdir(os.path.expanduser('~'))), sorted(os.listdir('/tmp')))\n"
            "print(sorted(os.listdir('.')))\n")
    for cwd, want_cwd, listing, what in (
            (ws.dir, WS, ".clang-format README src", "the workspace's top"),
            (os.path.join(ws.dir, "src", "sub"), WS + "/src/sub", "deep.c", "a subdirectory"),
            (ws.top, WS, ".clang-format README src", "a directory outside the workspace")):
        p, report = ws.run([PYTHON, "-S", "-c", code], cwd=cwd)
        want = (f"{want_cwd} /home/user /home/user\n['workspace'] []\n"
                f"{sorted(listing.split())}\n")
        check(p.returncode == 0 and p.stdout.decode() == want,
              f"started from {what}, the command is in {want_cwd} with HOME=/home/user, a home "
              f"holding only the workspace and an empty /tmp{w}:\n{p.stdout.decode()}---\n"
              f"wanted:\n{want}{p.stderr.decode()[-1000:]}")
        check(report is not None and report["cwd"] == want_cwd,
              f"the report's cwd is {want_cwd}{w}: {report and report['cwd']}")
    p, _ = ws.run(["sh", "-c", 'cd && pwd && cd workspace/src && pwd && ls'])
    check(p.stdout.decode() == f"/home/user\n{WS}/src\nmain.c\nsub\nutil.c\nutil.h\n",
          f"cd with no argument goes to /home/user, the workspace is below it{w}: "
          f"{p.stdout.decode()} {p.stderr.decode()[-500:]}")
    ws.check_tmpdir_empty("after the runs")


def home_and_tmp_vanish(as_nobody):
    """$HOME and /tmp are private to one run: what the command writes there is gone at exit,
    from the host too; what it writes in the workspace is in the upper directory."""
    w = who(as_nobody)
    ws = Workspace(as_nobody)
    before = tree_of(ws.dir, mtimes=True)
    mark = "ws-" + os.path.basename(ws.top)  # a name the host's /tmp has not
    write = ("mkdir -p ~/.cache/tool && echo cached > ~/.cache/tool/c && echo rc > ~/.toolrc && "
             f"echo t > /tmp/{mark} && mkdir /tmp/{mark}.d && "
             f"{PYTHON} -S -c 'import tempfile; f = tempfile.NamedTemporaryFile(delete=False); "
             "print(f.name.startswith(\"/tmp/\"))' && "
             "echo out > out.txt && cat ~/.cache/tool/c ~/.toolrc /tmp/" + mark + " && "
             "ls -A ~ && ls -A /tmp | wc -l")
    p, report = ws.run(["sh", "-c", write])
    check(p.returncode == 0 and p.stdout.decode() == "True\ncached\nrc\nt\n.cache\n.toolrc\n"
          "workspace\n3\n", f"the command writes and reads back its home and /tmp{w}: "
          f"{p.stdout.decode()} {p.stderr.decode()[-1000:]}")
    ws.check_tmpdir_empty("after a run that wrote to its home and /tmp")
    check(not os.path.lexists(f"/tmp/{mark}") and not os.path.lexists(f"/tmp/{mark}.d"),
          f"what the command wrote to /tmp is not in the host's /tmp{w}")
    check(not os.path.lexists("/home/user"), f"nothing of /home/user is on the host{w}")
    check(tree_of(ws.dir, mtimes=True) == before, f"the workspace's source is unchanged{w}")
    got = {rel for rel, v in tree_of(os.path.join(ws.upper, "1")).items() if v[0] != "dir"}
    check(got == {b"out.txt"}, f"the upper directory holds the workspace's new file and "
          f"nothing of the home or /tmp{w}: {sorted(got)}")
    check(sorted(os.listdir(ws.upper)) == ["1", "ptvfs-upper.json"],
          f"the upper directory holds the overlay's changes and the record{w}: "
          f"{sorted(os.listdir(ws.upper))}")
    check(report is not None and report.get("upper") == ws.upper,
          f"the report names the upper directory{w}: {report and report.get('upper')}")

    p, _ = ws.run(["sh", "-c", f"ls -A ~ /tmp; cat out.txt; test -e ~/.toolrc || "
                               f"test -e /tmp/{mark} || echo gone"])
    check(p.stdout.decode() == "/home/user:\nworkspace\n\n/tmp:\nout\ngone\n",
          f"a second run over the same upper directory has a fresh home and /tmp and sees its "
          f"outputs in the workspace{w}: {p.stdout.decode()} {p.stderr.decode()[-500:]}")

    # Without --upper, the captured writes are in a private directory removed at exit.
    p, _ = ws.run(["sh", "-c", "echo x > new.txt && echo more >> README && cat new.txt README"],
                  upper=False)
    check(p.returncode == 0 and p.stdout == b"x\na workspace\nmore\n",
          f"without --upper the command sees its writes{w}: {p.stdout!r} {p.stderr!r}")
    check(tree_of(ws.dir, mtimes=True) == before, f"without --upper the source is unchanged"
          f"{w}")
    ws.check_tmpdir_empty("after a run without --upper")


def clang_format_and_apply(as_nobody):
    """clang-format -i under --workspace proposes; ptvfs apply disposes."""
    w = who(as_nobody)
    ws = Workspace(as_nobody)
    copy = os.path.join(ws.top, "copy")
    copy_tree(ws.dir, copy, as_nobody)
    n = native([CLANG_FORMAT, "-i", *SUBJECTS], cwd=copy, as_nobody=as_nobody, env=ws.env)
    check(n.returncode == 0, f"clang-format runs natively{w}: {n.stderr.decode()[-500:]}")
    formatted = tree_of(copy)
    check(formatted != tree_of(ws.dir), "clang-format changes the badly formatted sources")
    before = tree_of(ws.dir, mtimes=True)

    p, _ = ws.run([CLANG_FORMAT, "-i", *SUBJECTS])
    check(p.returncode == 0 and p.stdout == b"" and p.stderr == b"",
          f"clang-format -i runs under --workspace as natively{w}: {p.returncode} "
          f"{p.stderr.decode()[-1000:]}")
    check(tree_of(ws.dir, mtimes=True) == before, f"clang-format -i under --workspace leaves the "
          f"sources untouched{w}: {first_difference(before, tree_of(ws.dir, mtimes=True))}")
    ws.check_tmpdir_empty("after clang-format")
    p, _ = ws.run(["cat", *SUBJECTS])
    want = b"".join(formatted[os.fsencode(s)][2] for s in SUBJECTS)
    check(p.stdout == want, f"a later run in the workspace sees the formatted sources{w}")
    got = {rel for rel, v in tree_of(os.path.join(ws.upper, "1")).items() if v[0] != "dir"}
    check(got == {os.fsencode(s) for s in SUBJECTS} - FORMATTED,
          f"the upper directory holds the reformatted files and not the one clang-format left "
          f"alone{w}: {sorted(got)}")

    d = ws.ptvfs("diff", ws.upper)
    check(d.returncode == 0 and b"--- a/src/main.c\n+++ b/src/main.c\n" in d.stdout and
          b"src/util.c" not in d.stdout, f"ptvfs diff shows the proposed formatting{w}: "
          f"{d.stdout.decode()[:400]} {d.stderr.decode()[-500:]}")
    check(tree_of(ws.dir, mtimes=True) == before, f"ptvfs diff changes nothing{w}")

    a = ws.ptvfs("apply", ws.upper)
    check(a.returncode == 0 and a.stdout == b"" and a.stderr == b"",
          f"ptvfs apply exits 0 silently{w}: {a.returncode} {a.stderr.decode()[-500:]}")
    got = tree_of(ws.dir)
    check(got == formatted, f"after ptvfs apply the sources are what clang-format makes natively "
          f"(contents and modes){w}: {first_difference(formatted, got)}")
    applied = tree_of(ws.dir, mtimes=True)
    for rel in FORMATTED:
        check(applied[rel] == before[rel], f"apply does not touch {rel!r}, which the run did "
              f"not change (not even its mtime){w}")
    a = ws.ptvfs("apply", ws.upper)
    check(a.returncode == 0 and a.stderr == b"", f"applying twice is harmless{w}: "
          f"{a.returncode} {a.stderr.decode()[-500:]}")
    check(tree_of(ws.dir, mtimes=True) == applied, f"the second apply changes nothing, not "
          f"even an mtime{w}: {first_difference(applied, tree_of(ws.dir, mtimes=True))}")
    d = ws.ptvfs("diff", ws.upper)
    check(d.returncode == 0 and d.stdout == b"", f"after apply, ptvfs diff shows nothing left "
          f"to apply{w}: {d.stdout.decode()[:300]}")


def concurrent_change(as_nobody):
    """A source changed between the run and the apply: apply refuses, names it, changes
    nothing."""
    w = who(as_nobody)
    ws = Workspace(as_nobody)
    p, _ = ws.run([CLANG_FORMAT, "-i", *SUBJECTS])
    check(p.returncode == 0, f"clang-format -i runs under --workspace{w}: "
          f"{p.stderr.decode()[-500:]}")
    changed = os.path.join(ws.dir, "src", "util.h")
    with open(changed, "a") as f:
        f.write("int   g(void);\n")  # the user edits the file while the formatter ran
    before = tree_of(ws.dir, mtimes=True)
    a = ws.ptvfs("apply", ws.upper)
    check(a.returncode != 0, f"apply refuses (a non-zero exit) when a source changed since the "
          f"run{w}: {a.returncode}")
    check(changed.encode() in a.stderr, f"apply names the changed source ({changed}){w}: "
          f"{a.stderr.decode()[-500:]}")
    check(b"main.c" not in a.stderr, f"apply names only the source that changed{w}: "
          f"{a.stderr.decode()[-500:]}")
    after = tree_of(ws.dir, mtimes=True)
    check(after == before, f"a refused apply changes nothing, main.c included{w}: "
          f"{first_difference(before, after)}")
    check(not any(b"ptvfs" in rel for rel in after), f"a refused apply leaves no temporary file"
          f"{w}: {sorted(after)}")
    a = ws.ptvfs("apply", ws.upper)
    check(a.returncode != 0 and tree_of(ws.dir, mtimes=True) == before,
          f"asked again, apply still refuses and changes nothing{w}")


def sections():
    fns = []
    for as_nobody in (False, True):
        for fn in (starting_directory, home_and_tmp_vanish, clang_format_and_apply,
                   concurrent_change):
            def section(fn=fn, as_nobody=as_nobody):
                fn(as_nobody)
            section.__name__ = fn.__name__ + ("_as_nobody" if as_nobody else "_as_root")
            fns.append(section)
    return fns


if __name__ == "__main__":
    run_sections(*sections())
