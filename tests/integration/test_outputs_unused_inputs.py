"""--unused-inputs: a compile that includes one of three declared headers writes exactly the two
others, each as its manifest line wrote it (relative stays relative, a DEST<TAB>SRC line gives its
DEST), in manifest order: Bazel's unused_inputs_list. Without --inputs it is an error."""
import os
import subprocess

from ptvfs_test import (PTVFS, check, give_to_nobody, run, run_sections, scratch_dir,
                        unprivileged, write_file)

MANIFEST = """# the headers the action declares
inc/a.h
./inc/b.h
inc/c.h\tinc/c.h
foo.c
"""


def project():
    d = scratch_dir()
    write_file(os.path.join(d, "foo.c"), '#include "inc/b.h"\nint foo(void) { return B; }\n')
    for name in ("a", "b", "c"):
        write_file(os.path.join(d, "inc", f"{name}.h"), f"#define {name.upper()} 1\n")
    write_file(os.path.join(d, "inputs.txt"), MANIFEST)
    out = os.path.join(d, "out")
    os.mkdir(out)
    give_to_nobody(d)
    return d


def unused_of_a_compile(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    d = project()
    unused = os.path.join(d, "out", "unused.txt")
    p, report = run(["gcc", "-c", "foo.c", "-o", "out/foo.o"],
                    options=["--inputs", "inputs.txt", "--unused-inputs", unused], cwd=d,
                    as_nobody=as_nobody)
    check(p.returncode == 0, f"the compile runs with --inputs over the host{who}: "
          f"{p.stderr.decode()}")
    check(p.stdout == b"" and p.stderr == b"", f"ptvfs adds nothing to gcc's output{who}")
    check(os.path.exists(unused), f"the unused-inputs list is written{who}")
    text = open(unused).read()
    check(text == "inc/a.h\ninc/c.h\n",
          f"exactly the two headers never included, as the manifest wrote them{who}: {text!r}")
    check([os.path.relpath(x, d) for x in report["inputs"]["unused"]] == ["inc/a.h", "inc/c.h"],
          f"the report's unused list agrees{who}: {report['inputs']['unused']}")


def compile_with_inputs():
    unused_of_a_compile(False)


def compile_with_inputs_as_nobody():
    unused_of_a_compile(True)


def all_used_is_an_empty_file():
    d = project()
    unused = os.path.join(d, "out", "unused.txt")
    p, _ = run(["cat", "inc/a.h", "./inc/b.h", "inc/c.h", "foo.c"],
               options=["--inputs", "inputs.txt", "--unused-inputs", unused], cwd=d)
    check(p.returncode == 0 and open(unused).read() == "",
          "every declared input read: the list is empty (the file is still written)")


def needs_inputs():
    d = project()
    unused = os.path.join(d, "out", "unused.txt")
    p = subprocess.run([PTVFS, "--unused-inputs", unused, "--", "true"], cwd=d,
                       capture_output=True)
    check(p.returncode == 125, f"--unused-inputs without --inputs: exit 125 ({p.returncode})")
    check(b"--unused-inputs" in p.stderr and b"--inputs" in p.stderr and
          len(p.stderr.splitlines()) == 1, f"one line says why: {p.stderr.decode()}")
    check(not os.path.exists(unused), "nothing is written")
    p = subprocess.run(unprivileged([PTVFS, "--unused-inputs", "/nonexistent/dir/u.txt",
                                     "--inputs", "inputs.txt", "--", "true"]), cwd=d,
                       capture_output=True)
    check(p.returncode == 125 and b"/nonexistent/dir" in p.stderr,
          f"an unused-inputs list in a directory that does not exist: exit 125: "
          f"{p.stderr.decode()}")


run_sections(compile_with_inputs, compile_with_inputs_as_nobody, all_used_is_an_empty_file,
             needs_inputs)
