"""--depfile: a Ninja build whose compile rule is wrapped in ptvfs (gcc is given no -MD) learns
its header dependencies from ptvfs's depfile: it rebuilds an object after a header it includes
changed (names with a space and a '$' included), and not after a header it does not include.
Also: --depfile-target, what counts as a target and a dependency, and the depfile written when
the command was killed."""
import os
import subprocess
import time

from ptvfs_test import (PTVFS, check, give_to_nobody, native, run_sections, scratch_dir,
                        write_file)

FOO_C = '#include "inc.h"\n#include "sp ace.h"\n#include "cost$.h"\nint foo(void) { return INC + SP + COST; }\n'
BAR_C = '#include "other.h"\nint bar(void) { return OTHER; }\n'

BUILD_NINJA = """rule cc
  command = {ptvfs} --depfile $out.d -- gcc -c $in -o $out
  depfile = $out.d
  deps = gcc
build foo.o: cc foo.c
build bar.o: cc bar.c
"""


def make_project():
    d = scratch_dir()
    write_file(os.path.join(d, "foo.c"), FOO_C)
    write_file(os.path.join(d, "bar.c"), BAR_C)
    write_file(os.path.join(d, "inc.h"), "#define INC 1\n")
    write_file(os.path.join(d, "sp ace.h"), "#define SP 2\n")
    write_file(os.path.join(d, "cost$.h"), "#define COST 3\n")
    write_file(os.path.join(d, "other.h"), "#define OTHER 4\n")
    write_file(os.path.join(d, "unrelated.h"), "#define UNRELATED 5\n")
    # Sources older than anything built, so a later touch is surely newer than the objects.
    old = time.time() - 100
    for name in os.listdir(d):
        os.utime(os.path.join(d, name), (old, old))
    return d


def ninja(d, as_nobody, *args):
    return native(["ninja", *args], cwd=d, as_nobody=as_nobody)


def touch(path):
    time.sleep(0.05)
    now = time.time()
    os.utime(path, (now, now))


