// SPDX-License-Identifier: MIT
/*
 * The host's file system as one traced thread sees it, for the resolver.
 * The tracer looks paths up itself, so the only differences from the
 * thread's own view are in /proc: "self" and "thread-self" must name the
 * thread, not the tracer. They are kept in the paths recorded (so two runs
 * record the same /proc/self/... paths) and mapped only for the lookup.
 * The magic links below /proc/PID (fd/N, cwd, exe, ...) are followed to
 * the file they name when that is a path; a pipe, a socket or a deleted
 * file ends the walk (RESOLVE_TYPE_OPAQUE).
 *
 * Directories and links met on the way are cached: most lookups walk the
 * same few prefixes (/usr/include/...) thousands of times. Every change a
 * traced process makes to a name goes through a stop and invalidates it;
 * a change by a process outside the traced tree is not seen.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "tracer.h"

static bool is_proc(const char *path)
{
	return strncmp(path, "/proc/", 6) == 0;
}

/* A link inside /proc/SOMETHING/: a magic link. */
static bool is_below_proc_entry(const char *path)
{
	return is_proc(path) && strchr(path + 6, '/') != NULL;
}

/* If PREFIX starts PATH as whole components, the rest of PATH (maybe ""), else NULL. */
static const char *after_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return NULL;
	return path + n;
}

const char *proc_self_path(const struct thread *th, const char *path, char *buf, size_t size)
{
	const char *rest;

	if (!is_proc(path))
		return path;
	rest = after_prefix(path, "/proc/self");
	if (rest) {
		snprintf(buf, size, "/proc/%d%s", (int)th->tgid, rest);
		return buf;
	}
	rest = after_prefix(path, "/proc/thread-self");
	if (rest) {
		snprintf(buf, size, "/proc/%d/task/%d%s", (int)th->tgid, (int)th->tid, rest);
		return buf;
	}
	return path;
}

/* PATH as the tracer must look it up: /proc/self as the thread's own. */
static const char *host_path(const struct host_resolver *hr, const char *path, char *buf,
			     size_t size)
{
	return proc_self_path(hr->thread, path, buf, size);
}

struct lookup_entry {
	int type;     /* S_IFDIR or S_IFLNK */
	char *target; /* of a link, once read */
	UT_hash_handle hh;
	char path[];
};

static struct lookup_entry *cache_find(struct tracer *t, const char *path)
{
	struct lookup_entry *e;

	HASH_FIND_STR(t->lookup_cache, path, e);
	return e;
}

static void cache_remove(struct tracer *t, struct lookup_entry *e)
{
	HASH_DEL(t->lookup_cache, e);
	free(e->target);
	free(e);
}

void hostfs_invalidate(struct tracer *t, const char *path)
{
	struct lookup_entry *e = cache_find(t, path);

	if (!e)
		return;
	if (e->type == S_IFDIR) {
		/* A directory renamed or replaced: what was below it moved too. */
		hostfs_free_cache(t);
		return;
	}
	cache_remove(t, e);
}

void hostfs_free_cache(struct tracer *t)
{
	struct lookup_entry *e, *tmp;

	HASH_ITER(hh, t->lookup_cache, e, tmp)
	{
		cache_remove(t, e);
	}
}

static int host_lookup(void *ctx, const char *path)
{
	struct host_resolver *hr = ctx;
	struct stat st;

	if (is_proc(path)) {
		char buf[PATH_MAX], target[PATH_MAX];
		const char *host = host_path(hr, path, buf, sizeof(buf));
		bool deleted;
		ssize_t n;

		if (lstat(host, &st) < 0)
			return -errno;
		if (!S_ISLNK(st.st_mode) || !is_below_proc_entry(host))
			return st.st_mode & S_IFMT;
		/* Followed when it names a file by its path: not a pipe, nor a removed file. */
		n = magic_link_read(host, target, sizeof(target), &deleted);
		return n > 0 && target[0] == '/' && !deleted ? S_IFLNK : RESOLVE_TYPE_OPAQUE;
	}
	return hostfs_type(hr->tracer, path);
}

int hostfs_type(struct tracer *t, const char *path)
{
	struct lookup_entry *e = cache_find(t, path);
	struct stat st;
	size_t len;

	if (e)
		return e->type;
	if (lstat(path, &st) < 0)
		return -errno;
	/* /proc changes as processes come and go: never cached (host_lookup keeps it out). */
	if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) {
		len = strlen(path);
		e = xcalloc(1, sizeof(*e) + len + 1);
		e->type = st.st_mode & S_IFMT;
		memcpy(e->path, path, len + 1);
		HASH_ADD(hh, t->lookup_cache, path, len, e);
	}
	return st.st_mode & S_IFMT;
}

static ssize_t host_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	struct host_resolver *hr = ctx;
	ssize_t n;

	if (is_proc(path)) {
		char host[PATH_MAX];

		n = readlink(host_path(hr, path, host, sizeof(host)), buf, size - 1);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		return n;
	}
	return hostfs_readlink(hr->tracer, path, buf, size);
}

ssize_t hostfs_readlink(struct tracer *t, const char *path, char *buf, size_t size)
{
	struct lookup_entry *e = cache_find(t, path);
	ssize_t n;

	if (e && e->target)
		return snprintf(buf, size, "%s", e->target);
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (e)
		e->target = xstrdup(buf);
	return n;
}

static void host_link_followed(void *ctx, const char *path)
{
	struct host_resolver *hr = ctx;

	/* The kernel's magic links are no files of the command's. */
	if (!is_below_proc_entry(path))
		record_access(hr->tracer, hr->thread, path, ACCESS_READ);
}

const struct resolve_ops host_resolve_ops = {
    .lookup = host_lookup,
    .readlink = host_readlink,
    .link_followed = host_link_followed,
};
