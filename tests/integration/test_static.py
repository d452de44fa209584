"""Static binaries, which no preloaded library reaches: Debian's busybox-static (/bin/busybox,
whose applets re-exec /proc/self/exe) and a static program of our own that forks and execs.
Each runs as natively, and its reads, listings, writes, probes, deletions and execs are in the
report. As root and as an unprivileged user."""
import os
import shutil

from ptvfs_test import check, files, native, prog, run, run_sections, scratch_dir, NOBODY

BUSYBOX = "/bin/busybox"
SCRIPT = "cat f; ls d; rm g; mkdir m; echo new > n; cat missing 2>/dev/null; echo rc=$?"


def fixture(d, owner):
    os.makedirs(os.path.join(d, "d"))
    for name, text in (("f", "content of f\n"), ("g", "to delete\n"), ("d/one", ""),
                       ("d/two", ""), ("in", "input line\n"), ("gone", ""),
                       ("child_in", "child line\n")):
        with open(os.path.join(d, name), "w") as fh:
            fh.write(text)
    if owner is not None:
        for root, dirs, names in os.walk(d):
            for name in dirs + names:
                os.lchown(os.path.join(root, name), owner, owner)


def state(d):
    return sorted(os.path.relpath(os.path.join(r, n), d)
                  for r, ds, ns in os.walk(d) for n in ds + ns)


