"""`ptvfs show REPORT` (DESIGN.md §1): a report summarised for a person, well under a screenful
for a compile: the command and its exit, the programs, counts per access kind, the directories
read most, what was written, the unused and undeclared inputs, and what the record could not
follow. Paths keep their bytes (\\udcXX escapes in the report are printed as the raw bytes). A
file that is not a report: one line on stderr, exit 125."""
import json
import os
import shutil
import subprocess

from ptvfs_test import PTVFS, check, prog, run_sections, scratch_dir, start, write_file

SCREEN = 24


def record(cmd, options=(), cwd=None, as_nobody=False):
    """Run CMD under ptvfs; the path of its report (kept until the test ends)."""
    p, report_path = start(cmd, options, cwd=cwd, as_nobody=as_nobody,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=300)
    check(os.path.exists(report_path), f"{cmd[0]} under ptvfs wrote a report: {err}")
    return report_path, p.returncode


def show(path):
    return subprocess.run([PTVFS, "show", path], capture_output=True, timeout=60)


def section(lines, label):
    """The values of one label's lines: its own line and the unlabelled ones after it."""
    out = None
    for line in lines:
        head, value = line[:11].strip(), line[11:]
        if out is None:
            if head == label:
                out = [value]
        elif head == "":
            out.append(value)
        else:
            break
    return out or []


def gcc_compile():
    if not shutil.which("gcc"):
        check(False, "gcc is installed (scripts/bootstrap)")
    d = os.path.realpath(scratch_dir())
    write_file(os.path.join(d, "foo.c"),
               "#include <stdio.h>\n#include <string.h>\nint main(void) "
               "{ puts(strchr(\"ab\", 'b')); return 0; }\n")
    report_path, rc = record(["gcc", "-c", "foo.c", "-o", "foo.o"], cwd=d)
    check(rc == 0, "gcc compiles under ptvfs")
    p = show(report_path)
    check(p.returncode == 0 and p.stderr == b"", f"show exits 0 and says nothing on stderr: "
          f"{p.returncode} {p.stderr}")
    text = p.stdout.decode()
    lines = text.splitlines()
    print(text)
    check(len(lines) < SCREEN, f"the summary of a compile is under a screenful: {len(lines)} lines")
    check(section(lines, "command") == ["gcc -c foo.c -o foo.o"], f"the command: {lines[0]}")
    check(section(lines, "directory") == [d], "the directory it ran in")
    check(section(lines, "exit") == ["0"], "its exit status")
    procs = section(lines, "processes")
    check(procs and "cc1" in procs[0] and "gcc" in procs[0],
          f"the programs it ran, the compiler proper included: {procs}")
    report = json.load(open(report_path, encoding="utf-8"))
    counts = {k: sum(k in f["access"] for f in report["files"])
              for k in ["read", "write", "delete", "exec", "stat", "list", "probe"]}
    want = f"{len(report['files'])}: " + ", ".join(f"{n} {k}" for k, n in counts.items())
    check(section(lines, "files") == [want], f"counts per access kind: {section(lines, 'files')} "
          f"(want {want})")
    most = section(lines, "read most")
    check(1 <= len(most) <= 5, f"up to five directories read most: {most}")
    check(any(m.split()[0] == "/usr/include" or m.split()[0].startswith("/usr/include/")
              for m in most), f"/usr/include is among the directories read most: {most}")
    numbers = [int(m.split()[-2]) for m in most]
    check(numbers == sorted(numbers, reverse=True), f"most read first: {numbers}")
    written = section(lines, "written")
    check(written and written[0] == os.path.join(d, "foo.o"), f"the object file is written: "
          f"{written}")
    check(not any("/tmp/cc" in w and not w.startswith("and ") for w in written),
          f"gcc's temporary files are not shown as outputs: {written}")
    check(section(lines, "record") == ["complete: nothing refused or unrecorded"],
          "nothing refused or unrecorded")


def inputs_and_refusal():
    d = os.path.realpath(scratch_dir())
    for name in ["a.h", "b.h", "c.h", "d.h"]:
        write_file(os.path.join(d, name), f"/* {name} */\n")
    manifest = os.path.join(d, "inputs.txt")
    write_file(manifest, "a.h\nb.h\nc.h\n")
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    os.chmod(mnt, 0o777)
    report_path, rc = record(
        ["sh", "-c", f"cat a.h d.h >/dev/null && {prog('holes')} mount {mnt} >/dev/null"],
        options=["--inputs", manifest], cwd=d, as_nobody=True)
    p = show(report_path)
    check(p.returncode == 0, f"show exits 0: {p.stderr}")
    text = p.stdout.decode()
    print(text)
    lines = text.splitlines()
    report = json.load(open(report_path, encoding="utf-8"))
    inputs = report["inputs"]
    und = inputs["undeclared"]
    check(section(lines, "inputs") == [f"3 declared: 1 used, 2 unused, {len(und)} undeclared"],
          f"the inputs line: {section(lines, 'inputs')}")
    check(section(lines, "unused") == [os.path.join(d, "b.h"), os.path.join(d, "c.h")],
          f"the unused inputs, in manifest order: {section(lines, 'unused')}")
    want = und[:10] + ([f"and {len(und) - 10} more"] if len(und) > 10 else [])
    check(section(lines, "undeclared") == want,
          f"the first ten undeclared files and how many more: {section(lines, 'undeclared')}")
    check(os.path.join(d, "d.h") in und, "d.h is undeclared in the report")
    refused = section(lines, "refused")
    check(any("mount" in r for r in refused) and any("umount2" in r for r in refused),
          f"the refused mount and umount2 are shown: {refused}")
    check(len(refused) == len(report["refused"]), "each refusal on a line")
    check(section(lines, "record") == [], "the record is not said to be complete")


