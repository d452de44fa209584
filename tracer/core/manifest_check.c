// SPDX-License-Identifier: MIT
/*
 * The check of a manifest's sources (see manifest_priv.h): that each
 * exists, and whether it is a link. A system call that looks a path up
 * costs a microsecond or more here, and there can be a hundred thousand
 * sources, so a line costs at most one, and not one each where a
 * directory holds many of them:
 * - the sources are grouped by host directory as the parser hands them
 *   over;
 * - a group of few is checked with a readlinkat each, which tells a link,
 *   another file and a missing one apart in one call;
 * - a directory of many is read once (getdents64: the names, and whether
 *   each is a link). A thread reads those while the parser goes on (a group
 *   is queued when it reaches GROUP_QUEUE_MIN sources), into compact name
 *   sets that the lines are matched against afterwards;
 * - after parsing, the rest is shared out to a thread per CPU.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/bigmem.h"
#include "ptvfs/util.h"
#include "manifest_priv.h"
#include "view_priv.h"

/* Below this many sources in a directory, a readlinkat of each path costs less than opening it. */
#define GROUP_OPEN_MIN 12
/* Read the directory when it has at most this many bytes a source asked of it (ext4: ~32 a name). */
#define GROUP_LIST_MAX_BYTES 256
/* A group is listed while parsing from this many sources on (ext4: a 4096-byte directory). */
#define GROUP_QUEUE_MIN 16
/* From this many sources on, the directories are shared out to threads. */
#define THREADS_MIN_SOURCES 2048
#define THREADS_MAX 8
/* What a thread's name sets are carved from at a time (bigmem.h: a huge page). */
#define ARENA_CHUNK ((size_t)2 << 20)

/*
 * A directory's names as listed, found by hash: after the slots, each
 * name's d_type byte, then the name and its NUL.
 */
struct name_set {
	uint32_t mask;
	uint32_t slots[]; /* offsets after the slots, plus one; 0: empty */
};

static const char *set_entry(const struct name_set *set, uint32_t slot)
{
	return (const char *)&set->slots[set->mask + 1] + set->slots[slot] - 1;
}

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

/* SIZE bytes from big_alloc. */
struct chunk {
	char *buf;
	size_t size;
};

/* Memory a thread carves name sets from, all freed at the end; and its getdents buffer. */
struct lister {
	struct chunk *chunks; /* SIZE bytes from big_alloc each */
	size_t chunk_count;
	size_t used; /* of the last chunk */
	char *buf;
	size_t cap;
};

struct checker {
	struct view *v;
	struct pending *lines;
	struct dir_group *groups;
	uint32_t count, max, last;
	uint32_t mask;
	uint32_t *table; /* the groups by directory */
	uint32_t *queue; /* the groups to list, in order */
	bool listing;	 /* a lister thread runs while parsing */
	pthread_t lister;
	struct lister listers[THREADS_MAX];
	atomic_uint queued, next_list, next_check, next_lister;
	atomic_bool done; /* parsing is over */
	atomic_bool waiting;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

const char *pending_host_path(const struct view *v, const struct pending *p)
{
	return p->src ? p->src : view_node_path(v, p->node);
}

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h ^ (h >> 15);
}

static void *lister_alloc(struct lister *l, size_t size)
{
	struct chunk *last = l->chunk_count ? &l->chunks[l->chunk_count - 1] : NULL;

	size = (size + 7) & ~(size_t)7;
	if (!last || l->used + size > last->size) {
		l->chunks = xrealloc(l->chunks, (l->chunk_count + 1) * sizeof(*l->chunks));
		last = &l->chunks[l->chunk_count++];
		last->size = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		last->buf = big_alloc(last->size);
		l->used = 0;
	}
	l->used += size;
	return last->buf + l->used - size;
}

static void lister_release(struct lister *l)
{
	for (size_t i = 0; i < l->chunk_count; i++)
		big_free(l->chunks[i].buf, l->chunks[i].size);
	free(l->chunks);
	free(l->buf);
}
/*
 * Check the source of P: readlinkat tells a link (its length), another file
 * (EINVAL) and a missing one (ENOENT, ENOTDIR) apart in one call. DIRFD
 * and NAME are its directory and name there; NAME NULL: P's host path.
 */
static void check_one(const struct checker *c, struct pending *p, int dirfd, const char *name)
{
	char ch;

	if (dirfd == AT_FDCWD && !name)
		name = pending_host_path(c->v, p);
	if (readlinkat(dirfd, name, &ch, 1) >= 0)
		p->state = SRC_LINK;
	else if (errno == EINVAL)
		p->state = SRC_EXISTS;
	else
		p->state = -errno;
}

