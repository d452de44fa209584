"""The view's command line (DESIGN.md §1), apart from what the view does to paths: every bad
input ends ptvfs with status 125 and one line naming the option (and FILE:LINE for a manifest)
before anything runs; the run's private directory ($TMPDIR/ptvfs-XXXXXX, home of --tmpfs) is
gone after a normal run, after the command died of a signal, after ptvfs failed and after ptvfs
itself was SIGKILLed (its guard removes it), also when the command left directories it cannot
read or write; --setenv, --unsetenv and --clearenv reach the command in command-line order.

A private TMPDIR shows what ptvfs leaves behind. The commands run on paths the view does not
declare (--tmpfs /nonexistent-...), so these checks hold whether or not the view remaps them."""
import os
import signal
import stat
import subprocess
import time

from ptvfs_test import (NOBODY, PTVFS, check, run, run_sections, scratch_dir, unprivileged)

TMP = os.path.realpath(scratch_dir())
ENV = dict(os.environ, TMPDIR=TMP)
# A --tmpfs at a path the host does not have: the view option is there, nothing depends on it.
TMPFS = ["--tmpfs", "/nonexistent-ptvfs-tmpfs"]
ENV_PROG = "/usr/bin/env"
LONG = "/" + "a" * 5000


def ptvfs(args, cwd=None, env=None, timeout=60):
    return subprocess.run([PTVFS, *args], capture_output=True, cwd=cwd, env=env or ENV,
                          timeout=timeout)


def left():
    """What ptvfs left in its TMPDIR."""
    return sorted(os.listdir(TMP))


def ours():
    """Pids of the processes started for this test (their environment has our TMPDIR)."""
    mine = f"TMPDIR={TMP}".encode()
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if mine in f.read().split(b"\0"):
                    pids.append(int(name))
        except OSError:
            pass
    return pids


