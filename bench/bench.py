#!/usr/bin/python3
"""ptvfs benchmark harness (called by scripts/bench; python3 stdlib only).

Generates six workloads in a temporary directory, runs each untraced and under
ptvfs, PRoot and strace (unpinned and pinned to CPU 0), checks that every mode
produced the same result as the untraced run, and prints a table of medians.
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
ALL_MODES = ["native", "ptvfs", "proot", "proot-pinned", "strace", "strace-pinned",
             "ptvfs-pinned"]
DEFAULT_MODES = ALL_MODES[:6]
LABEL = {"native": "native", "ptvfs": "ptvfs", "proot": "PRoot",
         "proot-pinned": "PRoot pinned", "strace": "strace",
         "strace-pinned": "strace pinned", "ptvfs-pinned": "ptvfs pinned"}


def wrap(mode, cmd, ptvfs, report):
    if mode == "native":
        return list(cmd)
    if mode == "ptvfs":
        return [ptvfs, "--report", report, "--"] + cmd
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

    def result(self, stdout):
        """Summary of what the run produced; compared to the native one."""
        return None

    def check(self, rc, stdout):
        if rc != 0:
            return "exit status %d" % rc
        try:
            res = self.result(stdout)
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

    def result(self, stdout):
        return sha(os.path.join(self.dir, "big.o"))


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

    def result(self, stdout):
        return sha(os.path.join(self.dir, "hdrs.o"))


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

    def result(self, stdout):
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

    def result(self, stdout):
        # The generated Makefile holds CC, CFLAGS and every HAVE_* in DEFS.
        os.stat(os.path.join(self.dir, "config.status"))
        return read(os.path.join(self.dir, "Makefile"))


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

    def result(self, stdout):
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

    def result(self, stdout):
        objs = sorted(f for f in os.listdir(self.dir) if f.endswith(".o"))
        if len(objs) != 16:
            raise RuntimeError("%d objects" % len(objs))
        out = sh(["./app"], self.dir, self.env)
        return (tuple(sha(os.path.join(self.dir, o)) for o in objs), out)


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
    ap.add_argument("--only", choices=[w.name for w in WORKLOADS] + [VIEW_SETUP],
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
    ap.add_argument("--view-disk-runs", type=int, default=None,
                    help="view-setup: rounds that also build the symlink forest on "
                    "the disk (~1 min each here; default: every round)")
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

    work_lines = view_lines = None
    if selected:
        work_lines = run_workloads(a, modes, runs, pruns, ptvfs, selected)
    if not a.only or VIEW_SETUP in a.only:
        if selected:
            print()
        view_lines = view_setup(a, runs, ptvfs)
    write_results(a.out, work_lines, view_lines)
    print("results written to %s" % a.out)


def run_workloads(a, modes, runs, pruns, ptvfs, selected):
    """The six workloads under every mode; returns the lines of their table."""
    began = time.perf_counter()

    root = tempfile.mkdtemp(prefix="ptvfs-bench-")
    env = BENCH_ENV
    logs = os.path.join(root, "logs")
    os.makedirs(logs)
    report = os.path.join(root, "ptvfs-report.json")
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
    say()

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
            for m in modes:
                w.reset()
                argv = wrap(m, w.cmd, ptvfs, report)
                so = os.path.join(logs, "%s-%s.out" % (w.name, m))
                se = os.path.join(logs, "%s-%s.err" % (w.name, m))
                # Peak RSS: under /usr/bin/time, whose small child does not inherit
                # this harness's RSS as a fork of python would (ru_maxrss counts
                # the pre-exec image).
                rssf = os.path.join(logs, "%s-%s.rss" % (w.name, m))
                timed = m in ("native", "ptvfs")
                run_argv = (["/usr/bin/time", "-f", "%M", "-o", rssf] + argv) if timed else argv
                try:
                    if os.path.exists(report):
                        os.unlink(report)
                    dt, rc, _, hwm = run_once(run_argv, w.dir, env, so, se, timeout,
                                              poll_pid_rss=(m == "ptvfs"))
                    maxrss = read_rss(rssf) if timed else None
                except Hang:
                    failed[m] = "hangs"
                    problems.append("%s/%s: no exit after %.0fs: %s" % (
                        w.name, m, timeout, fmt_cmd(argv, w.dir)))
                    keep = True
                    continue
                with open(so, "rb") as f:
                    why = w.check(rc, f.read())
                if why is None and m.startswith("ptvfs"):
                    why = check_report(report)
                if why:
                    failed[m] = "fails"
                    problems.append("%s/%s: %s: %s  (stderr: %s)" % (
                        w.name, m, why, fmt_cmd(argv, w.dir), tail(se)))
                    keep = True
                    if m == "native":
                        raise SystemExit("native run of %s fails: %s" % (w.name, why))
                    continue
                if m == "native":
                    timeout = max(60.0, 200 * dt)
                    rss.setdefault(w.name, {})["native"] = maxrss
                if m == "ptvfs":
                    rss.setdefault(w.name, {})["ptvfs+cmd"] = maxrss
                    rss[w.name]["ptvfs"] = hwm
                print("   warm-up %-14s %8.3fs" % (m, dt), flush=True)
            # Timed runs, interleaved so that drift hits every mode alike.
            for i in range(runs):
                for m in modes:
                    if m in failed or (pinned(m) and i >= pruns):
                        continue
                    w.reset()
                    argv = wrap(m, w.cmd, ptvfs, report)
                    se = os.path.join(logs, "%s-%s.err" % (w.name, m))
                    try:
                        dt, rc, _, _ = run_once(argv, w.dir, env, None, se, timeout)
                    except Hang:
                        failed[m] = "hangs"
                        problems.append("%s/%s: no exit after %.0fs (run %d): %s" % (
                            w.name, m, timeout, i + 1, fmt_cmd(argv, w.dir)))
                        keep = True
                        continue
                    if w.uses_stdout:   # its output went to /dev/null
                        why = "exit status %d" % rc if rc else None
                    else:
                        why = w.check(rc, None)
                    if why:
                        failed[m] = "fails"
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
        "untraced command. Warm-up runs only.")
    say("| workload | ptvfs | ptvfs+cmd | native |")
    say("| --- | ---: | ---: | ---: |")
    for w in selected:
        r = rss.get(w.name, {})
        say("| %s | %s | %s | %s |" % (w.title, r.get("ptvfs", "-"),
                                       r.get("ptvfs+cmd", "-"), r.get("native", "-")))
    say()
    say("Raw times (s):")
    for w in selected:
        for m in modes:
            v = results[(w.name, m)]
            say("  %-10s %-14s %s" % (w.name, m, v if isinstance(v, str)
                                      else " ".join("%.3f" % x for x in v)))
    say()
    if problems:
        say("Problems:")
        for p in problems:
            say("  " + p)
        say()
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


def write_results(path, work_lines, view_lines):
    """Write the workload table and the view-setup section to PATH; a part
    not run this time is kept as the file had it."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = ""
    at = 0 if old.startswith(VIEW_MARK) else old.find("\n" + VIEW_MARK)
    old_work, old_view = (old, "") if at < 0 else (old[:at], old[at:].lstrip("\n"))
    work = "\n".join(work_lines) + "\n" if work_lines is not None else old_work
    view = "\n".join(view_lines) + "\n" if view_lines is not None else old_view
    text = work.rstrip("\n") + "\n"
    if view:
        text = (text + "\n" if work.strip() else "") + view
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


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

    pt, pv = st("ptvfs"), st("ptvfs-inputs")
    setup = pv[0] - pt[0] if pt and pv else None
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
        "after them); median, min, max in ms. "
        "Wall = time.perf_counter() around spawn and wait4; the peers time only their "
        "own work, inside the process (no spawn)." % runs)
    say()
    if setup is not None:
        rows.append(["view setup: ptvfs --inputs minus ptvfs, difference of the medians "
                     "(min/max: paired by round)", "%.1f" % setup,
                     "%.1f" % min(paired), "%.1f" % max(paired), "wall, end to end"])
    else:
        rows.append(["view setup: ptvfs --inputs minus ptvfs", "fails", "-", "-",
                     "see Problems"])
    row("`ptvfs --inputs M -- /bin/true`", "ptvfs-inputs", "wall")
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
        say("Against the target: view setup %.1f ms (%s 50 ms); ptvfs peak RSS %.1f MB "
            "(%s 64 MB)." % (setup, "under" if setup < 50 else "NOT under",
                             peak / 1024, "under" if peak < 64 * 1024 else "NOT under"))
    say()
    say("Raw (ms):")
    for k, v in val.items():
        if isinstance(v, list):
            say("  %-26s %s" % (k, " ".join("%.1f" % x for x in v)))
    say()
    if problems:
        say("Problems:")
        for p in problems:
            say("  " + p)
        say()
        keep = True
    say("view-setup bench took %.0f s" % (time.perf_counter() - began))
    if keep:
        say("work directory kept: %s%s" % (root, " and " + shm if shm else ""))
    else:
        shutil.rmtree(root, ignore_errors=True)
        if shm:
            shutil.rmtree(shm, ignore_errors=True)
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
        "taskset -c 0. 'vs best': ptvfs median / the faster of the peer's two columns.")
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
