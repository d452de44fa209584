// SPDX-License-Identifier: MIT
/*
 * The layer table: precedence of declarations, virtual directories, --hide,
 * --symlink, --tmpfs, read-only layers, --root and --hermetic with the
 * host's /dev, /proc and /sys, manifests (format and every broken line),
 * listings, the sealed image's independence of where it lies, and a
 * manifest of 100,000 inputs. Host sources live in a temporary directory.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* The host tree: T (its realpath) holds the sources of every test. */
static char T[PATH_MAX];

static const char *const tree_files[] = {
    "src/a.c",	"src/b.h",  "src/sub/c.h",	 "src/a#b",	  "lib/x.so",
    "lib/y.so", "file.txt", "root/usr/bin/tool", "root/etc/conf", "tmpdir/.keep",
};

/* T/REL, in one of a few rotating buffers. */
/* What view_input_path makes a path in. */
static char pathbuf[PATH_MAX];

static const char *tp(const char *rel)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];

	size_t n = strlen(T);

	memcpy(b, T, n);
	b[n] = '/';
	memcpy(b + n + 1, rel, strlen(rel) + 1);
	return b;
}

static void make_parents(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *s = dir + strlen(T) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(dir, 0755);
		*s = '/';
	}
}

static void touch(const char *path)
{
	int fd;

	make_parents(path);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0, "create %s", path);
	close(fd);
}

static void make_tree(void)
{
	char tmpl[] = "/tmp/ptvfs-view-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, T));
	for (size_t i = 0; i < sizeof(tree_files) / sizeof(tree_files[0]); i++)
		touch(tp(tree_files[i]));
	cr_assert_eq(symlink("src", tp("link")), 0);
	cr_assert_eq(symlink("lib/x.so", tp("xlink")), 0);
}

static void remove_tree(void)
{
	remove_tree_at(T);
}

TestSuite(view, .init = make_tree, .fini = remove_tree);

