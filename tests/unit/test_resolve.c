// SPDX-License-Identifier: MIT
/*
 * Path resolution: lexical joins, "below" checks, resolve_path() against a
 * small in-memory file system, and resolve_path() over the host's file
 * system compared with what the kernel itself resolves.
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
#include <unistd.h>

#include "rows.h"
#include "tree.h"
#include "ptvfs/resolve.h"
#include "ptvfs/util.h"

/* path_join_lexical */

struct join_case {
	const char *base;
	const char *rel;
	const char *want;
};

static const struct join_case join_cases[] = {
    {"/a/b", "c", "/a/b/c"},
    {"/a/b", "../c", "/a/c"},
    {"/a/b", "../../../c", "/c"},
    {"/a/b", "./././", "/a/b"},
    {"/a/b", "", "/a/b"},
    {"/a/b", "/x/y", "/x/y"},
    {"/a/b", "//x//y//", "/x/y"},
    {"/", "a", "/a"},
    {"/", "..", "/"},
    {"/", "../..", "/"},
    {"/", "", "/"},
    {"/a//b/", "c/", "/a/b/c"},
    {"/a/./b/../c", "d", "/a/c/d"},
    {"/a", "b/../../../", "/"},
    /* Names that only look like "." and "..". */
    {"/a", "...", "/a/..."},
    {"/a", ".hidden/..x/x..", "/a/.hidden/..x/x.."},
    {NULL, "a/b", "/a/b"},
    {NULL, "../a", "/a"},
    {"/a/b", NULL, "/a/b"},
    {NULL, NULL, "/"},
};

ParameterizedTestParameters(path_join_lexical, table)
{
	return ROWS(join_cases);
}

ParameterizedTest(size_t *row, path_join_lexical, table)
{
	const struct join_case *c = &join_cases[*row];
	char out[PATH_MAX];

	cr_assert_eq(path_join_lexical(c->base, c->rel, out), 0, "%s + %s", c->base, c->rel);
	cr_expect_str_eq(out, c->want, "%s + %s", c->base, c->rel);
}

Test(path_join_lexical, name_too_long)
{
	char base[PATH_MAX], rel[PATH_MAX + 1], out[PATH_MAX];

	/* "/" + 4092 'a' + "/" + "b": 4095 bytes, the longest path there is. */
	base[0] = '/';
	memset(base + 1, 'a', PATH_MAX - 4);
	base[PATH_MAX - 3] = '\0';
	cr_assert_eq(path_join_lexical(base, "b", out), 0);
	cr_expect_eq(strlen(out), PATH_MAX - 1);
	cr_expect_eq(path_join_lexical(base, "bc", out), -ENAMETOOLONG);
	/* ".." makes room again. */
	cr_expect_eq(path_join_lexical(base, "../bc", out), 0);
	cr_expect_str_eq(out, "/bc");
	/* An absolute REL replaces BASE: its own length counts. */
	rel[0] = '/';
	memset(rel + 1, 'r', PATH_MAX - 1);
	rel[PATH_MAX] = '\0';
	cr_expect_eq(path_join_lexical("/x", rel, out), -ENAMETOOLONG);
	rel[PATH_MAX - 1] = '\0';
	cr_expect_eq(path_join_lexical("/x", rel, out), 0);
	cr_expect_eq(strlen(out), PATH_MAX - 1);
	/* A relative one is added to BASE: "/x" + "/" + 4092 'r' is 4095 bytes. */
	rel[PATH_MAX - 4 + 1] = '\0';
	cr_expect_eq(path_join_lexical("/x", rel + 1, out), 0);
	cr_expect_eq(strlen(out), PATH_MAX - 1);
	rel[PATH_MAX - 4 + 1] = 'r';
	rel[PATH_MAX - 3 + 1] = '\0';
	cr_expect_eq(path_join_lexical("/x", rel + 1, out), -ENAMETOOLONG);
}

/* path_is_below */

struct below_case {
	const char *path;
	const char *dir;
	bool below;
};

