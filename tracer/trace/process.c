// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "tracer.h"

struct thread *thread_find(struct tracer *t, pid_t tid)
{
	struct thread *th;

	HASH_FIND_INT(t->threads, &tid, th);
	return th;
}

/* Tgid and PPid of TID from /proc/TID/status; -1 when unknown. */
static void read_status_ids(pid_t tid, pid_t *tgid, pid_t *ppid)
{
	size_t len;
	autofree char *status = proc_read_file(tid, "status", &len);
	const char *p;

	*tgid = -1;
	*ppid = -1;
	if (!status)
		return;
	p = strstr(status, "\nTgid:");
	if (p)
		*tgid = (pid_t)strtol(p + 6, NULL, 10);
	p = strstr(status, "\nPPid:");
	if (p)
		*ppid = (pid_t)strtol(p + 6, NULL, 10);
}

/* /proc/TID/NAME's target (a removed one without the kernel's suffix), or NULL with errno set. */
static char *read_link_of(pid_t tid, const char *name, bool *deleted)
{
	char buf[PATH_MAX];
	bool gone;
	ssize_t n = proc_link(tid, name, buf, sizeof(buf), &gone);

	if (deleted)
		*deleted = gone;
	if (n < 0) {
		errno = (int)-n;
		return NULL;
	}
	return xstrdup(buf);
}

/* View mode: the view path of the host path HOST (malloc'd, freed here), kept when unseen. */
static char *view_of(struct tracer *t, char *host)
{
	char view[PATH_MAX];

	if (!t->view || !host || viewfs_view_path(t, host, view) < 0)
		return host;
	free(host);
	return xstrdup(view);
}

/*
 * A fork event names the parent for sure; /proc/CHILD/status at the child's
 * first stop may not (the parent may have exited, or exec'd, by then).
 */
struct birth {
	pid_t child;
	pid_t parent;
	struct report_process *parent_proc;
	UT_hash_handle hh;
};

void thread_born(struct tracer *t, pid_t child, const struct thread *parent)
{
	struct birth *b;

	HASH_FIND_INT(t->births, &child, b);
	if (!b) {
		b = xcalloc(1, sizeof(*b));
		b->child = child;
		HASH_ADD_INT(t->births, child, b);
	}
	b->parent = parent->tgid;
	b->parent_proc = parent->proc;
}

void thread_free_births(struct tracer *t)
{
	struct birth *b, *tmp;

	HASH_ITER(hh, t->births, b, tmp)
	{
		HASH_DEL(t->births, b);
		free(b);
	}
}

/* A traced thread of the process TGID other than SELF, or NULL. */
static struct thread *thread_of_process(struct tracer *t, pid_t tgid, const struct thread *self)
{
	struct thread *th = thread_find(t, tgid);

	if (th && th != self)
		return th;
	for (th = t->threads; th; th = th->hh.next)
		if (th->tgid == tgid && th != self)
			return th;
	return NULL;
}

/*
 * The clone flags that made the new task TID, from its registers at its
 * first stop (it has run nothing yet: they are its creator's at the call).
 * Returns 0, or -1 when unknown.
 */
static int clone_flags_of(pid_t tid, uint64_t *flags)
{
	arch_regs r;

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return -1;
	switch (arch_syscall_nr(&r)) {
	case __NR_fork:
		*flags = 0;
		return 0;
	case __NR_vfork:
		*flags = CLONE_VM | CLONE_VFORK;
		return 0;
	case __NR_clone:
		*flags = arch_arg(&r, 0);
		return 0;
	case __NR_clone3: /* the flags are the first field of struct clone_args */
		return tracee_read(tid, arch_arg(&r, 0), flags, sizeof(*flags)) == 0 ? 0 : -1;
	default:
		return -1;
	}
}

/*
 * View mode: the address space the new task TH runs in, for its scratch
 * area (remap.c). A thread shares its process's; a new process shares
 * its creator's (CLONE_VM: vfork, posix_spawn) or has a copy of it (fork).
 * CREATOR is the process that forked it, or -1 when unknown (then its
 * parent, unless CLONE_PARENT made it a sibling). Unknown: a new one.
 */
static void join_address_space(struct tracer *t, struct thread *th, pid_t creator, pid_t ppid)
{
	const struct thread *other = NULL;
	uint64_t flags = 0;

	if (th->tgid != th->tid) {
		other = thread_of_process(t, th->tgid, th);
		flags = CLONE_VM;
	} else if (clone_flags_of(th->tid, &flags) == 0) {
		if (creator <= 0 && !(flags & CLONE_PARENT))
			creator = ppid;
		if (creator > 0)
			other = thread_of_process(t, creator, th);
	}
	if (!other)
		scratch_fresh(th);
	else if (flags & CLONE_VM)
		scratch_share(th, other);
	else
		scratch_copy(th, other);
}

