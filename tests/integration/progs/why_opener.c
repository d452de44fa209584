// SPDX-License-Identifier: MIT
/*
 * The stacks --why unwinds (test_why.py):
 *
 *   why_opener CONFIG [LOG [OTHER]]
 *
 * open_the_config() opens CONFIG for reading, write_the_log() creates LOG,
 * and main() itself stats OTHER. Built without optimisation (no inlining,
 * no tail calls), so each function is a frame of its own.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int open_the_config(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		perror(path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n < 0 ? -1 : 0;
}

int write_the_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		perror(path);
		return -1;
	}
	if (write(fd, "done\n", 5) != 5) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int main(int argc, char **argv)
{
	struct stat st;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: why_opener CONFIG [LOG [OTHER]]\n");
		return 2;
	}
	if (open_the_config(argv[1]) < 0)
		status = 1;
	if (argc > 2 && write_the_log(argv[2]) < 0)
		status = 1;
	if (argc > 3)
		stat(argv[3], &st);
	printf("why_opener: done\n");
	return status;
}
