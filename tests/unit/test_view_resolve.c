// SPDX-License-Identifier: MIT
/*
 * Resolution inside the view: resolve_path() over view_resolve_ops, and
 * view_resolve()'s target. A --root of a real tree with relative, absolute,
 * dangling and looping links, a --bind of another tree at a deep DEST, a
 * --ro-bind, --symlink and --hide: links resolve in the view, never on the
 * host around a bind's SRC. As root, the kernel itself, chrooted into a
 * tree, is compared with view_resolve() over a --root of the same tree.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rows.h"
#include "tree.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "ptvfs/view_resolve.h"

/* The host tree: T (its realpath) holds R = T/root and B = T/bind. */
static char T[PATH_MAX];

/* T/REL, in one of a few rotating buffers. */
static const char *tp(const char *rel)
{
	static char bufs[8][PATH_MAX * 2];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", T, rel);
	return b;
}

/* "R" and "B" at the start of an expected host path stand for T/root and T/bind. */
static const char *expand(const char *host)
{
	static char buf[PATH_MAX * 2];

	if (host[0] == 'R' && (host[1] == '\0' || host[1] == '/'))
		snprintf(buf, sizeof(buf), "%s/root%s", T, host + 1);
	else if (host[0] == 'B' && (host[1] == '\0' || host[1] == '/'))
		snprintf(buf, sizeof(buf), "%s/bind%s", T, host + 1);
	else
		return host;
	return buf;
}

static void make_file(const char *rel)
{
	char dir[PATH_MAX];
	const char *path = tp(rel);
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *s = dir + strlen(T) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(dir, 0755);
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
	close(fd);
}

static void make_link(const char *target, const char *rel)
{
	cr_assert_eq(symlink(target, tp(rel)), 0, "symlink %s: %s", rel, strerror(errno));
}

static void make_tree(void)
{
	static const char *const files[] = {
	    "root/etc/x",
	    "root/etc/conf",
	    "root/usr/bin/tool",
	    "root/usr/lib/libc.so",
	    "root/file",
	    "root/secret/s",
	    "bind/f",
	    "bind/sub/g",
	    "bind/private",
	};
	/* target, link */
	static const char *const links[][2] = {
	    {"/etc/x", "root/abs_etc"},
	    {"usr/bin/tool", "root/rel_tool"},
	    {"../lib", "root/usr/bin/up"},
	    {"/usr/lib/libc.so", "root/usr/bin/abs_lib"},
	    {"nowhere", "root/dangling"},
	    {"/nowhere/x", "root/dangling_abs"},
	    {"loop2", "root/loop1"},
	    {"loop1", "root/loop2"},
	    {"/deep/a/b/dest/f", "root/to_dest"},
	    {"/lnk", "root/to_lnk"},
	    {"/secret/s", "root/to_secret"},
	    {"/dev/null", "root/to_null"},
	    {"../../..", "root/dotdot_root"},
	    {"file/", "root/to_file_slash"},
	    /* On the host in the bound directory, pointing out of it. */
	    {"/etc/x", "bind/out_abs"},
	    {"../../../../etc/conf", "bind/out_rel"},
	    {"../../../../../../../../etc/x", "bind/escape"},
	    {"..", "bind/up"},
	    {"../..", "bind/sub/upup"},
	    {"private", "bind/to_private"},
	};
	char tmpl[] = "/tmp/ptvfs-view-resolve-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, T));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		make_file(files[i]);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		make_link(links[i][0], links[i][1]);
}

static void remove_tree(void)
{
	remove_tree_at(T);
}

TestSuite(view_resolve, .init = make_tree, .fini = remove_tree);

static void add_ok(struct view *v, enum layer_kind kind, const char *src, const char *dest)
{
	char *err = NULL;
	int ret = view_add(v, kind, src, dest, "--opt", &err);

	cr_assert_eq(ret, 0, "view_add %s %s: %d %s", src ? src : "-", dest, ret, err ? err : "");
	free(err);
}

/*
 * Layer indexes: 0 the root, 1 to 3 the host's /dev, /proc, /sys, then
 * these in order.
 */
