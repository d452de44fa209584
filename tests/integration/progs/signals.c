// SPDX-License-Identifier: MIT
/*
 * Exit statuses and signals, for test_exit_status.py.
 *   signals exit N     exit with status N
 *   signals segv       die of a real SIGSEGV (a write through a NULL pointer)
 *   signals kill       die of SIGKILL sent to itself
 *   signals trap       print "ready", then exit 7 on SIGTERM, 8 on SIGINT, 9 on SIGHUP
 *   signals count      print "ready", and after the first SIGINT or SIGTERM wait a while
 *                      and print how many arrived
 *   signals queue      sigqueue() itself a SIGUSR1 with a value; the handler checks that
 *                      the signal arrives unchanged (si_code, si_pid, si_value)
 *   signals stopcont   stop and continue a child, and print what waitpid() reports
 *   signals ticker N   print "pid P", then "tick I" every 50 ms, N times
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;
static volatile sig_atomic_t queue_ok = -1;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void on_trap(int sig)
{
	_exit(sig == SIGTERM ? 7 : sig == SIGINT ? 8 : sig == SIGHUP ? 9 : 1);
}

static void on_count(int sig)
{
	(void)sig;
	count++;
}

static void on_queue(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	queue_ok = sig == SIGUSR1 && info->si_code == SI_QUEUE && info->si_pid == getpid() &&
		   info->si_value.sival_int == 4242;
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa = {.sa_handler = fn};

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int trap(void)
{
	handle(SIGTERM, on_trap);
	handle(SIGINT, on_trap);
	handle(SIGHUP, on_trap);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 600; i++)
		sleep_ms(100);
	return 1;
}

static int count_signals(void)
{
	handle(SIGTERM, on_count);
	handle(SIGINT, on_count);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 600 && !count; i++)
		sleep_ms(10);
	sleep_ms(200);
	printf("%d\n", (int)count);
	return 0;
}

static int queue(void)
{
	struct sigaction sa = {.sa_sigaction = on_queue, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 4242});
	printf("queued signal arrived %s\n", queue_ok == 1 ? "unchanged" : "changed or not at all");
	return queue_ok == 1 ? 0 : 1;
}

static void show_status(const char *what, int status)
{
	if (WIFSTOPPED(status))
		printf("%s: stopped by %s\n", what, sigabbrev_np(WSTOPSIG(status)));
	else if (WIFCONTINUED(status))
		printf("%s: continued\n", what);
	else if (WIFSIGNALED(status))
		printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(status)));
	else
		printf("%s: exited %d\n", what, WEXITSTATUS(status));
}

static int stopcont(void)
{
	int status;
	pid_t pid = fork();

	/*
	 * Its own process group, which its parent keeps from being orphaned:
	 * SIGTSTP to an orphaned group is discarded.
	 */
	if (pid == 0) {
		setpgid(0, 0);
		for (int i = 0; i < 100; i++)
			sleep_ms(50);
		_exit(0);
	}
	setpgid(pid, pid);
	kill(pid, SIGSTOP);
	if (waitpid(pid, &status, WUNTRACED) == pid)
		show_status("after SIGSTOP", status);
	kill(pid, SIGCONT);
	if (waitpid(pid, &status, WCONTINUED) == pid)
		show_status("after SIGCONT", status);
	kill(pid, SIGTSTP);
	if (waitpid(pid, &status, WUNTRACED) == pid)
		show_status("after SIGTSTP", status);
	kill(pid, SIGTERM); /* pending while stopped */
	kill(pid, SIGCONT);
	if (waitpid(pid, &status, 0) == pid)
		show_status("after SIGTERM and SIGCONT", status);
	return 0;
}

static int ticker(int n)
{
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		sleep_ms(50);
		printf("tick %d\n", i);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "exit") == 0 && argc > 2)
		return atoi(argv[2]);
	if (strcmp(mode, "segv") == 0) {
		fflush(stdout);
		*(volatile int *)NULL = 1;
		return 1;
	}
	if (strcmp(mode, "kill") == 0) {
		fflush(stdout);
		raise(SIGKILL);
		return 1;
	}
	if (strcmp(mode, "trap") == 0)
		return trap();
	if (strcmp(mode, "count") == 0)
		return count_signals();
	if (strcmp(mode, "queue") == 0)
		return queue();
	if (strcmp(mode, "stopcont") == 0)
		return stopcont();
	if (strcmp(mode, "ticker") == 0 && argc > 2)
		return ticker(atoi(argv[2]));
	fprintf(stderr, "usage: signals exit N|segv|kill|trap|count|queue|stopcont|ticker N\n");
	return 2;
}
