"""Paths as the command sees them in a remapped view (DESIGN.md §1, §2): a scratch directory
bound at /home/user/workspace, a path the host has not. Every way a program learns where it is
gives the view path, never the host's: the shell's pwd, /bin/pwd, getcwd() in a static program,
realpath, readlink of /proc/self/cwd and /proc/self/fd/N, Python's os.getcwd() and
os.path.realpath(), getsockname() of an AF_UNIX socket, the /proc link of an O_TMPFILE file; an
absolute link inside the workspace that names its view path resolves; cd into subdirectories,
through links and back with '..' stays in the view. The report names the workspace's files by
their view paths, with their host paths in the scratch directory. As root and as nobody."""
import os

from ptvfs_test import (absent_view_path, check, entries, give_to_nobody, prog, run,
                        run_sections, scratch_dir, write_file)

BUSYBOX = "/bin/busybox"
WS = "/home/user/workspace"
# Debian's python, which nobody can run (not a per-user install that ctest may find first).
PYTHON = "/usr/bin/python3"

SCRIPT = r"""
echo "pwd=$(pwd)"
echo "bin_pwd=$(/bin/pwd)"
echo "bin_pwd_P=$(/bin/pwd -P)"
echo "realpath=$(/usr/bin/realpath .)"
echo "realpath_link=$(/usr/bin/realpath link)"
echo "cwd_link=$(/usr/bin/readlink /proc/self/cwd)"
exec 3<file
echo "fd_link=$(/usr/bin/readlink /proc/self/fd/3)"
exec 3<&-
echo "through_abs_link=$(cat link)"
echo "through_rel_link=$(cat rel_link)"
cd sub/deeper && echo "sub=$(pwd) $(/bin/pwd -P)"
cd ../.. && echo "back=$(pwd) $(/bin/pwd -P)"
cd dir_link && echo "dir_link=$(pwd) $(/bin/pwd -P) $(cat here)"
cd .. && echo "dir_link_up=$(pwd) $(/bin/pwd -P)"
cd -P dir_link/.. && echo "physical_up=$(/bin/pwd -P)"
cd /home/user/workspace && cd .. && echo "parent=$(/bin/pwd -P) $(ls)"
cd workspace && echo made > made && echo "made=$(cat /home/user/workspace/made)"
"""

EXPECTED = {
    "pwd": WS,
    "bin_pwd": WS,
    "bin_pwd_P": WS,
    "realpath": WS,
    "realpath_link": WS + "/target",
    "cwd_link": WS,
    "fd_link": WS + "/file",
    "through_abs_link": "target",
    "through_rel_link": "target",
    "sub": f"{WS}/sub/deeper {WS}/sub/deeper",
    "back": f"{WS} {WS}",
    "dir_link": f"{WS}/dir_link {WS}/sub/deeper deeper",
    "dir_link_up": f"{WS} {WS}",
    "physical_up": f"{WS}/sub",
    "parent": "/home/user workspace",
    "made": "made",
}

WHAT = {
    "pwd": "the shell's builtin pwd",
    "bin_pwd": "/bin/pwd",
    "bin_pwd_P": "/bin/pwd -P (getcwd)",
    "realpath": "realpath .",
    "realpath_link": "realpath of an absolute link to the workspace's view path",
    "cwd_link": "readlink /proc/self/cwd",
    "fd_link": "readlink /proc/self/fd/N of a file opened in the workspace",
    "through_abs_link": "cat through an absolute link naming the view path",
    "through_rel_link": "cat through a relative link that climbs through /home/user",
    "sub": "cd into a subdirectory",
    "back": "cd ../.. back to the workspace",
    "dir_link": "cd through an absolute link to a directory of the workspace",
    "dir_link_up": "cd .. after cd through a link (the shell's logical ..)",
    "physical_up": "cd -P link/.. (the kernel's physical ..)",
    "parent": "cd .. from the workspace: the virtual /home/user lists only workspace",
    "made": "a file written through the bind",
}


