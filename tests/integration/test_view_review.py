"""Bugs a review of the view and overlay modes found, each checked against what the same
command does in a mount namespace built from the same declarations (real bind mounts, a
read-only bind, overlayfs):

- a change of an overlay's DEST itself (truncate, chmod, utimes) must not reach another host
  file (it went to whichever host path the previous rewritten call named: a SRC file);
- a hard link out of a read-only layer into a writable one fails with EXDEV, as across
  mounts (else a write through the new name reaches the read-only SRC);
- linkat(AT_EMPTY_PATH) of a descriptor of an overlay's source file must not let a write
  reach SRC;
- futimens, fchmod through a descriptor of a file the command made or copied up work
  (touch, cp -p, install -m);
- shutil.rmtree and os.fwalk work on directories of an overlay the command changed;
- a directory listed again through the same descriptor (rewinddir) shows the changes made
  since it was opened;
- FIFOs and sockets are listed as what they are (d_type), not as regular files;
- openat2(RESOLVE_BENEATH) below a directory descriptor works as natively;
- a FIFO of SRC can be opened for writing (overlayfs does not copy it up);
- execveat(dirfd, "script") runs the script the descriptor's directory holds;
- a view path shorter than PATH_MAX below a bind whose host path is longer works;
- permissions: a file of another user, or a directory without write permission, refuses
  changes as natively (as nobody, when run as root);
- a system call on a small heap-allocated stack (goroutines, coroutines) does not overwrite
  the program's data below that stack;
- /proc/PPID/cwd of the tracer (the command's parent) does not reach host files outside a
  hermetic view;
- an AF_UNIX address handed back into a buffer that the view path fits, but not the host path,
  is the view path.

Each check says what a user would notice. As nobody where the check needs files of one's own
(the CI runs as root)."""
import hashlib
import os
import socket

from ptvfs_test import (PROBE_STEP, absent_view_path, check, give_to_nobody, probe_results, prog,
                        run, run_sections, said, scratch_dir, tree_of, write_file)

PYTHON = "/usr/bin/python3"
DEST = "/review/ovl"
ROOT = os.geteuid() == 0

PROBE = PROBE_STEP + r"""
def write(p, mode="w"):
    with open(p, mode) as f:
        f.write("x\n")
def read(p):
    with open(p) as f:
        return f.read().strip()
D = sys.argv[2]
exec(sys.argv[1])
"""


def probe(code, options, as_nobody=True, dest=DEST, cwd=None):
    """Run CODE (Python using t(), write(), read(), D) under ptvfs: ({name: result}, process,
    report)."""
    p, report = run([PYTHON, "-S", "-c", PROBE, code, dest], options=options,
                    cwd=cwd or scratch_dir(), as_nobody=as_nobody, timeout=60)
    return probe_results(p), p, report


def source(files, as_nobody=True):
    """A fresh SRC directory holding FILES {relative path: contents}, the runner's own."""
    s = os.path.realpath(scratch_dir())
    for rel, text in files.items():
        write_file(os.path.join(s, rel), text)
    if as_nobody:
        give_to_nobody(s)
    return s


def snapshot(top):
    """TOP's own mode and mtime and its whole tree, contents and mtimes included."""
    st = os.stat(top)
    return (st.st_mode, st.st_mtime_ns, tree_of(top, mtimes=True))


def overlay(src):
    absent_view_path("/review")
    return ["--root", "/", "--overlay", src, DEST]


def long_host_dir():
    """A directory whose host path is 400 bytes longer than a short view path for it."""
    d = os.path.join(os.path.realpath(scratch_dir()), "h" * 200, "i" * 200)
    os.makedirs(d)
    write_file(os.path.join(d, "f"), "f\n")
    give_to_nobody(os.path.dirname(os.path.dirname(d)))
    return d


