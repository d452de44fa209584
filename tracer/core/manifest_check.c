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
 *   each is a link), up to the last name asked of it.
 * Manifests list their lines a directory at a time: when the parser moves
 * on from a group of many, the group is closed (a later line of that
 * directory starts another) and queued, and a thread checks it while the
 * parser goes on. After parsing, every open group is queued too, and
 * shared out to a thread per CPU.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "manifest_priv.h"
#include "view_priv.h"

/* Below this many sources in a directory, a readlinkat of each path costs less than opening it. */
#define GROUP_OPEN_MIN 12
/*
 * Read at most this many bytes of a directory's entries a source asked of
 * it (an entry: ~40 bytes), so that a few sources in a big directory are
 * looked up one by one instead.
 */
#define GROUP_LIST_MAX_BYTES 256
/* A group is closed and checked while parsing from this many sources on. */
#define GROUP_CLOSE_MIN GROUP_OPEN_MIN
/* From this many sources on, the directories are shared out to threads. */
#define THREADS_MIN_SOURCES 2048
#define THREADS_MAX 8

/* A directory's sources: FIRST's host path up to LEN bytes, the others by NEXT. */
struct dir_group {
	uint32_t first;
	uint32_t len;
	uint32_t hash;
	uint32_t count;
	char *dir;   /* its path (LEN bytes) */
	bool closed; /* queued: its lines are the checkers' now */
};

struct checker {
	const struct pending_lines *lines;
	struct dir_group *groups;
	uint32_t count, last;
	uint32_t mask;
	uint32_t *table; /* the open groups by directory */
	uint32_t *queue; /* the closed groups, in order */
	bool threads;	 /* a checker thread runs while parsing */
	pthread_t thread;
	atomic_uint queued, next;
	atomic_bool done; /* parsing is over: nothing more is queued */
	atomic_bool waiting;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* A hash of the LEN bytes at S (a name, a directory): the view's, of one component. */
static uint32_t name_hash(const char *s, size_t len)
{
	return hash_component(HASH_SEED, s, len);
}

/* Whether line I's source is named NAME (LEN bytes). */
static bool line_named(const struct checker *c, uint32_t i, const char *name, size_t len)
{
	return c->lines->at[i].name_len == len && memcmp(pending_name(c->lines, i), name, len) == 0;
}

/*
 * Check the source of P, named NAME in the directory DIRFD: readlinkat
 * tells a link (its length), another file (EINVAL) and a missing one
 * (ENOENT, ENOTDIR) apart in one call.
 */
static void check_one(struct pending *p, int dirfd, const char *name)
{
	char ch;

	if (readlinkat(dirfd, name, &ch, 1) >= 0)
		p->state = SRC_LINK;
	else if (errno == EINVAL)
		p->state = SRC_EXISTS;
	else
		p->state = -errno;
}

/* Check the sources of the group G by reading their directory FD once. SLOTS: 4 * G->count. */
static void list_group(struct checker *c, const struct dir_group *g, int fd, uint32_t *slots)
{
	size_t budget = (size_t)g->count * GROUP_LIST_MAX_BYTES;
	uint32_t mask = 1, names = 0;
	char buf[32768];
	ssize_t n;

	while (mask + 1 < 2 * g->count)
		mask = mask * 2 + 1;
	memset(slots, 0xff, (mask + 1) * sizeof(*slots));
	for (uint32_t i = g->first; i != NONE; i = c->lines->at[i].next) {
		const char *name = pending_name(c->lines, i);

		size_t len = c->lines->at[i].name_len;
		uint32_t s = name_hash(name, len) & mask;

		/* One slot a name: the lines of the same source are chained. */
		while (slots[s] != NONE && !line_named(c, slots[s], name, len))
			s = (s + 1) & mask;
		if (slots[s] == NONE)
			names++;
		c->lines->at[i].same = slots[s];
		slots[s] = i;
	}
	/* Until every name is seen: the rest of the directory cannot tell more. */
	while (names > 0 && budget > 0 &&
	       (n = getdents64(fd, buf, budget < sizeof(buf) ? budget : sizeof(buf))) > 0) {
		budget -= n;
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			size_t len = strlen(d->d_name);
			uint32_t s = name_hash(d->d_name, len) & mask;

			off += d->d_reclen;
			while (slots[s] != NONE && !line_named(c, slots[s], d->d_name, len))
				s = (s + 1) & mask;
			if (slots[s] != NONE && c->lines->at[slots[s]].state == SRC_UNCHECKED)
				names--;
			for (uint32_t i = slots[s]; i != NONE; i = c->lines->at[i].same) {
				struct pending *p = &c->lines->at[i];

				if (d->d_type == DT_UNKNOWN)
					check_one(p, fd, d->d_name);
				else
					p->state = d->d_type == DT_LNK ? SRC_LINK : SRC_EXISTS;
			}
		}
	}
}

/*
 * The parent directories a thread has opened (O_PATH), by path: a source
 * directory is opened from its parent, one component to look up instead of
 * the whole path. Manifests seldom list sibling directories one after the
 * other (a shuffled order, or several trees), so the parents stay open
 * while the thread checks: there are few of them.
 */
