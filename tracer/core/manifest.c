// SPDX-License-Identifier: MIT
/*
 * Manifests (--inputs FILE): one declared input per line, read into the
 * layer table as LAYER_INPUT declarations. The format is in view.h.
 *
 * A manifest can hold a hundred thousand lines, and a system call that
 * looks a path up costs a microsecond here, so a line costs at most one,
 * and not one each where a directory holds many of them:
 * - the file is read whole and its lines parsed in place (no allocation
 *   of their own), their DESTs made nodes of the view;
 * - the sources are grouped by host directory, and checked: with one
 *   readlinkat each (which tells a link, another file, and a missing one
 *   apart in one call), or, for a directory with many of them, by reading
 *   the directory once (getdents64: names, and whether each is a link);
 *   the directories are shared out to a few threads;
 * - then the lines are declared in order, so that an error is the first
 *   broken line's.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/resolve.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "view_priv.h"

/* Whether the path P has a ".." component. */
static bool has_dotdot(const char *p)
{
	for (const char *s = strstr(p, ".."); s; s = strstr(s + 1, ".."))
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return true;
	return false;
}

struct line_error {
	const char *file;
	size_t line;
	char **err;
};

__attribute__((format(printf, 3, 4))) static int line_err(const struct line_error *where, int ret,
							  const char *fmt, ...)
{
	autofree char *what = NULL;
	va_list ap;

	if (!where->err)
		return ret;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	*where->err = xasprintf("%s:%zu: %s", where->file, where->line, what ? what : "");
	return ret;
}

/* The part of LINE (LEN bytes) before a comment: its length, with the blanks before it cut. */
static size_t cut_comment(const char *line, size_t len)
{
	const char *hash = memchr(line, '#', len);

	for (; hash; hash = memchr(hash + 1, '#', len - (hash + 1 - line))) {
		size_t i = hash - line;

		if (i > 0 && line[i - 1] != ' ' && line[i - 1] != '\t')
			continue;
		while (i > 0 && (line[i - 1] == ' ' || line[i - 1] == '\t'))
			i--;
		return i;
	}
	return len;
}

/*
 * Whether the relative path P (LEN bytes) is canonical: no empty, "." or
 * ".." component. If so, *HASH is updated with it (hash_more).
 */
