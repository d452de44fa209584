"""Copy-on-write overlays (DESIGN.md §4): `--overlay SRC DEST` with `--upper DIR`.

A shell session and a Python session change a source tree every way a build or a formatter
does — append, truncate, delete, rename files and directories (one with contents, one over an
existing file, one over an existing empty directory), create directories and files, make a
symbolic link, chmod, hard-link a source file and write through the link — and list and read
back what they did. Each runs natively on a copy of SRC and under the overlay: the same output,
the same exit status. Afterwards SRC is byte-identical to before; the upper directory holds
exactly the changed and new files, and its record the copy-ups (with the sources' identities),
the whiteouts and the renames; a second run over the same upper directory sees the copy's final
tree; `ptvfs diff` applied with `git apply` and `patch -p1` to a clone of SRC gives that tree.
A 40 MB file appended to is copied up byte for byte. The report names the files written at
their view paths with their hosts in the upper directory, and the upper directory itself; a
change through a descriptor of a source file opened before its copy-up is refused with EROFS
and listed. As root and as nobody."""
import hashlib
import json
import os
import random
import subprocess

from ptvfs_test import (absent_view_path, check, copy_tree, entries, first_difference,
                        give_to_nobody, native, ptvfs_cmd, run, run_sections, scratch_dir,
                        tree_of, write_file)

DEST = "/ovl/work"
PYTHON = "/usr/bin/python3"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.autocrlf=false",
       "-c", "safe.directory=*"]
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}

# The source tree every session starts from: {relative path: contents}, a tuple for a link.
FILES = {
    "keep.txt": "never touched\n",
    "append.txt": "first line\n",
    "trunc.txt": "to be emptied\n",
    "short.txt": "0123456789\n",
    "del.txt": "deleted\n",
    "old.txt": "renamed over over.txt\n",
    "over.txt": "replaced by old.txt\n",
    "mode.sh": "#!/bin/sh\necho mode\n",
    "secret.txt": "made private\n",
    "lower.txt": "hard-linked\n",
    "linkme.txt": "through a link\n",
    "d/b.txt": "b\n",
    "d/keep/deep.txt": "deep, never touched\n",
    "d/e/c.txt": "c\n",
    "d/e/sub/s.txt": "s\n",
    "full/x": "x\n",
    "full/y/z": "z\n",
    "gone/x/g": "g\n",
    "redo/old": "hidden by a directory made again\n",
    "link": ("link", "keep.txt"),
}
EMPTY_DIRS = ["emptydir", "lonely"]

# Listing and reading back: the same for the copy and the view. ls -l shows neither times nor
# a directory's size and link count (the file system's own: the upper copy of a directory is
# not the merged directory, as with overlayfs); a file's link count stays.
LIST = r"""
echo "== ls -lAR"
ls -lAR --time-style=+ . | awk '/^total /{next} NF>=6 && $1 ~ /^d/ {$2=""; $5=""} {print}'
echo "== find"
find . | sort
echo "== contents"
find . -type f | sort | while read -r f; do echo "-- $f"; cat "$f"; done
echo "== stat"
find . ! -type d | sort | xargs stat -c '%A %h %s %N'
"""

SHELL_SESSION = r"""
echo more >> append.txt
: > trunc.txt
truncate -s 3 short.txt
rm del.txt
mv old.txt over.txt
mv d/e d/f
echo changed >> d/f/c.txt
mv -T full emptydir
rmdir lonely
rm -r gone
rm -r redo && mkdir redo && echo fresh > redo/new
mkdir -p n/m
echo new > n/new.txt
echo tmp > tmp.txt && mv tmp.txt n/m/t.txt
chmod +x mode.sh
chmod 600 secret.txt
ln lower.txt hl.txt
echo via-link >> hl.txt
ln -s linkme.txt sym
cat sym
readlink sym link
./mode.sh
rm d/nothing 2>&1 | sed 's/^[^:]*: //'
mkdir d 2>&1 | sed 's/^[^:]*: //'
rmdir d 2>&1 | sed 's/^[^:]*: //'
ls emptydir d/f
""" + LIST + "exit 7\n"