static struct view *make_view(void)
{
	struct view *v = view_new();
	char *err = NULL;

	cr_assert_eq(view_set_root(v, tp("root"), &err), 0, "%s", err ? err : "");
	add_ok(v, LAYER_BIND, tp("bind"), "/deep/a/b/dest");   /* 4 */
	add_ok(v, LAYER_RO_BIND, tp("bind/sub"), "/ro");       /* 5 */
	add_ok(v, LAYER_SYMLINK, "/etc/conf", "/lnk");	       /* 6 */
	add_ok(v, LAYER_SYMLINK, "dest/sub", "/deep/a/b/rel"); /* 7 */
	add_ok(v, LAYER_HIDE, NULL, "/secret");		       /* 8 */
	add_ok(v, LAYER_HIDE, NULL, "/deep/a/b/dest/private"); /* 9 */
	cr_assert_eq(view_seal(v, &err), 0, "view_seal: %s", err ? err : "");
	return v;
}

#define F RESOLVE_FOLLOW

struct vr_case {
	const char *base;
	const char *path;
	unsigned flags;
	int error;
	const char *want; /* the view path reached; NULL: not checked */
	int type;	  /* when error is 0 */
	bool parent_exists;
	enum view_node_kind kind;
	const char *host; /* "R/...", "B/..." or a host path; NULL: not checked */
	bool read_only;	  /* unless kind is VIEW_ABSENT */
	enum layer_kind layer;
};

