"""Rewritten calls keep their host paths apart (README, "The view", "Cost"): a call whose path
the view rewrites is given the host path in a scratch mapping ptvfs makes in each address
space, one slot per thread, never in the program's own memory. Checked with
progs/scratch_calls.c under a view that binds a directory at /sv/d and the test programs at
/sv/bin, dynamic and static: threads opening at once each get their own file; a fork child
reads through its parent's mappings and, after exec, through mappings of its own; vfork
children that exec share the address space with a busy thread and leave it as it was; an open
interrupted by signals whose handler makes rewritten calls restarts on its own path, also when
the signal comes just as the mapping is made; a call made on a small stack carved from the
heap leaves the data below that stack alone. No call is refused and the report lists exactly
what the programs did. As root and as nobody."""
import os

from ptvfs_test import (absent_view_path, check, entries, give_to_nobody, native, prog, run,
                        run_sections, scratch_dir, write_file, PROGS)

VIEW = "/sv"
DIR = VIEW + "/d"
BIN = VIEW + "/bin"
FILES = ("a", "b", "c", "h")


def fixture():
    """A host directory for /sv/d holding a, b, c and h (each its own name and a newline)."""
    absent_view_path(VIEW)
    d = os.path.realpath(scratch_dir())
    for name in FILES:
        write_file(os.path.join(d, name), name + "\n", 0o644)
    give_to_nobody(d)
    return d


def view(d):
    return ["--root", "/", "--bind", d, DIR, "--ro-bind", PROGS, BIN]


def out(p):
    return p.stdout.decode(errors="replace")


def said(p):
    return f"exit {p.returncode}\n{out(p)}{p.stderr.decode(errors='replace')[-800:]}"


def clean(report, who, what):
    """A report is written and refuses nothing."""
    check(report is not None, f"a report is written ({what}){who}")
    check(report["refused"] == [], f"no call is refused ({what}){who}: {report['refused']}")


def threads(as_nobody, name="scratch_calls"):
    who = (" (as nobody)" if as_nobody else "") + f" [{name}]"
    d = fixture()
    p, report = run([f"{BIN}/{name}", "threads", DIR, "16"], options=view(d), cwd=scratch_dir(),
                    as_nobody=as_nobody)
    check((out(p), p.returncode) == ("threads: ok 16\n", 0),
          f"16 threads writing, reading back and stat'ing their own files through the view at "
          f"once each get their own file{who}: {said(p)}")
    clean(report, who, "threads")
    fs = entries(report)
    for i in range(16):
        t, none = fs.get(f"{DIR}/t{i}", {}), fs.get(f"{DIR}/none{i}", {})
        check("write" in t.get("access", []) and "read" in t.get("access", []) and
              t.get("host") == os.path.join(d, f"t{i}"),
              f"{DIR}/t{i} is recorded as written and read, with its host path{who}: {t}")
        check(none.get("access") == ["probe"], f"{DIR}/none{i} is a probe{who}: {none}")
    check(sorted(os.listdir(d)) == sorted([*FILES, *(f"t{i}" for i in range(16))]),
          f"the threads made exactly their own files on the host{who}: {sorted(os.listdir(d))}")


def fork_exec(as_nobody, name="scratch_calls"):
    who = (" (as nobody)" if as_nobody else "") + f" [{name}]"
    d = fixture()
    exe = f"{BIN}/{name}"
    p, report = run([exe, "fork", DIR, exe], options=view(d), cwd=scratch_dir(),
                    as_nobody=as_nobody)
    want = "parent a: a\nchild b: b\nc: c\nparent a again: a\n"
    check((out(p), p.returncode) == (want, 0),
          f"a fork child reads through the view, execs a program by its view path, which reads "
          f"through the view too; the parent reads on{who}: {said(p)}\nwanted:\n{want}")
    clean(report, who, "fork and exec")
    fs = entries(report)
    for f in ("a", "b", "c"):
        e = fs.get(f"{DIR}/{f}", {})
        check(e.get("access") == ["read"] and e.get("host") == os.path.join(d, f),
              f"{DIR}/{f} is recorded as read, with its host path{who}: {e}")
    exes = [pr["exe"] for pr in report["processes"]]
    check(exes.count(exe) == 3, f"three processes ran {exe}: the command, its fork child and "
          f"what that child exec'd{who}: {report['processes']}")


