"""What each view option puts at its DEST (DESIGN.md §1), over the host's own root: a --ro-bind
refuses every kind of write with EROFS, so do declared inputs and virtual directories; --hide
makes a file or a directory and all below it absent and leaves it out of its parent's listing;
--symlink is a link; the deepest DEST decides, and for the same DEST the later option; the
parents of a DEST the host has not are virtual directories listing exactly what is visible in
them; the command starts in the same directory when the view has it, else in "/"; a DEST
cannot be removed or renamed (EBUSY, as a mount point), so the bound source stays. The report
names view paths with their host paths. As root and as nobody."""
import os

from ptvfs_test import (PROBE_STEP, absent_view_path, check, entries, give_to_nobody,
                        probe_results, run, run_sections, scratch_dir, write_file)

PYTHON = "/usr/bin/python3"

PROBE = PROBE_STEP + r"""
def write(p, mode="w"):
    with open(p, mode) as f:
        f.write("x")
def read(p):
    with open(p) as f:
        return f.read().strip()
exec(sys.argv[1])
"""

WRITES = [
    ("open_w", "write(D + '/f')"),
    ("append", "write(D + '/f', 'a')"),
    ("create", "write(D + '/new')"),
    ("mkdir", "os.mkdir(D + '/newdir')"),
    ("unlink", "os.unlink(D + '/f')"),
    ("rmdir", "os.rmdir(D + '/d')"),
    ("rename", "os.rename(D + '/f', D + '/g')"),
    ("chmod", "os.chmod(D + '/f', 0o600)"),
    ("utime", "os.utime(D + '/f')"),
    ("truncate", "os.truncate(D + '/f', 0)"),
    ("symlink", "os.symlink('f', D + '/l')"),
    ("link", "os.link(D + '/f', D + '/h')"),
    ("mknod_fifo", "os.mkfifo(D + '/fifo')"),
]


def probe(steps, options, as_nobody, cwd=None, define=""):
    """Run the Python steps [(name, expression)] under ptvfs: {name: result}, report."""
    code = define + "\n" + "\n".join(f"t({name!r}, lambda: {expr})" for name, expr in steps)
    p, report = run([PYTHON, "-S", "-c", PROBE, code], options=options,
                    cwd=cwd or scratch_dir(), as_nobody=as_nobody)
    check(p.returncode == 0, f"the probe runs: {p.stderr.decode()}")
    return probe_results(p), report


def tree(top):
    return sorted((os.path.relpath(os.path.join(d, n), top),
                   os.lstat(os.path.join(d, n)).st_mode, os.lstat(os.path.join(d, n)).st_size)
                  for d, ds, ns in os.walk(top) for n in ds + ns)


def who(as_nobody):
    return " (as nobody)" if as_nobody else ""


def source(as_nobody):
    """A directory with a file f and an empty directory d, owned by the one who runs."""
    s = os.path.realpath(scratch_dir())
    write_file(os.path.join(s, "f"), "f\n")
    os.mkdir(os.path.join(s, "d"))
    if as_nobody:
        give_to_nobody(s)
    return s