static const struct below_case below_cases[] = {
    {"/a/b", "/a", true},	{"/a", "/a", true},	    {"/a/b/c", "/a/b", true},
    {"/", "/", true},		{"/x/y", "/", true},	    {"/ab", "/a", false},
    {"/a-b", "/a", false},	{"/a.b/c", "/a", false},    {"/a", "/a/b", false},
    {"/", "/a", false},		{"/a/bc/d", "/a/b", false}, {"/usr/include", "/usr", true},
    {"/usr2/x", "/usr", false},
};

ParameterizedTestParameters(path_is_below, table)
{
	return ROWS(below_cases);
}

ParameterizedTest(size_t *row, path_is_below, table)
{
	const struct below_case *c = &below_cases[*row];

	cr_expect_eq(path_is_below(c->path, c->dir), c->below, "%s below %s", c->path, c->dir);
}

/*
 * An in-memory file system. /n/K (K < 50) is a link to "K+1", /n/50 a
 * directory: from /n/K, 50-K links lead to a directory.
 */

#define ERR_NODE(err) (-(err)) /* a node whose lookup fails with ERR */

struct fake_node {
	const char *path;
	int type;
	const char *target;
};

static const struct fake_node fake_nodes[] = {
    {"/", S_IFDIR, NULL},
    {"/a", S_IFDIR, NULL},
    {"/a/b", S_IFDIR, NULL},
    {"/a/b/file", S_IFREG, NULL},
    {"/a/file", S_IFREG, NULL},
    {"/etc", S_IFDIR, NULL},
    {"/etc/passwd", S_IFREG, NULL},
    {"/n", S_IFDIR, NULL},
    {"/abs", S_IFLNK, "/a/b"},
    {"/a/rel", S_IFLNK, "b"},
    {"/a/b/up", S_IFLNK, "../file"},
    {"/a/b/dotdot", S_IFLNK, ".."},
    {"/a/tofile", S_IFLNK, "file"},
    {"/a/todir_slash", S_IFLNK, "b/"},
    {"/a/tofile_slash", S_IFLNK, "file/"},
    {"/chain1", S_IFLNK, "chain2"},
    {"/chain2", S_IFLNK, "/a/rel"},
    {"/dangling", S_IFLNK, "/nowhere"},
    {"/dangling_rel", S_IFLNK, "a/missing/x"},
    {"/loop", S_IFLNK, "loop"},
    {"/ping", S_IFLNK, "pong"},
    {"/pong", S_IFLNK, "/ping"},
    {"/empty", S_IFLNK, ""},
    {"/magic", RESOLVE_TYPE_OPAQUE, NULL},
    {"/magic/inside", S_IFREG, NULL},
    {"/locked", S_IFDIR, NULL},
    {"/locked/x", ERR_NODE(EACCES), NULL},
};

#define CHAIN_END 50

struct fake_fs {
	int followed;
	char followed_paths[64][64];
};

/* The /n/K chain: K, or -1 when PATH is not in it. */
static int chain_index(const char *path)
{
	char *end;
	long k;

	if (strncmp(path, "/n/", 3) != 0 || !path[3])
		return -1;
	k = strtol(path + 3, &end, 10);
	if (*end || k < 0 || k > CHAIN_END)
		return -1;
	return (int)k;
}

static const struct fake_node *fake_find(const char *path)
{
	for (size_t i = 0; i < sizeof(fake_nodes) / sizeof(fake_nodes[0]); i++)
		if (strcmp(fake_nodes[i].path, path) == 0)
			return &fake_nodes[i];
	return NULL;
}

static int fake_lookup(void *ctx, const char *path)
{
	const struct fake_node *node = fake_find(path);
	int k = chain_index(path);

	(void)ctx;
	cr_assert_eq(path[0], '/', "lookup of a relative path: %s", path);
	if (k >= 0)
		return k == CHAIN_END ? S_IFDIR : S_IFLNK;
	if (!node)
		return -ENOENT;
	return node->type;
}

