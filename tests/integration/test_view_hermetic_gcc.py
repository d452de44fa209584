"""A hermetic gcc compile (DESIGN.md §1, §2), as a build system would run one: the compile is
run once natively under ptvfs to learn what gcc reads and runs, that record becomes a manifest
(DEST lines for the files, --symlink for the links followed on the way, the source as a
relative DEST), and the compile then runs under `ptvfs --hermetic --inputs M` with its headers
a.h and b.h declared at /inc from two unrelated host directories (DEST<TAB>SRC lines), a
private /tmp, the output directory bound at /out and one more header directory bound at
/extra. It must produce the same object file as the native compile; an #include of a header
that exists on the host but is not declared fails with "No such file or directory" and is
recorded as a probe; the virtual directories list exactly what is declared and refuse writes;
the report's inputs are used, unused and undeclared as declared."""
import os

from ptvfs_test import (check, entries, prog, run, run_sections, scratch_dir, write_file)

SOURCE = """#include <stdio.h>
#include <a.h>
#include <b.h>
#include <e.h>
int main(void) { printf("%d\\n", A + B + E); return 0; }
"""
SYSTEM = ("/dev/", "/proc/", "/sys/")


class Fixture:
    """Headers scattered over unrelated host directories, a source directory, an output
    directory, and the native compile's object and record."""

    def __init__(self):
        top = os.path.realpath(scratch_dir())
        self.one, self.two = os.path.join(top, "one"), os.path.join(top, "two")
        self.extra, self.other = os.path.join(top, "extra"), os.path.join(top, "other")
        self.src, self.out = os.path.join(top, "src"), os.path.join(top, "out")
        for d in (self.src, self.out):
            os.makedirs(d)
        write_file(os.path.join(self.one, "a.h"), "#define A 1\n")
        write_file(os.path.join(self.two, "b.h"), "#define B 2\n")
        write_file(os.path.join(self.extra, "e.h"), "#define E 3\n")
        write_file(os.path.join(self.other, "unused.h"), "#error never included\n")
        write_file(os.path.join(self.src, "foo.c"), SOURCE)
        # The native compile, recorded: what a build system learns gcc needs.
        cmd = ["gcc", "-c", "-g0", "-I" + self.one, "-I" + self.two, "-I" + self.extra,
               "foo.c", "-o", "native.o"]
        p, report = run(cmd, cwd=self.src)
        check(p.returncode == 0 and report is not None,
              f"the compile runs natively under ptvfs, recording: {p.stderr.decode()}")
        self.native = report
        self.links, self.declared = self.needs(report)

    def needs(self, report):
        """From a recording: the links followed (--symlink TARGET DEST, as on the host) and
        the regular files read, run or looked at (manifest DEST lines), outside the test's
        own directories, /tmp (gcc's temporary files) and /dev, /proc, /sys."""
        top = os.path.dirname(self.src)
        links, files = [], []
        for e in report["files"]:
            path = e["path"]
            if path.startswith(SYSTEM) or path.startswith(top + "/") or path.startswith("/tmp/"):
                continue
            if os.path.islink(path) and "read" in e["access"]:
                links.append((os.readlink(path), path))
            elif os.path.isfile(path) and {"read", "exec", "stat"} & set(e["access"]):
                files.append(path)
        return links, files

    def manifest(self, extra_lines=()):
        """The manifest: gcc's files, the headers at /inc (DEST<TAB>SRC), a header never
        included, the source as a relative DEST, and EXTRA_LINES."""
        lines = list(self.declared)
        lines += [f"/inc/a.h\t{self.one}/a.h", f"/inc/b.h\t{self.two}/b.h",
                  f"/other/unused.h\t{self.other}/unused.h", "foo.c", *extra_lines]
        path = os.path.join(scratch_dir(), "inputs.txt")
        with open(path, "w") as f:
            f.write("# gcc's inputs, from a native run's record\n")
            f.write("".join(line + "\n" for line in lines))
        return path, lines

    def options(self, manifest):
        opts = ["--hermetic", "--inputs", manifest, "--tmpfs", "/tmp", "--bind", self.out, "/out",
                "--bind", self.extra, "/extra"]
        for target, dest in self.links:
            opts += ["--symlink", target, dest]
        return opts


def view_path(src_dir, line):
    """The view path a manifest line (or a report's inputs entry) names."""
    dest = line.split("\t", 1)[0]
    return os.path.normpath(os.path.join(src_dir, dest))