def dest_itself():
    """truncate, chmod and utime of the overlay's DEST itself: the host path the call is given
    was left from the call before (a SRC file), so SRC changed."""
    src = source({"f.txt": "data\n", "sub/g": "g\n"})
    before = snapshot(src)
    got, p, _ = probe("os.stat(D + '/f.txt'); t('truncate', lambda: os.truncate(D, 0))\n"
                      "os.stat(D + '/f.txt'); t('chmod', lambda: os.chmod(D, 0o700))\n"
                      "os.stat(D + '/sub/g'); t('utime', lambda: os.utime(D, (0, 0)))\n"
                      "t('mode', lambda: oct(os.stat(D).st_mode & 0o777))\n"
                      "t('f', lambda: read(D + '/f.txt'))\n", overlay(src))
    check(snapshot(src) == before, f"truncate, chmod and utime of {DEST} (the overlay's DEST) "
          f"leave SRC unchanged: {said(got, p)}")
    check(got.get("truncate") == "EISDIR", f"truncate of the overlay's DEST fails with EISDIR, "
          f"as of any directory: {said(got, p)}")
    check(got.get("chmod") == "ok" and got.get("mode") == "0o700",
          f"chmod of the overlay's DEST changes its mode in the view: {said(got, p)}")
    check(got.get("f") == "data", f"the files below DEST keep their contents: {said(got, p)}")


def link_out_of_read_only():
    """A hard link from a --ro-bind, an --inputs file or the --root base into a --bind: EXDEV
    across mounts. ptvfs made it, and a write through the new name changed the read-only SRC."""
    ro = source({"p.txt": "precious\n"})
    base = source({"b.txt": "base\n"})
    declared = source({"i.txt": "input\n"})
    rw = source({})
    manifest = os.path.join(scratch_dir(), "inputs.txt")
    with open(manifest, "w") as f:
        f.write(f"/review/in/i.txt\t{declared}/i.txt\n")
    os.chmod(manifest, 0o644)
    before = [snapshot(d) for d in (ro, base, declared)]
    code = ("def ln(a, b):\n"
            "    os.link(a, b)\n"
            "    write(b, 'a')\n"
            "t('ro-bind', lambda: ln('/review/ro/p.txt', '/review/rw/1'))\n"
            f"t('base', lambda: ln({base + '/b.txt'!r}, '/review/rw/2'))\n"
            "t('input', lambda: ln('/review/in/i.txt', '/review/rw/3'))\n")
    got, p, _ = probe(code, ["--root", "/", "--ro-bind", ro, "/review/ro", "--bind", rw,
                             "/review/rw", "--inputs", manifest])
    check([snapshot(d) for d in (ro, base, declared)] == before,
          f"a hard link out of a read-only layer does not let a write reach its SRC: "
          f"{said(got, p)}")
    for name in ("ro-bind", "base", "input"):
        check(got.get(name) == "EXDEV", f"link from the read-only {name} into a --bind fails "
              f"with EXDEV, as across mounts: {said(got, p)}")


def link_descriptor_of_source():
    """linkat(fd, "", AT_EMPTY_PATH) of a source file opened read-only linked SRC's own inode
    into the upper directory: a write through the new name changed SRC."""
    src = source({"f.txt": "data\n"})
    before = snapshot(src)
    code = ("def flink(fd, new):\n"
            "    if libc.linkat(fd, b'', -100, new.encode(), 0x1000) < 0:\n"
            "        raise OSError(ctypes.get_errno(), 'linkat')\n"
            "fd = os.open(D + '/f.txt', os.O_RDONLY)\n"
            "t('flink', lambda: flink(fd, D + '/hl'))\n"
            "t('append', lambda: write(D + '/hl', 'a') if os.path.exists(D + '/hl') else None)\n"
            "t('f', lambda: read(D + '/f.txt'))\n")
    got, p, _ = probe(code, overlay(src))
    check(snapshot(src) == before, f"a write through a link made from a descriptor of a source "
          f"file does not reach SRC: {said(got, p)}")


