// SPDX-License-Identifier: MIT
/*
 * Starting the command under the tracer and the event loop.
 *
 * The command's process waits on a pipe until ptvfs has seized it, loads the
 * seccomp filter and execs; from then on every process and thread it starts
 * is traced automatically (PTRACE_O_TRACEFORK, VFORK, CLONE), and ptvfs
 * dying kills them all (PTRACE_O_EXITKILL).
 *
 * A stop is cheap when the tracer is already running when the tracee stops:
 * waking an idle CPU costs several times the stop itself on a virtual
 * machine (DESIGN.md §6). So the loop polls for the next stop for a short
 * while before it sleeps in waitpid().
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "scratch.h"
#include "tracer.h"

#define PTRACE_OPTIONS                                                                             \
	(PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |  \
	 PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)

/*
 * How long to poll for the next stop before sleeping, when the traced
 * threads are spread over CPUs (cpu.c); PTVFS_SPIN_US overrides.
 */
#define DEFAULT_SPIN_NS 50000L

/* si_code of a SIGSYS raised by a seccomp filter (<asm-generic/siginfo.h>). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

/*
 * SIGINT, SIGTERM, SIGHUP sent to ptvfs go on to the command. A signal sent
 * to the whole process group (kill -TERM -PGID, as CI runners and timeout
 * do) reaches the command by itself: it is forwarded only when the command
 * has not received the same signal from the same sender soon after.
 */
#define FORWARD_DELAY_NS 20000000L

/* Ends of threads taken by a wait of memory.c's, handed out before the loop waits again. */
#define DEFERRED_MAX 16
static struct {
	pid_t pid;
	int status;
} deferred[DEFERRED_MAX];
static int deferred_count;

/* A signal to pass on, once FORWARD_DELAY_NS shows the command did not get it itself. */
static volatile sig_atomic_t pending_signal;
static volatile pid_t pending_sender;
static struct timespec pending_since;
/* SIGCHLD (each tracee stop sends one): blocked, awaited when a deadline is near. */
static sigset_t sigchld_set;

static void on_forwardable_signal(int sig, siginfo_t *si, void *uc)
{
	/* Wakes a waitpid() entered just after the loop looked at pending_signal. */
	static const struct itimerval kick = {{0, 0}, {0, 1000}};
	int saved_errno = errno;

	(void)uc;
	/* From the terminal the command's process group got it already (SI_KERNEL). */
	if (si->si_code > 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &pending_since);
	pending_sender = si->si_pid;
	pending_signal = sig;
	setitimer(ITIMER_REAL, &kick, NULL);
	errno = saved_errno;
}

static void on_alarm(int sig)
{
	(void)sig; /* only interrupts a wait */
}

static void install_signal_handling(void)
{
	struct sigaction forward = {.sa_sigaction = on_forwardable_signal, .sa_flags = SA_SIGINFO};
	struct sigaction alarm = {.sa_handler = on_alarm};
	static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP};

	/* No SA_RESTART: a signal interrupts the loop's wait. */
	sigemptyset(&forward.sa_mask);
	sigemptyset(&alarm.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &forward, NULL);
	sigaction(SIGALRM, &alarm, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* After the fork: the command starts with the mask ptvfs was given. */
	sigemptyset(&sigchld_set);
	sigaddset(&sigchld_set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigchld_set, NULL);
}

