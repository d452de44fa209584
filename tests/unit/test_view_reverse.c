// SPDX-License-Identifier: MIT
/*
 * The reverse way of the layer table: the view path where a host file is
 * visible (view_host_to_view), through binds, nested binds, one SRC bound
 * more than once, hides, --tmpfs, --root, --hermetic with inputs, and the
 * host's "/"; and which view directories list as their host directory
 * does (view_dir_is_plain). Host sources live in a temporary directory.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rows.h"
#include "tree.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"

/* The host tree: T (its realpath) holds the sources of every test. */
static char T[PATH_MAX];

static const char *const tree_dirs[] = {
    "src", "src/sub", "lib", "shared", "tmpdir", "root", "root/usr", "root/usr/bin", "root/etc",
};
static const char *const tree_files[] = {
    "src/a.c",	"src/b.h",  "src/sub/c.h", "lib/x.so",		"lib/y.so",
    "file.txt", "shared/f", "shared/g",	   "root/usr/bin/tool", "root/etc/conf",
};

/* PATH with a leading "T/" made T's, in one of a few rotating buffers; other paths as they are. */
static const char *tp(const char *path)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b;

	if (strncmp(path, "T/", 2) != 0 && strcmp(path, "T") != 0)
		return path;
	b = bufs[next++ % 8];
	snprintf(b, PATH_MAX, "%s%s", T, path + 1);
	return b;
}

static void make_tree(void)
{
	char tmpl[] = "/tmp/ptvfs-reverse-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, T));
	make_dirs_and_files(T, tree_dirs, sizeof(tree_dirs) / sizeof(tree_dirs[0]), tree_files,
			    sizeof(tree_files) / sizeof(tree_files[0]));
}

static void remove_tree(void)
{
	remove_tree_at(T);
}

TestSuite(view_reverse, .init = make_tree, .fini = remove_tree);

static void add_ok(struct view *v, enum layer_kind kind, const char *src, const char *dest)
{
	char *err = NULL;
	int ret = view_add(v, kind, src ? tp(src) : NULL, tp(dest), "--opt", &err);

	cr_assert_eq(ret, 0, "view_add %s %s: %d %s", src ? src : "-", dest, ret, err ? err : "");
	free(err);
}

static void seal_ok(struct view *v)
{
	char *err = NULL;

	cr_assert_eq(view_seal(v, &err), 0, "view_seal: %s", err ? err : "");
}

/* The views of the tables. */
enum which {
	BINDS,	   /* binds over the host's "/" */
	ORDER,	   /* a SRC bound to itself and elsewhere, in either order */
	ROOT,	   /* --root T/root */
	HERMETIC,  /* --hermetic with a manifest */
	INPUTS,	   /* a manifest over the host's "/" */
	ROOT_HOST, /* --root / */
};

static struct view *make_view(enum which which)
{
	struct view *v = view_new();
	char *err = NULL;
	FILE *f;