def changes_through_descriptors():
    """futimens and fchmod of a descriptor of a file the command made, or copied up, were
    refused with EROFS as if it were a source file: touch, cp -p and install -m failed."""
    src = source({"f.txt": "data\n"})
    before = snapshot(src)
    code = ("write(D + '/new')\n"
            "fd = os.open(D + '/new', os.O_RDONLY)\n"
            "t('futimens new', lambda: os.utime(fd, ns=(1, 1)))\n"
            "t('fchmod new', lambda: os.fchmod(fd, 0o600))\n"
            "write(D + '/f.txt', 'a')\n"
            "fd2 = os.open(D + '/f.txt', os.O_RDONLY)\n"
            "t('futimens copied up', lambda: os.utime(fd2, ns=(1, 1)))\n"
            "t('fchmod copied up', lambda: os.fchmod(fd2, 0o600))\n"
            "t('mode', lambda: oct(os.stat(D + '/f.txt').st_mode & 0o777))\n")
    got, p, report = probe(code, overlay(src))
    for name in ("futimens new", "fchmod new", "futimens copied up", "fchmod copied up"):
        check(got.get(name) == "ok", f"{name}: a change through a descriptor of a file of the "
              f"upper directory works: {said(got, p)}")
    check(got.get("mode") == "0o600", f"fchmod of a copied-up file changes its mode in the "
          f"view: {said(got, p)}")
    p, _ = run(["/bin/sh", "-c", f"cd {DEST} && touch t && touch f.txt && cp -p f.txt c && "
                "install -m 755 f.txt i"], options=overlay(src), cwd=scratch_dir(),
               as_nobody=True)
    check(p.returncode == 0, f"touch, cp -p and install -m work in an overlay: exit "
          f"{p.returncode}, {p.stderr.decode(errors='replace')}")
    check(snapshot(src) == before, "SRC is unchanged")


def rmtree_and_fwalk():
    """A directory of an overlay the command made or changed is opened as its stand-in: fstat
    of the descriptor differs from lstat of the path, so shutil.rmtree refused ("Cannot call
    rmtree on a symbolic link") and os.fwalk yielded nothing."""
    src = source({"f.txt": "data\n", "sub/g": "g\n"})
    before = snapshot(src)
    code = ("os.makedirs(D + '/new/a'); write(D + '/new/a/f')\n"
            "t('rmtree new', lambda: shutil.rmtree(D + '/new'))\n"
            "write(D + '/sub/added')\n"
            "t('rmtree changed', lambda: shutil.rmtree(D + '/sub'))\n"
            "os.makedirs(D + '/w2/x'); write(D + '/w2/x/y')\n"
            "t('fwalk', lambda: [sorted(f) for _, _, f, _ in os.fwalk(D + '/w2')])\n"
            "t('left', lambda: sorted(os.listdir(D)))\n")
    got, p, _ = probe(code, overlay(src))
    check(got.get("rmtree new") == "ok", f"shutil.rmtree of a directory made in an overlay "
          f"works: {said(got, p)}")
    check(got.get("rmtree changed") == "ok", f"shutil.rmtree of a source directory changed in "
          f"an overlay works: {said(got, p)}")
    check(got.get("fwalk") == "[[], ['y']]", f"os.fwalk of a directory made in an overlay walks "
          f"it: {said(got, p)}")
    check(got.get("left") == "['f.txt', 'w2']", f"what rmtree removed is gone: {said(got, p)}")
    check(snapshot(src) == before, "SRC is unchanged")


def listing_again():
    """A stand-in is filled when the directory is opened: listed again through the same
    descriptor (rewinddir), it still showed a removed name and not a new one; a loop that
    deletes what it lists until nothing is left never ended. overlayfs lists anew."""
    src = source({"f.txt": "data\n", "sub/g": "g\n"})
    code = ("write(D + '/made0')\n"
            "fd = os.open(D, os.O_RDONLY)\n"
            "t('first', lambda: sorted(os.listdir(fd)))\n"
            "os.unlink(D + '/f.txt'); write(D + '/made1')\n"
            "t('again', lambda: sorted(os.listdir(fd)))\n")
    got, p, _ = probe(code, overlay(src))
    check(got.get("first") == "['f.txt', 'made0', 'sub']", f"the merged listing: {said(got, p)}")
    check(got.get("again") == "['made0', 'made1', 'sub']", f"listed again through the same "
          f"descriptor, the directory shows what was removed and made since: {said(got, p)}")


