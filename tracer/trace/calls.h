/* SPDX-License-Identifier: MIT */
/*
 * What the stop handlers (handlers.c) and the view's side of a call
 * (view_calls.c) share: a path argument as resolved, and the answers and
 * rewrites of view mode. Private to tracer/trace/.
 */
#ifndef PTVFS_CALLS_H
#define PTVFS_CALLS_H

#include "tracer.h"

/* One path argument of a stopped call, resolved. */
struct path_arg {
	struct resolution res;
	/* View mode: what res.path is in the view. */
	struct view_target target;
	/* The path as the call gave it; NULL when the call names a descriptor's object. */
	const char *given;
	char given_buf[PATH_MAX];
	/* The host directory a relative path starts from, "" when none. */
	char host_base[PATH_MAX];
	/* View mode: every path the resolution met is the host's of the same name (viewfs_resolve), */
	bool identity;
	/* and a relative path's view directory is its host directory's name too. */
	bool base_identity;
};

/* Make TH's call not run, and return RET (a -errno, or a result) instead. */
void skip_call(struct thread *th, const arch_regs *regs, long ret);

/*
 * View mode: the host path the kernel must be given for path argument K
 * (PA, making ACCESS) of the call D, into HOST; or the -errno the call
 * fails with. *ANSWER is 0 when the call is done already (an overlay's
 * delete) and must not run. REGS may be NULL (a socket address).
 */
int kernel_path(struct tracer *t, const struct syscall_desc *d, int k, const arch_regs *regs,
		const struct path_arg *pa, unsigned access, unsigned long open_flags, char *host,
		long *answer);
/* The kernel, given PA's path as the call wrote it, reaches HOST itself: no rewriting. */
bool kernel_reaches(const struct path_arg *pa, const char *host);
/* An access() family call asking whether the path may be written (W_OK). */
bool asks_write_access(const struct syscall_desc *d, const arch_regs *regs);
/* readlink of a /proc magic link answered with a view path; true when answered. */
bool answer_proc_readlink(struct tracer *t, struct thread *th, const struct syscall_desc *d,
			  const arch_regs *regs, const struct path_arg *pa);
/* getcwd answered with the view's directory. */
void answer_getcwd(struct tracer *t, struct thread *th, const arch_regs *regs);
/* The argv strings of an exec at ARGV in TH (for the report), or NULL. */
char **read_argv(struct thread *th, unsigned long argv);
/* Give the exec planned as P its file and, when the plan changed it, its argv. 0 or -errno. */
int remap_exec(struct thread *th, struct remap *m, const struct syscall_desc *d,
	       const struct exec_plan *p);
/* getsockname, getpeername, accept: note the buffer (false: nothing to translate), */
bool sockname_stop(struct thread *th, const arch_regs *regs);
/* and at the exit, hand back the view path of an AF_UNIX address. */
void sockname_exit(struct tracer *t, struct thread *th);

/* View mode: link or rename between two layers (two mounts): -EXDEV, else 0. */
int crosses_layers(struct tracer *t, const struct syscall_desc *d, const struct path_arg pa[2],
		   const bool resolved[2]);
/*
 * fstat (newfstatat or statx with AT_EMPTY_PATH) of a directory opened as
 * its stand-in: true with M set to ask for the directory itself by path.
 */
bool fstat_of_stand_in(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		       const arch_regs *regs, const struct path_arg *pa, struct remap *m);
/* getdents of a stand-in from its start: the stand-in is made up to date first. */
void list_of_stand_in(struct tracer *t, struct thread *th, const arch_regs *regs,
		      const struct path_arg *pa);

#endif