/* A manifest holding LEN bytes of DATA, in T: its path. */
static const char *write_manifest_n(const char *name, const char *data, size_t len)
{
	const char *path = tp(name);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static const char *write_manifest(const char *data)
{
	return write_manifest_n("inputs.txt", data, strlen(data));
}

static void add_ok(struct view *v, enum layer_kind kind, const char *src, const char *dest)
{
	char *err = NULL;
	int ret = view_add(v, kind, src, dest, "--opt", &err);

	cr_assert_eq(ret, 0, "view_add %s %s: %d %s", src ? src : "-", dest, ret, err ? err : "");
	free(err);
}

/* Read the manifest M (relative to T) into V, which must take it. */
static void inputs_ok(struct view *v, const char *m)
{
	char *err = NULL;

	cr_assert_eq(view_add_inputs(v, m, T, &err), 0, "%s: %s", m, err ? err : "");
}

static void seal_ok(struct view *v)
{
	char *err = NULL;

	cr_assert_eq(view_seal(v, &err), 0, "view_seal: %s", err ? err : "");
}

static struct view_target look(const struct view *v, const char *path)
{
	struct view_target t;

	cr_assert_eq(view_lookup(v, path, &t), 0, "view_lookup %s", path);
	return t;
}

/* Expectations: HOST with a leading "T/" is below the tree. */
struct expect {
	const char *path;
	enum view_node_kind kind;
	const char *host;
	bool read_only;
	enum layer_kind layer;
	int layer_index; /* -1: not checked */
};

static void check_row(const struct view *v, const struct expect *e)
{
	const char *path = strncmp(e->path, "T/", 2) == 0 ? tp(e->path + 2) : e->path;
	struct view_target t = look(v, path);

	cr_assert_eq(t.kind, e->kind, "%s: kind %d, want %d", path, t.kind, e->kind);
	if (e->host) {
		const char *want = strncmp(e->host, "T/", 2) == 0 ? tp(e->host + 2) : e->host;

		cr_assert_str_eq(t.host, want, "%s", path);
	}
	if (e->kind == VIEW_ABSENT)
		return;
	cr_assert_eq(t.read_only, e->read_only, "%s: read_only", path);
	cr_assert_eq(t.layer, e->layer, "%s: layer %d, want %d", path, t.layer, e->layer);
	if (e->layer_index >= 0)
		cr_assert_eq(t.layer_index, (uint32_t)e->layer_index, "%s: layer_index %u", path,
			     t.layer_index);
}

/* Precedence, --hide, --symlink, --tmpfs and read-only layers over the host's "/". */

static struct view *precedence_view(void)
{
	struct view *v = view_new();

	add_ok(v, LAYER_BIND, tp("src"), "/w");		      /* 1 */
	add_ok(v, LAYER_RO_BIND, tp("lib"), "/w/lib");	      /* 2 */
	add_ok(v, LAYER_HIDE, NULL, "/w/secret");	      /* 3 */
	add_ok(v, LAYER_SYMLINK, "../target/path", "/w/ln");  /* 4 */
	add_ok(v, LAYER_BIND, tp("src"), "/same");	      /* 5 */
	add_ok(v, LAYER_RO_BIND, tp("lib"), "/same/");	      /* 6: the same DEST, later */
	add_ok(v, LAYER_TMPFS, tp("tmpdir"), "/scratch");     /* 7 */
	add_ok(v, LAYER_OVERLAY, tp("src"), "//ov/./x/../y"); /* 8: "/ov/y" */
	add_ok(v, LAYER_HIDE, NULL, "/usr/share");	      /* 9 */
	add_ok(v, LAYER_BIND, tp("link"), "/via-link");	      /* 10: binds what it points to */
	seal_ok(v);
	return v;
}

static const struct expect precedence_rows[] = {
    {"/", VIEW_HOST, "/", false, LAYER_BASE_HOST, 0},
    {"/usr/include", VIEW_HOST, "/usr/include", false, LAYER_BASE_HOST, 0},
    {"/w", VIEW_HOST, "T/src", false, LAYER_BIND, 1},
    {"/w/a.c", VIEW_HOST, "T/src/a.c", false, LAYER_BIND, 1},
    {"/w/sub/c.h", VIEW_HOST, "T/src/sub/c.h", false, LAYER_BIND, 1},
    /* The deepest DEST decides. */
    {"/w/lib", VIEW_HOST, "T/lib", true, LAYER_RO_BIND, 2},
    {"/w/lib/x.so", VIEW_HOST, "T/lib/x.so", true, LAYER_RO_BIND, 2},
    {"/w/libx", VIEW_HOST, "T/src/libx", false, LAYER_BIND, 1},
    {"/w/secret", VIEW_ABSENT, NULL, false, 0, -1},
    {"/w/secret/deep/er", VIEW_ABSENT, NULL, false, 0, -1},
    {"/w/secrets", VIEW_HOST, "T/src/secrets", false, LAYER_BIND, 1},
    {"/w/ln", VIEW_SYMLINK, "../target/path", false, LAYER_SYMLINK, 4},
    {"/w/ln/below", VIEW_ABSENT, NULL, false, 0, -1},
    /* For the same DEST the later declaration wins. */
    {"/same", VIEW_HOST, "T/lib", true, LAYER_RO_BIND, 6},
    {"/same/x.so", VIEW_HOST, "T/lib/x.so", true, LAYER_RO_BIND, 6},
    {"/scratch", VIEW_HOST, "T/tmpdir", false, LAYER_TMPFS, 7},
    {"/scratch/new", VIEW_HOST, "T/tmpdir/new", false, LAYER_TMPFS, 7},
    {"/ov/y/a.c", VIEW_HOST, "T/src/a.c", false, LAYER_OVERLAY, 8},
    {"/ov", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_HOST, 0},
    {"/ov/x", VIEW_ABSENT, NULL, false, 0, -1},
    {"/usr/share/doc", VIEW_ABSENT, NULL, false, 0, -1},
    {"/usr/lib", VIEW_HOST, "/usr/lib", false, LAYER_BASE_HOST, 0},
    {"/via-link/a.c", VIEW_HOST, "T/src/a.c", false, LAYER_BIND, 10},
};

ParameterizedTestParameters(view, precedence)
{
	return ROWS(precedence_rows);
}

ParameterizedTest(size_t *row, view, precedence)
{
	struct view *v = precedence_view();

	check_row(v, &precedence_rows[*row]);
	view_free(v);
}

/* Virtual directories, and what --hermetic leaves out. */

static struct view *hermetic_view(void)
{
	struct view *v = view_new();

	view_set_hermetic(v);
	add_ok(v, LAYER_RO_BIND, tp("src"), "/opt/proj/src");
	add_ok(v, LAYER_BIND, tp("lib"), "/opt/lib");
	add_ok(v, LAYER_SYMLINK, "proj/src", "/opt/cur");
	add_ok(v, LAYER_HIDE, NULL, "/opt/lib/y.so");
	seal_ok(v);
	return v;
}

static const struct expect hermetic_rows[] = {
    {"/", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_EMPTY, 0},
    {"/opt", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_EMPTY, 0},
    {"/opt/proj", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_EMPTY, 0},
    {"/opt/proj/src/a.c", VIEW_HOST, "T/src/a.c", true, LAYER_RO_BIND, 4},
    {"/opt/lib/x.so", VIEW_HOST, "T/lib/x.so", false, LAYER_BIND, 5},
    {"/opt/lib/y.so", VIEW_ABSENT, NULL, false, 0, -1},
    {"/opt/cur", VIEW_SYMLINK, "proj/src", false, LAYER_SYMLINK, 6},
    /* Undeclared: absent, also below a virtual directory. */
    {"/usr", VIEW_ABSENT, NULL, false, 0, -1},
    {"/etc/passwd", VIEW_ABSENT, NULL, false, 0, -1},
    {"/opt/other", VIEW_ABSENT, NULL, false, 0, -1},
    {"/opt/proj/other/deeper", VIEW_ABSENT, NULL, false, 0, -1},
    /* The host's /dev, /proc and /sys stay. */
    {"/dev/null", VIEW_HOST, "/dev/null", false, LAYER_BIND, 1},
    {"/proc/self", VIEW_HOST, "/proc/self", false, LAYER_BIND, 2},
    {"/sys", VIEW_HOST, "/sys", false, LAYER_BIND, 3},
};

ParameterizedTestParameters(view, hermetic)
{
	return ROWS(hermetic_rows);
}

ParameterizedTest(size_t *row, view, hermetic)
{
	struct view *v = hermetic_view();

	check_row(v, &hermetic_rows[*row]);
	view_free(v);
}

/*
 * A --hide DEST with declarations below it: a virtual directory listing
 * exactly them, as bubblewrap's --tmpfs /a --bind X /a/b would be.
 */
static struct view *hide_with_children_view(void)
{
	struct view *v = view_new();

	add_ok(v, LAYER_HIDE, NULL, "/a");			 /* 1 */
	add_ok(v, LAYER_BIND, tp("src"), "/a/b");		 /* 2 */
	add_ok(v, LAYER_RO_BIND, tp("lib"), "/r/s/t");		 /* 3: the reverse order */
	add_ok(v, LAYER_HIDE, NULL, "/r");			 /* 4 */
	add_ok(v, LAYER_SYMLINK, "../a/b", "/a/ln");		 /* 5 */
	add_ok(v, LAYER_HIDE, NULL, "/a/gone");			 /* 6 */
	add_ok(v, LAYER_HIDE, NULL, "/only");			 /* 7: only a hide below it */
	add_ok(v, LAYER_HIDE, NULL, "/only/x");			 /* 8 */
	add_ok(v, LAYER_BIND, tp("lib"), "/same");		 /* 9 */
	add_ok(v, LAYER_HIDE, NULL, "/same");			 /* 10: the same DEST, later */
	add_ok(v, LAYER_INPUT, tp("file.txt"), "/same/in");	 /* 11 */
	add_ok(v, LAYER_HIDE, NULL, "/back");			 /* 12 */
	add_ok(v, LAYER_BIND, tp("src"), "/back");		 /* 13: the same DEST, later */
	add_ok(v, LAYER_RO_BIND, tp("file.txt"), "/back/f.txt"); /* 14 */
	seal_ok(v);
	return v;
}

static const struct expect hide_rows[] = {
    {"/a", VIEW_VIRTUAL_DIR, NULL, true, LAYER_HIDE, 1},
    {"/a/b", VIEW_HOST, "T/src", false, LAYER_BIND, 2},
    {"/a/b/a.c", VIEW_HOST, "T/src/a.c", false, LAYER_BIND, 2},
    {"/a/c", VIEW_ABSENT, NULL, false, 0, -1},
    {"/a/c/d", VIEW_ABSENT, NULL, false, 0, -1},
    {"/a/gone", VIEW_ABSENT, NULL, false, 0, -1},
    {"/a/ln", VIEW_SYMLINK, "../a/b", false, LAYER_SYMLINK, 5},
    {"/r", VIEW_VIRTUAL_DIR, NULL, true, LAYER_HIDE, 4},
    {"/r/s", VIEW_VIRTUAL_DIR, NULL, true, LAYER_HIDE, 4},
    {"/r/s/t/x.so", VIEW_HOST, "T/lib/x.so", true, LAYER_RO_BIND, 3},
    {"/r/s/u", VIEW_ABSENT, NULL, false, 0, -1},
    {"/r/v", VIEW_ABSENT, NULL, false, 0, -1},
    /* Nothing visible below it: still absent. */
    {"/only", VIEW_ABSENT, NULL, false, 0, -1},
    {"/only/y", VIEW_ABSENT, NULL, false, 0, -1},
    {"/same", VIEW_VIRTUAL_DIR, NULL, true, LAYER_HIDE, 10},
    {"/same/in", VIEW_HOST, "T/file.txt", true, LAYER_INPUT, 11},
    {"/same/x.so", VIEW_ABSENT, NULL, false, 0, -1},
    {"/back", VIEW_HOST, "T/src", false, LAYER_BIND, 13},
    {"/back/a.c", VIEW_HOST, "T/src/a.c", false, LAYER_BIND, 13},
    {"/back/f.txt", VIEW_HOST, "T/file.txt", true, LAYER_RO_BIND, 14},
};

ParameterizedTestParameters(view, hide_with_children)
{
	return ROWS(hide_rows);
}

ParameterizedTest(size_t *row, view, hide_with_children)
{
	struct view *v = hide_with_children_view();

	check_row(v, &hide_rows[*row]);
	view_free(v);
}

static const char *list(const struct view *v, const char *dir);

Test(view, hide_with_children_lists_exactly_them)
{
	struct view *v = hide_with_children_view();

	cr_assert_str_eq(list(v, "/a"), "b:h ln:l");
	cr_assert_str_eq(list(v, "/r"), "s:v");
	cr_assert_str_eq(list(v, "/r/s"), "t:h");
	cr_assert_str_eq(list(v, "/same"), "in:h");
	cr_assert_str_eq(list(v, "/only"), "");
	cr_assert_str_eq(list(v, "/back"), "f.txt:h");
	/* No host entry of a virtual directory shows. */
	cr_assert_not(view_keeps_host_entry(v, "/a", "c"));
	cr_assert_not(view_keeps_host_entry(v, "/a", "b"));
	cr_assert_not(view_keeps_host_entry(v, "/same", "x.so"));
	cr_assert(view_keeps_host_entry(v, "/back", "a.c"));
	/* Their parent lists them as virtual directories; a bare hide goes. */
	{
		const char *l = list(v, "/");

		cr_assert_not_null(strstr(l, "a:v"), "%s", l);
		cr_assert_not_null(strstr(l, "r:v"), "%s", l);
		cr_assert_not_null(strstr(l, "same:v"), "%s", l);
		cr_assert_null(strstr(l, "only"), "%s", l);
	}
	cr_assert_not(view_keeps_host_entry(v, "/", "only"));
	view_free(v);
}

/* Under a hermetic base too, and through a copy of the image. */
Test(view, hide_with_children_in_a_copied_hermetic_image)
{
	struct view *v = view_new(), *c;
	void *copy;
	size_t size;

	view_set_hermetic(v);
	add_ok(v, LAYER_HIDE, NULL, "/");
	add_ok(v, LAYER_RO_BIND, tp("src"), "/w");
	seal_ok(v);
	size = view_image_size(v);
	copy = xmalloc(size);
	memcpy(copy, view_image(v), size);
	view_free(v);
	c = view_from_image(copy, size);
	cr_assert_not_null(c);
	check_row(c, &(struct expect){"/", VIEW_VIRTUAL_DIR, NULL, true, LAYER_HIDE, 4});
	check_row(c, &(struct expect){"/w/a.c", VIEW_HOST, "T/src/a.c", true, LAYER_RO_BIND, 5});
	check_row(c, &(struct expect){"/etc", VIEW_ABSENT, NULL, false, 0, -1});
	check_row(c, &(struct expect){"/dev/null", VIEW_HOST, "/dev/null", false, LAYER_BIND, 1});
	cr_assert_str_eq(list(c, "/"), "dev:h proc:h sys:h w:h");
	view_free(c);
	free(copy);
}

/* Listings */

struct listing {
	char text[4096];
};

static void add_name(void *ctx, const char *name, enum view_node_kind kind)
{
	struct listing *l = ctx;
	static const char kinds[] = {'-', 'h', 'v', 'l'};

	snprintf(l->text + strlen(l->text), sizeof(l->text) - strlen(l->text), "%s%s:%c",
		 l->text[0] ? " " : "", name, kinds[kind]);
}

static const char *list(const struct view *v, const char *dir)
{
	static struct listing l;

	l.text[0] = '\0';
	view_list_extra(v, dir, add_name, &l);
	return l.text;
}

Test(view, virtual_directories_list_exactly_their_children)
{
	struct view *v = hermetic_view();

	cr_assert_str_eq(list(v, "/"), "dev:h opt:v proc:h sys:h");
	cr_assert_str_eq(list(v, "/opt"), "cur:l lib:h proj:v");
	cr_assert_str_eq(list(v, "/opt/proj"), "src:h");
	/* A bind point lists its host directory; the hidden name goes. */
	cr_assert_str_eq(list(v, "/opt/lib"), "");
	cr_assert(view_keeps_host_entry(v, "/opt/lib", "x.so"));
	cr_assert_not(view_keeps_host_entry(v, "/opt/lib", "y.so"));
	/* Names of a virtual directory come from the view only. */
	cr_assert_not(view_keeps_host_entry(v, "/", "usr"));
	cr_assert_not(view_keeps_host_entry(v, "/opt", "proj"));
	cr_assert_str_eq(list(v, "/usr"), "");
	cr_assert_str_eq(list(v, "/opt/cur"), "");
	view_free(v);
}

Test(view, listing_is_in_byte_order_and_drops_hidden_names)
{
	struct view *v = view_new();
	static const char *const names[] = {"b", "a", "B", "a-b", "a.b", "\xc3\xa4", "a0", "Z"};

	view_set_hermetic(v);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char dest[64];

		snprintf(dest, sizeof(dest), "/d/%s", names[i]);
		add_ok(v, LAYER_RO_BIND, tp("file.txt"), dest);
	}
	add_ok(v, LAYER_HIDE, NULL, "/d/hidden");
	add_ok(v, LAYER_BIND, tp("src"), "/d/a/deep/er");
	seal_ok(v);
	cr_assert_str_eq(list(v, "/d"), "B:h Z:h a:h a-b:h a.b:h a0:h b:h \xc3\xa4:h");
	cr_assert_str_eq(list(v, "/d/a"), "deep:v");
	cr_assert_not(view_keeps_host_entry(v, "/d", "hidden"));
	view_free(v);
}

