"""Regression tests of the review fixes, each as a user sees it (progs/edge_calls.c), compared
with a native run where that makes sense:
 1. a non-dumpable process, as nobody: its open is refused with EPERM and reported, never run
    unrecorded;
 2. NULL path with AT_EMPTY_PATH (setxattrat, getxattrat, statx, newfstatat) names the fd's file;
 3. a child cloned with CLONE_UNTRACED (clone, clone3) is traced all the same: its calls work
    and are recorded, and ptvfs waits for it;
 4. a syscall number that is no syscall fails with ENOSYS and does not kill the process;
 5. SIGTERM to ptvfs once the command is gone reaches the process left behind;
 6. O_CREAT|O_EXCL on a dangling link fails EEXIST and does not record its target as written;
 7. rmdir/unlink/rename of "link/" fail ENOTDIR and do not record the link's target as deleted;
 8. taskset's answers about a process that placed itself, and a process placed by another one
    stays where it was placed;
 9. a deleted working directory: no "(deleted)" paths, nothing recorded below it (and a live
    directory whose name ends in " (deleted)" is still followed);
10. openat2 with RESOLVE_IN_ROOT is refused with ENOSYS and reported."""
import os
import re
import signal
import subprocess
import time

from ptvfs_test import (check, files, load_report, native, prog, run, run_sections, scratch_dir,
                        start)

EDGE = prog("edge_calls")
NCPU = len(os.sched_getaffinity(0))


def fresh():
    return os.path.realpath(scratch_dir())


def pid_of(out):
    """The pid a mode of edge_calls printed ("pid N"), or -1."""
    m = re.search(r"^pid (\d+)$", out, re.M)
    return int(m.group(1)) if m else -1


def below(fs, d):
    """FS's entries below the directory D (what a message shows)."""
    return {path: acc for path, acc in fs.items() if path.startswith(d + "/")}


def refusals(report, what, pid):
    return [r for r in report["refused"] if r["what"] == what and r["pid"] == pid]


def nondumpable_as_nobody():
    nat = native([EDGE, "nondumpable", "/etc/hostname"], as_nobody=True)
    check(nat.returncode == 0 and b"openat: -1" not in nat.stdout,
          f"natively a non-dumpable process opens /etc/hostname: {nat.stdout}")
    p, report = run([EDGE, "nondumpable", "/etc/hostname"], as_nobody=True)
    out = p.stdout.decode()
    check(p.returncode == 0, f"the non-dumpable process runs to its end (exit 0): {p.returncode} "
          f"{p.stderr}")
    check("openat: -1 EPERM" in out,
          f"its open of /etc/hostname, which ptvfs cannot read, is refused with EPERM: {out!r}")
    check("read" not in files(report).get("/etc/hostname", []),
          "the refused open is not recorded as a read")
    pid = pid_of(out)
    check(report["processes"][0]["pid"] == pid, "the process in the report is the one that ran")
    check(refusals(report, "openat", pid),
          f"the report's refused list names openat and the process {pid}: {report['refused']}")


def nondumpable_as_root():
    # ptvfs may read a non-dumpable process as root: recorded or refused, never unseen.
    p, report = run([EDGE, "nondumpable", "/etc/hostname"])
    out = p.stdout.decode()
    pid = pid_of(out)
    if "openat: -1 EPERM" in out:
        check(refusals(report, "openat", pid), f"a refused open is reported: {report['refused']}")
    else:
        check(re.search(r"^openat: \d+$", out, re.M) and
              "read" in files(report).get("/etc/hostname", []),
              f"an open that ran is recorded as a read: {out!r} {files(report)}")


