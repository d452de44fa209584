// SPDX-License-Identifier: MIT
/*
 * A statically linked program (no ELF interpreter, no preloaded library can
 * reach it): reads, writes, lists, probes and removes through libc, then
 * forks a child that execs this program again to read one more file.
 * Run in a directory prepared by test_static.py.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *dir)
{
	char *names[64];
	struct dirent *e;
	int count = 0;
	DIR *d = opendir(dir);

	if (!d) {
		printf("opendir %s: %s\n", dir, strerror(errno));
		return;
	}
	while ((e = readdir(d)) && count < 64)
		if (e->d_name[0] != '.')
			names[count++] = strdup(e->d_name);
	closedir(d);
	qsort(names, count, sizeof(names[0]), compare_names);
	printf("%s:", dir);
	for (int i = 0; i < count; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

static int child(void)
{
	char buf[64] = "";
	FILE *f = fopen("child_in", "r");

	if (!f || !fgets(buf, sizeof(buf), f))
		return 1;
	printf("child read %s", buf);
	fclose(f);
	return 3;
}

int main(int argc, char **argv)
{
	char buf[64] = "";
	struct stat st;
	int status;
	FILE *f;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();

	f = fopen("in", "r");
	if (f && fgets(buf, sizeof(buf), f))
		printf("read %s", buf);
	if (f)
		fclose(f);
	f = fopen("out", "w");
	if (f) {
		fputs("written\n", f);
		fclose(f);
	}
	list("d");
	printf("stat nope: %s\n", stat("nope", &st) < 0 ? strerror(errno) : "exists");
	printf("unlink gone: %s\n", unlink("gone") < 0 ? strerror(errno) : "ok");
	fflush(stdout);

	pid = fork();
	if (pid == 0) {
		execl(argv[0], argv[0], "child", (char *)NULL);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