struct thread *thread_attach(struct tracer *t, pid_t tid)
{
	struct thread *th = xcalloc(1, sizeof(*th));
	struct report_process *parent_proc = NULL;
	struct birth *birth;
	pid_t tgid, ppid, creator = -1;

	read_status_ids(tid, &tgid, &ppid);
	HASH_FIND_INT(t->births, &tid, birth);
	if (birth) {
		/* A thread's "parent" is its own process; a process's is who forked it. */
		if (tgid != birth->parent) {
			ppid = birth->parent;
			parent_proc = birth->parent_proc;
		}
		creator = birth->parent;
		HASH_DEL(t->births, birth);
		free(birth);
	}
	th->tid = tid;
	th->tgid = tgid > 0 ? tgid : tid;
	th->proc_fd_dir = -1;
	HASH_ADD_INT(t->threads, tid, th);
	cpu_thread_started(t, tid, th->tgid, ppid);
	if (t->view)
		join_address_space(t, th, creator, ppid);

	if (th->tgid != tid) {
		struct thread *leader = thread_find(t, th->tgid);
		if (leader) {
			th->proc = leader->proc;
			return th;
		}
	}
	/* A new process: it runs its parent's program until it execs. */
	{
		struct thread *parent = ppid > 0 ? thread_find(t, ppid) : NULL;
		const struct report_process *pp = parent_proc ? parent_proc
						  : parent    ? parent->proc
							      : NULL;
		autofree char *cwd = view_of(t, read_link_of(tid, "cwd", NULL));

		th->proc = report_add_process(t->report, th->tgid, ppid, pp ? pp->exe : NULL,
					      pp ? pp->argv : NULL, cwd);
	}
	return th;
}

void thread_forget(struct tracer *t, struct thread *th)
{
	cpu_thread_ended(t, th->tid, th->tgid);
	HASH_DEL(t->threads, th);
	scratch_leave(th);
	if (th->proc_fd_dir >= 0)
		close(th->proc_fd_dir);
	free(th->cwd);
	free(th->view_cwd);
	free(th->exec_view);
	argv_free(th->exec_argv);
	free(th);
}

const char *thread_cwd(struct tracer *t, struct thread *th)
{
	bool deleted;

	if (th->cwd && th->cwd_generation == t->cwd_generation)
		return th->cwd;
	free(th->cwd);
	th->cwd = read_link_of(th->tid, "cwd", &deleted);
	th->cwd_error = th->cwd ? 0 : -errno;
	if (th->cwd && (th->cwd[0] != '/' || deleted)) {
		/* Removed: nothing below it can be found. */
		free(th->cwd);
		th->cwd = NULL;
		th->cwd_error = -ENOENT;
	}
	th->cwd_generation = t->cwd_generation;
	return th->cwd;
}

int thread_cwd_error(const struct thread *th)
{
	return th->cwd_error;
}

void thread_exec(struct tracer *t, struct thread *th)
{
	size_t len;
	autofree char *cmdline = proc_read_file(th->tid, "cmdline", &len);
	autofree char *exe = view_of(t, read_link_of(th->tid, "exe", NULL));
	autofree char *cwd = view_of(t, read_link_of(th->tid, "cwd", NULL));
	char **argv = cmdline ? argv_from_cmdline(cmdline, len) : NULL;
	struct report_process *p = th->proc;

	/* View mode: the program as the view named it, which ptvfs may have run via its loader. */
	if (th->exec_view) {
		free(exe);
		exe = steal_pointer(&th->exec_view);
	}
	if (th->exec_argv) {
		argv_free(argv);
		argv = steal_pointer(&th->exec_argv);
	}
	th->restore_pending = false; /* the new program's registers are its own */
	th->replay = REPLAY_NONE;
	/* A new address space: the old one's scratch mappings are gone with it. */
	if (t->view)
		scratch_fresh(th);

	if (p && !p->accessed) {
		/* Forked and exec'd at once: the entry is this program's. */
		free(p->exe);
		p->exe = exe ? steal_pointer(&exe) : NULL;
		argv_free(p->argv);
		p->argv = argv;
		free(p->cwd);
		p->cwd = cwd ? steal_pointer(&cwd) : NULL;
	} else {
		th->proc =
		    report_add_process(t->report, th->tgid, p ? p->ppid : -1, exe, argv, cwd);
		argv_free(argv);
	}
	/* Every other thread of the process is gone; they all share the new entry. */
	for (struct thread *o = t->threads; o; o = o->hh.next)
		if (o->tgid == th->tgid)
			o->proc = th->proc;
}