static ssize_t fake_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	const struct fake_node *node = fake_find(path);
	int k = chain_index(path);

	(void)ctx;
	if (k >= 0 && k < CHAIN_END)
		return snprintf(buf, size, "%d", k + 1);
	if (!node)
		return -ENOENT;
	if (node->type != S_IFLNK)
		return -EINVAL;
	return snprintf(buf, size, "%s", node->target);
}

static void fake_link_followed(void *ctx, const char *path)
{
	struct fake_fs *fs = ctx;

	if (fs->followed < 64)
		snprintf(fs->followed_paths[fs->followed], sizeof(fs->followed_paths[0]), "%s",
			 path);
	fs->followed++;
}

static const struct resolve_ops fake_ops = {
    .lookup = fake_lookup,
    .readlink = fake_readlink,
    .link_followed = fake_link_followed,
};

#define F RESOLVE_FOLLOW

struct resolve_case {
	const char *base;
	const char *path;
	unsigned flags;
	int error;
	const char *want; /* the path reached, NULL: not checked */
	int type;
	bool parent_exists;
	int links; /* link_followed calls */
};

/* base, path, flags: error, path reached, type, parent exists, links followed */
static const struct resolve_case resolve_cases[] = {
    /* Plain walks. */
    {NULL, "/a/b/file", 0, 0, "/a/b/file", S_IFREG, true, 0},
    {NULL, "/", 0, 0, "/", S_IFDIR, true, 0},
    {"/a", "b/file", 0, 0, "/a/b/file", S_IFREG, true, 0},
    {"/a", "./b/./file", 0, 0, "/a/b/file", S_IFREG, true, 0},
    {"/", "a/b", 0, 0, "/a/b", S_IFDIR, true, 0},
    {NULL, "a/b", 0, 0, "/a/b", S_IFDIR, true, 0},
    {"/a", "/etc/passwd", 0, 0, "/etc/passwd", S_IFREG, true, 0},
    {"/a", "../etc/passwd", 0, 0, "/etc/passwd", S_IFREG, true, 0},
    {"/a/b", ".", 0, 0, "/a/b", S_IFDIR, true, 0},
    {"/a/b", "..", 0, 0, "/a", S_IFDIR, true, 0},
    /* ".." at the root stays there. */
    {"/a/b", "../../../..", 0, 0, "/", S_IFDIR, true, 0},
    {NULL, "/../..", 0, 0, "/", S_IFDIR, true, 0},
    {NULL, "/../a/./b/..", 0, 0, "/a", S_IFDIR, true, 0},
    {NULL, "//a///b//file", 0, 0, "/a/b/file", S_IFREG, true, 0},
    /* Trailing slashes. */
    {NULL, "/a/b/", 0, 0, "/a/b", S_IFDIR, true, 0},
    {NULL, "/a/b//", 0, 0, "/a/b", S_IFDIR, true, 0},
    {NULL, "/a/file/", 0, -ENOTDIR, "/a/file", S_IFREG, true, 0},
    {NULL, "/a/file/", F, -ENOTDIR, "/a/file", S_IFREG, true, 0},
    {NULL, "/a/file/.", 0, -ENOTDIR, NULL, 0, false, 0},
    {NULL, "/abs/", 0, 0, "/a/b", S_IFDIR, true, 1},
    {NULL, "/a/tofile/", 0, -ENOTDIR, "/a/file", S_IFREG, true, 1},
    /* Links: absolute and relative targets, final ones only with FOLLOW. */
    {NULL, "/abs", 0, 0, "/abs", S_IFLNK, true, 0},
    {NULL, "/abs", F, 0, "/a/b", S_IFDIR, true, 1},
    {NULL, "/abs/file", 0, 0, "/a/b/file", S_IFREG, true, 1},
    {NULL, "/a/rel/file", 0, 0, "/a/b/file", S_IFREG, true, 1},
    {"/a", "rel/file", 0, 0, "/a/b/file", S_IFREG, true, 1},
    {NULL, "/a/b/up", 0, 0, "/a/b/up", S_IFLNK, true, 0},
    {NULL, "/a/b/up", F, 0, "/a/file", S_IFREG, true, 1},
    {NULL, "/a/tofile", F, 0, "/a/file", S_IFREG, true, 1},
    {NULL, "/a/todir_slash", F, 0, "/a/b", S_IFDIR, true, 1},
    {NULL, "/a/todir_slash/file", 0, 0, "/a/b/file", S_IFREG, true, 1},
    /* A target ending in "/" must be a directory, as the kernel has it. */
    {NULL, "/a/tofile_slash", F, -ENOTDIR, "/a/file", S_IFREG, true, 1},
    {NULL, "/a/tofile_slash/", 0, -ENOTDIR, "/a/file", S_IFREG, true, 1},
    {NULL, "/a/tofile_slash", 0, 0, "/a/tofile_slash", S_IFLNK, true, 0},
    /* ".." applies to the directory a link led to, not to the text. */
    {NULL, "/abs/../file", 0, 0, "/a/file", S_IFREG, true, 1},
    {NULL, "/a/rel/..", 0, 0, "/a", S_IFDIR, true, 1},
    {NULL, "/a/b/dotdot/file", 0, 0, "/a/file", S_IFREG, true, 1},
    /* Chains. */
    {NULL, "/chain1/file", 0, 0, "/a/b/file", S_IFREG, true, 3},
    {NULL, "/chain1", F, 0, "/a/b", S_IFDIR, true, 3},
    {NULL, "/chain1", 0, 0, "/chain1", S_IFLNK, true, 0},
    {NULL, "/n/40/../45", 0, 0, "/n/45", S_IFLNK, true, 10},
    /* 40 links are fine, the 41st is ELOOP. */
    {NULL, "/n/10", F, 0, "/n/50", S_IFDIR, true, 40},
    {NULL, "/n/10/", 0, 0, "/n/50", S_IFDIR, true, 40},
    {NULL, "/n/9", F, -ELOOP, NULL, 0, false, 40},
    {NULL, "/n/9/", 0, -ELOOP, NULL, 0, false, 40},
    {NULL, "/n/9", 0, 0, "/n/9", S_IFLNK, true, 0},
    {NULL, "/loop", F, -ELOOP, NULL, 0, false, 40},
    {NULL, "/loop/x", 0, -ELOOP, NULL, 0, false, 40},
    {NULL, "/loop", 0, 0, "/loop", S_IFLNK, true, 0},
    {NULL, "/ping", F, -ELOOP, NULL, 0, false, 40},
    /* Dangling links. */
    {NULL, "/dangling", F, -ENOENT, "/nowhere", 0, true, 1},
    {NULL, "/dangling/", 0, -ENOENT, "/nowhere", 0, true, 1},
    {NULL, "/dangling", 0, 0, "/dangling", S_IFLNK, true, 0},
    {NULL, "/dangling_rel", F, -ENOENT, "/a/missing/x", 0, false, 1},
    {NULL, "/empty", F, -ENOENT, NULL, 0, false, 1},
    /* Below a file. */
    {NULL, "/a/file/x", 0, -ENOTDIR, "/a/file/x", 0, false, 0},
    {NULL, "/a/file/x/y", F, -ENOTDIR, "/a/file/x/y", 0, false, 0},
    {NULL, "/a/tofile/x", 0, -ENOTDIR, "/a/file/x", 0, false, 1},
    /* Missing: the whole path asked for is named. */
    {NULL, "/a/missing", 0, -ENOENT, "/a/missing", 0, true, 0},
    {NULL, "/a/missing", F, -ENOENT, "/a/missing", 0, true, 0},
    {NULL, "/a/missing/", 0, -ENOENT, "/a/missing", 0, true, 0},
    {NULL, "/a/missing/x/y", 0, -ENOENT, "/a/missing/x/y", 0, false, 0},
    {"/a/b", "missing/x", 0, -ENOENT, "/a/b/missing/x", 0, false, 0},
    {NULL, "/abs/missing", 0, -ENOENT, "/a/b/missing", 0, true, 1},
    {NULL, "/abs/missing/x", 0, -ENOENT, "/a/b/missing/x", 0, false, 1},
    {NULL, "/nowhere/..", 0, -ENOENT, NULL, 0, false, 0},
    {NULL, "", 0, -ENOENT, NULL, 0, false, 0},
    {"/a", "", F, -ENOENT, NULL, 0, false, 0},
    /* Other errors pass through. */
    {NULL, "/locked/x", 0, -EACCES, "/locked/x", 0, false, 0},
    {NULL, "/locked/x/y", 0, -EACCES, "/locked/x/y", 0, false, 0},
    /* Magic links: the rest is taken as written. */
    {NULL, "/magic", 0, 0, "/magic", RESOLVE_TYPE_OPAQUE, true, 0},
    {NULL, "/magic/x/../inside", 0, 0, "/magic/inside", S_IFREG, true, 0},
    {NULL, "/magic/absent", 0, -ENOENT, "/magic/absent", 0, true, 0},
};

