// SPDX-License-Identifier: MIT
/*
 * Paths that only exist relative to the working directory: deep_paths NAME
 * DEPTH FILE changes into NAME DEPTH times (the absolute path may grow past
 * PATH_MAX, where only relative lookups work), then reads FILE, probes
 * FILE.missing and creates FILE.new.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[64], name[256];
	struct stat st;
	ssize_t n;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: deep_paths NAME DEPTH FILE\n");
		return 2;
	}
	for (int i = 0; i < atoi(argv[2]); i++) {
		if (chdir(argv[1]) < 0) {
			perror("chdir");
			return 1;
		}
	}
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf))) < 0) {
		perror(argv[3]);
		return 1;
	}
	printf("read %.*s", (int)n, buf);
	snprintf(name, sizeof(name), "%s.missing", argv[3]);
	printf("stat %s: %s\n", name, stat(name, &st) < 0 ? strerror(errno) : "exists");
	snprintf(name, sizeof(name), "%s.new", argv[3]);
	fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	printf("create %s: %s\n", name, fd < 0 ? strerror(errno) : "ok");
	return 0;
}
