// SPDX-License-Identifier: MIT
/*
 * The host's file system as one traced thread sees it, for the resolver.
 * The tracer looks paths up itself, so the only differences from the
 * thread's own view are in /proc: "self" and "thread-self" must name the
 * thread, not the tracer, and the magic links below /proc/PID (fd/N, cwd,
 * exe, ...) are not paths to follow but the kernel's own business.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "tracer.h"

static bool is_proc_self(const char *path)
{
	return strcmp(path, "/proc/self") == 0 || strcmp(path, "/proc/thread-self") == 0;
}

/* A link inside /proc/SOMETHING/: a magic link. */
static bool is_below_proc_entry(const char *path)
{
	return strncmp(path, "/proc/", 6) == 0 && strchr(path + 6, '/') != NULL;
}

static int host_lookup(void *ctx, const char *path)
{
	struct stat st;

	(void)ctx;
	if (is_proc_self(path))
		return S_IFLNK;
	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode) && is_below_proc_entry(path))
		return RESOLVE_TYPE_OPAQUE;
	return st.st_mode & S_IFMT;
}

static ssize_t host_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	struct host_resolver *hr = ctx;
	ssize_t n;

	if (strcmp(path, "/proc/self") == 0)
		return snprintf(buf, size, "%d", (int)hr->thread->tgid);
	if (strcmp(path, "/proc/thread-self") == 0)
		return snprintf(buf, size, "%d/task/%d", (int)hr->thread->tgid,
				(int)hr->thread->tid);
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static void host_link_followed(void *ctx, const char *path)
{
	struct host_resolver *hr = ctx;

	record_access(hr->tracer, hr->thread, path, ACCESS_READ);
}

const struct resolve_ops host_resolve_ops = {
	.lookup = host_lookup,
	.readlink = host_readlink,
	.link_followed = host_link_followed,
};