Test(view, declarations_over_the_host_list_beside_its_entries)
{
	struct view *v = view_new();
	char dest[PATH_MAX], missing[PATH_MAX];

	strcpy(dest, tp("lib/newdir"));
	add_ok(v, LAYER_BIND, tp("src"), dest);
	strcpy(missing, tp("not/there"));
	add_ok(v, LAYER_RO_BIND, tp("file.txt"), missing);
	add_ok(v, LAYER_HIDE, NULL, tp("lib/y.so"));
	seal_ok(v);
	/* T/lib exists on the host: not virtual, and writable through the base. */
	check_row(v, &(struct expect){"T/lib", VIEW_HOST, "T/lib", false, LAYER_BASE_HOST, 0});
	cr_assert_str_eq(list(v, tp("lib")), "newdir:h");
	cr_assert(view_keeps_host_entry(v, tp("lib"), "x.so"));
	cr_assert_not(view_keeps_host_entry(v, tp("lib"), "newdir"));
	cr_assert_not(view_keeps_host_entry(v, tp("lib"), "y.so"));
	/* T/not does not exist on the host: virtual. */
	check_row(v, &(struct expect){"T/not", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_HOST, 0});
	/* T lists T/lib (on the way to a declaration) and T/not beside its host entries. */
	cr_assert_str_eq(list(v, T), "lib:h not:v");
	cr_assert(view_keeps_host_entry(v, T, "src"));
	cr_assert_not(view_keeps_host_entry(v, T, "lib"));
	cr_assert(view_keeps_host_entry(v, "/", "usr"));
	view_free(v);
}

