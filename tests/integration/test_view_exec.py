"""Programs and interpreters that exist only in the view (DESIGN.md §1): the kernel must load
what the view says, not what the host has. A dynamic program (progs/view_only_exe.c) whose ELF
interpreter is /opt/vlib/ld-linux-x86-64.so.2 and whose libc is found through the run path
/opt/vlib, both bound from scratch directories, runs, in the host-based view and in a hermetic
one, and readlink(/proc/self/exe) gives its view path; a script whose '#!' interpreter exists
only in the view runs (a copy of busybox at /opt/vbin/sh, and the view-only program itself);
exit statuses and signals pass through. As root and as nobody."""
import os
import shutil

from ptvfs_test import (absent_view_path, check, entries, native, prog, run, run_sections,
                        scratch_dir, write_file)

BUSYBOX = "/bin/busybox"
INTERP = "/lib64/ld-linux-x86-64.so.2"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
VBIN, VLIB = "/opt/vbin", "/opt/vlib"
EXE = VBIN + "/view_only_exe"


def fixture():
    """Host directories for /opt/vbin (the program, a busybox named sh, a file that is not
    executable) and /opt/vlib (the real ELF interpreter and libc, copied)."""
    absent_view_path(VBIN)
    absent_view_path(VLIB)
    vbin, vlib = os.path.realpath(scratch_dir()), os.path.realpath(scratch_dir())
    shutil.copy2(prog("view_only_exe"), os.path.join(vbin, "view_only_exe"))
    shutil.copy2(BUSYBOX, os.path.join(vbin, "sh"))
    write_file(os.path.join(vbin, "plain"), "#!/bin/sh\necho not executable\n", 0o644)
    shutil.copy2(os.path.realpath(INTERP), os.path.join(vlib, "ld-linux-x86-64.so.2"))
    shutil.copy2(os.path.realpath(LIBC), os.path.join(vlib, "libc.so.6"))
    return vbin, vlib


def binds(vbin, vlib):
    return ["--ro-bind", vbin, VBIN, "--ro-bind", vlib, VLIB]


def out(p):
    return p.stdout.decode(errors="replace")


