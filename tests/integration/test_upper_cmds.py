"""`ptvfs diff UPPER` and `ptvfs apply UPPER` (DESIGN.md §4) on upper directories made as the
tracer makes them: the files in UPPER/1 and the record written through the core's upper_*
functions (progs/upper_sim.c plays the tracer's part). Each session of changes is also done
natively on a copy of SRC; then the patch `ptvfs diff` prints, given to `git apply` (and
`patch -p1`) inside a clone of SRC, and `ptvfs apply` itself must both give that copy's tree.
apply refuses, naming the file and changing nothing, when a source changed since the run;
applying twice is harmless; a 20 MB file goes through byte for byte."""
import os
import random
import shutil
import stat
import subprocess
import time

from ptvfs_test import PTVFS, check, prog, run_sections, scratch_dir

SIM = prog("upper_sim")
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.autocrlf=false"]


def sh(cmd, cwd=None, input=None):
    p = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, timeout=300)
    check(p.returncode == 0, f"{cmd!r} works: {p.stderr[-2000:]!r}")
    return p.stdout


def ptvfs(*args, cwd=None):
    return subprocess.run([PTVFS, *args], cwd=cwd, capture_output=True, timeout=300)


def tree(root, exact_modes=False):
    """{relative path (bytes): what is there} below ROOT, .git left out. Files give their
    contents and mode (git's two modes unless EXACT_MODES), links their target, directories
    'dir'."""
    out = {}
    root = os.fsencode(root)
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not (dirpath == root and d == b".git")]
        for name in dirs + names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                with open(path, "rb") as f:
                    data = f.read()
                mode = st.st_mode & 0o7777 if exact_modes else (0o755 if st.st_mode & 0o100 else 0o644)
                out[rel] = ("file", data, mode)
    return out


def files_only(t):
    """Git keeps no directories: the files and links of a tree."""
    return {k: v for k, v in t.items() if v[0] != "dir"}


def describe_difference(a, b):
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            return f"{k!r}: {str(a.get(k))[:120]} != {str(b.get(k))[:120]}"
    return "none"