PY_SESSION = r"""
import os, shutil, sys
def put(p, s, mode="w"):
    with open(p, mode) as f:
        f.write(s)
put("append.txt", "python more\n", "a")
os.truncate("short.txt", 4)
with open("trunc.txt", "r+") as f:
    f.truncate(0)
os.replace("old.txt", "over.txt")
os.rename("d/e", "d/f")
os.rename("full", "emptydir")
os.unlink("del.txt")
os.rmdir("lonely")
shutil.rmtree("gone")
shutil.rmtree("redo"); os.mkdir("redo"); put("redo/new", "fresh\n")
os.makedirs("n/m")
put("n/new.txt", "new\n")
put("tmp.txt", "tmp\n"); os.rename("tmp.txt", "n/m/t.txt")
os.chmod("mode.sh", 0o755)
os.chmod("secret.txt", 0o600)
os.link("lower.txt", "hl.txt")
put("hl.txt", "via-link\n", "a")
os.symlink("linkme.txt", "sym")
print(open("sym").read(), os.readlink("sym"), os.readlink("link"))
for top, dirs, names in sorted(os.walk(".")):
    dirs.sort()
    for n in sorted(names):
        p = os.path.join(top, n)
        st = os.lstat(p)
        body = os.readlink(p) if os.path.islink(p) else open(p).read()
        print(p, oct(st.st_mode), st.st_nlink, st.st_size, repr(body))
    print(top, sorted(os.listdir(top)), sorted(e.name for e in os.scandir(top)))
sys.exit(5)
"""

# Calls that fail natively fail the same way in the overlay and change nothing; calls that
# succeed only once the directory's source files are gone succeed: (what, Python statements).
# Each runs on a fresh copy and a fresh overlay, so one that goes wrong does not hide the next.
ERROR_CASES = [
    ("rmdir of a non-empty source directory", "os.rmdir('d')"),
    ("rmdir of a non-empty new directory", "os.mkdir('new'); open('new/f', 'w').close(); "
     "os.rmdir('new')"),
    ("mkdir of an existing source directory", "os.mkdir('d')"),
    ("mkdir over a source file", "os.mkdir('keep.txt')"),
    ("unlink of a missing name", "os.unlink('d/nothing')"),
    ("unlink of a source directory", "os.unlink('d')"),
    ("rmdir of a source file", "os.rmdir('keep.txt')"),
    ("a new directory renamed over a non-empty source directory",
     "os.mkdir('new'); os.rename('new', 'd')"),
    ("a source directory renamed over a non-empty source directory", "os.rename('full', 'd')"),
    ("a source directory renamed over a non-empty new directory",
     "os.mkdir('new'); open('new/f', 'w').close(); os.rename('lonely', 'new')"),
    ("a source directory renamed over a source file", "os.rename('full', 'keep.txt')"),
    ("a source file renamed over a source directory", "os.rename('keep.txt', 'emptydir')"),
    ("a source directory moved into itself", "os.rename('d', 'd/e/inside')"),
    ("open for writing of a source directory", "open('d', 'w')"),
    ("O_EXCL create over a source file",
     "os.open('keep.txt', os.O_CREAT | os.O_EXCL | os.O_WRONLY)"),
    ("link over a source file", "os.link('append.txt', 'keep.txt')"),
    ("symlink over a source file", "os.symlink('x', 'keep.txt')"),
    ("a file created below a source file", "open('keep.txt/x', 'w')"),
    ("rename of a missing name", "os.rename('nothing', 'x')"),
    ("rmdir of a source directory emptied of its source files",
     "os.unlink('d/e/sub/s.txt'); os.rmdir('d/e/sub')"),
    ("rmdir of a source directory emptied of files and directories",
     "os.unlink('d/e/sub/s.txt'); os.rmdir('d/e/sub'); os.unlink('d/e/c.txt'); os.rmdir('d/e')"),
    ("a source directory renamed over an emptied source directory",
     "os.unlink('gone/x/g'); os.rmdir('gone/x'); os.rename('full', 'gone')"),
]