static __attribute__((noreturn)) void run_child(const struct options *opts, int go_fd,
						const char *start_dir)
{
	char c;
	int err;

	/* Wait until the parent has seized us: nothing may run untraced. */
	ssize_t got;

	while ((got = read(go_fd, &c, 1)) < 0 && errno == EINTR)
		;
	/* ptvfs died before it could trace us: run nothing. */
	if (got != 1)
		_exit(PTVFS_EXIT_FAILURE);
	close(go_fd);
	if (start_dir && chdir(start_dir) < 0) {
		warn("cannot enter %s: %s", start_dir, strerror(errno));
		_exit(PTVFS_EXIT_FAILURE);
	}
	options_apply_env(opts);
	err = filter_install(opts->view != NULL);
	if (err < 0) {
		errno = -err;
		warn("cannot install the seccomp filter (%s): is seccomp disabled here?",
		     strerror(-err));
		_exit(PTVFS_EXIT_FAILURE);
	}
	execvp(opts->command[0], opts->command);
	err = errno;
	warn("%s: %s", opts->command[0], strerror(err));
	_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

static pid_t spawn(const struct options *opts, const char *start_dir)
{
	int go[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		die_errno("pipe");
	pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		close(go[1]);
		run_child(opts, go[0], start_dir);
	}
	close(go[0]);
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_OPTIONS) < 0) {
		int err = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = err;
		die_errno(
		    "cannot trace the command: ptrace is not permitted here (already under a "
		    "tracer such as ptvfs, strace or gdb? kernel.yama.ptrace_scope? a seccomp "
		    "profile?)");
	}
	if (write(go[1], "g", 1) != 1)
		die_errno("cannot start the command");
	close(go[1]);
	return pid;
}

static long spin_ns(void)
{
	const char *env = getenv("PTVFS_SPIN_US");

	if (env)
		return atol(env) * 1000L;
	return DEFAULT_SPIN_NS;
}

void loop_defer_status(pid_t pid, int status)
{
	/* One at most per stop handled, and the loop takes it before the next. */
	if (deferred_count == DEFERRED_MAX) {
		warn("lost the end of process %d", (int)pid);
		return;
	}
	deferred[deferred_count].pid = pid;
	deferred[deferred_count].status = status;
	deferred_count++;
}

static long elapsed_ns(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

/*
 * Forward the pending signal if the command has not had it from its sender
 * by now: to the command, or once it is gone, to every process left.
 */
static void forward_pending_signal(struct tracer *t)
{
	if (!pending_signal || elapsed_ns(&pending_since) < FORWARD_DELAY_NS)
		return;
	if (!t->root_exited) {
		kill(t->root_pid, pending_signal);
	} else {
		for (struct thread *th = t->threads; th; th = th->hh.next)
			if (th->tid == th->tgid)
				kill(th->tgid, pending_signal);
	}
	pending_signal = 0;
}

/*
 * The next stop or exit of any tracee; -1 with errno ECHILD when none is
 * left, 0 when BUDGET (ns, -1 for none) ran out first. Polls for SPIN ns
 * first; then sleeps in waitpid(), or, when something is due at a set
 * time, until a SIGCHLD or that time.
 */
static pid_t wait_next(struct tracer *t, int *status, long spin, long budget)
{
	struct timespec start;
	pid_t pid;

	if (deferred_count) {
		pid = deferred[0].pid;
		*status = deferred[0].status;
		memmove(deferred, deferred + 1, --deferred_count * sizeof(deferred[0]));
		return pid;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (spin > 0) {
		pid = waitpid(-1, status, __WALL | WNOHANG);
		if (pid != 0)
			return pid;
		if (elapsed_ns(&start) >= spin)
			break;
	}
	for (;;) {
		long left = -1;
		struct timespec timeout;

		forward_pending_signal(t);
		if (!pending_signal && budget < 0) {
			pid = waitpid(-1, status, __WALL);
			if (pid >= 0 || errno != EINTR)
				return pid;
			continue;
		}
		pid = waitpid(-1, status, __WALL | WNOHANG);
		if (pid != 0)
			return pid;
		if (budget >= 0) {
			left = budget - elapsed_ns(&start);
			if (left <= 0)
				return 0;
		}
		if (pending_signal) {
			long forward_left = FORWARD_DELAY_NS - elapsed_ns(&pending_since);
			if (forward_left < 0)
				forward_left = 0;
			if (left < 0 || forward_left < left)
				left = forward_left;
		}
		timeout = (struct timespec){left / 1000000000L, left % 1000000000L};
		sigtimedwait(&sigchld_set, NULL, &timeout);
	}
}

static void resume(pid_t tid, int request, int sig)
{
	/* ESRCH: killed meanwhile; its exit comes next. */
	ptrace(request, tid, 0, sig);
}

/* The command got a signal ptvfs was about to forward: from its sender, directly. */
static void note_direct_delivery(pid_t tid, int sig)
{
	siginfo_t si;

	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0 && si.si_signo == sig && si.si_code <= 0 &&
	    si.si_pid == pending_sender)
		pending_signal = 0;
}

#define X32_SYSCALL_BIT 0x40000000
/* x32 system calls are numbered from X32_SYSCALL_BIT up; a larger number is none at all. */
#define X32_SYSCALL_MAX 1024

enum seccomp_sigsys { SIGSYS_OTHER, SIGSYS_OTHER_ABI, SIGSYS_NO_SUCH_CALL };

/* What a SIGSYS is: our filter's answer to a syscall of another ABI, to a number that is no syscall, or neither. */
static enum seccomp_sigsys classify_sigsys(pid_t tid)
{
	siginfo_t si;
	unsigned nr;

	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) < 0 || si.si_code != SYS_SECCOMP)
		return SIGSYS_OTHER;
	if (si.si_arch != ARCH_AUDIT)
		return SIGSYS_OTHER_ABI;
	nr = (unsigned)si.si_syscall;
	if (nr >= X32_SYSCALL_BIT && nr < X32_SYSCALL_BIT + X32_SYSCALL_MAX)
		return SIGSYS_OTHER_ABI;
	/* libseccomp sends every number past the x32 bit here, -1 too: the kernel says ENOSYS. */
	return nr >= X32_SYSCALL_BIT ? SIGSYS_NO_SUCH_CALL : SIGSYS_OTHER;
}