def null_path_empty_path():
    def fixture():
        d = fresh()
        for name in "xgsf":
            with open(os.path.join(d, name), "w") as f:
                f.write("hi\n")
        os.setxattr(os.path.join(d, "g"), "user.ptvfs", b"val")
        return d

    nd, d = fixture(), fixture()
    nat = native([EDGE, "empty_path", "x", "g", "s", "f"], cwd=nd)
    p, report = run([EDGE, "empty_path", "x", "g", "s", "f"], cwd=d)
    check(p.returncode == 0 and p.stdout == nat.stdout,
          f"the calls give their native results: {nat.stdout} vs {p.stdout}")
    fs = files(report)
    native_lines = nat.stdout.decode().splitlines()
    if "setxattrat: 0" in native_lines:
        check("write" in fs.get(os.path.join(d, "x"), []),
              f"setxattrat(fd, NULL, AT_EMPTY_PATH) records the fd's file as written: "
              f"{fs.get(os.path.join(d, 'x'))}")
    else:
        print(f"note: setxattrat does not work here ({native_lines[0]}): not checked")
    if "getxattrat: 3" in native_lines:
        check("stat" in fs.get(os.path.join(d, "g"), []),
              f"getxattrat(fd, NULL, AT_EMPTY_PATH) records the fd's file as stat: "
              f"{fs.get(os.path.join(d, 'g'))}")
    check("statx: 0" in native_lines and "newfstatat: 0" in native_lines,
          f"statx and newfstatat take a NULL path with AT_EMPTY_PATH on this kernel: {native_lines}")
    for name, call in (("s", "statx"), ("f", "newfstatat")):
        check("stat" in fs.get(os.path.join(d, name), []),
              f"{call}(fd, NULL, AT_EMPTY_PATH) records the fd's file as stat: "
              f"{fs.get(os.path.join(d, name))}")


def clone_untraced():
    def fixture():
        d = fresh()
        with open(os.path.join(d, "data"), "w") as f:
            f.write("payload")
        return d

    nd, d = fixture(), fixture()
    nat = native([EDGE, "untraced", "data", "mark"], cwd=nd)
    p, report = run([EDGE, "untraced", "data", "mark"], cwd=d)
    out = sorted(p.stdout.decode().splitlines())
    check(out == sorted(nat.stdout.decode().splitlines()),
          f"CLONE_UNTRACED children run as natively: {nat.stdout} vs {p.stdout}")
    for label in ("clone", "clone3"):
        check(f"{label} child read: payload" in out,
              f"a {label}(CLONE_UNTRACED) child opens and reads its file (not ENOSYS): {out}")
    fs = files(report)
    check("read" in fs.get(os.path.join(d, "data"), []),
          f"the children's read is recorded: {below(fs, d)}")
    for n in ("1", "2"):
        check("write" in fs.get(os.path.join(d, "mark." + n), []) and
              os.path.exists(os.path.join(d, "mark." + n)),
              f"the file child {n} created once its parent was gone is recorded: {below(fs, d)}")
    procs = report["processes"]
    check(len(procs) == 3 and all(pr["exit"] == {"code": 0} for pr in procs),
          f"ptvfs waited for both children and saw them end: {procs}")


def bogus_syscall_numbers():
    nat = native([EDGE, "bad_nr"])
    p, report = run([EDGE, "bad_nr"])
    check(nat.stdout == b"syscall(-1): -1 ENOSYS\nsyscall(0x50000000): -1 ENOSYS\nalive\n",
          f"natively both fail with ENOSYS: {nat.stdout}")
    check(p.stdout == nat.stdout, f"under ptvfs as natively, the process lives on: {p.stdout}")
    check(p.returncode == 0 and report["exit"] == {"code": 0} and p.stderr == b"",
          f"the process is not killed and exits 0: {p.returncode} {p.stderr}")


