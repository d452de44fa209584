// SPDX-License-Identifier: MIT
/*
 * Corner cases of the tracer, for test_regressions.py. Each mode prints what
 * its calls returned (the value, or -1 and the errno's name), so a native run
 * and a run under ptvfs can be compared line by line.
 *   edge_calls nondumpable FILE   prctl(PR_SET_DUMPABLE, 0), then openat(FILE)
 *   edge_calls empty_path X G S F NULL path with AT_EMPTY_PATH on an fd of each
 *                                 file: setxattrat on X, getxattrat on G, statx
 *                                 on S, newfstatat on F (G has user.ptvfs set)
 *   edge_calls untraced FILE MARK clone(CLONE_UNTRACED) then clone3(CLONE_UNTRACED):
 *                                 each child reads FILE after the parent exited,
 *                                 then creates MARK.1 / MARK.2
 *   edge_calls bad_nr             syscall(-1), syscall(0x50000000)
 *   edge_calls excl LINK          open and openat2 O_WRONLY|O_CREAT|O_EXCL of LINK
 *   edge_calls slash LINK         rmdir, unlink, rename of "LINK/"
 *   edge_calls pin_other          pin a busy child to a CPU ptvfs does not use,
 *                                 with taskset -pc, and print where it may run
 *   edge_calls in_root FILE       openat2(FILE) with RESOLVE_IN_ROOT
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define SYS_setxattrat_ 463
#define SYS_getxattrat_ 464

/* struct xattr_args of <linux/xattr.h> (Linux 6.13), which older headers lack. */
struct xattr_args_ {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

static long show(const char *label, long ret)
{
	if (ret < 0)
		printf("%s: -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%s: %ld\n", label, ret);
	fflush(stdout);
	return ret;
}

static int nondumpable(const char *file)
{
	long fd;

	show("prctl", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
	printf("pid %d\n", (int)getpid());
	fd = show("openat", syscall(SYS_openat, AT_FDCWD, file, O_RDONLY));
	if (fd >= 0)
		close((int)fd);
	return 0;
}

static int empty_path(char **files)
{
	int x = open(files[0], O_RDONLY), g = open(files[1], O_RDONLY);
	int s = open(files[2], O_RDONLY), f = open(files[3], O_RDONLY);
	char value[16] = "v";
	struct xattr_args_ args = {(uintptr_t)value, 1, 0};
	struct statx stx;
	struct stat st;
	long r;

	show("setxattrat",
	     syscall(SYS_setxattrat_, x, NULL, AT_EMPTY_PATH, "user.ptvfs", &args, sizeof(args)));
	/* G has user.ptvfs already (the test sets it). */
	memset(value, 0, sizeof(value));
	args = (struct xattr_args_){(uintptr_t)value, sizeof(value), 0};
	r = show("getxattrat", syscall(SYS_getxattrat_, g, NULL, AT_EMPTY_PATH, "user.ptvfs", &args,
				       sizeof(args)));
	if (r > 0)
		printf("  value %.*s\n", (int)r, value);
	r = show("statx", syscall(SYS_statx, s, NULL, AT_EMPTY_PATH, STATX_BASIC_STATS, &stx));
	if (r == 0)
		printf("  size %llu\n", (unsigned long long)stx.stx_size);
	r = show("newfstatat", syscall(SYS_newfstatat, f, NULL, &st, AT_EMPTY_PATH));
	if (r == 0)
		printf("  size %lld\n", (long long)st.st_size);
	return 0;
}

/* The child of an untraced clone: waits for its parent to be gone, reads FILE, makes MARK. */
static void untraced_child(const char *label, const char *file, const char *mark)
{
	char buf[64];
	long fd, n = -1;

	usleep(200 * 1000);
	fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY);
	if (fd >= 0)
		n = read((int)fd, buf, sizeof(buf));
	if (fd < 0)
		printf("%s open: -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%s read: %.*s\n", label, (int)(n > 0 ? n : 0), buf);
	fflush(stdout);
	fd = syscall(SYS_openat, AT_FDCWD, mark, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	_exit(fd < 0);
}

static int untraced(const char *file, const char *mark)
{
	char mark1[4096], mark2[4096];
	struct clone_args args;
	long pid;

	snprintf(mark1, sizeof(mark1), "%s.1", mark);
	snprintf(mark2, sizeof(mark2), "%s.2", mark);
	fflush(stdout); /* nothing buffered is printed twice */
	/* Raw clone with no stack: a fork, asking not to be traced. */
	pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0)
		untraced_child("clone child", file, mark1);
	printf("clone: %s\n", pid > 0 ? "ok" : strerrorname_np(errno));
	fflush(stdout);
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_UNTRACED;
	args.exit_signal = SIGCHLD;
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		untraced_child("clone3 child", file, mark2);
	printf("clone3: %s\n", pid > 0 ? "ok" : strerrorname_np(errno));
	fflush(stdout);
	return 0; /* without waiting: the children outlive their parent */
}

static int bad_nr(void)
{
	show("syscall(-1)", syscall(-1L));
	show("syscall(0x50000000)", syscall(0x50000000L));
	printf("alive\n");
	return 0;
}

static int excl(const char *link)
{
	struct open_how how = {.flags = O_WRONLY | O_CREAT | O_EXCL, .mode = 0644};

	show("open O_CREAT|O_EXCL",
	     syscall(SYS_openat, AT_FDCWD, link, O_WRONLY | O_CREAT | O_EXCL, 0644));
	show("openat2 O_CREAT|O_EXCL", syscall(SYS_openat2, AT_FDCWD, link, &how, sizeof(how)));
	return 0;
}

static int slash(const char *link)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/", link);
	show("rmdir", syscall(SYS_rmdir, path));
	show("unlink", syscall(SYS_unlink, path));
	show("unlinkat AT_REMOVEDIR", syscall(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR));
	show("rename", syscall(SYS_rename, path, "renamed"));
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Cpus_allowed_list of /proc/PID/status ("0-1"), in BUF. */
static const char *allowed_list(const char *pid, char *buf, size_t size)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	snprintf(buf, size, "?");
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
			snprintf(buf, size, "%s", line + 18 + strspn(line + 18, " \t"));
			buf[strcspn(buf, "\n")] = 0;
		}
	}
	if (f)
		fclose(f);
	return buf;
}

