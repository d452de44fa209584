// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "upper_changes.h"
#include "ptvfs/util.h"

int beneath_parent(int rootfd, const char *rel, const char **name)
{
	const char *p = rel, *slash;
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	while ((slash = strchr(p, '/'))) {
		char comp[NAME_MAX + 1];
		size_t len = slash - p;
		int next;

		if (len > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (!len || !strcmp(comp, ".") || !strcmp(comp, "..")) {
			close(fd);
			return -EINVAL; /* never out of ROOTFD */
		}
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return errno == ELOOP ? -ENOTDIR : -errno;
		fd = next;
		p = slash + 1;
	}
	if (!*p || !strcmp(p, ".") || !strcmp(p, "..")) {
		close(fd);
		return -EINVAL;
	}
	*name = p;
	return fd;
}

int beneath_stat(int rootfd, const char *rel, struct stat *st)
{
	const char *name;
	int fd = beneath_parent(rootfd, rel, &name), ret = 0;

	if (fd < 0)
		return fd;
	if (fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int beneath_read(int rootfd, const char *rel, char **data, size_t *len)
{
	const char *name;
	autoclose int dir = beneath_parent(rootfd, rel, &name);
	autoclose int fd = -1;
	struct stat st;

	if (dir < 0)
		return dir;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		size_t cap = st.st_size + 2 > 256 ? st.st_size + 2 : 256;

		for (;;) {
			char *buf = xmalloc(cap);
			ssize_t n = readlinkat(dir, name, buf, cap);

			if (n < 0) {
				int err = -errno;
				free(buf);
				return err;
			}
			if ((size_t)n < cap - 1) {
				buf[n] = '\0';
				*data = buf;
				*len = n;
				return 0;
			}
			free(buf);
			cap *= 2;
		}
	}
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_fd_whole(fd, data, len);
}

struct vec {
	char **v;
	size_t n, cap;
};

static void vec_add(struct vec *v, const char *s)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 64;
		v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	v->v[v->n++] = xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_str_desc(const void *a, const void *b)
{
	return -cmp_str(a, b);
}

/* Sort V (descending with DESC) and drop repeats. */
static void vec_sort_unique(struct vec *v, bool desc)
{
	size_t k = 0;

	if (!v->n)
		return;
	qsort(v->v, v->n, sizeof(*v->v), desc ? cmp_str_desc : cmp_str);
	for (size_t i = 0; i < v->n; i++) {
		if (k && !strcmp(v->v[k - 1], v->v[i])) {
			free(v->v[i]);
			continue;
		}
		v->v[k++] = v->v[i];
	}
	v->n = k;
}

struct walk {
	struct overlay_changes *c;
	struct vec candidates, rmdirs, mkdirs, skipped;
	char *err;
};

/* SRC/REL: 0 and *ST when it is there, -ENOENT when not (also below a link or a file). */
static int src_stat(struct overlay_changes *c, const char *rel, struct stat *st)
{
	int ret = beneath_stat(c->src_fd, rel, st);

	return ret == -ENOTDIR ? -ENOENT : ret;
}

/* REL in the view: 0 and *ST when it is there (*FROM_UPPER: in UPPER/N), -ENOENT when not. */
static int view_stat(struct overlay_changes *c, const char *rel, struct stat *st, bool *from_upper)
{
	int ret = beneath_stat(c->upper_fd, rel, st);

	*from_upper = ret == 0;
	if (ret == 0 || ret == -ENOTDIR)
		return ret == 0 ? 0 : -ENOENT;
	if (ret != -ENOENT)
		return ret;
	if (upper_is_whiteout(c->u, c->n, rel))
		return -ENOENT;
	return src_stat(c, rel, st);
}

static bool view_is_dir(struct overlay_changes *c, const char *rel)
{
	struct stat st;
	bool up;

	return view_stat(c, rel, &st, &up) == 0 && S_ISDIR(st.st_mode);
}

static void join(struct strbuf *sb, size_t base, const char *name)
{
	sb->len = base;
	if (base)
		strbuf_addch(sb, '/');
	strbuf_addstr(sb, name);
}

static void walk_fail(struct walk *w, const char *root, const char *rel, int err)
{
	if (!w->err)
		w->err = xasprintf("%s/%s: %s", root, rel, strerror(err));
}

/* Everything below the SRC directory REL (opened as DIRFD) is a candidate. */
static void walk_src_below(struct walk *w, int dirfd, struct strbuf *rel)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	size_t base = rel->len;

	if (!d) {
		walk_fail(w, w->c->src, rel->buf, errno);
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		join(rel, base, de->d_name);
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, de->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (!view_is_dir(w->c, rel->buf))
				vec_add(&w->rmdirs, rel->buf);
			if (fd < 0)
				walk_fail(w, w->c->src, rel->buf, errno);
			else
				walk_src_below(w, fd, rel);
		} else {
			vec_add(&w->candidates, rel->buf);
		}
	}
	rel->len = base;
	rel->buf[base] = '\0';
	closedir(d);
}