static const struct vr_case vr_cases[] = {
    /* The root layer. */
    {NULL, "/", 0, 0, "/", S_IFDIR, true, VIEW_HOST, "R", true, LAYER_BASE_ROOT},
    {NULL, "/etc/x", 0, 0, "/etc/x", S_IFREG, true, VIEW_HOST, "R/etc/x", true, LAYER_BASE_ROOT},
    {NULL, "/../../etc/x", 0, 0, "/etc/x", S_IFREG, true, VIEW_HOST, "R/etc/x", true,
     LAYER_BASE_ROOT},
    /* An absolute link on the host in the root starts again from the view's "/". */
    {NULL, "/abs_etc", F, 0, "/etc/x", S_IFREG, true, VIEW_HOST, "R/etc/x", true, LAYER_BASE_ROOT},
    {NULL, "/abs_etc", 0, 0, "/abs_etc", S_IFLNK, true, VIEW_HOST, "R/abs_etc", true,
     LAYER_BASE_ROOT},
    {NULL, "/rel_tool", F, 0, "/usr/bin/tool", S_IFREG, true, VIEW_HOST, "R/usr/bin/tool", true,
     LAYER_BASE_ROOT},
    {NULL, "/usr/bin/up/libc.so", 0, 0, "/usr/lib/libc.so", S_IFREG, true, VIEW_HOST,
     "R/usr/lib/libc.so", true, LAYER_BASE_ROOT},
    {NULL, "/usr/bin/abs_lib", F, 0, "/usr/lib/libc.so", S_IFREG, true, VIEW_HOST,
     "R/usr/lib/libc.so", true, LAYER_BASE_ROOT},
    {NULL, "/dotdot_root", F, 0, "/", S_IFDIR, true, VIEW_HOST, "R", true, LAYER_BASE_ROOT},
    {NULL, "/to_dest", F, 0, "/deep/a/b/dest/f", S_IFREG, true, VIEW_HOST, "B/f", false,
     LAYER_BIND},
    {NULL, "/to_null", F, 0, "/dev/null", S_IFCHR, true, VIEW_HOST, "/dev/null", false, LAYER_BIND},
    {"/usr/bin", "../../abs_etc", F, 0, "/etc/x", S_IFREG, true, VIEW_HOST, "R/etc/x", true,
     LAYER_BASE_ROOT},
    /* Dangling links, loops, names below files. */
    {NULL, "/dangling", F, -ENOENT, "/nowhere", 0, true, VIEW_HOST, "R/nowhere", true,
     LAYER_BASE_ROOT},
    {NULL, "/dangling", 0, 0, "/dangling", S_IFLNK, true, VIEW_HOST, "R/dangling", true,
     LAYER_BASE_ROOT},
    {NULL, "/dangling_abs", F, -ENOENT, "/nowhere/x", 0, false, VIEW_HOST, "R/nowhere/x", true,
     LAYER_BASE_ROOT},
    {NULL, "/loop1", F, -ELOOP, NULL, 0, false, VIEW_HOST, NULL, true, LAYER_BASE_ROOT},
    {NULL, "/loop1/x", 0, -ELOOP, NULL, 0, false, VIEW_HOST, NULL, true, LAYER_BASE_ROOT},
    {NULL, "/loop1", 0, 0, "/loop1", S_IFLNK, true, VIEW_HOST, "R/loop1", true, LAYER_BASE_ROOT},
    {NULL, "/file/x", 0, -ENOTDIR, "/file/x", 0, false, VIEW_HOST, "R/file/x", true,
     LAYER_BASE_ROOT},
    {NULL, "/etc/x/", 0, -ENOTDIR, "/etc/x", 0, true, VIEW_HOST, "R/etc/x", true, LAYER_BASE_ROOT},
    {NULL, "/to_file_slash", F, -ENOTDIR, "/file", 0, true, VIEW_HOST, "R/file", true,
     LAYER_BASE_ROOT},
    /* A create in the read-only root: the caller fails it with EROFS. */
    {NULL, "/newfile", 0, -ENOENT, "/newfile", 0, true, VIEW_HOST, "R/newfile", true,
     LAYER_BASE_ROOT},
    /* Virtual directories on the way to the bind. */
    {NULL, "/deep", 0, 0, "/deep", S_IFDIR, true, VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/", 0, 0, "/deep/a/b", S_IFDIR, true, VIEW_VIRTUAL_DIR, NULL, true,
     LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/newfile", 0, -ENOENT, "/deep/a/b/newfile", 0, true, VIEW_ABSENT, NULL, false,
     0},
    /* The bind. */
    {NULL, "/deep/a/b/dest", 0, 0, "/deep/a/b/dest", S_IFDIR, true, VIEW_HOST, "B", false,
     LAYER_BIND},
    {NULL, "/deep/a/b/dest/sub/g", 0, 0, "/deep/a/b/dest/sub/g", S_IFREG, true, VIEW_HOST,
     "B/sub/g", false, LAYER_BIND},
    {NULL, "/deep/a/b/dest/sub/g/", 0, -ENOTDIR, "/deep/a/b/dest/sub/g", 0, true, VIEW_HOST,
     "B/sub/g", false, LAYER_BIND},
    {NULL, "/deep/a/b/dest/newfile", F, -ENOENT, "/deep/a/b/dest/newfile", 0, true, VIEW_HOST,
     "B/newfile", false, LAYER_BIND},
    /* ".." across the bind point: the view's parent, not the host's parent of SRC (T). */
    {NULL, "/deep/a/b/dest/..", 0, 0, "/deep/a/b", S_IFDIR, true, VIEW_VIRTUAL_DIR, NULL, true,
     LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/dest/../root", 0, -ENOENT, "/deep/a/b/root", 0, true, VIEW_ABSENT, NULL,
     false, 0},
    {NULL, "/deep/a/b/dest/../../../../etc/x", 0, 0, "/etc/x", S_IFREG, true, VIEW_HOST, "R/etc/x",
     true, LAYER_BASE_ROOT},
    {"/deep/a/b/dest", "../dest/f", 0, 0, "/deep/a/b/dest/f", S_IFREG, true, VIEW_HOST, "B/f",
     false, LAYER_BIND},
    /* Links on the host in the bound directory that point out of it land in the view. */
    {NULL, "/deep/a/b/dest/out_abs", F, 0, "/etc/x", S_IFREG, true, VIEW_HOST, "R/etc/x", true,
     LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/dest/out_rel", F, 0, "/etc/conf", S_IFREG, true, VIEW_HOST, "R/etc/conf",
     true, LAYER_BASE_ROOT},
    {"/deep/a/b/dest", "out_rel", F, 0, "/etc/conf", S_IFREG, true, VIEW_HOST, "R/etc/conf", true,
     LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/dest/escape", F, 0, "/etc/x", S_IFREG, true, VIEW_HOST, "R/etc/x", true,
     LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/dest/up", F, 0, "/deep/a/b", S_IFDIR, true, VIEW_VIRTUAL_DIR, NULL, true,
     LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/dest/sub/upup/dest/f", 0, 0, "/deep/a/b/dest/f", S_IFREG, true, VIEW_HOST,
     "B/f", false, LAYER_BIND},
    /* The same SRC bound read-only elsewhere: its ".." is that place's parent. */
    {NULL, "/ro/g", 0, 0, "/ro/g", S_IFREG, true, VIEW_HOST, "B/sub/g", true, LAYER_RO_BIND},
    {NULL, "/ro/upup", F, 0, "/", S_IFDIR, true, VIEW_HOST, "R", true, LAYER_BASE_ROOT},
    /* Declared links: absolute targets from the view's "/", relative ones from their directory. */
    {NULL, "/lnk", 0, 0, "/lnk", S_IFLNK, true, VIEW_SYMLINK, "/etc/conf", false, LAYER_SYMLINK},
    {NULL, "/lnk", F, 0, "/etc/conf", S_IFREG, true, VIEW_HOST, "R/etc/conf", true,
     LAYER_BASE_ROOT},
    {NULL, "/to_lnk", F, 0, "/etc/conf", S_IFREG, true, VIEW_HOST, "R/etc/conf", true,
     LAYER_BASE_ROOT},
    {NULL, "/deep/a/b/rel", F, 0, "/deep/a/b/dest/sub", S_IFDIR, true, VIEW_HOST, "B/sub", false,
     LAYER_BIND},
    {NULL, "/deep/a/b/rel/g", 0, 0, "/deep/a/b/dest/sub/g", S_IFREG, true, VIEW_HOST, "B/sub/g",
     false, LAYER_BIND},
    {"/deep/a/b/dest", "../rel/g", 0, 0, "/deep/a/b/dest/sub/g", S_IFREG, true, VIEW_HOST,
     "B/sub/g", false, LAYER_BIND},
    /* Hidden: absent, though the host has them. */
    {NULL, "/secret", 0, -ENOENT, "/secret", 0, true, VIEW_ABSENT, NULL, false, 0},
    {NULL, "/secret/s", 0, -ENOENT, "/secret/s", 0, false, VIEW_ABSENT, NULL, false, 0},
    {NULL, "/to_secret", F, -ENOENT, "/secret/s", 0, false, VIEW_ABSENT, NULL, false, 0},
    {NULL, "/deep/a/b/dest/private", 0, -ENOENT, "/deep/a/b/dest/private", 0, true, VIEW_ABSENT,
     NULL, false, 0},
    {NULL, "/deep/a/b/dest/to_private", F, -ENOENT, "/deep/a/b/dest/private", 0, true, VIEW_ABSENT,
     NULL, false, 0},
    {NULL, "/deep/a/b/dest/private/x", 0, -ENOENT, "/deep/a/b/dest/private/x", 0, false,
     VIEW_ABSENT, NULL, false, 0},
};

