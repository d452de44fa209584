"""Calls whose answer depends on the view being made of mounts (DESIGN.md §1), each checked
against what the same command gets from real bind mounts (in a mount namespace, when run as
root):

- openat2 with RESOLVE_BENEATH, RESOLVE_NO_XDEV, RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS
  below a virtual directory and a bind: what the flags allow opens (ptvfs hands the kernel a host
  path), what they forbid fails with the kernel's EXDEV or ELOOP, a bind's DEST counting as a
  mount point;
- statfs and fstatfs of a path in a read-only layer (--ro-bind, --root, an input, a virtual
  directory) say ST_RDONLY, as a read-only bind mount does; a writable one does not;
- recvfrom, recvmsg and recvmmsg of an AF_UNIX datagram hand back the sender's view path, not
  its host path, also into a name buffer long enough for the view path but not for the host
  path (cut to the buffer, with the whole length, as the kernel cuts).

As root and as nobody."""
import os
import shutil
import subprocess

from ptvfs_test import (PROBE_STEP, absent_view_path, check, give_to_nobody, probe_results, run,
                        run_sections, said, scratch_dir, write_file)

PYTHON = "/usr/bin/python3"
ROOT = os.geteuid() == 0
WHO = ("root", "nobody") if ROOT else ("me",)

PROBE = PROBE_STEP + r"""
D = sys.argv[2]
exec(sys.argv[1])
"""


def probe(code, options, dest, as_nobody):
    """CODE (Python using t() and D) run under ptvfs: ({name: result}, process)."""
    p, _ = run([PYTHON, "-S", "-c", PROBE, code, dest], options=options, cwd=scratch_dir(),
               as_nobody=as_nobody, timeout=120)
    return probe_results(p), p


def probe_native(code, binds, dest):
    """CODE run natively in a mount namespace holding BINDS [(SRC, DIR, read-only)]: the
    same results as in a view that declares them, when the kernel decides alike."""
    mounts = " && ".join(f"mount --bind {s} {d}" + (f" && mount -o remount,bind,ro {d}"
                                                    if ro else "") for s, d, ro in binds)
    p = subprocess.run(["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh", PYTHON,
                        "-S", "-c", PROBE, code, dest], capture_output=True, timeout=120)
    return probe_results(p), p


def can_unshare():
    return ROOT and shutil.which("unshare") and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True).returncode == 0


def source():
    """A SRC holding a file, a directory, and links: absolute, relative, up and out of it."""
    s = os.path.realpath(scratch_dir())
    write_file(os.path.join(s, "f.txt"), "data\n")
    write_file(os.path.join(s, "sub/g"), "g\n")
    os.symlink("/etc", os.path.join(s, "abs"))
    os.symlink("sub", os.path.join(s, "rel"))
    os.symlink("../..", os.path.join(s, "up"))
    os.symlink("f.txt", os.path.join(s, "lnk"))
    give_to_nobody(s)
    return s