/* The SRC directory REL and all below it left the view (or may have). */
static void src_dir_gone(struct walk *w, const char *path)
{
	struct strbuf rel = {0};
	const char *name;
	int parent = beneath_parent(w->c->src_fd, path, &name), fd;

	if (parent < 0)
		return;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(parent);
	if (!view_is_dir(w->c, path))
		vec_add(&w->rmdirs, path);
	if (fd < 0) {
		walk_fail(w, w->c->src, path, errno);
		return;
	}
	strbuf_addstr(&rel, path);
	walk_src_below(w, fd, &rel);
	strbuf_release(&rel);
}

static void walk_upper(struct walk *w, int dirfd, struct strbuf *rel)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	size_t base = rel->len;

	if (!d) {
		walk_fail(w, w->c->upper_dir, rel->buf, errno);
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st, lower;
		bool in_src;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		join(rel, base, de->d_name);
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			walk_fail(w, w->c->upper_dir, rel->buf, errno);
			continue;
		}
		in_src = src_stat(w->c, rel->buf, &lower) == 0;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, de->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (in_src && !S_ISDIR(lower.st_mode))
				vec_add(&w->candidates, rel->buf);
			if (!in_src || !S_ISDIR(lower.st_mode))
				vec_add(&w->mkdirs, rel->buf);
			if (fd < 0)
				walk_fail(w, w->c->upper_dir, rel->buf, errno);
			else
				walk_upper(w, fd, rel);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			vec_add(&w->candidates, rel->buf);
			if (in_src && S_ISDIR(lower.st_mode))
				src_dir_gone(w, rel->buf);
		} else {
			vec_add(&w->skipped, rel->buf);
		}
	}
	rel->len = base;
	if (rel->buf)
		rel->buf[base] = '\0';
	closedir(d);
}

static int open_beneath(int rootfd, const char *rel)
{
	const char *name;
	int dir = beneath_parent(rootfd, rel, &name), fd;

	if (dir < 0)
		return dir;
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fd = -errno;
	close(dir);
	return fd;
}

/* Whether SRC/OLD_REL and UPPER/NEW_REL, both of type MODE, hold the same bytes (or link target). */
static bool same_contents(struct overlay_changes *c, const char *old_rel, const char *new_rel,
			  mode_t mode)
{
	static char a[65536], b[65536];
	autoclose int fa = -1;
	autoclose int fb = -1;

	if (S_ISLNK(mode)) {
		autofree char *ta = NULL;
		autofree char *tb = NULL;
		size_t la, lb;

		return beneath_read(c->src_fd, old_rel, &ta, &la) == 0 &&
		       beneath_read(c->upper_fd, new_rel, &tb, &lb) == 0 && la == lb &&
		       !memcmp(ta, tb, la);
	}
	fa = open_beneath(c->src_fd, old_rel);
	fb = open_beneath(c->upper_fd, new_rel);
	if (fa < 0 || fb < 0)
		return false;
	for (;;) {
		ssize_t na = read(fa, a, sizeof(a)), nb;
		size_t got = 0;

		if (na < 0)
			return false;
		while (got < (size_t)na) {
			nb = read(fb, b + got, na - got);
			if (nb <= 0)
				return false;
			got += nb;
		}
		if (memcmp(a, b, na))
			return false;
		if (na == 0)
			return read(fb, b, 1) == 0;
	}
}

static void add_change(struct overlay_changes *c, size_t *cap, enum change_kind kind,
		       const char *old_rel, const char *new_rel, mode_t old_mode, mode_t new_mode)
{
	struct change *ch;

	if (c->count == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		c->list = xrealloc(c->list, *cap * sizeof(*c->list));
	}
	ch = &c->list[c->count++];
	ch->kind = kind;
	ch->old_rel = old_rel ? xstrdup(old_rel) : NULL;
	ch->new_rel = new_rel ? xstrdup(new_rel) : NULL;
	ch->old_mode = old_mode;
	ch->new_mode = new_mode;
}