	switch (which) {
	case BINDS:
		add_ok(v, LAYER_BIND, "T/src", "/w");
		add_ok(v, LAYER_RO_BIND, "T/lib", "/w/lib"); /* nested */
		add_ok(v, LAYER_HIDE, NULL, "/w/secret");
		add_ok(v, LAYER_BIND, "T/src/sub", "/v"); /* a deeper SRC */
		add_ok(v, LAYER_BIND, "T/shared", "/s1");
		add_ok(v, LAYER_RO_BIND, "T/shared", "/s2");
		add_ok(v, LAYER_OVERLAY, "T/shared", "/s3"); /* the same SRC, the latest */
		add_ok(v, LAYER_HIDE, NULL, "/s3/f");
		add_ok(v, LAYER_TMPFS, "T/tmpdir", "/scratch");
		add_ok(v, LAYER_BIND, "T/file.txt",
		       "/etc/ptvfs-none/f"); /* a file, in a virtual directory */
		add_ok(v, LAYER_BIND, "T/lib", "/gone");
		add_ok(v, LAYER_HIDE, NULL, "/gone"); /* the same DEST, later: T/lib is not there */
		add_ok(v, LAYER_SYMLINK, "T/src", "/ln");
		break;
	case ORDER:
		add_ok(v, LAYER_RO_BIND, "T/lib", "T/lib");
		add_ok(v, LAYER_BIND, "T/lib", "/l");
		add_ok(v, LAYER_BIND, "T/src", "/w");
		add_ok(v, LAYER_RO_BIND, "T/src", "T/src");
		break;
	case ROOT:
		add_ok(v, LAYER_HIDE, NULL, "/proc");
		cr_assert_eq(view_set_root(v, tp("T/root"), &err), 0);
		add_ok(v, LAYER_BIND, "T/src", "/work");
		add_ok(v, LAYER_RO_BIND, "T/lib", "/mnt/data");
		break;
	case HERMETIC:
	case INPUTS:
		if (which == HERMETIC)
			view_set_hermetic(v);
		f = fopen(tp("T/inputs.txt"), "w");
		cr_assert_not_null(f);
		fputs("src/a.c\n"	  /* a file, at its own path */
		      "src/sub\n"	  /* a directory, at its own path */
		      "/in/d\tlib\n"	  /* a directory, elsewhere */
		      "/in/f\tfile.txt\n" /* a file, elsewhere */
		      "shared/g\n",
		      f);
		fclose(f);
		cr_assert_eq(view_add_inputs(v, tp("T/inputs.txt"), T, &err), 0, "%s",
			     err ? err : "");
		if (which == INPUTS) {
			add_ok(v, LAYER_RO_BIND, "T/file.txt", "T/shared/extra");
			add_ok(v, LAYER_OVERLAY, "T/lib", "/ov");
		}
		break;
	case ROOT_HOST:
		cr_assert_eq(view_set_root(v, "/", &err), 0);
		add_ok(v, LAYER_RO_BIND, "T/src", "T/src");
		break;
	}
	seal_ok(v);
	return v;
}

/* Host paths and view paths: "T/..." is below the tree. */
struct reverse_row {
	enum which view;
	const char *host;
	int ret;
	const char *path; /* the view path when RET is 0 */
};

