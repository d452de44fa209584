// SPDX-License-Identifier: MIT
/*
 * Where the traced processes run.
 *
 * A stop costs several times more when the tracer and the tracee sit on
 * different CPUs (the idle CPU must be woken, DESIGN.md §6). So while at
 * most one traced thread has work ("packed"), ptvfs keeps every traced
 * thread and itself on one CPU, and stops cost a context switch. When two
 * or more can run at once (make -j2's two compilers), it gives them all the
 * CPUs back ("spread"), and the tracer polls for stops instead of sleeping.
 *
 * Who has work is estimated from the process tree: a process with live
 * children is taken to wait for them; the threads of the other processes
 * (the leaves) are the ones that run. A change must last a few
 * milliseconds before the threads move (the loop wakes up to check even
 * when no stop comes), so short pipelines and the gaps between a build's
 * jobs do not bounce them around.
 *
 * The command must not see this: sched_getaffinity answers with the CPUs
 * ptvfs itself was given, and a process that sets its own affinity is left
 * alone from then on (and its children too).
 */
#include <errno.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>

#include "ptvfs/util.h"
#include "tracer.h"

/*
 * How long a change must last before the threads are moved: a pipeline of
 * short commands does not spread, a pause between two jobs does not pack.
 */
#define SPREAD_DELAY_NS 2000000L
#define PACK_DELAY_NS 5000000L

struct process_node {
	pid_t tgid;
	pid_t ppid;
	int threads;
	int children;
	bool self_placed; /* set its own affinity: never moved by ptvfs */
	UT_hash_handle hh;
};

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static struct process_node *node_find(struct tracer *t, pid_t tgid)
{
	struct process_node *n;

	HASH_FIND_INT(t->cpu.processes, &tgid, n);
	return n;
}

static const cpu_set_t *mask_for(const struct tracer *t)
{
	return t->cpu.spread ? &t->cpu.all : &t->cpu.home;
}

static void place_thread(struct tracer *t, pid_t tid)
{
	/* ESRCH: gone meanwhile. */
	sched_setaffinity(tid, sizeof(cpu_set_t), mask_for(t));
}

static void apply(struct tracer *t)
{
	sched_setaffinity(0, sizeof(cpu_set_t), mask_for(t));
	for (struct thread *th = t->threads; th; th = th->hh.next) {
		struct process_node *n = node_find(t, th->tgid);
		if (!n || !n->self_placed)
			place_thread(t, th->tid);
	}
}

void cpu_init(struct tracer *t)
{
	int cpu = sched_getcpu();

	t->cpu.spin_ns = 0;
	if (sched_getaffinity(0, sizeof(t->cpu.all), &t->cpu.all) < 0 ||
	    CPU_COUNT(&t->cpu.all) < 2) {
		t->cpu.fixed = true; /* one CPU: nothing to choose */
		return;
	}
	if (cpu < 0 || !CPU_ISSET(cpu, &t->cpu.all)) {
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &t->cpu.all); cpu++)
			;
	}
	CPU_ZERO(&t->cpu.home);
	CPU_SET(cpu, &t->cpu.home);
	/* Packed from the start: the command, forked after this, inherits it. */
	sched_setaffinity(0, sizeof(cpu_set_t), &t->cpu.home);
}

void cpu_free(struct tracer *t)
{
	struct process_node *n, *tmp;

	HASH_ITER(hh, t->cpu.processes, n, tmp)
	{
		HASH_DEL(t->cpu.processes, n);
		free(n);
	}
}

/*
 * What N adds to the runnable count: all its threads when it is a leaf; when
 * it waits for children, its threads but the one taken to wait (a test
 * harness's worker threads still run). Applied with SIGN around each change.
 */
static void count_leaf(struct tracer *t, const struct process_node *n, int sign)
{
	int threads = n->children == 0 ? n->threads : n->threads - 1;

	if (threads > 0)
		t->cpu.runnable += sign * threads;
}