ParameterizedTestParameters(view_resolve, table)
{
	return ROWS(vr_cases);
}

ParameterizedTest(size_t *row, view_resolve, table)
{
	const struct vr_case *c = &vr_cases[*row];
	const char *mode = c->flags & F ? "follow" : "nofollow";
	struct view *v = make_view();
	struct resolution res;
	struct view_target t;
	int ret;

	ret = view_resolve(v, c->base, c->path, c->flags, &res, &t);
	cr_expect_eq(ret, res.error, "%s: returns %d, error %d", c->path, ret, res.error);
	cr_expect_eq(res.error, c->error, "%s (%s): error %d (%s), want %d (%s)", c->path, mode,
		     res.error, strerror(-res.error), c->error, strerror(-c->error));
	if (c->want)
		cr_expect_str_eq(res.path, c->want, "%s (%s)", c->path, mode);
	if (c->error == 0)
		cr_expect_eq(res.type, c->type, "%s (%s): type %#o, want %#o", c->path, mode,
			     res.type, c->type);
	cr_expect_eq(res.parent_exists, c->parent_exists, "%s (%s): parent_exists", c->path, mode);
	if (!c->want)
		goto out;
	cr_expect_eq(t.kind, c->kind, "%s (%s): kind %d, want %d", c->path, mode, t.kind, c->kind);
	if (c->host)
		cr_expect_str_eq(t.host, expand(c->host), "%s (%s)", c->path, mode);
	if (c->kind != VIEW_ABSENT) {
		cr_expect_eq(t.read_only, c->read_only, "%s (%s): read_only", c->path, mode);
		cr_expect_eq(t.layer, c->layer, "%s (%s): layer %d, want %d", c->path, mode,
			     t.layer, c->layer);
	}
out:
	view_free(v);
}