# openat2(dirfd, path, {flags, mode, resolve}): v is a directory descriptor of D (a virtual
# directory in the view), c of D/b/c (the bind's DEST), p of /proc/self.
OPENAT2 = r"""
B, X, NS, NM = 0x08, 0x01, 0x04, 0x02
def o2(dfd, p, resolve, flags=os.O_RDONLY):
    how = ctypes.create_string_buffer(struct.pack('QQQ', flags, 0o644 if flags & os.O_CREAT
                                                  else 0, resolve))
    r = libc.syscall(ctypes.c_long(437), ctypes.c_long(dfd), p.encode(), how, ctypes.c_long(24))
    if r < 0:
        raise OSError(ctypes.get_errno(), 'openat2')
    os.close(r)
v = os.open(D, os.O_RDONLY | os.O_DIRECTORY)
c = os.open(D + '/b/c', os.O_RDONLY | os.O_DIRECTORY)
p = os.open('/proc/self', os.O_RDONLY | os.O_DIRECTORY)
for name, fd, path, resolve, *flags in [
        ("beneath into the bind", v, 'b/c/f.txt', B),
        ("beneath absolute", v, '/etc/hostname', B),
        ("beneath .. and back", v, 'b/../b/c/f.txt', B),
        ("beneath ..", v, '..', B),
        ("beneath .. of the bind", c, '../c/f.txt', B),
        ("beneath absolute link", c, 'abs/hostname', B),
        ("beneath relative link", c, 'rel/g', B),
        ("beneath link up and out", c, 'up/x', B),
        ("beneath link up, still inside", v, 'b/c/up/b/c/f.txt', B),
        ("beneath sub/..", c, 'sub/../f.txt', B),
        ("beneath missing/..", c, 'missing/../..', B),
        ("beneath file/..", c, 'f.txt/..', B),
        ("beneath magic link", p, f'fd/{c}', B),
        ("beneath create", c, 'new', B, os.O_WRONLY | os.O_CREAT),
        ("no symlinks through a link", c, 'rel/g', NS),
        ("no symlinks final link", c, 'lnk', NS),
        ("no symlinks final link O_PATH|O_NOFOLLOW", c, 'lnk', NS, os.O_PATH | os.O_NOFOLLOW),
        ("no symlinks final link O_NOFOLLOW", c, 'lnk', NS, os.O_NOFOLLOW),
        ("no symlinks in the bind", v, 'b/c/sub/g', NS),
        ("no magic links", v, f'/proc/self/fd/{c}', NM),
        ("no magic links, a plain link", v, 'b/c/rel/g', NM),
        ("no magic links relative", p, f'fd/{c}', NM),
        ("no xdev into the bind", v, 'b/c/f.txt', X),
        ("no xdev inside the bind", c, 'sub/g', X),
        ("no xdev up to the bind's DEST", v, 'b', X),
        ("no xdev .. of the bind", c, '..', X),
        ("no xdev .. and back", c, '../c/f.txt', X),
        ("no xdev absolute link", c, 'abs/hostname', X),
        ("no xdev link up and back", v, 'b/c/up/b/c/f.txt', X),
        ("no xdev magic link", p, f'fd/{c}', X),
        ("no xdev into /proc", v, f'/proc/self/fd/{c}/f.txt', X),
        ("no xdev create out and back", c, '../c/new2', X, os.O_WRONLY | os.O_CREAT)]:
    t(name, lambda: o2(fd, path, resolve, *flags))
"""

# What the kernel answers with the bind mounted natively (checked by openat2_flags as root).
OPENAT2_NATIVE = {
    "beneath into the bind": "ok", "beneath absolute": "EXDEV",
    "beneath .. and back": "ok", "beneath ..": "EXDEV", "beneath .. of the bind": "EXDEV",
    "beneath absolute link": "EXDEV", "beneath relative link": "ok",
    "beneath link up and out": "EXDEV", "beneath link up, still inside": "ok",
    "beneath sub/..": "ok", "beneath missing/..": "ENOENT", "beneath file/..": "ENOTDIR",
    "beneath magic link": "EXDEV", "beneath create": "ok",
    "no symlinks through a link": "ELOOP", "no symlinks final link": "ELOOP",
    "no symlinks final link O_PATH|O_NOFOLLOW": "ok", "no symlinks final link O_NOFOLLOW": "ELOOP",
    "no symlinks in the bind": "ok", "no magic links": "ELOOP",
    "no magic links, a plain link": "ok", "no magic links relative": "ELOOP",
    "no xdev into the bind": "EXDEV", "no xdev inside the bind": "ok",
    "no xdev up to the bind's DEST": "ok", "no xdev .. of the bind": "EXDEV",
    "no xdev .. and back": "EXDEV", "no xdev absolute link": "EXDEV",
    "no xdev link up and back": "EXDEV", "no xdev magic link": "EXDEV",
    "no xdev into /proc": "EXDEV", "no xdev create out and back": "EXDEV",
}


def openat2_flags():
    """openat2's resolve flags below a virtual directory and a bind: before, a path ptvfs had
    to rewrite failed with EXDEV whatever the flags allowed, and what they forbid (a symbolic
    link, a mount point crossed) opened."""
    dest = absent_view_path("/review") + "/v"
    want = OPENAT2_NATIVE
    if can_unshare():
        src, top = source(), scratch_dir()
        os.makedirs(os.path.join(top, "v/b/c"))
        nat, p = probe_native(OPENAT2, [(src, os.path.join(top, "v/b/c"), False)],
                              os.path.join(top, "v"))
        check(nat == want, f"natively, openat2 answers as this test expects: {said(nat, p)}")
    for who in WHO:
        src = source()
        got, p = probe(OPENAT2, ["--root", "/", "--bind", src, dest + "/b/c"], dest,
                       who == "nobody")
        for name, answer in want.items():
            check(got.get(name) == answer, f"openat2 {name} gives {answer} as with a real bind "
                  f"mount ({who}): {said(got, p)}")
        check(os.path.exists(os.path.join(src, "new")) and
              not os.path.exists(os.path.join(src, "new2")),
              f"what openat2 created went to the bind's SRC, and only that ({who})")


