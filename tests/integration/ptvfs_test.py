"""Helpers shared by the integration tests: run a command under ptvfs and read its report.

Each test_*.py is a plain script run by ctest; it exits non-zero on the first failed
check and prints what it checked. PTVFS names the binary, PTVFS_PROGS the test programs.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

PTVFS = os.environ.get("PTVFS") or os.path.join(os.path.dirname(__file__), "../../build/ptvfs")
PROGS = os.environ.get("PTVFS_PROGS") or os.path.join(
    os.path.dirname(__file__), "../../build/tests/integration/progs")
NOBODY = 65534


def _stage_for_nobody():
    """As root, the build may sit where the unprivileged user cannot reach it (a clone below
    /root): run ptvfs and the test programs from a copy anyone may read and execute."""
    global PTVFS, PROGS
    if os.geteuid() != 0:
        return
    stage = tempfile.mkdtemp(prefix="ptvfs-bin-")
    os.chmod(stage, 0o755)
    atexit.register(shutil.rmtree, stage, True)
    ptvfs = os.path.join(stage, "ptvfs")
    shutil.copy2(PTVFS, ptvfs)
    progs = os.path.join(stage, "progs")
    if os.path.isdir(PROGS):
        shutil.copytree(PROGS, progs, ignore=shutil.ignore_patterns("CMakeFiles", "*.cmake"))
        for root, dirs, names in os.walk(progs):
            os.chmod(root, 0o755)
    PTVFS, PROGS = ptvfs, progs


_stage_for_nobody()

_checks = 0


def check(cond, what):
    """Assert COND; WHAT says what a user would notice if it broke."""
    global _checks
    _checks += 1
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def done():
    print(f"{_checks} passed, 0 failed")


def prog(name):
    return os.path.join(PROGS, name)


def tmpdir():
    """A fresh directory anyone may write (the unprivileged runs use it too)."""
    d = tempfile.mkdtemp(prefix="ptvfs-test-")
    os.chmod(d, 0o777)
    return d


def unprivileged(cmd):
    """CMD run as nobody when we are root (CI runs as root; ptvfs is for users without it)."""
    if os.geteuid() != 0:
        return list(cmd)
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] + list(cmd)


def run(cmd, options=(), cwd=None, as_nobody=False, input=None, env=None, timeout=300):
    """Run CMD under ptvfs with a report. Returns (CompletedProcess, report dict or None)."""
    d = tmpdir()
    report_path = os.path.join(d, "report.json")
    full = [PTVFS, "--report", report_path, *options, "--", *cmd]
    if as_nobody:
        full = unprivileged(full)
    p = subprocess.run(full, cwd=cwd, capture_output=True, input=input, env=env, timeout=timeout)
    report = None
    if os.path.exists(report_path):
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    shutil.rmtree(d, ignore_errors=True)
    return p, report


def native(cmd, cwd=None, as_nobody=False, input=None, env=None, timeout=300):
    full = unprivileged(cmd) if as_nobody else list(cmd)
    return subprocess.run(full, cwd=cwd, capture_output=True, input=input, env=env, timeout=timeout)


def files(report):
    """{path: [access kinds]} of a report."""
    return {f["path"]: f["access"] for f in report["files"]}


def accesses(report, path):
    return files(report).get(path, [])


def scratch_dir():
    """A tmpdir() removed when the test exits, also when a check failed."""
    d = tmpdir()
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def start(cmd, options=(), cwd=None, as_nobody=False, **popen):
    """Start CMD under ptvfs with a report, without waiting for it.
    Returns (Popen, report path); read the report with load_report() once it ended."""
    report_path = os.path.join(scratch_dir(), "report.json")
    full = [PTVFS, "--report", report_path, *options, "--", *cmd]
    if as_nobody:
        full = unprivileged(full)
    p = subprocess.Popen(full, cwd=cwd, **popen)
    # A test that failed half-way leaves nothing running (ptvfs's tree dies with it).
    atexit.register(lambda: p.poll() is None and p.kill())
    return p, report_path


def load_report(path):
    """The report at PATH (strict UTF-8 JSON), or None when none was written."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def run_sections(*sections):
    """Call each function in turn: a failed check ends only its own section, so one broken
    feature does not hide the others. Exits 1 when any section failed, else calls done()."""
    failed = []
    for section in sections:
        try:
            section()
        except SystemExit as e:
            if e.code:
                failed.append(section.__name__)
    if failed:
        print(f"failed sections: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)
    done()


# Helpers of the view tests (test_view_*.py).

def entries(report):
    """{path: file entry} of a report: the entry holds the view path, its host path and the
    accesses."""
    return {f["path"]: f for f in report["files"]}


def host_of(report, path):
    """The host path the report gives for the view path PATH, or None."""
    entry = entries(report).get(path)
    return entry.get("host") if entry else None


def write_file(path, text="", mode=None):
    """Write TEXT to PATH, making its directories; chmod MODE when given."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def give_to_nobody(top):
    """As root, make TOP and all below it owned by the unprivileged user, as a workspace of
    that user is (its runs then write there as the owner, not through a 0777 mode)."""
    if os.geteuid() != 0:
        return
    os.lchown(top, NOBODY, NOBODY)
    for root, dirs, names in os.walk(top):
        for name in dirs + names:
            os.lchown(os.path.join(root, name), NOBODY, NOBODY)


def absent_view_path(path):
    """PATH, checked not to exist on the host (a view path the view alone can provide)."""
    check(not os.path.lexists(path), f"{path} does not exist on the host (the test needs a view "
          f"path the host has not)")
    return path


# Helpers of the copy-on-write tests (test_overlay.py, test_workspace.py).

def tree_of(top, mtimes=False, skip=()):
    """{relative path (bytes): what is there} below TOP: a file's exact mode and contents, a
    link's target, a directory's mode; with MTIMES each also its mtime. Names in SKIP (bytes,
    relative) are left out with all below them. What "byte-identical" and "the same tree"
    compare."""
    out = {}
    top = os.fsencode(top)
    for dirpath, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs
                   if os.path.relpath(os.path.join(dirpath, d), top) not in skip]
        for name in dirs + names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, top)
            if rel in skip:
                continue
            st = os.lstat(path)
            if os.path.islink(path):
                what = ("link", os.readlink(path))
            elif os.path.isdir(path):
                what = ("dir", st.st_mode & 0o7777)
            else:
                with open(path, "rb") as f:
                    what = ("file", st.st_mode & 0o7777, f.read())
            out[rel] = what + ((st.st_mtime_ns,) if mtimes else ())
    return out


def first_difference(want, got):
    """The first path where two tree_of() results differ, said shortly."""
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            return f"{k!r}: wanted {str(want.get(k))[:160]}, got {str(got.get(k))[:160]}"
    return "none"


def copy_tree(src, dest, as_nobody=False):
    """A copy of SRC at DEST with modes and times (cp -a), owned by nobody for AS_NOBODY."""
    subprocess.run(["cp", "-a", src, dest], check=True)
    if as_nobody:
        give_to_nobody(dest)


def ptvfs_cmd(*args, as_nobody=False, cwd=None, env=None, input=None, timeout=300):
    """ptvfs ARGS as it is (no report added): the diff and apply commands, or a run."""
    full = [PTVFS, *args]
    if as_nobody:
        full = unprivileged(full)
    return subprocess.run(full, cwd=cwd, env=env, input=input, capture_output=True,
                          timeout=timeout)


# The start of a probe: a Python program (run with -S) whose steps t(NAME, F) each print one
# line, "NAME: ok", "NAME: ERRNO" (the errno F failed with, by name) or "NAME: value"; libc is
# there for raw calls. A test adds its own helpers and code after it; probe_results reads the
# lines back.
PROBE_STEP = r"""
import ctypes, errno, os, shutil, socket, stat, struct, sys
def t(name, f):
    try:
        r = f()
        r = "ok" if r is None else r
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
    print(f"{name}: {r}", flush=True)
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
"""


def probe_results(p):
    """{NAME: result} of the lines a probe (PROBE_STEP) printed on P's stdout."""
    got = {}
    for line in p.stdout.decode(errors="replace").splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            got[k] = v
    return got


def said(got, p):
    """A probe's results and the end of its stderr, for a check's message."""
    return f"{got} {p.stderr.decode(errors='replace')[-600:]}"