ERROR_PROGRAM = r"""
import errno, os, sys
try:
    exec(sys.argv[1])
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
"""

# The final tree, read by a program: what a second run over the same upper directory sees.
TREE_LISTER = r"""
import json, os, stat
out = {}
for top, dirs, names in os.walk("."):
    for n in dirs + names:
        p = os.path.join(top, n)
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out[p] = ["link", os.readlink(p)]
        elif stat.S_ISDIR(st.st_mode):
            out[p] = ["dir", oct(st.st_mode)]
        else:
            out[p] = ["file", oct(st.st_mode), st.st_nlink, open(p, "rb").read().hex()]
print(json.dumps(out, sort_keys=True))
"""


def who(as_nobody):
    return " (as nobody)" if as_nobody else ""


def make_source(top, as_nobody):
    src = os.path.join(top, "src")
    for rel, what in FILES.items():
        path = os.path.join(src, rel)
        if isinstance(what, tuple):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(what[1], path)
        else:
            write_file(path, what)
    for rel in EMPTY_DIRS:
        os.makedirs(os.path.join(src, rel))
    # Old times, so a copy-up that lost them would show.
    for dirpath, dirs, names in os.walk(src):
        for name in names:
            if not os.path.islink(os.path.join(dirpath, name)):
                os.utime(os.path.join(dirpath, name), ns=(1_600_000_000_000_000_000,) * 2)
    if as_nobody:
        give_to_nobody(src)
    return src


class Run:
    """SRC, a copy where the session runs natively, and an upper directory the overlay
    session's changes go to."""

    def __init__(self, as_nobody):
        self.as_nobody = as_nobody
        absent_view_path(os.path.dirname(DEST))
        self.top = os.path.realpath(scratch_dir())
        self.src = make_source(self.top, as_nobody)
        self.copy = os.path.join(self.top, "copy")
        copy_tree(self.src, self.copy, as_nobody)
        self.upper = os.path.join(self.top, "upper")
        self.before = tree_of(self.src, mtimes=True)

    def options(self):
        return ["--overlay", self.src, DEST, "--upper", self.upper, "--chdir", DEST,
                "--clearenv", "--setenv", "PATH", ENV["PATH"], "--setenv", "LC_ALL", "C"]

    def both(self, cmd, what):
        """CMD natively in the copy and in the overlay: the same stdout, stderr and status."""
        w = who(self.as_nobody)
        n = native(cmd, cwd=self.copy, as_nobody=self.as_nobody, env=ENV)
        p, report = run(cmd, options=self.options(), cwd=self.top, as_nobody=self.as_nobody)
        check(p.stdout == n.stdout, f"{what} prints the same in the overlay as natively on a "
              f"copy{w}:\n{_first_line_difference(n.stdout, p.stdout)}\nstderr: "
              f"{p.stderr.decode()[-2000:]}")
        check(p.stderr == n.stderr, f"{what} says the same on stderr in the overlay{w}: "
              f"{p.stderr.decode()[-2000:]!r}, natively {n.stderr.decode()[-2000:]!r}")
        check(p.returncode == n.returncode, f"{what} exits as natively{w}: {p.returncode}, "
              f"natively {n.returncode}")
        return p, report

    def check_source_unchanged(self, what):
        after = tree_of(self.src, mtimes=True)
        check(after == self.before, f"{what}: SRC is byte-identical to before (contents, modes, "
              f"links, mtimes){who(self.as_nobody)}: {first_difference(self.before, after)}")