/* --root */

static const struct expect root_rows[] = {
    {"/", VIEW_HOST, "T/root", true, LAYER_BASE_ROOT, 0},
    {"/usr/bin/tool", VIEW_HOST, "T/root/usr/bin/tool", true, LAYER_BASE_ROOT, 0},
    {"/etc", VIEW_HOST, "T/root/etc", true, LAYER_BASE_ROOT, 0},
    {"/dev/null", VIEW_HOST, "/dev/null", false, LAYER_BIND, 1},
    {"/sys/kernel", VIEW_HOST, "/sys/kernel", false, LAYER_BIND, 3},
    /* --hide /proc comes after the implicit bind: it wins. */
    {"/proc", VIEW_ABSENT, NULL, false, 0, -1},
    {"/proc/self/maps", VIEW_ABSENT, NULL, false, 0, -1},
    {"/work", VIEW_HOST, "T/src", false, LAYER_BIND, 5},
    /* /mnt does not exist in the root: a virtual directory. */
    {"/mnt", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_ROOT, 0},
    {"/mnt/data", VIEW_HOST, "T/lib", true, LAYER_RO_BIND, 6},
};

ParameterizedTestParameters(view, root)
{
	return ROWS(root_rows);
}

ParameterizedTest(size_t *row, view, root)
{
	struct view *v = view_new();
	char *err = NULL;

	add_ok(v, LAYER_HIDE, NULL, "/proc");
	cr_assert_eq(view_set_root(v, tp("root"), &err), 0);
	add_ok(v, LAYER_BIND, tp("src"), "/work");
	add_ok(v, LAYER_RO_BIND, tp("lib"), "/mnt/data");
	seal_ok(v);
	check_row(v, &root_rows[*row]);
	if (*row == 0) {
		cr_assert_str_eq(list(v, "/"), "dev:h mnt:v sys:h work:h");
		cr_assert(view_keeps_host_entry(v, "/", "usr"));
		cr_assert_not(view_keeps_host_entry(v, "/", "proc"));
	}
	view_free(v);
}

Test(view, root_must_be_a_directory)
{
	struct view *v = view_new();
	char *err = NULL;

	cr_assert_eq(view_set_root(v, tp("nothing"), &err), -ENOENT);
	cr_assert_not_null(strstr(err, "--root"));
	cr_assert_not_null(strstr(err, tp("nothing")));
	free(err);
	cr_assert_eq(view_set_root(v, tp("file.txt"), &err), -ENOTDIR);
	free(err);
	view_free(v);
}

/* Errors of view_add */

Test(view, declaration_errors)
{
	struct view *v = view_new();
	char *err = NULL, *longer = xmalloc(PATH_MAX + 2);

	cr_assert_eq(view_add(v, LAYER_BIND, tp("src"), "rel/dest", "--bind", &err), -EINVAL);
	cr_assert_str_eq(err, "--bind rel/dest: the destination must be an absolute path");
	free(err);
	cr_assert_eq(view_add(v, LAYER_RO_BIND, tp("missing"), "/x", "--ro-bind", &err), -ENOENT);
	cr_assert_str_eq(err, xasprintf("--ro-bind %s: No such file or directory", tp("missing")));
	free(err);
	memset(longer, 'a', PATH_MAX + 1);
	longer[0] = '/';
	longer[PATH_MAX + 1] = '\0';
	cr_assert_eq(view_add(v, LAYER_HIDE, NULL, longer, "--hide", &err), -ENAMETOOLONG);
	free(err);
	cr_assert_eq(view_add(v, LAYER_BIND, NULL, "/x", "--bind", &err), -EINVAL);
	free(err);
	/* Inputs: the same DEST from two sources is an error, the same source twice is not. */
	cr_assert_eq(view_add(v, LAYER_INPUT, tp("src/a.c"), "/in", "--input", &err), 0);
	cr_assert_eq(view_add(v, LAYER_INPUT, tp("src/a.c"), "/in", "--input", &err), 0);
	cr_assert_eq(view_add(v, LAYER_INPUT, tp("src/b.h"), "/in", "--input", &err), -EINVAL);
	cr_assert_str_eq(err, xasprintf("--input: /in declared twice, from %s and %s",
					tp("src/a.c"), tp("src/b.h")));
	free(err);
	/* Other kinds: the later one wins. */
	cr_assert_eq(view_add(v, LAYER_BIND, tp("lib"), "/b", "--bind", &err), 0);
	cr_assert_eq(view_add(v, LAYER_BIND, tp("src"), "/b", "--bind", &err), 0);
	seal_ok(v);
	cr_assert_str_eq(look(v, "/b").host, tp("src"));
	cr_assert_eq(view_lookup(v, longer, &(struct view_target){0}), -ENAMETOOLONG);
	cr_assert_eq(view_add(v, LAYER_HIDE, NULL, "/late", "--hide", &err), -EINVAL);
	free(err);
	free(longer);
	view_free(v);
}

Test(view, lookups_need_a_sealed_view)
{
	struct view *v = view_new();
	struct view_target t;

	cr_assert_eq(view_lookup(v, "/", &t), -EINVAL);
	cr_assert_eq(view_image_size(v), 0);
	view_free(v);
}

/* Manifests */