def limits():
    """A hand-written report: long lists stop after ten, a signal is named."""
    d = scratch_dir()
    report = {
        "report_format": 1, "ptvfs_version": "0.1.0", "command": ["make", "-j", "it's"],
        "cwd": "/src", "exit": {"signal": 9, "code": 137},
        "processes": [{"pid": 10, "ppid": 1, "exe": "/usr/bin/make", "argv": ["make"],
                       "cwd": "/src", "exit": {"signal": 9, "code": 137}},
                      {"pid": 11, "ppid": 10, "exe": "/usr/bin/cc", "argv": ["cc"],
                       "cwd": "/src", "exit": {"code": 1}}],
        "files": [{"path": f"/src/out{i:02}.o", "host": f"/src/out{i:02}.o", "access": ["write"]}
                  for i in range(25)],
        "inputs": {"declared": 30, "used": [], "unused": [f"/in/{i:02}" for i in range(30)],
                   "undeclared": []},
        "refused": [], "unrecorded": [{"pid": 11, "what": "open", "detail": "path too long"}],
    }
    path = os.path.join(d, "r.json")
    json.dump(report, open(path, "w"))
    p = show(path)
    lines = p.stdout.decode().splitlines()
    print(p.stdout.decode())
    check(p.returncode == 0, f"show exits 0: {p.stderr}")
    check(section(lines, "command") == ["make -j 'it'\\''s'"],
          f"arguments are quoted as a shell needs: {section(lines, 'command')}")
    check(section(lines, "exit") == ["killed by signal 9 (SIGKILL), status 137"],
          f"a signal is named: {section(lines, 'exit')}")
    check(section(lines, "failed") == ["pid 11 /usr/bin/cc: 1"],
          f"a process that failed is named: {section(lines, 'failed')}")
    check(section(lines, "written") == [f"/src/out{i:02}.o" for i in range(10)] +
          ["and 15 more"], f"ten outputs, then how many more: {section(lines, 'written')}")
    check(section(lines, "unused")[-1] == "and 20 more", "ten unused inputs, then how many more")
    check(section(lines, "unrecorded") == ["pid 11: open: path too long"],
          f"what was not recorded: {section(lines, 'unrecorded')}")
    check(len(lines) < 40, f"long lists do not make a long summary: {len(lines)}")


def non_utf8():
    d = os.path.realpath(scratch_dir())
    name = b"out\xff\xfe.o"
    report_path, rc = record(["sh", "-c", 'echo x > "$1"', "sh", name], cwd=d)
    check(rc == 0 and os.path.exists(os.path.join(os.fsencode(d), name)), "the file was made")
    check("\\udcff" in open(report_path, encoding="utf-8").read(),
          "the report has the \\udcff escape")
    p = show(report_path)
    check(p.returncode == 0, f"show reads a report with \\udcXX escapes: {p.stderr}")
    written = [line[11:] for line in p.stdout.splitlines() if line.startswith(b"written")]
    check(written == [os.path.join(os.fsencode(d), name)],
          f"the written file is printed with its own bytes: {p.stdout}")
    check(b"\\udc" not in p.stdout, "no escape is printed")


def bad_input():
    d = scratch_dir()
    cases = {"missing": os.path.join(d, "nope.json"), "a directory": d}
    for what, text in [("not JSON", "hello"), ("JSON, not a report", '{"files": []}'),
                       ("an array", "[1, 2]"), ("another format", '{"report_format": 2}'),
                       ("cut short", '{"report_format": 1, "files": [')]:
        path = os.path.join(d, what.replace(" ", "_").replace(",", ""))
        write_file(path, text)
        cases[what] = path
    for what, path in cases.items():
        p = show(path)
        check(p.returncode == 125, f"{what}: exit 125: {p.returncode}")
        check(p.stdout == b"" and len(p.stderr.splitlines()) == 1 and
              p.stderr.startswith(b"ptvfs: "), f"{what}: one line on stderr: {p.stderr}")
    for args in [[], ["a", "b"]]:
        p = subprocess.run([PTVFS, "show", *args], capture_output=True)
        check(p.returncode == 125 and len(p.stderr.splitlines()) == 1,
              f"show {args}: one line and 125: {p.stderr}")


run_sections(gcc_compile, inputs_and_refusal, limits, non_utf8, bad_input)
