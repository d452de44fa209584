#!/usr/bin/python3
"""ptvfs benchmark harness (called by scripts/bench; python3 stdlib only).

Generates six workloads in a temporary directory, runs each untraced and under
ptvfs (recording, and inside a view: --workspace of the workload's directory),
PRoot and strace (unpinned and pinned to CPU 0), checks that every mode
produced the same result as the untraced run, and prints a table of medians.
Then the view setup (view_setup) and the cost of copy-on-write (overlay_bench),
each a section of its own; see bench/README.md.
"""

import argparse
import hashlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
# The environment of every command run (workloads and view setup).
BENCH_ENV = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
             "LC_ALL": "C", "TERM": "dumb"}

# ---------------------------------------------------------------- modes

STRACE = ["strace", "-f", "--seccomp-bpf", "-e", "trace=%file", "-o", "/dev/null"]
PIN = ["taskset", "-c", "0"]
# ptvfs-ws: ptvfs --workspace DIR, DIR the workload's directory (the command
# starts in /home/user/workspace; what it writes goes to an --upper directory).
ALL_MODES = ["native", "ptvfs", "ptvfs-ws", "proot", "proot-pinned", "strace",
             "strace-pinned", "ptvfs-pinned"]
DEFAULT_MODES = ALL_MODES[:7]
LABEL = {"native": "native", "ptvfs": "ptvfs", "ptvfs-ws": "ptvfs --workspace",
         "proot": "PRoot",
         "proot-pinned": "PRoot pinned", "strace": "strace",
         "strace-pinned": "strace pinned", "ptvfs-pinned": "ptvfs pinned"}


def wrap(mode, cmd, ptvfs, report, wdir=None, upper=None):
    """The argv of CMD under MODE; ptvfs-ws needs the workload's directory
    WDIR (where CMD is run) and the upper directory UPPER."""
    if mode == "native":
        return list(cmd)
    if mode == "ptvfs":
        return [ptvfs, "--report", report, "--"] + cmd
    if mode == "ptvfs-ws":
        return [ptvfs, "--workspace", wdir, "--upper", upper, "--report", report,
                "--"] + cmd
    if mode == "ptvfs-pinned":
        return PIN + [ptvfs, "--report", report, "--"] + cmd
    if mode == "proot":
        return ["proot"] + cmd
    if mode == "proot-pinned":
        return PIN + ["proot"] + cmd
    if mode == "strace":
        return STRACE + cmd
    if mode == "strace-pinned":
        return PIN + STRACE + cmd
    raise ValueError(mode)


def pinned(mode):
    return mode.endswith("-pinned")


# ---------------------------------------------------------------- helpers

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sh(cmd, cwd, env, **kw):
    """Untimed helper command (preparation, reset, checks); must succeed."""
    r = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if r.returncode != 0:
        raise RuntimeError("preparation step failed: (cd %s && %s)\n%s" % (
            cwd, shlex.join(cmd), r.stdout.decode(errors="replace")[-3000:]))
    return r.stdout


# ---------------------------------------------------------------- workloads
#
# Each workload: prepare() once (untimed), reset() before every run (untimed),
# cmd (what is timed, run in cwd), check(result) -> None or a failure reason.
# The first run of every mode (the warm-up) captures stdout to a file so that
# it can be compared with the untraced run; timed runs send stdout to /dev/null.

class Workload:
    name = ""
    title = ""
    note = ""
    uses_stdout = False   # result is the stdout (checked at warm-up only)

    def __init__(self, root, env):
        self.dir = os.path.join(root, self.name)
        self.env = env
        self.ref = None      # reference result from the native warm-up

    def prepare(self):
        pass

    def reset(self):
        pass

    def result(self, stdout, out):
        """Summary of what the run produced (its files in OUT: the workload's
        directory, or the upper directory of a --workspace run); compared to
        the native one."""
        return None

    def check(self, rc, stdout, out=None):
        if rc != 0:
            return "exit status %d" % rc
        try:
            res = self.result(stdout, out or self.dir)
        except Exception as e:  # missing output file etc.
            return "no result: %s" % e
        if self.ref is None:
            self.ref = res
            return None
        if res != self.ref:
            return "result differs from the untraced run"
        return None


class Gxx(Workload):
    name = "gxx"
    title = "g++ -c of <bits/stdc++.h>"
    cmd = ["g++", "-c", "big.cc", "-o", "big.o"]

    def prepare(self):
        write(os.path.join(self.dir, "big.cc"),
              "#include <bits/stdc++.h>\n"
              "int main() {\n"
              "  std::vector<int> v{3, 1, 2};\n"
              "  std::sort(v.begin(), v.end());\n"
              "  std::map<std::string, int> m{{\"a\", v[0]}};\n"
              "  std::cout << m[\"a\"] << '\\n';\n"
              "}\n")

    def reset(self):
        try:
            os.unlink(os.path.join(self.dir, "big.o"))
        except FileNotFoundError:
            pass

    def result(self, stdout, out):
        return sha(os.path.join(out, "big.o"))


HEADERS = ["stdio.h", "stdlib.h", "string.h", "unistd.h", "fcntl.h", "errno.h",
           "signal.h", "time.h", "math.h", "ctype.h", "limits.h", "stdint.h",
           "stddef.h", "stdarg.h", "assert.h", "sys/types.h", "sys/stat.h",
           "sys/wait.h", "sys/mman.h", "pthread.h"]


class Gcc(Workload):
    name = "gcc"
    title = "gcc -c, 20 system headers"
    cmd = ["gcc", "-c", "hdrs.c", "-o", "hdrs.o"]

    def prepare(self):
        src = "".join("#include <%s>\n" % h for h in HEADERS)
        src += ("int f(const char *p) {\n"
                "  struct stat st;\n"
                "  if (stat(p, &st) != 0) return errno;\n"
                "  return (int)(strlen(p) + sqrt((double)st.st_size));\n"
                "}\n")
        write(os.path.join(self.dir, "hdrs.c"), src)

    def reset(self):
        try:
            os.unlink(os.path.join(self.dir, "hdrs.o"))
        except FileNotFoundError:
            pass

    def result(self, stdout, out):
        return sha(os.path.join(out, "hdrs.o"))


MODULES = ["json", "re", "datetime", "decimal", "fractions", "statistics",
           "random", "hashlib", "base64", "argparse", "logging", "subprocess",
           "threading", "socket", "email.message", "urllib.parse",
           "http.client", "xml.etree.ElementTree", "csv", "pathlib"]