/* Links followed are named by their view paths, declared or on the host, in order. */

static void note_link(void *ctx, const char *path)
{
	struct strbuf *sb = ctx;

	if (sb->len)
		strbuf_addch(sb, ' ');
	strbuf_addstr(sb, path);
}

Test(view_resolve, links_followed_are_view_paths)
{
	static const char *const cases[][3] = {
	    {"/to_lnk", "/etc/conf", "/to_lnk /lnk"},
	    {"/deep/a/b/rel/../out_rel", "/etc/conf", "/deep/a/b/rel /deep/a/b/dest/out_rel"},
	    {"/ro/upup/abs_etc", "/etc/x", "/ro/upup /abs_etc"},
	    {"/etc/x", "/etc/x", ""},
	};
	struct view *v = make_view();
	struct strbuf sb = {0};
	struct view_resolver vr = {.view = v, .link_followed = note_link, .ctx = &sb};
	struct resolution res;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(&sb);
		cr_expect_eq(
		    resolve_path(&view_resolve_ops, &vr, "/", cases[i][0], RESOLVE_FOLLOW, &res), 0,
		    "%s", cases[i][0]);
		cr_expect_str_eq(res.path, cases[i][1], "%s", cases[i][0]);
		cr_expect_str_eq(sb.buf ? sb.buf : "", cases[i][2], "%s", cases[i][0]);
	}
	/* Without a callback, nothing is told. */
	vr.link_followed = NULL;
	strbuf_reset(&sb);
	cr_expect_eq(resolve_path(&view_resolve_ops, &vr, "/", "/to_lnk", RESOLVE_FOLLOW, &res), 0);
	cr_expect_str_eq(sb.buf ? sb.buf : "", "");
	strbuf_release(&sb);
	view_free(v);
}

