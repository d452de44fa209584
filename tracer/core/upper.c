// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "ptvfs/json.h"
#include "ptvfs/json_read.h"
#include "ptvfs/sha.h"
#include "ptvfs/upper.h"
#include "ptvfs/util.h"

/* One recorded object: a copy-up or a whiteout of overlay N's REL. */
struct entry {
	char *key;	 /* "N/REL": the table's key */
	int n;		 /* overlay */
	const char *rel; /* inside key */
	struct upper_identity id;
	UT_hash_handle hh;
};

struct overlay {
	char *src;
	char *dest;
	char *dir; /* UPPER/N */
};

struct rename_rec {
	int n;
	char *from;
	char *to;
};

struct upper {
	char *dir;
	struct overlay *overlays; /* [0] is overlay 1 */
	int n_overlays;
	struct entry *copied;	 /* uthash, by key */
	struct entry *whiteouts; /* uthash, by key */
	struct rename_rec *renames;
	size_t n_renames;
};

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
	return buf;
}

static struct entry *find(struct entry *table, int n, const char *rel, size_t rel_len)
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

static struct entry *add_entry(struct entry **table, int n, const char *rel,
			       const struct upper_identity *id)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->key = xasprintf("%d/%s", n, rel);
	e->n = n;
	e->rel = strchr(e->key, '/') + 1;
	e->id = *id;
	HASH_ADD_KEYPTR(hh, *table, e->key, strlen(e->key), e);
	return e;
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

/* A record's string member as a path: no NUL inside, not empty. */
static const char *rec_path(const struct jr_value *obj, const char *key)
{
	size_t len;
	const char *s = jr_get_string(obj, key, &len);

	if (!s || !len || strlen(s) != len)
		return NULL;
	return s;
}

static int load_identity(const struct jr_value *e, struct upper_identity *id)
{
	long long v;
	size_t len;
	const char *hex;

	memset(id, 0, sizeof(*id));
	if (!jr_get_int(e, "mode", &v))
		return -EINVAL;
	id->mode = v;
	if (jr_get_int(e, "size", &v))
		id->size = v;
	if (jr_get_int(e, "mtime_ns", &v))
		id->mtime_ns = v;
	hex = jr_get_string(e, "sha256", &len);
	if (hex) {
		if (sha_unhex(hex, len, id->sha256, 32) < 0)
			return -EINVAL;
		id->has_sha256 = true;
	}
	return 0;
}

static char *load_entries(struct upper *u, const struct jr_value *list, struct entry **table,
			  const char *what)
{
	if (!list)
		return NULL;
	if (list->type != JR_ARRAY)
		return xasprintf("\"%s\" is not a list", what);
	for (size_t i = 0; i < list->count; i++) {
		const struct jr_value *e = &list->items[i];
		const char *rel = rec_path(e, "path");
		struct upper_identity id;
		long long n;

		if (!rel || !jr_get_int(e, "overlay", &n) || n < 1 || n > u->n_overlays ||
		    load_identity(e, &id) < 0)
			return xasprintf("entry %zu of \"%s\" is malformed", i + 1, what);
		if (!find(*table, n, rel, strlen(rel)))
			add_entry(table, n, rel, &id);
	}
	return NULL;
}

/* Fill U from the record's JSON; an error message (malloc'd) or NULL. */
static char *load_record(struct upper *u, const char *text, size_t len)
{
	autofree char *err = NULL;
	struct jr_value *root = jr_parse(text, len, &err);
	const struct jr_value *list;
	char *msg = NULL;
	long long format;

	if (!root)
		return xasprintf("not JSON (%s)", err);
	if (!jr_get_int(root, "upper_format", &format) || format != 1) {
		msg = xasprintf("not an upper record of format 1");
		goto out;
	}
	list = jr_get(root, "overlays");
	if (!list || list->type != JR_ARRAY) {
		msg = xasprintf("no \"overlays\" list");
		goto out;
	}
	u->overlays = xcalloc(list->count + 1, sizeof(*u->overlays));
	for (size_t i = 0; i < list->count; i++) {
		const struct jr_value *o = &list->items[i];
		const char *src = rec_path(o, "src"), *dest = rec_path(o, "dest");
		long long index;

		if (!src || !dest || !jr_get_int(o, "index", &index) || index != (long long)i + 1) {
			msg = xasprintf("overlay %zu is malformed (indexes go 1, 2, ...)", i + 1);
			goto out;
		}
		u->overlays[i].src = xstrdup(src);
		u->overlays[i].dest = xstrdup(dest);
		u->overlays[i].dir = xasprintf("%s/%zu", u->dir, i + 1);
		u->n_overlays++;
	}
	msg = load_entries(u, jr_get(root, "copied_up"), &u->copied, "copied_up");
	if (!msg)
		msg = load_entries(u, jr_get(root, "whiteouts"), &u->whiteouts, "whiteouts");
	if (msg)
		goto out;
	list = jr_get(root, "renames");
	if (list && list->type != JR_ARRAY) {
		msg = xasprintf("\"renames\" is not a list");
		goto out;
	}
	for (size_t i = 0; list && i < list->count; i++) {
		const struct jr_value *r = &list->items[i];
		const char *from = rec_path(r, "from"), *to = rec_path(r, "to");
		long long n;

		if (!from || !to || !jr_get_int(r, "overlay", &n) || n < 1 || n > u->n_overlays) {
			msg = xasprintf("rename %zu is malformed", i + 1);
			goto out;
		}
		upper_note_rename(u, n, from, to);
	}
out:
	jr_free(root);
	return msg;
}

