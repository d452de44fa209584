// SPDX-License-Identifier: MIT
/*
 * A statically linked probe of the file system a process sees, for the view
 * tests (a hermetic view has no shell and no libc to offer a dynamic one).
 * Each argument pair is one step; each step prints one line and the program
 * goes on, so a test reads the whole answer at once:
 *
 *   ls DIR      "DIR: NAME NAME ..." (sorted, without . and ..) or the error
 *   cat FILE    "FILE: CONTENTS" (first line) or the error
 *   create FILE "create FILE: ok" or the error (O_CREAT|O_WRONLY|O_TRUNC)
 *   mkdir DIR   "mkdir DIR: ok" or the error
 *   stat PATH   "stat PATH: dir|file|link|other" or the error (lstat)
 *   cwd -       "cwd: PATH" (getcwd)
 *   link PATH   "link PATH: TARGET" (readlink) or the error
 *
 * Errors are written as strerror() words ("No such file or directory"), as
 * a user reads them. Exit status: 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *dir)
{
	char **names = NULL;
	size_t count = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d) {
		printf("%s: %s\n", dir, strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		names = realloc(names, (count + 1) * sizeof(*names));
		names[count++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(*names), compare_names);
	printf("%s:", dir);
	for (size_t i = 0; i < count; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
	free(names);
}

static void cat(const char *file)
{
	char line[256] = "";
	FILE *f = fopen(file, "r");

	if (!f) {
		printf("%s: %s\n", file, strerror(errno));
		return;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	fclose(f);
	printf("%s: %s\n", file, line);
}

static void result(const char *step, const char *path, int rc)
{
	printf("%s %s: %s\n", step, path, rc < 0 ? strerror(errno) : "ok");
}

static void kind(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		printf("stat %s: %s\n", path, strerror(errno));
		return;
	}
	printf("stat %s: %s\n", path,
	       S_ISDIR(st.st_mode)   ? "dir"
	       : S_ISREG(st.st_mode) ? "file"
	       : S_ISLNK(st.st_mode) ? "link"
				     : "other");
}

int main(int argc, char **argv)
{
	char buf[PATH_MAX + 1];
	ssize_t n;
	int fd;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *step = argv[i], *arg = argv[i + 1];

		if (strcmp(step, "ls") == 0) {
			list(arg);
		} else if (strcmp(step, "cat") == 0) {
			cat(arg);
		} else if (strcmp(step, "create") == 0) {
			fd = open(arg, O_CREAT | O_WRONLY | O_TRUNC, 0644);
			result(step, arg, fd);
			if (fd >= 0)
				close(fd);
		} else if (strcmp(step, "mkdir") == 0) {
			result(step, arg, mkdir(arg, 0755));
		} else if (strcmp(step, "stat") == 0) {
			kind(arg);
		} else if (strcmp(step, "cwd") == 0) {
			printf("cwd: %s\n", getcwd(buf, sizeof(buf)) ? buf : strerror(errno));
		} else if (strcmp(step, "link") == 0) {
			n = readlink(arg, buf, sizeof(buf) - 1);
			buf[n < 0 ? 0 : n] = '\0';
			printf("link %s: %s\n", arg, n < 0 ? strerror(errno) : buf);
		} else {
			printf("unknown step %s\n", step);
		}
		fflush(stdout);
	}
	return 0;
}
