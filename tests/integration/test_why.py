"""--why GLOB (DESIGN.md §3): each access to a matching path is told on stderr with the process,
the access kind and the command's own stack, function names included, unwound from outside
(libunwind-ptrace). Nothing is told for other paths, and nothing at all without --why.

progs/why_opener.c: open_the_config() reads CONFIG, write_the_log() creates LOG, main() stats
OTHER; it is built without optimisation so each function is a frame. why_opener_static is the
same program linked statically."""
import os
import re
import subprocess

from ptvfs_test import (PTVFS, check, prog, run_sections, scratch_dir, unprivileged,
                        write_file)


def setup():
    d = scratch_dir()
    write_file(os.path.join(d, "the.conf"), "setting = 1\n")
    write_file(os.path.join(d, "other.txt"), "x\n")
    return os.path.realpath(d)


def ptvfs(options, cmd, as_nobody=False, cwd=None):
    full = [PTVFS, *options, "--", *cmd]
    if as_nobody:
        full = unprivileged(full)
    return subprocess.run(full, capture_output=True, cwd=cwd, timeout=120)


def blocks(stderr):
    """The blocks of --why output: [(header line, [frame lines])]."""
    out = []
    for line in stderr.decode(errors="surrogateescape").splitlines():
        if line.startswith("ptvfs: why "):
            out.append((line, []))
        elif out and line.startswith("    "):
            out[-1][1].append(line)
        else:
            out.append((line, None))  # anything else: not --why's
    return out


def functions(frames):
    """The function names of the frame lines, innermost first."""
    names = []
    for f in frames:
        m = re.match(r"\s+#\d+\s+0x[0-9a-f]+\s+(\S+?)\+0x[0-9a-f]+", f)
        names.append(m.group(1) if m else None)
    return names


def opener_read(program, who, as_nobody=False):
    d = setup()
    conf = os.path.join(d, "the.conf")
    p = ptvfs(["--why", "*the.conf"],
              [prog(program), conf, os.path.join(d, "out.log"), os.path.join(d, "other.txt")],
              as_nobody=as_nobody)
    check(p.returncode == 0, f"{who}: the program runs as natively under --why: {p.stderr}")
    check(p.stdout == b"why_opener: done\n", f"{who}: its stdout is its own: {p.stdout}")
    bs = blocks(p.stderr)
    check(len(bs) == 1 and bs[0][1] is not None,
          f"{who}: one block, for the one access to the.conf, and nothing else on stderr: "
          f"{p.stderr.decode(errors='replace')}")
    header, frames = bs[0]
    m = re.match(r"ptvfs: why (\S+): (\S+) by (\d+) (\S+) \((\S+)\)$", header)
    check(m is not None, f"{who}: the header names path, access, pid, program, exe: {header}")
    path, access, pid, name, exe = m.groups()
    check(path == conf, f"{who}: the path is the one opened: {path}")
    check(access == "read", f"{who}: the access kind is read: {access}")
    check(int(pid) > 1, f"{who}: the pid is given: {pid}")
    check(name == program, f"{who}: the program is named: {name}")
    check(os.path.realpath(exe) == os.path.realpath(prog(program)),
          f"{who}: the program's file is given: {exe}")
    names = functions(frames)
    check("open_the_config" in names and "main" in names,
          f"{who}: the stack names open_the_config and main: {frames}")
    check(names.index("open_the_config") < names.index("main"),
          f"{who}: innermost frame first: open_the_config before main: {names}")
    check(names.index("open_the_config") >= 1,
          f"{who}: the frames inside libc come first (the call that opened it): {names}")
    check(len(frames) <= 17, f"{who}: at most 16 frames and a '...': {len(frames)}")
    check("other.txt" not in p.stderr.decode(errors="replace") and
          "out.log" not in p.stderr.decode(errors="replace"),
          f"{who}: nothing is told of the paths that do not match")


def dynamic():
    opener_read("why_opener", "dynamic program")


def static():
    opener_read("why_opener_static", "static program")


def as_nobody():
    opener_read("why_opener", "as an unprivileged user", as_nobody=True)


def write_access():
    d = setup()
    log = os.path.join(d, "out.log")
    p = ptvfs(["--why", "*.log"], [prog("why_opener"), os.path.join(d, "the.conf"), log])
    bs = blocks(p.stderr)
    check(p.returncode == 0 and len(bs) == 1, f"one block for the log: {p.stderr}")
    header, frames = bs[0]
    check(header.startswith(f"ptvfs: why {log}: write by "),
          f"creating the log is a write: {header}")
    names = functions(frames)
    check("write_the_log" in names and "main" in names and "open_the_config" not in names,
          f"the stack is the one of that moment: write_the_log, main: {names}")


def file_name_glob():
    d = setup()
    p = ptvfs(["--why", "the.conf"], [prog("why_opener"), os.path.join(d, "the.conf")])
    bs = blocks(p.stderr)
    check(len(bs) == 1 and bs[0][0].startswith(f"ptvfs: why {d}/the.conf: read"),
          f"a GLOB without '/' matches the file name: {p.stderr}")
    p = ptvfs(["--why", f"{d}/*"], [prog("why_opener"), os.path.join(d, "the.conf"),
                                    os.path.join(d, "out.log"), os.path.join(d, "other.txt")])
    told = [b[0].split(":")[1].split()[1] for b in blocks(p.stderr)]
    check(sorted(told) == sorted([f"{d}/the.conf", f"{d}/out.log", f"{d}/other.txt"]),
          f"'DIR/*' matches each file below DIR, each access once: {told}")
    kinds = [b[0].split(": ")[2].split(" by ")[0] for b in blocks(p.stderr)]
    check(kinds == ["read", "write", "stat"], f"in the order they happened: {kinds}")


def nothing_without_why():
    d = setup()
    args = [prog("why_opener"), os.path.join(d, "the.conf"), os.path.join(d, "out.log")]
    p = ptvfs([], args)
    check(p.returncode == 0 and p.stderr == b"", f"without --why stderr is empty: {p.stderr}")
    p = ptvfs(["--why", "/no/such/dir/*"], args)
    check(p.returncode == 0 and p.stderr == b"",
          f"with a GLOB that matches nothing stderr is empty: {p.stderr}")


def exit_status():
    d = setup()
    p = ptvfs(["--why", "*"], [prog("why_opener"), os.path.join(d, "missing.conf")])
    check(p.returncode == 1, f"the command's exit status is kept under --why: {p.returncode}")
    err = p.stderr.decode(errors="replace")
    check(f"ptvfs: why {d}/missing.conf: probe by " in err,
          f"a failed lookup is told as a probe: {err[-2000:]}")
    check(f"{d}/missing.conf: No such file or directory" in err,
          "the command's own stderr is still there")


def in_a_view():
    d = setup()
    p = ptvfs(["--ro-bind", d, "/opt/why-conf", "--why", "/opt/why-conf/*"],
              [prog("why_opener"), "/opt/why-conf/the.conf"])
    bs = blocks(p.stderr)
    check(p.returncode == 0 and len(bs) == 1 and
          bs[0][0].startswith("ptvfs: why /opt/why-conf/the.conf: read by "),
          f"in a view the path told is the view path: {p.stderr}")
    check("open_the_config" in functions(bs[0][1]), f"and the stack is there: {bs[0][1]}")


run_sections(dynamic, static, as_nobody, write_access, file_name_glob, nothing_without_why,
             exit_status, in_a_view)
