"""Every process and thread is followed: pthreads opening files in several threads, an exec
from a non-leader thread while other threads make syscalls, a main thread that ends before the
others, and children made by fork, vfork, clone3 and clone (raw syscalls), and an orphaned
grandchild that outlives its parents. Their accesses are recorded and their processes listed
with the right ppid and exit status."""
import os
import re
import shutil

from ptvfs_test import check, files, native, prog, run, run_sections, scratch_dir

THREADS = 6


def threads_open():
    d = os.path.realpath(scratch_dir())
    cmd = [prog("threads"), "open", str(THREADS)]
    p, report = run(cmd, cwd=d, timeout=60)
    check(p.returncode == 0 and p.stdout == f"{THREADS} threads done\n".encode(),
          f"threads opening files all succeed under ptvfs: {p.returncode} {p.stdout} {p.stderr}")
    check(p.stderr == b"", f"ptvfs adds nothing on stderr: {p.stderr}")
    fs = files(report)
    for i in range(THREADS):
        path = os.path.join(d, f"t{i}")
        check(fs.get(path) == ["read", "write"],
              f"thread {i}'s file is recorded as read and written: {path} {fs.get(path)}")
        path = os.path.join(d, f"t{i}_missing")
        check(fs.get(path) == ["probe"], f"thread {i}'s probe is recorded: {fs.get(path)}")
    check(len(report["processes"]) == 1, "threads are not listed as processes of their own: "
          f"{[pr['pid'] for pr in report['processes']]}")
    shutil.rmtree(d, ignore_errors=True)


def exec_from_thread():
    d = os.path.realpath(scratch_dir())
    for name in ("after_exec_file", "busy_file", "before_exec"):
        with open(os.path.join(d, name), "w") as f:
            f.write(f"{name}\n")
    exe = prog("threads")
    nat = native([exe, "exec"], cwd=d, timeout=30)
    check(nat.returncode == 5, f"exec from a thread works natively: {nat.returncode} {nat.stderr}")
    p, report = run([exe, "exec"], cwd=d, timeout=60)
    check(p.returncode == 5, f"after an exec from a non-leader thread, the new program's exit "
          f"status 5 is passed through: {p.returncode} {p.stderr.decode()}")
    check(p.stderr == b"", f"ptvfs adds nothing on stderr: {p.stderr}")
    out = p.stdout.decode()
    m1 = re.search(r"exec from pid (\d+), a non-leader thread", out)
    m2 = re.search(r"after exec: pid (\d+) read after_exec_file", out)
    check(m1 and m2 and m1.group(1) == m2.group(1),
          f"a non-leader thread execs and the new program has the process's pid: {out}")
    check(report is not None and report["exit"] == {"code": 5},
          f"the report's exit is the exec'd program's: {report and report['exit']}")
    fs = files(report)
    check("read" in fs.get(os.path.join(d, "after_exec_file"), []),
          "the program exec'd from a thread is followed: its read is recorded")
    check("stat" in fs.get(os.path.join(d, "before_exec"), []),
          "the thread's access before the exec is recorded")
    check("stat" in fs.get(os.path.join(d, "busy_file"), []),
          "the other threads' accesses are recorded")
    pid = int(m1.group(1))
    procs = [pr for pr in report["processes"] if pr["pid"] == pid]
    after = [pr for pr in procs if pr["argv"][1:] == ["after-exec"]]
    check(len(after) == 1 and after[0]["exit"] == {"code": 5} and
          after[0]["exe"] == os.path.realpath(exe),
          f"the exec'd program is listed with the process's pid, its exe and exit 5: {procs}")
    shutil.rmtree(d, ignore_errors=True)