static void fail_with_enosys(pid_t tid)
{
	arch_regs regs;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) == 0) {
		regs.rax = (unsigned long)-ENOSYS;
		ptrace(PTRACE_SETREGS, tid, 0, &regs);
	}
}

/* A syscall of another ABI: refused by killing its process, never run unrecorded. */
static void refuse_other_abi(struct tracer *t, struct thread *th)
{
	arch_regs regs;
	const char *abi = "i386";

	if (ptrace(PTRACE_GETREGS, th->tid, 0, &regs) == 0 && (regs.orig_rax & X32_SYSCALL_BIT))
		abi = "x32";
	if (!th->refused_abi) {
		warn("%s (pid %d) made a 32-bit (%s) system call, which ptvfs cannot follow; "
		     "killing it",
		     th->proc && th->proc->exe ? th->proc->exe : "a process", (int)th->tgid, abi);
		report_add_refusal(t->report, th->tgid, "32-bit system call",
				   "the process was killed");
		th->refused_abi = true;
	}
	kill(th->tgid, SIGKILL);
}

static void handle_exit(struct tracer *t, struct thread *th, int status)
{
	if (th->tid == th->tgid)
		report_process_exit(t->report, th->tgid, status);
	if (th->tid == t->root_pid) {
		t->root_exited = true;
		t->root_status = status;
	}
	thread_forget(t, th);
}

/* A seccomp stop: the call handled, and TH resumed as its handler says. */
static void seccomp_stop(struct tracer *t, struct thread *th)
{
	bool exit_stop;

	if (th->replay == REPLAY_COMMITTED) {
		/* The call again after ptvfs's own mmap: handled and rewritten at its first stop. */
		if (remap_replay_arrived(th)) {
			resume(th->tid, th->replay_exit_stop ? PTRACE_SYSCALL : PTRACE_CONT, 0);
			return;
		}
		th->exit_pending = NULL;
	}
	exit_stop = handle_syscall_stop(t, th);
	switch (th->replay) {
	case REPLAY_NONE:
		resume(th->tid, exit_stop ? PTRACE_SYSCALL : PTRACE_CONT, 0);
		return;
	case REPLAY_COMMITTED:
		/* TH is at the mmap's exit stop: the call enters again, to its seccomp stop. */
		th->replay_exit_stop = exit_stop;
		break;
	case REPLAY_PENDING:
		if (remap_replay_again(th)) {
			/* Not rewritten after all: it enters again and is handled anew. */
			th->exit_pending = NULL;
			th->restore_pending = false;
		} else if (exit_stop) {
			/* Answered already: the mmap's exit stop is the call's own exit. */
			handle_syscall_exit(t, th);
		}
		break;
	}
	resume(th->tid, PTRACE_CONT, 0);
}