static const struct reverse_row reverse_rows[] = {
    /* Binds, with what follows the SRC. */
    {BINDS, "T/src", 0, "/w"},
    {BINDS, "T/src/a.c", 0, "/w/a.c"},
    {BINDS, "T/src/not/there/yet", 0, "/w/not/there/yet"},
    /*
     * Nested binds: the deeper SRC wins; a path of the outer SRC under the
     * inner DEST is not there, but at its own path on the host's "/".
     */
    {BINDS, "T/lib/x.so", 0, "/w/lib/x.so"},
    {BINDS, "T/src/sub/c.h", 0, "/v/c.h"},
    {BINDS, "T/src/sub", 0, "/v"},
    {BINDS, "T/src/lib/z", 0, "T/src/lib/z"},
    /* Hidden where it is bound: back to the host's "/", where T is itself. */
    {BINDS, "T/src/secret/k", 0, "T/src/secret/k"},
    /* One SRC bound three times: the latest, unless a deeper hide covers it there. */
    {BINDS, "T/shared", 0, "/s3"},
    {BINDS, "T/shared/g", 0, "/s3/g"},
    {BINDS, "T/shared/f", 0, "/s2/f"},
    {BINDS, "T/tmpdir", 0, "/scratch"},
    {BINDS, "T/tmpdir/new", 0, "/scratch/new"},
    {BINDS, "T/file.txt", 0, "/etc/ptvfs-none/f"},
    /* Only the later hide is at /gone: T/lib is at /w/lib. */
    {BINDS, "T/lib/y.so", 0, "/w/lib/y.so"},
    /* The host's "/": itself, unless a DEST covers the same path. */
    {BINDS, "/", 0, "/"},
    {BINDS, "/usr/include/stdio.h", 0, "/usr/include/stdio.h"},
    {BINDS, "/etc/hostname", 0, "/etc/hostname"},
    {BINDS, "/etc/ptvfs-none/other", -ENOENT, NULL},
    {BINDS, "/w/a.c", -ENOENT, NULL},
    {BINDS, "/w", -ENOENT, NULL},
    {BINDS, "/ln", -ENOENT, NULL},
    {BINDS, "/s3/f", -ENOENT, NULL},
    /* A SRC bound to itself and elsewhere: the later declaration first. */
    {ORDER, "T/lib/x.so", 0, "/l/x.so"},
    {ORDER, "T/src/a.c", 0, "T/src/a.c"},
    {ORDER, "T/src", 0, "T/src"},
    /* --root: the base's SRC is T/root, at "/"; the host's /dev and /sys stay. */
    {ROOT, "T/root", 0, "/"},
    {ROOT, "T/root/usr/bin/tool", 0, "/usr/bin/tool"},
    {ROOT, "T/root/etc", 0, "/etc"},
    {ROOT, "T/src/a.c", 0, "/work/a.c"},
    {ROOT, "T/lib", 0, "/mnt/data"},
    {ROOT, "/dev/null", 0, "/dev/null"},
    {ROOT, "/sys/kernel", 0, "/sys/kernel"},
    {ROOT, "/proc/self", -ENOENT, NULL},
    {ROOT, "T/root/proc/1", -ENOENT, NULL},
    {ROOT, "T/root/work/a.c", -ENOENT, NULL},
    {ROOT, "/etc/passwd", -ENOENT, NULL},
    {ROOT, "/", -ENOENT, NULL},
    /* --hermetic: declared inputs and what is below an input directory, nothing beside them. */
    {HERMETIC, "T/src/a.c", 0, "T/src/a.c"},
    {HERMETIC, "T/src/b.h", -ENOENT, NULL},
    {HERMETIC, "T/src/sub", 0, "T/src/sub"},
    {HERMETIC, "T/src/sub/c.h", 0, "T/src/sub/c.h"},
    {HERMETIC, "T/lib", 0, "/in/d"},
    {HERMETIC, "T/lib/x.so", 0, "/in/d/x.so"},
    {HERMETIC, "T/file.txt", 0, "/in/f"},
    {HERMETIC, "T/file.txt/below", 0, "/in/f/below"},
    {HERMETIC, "T/shared/g", 0, "T/shared/g"},
    {HERMETIC, "T/shared/f", -ENOENT, NULL},
    /* A virtual directory in the view is not the host's directory. */
    {HERMETIC, "T/src", -ENOENT, NULL},
    {HERMETIC, "T", -ENOENT, NULL},
    {HERMETIC, "/etc/passwd", -ENOENT, NULL},
    {HERMETIC, "/", -ENOENT, NULL},
    {HERMETIC, "/dev/null", 0, "/dev/null"},
    /* Inputs over the host's "/"; T/lib is at /in/d, then at /ov: the later. */
    {INPUTS, "T/lib/x.so", 0, "/ov/x.so"},
    {INPUTS, "T/file.txt", 0, "T/shared/extra"}, /* declared after /in/f */
    {INPUTS, "T/src/b.h", 0, "T/src/b.h"},
    {INPUTS, "T/shared/extra", -ENOENT, NULL},
    {ROOT_HOST, "/usr/bin", 0, "/usr/bin"},
    {ROOT_HOST, "T/src/a.c", 0, "T/src/a.c"},
};

ParameterizedTestParameters(view_reverse, host_to_view)
{
	return ROWS(reverse_rows);
}

ParameterizedTest(size_t *row, view_reverse, host_to_view)
{
	const struct reverse_row *r = &reverse_rows[*row];
	struct view *v = make_view(r->view);
	const char *host = tp(r->host);
	char out[PATH_MAX];
	int ret = view_host_to_view(v, host, out);

	cr_assert_eq(ret, r->ret, "%s: %d, want %d (%s)", host, ret, r->ret, out);
	if (r->ret == 0) {
		struct view_target t;

		cr_assert_str_eq(out, tp(r->path), "%s: %s", host, out);
		/* The way back: the view path is the host path. */
		cr_assert_eq(view_lookup(v, out, &t), 0);
		cr_assert_eq(t.kind, VIEW_HOST);
		cr_assert_str_eq(t.host, host);
	} else {
		cr_assert_str_eq(out, "");
	}
	view_free(v);
}

