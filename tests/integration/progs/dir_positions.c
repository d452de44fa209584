// SPDX-License-Identifier: MIT
/*
 * Lists DIR twice through one descriptor and checks the positions a
 * program keeps in it: prints the names (sorted, without . and ..), then
 * "seek ok" when seekdir() to a telldir() position reads the same entry
 * again and rewinddir() lists the same names, then the directory getcwd()
 * gives after fchdir() to it, then whether a name opens relative to it.
 */
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of D from where it is to its end, sorted; their count in *N. */
static char **names(DIR *d, size_t *n)
{
	char **v = NULL;
	struct dirent *e;

	*n = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		v = realloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = strdup(e->d_name);
	}
	qsort(v, *n, sizeof(*v), cmp);
	return v;
}

int main(int argc, char **argv)
{
	DIR *d = argc > 1 ? opendir(argv[1]) : NULL;
	char **first, **again, cwd[PATH_MAX];
	size_t n1, n2;
	struct dirent *e;
	long pos;
	char at[256] = "", later[256] = "";
	int fd;
	bool same;

	if (!d) {
		perror("opendir");
		return 2;
	}
	first = names(d, &n1);
	for (size_t i = 0; i < n1; i++)
		printf("%s\n", first[i]);
	rewinddir(d);
	readdir(d);
	pos = telldir(d);
	if ((e = readdir(d)))
		snprintf(at, sizeof(at), "%s", e->d_name);
	while ((e = readdir(d)))
		;
	seekdir(d, pos);
	if ((e = readdir(d)))
		snprintf(later, sizeof(later), "%s", e->d_name);
	rewinddir(d);
	again = names(d, &n2);
	same = n1 == n2;
	for (size_t i = 0; same && i < n1; i++)
		same = !strcmp(first[i], again[i]);
	printf("%s\n", at[0] && !strcmp(at, later) && same ? "seek ok" : "seek bad");
	if (fchdir(dirfd(d)) < 0 || !getcwd(cwd, sizeof(cwd)))
		perror("fchdir");
	else
		printf("cwd %s\n", cwd);
	fd = n1 ? openat(dirfd(d), first[0], O_RDONLY) : -1;
	printf("openat %s\n", fd >= 0 ? "ok" : "failed");
	return 0;
}
