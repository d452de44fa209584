"""Where ptrace is not permitted (here: ptvfs under another tracer, as in a nested sandbox or
under strace), ptvfs says so in one line and exits 125 before anything of the command runs."""
import os
import subprocess

from ptvfs_test import PTVFS, check, done, scratch_dir

d = scratch_dir()
marker = os.path.join(d, "ran")
for outer in ([PTVFS, "--"], ["strace", "-f", "-o", "/dev/null"]):
    p = subprocess.run(outer + [PTVFS, "--", "touch", marker], capture_output=True, timeout=60)
    check(p.returncode == 125, f"ptvfs under {outer[0]} exits 125, got {p.returncode}: {p.stderr!r}")
    lines = p.stderr.decode().strip().splitlines()
    check(len(lines) == 1 and lines[0].startswith("ptvfs: ") and "ptrace" in lines[0],
          f"one line naming ptrace on stderr: {p.stderr!r}")
    check(not os.path.exists(marker), "nothing of the command ran")
done()
