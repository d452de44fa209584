"""A gcc compile under ptvfs runs as natively and its record holds every header gcc's own
-MD lists, the headers gcc probed for and did not find, and the programs it ran (cc1, as)."""
import os
import re
import shutil
import subprocess

from ptvfs_test import check, done, files, run, tmpdir

SOURCE = """#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "local.h"
int main(void) { printf("%d\\n", LOCAL + (int)strlen("x") + (int)sqrt(4.0)); return 0; }
"""


def depfile_deps(d, path):
    text = open(path).read().replace("\\\n", " ")
    deps = text.split(":", 1)[1].split()
    return {os.path.realpath(os.path.join(d, dep)) for dep in deps}


def compile_in(d, as_nobody):
    with open(os.path.join(d, "foo.c"), "w") as f:
        f.write(SOURCE)
    with open(os.path.join(d, "local.h"), "w") as f:
        f.write("#define LOCAL 1\n")
    # Natively first: gcc's own list of headers.
    native = subprocess.run(["gcc", "-c", "foo.c", "-MD", "-MF", "native.d", "-o", "native.o"],
                            cwd=d, capture_output=True)
    check(native.returncode == 0, "the test source compiles natively")
    p, report = run(["gcc", "-c", "foo.c", "-o", "foo.o"], cwd=d, as_nobody=as_nobody)
    check(p.returncode == 0, f"gcc under ptvfs succeeds: {p.stderr.decode()}")
    check(p.stdout == b"" and p.stderr == b"", "ptvfs adds nothing to gcc's output")
    check(open(os.path.join(d, "foo.o"), "rb").read() == open(os.path.join(d, "native.o"), "rb").read(),
          "the object file is byte-identical to the native compile")
    check(report is not None, "a report is written")
    fs = files(report)
    read = {os.path.realpath(p) for p, a in fs.items() if "read" in a}
    for dep in depfile_deps(d, os.path.join(d, "native.d")):
        check(dep in read, f"header {dep} that gcc -MD lists is recorded as read")
    check(any(a == ["probe"] or "probe" in a for p, a in fs.items() if p.endswith("/stdio.h")),
          "gcc's failed header probes for stdio.h in earlier include directories are recorded")
    execs = [p for p, a in fs.items() if "exec" in a]
    check(any(p.endswith("/cc1") for p in execs), "cc1 is recorded as executed")
    check(any(re.search(r"/(x86_64-linux-gnu-)?as$", p) for p in execs), "the assembler is recorded as executed")
    check(os.path.join(d, "foo.o") in fs and "write" in fs[os.path.join(d, "foo.o")], "foo.o is recorded as written")
    check(report["exit"] == {"code": 0}, "the report's exit is gcc's")
    names = [os.path.basename(pr["exe"]) for pr in report["processes"]]
    check(any(n.startswith("cc1") for n in names) and any(n.endswith("as") for n in names),
          f"cc1 and as appear among the processes: {names}")
    check(all(pr["exit"] is not None for pr in report["processes"]), "every process has an exit status")


for as_nobody in (False, True):
    d = tmpdir()
    os.chmod(d, 0o777)
    compile_in(d, as_nobody)
    shutil.rmtree(d, ignore_errors=True)
done()
