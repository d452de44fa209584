// SPDX-License-Identifier: MIT
/*
 * The writer of the copy-on-write bench (bench/bench.py, section overlay,
 * builds and runs this; it needs nothing but libc):
 *
 *   overlay_append DIR LIST
 *       appends one line to each file LIST names (one path a line, relative
 *       to DIR): open(O_WRONLY | O_APPEND), one write, close. Run natively
 *       on a copy of the sources, or under `ptvfs --overlay SRC DIR`, where
 *       the first write to each file copies it up.
 *
 * Exits 1 at the first file it cannot append to, naming it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE "appended by the ptvfs overlay bench\n"

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0;
	FILE *list;
	int dir;

	if (argc != 3) {
		fprintf(stderr, "usage: overlay_append DIR LIST\n");
		return 2;
	}
	dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		fprintf(stderr, "overlay_append: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	list = fopen(argv[2], "re");
	if (!list) {
		fprintf(stderr, "overlay_append: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while ((len = getline(&line, &cap, list)) > 0) {
		int fd;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		fd = openat(dir, line, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0 || write(fd, LINE, sizeof(LINE) - 1) != (ssize_t)sizeof(LINE) - 1 ||
		    close(fd) < 0) {
			fprintf(stderr, "overlay_append: %s/%s: %s\n", argv[1], line,
				strerror(errno));
			return 1;
		}
		n++;
	}
	free(line);
	fclose(list);
	close(dir);
	printf("appended=%ld\n", n);
	return 0;
}