def busybox(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    owner = NOBODY if as_nobody and os.geteuid() == 0 else None
    a, b = scratch_dir(), scratch_dir()
    fixture(a, owner)
    fixture(b, owner)
    cmd = [BUSYBOX, "sh", "-c", SCRIPT]
    nat = native(cmd, cwd=a, as_nobody=as_nobody)
    check(nat.returncode == 0 and b"content of f" in nat.stdout,
          f"the busybox script runs natively{who}: {nat.stderr}")
    p, report = run(cmd, cwd=b, as_nobody=as_nobody)
    check(p.returncode == nat.returncode, f"busybox under ptvfs exits as natively{who}: "
          f"{p.returncode}, {p.stderr.decode()}")
    check(p.stdout == nat.stdout, f"busybox prints the same under ptvfs{who}:\n"
          f"{nat.stdout.decode()}---\n{p.stdout.decode()}")
    check(p.stderr == nat.stderr, f"nothing is added on stderr{who}: {p.stderr.decode()}")
    check(state(a) == state(b), f"the directory ends up the same{who}: {state(a)} {state(b)}")
    check(report is not None, f"a report is written{who}")
    fs = files(report)
    b = os.path.realpath(b)

    def has(name, kind, why):
        path = os.path.join(b, name)
        check(kind in fs.get(path, []), f"{why}: {path} is recorded with {kind}{who}, "
              f"got {fs.get(path)}")

    has("f", "read", "busybox cat f")
    has("d", "list", "busybox ls d")
    has("g", "delete", "busybox rm g")
    has("m", "write", "busybox mkdir m")
    has("n", "write", "the shell's redirection > n")
    has("missing", "probe", "busybox cat of a missing file")
    execs = [path for path, a in fs.items() if "exec" in a]
    check(os.path.realpath(BUSYBOX) in execs, f"busybox itself is recorded as executed{who}: "
          f"{execs}")
    argvs = [pr["argv"] for pr in report["processes"]]
    # ash runs ls, rm and mkdir in a fork without exec (NOEXEC applets); cat is exec'd.
    check(["cat", "f"] in argvs, f"the exec'd applet cat f is a process of the report{who}: "
          f"{argvs}")
    check(len(argvs) >= 4, f"the forks for ls, rm and mkdir are processes of the report{who}")
    pids = {pr["pid"] for pr in report["processes"]}
    root = report["processes"][0]
    check(root["argv"] == cmd and root["exit"] == {"code": 0},
          f"the first process is the command, with its exit{who}: {root}")
    check(all(pr["ppid"] in pids for pr in report["processes"][1:]),
          f"every applet's parent is a process of the report{who}")
    check(report["exit"] == {"code": 0}, f"the report's exit is busybox's{who}")

    for path in (a, b):
        shutil.rmtree(path, ignore_errors=True)


def busybox_exec_paths():
    """What busybox's applets exec (/proc/self/exe) is named by the program it runs, and two
    identical runs record the same files (no pids leak into the paths)."""
    reports = []
    top = scratch_dir()
    d = os.path.join(top, "work")
    for attempt in range(2):
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
        fixture(d, None)
        p, report = run([BUSYBOX, "sh", "-c", SCRIPT], cwd=d)
        check(p.returncode == 0 and report is not None, "busybox runs under ptvfs")
        reports.append({(path, tuple(a)) for path, a in files(report).items()})
    shutil.rmtree(top, ignore_errors=True)
    execs = sorted(path for path, a in reports[0] if "exec" in a)
    check(not any(path.startswith("/proc/") for path in execs),
          f"an applet's re-exec of /proc/self/exe is recorded as the program it runs, "
          f"not a /proc path: {execs}")
    diff = sorted(reports[0] ^ reports[1])
    check(not diff, f"two runs of the same busybox script record the same files: {diff}")


def static_program(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    owner = NOBODY if as_nobody and os.geteuid() == 0 else None
    a, b = scratch_dir(), scratch_dir()
    fixture(a, owner)
    fixture(b, owner)
    exe = prog("static_fileops")
    with open(exe, "rb") as fh:
        head = fh.read(4096)
    check(b"ld-linux" not in head, "static_fileops is linked statically (no ELF interpreter)")
    nat = native([exe], cwd=a, as_nobody=as_nobody)
    check(nat.returncode == 0 and b"child exit 3" in nat.stdout,
          f"static_fileops runs natively{who}: {nat.stdout} {nat.stderr}")
    p, report = run([exe], cwd=b, as_nobody=as_nobody)
    check((p.returncode, p.stdout, p.stderr) == (nat.returncode, nat.stdout, nat.stderr),
          f"static_fileops runs under ptvfs as natively{who}:\n{nat.stdout.decode()}---\n"
          f"{p.stdout.decode()}{p.stderr.decode()}")
    check(state(a) == state(b), f"the directory ends up the same{who}")
    check(report is not None, f"a report is written{who}")
    fs = files(report)
    b = os.path.realpath(b)
    for name, kind in (("in", "read"), ("out", "write"), ("d", "list"), ("nope", "probe"),
                       ("gone", "delete"), ("child_in", "read")):
        path = os.path.join(b, name)
        check(kind in fs.get(path, []), f"the static program's {kind} of {name} is recorded"
              f"{who}: {fs.get(path)}")
    check("exec" in fs.get(os.path.realpath(exe), []),
          f"the static program is recorded as executed{who}")
    check(not any("ld-linux" in path for path, a in fs.items() if "exec" in a),
          f"no ELF interpreter is recorded for a static program{who}")
    procs = report["processes"]
    child = [pr for pr in procs if pr["argv"][1:] == ["child"]]
    check(len(child) == 1 and child[0]["exit"] == {"code": 3},
          f"the exec'd child is a process with its exit status{who}: {procs}")
    check(child[0]["ppid"] == procs[0]["pid"],
          f"the child's ppid is the static program's pid{who}: {procs}")
    shutil.rmtree(a, ignore_errors=True)
    shutil.rmtree(b, ignore_errors=True)


def busybox_as_root():
    busybox(as_nobody=False)


def busybox_as_nobody():
    busybox(as_nobody=True)


def static_program_as_root():
    static_program(as_nobody=False)


def static_program_as_nobody():
    static_program(as_nobody=True)


run_sections(busybox_as_root, static_program_as_root, busybox_as_nobody,
             static_program_as_nobody, busybox_exec_paths)