Test(view, manifest_lines)
{
	struct view *v = view_new();
	const char *m = write_manifest("# a comment\n"
				       "src/a.c\n"
				       "\n"
				       "   # an indented comment\n"
				       "src/b.h   # after blanks\n"
				       "/abs/dest\tlib/x.so\n"
				       "src/a#b\n"
				       "./src//sub/../sub/c.h\r\n"
				       "lnk\txlink\n"
				       "src/a.c\n"
				       "  \t \n"
				       "tail\tfile.txt");

	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 8);
	cr_assert_str_eq(view_input_line(v, 0), "src/a.c");
	cr_assert_str_eq(view_input_path(v, 0, pathbuf), tp("src/a.c"));
	cr_assert_str_eq(view_input_line(v, 1), "src/b.h");
	cr_assert_str_eq(view_input_line(v, 2), "/abs/dest\tlib/x.so");
	cr_assert_str_eq(view_input_path(v, 2, pathbuf), "/abs/dest");
	cr_assert_str_eq(view_input_line(v, 3), "src/a#b");
	cr_assert_str_eq(view_input_line(v, 4), "./src//sub/../sub/c.h");
	cr_assert_str_eq(view_input_path(v, 4, pathbuf), tp("src/sub/c.h"));
	cr_assert_str_eq(view_input_path(v, 5, pathbuf), tp("lnk"));
	cr_assert_str_eq(view_input_path(v, 6, pathbuf), tp("src/a.c"));
	cr_assert_str_eq(view_input_path(v, 7, pathbuf), tp("tail"));
	cr_assert_null(view_input_line(v, 8));

	/* Declared twice from the same source: harmless, the later line's. */
	check_row(v, &(struct expect){"T/src/a.c", VIEW_HOST, "T/src/a.c", true, LAYER_INPUT, 7});
	check_row(v, &(struct expect){"T/src/a#b", VIEW_HOST, "T/src/a#b", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"/abs/dest", VIEW_HOST, "T/lib/x.so", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"/abs", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_HOST, 0});
	/* A source that is a link: what it points to. */
	check_row(v, &(struct expect){"T/lnk", VIEW_HOST, "T/lib/x.so", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"T/tail", VIEW_HOST, "T/file.txt", true, LAYER_INPUT, -1});
	/* Beside the inputs, the host as it is. */
	check_row(v,
		  &(struct expect){"T/src/zz", VIEW_HOST, "T/src/zz", false, LAYER_BASE_HOST, 0});
	cr_assert(view_keeps_host_entry(v, tp("src"), "zz"));
	cr_assert_not(view_keeps_host_entry(v, tp("src"), "a.c"));
	cr_assert_str_eq(list(v, tp("src")), "a#b:h a.c:h b.h:h sub:h");
	view_free(v);
}

/*
 * Paths with empty, "." and ".." components, and names starting with a
 * dot, at either side of 8- and 16-byte boundaries (the manifest reader
 * looks at a path's components sixteen, then eight bytes at a time).
 */
Test(view, manifest_components_across_word_boundaries)
{
	static const struct {
		const char *dest, *want;
	} rows[] = {
	    {"d1234567/./a1", "d1234567/a1"},
	    {"d123456//a2", "d123456/a2"},
	    {"d1234567/../q/a3", "q/a3"},
	    {"d1234567/.hid/a4", "d1234567/.hid/a4"},
	    {"d123456/.../a5", "d123456/.../a5"},
	    {"d1234567/a6/", "d1234567/a6"},
	    {"d1234567/..x/a7", "d1234567/..x/a7"},
	    {"d123456/./a9", "d123456/a9"},
	    {"d123456/../q2/a10", "q2/a10"},
	    {"d12345678901234/d234567/./a11", "d12345678901234/d234567/a11"},
	    {"d12345678901234/d234567//a12", "d12345678901234/d234567/a12"},
	    {"d1234567890123456789012345678901/./a13", "d1234567890123456789012345678901/a13"},
	    {"d12345678901234/./a8", "d12345678901234/a8"},
	};
	struct view *v = view_new();
	struct strbuf sb = {0};
	const char *m;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		strbuf_addf(&sb, "%s\tsrc/a.c\n", rows[i].dest);
	/* Sources too: "." and ".." inside an absolute path, a relative one with "//". */
	strbuf_addf(&sb, "s1\t%s\ns2\t%s\ns3\tsrc//b.h\n", tp("src/./a.c"), tp("lib/../src/a.c"));
	m = write_manifest_n("components.txt", sb.buf, sb.len);
	inputs_ok(v, m);
	seal_ok(v);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert_str_eq(view_input_path(v, i, pathbuf), tp(rows[i].want), "%s",
				 rows[i].dest);
	check_row(v, &(struct expect){"T/s1", VIEW_HOST, "T/src/a.c", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"T/s2", VIEW_HOST, "T/src/a.c", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"T/s3", VIEW_HOST, "T/src/b.h", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"T/d1234567/.hid/a4", VIEW_HOST, "T/src/a.c", true,
				      LAYER_INPUT, -1});
	view_free(v);
	strbuf_release(&sb);
}

/*
 * A manifest bigger than the chunks it is read and parsed in: lines split
 * across chunks are whole, and a broken line far into it is named by its
 * number, also when a missing source comes after it.
 */