static bool canonical_relative_hash(const char *p, size_t len, uint32_t *hash)
{
	uint32_t h = *hash;
	size_t start = 0;

	if (len == 0 || p[0] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		h = hash_step(h, p[i]);
		if (p[i] != '/')
			continue;
		if (i == start || (i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	if (len == start || (len - start == 1 && p[start] == '.') ||
	    (len - start == 2 && p[start] == '.' && p[start + 1] == '.'))
		return false;
	*hash = h;
	return true;
}

static bool is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return false;
	return true;
}

/* What the check of a line's source found. */
enum {
	SRC_UNCHECKED,
	SRC_EXISTS,   /* the host path as it is */
	SRC_LINK,     /* a link: the source is what it points to (realpath) */
	SRC_RESOLVED, /* already resolved (a ".." in it) */
};

/* A line parsed, to be checked and declared. */
struct pending {
	uint32_t line; /* offset of the line in the manifest's data */
	uint32_t line_len;
	uint32_t line_no;
	uint32_t node; /* of its DEST */
	uint32_t src;  /* offset of the host path in SRCS, NONE: the DEST's path */
	uint32_t next; /* the next one in the same host directory */
	uint32_t same; /* the next one of the same host path (while listing its directory) */
	int32_t state; /* SRC_* or -errno */
};

struct manifest {
	struct view *v;
	const char *cwd;
	char *data;
	struct pending *lines;
	size_t count, cap;
	struct strbuf srcs;
	struct line_error where;
	int error;	  /* of the first broken line, 0: none */
	char *error_text; /* its message */
	size_t cwd_len;
	uint32_t cwd_hash; /* hash_more of CWD and '/' (of "/" alone for "/") */
	/* The DESTs parsed, not yet made nodes: their slots are being prefetched. */
	struct ring_entry *ring;
	uint32_t ring_head, ring_tail;
	/* The sources grouped by host directory while parsing (see check_sources). */
	struct checker *check;
};

/* A DEST waiting for its node: the line's pending index, its path and hash. */
struct ring_entry {
	uint32_t line;
	uint32_t hash;
	size_t len;
	char path[PATH_MAX];
};

/* How many lines ahead of making its node a DEST's hash slot is prefetched. */
#define RING_SIZE 16

/* Make the nodes of the DESTs in the ring, oldest first, until N are left. */
static void drain_ring(struct manifest *m, uint32_t n)
{
	while (m->ring_tail - m->ring_head > n) {
		struct ring_entry *r = &m->ring[m->ring_head++ % RING_SIZE];

		m->lines[r->line].node = view_node_hashed(m->v, r->path, r->len, r->hash);
	}
}

static const char *host_path(const struct manifest *m, const struct pending *p)
{
	return p->src == NONE ? view_node_path(m->v, p->node) : m->srcs.buf + p->src;
}

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h ^ (h >> 15);
}

static void group_line(struct manifest *m, uint32_t i, const char *host, size_t len);

/* Parse the line LINE (LEN bytes, no newline, no comment) into a pending declaration. */
static int parse_line(struct manifest *m, const char *line, size_t len)
{
	const struct line_error *where = &m->where;
	const char *tab = memchr(line, '\t', len);
	char src[PATH_MAX], host[PATH_MAX];
	size_t dest_len = tab ? (size_t)(tab - line) : len;
	size_t src_len = tab ? len - dest_len - 1 : 0;
	struct ring_entry *r = &m->ring[m->ring_tail % RING_SIZE];
	char *norm = r->path;
	uint32_t hash = m->cwd_hash;
	struct pending *p;
	bool canonical, same;

	if (memchr(line, '\0', len))
		return line_err(where, -EINVAL, "a NUL byte in the line");
	if (tab && memchr(tab + 1, '\t', src_len))
		return line_err(where, -EINVAL,
				"more than one tab (the format is DEST or DEST<TAB>SRC)");
	if (dest_len == 0)
		return line_err(where, -EINVAL, "the destination is empty");
	if (tab && src_len == 0)
		return line_err(where, -EINVAL, "the source after the tab is empty");
	if (dest_len >= PATH_MAX || src_len >= PATH_MAX)
		return line_err(where, -EINVAL, "the path is too long");
	/* The ring's slot may still hold a DEST waiting for its node. */
	drain_ring(m, RING_SIZE - 1);
	canonical = canonical_relative_hash(line, dest_len, &hash);
	if (canonical && m->cwd_len + 1 + dest_len < PATH_MAX) {
		/* The common case, without path_join_lexical's walk. */
		size_t at = m->cwd_len > 1 ? m->cwd_len + 1 : 1;

		memcpy(norm, m->cwd, m->cwd_len);
		norm[at - 1] = '/';
		memcpy(norm + at, line, dest_len);
		norm[at + dest_len] = '\0';
		r->len = at + dest_len;
		r->hash = hash_final(hash);
	} else {
		char dest[PATH_MAX];

		memcpy(dest, line, dest_len);
		dest[dest_len] = '\0';
		if (path_join_lexical(m->cwd, dest, host) < 0)
			return line_err(where, -EINVAL, "the path is too long");
		r->len = strlen(host);
		memcpy(norm, host, r->len + 1);
		r->hash = hash_final(hash_more(HASH_SEED, norm, r->len));
	}
	if (m->count == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->lines = xrealloc(m->lines, m->cap * sizeof(*m->lines));
	}
	p = &m->lines[m->count];
	p->line = line - m->data;
	p->line_len = len;
	p->line_no = where->line;
	p->node = NONE;
	p->next = NONE;
	p->state = SRC_UNCHECKED;
	p->src = NONE;
	if (tab) {
		memcpy(src, tab + 1, src_len);
		src[src_len] = '\0';
	} else if (!canonical) {
		memcpy(src, line, dest_len);
		src[dest_len] = '\0';
	}
	if ((tab || !canonical) && has_dotdot(src)) {
		/* The host resolves ".." after the links before it: so must we. */
		char joined[PATH_MAX * 2];

		snprintf(joined, sizeof(joined), "%s/%s", src[0] == '/' ? "" : m->cwd, src);
		p->state = realpath(joined, host) ? SRC_RESOLVED : -errno;
		same = false;
	} else if (tab) {
		if (path_join_lexical(m->cwd, src, host) < 0)
			return line_err(where, -EINVAL, "the path is too long");
		same = strcmp(host, norm) == 0;
	} else {
		same = true;
	}
	if (!same && p->state >= 0) {
		size_t host_len = strlen(host);

		p->src = m->srcs.len;
		strbuf_add(&m->srcs, host, host_len + 1);
		group_line(m, m->count, host, host_len);
	} else if (same) {
		group_line(m, m->count, norm, r->len);
	}
	r->line = m->count++;
	m->ring_tail++;
	view_prefetch(m->v, r->hash);
	return 0;
}

/*
 * Check the source of P: readlinkat tells a link (its length), another file
 * (EINVAL) and a missing one (ENOENT, ENOTDIR) apart in one call. DIRFD
 * and NAME are its directory and name there; NAME NULL: P's host path.
 */
static void check_one(struct manifest *m, struct pending *p, int dirfd, const char *name)
{
	char c;

	if (dirfd == AT_FDCWD && !name)
		name = host_path(m, p);
	if (readlinkat(dirfd, name, &c, 1) >= 0)
		p->state = SRC_LINK;
	else if (errno == EINVAL)
		p->state = SRC_EXISTS;
	else
		p->state = -errno;
}

/* A directory's entries as listed (getdents64), found by name. */
struct name_set {
	uint32_t mask;
	char *buf;	  /* the dirent64 records */
	uint32_t slots[]; /* their offsets in BUF plus one, 0: empty */
};

/* What became of a group's listing while parsing. */
enum {
	GROUP_NEW,    /* not queued: checked after parsing */
	GROUP_QUEUED, /* queued to be listed, or being listed */
	GROUP_LISTED, /* listed (SET), or left to after parsing (SET NULL) */
};

/* A directory's sources: FIRST's host path up to LEN bytes, the others by NEXT. */
struct dir_group {
	uint32_t first;
	uint32_t len;
	uint32_t hash;
	uint32_t count; /* stored atomically while parsing (read by the listers) */
	char *dir;	/* its path (LEN bytes), for the listers */
	struct name_set *set;
	atomic_int status; /* GROUP_* */
};

/* Below this many sources in a directory, a readlinkat of each path costs less than opening it. */
#define GROUP_OPEN_MIN 12
/* Read the directory when it has at most this many bytes a source asked of it (ext4: ~32 a name). */
#define GROUP_LIST_MAX_BYTES 256
/* A group is listed while parsing from this many sources on (ext4: a 4096-byte directory). */
#define GROUP_QUEUE_MIN 16

/*
 * The check of the sources. While the main thread parses, a lister thread
 * reads the directories that have many sources (queued as they reach
 * GROUP_QUEUE_MIN) into name sets. After parsing, every thread lists what
 * is left queued, then checks the groups: their lines against the name
 * set, or as before (check_group).
 */
struct checker {
	struct manifest *m;
	struct dir_group *groups;
	uint32_t count, max, last;
	uint32_t mask;
	uint32_t *table; /* the groups by directory */
	uint32_t *queue; /* the groups to list, in order */
	bool listing;	 /* a lister thread runs while parsing */
	atomic_uint queued, next_list, next_check;
	atomic_bool done; /* parsing is over */
	atomic_bool waiting;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* Check the sources of the group G by reading their directory FD once. SLOTS: 4 * G->count. */
static void list_group(struct manifest *m, const struct dir_group *g, int fd, uint32_t *slots)
{
	uint32_t mask = 1, name_at = g->len == 1 ? 1 : g->len + 1, names = 0;
	char buf[32768];
	ssize_t n;

	while (mask + 1 < 2 * g->count)
		mask = mask * 2 + 1;
	memset(slots, 0xff, (mask + 1) * sizeof(*slots));
	for (uint32_t i = g->first; i != NONE; i = m->lines[i].next) {
		const char *name = host_path(m, &m->lines[i]) + name_at;
		uint32_t s = name_hash(name, strlen(name)) & mask;

		/* One slot a name: the lines of the same source are chained. */
		while (slots[s] != NONE &&
		       strcmp(host_path(m, &m->lines[slots[s]]) + name_at, name))
			s = (s + 1) & mask;
		if (slots[s] == NONE)
			names++;
		m->lines[i].same = slots[s];
		slots[s] = i;
	}
	/* Until every name is seen: the rest of the directory cannot tell more. */
	while (names > 0 && (n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			size_t len = strlen(d->d_name);

			off += d->d_reclen;
			uint32_t s = name_hash(d->d_name, len) & mask;

			while (slots[s] != NONE &&
			       strcmp(host_path(m, &m->lines[slots[s]]) + name_at, d->d_name) != 0)
				s = (s + 1) & mask;
			if (slots[s] != NONE && m->lines[slots[s]].state == SRC_UNCHECKED)
				names--;
			for (uint32_t i = slots[s]; i != NONE; i = m->lines[i].same) {
				struct pending *p = &m->lines[i];

				if (d->d_type == DT_UNKNOWN)
					check_one(m, p, fd, d->d_name);
				else
					p->state = d->d_type == DT_LNK ? SRC_LINK : SRC_EXISTS;
			}
		}
	}
}

/* Check the sources of the group G: a readlinkat each, or their directory read once. */
static void check_group(struct manifest *m, const struct dir_group *g, uint32_t *slots)
{
	uint32_t name_at = g->len == 1 ? 1 : g->len + 1;
	autoclose int fd = -1;
	struct stat st;

	if (g->count >= GROUP_OPEN_MIN)
		fd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size <= (off_t)g->count * GROUP_LIST_MAX_BYTES)
		list_group(m, g, fd, slots);
	/* The rest: not listed, or not seen in the listing (/proc does not list every task). */
	for (uint32_t i = g->first; i != NONE; i = m->lines[i].next) {
		struct pending *p = &m->lines[i];

		if (p->state == SRC_UNCHECKED)
			check_one(m, p, fd < 0 ? AT_FDCWD : fd,
				  fd < 0 ? NULL : host_path(m, p) + name_at);
	}
}

/* Read the directory of the group G whole into its name set (none when it is too big or fails). */
static void list_dir(struct dir_group *g)
{
	uint32_t count = __atomic_load_n(&g->count, __ATOMIC_RELAXED), mask = 1, entries = 0;
	autoclose int fd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t len = 0, cap = 16384;
	struct name_set *set;
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > (off_t)count * GROUP_LIST_MAX_BYTES)
		return;
	buf = xmalloc(cap);
	for (;;) {
		if (cap - len < 4096)
			buf = xrealloc(buf, cap *= 2);
		n = getdents64(fd, buf + len, cap - len);
		if (n < 0) {
			free(buf);
			return;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;
		     off += ((struct dirent64 *)(buf + len + off))->d_reclen)
			entries++;
		len += n;
	}
	while (mask + 1 < 2 * entries)
		mask = mask * 2 + 1;
	set = xmalloc(sizeof(*set) + (mask + 1) * sizeof(*set->slots));
	set->mask = mask;
	set->buf = buf;
	memset(set->slots, 0, (mask + 1) * sizeof(*set->slots));
	for (size_t off = 0; off < len; off += ((struct dirent64 *)(buf + off))->d_reclen) {
		const char *name = ((struct dirent64 *)(buf + off))->d_name;
		uint32_t s = name_hash(name, strlen(name)) & mask;

		while (set->slots[s])
			s = (s + 1) & mask;
		set->slots[s] = off + 1;
	}
	g->set = set;
}