def argv_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def all_gone(seconds=3.0):
    """Whether, within SECONDS, the private directory is removed and every process of the
    run (the guard included) has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not left() and not ours():
            return True
        time.sleep(0.02)
    return not left() and not ours()


def bad_input():
    d = os.path.realpath(scratch_dir())
    marker = os.path.join(d, "ran")
    for name in ("in1", "in2"):
        with open(os.path.join(d, name), "w") as f:
            f.write(name)
    a_file = os.path.join(d, "in1")

    def manifest(name, text):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    tabs = manifest("tabs.txt", f"/ok\t{d}/in1\n/x\t{d}/in1\textra\n")
    empty_src = manifest("empty-src.txt", "/y\t\n")
    missing = manifest("missing.txt", f"# inputs\n\n{d}/nope\n")
    twice = manifest("twice.txt", f"/decl\t{d}/in1\n/decl\t{d}/in2\n")
    first = manifest("first.txt", f"/decl\t{d}/in1\n")
    second = manifest("second.txt", f"# the same DEST from another SRC\n/decl\t{d}/in2\n")
    run_it = ["--", "touch", marker]
    # (arguments, what the one line must name); a --tmpfs first makes ptvfs fail after its
    # private directory exists, which must go too.
    cases = [
        (["--frobnicate", *run_it], ["--frobnicate"]),
        ([*TMPFS, "--frobnicate", *run_it], ["--frobnicate"]),
        (["--bind", d], ["--bind"]),
        (["--ro-bind", d], ["--ro-bind"]),
        (["--symlink", "t"], ["--symlink"]),
        (["--root"], ["--root"]),
        (["--tmpfs"], ["--tmpfs"]),
        (["--hide"], ["--hide"]),
        (["--inputs"], ["--inputs"]),
        (["--chdir"], ["--chdir"]),
        (["--setenv", "A"], ["--setenv"]),
        (["--unsetenv"], ["--unsetenv"]),
        (["--bind", os.path.join(d, "nope"), "/x", *run_it], ["--bind", "nope"]),
        ([*TMPFS, "--ro-bind", os.path.join(d, "nope"), "/x", *run_it], ["--ro-bind", "nope"]),
        (["--root", os.path.join(d, "nope"), *run_it], ["--root", "nope"]),
        (["--root", a_file, *run_it], ["--root", "in1"]),
        ([*TMPFS, "--bind", d, "rel", *run_it], ["--bind", "rel"]),
        (["--ro-bind", d, "rel", *run_it], ["--ro-bind", "rel"]),
        (["--tmpfs", "rel", *run_it], ["--tmpfs", "rel"]),
        ([*TMPFS, "--symlink", "/t", "rel", *run_it], ["--symlink", "rel"]),
        (["--hide", "rel", *run_it], ["--hide", "rel"]),
        ([*TMPFS, "--symlink", "", "/x", *run_it], ["--symlink"]),
        ([*TMPFS, "--hide", LONG, *run_it], ["--hide"]),
        (["--tmpfs", LONG, *run_it], ["--tmpfs"]),
        ([*TMPFS, "--bind", "/" + "b" * 5000, "/x", *run_it], ["--bind"]),
        ([*TMPFS, "--ro-bind", d, LONG, *run_it], ["--ro-bind"]),
        ([*TMPFS, "--inputs", tabs, *run_it], ["--inputs", f"{tabs}:2"]),
        (["--inputs", empty_src, *run_it], ["--inputs", f"{empty_src}:1"]),
        ([*TMPFS, "--inputs", missing, *run_it], ["--inputs", f"{missing}:3"]),
        (["--inputs", twice, *run_it], ["--inputs", f"{twice}:2"]),
        ([*TMPFS, "--inputs", first, "--inputs", second, *run_it],
         ["--inputs", f"{second}:2"]),
        (["--inputs", os.path.join(d, "no-manifest"), *run_it], ["--inputs", "no-manifest"]),
        (["--setenv", "A=B", "v", *run_it], ["--setenv", "A=B"]),
        ([*TMPFS, "--setenv", "", "v", *run_it], ["--setenv"]),
        (["--unsetenv", "A=B", *run_it], ["--unsetenv", "A=B"]),
        (["--unsetenv", "", *run_it], ["--unsetenv"]),
        ([*TMPFS, "--chdir", "", *run_it], ["--chdir"]),
        ([*TMPFS, "--report", os.path.join(d, "missing", "r.json"), *run_it], ["--report"]),
    ]
    for args, names in cases:
        shown = [a if len(a) < 80 else a[:20] + "..." for a in args]
        p = ptvfs(args, cwd=d)
        check(p.returncode == 125, f"{shown} exits 125: {p.returncode} {p.stderr[:300]}")
        check(p.stdout == b"", f"{shown} prints nothing on stdout: {p.stdout}")
        lines = p.stderr.decode(errors="replace").splitlines()
        check(len(lines) == 1 and lines[0].startswith("ptvfs: "),
              f"{shown} prints one line of its own: {lines}")
        for name in names:
            check(name in lines[0], f"{shown}: the message names {name}: {lines[0][:300]}")
        check(not os.path.exists(marker), f"{shown} runs nothing")
        check(left() == [], f"{shown} removes its private directory before it exits: {left()}")
        check(all_gone(), f"{shown} leaves nothing in TMPDIR and no process behind: {left()}")

    # A manifest may declare the same input twice from the same SRC.
    p = ptvfs(["--inputs", first, "--inputs", first, *run_it], cwd=d)
    check(p.returncode == 0 and os.path.exists(marker),
          f"the same input twice from the same SRC is accepted: {p.returncode} {p.stderr}")
    os.unlink(marker)
    # TMPDIR cannot hold the private directory: said before anything runs.
    p = ptvfs([*TMPFS, *run_it], cwd=d, env=dict(ENV, TMPDIR=os.path.join(d, "no-tmp")))
    lines = p.stderr.decode().splitlines()
    check(p.returncode == 125 and len(lines) == 1 and "--tmpfs" in lines[0]
          and "no-tmp" in lines[0],
          f"an unusable TMPDIR exits 125 with one line naming it: {p.returncode} {lines}")
    check(not os.path.exists(marker), "an unusable TMPDIR runs nothing")


def no_view_no_directory():
    """Without view options ptvfs only records: it makes no private directory."""
    for options in ([], ["--setenv", "PTVFS_T_X", "1"]):
        p, report = run(["sh", "-c", 'ls -A "$TMPDIR"'], options=options, env=ENV)
        check(p.returncode == 0 and p.stdout == b"",
              f"no private directory with options {options}: {p.stdout} {p.stderr}")
        check(report is not None, "the report is written")
        check(all_gone(), f"nothing left with options {options}: {left()}")


def owner_uid():
    return NOBODY if os.geteuid() == 0 else os.geteuid()


def chown(path, dir_fd=None):
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY, dir_fd=dir_fd, follow_symlinks=False)


def make_unremovable(private, outside):
    """What a command may leave in its --tmpfs: directories it cannot list or write, a chain
    of directories deeper than PATH_MAX, and a link out of the tree."""
    base = os.path.join(private, "left-by-the-command")
    os.mkdir(base)
    chown(base)
    os.makedirs(os.path.join(base, "ro/locked/deep"))
    for sub in ("ro", "ro/locked", "ro/locked/deep"):
        chown(os.path.join(base, sub))
    with open(os.path.join(base, "ro/locked/deep/f"), "w") as f:
        f.write("x")
    chown(os.path.join(base, "ro/locked/deep/f"))
    os.chmod(os.path.join(base, "ro/locked/deep"), 0o300)
    os.chmod(os.path.join(base, "ro/locked"), 0o000)
    os.chmod(os.path.join(base, "ro"), 0o500)
    os.symlink(outside, os.path.join(base, "out"))
    chown(os.path.join(base, "out"))
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    for i in range(200):
        name = f"level-{i:03d}-" + "d" * 20
        os.mkdir(name, dir_fd=fd)
        chown(name, dir_fd=fd)
        with open(os.open("file", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), "w") as f:
            f.write("x")
        chown("file", dir_fd=fd)
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = sub
    os.mkdir("bottom", dir_fd=fd)
    chown("bottom", dir_fd=fd)
    os.chmod("bottom", 0o000, dir_fd=fd)
    os.close(fd)


def start_waiting(extra=()):
    """ptvfs, as the unprivileged user, with a --tmpfs, running a shell that says "ready" and
    waits for a line on stdin."""
    cmd = unprivileged([PTVFS, *TMPFS, *extra, "--", "sh", "-c", "echo ready; read x; exit 3"])
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    line = p.stdout.readline()
    check(line == b"ready\n", f"the command starts under ptvfs: {line} {p.poll()}")
    return p


def the_private_dir(p):
    entries = left()
    check(len(entries) == 1 and entries[0].startswith("ptvfs-"),
          f"one private directory ptvfs-XXXXXX in TMPDIR while the command runs: {entries}")
    private = os.path.join(TMP, entries[0])
    st = os.lstat(private)
    check(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
          and st.st_uid == owner_uid(),
          f"it is a directory of mode 0700 owned by the user: {oct(st.st_mode)} {st.st_uid}")
    return private


def guard_of(p, private):
    """The guard: the one other process running ptvfs's program; checks what it must be."""
    others = [pid for pid in ours() if pid != p.pid and argv_of(pid)[:1] == [PTVFS.encode()]]
    check(len(others) == 1, f"one guard process besides ptvfs: {others}")
    guard = others[0]
    with open(f"/proc/{guard}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ppid, sid = int(fields[1]), int(fields[3])
    check(ppid != p.pid, "the guard is not a child of ptvfs (its wait would never end)")
    check(sid == guard and sid != os.getsid(p.pid),
          "the guard leads a session of its own (a terminal's Ctrl-C does not reach it)")
    check(os.readlink(f"/proc/{guard}/cwd") == "/",
          f"the guard does not hold a directory: cwd {os.readlink(f'/proc/{guard}/cwd')}")
    fds = sorted(int(fd) for fd in os.listdir(f"/proc/{guard}/fd"))
    check(fds == [0, 1, 2, 3], f"the guard keeps only its pipe and /dev/null: {fds}")
    for fd in (0, 1, 2):
        check(os.readlink(f"/proc/{guard}/fd/{fd}") == "/dev/null",
              f"the guard's fd {fd} is /dev/null, not a pipe ptvfs's caller waits on")
    check(os.readlink(f"/proc/{guard}/fd/3").startswith("pipe:"), "the guard waits on a pipe")
    return guard


def cleanup():
    outside = os.path.realpath(scratch_dir())
    keep = os.path.join(outside, "keep")
    with open(keep, "w") as f:
        f.write("keep")

    # A normal run: gone when ptvfs exits, whatever the command left.
    p = start_waiting(["--tmpfs", "/nonexistent-ptvfs-other"])
    private = the_private_dir(p)
    guard_of(p, private)
    make_unremovable(private, outside)
    out, err = p.communicate(b"\n", timeout=60)
    check(p.returncode == 3, f"the command's status comes back: {p.returncode} {err}")
    check(err == b"", f"ptvfs prints nothing of its own: {err}")
    check(left() == [], f"the private directory is gone when ptvfs has exited: {left()}")
    check(os.path.exists(keep), "a link out of the private directory is not followed")
    check(all_gone(), f"the guard ends with ptvfs: {ours()}")

    # The command dies of a signal.
    p, report = run(["sh", "-c", "kill -KILL $$"], options=TMPFS, env=ENV, as_nobody=True)
    check(p.returncode == 128 + signal.SIGKILL,
          f"a command killed by SIGKILL makes ptvfs exit 137: {p.returncode} {p.stderr}")
    check(report is not None, "the report is written")
    check(left() == [], f"the private directory is gone after the command's death: {left()}")
    check(all_gone(), f"no process is left: {ours()}")

    # SIGTERM sent to ptvfs kills the command; ptvfs still cleans up.
    p = start_waiting()
    the_private_dir(p)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)  # stdin stays open: the signal, not an end of file, ends the command
    p.communicate()
    check(p.returncode == 128 + signal.SIGTERM, f"SIGTERM reaches the command: {p.returncode}")
    check(left() == [], f"the private directory is gone after a SIGTERM: {left()}")
    check(all_gone(), f"no process is left: {ours()}")

    # ptvfs itself is SIGKILLed: its guard removes the directory.
    p = start_waiting()
    private = the_private_dir(p)
    guard_of(p, private)
    make_unremovable(private, outside)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    p.communicate()
    check(p.returncode == -signal.SIGKILL, f"ptvfs died of SIGKILL: {p.returncode}")
    check(all_gone(3.0), f"the guard removes the private directory of a SIGKILLed ptvfs and "
          f"ends: {left()} {ours()}")
    check(os.path.exists(keep), "the guard does not follow a link out of the private directory")


