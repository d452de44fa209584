"""Listings a view changes (DESIGN.md §1, issue 3 item 4): a virtual directory, a directory with
a bind point added and a hidden name removed, a merged overlay directory. Each lists exactly the
names visible there, and a program's positions in it work as in any directory: telldir and
seekdir read the same entry again, rewinddir lists the same names, fchdir to it gives its view
path to getcwd, and a name opens relative to its descriptor. As root and as nobody."""
import os

from ptvfs_test import (absent_view_path, check, prog, run, run_sections, scratch_dir,
                        write_file)

LISTER = prog("dir_positions")


def listing(dir_, options, as_nobody, want_names, what):
    who = " (as nobody)" if as_nobody else ""
    p, _ = run([LISTER, dir_], options=options, cwd="/", as_nobody=as_nobody)
    want = "".join(n + "\n" for n in sorted(want_names))
    want += f"seek ok\ncwd {dir_}\nopenat ok\n"
    got = p.stdout.decode(errors="replace")
    check((p.returncode, got) == (0, want),
          f"{what}{who}: exactly its names, telldir/seekdir/rewinddir, fchdir and openat:\n"
          f"{got}{p.stderr.decode()}---\nwanted:\n{want}")


def virtual_dir(as_nobody):
    absent_view_path("/vtop")
    a, b = scratch_dir(), scratch_dir()
    write_file(os.path.join(a, "x"), "x\n")
    listing("/vtop", ["--ro-bind", a, "/vtop/a", "--ro-bind", b, "/vtop/b",
                      "--symlink", "a/x", "/vtop/l"], as_nobody,
            ["a", "b", "l"], "a virtual directory")


def changed_host_dir(as_nobody):
    top = scratch_dir()
    for name in ("keep", "secret", "other"):
        write_file(os.path.join(top, name), name + "\n")
    extra = scratch_dir()
    listing(top, ["--hide", os.path.join(top, "secret"),
                  "--bind", extra, os.path.join(top, "mnt")], as_nobody,
            ["keep", "other", "mnt"], "a host directory with a bind point added and a name hidden")


def overlay_dir(as_nobody):
    src = scratch_dir()
    for name in ("one", "two", "three"):
        write_file(os.path.join(src, name), name + "\n")
    absent_view_path("/ovl")
    upper = os.path.join(scratch_dir(), "upper")
    # A first run changes the directory; the second lists it merged.
    p, _ = run(["sh", "-c", "rm /ovl/two && echo 4 > /ovl/four"],
               options=["--overlay", src, "/ovl", "--upper", upper], cwd="/",
               as_nobody=as_nobody)
    check(p.returncode == 0, f"the overlay session runs: {p.stderr.decode()}")
    listing("/ovl", ["--overlay", src, "/ovl", "--upper", upper], as_nobody,
            ["four", "one", "three"], "an overlay directory with a file removed and one made")
    check(sorted(os.listdir(src)) == ["one", "three", "two"], "the overlay's source is unchanged")


def sections():
    out = []
    for fn in (virtual_dir, changed_host_dir, overlay_dir):
        for nobody in (False, True):
            def section(fn=fn, nobody=nobody):
                fn(nobody)
            section.__name__ = f"{fn.__name__}{'_as_nobody' if nobody else ''}"
            out.append(section)
    return out


run_sections(*sections())