static const char *line_name(const struct checker *c, uint32_t i, uint32_t name_at)
{
	return pending_host_path(c->v, &c->lines[i]) + name_at;
}

/* Check the sources of the group G by reading their directory FD once. SLOTS: 4 * G->count. */
static void list_group(struct checker *c, const struct dir_group *g, int fd, uint32_t *slots)
{
	uint32_t mask = 1, name_at = g->len == 1 ? 1 : g->len + 1, names = 0;
	char buf[32768];
	ssize_t n;

	while (mask + 1 < 2 * g->count)
		mask = mask * 2 + 1;
	memset(slots, 0xff, (mask + 1) * sizeof(*slots));
	for (uint32_t i = g->first; i != NONE; i = c->lines[i].next) {
		const char *name = line_name(c, i, name_at);
		uint32_t s = name_hash(name, strlen(name)) & mask;

		/* One slot a name: the lines of the same source are chained. */
		while (slots[s] != NONE && strcmp(line_name(c, slots[s], name_at), name))
			s = (s + 1) & mask;
		if (slots[s] == NONE)
			names++;
		c->lines[i].same = slots[s];
		slots[s] = i;
	}
	/* Until every name is seen: the rest of the directory cannot tell more. */
	while (names > 0 && (n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			uint32_t s = name_hash(d->d_name, strlen(d->d_name)) & mask;

			off += d->d_reclen;
			while (slots[s] != NONE &&
			       strcmp(line_name(c, slots[s], name_at), d->d_name))
				s = (s + 1) & mask;
			if (slots[s] != NONE && c->lines[slots[s]].state == SRC_UNCHECKED)
				names--;
			for (uint32_t i = slots[s]; i != NONE; i = c->lines[i].same) {
				struct pending *p = &c->lines[i];

				if (d->d_type == DT_UNKNOWN)
					check_one(c, p, fd, d->d_name);
				else
					p->state = d->d_type == DT_LNK ? SRC_LINK : SRC_EXISTS;
			}
		}
	}
}

/* Check the sources of the group G: a readlinkat each, or their directory read once. */
static void check_group(struct checker *c, const struct dir_group *g, uint32_t *slots)
{
	uint32_t name_at = g->len == 1 ? 1 : g->len + 1;
	autoclose int fd = -1;
	struct stat st;

	if (g->count >= GROUP_OPEN_MIN)
		fd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size <= (off_t)g->count * GROUP_LIST_MAX_BYTES)
		list_group(c, g, fd, slots);
	/* The rest: not listed, or not seen in the listing (/proc does not list every task). */
	for (uint32_t i = g->first; i != NONE; i = c->lines[i].next) {
		struct pending *p = &c->lines[i];

		if (p->state == SRC_UNCHECKED)
			check_one(c, p, fd < 0 ? AT_FDCWD : fd,
				  fd < 0 ? NULL : line_name(c, i, name_at));
	}
}

/* Read the directory of the group G whole into its name set (none when it is too big or fails). */
static void list_dir(struct lister *l, struct dir_group *g)
{
	uint32_t count = __atomic_load_n(&g->count, __ATOMIC_RELAXED), mask = 1, entries = 0;
	autoclose int fd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t len = 0, bytes = 0, at = 0;
	struct name_set *set;
	struct stat st;
	char *names;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > (off_t)count * GROUP_LIST_MAX_BYTES)
		return;
	for (;;) {
		if (l->cap - len < 16384)
			l->buf = xrealloc(l->buf, l->cap = l->cap ? l->cap * 2 : 65536);
		n = getdents64(fd, l->buf + len, l->cap - len);
		if (n < 0)
			return;
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(l->buf + len + off);

			entries++;
			bytes += strlen(d->d_name) + 2;
			off += d->d_reclen;
		}
		len += n;
	}
	while (mask + 1 < 2 * entries)
		mask = mask * 2 + 1;
	set = lister_alloc(l, sizeof(*set) + (mask + 1) * sizeof(*set->slots) + bytes);
	set->mask = mask;
	memset(set->slots, 0, (mask + 1) * sizeof(*set->slots));
	names = (char *)&set->slots[mask + 1];
	for (size_t off = 0; off < len;) {
		const struct dirent64 *d = (const struct dirent64 *)(l->buf + off);
		size_t name_len = strlen(d->d_name);
		uint32_t s = name_hash(d->d_name, name_len) & mask;

		off += d->d_reclen;
		while (set->slots[s])
			s = (s + 1) & mask;
		set->slots[s] = at + 1;
		names[at] = d->d_type;
		memcpy(names + at + 1, d->d_name, name_len + 1);
		at += name_len + 2;
	}
	g->set = set;
}