def special_file_types():
    """Stand-in placeholders of FIFOs and sockets were empty regular files: readdir's d_type
    said DT_REG, so find -type f listed them and find -type p missed them."""
    src = source({"f.txt": "data\n"})
    os.mkfifo(os.path.join(src, "pipe"))
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(src, "sock"))
    s.close()
    os.mkdir(os.path.join(src, "mnt"))
    give_to_nobody(src)
    code = ("def kinds(d):\n"
            "    return sorted((e.name, 'file' if e.is_file(follow_symlinks=False) else\n"
            "                   'dir' if e.is_dir(follow_symlinks=False) else 'other')\n"
            "                  for e in os.scandir(d))\n"
            "write(D + '/made')\n"
            "t('overlay', lambda: kinds(D))\n"
            "t('bind', lambda: kinds('/review/b'))\n")
    got, p, _ = probe(code, [*overlay(src), "--bind", src, "/review/b", "--tmpfs",
                             "/review/b/mnt"])
    want = [("f.txt", "file"), ("mnt", "dir"), ("pipe", "other"), ("sock", "other")]
    check(got.get("overlay") == str(sorted(want + [("made", "file")])),
          f"a FIFO and a socket in a merged overlay directory are listed as such, not as "
          f"regular files: {said(got, p)}")
    check(got.get("bind") == str(want), f"a FIFO and a socket in a bind whose listing the view "
          f"changes are listed as such: {said(got, p)}")


def openat2_beneath():
    """openat2 with RESOLVE_BENEATH below a directory descriptor: ptvfs rewrote the path to
    an absolute host path, which RESOLVE_BENEATH refuses with EXDEV."""
    src = source({"f.txt": "data\n"})
    code = ("def beneath(dfd, p, flags=os.O_RDONLY):\n"
            "    mode = 0o644 if flags & os.O_CREAT else 0\n"
            "    how = ctypes.create_string_buffer(struct.pack('QQQ', flags, mode, 0x08))\n"
            "    r = libc.syscall(ctypes.c_long(437), ctypes.c_long(dfd), p.encode(), how,\n"
            "                     ctypes.c_long(24))\n"
            "    if r < 0:\n"
            "        raise OSError(ctypes.get_errno(), 'openat2')\n"
            "    os.close(r)\n"
            "v = os.open('/review/v', os.O_RDONLY | os.O_DIRECTORY)\n"
            "t('virtual', lambda: beneath(v, 'b/c/f.txt'))\n"
            "write(D + '/made')\n"
            "o = os.open(D, os.O_RDONLY | os.O_DIRECTORY)\n"
            "t('overlay read', lambda: beneath(o, 'f.txt'))\n"
            "t('overlay write', lambda: beneath(o, 'f.txt', os.O_WRONLY))\n"
            "t('overlay create', lambda: beneath(o, 'new', os.O_WRONLY | os.O_CREAT))\n")
    got, p, _ = probe(code, [*overlay(src), "--bind", src, "/review/v/b/c"])
    for name in ("virtual", "overlay read", "overlay write", "overlay create"):
        check(got.get(name) == "ok", f"openat2 RESOLVE_BENEATH ({name}) below a directory "
              f"descriptor works: {said(got, p)}")


def fifo_of_source():
    """A FIFO of SRC opened for writing: overlayfs passes it through (only regular files are
    copied up); ptvfs failed the open with EOPNOTSUPP."""
    src = source({"f.txt": "data\n"})
    os.mkfifo(os.path.join(src, "pipe"))
    give_to_nobody(src)
    code = ("def through():\n"
            "    fd = os.open(D + '/pipe', os.O_RDWR)\n"
            "    os.write(fd, b'x')\n"
            "    return os.read(fd, 1).decode()\n"
            "t('fifo', through)\n")
    got, p, _ = probe(code, overlay(src))
    check(got.get("fifo") == "x", f"a FIFO of an overlay's SRC opened for reading and writing "
          f"passes data: {said(got, p)}")


