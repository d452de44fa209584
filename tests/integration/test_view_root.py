"""A static root file system given with --root (DESIGN.md §1): a tiny tree holding only
Debian's busybox-static and a few applet links. Under `ptvfs --root R` the command sees R's
entries plus the host's /dev, /proc and /sys and nothing else of the host; R is read-only
(EROFS); it starts in the same directory when R has it, else in "/"; a --tmpfs /tmp in it is
writable and gone after the run; a --bind of a scratch directory is writable and the changes land
on the host. The report names view paths with their host paths. As root and as nobody."""
import os
import shutil

from ptvfs_test import (check, entries, give_to_nobody, host_of, run, run_sections, scratch_dir,
                        write_file)

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "ls", "cat", "pwd", "echo", "mkdir")
ONLY_IN_ROOT = "/etc/only-in-root"


def make_root():
    """R: bin/busybox and its applet links, etc/ with a file the host has not and an
    os-release that hides the host's, data/ with one file. Nothing else."""
    r = os.path.realpath(scratch_dir())
    os.chmod(r, 0o755)
    os.makedirs(os.path.join(r, "bin"))
    shutil.copy2(BUSYBOX, os.path.join(r, "bin", "busybox"))
    for applet in APPLETS:
        os.symlink("busybox", os.path.join(r, "bin", applet))
    write_file(os.path.join(r, ONLY_IN_ROOT[1:]), "from the root\n")
    write_file(os.path.join(r, "etc", "os-release"), "NAME=tiny root\n")
    write_file(os.path.join(r, "data", "file"), "data\n")
    check(not os.path.exists(ONLY_IN_ROOT), f"{ONLY_IN_ROOT} is not on the host")
    return r


def tree(top):
    return sorted(os.path.relpath(os.path.join(d, n), top)
                  for d, ds, ns in os.walk(top) for n in ds + ns)


def in_root(r, script, options=(), cwd=None, as_nobody=False):
    """`ptvfs --root R OPTIONS -- /bin/sh -c SCRIPT`: /bin/sh is R's busybox."""
    # The default starting directory is one R does not have.
    cwd = cwd or scratch_dir()
    return run(["/bin/sh", "-c", script], options=["--root", r, *options], cwd=cwd,
               as_nobody=as_nobody)


def out(p):
    return p.stdout.decode(errors="replace")


def err(p):
    return p.stderr.decode(errors="replace")