def read_only_layers(as_nobody):
    """Every write into a --ro-bind, a declared input and a virtual directory is EROFS."""
    s = source(as_nobody)
    absent_view_path("/ro")
    before = tree(s)
    got, report = probe([(n, e) for n, e in WRITES] +
                        [("read", "read(D + '/f')"), ("list", "sorted(os.listdir(D))"),
                         ("access_w", "os.access(D + '/f', os.W_OK)")],
                        ["--ro-bind", s, "/ro"], as_nobody, define="D = '/ro'")
    for name, _ in WRITES:
        check(got.get(name) == "EROFS", f"{name} in a --ro-bind fails with EROFS"
              f"{who(as_nobody)}: {got.get(name)}")
    check(got.get("read") == "f" and got.get("list") == "['d', 'f']",
          f"a --ro-bind is readable and lists its source{who(as_nobody)}: {got}")
    check(tree(s) == before, f"the --ro-bind's source is unchanged{who(as_nobody)}")
    ro_access_w = got.get("access_w")
    e = entries(report).get("/ro/f", {})
    check("read" in e.get("access", []) and e.get("host") == s + "/f",
          f"the report names /ro/f with its host path{who(as_nobody)}: {e}")

    # Inputs: the declared file and the directory it implies.
    manifest = os.path.join(scratch_dir(), "inputs")
    write_file(manifest, f"/in/sub/f\t{s}/f\n")
    steps = [(n, e) for n, e in WRITES if n not in ("rmdir",)]
    got, report = probe(steps + [("read", "read(D + '/f')"),
                                 ("access_w", "os.access(D + '/f', os.W_OK)"),
                                 ("access_dir_w", "os.access(D, os.W_OK)")],
                        ["--inputs", manifest], as_nobody, define="D = '/in/sub'")
    for name, _ in steps:
        check(got.get(name) == "EROFS", f"{name} at a declared input (or in the virtual "
              f"directory holding it) fails with EROFS{who(as_nobody)}: {got.get(name)}")
    check(got.get("read") == "f", f"a declared input reads its SRC{who(as_nobody)}: {got}")
    check(tree(s) == before, f"the input's source is unchanged{who(as_nobody)}")
    # Last, so that the checks above run whatever it gives: `test -w`, make and configure
    # scripts ask access(W_OK) before they write.
    check((ro_access_w, got.get("access_w"), got.get("access_dir_w")) == ("False",) * 3,
          f"access(W_OK) is false (EROFS) for a file of a --ro-bind, a declared input and a "
          f"virtual directory{who(as_nobody)}: {ro_access_w}, {got.get('access_w')}, "
          f"{got.get('access_dir_w')}")


def hidden(as_nobody):
    s = source(as_nobody)
    write_file(os.path.join(s, "d", "below"), "below\n")
    write_file(os.path.join(s, "keep"), "keep\n")
    if as_nobody:
        give_to_nobody(s)
    got, report = probe([("read_f", "read(S + '/f')"), ("stat_f", "os.lstat(S + '/f') and 1"),
                         ("stat_d", "os.stat(S + '/d') and 1"),
                         ("read_below", "read(S + '/d/below')"),
                         ("list", "sorted(os.listdir(S))"), ("read_keep", "read(S + '/keep')"),
                         ("passwd", "read('/etc/passwd')"),
                         ("etc_list", "'passwd' in os.listdir('/etc')")],
                        ["--hide", s + "/f", "--hide", s + "/d", "--hide", "/etc/passwd"],
                        as_nobody, define=f"S = {s!r}")
    for name in ("read_f", "stat_f", "stat_d", "read_below", "passwd"):
        check(got.get(name) == "ENOENT", f"{name}: a hidden path (or one below it) is absent"
              f"{who(as_nobody)}: {got.get(name)}")
    check(got.get("list") == "['keep']", f"a listing leaves the hidden names out"
          f"{who(as_nobody)}: {got.get('list')}")
    check(got.get("etc_list") == "False", f"/etc's listing leaves out the hidden passwd"
          f"{who(as_nobody)}")
    check(got.get("read_keep") == "keep", f"what is not hidden stays{who(as_nobody)}")
    fs = entries(report)
    check("probe" in fs.get(s + "/f", {}).get("access", []),
          f"a lookup of a hidden file is recorded as a probe{who(as_nobody)}: {fs.get(s + '/f')}")