static void handle_stop(struct tracer *t, struct thread *th, int status)
{
	int sig = WSTOPSIG(status);
	int event = (unsigned)status >> 16;
	unsigned long msg = 0;

	switch (event) {
	case PTRACE_EVENT_SECCOMP:
		seccomp_stop(t, th);
		return;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		/*
		 * The new task is taken in at its own first stop: this event may
		 * be reported after the child has already run and exited. Its
		 * parent is noted for then, unless that stop came first.
		 */
		if (ptrace(PTRACE_GETEVENTMSG, th->tid, 0, &msg) == 0 &&
		    !thread_find(t, (pid_t)msg))
			thread_born(t, (pid_t)msg, th);
		resume(th->tid, PTRACE_CONT, 0);
		return;
	case PTRACE_EVENT_EXEC:
		/* Exec from a non-leader thread: it took the leader's tid, its own is gone. */
		if (ptrace(PTRACE_GETEVENTMSG, th->tid, 0, &msg) == 0 && (pid_t)msg != th->tid) {
			struct thread *former = thread_find(t, (pid_t)msg);
			if (former)
				thread_forget(t, former);
		}
		thread_exec(t, th);
		resume(th->tid, PTRACE_CONT, 0);
		return;
	case PTRACE_EVENT_STOP:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			resume(th->tid, PTRACE_LISTEN, 0); /* a group stop: stay stopped */
		else
			resume(th->tid, PTRACE_CONT, 0);
		return;
	case 0:
		if (sig == (SIGTRAP | 0x80)) {
			handle_syscall_exit(t, th);
			resume(th->tid, PTRACE_CONT, 0);
			return;
		}
		/*
		 * A signal before a rewritten call enters again: its handler
		 * may make calls of its own in this thread's slot. The call
		 * gets its own arguments back, and is handled anew after it.
		 */
		if (th->replay == REPLAY_COMMITTED) {
			remap_replay_undo(th);
			th->exit_pending = NULL;
		}
		if (pending_signal == sig && th->tid == t->root_pid)
			note_direct_delivery(th->tid, sig);
		if (sig == SIGSYS) {
			switch (classify_sigsys(th->tid)) {
			case SIGSYS_OTHER_ABI:
				refuse_other_abi(t, th);
				resume(th->tid, PTRACE_CONT, 0);
				return;
			case SIGSYS_NO_SUCH_CALL:
				fail_with_enosys(th->tid);
				resume(th->tid, PTRACE_CONT, 0);
				return;
			case SIGSYS_OTHER:
				break;
			}
		}
		/* A signal on its way to the tracee: deliver it unchanged. */
		resume(th->tid, PTRACE_CONT, sig);
		return;
	default:
		resume(th->tid, PTRACE_CONT, 0);
	}
}

/*
 * View mode: the directory the command starts in: --chdir DIR, else the
 * current directory's path when it is a directory in the view, else "/".
 * Its view path into VIEW, the host directory standing for it into HOST.
 */
