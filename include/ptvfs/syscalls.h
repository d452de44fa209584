/* SPDX-License-Identifier: MIT */
/*
 * The one table of path-taking system calls (DESIGN.md §5).
 *
 * Each row says which arguments are paths and directory descriptors, which
 * flag decides whether a final symbolic link is followed, what the call does
 * to the object it names, and whether ptvfs must see its result. The seccomp
 * filter and the stop dispatcher are both built from it; the rows themselves
 * are per architecture (arch/ARCH/syscall_table.h), this file only describes
 * their shape. Pure data: no ptrace here.
 */
#ifndef PTVFS_SYSCALLS_H
#define PTVFS_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a stop for the call is handled. */
enum sys_kind {
	SYS_KIND_PATH,	   /* paths (or descriptors) per the row, fixed operations */
	SYS_KIND_OPEN,	   /* open family: the operation follows the open flags */
	SYS_KIND_OPENAT2,  /* openat2: flags inside struct open_how */
	SYS_KIND_EXEC,	   /* execve, execveat: the program and its interpreters */
	SYS_KIND_CHDIR,	   /* chdir, fchdir: the process's directory changes */
	SYS_KIND_SOCKADDR, /* bind, connect, sendto: an AF_UNIX address may name a file */
	SYS_KIND_MSGHDR,   /* sendmsg, sendmmsg: the address is inside struct msghdr */
	SYS_KIND_REFUSE,   /* cannot be followed: fails with the row's errno, and is reported */
	SYS_KIND_AFFINITY, /* no path: sched_[gs]etaffinity, so ptvfs's CPU placement stays unseen */
	SYS_KIND_CLONE,	 /* no path: clone, clone3 asking for CLONE_UNTRACED, which would escape */
	SYS_KIND_GETCWD, /* no path given, one handed back: the view's, not the host's */
	/*
	 * An AF_UNIX address handed back (getsockname, accept, recvfrom): the
	 * view's. paths[0].path is the address argument, the next one its
	 * length's; for recvmsg, the message header holding both.
	 */
	SYS_KIND_SOCKNAME,
};

/* What the call does to the object a path names. */
enum sys_op {
	OP_NONE = 0,
	OP_OPEN,     /* decided by open flags */
	OP_READ,     /* contents used */
	OP_READLINK, /* a symbolic link's target read */
	OP_MODIFY,   /* data or metadata of an existing object changed */
	OP_CREATE,   /* a new name made; fails when it exists */
	OP_REPLACE,  /* a name made or replaced (rename target) */
	OP_DELETE,   /* a name removed */
	OP_EXEC,     /* a program run */
	OP_STAT,     /* metadata looked up */
	OP_LIST,     /* a directory's entries read */
};

#define SYS_NO_ARG (-1)

/* One path argument: "DIRFD + PATH", a bare PATH, or a bare descriptor. */
struct sys_path {
	int8_t dirfd; /* argument holding the directory fd, or SYS_NO_ARG for the cwd */
	int8_t path;  /* argument holding the path, or SYS_NO_ARG: DIRFD names the object */
	uint8_t op;   /* enum sys_op */
};

struct syscall_desc {
	const char *name;
	int nr;
	uint8_t kind; /* enum sys_kind */
	struct sys_path paths[2];
	/*
	 * Following a final symbolic link of paths[0] (paths[1] is never
	 * followed: link and rename targets): the default, and the flag
	 * argument that changes it. An empty_path_flag without a flag
	 * argument means an empty path always names the dirfd (readlinkat).
	 */
	bool follow;
	int8_t flags_arg;
	uint32_t nofollow_flag;	  /* set: do not follow (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW, ...) */
	uint32_t follow_flag;	  /* set: follow (AT_SYMLINK_FOLLOW of linkat) */
	uint32_t empty_path_flag; /* set: an empty path names the dirfd itself (AT_EMPTY_PATH) */
	bool null_path_is_fd;	  /* a NULL path names the dirfd itself (utimensat) */
	/*
	 * Only for calls ptvfs stops on when an argument is not zero (sendto's
	 * address), or, with STOP_IF_ARG_MASK, has one of the mask's bits set.
	 */
	int8_t stop_if_arg_nonzero;
	uint64_t stop_if_arg_mask;
	int refuse_errno; /* SYS_KIND_REFUSE: the error the call fails with */
	bool exit_stop;	  /* the result must be seen */
	/* View mode: the result must be seen when the object is in a read-only layer (statfs). */
	bool exit_if_read_only;
	bool view_only; /* stopped on only when the view is not the host's root */
};

/* The table of this build's architecture, and its length. */
extern const struct syscall_desc syscall_table[];
extern const size_t syscall_table_len;

/* The row for syscall NR, or NULL. */
const struct syscall_desc *syscall_by_nr(int nr);
/* The row named NAME, or NULL. */
const struct syscall_desc *syscall_by_name(const char *name);

/*
 * Check the table's rows against each other and the architecture: unique
 * numbers and names, argument indexes in range, every path row with an
 * operation. Returns NULL, or a static message naming the first bad row.
 */
const char *syscall_table_check(void);

#endif