Test(view, manifest_read_in_chunks)
{
	struct strbuf sb = {0};
	struct view *v = view_new();
	char *err = NULL, want[PATH_MAX + 64];
	const char *m;

	for (int i = 0; i < 150000; i++)
		strbuf_addf(&sb, "d/%06d\tsrc/a.c\n", i);
	m = write_manifest_n("chunks.txt", sb.buf, sb.len);
	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 150000);
	for (int i = 0; i < 150000; i += 4999) {
		char dest[32];

		snprintf(dest, sizeof(dest), "d/%06d", i);
		cr_assert_str_eq(view_input_path(v, i, pathbuf), tp(dest));
		cr_assert_str_eq(strchr(view_input_line(v, i), '\t'), "\tsrc/a.c");
	}
	view_free(v);

	/* Line 120,001 holds a NUL byte; line 140,001 a missing source. */
	sb.buf[120000 * 17 + 3] = '\0';
	memcpy(sb.buf + 140000 * 17 + 9, "src/zz", 6);
	m = write_manifest_n("chunks.txt", sb.buf, sb.len);
	v = view_new();
	cr_assert_eq(view_add_inputs(v, m, T, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:120001: a NUL byte in the line", m);
	cr_assert_str_eq(err, want);
	free(err);
	view_free(v);
	strbuf_release(&sb);
}

/*
 * The view keeps its own copy of a manifest: the file rewritten in place
 * and cut short afterwards changes nothing, even in a page that no line
 * ends in (nothing written there while parsing). A private mapping of the
 * file would not do: cutting a file short takes even a private copy's pages
 * from a mapping of it. A manifest of whole pages whose last line has no
 * newline (its NUL is past the file's end) parses alike.
 */
Test(view, manifest_rewritten_after_it_is_read)
{
	char comp[201], dest[PATH_MAX] = "deep", src[PATH_MAX] = "long", *xs;
	const char *last = "b/y\tsrc/b.h";
	struct strbuf sb = {0};
	struct view *v = view_new();
	const char *m;
	size_t at;
	int fd;

	/* A line of about 7,700 bytes: a page lies wholly inside it. */
	memset(comp, 'c', 200);
	comp[200] = '\0';
	for (int i = 0; i < 19; i++) {
		strcat(strcat(dest, "/"), comp);
		strcat(strcat(src, "/"), comp);
	}
	strcat(dest, "/f");
	strcat(src, "/f");
	touch(tp(src));
	/* The first line a page long with its comment, so the second one starts on the next page. */
	strbuf_addstr(&sb, "a/x\tsrc/a.c #");
	while (sb.len < 4090)
		strbuf_addch(&sb, 'c');
	strbuf_addch(&sb, '\n');
	at = sb.len;
	strbuf_addf(&sb, "%s\t%s\n%s\n", dest, tp(src), last);
	cr_assert_leq((at / 4096 + 2) * 4096, at + strlen(dest) + 1 + strlen(tp(src)));
	m = write_manifest(sb.buf);
	inputs_ok(v, m);
	xs = xmalloc(sb.len);
	memset(xs, 'x', sb.len);
	fd = open(m, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, xs, sb.len, 0), (ssize_t)sb.len);
	cr_assert_eq(ftruncate(fd, 10), 0);
	close(fd);
	free(xs);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 3);
	cr_assert_str_eq(look(v, tp(dest)).host, tp(src));
	cr_assert_str_eq(strchr(view_input_line(v, 1), '\t') + 1, tp(src));
	cr_assert_str_eq(look(v, tp("b/y")).host, tp("src/b.h"));
	view_free(v);

	/* Two whole pages, the last line without its newline. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "a/x\tsrc/a.c\n#");
	while (sb.len < 8192 - strlen(last) - 1)
		strbuf_addch(&sb, '#');
	strbuf_addf(&sb, "\n%s", last);
	cr_assert_eq(sb.len, 8192);
	m = write_manifest_n("pages.txt", sb.buf, sb.len);
	v = view_new();
	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 2);
	cr_assert_str_eq(view_input_line(v, 1), last);
	cr_assert_str_eq(look(v, tp("b/y")).host, tp("src/b.h"));
	view_free(v);
	strbuf_release(&sb);
}

/*
 * A manifest from a pipe (--inputs <(...)): its size is not known, so it is
 * read whole, its buffer grown past its first 64 kB, then parsed; a broken
 * line in it is still named by its number.
 */
static struct view *inputs_from_pipe(const char *data, size_t len, int *ret, char **err)
{
	struct view *v = view_new();
	char path[32];
	int fds[2], status;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(write(fds[1], data, len) == (ssize_t)len ? 0 : 1);
	}
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	*ret = view_add_inputs(v, path, T, err);
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return v;
}

Test(view, manifest_from_a_pipe)
{
	struct strbuf sb = {0};
	char *err = NULL;
	struct view *v;
	int ret;

	for (int i = 0; i < 20000; i++)
		strbuf_addf(&sb, "d/%06d\tsrc/a.c\n", i);
	v = inputs_from_pipe(sb.buf, sb.len, &ret, &err);
	cr_assert_eq(ret, 0, "%s", err ? err : "");
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 20000);
	cr_assert_str_eq(view_input_path(v, 19999, pathbuf), tp("d/019999"));
	check_row(v, &(struct expect){"T/d/012345", VIEW_HOST, "T/src/a.c", true, LAYER_INPUT, -1});
	view_free(v);

	/* Line 15,001 names a missing source. */
	memcpy(sb.buf + 15000 * 17 + 9, "src/zz", 6);
	v = inputs_from_pipe(sb.buf, sb.len, &ret, &err);
	cr_assert_eq(ret, -ENOENT);
	cr_assert(strstr(err, ":15001: src/zzc: No such file or directory"), "%s", err);
	free(err);
	view_free(v);
	strbuf_release(&sb);
}

/*
 * An input keeps only its name (its path: its parent's and the name); one
 * declared below another input (a file below a file) keeps its whole path.
 * Lookups, listings, the lines' view paths and the reverse way all see the
 * whole paths.
 */
Test(view, inputs_below_inputs)
{
	struct view *v = view_new();
	char out[PATH_MAX];
	const char *m = write_manifest("d/x\tsrc/a.c\nd/x/y\tsrc/b.h\nd/z\tlib/x.so\n");

	inputs_ok(v, m);
	seal_ok(v);
	check_row(v, &(struct expect){"T/d/x", VIEW_HOST, "T/src/a.c", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"T/d/x/y", VIEW_HOST, "T/src/b.h", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"T/d/z", VIEW_HOST, "T/lib/x.so", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"T/d/q", VIEW_ABSENT, NULL, true, LAYER_BASE_HOST, -1});
	cr_assert_str_eq(list(v, tp("d")), "x:h z:h");
	cr_assert_str_eq(list(v, tp("d/x")), "y:h");
	cr_assert_str_eq(view_input_path(v, 1, pathbuf), tp("d/x/y"));
	cr_assert_eq(view_host_to_view(v, tp("lib/x.so"), out), 0);
	cr_assert_str_eq(out, tp("d/z"));
	view_free(v);
}

static void check_two_manifests(const struct view *v)
{
	check_row(v, &(struct expect){"/in/a", VIEW_HOST, "T/src/a.c", true, LAYER_INPUT, -1});
	check_row(v,
		  &(struct expect){"/in/sub/b#x", VIEW_HOST, "T/lib/x.so", true, LAYER_INPUT, -1});
	check_row(v, &(struct expect){"/in/c", VIEW_HOST, "T/src/b.h", true, LAYER_INPUT, -1});
	check_row(v,
		  &(struct expect){"/lib2/x.so", VIEW_HOST, "T/lib/x.so", true, LAYER_RO_BIND, -1});
}

/*
 * Sources written as absolute paths stay in their manifest's text, which
 * the image takes in: two manifests, a bind between them, and a copy of the
 * image that outlives the view it was made from.
 */
Test(view, two_manifests_sources_and_lines_live_in_the_image)
{
	struct view *v = view_new(), *c;
	struct strbuf first = {0}, second = {0};
	char *err = NULL;
	const char *m1, *m2;
	size_t size;
	void *copy;

	strbuf_addf(&first, "/in/a\t%s\n/in/sub/b#x\t%s # a comment\n", tp("src/a.c"),
		    tp("lib/x.so"));
	strbuf_addf(&second, "/in/c\t%s\r\n", tp("src/b.h"));
	m1 = write_manifest_n("first.txt", first.buf, first.len);
	cr_assert_eq(view_add_inputs(v, m1, T, &err), 0, "%s", err ? err : "");
	add_ok(v, LAYER_RO_BIND, tp("lib"), "/lib2");
	m2 = write_manifest_n("second.txt", second.buf, second.len);
	cr_assert_eq(view_add_inputs(v, m2, T, &err), 0, "%s", err ? err : "");
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 3);
	cr_assert_str_eq(strchr(view_input_line(v, 0), '\t') + 1, tp("src/a.c"));
	cr_assert_str_eq(strchr(view_input_line(v, 1), '\t') + 1, tp("lib/x.so"));
	cr_assert_str_eq(strchr(view_input_line(v, 2), '\t') + 1, tp("src/b.h"));
	check_two_manifests(v);
	size = view_image_size(v);
	copy = xmalloc(size);
	memcpy(copy, view_image(v), size);
	view_free(v);
	c = view_from_image(copy, size);
	cr_assert_not_null(c);
	check_two_manifests(c);
	view_free(c);
	free(copy);
	strbuf_release(&first);
	strbuf_release(&second);
}

