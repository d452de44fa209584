"""Exit statuses and signals as a user of ptvfs sees them (DESIGN.md §1): the command's own
status passed through, 128+N for death by signal N with the report still written, signals sent
to ptvfs passed on to the command, 127/126 when the command cannot be found or run, 125 and a
one-line message for a bad option with nothing run, nothing of ptvfs's own on stdout or stderr,
group stops that neither hang nor change what the command sees, and the whole tree killed when
ptvfs itself is killed."""
import os
import pty
import re
import resource
import select
import shutil
import signal
import subprocess
import time

from ptvfs_test import (PTVFS, check, load_report, native, prog, run, run_sections, scratch_dir,
                        start)

SIGNALS = prog("signals")
# Unbuffered, so that select() on stdout sees all that is unread.
PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "bufsize": 0}
# Death by SIGSEGV must not leave core files behind (core_pattern may be "core").
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def readline(p, timeout=10.0):
    """The next line of P's stdout (started with **PIPES), or b"" when none comes within
    TIMEOUT seconds."""
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    return p.stdout.readline() if ready else b""


def quiet_for(p, seconds):
    """Whether P prints nothing for SECONDS."""
    ready, _, _ = select.select([p.stdout], [], [], seconds)
    return not ready


def finish(p, timeout=20):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, f"ptvfs ends within {timeout}s (it hung): {p.args}")
    return out, err


def exit_codes():
    for code in (0, 1, 42):
        p, report = run([SIGNALS, "exit", str(code)])
        check(p.returncode == code, f"exit status {code} is passed through: {p.returncode}")
        check(report and report["exit"] == {"code": code},
              f"the report's exit is {{'code': {code}}}: {report and report['exit']}")
        p, report = run(["sh", "-c", f"exit {code}"])
        check(p.returncode == code, f"a shell's exit {code} is passed through: {p.returncode}")
    p, report = run(["sh", "-c", f"{SIGNALS} exit 3; exit $(( $? + 40 ))"])
    check(p.returncode == 43, f"a child's status seen by its parent is unchanged: {p.returncode}")


def death_by_signal():
    for mode, sig in (("segv", signal.SIGSEGV), ("kill", signal.SIGKILL)):
        nat = native([SIGNALS, mode])
        check(nat.returncode == -sig, f"{mode} dies of {sig.name} natively: {nat.returncode}")
        p, report = run([SIGNALS, mode])
        check(p.returncode == 128 + sig,
              f"a command killed by {sig.name} makes ptvfs exit {128 + sig}: {p.returncode}")
        check(p.stdout == b"" and p.stderr == b"",
              f"ptvfs prints nothing of its own when the command dies of {sig.name}: "
              f"{p.stderr.decode()}")
        check(report is not None, f"the report is written when the command dies of {sig.name}")
        check(report["exit"] == {"signal": int(sig), "code": 128 + sig},
              f"the report's exit names {sig.name}: {report['exit']}")
        check(report["processes"][0]["exit"] == {"signal": int(sig), "code": 128 + sig},
              f"the process entry's exit names {sig.name}: {report['processes'][0]}")
    # A child dying of a signal is the parent's business, not ptvfs's status.
    p, report = run(["sh", "-c", f"{SIGNALS} segv; echo child $?"])
    check(p.returncode == 0 and p.stdout == b"child 139\n",
          f"the shell sees its child's SIGSEGV as natively: {p.returncode} {p.stdout}")
    p, _ = run([SIGNALS, "queue"])
    check(p.returncode == 0, f"a queued signal reaches its handler with its si_code, si_pid and "
          f"value unchanged: {p.stdout.decode()}")


def forwarded_signals():
    for sig, code in ((signal.SIGTERM, 7), (signal.SIGINT, 8), (signal.SIGHUP, 9)):
        p, report_path = start([SIGNALS, "trap"], **PIPES)
        check(readline(p) == b"ready\n", "the trapping command starts under ptvfs")
        p.send_signal(sig)
        out, err = finish(p)
        check(p.returncode == code, f"{sig.name} sent to ptvfs reaches the command, which traps "
              f"it and exits {code}: ptvfs exited {p.returncode}")
        check(err == b"", f"ptvfs prints nothing on {sig.name}: {err.decode()}")
        report = load_report(report_path)
        check(report and report["exit"] == {"code": code},
              f"the report's exit is the trapping command's: {report and report['exit']}")
    # Not trapped: the command dies of it, and ptvfs says so.
    p, report_path = start([SIGNALS, "ticker", "200"], **PIPES)
    check(readline(p).startswith(b"pid "), "the ticker starts under ptvfs")
    p.send_signal(signal.SIGTERM)
    out, err = finish(p)
    check(p.returncode == 128 + signal.SIGTERM,
          f"an untrapped SIGTERM sent to ptvfs kills the command: ptvfs exits 143, "
          f"got {p.returncode}")
    report = load_report(report_path)
    check(report and report["exit"] == {"signal": 15, "code": 143},
          f"the report is written and names SIGTERM: {report and report['exit']}")