def vfork(as_nobody, name="scratch_calls"):
    who = (" (as nobody)" if as_nobody else "") + f" [{name}]"
    d = fixture()
    exe = f"{BIN}/{name}"
    p, report = run([exe, "vfork", DIR, exe, "100"], options=view(d), cwd=scratch_dir(),
                    as_nobody=as_nobody)
    want = "b: b\n" * 100 + "vfork: ok\n"
    check((out(p), p.returncode) == (want, 0),
          f"100 vfork children exec a program by its view path while a thread of the parent "
          f"reads through the view: every read and exec right, and the parent's address space "
          f"does not grow{who}: {said(p)[-1200:]}")
    clean(report, who, "vfork")
    check(len(report["processes"]) == 101, f"the report has the command and its 100 children"
          f"{who}: {len(report['processes'])}")


def restart(as_nobody, name="scratch_calls"):
    who = (" (as nobody)" if as_nobody else "") + f" [{name}]"
    d = fixture()
    p, report = run([f"{BIN}/{name}", "restart", DIR], options=view(d), cwd=scratch_dir(),
                    as_nobody=as_nobody)
    check((out(p), p.returncode) == ("restart: ok\n", 0),
          f"an open of a FIFO through the view, interrupted by signals whose handler reads "
          f"through the view, restarts on the FIFO's path{who}: {said(p)}")
    clean(report, who, "restart")
    check("read" in entries(report).get(f"{DIR}/fifo", {}).get("access", []),
          f"the FIFO is recorded as read{who}")


def signal_storm(as_nobody, name="scratch_calls"):
    who = (" (as nobody)" if as_nobody else "") + f" [{name}]"
    d = fixture()
    exe = f"{BIN}/{name}"
    p, report = run([exe, "storm", DIR, exe, "50"], options=view(d), cwd=scratch_dir(),
                    as_nobody=as_nobody)
    check((out(p), p.returncode) == ("storm: ok\n", 0),
          f"50 programs in turn make their first rewritten call while signals come every "
          f"50 us, with a handler that makes rewritten calls: each call reads its own file"
          f"{who}: {said(p)}")
    clean(report, who, "signal storm")


def small_stack(as_nobody):
    """The old place, below the stack pointer, was the program's data on such a stack."""
    who = " (as nobody)" if as_nobody else ""
    # A host path 400 bytes longer than its view path: more than the stack has left.
    host = os.path.join(os.path.realpath(scratch_dir()), "h" * 200, "i" * 200)
    write_file(os.path.join(host, "f"), "f\n", 0o644)
    give_to_nobody(os.path.dirname(os.path.dirname(host)))
    for free in ("16", "256", "1024"):
        nat = native([prog("small_stack"), os.path.join(host, "f"), free], as_nobody=as_nobody)
        p, report = run([prog("small_stack"), f"{DIR}/f", free],
                        options=["--root", "/", "--ro-bind", host, DIR], cwd=scratch_dir(),
                        as_nobody=as_nobody)
        check(out(nat) == "open: ok\noverwritten: 0\n", f"natively, the open on a small stack "
              f"with {free} bytes left works: {out(nat)}")
        check(out(p) == out(nat), f"an open made on a 16 KB stack carved from the heap, with "
              f"{free} bytes of it left, works and leaves the data below that stack alone"
              f"{who}: {said(p)}")
        clean(report, who, f"small stack, {free} bytes")


def sections():
    fns = []
    for as_nobody in (False, True):
        for fn, args in ((threads, ()), (fork_exec, ()), (vfork, ()), (restart, ()),
                         (signal_storm, ()), (small_stack, ()),
                         (threads, ("static_scratch_calls",)),
                         (fork_exec, ("static_scratch_calls",)),
                         (vfork, ("static_scratch_calls",))):
            def section(fn=fn, args=args, as_nobody=as_nobody):
                fn(as_nobody, *args)
            section.__name__ = (fn.__name__ + ("_static" if args else "") +
                                ("_as_nobody" if as_nobody else "_as_root"))
            fns.append(section)
    return fns


run_sections(*sections())
