"""ptvfs keeps traced processes on its own CPU while one of them runs (stops are cheaper there),
and spreads them over the CPUs when several run at once: a parallel build keeps its parallelism,
and no program sees its CPUs restricted."""
import os
import subprocess

from ptvfs_test import check, done, prog, run

ncpu = len(os.sched_getaffinity(0))

# What the command may use is what it would natively be given.
p, _ = run(["nproc"])
check(p.returncode == 0 and int(p.stdout) == ncpu, f"nproc under ptvfs says {p.stdout!r}, natively {ncpu}")
p, _ = run(["python3", "-c", "import os; print(len(os.sched_getaffinity(0)))"])
check(int(p.stdout) == ncpu, f"os.sched_getaffinity under ptvfs: {p.stdout!r}, natively {ncpu}")
p, _ = run([prog("cpu_spin"), "100"])
fields = p.stdout.split()
check(fields[3] == str(ncpu).encode(), f"a single busy process sees all CPUs: {p.stdout!r}")
if ncpu >= 2:
    check(fields[5] == b"1", f"a single busy process is kept on ptvfs's CPU (cheap stops): {p.stdout!r}")

# A process that places itself is left alone.
p, _ = run(["taskset", "-c", "0", "nproc"])
check(p.stdout.strip() == b"1", f"taskset inside ptvfs still works: {p.stdout!r}")

if ncpu >= 2:
    # Two busy processes at once: in the last third of their run they must use two CPUs.
    spin = prog("cpu_spin")
    p, _ = run(["sh", "-c", f"{spin} 900 & {spin} 900; wait"])
    lines = [line.split() for line in p.stdout.decode().splitlines()]
    check(len(lines) == 2, f"both busy processes ran: {p.stdout!r}")
    # What the kernel lets them use at the end, not where a loaded machine happened to run them.
    check(all(int(f[5]) == ncpu for f in lines),
          f"two busy processes under ptvfs may both use every CPU: parallelism is kept: {p.stdout!r}")
else:
    print("one CPU: the parallel case is not checked")
done()
