// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
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

struct thread *thread_attach(struct tracer *t, pid_t tid)
{
	struct thread *th = xcalloc(1, sizeof(*th));
	struct report_process *parent_proc = NULL;
	struct birth *birth;
	pid_t tgid, ppid;

	read_status_ids(tid, &tgid, &ppid);
	HASH_FIND_INT(t->births, &tid, birth);
	if (birth) {
		/* A thread's "parent" is its own process; a process's is who forked it. */
		if (tgid != birth->parent) {
			ppid = birth->parent;
			parent_proc = birth->parent_proc;
		}
		HASH_DEL(t->births, birth);
		free(birth);
	}
	th->tid = tid;
	th->tgid = tgid > 0 ? tgid : tid;
	th->proc_fd_dir = -1;
	HASH_ADD_INT(t->threads, tid, th);
	cpu_thread_started(t, tid, th->tgid, ppid);

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