def sees_only_the_root(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    r = make_root()
    p, report = in_root(r, "ls -1 /; echo pwd=$(pwd); cat /etc/only-in-root /etc/os-release",
                        as_nobody=as_nobody)
    check(p.returncode == 0, f"busybox sh runs in a --root view{who}: exit {p.returncode}, "
          f"{err(p)}")
    lines = out(p).splitlines()
    listed = set(lines[:next((i for i, x in enumerate(lines) if x.startswith("pwd=")), 0)])
    check(listed == {"bin", "etc", "data", "dev", "proc", "sys"},
          f"ls / lists R's entries plus dev, proc and sys, nothing of the host's /{who}: "
          f"{sorted(listed)}")
    check("pwd=/" in lines, f"a command started where R has no such directory starts in /{who}: "
          f"{out(p)}")
    check("from the root" in lines, f"cat of a file only in R works{who}: {out(p)} {err(p)}")
    check("NAME=tiny root" in lines and not any("Debian" in x for x in lines),
          f"R's /etc/os-release is read, not the host's{who}: {out(p)}")
    check(report is not None, f"a report is written{who}")
    fs = entries(report)
    e = fs.get(ONLY_IN_ROOT, {})
    check("read" in e.get("access", []) and e.get("host") == r + ONLY_IN_ROOT,
          f"the report names the file read by its view path, with its host path in R{who}: {e}")
    busybox = fs.get("/bin/busybox", {})
    check("exec" in busybox.get("access", []) and busybox.get("host") == r + "/bin/busybox",
          f"/bin/sh runs R's busybox (the report's exec of /bin/busybox is R's){who}: "
          f"{busybox} {sorted(p for p, x in fs.items() if 'exec' in x['access'])}")
    leaked = sorted(p for p in fs if p.startswith(r))
    check(not leaked, f"no report path is a host path in R (paths are view paths){who}: {leaked}")
    check(report["exit"] == {"code": 0}, f"the report's exit is the command's{who}")

    p, report = in_root(r, "echo pwd=$(pwd); cat only-in-root", cwd="/etc", as_nobody=as_nobody)
    check(out(p) == "pwd=/etc\nfrom the root\n",
          f"a command started in /etc starts in R's /etc (the same path, a directory in the "
          f"view){who}: {out(p)} {err(p)}")


def host_is_hidden(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    r = make_root()
    hidden = ["/etc/passwd", "/usr/bin/env"]
    if os.path.exists("/etc/hostname"):
        hidden.append("/etc/hostname")
    for path in hidden:
        check(os.path.exists(path), f"{path} exists on the host")
        p, _ = in_root(r, f"cat {path}; echo rc=$?", as_nobody=as_nobody)
        check("No such file or directory" in err(p) and out(p).endswith("rc=1\n"),
              f"the host's {path} is not visible in a --root view that has none{who}: "
              f"{out(p)} {err(p)}")
    p, _ = in_root(r, "ls /usr; echo rc=$?", as_nobody=as_nobody)
    check("No such file or directory" in err(p) and out(p).endswith("rc=1\n"),
          f"the host's /usr is not visible in a --root view{who}: {out(p)} {err(p)}")


def root_is_read_only(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    r = make_root()
    if as_nobody:
        give_to_nobody(r)  # natively nobody could write R: EROFS must come from the view
    before = tree(r)
    for script, what in (("echo x > /etc/new", "creating a file in R"),
                         ("echo x >> /etc/only-in-root", "appending to a file of R"),
                         ("mkdir /data/sub", "mkdir in R"),
                         ("mkdir /newdir", "mkdir at R's top")):
        p, report = in_root(r, script + "; echo rc=$?", as_nobody=as_nobody)
        check("Read-only file system" in err(p) and not out(p).endswith("rc=0\n"),
              f"{what} fails with 'Read-only file system'{who}: {out(p)} {err(p)}")
    check(tree(r) == before, f"R is unchanged on the host{who}: {tree(r)}")
    check(open(os.path.join(r, ONLY_IN_ROOT[1:])).read() == "from the root\n",
          f"R's file is unchanged on the host{who}")


def tmpfs_in_root(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    r = make_root()
    p, report = in_root(r, "echo t > /tmp/t && mkdir /tmp/d && cat /tmp/t && ls -1 /tmp && "
                        "ls -1 /", options=["--tmpfs", "/tmp"], as_nobody=as_nobody)
    check(p.returncode == 0 and out(p).startswith("t\nd\nt\n"),
          f"a --tmpfs /tmp in a --root view is writable{who}: {out(p)} {err(p)}")
    check("tmp" in out(p).splitlines()[3:], f"ls / shows the tmpfs's tmp{who}: {out(p)}")
    check(not os.path.exists(os.path.join(r, "tmp")), f"nothing was made in R for it{who}")
    check(report is not None, f"a report is written{who}")
    host = host_of(report, "/tmp/t")
    check(host not in (None, "/tmp/t"),
          f"the report gives the tmpfs file's host path, somewhere private{who}: {host}")
    check(not os.path.exists(host), f"the tmpfs's file is gone after the run{who}: {host}")
    check(not os.path.exists(os.path.dirname(host)),
          f"the tmpfs's host directory is gone after the run{who}: {os.path.dirname(host)}")
    p, _ = in_root(r, "ls -A /tmp; echo rc=$?", options=["--tmpfs", "/tmp"], as_nobody=as_nobody)
    check(out(p) == "rc=0\n", f"the next run's --tmpfs /tmp starts empty{who}: {out(p)} {err(p)}")


def bind_in_root(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    r = make_root()
    b = os.path.realpath(scratch_dir())
    write_file(os.path.join(b, "old"), "old\n")
    if as_nobody:
        give_to_nobody(b)
    p, report = in_root(r, "cat /work/old && echo new > /work/new && mkdir /work/d && "
                        "echo more >> /work/old && ls -1 /work",
                        options=["--bind", b, "/work"], as_nobody=as_nobody)
    check(p.returncode == 0 and out(p) == "old\nd\nnew\nold\n",
          f"a --bind of a scratch directory in a --root view is readable and writable{who}: "
          f"{out(p)} {err(p)}")
    check(open(os.path.join(b, "new")).read() == "new\n" and os.path.isdir(os.path.join(b, "d")),
          f"the files made in the bind land in the host directory{who}: {tree(b)}")
    check(open(os.path.join(b, "old")).read() == "old\nmore\n",
          f"the append through the bind reaches the host file{who}")
    check(not os.path.exists(os.path.join(r, "work")), f"nothing was made in R for it{who}")
    fs = entries(report or {"files": []})
    e = fs.get("/work/new", {})
    check("write" in e.get("access", []) and e.get("host") == os.path.join(b, "new"),
          f"the report names /work/new written, with its host path in the bound directory"
          f"{who}: {e}")


def exit_status(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    r = make_root()
    p, report = in_root(r, "exit 3", as_nobody=as_nobody)
    check(p.returncode == 3 and report and report["exit"] == {"code": 3},
          f"the command's exit status passes through a --root view{who}: {p.returncode}")
    p, _ = run(["/usr/bin/env"], options=["--root", r], cwd=scratch_dir(), as_nobody=as_nobody)
    check(p.returncode == 127, f"a command the host has and R has not is not found: exit 127"
          f"{who}: {p.returncode} {err(p)}")


def sections(as_nobody):
    fns = []
    for fn in (sees_only_the_root, host_is_hidden, root_is_read_only, tmpfs_in_root,
               bind_in_root, exit_status):
        def section(fn=fn):
            fn(as_nobody)
        section.__name__ = fn.__name__ + ("_as_nobody" if as_nobody else "_as_root")
        fns.append(section)
    return fns


run_sections(*sections(False), *sections(True))