/* Check the sources of the group G against its name set: a readlinkat each of those not in it. */
static void match_group(struct checker *c, const struct dir_group *g)
{
	const struct name_set *set = g->set;
	uint32_t name_at = g->len == 1 ? 1 : g->len + 1;

	for (uint32_t i = g->first; i != NONE; i = c->lines[i].next) {
		struct pending *p = &c->lines[i];
		const char *name = line_name(c, i, name_at), *entry = NULL;
		uint32_t s = name_hash(name, strlen(name)) & set->mask;

		for (; set->slots[s]; s = (s + 1) & set->mask) {
			entry = set_entry(set, s);
			if (strcmp(entry + 1, name) == 0)
				break;
			entry = NULL;
		}
		if (entry && entry[0] != DT_UNKNOWN)
			p->state = entry[0] == DT_LNK ? SRC_LINK : SRC_EXISTS;
		else
			check_one(c, p, AT_FDCWD, NULL);
	}
}

/* List the queued directories; until parsing is over when WAIT. */
static void list_queued(struct checker *c, struct lister *l, bool wait)
{
	for (;;) {
		bool done = atomic_load(&c->done);
		uint32_t queued = atomic_load(&c->queued);
		uint32_t n = atomic_load(&c->next_list);

		if (n < queued) {
			if (atomic_compare_exchange_weak(&c->next_list, &n, n + 1)) {
				struct dir_group *g = &c->groups[c->queue[n]];

				list_dir(l, g);
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
			match_group(c, g);
		else
			check_group(c, g, slots);
	}
}

static void *checker_thread(void *arg)
{
	struct checker *c = arg;
	struct lister *l = &c->listers[atomic_fetch_add(&c->next_lister, 1)];

	list_queued(c, l, true);
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

/* Double the table of the groups by directory. */
static void table_grow(struct checker *c)
{
	c->mask = c->mask * 2 + 1;
	free(c->table);
	c->table = xmalloc((c->mask + 1) * sizeof(*c->table));
	memset(c->table, 0xff, (c->mask + 1) * sizeof(*c->table));
	for (uint32_t g = 0; g < c->count; g++) {
		uint32_t s = c->groups[g].hash & c->mask;

		while (c->table[s] != NONE)
			s = (s + 1) & c->mask;
		c->table[s] = g;
	}
}

void check_add(struct checker *c, uint32_t i, const char *host, size_t len)
{
	const char *slash = memrchr(host, '/', len);
	uint32_t dir_len = slash == host ? 1 : slash - host, g, count;

	if (len == 1) {
		/* "/" */
		check_one(c, &c->lines[i], AT_FDCWD, host);
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

			if ((c->count + 1) * 2 > c->mask + 1) {
				table_grow(c);
				for (s = h & c->mask; c->table[s] != NONE; s = (s + 1) & c->mask)
					;
			}

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
	c->lines[i].next = c->groups[g].first;
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

static long cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : n;
}

struct checker *check_start(struct view *v, struct pending *lines, size_t max)
{
	struct checker *c = xcalloc(1, sizeof(*c));

	c->v = v;
	c->lines = lines;
	c->last = NONE;
	/* Grown as groups come: there are far fewer directories than lines, mostly. */
	c->mask = 1023;
	c->table = xmalloc((c->mask + 1) * sizeof(*c->table));
	memset(c->table, 0xff, (c->mask + 1) * sizeof(*c->table));
	c->groups = xmalloc((max + 1) * sizeof(*c->groups));
	c->queue = xmalloc((max + 1) * sizeof(*c->queue));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (max >= THREADS_MIN_SOURCES && cpus() > 1)
		c->listing = pthread_create(&c->lister, NULL, checker_thread, c) == 0;
	return c;
}

void check_finish(struct checker *c, size_t count)
{
	pthread_t threads[THREADS_MAX];
	long nthreads = count >= THREADS_MIN_SOURCES ? cpus() : 1, extra = 0;
	struct lister *own;

	pthread_mutex_lock(&c->lock);
	atomic_store(&c->done, true);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->listing)
		threads[extra++] = c->lister;
	while (extra < nthreads - 1 &&
	       pthread_create(&threads[extra], NULL, checker_thread, c) == 0)
		extra++;
	own = &c->listers[atomic_fetch_add(&c->next_lister, 1)];
	list_queued(c, own, false);
	check_listed(c);
	for (long t = 0; t < extra; t++)
		pthread_join(threads[t], NULL);
	for (uint32_t i = 0; i < c->count; i++)
		free(c->groups[i].dir);
	for (size_t i = 0; i < THREADS_MAX; i++)
		lister_release(&c->listers[i]);
	free(c->groups);
	free(c->queue);
	free(c->table);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}