def execveat_script():
    """execveat(dirfd, "s.sh") of a script: the kernel hands the interpreter /dev/fd/N/s.sh;
    ptvfs handed it "s.sh", which the interpreter looked for in its current directory."""
    scripts = source({"s.sh": '#!/bin/sh\necho "ran $1"\n'})
    os.chmod(os.path.join(scripts, "s.sh"), 0o755)
    code = ("fd = os.open('/review/scripts', os.O_RDONLY | os.O_DIRECTORY)\n"
            "os.set_inheritable(fd, True)\n"
            "os.chdir('/')\n"
            "argv = (ctypes.c_char_p * 3)(b's.sh', b'arg', None)\n"
            "envp = (ctypes.c_char_p * 2)(b'PATH=/usr/bin:/bin', None)\n"
            "libc.syscall(ctypes.c_long(322), ctypes.c_long(fd), b's.sh', argv, envp,\n"
            "             ctypes.c_long(0))\n"
            "t('execveat', lambda: ctypes.get_errno())\n")
    got, p, _ = probe(code, ["--root", "/", "--bind", scripts, "/review/scripts"])
    check(p.stdout.decode(errors="replace").strip() == "ran arg",
          f"execveat of a script relative to a directory descriptor runs it: "
          f"{p.stdout.decode(errors='replace')} {p.stderr.decode(errors='replace')}")


def long_host_path():
    """A view path of about 3,800 bytes below a bind whose host path is 400 bytes longer: the
    host path is over PATH_MAX, and ptvfs gave the kernel that absolute path (ENAMETOOLONG)."""
    host = long_host_dir()
    code = ("def deep():\n"
            "    q = D\n"
            "    while len(q) + 251 < 3900:\n"
            "        q += '/' + 'd' * 250\n"
            "        os.mkdir(q)\n"
            "    write(q + '/f')\n"
            "    os.chdir(q)\n"
            "    write('g')\n"
            "    return len(q)\n"
            "t('deep', deep)\n")
    got, p, _ = probe(code, ["--root", "/", "--bind", host, "/review/x"], dest="/review/x")
    check(got.get("deep", "").isdigit(), f"directories and files at view paths shorter than "
          f"PATH_MAX are made below a bind whose host path is longer: {said(got, p)}")


def short_address_buffer():
    """getsockname, recvfrom, accept and getpeername into a buffer long enough for the view path
    but not for the host path: the kernel cuts the host path short, and ptvfs, which has only
    that start, handed it back as it was (the start of a host path, and the host path's
    length)."""
    d = source({})
    code = ("size = 2 + len(D + '/s.sock') + 1\n"
            "def short(call, fd):\n"
            "    addr, alen = ctypes.create_string_buffer(size), ctypes.c_uint(size)\n"
            "    if call(fd, addr, ctypes.byref(alen)) < 0:\n"
            "        raise OSError(ctypes.get_errno(), 'call')\n"
            "    return f'{alen.value} {addr.raw[2:].rstrip(bytes(1)).decode()}'\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
            "s.bind(D + '/s.sock')\n"
            "t('getsockname', lambda: short(libc.getsockname, s.fileno()))\n"
            "c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
            "c.bind(D + '/c.sock')\n"
            "c.sendto(b'x', D + '/s.sock')\n"
            "data = ctypes.create_string_buffer(8)\n"
            "t('recvfrom', lambda: short(lambda fd, a, n: libc.recvfrom(fd, data, 8, 0, a, n),\n"
            "                             s.fileno()))\n"
            "l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "l.bind(D + '/l.sock')\n"
            "l.listen()\n"
            "k = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "k.bind(D + '/k.sock')\n"
            "k.connect(D + '/l.sock')\n"
            "t('accept', lambda: short(libc.accept, l.fileno()))\n"
            "t('getpeername', lambda: short(libc.getpeername, k.fileno()))\n")
    got, p, _ = probe(code, ["--bind", d, "/review/s"], dest="/review/s")
    size = 2 + len("/review/s/s.sock") + 1
    for call, name in (("getsockname", "s"), ("recvfrom", "c"), ("accept", "k"),
                       ("getpeername", "l")):
        check(got.get(call) == f"{size} /review/s/{name}.sock", f"an address handed back by "
              f"{call} into a buffer too short for its host path is the view path, with its "
              f"length: {said(got, p)}")


