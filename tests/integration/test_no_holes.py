"""No holes (DESIGN.md §7): what ptvfs cannot follow is refused, never run unrecorded.
An i386 syscall (int $0x80) from a 64-bit program kills it with a message naming it and the
call never takes effect; so does an x32 syscall unless it is followed; io_uring_setup fails with
ENOSYS; mount, umount2 and chroot fail with EPERM and are listed in the report's "refused"."""
import os
import shutil

from ptvfs_test import check, files, native, prog, run, run_sections, scratch_dir

HOLES = prog("holes")


def i386(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    d = os.path.realpath(scratch_dir())
    nat = native([HOLES, "i386", "native_dir"], cwd=d, as_nobody=as_nobody)
    ia32 = nat.returncode == 0 and os.path.isdir(os.path.join(d, "native_dir"))
    p, report = run([HOLES, "i386", "traced_dir"], cwd=d, as_nobody=as_nobody)
    check(not os.path.exists(os.path.join(d, "traced_dir")),
          f"an i386 mkdir under ptvfs never takes effect{who}")
    check(p.stdout == b"before\n", f"the program does not go on after its i386 syscall{who}: "
          f"{p.stdout}")
    check(p.returncode == 128 + 9, f"the program is killed (ptvfs exits 137){who}: "
          f"{p.returncode}")
    err = p.stderr.decode()
    check(len(err.splitlines()) == 1 and "holes" in err and ("32-bit" in err or "i386" in err),
          f"one message names the program and its 32-bit syscall{who}: {err!r}")
    check(report is not None and report["exit"] == {"signal": 9, "code": 137},
          f"the report is written with the kill{who}")
    check(any("32" in r["what"] or "i386" in r["what"] for r in report["refused"]),
          f"the 32-bit syscall is in the report's refused list{who}: {report['refused']}")
    # The check above can fail only if the machine runs i386 code: say so when it does not.
    if not ia32:
        print("note: this kernel does not run i386 syscalls natively")
    shutil.rmtree(d, ignore_errors=True)


def x32():
    d = os.path.realpath(scratch_dir())
    nat = native([HOLES, "x32", "native_dir"], cwd=d)
    p, report = run([HOLES, "x32", "traced_dir"], cwd=d)
    made = os.path.isdir(os.path.join(d, "traced_dir"))
    fs = files(report) if report else {}
    check(not made or "write" in fs.get(os.path.join(d, "traced_dir"), []),
          "an x32 mkdir either is refused or is recorded")
    if p.returncode == 0:
        check(p.stdout == nat.stdout, f"a followed x32 syscall gives the native result: "
              f"{nat.stdout} vs {p.stdout}")
    else:
        err = p.stderr.decode()
        check(p.returncode == 137 and "x32" in err and "holes" in err,
              f"a refused x32 syscall kills the program with a message naming both: {err!r}")
        check(not made, "a refused x32 syscall does not take effect")
    shutil.rmtree(d, ignore_errors=True)


def io_uring():
    nat = native([HOLES, "io_uring"])
    p, report = run([HOLES, "io_uring"])
    check(p.returncode == 0 and p.stdout == b"before\nio_uring_setup: -1 ENOSYS\nafter\n",
          f"io_uring_setup fails with ENOSYS under ptvfs (natively: "
          f"{nat.stdout.decode().splitlines()[1:2]}): {p.stdout.decode()}")
    check(p.stderr == b"", f"refusing io_uring prints nothing: {p.stderr.decode()}")


def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def mount_and_chroot(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    d = os.path.realpath(scratch_dir())
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    p, report = run([HOLES, "mount", mnt], cwd=d, as_nobody=as_nobody)
    if mounted(mnt):
        os.system(f"umount {mnt}")
        check(False, f"a mount under ptvfs does not happen{who}")
    check(p.stdout == b"before\nmount: -1 EPERM\numount2: -1 EPERM\nafter\n",
          f"mount and umount2 fail with EPERM{who}: {p.stdout.decode()}")
    what = [r["what"] for r in report["refused"]]
    check("mount" in what and "umount2" in what,
          f"mount and umount2 are in the report's refused list{who}: {report['refused']}")
    check(p.stderr == b"", f"refusing a mount prints nothing{who}: {p.stderr.decode()}")

    p, report = run([HOLES, "chroot", d], cwd=d, as_nobody=as_nobody)
    check(p.stdout == b"before\nchroot: -1 EPERM\naccess /etc/passwd after chroot: 0\nafter\n",
          f"chroot fails with EPERM and the root stays{who}: {p.stdout.decode()}")
    check([r["what"] for r in report["refused"]] == ["chroot"],
          f"chroot is in the report's refused list{who}: {report['refused']}")
    pid = report["processes"][0]["pid"]
    check(report["refused"][0]["pid"] == pid, f"the refusal names the process{who}")
    shutil.rmtree(d, ignore_errors=True)


def i386_as_root():
    i386(as_nobody=False)


def i386_as_nobody():
    i386(as_nobody=True)


def mount_and_chroot_as_root():
    mount_and_chroot(as_nobody=False)


def mount_and_chroot_as_nobody():
    mount_and_chroot(as_nobody=True)


run_sections(i386_as_root, i386_as_nobody, x32, io_uring, mount_and_chroot_as_root,
             mount_and_chroot_as_nobody)