def view_only_program(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    vbin, vlib = fixture()
    try:
        nat = native([os.path.join(vbin, "view_only_exe")], as_nobody=as_nobody)
        started = nat.returncode == 0
    except FileNotFoundError:
        started = False
    check(not started, "natively the program cannot start: its ELF interpreter is not on the "
          "host")
    for base, extra in (("host-based view", []), ("hermetic view", ["--hermetic"])):
        p, report = run([EXE, "7", "hello"], options=[*extra, *binds(vbin, vlib)],
                        cwd=scratch_dir(), as_nobody=as_nobody)
        want = f"exe: {EXE}\narg: 7\narg: hello\n"
        check((out(p), p.returncode) == (want, 7),
              f"a program whose ELF interpreter and libc exist only in the {base} runs, knows "
              f"itself by its view path and exits with its own status{who}: exit "
              f"{p.returncode}\n{out(p)}---\nwanted:\n{want}{p.stderr.decode()}")
        check(p.stderr == b"", f"nothing on stderr ({base}){who}: {p.stderr.decode()}")
        check(report is not None, f"a report is written ({base}){who}")
        fs = entries(report)
        for path, host, kind in ((EXE, os.path.join(vbin, "view_only_exe"), "exec"),
                                 (VLIB + "/ld-linux-x86-64.so.2",
                                  os.path.join(vlib, "ld-linux-x86-64.so.2"), "exec"),
                                 (VLIB + "/libc.so.6", os.path.join(vlib, "libc.so.6"), "read")):
            e = fs.get(path, {})
            check(kind in e.get("access", []) and e.get("host") == host,
                  f"the report names {path} ({kind}) with its host path ({base}){who}: {e}")
        interps = sorted(path for path, e in fs.items()
                         if "exec" in e["access"] and "ld-linux" in path)
        check(interps == [VLIB + "/ld-linux-x86-64.so.2"],
              f"the only ELF interpreter loaded is the view's ({base}){who}: {interps}")
        check(report["processes"][0]["exe"] == EXE,
              f"the process's exe in the report is its view path ({base}){who}: "
              f"{report['processes'][0]}")
        check(report["exit"] == {"code": 7}, f"the report's exit is 7 ({base}){who}")


def exit_statuses(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    vbin, vlib = fixture()
    opts = binds(vbin, vlib)
    p, report = run([EXE, "signal:15"], options=opts, cwd=scratch_dir(), as_nobody=as_nobody)
    check(p.returncode == 128 + 15 and report and report["exit"] == {"signal": 15, "code": 143},
          f"a view-only program killed by SIGTERM gives 143{who}: {p.returncode} "
          f"{report and report['exit']}")
    p, _ = run(["view_only_exe", "0"], options=[*opts, "--setenv", "PATH", VBIN],
               cwd=scratch_dir(), as_nobody=as_nobody)
    check((out(p), p.returncode) == (f"exe: {EXE}\narg: 0\n", 0),
          f"a command found through a PATH that only the view has runs{who}: {p.returncode} "
          f"{out(p)} {p.stderr.decode()}")
    p, _ = run([VBIN + "/plain"], options=opts, cwd=scratch_dir(), as_nobody=as_nobody)
    check(p.returncode == 126, f"a file of the view that is not executable gives 126{who}: "
          f"{p.returncode} {p.stderr.decode()}")
    p, _ = run([VBIN + "/missing"], options=opts, cwd=scratch_dir(), as_nobody=as_nobody)
    check(p.returncode == 127, f"a missing program in a bound directory gives 127{who}: "
          f"{p.returncode} {p.stderr.decode()}")


def view_only_script_interpreters(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    vbin, vlib = fixture()
    s = os.path.realpath(scratch_dir())
    write_file(os.path.join(s, "by_sh"),
               f"#!{VBIN}/sh\necho \"script $0 $1 $(readlink /proc/$$/exe)\"\nexit 5\n", 0o755)
    write_file(os.path.join(s, "by_exe"), f"#!{EXE} 4\n", 0o755)
    try:
        nat = native([os.path.join(s, "by_sh")], as_nobody=as_nobody)
        started = nat.returncode == 5
    except FileNotFoundError:
        started = False
    check(not started, "natively the script cannot start: its interpreter is not on the host")
    opts = binds(vbin, vlib)
    p, report = run([os.path.join(s, "by_sh"), "arg"], options=opts, cwd=s, as_nobody=as_nobody)
    want = f"script {s}/by_sh arg {VBIN}/sh\n"
    check((out(p), p.returncode) == (want, 5),
          f"a script whose #! interpreter (busybox at {VBIN}/sh) exists only in the view runs "
          f"and exits with its status{who}: exit {p.returncode}\n{out(p)}---\nwanted:\n{want}"
          f"{p.stderr.decode()}")
    fs = entries(report or {"files": []})
    e = fs.get(VBIN + "/sh", {})
    check("exec" in e.get("access", []) and e.get("host") == os.path.join(vbin, "sh"),
          f"the script's interpreter is recorded as executed at its view path, with its host "
          f"path{who}: {e}")
    check("read" in fs.get(os.path.join(s, "by_sh"), {}).get("access", []) or
          "exec" in fs.get(os.path.join(s, "by_sh"), {}).get("access", []),
          f"the script itself is recorded{who}: {fs.get(os.path.join(s, 'by_sh'))}")

    p, _ = run([os.path.join(s, "by_exe"), "x"], options=opts, cwd=s, as_nobody=as_nobody)
    want = f"exe: {EXE}\narg: 4\narg: {s}/by_exe\narg: x\n"
    check((out(p), p.returncode) == (want, 4),
          f"a script whose #! interpreter is the view-only program (its ELF interpreter in the "
          f"view too) runs{who}: exit {p.returncode}\n{out(p)}---\nwanted:\n{want}"
          f"{p.stderr.decode()}")

    # The same, exec'd by a traced shell rather than by ptvfs's first exec.
    p, _ = run([BUSYBOX, "sh", "-c", "./by_sh a; echo rc=$?; ./by_exe b; echo rc=$?"],
               options=opts, cwd=s, as_nobody=as_nobody)
    want = (f"script ./by_sh a {VBIN}/sh\nrc=5\nexe: {EXE}\narg: 4\narg: ./by_exe\narg: b\n"
            f"rc=4\n")
    check(out(p) == want, f"a traced shell runs scripts with view-only interpreters and gets "
          f"their exit statuses{who}:\n{out(p)}---\nwanted:\n{want}{p.stderr.decode()}")


def sections():
    fns = []
    for as_nobody in (False, True):
        for fn in (view_only_program, exit_statuses, view_only_script_interpreters):
            def section(fn=fn, as_nobody=as_nobody):
                fn(as_nobody)
            section.__name__ = fn.__name__ + ("_as_nobody" if as_nobody else "_as_root")
            fns.append(section)
    return fns


run_sections(*sections())
