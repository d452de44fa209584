"""Raw syscall() calls of every path-taking family (progs/raw_syscalls.c), run natively and
under ptvfs in identical fresh directories: the results must be the same, the directories must
end up the same, and the report must name each path, by its absolute path, with the access the
call made. Then again as an unprivileged user."""
import os
import shutil
import stat

from ptvfs_test import check, files, native, prog, run, run_sections, scratch_dir, NOBODY

HELLO = b"hello\n"
FILES = """r_open r_openat r_openat2 w_trunc path_file s_stat s_lstat s_newfstatat s_statx
    s_statfs s_access s_faccessat s_faccessat2 s_rel s_rel2 f_target s_target lc_target
    linkf_target d_unlink d_unlinkat mv_src mv2_src mv3_src mvx_src mvx_dst ln_src c_chmod
    c_fchmodat c_chown c_fchownat t_trunc u_utime u_utimes u_futimesat u_utimensat x_set x_get
    x_list x_remove x_file i_watch dir/inner g_dir/a g_dir/b g_dir/c cd_dir/rel_file
    fcd_dir/rel2 fcd_dir/rel2_del at_dir/at_file at_dir/at_del at_dir/at_mv at_dir/at_chown
    at_dir/at_utimens at_dir/at_sub/one at_dir/at_sub/two""".split()
DIRS = "dir d_rmdir d_unlinkat_dir g_dir/sub cd_dir fcd_dir at_dir at_dir/at_sub sock_dir".split()
LINKS = {"l_readlink": "rl_target", "l_readlinkat": "rla_target", "l_follow": "f_target",
         "l_stat": "s_target", "l_lstat": "nowhere", "l_nofollow": "s_target",
         "l_lchown": "lc_target", "l_linkf": "linkf_target", "ldir": "dir", "loop1": "loop2",
         "loop2": "loop1", "at_dir/at_link": "at_file"}


def make_fixture(d, owner):
    for name in DIRS:
        os.makedirs(os.path.join(d, name), exist_ok=True)
    for name in FILES:
        with open(os.path.join(d, name), "wb") as f:
            f.write(HELLO)
    for name, target in LINKS.items():
        os.symlink(target, os.path.join(d, name))
    if owner is not None:
        for root, dirs, names in os.walk(d):
            for name in dirs + names:
                os.lchown(os.path.join(root, name), owner, owner)


def snapshot(d):
    """What a user sees of a directory tree: names, types, modes, sizes, link targets, xattrs."""
    out = {}
    for root, dirs, names in os.walk(d):
        for name in sorted(dirs + names):
            p = os.path.join(root, name)
            st = os.lstat(p)
            entry = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid]
            if stat.S_ISREG(st.st_mode):
                entry += [open(p, "rb").read(), st.st_nlink]
            elif stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(p))
            if not stat.S_ISLNK(st.st_mode) and not stat.S_ISSOCK(st.st_mode):
                entry.append(sorted(os.listxattr(p)))
            out[os.path.relpath(p, d)] = entry
    return out


