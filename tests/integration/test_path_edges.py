"""Paths that are easy to get wrong, each recorded by the file it stands for (DESIGN.md §2):
a chain of symbolic links (each link read), '..' after a symlinked directory (the kernel's
physical '..'), the /proc magic links to directories (/proc/self/cwd/F, /proc/self/fd/N/F,
/dev/fd/N/F), paths relative to a working directory deeper than PATH_MAX (reported as
unrecorded) or renamed under the
process, and a trailing slash on a name that cannot be created."""
import os
import shutil
import sys

from ptvfs_test import check, files, native, prog, run, run_sections, scratch_dir

BUSYBOX = "/bin/busybox"


def links_and_dotdot():
    d = os.path.realpath(scratch_dir())
    os.makedirs(os.path.join(d, "real", "sub"))
    for name in ("target", "real/x", "x"):
        with open(os.path.join(d, name), "w") as f:
            f.write(name + "\n")
    os.symlink("l2", os.path.join(d, "l1"))
    os.symlink(os.path.join(d, "target"), os.path.join(d, "l2"))
    os.symlink("real/sub", os.path.join(d, "lsub"))
    p, report = run([BUSYBOX, "cat", "l1", "lsub/../x"], cwd=d)
    check(p.stdout == b"target\nreal/x\n", f"cat through links works: {p.stdout} {p.stderr}")
    fs = files(report)
    for name in ("l1", "l2"):
        check("read" in fs.get(os.path.join(d, name), []),
              f"each link of a chain is recorded as read: {name} {fs.get(os.path.join(d, name))}")
    check("read" in fs.get(os.path.join(d, "target"), []), "the chain's target is read")
    check("read" in fs.get(os.path.join(d, "real/x"), []),
          "lsub/../x is real/x, as the kernel resolves '..' after a symlink")
    check("read" not in fs.get(os.path.join(d, "x"), []),
          "lsub/../x is not recorded as the lexical x")
    shutil.rmtree(d, ignore_errors=True)


def proc_magic_links():
    d = os.path.realpath(scratch_dir())
    os.mkdir(os.path.join(d, "sub"))
    for name in ("s", "sub/q", "sub/q2"):
        with open(os.path.join(d, name), "w") as f:
            f.write(name + "\n")
    p, report = run([BUSYBOX, "sh", "-c",
                     "exec 3<sub; cat /proc/self/cwd/s /proc/self/fd/3/q /dev/fd/3/q2"], cwd=d)
    check(p.returncode == 0 and p.stdout == b"s\nsub/q\nsub/q2\n",
          f"cat through /proc magic links works: {p.stdout} {p.stderr}")
    fs = files(report)
    for name, via in (("s", "/proc/self/cwd/s"), ("sub/q", "/proc/self/fd/3/q"),
                      ("sub/q2", "/dev/fd/3/q2")):
        path = os.path.join(d, name)
        check("read" in fs.get(path, []),
              f"the file read as {via} is recorded as {path}: {fs.get(path)}")
    bogus = [path for path in ("/s", "/q", "/q2") if path in fs]
    check(not bogus, f"no made-up path is recorded for a lookup through a magic link: {bogus}")
    shutil.rmtree(d, ignore_errors=True)


def deeper_than_path_max():
    d = os.path.realpath(scratch_dir())
    name, depth = "d" * 200, 25
    fd = os.open(d, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    with open(os.open("deepfile", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
        f.write("deep\n")
    os.close(fd)
    p, report = run([prog("deep_paths"), name, str(depth), "deepfile"], cwd=d)
    check(p.returncode == 0 and p.stdout == b"read deep\nstat deepfile.missing: No such file "
          b"or directory\ncreate deepfile.new: ok\n",
          f"a program deeper than PATH_MAX runs under ptvfs: {p.stdout} {p.stderr}")
    deep = os.path.join(d, *[name] * depth)
    check(len(deep) > 4096, "the directory is deeper than PATH_MAX")
    # ptvfs records absolute paths, at most PATH_MAX long: the accesses below are not
    # recorded, and the report must say so rather than leave a silent hole.
    unrecorded = report.get("unrecorded", [])
    check(any("PATH_MAX" in u.get("detail", "") and u.get("pid") for u in unrecorded),
          f"the accesses ptvfs could not record are listed in 'unrecorded': {unrecorded}")
    for leaf in ("deepfile", "deepfile.missing", "deepfile.new"):
        check(any(leaf in u.get("detail", "") for u in unrecorded),
              f"the unrecorded access to {leaf} is named: {unrecorded}")
    # shutil.rmtree copes with paths beyond PATH_MAX (it works with descriptors).
    shutil.rmtree(d, ignore_errors=True)


def renamed_cwd():
    """The working directory renamed under the process: relative paths follow it."""
    d = os.path.realpath(scratch_dir())
    os.mkdir(os.path.join(d, "a"))
    for name in ("x", "y"):
        with open(os.path.join(d, "a", name), "w") as f:
            f.write(name + "\n")
    code = ('import os; os.chdir("a"); open("x").read(); os.rename("../a", "../b"); '
            'print(open("y").read(), end="")')
    p, report = run([sys.executable, "-S", "-c", code], cwd=d)
    check(p.returncode == 0 and p.stdout == b"y\n", f"the program runs: {p.stderr.decode()}")
    fs = files(report)
    check("read" in fs.get(os.path.join(d, "b", "y"), []),
          f"after its directory a was renamed to b, the process's read of y is recorded as "
          f"b/y: {fs.get(os.path.join(d, 'b', 'y'))}")
    check(os.path.join(d, "a", "y") not in fs,
          f"no stale path a/y is recorded: {fs.get(os.path.join(d, 'a', 'y'))}")
    shutil.rmtree(d, ignore_errors=True)


def trailing_slash():
    d = os.path.realpath(scratch_dir())
    with open(os.path.join(d, "f"), "w") as f:
        f.write("f\n")
    script = "mkdir nd/; cat f/; (: > nf/); echo done"
    n = scratch_dir()
    with open(os.path.join(n, "f"), "w") as f:
        f.write("f\n")
    nat = native([BUSYBOX, "sh", "-c", script], cwd=n)
    shutil.rmtree(n, ignore_errors=True)
    p, report = run([BUSYBOX, "sh", "-c", script], cwd=d)
    check((p.returncode, p.stdout) == (nat.returncode, nat.stdout),
          f"trailing slashes behave as natively: {p.stdout} {nat.stdout}")
    fs = files(report)
    check(os.path.isdir(os.path.join(d, "nd")) and "write" in fs.get(os.path.join(d, "nd"), []),
          "mkdir nd/ makes nd and records it")
    check(not os.path.exists(os.path.join(d, "nf")), "'> nf/' creates nothing (EISDIR)")
    check("write" not in fs.get(os.path.join(d, "nf"), []),
          f"a creation that fails with EISDIR is not recorded as a write: "
          f"{fs.get(os.path.join(d, 'nf'))}")
    shutil.rmtree(d, ignore_errors=True)


run_sections(links_and_dotdot, proc_magic_links, deeper_than_path_max, renamed_cwd,
             trailing_slash)
