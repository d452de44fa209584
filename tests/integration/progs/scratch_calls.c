// SPDX-License-Identifier: MIT
/*
 * Calls whose paths a view rewrites, made where the rewriting has to keep
 * each call's host path apart (test_view_scratch.py). DIR is a view path
 * the view maps elsewhere; each file F in it holds the text "F\n".
 *
 *   scratch_calls threads DIR N    N threads at once, each writing its own file
 *                                  DIR/t<i>, reading it back and stat'ing a missing
 *                                  DIR/none<i>, many times
 *   scratch_calls read DIR F...    print "F: contents" for each DIR/F
 *   scratch_calls fork DIR SELF    read a, fork: the child reads b and execs
 *                                  SELF read DIR c; the parent reads a again
 *   scratch_calls vfork DIR SELF N a thread reads DIR/a over and over while the
 *                                  main thread vforks N children that exec SELF
 *                                  read DIR b; the address space must not grow
 *   scratch_calls restart DIR      open a FIFO (DIR/fifo) that a child writes to
 *                                  late, interrupted by SIGALRMs whose SA_RESTART
 *                                  handler reads DIR/h; the open restarts
 *
 * Each mode prints what it read, or "MODE: bad ..." on a wrong answer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 200

static const char *dir;

/* The contents of DIR/NAME into BUF (SIZE), "" when it cannot be read. */
static const char *slurp(const char *name, char *buf, size_t size)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static bool holds(const char *name)
{
	char buf[64], want[64];

	snprintf(want, sizeof(want), "%s\n", name);
	return strcmp(slurp(name, buf, sizeof(buf)), want) == 0;
}

static void *writer(void *arg)
{
	long i = (long)arg;
	char name[32], path[4096], none[4096], text[64], buf[64];
	struct stat st;

	snprintf(name, sizeof(name), "t%ld", i);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(none, sizeof(none), "%s/none%ld", dir, i);
	for (int r = 0; r < ROUNDS; r++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		snprintf(text, sizeof(text), "%s round %d\n", name, r);
		if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
			return (void *)1L;
		close(fd);
		if (strcmp(slurp(name, buf, sizeof(buf)), text) != 0)
			return (void *)2L;
		if (stat(none, &st) == 0 || errno != ENOENT)
			return (void *)3L;
	}
	return NULL;
}

static int threads(int n)
{
	pthread_t th[64];
	int bad = 0;

	if (n > 64)
		n = 64;
	for (long i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, writer, (void *)i) != 0)
			return 1;
	for (int i = 0; i < n; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		if (ret) {
			printf("threads: bad t%d (%ld)\n", i, (long)ret);
			bad = 1;
		}
	}
	if (!bad)
		printf("threads: ok %d\n", n);
	return bad;
}

static int do_fork(const char *self)
{
	char buf[64];
	int status;
	pid_t pid;

	printf("parent a: %s", slurp("a", buf, sizeof(buf)));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("child b: %s", slurp("b", buf, sizeof(buf)));
		fflush(stdout);
		execl(self, self, "read", dir, "c", (char *)NULL);
		printf("child exec: %s\n", strerror(errno));
		_exit(1);
	}
	waitpid(pid, &status, 0);
	printf("parent a again: %s", slurp("a", buf, sizeof(buf)));
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static volatile int stop_reading;
static long reads, bad_reads;

static void *reader(void *arg)
{
	(void)arg;
	while (!stop_reading) {
		if (!holds("a"))
			bad_reads++;
		reads++;
	}
	return NULL;
}

/* The size of this process's address space, in kB (VmSize). */
static long vm_size(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmSize:", 7) == 0)
			kb = atol(line + 7);
	if (f)
		fclose(f);
	return kb;
}

static int do_vfork(const char *self, int n)
{
	pthread_t th;
	volatile int failed = 0;
	long before, grown;

	if (pthread_create(&th, NULL, reader, NULL) != 0)
		return 1;
	while (!reads)
		usleep(1000);
	before = vm_size();
	for (int i = 0; i < n; i++) {
		int status;
		pid_t pid = vfork();

		if (pid == 0) {
			execl(self, self, "read", dir, "b", (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	grown = vm_size() - before;
	stop_reading = 1;
	pthread_join(th, NULL);
	/* Children sharing the address space leave nothing in it (a mapping each, say). */
	if (failed || bad_reads || grown > 1024)
		printf("vfork: bad %d children failed, %ld of %ld reads wrong, grown by %ld kB\n",
		       (int)failed, bad_reads, reads, grown);
	else
		printf("vfork: ok\n");
	return failed || bad_reads || grown > 1024;
}

static volatile sig_atomic_t alarms, bad_alarms;

static void on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	alarms++;
	if (!holds("h"))
		bad_alarms++;
	errno = saved;
}

static int restart(void)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct itimerval every = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
	char fifo[4096], buf[16] = "";
	ssize_t n;
	pid_t pid;
	int fd, status;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST) {
		printf("restart: bad mkfifo %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		usleep(300000);
		fd = open(fifo, O_WRONLY);
		_exit(fd < 0 || write(fd, "F", 1) != 1);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	fd = open(fifo, O_RDONLY);
	setitimer(ITIMER_REAL, &off, NULL);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	waitpid(pid, &status, 0);
	if (n != 1 || buf[0] != 'F' || bad_alarms || alarms < 2) {
		printf("restart: bad open %s, read \"%s\", %d of %d handler reads wrong\n",
		       fd < 0 ? strerror(errno) : "ok", buf, (int)bad_alarms, (int)alarms);
		return 1;
	}
	printf("restart: ok\n");
	return 0;
}

/*
 * Each of N programs in turn (SELF exec'd again) makes its first rewritten
 * call, the one for which a scratch mapping is made, while SIGALRMs come
 * every 50 us with a handler that makes rewritten calls of its own.
 */
static int storm(const char *self, int n)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct itimerval every = {{0, 50}, {0, 50}}, off = {{0, 0}, {0, 0}};
	char left[16];
	bool ok;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	ok = holds("a");
	setitimer(ITIMER_REAL, &off, NULL);
	if (!ok || bad_alarms) {
		printf("storm: bad at %d: %s, %d of %d handler reads wrong\n", n,
		       ok ? "a read" : "a not read", (int)bad_alarms, (int)alarms);
		return 1;
	}
	if (n <= 1) {
		printf("storm: ok\n");
		return 0;
	}
	snprintf(left, sizeof(left), "%d", n - 1);
	execl(self, self, "storm", dir, self, left, (char *)NULL);
	printf("storm: bad exec %s\n", strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	char buf[64];

	if (argc < 3) {
		fprintf(stderr, "usage: scratch_calls MODE DIR ...\n");
		return 2;
	}
	dir = argv[2];
	if (strcmp(argv[1], "threads") == 0 && argc == 4)
		return threads(atoi(argv[3]));
	if (strcmp(argv[1], "read") == 0) {
		for (int i = 3; i < argc; i++)
			printf("%s: %s", argv[i], slurp(argv[i], buf, sizeof(buf)));
		return 0;
	}
	if (strcmp(argv[1], "fork") == 0 && argc == 4)
		return do_fork(argv[3]);
	if (strcmp(argv[1], "vfork") == 0 && argc == 5)
		return do_vfork(argv[3], atoi(argv[4]));
	if (strcmp(argv[1], "restart") == 0)
		return restart();
	if (strcmp(argv[1], "storm") == 0 && argc == 5)
		return storm(argv[3], atoi(argv[4]));
	fprintf(stderr, "scratch_calls: bad arguments\n");
	return 2;
}