def _first_line_difference(want, got):
    """The lines that differ (at most ten), each natively and in the overlay."""
    a, b = want.decode(errors="replace").splitlines(), got.decode(errors="replace").splitlines()
    out = []
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end>"
        y = b[i] if i < len(b) else "<end>"
        if x != y:
            out.append(f"line {i + 1}: natively {x!r}, in the overlay {y!r}")
    return "\n".join(out[:10]) or "no difference"


def changed_paths(src_tree, final_tree):
    """Files and links of the final tree that SRC has not at that path with those contents
    and that mode: what the upper directory must hold."""
    def strip(v):
        return v[:3] if v[0] == "file" else v[:2]
    return {rel for rel, v in final_tree.items()
            if v[0] != "dir" and (rel not in src_tree or strip(src_tree[rel]) != strip(v))}


def upper_files(upper):
    return {rel for rel, v in tree_of(os.path.join(upper, "1")).items() if v[0] != "dir"}


def check_upper(r, what):
    """UPPER holds exactly what changed, and its record says what happened."""
    w = who(r.as_nobody)
    src_tree, final = tree_of(r.src), tree_of(r.copy)
    want = changed_paths(src_tree, final)
    got = upper_files(r.upper)
    check(got == want, f"{what}: the upper directory holds exactly the changed and new files"
          f"{w}: missing {sorted(want - got)}, not to be there {sorted(got - want)}")
    for rel in got:
        up = tree_of(os.path.join(r.upper, "1")).get(rel)
        check(up[:3] == final[rel][:3], f"{what}: the upper copy of {rel!r} is the file the "
              f"session made{w}: {str(up)[:100]} vs {str(final[rel])[:100]}")
    never = {b"keep.txt", b"d/keep/deep.txt", b"link", b"d/b.txt", b"linkme.txt"}
    check(not never & got, f"{what}: files only read are never copied up{w}: {never & got}")
    with open(os.path.join(r.upper, "ptvfs-upper.json"), encoding="utf-8") as f:
        record = json.load(f)
    check([(o["src"], o["dest"]) for o in record["overlays"]] == [(r.src, DEST)],
          f"{what}: the record names the overlay's SRC and DEST{w}: {record['overlays']}")
    copied = {e["path"]: e for e in record["copied_up"]}
    for rel in ("append.txt", "short.txt", "trunc.txt", "mode.sh", "secret.txt", "lower.txt",
                "d/e/c.txt"):
        e = copied.get(rel)
        check(e is not None, f"{what}: the record lists the copy-up of {rel}{w}: "
              f"{sorted(copied)}")
        path = os.path.join(r.src, rel)
        st = os.lstat(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        got_id = (e["type"], e["mode"], e["size"], e["mtime_ns"], e["sha256"])
        want_id = ("file", st.st_mode, st.st_size, st.st_mtime_ns, digest)
        check(got_id == want_id, f"{what}: the record gives {rel}'s identity at copy-up (type, "
              f"mode, size, mtime, SHA-256){w}: {got_id} != {want_id}")
    check(not {"keep.txt", "d/keep/deep.txt", "d/b.txt"} & set(copied),
          f"{what}: files only read have no copy-up in the record{w}")
    whiteouts = {e["path"]: e["type"] for e in record["whiteouts"]}
    for rel, kind in (("del.txt", "file"), ("old.txt", "file"), ("over.txt", "file"),
                      ("d/e", "dir"), ("full", "dir"), ("emptydir", "dir"), ("lonely", "dir"),
                      ("gone", "dir"), ("gone/x/g", "file"), ("redo", "dir"),
                      ("redo/old", "file")):
        check(whiteouts.get(rel) == kind, f"{what}: the record has a whiteout of the {kind} "
              f"{rel}{w}: {whiteouts.get(rel)} in {sorted(whiteouts)}")
    check(not {"keep.txt", "d/b.txt", "append.txt", "d/keep"} & set(whiteouts),
          f"{what}: nothing kept is a whiteout{w}: {sorted(whiteouts)}")
    renames = [(e["from"], e["to"]) for e in record["renames"]]
    for pair in (("old.txt", "over.txt"), ("d/e", "d/f"), ("full", "emptydir"),
                 ("tmp.txt", "n/m/t.txt")):
        check(pair in renames, f"{what}: the record lists the rename {pair[0]} -> {pair[1]}"
              f"{w}: {renames}")


def check_second_run(r, what):
    """A later run over the same upper directory sees the session's final tree."""
    w = who(r.as_nobody)
    cmd = [PYTHON, "-S", "-c", TREE_LISTER]
    n = native(cmd, cwd=r.copy, as_nobody=r.as_nobody, env=ENV)
    p, _ = run(cmd, options=r.options(), cwd=r.top, as_nobody=r.as_nobody)
    want, got = json.loads(n.stdout or b"{}"), json.loads(p.stdout or b"{}")
    check(p.returncode == 0 and got == want, f"{what}: a second run over the same --upper sees "
          f"the copy's final tree{w}: {first_difference(want, got)} {p.stderr.decode()[-500:]}")


def git_tree(root):
    """Files and links as git keeps them: contents and the executable bit, no directories."""
    out = {}
    for rel, v in tree_of(root, skip={b".git"}).items():
        if v[0] == "file":
            out[rel] = ("file", 0o755 if v[1] & 0o100 else 0o644, v[2])
        elif v[0] == "link":
            out[rel] = v
    return out


def sh(cmd, cwd=None, input=None, what=""):
    p = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, timeout=300)
    check(p.returncode == 0, f"{what or cmd!r} works: {p.stderr.decode()[-2000:]}")
    return p.stdout