def links_and_precedence(as_nobody):
    s, t = source(as_nobody), source(as_nobody)
    write_file(os.path.join(s, "which"), "s\n")
    write_file(os.path.join(t, "which"), "t\n")
    if as_nobody:
        give_to_nobody(s)
        give_to_nobody(t)
    absent_view_path("/v")
    got, _ = probe([("readlink", "os.readlink('/l')"), ("through", "read('/l')"),
                    ("is_link", "os.path.islink('/l')"), ("rel", "read('/v/rel')")],
                   ["--bind", s, "/v", "--symlink", "/v/which", "/l",
                    "--symlink", "which", "/v/rel"], as_nobody)
    check(got.get("readlink") == "/v/which" and got.get("through") == "s" and
          got.get("is_link") == "True", f"--symlink makes a link, resolved in the view"
          f"{who(as_nobody)}: {got}")
    check(got.get("rel") == "s", f"a relative --symlink inside a bind resolves next to it"
          f"{who(as_nobody)}: {got}")

    got, _ = probe([("sub_write", "write('/v/sub/new')"), ("top_write", "write('/v/new')"),
                    ("sub", "read('/v/sub/which')")],
                   ["--ro-bind", s, "/v", "--bind", t, "/v/sub"], as_nobody)
    check(got == {"sub_write": "ok", "top_write": "EROFS", "sub": "t"},
          f"the deepest DEST decides: a --bind inside a --ro-bind is writable{who(as_nobody)}: "
          f"{got}")
    check(os.path.exists(os.path.join(t, "new")), f"the write reached the inner bind's source"
          f"{who(as_nobody)}")

    for opts, want, what in ((["--hide", "/v", "--bind", t, "/v"], "t", "a --bind after a "
                               "--hide of the same DEST"),
                              (["--bind", t, "/v", "--hide", "/v"], "ENOENT", "a --hide after a "
                               "--bind of the same DEST"),
                              (["--ro-bind", s, "/v", "--ro-bind", t, "/v"], "t", "the second "
                               "of two --ro-binds of the same DEST")):
        got, _ = probe([("which", "read('/v/which')")], opts, as_nobody)
        check(got.get("which") == want, f"for the same DEST the later option wins: {what} "
              f"gives {want}{who(as_nobody)}: {got}")


def virtual_directories(as_nobody):
    s = source(as_nobody)
    absent_view_path("/home/user")
    host_home = sorted(os.listdir("/home"))
    got, report = probe([("home", "sorted(os.listdir('/home'))"),
                         ("user", "sorted(os.listdir('/home/user'))"),
                         ("deep", "sorted(os.listdir('/home/user/a/b'))"),
                         ("is_dir", "os.path.isdir('/home/user/a')"),
                         ("mkdir", "os.mkdir('/home/user/x')"),
                         ("create", "write('/home/user/a/y')"),
                         ("chmod", "os.chmod('/home/user', 0o777)"),
                         ("missing", "os.stat('/home/user/nothing') and 1"),
                         ("ws", "sorted(os.listdir('/home/user/workspace'))")],
                        ["--bind", s, "/home/user/workspace", "--bind", s, "/home/user/a/b/c"],
                        as_nobody)
    check(got.get("home") == str(sorted(host_home + ["user"])),
          f"the host's /home lists its own entries plus the virtual user{who(as_nobody)}: "
          f"{got.get('home')} (host: {host_home})")
    check(got.get("user") == "['a', 'workspace']" and got.get("deep") == "['c']",
          f"a virtual directory lists exactly the names declared in it{who(as_nobody)}: {got}")
    check(got.get("is_dir") == "True", f"a virtual directory is a directory{who(as_nobody)}")
    for name in ("mkdir", "create", "chmod"):
        check(got.get(name) == "EROFS", f"{name} in a virtual directory fails with EROFS"
              f"{who(as_nobody)}: {got.get(name)}")
    check(got.get("missing") == "ENOENT", f"an undeclared name in a virtual directory is "
          f"absent{who(as_nobody)}: {got.get('missing')}")
    check(got.get("ws") == "['d', 'f']", f"the bind inside lists its source{who(as_nobody)}")
    check("list" in entries(report).get("/home/user", {}).get("access", []),
          f"the listing of a virtual directory is recorded by its view path{who(as_nobody)}")