def permissions():
    """As nobody: copy-up made the copy nobody's own, and a delete in an overlay is a whiteout
    made without the kernel: changes the kernel refuses natively (overlayfs: EACCES, EPERM)
    went through."""
    files = {"ro/file": "f\n", "other.txt": "root's\n"}
    src = source(files, as_nobody=False)
    give_to_nobody(os.path.join(src, "ro"))
    os.chmod(os.path.join(src, "ro"), 0o555)
    if ROOT:
        os.chown(os.path.join(src, "other.txt"), 0, 0)
    code = ("t('unlink in a 0555 directory', lambda: os.unlink(D + '/ro/file'))\n"
            "t('create in a 0555 directory', lambda: write(D + '/ro/new'))\n"
            "t('append to another user\\'s file', lambda: write(D + '/other.txt', 'a'))\n"
            "t('chmod of another user\\'s file', lambda: os.chmod(D + '/other.txt', 0o600))\n")
    got, p, _ = probe(code, overlay(src))
    os.chmod(os.path.join(src, "ro"), 0o755)
    want = {"unlink in a 0555 directory": "EACCES", "create in a 0555 directory": "EACCES"}
    if ROOT:
        want.update({"append to another user's file": "EACCES",
                     "chmod of another user's file": "EPERM"})
    for name, err in want.items():
        check(got.get(name) == err, f"{name} in an overlay fails with {err} as natively: "
              f"{said(got, p)}")


def small_stack():
    """The host path of a rewritten call is written below the stack pointer; on a stack carved
    from the heap that is the program's own data, which was overwritten."""
    host = long_host_dir()
    p, _ = run([prog("small_stack"), "/review/d/f", "256"],
               options=["--root", "/", "--ro-bind", host, "/review/d"], cwd=scratch_dir(),
               as_nobody=True, timeout=60)
    out = p.stdout.decode(errors="replace")
    check("overwritten: 0\n" in out, f"a call on a small heap-allocated stack leaves the memory "
          f"below that stack alone (refusing the call with EFAULT is fine): {out} "
          f"{p.stderr.decode(errors='replace')}")


def hermetic_options():
    opts = ["--hermetic", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            opts += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            opts += ["--ro-bind", top, top]
    return opts


def tracer_cwd():
    """/proc/PPID/cwd is ptvfs's own directory, on the host: through it a hermetic command
    read and wrote host files outside its view."""
    outside = source({"secret": "host secret\n"})
    code = ("pp = os.getppid()\n"
            "t('read', lambda: read(f'/proc/{pp}/cwd/secret'))\n"
            "t('write', lambda: write(f'/proc/{pp}/cwd/escaped'))\n"
            "t('readlink', lambda: os.readlink(f'/proc/{pp}/cwd'))\n")
    got, p, _ = probe(code, hermetic_options(), cwd=outside)
    check(not os.path.exists(os.path.join(outside, "escaped")),
          f"a hermetic command cannot write a host file outside its view through "
          f"/proc/PPID/cwd: {said(got, p)}")
    check(got.get("read") != "host secret", f"nor read one: {said(got, p)}")
    check(got.get("readlink") != outside, f"nor learn the host path: {said(got, p)}")


# Not fixed yet, so not run (README, "The view", lists it as a limit): long_host_path. Run
# this file with PTVFS_REVIEW_ALL=1 to see it fail.
OPEN = (long_host_path,)
run_sections(dest_itself, link_out_of_read_only, link_descriptor_of_source,
             changes_through_descriptors, rmtree_and_fwalk, listing_again, special_file_types,
             openat2_beneath, fifo_of_source, execveat_script, permissions, tracer_cwd,
             small_stack, short_address_buffer,
             *(OPEN if os.environ.get("PTVFS_REVIEW_ALL") else ()))
