"""Paths are bytes (DESIGN.md §2): a name that is not valid UTF-8 is written in the report as
\\udcXX escapes (PEP 383), so Python's json gives "bad\\udcffname" and os.fsencode gives back the
original bytes; valid UTF-8 and characters JSON must escape come through unchanged. Each name is
read, listed and created by real programs (cat, ls, a shell), in a directory whose own name is
not UTF-8 either, and the report stays valid UTF-8 JSON."""
import json
import os
import shutil
import subprocess

from ptvfs_test import PTVFS, check, done, files, scratch_dir

NAMES = [
    b"bad\xffname",
    b"surrogate\xed\xb3\xbf",       # UTF-8 of U+DCFF: not valid UTF-8
    b"overlong\xc0\xaf",            # an overlong '/'
    b"beyond\xf4\x90\x80\x80",      # above U+10FFFF
    b"truncated\xe2\x82",           # a sequence cut short at the end
    b"lone\x80continuation",
    b"caf\xc3\xa9",                 # valid UTF-8
    b"smile\xf0\x9f\x98\x80",       # valid 4-byte UTF-8
    b'quote"back\\slash',
    b"control\x01\x1fchars\x7f",
    b"new\nline\ttab",
]


def main():
    top = scratch_dir()
    d = os.path.join(os.fsencode(os.path.realpath(top)), b"dir\xfe")
    os.mkdir(d)
    for name in NAMES:
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"x")
    report_path = os.path.join(top, "report.json")
    script = b'cat -- "$@" >/dev/null && ls -1 . >/dev/null && for f; do : > "made-$f"; done'
    p = subprocess.run([PTVFS, "--report", report_path, "--", "sh", "-c", script, "sh", *NAMES],
                       cwd=d, capture_output=True, timeout=60)
    check(p.returncode == 0, f"cat, ls and sh handle the names under ptvfs: {p.stderr}")
    check(p.stdout == b"" and p.stderr == b"", "ptvfs adds no output")
    raw = open(report_path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, f"the report is valid UTF-8: {e}: {raw[max(0, e.start - 40):e.end + 40]!r}")
    report = json.loads(text)
    check("\\udcff" in text.lower(), "the byte 0xff is written as the escape \\udcff")
    fs = files(report)
    by_bytes = {os.fsencode(path): access for path, access in fs.items()}
    for name in NAMES:
        path = os.path.join(d, name)
        check("read" in by_bytes.get(path, []),
              f"{path!r} read by cat is recorded under its own bytes: {by_bytes.get(path)}")
        made = os.path.join(d, b"made-" + name)
        check(os.path.exists(made), f"the shell made {made!r}")
        check("write" in by_bytes.get(made, []),
              f"{made!r} made by the shell is recorded under its own bytes: {by_bytes.get(made)}")
    check("list" in by_bytes.get(d, []), f"the directory {d!r} listed by ls is recorded")
    check(fs.get(os.fsdecode(os.path.join(d, b"bad\xffname"))) is not None and
          os.fsdecode(b"bad\xffname") == "bad\udcffname" and
          any(path.endswith("/bad\udcffname") for path in fs),
          "json gives the name as 'bad\\udcffname'")
    check(any(path.endswith("/caf\u00e9") for path in fs), "valid UTF-8 stays as it is")
    check(os.fsencode(report["cwd"]) == d, f"the report's cwd keeps its bytes: {report['cwd']!r}")
    check([os.fsencode(a) for a in report["command"][4:]] == NAMES,
          f"the command's arguments keep their bytes: {report['command'][4:]}")
    check([os.fsencode(a) for a in report["processes"][0]["argv"][4:]] == NAMES,
          "the process's argv keeps its bytes")
    check(os.fsencode(report["processes"][0]["cwd"]) == d, "the process's cwd keeps its bytes")
    shutil.rmtree(top, ignore_errors=True)


main()
done()
