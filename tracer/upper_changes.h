/* SPDX-License-Identifier: MIT */
/*
 * What an overlay changed: the view (UPPER/N over SRC, less the whiteouts)
 * compared with SRC as it is now, as the list of file changes that `ptvfs
 * diff` prints and `ptvfs apply` carries out. Only the paths the record and
 * UPPER/N name are compared: the files in UPPER/N, the whiteouts, and what
 * is below them in SRC.
 *
 * What is below a directory named .git is left out (counted in n_git):
 * git's own data (an index refreshed by `git status` in the view) is no
 * proposed change to the sources, and `git apply` refuses such paths.
 *
 * Directories are not changes of their own (git has none): a file below a
 * directory that went away is deleted, and apply removes the directories
 * the view no longer has (rmdirs) and makes the empty ones it gained
 * (mkdirs). No lookup follows a symbolic link, in SRC or in UPPER: a path
 * below a link is not there.
 */
#ifndef PTVFS_UPPER_CHANGES_H
#define PTVFS_UPPER_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "ptvfs/upper.h"

enum change_kind {
	CHANGE_ADD,    /* NEW_REL is new: absent from SRC */
	CHANGE_DELETE, /* OLD_REL is gone from the view */
	CHANGE_MODIFY, /* the same path, other contents or mode, same type */
	CHANGE_RENAME, /* OLD_REL is gone and NEW_REL is new, with the same contents */
};

struct change {
	enum change_kind kind;
	char *old_rel;		   /* DELETE, MODIFY, RENAME: the path in SRC */
	char *new_rel;		   /* ADD, MODIFY, RENAME: the path in UPPER/N */
	mode_t old_mode, new_mode; /* st_mode of either side */
};

struct overlay_changes {
	const struct upper *u;
	int n;
	const char *src;
	const char *upper_dir;
	int src_fd, upper_fd; /* O_PATH directories */
	/* Sorted by NEW_REL (OLD_REL for a deletion); a deletion comes before an addition of its path. */
	struct change *list;
	size_t count;
	char **rmdirs; /* SRC directories gone from the view, deepest first */
	size_t n_rmdirs;
	char **mkdirs; /* directories of the view that SRC lacks, parents first */
	size_t n_mkdirs;
	char **skipped; /* objects of UPPER/N that are no file, link or directory */
	size_t n_skipped;
	size_t n_git; /* changes below a .git directory, left out */
};

/*
 * Compute overlay N's changes into C: 0, or -errno with *ERR (malloc'd, one
 * line naming the path). Free C with changes_free() either way.
 */
int changes_compute(struct overlay_changes *c, const struct upper *u, int n, char **err);
void changes_free(struct overlay_changes *c);

/*
 * Below the directory ROOTFD, following no symbolic link: an O_PATH
 * descriptor of REL's parent directory with *NAME its last component
 * (pointing into REL); -ENOENT when a parent is missing, -ENOTDIR when one
 * is no directory.
 */
int beneath_parent(int rootfd, const char *rel, const char **name);
/* lstat() of REL below ROOTFD: 0, -ENOENT, -ENOTDIR or another -errno. */
int beneath_stat(int rootfd, const char *rel, struct stat *st);
/* The contents of file REL below ROOTFD, or the target of link REL (malloc'd, NUL-terminated). */
int beneath_read(int rootfd, const char *rel, char **data, size_t *len);

#endif