ParameterizedTestParameters(resolve_fake, table)
{
	return ROWS(resolve_cases);
}

ParameterizedTest(size_t *row, resolve_fake, table)
{
	const struct resolve_case *c = &resolve_cases[*row];
	struct fake_fs fs = {0};
	struct resolution res;
	int err;

	memset(&res, 0x5a, sizeof(res));
	err = resolve_path(&fake_ops, &fs, c->base, c->path, c->flags, &res);
	cr_expect_eq(err, res.error, "%s: returned %d, error %d", c->path, err, res.error);
	cr_expect_eq(res.error, c->error, "%s (base %s, flags %u): error %d (%s), want %d (%s)",
		     c->path, c->base, c->flags, res.error, strerror(-res.error), c->error,
		     strerror(-c->error));
	if (c->want)
		cr_expect_str_eq(res.path, c->want, "%s (base %s, flags %u)", c->path, c->base,
				 c->flags);
	if (c->error == 0 || c->type)
		cr_expect_eq(res.type, c->type, "%s: type %#o, want %#o", c->path, res.type,
			     c->type);
	else
		cr_expect_eq(res.type, 0, "%s: type %#o of a failed lookup", c->path, res.type);
	cr_expect_eq(res.parent_exists, c->parent_exists, "%s: parent_exists", c->path);
	cr_expect_eq(fs.followed, c->links, "%s: %d links followed, want %d", c->path, fs.followed,
		     c->links);
}