class Session:
    """A scratch git repo SRC, an UPPER over it, and EXPECTED: a copy of SRC where every change
    is made natively. Each method changes the view as the tracer would (copy-up, whiteout,
    rename in the record; the new contents in UPPER/1) and EXPECTED the plain way."""

    def __init__(self, files):
        top = scratch_dir()
        self.src = os.path.join(top, "src")
        self.upper = os.path.join(top, "upper")
        self.expected = os.path.join(top, "expected")
        os.mkdir(self.src)
        for rel, data in files.items():
            self._put(self.src, rel, data)
        sh(GIT + ["init", "-q", "."], cwd=self.src)
        sh(GIT + ["add", "-A"], cwd=self.src)
        sh(GIT + ["commit", "-qm", "start"], cwd=self.src)
        shutil.copytree(self.src, self.expected, symlinks=True)
        self.sim("overlay", self.src, "/home/user/workspace")
        self.u1 = os.path.join(self.upper, "1")
        self.gone = set()  # whiteouts

    @staticmethod
    def _put(root, rel, data, mode=None):
        path = os.path.join(os.fsencode(root), os.fsencode(rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(data, tuple):  # ("link", target)
            os.symlink(data[1], path)
            return
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        if mode is not None:
            os.chmod(path, mode)

    def sim(self, *steps):
        sh([SIM, self.upper, *steps])

    def up(self, rel):
        return os.path.join(os.fsencode(self.u1), os.fsencode(rel))

    def lower_visible(self, rel):
        rel = os.fsencode(rel)
        parts = rel.split(b"/")
        if any(b"/".join(parts[:i]) in self.gone for i in range(1, len(parts) + 1)):
            return False
        return os.path.lexists(os.path.join(os.fsencode(self.src), rel))

    def copy_up(self, rel):
        """What the tracer does before the first write to a lower file."""
        if os.path.lexists(self.up(rel)) or not self.lower_visible(rel):
            os.makedirs(os.path.dirname(self.up(rel)), exist_ok=True)
            return
        self.sim("copy-up", "1", rel)

    def write(self, rel, data, mode=None):
        self.copy_up(rel)
        path = self.up(rel)
        if os.path.lexists(path) and os.path.islink(path):
            os.unlink(path)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        if mode is not None:
            os.chmod(path, mode)
        self._native(rel, data, mode)

    def _native(self, rel, data, mode):
        path = os.path.join(os.fsencode(self.expected), os.fsencode(rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.islink(path):
            os.unlink(path)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        if mode is not None:
            os.chmod(path, mode)

    def append(self, rel, data):
        self.copy_up(rel)
        with open(self.up(rel), "ab") as f:
            f.write(data)
        with open(os.path.join(os.fsencode(self.expected), os.fsencode(rel)), "ab") as f:
            f.write(data)

    def chmod(self, rel, mode):
        self.copy_up(rel)
        os.chmod(self.up(rel), mode)
        os.chmod(os.path.join(os.fsencode(self.expected), os.fsencode(rel)), mode)

    def symlink(self, target, rel):
        if self.lower_visible(rel):
            self.delete(rel)
        os.makedirs(os.path.dirname(self.up(rel)), exist_ok=True)
        if os.path.lexists(self.up(rel)):
            os.unlink(self.up(rel))
        os.symlink(target, self.up(rel))
        path = os.path.join(os.fsencode(self.expected), os.fsencode(rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def mkdir(self, rel):
        os.makedirs(self.up(rel), exist_ok=True)
        os.makedirs(os.path.join(os.fsencode(self.expected), os.fsencode(rel)), exist_ok=True)

    def delete(self, rel):
        """unlink, rmdir or rm -rf: a whiteout when the lower has it; the upper copy goes."""
        native = os.path.join(os.fsencode(self.expected), os.fsencode(rel))
        if os.path.isdir(native) and not os.path.islink(native):
            shutil.rmtree(native)
        elif os.path.lexists(native):
            os.unlink(native)
        if self.lower_visible(rel):
            self.sim("whiteout", "1", rel)
            self.gone.add(os.fsencode(rel))
        path = self.up(rel)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)

    def rename(self, old, new):
        """rename(2) of a file or a whole directory: everything copied up, moved in the upper,
        the source a whiteout, the rename in the record."""
        src_path = os.path.join(os.fsencode(self.src), os.fsencode(old))
        if self.lower_visible(old) and os.path.isdir(src_path) and not os.path.islink(src_path):
            for dirpath, dirs, names in os.walk(src_path):
                for name in names:
                    rel = os.path.relpath(os.path.join(dirpath, name), os.fsencode(self.src))
                    self.copy_up(rel)
        else:
            self.copy_up(old)
        if self.lower_visible(new):
            # What the rename replaces is gone: a whiteout, as the tracer notes it.
            self.sim("whiteout", "1", new)
            self.gone.add(os.fsencode(new))
        new_up = self.up(new)
        os.makedirs(os.path.dirname(new_up), exist_ok=True)
        if os.path.lexists(new_up) and not os.path.isdir(new_up):
            os.unlink(new_up)
        os.rename(self.up(old), new_up)
        if self.lower_visible(old):
            self.sim("rename", "1", old, new, "whiteout", "1", old)
            self.gone.add(os.fsencode(old))
        else:
            self.sim("rename", "1", old, new)
        native_new = os.path.join(os.fsencode(self.expected), os.fsencode(new))
        os.makedirs(os.path.dirname(native_new), exist_ok=True)
        os.rename(os.path.join(os.fsencode(self.expected), os.fsencode(old)), native_new)

    def diff(self):
        p = ptvfs("diff", self.upper)
        check(p.returncode == 0, f"ptvfs diff exits 0: {p.stderr!r}")
        check(p.stderr == b"", f"ptvfs diff prints nothing on stderr: {p.stderr!r}")
        return p.stdout

    def clone(self):
        d = os.path.join(scratch_dir(), "clone")
        sh(GIT + ["clone", "-q", self.src, d])
        return d


def check_git_apply(s, patch, what, with_patch_p1=False):
    clone = s.clone()
    sh(GIT + ["apply", "--check", "-"], cwd=clone, input=patch)
    sh(GIT + ["apply", "-"], cwd=clone, input=patch)
    want, got = files_only(tree(s.expected)), files_only(tree(clone))
    check(got == want, f"{what}: git apply inside SRC gives the view "
          f"(first difference: {describe_difference(want, got)})")
    if with_patch_p1:
        clone = s.clone()
        sh(["patch", "-p1", "-s", "--batch"], cwd=clone, input=patch)
        got = files_only(tree(clone))
        check(got == want, f"{what}: patch -p1 inside SRC gives the view "
              f"(first difference: {describe_difference(want, got)})")


def snapshot(root):
    """Contents, modes and mtimes of everything below ROOT: what "changes nothing" compares."""
    out = tree(root, exact_modes=True)
    for rel in list(out):
        out[rel] = out[rel] + (os.lstat(os.path.join(os.fsencode(root), rel)).st_mtime_ns,)
    return out


def session_of_every_kind():
    text = "".join(f"line {i}\n" for i in range(1, 41))
    s = Session({
        "text.txt": text,
        "head.txt": "first\nsecond\nthird\n",
        "noeol.txt": "a\nb\nc",
        "grow.txt": "short\n",
        "empty-me.txt": "not for long\n",
        "gone-empty": "",
        "gone.txt": "bye\n",
        "tool.sh": "#!/bin/sh\necho hi\n",
        "moved.txt": "moves as it is\n" * 5,
        "moved-and-changed.txt": "moves and changes\n" * 5,
        "logo.bin": bytes(range(256)) * 8,
        "link": ("link", "text.txt"),
        "becomes-link.txt": "a file first\n",
        "old dir/a.c": "int a;\n",
        "old dir/sub/b.c": "int b;\n",
        "doomed/x": "x\n",
        "doomed/deeper/y": "y\n",
        "pkg/mod/one.py": "one = 1\n",
        "pkg/mod/two.py": "two = 2\n",
        "name with spaces.txt": "spaces\n",
        "caf\u00e9.txt": "caf\u00e9\n",
    })
    bad = b"bad\xffname.txt"
    with open(os.path.join(os.fsencode(s.src), bad), "wb") as f:
        f.write(b"not utf-8 name\n")
    with open(os.path.join(os.fsencode(s.expected), bad), "wb") as f:
        f.write(b"not utf-8 name\n")
    sh(GIT + ["add", "-A"], cwd=s.src)
    sh(GIT + ["commit", "-qm", "bad name"], cwd=s.src)

    s.write("text.txt", text.replace("line 20\n", "LINE TWENTY\n").replace("line 2\n", "")
            + "line 41\n")
    s.write("head.txt", "zeroth\nfirst\nsecond\nthird\n")
    s.write("noeol.txt", "a\nB\nc")
    s.append("grow.txt", b"longer\nno newline at the end")
    s.write("empty-me.txt", "")
    s.delete("gone-empty")
    s.delete("gone.txt")
    s.chmod("tool.sh", 0o755)
    s.rename("moved.txt", "moved/here.txt")
    s.rename("moved-and-changed.txt", "changed.txt")
    s.append("changed.txt", b"and more\n")
    s.write("logo.bin", bytes(range(256)) * 7 + b"\0tail")
    s.write("new.bin", b"\0\1\2 new binary\xff" * 100)
    s.symlink("head.txt", "link")
    s.symlink("text.txt", "becomes-link.txt")
    s.symlink("../text.txt", "links/up")
    s.rename("old dir", "new dir")
    s.write("new dir/a.c", "int a = 1;\n")
    s.delete("doomed")
    s.write("brand/new/deep/file.txt", "hello\n")
    s.write("brand/empty.txt", "")
    s.write("brand/run.sh", "#!/bin/sh\n", mode=0o755)
    s.mkdir("brand/empty-dir")
    s.delete("pkg/mod/one.py")
    s.write("name with spaces.txt", "more spaces\n")
    s.write("caf\u00e9.txt", "th\u00e9\n")
    s.write(bad, b"changed, name still not utf-8\n")
    s.write(b"new\x80name", b"new file, name not utf-8\n")

    patch = s.diff()
    for marker in [b"similarity index 100%\nrename from moved.txt\nrename to moved/here.txt\n",
                   b"rename from old dir/sub/b.c\nrename to new dir/sub/b.c\n",
                   b"diff --git a/tool.sh b/tool.sh\nold mode 100644\nnew mode 100755\n",
                   b"GIT binary patch\nliteral 1797\n",
                   b"new file mode 120000\n",
                   b"deleted file mode 100644\nindex e69de29..0000000\n",
                   b"diff --git a/doomed/deeper/y b/doomed/deeper/y\ndeleted file mode 100644\n",
                   b"--- a/name with spaces.txt\t\n",
                   b'diff --git "a/bad\\377name.txt" "b/bad\\377name.txt"\n',
                   b"\\ No newline at end of file\n",
                   b"new file mode 100755\n"]:
        check(marker in patch, f"the patch holds {marker!r}")
    check(b"moved-and-changed.txt\n+++ /dev/null" in patch,
          "a renamed file whose contents changed is a deletion and a new file")
    check(b"empty-dir" not in patch, "an empty directory is not in the patch (git has none)")
    check(b"pkg/mod/two.py" not in patch and b"a/link b/link" in patch,
          "only what changed is in the patch")
    check(patch == s.diff(), "the patch is the same each time (sorted, deterministic)")
    names = [line.split(b" b/", 1)[1] for line in patch.split(b"\n")
             if line.startswith(b"diff --git a/") and b'"' not in line]
    check(names == sorted(names), f"the patch is in path order: {names}")

    check_git_apply(s, patch, "a session of every kind of change")

    before = snapshot(s.src)
    p = ptvfs("apply", s.upper)
    check(p.returncode == 0 and p.stderr == b"", f"ptvfs apply exits 0 silently: {p.stderr!r}")
    want, got = tree(s.expected, exact_modes=True), tree(s.src, exact_modes=True)
    check(got == want, f"ptvfs apply gives SRC the view, directories and modes included "
          f"(first difference: {describe_difference(want, got)})")
    check(not any(b".ptvfs-apply" in k for k in got), "apply leaves no temporary file")
    check(before != snapshot(s.src), "apply changed SRC")

    after = snapshot(s.src)
    time.sleep(0.02)
    p = ptvfs("apply", s.upper)
    check(p.returncode == 0 and p.stderr == b"", f"applying twice is harmless: {p.stderr!r}")
    check(snapshot(s.src) == after, "the second apply changes nothing (not even an mtime)")
    check(s.diff() == b"", "after apply, diff shows nothing left to apply")
    check(os.path.exists(os.path.join(s.upper, "ptvfs-upper.json")), "the record stays")


def replacements_and_odd_names():
    s = Session({
        "opaque/keep-name.txt": "lower\n",
        "opaque/lower-only.txt": "lower only\n",
        "f2d": "a file that becomes a directory\n",
        "d2f/inner.txt": "a directory that becomes a file\n",
        "d2f/deeper/x": "x\n",
        "over/a.txt": "moves over b\n",
        "over/b.txt": "is replaced\n",
        "chain/a": "a, then b, then c\n",
        'we"ird\tname\\.txt': "odd\n",
        "sub/.gitignore": "*.o\n",
        ".git-not-really/x": "x\n",
    })
    s.delete("opaque")
    s.write("opaque/keep-name.txt", "upper\n")
    s.write("opaque/upper-only.txt", "upper only\n")
    s.delete("f2d")
    s.write("f2d/inner.txt", "now inside\n")
    s.delete("d2f")
    s.write("d2f", "now a file\n")
    s.rename("over/a.txt", "over/b.txt")
    s.rename("chain/a", "chain/b")
    s.rename("chain/b", "chain/c")
    s.write('we"ird\tname\\.txt', "odder\n")
    s.write("new\nline", "a newline in the name\n")
    s.write("sub/.gitignore", "*.o\n*.a\n")
    s.write(".git-not-really/x", "y\n")
    # What git itself writes in the view (git status refreshing the index) is no change.
    s.write(".git/index-like", "git's own\n")
    s.write("sub/.git/HEAD", "ref: refs/heads/x\n")
    for rel in [".git/index-like", "sub/.git/HEAD"]:
        os.unlink(os.path.join(s.expected, rel))
    os.rmdir(os.path.join(s.expected, "sub/.git"))

    p = ptvfs("diff", s.upper)
    check(p.returncode == 0, f"diff of replacements: {p.stderr!r}")
    check(p.stderr == f"ptvfs: diff: 2 changes below .git in {s.u1} left out (git's own data)\n"
          .encode(), f"changes below .git are left out, in one line: {p.stderr!r}")
    patch = p.stdout
    check(b"rename from chain/a\nrename to chain/c\n" in patch, "a chain of renames is one rename")
    check(b"opaque/lower-only.txt\ndeleted file" in patch,
          "a directory deleted and made again hides what SRC has in it")
    check(b'diff --git "a/we\\"ird\\tname\\\\.txt" "b/we\\"ird\\tname\\\\.txt"\n' in patch,
          "quotes, tabs and backslashes in names are quoted as git quotes them")
    check(b"\"b/new\\nline\"" in patch, "a newline in a name is quoted")
    check(b".git-not-really/x" in patch and b"sub/.gitignore" in patch,
          "only a component named .git is left out")
    check_git_apply(s, patch, "replaced files and directories, odd names")
    p = ptvfs("apply", s.upper)
    check(p.returncode == 0, f"apply of replacements: {p.stderr!r}")
    want, got = tree(s.expected, exact_modes=True), tree(s.src, exact_modes=True)
    check(got == want, f"apply makes files directories and back "
          f"({describe_difference(want, got)})")
    check(not os.path.exists(os.path.join(s.src, "sub/.git")), "apply leaves .git alone too")


def patch_p1_on_text():
    s = Session({"a.txt": "one\ntwo\nthree\n", "b/c.txt": "c\n", "d.txt": "d\n"})
    s.write("a.txt", "one\n2\nthree\n")
    s.write("b/new.txt", "new\n")
    s.delete("d.txt")
    s.rename("b/c.txt", "c.txt")
    check_git_apply(s, s.diff(), "text changes", with_patch_p1=True)


def refusals():
    files = {"mod.txt": "mod\n", "del.txt": "del\n", "dir/x": "x\n", "keep.txt": "keep\n",
             "ren.txt": "ren\n"}

    def fresh():
        s = Session(files)
        s.write("mod.txt", "modified\n")
        s.delete("del.txt")
        s.delete("dir")
        s.write("new.txt", "new\n")
        s.rename("ren.txt", "renamed.txt")
        return s

    cases = [
        ("a modified source changed", lambda src: open(os.path.join(src, "mod.txt"), "a").write("x"),
         "mod.txt", "changed since the run"),
        ("a deleted source changed", lambda src: open(os.path.join(src, "del.txt"), "w").write("z\n"),
         "del.txt", "changed since the run"),
        ("a new file's path now taken", lambda src: open(os.path.join(src, "new.txt"), "w").write("other\n"),
         "new.txt", "created since the run"),
        ("a file added below a deleted directory", lambda src: open(os.path.join(src, "dir/y"), "w").write("y\n"),
         "dir/y", "created since the run"),
        ("a renamed source changed", lambda src: os.chmod(os.path.join(src, "ren.txt"), 0o600),
         "ren.txt", "changed since the run"),
        ("a modified source deleted", lambda src: os.unlink(os.path.join(src, "mod.txt")),
         "mod.txt", "deleted since the run"),
    ]
    for what, change, rel, why in cases:
        s = fresh()
        change(s.src)
        before = snapshot(s.src)
        p = ptvfs("apply", s.upper)
        check(p.returncode == 1, f"{what}: apply refuses with exit 1 (got {p.returncode})")
        line = f"ptvfs: apply: {s.src}/{rel}: {why}\n".encode()
        check(line in p.stderr, f"{what}: apply names the file ({line!r} in {p.stderr!r})")
        check(p.stderr.count(b"\n") == 2, f"{what}: one line per changed file, one for the refusal: "
              f"{p.stderr!r}")
        check(snapshot(s.src) == before, f"{what}: apply changes nothing")

    s = fresh()
    for rel in ["mod.txt", "del.txt"]:
        path = os.path.join(s.src, rel)
        with open(path) as f:
            data = f.read()
        os.unlink(path)
        with open(path, "w") as f:
            f.write(data)
    p = ptvfs("apply", s.upper)
    check(p.returncode == 0, f"sources rewritten with the same bytes are no change: {p.stderr!r}")
    check(tree(s.src) == tree(s.expected), "and apply then applies")

    s = fresh()
    with open(os.path.join(s.src, "new.txt"), "w") as f:
        f.write("new\n")
    p = ptvfs("apply", s.upper)
    check(p.returncode == 0, f"a new file already in SRC with the same contents is skipped: {p.stderr!r}")
    check(tree(s.src) == tree(s.expected), "and the rest applied")


def big_files():
    lines = "".join(f"{i:09d} the quick brown fox jumps over the lazy dog\n" for i in range(400000))
    check(len(lines) > 20_000_000, "the text file is over 20 MB")
    rng = random.Random(7)
    blob = rng.randbytes(20 * 1024 * 1024)
    s = Session({"big.txt": lines, "big.bin": blob})
    s.write("big.txt", lines.replace("000200000 the quick", "000200000 THE QUICK"))
    s.write("big.bin", blob[:10_000_000] + b"\0changed\0" + blob[10_000_009:])
    s.write("new-big.bin", blob[::-1])
    t = time.monotonic()
    patch = s.diff()
    took = time.monotonic() - t
    check(took < 30, f"diff of three 20 MB files takes {took:.1f}s (< 30 s)")
    check(patch.count(b"\n@@ ") == 1 and b"THE QUICK" in patch, "one hunk for the one changed line")
    check_git_apply(s, patch, "20 MB files")
    p = ptvfs("apply", s.upper)
    check(p.returncode == 0, f"apply of 20 MB files: {p.stderr!r}")
    for name in ["big.txt", "big.bin", "new-big.bin"]:
        with open(os.path.join(s.src, name), "rb") as a, open(os.path.join(s.expected, name), "rb") as b:
            check(a.read() == b.read(), f"{name} is copied back byte for byte")


def interrupted_apply():
    """apply killed at any moment leaves every file whole, old or new; apply again finishes."""
    rng = random.Random(3)
    old = {f"d{i % 4}/f{i:02d}.bin": rng.randbytes(3 * 1024 * 1024) for i in range(24)}
    new = {rel: data[::-1] for rel, data in old.items()}
    killed = 0
    for after in [1, 5, 12]:
        s = Session(old)
        for rel, data in new.items():
            s.write(rel, data)
        s.delete("d3")
        inodes = {rel: os.stat(os.path.join(s.src, rel)).st_ino for rel in old}
        p = subprocess.Popen([PTVFS, "apply", s.upper], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # Killed once AFTER files are replaced (each a new inode, renamed over the old one).
        replaced = 0
        while p.poll() is None and replaced < after:
            replaced = sum(1 for rel in old if os.path.exists(os.path.join(s.src, rel)) and
                           os.stat(os.path.join(s.src, rel)).st_ino != inodes[rel])
        p.kill()
        p.wait()
        killed += p.returncode != 0
        delay = f"{after} files"
        for rel in old:
            path = os.path.join(s.src, rel)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    data = f.read()
                check(data in (old[rel], new[rel]), f"killed after {delay}: {rel} is whole")
        p = ptvfs("apply", s.upper)
        check(p.returncode == 0, f"apply again after a kill after {delay} finishes: {p.stderr!r}")
        got = {k: v for k, v in tree(s.src).items() if b".ptvfs-apply." not in k}
        check(got == tree(s.expected), f"and SRC is the view ({describe_difference(tree(s.expected), got)})")
    check(killed > 0, "apply was killed half-way at least once (not done before the kill)")


def random_text_diffs():
    """Many files with random edits in one patch: every hunk must apply exactly."""
    rng = random.Random(42)
    words = ["alpha", "beta", "gamma", "delta", "", "{", "}", "return 0;"]
    files = {}
    for i in range(150):
        n = rng.choice([0, 1, 2, 5, 30, 200])
        files[f"f{i:03d}.txt"] = "".join(rng.choice(words) + "\n" for _ in range(n))
        if rng.random() < 0.2 and files[f"f{i:03d}.txt"]:
            files[f"f{i:03d}.txt"] = files[f"f{i:03d}.txt"][:-1]
    s = Session(files)
    for name, text in files.items():
        lines = text.split("\n")
        for _ in range(rng.choice([1, 2, 5, 20])):
            op = rng.random()
            pos = rng.randrange(len(lines) + 1)
            if op < 0.4 and lines:
                del lines[min(pos, len(lines) - 1)]
            elif op < 0.7:
                lines.insert(pos, rng.choice(words))
            elif lines:
                lines[min(pos, len(lines) - 1)] = rng.choice(words) + "!"
        new = "\n".join(lines)
        if new != text:
            s.write(name, new)
    check_git_apply(s, s.diff(), "150 randomly edited files", with_patch_p1=True)
    # Two files with nothing in common: the diff is all of one and all of the other.
    s = Session({"a": "".join(f"{i}\n" for i in range(3000))})
    s.write("a", "".join(f"x{i}\n" for i in range(3000)))
    check_git_apply(s, s.diff(), "a file replaced by different lines")


def several_overlays():
    a = Session({"one.txt": "one\n"})
    b_src = os.path.join(scratch_dir(), "b")
    os.mkdir(b_src)
    with open(os.path.join(b_src, "two.txt"), "w") as f:
        f.write("two\n")
    a.write("one.txt", "ONE\n")
    a.sim("overlay", b_src, "/b", "copy-up", "2", "two.txt")
    with open(os.path.join(a.upper, "2", "two.txt"), "w") as f:
        f.write("TWO\n")
    p = ptvfs("diff", a.upper)
    check(p.returncode == 0, f"diff of two overlays: {p.stderr!r}")
    check(p.stdout.startswith(f"# ptvfs overlay 1: {a.src}\n".encode()) and
          f"\n# ptvfs overlay 2: {b_src}\n".encode() in p.stdout,
          "with several overlays each part starts with a line naming its SRC")
    p2 = ptvfs("diff", a.upper, b_src)
    check(p2.returncode == 0 and p2.stdout.startswith(b"diff --git a/two.txt b/two.txt\n") and
          b"one.txt" not in p2.stdout, "diff UPPER SRC prints that overlay's part alone")
    check(ptvfs("diff", a.upper, "2").stdout == p2.stdout, "the overlay may be named by its index")
    p = ptvfs("apply", a.upper)
    check(p.returncode == 0, f"apply of two overlays: {p.stderr!r}")
    check(open(os.path.join(a.src, "one.txt")).read() == "ONE\n" and
          open(os.path.join(b_src, "two.txt")).read() == "TWO\n", "each SRC gets its changes")


def bad_input():
    d = scratch_dir()
    for args, what in [(["diff"], "diff without UPPER"), (["diff", d], "diff of a directory without record"),
                       (["apply", os.path.join(d, "missing")], "apply of a missing UPPER"),
                       (["diff", d, "x", "y"], "diff with too many arguments")]:
        p = ptvfs(*args)
        check(p.returncode == 125 and p.stdout == b"" and p.stderr.count(b"\n") == 1,
              f"{what}: one line and exit 125 (got {p.returncode}, {p.stderr!r})")
    check(not os.path.exists(os.path.join(d, "missing")), "apply does not make a missing UPPER")
    s = Session({"a": "a\n"})
    check(s.diff() == b"", "no changes: empty output, exit 0")
    check(ptvfs("apply", s.upper).returncode == 0, "no changes: apply does nothing, exit 0")


def end_to_end():
    """The whole path: the tracer's copy-up during a run, then diff and apply."""
    s = Session({"a.txt": "one\ntwo\n", "b.txt": "bee\n", "d/c.txt": "see\n"})
    script = ("cd /home/user/workspace && echo three >> a.txt && rm b.txt && mv d/c.txt c.txt "
              "&& mkdir -p n && echo new > n/new.txt && chmod +x a.txt")
    p = subprocess.run([PTVFS, "--overlay", s.src, "/home/user/workspace", "--upper", s.upper,
                        "--", "sh", "-c", script], capture_output=True, timeout=60)
    if p.returncode != 0 and b"overlay" in p.stderr:
        print(f"end-to-end: skipped, the tracer's overlay is not ready: {p.stderr!r}")
        return
    check(p.returncode == 0, f"the session runs in the overlay: {p.stderr!r}")
    check(open(os.path.join(s.src, "a.txt")).read() == "one\ntwo\n", "SRC untouched by the run")
    os.chmod(os.path.join(s.expected, "a.txt"), 0o755)
    with open(os.path.join(s.expected, "a.txt"), "a") as f:
        f.write("three\n")
    os.unlink(os.path.join(s.expected, "b.txt"))
    os.rename(os.path.join(s.expected, "d/c.txt"), os.path.join(s.expected, "c.txt"))
    os.makedirs(os.path.join(s.expected, "n"))
    with open(os.path.join(s.expected, "n/new.txt"), "w") as f:
        f.write("new\n")
    check_git_apply(s, s.diff(), "a shell session under --overlay")
    p = ptvfs("apply", s.upper)
    check(p.returncode == 0, f"apply after a real run: {p.stderr!r}")
    want, got = tree(s.expected), tree(s.src)
    check(got == want, f"apply gives SRC the session's result ({describe_difference(want, got)})")


if __name__ == "__main__":
    run_sections(session_of_every_kind, replacements_and_odd_names, patch_p1_on_text, refusals, big_files, interrupted_apply, random_text_diffs,
                 several_overlays, bad_input, end_to_end)