Test(view, manifest_without_cwd_uses_the_current_directory)
{
	struct view *v = view_new();
	char *err = NULL;
	const char *m = write_manifest("src/a.c\n");

	cr_assert_eq(chdir(T), 0);
	cr_assert_eq(view_add_inputs(v, m, NULL, &err), 0, "%s", err ? err : "");
	cr_assert_str_eq(view_input_path(v, 0, pathbuf), tp("src/a.c"));
	view_free(v);
}

/* Broken manifests: "%M" is the manifest's path, "%T" the tree's. */
struct broken_case {
	const char *data;
	size_t len; /* 0: strlen(data) */
	int error;
	const char *message;
};

static const struct broken_case broken_cases[] = {
    {"src/a.c\n\tsrc/b.h\n", 0, -EINVAL, "%M:2: the destination is empty"},
    {"src/a.c\tsrc/a.c\tx\n", 0, -EINVAL,
     "%M:1: more than one tab (the format is DEST or DEST<TAB>SRC)"},
    {"# c\nsrc/a.c\0x\n", 12, -EINVAL, "%M:2: a NUL byte in the line"},
    {"\n\nsrc/a.c\t\n", 0, -EINVAL, "%M:3: the source after the tab is empty"},
    {"src/missing.c\n", 0, -ENOENT, "%M:1: src/missing.c: No such file or directory"},
    {"src/a.c\nd\tlib/none\n", 0, -ENOENT, "%M:2: lib/none: No such file or directory"},
    {"src/a.c/x\n", 0, -ENOTDIR, "%M:1: src/a.c/x: Not a directory"},
    /* The earlier source the DEST itself: named by its whole path. */
    {"src/a.c\nsrc/a.c\tlib/x.so\n", 0, -EINVAL,
     "%M:2: %T/src/a.c declared twice, from %T/src/a.c and %T/lib/x.so"},
    /* The later one from itself. */
    {"src/a.c\tlib/x.so\nsrc/a.c\n", 0, -EINVAL,
     "%M:2: %T/src/a.c declared twice, from %T/lib/x.so and %T/src/a.c"},
    {"d\tsrc/a.c\nd\tsrc/a.c\nd\tlib/x.so\n", 0, -EINVAL,
     "%M:3: %T/d declared twice, from %T/src/a.c and %T/lib/x.so"},
    /* The first broken line is the one named, whatever is wrong with it. */
    {"src/gone\n\tsrc/a.c\n", 0, -ENOENT, "%M:1: src/gone: No such file or directory"},
    {"\tsrc/a.c\nsrc/gone\n", 0, -EINVAL, "%M:1: the destination is empty"},
    {"../x/../../../../missing/..\n", 0, -ENOENT,
     "%M:1: ../x/../../../../missing/..: No such file or directory"},
    {NULL, 0, -EINVAL, "%M:2: the path is too long"}, /* made below */
};

static const char *expand(const char *fmt, const char *manifest)
{
	static char out[PATH_MAX * 4];
	size_t n = 0;

	for (const char *s = fmt; *s; s++) {
		const char *sub = NULL;

		if (s[0] == '%' && s[1] == 'M')
			sub = manifest;
		else if (s[0] == '%' && s[1] == 'T')
			sub = T;
		if (sub) {
			n += snprintf(out + n, sizeof(out) - n, "%s", sub);
			s++;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return out;
}

ParameterizedTestParameters(view, broken_manifest)
{
	return ROWS(broken_cases);
}

ParameterizedTest(size_t *row, view, broken_manifest)
{
	const struct broken_case *c = &broken_cases[*row];
	struct view *v = view_new();
	char *err = NULL, *data;
	const char *m;

	if (c->data) {
		m = write_manifest_n("broken.txt", c->data, c->len ? c->len : strlen(c->data));
	} else {
		data = xmalloc(PATH_MAX + 16);
		strcpy(data, "src/a.c\n");
		memset(data + 8, 'n', PATH_MAX);
		strcpy(data + 8 + PATH_MAX, "\n");
		m = write_manifest_n("broken.txt", data, strlen(data));
		free(data);
	}
	cr_assert_eq(view_add_inputs(v, m, T, &err), c->error, "row %zu: %s", *row, err ? err : "");
	cr_assert_str_eq(err, expand(c->message, m));
	free(err);
	view_free(v);
}

Test(view, unreadable_manifest)
{
	struct view *v = view_new();
	char *err = NULL;

	cr_assert_eq(view_add_inputs(v, tp("no-such-manifest"), T, &err), -ENOENT);
	cr_assert_str_eq(
	    err, xasprintf("--inputs %s: No such file or directory", tp("no-such-manifest")));
	free(err);
	view_free(v);
}

/* Many sources in one directory: checked by reading it once; links and missing ones found. */
Test(view, manifest_of_a_large_directory)
{
	struct strbuf sb = {0};
	struct view *v = view_new();
	char *err = NULL;
	const char *m;

	for (int i = 0; i < 300; i++) {
		char name[64];

		snprintf(name, sizeof(name), "big/f%03d", i);
		if (i % 50 == 7) {
			make_parents(tp(name));
			cr_assert_eq(symlink("../lib/y.so", tp(name)), 0);
		} else {
			touch(tp(name));
		}
		strbuf_addf(&sb, "%s\n", name);
	}
	m = write_manifest(sb.buf);
	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 300);
	cr_assert_str_eq(look(v, tp("big/f007")).host, tp("lib/y.so"));
	cr_assert_str_eq(look(v, tp("big/f008")).host, tp("big/f008"));
	view_free(v);

	/* One missing among them: its line. */
	v = view_new();
	strbuf_addstr(&sb, "big/f999\n");
	for (int i = 0; i < 20; i++)
		strbuf_addf(&sb, "big/f%03d\n", i);
	m = write_manifest(sb.buf);
	cr_assert_eq(view_add_inputs(v, m, T, &err), -ENOENT);
	cr_assert_str_eq(err, xasprintf("%s:301: big/f999: No such file or directory", m));
	free(err);
	strbuf_release(&sb);
	view_free(v);
}

/*
 * Enough lines for the directories to be listed while the manifest is
 * parsed: links among them, and a missing name in a listed directory is
 * the error of its line, not of a later broken one.
 */
Test(view, manifest_of_many_listed_directories)
{
	struct strbuf sb = {0};
	struct view *v = view_new();
	char *err = NULL;
	const char *m;

	touch(tp("lib/z.so"));
	for (int d = 0; d < 120; d++) {
		for (int f = 0; f < 30; f++) {
			char name[64];

			snprintf(name, sizeof(name), "many/d%03d/f%02d", d, f);
			if (f == 5 && d % 10 == 3) {
				make_parents(tp(name));
				cr_assert_eq(symlink("../../lib/z.so", tp(name)), 0);
			} else {
				touch(tp(name));
			}
			strbuf_addf(&sb, "%s\n", name);
		}
	}
	m = write_manifest(sb.buf);
	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 3600);
	cr_assert_str_eq(look(v, tp("many/d013/f05")).host, tp("lib/z.so"));
	cr_assert_str_eq(look(v, tp("many/d013/f06")).host, tp("many/d013/f06"));
	cr_assert_str_eq(look(v, tp("many/d119/f29")).host, tp("many/d119/f29"));
	view_free(v);

	/* Missing names in listed directories: the first one's line. */
	v = view_new();
	strbuf_addstr(&sb, "many/d050/nope\nmany/d007/f01\nmany/d007/nope\n\t\n");
	m = write_manifest(sb.buf);
	cr_assert_eq(view_add_inputs(v, m, T, &err), -ENOENT);
	cr_assert_str_eq(err, xasprintf("%s:3601: many/d050/nope: No such file or directory", m));
	free(err);
	strbuf_release(&sb);
	view_free(v);
}