Test(resolve_fake, links_followed_are_named)
{
	struct fake_fs fs = {0};
	struct resolution res;

	cr_assert_eq(resolve_path(&fake_ops, &fs, NULL, "/chain1/file", 0, &res), 0);
	cr_assert_eq(fs.followed, 3);
	cr_expect_str_eq(fs.followed_paths[0], "/chain1");
	cr_expect_str_eq(fs.followed_paths[1], "/chain2");
	cr_expect_str_eq(fs.followed_paths[2], "/a/rel");

	memset(&fs, 0, sizeof(fs));
	cr_assert_eq(resolve_path(&fake_ops, &fs, "/a", "b/up", RESOLVE_FOLLOW, &res), 0);
	cr_assert_eq(fs.followed, 1);
	cr_expect_str_eq(fs.followed_paths[0], "/a/b/up");

	/* A link not followed is not named. */
	memset(&fs, 0, sizeof(fs));
	cr_assert_eq(resolve_path(&fake_ops, &fs, NULL, "/abs", 0, &res), 0);
	cr_expect_eq(fs.followed, 0);
}

Test(resolve_fake, link_followed_may_be_null)
{
	struct resolve_ops ops = fake_ops;
	struct fake_fs fs = {0};
	struct resolution res;

	ops.link_followed = NULL;
	cr_assert_eq(resolve_path(&ops, &fs, NULL, "/chain1/file", 0, &res), 0);
	cr_expect_str_eq(res.path, "/a/b/file");
}