#define PARENTS_MAX 128 /* a power of two; at most half of it used, then it starts afresh */

struct parent_dirs {
	struct parent_dir {
		char *path; /* LEN bytes, NULL: a free slot */
		size_t len;
		uint32_t hash;
		int fd;
	} at[PARENTS_MAX];
	uint32_t count;
};

static void parents_close(struct parent_dirs *parents)
{
	for (uint32_t s = 0; s < PARENTS_MAX; s++) {
		struct parent_dir *p = &parents->at[s];

		if (p->path) {
			close(p->fd);
			free(p->path);
			p->path = NULL;
		}
	}
	parents->count = 0;
}

/* A descriptor of the directory PATH (LEN bytes) to open others from, or -1. */
static int parent_fd(struct parent_dirs *parents, const char *path, size_t len)
{
	uint32_t h = name_hash(path, len), s = h & (PARENTS_MAX - 1);
	struct parent_dir *p;
	char buf[PATH_MAX];
	int fd;

	for (; parents->at[s].path; s = (s + 1) & (PARENTS_MAX - 1)) {
		p = &parents->at[s];
		if (p->hash == h && p->len == len && memcmp(p->path, path, len) == 0)
			return p->fd;
	}
	memcpy(buf, path, len);
	buf[len] = '\0';
	fd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (parents->count == PARENTS_MAX / 2) {
		parents_close(parents);
		for (s = h & (PARENTS_MAX - 1); parents->at[s].path;
		     s = (s + 1) & (PARENTS_MAX - 1))
			;
	}
	parents->at[s] = (struct parent_dir){xstrndup(path, len), len, h, fd};
	parents->count++;
	return fd;
}