/* The callbacks themselves, for each kind of view path. */
Test(view_resolve, ops)
{
	struct view *v = make_view();
	struct view_resolver vr = {.view = v};
	char buf[PATH_MAX];

	cr_expect_eq(view_resolve_ops.lookup(&vr, "/"), S_IFDIR);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/etc/x"), S_IFREG);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/abs_etc"), S_IFLNK);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/nowhere"), -ENOENT);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/deep/a"), S_IFDIR);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/deep/a/nothing"), -ENOENT);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/lnk"), S_IFLNK);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/secret"), -ENOENT);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "/dev/null"), S_IFCHR);
	cr_expect_eq(view_resolve_ops.lookup(&vr, "relative"), -EINVAL);

	cr_expect_eq(view_resolve_ops.readlink(&vr, "/abs_etc", buf, sizeof(buf)), 6);
	cr_expect_str_eq(buf, "/etc/x");
	cr_expect_eq(view_resolve_ops.readlink(&vr, "/deep/a/b/dest/out_rel", buf, sizeof(buf)),
		     20);
	cr_expect_str_eq(buf, "../../../../etc/conf");
	cr_expect_eq(view_resolve_ops.readlink(&vr, "/lnk", buf, sizeof(buf)), 9);
	cr_expect_str_eq(buf, "/etc/conf");
	/* A declared target too long for the buffer is not cut. */
	cr_expect_eq(view_resolve_ops.readlink(&vr, "/lnk", buf, 9), -ENAMETOOLONG);
	cr_expect_eq(view_resolve_ops.readlink(&vr, "/etc/x", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(view_resolve_ops.readlink(&vr, "/deep", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(view_resolve_ops.readlink(&vr, "/secret/s", buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(view_resolve_ops.readlink(&vr, "/nowhere", buf, sizeof(buf)), -ENOENT);
	/* link_followed without a callback of the resolver's does nothing. */
	view_resolve_ops.link_followed(&vr, "/lnk");
	view_free(v);
}

Test(view_resolve, empty_and_too_long_paths)
{
	struct view *v = make_view();
	struct resolution res;
	struct view_target t;
	char *path = xmalloc(PATH_MAX + 1);

	memset(&t, 0x55, sizeof(t));
	cr_expect_eq(view_resolve(v, "/", "", 0, &res, &t), -ENOENT);
	cr_expect_eq(t.kind, VIEW_ABSENT);
	cr_expect_str_eq(t.host, "");
	memset(path, 'a', PATH_MAX);
	path[0] = '/';
	path[PATH_MAX] = '\0';
	cr_expect_eq(view_resolve(v, "/", path, 0, &res, &t), -ENAMETOOLONG);
	cr_expect_eq(t.kind, VIEW_ABSENT);
	cr_expect_str_eq(t.host, "");
	free(path);
	view_free(v);
}

/* A hermetic view: "/" is a virtual directory, links in binds still resolve in the view. */
Test(view_resolve, hermetic)
{
	struct view *v = view_new();
	struct resolution res;
	struct view_target t;
	char *err = NULL;

	view_set_hermetic(v);
	add_ok(v, LAYER_BIND, tp("bind"), "/deep/a/b/dest");
	add_ok(v, LAYER_RO_BIND, tp("root/etc"), "/etc");
	cr_assert_eq(view_seal(v, &err), 0, "%s", err ? err : "");
	cr_expect_eq(view_resolve(v, "/", "/", 0, &res, &t), 0);
	cr_expect_eq(res.type, S_IFDIR);
	cr_expect_eq(t.kind, VIEW_VIRTUAL_DIR);
	cr_expect_eq(view_resolve(v, "/", "/deep/a/b/dest/out_abs", F, &res, &t), 0);
	cr_expect_str_eq(res.path, "/etc/x");
	cr_expect_str_eq(t.host, tp("root/etc/x"));
	cr_expect(t.read_only);
	/* The host's "/usr" is not in a hermetic view. */
	cr_expect_eq(view_resolve(v, "/", "/usr", 0, &res, &t), -ENOENT);
	cr_expect_eq(t.kind, VIEW_ABSENT);
	view_free(v);
}

/*
 * Differential test, as root: a child chroot()s into a real tree and opens
 * many paths with O_PATH; view_resolve() over a --root of the same tree
 * must give the same errors, and, where the open succeeds, the same path
 * (the kernel's readlink of /proc/self/fd/N, printed relative to the
 * child's root) and type.
 */

/* What the kernel said of one path, as the child sends it on the pipe. */
struct kernel_answer {
	int error;
	int type;
	int len; /* of the path that follows */
};

static void make_diff_tree(const char *top)
{
	static const char *const dirs[] = {"w", "w/d", "w/d/sub", "w/emptydir", "etc"};
	static const char *const files[] = {"w/f", "w/d/f", "w/d/sub/g", "etc/x"};
	/* target, link: absolute targets mean the chroot's (and the view's) "/". */
	static const char *const links[][2] = {
	    {"d", "w/rl_dir"},
	    {"/w/d", "w/al_dir"},
	    {"d/f", "w/rl_file"},
	    {"/w/f", "w/al_file"},
	    {"/etc/x", "w/etc_x"},
	    {"/etc", "w/etc"},
	    {"../f", "w/d/sub/up"},
	    {"../../f", "w/d/sub/upup"},
	    {"../../rl_dir", "w/d/sub/back"},
	    {".", "w/d/dot"},
	    {"..", "w/dotdot"},
	    {"nowhere", "w/dangling"},
	    {"/w/nowhere/x", "w/dangling_abs"},
	    {"loop2", "w/loop1"},
	    {"loop1", "w/loop2"},
	    {"self", "w/self"},
	    {"rl_dir", "w/chain"},
	    {"d/f/", "w/slashfile"},
	    {"d/", "w/slashdir"},
	    {"/", "w/d/sub/root"},
	    {"/..", "w/d/sub/rootup"},
	    {"../../../../../..", "w/d/sub/far"},
	    {"/../../w/d", "w/far_abs"},
	    {"chain/sub/back/sub", "w/deep"},
	    {"/w/d/sub/../../f", "w/d/sub/dotdotfile"},
	};
	char path[PATH_MAX * 2];

	make_dirs_and_files(top, dirs, sizeof(dirs) / sizeof(dirs[0]), files,
			    sizeof(files) / sizeof(files[0]));
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", top, links[i][1]);
		cr_assert_eq(symlink(links[i][0], path), 0, "%s: %s", path, strerror(errno));
	}
}

/* The paths to compare, NUL-separated in PATHS; their number. */
static size_t diff_paths(struct strbuf *paths)
{
	static const char *const names[] = {
	    "d",       "f",	  "sub",     "g",	  "rl_dir",	"al_dir",
	    "rl_file", "al_file", "etc_x",   "etc",	  "x",		"up",
	    "upup",    "back",	  "dot",     "dotdot",	  "dangling",	"dangling_abs",
	    "loop1",   "self",	  "chain",   "slashfile", "slashdir",	"root",
	    "rootup",  "far",	  "far_abs", "deep",	  "dotdotfile", "w",
	    ".",       "..",	  "nowhere",
	};
	const size_t nn = sizeof(names) / sizeof(names[0]);
	size_t count = 0;

	/* Every path of one to three names; some with slashes and absolute. */
	for (size_t depth = 1; depth <= 3; depth++) {
		size_t total = 1;

		for (size_t i = 0; i < depth; i++)
			total *= nn;
		for (size_t k = 0; k < total; k++) {
			struct strbuf p = {0};
			size_t rest = k;

			for (size_t i = 0; i < depth; i++) {
				strbuf_addf(&p, "%s%s", i ? "/" : "", names[rest % nn]);
				rest /= nn;
			}
			strbuf_add(paths, p.buf, p.len + 1);
			count++;
			if (depth < 3 || k % 5 == 0) {
				static const char *const forms[] = {"%s/", "/w/%s", "/../%s",
								    "%s//"};

				for (size_t j = 0; j < 4; j++) {
					strbuf_addf(paths, forms[j], p.buf);
					strbuf_addch(paths, '\0');
				}
				count += 4;
			}
			strbuf_release(&p);
		}
	}
	return count;
}

/* The child: chroot into TOP, answer for each path with and without following. */
static void kernel_child(const char *top, const char *paths, size_t count, int out)
{
	FILE *f = fdopen(out, "w");
	int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (!f || proc < 0)
		_exit(2);
	if (chroot(top) < 0)
		_exit(errno == EPERM ? 3 : 2);
	if (chdir("/w") < 0)
		_exit(2);
	for (size_t i = 0; i < count; i++, paths += strlen(paths) + 1) {
		for (int follow = 0; follow < 2; follow++) {
			struct kernel_answer a = {0};
			char kpath[PATH_MAX] = "", link[64];
			struct stat st;
			int fd = open(paths, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));

			if (fd < 0) {
				a.error = -errno;
			} else {
				ssize_t n;

				snprintf(link, sizeof(link), "self/fd/%d", fd);
				n = readlinkat(proc, link, kpath, sizeof(kpath) - 1);
				if (n < 0 || fstat(fd, &st) < 0)
					_exit(2);
				kpath[n] = '\0';
				a.type = st.st_mode & S_IFMT;
				a.len = n;
				close(fd);
			}
			if (fwrite(&a, sizeof(a), 1, f) != 1 ||
			    (a.len && fwrite(kpath, a.len, 1, f) != 1))
				_exit(2);
		}
	}
	if (fclose(f) != 0)
		_exit(2);
	_exit(0);
}

/* One more difference; the first 20 are described in MSGS. */
#define MISMATCH(...)                                                                              \
	do {                                                                                       \
		if (++failures <= 20) {                                                            \
			strbuf_addf(&msgs, __VA_ARGS__);                                           \
			strbuf_addch(&msgs, '\n');                                                 \
		}                                                                                  \
	} while (0)

Test(view_resolve, agrees_with_the_kernel_in_a_chroot)
{
	char top[PATH_MAX + 8], *err = NULL;
	struct strbuf paths = {0}, msgs = {0};
	size_t count, checked = 0;
	int failures = 0, pipefd[2], status;
	const char *p;
	struct view *v;
	FILE *in;
	pid_t pid;

	/* A skipped test runs no .fini: the tree goes first. */
	if (geteuid() != 0) {
		remove_tree();
		cr_skip_test("chroot needs root");
	}
	/* In T, removed with it. */
	snprintf(top, sizeof(top), "%s/chroot", T);
	cr_assert_eq(mkdir(top, 0755), 0);
	make_diff_tree(top);
	v = view_new();
	cr_assert_eq(view_set_root(v, top, &err), 0, "%s", err ? err : "");
	cr_assert_eq(view_seal(v, &err), 0, "%s", err ? err : "");
	count = diff_paths(&paths);

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		kernel_child(top, paths.buf, count, pipefd[1]);
	}
	close(pipefd[1]);
	in = fdopen(pipefd[0], "r");
	cr_assert_not_null(in);

	p = paths.buf;
	for (size_t i = 0; i < count; i++, p += strlen(p) + 1) {
		for (int follow = 0; follow < 2; follow++) {
			const char *mode = follow ? "follow" : "nofollow";
			struct kernel_answer a;
			char kpath[PATH_MAX] = "", host[PATH_MAX * 2];
			struct resolution res;
			struct view_target t;

			if (fread(&a, sizeof(a), 1, in) != 1)
				goto done;
			if (a.len < 0 || a.len >= PATH_MAX ||
			    (a.len && fread(kpath, a.len, 1, in) != 1))
				goto done;
			kpath[a.len] = '\0';
			checked++;
			view_resolve(v, "/w", p, follow ? RESOLVE_FOLLOW : 0, &res, &t);
			if (res.error != a.error) {
				MISMATCH("%s (%s): view_resolve error %d (%s), kernel %d (%s)", p,
					 mode, res.error, strerror(-res.error), a.error,
					 strerror(-a.error));
				continue;
			}
			if (a.error)
				continue;
			if (strcmp(res.path, kpath) != 0)
				MISMATCH("%s (%s): view_resolve reached %s, kernel %s", p, mode,
					 res.path, kpath);
			if (res.type != a.type)
				MISMATCH("%s (%s): type %#o, kernel %#o", p, mode, res.type,
					 a.type);
			snprintf(host, sizeof(host), "%s%s", top, strcmp(kpath, "/") ? kpath : "");
			if (t.kind != VIEW_HOST || strcmp(t.host, host) != 0 || !t.read_only)
				MISMATCH("%s (%s): target %d %s%s, want the host's %s", p, mode,
					 t.kind, t.host, t.read_only ? "" : " (writable)", host);
		}
	}
done:
	fclose(in);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		remove_tree();
		cr_skip_test("chroot is not permitted here");
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the chrooted child failed: %#x",
		  status);
	cr_expect_eq(checked, count * 2, "%zu answers of %zu", checked, count * 2);
	cr_expect_eq(failures, 0, "%d of %zu lookups differ from the kernel:\n%s", failures,
		     checked, msgs.buf ? msgs.buf : "");
	cr_expect_gt(checked, 40000);
	strbuf_release(&msgs);
	strbuf_release(&paths);
	view_free(v);
}

#undef MISMATCH