/*
 * Listed directories under more parents than a checking thread keeps open
 * (it opens each directory from its parent): every source is found, and a
 * missing one is still its line's error.
 */
Test(view, manifest_of_directories_under_many_parents)
{
	struct strbuf sb = {0};
	struct view *v = view_new();
	char *err = NULL;
	const char *m;

	for (int p = 0; p < 150; p++) {
		for (int f = 0; f < 14; f++) {
			char name[64];

			/* Parents in a shuffled order, as a manifest of several trees has them. */
			snprintf(name, sizeof(name), "parents/p%03d/d/f%02d", (p * 37) % 150, f);
			touch(tp(name));
			strbuf_addf(&sb, "%s\n", name);
		}
	}
	m = write_manifest(sb.buf);
	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 2100);
	cr_assert_str_eq(look(v, tp("parents/p149/d/f13")).host, tp("parents/p149/d/f13"));
	view_free(v);

	v = view_new();
	strbuf_addstr(&sb, "parents/p100/d/f14\n");
	m = write_manifest(sb.buf);
	cr_assert_eq(view_add_inputs(v, m, T, &err), -ENOENT);
	cr_assert_str_eq(err,
			 xasprintf("%s:2101: parents/p100/d/f14: No such file or directory", m));
	free(err);
	strbuf_release(&sb);
	view_free(v);
}

/* An input declared again from the same source, itself or another: one input, no conflict. */
Test(view, input_declared_again_alike)
{
	struct view *v = view_new();
	const char *m = write_manifest("src/a.c\nsrc/a.c\nd\tsrc/b.h\nd\tsrc/b.h\n");

	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_str_eq(look(v, tp("src/a.c")).host, tp("src/a.c"));
	cr_assert_str_eq(look(v, tp("d")).host, tp("src/b.h"));
	view_free(v);
}

/* The image holds no pointer: a copy of it is the same view. */
Test(view, image_copy_is_the_same_view)
{
	struct view *v = precedence_view();
	size_t size = view_image_size(v);
	void *copy = xmalloc(size + 64);
	struct view *c;

	/* Another place, another alignment of 8. */
	memcpy((char *)copy + 8, view_image(v), size);
	view_free(v);
	c = view_from_image((char *)copy + 8, size);
	cr_assert_not_null(c);
	for (size_t i = 0; i < sizeof(precedence_rows) / sizeof(precedence_rows[0]); i++)
		check_row(c, &precedence_rows[i]);
	cr_assert_str_eq(list(c, "/w"), "lib:h ln:l");
	cr_assert_eq(view_input_count(c), 0);
	view_free(c);
	cr_assert_null(view_from_image((char *)copy + 8, size - 1));
	memset((char *)copy + 8, 0, 16);
	cr_assert_null(view_from_image((char *)copy + 8, size));
	free(copy);
}

/* 100,000 inputs: all declared, looked up and listed (the time is bench/view_setup.c's). */
Test(view, manifest_of_100000_inputs)
{
	struct strbuf sb = {0};
	struct view *v = view_new();
	const char *m;

	for (int d = 0; d < 20; d++) {
		char name[64];

		snprintf(name, sizeof(name), "srcs/s%02d", d);
		touch(tp(name));
	}
	for (int i = 0; i < 100000; i++)
		strbuf_addf(&sb, "out/d%04d/f%05d.o\tsrcs/s%02d\n", i % 3000, i, i % 20);
	m = write_manifest(sb.buf);
	strbuf_release(&sb);
	inputs_ok(v, m);
	seal_ok(v);
	cr_assert_eq(view_input_count(v), 100000);
	cr_assert_str_eq(view_input_line(v, 99999), "out/d0999/f99999.o\tsrcs/s19");
	for (int i = 0; i < 100000; i += 997) {
		char path[64], want[64];
		struct view_target t;

		snprintf(path, sizeof(path), "out/d%04d/f%05d.o", i % 3000, i);
		snprintf(want, sizeof(want), "srcs/s%02d", i % 20);
		t = look(v, tp(path));
		cr_assert_eq(t.kind, VIEW_HOST);
		cr_assert_str_eq(t.host, tp(want));
		cr_assert(t.read_only);
		cr_assert_eq(t.layer_index, (uint32_t)i + 1);
	}
	check_row(
	    v, &(struct expect){"T/out/d0001", VIEW_VIRTUAL_DIR, NULL, true, LAYER_BASE_HOST, 0});
	check_row(v, &(struct expect){"T/out/d0001/nope", VIEW_ABSENT, NULL, false, 0, -1});
	/* d0007 holds f00007, f03007, ... f99007: 34 names in order. */
	{
		const char *l = list(v, tp("out/d0007"));
		int n = 0;

		for (const char *s = l; (s = strchr(s, ':')); s++)
			n++;
		cr_assert_eq(n, 34, "%s", l);
		cr_assert_eq(strncmp(l, "f00007.o:h f03007.o:h", 21), 0, "%s", l);
	}
	cr_assert_gt(view_image_size(v), 100000 * 40);
	view_free(v);
}