Test(resolve_fake, trailing_slash_is_reported)
{
	struct fake_fs fs = {0};
	struct resolution res;

	resolve_path(&fake_ops, &fs, NULL, "/a/b/", 0, &res);
	cr_expect(res.trailing_slash);
	resolve_path(&fake_ops, &fs, NULL, "/a/new//", 0, &res);
	cr_expect(res.trailing_slash);
	cr_expect_eq(res.error, -ENOENT);
	cr_expect(res.parent_exists);
	resolve_path(&fake_ops, &fs, NULL, "/a/b", 0, &res);
	cr_expect_not(res.trailing_slash);
	resolve_path(&fake_ops, &fs, NULL, "/abs/", 0, &res);
	cr_expect(res.trailing_slash);
}

Test(resolve_fake, name_max)
{
	struct fake_fs fs = {0};
	struct resolution res;
	char path[PATH_MAX];

	strcpy(path, "/a/");
	memset(path + 3, 'x', NAME_MAX);
	path[3 + NAME_MAX] = '\0';
	cr_expect_eq(resolve_path(&fake_ops, &fs, NULL, path, 0, &res), -ENOENT);
	cr_expect(res.parent_exists);
	path[3 + NAME_MAX] = 'x';
	path[4 + NAME_MAX] = '\0';
	cr_expect_eq(resolve_path(&fake_ops, &fs, NULL, path, 0, &res), -ENAMETOOLONG);
	/* Too long in the middle too. */
	strcpy(path + 4 + NAME_MAX, "/y");
	cr_expect_eq(resolve_path(&fake_ops, &fs, NULL, path, 0, &res), -ENAMETOOLONG);
	/* As a relative path. */
	cr_expect_eq(resolve_path(&fake_ops, &fs, "/a", path + 3, 0, &res), -ENAMETOOLONG);
}

Test(resolve_fake, path_max)
{
	struct fake_fs fs = {0};
	struct resolution res;
	char path[PATH_MAX + 8];
	size_t n = 0;

	/* "/" + "./" x 2043 + "a/b/file": 4095 bytes, resolved. */
	path[n++] = '/';
	while (n + 2 + strlen("a/b/file") <= PATH_MAX - 1) {
		path[n++] = '.';
		path[n++] = '/';
	}
	strcpy(path + n, "a/b/file");
	cr_assert_eq(strlen(path), PATH_MAX - 1);
	cr_expect_eq(resolve_path(&fake_ops, &fs, NULL, path, 0, &res), 0);
	cr_expect_str_eq(res.path, "/a/b/file");
	/* One byte more: the kernel's ENAMETOOLONG. */
	memmove(path + 1, path, strlen(path) + 1);
	cr_assert_eq(strlen(path), PATH_MAX);
	cr_expect_eq(resolve_path(&fake_ops, &fs, NULL, path, 0, &res), -ENAMETOOLONG);
	cr_expect_eq(res.error, -ENAMETOOLONG);
	/* Relative: the limit is on the path given, not on the base joined to it. */
	cr_expect_eq(resolve_path(&fake_ops, &fs, "/a/b", path + 2, 0, &res), -ENOENT);
	cr_expect_str_eq(res.path, "/a/b/a/b/file");
	path[0] = '.';
	cr_assert_eq(strlen(path), PATH_MAX);
	cr_expect_eq(resolve_path(&fake_ops, &fs, "/a/b", path, 0, &res), -ENAMETOOLONG);
}

/*
 * Differential test: a real tree, resolved by resolve_path() over lstat and
 * readlink, and by the kernel (open with O_PATH, /proc/self/fd, realpath).
 */

static char tree_top[PATH_MAX];	     /* canonical temporary directory */
static char tree_base[PATH_MAX + 8]; /* TOP/w, where the paths start */

static int host_lookup(void *ctx, const char *path)
{
	struct stat st;

	(void)ctx;
	if (lstat(path, &st) < 0)
		return -errno;
	return st.st_mode & S_IFMT;
}

static ssize_t host_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	ssize_t n;

	(void)ctx;
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static const struct resolve_ops host_ops = {
    .lookup = host_lookup,
    .readlink = host_readlink,
};