/* Check the sources of the group G against its name set: a readlinkat each of those not in it. */
static void match_group(struct manifest *m, const struct dir_group *g)
{
	const struct name_set *set = g->set;
	uint32_t name_at = g->len == 1 ? 1 : g->len + 1;

	for (uint32_t i = g->first; i != NONE; i = m->lines[i].next) {
		struct pending *p = &m->lines[i];
		const char *name = host_path(m, p) + name_at;
		uint32_t s = name_hash(name, strlen(name)) & set->mask;
		const struct dirent64 *d = NULL;

		for (; set->slots[s]; s = (s + 1) & set->mask) {
			d = (const struct dirent64 *)(set->buf + set->slots[s] - 1);
			if (strcmp(d->d_name, name) == 0)
				break;
			d = NULL;
		}
		if (d && d->d_type != DT_UNKNOWN)
			p->state = d->d_type == DT_LNK ? SRC_LINK : SRC_EXISTS;
		else
			check_one(m, p, AT_FDCWD, NULL);
	}
}

/* List the queued directories; until parsing is over when WAIT. */
static void list_queued(struct checker *c, bool wait)
{
	for (;;) {
		bool done = atomic_load(&c->done);
		uint32_t queued = atomic_load(&c->queued);
		uint32_t n = atomic_load(&c->next_list);

		if (n < queued) {
			if (atomic_compare_exchange_weak(&c->next_list, &n, n + 1)) {
				struct dir_group *g = &c->groups[c->queue[n]];

				list_dir(g);
				atomic_store_explicit(&g->status, GROUP_LISTED,
						      memory_order_release);
			}
			continue;
		}
		if (done || !wait)
			return;
		pthread_mutex_lock(&c->lock);
		atomic_store(&c->waiting, true);
		while (!atomic_load(&c->done) && atomic_load(&c->queued) == queued)
			pthread_cond_wait(&c->cond, &c->lock);
		atomic_store(&c->waiting, false);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Check the groups (after parsing). */
static void check_listed(struct checker *c)
{
	autofree uint32_t *slots = xmalloc(4 * (c->max + 1) * sizeof(*slots));
	uint32_t i;

	while ((i = atomic_fetch_add(&c->next_check, 1)) < c->count) {
		struct dir_group *g = &c->groups[i];

		/* Being listed by another thread: it is nearly done. */
		while (atomic_load_explicit(&g->status, memory_order_acquire) == GROUP_QUEUED)
			sched_yield();
		if (g->set)
			match_group(c->m, g);
		else
			check_group(c->m, g, slots);
	}
}

static void *checker_thread(void *arg)
{
	struct checker *c = arg;

	list_queued(c, true);
	check_listed(c);
	return NULL;
}

static void wake_lister(struct checker *c)
{
	if (!atomic_load(&c->waiting))
		return;
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Put the line I (its host path HOST, LEN bytes) in the group of its directory. */
static void group_line(struct manifest *m, uint32_t i, const char *host, size_t len)
{
	struct checker *c = m->check;
	const char *slash = memrchr(host, '/', len);
	uint32_t dir_len = slash == host ? 1 : slash - host, g, count;

	if (len == 1) {
		/* "/" */
		check_one(m, &m->lines[i], AT_FDCWD, host);
		return;
	}
	/* Sources come by directory: the last one's, often. */
	if (c->last != NONE && c->groups[c->last].len == dir_len &&
	    memcmp(c->groups[c->last].dir, host, dir_len) == 0) {
		g = c->last;
	} else {
		uint32_t h = name_hash(host, dir_len), s;

		for (s = h & c->mask; c->table[s] != NONE; s = (s + 1) & c->mask) {
			const struct dir_group *o = &c->groups[c->table[s]];

			if (o->hash == h && o->len == dir_len && memcmp(o->dir, host, dir_len) == 0)
				break;
		}
		if (c->table[s] == NONE) {
			struct dir_group *n = &c->groups[c->count];

			n->first = NONE;
			n->len = dir_len;
			n->hash = h;
			n->count = 0;
			n->dir = xstrndup(host, dir_len);
			n->set = NULL;
			atomic_init(&n->status, GROUP_NEW);
			c->table[s] = c->count++;
		}
		g = c->table[s];
	}
	m->lines[i].next = c->groups[g].first;
	c->groups[g].first = i;
	count = c->groups[g].count + 1;
	__atomic_store_n(&c->groups[g].count, count, __ATOMIC_RELAXED);
	if (count > c->max)
		c->max = count;
	c->last = g;
	if (count == GROUP_QUEUE_MIN && c->listing) {
		uint32_t q = atomic_load_explicit(&c->queued, memory_order_relaxed);

		atomic_store_explicit(&c->groups[g].status, GROUP_QUEUED, memory_order_relaxed);
		c->queue[q] = g;
		atomic_store(&c->queued, q + 1);
		wake_lister(c);
	}
}

/* From this many sources on, the directories are shared out to threads. */
#define THREADS_MIN_SOURCES 2048
#define THREADS_MAX 8

/* Ready the check for LINES lines at most; with a lister thread (*LISTER) when they are many. */
static void check_start(struct manifest *m, struct checker *c, size_t lines, pthread_t *lister)
{
	memset(c, 0, sizeof(*c));
	c->m = m;
	c->last = NONE;
	c->mask = 1023;
	while (c->mask + 1 < 2 * lines)
		c->mask = c->mask * 2 + 1;
	c->table = xmalloc((c->mask + 1) * sizeof(*c->table));
	memset(c->table, 0xff, (c->mask + 1) * sizeof(*c->table));
	c->groups = xmalloc((lines + 1) * sizeof(*c->groups));
	c->queue = xmalloc((lines + 1) * sizeof(*c->queue));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	m->check = c;
	if (lines >= THREADS_MIN_SOURCES && sysconf(_SC_NPROCESSORS_ONLN) > 1)
		c->listing = pthread_create(lister, NULL, checker_thread, c) == 0;
}

/* Check every source (after parsing): the groups shared out to a few threads. */
static void check_sources(struct manifest *m, struct checker *c, pthread_t lister)
{
	pthread_t threads[THREADS_MAX];
	long nthreads = 1, extra = 0;

	pthread_mutex_lock(&c->lock);
	atomic_store(&c->done, true);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (m->count >= THREADS_MIN_SOURCES)
		nthreads = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = nthreads < 1 ? 1 : nthreads > THREADS_MAX ? THREADS_MAX : nthreads;
	if (c->listing)
		threads[extra++] = lister;
	while (extra < nthreads - 1 &&
	       pthread_create(&threads[extra], NULL, checker_thread, c) == 0)
		extra++;
	list_queued(c, false);
	check_listed(c);
	for (long t = 0; t < extra; t++)
		pthread_join(threads[t], NULL);
	for (uint32_t i = 0; i < c->count; i++) {
		if (c->groups[i].set)
			free(c->groups[i].set->buf);
		free(c->groups[i].set);
		free(c->groups[i].dir);
	}
	free(c->groups);
	free(c->queue);
	free(c->table);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
}

/* Declare the checked lines in order: the first error is the first line's. */
static int declare_lines(struct manifest *m)
{
	char real[PATH_MAX];

	for (size_t i = 0; i < m->count; i++) {
		struct pending *p = &m->lines[i];
		const char *line = m->data + p->line, *conflict, *src = host_path(m, p);
		const char *tab = memchr(line, '\t', p->line_len);
		int node;

		m->where.line = p->line_no;
		if (p->state == SRC_LINK)
			p->state = realpath(src, real) ? SRC_RESOLVED : -errno, src = real;
		if (p->state < 0) {
			int len = tab ? (int)(p->line_len - (tab + 1 - line)) : (int)p->line_len;

			return line_err(&m->where, p->state, "%.*s: %s", len, tab ? tab + 1 : line,
					strerror(-p->state));
		}
		if (p->src == NONE)
			view_node_host_dir(m->v, p->node);
		node = view_declare_node(m->v, p->node, LAYER_INPUT, src, &conflict);
		if (node < 0)
			return line_err(&m->where, node, "%s declared twice, from %s and %s",
					view_node_path(m->v, p->node), conflict, src);
		view_record_input(m->v, line, p->line_len, p->node);
	}
	return 0;
}

/* Room for the lines of a manifest of SIZE bytes, so that nothing grows line by line. */
static void reserve(struct manifest *m, size_t size)
{
	size_t lines = 0;

	for (const char *p = m->data; (p = memchr(p, '\n', size - (p - m->data))); p++)
		lines++;
	lines++;
	m->cap = lines;
	m->lines = xmalloc(m->cap * sizeof(*m->lines));
	/* Each line's DEST: CWD, '/', the line; and a node per directory, a few. */
	view_reserve(m->v, lines + lines / 8, size + lines * (m->cwd_len + 2));
}

int view_add_inputs(struct view *v, const char *manifest, const char *cwd, char **err)
{
	struct manifest m = {.v = v, .where = {manifest, 0, NULL}};
	struct checker checker;
	pthread_t lister;
	char cwd_buf[PATH_MAX];
	size_t size = 0, pos = 0;
	int ret;

	if (view_image(v)) {
		if (err)
			*err = xasprintf("--inputs %s: the view is already sealed", manifest);
		return -EINVAL;
	}
	if (!cwd) {
		if (!getcwd(cwd_buf, sizeof(cwd_buf)))
			return -errno;
		cwd = cwd_buf;
	}
	m.cwd = cwd;
	m.cwd_len = strlen(cwd);
	/* What parse_line puts before a canonical DEST: CWD and '/', or '/' alone. */
	m.cwd_hash = hash_step(hash_more(HASH_SEED, cwd, m.cwd_len > 1 ? m.cwd_len : 0), '/');
	ret = read_file_whole(manifest, &m.data, &size);
	if (ret < 0) {
		if (err)
			*err = xasprintf("--inputs %s: %s", manifest, strerror(-ret));
		return ret;
	}
	if (size > UINT32_MAX) {
		free(m.data);
		if (err)
			*err = xasprintf("--inputs %s: %s", manifest, strerror(EFBIG));
		return -EFBIG;
	}
	reserve(&m, size);
	check_start(&m, &checker, m.cap, &lister);
	m.ring = xmalloc(RING_SIZE * sizeof(*m.ring));
	/* Parse up to the first broken line, and keep its error for after the lines before it. */
	m.where.err = &m.error_text;
	while (pos < size) {
		const char *line = m.data + pos;
		const char *nl = memchr(line, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - line) : size - pos;

		pos += len + 1;
		m.where.line++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		len = cut_comment(line, len);
		if (is_blank(line, len))
			continue;
		m.error = parse_line(&m, line, len);
		if (m.error < 0)
			break;
	}
	drain_ring(&m, 0);
	free(m.ring);
	check_sources(&m, &checker, lister);
	m.where.err = err;
	ret = declare_lines(&m);
	if (ret == 0 && m.error < 0) {
		ret = m.error;
		if (err)
			*err = steal_pointer(&m.error_text);
	}
	free(m.error_text);
	free(m.lines);
	free(m.data);
	strbuf_release(&m.srcs);
	return ret;
}
