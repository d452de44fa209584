// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ptvfs/sha.h"
#include "upper_internal.h"

/* REL without leading and trailing slashes, into BUF; NULL when empty or too long. */
static const char *clean_rel(const char *rel, char *buf, size_t size)
{
	size_t len;

	while (*rel == '/')
		rel++;
	len = strlen(rel);
	while (len && rel[len - 1] == '/')
		len--;
	if (!len || len >= size)
		return NULL;
	memcpy(buf, rel, len);
	buf[len] = '\0';
	return upper_rel_ok(buf) ? buf : NULL;
}

bool upper_rel_ok(const char *rel)
{
	const char *p = rel;

	if (!*rel)
		return false;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

struct entry *upper_find(struct entry *table, int n, const char *rel, size_t rel_len)
{
	char key[PATH_MAX + 16];
	int head = snprintf(key, sizeof(key), "%d/", n);
	struct entry *e;

	if (rel_len >= sizeof(key) - head)
		return NULL;
	memcpy(key + head, rel, rel_len);
	HASH_FIND(hh, table, key, head + rel_len, e);
	return e;
}

struct entry *upper_add_entry(struct upper *u, struct entry **table, int n, const char *rel,
			      const struct upper_identity *id)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->key = xasprintf("%d/%s", n, rel);
	e->n = n;
	e->rel = strchr(e->key, '/') + 1;
	e->id = *id;
	HASH_ADD_KEYPTR(hh, *table, e->key, strlen(e->key), e);
	if (!u->loading)
		upper_journal_entry(u, table == &u->copied ? "copied_up" : "whiteout", e);
	return e;
}

void upper_add_rename(struct upper *u, int n, const char *from, const char *to)
{
	struct rename_rec *r;

	u->renames = xrealloc(u->renames, (u->n_renames + 1) * sizeof(*u->renames));
	r = &u->renames[u->n_renames++];
	r->n = n;
	r->from = xstrdup(from);
	r->to = xstrdup(to);
	if (!u->loading)
		upper_journal_rename(u, r);
}

void upper_add_overlay_rec(struct upper *u, const char *src, const char *dest)
{
	struct overlay *o;

	u->overlays = xrealloc(u->overlays, (u->n_overlays + 1) * sizeof(*u->overlays));
	o = &u->overlays[u->n_overlays++];
	o->src = xstrdup(src);
	o->dest = xstrdup(dest);
	o->dir = xasprintf("%s/%d", u->dir, u->n_overlays);
	if (!u->loading)
		upper_journal_overlay(u, u->n_overlays);
}

static void free_table(struct entry **table)
{
	struct entry *e, *tmp;

	HASH_ITER(hh, *table, e, tmp)
	{
		HASH_DEL(*table, e);
		free(e->key);
		free(e);
	}
}

static long long mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static int hash_fd(int fd, unsigned char digest[32])
{
	autofree char *buf = xmalloc(1 << 17);
	struct sha256_ctx c;

	sha256_init(&c);
	for (;;) {
		ssize_t got = read(fd, buf, 1 << 17);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		sha256_update(&c, buf, got);
	}
	sha256_final(&c, digest);
	return 0;
}

int upper_identity_at(int dirfd, const char *name, struct upper_identity *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	id->mode = st.st_mode;
	if (S_ISDIR(st.st_mode))
		return 0;
	id->size = st.st_size;
	id->mtime_ns = mtime_ns(&st);
	if (S_ISREG(st.st_mode)) {
		autoclose int fd =
		    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		struct stat now;

		/* Unreadable: the identity is size, mtime and mode alone. */
		if (fd < 0 || fstat(fd, &now) < 0 || now.st_ino != st.st_ino ||
		    now.st_dev != st.st_dev)
			return 0;
		id->has_sha256 = hash_fd(fd, id->sha256) == 0;
	} else if (S_ISLNK(st.st_mode)) {
		size_t cap = st.st_size + 1 > 256 ? st.st_size + 1 : 256;

		for (;;) {
			autofree char *target = xmalloc(cap);
			ssize_t len = readlinkat(dirfd, name, target, cap);
			struct sha256_ctx c;

			if (len < 0)
				return 0;
			if ((size_t)len == cap) {
				cap *= 2;
				continue;
			}
			id->size = len;
			sha256_init(&c);
			sha256_update(&c, target, len);
			sha256_final(&c, id->sha256);
			id->has_sha256 = true;
			return 0;
		}
	}
	return 0;
}

bool upper_identity_equal(const struct upper_identity *a, const struct upper_identity *b)
{
	if (a->mode != b->mode)
		return false;
	if (S_ISDIR(a->mode))
		return true;
	if (a->size != b->size)
		return false;
	/* The same bytes are the same file, touched or not; without them the time decides. */
	if (a->has_sha256 && b->has_sha256)
		return memcmp(a->sha256, b->sha256, 32) == 0;
	return a->mtime_ns == b->mtime_ns;
}