static void make_tree(void)
{
	static const char *const dirs[] = {"w", "w/d", "w/d/sub", "w/emptydir"};
	static const char *const files[] = {"w/f", "w/d/f", "w/d/sub/g"};
	/* link, target; "@" stands for the tree's top directory. */
	static const char *const links[][2] = {
	    {"w/rl_dir", "d"},
	    {"w/al_dir", "@/w/d"},
	    {"w/rl_file", "d/f"},
	    {"w/al_file", "@/w/f"},
	    {"w/d/sub/up", "../f"},
	    {"w/d/sub/upup", "../../f"},
	    {"w/d/sub/back", "../../rl_dir"},
	    {"w/d/dot", "."},
	    {"w/dotdot", ".."},
	    {"w/dangling", "nowhere"},
	    {"w/dangling_abs", "@/w/nowhere/x"},
	    {"w/loop1", "loop2"},
	    {"w/loop2", "loop1"},
	    {"w/self", "self"},
	    {"w/chain", "rl_dir"},
	    {"w/slashfile", "d/f/"},
	    {"w/slashdir", "d/"},
	    {"w/d/sub/root", "/"},
	    {"w/deep", "chain/sub/back/sub"},
	    {"w/dotslash", "./"},
	    {"w/d/sub/dotdotfile", "../../d/sub/../f"},
	};
	char tmpl[] = "/tmp/ptvfs-resolve-XXXXXX";
	char path[PATH_MAX * 2], target[PATH_MAX * 2];

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, tree_top));
	snprintf(tree_base, sizeof(tree_base), "%s/w", tree_top);
	make_dirs_and_files(tree_top, dirs, sizeof(dirs) / sizeof(dirs[0]), files,
			    sizeof(files) / sizeof(files[0]));
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tree_top, links[i][0]);
		if (links[i][1][0] == '@')
			snprintf(target, sizeof(target), "%s%s", tree_top, links[i][1] + 1);
		else
			snprintf(target, sizeof(target), "%s", links[i][1]);
		cr_assert_eq(symlink(target, path), 0, "%s: %s", path, strerror(errno));
	}
}

static void remove_tree(void)
{
	remove_tree_at(tree_top);
}

struct diff_state {
	int base_fd;
	int checked;
	int failures;
	struct strbuf msgs;
};

__attribute__((format(printf, 2, 3))) static void mismatch(struct diff_state *st, const char *fmt,
							   ...)
{
	va_list ap;
	char line[PATH_MAX + 256];

	st->failures++;
	if (st->failures > 20)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	strbuf_addstr(&st->msgs, line);
	strbuf_addch(&st->msgs, '\n');
}