def env_lines(p):
    return sorted(line for line in p.stdout.decode().splitlines() if line.startswith("PTVFS_T_"))


def environment():
    base = dict(ENV, PTVFS_T_B="b", PTVFS_T_C="c")
    for view in ([], TMPFS):
        cases = [
            (["--setenv", "PTVFS_T_A", "1 2=3"], ["PTVFS_T_A=1 2=3", "PTVFS_T_B=b", "PTVFS_T_C=c"]),
            (["--setenv", "PTVFS_T_A", ""], ["PTVFS_T_A=", "PTVFS_T_B=b", "PTVFS_T_C=c"]),
            (["--setenv", "PTVFS_T_B", "1", "--setenv", "PTVFS_T_B", "2"], ["PTVFS_T_B=2", "PTVFS_T_C=c"]),
            (["--unsetenv", "PTVFS_T_B"], ["PTVFS_T_C=c"]),
            (["--unsetenv", "PTVFS_T_NEVER_SET"], ["PTVFS_T_B=b", "PTVFS_T_C=c"]),
            (["--setenv", "PTVFS_T_A", "1", "--unsetenv", "PTVFS_T_A"], ["PTVFS_T_B=b", "PTVFS_T_C=c"]),
            (["--unsetenv", "PTVFS_T_B", "--setenv", "PTVFS_T_B", "3"], ["PTVFS_T_B=3", "PTVFS_T_C=c"]),
        ]
        for options, want in cases:
            p, _ = run([ENV_PROG], options=[*view, *options], env=base)
            check(p.returncode == 0 and env_lines(p) == want,
                  f"{view + options}: the command's environment has {want}: {env_lines(p)} "
                  f"{p.stderr}")
        p, _ = run([ENV_PROG], options=[*view, "--clearenv", "--setenv", "PTVFS_T_A", "1"],
                   env=base)
        check(p.returncode == 0 and p.stdout == b"PTVFS_T_A=1\n",
              f"{view} --clearenv then --setenv: only that variable: {p.stdout} {p.stderr}")
        p, _ = run([ENV_PROG], options=[*view, "--setenv", "PTVFS_T_A", "1", "--clearenv"],
                   env=base)
        check(p.returncode == 0 and p.stdout == b"",
              f"{view} --setenv then --clearenv: nothing: {p.stdout} {p.stderr}")
        # The command is still found on a cleared environment's default search path.
        p, _ = run(["env"], options=[*view, "--clearenv"], env=base)
        check(p.returncode == 0 and p.stdout == b"",
              f"{view} --clearenv: a command named without a path still runs: {p.returncode} "
              f"{p.stderr}")
    check(all_gone(), f"nothing left: {left()}")


def help_and_version():
    p = ptvfs(["--help"])
    text = p.stdout.decode()
    check(p.returncode == 0 and p.stderr == b"", f"--help exits 0: {p.returncode}")
    for option in ("--root DIR", "--hermetic", "--bind SRC DEST", "--ro-bind SRC DEST",
                   "--tmpfs DEST", "--symlink TARGET DEST", "--hide DEST", "--inputs FILE",
                   "--chdir DIR", "--setenv VAR VALUE", "--unsetenv VAR", "--clearenv",
                   "--report FILE", "-h, --help", "--version"):
        lines = [line for line in text.splitlines() if line.strip().startswith(option + " ")]
        check(len(lines) == 1, f"--help lists {option} on one line: {lines}")
    p = ptvfs(["--version"])
    check(p.returncode == 0 and p.stdout.startswith(b"ptvfs "), f"--version: {p.stdout}")
    check(all_gone(), f"nothing left: {left()}")


run_sections(bad_input, no_view_no_directory, cleanup, environment, help_and_version)