def terminal_interrupt():
    """Ctrl-C in a terminal: the kernel signals the whole foreground group, ptvfs and the
    command alike; the command sees one SIGINT and its status comes back."""
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execv(PTVFS, [PTVFS, "--", SIGNALS, "count"])
        finally:
            os._exit(99)
    out, sent = b"", False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 1024)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"ready" in out and not sent:
                os.write(master, b"\x03")
                sent = True
    while True:
        done_pid, status = os.waitpid(pid, os.WNOHANG)
        if done_pid or time.monotonic() > deadline + 5:
            break
        time.sleep(0.05)
    if not done_pid:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        check(False, f"ptvfs ends after Ctrl-C (it hung): {out!r}")
    os.close(master)
    count = re.search(rb"(\d+)\s*$", out)
    check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          f"after Ctrl-C the command's own status comes back: {status:#x} {out!r}")
    check(sent and count and count.group(1) == b"1",
          f"Ctrl-C in a terminal reaches the command once: {out!r}")


def signal_to_group():
    # A signal to the whole process group (kill -TERM -PGID, as CI runners and timeout(1)
    # send it) reaches the command once, not once directly and once more from ptvfs.
    # Whether it arrives twice is a race, so try a few times.
    for attempt in range(6):
        sig = (signal.SIGTERM, signal.SIGINT)[attempt % 2]
        p, report_path = start([SIGNALS, "count"], **PIPES, start_new_session=True)
        check(readline(p) == b"ready\n", "the counting command starts under ptvfs")
        os.killpg(p.pid, sig)
        out, err = finish(p)
        check(p.returncode == 0 and out == b"1\n",
              f"a {sig.name} sent to ptvfs's process group arrives once at the command: it "
              f"counted {out.decode().strip()} (exit {p.returncode}, attempt {attempt + 1})")


def cannot_run():
    d = scratch_dir()
    p, report = run(["no-such-command-ptvfs-test"], cwd=d)
    check(p.returncode == 127, f"a command that is not found exits 127: {p.returncode}")
    check(b"no-such-command-ptvfs-test" in p.stderr and p.stderr.count(b"\n") == 1,
          f"one line on stderr names the command not found: {p.stderr.decode()}")
    check(p.stdout == b"", "nothing on stdout when the command is not found")
    p, _ = run([os.path.join(d, "missing", "cmd")], cwd=d)
    check(p.returncode == 127, f"a missing path as command exits 127: {p.returncode}")
    script = os.path.join(d, "not-executable")
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho ran\n")
    os.chmod(script, 0o644)
    p, _ = run([script], cwd=d)
    check(p.returncode == 126 and p.stdout == b"",
          f"a command that is not executable exits 126 and does not run: {p.returncode}")
    check(b"not-executable" in p.stderr, f"the message names it: {p.stderr.decode()}")
    p, _ = run([d], cwd=d)
    check(p.returncode == 126, f"a directory as command exits 126: {p.returncode}")
    shutil.rmtree(d, ignore_errors=True)


def bad_options():
    d = scratch_dir()
    marker = os.path.join(d, "ran")
    cases = [
        ([PTVFS, "--no-such-option", "--", "touch", marker], "--no-such-option"),
        ([PTVFS, "--report"], "--report"),
        ([PTVFS, "--report", os.path.join(d, "missing", "r.json"), "--", "touch", marker],
         "--report"),
        ([PTVFS, "--report", "", "--", "touch", marker], "--report"),
        ([PTVFS, "--report", os.path.join(d, "r.json")], None),
    ]
    for cmd, names in cases:
        p = subprocess.run(cmd, capture_output=True, cwd=d, timeout=30)
        check(p.returncode == 125, f"{cmd[1:]} exits 125: {p.returncode}")
        check(p.stdout == b"", f"{cmd[1:]} prints nothing on stdout")
        lines = p.stderr.decode().splitlines()
        check(len(lines) == 1, f"{cmd[1:]} prints a one-line message: {lines}")
        check(names is None or names in lines[0], f"the message names {names}: {lines}")
        check(not os.path.exists(marker), f"{cmd[1:]} runs nothing")
        check(not os.path.exists(os.path.join(d, "r.json")), f"{cmd[1:]} writes no report")
    # The report cannot be written at the end (its directory went away): ptvfs failed.
    os.mkdir(os.path.join(d, "gone"))
    p = subprocess.run([PTVFS, "--report", os.path.join(d, "gone", "r.json"), "--", "sh", "-c",
                        f"rm -r {d}/gone; exit 3"], capture_output=True, cwd=d, timeout=30)
    check(p.returncode == 125, f"a report that cannot be written makes ptvfs exit 125: "
          f"{p.returncode}")
    check(len(p.stderr.splitlines()) == 1 and b"r.json" in p.stderr,
          f"a one-line message names the report: {p.stderr.decode()}")
    p = subprocess.run([PTVFS, "--help"], capture_output=True, timeout=30)
    check(p.returncode == 0 and b"usage" in p.stdout.lower(), "--help prints usage and exits 0")
    shutil.rmtree(d, ignore_errors=True)