static void view_start_dir(struct tracer *t, const struct options *opts, char *view, char *host)
{
	struct resolution res;
	struct view_target target;
	char here[PATH_MAX];
	const char *base = "/";

	if (getcwd(here, sizeof(here)) &&
	    view_resolve(t->view, NULL, here, RESOLVE_FOLLOW, &res, &target) == 0 &&
	    res.type == S_IFDIR)
		base = here;
	if (view_resolve(t->view, base, opts->chdir ? opts->chdir : ".", RESOLVE_FOLLOW, &res,
			 &target) < 0 ||
	    res.type != S_IFDIR) {
		if (opts->chdir)
			die("--chdir %s: %s in the view", opts->chdir,
			    res.error ? strerror(-res.error) : "not a directory");
		snprintf(res.path, sizeof(res.path), "/");
		view_lookup(t->view, "/", &target);
	}
	snprintf(view, PATH_MAX, "%s", res.path);
	if (target.kind == VIEW_HOST && view_dir_is_plain(t->view, res.path))
		snprintf(host, PATH_MAX, "%s", target.host);
	else if (viewfs_stand_in(t, res.path, host) < 0)
		die("cannot make a directory for the view's %s in %s", res.path, t->stand_in_dir);
}

int trace_command(const struct options *opts, struct report *report)
{
	struct tracer t = {.opts = opts, .report = report, .view = opts->view};
	char start_view[PATH_MAX], start_host[PATH_MAX];
	const char *start_dir = opts->chdir;
	struct thread *root;

	if (t.view) {
		t.stand_in_dir = xasprintf("%s/v", scratch_dir(opts->scratch));
		t.upper_dir = opts->upper_dir ? xstrdup(opts->upper_dir)
					      : xasprintf("%s/upper", scratch_dir(opts->scratch));
		view_start_dir(&t, opts, start_view, start_host);
		start_dir = start_host;
		report_set_command(report, opts->command, start_view);
		/* Only a record that is written needs them: 100,000 paths take ~25 ms to sort. */
		if (view_input_count(t.view) && (opts->report_file || opts->unused_inputs)) {
			size_t n = view_input_count(t.view);
			autofree char **paths = xmalloc(n * sizeof(*paths));
			char buf[PATH_MAX];

			for (size_t i = 0; i < n; i++)
				paths[i] = xstrdup(view_input_path(t.view, i, buf));
			report_set_inputs(report, n, (const char *const *)paths);
			for (size_t i = 0; i < n; i++)
				free(paths[i]);
		}
	}
	why_init(&t);
	cpu_init(&t);
	t.cpu.spread_spin_ns = spin_ns();
	t.root_pid = spawn(opts, start_dir);
	install_signal_handling();
	root = thread_attach(&t, t.root_pid);
	/* The command's own entry: it has done nothing yet, its exec fills it in. */
	root->proc->ppid = getpid();
	argv_free(root->proc->argv);
	root->proc->argv = argv_dup(opts->command);
	if (t.view) {
		free(root->proc->cwd);
		root->proc->cwd = xstrdup(start_view);
	}

	for (;;) {
		struct thread *th;
		int status;
		pid_t pid = wait_next(&t, &status, t.cpu.spin_ns, cpu_wait_budget_ns(&t));

		if (pid <= 0) {
			if (pid == 0 || errno == EINTR) {
				cpu_update(&t);
				continue;
			}
			break; /* ECHILD: every traced process is gone */
		}
		th = thread_find(&t, pid);
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (th)
				handle_exit(&t, th, status);
		} else if (WIFSTOPPED(status)) {
			if (!th)
				th = thread_attach(&t, pid);
			handle_stop(&t, th, status);
		}
		cpu_update(&t);
	}
	while (t.threads)
		thread_forget(&t, t.threads);
	hostfs_free_cache(&t);
	viewfs_free(&t);
	overlay_free(&t);
	why_free(&t);
	free(t.stand_in_dir);
	thread_free_births(&t);
	cpu_free(&t);
	if (!t.root_exited)
		return PTVFS_EXIT_FAILURE;
	report_set_exit(report, t.root_status);
	if (WIFSIGNALED(t.root_status))
		return 128 + WTERMSIG(t.root_status);
	return WEXITSTATUS(t.root_status);
}