def starting_directory(as_nobody):
    s, t = source(as_nobody), source(as_nobody)
    write_file(os.path.join(t, "which"), "t\n")
    if as_nobody:
        give_to_nobody(t)
    code = [("cwd", "os.getcwd()"), ("which", "read('which')")]
    got, report = probe(code, ["--bind", t, s], as_nobody, cwd=s)
    check(got == {"cwd": s, "which": "t"}, f"started in a directory the view binds over, the "
          f"command is in the view's directory of that path{who(as_nobody)}: {got}")
    got, report = probe(code[:1], ["--hide", s], as_nobody, cwd=s)
    check(got == {"cwd": "/"}, f"started in a directory the view hides, the command starts in "
          f"/{who(as_nobody)}: {got}")
    check(report is not None and report["cwd"] == "/", f"the report's cwd is / then"
          f"{who(as_nobody)}: {report and report['cwd']}")
    got, _ = probe(code[:1], ["--bind", t, "/v", "--chdir", "/v"], as_nobody, cwd=s)
    check(got == {"cwd": "/v"}, f"--chdir starts the command in a view directory"
          f"{who(as_nobody)}: {got}")


def dests_are_mount_points(as_nobody):
    """A DEST is where the view mounts something: as for a mount point, removing or renaming
    it (or renaming over it) fails with EBUSY, and the bound source stays as it was on the host.
    The parent of each DEST here is a writable --bind, so EBUSY is the only reason to fail."""
    s, t = source(as_nobody), source(as_nobody)
    write_file(os.path.join(t, "keep"), "keep\n")
    f = os.path.join(source(as_nobody), "f")
    if as_nobody:
        give_to_nobody(t)
    steps = [("rmdir_bind", "os.rmdir(W + '/empty')"),
             ("rename_bind", "os.rename(W + '/inner', W + '/moved')"),
             ("rename_over_bind", "os.mkdir(W + '/e') or os.rename(W + '/e', W + '/empty')"),
             ("rmdir_tmpfs", "os.rmdir(W + '/tmp')"),
             ("rename_tmpfs", "os.rename(W + '/tmp', W + '/moved')"),
             ("unlink_file_bind", "os.unlink(W + '/file')"),
             ("rename_over_file_bind", "write(W + '/x') or os.rename(W + '/x', W + '/file')"),
             ("after", "sorted(os.listdir(W))"), ("tmp_works", "write(W + '/tmp/y')")]
    empty = os.path.join(source(as_nobody), "d")
    before = {path: tree(path) for path in (t, empty)}
    got, _ = probe(steps, ["--bind", s, "/w", "--bind", t, "/w/inner", "--bind", empty,
                           "/w/empty", "--tmpfs", "/w/tmp", "--bind", f, "/w/file"],
                   as_nobody, define="W = '/w'")
    wrong = [f"{name}: {got.get(name)}" for name, _ in steps[:-2] if got.get(name) != "EBUSY"]
    changed = [path for path, was in before.items()
               if not os.path.isdir(path) or tree(path) != was]
    changed += [f] if not os.path.isfile(f) or open(f).read() != "f\n" else []
    check(not changed, f"the bound sources are still there, unchanged, after the command tried "
          f"to remove or replace their DESTs{who(as_nobody)}: changed {changed}; the calls gave "
          f"{', '.join(wrong)}")
    check(not wrong, f"removing or replacing a DEST fails with EBUSY, as for a mount point"
          f"{who(as_nobody)}: {', '.join(wrong)}")
    check(got.get("after") == "['d', 'e', 'empty', 'f', 'file', 'inner', 'tmp', 'x']",
          f"the view still has every DEST{who(as_nobody)}: {got.get('after')}")
    check(got.get("tmp_works") == "ok", f"the --tmpfs is still usable{who(as_nobody)}: "
          f"{got.get('tmp_works')}")


def sections():
    fns = []
    for as_nobody in (False, True):
        for fn in (read_only_layers, hidden, links_and_precedence, virtual_directories,
                   starting_directory, dests_are_mount_points):
            def section(fn=fn, as_nobody=as_nobody):
                fn(as_nobody)
            section.__name__ = fn.__name__ + ("_as_nobody" if as_nobody else "_as_root")
            fns.append(section)
    return fns


run_sections(*sections())
