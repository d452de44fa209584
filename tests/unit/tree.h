/* SPDX-License-Identifier: MIT */
/* Real directory trees for the tests that compare with the kernel. */
#ifndef PTVFS_TEST_TREE_H
#define PTVFS_TEST_TREE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Make the directories DIRS, then the empty files FILES, below TOP (paths relative to it). */
static inline void make_dirs_and_files(const char *top, const char *const *dirs, size_t ndirs,
				       const char *const *files, size_t nfiles)
{
	char path[PATH_MAX * 2];

	for (size_t i = 0; i < ndirs; i++) {
		snprintf(path, sizeof(path), "%s/%s", top, dirs[i]);
		cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	}
	for (size_t i = 0; i < nfiles; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", top, files[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
		close(fd);
	}
}

static inline int tree_remove_entry(const char *path, const struct stat *st, int flag,
				    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0; /* on with the rest */
}

/* Remove TOP and all below it (nothing when TOP is ""): a suite's .fini. */
static inline void remove_tree_at(const char *top)
{
	if (top[0])
		nftw(top, tree_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