/* Make DIR and its missing parents; the last one with MODE. */
static int make_dirs(const char *dir, mode_t mode)
{
	autofree char *path = xstrdup(dir);

	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool empty = true;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

struct upper *upper_open(const char *dir, char **err)
{
	struct upper *u;
	autofree char *abs = NULL;
	bool missing;
	int ret;

	ret = make_dirs(dir, 0700);
	if (ret < 0) {
		*err = xasprintf("%s: %s", dir, strerror(-ret));
		return NULL;
	}
	abs = realpath(dir, NULL);
	if (!abs) {
		*err = xasprintf("%s: %s", dir, strerror(errno));
		return NULL;
	}
	u = xcalloc(1, sizeof(*u));
	u->dir = steal_pointer(&abs);
	if (upper_record_load(u, &missing, err) < 0) {
		upper_free(u);
		return NULL;
	}
	if (missing && !dir_is_empty(u->dir)) {
		*err = xasprintf(
		    "%s: not empty and no " UPPER_RECORD " in it: not an upper directory", dir);
		upper_free(u);
		return NULL;
	}
	return u;
}

void upper_free(struct upper *u)
{
	if (!u)
		return;
	/* A writer leaves the record whole: the journal folded into it. */
	if (u->journaled || (u->record_exists && u->pending.len))
		upper_record_write(u);
	strbuf_release(&u->pending);
	for (int i = 0; i < u->n_overlays; i++) {
		free(u->overlays[i].src);
		free(u->overlays[i].dest);
		free(u->overlays[i].dir);
	}
	free(u->overlays);
	free_table(&u->copied);
	free_table(&u->whiteouts);
	for (size_t i = 0; i < u->n_renames; i++) {
		free(u->renames[i].from);
		free(u->renames[i].to);
	}
	free(u->renames);
	free(u->dir);
	free(u);
}

const char *upper_dir(const struct upper *u)
{
	return u->dir;
}

int upper_add_overlay(struct upper *u, const char *src, const char *dest)
{
	for (int i = 0; i < u->n_overlays; i++) {
		if (!strcmp(u->overlays[i].src, src) && !strcmp(u->overlays[i].dest, dest)) {
			upper_overlay_dir(u, i + 1);
			return i + 1;
		}
	}
	upper_add_overlay_rec(u, src, dest);
	if (mkdir(u->overlays[u->n_overlays - 1].dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return u->n_overlays;
}

const char *upper_overlay_dir(const struct upper *u, int n)
{
	if (n < 1 || n > u->n_overlays)
		return NULL;
	mkdir(u->overlays[n - 1].dir, 0755);
	return u->overlays[n - 1].dir;
}

int upper_overlay_count(const struct upper *u)
{
	return u->n_overlays;
}

const char *upper_overlay_src(const struct upper *u, int n)
{
	return n >= 1 && n <= u->n_overlays ? u->overlays[n - 1].src : NULL;
}

const char *upper_overlay_dest(const struct upper *u, int n)
{
	return n >= 1 && n <= u->n_overlays ? u->overlays[n - 1].dest : NULL;
}

bool upper_is_whiteout_exact(const struct upper *u, int n, const char *rel)
{
	char buf[PATH_MAX];

	rel = clean_rel(rel, buf, sizeof(buf));
	return rel && u->whiteouts && upper_find(u->whiteouts, n, rel, strlen(rel));
}

bool upper_is_whiteout(const struct upper *u, int n, const char *rel)
{
	char buf[PATH_MAX];
	size_t len;

	if (!u->whiteouts)
		return false;
	rel = clean_rel(rel, buf, sizeof(buf));
	if (!rel)
		return false;
	len = strlen(rel);
	for (size_t i = 1; i <= len; i++) {
		if ((i == len || rel[i] == '/') && upper_find(u->whiteouts, n, rel, i))
			return true;
	}
	return false;
}

bool upper_was_copied_up(const struct upper *u, int n, const char *rel)
{
	return upper_copy_up_identity(u, n, rel) != NULL;
}

/* The identity TABLE (copy-ups or whiteouts) holds for overlay N's REL, or NULL. */
static const struct upper_identity *identity_in(struct entry *table, int n, const char *rel)
{
	char buf[PATH_MAX];
	struct entry *e;

	rel = clean_rel(rel, buf, sizeof(buf));
	e = rel ? upper_find(table, n, rel, strlen(rel)) : NULL;
	return e ? &e->id : NULL;
}

const struct upper_identity *upper_copy_up_identity(const struct upper *u, int n, const char *rel)
{
	return identity_in(u->copied, n, rel);
}

const struct upper_identity *upper_whiteout_identity(const struct upper *u, int n, const char *rel)
{
	return identity_in(u->whiteouts, n, rel);
}

int upper_note_copy_up(struct upper *u, int n, const char *rel, const char *lower_path)
{
	char buf[PATH_MAX];
	struct upper_identity id;
	int ret;

	if (n < 1 || n > u->n_overlays)
		return -EINVAL;
	rel = clean_rel(rel, buf, sizeof(buf));
	if (!rel)
		return -EINVAL;
	if (upper_find(u->copied, n, rel, strlen(rel)) || upper_is_whiteout(u, n, rel))
		return 0;
	ret = upper_identity_at(AT_FDCWD, lower_path, &id);
	if (ret < 0)
		return ret;
	upper_add_entry(u, &u->copied, n, rel, &id);
	return 0;
}

/* Record every object below the lower directory DIRFD (overlay N's REL) as a whiteout. */
/* The lower object NAME in DIRFD (overlay N's REL): as copied up when it was (no second hash). */
static int lower_identity(struct upper *u, int n, const char *rel, int dirfd, const char *name,
			  struct upper_identity *id)
{
	struct entry *e = upper_find(u->copied, n, rel, strlen(rel));

	if (e) {
		*id = e->id;
		return 0;
	}
	return upper_identity_at(dirfd, name, id);
}

static void whiteout_below(struct upper *u, int n, int dirfd, struct strbuf *rel)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	size_t base = rel->len;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		struct upper_identity id;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rel->len = base;
		strbuf_addch(rel, '/');
		strbuf_addstr(rel, de->d_name);
		if (upper_find(u->whiteouts, n, rel->buf, rel->len) ||
		    lower_identity(u, n, rel->buf, dirfd, de->d_name, &id) < 0)
			continue;
		upper_add_entry(u, &u->whiteouts, n, rel->buf, &id);
		if (S_ISDIR(id.mode)) {
			int fd = openat(dirfd, de->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0)
				whiteout_below(u, n, fd, rel);
		}
	}
	rel->len = base;
	rel->buf[base] = '\0';
	closedir(d);
}

int upper_note_whiteout(struct upper *u, int n, const char *rel, const char *lower_path)
{
	char buf[PATH_MAX];
	struct upper_identity id;
	struct stat st;
	int ret;

	if (n < 1 || n > u->n_overlays)
		return -EINVAL;
	rel = clean_rel(rel, buf, sizeof(buf));
	if (!rel)
		return -EINVAL;
	if (upper_is_whiteout(u, n, rel))
		return 0;
	if (lstat(lower_path, &st) < 0)
		return -errno;
	ret = lower_identity(u, n, rel, AT_FDCWD, lower_path, &id);
	if (ret < 0)
		return ret;
	upper_add_entry(u, &u->whiteouts, n, rel, &id);
	if (S_ISDIR(id.mode)) {
		int fd = open(lower_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct strbuf sb = {0};

		if (fd >= 0) {
			strbuf_addstr(&sb, rel);
			whiteout_below(u, n, fd, &sb);
			strbuf_release(&sb);
		}
	}
	return 0;
}

int upper_note_rename(struct upper *u, int n, const char *from, const char *to)
{
	char fbuf[PATH_MAX], tbuf[PATH_MAX];

	if (n < 1 || n > u->n_overlays)
		return -EINVAL;
	from = clean_rel(from, fbuf, sizeof(fbuf));
	to = clean_rel(to, tbuf, sizeof(tbuf));
	if (!from || !to)
		return -EINVAL;
	upper_add_rename(u, n, from, to);
	return 0;
}

static int compare_entries(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

/* TABLE's entries sorted by overlay and path (a malloc'd array) and their number. */
static struct entry **sorted(struct entry *table, size_t *count)
{
	struct entry **list = xmalloc((HASH_COUNT(table) + 1) * sizeof(*list));
	struct entry *e, *tmp;
	size_t i = 0;

	HASH_ITER(hh, table, e, tmp)
	list[i++] = e;
	if (i)
		qsort(list, i, sizeof(*list), compare_entries);
	*count = i;
	return list;
}

const char **upper_whiteouts(const struct upper *u, int n, size_t *count)
{
	size_t all, k = 0;
	autofree struct entry **list = sorted(u->whiteouts, &all);
	const char **rels = xmalloc((all + 1) * sizeof(*rels));

	for (size_t i = 0; i < all; i++)
		if (list[i]->n == n)
			rels[k++] = list[i]->rel;
	*count = k;
	return rels;
}

struct upper_rename *upper_renames(const struct upper *u, int n, size_t *count)
{
	struct upper_rename *list = xmalloc((u->n_renames + 1) * sizeof(*list));
	size_t k = 0;

	for (size_t i = 0; i < u->n_renames; i++) {
		if (u->renames[i].n != n)
			continue;
		list[k].from = u->renames[i].from;
		list[k].to = u->renames[i].to;
		k++;
	}
	*count = k;
	return list;
}
