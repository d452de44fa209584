// SPDX-License-Identifier: MIT
/*
 * What happens at a seccomp stop: the row of the syscall table says which
 * arguments are paths; each path is read from the tracee, resolved as the
 * kernel will resolve it, and recorded with the access the call makes.
 * The access is decided before the call runs, from what exists now, so no
 * exit stop is needed (a concurrent change between the two is not seen).
 * In a view, each path then gets what view_calls.c decides: its host path
 * (written into the tracee when the call's own string does not reach it)
 * or the error the call fails with.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "calls.h"
#include "tracer.h"

void record_access(struct tracer *t, struct thread *th, const char *path, unsigned access)
{
	if (t->view) {
		viewfs_record(t, th, path, access);
		return;
	}
	/* The view is the host's root: the view path is the host path. */
	report_add(t->report, path, path, access);
	if (t->why)
		why_access(t, th, path, access);
	if (access & (ACCESS_WRITE | ACCESS_DELETE))
		hostfs_invalidate(t, path);
	if (th->proc)
		th->proc->accessed = true;
}

/* The access an operation made, given what the lookup found. */
unsigned access_of(enum sys_op op, const struct resolution *res, unsigned long open_flags)
{
	bool exists = res->error == 0;
	bool creatable = res->error == -ENOENT && res->parent_exists;

	if (!exists && res->error != -ENOENT && res->error != -ENOTDIR)
		return 0; /* ELOOP, ENAMETOOLONG, EACCES: no file was reached */
	if (res->error == -ENOTDIR && res->type)
		return ACCESS_STAT; /* "file/": it was looked at, and is no directory */
	switch (op) {
	case OP_OPEN: {
		unsigned acc = open_flags & O_ACCMODE;
		unsigned bits = 0;

		if (!exists) {
			/* "name/" cannot be created as a file: EISDIR. */
			if ((open_flags & O_CREAT) && creatable && !(open_flags & O_PATH) &&
			    !res->trailing_slash)
				return ACCESS_WRITE;
			return ACCESS_PROBE;
		}
		if ((open_flags & O_PATH) || res->type == S_IFDIR)
			return ACCESS_STAT;
		if ((open_flags & O_CREAT) && (open_flags & O_EXCL))
			return ACCESS_STAT; /* fails with EEXIST */
		if (acc == O_RDONLY || acc == O_RDWR)
			bits |= ACCESS_READ;
		if (acc == O_WRONLY || acc == O_RDWR || (open_flags & O_TRUNC))
			bits |= ACCESS_WRITE;
		return bits;
	}
	case OP_READ:
		return exists ? (res->type == S_IFDIR ? ACCESS_STAT : ACCESS_READ) : ACCESS_PROBE;
	case OP_READLINK:
		return exists ? (res->type == S_IFLNK ? ACCESS_READ : ACCESS_STAT) : ACCESS_PROBE;
	case OP_MODIFY:
		return exists ? ACCESS_WRITE : ACCESS_PROBE;
	case OP_CREATE:
		if (exists)
			return ACCESS_STAT; /* fails with EEXIST */
		return creatable ? ACCESS_WRITE : ACCESS_PROBE;
	case OP_REPLACE:
		if (!exists && res->trailing_slash)
			return ACCESS_PROBE;
		return exists || creatable ? ACCESS_WRITE : ACCESS_PROBE;
	case OP_DELETE:
		return exists ? ACCESS_DELETE : ACCESS_PROBE;
	case OP_STAT:
		return exists ? ACCESS_STAT : ACCESS_PROBE;
	case OP_LIST:
		return exists ? ACCESS_LIST : 0;
	case OP_EXEC:
		if (!exists)
			return ACCESS_PROBE;
		return ACCESS_EXEC;
	case OP_NONE:
		break;
	}
	return 0;
}