/* Whether REL is below (or is) a .git directory: git's own data, which git apply refuses. */
static bool in_git_dir(const char *rel)
{
	for (const char *p = rel; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
		if (!strncasecmp(p, ".git", 4) && (p[4] == '/' || !p[4]))
			return true;
	return false;
}

static void classify_path(struct overlay_changes *c, const char *rel, size_t *cap);

static void classify(struct overlay_changes *c, const char *rel, size_t *cap)
{
	size_t before = c->count;

	classify_path(c, rel, cap);
	if (c->count == before || !in_git_dir(rel))
		return;
	c->n_git++;
	while (c->count > before) {
		c->count--;
		free(c->list[c->count].old_rel);
		free(c->list[c->count].new_rel);
	}
}

static void classify_path(struct overlay_changes *c, const char *rel, size_t *cap)
{
	struct stat old, new;
	bool has_old = src_stat(c, rel, &old) == 0 && !S_ISDIR(old.st_mode);
	bool from_upper,
	    has_new = view_stat(c, rel, &new, &from_upper) == 0 && !S_ISDIR(new.st_mode);

	if (!has_old && !has_new)
		return;
	if (!has_old) {
		add_change(c, cap, CHANGE_ADD, NULL, rel, 0, new.st_mode);
	} else if (!has_new) {
		add_change(c, cap, CHANGE_DELETE, rel, NULL, old.st_mode, 0);
	} else if ((old.st_mode & S_IFMT) != (new.st_mode &S_IFMT)) {
		add_change(c, cap, CHANGE_DELETE, rel, NULL, old.st_mode, 0);
		add_change(c, cap, CHANGE_ADD, NULL, rel, 0, new.st_mode);
	} else if (from_upper &&
		   ((!S_ISLNK(old.st_mode) && (old.st_mode & 07777) != (new.st_mode & 07777)) ||
		    old.st_size != new.st_size || !same_contents(c, rel, rel, old.st_mode))) {
		add_change(c, cap, CHANGE_MODIFY, rel, rel, old.st_mode, new.st_mode);
	}
}

static int cmp_new_rel(const void *a, const void *b)
{
	const struct change *x = *(struct change *const *)a, *y = *(struct change *const *)b;

	return strcmp(x->new_rel, y->new_rel);
}

/* Where the renames in the record took OLD_REL: a malloc'd path (OLD_REL itself when nowhere). */
static char *follow_renames(const struct upper_rename *renames, size_t count, const char *old_rel)
{
	char *cur = xstrdup(old_rel);

	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(renames[i].from);

		if (strncmp(cur, renames[i].from, len) || (cur[len] && cur[len] != '/'))
			continue;
		{
			char *next = xasprintf("%s%s", renames[i].to, cur + len);
			free(cur);
			cur = next;
		}
	}
	return cur;
}

/* A deletion and an addition that a recorded rename links, with the same contents, make a rename. */
static void pair_renames(struct overlay_changes *c)
{
	size_t nren, nadd = 0;
	autofree struct upper_rename *renames = upper_renames(c->u, c->n, &nren);
	autofree struct change **adds = xmalloc((c->count + 1) * sizeof(*adds));

	if (!nren)
		return;
	for (size_t i = 0; i < c->count; i++)
		if (c->list[i].kind == CHANGE_ADD)
			adds[nadd++] = &c->list[i];
	qsort(adds, nadd, sizeof(*adds), cmp_new_rel);
	for (size_t i = 0; i < c->count; i++) {
		struct change *del = &c->list[i], key, *keyp = &key, **found;
		autofree char *to = NULL;

		if (del->kind != CHANGE_DELETE)
			continue;
		to = follow_renames(renames, nren, del->old_rel);
		if (!strcmp(to, del->old_rel))
			continue;
		key.new_rel = to;
		found = bsearch(&keyp, adds, nadd, sizeof(*adds), cmp_new_rel);
		if (!found || (*found)->kind != CHANGE_ADD ||
		    ((*found)->new_mode & S_IFMT) != (del->old_mode & S_IFMT) ||
		    !same_contents(c, del->old_rel, to, del->old_mode))
			continue;
		del->kind = CHANGE_RENAME;
		del->new_rel = xstrdup(to);
		del->new_mode = (*found)->new_mode;
		/* The addition is used up: it goes when the list is compacted. */
		(*found)->kind = CHANGE_RENAME;
		free((*found)->old_rel);
		(*found)->old_rel = NULL;
	}
}

