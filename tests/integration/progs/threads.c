// SPDX-License-Identifier: MIT
/*
 * Threads for test_processes.py.
 *   threads open N     N threads each create, write and read back their own file
 *                      (t<i>), and stat a missing one (t<i>_missing), many times over
 *   threads exec       a non-leader thread execs this program ("after-exec") while the
 *                      other threads are busy making syscalls; the new program reads
 *                      after_exec_file and exits 5
 *   threads leader-exits N   the main thread calls pthread_exit; another thread stats
 *                      late_file afterwards and exits with status N
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROUNDS 50

static const char *self;

static void *opener(void *arg)
{
	long i = (long)arg;
	char name[32], missing[40], buf[32];
	struct stat st;

	snprintf(name, sizeof(name), "t%ld", i);
	snprintf(missing, sizeof(missing), "t%ld_missing", i);
	for (int r = 0; r < ROUNDS; r++) {
		int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, name, strlen(name)) < 0)
			return (void *)1L;
		close(fd);
		fd = open(name, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)strlen(name))
			return (void *)1L;
		close(fd);
		if (stat(missing, &st) == 0 || errno != ENOENT)
			return (void *)1L;
	}
	return NULL;
}

static int open_threads(int n)
{
	pthread_t th[64];
	int failed = 0;

	if (n > 64)
		n = 64;
	for (long i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, opener, (void *)i) != 0)
			return 1;
	for (int i = 0; i < n; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		failed |= ret != NULL;
	}
	printf("%d threads %s\n", n, failed ? "failed" : "done");
	return failed;
}

static volatile int stop_busy;

static void *busy(void *arg)
{
	struct stat st;

	(void)arg;
	while (!stop_busy)
		stat("busy_file", &st);
	return NULL;
}

static void *execer(void *arg)
{
	struct stat st;

	(void)arg;
	stat("before_exec", &st);
	printf("exec from pid %d, %s thread\n", (int)getpid(),
	       syscall(SYS_gettid) == getpid() ? "the leader" : "a non-leader");
	fflush(stdout);
	usleep(20000); /* let the busy threads be in the middle of their stats */
	execl(self, self, "after-exec", (char *)NULL);
	perror("execl");
	exit(1);
}

static int exec_from_thread(void)
{
	pthread_t th[3];

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, busy, NULL);
	pthread_create(&th[2], NULL, execer, NULL);
	pthread_join(th[2], NULL); /* never returns: the exec ends this program */
	return 1;
}

static void *late_exit(void *arg)
{
	struct stat st;

	usleep(100000);
	stat("late_file", &st); /* the leader is gone by now */
	exit((int)(long)arg);
}

/* The leader ends with pthread_exit; a thread opens a file later and exits with CODE. */
static int leader_exits(int code)
{
	pthread_t th;

	pthread_create(&th, NULL, late_exit, (void *)(long)code);
	pthread_exit(NULL);
}

static int after_exec(void)
{
	char buf[64] = "";
	int fd = open("after_exec_file", O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		return 1;
	printf("after exec: pid %d read %s", (int)getpid(), buf);
	return 5;
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc > 2 && strcmp(argv[1], "open") == 0)
		return open_threads(atoi(argv[2]));
	if (argc > 1 && strcmp(argv[1], "exec") == 0)
		return exec_from_thread();
	if (argc > 2 && strcmp(argv[1], "leader-exits") == 0)
		return leader_exits(atoi(argv[2]));
	if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
		return after_exec();
	fprintf(stderr, "usage: threads open N | exec | leader-exits N\n");
	return 2;
}