def git_clone_of(src):
    """A git repository holding SRC as committed, in a fresh directory."""
    d = os.path.join(scratch_dir(), "clone")
    copy_tree(src, d)
    sh(GIT + ["init", "-q", "."], cwd=d)
    sh(GIT + ["add", "-A"], cwd=d)
    sh(GIT + ["commit", "-qm", "src"], cwd=d)
    return d


def check_diff_applies(r, what):
    """`ptvfs diff UPPER` is a patch that git apply and patch -p1 apply to SRC."""
    w = who(r.as_nobody)
    d = ptvfs_cmd("diff", r.upper, as_nobody=r.as_nobody)
    check(d.returncode == 0 and d.stderr == b"", f"{what}: ptvfs diff exits 0 silently{w}: "
          f"{d.returncode} {d.stderr.decode()[-500:]}")
    patch = d.stdout
    check(b"diff --git a/del.txt b/del.txt\ndeleted file mode 100644\n" in patch,
          f"{what}: the patch deletes del.txt{w}")
    check(b"diff --git a/n/new.txt b/n/new.txt\nnew file mode 100644\n" in patch,
          f"{what}: the patch creates n/new.txt{w}")
    check(b"old mode 100644\nnew mode 100755\n" in patch, f"{what}: the patch makes mode.sh "
          f"executable{w}")
    check(b"a/keep.txt" not in patch and b"deep.txt" not in patch and b"a/d/b.txt" not in patch,
          f"{what}: files only read are not in the patch{w}")
    want = git_tree(r.copy)
    clone = git_clone_of(r.src)
    sh(GIT + ["apply", "-"], cwd=clone, input=patch, what=f"{what}: git apply of ptvfs diff")
    got = git_tree(clone)
    check(got == want, f"{what}: git apply of the diff inside a clone of SRC gives the "
          f"session's tree{w}: {first_difference(want, got)}")
    clone = git_clone_of(r.src)
    sh(["patch", "-p1", "-s", "--batch"], cwd=clone, input=patch,
       what=f"{what}: patch -p1 of ptvfs diff")
    got = git_tree(clone)
    check(got == want, f"{what}: patch -p1 of the diff inside a copy of SRC gives the "
          f"session's tree{w}: {first_difference(want, got)}")


