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
check(p.stdout.split()[-1] == str(ncpu).encode(), f"a single busy process sees all CPUs: {p.stdout!r}")

# A process that places itself is left alone.
p, _ = run(["taskset", "-c", "0", "nproc"])
check(p.stdout.strip() == b"1", f"taskset inside ptvfs still works: {p.stdout!r}")

if ncpu >= 2:
    # Two busy processes at once: in the last third of their run they must use two CPUs.
    spin = prog("cpu_spin")
    p, _ = run(["sh", "-c", f"{spin} 900 & {spin} 900; wait"])
    masks = [int(line.split()[1]) for line in p.stdout.decode().splitlines()]
    check(len(masks) == 2, f"both busy processes ran: {p.stdout!r}")
    union = masks[0] | masks[1]
    check(bin(union).count("1") >= 2,
          f"two busy processes under ptvfs ran on two CPUs (masks {masks}): parallelism is kept")
else:
    print("one CPU: the parallel case is not checked")
done()