static const char *sort_key(const struct change *ch)
{
	return ch->kind == CHANGE_DELETE ? ch->old_rel : ch->new_rel;
}

static int cmp_changes(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int r = strcmp(sort_key(x), sort_key(y));

	if (r)
		return r;
	return (x->kind != CHANGE_DELETE) - (y->kind != CHANGE_DELETE);
}

static char **vec_steal(struct vec *v, size_t *n)
{
	*n = v->n;
	return v->v;
}

int changes_compute(struct overlay_changes *c, const struct upper *u, int n, char **err)
{
	struct walk w = {.c = c};
	struct strbuf rel = {0};
	size_t nwh, cap = 0, k = 0;
	autofree const char **whiteouts = NULL;
	int fd;

	memset(c, 0, sizeof(*c));
	c->src_fd = c->upper_fd = -1;
	c->u = u;
	c->n = n;
	c->src = upper_overlay_src(u, n);
	c->upper_dir = upper_overlay_dir(u, n);
	c->src_fd = open(c->src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->src_fd < 0) {
		*err = xasprintf("%s: %s", c->src, strerror(errno));
		return -errno;
	}
	c->upper_fd = open(c->upper_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->upper_fd < 0) {
		*err = xasprintf("%s: %s", c->upper_dir, strerror(errno));
		return -errno;
	}

	fd = open(c->upper_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		walk_fail(&w, c->upper_dir, "", errno);
	else
		walk_upper(&w, fd, &rel);
	strbuf_release(&rel);

	whiteouts = upper_whiteouts(u, n, &nwh);
	for (size_t i = 0; i < nwh; i++) {
		const char *wh = whiteouts[i], *slash = strrchr(wh, '/');
		struct stat st;

		if (slash) {
			autofree char *parent = xstrndup(wh, slash - wh);

			/* The walk below the whiteout of an ancestor covers it. */
			if (upper_is_whiteout(u, n, parent))
				continue;
		}
		if (src_stat(c, wh, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			src_dir_gone(&w, wh);
		else
			vec_add(&w.candidates, wh);
	}

	vec_sort_unique(&w.candidates, false);
	for (size_t i = 0; i < w.candidates.n; i++) {
		classify(c, w.candidates.v[i], &cap);
		free(w.candidates.v[i]);
	}
	free(w.candidates.v);

	pair_renames(c);
	for (size_t i = 0; i < c->count; i++) {
		struct change *ch = &c->list[i];

		if (ch->kind == CHANGE_RENAME && !ch->old_rel) {
			free(ch->new_rel);
			continue;
		}
		c->list[k++] = *ch;
	}
	c->count = k;
	if (c->count)
		qsort(c->list, c->count, sizeof(*c->list), cmp_changes);

	for (struct vec *v = &w.rmdirs; v; v = v == &w.rmdirs ? &w.mkdirs : NULL) {
		k = 0;
		for (size_t i = 0; i < v->n; i++) {
			if (in_git_dir(v->v[i]))
				free(v->v[i]);
			else
				v->v[k++] = v->v[i];
		}
		v->n = k;
	}
	vec_sort_unique(&w.rmdirs, true);
	vec_sort_unique(&w.mkdirs, false);
	vec_sort_unique(&w.skipped, false);
	c->rmdirs = vec_steal(&w.rmdirs, &c->n_rmdirs);
	c->mkdirs = vec_steal(&w.mkdirs, &c->n_mkdirs);
	c->skipped = vec_steal(&w.skipped, &c->n_skipped);
	if (w.err) {
		*err = w.err;
		return -EIO;
	}
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void changes_free(struct overlay_changes *c)
{
	for (size_t i = 0; i < c->count; i++) {
		free(c->list[i].old_rel);
		free(c->list[i].new_rel);
	}
	free(c->list);
	free_strings(c->rmdirs, c->n_rmdirs);
	free_strings(c->mkdirs, c->n_mkdirs);
	free_strings(c->skipped, c->n_skipped);
	if (c->src_fd >= 0)
		close(c->src_fd);
	if (c->upper_fd >= 0)
		close(c->upper_fd);
	memset(c, 0, sizeof(*c));
	c->src_fd = c->upper_fd = -1;
}
