// SPDX-License-Identifier: MIT
/*
 * Plays the tracer's part on an upper directory, for test_upper_cmds.py:
 *   upper_sim UPPER STEP...   then saves the record. STEPs:
 *   overlay SRC DEST     declare an overlay (prints its index)
 *   copy-up N REL        record SRC/REL's identity and copy it to UPPER/N/REL (parents made)
 *   whiteout N REL       record SRC/REL as deleted and remove UPPER/N/REL if there
 *   rename N FROM TO     record a rename (the test moves the files itself)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/upper.h"
#include "ptvfs/util.h"

static void make_parents(const char *path)
{
	char *copy = xstrdup(path);

	for (char *p = copy + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(copy, 0755);
			*p = '/';
		}
	}
	free(copy);
}

static void copy_up(const char *from, const char *to)
{
	struct stat st;
	char buf[65536];
	ssize_t n;
	int in, out;

	if (lstat(from, &st) < 0)
		die_errno("%s", from);
	make_parents(to);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(to, st.st_mode & 07777) < 0 && errno != EEXIST)
			die_errno("%s", to);
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		n = readlink(from, buf, sizeof(buf) - 1);
		if (n < 0)
			die_errno("%s", from);
		buf[n] = '\0';
		if (symlink(buf, to) < 0)
			die_errno("%s", to);
		return;
	}
	in = open(from, O_RDONLY);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 07777);
	if (in < 0 || out < 0)
		die_errno("copy %s", from);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			die_errno("%s", to);
	close(in);
	close(out);
}

int main(int argc, char **argv)
{
	autofree char *err = NULL;
	struct upper *u;
	int i = 2, ret;

	if (argc < 2)
		die("usage: upper_sim UPPER STEP...");
	u = upper_open(argv[1], &err);
	if (!u)
		die("%s", err);
	while (i < argc) {
		const char *step = argv[i];

		if (!strcmp(step, "overlay") && i + 2 < argc) {
			printf("%d\n", upper_add_overlay(u, argv[i + 1], argv[i + 2]));
			i += 3;
		} else if (!strcmp(step, "copy-up") && i + 2 < argc) {
			int n = atoi(argv[i + 1]);
			autofree char *lower =
			    xasprintf("%s/%s", upper_overlay_src(u, n), argv[i + 2]);
			autofree char *dst =
			    xasprintf("%s/%s", upper_overlay_dir(u, n), argv[i + 2]);

			ret = upper_note_copy_up(u, n, argv[i + 2], lower);
			if (ret < 0)
				die("copy-up %s: %s", argv[i + 2], strerror(-ret));
			copy_up(lower, dst);
			i += 3;
		} else if (!strcmp(step, "whiteout") && i + 2 < argc) {
			int n = atoi(argv[i + 1]);
			autofree char *lower =
			    xasprintf("%s/%s", upper_overlay_src(u, n), argv[i + 2]);
			autofree char *cmd =
			    xasprintf("rm -rf '%s/%s'", upper_overlay_dir(u, n), argv[i + 2]);

			ret = upper_note_whiteout(u, n, argv[i + 2], lower);
			if (ret < 0 && ret != -ENOENT)
				die("whiteout %s: %s", argv[i + 2], strerror(-ret));
			if (system(cmd) != 0)
				die("%s failed", cmd);
			i += 3;
		} else if (!strcmp(step, "rename") && i + 3 < argc) {
			ret = upper_note_rename(u, atoi(argv[i + 1]), argv[i + 2], argv[i + 3]);
			if (ret < 0)
				die("rename: %s", strerror(-ret));
			i += 4;
		} else {
			die("bad step %s", step);
		}
	}
	ret = upper_save(u);
	if (ret < 0)
		die("save: %s", strerror(-ret));
	upper_free(u);
	return 0;
}