/* Busy for MS milliseconds (no syscall ptvfs stops on); the parent reads where it may run. */
static void spin(long ms)
{
	long end = now_ms() + ms;
	volatile unsigned long sink = 0;

	while (now_ms() < end)
		for (int i = 0; i < 100000; i++)
			sink += i;
}

static pid_t start_spinner(long ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		spin(ms);
		_exit(0);
	}
	return pid;
}

static int pin_other(void)
{
	char self[64], list[64], busy[16], cpu[16];
	cpu_set_t home, mine;
	int target = -1, status;
	pid_t pid, other;

	/*
	 * Under ptvfs a lone process is packed on ptvfs's CPU: the child is pinned
	 * to another one, which sched_getaffinity (ptvfs hides the packing) lists.
	 */
	CPU_ZERO(&home);
	allowed_list("self", self, sizeof(self));
	for (char *p = self; *p;) {
		long lo = strtol(p, &p, 10), hi = lo;
		if (*p == '-')
			hi = strtol(p + 1, &p, 10);
		for (long c = lo; c <= hi && c < CPU_SETSIZE; c++)
			CPU_SET(c, &home);
		if (*p != ',')
			break;
		p++;
	}
	if (sched_getaffinity(0, sizeof(mine), &mine) < 0)
		CPU_ZERO(&mine);
	for (int c = CPU_SETSIZE - 1; c >= 0 && target < 0; c--)
		if (CPU_ISSET(c, &mine) && !CPU_ISSET(c, &home))
			target = c;
	if (target < 0)
		target = 0; /* natively: every CPU is ours */
	printf("target %d\n", target);
	fflush(stdout);

	pid = start_spinner(1500);
	snprintf(busy, sizeof(busy), "%d", (int)pid);
	snprintf(cpu, sizeof(cpu), "%d", target);
	usleep(100 * 1000);
	other = fork();
	if (other == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execlp("taskset", "taskset", "-pc", cpu, busy, (char *)NULL);
		_exit(127);
	}
	waitpid(other, &status, 0);
	printf("taskset: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	/* Two busy processes, then one again: ptvfs spreads, then packs what it places. */
	other = start_spinner(150);
	usleep(80 * 1000);
	printf("busy child, another one running: %s\n", allowed_list(busy, list, sizeof(list)));
	waitpid(other, &status, 0);
	usleep(300 * 1000);
	printf("busy child, alone again: %s\n", allowed_list(busy, list, sizeof(list)));
	fflush(stdout);
	waitpid(pid, &status, 0);
	return 0;
}

static int in_root(const char *file)
{
	struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_IN_ROOT};

	long fd;

	printf("pid %d\n", (int)getpid());
	fd = syscall(SYS_openat2, AT_FDCWD, file, &how, sizeof(how));
	show("openat2 RESOLVE_IN_ROOT", fd >= 0 ? 0 : -1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "nondumpable") == 0 && argc == 3)
		return nondumpable(argv[2]);
	if (strcmp(mode, "empty_path") == 0 && argc == 6)
		return empty_path(argv + 2);
	if (strcmp(mode, "untraced") == 0 && argc == 4)
		return untraced(argv[2], argv[3]);
	if (strcmp(mode, "bad_nr") == 0)
		return bad_nr();
	if (strcmp(mode, "excl") == 0 && argc == 3)
		return excl(argv[2]);
	if (strcmp(mode, "slash") == 0 && argc == 3)
		return slash(argv[2]);
	if (strcmp(mode, "pin_other") == 0)
		return pin_other();
	if (strcmp(mode, "in_root") == 0 && argc == 3)
		return in_root(argv[2]);
	fprintf(stderr, "usage: see the comment at the top of edge_calls.c\n");
	return 2;
}