STATFS = r"""
def rdonly(path):
    a = os.statvfs(path).f_flag & os.ST_RDONLY
    fd = os.open(path, os.O_RDONLY)
    try:
        b = os.fstatvfs(fd).f_flag & os.ST_RDONLY
    finally:
        os.close(fd)
    return f"{'ro' if a else 'rw'} {'ro' if b else 'rw'}"
for name in ("ro", "ro/f.txt", "rw", "rw/f.txt", "in.txt", ""):
    t(name or "virtual", lambda: rdonly(D + '/' + name))
"""


def statfs_read_only():
    """statfs and fstatfs (df, os.statvfs, a tool deciding whether it can write somewhere) of
    a read-only layer lacked ST_RDONLY."""
    dest = absent_view_path("/review") + "/s"
    ro, rw = os.path.realpath(scratch_dir()), os.path.realpath(scratch_dir())
    for d in (ro, rw):
        write_file(os.path.join(d, "f.txt"), "f\n")
    manifest = os.path.join(scratch_dir(), "inputs.txt")
    write_file(manifest, f"{dest}/in.txt\t{ro}/f.txt\n")
    if can_unshare():
        top = scratch_dir()
        for d in ("ro", "rw"):
            os.makedirs(os.path.join(top, d))
        nat, p = probe_native(STATFS.replace('"in.txt", ', ""),
                              [(ro, os.path.join(top, "ro"), True),
                               (rw, os.path.join(top, "rw"), False)], top)
        check(nat.get("ro") == "ro ro" and nat.get("ro/f.txt") == "ro ro" and
              nat.get("rw/f.txt") == "rw rw",
              f"natively, a read-only bind says ST_RDONLY, a writable one not: {said(nat, p)}")
    for who in WHO:
        got, p = probe(STATFS, ["--bind", rw, dest + "/rw", "--ro-bind", ro, dest + "/ro",
                                "--inputs", manifest], dest, who == "nobody")
        for name, want in (("ro", "ro ro"), ("ro/f.txt", "ro ro"), ("rw", "rw rw"),
                           ("rw/f.txt", "rw rw"), ("in.txt", "ro ro"), ("virtual", "ro ro")):
            check(got.get(name) == want, f"statfs and fstatfs of {name} say {want} ({who}): "
                  f"{said(got, p)}")
        got, p = probe(STATFS.split("for name")[0] + "t('root', lambda: rdonly('/'))\n",
                       ["--root", "/"], dest, who == "nobody")
        check(got.get("root") == "ro ro", f"statfs of / under --root says ST_RDONLY ({who}): "
              f"{said(got, p)}")