static int read_file(const char *path, char **data, size_t *len)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct strbuf sb = {0};

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got;

		strbuf_grow(&sb, 65536);
		got = read(fd, sb.buf + sb.len, 65536);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;
			strbuf_release(&sb);
			return err;
		}
		if (got == 0)
			break;
		sb.len += got;
	}
	*data = sb.buf;
	*len = sb.len;
	return 0;
}

struct upper *upper_open(const char *dir, char **err)
{
	struct upper *u;
	autofree char *abs = NULL;
	autofree char *record = NULL;
	autofree char *text = NULL;
	size_t len = 0;
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
	record = xasprintf("%s/" UPPER_RECORD, u->dir);
	ret = read_file(record, &text, &len);
	if (ret == -ENOENT) {
		if (!dir_is_empty(u->dir)) {
			*err = xasprintf("%s: not empty and no " UPPER_RECORD
					 " in it: not an upper directory",
					 dir);
			upper_free(u);
			return NULL;
		}
		return u;
	}
	if (ret < 0) {
		*err = xasprintf("%s: %s", record, strerror(-ret));
		upper_free(u);
		return NULL;
	}
	{
		autofree char *msg = load_record(u, text ? text : "", len);

		if (msg) {
			*err = xasprintf("%s: %s", record, msg);
			upper_free(u);
			return NULL;
		}
	}
	return u;
}

void upper_free(struct upper *u)
{
	if (!u)
		return;
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
	struct overlay *o;

	for (int i = 0; i < u->n_overlays; i++) {
		if (!strcmp(u->overlays[i].src, src) && !strcmp(u->overlays[i].dest, dest)) {
			upper_overlay_dir(u, i + 1);
			return i + 1;
		}
	}
	u->overlays = xrealloc(u->overlays, (u->n_overlays + 1) * sizeof(*u->overlays));
	o = &u->overlays[u->n_overlays++];
	o->src = xstrdup(src);
	o->dest = xstrdup(dest);
	o->dir = xasprintf("%s/%d", u->dir, u->n_overlays);
	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
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
	return rel && u->whiteouts && find(u->whiteouts, n, rel, strlen(rel));
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
		if ((i == len || rel[i] == '/') && find(u->whiteouts, n, rel, i))
			return true;
	}
	return false;
}

bool upper_was_copied_up(const struct upper *u, int n, const char *rel)
{
	return upper_copy_up_identity(u, n, rel) != NULL;
}

const struct upper_identity *upper_copy_up_identity(const struct upper *u, int n, const char *rel)
{
	char buf[PATH_MAX];
	struct entry *e;

	rel = clean_rel(rel, buf, sizeof(buf));
	e = rel ? find(u->copied, n, rel, strlen(rel)) : NULL;
	return e ? &e->id : NULL;
}

const struct upper_identity *upper_whiteout_identity(const struct upper *u, int n, const char *rel)
{
	char buf[PATH_MAX];
	struct entry *e;

	rel = clean_rel(rel, buf, sizeof(buf));
	e = rel ? find(u->whiteouts, n, rel, strlen(rel)) : NULL;
	return e ? &e->id : NULL;
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
	if (find(u->copied, n, rel, strlen(rel)) || upper_is_whiteout(u, n, rel))
		return 0;
	ret = upper_identity_at(AT_FDCWD, lower_path, &id);
	if (ret < 0)
		return ret;
	add_entry(&u->copied, n, rel, &id);
	return 0;
}