def session(as_nobody, cmd, what, diff=True):
    r = Run(as_nobody)
    _, report = r.both(cmd, what)
    r.check_source_unchanged(what)
    check_upper(r, what)
    check_second_run(r, what)
    r.check_source_unchanged(f"{what}, after a second run")
    if diff:
        check_diff_applies(r, what)
        r.check_source_unchanged(f"{what}, after ptvfs diff")
    return r, report


def shell_session(as_nobody):
    r, report = session(as_nobody, ["sh", "-c", SHELL_SESSION], "a shell session")
    w = who(as_nobody)
    check(report is not None and report.get("upper") == r.upper,
          f"the report names the upper directory{w}: {report and report.get('upper')}")
    fs = entries(report)
    for rel in ("append.txt", "n/new.txt", "d/f/c.txt", "hl.txt", "secret.txt", "sym"):
        e = fs.get(f"{DEST}/{rel}", {})
        check("write" in e.get("access", []) and e.get("host") == f"{r.upper}/1/{rel}",
              f"the report lists {DEST}/{rel}, written, with its host in the upper directory{w}:"
              f" {e}")
    e = fs.get(f"{DEST}/keep.txt", {})
    check(e.get("host") == f"{r.src}/keep.txt", f"a file only read is reported with its host "
          f"in SRC{w}: {e}")
    leaked = sorted(p for p in fs if p.startswith(r.top))
    check(not leaked, f"no report path is a host path of SRC or the upper directory{w}: "
          f"{leaked[:5]}")


def python_session(as_nobody):
    session(as_nobody, [PYTHON, "-S", "-c", PY_SESSION], "a Python session")


def errors(as_nobody):
    """What fails natively (a directory not empty, a name that exists, a missing name, a file
    where a directory is wanted) fails in the overlay with the same errno and changes nothing
    the command sees; what succeeds natively succeeds. SRC stays as it was."""
    w = who(as_nobody)
    wrong = []
    for what, code in ERROR_CASES:
        r = Run(as_nobody)
        cmd = [PYTHON, "-S", "-c", ERROR_PROGRAM + "\n" + TREE_LISTER, code]
        n = native(cmd, cwd=r.copy, as_nobody=as_nobody, env=ENV)
        p, _ = run(cmd, options=r.options(), cwd=r.top, as_nobody=as_nobody)
        got, want = p.stdout.decode().split("\n", 1), n.stdout.decode().split("\n", 1)
        if got[0] != want[0]:
            wrong.append(f"{what}: {got[0] or p.stderr.decode()[-300:]} (natively {want[0]})")
        elif len(got) < 2 or json.loads(got[1]) != json.loads(want[1]):
            diff = first_difference(json.loads(want[1]), json.loads(got[1])) if len(got) > 1 \
                else p.stderr.decode()[-300:]
            wrong.append(f"{what}: {got[0]} as natively, but the tree it leaves differs: {diff}")
        after = tree_of(r.src, mtimes=True)
        if after != r.before:
            wrong.append(f"{what}: SRC changed: {first_difference(r.before, after)}")
    check(not wrong, f"calls give the errno they give natively and leave the tree the copy "
          f"has{w}:\n  " + "\n  ".join(wrong))


