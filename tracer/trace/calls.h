/* SPDX-License-Identifier: MIT */
/*
 * What the stop handlers (handlers.c) and the view's side of a call
 * (view_calls.c) share: a path argument as resolved, and the answers and
 * rewrites of view mode. Private to tracer/trace/.
 */
#ifndef PTVFS_CALLS_H
#define PTVFS_CALLS_H

#include <linux/openat2.h>

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
 * Make TH's call D fail with ERR instead of running, and say so in the
 * report (WHY: a detail, or NULL): what ptvfs cannot follow is refused.
 */
void refuse_call(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		 const arch_regs *regs, int err, const char *why);
/* The same for a call whose paths ptvfs may not read (a non-dumpable process). */
void refuse_unseen(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		   const arch_regs *regs);
/*
 * Resolve PATH (read from TH) relative to DIRFD with the RESOLVE_* FLAGS
 * into PA. Returns the resolution's error; -EBADF when nothing can be said.
 */
int resolve_at(struct tracer *t, struct thread *th, int dirfd, const char *path, unsigned flags,
	       struct path_arg *pa);
/* The access (ACCESS_* bits) a call of OP makes of what RES found. */
unsigned access_of(enum sys_op op, const struct resolution *res, unsigned long open_flags);
/* Record what PA reached, making ACCESS; in a view its target is known already. */
void record_resolution(struct tracer *t, struct thread *th, const struct path_arg *pa,
		       unsigned access);

/*
 * sockets.c: bind, connect, sendto (the row D): record the socket file the
 * address names, and in a view rewrite it to the host path. Returns true
 * when the registers must be restored at the exit (rewritten).
 */
bool handle_sockaddr(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		     const arch_regs *regs);
/* sendmsg, sendmmsg: the same for the addresses in the message headers (refused when rewritten). */
void handle_msghdr(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		   const arch_regs *regs);

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
/*
 * sockets.c, view mode: getsockname, getpeername, accept, recvfrom,
 * recvmsg, recvmmsg (the row D) hand back AF_UNIX addresses, which must
 * name the view path. At the entry: whether the exit stop is needed (false:
 * no address asked for, or the call was refused); a buffer too short for
 * some address gets room in the scratch area instead, the registers going
 * back at the exit.
 */
bool sockname_stop(struct thread *th, const struct syscall_desc *d, const arch_regs *regs);
/*
 * At the exit, before the registers go back (remap_restore()): the
 * program's buffers get the view's addresses, cut to them as the kernel
 * cuts, and the whole lengths.
 */
void sockname_exit(struct tracer *t, struct thread *th, const struct syscall_desc *d);
/* statfs, fstatfs of a read-only layer: at the exit, ST_RDONLY in f_flags, as a ro bind has. */
void statfs_exit(struct thread *th);

/*
 * openat2's struct open_how as the call gave it (SIZE bytes, at most a
 * page, as the kernel takes), and the resolve flags the view enforces
 * itself in view mode (openat2_view_flags): a rewritten call is given a
 * copy without them (remap_open_how), as they would refuse the absolute
 * host path.
 */
#define HOW_MAX 4096
#define HOW_VIEW_FLAGS                                                                             \
	(RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
struct how_copy {
	union {
		struct open_how how;
		unsigned char bytes[HOW_MAX];
	};
	size_t size;
};
/*
 * View mode: the openat2 stopped with REGS and HOW walked in the view as
 * the kernel walks it under HOW's HOW_VIEW_FLAGS, a layer boundary (a
 * DEST) and a host mount inside a layer counting as mount points. Returns
 * -EXDEV or -ELOOP when the flags forbid the walk, else 0 (other errors
 * are the resolution's).
 */
int openat2_view_flags(struct tracer *t, struct thread *th, const arch_regs *regs,
		       const struct open_how *how);
/* Point openat2's open_how argument at a copy of HOW without HOW_VIEW_FLAGS. 0 or -EFAULT. */
int remap_open_how(struct thread *th, struct remap *m, const struct how_copy *how);

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