/* Compare resolve_path() of PATH (from BASE) with the kernel's open of the same path. */
static void compare_one(struct diff_state *st, const char *path, unsigned flags)
{
	const char *mode = flags & RESOLVE_FOLLOW ? "follow" : "nofollow";
	int oflags = O_PATH | O_CLOEXEC | (flags & RESOLVE_FOLLOW ? 0 : O_NOFOLLOW);
	struct resolution res;
	int fd, kerr;

	resolve_path(&host_ops, NULL, tree_base, path, flags, &res);
	st->checked++;
	fd = openat(st->base_fd, path, oflags);
	kerr = fd < 0 ? -errno : 0;
	if (res.error != kerr) {
		mismatch(st, "%s (%s): resolve_path error %d (%s), kernel %d (%s)", path, mode,
			 res.error, strerror(-res.error), kerr, strerror(-kerr));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fd < 0) {
		/* The parent of a missing last component is a directory. */
		if (res.error == -ENOENT && res.parent_exists) {
			char parent[PATH_MAX];
			struct stat sb;
			char *slash;

			snprintf(parent, sizeof(parent), "%s", res.path);
			slash = strrchr(parent, '/');
			if (!slash)
				mismatch(st, "%s (%s): missing path %s is not absolute", path, mode,
					 res.path);
			else if (slash == parent)
				slash[1] = '\0';
			else
				*slash = '\0';
			if (slash && (stat(parent, &sb) < 0 || !S_ISDIR(sb.st_mode)))
				mismatch(st, "%s (%s): parent_exists, but %s is not a directory",
					 path, mode, parent);
		}
		return;
	}

	char proc[64], kpath[PATH_MAX];
	struct stat sb;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, kpath, sizeof(kpath) - 1);
	cr_assert_gt(n, 0);
	kpath[n] = '\0';
	if (strcmp(res.path, kpath) != 0)
		mismatch(st, "%s (%s): resolve_path reached %s, kernel %s", path, mode, res.path,
			 kpath);
	cr_assert_eq(fstat(fd, &sb), 0);
	if (res.type != (int)(sb.st_mode & S_IFMT))
		mismatch(st, "%s (%s): type %#o, kernel %#o", path, mode, res.type,
			 sb.st_mode & S_IFMT);
	if (!res.parent_exists)
		mismatch(st, "%s (%s): exists, but not its parent", path, mode);
	close(fd);

	/* lstat and stat agree too, and realpath(3) for a followed path. */
	if (fstatat(st->base_fd, path, &sb, flags & RESOLVE_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		mismatch(st, "%s (%s): open succeeds, stat fails: %s", path, mode, strerror(errno));
	else if (res.type != (int)(sb.st_mode & S_IFMT))
		mismatch(st, "%s (%s): type %#o, stat %#o", path, mode, res.type,
			 sb.st_mode & S_IFMT);
	if (flags & RESOLVE_FOLLOW) {
		char full[PATH_MAX * 2], real[PATH_MAX];

		snprintf(full, sizeof(full), "%s/%s", tree_base, path);
		if (realpath(full, real) && strcmp(real, res.path) != 0)
			mismatch(st, "%s: resolve_path reached %s, realpath %s", path, res.path,
				 real);
	}
}

static void compare_both(struct diff_state *st, const char *path)
{
	compare_one(st, path, 0);
	compare_one(st, path, RESOLVE_FOLLOW);
}

Test(resolve_host, agrees_with_the_kernel, .fini = remove_tree)
{
	static const char *const names[] = {
	    "d",	  "f",	      "sub",	      "g",	 "rl_dir", "al_dir",
	    "rl_file",	  "al_file",  "up",	      "upup",	 "back",   "dot",
	    "dotdot",	  "dangling", "dangling_abs", "loop1",	 "self",   "chain",
	    "slashfile",  "slashdir", "root",	      "deep",	 "w",	   "dotslash",
	    "dotdotfile", ".",	      "..",	      "nowhere",
	};
	const size_t nn = sizeof(names) / sizeof(names[0]);
	struct diff_state st = {0};
	char path[PATH_MAX];

	make_tree();
	st.base_fd = open(tree_base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(st.base_fd, 0);

	compare_both(&st, "");
	/* Every path of one to three names, with and without a trailing slash. */
	for (size_t depth = 1; depth <= 3; depth++) {
		size_t total = 1;

		for (size_t i = 0; i < depth; i++)
			total *= nn;
		for (size_t k = 0; k < total; k++) {
			size_t rest = k, len = 0;

			for (size_t i = 0; i < depth; i++) {
				len += snprintf(path + len, sizeof(path) - len, "%s%s",
						i ? "/" : "", names[rest % nn]);
				rest /= nn;
			}
			compare_both(&st, path);
			/* Slashes: trailing, doubled, and absolute forms of some. */
			if (depth < 3 || k % 7 == 0) {
				char other[PATH_MAX * 2 + 16];

				snprintf(other, sizeof(other), "%s/", path);
				compare_both(&st, other);
				snprintf(other, sizeof(other), "%s/%s", tree_base, path);
				compare_both(&st, other);
				snprintf(other, sizeof(other), "%s//", path);
				compare_both(&st, other);
			}
		}
	}
	close(st.base_fd);
	cr_expect_eq(st.failures, 0, "%d of %d lookups differ from the kernel:\n%s", st.failures,
		     st.checked, st.msgs.buf ? st.msgs.buf : "");
	cr_expect_gt(st.checked, 40000);
	strbuf_release(&st.msgs);
}