class Python(Workload):
    name = "python"
    title = "python3 importing 20 stdlib modules"
    # -I: ignore PYTHON* variables and the user site; -S: no site module.
    cmd = [PY, "-I", "-S", "-c",
           "import sys, %s; print(len(sys.modules))" % ", ".join(MODULES)]

    def prepare(self):
        os.makedirs(self.dir, exist_ok=True)
        # Import once natively (writes any missing .pyc), then list the .pyc
        # files of every module loaded; they must exist now and not change.
        probe = ("import sys, importlib.util, %s\n"
                 "for m in list(sys.modules.values()):\n"
                 "    f = getattr(m, '__file__', None)\n"
                 "    if f and f.endswith('.py'):\n"
                 "        print(f)\n" % ", ".join(MODULES))
        sh([PY, "-I", "-S", "-c", probe], self.dir, self.env)
        srcs = sh([PY, "-I", "-S", "-c", probe], self.dir, self.env).decode().split()
        import importlib.util
        self.pycs = [importlib.util.cache_from_source(s) for s in srcs]
        missing = [p for p in self.pycs if not os.path.exists(p)]
        if missing:
            # __pycache__ not writable by this user: the cache cannot be warmed.
            raise RuntimeError("no .pyc for %d modules (e.g. %s); run once as "
                               "root or py3compile" % (len(missing), missing[0]))
        self.pyc_state = self.pyc_snapshot()
        self.note = ("%d .py modules loaded, all with a warm .pyc" % len(self.pycs))

    def pyc_snapshot(self):
        return {p: (os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in self.pycs}

    def finish(self):
        if self.pyc_snapshot() != self.pyc_state:
            return ".pyc caches changed during the benchmark"
        return None

    uses_stdout = True

    def result(self, stdout, out):
        return stdout


CONFIGURE_AC = """\
AC_INIT([benchpkg], [1.0])
AC_PROG_CC
AC_CHECK_HEADERS([stdio.h stdlib.h string.h unistd.h fcntl.h sys/stat.h sys/time.h sys/mman.h pthread.h locale.h wchar.h termios.h])
AC_CHECK_FUNCS([mmap strdup strndup getline memmem pipe2 dup3 clock_gettime setlocale posix_spawn nanosleep strerror_r])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
"""

MAKEFILE_IN = """\
CC = @CC@
CFLAGS = @CFLAGS@
DEFS = @DEFS@
LIBS = @LIBS@
all:
\t@echo $(DEFS)
"""


class Configure(Workload):
    name = "configure"
    title = "autoconf ./configure"
    cmd = ["./configure"]

    def prepare(self):
        write(os.path.join(self.dir, "configure.ac"), CONFIGURE_AC)
        write(os.path.join(self.dir, "Makefile.in"), MAKEFILE_IN)
        sh(["autoconf"], self.dir, self.env)
        self.note = "autoconf run once at preparation; config.* and Makefile removed before each run"

    def reset(self):
        for f in ("config.cache", "config.status", "config.log", "Makefile"):
            try:
                os.unlink(os.path.join(self.dir, f))
            except FileNotFoundError:
                pass

    def result(self, stdout, out):
        # The generated Makefile holds CC, CFLAGS and every HAVE_* in DEFS.
        os.stat(os.path.join(out, "config.status"))
        return read(os.path.join(out, "Makefile"))


class Find(Workload):
    name = "find"
    title = "find over 13,000 files"

    def prepare(self):
        # /usr on the machines we target holds ~10x more than the 13,000 files
        # the workload calls for, so walk a generated tree instead.
        tree = os.path.join(self.dir, "tree")
        n = 0
        for a in range(13):
            for b in range(10):
                d = os.path.join(tree, "d%02d" % a, "s%02d" % b)
                os.makedirs(d)
                for c in range(100):
                    with open(os.path.join(d, "f%03d.txt" % c), "w") as f:
                        f.write("x\n")
                    n += 1
        self.cmd = ["find", "tree", "-xdev"]
        usr = subprocess.run(["find", "/usr", "-xdev"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.count(b"\n")
        self.note = ("generated tree: %d files in %d directories (/usr here has %d "
                     "entries, too many)" % (n, 13 * 10 + 13 + 1, usr))

    uses_stdout = True

    def result(self, stdout, out):
        return stdout


class Make(Workload):
    name = "make"
    title = "make -j2 of 16 small C files"
    cmd = ["make", "-j2"]

    def prepare(self):
        calls = []
        for i in range(1, 16):
            write(os.path.join(self.dir, "f%02d.c" % i),
                  "#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n"
                  "int f%02d(int x) {\n"
                  "  char buf[64]; int s = 0;\n"
                  "  snprintf(buf, sizeof buf, \"%%d-%d\", x);\n"
                  "  for (size_t k = 0; k < strlen(buf); k++) s += buf[k] * %d;\n"
                  "  return s + abs(x);\n"
                  "}\n" % (i, i, i))
            calls.append("f%02d" % i)
        write(os.path.join(self.dir, "main.c"),
              "#include <stdio.h>\n"
              + "".join("int %s(int);\n" % c for c in calls)
              + "int main(void) {\n  long s = 0;\n"
              + "".join("  s += %s(%d);\n" % (c, k) for k, c in enumerate(calls))
              + "  printf(\"%ld\\n\", s);\n  return 0;\n}\n")
        write(os.path.join(self.dir, "Makefile"),
              "CC = gcc\nCFLAGS = -O2\n"
              "OBJS = $(patsubst %.c,%.o,$(sort $(wildcard *.c)))\n"
              "app: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n"
              "%.o: %.c\n\t$(CC) $(CFLAGS) -c $< -o $@\n"
              "clean:\n\trm -f *.o app\n")
        self.note = "16 .c -> .o, linked into one program; make clean (untimed) before each run"

    def reset(self):
        sh(["make", "-s", "clean"], self.dir, self.env)

    def result(self, stdout, out):
        objs = sorted(f for f in os.listdir(out) if f.endswith(".o"))
        if len(objs) != 16:
            raise RuntimeError("%d objects" % len(objs))
        printed = sh(["./app"], out, self.env)
        return (tuple(sha(os.path.join(out, o)) for o in objs), printed)


WORKLOADS = [Gxx, Gcc, Python, Configure, Find, Make]


# ---------------------------------------------------------------- running

class Hang(Exception):
    pass


def run_once(argv, cwd, env, stdout_path, stderr_path, timeout, poll_pid_rss=False):
    """Run argv; return (seconds, exit code, wait4 maxrss kB, polled VmHWM kB).

    With poll_pid_rss, argv[0] is /usr/bin/time and the VmHWM polled is that
    of its child (ptvfs)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = open(stderr_path, "wb")
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=err, start_new_session=True)
        hwm = 0
        deadline = t0 + timeout
        if poll_pid_rss:
            status_file = None
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                try:
                    if status_file is None:
                        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                            kids = f.read().split()
                        if kids:
                            status_file = "/proc/%s/status" % kids[0]
                        else:
                            raise OSError()
                    with open(status_file) as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                hwm = max(hwm, int(line.split()[1]))
                except (OSError, ValueError):
                    pass
                if time.perf_counter() > deadline:
                    os.killpg(p.pid, signal.SIGKILL)
                    os.wait4(p.pid, 0)
                    p.returncode = -9
                    raise Hang()
                time.sleep(0.002)
        else:
            # Block in wait4; a watchdog alarm turns a hang into Hang.
            def on_alarm(signum, frame):
                raise Hang()
            old = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                pid, status, ru = os.wait4(p.pid, 0)
            except Hang:
                os.killpg(p.pid, signal.SIGKILL)
                os.wait4(p.pid, 0)
                p.returncode = -9
                raise
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        t1 = time.perf_counter()
        p.returncode = os.waitstatus_to_exitcode(status)
        return t1 - t0, p.returncode, ru.ru_maxrss, hwm
    finally:
        if stdout_path:
            out.close()
        err.close()
        # A traced command may leave daemons in its session; clear them.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, UnboundLocalError):
            pass


def check_report(path):
    try:
        with open(path) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        return "report unreadable: %s" % e
    if not rep.get("files"):
        return "report lists no files"
    if rep.get("exit", {}).get("code") != 0:
        return "report exit %r" % rep.get("exit")
    return None


def fmt_cmd(argv, cwd):
    return "cd %s && %s" % (shlex.quote(cwd), shlex.join(argv))


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench")
    ap.add_argument("--ptvfs", required=True)
    ap.add_argument("--quick", action="store_true", help="1 timed run per mode")
    ap.add_argument("--only", choices=[w.name for w in WORKLOADS] + [VIEW_SETUP, OVERLAY],
                    action="append")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pinned-runs", type=int, default=None)
    ap.add_argument("--modes", default=",".join(DEFAULT_MODES))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results-latest.txt"))
    ap.add_argument("--view-files", type=int, default=100000,
                    help="view-setup: declared inputs (default 100000)")
    ap.add_argument("--view-dirs", type=int, default=3000,
                    help="view-setup: directories they are spread over (default 3000)")
    ap.add_argument("--view-pairs", type=int, default=3,
                    help="view-setup: ptvfs and ptvfs --inputs run back to back this "
                    "many times a round, after the round's first ptvfs --inputs "
                    "(default 3)")
    ap.add_argument("--view-disk-runs", type=int, default=None,
                    help="view-setup: rounds that also build the symlink forest on "
                    "the disk (~1 min each here; default: every round)")
    ap.add_argument("--overlay-big-mb", type=int, default=100,
                    help="overlay: size of the large file in MB (default 100)")
    ap.add_argument("--overlay-small", type=int, default=2000,
                    help="overlay: number of small files (default 2000)")
    ap.add_argument("--overlay-small-kb", type=int, default=4,
                    help="overlay: size of each small file in kB (default 4)")
    ap.add_argument("--overlay-tmpfs", type=int, default=1,
                    help="overlay: also run the copy-up on /dev/shm (tmpfs): 1 "
                    "(default) or 0")
    ap.add_argument("--overlay-copies", type=int, default=10,
                    help="overlay: copies of tracer/*.c the formatter runs over "
                    "(default 10)")
    a = ap.parse_args()

    modes = a.modes.split(",")
    for m in modes:
        if m not in ALL_MODES:
            ap.error("unknown mode %s (known: %s)" % (m, ", ".join(ALL_MODES)))
    if "native" not in modes:
        modes.insert(0, "native")
    runs = 1 if a.quick else a.runs
    pruns = 1 if a.quick else (a.pinned_runs if a.pinned_runs else min(runs, 3))
    ptvfs = os.path.abspath(a.ptvfs)
    selected = [W for W in WORKLOADS if not a.only or W.name in a.only]

    work_lines = view_lines = overlay_lines = None
    if selected:
        work_lines = run_workloads(a, modes, runs, pruns, ptvfs, selected)
    if not a.only or VIEW_SETUP in a.only:
        if selected:
            print()
        view_lines = view_setup(a, runs, ptvfs)
    if not a.only or OVERLAY in a.only:
        if selected or view_lines is not None:
            print()
        overlay_lines = overlay_bench(a, runs, ptvfs)
    write_results(a.out, work_lines, view_lines, overlay_lines)
    print("results written to %s" % a.out)


def run_workloads(a, modes, runs, pruns, ptvfs, selected):
    """The six workloads under every mode; returns the lines of their table."""
    began = time.perf_counter()

    root = tempfile.mkdtemp(prefix="ptvfs-bench-")
    env = BENCH_ENV
    logs = os.path.join(root, "logs")
    os.makedirs(logs)
    report = os.path.join(root, "ptvfs-report.json")
    upper = os.path.join(root, "upper")     # ptvfs-ws's --upper, removed before each run
    selected = [W(root, env) for W in selected]

    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    say("ptvfs bench  %s  kernel %s  %d CPUs  workdir %s" % (
        time.strftime("%Y-%m-%d %H:%M:%S"), os.uname().release, os.cpu_count(), root))
    say("ptvfs %s   proot %s   strace %s" % (
        subprocess.run([ptvfs, "--version"], stdout=subprocess.PIPE, text=True,
                       timeout=10).stdout.strip(),
        proot_info(), strace_version()))
    ptvfs_sum = sha(ptvfs)
    say("tree %s   ptvfs binary sha256 %s" % (git_state(), ptvfs_sum[:16]))
    say("runs: %d per mode (%d for pinned), 1 warm-up per mode (also checks the result)"
        % (runs, pruns))
    if "ptvfs-ws" in modes:
        say("ptvfs --workspace: `ptvfs --workspace DIR --upper U --report R -- CMD` run in "
            "DIR, the workload's directory (so in /home/user/workspace); U removed "
            "(untimed) before each run; the result is read from U")
    say()

    def ws_before(w):
        """Untimed, before a ptvfs-ws run: a fresh upper, the sources' state."""
        shutil.rmtree(upper, ignore_errors=True)
        return tree_state(w.dir)

    def ws_check(w, before, produced):
        """After a ptvfs-ws run: (why or None, the directory of its outputs).
        The sources must be unchanged and the upper hold exactly the files
        the untraced run produced."""
        try:
            subs = [d for d in os.listdir(upper) if os.path.isdir(os.path.join(upper, d))]
            out = upper_root(upper) if subs else None
        except (OSError, RuntimeError) as e:
            return "upper: %s" % e, None
        if tree_state(w.dir) != before:
            return "the workload's directory changed during the run", out
        got = set(tree_state(out)) if out else set()
        if produced is not None and got != produced:
            return ("the upper holds %d files, the untraced run wrote %d (extra: %s; "
                    "missing: %s)" % (len(got), len(produced),
                                      ", ".join(sorted(got - produced)[:3]) or "none",
                                      ", ".join(sorted(produced - got)[:3]) or "none"),
                    out)
        return None, out or upper

    results = {}     # (workload, mode) -> list of seconds, or a string on failure
    rss = {}         # workload -> dict
    problems = []
    keep = a.keep
    for w in selected:
        times, failed = {}, {}
        try:
            print("== %s: preparing" % w.name, flush=True)
            w.prepare()
            if w.note:
                say("%s: %s" % (w.name, w.note))
            times = {m: [] for m in modes}
            failed = {}
            timeout = 600.0
            # Warm-up per mode; it captures stdout and is checked against native.
            produced = None   # files the native warm-up wrote (new or changed)
            for m in modes:
                w.reset()
                argv = wrap(m, w.cmd, ptvfs, report, w.dir, upper)
                if m == "native":
                    before = tree_state(w.dir)
                elif m == "ptvfs-ws":
                    before = ws_before(w)
                so = os.path.join(logs, "%s-%s.out" % (w.name, m))
                se = os.path.join(logs, "%s-%s.err" % (w.name, m))
                # Peak RSS: under /usr/bin/time, whose small child does not inherit
                # this harness's RSS as a fork of python would (ru_maxrss counts
                # the pre-exec image).
                rssf = os.path.join(logs, "%s-%s.rss" % (w.name, m))
                timed = m in ("native", "ptvfs", "ptvfs-ws")
                run_argv = (["/usr/bin/time", "-f", "%M", "-o", rssf] + argv) if timed else argv
                try:
                    if os.path.exists(report):
                        os.unlink(report)
                    dt, rc, _, hwm = run_once(run_argv, w.dir, env, so, se, timeout,
                                              poll_pid_rss=m in ("ptvfs", "ptvfs-ws"))
                    maxrss = read_rss(rssf) if timed else None
                except Hang:
                    failed[m] = "hangs"
                    problems.append("%s/%s: no exit after %.0fs: %s" % (
                        w.name, m, timeout, fmt_cmd(argv, w.dir)))
                    keep = True
                    continue
                why, out = None, None
                if m == "ptvfs-ws" and rc == 0:
                    why, out = ws_check(w, before, produced)
                if why is None:
                    with open(so, "rb") as f:
                        why = w.check(rc, f.read(), out)
                if why is None and m.startswith("ptvfs"):
                    why = check_report(report)
                if why:
                    failed[m] = fails_cell(why, rc, se)
                    problems.append("%s/%s: %s: %s  (stderr: %s)" % (
                        w.name, m, why, fmt_cmd(argv, w.dir), tail(se)))
                    keep = True
                    if m == "native":
                        raise SystemExit("native run of %s fails: %s" % (w.name, why))
                    continue
                if m == "native":
                    timeout = max(60.0, 200 * dt)
                    rss.setdefault(w.name, {})["native"] = maxrss
                    after = tree_state(w.dir)
                    produced = {r for r, v in after.items() if before.get(r) != v}
                if m == "ptvfs":
                    rss.setdefault(w.name, {})["ptvfs+cmd"] = maxrss
                    rss[w.name]["ptvfs"] = hwm
                if m == "ptvfs-ws":
                    rss.setdefault(w.name, {})["ws+cmd"] = maxrss
                    rss[w.name]["ws"] = hwm
                print("   warm-up %-14s %8.3fs" % (m, dt), flush=True)
            # Timed runs, interleaved so that drift hits every mode alike.
            for i in range(runs):
                for m in modes:
                    if m in failed or (pinned(m) and i >= pruns):
                        continue
                    w.reset()
                    argv = wrap(m, w.cmd, ptvfs, report, w.dir, upper)
                    if m == "ptvfs-ws":
                        before = ws_before(w)
                    se = os.path.join(logs, "%s-%s.err" % (w.name, m))
                    try:
                        dt, rc, _, _ = run_once(argv, w.dir, env, None, se, timeout)
                    except Hang:
                        failed[m] = "hangs"
                        problems.append("%s/%s: no exit after %.0fs (run %d): %s" % (
                            w.name, m, timeout, i + 1, fmt_cmd(argv, w.dir)))
                        keep = True
                        continue
                    why, out = None, None
                    if m == "ptvfs-ws" and rc == 0:
                        why, out = ws_check(w, before, produced)
                    if why:
                        pass
                    elif w.uses_stdout:   # its output went to /dev/null
                        why = "exit status %d" % rc if rc else None
                    else:
                        why = w.check(rc, None, out)
                    if why:
                        failed[m] = fails_cell(why, rc, se)
                        problems.append("%s/%s: %s (run %d): %s  (stderr: %s)" % (
                            w.name, m, why, i + 1, fmt_cmd(argv, w.dir), tail(se)))
                        keep = True
                        continue
                    times[m].append(dt)
                print("   run %d: %s" % (i + 1, "  ".join(
                    "%s %.3f" % (m, times[m][-1]) for m in modes
                    if m not in failed and times[m] and (not pinned(m) or i < pruns))),
                    flush=True)
            w.reset()
            if hasattr(w, "finish"):
                why = w.finish()
                if why:
                    problems.append("%s: %s" % (w.name, why))
            for m in modes:
                results[(w.name, m)] = failed.get(m, times[m])
        except Exception:
            problems.append("%s: harness error:\n%s" % (w.name, traceback.format_exc()))
            keep = True
            for m in modes:
                results.setdefault((w.name, m), "error")

    say()
    table(say, selected, modes, results)
    say()
    say("Peak RSS (max resident set, kB): 'ptvfs' is the VmHWM of the ptvfs process "
        "itself, sampled every 2 ms during the warm-up (a lower bound); 'ptvfs+cmd' is "
        "/usr/bin/time -f %M of the ptvfs run = the largest single process among "
        "ptvfs and the command's processes; 'native' is /usr/bin/time -f %M of the "
        "untraced command."
        + (" 'ptvfs --workspace' and 'ws+cmd': the same for the run inside the view."
           if "ptvfs-ws" in modes else "") + " Warm-up runs only.")
    ws = "ptvfs-ws" in modes
    say("| workload | ptvfs | ptvfs+cmd |%s native |" % (
        " ptvfs --workspace | ws+cmd |" if ws else ""))
    say("| --- | ---: | ---: |%s ---: |" % (" ---: | ---: |" if ws else ""))
    for w in selected:
        r = rss.get(w.name, {})
        say("| %s | %s | %s |%s %s |" % (
            w.title, r.get("ptvfs", "-"), r.get("ptvfs+cmd", "-"),
            " %s | %s |" % (r.get("ws", "-"), r.get("ws+cmd", "-")) if ws else "",
            r.get("native", "-")))
    say()
    say("Raw times (s):")
    for w in selected:
        for m in modes:
            v = results[(w.name, m)]
            say("  %-10s %-14s %s" % (w.name, m, v if isinstance(v, str)
                                      else " ".join("%.3f" % x for x in v)))
    say()
    say_problems(say, problems)
    if sha(ptvfs) != ptvfs_sum:
        say("WARNING: %s changed during the benchmark (rebuilt?): numbers mix two "
            "builds" % ptvfs)
    total = time.perf_counter() - began
    say("bench took %.0f s" % total)
    if keep:
        say("work directory kept: %s" % root)
    else:
        shutil.rmtree(root, ignore_errors=True)
    return lines


# ---------------------------------------------------------------- view setup
#
# What it costs to show a command 100,000 declared inputs: `ptvfs --inputs`
# against what other sandboxes do for each action (a symbolic link forest, as
# Bazel's sandbox builds; bind mounts). The peers are done by
# bench/view_peers.c, compiled here with cc; the core alone by
# view_setup_bench (built next to ptvfs by scripts/build).

VIEW_SETUP = "view-setup"
VIEW_MARK = "== view setup"     # first line of the section in the results file


def write_results(path, work_lines, view_lines, overlay_lines=None):
    """Write the workload table, the view-setup section and the overlay section
    to PATH, in that order; a part not run this time is kept as the file had it."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = ""
    marks = [VIEW_MARK, OVERLAY_MARK]
    starts = []
    for m in marks:
        at = 0 if old.startswith(m) else old.find("\n" + m)
        if at >= 0:
            starts.append((at if at == 0 else at + 1, m))
    starts.sort()
    old_parts = {"work": old[:starts[0][0]] if starts else old}
    for k, (at, m) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(old)
        old_parts[m] = old[at:end]
    new_parts = {"work": work_lines, VIEW_MARK: view_lines, OVERLAY_MARK: overlay_lines}
    parts = []
    for key in ["work"] + marks:
        lines = new_parts[key]
        text = "\n".join(lines) if lines is not None else old_parts.get(key, "")
        text = text.strip("\n")
        if text.strip():
            parts.append(text + "\n")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(parts))


def kv(text):
    """The key=value pairs of view_peers' last output line."""
    last = text.strip().splitlines()[-1] if text.strip() else ""
    out = {}
    for field in last.split():
        if "=" in field:
            k, v = field.split("=", 1)
            try:
                out[k] = float(v) if "." in v else int(v)
            except ValueError:
                out[k] = v
    return out


def mount_of(path):
    """(mount point, file system type) holding PATH."""
    path = os.path.realpath(path)
    best = ("/", "?")
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                mnt = fields[4].replace("\\040", " ")
                fstype = fields[fields.index("-") + 1]
                if ((path == mnt or path.startswith(mnt.rstrip("/") + "/"))
                        and len(mnt) >= len(best[0])):
                    best = (mnt, fstype)
    except (OSError, ValueError, IndexError):
        pass
    return best


def run_text(argv, cwd, timeout=900):
    """Run argv (untimed by us: it times itself); returns (exit code, stdout, stderr)."""
    r = subprocess.run(argv, cwd=cwd, env=BENCH_ENV, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def say_problems(say, problems):
    """What went wrong in a section, a line each, when anything did."""
    if problems:
        say("Problems:")
        for p in problems:
            say("  " + p)
        say()


def finish_section(say, name, val, width, problems, began, keep, root, shm):
    """The end of a section (view-setup, overlay): its raw times (ms) by row, its problems, how
    long it took; its work directories removed, or kept when asked or when it had problems."""
    say("Raw (ms):")
    for k, v in val.items():
        if isinstance(v, list):
            say("  %-*s %s" % (width, k, " ".join("%.1f" % x for x in v)))
    say()
    if problems:
        say_problems(say, problems)
        keep = True
    say("%s bench took %.0f s" % (name, time.perf_counter() - began))
    if keep:
        say("work directory kept: %s%s" % (root, " and " + shm if shm else ""))
    else:
        shutil.rmtree(root, ignore_errors=True)
        if shm:
            shutil.rmtree(shm, ignore_errors=True)


def view_setup(a, runs, ptvfs):
    """The view-setup section; returns its lines (also printed)."""
    began = time.perf_counter()
    files, ndirs = a.view_files, a.view_dirs
    disk_runs = runs if a.view_disk_runs is None else min(a.view_disk_runs, runs)
    root = tempfile.mkdtemp(prefix="ptvfs-bench-view-")
    shm = None
    if os.path.isdir("/dev/shm") and mount_of("/dev/shm")[1] == "tmpfs":
        shm = tempfile.mkdtemp(prefix="ptvfs-bench-view-", dir="/dev/shm")
    logs = os.path.join(root, "logs")
    os.makedirs(logs)
    top = os.path.join(root, "top")          # ptvfs starts here; inputs in top/src
    manifest = os.path.join(root, "inputs.tsv")
    identity = os.path.join(root, "identity.txt")
    report = os.path.join(root, "report.json")
    peers = os.path.join(root, "view_peers")
    core = os.path.join(os.path.dirname(ptvfs), "view_setup_bench")
    is_root = os.geteuid() == 0
    problems, keep = [], a.keep
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    def log(s):
        print(s, flush=True)

    log("== view-setup: preparing (%d files in %d directories)" % (files, ndirs))
    sh(["cc", "-O2", "-Wall", "-o", peers, os.path.join(TOP, "bench", "view_peers.c")],
       root, BENCH_ENV)
    os.makedirs(top)
    t0 = time.perf_counter()
    gen = kv(sh([peers, "generate", str(files), str(ndirs), top, manifest], root,
                BENCH_ENV).decode())
    gen_s = time.perf_counter() - t0
    # The manifest lists its lines a directory at a time; count those directories.
    by_dir = {}
    with open(manifest) as f, open(identity, "w") as g:
        for line in f:
            dest = line.split("\t", 1)[0]
            d, name = dest.rsplit("/", 1)
            by_dir.setdefault(d, []).append(name)
            g.write("src/" + dest[len("exec/"):] + "\n")
    with open(manifest) as f:
        first_line = f.readline().rstrip("\n")
    ndirs_used = len(by_dir)
    log("   generated in %.1f s" % gen_s)
    os.sync()   # the generation's writeback is not to slow the first rounds

    def ptvfs_argv(view, cmd):
        return [ptvfs] + (["--inputs", manifest] if view else []) + ["--"] + cmd

    # ---- checks (also warm the caches): the view shows the inputs
    ptvfs_ok = True
    check_dir = next(iter(by_dir))
    so, se = os.path.join(logs, "check.out"), os.path.join(logs, "check.err")
    argv = [ptvfs, "--inputs", manifest, "--report", report, "--", "/bin/ls", check_dir]
    try:
        _, rc, _, _ = run_once(argv, top, BENCH_ENV, so, se, 120)
    except Hang:
        rc = "hangs"
    with open(so, "rb") as f:
        listed = f.read().decode(errors="replace").split()
    why = None
    if rc != 0:
        why = "exit status %s" % rc
    elif listed != sorted(by_dir[check_dir]):
        why = "lists %d names in %s, the manifest declares %d there" % (
            len(listed), check_dir, len(by_dir[check_dir]))
    else:
        try:
            with open(report) as f:
                rep = json.load(f)
            declared = rep.get("inputs", {}).get("declared")
            if declared is not None and declared != files:
                why = "report: inputs.declared %r, manifest has %d" % (declared, files)
        except (OSError, ValueError) as e:
            why = "report unreadable: %s" % e
    if why:
        ptvfs_ok = False
        problems.append("ptvfs --inputs: %s: %s  (stderr: %s)" % (
            why, fmt_cmd(argv, top), tail(se)))
        keep = True

    # ---- rounds: every row once per round, interleaved so that drift hits all alike
    val = {}        # row -> list of ms
    rss = {}

    def add(row, x):
        val.setdefault(row, []).append(x)

    def timed(row, argv, rss_file=None):
        se = os.path.join(logs, "%s.err" % row)
        try:
            dt, rc, _, hwm = run_once(argv, top, BENCH_ENV, None, se, 120,
                                      poll_pid_rss=rss_file is not None)
        except Hang:
            problems.append("%s: no exit after 120 s: %s" % (row, fmt_cmd(argv, top)))
            return None
        if rc != 0:
            problems.append("%s: exit status %d: %s  (stderr: %s)" % (
                row, rc, fmt_cmd(argv, top), tail(se)))
            return None
        if rss_file:
            return read_rss(rss_file), hwm
        add(row, dt * 1e3)
        return dt

    def peer(row, argv, cwd=root):
        try:
            rc, out, err = run_text(argv, cwd)
        except subprocess.TimeoutExpired:
            problems.append("%s: timed out: %s" % (row, fmt_cmd(argv, cwd)))
            return None
        if rc != 0:
            problems.append("%s: exit status %d: %s  (%s)" % (
                row, rc, fmt_cmd(argv, cwd), err.strip()[-300:]))
            return None
        return kv(out)

    def core_run(row, which):
        if not os.access(core, os.X_OK):
            return
        try:
            rc, out, err = run_text([core, "-m", which, top], top)
        except subprocess.TimeoutExpired:
            rc, out, err = -1, "", "timed out"
        if rc != 0:
            problems.append("%s: %s -m %s: %s" % (row, core, which, err.strip()[-300:]))
            return
        for l in out.splitlines():
            if l.startswith("view_add_inputs + view_seal:"):
                add(row, float(l.split()[3]))
            elif l.startswith("  view_add_inputs:"):
                add(row + " add", float(l.split()[1]))
            elif l.startswith("peak RSS:"):
                rss[row] = max(rss.get(row, 0), float(l.split()[2]) * 1024)
            elif l.startswith("image:"):
                rss["image"] = int(l.split()[1])

    forest_tmp = os.path.join(shm, "forest") if shm else None
    forest_disk = os.path.join(root, "forest")
    mnt = os.path.join(root, "mnt")
    fails = set()
    for i in range(runs):
        timed("true", ["/bin/true"])
        if ptvfs_ok:
            # Right after the last round's peers (one CPU busy for seconds, the
            # other idle): on its own row. Then back to back, as a build runs
            # its actions one after another.
            timed("ptvfs-inputs-first", ptvfs_argv(True, ["/bin/true"]))
            for _ in range(max(1, a.view_pairs)):
                timed("ptvfs", ptvfs_argv(False, ["/bin/true"]))
                timed("ptvfs-inputs", ptvfs_argv(True, ["/bin/true"]))
            rf = os.path.join(logs, "rss-%d" % i)
            r = timed("ptvfs-inputs-rss", ["/usr/bin/time", "-f", "%M", "-o", rf]
                      + ptvfs_argv(True, ["/bin/true"]), rss_file=rf)
            if r:
                rss.setdefault("ptvfs-inputs %M", []).append(r[0])
                rss.setdefault("ptvfs-inputs VmHWM", []).append(r[1])
            if i == 0:
                rf = os.path.join(logs, "rss-noview")
                r = timed("ptvfs-rss", ["/usr/bin/time", "-f", "%M", "-o", rf]
                          + ptvfs_argv(False, ["/bin/true"]), rss_file=rf)
                if r:
                    rss["ptvfs %M"], rss["ptvfs VmHWM"] = r
        core_run("core", manifest)
        core_run("core-identity", identity)
        if forest_tmp:
            r = peer("forest-tmpfs", [peers, "forest", manifest, forest_tmp])
            if r:
                add("forest-tmpfs create", r["create_ms"])
                add("forest-tmpfs remove", r["remove_ms"])
                add("forest-tmpfs total", r["create_ms"] + r["remove_ms"])
                val["forest dirs"] = r["dirs"]
        if is_root:
            for mode in ("dirs", "files"):
                if mode in fails:
                    continue
                r = peer("binds-" + mode, [peers, "binds", mode, manifest, mnt])
                if not r:
                    fails.add(mode)
                    continue
                for k in ("skeleton", "bind", "ro", "umount"):
                    add("binds-%s %s" % (mode, k), r[k + "_ms"])
                add("binds-%s total" % mode,
                    r["unshare_ms"] + r["skeleton_ms"] + r["bind_ms"] + r["ro_ms"])
                val["binds-%s mounts" % mode] = r["mounts"]
                val["mount_max"] = r["mount_max"]
        log("   round %d/%d: %s" % (i + 1, runs, "  ".join(
            "%s %.1f" % (k, v[-1]) for k, v in val.items()
            if isinstance(v, list) and k in ("ptvfs", "ptvfs-inputs", "core",
                                             "forest-tmpfs total", "binds-dirs total",
                                             "binds-files total"))))
    # The forest on the disk last, on its own: it takes a minute here, and the
    # writeback it leaves behind would slow whatever ran after it.
    for i in range(disk_runs):
        os.sync()
        r = peer("forest-disk", [peers, "forest", manifest, forest_disk])
        if r:
            add("forest-disk create", r["create_ms"])
            add("forest-disk remove", r["remove_ms"])
            add("forest-disk total", r["create_ms"] + r["remove_ms"])
            log("   disk forest %d/%d: create %.0f ms, remove %.0f ms" % (
                i + 1, disk_runs, r["create_ms"], r["remove_ms"]))

    # ---- the section
    def st(row):
        v = val.get(row)
        if not isinstance(v, list) or not v:
            return None
        return statistics.median(v), min(v), max(v)

    def cells(row):
        s3 = st(row)
        return ["%.1f" % x for x in s3] if s3 else ["-", "-", "-"]

    rows = []

    def row(label, key, note=""):
        rows.append([label] + cells(key) + [note])

    pt, pv, pf = st("ptvfs"), st("ptvfs-inputs"), st("ptvfs-inputs-first")
    setup = pv[0] - pt[0] if pt and pv else None
    setup_first = pf[0] - pt[0] if pt and pf else None
    paired = [b - a_ for a_, b in zip(val.get("ptvfs", []), val.get("ptvfs-inputs", []))]
    n_dirs_forest = val.get("forest dirs", ndirs_used)
    say("%s: %s declared inputs in %s directories  %s  kernel %s  %d CPUs" % (
        VIEW_MARK, "{:,}".format(files), "{:,}".format(ndirs_used),
        time.strftime("%Y-%m-%d %H:%M:%S"), os.uname().release, os.cpu_count()))
    say("tree %s   ptvfs binary sha256 %s" % (git_state(), sha(ptvfs)[:16]))
    say("Target (issue): set up 100,000 inputs in under 50 ms, the tracer under 64 MB "
        "resident.")
    say("Inputs: %s empty files, %d per directory, in %s directories on %s (%s; "
        "view_setup.c's layout; generated in %.0f s). Manifest M: one line each, "
        "DEST<TAB>SRC, DEST relative to the directory ptvfs starts in and under another "
        "prefix than SRC, e.g. %r." % (
            "{:,}".format(gen.get("files", files)), (files + ndirs - 1) // ndirs,
            "{:,}".format(ndirs_used), os.path.dirname(root), mount_of(top)[1], gen_s,
            first_line.replace(root, "$W")))
    say("%d rounds, each running every row once (interleaved; the forest on disk runs "
        "after them), but ptvfs and ptvfs --inputs: %d times each, back to back, after "
        "a first ptvfs --inputs on its own row; median, min, max in ms. "
        "Wall = time.perf_counter() around spawn and wait4; the peers time only their "
        "own work, inside the process (no spawn)." % (runs, max(1, a.view_pairs)))
    say()
    if setup is not None:
        rows.append(["view setup: ptvfs --inputs minus ptvfs, difference of the medians "
                     "(min/max: paired run by run)", "%.1f" % setup,
                     "%.1f" % min(paired), "%.1f" % max(paired), "wall, end to end"])
    else:
        rows.append(["view setup: ptvfs --inputs minus ptvfs", "fails", "-", "-",
                     "see Problems"])
    if setup_first is not None:
        rows.append(["  the same, first run of a round (right after the peers) minus ptvfs",
                     "%.1f" % setup_first, "-", "-", "wall; a CPU left idle runs slower "
                     "at first here"])
    row("`ptvfs --inputs M -- /bin/true`", "ptvfs-inputs", "wall, back to back")
    row("  its first run in a round, right after the peers", "ptvfs-inputs-first", "wall")
    row("`ptvfs -- /bin/true` (no view)", "ptvfs", "wall")
    row("`/bin/true` untraced", "true", "wall")
    row("core in process: view_add_inputs + view_seal, this manifest", "core",
        "view_setup_bench -m; each round's median of 5")
    row("core in process, the same files declared as DEST only (no mapping)",
        "core-identity", "as view_setup_bench runs by default")
    sdir = "{:,}".format(n_dirs_forest)
    if forest_tmp:
        row("symlink forest on %s (%s): mkdir -p %s dirs + %s symlinkat" % (
            os.path.dirname(shm), mount_of(shm)[1], sdir, "{:,}".format(files)),
            "forest-tmpfs create",
            "Bazel with --sandbox_base=/dev/shm")
        row("  its removal (readdir + unlinkat, as rm -rf)", "forest-tmpfs remove")
        row("  create + remove (per action)", "forest-tmpfs total")
    if disk_runs:
        row("symlink forest on %s (%s): mkdir -p + symlinkat" % (
            os.path.dirname(root), mount_of(root)[1]),
            "forest-disk create", "Bazel's default sandbox base; %d runs after the "
            "rounds, sync before each" % disk_runs)
        row("  its removal", "forest-disk remove")
        row("  create + remove (per action)", "forest-disk total")
    if is_root:
        for mode in ("dirs", "files"):
            n = val.get("binds-%s mounts" % mode)
            what = ("%s source directories" % "{:,}".format(n) if mode == "dirs" else
                    "%s files (of %s: fs.mount-max = %s a namespace)" % (
                        "{:,}".format(n), "{:,}".format(files),
                        "{:,}".format(val.get("mount_max", 0))) if n and n < files else
                    "%s files" % "{:,}".format(n or files))
            row("read-only bind mounts of %s: unshare -m + tmpfs skeleton + bind + "
                "ro remount" % what, "binds-%s total" % mode,
                "private mount namespace, as root")
            row("  skeleton (tmpfs, mkdir -p%s)" % (", an empty file per mount point"
                                                   if mode == "files" else ""),
                "binds-%s skeleton" % mode)
            row("  mount --bind, one a %s" % mode[:-1], "binds-%s bind" % mode)
            row("  remount read-only, one a %s" % mode[:-1], "binds-%s ro" % mode)
            row("  teardown: umount2(MNT_DETACH) of the tmpfs", "binds-%s umount" % mode,
                "not in the total")
    else:
        say("Bind mounts: skipped (not root; they need CAP_SYS_ADMIN).")
    say("| what | median ms | min | max | note |")
    say("| --- | ---: | ---: | ---: | --- |")
    for r in rows:
        say("| " + " | ".join(r) + " |")
    say()

    def kb(x):
        return "%d kB (%.1f MB)" % (x, x / 1024) if x else "-"

    peak = max(rss.get("ptvfs-inputs %M", [0]) + rss.get("ptvfs-inputs VmHWM", [0]))
    say("Peak RSS, max over the rounds: ptvfs --inputs: VmHWM of the ptvfs process "
        "(polled every 2 ms, a lower bound) %s; /usr/bin/time -f %%M (the larger of "
        "ptvfs and /bin/true) %s. ptvfs without a view: %s / %s. view_setup_bench "
        "(view built 5 times in one process, getrusage): %s; sealed image %s bytes." % (
            kb(max(rss.get("ptvfs-inputs VmHWM", [0]))),
            kb(max(rss.get("ptvfs-inputs %M", [0]))), kb(rss.get("ptvfs VmHWM")),
            kb(rss.get("ptvfs %M")), kb(rss.get("core")), rss.get("image", "-")))
    if setup is not None:
        say("Against the target: view setup %.1f ms back to back (%s 50 ms)%s; ptvfs peak "
            "RSS %.1f MB (%s 64 MB)." % (
                setup, "under" if setup < 50 else "NOT under",
                "" if setup_first is None else ", %.1f ms for the first run after the "
                "peers (%s 50 ms)" % (setup_first, "under" if setup_first < 50 else
                                      "NOT under"),
                peak / 1024, "under" if peak < 64 * 1024 else "NOT under"))
    say()
    finish_section(say, "view-setup", val, 26, problems, began, keep, root, shm)
    return lines


# ---------------------------------------------------------------- overlay
#
# The cost of copy-on-write: `ptvfs --overlay` appending to a large file and to
# many small ones (each first write copies the file up) against the same
# appends on a copy and a plain cp of the data; then a formatter
# (`clang-format -i` over a few hundred C files) under `ptvfs --workspace`
# against the same run on a copy, and `ptvfs diff` / `ptvfs apply` of what it
# proposed. The writer is bench/overlay_append.c, compiled here with cc.

OVERLAY = "overlay"
OVERLAY_MARK = "== overlay"     # first line of the section in the results file
APPEND_LINE = b"appended by the ptvfs overlay bench\n"   # as overlay_append.c writes


def tree_state(top, content=False):
    """{relative path: (size, mtime_ns)} (or sha256 with CONTENT) of the files below TOP."""
    out = {}
    for d, dirs, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, top)
            if content:
                out[rel] = sha(p)
            else:
                st = os.lstat(p)
                out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def restore_tree(pristine, dest):
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(pristine, dest, symlinks=True)


def upper_root(upper):
    """The directory of overlay 1's captured files in UPPER (UPPER/1)."""
    subs = [d for d in os.listdir(upper) if os.path.isdir(os.path.join(upper, d))]
    if len(subs) != 1:
        raise RuntimeError("upper holds %d overlay directories (%s), not 1" % (
            len(subs), ", ".join(subs)))
    return os.path.join(upper, subs[0])


def overlay_bench(a, runs, ptvfs):
    """The overlay section; returns its lines (also printed)."""
    began = time.perf_counter()
    root = tempfile.mkdtemp(prefix="ptvfs-bench-overlay-")
    logs = os.path.join(root, "logs")
    os.makedirs(logs)
    # The copy-up runs on the disk under /tmp and again on tmpfs (/dev/shm): on
    # ext4, creating files right after deleting as many costs far more (below).
    shm = None
    if (a.overlay_tmpfs and os.path.isdir("/dev/shm")
            and mount_of("/dev/shm")[1] == "tmpfs"):
        shm = tempfile.mkdtemp(prefix="ptvfs-bench-overlay-", dir="/dev/shm")
    places = []
    for name, top in (("disk", root), ("tmpfs", shm)):
        if top:
            places.append({
                "name": name, "top": top,
                "src": os.path.join(top, "src"),    # the lower tree: big.bin, small/...
                "copy": os.path.join(top, "copy"),  # a copy of it, for the native appends
                "dst": os.path.join(top, "cp"),     # where the reference cp copies to
                "upper": os.path.join(top, "upper")})
    src = places[0]["src"]
    appender = os.path.join(root, "overlay_append")
    problems, keep = [], a.keep
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    def log(s):
        print(s, flush=True)

    big_size = a.overlay_big_mb << 20
    nsmall, small_size = a.overlay_small, a.overlay_small_kb * 1024
    log("== overlay: preparing (%d MB file, %d files of %d kB, %d copies of tracer/*.c)" % (
        a.overlay_big_mb, nsmall, a.overlay_small_kb, a.overlay_copies))
    sh(["cc", "-O2", "-Wall", "-o", appender,
        os.path.join(TOP, "bench", "overlay_append.c")], root, BENCH_ENV)

    # ---- the source tree: one large file of random bytes, many small text files
    import base64
    os.makedirs(os.path.join(src, "small"))
    with open(os.path.join(src, "big.bin"), "wb") as f:
        left = big_size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    small_rels = []
    per_dir = 100
    for i in range(nsmall):
        rel = "small/d%02d/f%04d.txt" % (i // per_dir, i)
        if i % per_dir == 0:
            os.makedirs(os.path.join(src, os.path.dirname(rel)))
        text = b"".join(base64.b64encode(os.urandom(48)) + b"\n"
                        for _ in range(small_size // 65 + 1))[:small_size - 1] + b"\n"
        with open(os.path.join(src, rel), "wb") as f:
            f.write(text)
        small_rels.append(rel)
    lists = {"big": os.path.join(root, "big.list"), "small": os.path.join(root, "small.list")}
    rels = {"big": ["big.bin"], "small": small_rels}
    sizes = {"big": big_size, "small": small_size}
    for g in ("big", "small"):
        with open(lists[g], "w") as f:
            f.write("".join(r + "\n" for r in rels[g]))
    for pl in places:
        if pl["src"] != src:
            shutil.copytree(src, pl["src"])
        shutil.copytree(src, pl["copy"])
        pl["state"] = tree_state(pl["src"])
        pl["fs"] = mount_of(pl["top"])
        probe = subprocess.run(["cp", "--reflink=always",
                                os.path.join(pl["src"], small_rels[0]),
                                os.path.join(pl["top"], "reflink-probe")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        pl["reflink"] = ("yes" if probe.returncode == 0 else
                         "no (cp --reflink=always: %s)" % probe.stdout.strip().split(": ")[-1])
    h = hashlib.sha256()
    with open(os.path.join(src, "big.bin"), "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    h.update(APPEND_LINE)
    big_expected = h.hexdigest()

    # ---- the formatter's tree: COPIES copies of tracer/*.c as committed at HEAD
    fmt = os.path.join(root, "fmt")
    pristine = os.path.join(fmt, "pristine")   # never written after preparation
    fnative = os.path.join(fmt, "native")      # native runs: a copy of pristine
    fsrc = os.path.join(fmt, "src")            # --workspace SRC: apply writes it
    fupper = os.path.join(fmt, "upper")
    patch = os.path.join(fmt, "patch.diff")
    try:
        names = subprocess.run(["git", "-C", TOP, "ls-files", "--", "tracer/*.c"],
                               stdout=subprocess.PIPE, text=True, check=True,
                               timeout=30).stdout.split()

        def content(path):
            return subprocess.run(["git", "-C", TOP, "show", "HEAD:" + path],
                                  stdout=subprocess.PIPE, check=True, timeout=30).stdout
        origin = "tracer/*.c as committed at HEAD"
    except (OSError, subprocess.SubprocessError):
        names = sorted(os.path.relpath(os.path.join(d, f), TOP)
                       for d, _, fl in os.walk(os.path.join(TOP, "tracer"))
                       for f in fl if f.endswith(".c"))

        def content(path):
            return read(os.path.join(TOP, path))
        origin = "tracer/*.c of the working tree"
    texts = {n: content(n) for n in names}
    style = content(".clang-format") if os.path.exists(
        os.path.join(TOP, ".clang-format")) else b"BasedOnStyle: LLVM\n"
    fmt_files = []
    for c in range(a.overlay_copies):
        for n in names:
            rel = "c%02d/%s" % (c, n[len("tracer/"):])
            os.makedirs(os.path.dirname(os.path.join(pristine, rel)), exist_ok=True)
            with open(os.path.join(pristine, rel), "wb") as f:
                f.write(texts[n])
            fmt_files.append(rel)
    with open(os.path.join(pristine, ".clang-format"), "wb") as f:
        f.write(style)
    # One file in ten is reformatted in LLVM's default style (2-space indent), so
    # that the repository's own style has something to put back.
    skewed = fmt_files[5::10]
    have_cf = shutil.which("clang-format", path=BENCH_ENV["PATH"]) is not None
    if have_cf:
        sh(["clang-format", "-i", "--style=LLVM"] + skewed, pristine, BENCH_ENV)
    fmt_lines = sum(read(os.path.join(pristine, r)).count(b"\n") for r in fmt_files)
    variants = [
        ("fmt-file", "`clang-format -i FILES` (the repository's .clang-format, found "
         "in the workspace's top directory)", ["clang-format", "-i"]),
        ("fmt-llvm", "`clang-format -i --style=LLVM FILES`", ["clang-format", "-i",
                                                             "--style=LLVM"]),
    ] if have_cf else []
    clang_version = subprocess.run(["clang-format", "--version"], stdout=subprocess.PIPE,
                                   text=True).stdout.strip() if have_cf else "no clang-format"
    restore_tree(pristine, fnative)
    restore_tree(pristine, fsrc)
    pristine_hash = tree_state(pristine, content=True)
    os.sync()
    log("   prepared in %.1f s" % (time.perf_counter() - began))

    # ---- the rows
    val = {}            # row -> list of ms
    failed = {}         # row -> short reason
    rss = {}            # row -> (VmHWM kB, /usr/bin/time %M kB)
    ref = {}            # variant -> {rel: sha256} of the native result
    changed = {}        # variant -> set of the files the formatter changes
    patch_info = {}     # variant -> (files, lines) of the diff
    state = {"fsrc dirty": False}

    def fail(row, why):
        if row not in failed:
            failed[row] = why
            problems.append("%s: %s" % (row, why))

    def run(row, argv, cwd, warm, out=None):
        """Run ARGV once (sync first); returns ms or None. At the warm-up the
        run goes under /usr/bin/time with ptvfs's VmHWM polled and is not counted."""
        se = os.path.join(logs, row.replace(" ", "_") + ".err")
        rf = os.path.join(logs, row.replace(" ", "_") + ".rss")
        full = (["/usr/bin/time", "-f", "%M", "-o", rf] + argv) if warm else argv
        os.sync()
        try:
            dt, rc, _, hwm = run_once(full, cwd, BENCH_ENV, out, se, 600,
                                      poll_pid_rss=warm)
        except Hang:
            fail(row, "no exit after 600 s: %s" % fmt_cmd(argv, cwd))
            return None
        if rc != 0:
            fail(row, "exit status %d: %s  (stderr: %s)" % (rc, fmt_cmd(argv, cwd),
                                                            tail(se)))
            return None
        if warm:
            rss[row] = (hwm, read_rss(rf))
        return dt * 1e3

    def record(row, ms, why, warm):
        if ms is None:
            return
        if why:
            fail(row, why)
            return
        if not warm and row not in failed:
            val.setdefault(row, []).append(ms)

    def appended(top, g, full):
        """Why the files of group G below TOP are not their source plus the line."""
        for r in rels[g]:
            p = os.path.join(top, r)
            try:
                size = os.path.getsize(p)
            except OSError as e:
                return "%s: %s" % (r, e.strerror)
            if size != sizes[g] + len(APPEND_LINE):
                return "%s: %d bytes, expected %d" % (r, size, sizes[g] + len(APPEND_LINE))
            if full:
                if g == "big":
                    if sha(p) != big_expected:
                        return "%s: contents differ from the source plus the line" % r
                elif read(p) != read(os.path.join(src, r)) + APPEND_LINE:
                    return "%s: contents differ from the source plus the line" % r
        return None

    def truncate_copy(pl, g):
        for r in rels[g]:
            os.truncate(os.path.join(pl["copy"], r), sizes[g])

    def copy_up_round(warm):
        for pl in places:
            p, copy, upper, dst = pl["name"], pl["copy"], pl["upper"], pl["dst"]
            for g in ("big", "small"):
                # the appends on a copy (restored by truncation, untimed)
                for row, pre in (("%s %s native" % (p, g), []),
                                 ("%s %s ptvfs" % (p, g), [ptvfs, "--"])):
                    if row in failed:
                        continue
                    truncate_copy(pl, g)
                    ms = run(row, pre + [appender, copy, lists[g]], root, warm)
                    record(row, ms, ms is not None and appended(copy, g, warm), warm)
                row = "%s %s overlay" % (p, g)
                if row not in failed:
                    shutil.rmtree(upper, ignore_errors=True)
                    ms = run(row, [ptvfs, "--overlay", pl["src"], "/w", "--upper", upper,
                                   "--", appender, "/w", lists[g]], root, warm)
                    why = None
                    if ms is not None:
                        if tree_state(pl["src"]) != pl["state"]:
                            why = "the source tree changed"
                        else:
                            try:
                                up = upper_root(upper)
                                why = appended(up, g, warm)
                                n = sum(len(fl) for _, _, fl in os.walk(up))
                                if not why and n != len(rels[g]):
                                    why = "upper holds %d files, %d were written" % (
                                        n, len(rels[g]))
                            except (OSError, RuntimeError) as e:
                                why = "upper: %s" % e
                    record(row, ms, why, warm)
                row = "%s %s cp" % (p, g)
                if row not in failed:
                    shutil.rmtree(dst, ignore_errors=True)
                    os.makedirs(dst)
                    what = (["cp", os.path.join(pl["src"], "big.bin"),
                             os.path.join(dst, "big.bin")] if g == "big" else
                            ["cp", "-r", os.path.join(pl["src"], "small"),
                             os.path.join(dst, "small")])
                    ms = run(row, what, root, warm)
                    why = None
                    if ms is not None:
                        for r in rels[g]:
                            if os.path.getsize(os.path.join(dst, r)) != sizes[g]:
                                why = "%s: wrong size" % r
                                break
                    record(row, ms, why, warm)
            shutil.rmtree(dst, ignore_errors=True)
            shutil.rmtree(upper, ignore_errors=True)
            truncate_copy(pl, "big")
            truncate_copy(pl, "small")
        row = "overlay startup"
        if row not in failed:
            upper = places[0]["upper"]
            ms = run(row, [ptvfs, "--overlay", src, "/w", "--upper", upper, "--",
                           "/bin/true"], root, warm)
            record(row, ms, None, warm)
            shutil.rmtree(upper, ignore_errors=True)
        # The hash ptvfs records at copy-up, in process (OpenSSL via hashlib).
        os.sync()
        t0 = time.perf_counter()
        hh = hashlib.sha256()
        with open(os.path.join(src, "big.bin"), "rb") as f:
            while True:
                b = f.read(1 << 17)
                if not b:
                    break
                hh.update(b)
        hh.hexdigest()
        record("big sha256", (time.perf_counter() - t0) * 1e3, None, warm)

    def result_of(top, v):
        """Why the formatted tree TOP is not variant V's native result."""
        got = tree_state(top, content=True)
        if got != ref[v]:
            bad = sorted(r for r in set(got) | set(ref[v]) if got.get(r) != ref[v].get(r))
            return "%d files differ from the native result (e.g. %s)" % (len(bad), bad[0])
        return None

    def fmt_round(warm):
        for v, _, cmd in variants:
            argv = cmd + fmt_files
            row = "%s native" % v
            restore_tree(pristine, fnative)
            ms = run(row, argv, fnative, warm)
            if ms is not None and v not in ref:
                ref[v] = tree_state(fnative, content=True)
                changed[v] = {r for r, s in ref[v].items() if pristine_hash.get(r) != s}
            record(row, ms, ms is not None and result_of(fnative, v), warm)
            row = "%s ptvfs" % v
            if row not in failed and v in ref:
                restore_tree(pristine, fnative)
                ms = run(row, [ptvfs, "--"] + argv, fnative, warm)
                record(row, ms, ms is not None and result_of(fnative, v), warm)
            if v not in ref:
                continue
            row = "%s workspace" % v
            if row in failed:
                continue
            if state["fsrc dirty"]:
                restore_tree(pristine, fsrc)
                state["fsrc dirty"] = False
            before = tree_state(fsrc)
            shutil.rmtree(fupper, ignore_errors=True)
            ms = run(row, [ptvfs, "--workspace", fsrc, "--upper", fupper, "--"] + argv,
                     fsrc, warm)
            if ms is None:
                continue
            why = None
            if tree_state(fsrc) != before:
                why = "the source tree changed during the run"
            else:
                try:
                    up = upper_root(fupper)
                    got = tree_state(up, content=True)
                    if set(got) != changed[v]:
                        why = ("upper holds %d files, the formatter changed %d (extra: %s; "
                               "missing: %s)" % (len(got), len(changed[v]),
                                                 sorted(set(got) - changed[v])[:3],
                                                 sorted(changed[v] - set(got))[:3]))
                    elif any(got[r] != ref[v][r] for r in got):
                        why = "captured files differ from the native result"
                except (OSError, RuntimeError) as e:
                    why = "upper: %s" % e
            record(row, ms, why, warm)
            if why:
                continue
            row = "%s diff" % v
            if row not in failed:
                ms = run(row, [ptvfs, "diff", fupper], root, warm, out=patch)
                why = None
                if ms is not None:
                    text = read(patch)
                    patch_info[v] = (text.count(b"\ndiff --git ") + text.startswith(
                        b"diff --git "), text.count(b"\n"))
                    if warm:
                        # git apply accepts it inside a copy of the source and
                        # gives the native result
                        t = os.path.join(fmt, "gitapply")
                        restore_tree(pristine, t)
                        r = subprocess.run(["git", "apply", patch], cwd=t,
                                           stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
                        if r.returncode:
                            why = "git apply refuses the diff: %s" % r.stdout.strip()[-300:]
                        else:
                            why = result_of(t, v)
                            if why:
                                why = "after git apply of the diff: " + why
                        shutil.rmtree(t, ignore_errors=True)
                record(row, ms, why, warm)
            row = "%s apply" % v
            if row not in failed:
                state["fsrc dirty"] = True
                ms = run(row, [ptvfs, "apply", fupper], root, warm)
                record(row, ms, ms is not None and result_of(fsrc, v), warm)

    for i in range(runs + 1):
        warm = i == 0
        copy_up_round(warm)
        fmt_round(warm)
        log("   %s: %s" % ("warm-up" if warm else "round %d/%d" % (i, runs), "  ".join(
            "%s %.0f" % (k, v[-1]) for k, v in val.items() if len(v) == i)))

    # ---- the section
    def st(row):
        v = val.get(row)
        if row in failed or not v:
            return None
        return statistics.median(v), min(v), max(v)

    def ms_(x):
        return "{:,.1f}".format(x) if x < 1000 else "{:,.0f}".format(x)

    rows = []

    def row(label, key, base=None, note=""):
        s3 = st(key)
        if s3 is None:
            cells = ["fails" if key in failed else "-", "-", "-", "-"]
            if key in failed:
                note = (note + "; " if note else "") + failed[key][:200]
        else:
            b = st(base) if base else None
            cells = [ms_(x) for x in s3] + ["%.2f" % (s3[0] / b[0]) if b else "-"]
        rows.append([label] + cells + [note])

    def sep(label):
        rows.append(["**%s**" % label, "", "", "", "", ""])

    def emit(head):
        say("| %s | median ms | min | max | × native | note |" % head)
        say("| --- | ---: | ---: | ---: | ---: | --- |")
        for r in rows:
            say("| " + " | ".join(r) + " |")
        rows.clear()
        say()

    say("%s: copy-on-write, copy-up and a formatter under --workspace  %s  kernel %s  "
        "%d CPUs" % (OVERLAY_MARK, time.strftime("%Y-%m-%d %H:%M:%S"), os.uname().release,
                     os.cpu_count()))
    say("tree %s   ptvfs binary sha256 %s   %s" % (git_state(), sha(ptvfs)[:16],
                                                   clang_version))
    for pl in places:
        say("%s: %s on %s (%s, mounted at %s); reflink: %s." % (
            "Copy-up on the disk" if pl["name"] == "disk" else "Again on tmpfs",
            "the work directory" if pl["name"] == "disk" else "a second copy",
            os.path.dirname(pl["top"]), pl["fs"][1], pl["fs"][0], pl["reflink"]))
    say("So copy_file_range (ptvfs's copy-up, and cp) copies the data inside the kernel, "
        "no data through user space, no shared extents. The formatter runs on the disk.")
    say("%d rounds after one warm-up round (checked, peak RSS; not counted), every row "
        "once a round, interleaved; sync before each run; the sources in the page cache. "
        "Wall = time.perf_counter() around spawn and wait4, in ms. × native: the median "
        "over the native row's median." % runs)
    say()
    say("Copy-up. SRC holds big.bin (%s MB of random bytes) and %s files of %s kB "
        "(text) in %d directories. overlay_append (bench/overlay_append.c) opens each "
        "file it is given with O_APPEND and writes one line: natively on a copy of SRC "
        "(truncated back between runs), then under `ptvfs --overlay SRC /w --upper U` on "
        "/w (U removed between runs), where the first write copies the file up: "
        "copy_file_range, then ptvfs records the source's size, mtime and sha256." % (
            a.overlay_big_mb, "{:,}".format(nsmall), a.overlay_small_kb,
            (nsmall + per_dir - 1) // per_dir))
    say()
    for pl in places:
        p = pl["name"]
        where = "%s, %s" % (os.path.dirname(pl["top"]), pl["fs"][1])
        for g, what in (("big", "(a) the %d MB file" % a.overlay_big_mb),
                        ("small", "(b) %s files of %d kB" % ("{:,}".format(nsmall),
                                                             a.overlay_small_kb))):
            k = "%s %s " % (p, g)
            sep("%s, on %s" % (what, where))
            row("native: overlay_append on the copy", k + "native", k + "native")
            row("`ptvfs --` overlay_append on the copy (tracking only, no view)",
                k + "ptvfs", k + "native")
            row("`ptvfs --overlay SRC /w --upper U --` overlay_append /w", k + "overlay",
                k + "native", "copy-up of every file, then the append")
            row("reference: `cp %s` (untraced)" % ("big.bin" if g == "big" else "-r small"),
                k + "cp", k + "native", "what a plain copy costs")
    sep("references")
    row("sha256 of big.bin in process (python hashlib, OpenSSL)", "big sha256", None,
        "the hash ptvfs records at copy-up")
    row("`ptvfs --overlay SRC /w --upper U -- /bin/true`", "overlay startup", None,
        "start-up, nothing copied")
    emit("copy-up")

    derived = []
    for pl in places:
        for g in ("big", "small"):
            k = "%s %s " % (pl["name"], g)
            o, c, n, t = (st(k + x) for x in ("overlay", "cp", "native", "ptvfs"))
            if o and c and n:
                derived.append("%s on %s: ptvfs --overlay %.0f ms against cp + native "
                               "append %.0f ms (%.2f×)%s" % (
                                   "large file" if g == "big" else "small files",
                                   pl["fs"][1], o[0], c[0] + n[0], o[0] / (c[0] + n[0]),
                                   ", copy-up %.0f µs a file over tracking alone" % (
                                       (o[0] - t[0]) * 1e3 / nsmall)
                                   if g == "small" and t else ""))
    if derived:
        say("Against copying first: " + "; ".join(derived) + ".")
        say()

    if not variants:
        say("Formatter: skipped, no clang-format in %s." % BENCH_ENV["PATH"])
        say()
    else:
        say("Formatter. %d copies of %s (%s files, %s lines) and the repository's "
            ".clang-format at the top; one file in ten (%d) is first reformatted in LLVM's "
            "default style, so that the repository's style changes those back. Natively the "
            "formatter runs on a copy of the tree (restored between runs); under ptvfs as "
            "`ptvfs --workspace SRC --upper U -- clang-format -i FILES`, started in SRC (so in "
            "/home/user/workspace), U removed between runs; then `ptvfs diff U` (stdout to a "
            "file) and `ptvfs apply U` (which writes SRC; SRC is restored after it, untimed). "
            "Checks: the native result (as sha256 of every file) is the one ptvfs's upper "
            "holds, SRC unchanged by the run, U holds exactly the changed files, `git apply` "
            "of the diff in a copy of SRC gives the native result (warm-up), and SRC after "
            "`ptvfs apply` is the native result (every run)." % (
                a.overlay_copies, origin, "{:,}".format(len(fmt_files)),
                "{:,}".format(fmt_lines), len(skewed)))
        say()
        for v, title, _ in variants:
            ch = changed.get(v)
            pi = patch_info.get(v)
            sep("%s: %s of %s files changed" % (title, "{:,}".format(len(ch)) if ch is not None
                                                else "?", "{:,}".format(len(fmt_files))))
            row("native, on a copy", "%s native" % v, "%s native" % v)
            row("`ptvfs --` (tracking only, no view), on a copy", "%s ptvfs" % v,
                "%s native" % v)
            row("`ptvfs --workspace SRC --upper U --`", "%s workspace" % v, "%s native" % v,
                "changes captured in U")
            row("`ptvfs diff U`", "%s diff" % v, "%s native" % v,
                "%s files, %s lines of patch" % ("{:,}".format(pi[0]), "{:,}".format(pi[1]))
                if pi else "")
            row("`ptvfs apply U`", "%s apply" % v, "%s native" % v, "")
            w, d, ap_, n = (st("%s %s" % (v, k)) for k in ("workspace", "diff", "apply", "native"))
            if w and d and ap_ and n:
                tot = w[0] + d[0] + ap_[0]
                rows.append(["workspace + diff + apply (sum of the medians)", ms_(tot), "", "",
                             "%.2f" % (tot / n[0]), ""])
        emit("formatter")

    def kb(x):
        return "%d kB (%.1f MB)" % (x, x / 1024) if x else "-"
    say("Peak RSS at the warm-up: VmHWM of the ptvfs process (polled every 2 ms, a lower "
        "bound) / /usr/bin/time -f %M (the largest single process of the run).")
    say("| run | ptvfs VmHWM | /usr/bin/time %M |")
    say("| --- | ---: | ---: |")
    for k in tuple("%s %s %s" % (pl["name"], g, m) for pl in places
                   for g in ("big", "small") for m in ("ptvfs", "overlay")) + \
            ("overlay startup",) + \
            tuple("%s %s" % (v, m) for v, _, _ in variants
                  for m in ("ptvfs", "workspace", "diff", "apply")):
        if k in rss:
            say("| %s | %s | %s |" % (k, kb(rss[k][0]), kb(rss[k][1])))
    say()
    finish_section(say, "overlay", val, 28, problems, began, keep, root, shm)
    return lines


def git_state():
    try:
        head = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain",
                                "--untracked-files=no", "--", "tracer", "include",
                                "arch", "CMakeLists.txt"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, timeout=10).stdout.strip()
        return (head or "?") + (" (tracer sources modified)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def read_rss(path):
    try:
        with open(path) as f:
            return int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def fails_cell(why, rc, stderr_path):
    """The table cell of a failed mode: why, and for a failed exit the last
    line of its stderr (e.g. the path it could not write)."""
    cell = "fails: " + why
    if rc:
        try:
            with open(stderr_path, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        if lines:
            last = lines[-1].strip().replace("|", "/")
            cell += " (%s)" % (last if len(last) <= 100 else last[:97] + "...")
    return cell


def tail(path, n=300):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    s = data[-n:].decode(errors="replace").strip().replace("\n", " | ")
    return s or "empty"


def proot_info():
    r = subprocess.run(["proot", "--version"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    acc = [l.strip() for l in r.stdout.splitlines() if "accelerators" in l]
    try:
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "proot"],
                             stdout=subprocess.PIPE, text=True).stdout
    except OSError:
        ver = "?"
    return "%s (%s)" % (ver, acc[0] if acc else "?")


def strace_version():
    r = subprocess.run(["strace", "-V"], stdout=subprocess.PIPE, text=True)
    return r.stdout.split("\n")[0].split()[-1]


def table(say, selected, modes, results):
    def med(w, m):
        v = results.get((w, m))
        if isinstance(v, list) and v:
            return statistics.median(v)
        return None

    head = ["workload", "native"] + [LABEL[m] for m in modes if m != "native"]
    beats = []
    if "ptvfs" in modes and ("proot" in modes or "proot-pinned" in modes):
        beats.append(("ptvfs vs best PRoot", ["proot", "proot-pinned"]))
    if "ptvfs" in modes and ("strace" in modes or "strace-pinned" in modes):
        beats.append(("ptvfs vs best strace", ["strace", "strace-pinned"]))
    head += [b[0] for b in beats]
    say("Median wall-clock seconds; ratio to native in brackets. 'pinned' = under "
        "taskset -c 0. 'vs best': ptvfs median / the faster of the peer's two columns."
        + (" 'ptvfs --workspace': the same command inside a view (--workspace of its "
           "directory); 'x rec' is its median over the ptvfs (recording) column's."
           if "ptvfs-ws" in modes else ""))
    say("| " + " | ".join(head) + " |")
    say("| --- | " + " | ".join("---:" for _ in head[1:]) + " |")
    for w in selected:
        nat = med(w.name, "native")
        row = [w.title, "%.3f" % nat if nat else "fails"]
        for m in modes:
            if m == "native":
                continue
            v = results.get((w.name, m))
            if isinstance(v, str):
                row.append(v)
            else:
                t = med(w.name, m)
                rec = med(w.name, "ptvfs")
                if m == "ptvfs-ws" and t and nat and rec:
                    row.append("%.3f (%.2fx; %.2fx rec)" % (t, t / nat, t / rec))
                else:
                    row.append("%.3f (%.2fx)" % (t, t / nat) if t and nat else "-")
        pt = med(w.name, "ptvfs")
        for _, peers in beats:
            pm = [med(w.name, p) for p in peers if p in modes]
            pm = [x for x in pm if x]
            if pt is None:
                row.append("ptvfs fails")
            elif not pm:
                row.append("yes (peers fail)")
            else:
                best = min(pm)
                row.append("%s (%.2fx)" % ("yes" if pt < best else "NO", pt / best))
        say("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
