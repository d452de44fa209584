/* SPDX-License-Identifier: MIT */
/*
 * Path resolution as the kernel does it, against any file system described
 * by a few callbacks: the host's (tracking only), or the view's layer table.
 *
 * The resolver walks a path one component at a time, follows symbolic links
 * (absolute targets from the root, relative ones from their directory),
 * applies ".." to the resolved directory, and tells the caller of every link
 * it followed, so the record can list links as files that were read.
 * It is pure code: no ptrace, no tracee.
 */
#ifndef PTVFS_RESOLVE_H
#define PTVFS_RESOLVE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/* The kernel's limit on links followed in one lookup. */
#define RESOLVE_MAX_LINKS 40

/* A file type no lookup below it can pass: the rest of the path is taken as written. */
#define RESOLVE_TYPE_OPAQUE 1

struct resolve_ops {
	/*
	 * The type of PATH (S_IFDIR, S_IFREG, S_IFLNK, ...), not following a
	 * final link; RESOLVE_TYPE_OPAQUE for a magic link such as
	 * /proc/PID/fd/N; -ENOENT when absent, or another -errno.
	 */
	int (*lookup)(void *ctx, const char *path);
	/* The target of the link at PATH into BUF, NUL-terminated: its length or -errno. */
	ssize_t (*readlink)(void *ctx, const char *path, char *buf, size_t size);
	/* Told of each link followed on the way (may be NULL). */
	void (*link_followed)(void *ctx, const char *path);
};

enum resolve_flags {
	RESOLVE_FOLLOW = 1 << 0, /* follow a link in the last component */
	/* Not even with a trailing "/" (unlink, rmdir, rename, mkdir: the kernel fails instead). */
	RESOLVE_NO_TRAILING_FOLLOW = 1 << 1,
};

struct resolution {
	/* The absolute path reached, with every followed link resolved. */
	char path[PATH_MAX];
	/* 0 when the object exists, else -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG, ... */
	int error;
	/* Type of the object reached (S_IF*), 0 when it does not exist. */
	int type;
	/* The directory holding the last component exists (a create can succeed). */
	bool parent_exists;
	/* The path ended in "/": the object must be a directory. */
	bool trailing_slash;
};

/*
 * Resolve PATH, relative to the absolute directory BASE when it does not
 * start with "/". Fills OUT and returns OUT->error.
 */
int resolve_path(const struct resolve_ops *ops, void *ctx, const char *base, const char *path,
		 unsigned flags, struct resolution *out);

/*
 * Join BASE and the relative REL lexically into OUT (size PATH_MAX): "."
 * dropped, ".." removes the last component, repeated "/" collapsed.
 * Returns 0 or -ENAMETOOLONG.
 */
int path_join_lexical(const char *base, const char *rel, char *out);

/* Whether PATH is DIR or below it (both absolute, canonical). */
bool path_is_below(const char *path, const char *dir);

#endif