def pids_with_parent(ppid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                out.append(int(name))
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sigterm_after_command_exited():
    p, report_path = start(["sh", "-c", "sleep 30 & echo started"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    check(p.stdout.readline() == b"started\n", "the command ran")
    # Wait until the command (sh, ptvfs's only child) is gone; its background sleep runs on.
    deadline = time.monotonic() + 5
    while pids_with_parent(p.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    check(not pids_with_parent(p.pid) and p.poll() is None,
          "the command exited and ptvfs waits for its background process")
    time.sleep(0.1)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    took = time.monotonic() - t0
    check(p.poll() is not None and took < 3,
          f"SIGTERM to ptvfs after the command exited ends it within seconds, not after the "
          f"background sleep's 30 s: {'still running after' if p.poll() is None else 'took'} "
          f"{took:.1f} s")
    report = load_report(report_path)
    check(report is not None and report["exit"] == {"code": 0},
          f"the report is written with the command's own exit: {report and report['exit']}")
    sleeps = [pr for pr in report["processes"] if pr["argv"][:1] == ["sleep"]]
    check(sleeps and sleeps[0]["exit"] == {"signal": 15, "code": 143},
          f"the background sleep got the SIGTERM: {sleeps}")
    check(not alive(sleeps[0]["pid"]), "no background sleep is left running")
    p.stdout.close()
    p.stderr.close()


def excl_on_dangling_link():
    def fixture():
        d = fresh()
        os.symlink("target", os.path.join(d, "dangle"))
        return d

    nd, d = fixture(), fixture()
    nat = native([EDGE, "excl", "dangle"], cwd=nd)
    p, report = run([EDGE, "excl", "dangle"], cwd=d)
    expect = b"open O_CREAT|O_EXCL: -1 EEXIST\nopenat2 O_CREAT|O_EXCL: -1 EEXIST\n"
    check(nat.stdout == expect, f"natively O_CREAT|O_EXCL on a dangling link fails: {nat.stdout}")
    check(p.stdout == expect, f"under ptvfs it fails with EEXIST as natively: {p.stdout}")
    check(not os.path.lexists(os.path.join(d, "target")), "the link's target is not created")
    fs = files(report)
    check("stat" in fs.get(os.path.join(d, "dangle"), []),
          f"the dangling link is recorded as stat: {below(fs, d)}")
    check("write" not in fs.get(os.path.join(d, "target"), []),
          f"the link's target is not recorded as written: {below(fs, d)}")


def trailing_slash_on_link():
    def fixture():
        d = fresh()
        os.mkdir(os.path.join(d, "tdir"))
        os.symlink("tdir", os.path.join(d, "tlink"))
        return d

    nd, d = fixture(), fixture()
    nat = native([EDGE, "slash", "tlink"], cwd=nd)
    p, report = run([EDGE, "slash", "tlink"], cwd=d)
    expect = (b"rmdir: -1 ENOTDIR\nunlink: -1 ENOTDIR\nunlinkat AT_REMOVEDIR: -1 ENOTDIR\n"
              b"rename: -1 ENOTDIR\n")
    check(nat.stdout == expect, f"natively each call on \"tlink/\" fails ENOTDIR: {nat.stdout}")
    check(p.stdout == expect, f"under ptvfs each fails ENOTDIR as natively: {p.stdout}")
    check(os.path.isdir(os.path.join(d, "tdir")) and os.path.islink(os.path.join(d, "tlink")),
          "the link and its target directory are still there")
    fs = files(report)
    check("delete" not in fs.get(os.path.join(d, "tdir"), []),
          f"the link's target directory is not recorded as deleted: {below(fs, d)}")


def masks(out):
    """taskset -p's output without the pids."""
    return re.sub(rb"^pid \d+'s", b"pid N's", out, flags=re.M)


def affinity():
    if NCPU < 2:
        print("one CPU: affinity not checked")
        return
    script = "taskset -c 0 sleep 1 & sleep 0.2; taskset -p $!"
    nat = native(["sh", "-c", script])
    p, _ = run(["sh", "-c", script])
    check(nat.returncode == 0 and masks(nat.stdout).endswith(b"mask: 1\n"),
          f"natively taskset -p shows the mask the process set: {nat.stdout}")
    check(masks(p.stdout) == masks(nat.stdout),
          f"taskset -p of a process that placed itself shows its own mask under ptvfs: "
          f"{p.stdout} (natively {nat.stdout})")

    # A busy child pinned by another process (taskset -pc) stays pinned while ptvfs spreads
    # and packs the others; the CPU is one ptvfs does not pack on, so a move shows.
    for who, res in (("natively", native([EDGE, "pin_other"])),
                     ("under ptvfs", run([EDGE, "pin_other"])[0])):
        out = res.stdout.decode()
        target = re.search(r"^target (\d+)$", out, re.M)
        lists = re.findall(r"^busy child, [^:]*: (.*)$", out, re.M)
        check(res.returncode == 0 and target and "taskset: 0" in out and len(lists) == 2,
              f"the busy child was pinned {who}: {out!r}")
        check(lists == [target.group(1)] * 2,
              f"a process placed by taskset -pc keeps its CPU {who} (Cpus_allowed_list of "
              f"/proc/PID/status, while another process runs and after): {out!r}")


GONE = "mkdir gone && cd gone && rmdir ../gone && cat x; touch y"


def deleted_cwd():
    nd, d = fresh(), fresh()
    nat = native(["sh", "-c", GONE], cwd=nd)
    p, report = run(["sh", "-c", GONE], cwd=d)
    check((p.returncode, p.stdout, p.stderr) == (nat.returncode, nat.stdout, nat.stderr),
          f"the commands fail in a deleted directory as natively: {nat.returncode} {nat.stderr} "
          f"vs {p.returncode} {p.stderr}")
    check(not os.path.exists(os.path.join(d, "gone")), "nothing is left behind")
    fs = files(report)
    check(not [path for path in fs if " (deleted)" in path],
          f"no recorded path has the kernel's \" (deleted)\" suffix: "
          f"{[path for path in fs if ' (deleted)' in path]}")
    check(not [path for path, acc in fs.items() if "write" in acc and path != d + "/gone"],
          f"nothing is recorded as written but the mkdir: {below(fs, d)}")
    check(not [path for path in fs if path.startswith(d + "/gone/") or path.endswith("/y")],
          f"nothing is recorded below the deleted directory: {below(fs, d)}")


def deleted_cwd_process_entries():
    d = fresh()
    _, report = run(["sh", "-c", GONE], cwd=d)
    cwds = [pr["cwd"] for pr in report["processes"]]
    check(not [c for c in cwds if " (deleted)" in c],
          f"no process's cwd in the report has the kernel's \" (deleted)\" suffix, a path that "
          f"does not exist: {cwds}")


def live_dir_named_deleted():
    # Only a removed directory resolves nothing: one whose name merely says so is followed.
    d = fresh()
    for name in ("live (deleted)", "a (deleted) b"):
        sub = os.path.join(d, name)
        os.mkdir(sub)
        with open(os.path.join(sub, "x"), "w") as f:
            f.write("hi\n")
        p, report = run(["sh", "-c", "cat x; touch y"], cwd=sub)
        check(p.returncode == 0 and p.stdout == b"hi\n", f"the command works in {name!r}")
        fs = files(report)
        check("read" in fs.get(os.path.join(sub, "x"), []),
              f"cat x in a live directory named {name!r} is recorded as a read: {below(fs, sub)}")
        check("write" in fs.get(os.path.join(sub, "y"), []),
              f"touch y in a live directory named {name!r} is recorded as a write: {below(fs, sub)}")


def openat2_in_root():
    d = fresh()
    with open(os.path.join(d, "file"), "w") as f:
        f.write("hi\n")
    nat = native([EDGE, "in_root", "file"], cwd=d)
    check(b"openat2 RESOLVE_IN_ROOT: 0\n" in nat.stdout, f"natively it opens: {nat.stdout}")
    p, report = run([EDGE, "in_root", "file"], cwd=d)
    out = p.stdout.decode()
    check("openat2 RESOLVE_IN_ROOT: -1 ENOSYS" in out,
          f"openat2 with RESOLVE_IN_ROOT fails with ENOSYS under ptvfs: {out!r}")
    pid = pid_of(out)
    check(refusals(report, "openat2", pid),
          f"the refusal is in the report, naming openat2 and the process: {report['refused']}")


run_sections(nondumpable_as_nobody, nondumpable_as_root, null_path_empty_path, clone_untraced,
             bogus_syscall_numbers, sigterm_after_command_exited, excl_on_dangling_link,
             trailing_slash_on_link, affinity, deleted_cwd, deleted_cwd_process_entries,
             live_dir_named_deleted, openat2_in_root)