def silence():
    d = scratch_dir()
    cases = ((["sh", "-c", "echo out; echo err >&2; ls /nonexistent-ptvfs; exit 3"], None),
             (["cat"], b"piped through\n" * 1000),
             (["gcc", "-fsyntax-only", "-x", "c", "-"], b"int main(void) { return x; }\n"))
    for cmd, stdin in cases:
        nat = native(cmd, cwd=d, input=stdin)
        p, report = run(cmd, cwd=d, input=stdin)
        check(p.returncode == nat.returncode, f"{cmd} exits as natively: {p.returncode}")
        check(p.stdout == nat.stdout, f"{cmd}'s stdout is the same as natively")
        check(p.stderr == nat.stderr, f"{cmd}'s stderr is the same as natively: "
              f"{nat.stderr.decode()!r} vs {p.stderr.decode()!r}")
        check(report is not None, f"a report is written for {cmd}")
    shutil.rmtree(d, ignore_errors=True)


def group_stops():
    # Inside the tree: the parent sees its child stop and continue, as natively.
    nat = native([SIGNALS, "stopcont"], timeout=30)
    check(b"after SIGSTOP: stopped by STOP" in nat.stdout, f"stopcont natively: {nat.stdout}")
    p, report = run([SIGNALS, "stopcont"], timeout=30)
    check((p.returncode, p.stdout, p.stderr) == (nat.returncode, nat.stdout, nat.stderr),
          f"a parent sees its child stopped, continued and killed as natively:\n"
          f"{nat.stdout.decode()}---\n{p.stdout.decode()}{p.stderr.decode()}")
    p, _ = run(["sh", "-c", "sleep 0.3 & kill -STOP $!; sleep 0.2; kill -CONT $!; wait $!; "
                "echo waited $?"], timeout=30)
    check(p.returncode == 0 and p.stdout == b"waited 0\n",
          f"a shell's stopped and continued child finishes: {p.stdout} {p.stderr}")
    # From outside: the command stops (prints nothing), continues, and finishes.
    p, report_path = start([SIGNALS, "ticker", "16"], **PIPES)
    line = readline(p)
    check(line.startswith(b"pid "), f"the ticker starts: {line}")
    pid = int(line.split()[1])
    check(readline(p).startswith(b"tick"), "the ticker ticks")
    os.kill(pid, signal.SIGSTOP)
    time.sleep(0.2)
    while not quiet_for(p, 0):
        p.stdout.readline()
    check(quiet_for(p, 0.5), "a command stopped with SIGSTOP under ptvfs stops")
    os.kill(pid, signal.SIGCONT)
    check(readline(p, 5).startswith(b"tick"), "after SIGCONT the command runs again")
    out, err = finish(p)
    check(p.returncode == 0 and out.endswith(b"tick 15\n"),
          f"a stopped and continued command finishes: {p.returncode} {out[-40:]}")
    # A command that stops itself stays stopped until someone continues it, then finishes.
    p, _ = start(["sh", "-c", "echo stopping; kill -STOP $$; echo resumed"], **PIPES)
    check(readline(p) == b"stopping\n", "the self-stopping shell starts")
    check(quiet_for(p, 0.3), "a shell that sent itself SIGSTOP under ptvfs stays stopped")
    shell = children_of(p.pid)
    check(len(shell) == 1, f"the shell is ptvfs's child: {shell}")
    os.kill(shell[0], signal.SIGCONT)
    out, err = finish(p)
    check(p.returncode == 0 and out == b"resumed\n",
          f"a command that stopped itself resumes on SIGCONT: {p.returncode} {out} {err}")


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def dead(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def ptvfs_killed():
    p, _ = start(["sh", "-c", "sleep 60 & echo $! $$; sleep 60"], **PIPES)
    line = readline(p)
    pids = [int(x) for x in line.split()]
    check(len(pids) == 2, f"the tree starts: {line}")
    p.kill()
    p.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(dead(x) for x in pids):
        time.sleep(0.05)
    survivors = [x for x in pids if not dead(x)]
    for x in survivors:
        os.kill(x, signal.SIGKILL)
    check(not survivors, f"when ptvfs is killed, the whole traced tree dies with it: "
          f"{survivors} survived")


run_sections(exit_codes, death_by_signal, forwarded_signals, terminal_interrupt, cannot_run,
             bad_options, silence, group_stops, ptvfs_killed, signal_to_group)