SOCKETS = r"""
import ctypes
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(D + '/srv.sock')
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
c.bind(D + '/cli.sock')
c.sendto(b"one", D + '/srv.sock')
t("recvfrom", lambda: s.recvfrom(10)[1])
c.sendto(b"two", D + '/srv.sock')
t("recvmsg", lambda: s.recvmsg(10)[3])
c.sendto(b"three", D + '/srv.sock')
t("recv", lambda: s.recv(10).decode())
c.connect(D + '/srv.sock')
c.send(b"four")
t("recvfrom connected", lambda: s.recvfrom(10)[1])
t("getsockname", lambda: c.getsockname())
t("getpeername", lambda: c.getpeername())
class Iov(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class Hdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint),
                ("iov", ctypes.POINTER(Iov)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]
class Msg(ctypes.Structure):
    _fields_ = [("hdr", Hdr), ("len", ctypes.c_uint)]
def recv_names(sizes, mmsg=True):
    # Each message: its data, the name's length told, the name as it is in the buffer.
    msgs, keep = (Msg * len(sizes))(), []
    for m, size in zip(msgs, sizes):
        name, data = ctypes.create_string_buffer(size), ctypes.create_string_buffer(16)
        keep += [name, data, Iov(ctypes.cast(data, ctypes.c_void_p), 16)]
        m.hdr.name, m.hdr.namelen = ctypes.cast(name, ctypes.c_void_p), size
        m.hdr.iov, m.hdr.iovlen = ctypes.pointer(keep[-1]), 1
    if mmsg:
        n = libc.recvmmsg(s.fileno(), msgs, len(sizes), 0, None)
    else:
        n = libc.recvmsg(s.fileno(), msgs, 0)
        n, msgs[0].len = (1, n) if n >= 0 else (n, 0)
    if n < 0:
        raise OSError(ctypes.get_errno(), "recv")
    return " ".join(f"{keep[3 * i + 1].raw[:m.len].decode()}:{m.hdr.namelen}:"
                    f"{keep[3 * i].raw[2:].split(bytes(1))[0].decode()}"
                    for i, m in enumerate(msgs[:n]))
view = len(D + '/cli.sock') + 3
for i in range(5):
    c.send(b"m%d" % i)
t("recvmmsg", lambda: recv_names([110, view, 8]))
t("recvmmsg tiny", lambda: recv_names([0]))
t("recvmsg short", lambda: recv_names([view], mmsg=False))
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.sendto(b"five", D + '/srv.sock')
t("recvfrom unbound sender", lambda: repr(s.recvfrom(10)[1]))
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
ro = libc.mmap(None, 4096, 1, 0x22, -1, 0)  # PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS
st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
st.bind(D + '/st.sock')
st.listen(1)
sc = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sc.bind(D + '/stc.sock')
sc.connect(D + '/st.sock')
def accept_into_read_only():
    # The kernel fails before it makes a descriptor: none may be left behind.
    before = os.dup(0)
    os.close(before)
    alen = ctypes.c_uint(16)
    r = libc.accept4(st.fileno(), ctypes.c_void_p(ro), ctypes.byref(alen), 0)
    err = errno.errorcode.get(ctypes.get_errno(), "?")
    after = os.dup(0)
    os.close(after)
    return f"{r} {err} {'no descriptor left' if after == before else 'a descriptor left'}"
t("accept into a read-only buffer", accept_into_read_only)
"""


def received_addresses():
    """recvfrom and recvmsg handed back the sender's host path (below the scratch directory)
    instead of the path it bound in the view; recvmmsg did, and so did all of them into a name
    buffer too short for the host path (its start, with the host path's length)."""
    dest = absent_view_path("/review") + "/sock"
    for who in WHO:
        d = os.path.realpath(scratch_dir())
        give_to_nobody(d)
        got, p = probe(SOCKETS, ["--bind", d, dest], dest, who == "nobody")
        for name in ("recvfrom", "recvmsg", "recvfrom connected", "getsockname"):
            check(got.get(name) == dest + "/cli.sock", f"{name} names the sender by its view "
                  f"path ({who}): {said(got, p)}")
        check(got.get("getpeername") == dest + "/srv.sock", f"getpeername too: {said(got, p)}")
        cli, n = dest + "/cli.sock", len(dest + "/cli.sock") + 3
        want = f"m0:{n}:{cli} m1:{n}:{cli} m2:{n}:{cli[:6]}"
        check(got.get("recvmmsg") == want, f"recvmmsg names each sender by its view path, cut "
              f"to a buffer too short for the host path with the whole length ({who}): "
              f"{said(got, p)}")
        check(got.get("recvmmsg tiny") == f"m3:{n}:", f"also into a buffer of none ({who}): "
              f"{said(got, p)}")
        check(got.get("recvmsg short") == f"m4:{n}:{cli}", f"recvmsg into a buffer too short "
              f"for the host path names the sender by its view path ({who}): {said(got, p)}")
        check(got.get("recv") == "three", f"recv without an address works: {said(got, p)}")
        check(got.get("recvfrom unbound sender") in ("''", "None"),
              f"an unbound sender has no name: {said(got, p)}")
        check(got.get("accept into a read-only buffer") == "-1 EFAULT no descriptor left",
              f"accept into an address buffer it cannot write fails with EFAULT and leaves no "
              f"descriptor, as natively ({who}): {said(got, p)}")


run_sections(openat2_flags, statfs_read_only, received_addresses)