def check_accesses(fs, d, as_nobody):
    who = " (as nobody)" if as_nobody else ""

    def has(name, kind, why):
        path = os.path.join(d, name)
        check(kind in fs.get(path, []), f"{why}: {path} is recorded with {kind}{who}, "
              f"got {fs.get(path)}")

    def lacks(name, kind, why):
        path = os.path.join(d, name)
        check(kind not in fs.get(path, []), f"{why}: {path} is not recorded with {kind}{who}, "
              f"got {fs.get(path)}")

    def present(name, why):
        path = os.path.join(d, name)
        check(path in fs, f"{why}: {path} is in the report{who}")

    # open family
    for name in ("r_open", "r_openat", "r_openat2"):
        has(name, "read", f"opening {name} for reading")
        lacks(name, "write", f"opening {name} for reading")
    has("w_creat", "write", "creat")
    has("w_openat", "write", "openat O_CREAT")
    has("w_trunc", "write", "open O_TRUNC")
    lacks("w_trunc", "read", "open O_WRONLY|O_TRUNC")
    has("missing_open", "probe", "opening a missing file")
    has("dir/missing_open", "probe", "opening a missing file in a subdirectory")
    has("l_follow", "read", "a symlink followed by open")
    has("f_target", "read", "the target of a followed symlink")
    has("path_file", "stat", "open O_PATH")
    lacks("path_file", "read", "open O_PATH reads nothing")
    # stat family
    for name in ("s_stat", "s_lstat", "s_newfstatat", "s_statx", "s_statfs", "s_access",
                 "s_faccessat", "s_faccessat2"):
        has(name, "stat", f"the stat-family call on {name}")
        lacks(name, "read", f"the stat-family call on {name}")
    for name in ("missing_stat", "missing_lstat", "missing_fstatat", "missing_statx",
                 "missing_access"):
        has(name, "probe", f"a stat-family call on a missing path ({name})")
    check(any(p.startswith(os.path.join(d, "nodir")) and "probe" in a for p, a in fs.items()),
          f"stat of nodir/x records a probe below {d}/nodir{who}")
    has("l_stat", "read", "stat follows the symlink l_stat")
    has("s_target", "stat", "stat through a symlink reaches its target")
    has("l_lstat", "stat", "lstat of a symlink")
    lacks("l_lstat", "read", "lstat does not follow the symlink")
    lacks("nowhere", "probe", "lstat does not follow the symlink to its missing target")
    has("l_nofollow", "stat", "newfstatat AT_SYMLINK_NOFOLLOW of a symlink")
    lacks("l_nofollow", "read", "AT_SYMLINK_NOFOLLOW does not follow")
    has("ldir", "read", "a symlinked directory followed on the way")
    has("dir/inner", "stat", "stat through a symlinked directory")
    # links
    has("l_readlink", "read", "readlink of a symlink")
    has("l_readlinkat", "read", "readlinkat of a symlink")
    lacks("rl_target", "probe", "readlink does not follow")
    has("ln_dst", "write", "link's new name")
    has("lnat_dst", "write", "linkat's new name")
    present("ln_src", "link's existing name")
    has("lnf_dst", "write", "linkat AT_SYMLINK_FOLLOW's new name")
    has("l_linkf", "read", "linkat AT_SYMLINK_FOLLOW follows the link")
    present("linkf_target", "linkat AT_SYMLINK_FOLLOW links the target")
    has("sl_new", "write", "symlink")
    has("slat_new", "write", "symlinkat")
    # made and removed
    for name in ("m_mkdir", "m_mkdirat", "m_mknod", "m_mknodat"):
        has(name, "write", f"making {name}")
    for name in ("d_rmdir", "d_unlink", "d_unlinkat", "d_unlinkat_dir"):
        has(name, "delete", f"removing {name}")
    has("missing_unlink", "probe", "unlink of a missing file")
    lacks("missing_unlink", "delete", "unlink of a missing file deletes nothing")
    for src, dst in (("mv_src", "mv_dst"), ("mv2_src", "mv2_dst"), ("mv3_src", "mv3_dst")):
        has(src, "delete", f"rename source {src}")
        has(dst, "write", f"rename target {dst}")
    has("missing_mv", "probe", "rename of a missing file")
    # metadata
    for name in ("c_chmod", "c_fchmodat", "c_chown", "c_fchownat", "t_trunc", "u_utime",
                 "u_utimes", "u_futimesat", "u_utimensat"):
        has(name, "write", f"changing the metadata or size of {name}")
    has("l_lchown", "write", "lchown of a symlink")
    lacks("l_lchown", "read", "lchown does not follow")
    lacks("lc_target", "write", "lchown does not change the link's target")
    has("missing_trunc", "probe", "truncate of a missing file")
    # xattrs: results may differ by file system, the record may not
    present("x_set", "setxattr")
    has("x_get", "stat", "getxattr")
    has("x_list", "stat", "listxattr")
    present("x_remove", "removexattr")
    has("missing_xattr", "probe", "getxattr of a missing file")
    # watches and listings
    has("i_watch", "stat", "inotify_add_watch")
    has("missing_watch", "probe", "inotify_add_watch of a missing file")
    has("g_dir", "list", "getdents64")
    for name in ("g_dir/a", "g_dir/b", "g_dir/c", "g_dir/sub"):
        check(os.path.join(d, name) not in fs, f"listing g_dir does not record {name} itself{who}")
    # relative paths after chdir and fchdir
    has("cd_dir/rel_file", "read", "a relative open after chdir")
    has("s_rel", "stat", "a '..' path after chdir")
    has("cd_dir/sub_made", "write", "a relative mkdir after chdir")
    has("fcd_dir/rel2", "read", "a relative open after fchdir")
    has("fcd_dir/rel2_del", "delete", "a relative unlink after fchdir")
    has("s_rel2", "read", "a relative open after fchdir back")
    has("missing_cd", "probe", "chdir to a missing directory")
    check(not any(p.startswith(os.path.join(d, "cd_dir", "cd_dir")) or
                  p.startswith(os.path.join(d, "fcd_dir", "fcd_dir")) or
                  p.startswith(os.path.join(d, "fcd_dir", "s_rel2")) for p in fs),
          f"no path is recorded relative to a stale working directory{who}")
    # dirfd-relative and AT_EMPTY_PATH
    has("at_dir/at_file", "read", "openat relative to a dirfd")
    has("at_dir", "stat", "newfstatat AT_EMPTY_PATH of a dirfd")
    has("at_dir/at_del", "delete", "unlinkat relative to a dirfd")
    has("at_dir/at_new", "write", "mkdirat relative to a dirfd")
    has("at_dir/at_missing", "probe", "newfstatat of a missing name relative to a dirfd")
    has("at_dir/at_mv", "delete", "renameat source relative to a dirfd")
    has("at_moved", "write", "renameat target relative to the cwd")
    has("at_dir/at_chown", "write", "fchownat AT_EMPTY_PATH of an O_PATH descriptor")
    has("at_dir/at_chown", "stat", "statx AT_EMPTY_PATH of an O_PATH descriptor")
    has("at_dir/at_utimens", "write", "utimensat with a NULL path on a descriptor")
    has("at_dir/at_link", "read", "readlinkat with an empty path on an O_PATH link descriptor")
    lacks("at_dir/at_file", "write", "only the link at_link is read by readlinkat")
    has("at_dir/at_sub", "list", "getdents64 of a directory opened relative to a dirfd")
    # AF_UNIX socket names
    has("sock_b", "write", "bind of an AF_UNIX socket")
    present("sock_b", "connect to an AF_UNIX socket")
    has("sock_missing", "probe", "connect to a missing AF_UNIX socket")
    has("sock_dir/sock_rel", "write", "bind of a relative AF_UNIX name after chdir")
    # nothing relative, nothing dropped
    check(all(p.startswith("/") for p in fs), f"every recorded path is absolute{who}")
    check(not any("ptvfs-test-" in p and "abstract" in p for p in fs),
          f"an abstract socket name is not recorded as a file{who}")