def big_file(as_nobody):
    """A 40 MB file appended to in the overlay: the upper copy is the native result, byte for
    byte, and SRC keeps its own."""
    w = who(as_nobody)
    top = os.path.realpath(scratch_dir())
    src = os.path.join(top, "src")
    data = random.Random(40).randbytes(40 * 1024 * 1024)
    write_file(os.path.join(src, "small.txt"), "small\n")
    with open(os.path.join(src, "big.bin"), "wb") as f:
        f.write(data)
    if as_nobody:
        give_to_nobody(src)
    copy = os.path.join(top, "copy")
    copy_tree(src, copy, as_nobody)
    upper = os.path.join(top, "upper")
    cmd = ["sh", "-c", "printf 'tail\\0end' >> big.bin && sha256sum big.bin && "
                       "dd if=big.bin bs=1M skip=39 status=none | sha256sum"]
    n = native(cmd, cwd=copy, as_nobody=as_nobody, env=ENV)
    p, _ = run(cmd, options=["--overlay", src, DEST, "--upper", upper, "--chdir", DEST],
               cwd=top, as_nobody=as_nobody)
    check(p.returncode == 0 and p.stdout == n.stdout, f"appending to a 40 MB file in the "
          f"overlay reads back as natively{w}: {p.stdout!r} vs {n.stdout!r} {p.stderr!r}")

    def digest(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    check(digest(os.path.join(upper, "1", "big.bin")) == digest(os.path.join(copy, "big.bin")),
          f"the upper copy of the 40 MB file is the native result byte for byte{w}")
    check(digest(os.path.join(src, "big.bin")) == hashlib.sha256(data).hexdigest(),
          f"the 40 MB source is unchanged{w}")
    check(upper_files(upper) == {b"big.bin"}, f"only the big file is in the upper directory"
          f"{w}: {upper_files(upper)}")


def refused_descriptor(as_nobody):
    """A descriptor of a source file opened before its copy-up: a change through it would
    reach SRC, so it is refused with EROFS and listed in the report's "refused"."""
    w = who(as_nobody)
    r = Run(as_nobody)
    code = ("import errno, os\n"
            "def t(name, f):\n"
            "    try:\n"
            "        f(); print(name, 'ok')\n"
            "    except OSError as e:\n"
            "        print(name, errno.errorcode[e.errno])\n"
            "fd = os.open('keep.txt', os.O_RDONLY)\n"
            "t('fchmod before copy-up', lambda: os.fchmod(fd, 0o600))\n"
            "t('futimens before copy-up', lambda: os.utime(fd, ns=(1, 1)))\n"
            "fd2 = os.open('append.txt', os.O_RDONLY)\n"
            "t('append by name', lambda: open('append.txt', 'a').write('x\\n'))\n"
            "t('fchmod after copy-up', lambda: os.fchmod(fd2, 0o600))\n"
            "print(oct(os.stat('keep.txt').st_mode), oct(os.stat('append.txt').st_mode))\n"
            "print(os.read(fd2, 100))\n")
    p, report = run([PYTHON, "-S", "-c", code], options=r.options(), cwd=r.top,
                    as_nobody=as_nobody)
    got = p.stdout.decode().splitlines()
    want = ["fchmod before copy-up EROFS", "futimens before copy-up EROFS", "append by name ok",
            "fchmod after copy-up EROFS", "0o100644 0o100644", "b'first line\\n'"]
    check(got == want, f"changes through a descriptor of a source file are refused with EROFS, "
          f"before and after the file's copy-up{w}:\n{p.stdout.decode()}{p.stderr.decode()}")
    r.check_source_unchanged("changes through descriptors of source files")
    refused = [e for e in (report or {}).get("refused", []) if "EROFS" in e.get("detail", "")]
    check([e["what"] for e in refused] == ["fchmod", "utimensat", "fchmod"],
          f"each refused change is listed in the report's refused{w}: "
          f"{(report or {}).get('refused')}")


def sections():
    fns = []
    for as_nobody in (False, True):
        for fn in (shell_session, python_session, errors, big_file, refused_descriptor):
            def section(fn=fn, as_nobody=as_nobody):
                fn(as_nobody)
            section.__name__ = fn.__name__ + ("_as_nobody" if as_nobody else "_as_root")
            fns.append(section)
    return fns


if __name__ == "__main__":
    run_sections(*sections())
