// SPDX-License-Identifier: MIT
/*
 * Every way to start a process, for test_processes.py: fork, vfork + exec,
 * clone3 and clone as raw syscalls, and an orphan (a grandchild whose parent
 * exits first and which works on after that). Each child reads its own file;
 * the program prints "KIND pid=CHILD ppid=PARENT exit=N" for each.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* Only raw syscalls in a child made by a raw clone: libc's state is the parent's. */
static void raw_child(const char *file, int code)
{
	char buf[16];
	long fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY);

	if (fd < 0 || syscall(SYS_read, fd, buf, sizeof(buf)) < 0)
		code = 1;
	syscall(SYS_exit_group, code);
}

static void read_file(const char *file)
{
	char buf[16];
	int fd = open(file, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
		_exit(1);
	close(fd);
}

static void reap(const char *kind, pid_t pid)
{
	int status;

	if (pid < 0) {
		printf("%s failed: %s\n", kind, strerror(errno));
		return;
	}
	if (waitpid(pid, &status, 0) != pid) {
		printf("%s waitpid: %s\n", kind, strerror(errno));
		return;
	}
	printf("%s pid=%d ppid=%d exit=%d\n", kind, (int)pid, (int)getpid(),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static pid_t orphan_maker(void)
{
	int pipefd[2];
	pid_t pid, grandchild = -1;

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		pid_t gc = fork();

		if (gc == 0) {
			struct timespec ts = {0, 300 * 1000 * 1000};

			close(pipefd[1]);
			/* Outlive the parent and the top process: ptvfs must wait for us. */
			nanosleep(&ts, NULL);
			read_file("orphan_file");
			_exit(0);
		}
		if (write(pipefd[1], &gc, sizeof(gc)) < 0)
			_exit(1);
		_exit(9);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
		grandchild = -1;
	close(pipefd[0]);
	reap("orphan-parent", pid);
	printf("orphan pid=%d ppid=%d\n", (int)grandchild, (int)pid);
	return grandchild;
}

int main(int argc, char **argv)
{
	struct clone_args args = {.exit_signal = SIGCHLD};
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "vfork-child") == 0) {
		read_file("vfork_file");
		return 4;
	}
	setvbuf(stdout, NULL, _IONBF, 0);

	pid = fork();
	if (pid == 0) {
		read_file("fork_file");
		_exit(3);
	}
	reap("fork", pid);

	pid = vfork();
	if (pid == 0) {
		execl(argv[0], argv[0], "vfork-child", (char *)NULL);
		_exit(127);
	}
	reap("vfork", pid);

	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		raw_child("clone3_file", 6);
	reap("clone3", pid);

	pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (pid == 0)
		raw_child("clone_file", 7);
	reap("clone", pid);

	orphan_maker();
	printf("main pid=%d\n", (int)getpid());
	return 0;
}