def ninja_learns_headers(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    d = make_project()
    write_file(os.path.join(d, "build.ninja"), BUILD_NINJA.format(ptvfs=PTVFS))
    give_to_nobody(d)
    p = ninja(d, as_nobody)
    check(p.returncode == 0, f"ninja builds with the wrapped compile rule{who}: "
          f"{p.stdout.decode()} {p.stderr.decode()}")
    for obj in ("foo.o", "bar.o"):
        check(os.path.exists(os.path.join(d, obj)), f"{obj} is built{who}")
        check(not os.path.exists(os.path.join(d, obj + ".d")),
              f"ninja read {obj}.d into its deps log (deps = gcc removes it){who}")
    deps = ninja(d, as_nobody, "-t", "deps", "foo.o").stdout.decode()
    lines = [line.strip() for line in deps.splitlines()[1:] if line.strip()]
    for name in ("foo.c", "inc.h", "sp ace.h", "cost$.h"):
        check(name in lines, f"ninja's deps of foo.o name {name!r}, relative, as written{who}: "
              f"{lines}")
    check("other.h" not in lines and "unrelated.h" not in lines,
          f"ninja's deps of foo.o hold no header foo.c does not include{who}: {lines}")
    check(any(line.endswith("/cc1") for line in lines),
          f"the compiler itself (cc1) is a dependency, by its absolute path{who}")
    check(not any(line.startswith(("/dev/", "/proc/", "/sys/")) for line in lines),
          f"nothing in /dev, /proc, /sys is a dependency{who}")
    check(not any(line.startswith("/tmp/") for line in lines),
          f"gcc's temporary files (written first, then gone) are not dependencies{who}")

    p = ninja(d, as_nobody, "-n")
    check(b"no work to do" in p.stdout, f"right after the build ninja -n has no work{who}: "
          f"{p.stdout.decode()}")

    touch(os.path.join(d, "unrelated.h"))
    p = ninja(d, as_nobody, "-n")
    check(b"no work to do" in p.stdout,
          f"touching a header nothing includes rebuilds nothing{who}: {p.stdout.decode()}")

    for header in ("inc.h", "sp ace.h", "cost$.h"):
        before = os.stat(os.path.join(d, "foo.o")).st_mtime_ns
        bar_before = os.stat(os.path.join(d, "bar.o")).st_mtime_ns
        touch(os.path.join(d, header))
        p = ninja(d, as_nobody, "-d", "explain")
        check(p.returncode == 0, f"ninja rebuilds after {header} changed{who}")
        check(os.stat(os.path.join(d, "foo.o")).st_mtime_ns != before,
              f"touching {header}, which foo.c includes, rebuilds foo.o{who}: {p.stderr.decode()}")
        check(os.stat(os.path.join(d, "bar.o")).st_mtime_ns == bar_before,
              f"touching {header} does not rebuild bar.o, which does not include it{who}")
        check(header.encode() in p.stderr,
              f"ninja -d explain names {header} as the reason{who}: {p.stderr.decode()}")
        p = ninja(d, as_nobody, "-n")
        check(b"no work to do" in p.stdout, f"after the rebuild ninja has no work{who}")

    before = os.stat(os.path.join(d, "foo.o")).st_mtime_ns
    touch(os.path.join(d, "other.h"))
    p = ninja(d, as_nobody)
    check(os.stat(os.path.join(d, "foo.o")).st_mtime_ns == before,
          f"touching other.h rebuilds bar.o only, not foo.o{who}: {p.stdout.decode()}")


def ninja_build():
    ninja_learns_headers(False)


def ninja_build_as_nobody():
    ninja_learns_headers(True)


def depfile_of(d, *options, cmd):
    depfile = os.path.join(d, "out.d")
    p = subprocess.run([PTVFS, "--depfile", depfile, *options, "--", *cmd], cwd=d,
                       capture_output=True)
    text = open(depfile).read() if os.path.exists(depfile) else None
    return p, text


def parse_depfile(text):
    """(targets, deps) of a depfile, unescaped (no backslash before a blank in these names)."""
    text = text.replace("\\\n", " ").replace("\\ ", "\0")
    left, right = text.split(": ", 1) if ": " in text else (text.rstrip(":\n"), "")

    def names(s):
        return [n.replace("\0", " ").replace("\\#", "#").replace("$$", "$") for n in s.split()]
    return names(left), names(right)


def depfile_contents():
    d = make_project()
    p, text = depfile_of(d, cmd=["gcc", "-c", "foo.c", "-o", "foo.o"])
    check(p.returncode == 0 and p.stdout == b"" and p.stderr == b"",
          "gcc wrapped with --depfile runs as natively and prints nothing more")
    check(text is not None, "the depfile is written")
    targets, deps = parse_depfile(text)
    check(targets == ["foo.o"], f"the target is the file written: {targets}")
    check(deps == sorted(deps), "the dependencies are sorted")
    local = [x for x in deps if not x.startswith("/")]
    check(local == ["cost$.h", "foo.c", "inc.h", "sp ace.h"],
          f"the files read below the starting directory, relative: {local}")
    check(text.startswith("foo.o: ") and "sp\\ ace.h" in text and "cost$$.h" in text,
          "Make syntax: TARGET: DEPS, a space escaped with a backslash, '$' as '$$'")
    check(all(len(line) <= 80 for line in text.splitlines()), "long lines are continued")
    # Native gcc -MD's headers are all there (absolute system headers included).
    native_p = subprocess.run(["gcc", "-c", "foo.c", "-o", "native.o", "-MD", "-MF", "native.d"],
                              cwd=d, capture_output=True)
    check(native_p.returncode == 0, "the project compiles natively")
    gcc_targets, gcc_deps = parse_depfile(open(os.path.join(d, "native.d")).read())
    mine = {os.path.realpath(os.path.join(d, x)) for x in deps}
    for dep in gcc_deps:
        check(os.path.realpath(os.path.join(d, dep)) in mine,
              f"{dep}, which gcc -MD lists, is a dependency")

    p, text = depfile_of(d, "--depfile-target", "obj dir/foo.o",
                         cmd=["gcc", "-c", "foo.c", "-o", "foo.o"])
    check(text is not None and text.startswith("obj\\ dir/foo.o: "),
          f"--depfile-target names the target, escaped: {text[:40] if text else None!r}")

    # Outside the starting directory: absolute. Written, then gone: no target.
    elsewhere = scratch_dir()
    write_file(os.path.join(elsewhere, "far.h"), "#define FAR 1\n")
    p, text = depfile_of(d, cmd=["sh", "-c", f"cat {elsewhere}/far.h inc.h > gen.txt; "
                                 f"echo x > gone.tmp; cat gone.tmp >/dev/null; rm gone.tmp; "
                                 f"mkdir -p made.d"])
    targets, deps = parse_depfile(text)
    check(targets == ["gen.txt"], f"targets: the files written and still there, no directory: "
          f"{targets}")
    check(f"{elsewhere}/far.h" in deps and "inc.h" in deps,
          f"a file read outside the starting directory is absolute, one below relative: {deps}")
    check("gone.tmp" not in deps, "a file the command wrote first is no dependency")
    check(not any(x.startswith("/dev/") for x in deps), "/dev/null is no dependency")
    check(any(x.endswith("/sh") or "/dash" in x or "/bash" in x for x in deps),
          f"the programs executed are dependencies: {deps}")
    check(not any(os.path.islink(x) for x in deps if x.startswith("/")),
          "no dependency is a symbolic link (the files they lead to are)")


def killed_command_still_writes_it():
    d = make_project()
    p, text = depfile_of(d, cmd=["sh", "-c", "gcc -c foo.c -o foo.o && kill -TERM $$"])
    check(p.returncode == 128 + 15, f"the command was killed: exit {p.returncode}")
    check(text is not None and text.startswith("foo.o: "),
          "the depfile is written when the command was killed too")


def write_failure_is_status_125():
    """The depfile's directory becomes unwritable during the run: a warning and exit 125."""
    d = make_project()
    out = os.path.join(d, "out")
    os.mkdir(out)
    give_to_nobody(d)
    full = [PTVFS, "--depfile", os.path.join(out, "x.d"), "--", "chmod", "0555", out]
    if os.geteuid() == 0:
        full = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + full
    p = subprocess.run(full, cwd=d, capture_output=True)
    check(p.returncode == 125, f"a depfile that cannot be written: exit 125 ({p.returncode})")
    check(b"depfile" in p.stderr and b"x.d" in p.stderr,
          f"one line says which file could not be written: {p.stderr.decode()}")
    os.chmod(out, 0o755)


run_sections(ninja_build, ninja_build_as_nobody, depfile_contents, killed_command_still_writes_it,
             write_failure_is_status_125)