def workspace(as_nobody):
    w = os.path.realpath(scratch_dir())
    write_file(os.path.join(w, "file"), "file\n")
    write_file(os.path.join(w, "target"), "target\n")
    write_file(os.path.join(w, "sub", "deeper", "here"), "deeper\n")
    os.symlink(WS + "/target", os.path.join(w, "link"))
    os.symlink("../workspace/target", os.path.join(w, "rel_link"))
    os.symlink(WS + "/sub/deeper", os.path.join(w, "dir_link"))
    if as_nobody:
        give_to_nobody(w)
    return w


def options(w):
    return ["--bind", w, WS, "--chdir", WS]


def shell_paths(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    absent_view_path("/home/user")
    w = workspace(as_nobody)
    p, report = run([BUSYBOX, "sh", "-c", SCRIPT], options=options(w), cwd=scratch_dir(),
                    as_nobody=as_nobody)
    check(p.returncode == 0, f"the script runs in the workspace view{who}: exit {p.returncode}, "
          f"{p.stdout.decode()} {p.stderr.decode()}")
    got = dict(line.split("=", 1) for line in p.stdout.decode().splitlines() if "=" in line)
    for key, want in EXPECTED.items():
        check(got.get(key) == want, f"{WHAT[key]} gives {want!r} in the view{who}, "
              f"got {got.get(key)!r} (stderr: {p.stderr.decode()})")
    check(open(os.path.join(w, "made")).read() == "made\n",
          f"the file written in the workspace is in the scratch directory on the host{who}")
    check(report is not None, f"a report is written{who}")
    check(report["cwd"] == WS, f"the report's cwd is the view's starting directory{who}: "
          f"{report['cwd']}")
    check(report["processes"][0]["cwd"] == WS,
          f"the command's process starts in {WS}{who}: {report['processes'][0]}")
    fs = entries(report)
    leaked = sorted(path for path in fs if path.startswith(w))
    check(not leaked, f"no report path is the scratch directory's host path{who}: {leaked}")
    for name, kind in (("file", "read"), ("link", "read"), ("rel_link", "read"),
                       ("target", "read"), ("dir_link", "read"), ("sub/deeper/here", "read"),
                       ("made", "write")):
        e = fs.get(f"{WS}/{name}", {})
        check(kind in e.get("access", []) and e.get("host") == os.path.join(w, name),
              f"the report names {WS}/{name} ({kind}) with its host path in the scratch "
              f"directory{who}: {e}")
    wrong = sorted((path, e.get("host")) for path, e in fs.items()
                   if path.startswith(WS + "/") and not (e.get("host") or "").startswith(w))
    check(not wrong, f"every workspace path's host is in the scratch directory{who}: {wrong}")
    listed = fs.get("/home/user", {})
    check("list" in listed.get("access", []),
          f"the listing of the virtual directory /home/user is recorded{who}: {listed}")
    for pr in report["processes"]:
        check(pr["cwd"] == WS or pr["cwd"].startswith(WS + "/") or pr["cwd"] == "/home/user",
              f"each process's cwd in the report is a view path{who}: {pr}")


def program_paths(as_nobody):
    """getcwd() in a static program (the raw system call) and Python's own calls."""
    who = " (as nobody)" if as_nobody else ""
    w = workspace(as_nobody)
    p, _ = run([prog("static_viewtool"), "cwd", "-", "link", "/proc/self/cwd", "link", "link",
                "cat", "link", "stat", "/home/user", "ls", "/home/user"],
               options=options(w), cwd=scratch_dir(), as_nobody=as_nobody)
    want = (f"cwd: {WS}\nlink /proc/self/cwd: {WS}\nlink link: {WS}/target\nlink: target\n"
            f"stat /home/user: dir\n/home/user: workspace\n")
    check(p.stdout.decode() == want, f"a static program's getcwd, readlink and lstat see the "
          f"view{who}:\n{p.stdout.decode()}---\nwanted:\n{want}{p.stderr.decode()}")
    code = ("import os\n"
            "print(os.getcwd())\n"
            "print(os.path.realpath('link'))\n"
            "print(os.readlink('/proc/self/cwd'))\n"
            "fd = os.open('file', os.O_RDONLY)\n"
            "print(os.readlink(f'/proc/self/fd/{fd}'))\n"
            "os.chdir('sub')\n"
            "print(os.getcwd())\n"
            "os.chdir('..')\n"
            "print(os.path.abspath('file'), os.path.exists(os.getcwd() + '/file'))\n"
            "print(sorted(os.listdir('/home/user')))\n")
    p, _ = run([PYTHON, "-S", "-c", code], options=options(w), cwd=scratch_dir(),
               as_nobody=as_nobody)
    want = (f"{WS}\n{WS}/target\n{WS}\n{WS}/file\n{WS}/sub\n{WS}/file True\n['workspace']\n")
    check(p.stdout.decode() == want, f"Python's getcwd, realpath, readlink of /proc links and "
          f"listdir see the view{who}:\n{p.stdout.decode()}---\nwanted:\n{want}"
          f"{p.stderr.decode()}")


def kernel_names_fixture(as_nobody):
    w = workspace(as_nobody)
    os.mkdir(os.path.join(w, "tmp"))
    if as_nobody:
        give_to_nobody(w)
    # A private /tmp hides the host's, so a host path handed back is not reachable in the view.
    return w, [*options(w), "--tmpfs", "/tmp"]


def socket_names(as_nobody):
    """Paths the kernel hands back rather than takes: an AF_UNIX socket's name."""
    who = " (as nobody)" if as_nobody else ""
    w, opts = kernel_names_fixture(as_nobody)
    code = ("import socket\n"
            f"s = socket.socket(socket.AF_UNIX); s.bind('{WS}/sock'); s.listen()\n"
            "print(s.getsockname())\n"
            "c = socket.socket(socket.AF_UNIX); c.connect('sock')\n"
            "print(c.getpeername())\n")
    p, _ = run([PYTHON, "-S", "-c", code], options=opts, cwd=scratch_dir(), as_nobody=as_nobody)
    got = p.stdout.decode().splitlines()
    for i, what in enumerate(("getsockname() of a socket bound at", "getpeername() of a socket "
                              "connected to one bound at")):
        check(i < len(got) and got[i] == f"{WS}/sock", f"{what} {WS}/sock gives that view path"
              f"{who}: {got[i] if i < len(got) else None!r} {p.stderr.decode()}")


def multiprocessing_manager(as_nobody):
    """Python's multiprocessing.Manager listens on an AF_UNIX socket in TMPDIR and hands its
    getsockname() to the clients: with TMPDIR in the workspace it must work as natively."""
    who = " (as nobody)" if as_nobody else ""
    w, opts = kernel_names_fixture(as_nobody)
    code = ("import multiprocessing as mp\n"
            "if __name__ == '__main__':\n"
            "    m = mp.Manager(); d = m.dict(); d['a'] = 1; print(dict(d))\n")
    p, _ = run([PYTHON, "-c", code], options=[*opts, "--setenv", "TMPDIR", WS + "/tmp"],
               cwd=scratch_dir(), as_nobody=as_nobody, timeout=60)
    check(p.stdout == b"{'a': 1}\n", f"Python's multiprocessing.Manager works with TMPDIR in the "
          f"workspace{who}: {p.stdout.decode()} "
          f"{' / '.join(p.stderr.decode().strip().splitlines()[-1:])}")


def tmpfile_link(as_nobody):
    """The /proc link of an O_TMPFILE file made in the workspace names the workspace."""
    who = " (as nobody)" if as_nobody else ""
    w, opts = kernel_names_fixture(as_nobody)
    code = ("import os\n"
            "fd = os.open('.', os.O_TMPFILE | os.O_RDWR)\n"
            "print(os.readlink(f'/proc/self/fd/{fd}'))\n")
    p, _ = run([PYTHON, "-S", "-c", code], options=opts, cwd=scratch_dir(), as_nobody=as_nobody)
    link = p.stdout.decode().strip()
    check(link.startswith(WS + "/#") and link.endswith(" (deleted)"),
          f"readlink of an O_TMPFILE file's /proc/self/fd link gives {WS}/#INODE (deleted)"
          f"{who}: {link!r} {p.stderr.decode()}")


def sections():
    fns = []
    for as_nobody in (False, True):
        for fn in (shell_paths, program_paths, socket_names, multiprocessing_manager,
                   tmpfile_link):
            def section(fn=fn, as_nobody=as_nobody):
                fn(as_nobody)
            section.__name__ = fn.__name__ + ("_as_nobody" if as_nobody else "_as_root")
            fns.append(section)
    return fns


run_sections(*sections())