def compile_hermetic(fx):
    manifest, lines = fx.manifest()
    cmd = ["gcc", "-c", "-g0", "-I/inc", "-I/extra", "foo.c", "-o", "/out/foo.o"]
    p, report = run(cmd, options=fx.options(manifest), cwd=fx.src)
    check(p.returncode == 0, f"gcc compiles in the hermetic view: exit {p.returncode}, "
          f"{p.stderr.decode()}")
    check(p.stdout == b"" and p.stderr == b"", "ptvfs adds nothing to gcc's output")
    obj = os.path.join(fx.out, "foo.o")
    check(os.path.exists(obj), "the object file lands in the bound output directory")
    native = open(os.path.join(fx.src, "native.o"), "rb").read()
    check(open(obj, "rb").read() == native,
          "the hermetic object file is byte-identical to the native compile's")
    check(report is not None, "a report is written")
    fs = entries(report)
    for view, host in (("/inc/a.h", fx.one + "/a.h"), ("/inc/b.h", fx.two + "/b.h"),
                       ("/extra/e.h", fx.extra + "/e.h"), ("/out/foo.o", obj),
                       (fx.src + "/foo.c", fx.src + "/foo.c")):
        e = fs.get(view, {})
        check(e.get("host") == host and e.get("access"),
              f"the report names {view} with its host path {host}: {e}")
    check("write" in fs.get("/out/foo.o", {}).get("access", []),
          "the report records /out/foo.o as written")
    leaked = sorted(path for path in fs if path.startswith((fx.one, fx.two, fx.extra, fx.out)))
    check(not leaked, f"no report path is a host path of a declared or bound file: {leaked}")

    inputs = report.get("inputs")
    check(inputs is not None, "the report has an inputs section with --inputs")
    check(inputs["declared"] == len(lines),
          f"inputs.declared counts the manifest's lines: {inputs['declared']} of {len(lines)}")
    used = {view_path(fx.src, x) for x in inputs["used"]}
    unused = [view_path(fx.src, x) for x in inputs["unused"]]
    for path in ("/inc/a.h", "/inc/b.h", fx.src + "/foo.c"):
        check(path in used, f"{path} is among the used inputs: {sorted(used)}")
    check(unused == ["/other/unused.h"],
          f"the only unused input is the header never included: {unused}")
    every = {view_path(fx.src, line) for line in lines}
    check(used | set(unused) == every and not used & set(unused),
          f"each declared input is either used or unused: "
          f"{sorted(every ^ (used | set(unused)))}")
    undeclared = sorted(inputs["undeclared"])
    check(undeclared == ["/extra/e.h"],
          f"the only undeclared file read is e.h from the --bind (not gcc's temporary file it "
          f"wrote first, nor the --symlink links the view declares): {undeclared}")


def host_only_header(fx):
    """A system header the host has and the manifest does not declare."""
    return next(h for h in ("unistd.h", "fcntl.h", "signal.h", "ctype.h")
                if os.path.exists("/usr/include/" + h) and "/usr/include/" + h not in fx.declared)


def undeclared_header(fx):
    """A header the host has, not declared: gcc must not find it."""
    header = host_only_header(fx)
    write_file(os.path.join(fx.src, "bar.c"), f"#include <stdio.h>\n#include <{header}>\n")
    manifest, _ = fx.manifest(["bar.c"])
    p, report = run(["gcc", "-c", "-g0", "bar.c", "-o", "/out/bar.o"],
                    options=fx.options(manifest), cwd=fx.src)
    err = p.stderr.decode()
    check(p.returncode != 0 and f"{header}: No such file or directory" in err,
          f"#include <{header}>, on the host but not declared, fails with 'No such file or "
          f"directory': exit {p.returncode}, {err}")
    fs = entries(report or {"files": []})
    check("probe" in fs.get("/usr/include/" + header, {}).get("access", []),
          f"the failed lookup of /usr/include/{header} is recorded as a probe: "
          f"{fs.get('/usr/include/' + header)}")
    check(not os.path.exists(os.path.join(fx.out, "bar.o")), "no object file is written")


def virtual_directories(fx):
    """The directories the manifest implies list exactly what is declared and refuse writes."""
    tool = prog("static_viewtool")
    manifest, lines = fx.manifest([tool])
    in_usr_include = sorted({view_path(fx.src, x)[len("/usr/include/"):].split("/")[0]
                             for x in lines if view_path(fx.src, x).startswith("/usr/include/")}
                            | {dest[len("/usr/include/"):].split("/")[0]
                               for _, dest in fx.links if dest.startswith("/usr/include/")})
    steps = ["ls", "/inc", "ls", "/other", "stat", "/inc", "ls", "/usr/include",
             "create", "/inc/new.h", "mkdir", "/usr/include/new", "create", "/new",
             "cat", "/etc/passwd", "stat", "/usr/include/" + host_only_header(fx),
             "create", "/out/made",
             "create", "/tmp/made", "cat", "/inc/a.h"]
    p, report = run([tool, *steps], options=fx.options(manifest), cwd=fx.src)
    got = p.stdout.decode().splitlines()
    want = ["/inc: a.h b.h",
            "/other: unused.h",
            "stat /inc: dir",
            "/usr/include: " + " ".join(in_usr_include),
            "create /inc/new.h: Read-only file system",
            "mkdir /usr/include/new: Read-only file system",
            "create /new: Read-only file system",
            "/etc/passwd: No such file or directory",
            f"stat /usr/include/{host_only_header(fx)}: No such file or directory",
            "create /out/made: ok",
            "create /tmp/made: ok",
            "/inc/a.h: #define A 1"]
    what = ["ls /inc lists exactly a.h b.h", "ls /other lists exactly unused.h",
            "/inc is a directory", "ls /usr/include lists exactly the declared names in it",
            "creating a file in the virtual /inc fails with EROFS",
            "mkdir in the virtual /usr/include fails with EROFS",
            "creating a file at the hermetic view's top fails with EROFS",
            "the host's /etc/passwd is absent", "an undeclared host header is absent",
            "the bound output directory is writable", "the private /tmp is writable",
            "a declared input reads from its SRC"]
    check(p.returncode == 0, f"a static program runs in the hermetic view: {p.returncode} "
          f"{p.stderr.decode()}")
    for i, (w, why) in enumerate(zip(want, what)):
        check(i < len(got) and got[i] == w, f"{why}: {got[i] if i < len(got) else None!r}, "
              f"wanted {w!r}")
    check(not os.path.exists(os.path.join(fx.one, "new.h")), "nothing is created in a.h's SRC "
          "directory")
    check(os.path.exists(os.path.join(fx.out, "made")), "the created file is in the output "
          "directory on the host")


fixture = []


def native_record():
    fixture.append(Fixture())


def section(fn):
    def run_it():
        check(bool(fixture), "the native recording ran")
        fn(fixture[0])
    run_it.__name__ = fn.__name__
    return run_it


run_sections(native_record, section(compile_hermetic), section(undeclared_header),
             section(virtual_directories))