void cpu_thread_started(struct tracer *t, pid_t tid, pid_t tgid, pid_t ppid)
{
	struct process_node *n = node_find(t, tgid);

	if (!n) {
		struct process_node *parent = node_find(t, ppid);

		n = xcalloc(1, sizeof(*n));
		n->tgid = tgid;
		n->ppid = ppid;
		n->self_placed = parent && parent->self_placed;
		HASH_ADD_INT(t->cpu.processes, tgid, n);
		if (parent) {
			count_leaf(t, parent, -1);
			parent->children++;
			count_leaf(t, parent, +1);
		}
	}
	count_leaf(t, n, -1);
	n->threads++;
	count_leaf(t, n, +1);
	/* It inherited its parent's CPUs, maybe from before the last change. */
	if (!t->cpu.fixed && !n->self_placed)
		place_thread(t, tid);
}

void cpu_thread_ended(struct tracer *t, pid_t tid, pid_t tgid)
{
	struct process_node *n = node_find(t, tgid);
	struct process_node *parent;

	if (!n)
		return;
	count_leaf(t, n, -1);
	n->threads--;
	count_leaf(t, n, +1);
	if (tid != tgid)
		return;
	/* The leader is reported last: the process is gone. */
	count_leaf(t, n, -1);
	parent = node_find(t, n->ppid);
	if (parent) {
		count_leaf(t, parent, -1);
		parent->children--;
		count_leaf(t, parent, +1);
	}
	HASH_DEL(t->cpu.processes, n);
	free(n);
}

void cpu_update(struct tracer *t)
{
	bool want_spread;
	long now;

	if (t->cpu.fixed)
		return;
	want_spread = t->cpu.runnable >= 2;
	if (want_spread == t->cpu.spread) {
		t->cpu.change_since = 0;
		return;
	}
	now = now_ns();
	if (!t->cpu.change_since) {
		t->cpu.change_since = now;
		return;
	}
	if (now - t->cpu.change_since < (want_spread ? SPREAD_DELAY_NS : PACK_DELAY_NS))
		return;
	t->cpu.spread = want_spread;
	t->cpu.spin_ns = want_spread ? t->cpu.spread_spin_ns : 0;
	t->cpu.change_since = 0;
	apply(t);
}

long cpu_wait_budget_ns(const struct tracer *t)
{
	long left;

	if (!t->cpu.change_since)
		return -1;
	left = t->cpu.change_since + (t->cpu.spread ? PACK_DELAY_NS : SPREAD_DELAY_NS) - now_ns();
	return left > 0 ? left : 0;
}

/* The process of the thread PID names for an affinity call (0: the caller), if traced. */
static struct process_node *target_of(struct tracer *t, struct thread *th, long pid)
{
	struct thread *target = pid == 0 ? th : thread_find(t, (pid_t)pid);

	return target ? node_find(t, target->tgid) : NULL;
}

void cpu_syscall_stop(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		      const arch_regs *regs)
{
	struct process_node *n;

	if (d->nr != __NR_sched_setaffinity) {
		th->exit_pending = d; /* sched_getaffinity: the answer is fixed at its exit */
		return;
	}
	/* The process it places places itself from now on. */
	n = target_of(t, th, (long)arch_arg(regs, 0));
	if (n)
		n->self_placed = true;
}

void cpu_syscall_exit(struct tracer *t, struct thread *th)
{
	struct process_node *n;
	arch_regs regs;
	long ret;

	if (t->cpu.fixed || ptrace(PTRACE_GETREGS, th->tid, 0, &regs) < 0)
		return;
	/* Only a traced process that ptvfs places gets the mask it would have had. */
	n = target_of(t, th, (long)arch_arg(&regs, 0));
	if (!n || n->self_placed)
		return;
	ret = arch_return_value(&regs);
	if (ret <= 0)
		return;
	if ((size_t)ret > sizeof(cpu_set_t))
		ret = sizeof(cpu_set_t);
	/* The mask ptvfs was given is the one the command would have had. */
	tracee_write(th->tid, arch_arg(&regs, 2), &t->cpu.all, ret);
}