/* Record every object below the lower directory DIRFD (overlay N's REL) as a whiteout. */
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
		if (find(u->whiteouts, n, rel->buf, rel->len) ||
		    upper_identity_at(dirfd, de->d_name, &id) < 0)
			continue;
		add_entry(&u->whiteouts, n, rel->buf, &id);
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
	int ret;

	if (n < 1 || n > u->n_overlays)
		return -EINVAL;
	rel = clean_rel(rel, buf, sizeof(buf));
	if (!rel)
		return -EINVAL;
	if (upper_is_whiteout(u, n, rel))
		return 0;
	ret = upper_identity_at(AT_FDCWD, lower_path, &id);
	if (ret < 0)
		return ret;
	add_entry(&u->whiteouts, n, rel, &id);
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
	struct rename_rec *r;

	if (n < 1 || n > u->n_overlays)
		return -EINVAL;
	from = clean_rel(from, fbuf, sizeof(fbuf));
	to = clean_rel(to, tbuf, sizeof(tbuf));
	if (!from || !to)
		return -EINVAL;
	u->renames = xrealloc(u->renames, (u->n_renames + 1) * sizeof(*u->renames));
	r = &u->renames[u->n_renames++];
	r->n = n;
	r->from = xstrdup(from);
	r->to = xstrdup(to);
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

static const char *type_name(mode_t mode)
{
	if (S_ISREG(mode))
		return "file";
	if (S_ISDIR(mode))
		return "dir";
	if (S_ISLNK(mode))
		return "link";
	return "other";
}

static void add_entries(struct strbuf *sb, struct entry *table)
{
	size_t count;
	autofree struct entry **list = sorted(table, &count);

	strbuf_addch(sb, '[');
	for (size_t i = 0; i < count; i++) {
		const struct upper_identity *id = &list[i]->id;

		strbuf_addf(sb, "%s\n  {\"overlay\": %d, \"path\": ", i ? "," : "", list[i]->n);
		json_add_string(sb, list[i]->rel);
		strbuf_addf(sb, ", \"type\": \"%s\", \"mode\": %u", type_name(id->mode),
			    (unsigned)id->mode);
		if (!S_ISDIR(id->mode))
			strbuf_addf(sb, ", \"size\": %lld, \"mtime_ns\": %lld", id->size,
				    id->mtime_ns);
		if (id->has_sha256) {
			char hex[65];

			sha_hex(id->sha256, 32, hex);
			strbuf_addf(sb, ", \"sha256\": \"%s\"", hex);
		}
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, count ? "\n ]" : "]");
}

int upper_save(struct upper *u)
{
	struct strbuf sb = {0};
	autofree char *path = xasprintf("%s/" UPPER_RECORD, u->dir);
	int ret;

	strbuf_addstr(&sb, "{\"upper_format\": 1,\n \"overlays\": [");
	for (int i = 0; i < u->n_overlays; i++) {
		strbuf_addf(&sb, "%s\n  {\"index\": %d, \"src\": ", i ? "," : "", i + 1);
		json_add_string(&sb, u->overlays[i].src);
		strbuf_addstr(&sb, ", \"dest\": ");
		json_add_string(&sb, u->overlays[i].dest);
		strbuf_addch(&sb, '}');
	}
	strbuf_addstr(&sb, u->n_overlays ? "\n ],\n \"copied_up\": " : "],\n \"copied_up\": ");
	add_entries(&sb, u->copied);
	strbuf_addstr(&sb, ",\n \"whiteouts\": ");
	add_entries(&sb, u->whiteouts);
	strbuf_addstr(&sb, ",\n \"renames\": [");
	for (size_t i = 0; i < u->n_renames; i++) {
		strbuf_addf(&sb, "%s\n  {\"overlay\": %d, \"from\": ", i ? "," : "",
			    u->renames[i].n);
		json_add_string(&sb, u->renames[i].from);
		strbuf_addstr(&sb, ", \"to\": ");
		json_add_string(&sb, u->renames[i].to);
		strbuf_addch(&sb, '}');
	}
	strbuf_addstr(&sb, u->n_renames ? "\n ]}\n" : "]}\n");
	ret = write_file_atomic(path, sb.buf, sb.len);
	strbuf_release(&sb);
	return ret;
}