/* The reverse index is in the image: a copy of it answers the same. */
Test(view_reverse, copied_image)
{
	struct view *v = make_view(BINDS), *c;
	size_t size = view_image_size(v);
	void *copy = xmalloc(size + 8);

	memcpy((char *)copy + 8, view_image(v), size);
	view_free(v);
	c = view_from_image((char *)copy + 8, size);
	cr_assert_not_null(c);
	for (size_t i = 0; i < sizeof(reverse_rows) / sizeof(reverse_rows[0]); i++) {
		const struct reverse_row *r = &reverse_rows[i];
		char out[PATH_MAX];

		if (r->view != BINDS)
			continue;
		cr_assert_eq(view_host_to_view(c, tp(r->host), out), r->ret, "%s", r->host);
		if (r->ret == 0)
			cr_assert_str_eq(out, tp(r->path));
	}
	view_free(c);
	free(copy);
}

Test(view_reverse, errors)
{
	struct view *v = view_new();
	char out[PATH_MAX], *host = xmalloc(PATH_MAX + 1);

	cr_assert_eq(view_host_to_view(v, "/", out), -EINVAL); /* not sealed */
	seal_ok(v);
	cr_assert_eq(view_host_to_view(v, "usr/lib", out), -EINVAL);
	cr_assert_eq(view_host_to_view(v, "", out), -EINVAL);
	cr_assert_eq(view_host_to_view(v, "/usr//lib", out), -EINVAL);
	cr_assert_eq(view_host_to_view(v, "//usr", out), -EINVAL);
	cr_assert_eq(view_host_to_view(v, "/usr/", out), -EINVAL);
	cr_assert_str_eq(out, "");
	/* PATH_MAX - 1 bytes: itself; PATH_MAX: too long. */
	for (size_t i = 0; i < PATH_MAX; i++)
		host[i] = i % 2 ? 'x' : '/';
	host[PATH_MAX - 2] = 'x';
	host[PATH_MAX - 1] = '\0';
	cr_assert_eq(view_host_to_view(v, host, out), 0);
	cr_assert_str_eq(out, host);
	host[PATH_MAX - 1] = 'x';
	host[PATH_MAX] = '\0';
	cr_assert_eq(view_host_to_view(v, host, out), -ENAMETOOLONG);
	view_free(v);
	free(host);
}

/* A host path whose only view path is too long; visible elsewhere too, that one. */
Test(view_reverse, too_long_view_paths)
{
	struct view *v = view_new();
	char dest[PATH_MAX], host[PATH_MAX], out[PATH_MAX];
	size_t n;

	view_set_hermetic(v);
	memset(dest, 'd', sizeof(dest));
	dest[0] = '/';
	n = PATH_MAX - 10;
	dest[n] = '\0';
	add_ok(v, LAYER_BIND, "T/src", dest);
	add_ok(v, LAYER_RO_BIND, "T/src/sub", "/short");
	seal_ok(v);
	/* DEST and "/a.c" fit; DEST and "/.../long-name" do not. */
	cr_assert_eq(view_host_to_view(v, tp("T/src/a.c"), out), 0);
	cr_assert_eq(strlen(out), n + 4);
	snprintf(host, sizeof(host), "%s/%s", tp("T/src"), "a-long-enough-name");
	cr_assert_eq(view_host_to_view(v, host, out), -ENAMETOOLONG);
	cr_assert_str_eq(out, "");
	snprintf(host, sizeof(host), "%s/%s", tp("T/src/sub"), "a-long-enough-name");
	cr_assert_eq(view_host_to_view(v, host, out), 0);
	cr_assert_str_eq(out, "/short/a-long-enough-name");
	view_free(v);
}

/* 100,000 inputs from 20 sources: the latest declaration of a source, through chains of 5,000. */
Test(view_reverse, many_inputs_of_one_source)
{
	struct strbuf sb = {0};
	struct view *v = view_new();
	char *err = NULL, out[PATH_MAX], want[64];
	FILE *f;

	/* Sources relative (copied) and absolute (left in the manifest's text). */
	for (int i = 0; i < 100000; i++)
		strbuf_addf(&sb, "out/d%04d/f%05d.o\t%s\n", i % 3000, i,
			    i % 20 == 0 ? "file.txt"
			    : i % 2	? tp("T/src/a.c")
					: "lib/x.so");
	f = fopen(tp("T/many.txt"), "w");
	cr_assert_not_null(f);
	fwrite(sb.buf, 1, sb.len, f);
	fclose(f);
	strbuf_release(&sb);
	view_set_hermetic(v);
	cr_assert_eq(view_add_inputs(v, tp("T/many.txt"), T, &err), 0, "%s", err ? err : "");
	/* The latest of src/a.c, declared again: a hide, out of the index. */
	add_ok(v, LAYER_HIDE, NULL, "T/out/d0999/f99999.o");
	seal_ok(v);
	cr_assert_eq(view_host_to_view(v, tp("T/file.txt"), out), 0);
	snprintf(want, sizeof(want), "/out/d%04d/f%05d.o", 99980 % 3000, 99980);
	cr_assert_str_eq(out + strlen(T), want);
	cr_assert_eq(view_host_to_view(v, tp("T/src/a.c"), out), 0);
	snprintf(want, sizeof(want), "/out/d%04d/f%05d.o", 99997 % 3000, 99997);
	cr_assert_str_eq(out + strlen(T), want);
	cr_assert_eq(view_host_to_view(v, tp("T/src/b.h"), out), -ENOENT);
	view_free(v);
}

