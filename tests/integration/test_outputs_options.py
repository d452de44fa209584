"""The options of the build-system outputs and of copy-on-write workspaces, as the command line
reads them: bad values found before anything runs (one line, exit 125), the --workspace preset
(the starting directory matching the current one, HOME, private /home/user and /tmp), --upper's
checks, the subcommands, and --help listing every option."""
import os
import subprocess

from ptvfs_test import PTVFS, check, run_sections, scratch_dir, unprivileged, write_file


def ptvfs(*args, cwd=None, as_nobody=False):
    full = [PTVFS, *args]
    return subprocess.run(unprivileged(full) if as_nobody else full, cwd=cwd, capture_output=True)


def refused(args, words, what, cwd=None, command=True):
    """ptvfs ARGS (then a command, unless COMMAND is false: a value missing at the end) exits
    125 with one line holding each of WORDS, and runs nothing."""
    d = scratch_dir()
    marker = os.path.join(d, "ran")
    p = ptvfs(*args, *(["--", "touch", marker] if command else []), cwd=cwd)
    err = p.stderr.decode()
    check(p.returncode == 125, f"{what}: exit 125, not {p.returncode} ({err.strip()})")
    check(len(err.splitlines()) == 1 and all(w in err for w in words),
          f"{what}: one line naming {words}: {err!r}")
    check(not os.path.exists(marker), f"{what}: nothing runs")


def bad_values():
    d = scratch_dir()
    write_file(os.path.join(d, "a-file"), "x")
    refused(["--depfile"], ["--depfile", "needs"], "--depfile without its FILE", command=False)
    refused(["--depfile", "/nonexistent/x.d"], ["--depfile", "/nonexistent"],
            "a depfile in a directory that does not exist")
    refused(["--depfile", ""], ["--depfile", "empty"], "an empty depfile name")
    refused(["--depfile-target", "a.o"], ["--depfile-target", "--depfile"],
            "--depfile-target without --depfile")
    refused(["--depfile", os.path.join(d, "x.d"), "--depfile-target", ""],
            ["--depfile-target", "empty"], "an empty --depfile-target")
    refused(["--compile-commands", "/nonexistent/cc.json"], ["--compile-commands", "/nonexistent"],
            "a compilation database in a directory that does not exist")
    refused(["--unused-inputs", os.path.join(d, "u.txt")], ["--unused-inputs", "--inputs"],
            "--unused-inputs without --inputs")
    refused(["--why"], ["--why", "needs"], "--why without its GLOB", command=False)
    refused(["--upper", os.path.join(d, "a-file")], ["--upper", "not a directory"],
            "--upper naming a file")
    refused(["--upper", "/nonexistent/a/b"], ["--upper", "/nonexistent/a"],
            "--upper whose parent does not exist")
    refused(["--workspace", "/nonexistent/ws"], ["--workspace", "/nonexistent/ws"],
            "--workspace naming no directory")
    refused(["--workspace", os.path.join(d, "a-file")], ["--workspace", "not a directory"],
            "--workspace naming a file")
    refused(["--overlay", "/nonexistent/src", "/w"], ["--overlay", "/nonexistent/src"],
            "--overlay of a SRC that does not exist")
    refused(["--overlay", d], ["--overlay", "needs"], "--overlay with one value", command=False)
    refused(["--overlay", d, "relative/dest"], ["--overlay", "relative/dest"],
            "--overlay with a relative DEST")


def good_values_run():
    d = scratch_dir()
    p = ptvfs("--upper", os.path.join(d, "new-upper"), "--why", "*.nothing", "--depfile",
              os.path.join(d, "x.d"), "--depfile-target", "t", "--compile-commands",
              os.path.join(d, "cc.json"), "--", "true")
    check(p.returncode == 0 and p.stderr == b"",
          f"every output option at once, --upper naming a directory to make: runs "
          f"({p.returncode}, {p.stderr.decode()})")
    check(open(os.path.join(d, "x.d")).read().startswith("t:"), "the depfile names the target")
    check(open(os.path.join(d, "cc.json")).read().strip() == "[]",
          "a run that compiles nothing writes an empty database")


def workspace_preset():
    ws = scratch_dir()
    os.makedirs(os.path.join(ws, "src", "deep"))
    write_file(os.path.join(ws, "src", "deep", "file.txt"), "hello\n")
    for where, want in ((ws, "/home/user/workspace"),
                        (os.path.join(ws, "src", "deep"), "/home/user/workspace/src/deep"),
                        ("/", "/home/user/workspace")):
        p = ptvfs("--workspace", ws, "--", "sh", "-c", "pwd; echo $HOME", cwd=where)
        out = p.stdout.decode().split("\n")
        check(p.returncode == 0, f"--workspace runs from {where}: {p.stderr.decode()}")
        check(out[0] == want, f"started in {where}, the command starts in {want}: {out[0]}")
        check(out[1] == "/home/user", f"HOME is /home/user: {out[1]}")
    p = ptvfs("--workspace", ws, "--", "cat", "/home/user/workspace/src/deep/file.txt")
    check(p.stdout == b"hello\n", f"the workspace shows DIR's files: {p.stderr.decode()}")
    p = ptvfs("--workspace", ws, "--chdir", "/tmp", "--", "pwd", cwd=ws)
    check(p.stdout == b"/tmp\n", f"a later --chdir wins over --workspace's: {p.stdout!r}")
    p = ptvfs("--chdir", "/tmp", "--workspace", ws, "--", "pwd", cwd=ws)
    check(p.stdout == b"/home/user/workspace\n",
          f"--workspace after --chdir sets the starting directory: {p.stdout!r}")
    p = ptvfs("--workspace", ws, "--setenv", "HOME", "/elsewhere", "--", "sh", "-c", "echo $HOME")
    check(p.stdout == b"/elsewhere\n", "a later --setenv HOME wins")
    marker = "ptvfs-workspace-test-marker"
    p = ptvfs("--workspace", ws, "--", "sh", "-c",
              f"echo x > /tmp/{marker} && echo y > /home/user/.{marker} && "
              f"cat /tmp/{marker} /home/user/.{marker} && ls -a /home/user")
    check(p.returncode == 0 and p.stdout.startswith(b"x\ny\n"),
          f"/tmp and /home/user are writable in the workspace: {p.stderr.decode()}")
    check(b"workspace" in p.stdout, f"/home/user lists the workspace: {p.stdout!r}")
    check(not os.path.exists(f"/tmp/{marker}"), "writes to /tmp stay private")


def subcommands():
    p = ptvfs("--help")
    out = p.stdout.decode()
    check(p.returncode == 0, "--help succeeds")
    for word in ("--depfile FILE", "--depfile-target NAME", "--unused-inputs FILE",
                 "--compile-commands FILE", "--why GLOB", "--overlay SRC DEST", "--upper DIR",
                 "--workspace DIR", "ptvfs show REPORT", "ptvfs diff UPPER", "ptvfs apply UPPER"):
        check(word in out, f"--help lists {word}")
    check(all(len(line) <= 100 for line in out.splitlines()), "--help lines are short")
    # `ptvfs show` is the subcommand (ptvfs -- show would run a program named show).
    p = ptvfs("show", "/nonexistent/report.json")
    check(p.returncode != 0 and b"no command given" not in p.stderr and
          b"unknown option" not in p.stderr,
          f"ptvfs show is dispatched to the subcommand: {p.returncode} {p.stderr.decode()}")
    p = ptvfs("--", "show")
    check(p.returncode == 127, f"ptvfs -- show runs a program named show (none here): "
          f"{p.returncode}")


run_sections(bad_values, good_values_run, workspace_preset, subcommands)