/* Open the directory DIR (LEN bytes) to read it, from its parent in PARENTS when it can. */
static int open_dir(struct parent_dirs *parents, const char *dir, size_t len)
{
	const char *slash = memrchr(dir, '/', len);
	size_t parent_len = slash ? (size_t)(slash - dir) : 0;
	int parent = parent_len > 0 ? parent_fd(parents, dir, parent_len) : -1;

	if (parent < 0)
		return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return openat(parent, slash + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* How much of a manifest's text a group's lines are fetched for at most. */
#define PREFETCH_TEXT_MAX 16384

/*
 * A group's lines are mostly the COUNT lines up to its first, which the
 * parser wrote on another CPU: start fetching them and their text into
 * this CPU's cache, while the directory is opened.
 */
static void prefetch_group(const struct checker *c, const struct dir_group *g)
{
	uint32_t low = g->first + 1 >= g->count ? g->first + 1 - g->count : 0;
	const char *from = pending_string(c->lines, low), *to = pending_name(c->lines, g->first);

	for (uint32_t i = low; i <= g->first; i += 2)
		__builtin_prefetch(&c->lines->at[i]); /* two to a cache line */
	if (from < to && to - from < PREFETCH_TEXT_MAX)
		for (const char *p = from; p < to + 64; p += 64)
			__builtin_prefetch(p);
}

/*
 * Check the sources of the group G: a readlinkat each, or their directory
 * read once. Only the group's own strings and the lines' names are read:
 * the view is being built meanwhile.
 */
static void check_group(struct checker *c, const struct dir_group *g, struct parent_dirs *parents,
			uint32_t *slots)
{
	autoclose int fd = -1;
	char path[PATH_MAX];

	if (g->count >= GROUP_OPEN_MIN)
		prefetch_group(c, g);
	if (g->count >= GROUP_OPEN_MIN)
		fd = open_dir(parents, g->dir, g->len);
	if (fd >= 0)
		list_group(c, g, fd, slots);
	/* The rest: not listed, or not seen in the listing (/proc does not list every task). */
	for (uint32_t i = g->first; i != NONE; i = c->lines->at[i].next) {
		struct pending *p = &c->lines->at[i];

		if (p->state != SRC_UNCHECKED)
			continue;
		if (fd >= 0) {
			check_one(p, fd, pending_name(c->lines, i));
		} else if (snprintf(path, sizeof(path), "%s/%s", g->len == 1 ? "" : g->dir,
				    pending_name(c->lines, i)) < (int)sizeof(path)) {
			check_one(p, AT_FDCWD, path);
		} else {
			p->state = -ENAMETOOLONG;
		}
	}
}

/* Check the queued groups; until parsing is over and the queue is empty when WAIT. */
static void check_queued(struct checker *c, bool wait)
{
	struct parent_dirs *parents = xcalloc(1, sizeof(*parents));
	uint32_t *slots = NULL, slots_cap = 0;

	for (;;) {
		bool done = atomic_load(&c->done);
		uint32_t queued = atomic_load(&c->queued);
		uint32_t n = atomic_load(&c->next);

		if (n < queued) {
			if (atomic_compare_exchange_weak(&c->next, &n, n + 1)) {
				const struct dir_group *g = &c->groups[c->queue[n]];

				if (4 * g->count > slots_cap) {
					slots_cap = 4 * g->count;
					slots = xrealloc(slots, slots_cap * sizeof(*slots));
				}
				check_group(c, g, parents, slots);
			}
			continue;
		}
		if (done || !wait)
			break;
		pthread_mutex_lock(&c->lock);
		atomic_store(&c->waiting, true);
		while (!atomic_load(&c->done) && atomic_load(&c->queued) == queued)
			pthread_cond_wait(&c->cond, &c->lock);
		atomic_store(&c->waiting, false);
		pthread_mutex_unlock(&c->lock);
	}
	free(slots);
	parents_close(parents);
	free(parents);
}

static void *checker_thread(void *arg)
{
	check_queued(arg, true);
	return NULL;
}

/* Close the group G: its lines go to the checkers. */
static void close_group(struct checker *c, uint32_t g)
{
	uint32_t q = atomic_load_explicit(&c->queued, memory_order_relaxed);

	c->groups[g].closed = true;
	c->queue[q] = g;
	atomic_store(&c->queued, q + 1);
	if (atomic_load(&c->waiting)) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Double the table of the open groups by directory. */
static void table_grow(struct checker *c)
{
	c->mask = c->mask * 2 + 1;
	free(c->table);
	c->table = xmalloc((c->mask + 1) * sizeof(*c->table));
	memset(c->table, 0xff, (c->mask + 1) * sizeof(*c->table));
	for (uint32_t g = 0; g < c->count; g++) {
		uint32_t s = c->groups[g].hash & c->mask;

		if (c->groups[g].closed)
			continue;
		while (c->table[s] != NONE)
			s = (s + 1) & c->mask;
		c->table[s] = g;
	}
}

/* The open group of the directory HOST (DIR_LEN bytes), made when there is none. */
static uint32_t open_group(struct checker *c, const char *host, uint32_t dir_len)
{
	uint32_t h = name_hash(host, dir_len), s;
	struct dir_group *n;

	for (s = h & c->mask; c->table[s] != NONE; s = (s + 1) & c->mask) {
		const struct dir_group *o = &c->groups[c->table[s]];

		if (o->hash == h && o->len == dir_len && memcmp(o->dir, host, dir_len) == 0) {
			if (!o->closed)
				return c->table[s];
			/* Closed: another group of the directory takes its slot. */
			break;
		}
	}
	if (c->table[s] == NONE && (c->count + 1) * 2 > c->mask + 1) {
		table_grow(c);
		for (s = h & c->mask; c->table[s] != NONE; s = (s + 1) & c->mask)
			;
	}
	n = &c->groups[c->count];
	*n = (struct dir_group){.first = NONE, .len = dir_len, .hash = h};
	n->dir = xstrndup(host, dir_len);
	c->table[s] = c->count;
	return c->count++;
}

void check_add(struct checker *c, uint32_t i, const char *host, size_t len)
{
	const char *slash = memrchr(host, '/', len);
	uint32_t dir_len = slash == host ? 1 : slash - host, g;

	if (len == 1) {
		/* "/" */
		check_one(&c->lines->at[i], AT_FDCWD, host);
		return;
	}
	/* Sources come by directory: the last one's, often. */
	if (c->last != NONE && !c->groups[c->last].closed && c->groups[c->last].len == dir_len &&
	    memcmp(c->groups[c->last].dir, host, dir_len) == 0) {
		g = c->last;
	} else {
		g = open_group(c, host, dir_len);
		/* Moving on from a directory of many: it is likely complete. */
		if (c->threads && c->last != NONE && !c->groups[c->last].closed &&
		    c->groups[c->last].count >= GROUP_CLOSE_MIN)
			close_group(c, c->last);
	}
	c->lines->at[i].next = c->groups[g].first;
	c->groups[g].first = i;
	c->groups[g].count++;
	c->last = g;
}

static long cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : n;
}

struct checker *check_start(const struct pending_lines *lines, size_t expected)
{
	struct checker *c = xcalloc(1, sizeof(*c));
	size_t max = lines->max;

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
	if (expected >= THREADS_MIN_SOURCES && cpus() > 1)
		c->threads = pthread_create(&c->thread, NULL, checker_thread, c) == 0;
	return c;
}

void check_finish(struct checker *c, size_t count)
{
	pthread_t threads[THREADS_MAX];
	long nthreads = count >= THREADS_MIN_SOURCES ? cpus() : 1, extra = 0;

	/* Every group still open is queued, then shared out. */
	for (uint32_t g = 0; g < c->count; g++)
		if (!c->groups[g].closed)
			close_group(c, g);
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->done, true);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->threads)
		threads[extra++] = c->thread;
	while (extra < nthreads - 1 &&
	       pthread_create(&threads[extra], NULL, checker_thread, c) == 0)
		extra++;
	check_queued(c, false);
	for (long t = 0; t < extra; t++)
		pthread_join(threads[t], NULL);
	for (uint32_t i = 0; i < c->count; i++)
		free(c->groups[i].dir);
	free(c->groups);
	free(c->queue);
	free(c->table);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}