/* Which view directories list as their host directory does. */
struct plain_row {
	enum which view;
	const char *dir;
	bool plain;
};

static const struct plain_row plain_rows[] = {
    /* Bind points, hides and links below: not plain. */
    {BINDS, "/", false},
    {BINDS, "/w", false},
    {BINDS, "/etc", false}, /* a virtual directory in it */
    {BINDS, "/etc/ptvfs-none", false},
    {BINDS, "/s3", false}, /* a hide below */
    /* Nothing declared below. */
    {BINDS, "/usr", true},
    {BINDS, "/usr/include", true},
    {BINDS, "/w/lib", true},
    {BINDS, "/w/sub", true},
    {BINDS, "/s2", true},
    {BINDS, "/scratch", true},
    /* Not a host directory. */
    {BINDS, "/w/secret", false},
    {BINDS, "/gone", false},
    {BINDS, "/ln", false},
    {BINDS, "/nothing/there", true}, /* VIEW_HOST: the host says what it is */
    /* T/lib and T/src at their own paths, over the host's "/". */
    {ORDER, "T/src", true},
    {ORDER, "T", true},
    {ORDER, "/", false},
    /* --root: "/" holds the host's /dev, /proc, /sys; /mnt is virtual. */
    {ROOT, "/", false},
    {ROOT, "/usr", true},
    {ROOT, "/usr/bin", true},
    {ROOT, "/mnt", false},
    {ROOT, "/mnt/data", true},
    {ROOT, "/proc", false},
    /* --hermetic: virtual directories are not; an input directory is. */
    {HERMETIC, "/", false},
    {HERMETIC, "/in", false},
    {HERMETIC, "/in/d", true},
    {HERMETIC, "T/src", false},
    {HERMETIC, "T/src/sub", true},
    {HERMETIC, "/dev", true},
    /* Inputs at their own path over the host's "/": their directories list the same. */
    {INPUTS, "T/src", true},
    {INPUTS, "T/src/sub", true},
    {INPUTS, "T", true},
    {INPUTS, "T/shared", false}, /* T/file.txt at T/shared/extra */
    {INPUTS, "/", false},	 /* /in is virtual */
    {INPUTS, "/in", false},
    {INPUTS, "/ov", true}, /* an overlay: its captured writes are not the view's */
    {INPUTS, "/ov/sub", true},
    /* --root /: the host as it is; the host's /dev, /proc, /sys are at their own paths. */
    {ROOT_HOST, "/", true},
    {ROOT_HOST, "/tmp", true},
    {ROOT_HOST, "T", true},
};

ParameterizedTestParameters(view_reverse, dir_is_plain)
{
	return ROWS(plain_rows);
}

ParameterizedTest(size_t *row, view_reverse, dir_is_plain)
{
	const struct plain_row *r = &plain_rows[*row];
	struct view *v = make_view(r->view);

	cr_assert_eq(view_dir_is_plain(v, tp(r->dir)), r->plain, "%s", tp(r->dir));
	view_free(v);
}

Test(view_reverse, dir_is_plain_needs_a_sealed_view)
{
	struct view *v = view_new();

	cr_assert_not(view_dir_is_plain(v, "/"));
	seal_ok(v);
	cr_assert(view_dir_is_plain(v, "/"));
	cr_assert_not(view_dir_is_plain(v, "relative"));
	view_free(v);
}