def leader_exits():
    d = os.path.realpath(scratch_dir())
    with open(os.path.join(d, "late_file"), "w") as f:
        f.write("late\n")
    p, report = run([prog("threads"), "leader-exits", "17"], cwd=d, timeout=60)
    check(p.returncode == 17, f"when the main thread ends first, the status another thread "
          f"exits with is passed through: {p.returncode} {p.stderr.decode()}")
    check(report["exit"] == {"code": 17}, f"the report's exit is 17: {report['exit']}")
    check("stat" in files(report).get(os.path.join(d, "late_file"), []),
          "a thread's access after its main thread ended is recorded")
    shutil.rmtree(d, ignore_errors=True)


def forks():
    d = os.path.realpath(scratch_dir())
    for name in ("fork_file", "vfork_file", "clone3_file", "clone_file", "orphan_file"):
        with open(os.path.join(d, name), "w") as f:
            f.write(f"{name}\n")
    exe = prog("forks")
    nat = native([exe], cwd=d, timeout=30)
    p, report = run([exe], cwd=d, timeout=60)
    strip = lambda s: re.sub(rb"(pid|ppid)=\d+", rb"\1=N", s)
    check(p.returncode == 0 and strip(p.stdout) == strip(nat.stdout),
          f"forks prints under ptvfs what it prints natively:\n{nat.stdout.decode()}---\n"
          f"{p.stdout.decode()}{p.stderr.decode()}")
    check(p.stderr == b"", f"ptvfs adds nothing on stderr: {p.stderr}")
    out = p.stdout.decode()
    fs = files(report)
    procs = {pr["pid"]: pr for pr in report["processes"]}
    main_pid = int(re.search(r"main pid=(\d+)", out).group(1))
    check(report["processes"][0]["pid"] == main_pid,
          f"the command's process is the first listed: {report['processes'][0]}")
    expect = {"fork": ("fork_file", 3), "vfork": ("vfork_file", 4),
              "clone3": ("clone3_file", 6), "clone": ("clone_file", 7)}
    for kind, (name, code) in expect.items():
        m = re.search(rf"^{kind} pid=(\d+) ppid=(\d+) exit={code}$", out, re.M)
        check(m, f"the {kind} child runs and exits {code} under ptvfs: {out}")
        pid, ppid = int(m.group(1)), int(m.group(2))
        check("read" in fs.get(os.path.join(d, name), []),
              f"the {kind} child's read of {name} is recorded: {fs.get(os.path.join(d, name))}")
        check(pid in procs, f"the {kind} child {pid} is listed among the processes")
        entries = [pr for pr in report["processes"] if pr["pid"] == pid]
        check(all(pr["ppid"] == ppid == main_pid for pr in entries),
              f"the {kind} child is listed with its parent's pid as ppid: {entries}")
        check(entries[-1]["exit"] == {"code": code},
              f"the {kind} child's exit status is recorded: {entries}")
    vfork_pid = int(re.search(r"^vfork pid=(\d+)", out, re.M).group(1))
    check(any(pr["argv"][1:] == ["vfork-child"] for pr in report["processes"]
              if pr["pid"] == vfork_pid),
          "the program exec'd by the vfork child is listed with its argv")
    m = re.search(r"^orphan pid=(\d+) ppid=(\d+)$", out, re.M)
    orphan, orphan_parent = int(m.group(1)), int(m.group(2))
    check("read" in fs.get(os.path.join(d, "orphan_file"), []),
          "an orphan's access after its parents exited is recorded (ptvfs waited for it)")
    check(orphan in procs and procs[orphan]["ppid"] == orphan_parent,
          f"the orphan is listed with its parent as ppid: {procs.get(orphan)}")
    check(procs[orphan]["exit"] == {"code": 0}, "the orphan's exit status is recorded")
    check(procs[orphan_parent]["exit"] == {"code": 9},
          "the orphan's parent's exit status is recorded")
    check(report["exit"] == {"code": 0}, "the report's exit is the command's")
    shutil.rmtree(d, ignore_errors=True)


run_sections(threads_open, exec_from_thread, leader_exits, forks)