/* Whether the final component of paths[0] is followed, per the row and its flag argument. */
static bool follows(const struct syscall_desc *d, const arch_regs *regs)
{
	unsigned long flags;

	if (d->flags_arg == SYS_NO_ARG)
		return d->follow;
	flags = arch_arg(regs, d->flags_arg);
	if (d->nofollow_flag && (flags & d->nofollow_flag))
		return false;
	/* O_CREAT|O_EXCL fails on any existing name, a link too: it is not followed. */
	if (d->kind == SYS_KIND_OPEN && (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return false;
	if (d->follow_flag && (flags & d->follow_flag))
		return true;
	return d->follow;
}

static bool empty_path_allowed(const struct syscall_desc *d, const arch_regs *regs)
{
	if (!d->empty_path_flag)
		return false;
	if (d->flags_arg == SYS_NO_ARG)
		return true;
	return (arch_arg(regs, d->flags_arg) & d->empty_path_flag) != 0;
}

/*
 * The object an open descriptor names, as a resolution: its path as the
 * kernel reports it, when that is a path at all (not "pipe:[...]"); in view
 * mode, the view path where that host file is seen.
 */
static int resolve_fd(struct tracer *t, struct thread *th, int fd, enum sys_op op,
		      struct path_arg *pa)
{
	struct resolution *res = &pa->res;
	struct stat st;
	ssize_t n;

	if (fd == AT_FDCWD) {
		/* An empty path with AT_EMPTY_PATH and AT_FDCWD: the working directory. */
		const char *cwd = thread_cwd(t, th);
		n = cwd ? snprintf(res->path, sizeof(res->path), "%s", cwd) : thread_cwd_error(th);
	} else {
		n = tracee_fd_path(th, fd, res->path, sizeof(res->path));
	}

	res->error = 0;
	res->parent_exists = true;
	res->trailing_slash = false;
	if (n == -EACCES || n == -EPERM)
		return res->error = -EPERM; /* a non-dumpable process: its /proc is closed to us */
	if (n < 0)
		return res->error = (int)n;
	if (res->path[0] != '/')
		return res->error = -ENOENT;
	/* Only reading and readlink tell files, directories and links apart (access_of). */
	res->type = S_IFREG;
	if ((op == OP_READ || op == OP_READLINK) && lstat(res->path, &st) == 0)
		res->type = st.st_mode & S_IFMT;
	if (t->view) {
		char view[PATH_MAX];
		bool found;

		/* A host file the view does not show: opened before ptvfs ran (stdin...). */
		if (viewfs_view_path_target(t, res->path, view, &pa->target, &found) < 0 ||
		    (!found && view_lookup(t->view, view, &pa->target) < 0))
			return res->error = -ENOENT;
		/* The descriptor's own file: a source file of an overlay stays one after a copy-up. */
		if (pa->target.kind == VIEW_HOST)
			snprintf(pa->target.host, sizeof(pa->target.host), "%s", res->path);
		memcpy(res->path, view, strlen(view) + 1);
	}
	return 0;
}

/* An access that runs but cannot be recorded: the report says so. */
static void note_unrecorded(struct tracer *t, struct thread *th, const char *path)
{
	char detail[200];

	snprintf(detail, sizeof(detail),
		 "a path below a directory whose absolute path is longer than PATH_MAX: %.100s",
		 path);
	report_add_unrecorded(t->report, th->tgid, "path too long to record", detail);
}

/*
 * Resolve one path argument of TH's syscall: PATH (already read) relative to
 * DIRFD. Returns the resolution's error; -EBADF when nothing can be said.
 */
int resolve_at(struct tracer *t, struct thread *th, int dirfd, const char *path, unsigned flags,
	       struct path_arg *pa)
{
	struct resolution *res = &pa->res;
	struct host_resolver hr = {t, th};
	char view_base[PATH_MAX];
	const char *base = NULL;
	int err = 0;

	pa->host_base[0] = '\0';
	if (path[0] != '/') {
		if (dirfd == AT_FDCWD) {
			base = thread_cwd(t, th);
			err = base ? 0 : thread_cwd_error(th);
			/* Only a view asks where the kernel starts (kernel_reaches). */
			if (base && t->view)
				snprintf(pa->host_base, sizeof(pa->host_base), "%s", base);
		} else {
			ssize_t n = tracee_fd_path(th, dirfd, pa->host_base, sizeof(pa->host_base));
			err = n < 0 ? (int)n : 0;
			/* A removed directory (n == -ENOENT) has no path to resolve below. */
			if (n >= 0 && pa->host_base[0] == '/')
				base = pa->host_base;
			else
				pa->host_base[0] = '\0';
		}
		if (!base) {
			if (err == -ENAMETOOLONG)
				note_unrecorded(t, th, path);
			if (err == -EACCES || err == -EPERM)
				return res->error = -EPERM;
			return res->error = -EBADF;
		}
		if (t->view) {
			if (dirfd == AT_FDCWD)
				base = viewfs_cwd(t, th);
			else if (viewfs_view_path(t, base, view_base) == 0)
				base = view_base;
			else
				base = NULL;
			/* A directory the view does not show: nothing below it is in the view. */
			if (!base)
				return res->error = -EXDEV;
		}
	}
	if (t->view) {
		pa->base_identity = base && pa->host_base[0] && strcmp(base, pa->host_base) == 0;
		return viewfs_resolve(t, th, base, path, flags, res, &pa->target, &pa->identity);
	}
	err = resolve_path(&host_resolve_ops, &hr, base, path, flags, res);
	/* Too long only once joined to its directory: the kernel finds it, ptvfs cannot. */
	if (err == -ENAMETOOLONG && base && strlen(path) < PATH_MAX &&
	    strlen(base) + strlen(path) + 1 >= PATH_MAX)
		note_unrecorded(t, th, path);
	return err;
}

/* The object DIRFD itself names; 0, -EPERM (cannot be seen) or -EBADF. */
static int fd_object(struct tracer *t, struct thread *th, int dirfd, enum sys_op op,
		     struct path_arg *pa)
{
	int err = resolve_fd(t, th, dirfd, op, pa);

	pa->given = NULL;
	pa->host_base[0] = '\0';
	return err == 0 || err == -EPERM ? err : -EBADF;
}

/* Errors after which nothing can be said of what a path names (see resolve_arg). */
static bool res_unresolvable(int err)
{
	return err == -EPERM || err == -EBADF || err == -EXDEV;
}

/*
 * Read and resolve paths[K] of the row D for TH. Returns 0 with RES filled;
 * -EPERM when ptvfs may not see what the call names (a non-dumpable
 * process: its memory and /proc entries are closed to a tracer without
 * privileges), so the call must be refused; other -errno when no object
 * was named (bad pointer, bad descriptor: the kernel fails the call too).
 */
static int resolve_arg(struct tracer *t, struct thread *th, const struct syscall_desc *d, int k,
		       const arch_regs *regs, struct path_arg *pa)
{
	const struct sys_path *p = &d->paths[k];
	int dirfd = p->dirfd == SYS_NO_ARG ? AT_FDCWD : (int)arch_arg(regs, p->dirfd);
	enum sys_op op = (enum sys_op)p->op;
	unsigned flags = k == 0 && follows(d, regs) ? RESOLVE_FOLLOW : 0;
	char *path = pa->given_buf;
	unsigned long addr;
	ssize_t n;

	if (p->path == SYS_NO_ARG)
		return fd_object(t, th, dirfd, op, pa);
	addr = arch_arg(regs, p->path);
	/* NULL with AT_EMPTY_PATH names the dirfd too, since Linux 6.11. */
	if (addr == 0 && (d->null_path_is_fd || empty_path_allowed(d, regs)))
		return fd_object(t, th, dirfd, op, pa);
	n = tracee_read_string(th->tid, addr, path, sizeof(pa->given_buf));
	if (n < 0)
		return (int)n;
	if (n == 0) {
		if (!empty_path_allowed(d, regs))
			return -ENOENT;
		return fd_object(t, th, dirfd, op, pa);
	}
	pa->given = path;
	if (op == OP_DELETE || op == OP_REPLACE || op == OP_CREATE)
		flags |= RESOLVE_NO_TRAILING_FOLLOW;
	resolve_at(t, th, dirfd, path, flags, pa);
	if (res_unresolvable(pa->res.error))
		return pa->res.error;
	return 0;
}

/* Record what PA reached; in a view its target is known already. */
void record_resolution(struct tracer *t, struct thread *th, const struct path_arg *pa,
		       unsigned access)
{
	if (!access || pa->res.path[0] != '/')
		return;
	if (t->view)
		viewfs_record_target(t, th, pa->res.path, &pa->target, access);
	else
		record_access(t, th, pa->res.path, access);
}

/* Make TH's call not run, and return RET (a -errno, or a result) instead. */
void skip_call(struct thread *th, const arch_regs *regs, long ret)
{
	arch_regs r = *regs;

	arch_skip_syscall(&r, ret);
	if (ptrace(PTRACE_SETREGS, th->tid, 0, &r) < 0 && errno != ESRCH)
		warn("cannot answer a call of process %d: %s", (int)th->tid, strerror(errno));
}

/*
 * Make TH's call D fail with ERR instead of running, and say so in the
 * report: what ptvfs cannot follow is refused, never run unrecorded.
 */
void refuse_call(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		 const arch_regs *regs, int err, const char *why)
{
	char detail[160];

	snprintf(detail, sizeof(detail), "refused with %s%s%s", strerrorname_np(err),
		 why ? ": " : "", why ? why : "");
	report_add_refusal(t->report, th->tgid, d->name, detail);
	skip_call(th, regs, -err);
}

/* A call whose path ptvfs may not read (a non-dumpable process). */
void refuse_unseen(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		   const arch_regs *regs)
{
	refuse_call(t, th, d, regs, EPERM,
		    "the process is not dumpable, ptvfs cannot read its paths");
}

/* The exit stop for the result of D, when SEE: asked for. Returns SEE. */
static bool see_exit(struct thread *th, const struct syscall_desc *d, bool see)
{
	if (see)
		th->exit_pending = syscall_by_nr(d->nr);
	return see;
}

/*
 * Returns true when the exit stop is needed (rewritten arguments to
 * restore, a result to see). HOW: openat2's open_how, else NULL.
 */
static bool handle_paths(struct tracer *t, struct thread *th, const struct syscall_desc *d,
			 const arch_regs *regs, unsigned long open_flags,
			 const struct how_copy *how)
{
	static struct path_arg pa[2];
	static char host[2][PATH_MAX];
	bool moves_directory = false, resolved[2] = {false, false}, rewrite[2] = {false, false};
	bool see_result = false;
	unsigned access[2] = {0, 0};
	struct remap m;
	long answer = 1;
	int err;

	/* First what each path names, recorded; then, in a view, what the kernel is given. */
	for (int k = 0; k < 2; k++) {
		enum sys_op op = (enum sys_op)d->paths[k].op;

		if (op == OP_NONE)
			continue;
		err = resolve_arg(t, th, d, k, regs, &pa[k]);
		if (err == -EPERM) {
			refuse_unseen(t, th, d, regs);
			return false;
		}
		if (err == -EXDEV) {
			refuse_call(t, th, d, regs, ENOENT,
				    "a path relative to a directory the view does not show");
			return false;
		}
		if (err < 0)
			continue;
		resolved[k] = true;
		if (pa[k].res.type == S_IFDIR && (op == OP_DELETE || op == OP_REPLACE))
			moves_directory = true;
		access[k] = access_of(op, &pa[k].res, open_flags);
		record_resolution(t, th, &pa[k], access[k]);
	}
	/*
	 * A directory removed or moved: a cached cwd may be below it. After
	 * both paths, so the second one does not cache the cwd of before.
	 */
	if (moves_directory)
		t->cwd_generation++;
	if (!t->view)
		return false;
	err = crosses_layers(t, d, pa, resolved);
	if (err < 0) {
		skip_call(th, regs, err);
		return false;
	}
	/* statfs of a read-only layer: ST_RDONLY is added at the exit, as a ro bind has it. */
	see_result =
	    d->exit_if_read_only && resolved[0] && pa[0].res.error == 0 && pa[0].target.read_only;
	for (int k = 0; k < 2; k++) {
		enum sys_op op = (enum sys_op)d->paths[k].op;
		bool changes = access[k] & (ACCESS_WRITE | ACCESS_DELETE);

		if (!resolved[k])
			continue;
		if (op == OP_READLINK && answer_proc_readlink(t, th, d, regs, &pa[k]))
			return false;
		if (!pa[k].given) {
			/* A descriptor's object: the kernel has it already; only read-only is ours. */
			if (changes && pa[k].target.read_only) {
				skip_call(th, regs, -EROFS);
				return false;
			}
			/* A source file of an overlay, opened before it was copied up. */
			if (changes && overlay_is_lower(t, pa[k].res.path, &pa[k].target)) {
				refuse_call(
				    t, th, d, regs, EROFS,
				    "a change through a descriptor of an overlay's source file");
				return false;
			}
			if (fstat_of_stand_in(t, th, d, regs, &pa[k], &m))
				return remap_commit(th, &m, regs, false);
			if (op == OP_LIST)
				list_of_stand_in(t, th, regs, &pa[k]);
			continue;
		}
		err = kernel_path(t, d, k, regs, &pa[k], access[k], open_flags, host[k], &answer);
		if (err == 0 && asks_write_access(d, regs) && pa[k].target.read_only)
			err = -EROFS;
		if (err == 0 && !host[k][0])
			err = -EIO; /* never a stale or empty host path */
		if (err < 0 || answer == 0) {
			skip_call(th, regs, err);
			return false;
		}
		/* Written below an overlay: the file is the upper directory's now. */
		if (pa[k].target.layer == LAYER_OVERLAY && (access[k] & ACCESS_WRITE))
			report_set_host(t->report, pa[k].res.path, host[k]);
		rewrite[k] = !kernel_reaches(&pa[k], host[k]);
	}
	if (d->paths[1].op == OP_REPLACE && pa[0].given && pa[1].given && resolved[0] &&
	    resolved[1])
		overlay_rename_done(t, pa[0].res.path, &pa[0].target, pa[1].res.path,
				    &pa[1].target);
	if (!rewrite[0] && !rewrite[1])
		return see_exit(th, d, see_result);
	remap_begin(&m, regs);
	for (int k = 0; k < 2; k++) {
		if (rewrite[k] && remap_arg_string(th, &m, d->paths[k].path, host[k]) < 0) {
			refuse_call(t, th, d, regs, EFAULT,
				    "no room in the process for the host path (its scratch mapping "
				    "could not be made)");
			return false;
		}
	}
	if (how && (how->how.resolve & HOW_VIEW_FLAGS) && remap_open_how(th, &m, how) < 0) {
		refuse_call(t, th, d, regs, EFAULT,
			    "no room for the open_how without the resolve flags");
		return false;
	}
	return remap_commit(th, &m, regs, false) | see_exit(th, d, see_result);
}

static bool handle_openat2(struct tracer *t, struct thread *th, const struct syscall_desc *d,
			   const arch_regs *regs)
{
	static struct how_copy how;
	struct syscall_desc row = *d;
	int err;

	how.size = arch_arg(regs, 3);
	if (how.size < sizeof(uint64_t) * 3 || how.size > HOW_MAX)
		return false; /* EINVAL, E2BIG from the kernel */
	err = tracee_read(th->tid, arch_arg(regs, 2), how.bytes, how.size);
	if (err == -EPERM) {
		refuse_unseen(t, th, d, regs);
		return false;
	}
	if (err < 0)
		return false; /* EFAULT from the kernel */
	for (size_t i = sizeof(how.how); i < how.size; i++)
		if (how.bytes[i])
			return false; /* E2BIG from the kernel: a field it does not know */
	if (how.how.resolve & RESOLVE_IN_ROOT) {
		/* Resolution inside a root of the caller's is not followed: callers fall back. */
		refuse_call(t, th, d, regs, ENOSYS, "RESOLVE_IN_ROOT is not followed");
		return false;
	}
	if (t->view && (how.how.resolve & HOW_VIEW_FLAGS) &&
	    (err = openat2_view_flags(t, th, regs, &how.how)) < 0) {
		skip_call(th, regs, err);
		return false;
	}
	/* RESOLVE_NO_SYMLINKS also refuses a final link, as O_NOFOLLOW does. */
	if ((how.how.flags & O_NOFOLLOW) || (how.how.resolve & RESOLVE_NO_SYMLINKS) ||
	    (how.how.flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		row.follow = false;
	return handle_paths(t, th, &row, regs, how.how.flags, &how);
}

/*
 * The name the kernel gives a script's interpreter for the program an exec
 * names: the path as given, or for execveat relative to (or of) a
 * descriptor, /dev/fd/N/PATH (/dev/fd/N).
 */
static const char *exec_name(const struct syscall_desc *d, const arch_regs *regs,
			     const struct path_arg *pa, char *buf)
{
	int dirfd =
	    d->paths[0].dirfd == SYS_NO_ARG ? AT_FDCWD : (int)arch_arg(regs, d->paths[0].dirfd);

	if (pa->given && (pa->given[0] == '/' || dirfd == AT_FDCWD))
		return pa->given;
	if (dirfd == AT_FDCWD)
		return pa->res.path;
	if (!pa->given)
		snprintf(buf, PATH_MAX, "/dev/fd/%d", dirfd);
	else
		snprintf(buf, PATH_MAX, "/dev/fd/%d/%s", dirfd, pa->given);
	return buf;
}

static bool handle_exec(struct tracer *t, struct thread *th, const struct syscall_desc *d,
			const arch_regs *regs)
{
	char name[PATH_MAX];
	static struct path_arg pa;
	/* A failed exec or the exec itself does not make the process's entry its own. */
	bool accessed = th->proc ? th->proc->accessed : false;
	struct exec_plan plan;
	struct remap m;
	bool stop = false;
	int err = resolve_arg(t, th, d, 0, regs, &pa);

	if (err == -EPERM) {
		refuse_unseen(t, th, d, regs);
		return false;
	}
	if (t->view && err == -EXDEV) {
		refuse_call(t, th, d, regs, ENOENT,
			    "a path relative to a directory the view does not show");
		return false;
	}
	if (err == 0 && !t->view) {
		unsigned access = access_of(OP_EXEC, &pa.res, 0);
		if (access == ACCESS_EXEC)
			record_exec(t, th, &pa.res);
		else
			record_resolution(t, th, &pa, access);
	} else if (err == 0) {
		/* View mode: a missing program fails as the view says, so PATH searches go on. */
		if (pa.res.error || pa.target.kind != VIEW_HOST) {
			record_resolution(t, th, &pa, access_of(OP_EXEC, &pa.res, 0));
			skip_call(th, regs, pa.res.error ? pa.res.error : -EACCES);
		} else if ((err = exec_plan_view(t, th, exec_name(d, regs, &pa, name), &pa.res,
						 &pa.target, &plan)) < 0) {
			skip_call(th, regs, err);
		} else {
			remap_begin(&m, regs);
			if (plan.argv_changed || !pa.given || strcmp(plan.host, pa.given) != 0) {
				err = remap_exec(th, &m, d, &plan);
				if (err < 0) {
					exec_plan_free(&plan);
					refuse_call(t, th, d, regs, -err,
						    "no room in the process for the new argv (its "
						    "scratch mapping could not be made)");
					goto out;
				}
			}
			free(th->exec_view);
			th->exec_view = xstrdup(plan.exe_view);
			if (th->exec_argv)
				argv_free(th->exec_argv);
			th->exec_argv = plan.argv_changed
					    ? read_argv(th, arch_arg(regs, d->paths[0].path + 1))
					    : NULL;
			exec_plan_free(&plan);
			stop = remap_commit(th, &m, regs, true);
		}
	}
out:
	if (th->proc)
		th->proc->accessed = accessed;
	return stop;
}

/*
 * CLONE_UNTRACED would start a child ptvfs does not follow (whose path calls
 * then fail, the filter finding no tracer): the flag is dropped.
 */
static void keep_child_traced(struct thread *th, const struct syscall_desc *d, arch_regs *regs)
{
	uint64_t flags;

	if (d->nr == __NR_clone) {
		regs->rdi &= ~(unsigned long)CLONE_UNTRACED;
		ptrace(PTRACE_SETREGS, th->tid, 0, regs);
		return;
	}
	/* clone3: the flags are the first field of struct clone_args. */
	if (arch_arg(regs, 1) < sizeof(flags) ||
	    tracee_read(th->tid, arch_arg(regs, 0), &flags, sizeof(flags)) < 0 ||
	    !(flags & CLONE_UNTRACED))
		return;
	flags &= ~(uint64_t)CLONE_UNTRACED;
	tracee_write(th->tid, arch_arg(regs, 0), &flags, sizeof(flags));
}

bool handle_syscall_stop(struct tracer *t, struct thread *th)
{
	const struct syscall_desc *d;
	arch_regs regs;
	bool restore = false;

	if (ptrace(PTRACE_GETREGS, th->tid, 0, &regs) < 0)
		return false; /* vanished: dropped quietly */
	d = syscall_by_nr((int)arch_syscall_nr(&regs));
	if (!d)
		return false;
	switch ((enum sys_kind)d->kind) {
	case SYS_KIND_PATH:
		restore = handle_paths(t, th, d, &regs, 0, NULL);
		break;
	case SYS_KIND_OPEN:
		restore = handle_paths(t, th, d, &regs, arch_arg(&regs, d->flags_arg), NULL);
		break;
	case SYS_KIND_OPENAT2:
		restore = handle_openat2(t, th, d, &regs);
		break;
	case SYS_KIND_EXEC:
		restore = handle_exec(t, th, d, &regs);
		break;
	case SYS_KIND_CHDIR:
		restore = handle_paths(t, th, d, &regs, 0, NULL);
		t->cwd_generation++;
		break;
	case SYS_KIND_SOCKADDR:
		restore = handle_sockaddr(t, th, d, &regs);
		break;
	case SYS_KIND_MSGHDR:
		handle_msghdr(t, th, d, &regs);
		break;
	case SYS_KIND_REFUSE:
		refuse_call(t, th, d, &regs, d->refuse_errno, NULL);
		return false;
	case SYS_KIND_AFFINITY:
		cpu_syscall_stop(t, th, d, &regs);
		break;
	case SYS_KIND_CLONE:
		keep_child_traced(th, d, &regs);
		break;
	case SYS_KIND_GETCWD:
		if (t->view)
			answer_getcwd(t, th, &regs);
		return false;
	case SYS_KIND_SOCKNAME:
		if (!t->view || !sockname_stop(th, d, &regs))
			return restore;
		break;
	}
	if (d->exit_stop) {
		th->exit_pending = d;
		return true;
	}
	return restore;
}

void handle_syscall_exit(struct tracer *t, struct thread *th)
{
	const struct syscall_desc *d = th->exit_pending;

	/* An address handed back into the scratch area is read there before the registers go back. */
	if (d && d->kind == SYS_KIND_SOCKNAME)
		sockname_exit(t, th, d);
	remap_restore(th);
	th->exit_pending = NULL;
	if (!d)
		return;
	if (d->kind == SYS_KIND_CHDIR)
		t->cwd_generation++; /* the new directory is in place: cached ones are stale */
	else if (d->kind == SYS_KIND_AFFINITY)
		cpu_syscall_exit(t, th);
	else if (d->exit_if_read_only)
		statfs_exit(th);
}