def one_round(as_nobody):
    owner = NOBODY if as_nobody and os.geteuid() == 0 else None
    a, b = scratch_dir(), scratch_dir()
    make_fixture(a, owner)
    make_fixture(b, owner)
    check(snapshot(a) == snapshot(b), "the two fixture directories start identical")
    who = " (as nobody)" if as_nobody else ""

    nat = native([prog("raw_syscalls")], cwd=a, as_nobody=as_nobody)
    check(nat.returncode == 0 and nat.stdout.endswith(b"done\n"),
          f"raw_syscalls runs natively{who}: {nat.stderr.decode()}")
    p, report = run([prog("raw_syscalls")], cwd=b, as_nobody=as_nobody)
    check(p.returncode == 0, f"raw_syscalls under ptvfs exits 0{who}, got {p.returncode}: "
          f"{p.stderr.decode()}")
    check(p.stderr == b"", f"ptvfs prints nothing on stderr{who}: {p.stderr.decode()}")
    nat_lines, lines = nat.stdout.decode().splitlines(), p.stdout.decode().splitlines()
    for i, (x, y) in enumerate(zip(nat_lines, lines)):
        check(x == y, f"line {i + 1} of raw_syscalls is the same natively and under "
              f"ptvfs{who}:\n  native: {x}\n  ptvfs:  {y}")
    check(len(nat_lines) == len(lines), f"raw_syscalls prints as many lines under ptvfs{who}")
    sa, sb = snapshot(a), snapshot(b)
    for name in sorted(set(sa) | set(sb)):
        check(sa.get(name) == sb.get(name), f"{name} ends up the same natively and under "
              f"ptvfs{who}:\n  native: {sa.get(name)}\n  ptvfs:  {sb.get(name)}")
    check(report is not None, f"a report is written{who}")
    check(report["exit"] == {"code": 0}, f"the report's exit is the program's{who}")
    check(report.get("refused") == [], f"nothing is refused{who}: {report.get('refused')}")
    check_accesses(files(report), os.path.realpath(b), as_nobody)
    shutil.rmtree(a, ignore_errors=True)
    shutil.rmtree(b, ignore_errors=True)


def as_root():
    one_round(as_nobody=False)


def as_nobody():
    one_round(as_nobody=True)


run_sections(as_root, as_nobody)
