/* SPDX-License-Identifier: MIT */
/*
 * The tracing half of ptvfs: the event loop, per-thread state, tracee memory,
 * the seccomp filter and the stop handlers. Everything here may use ptrace;
 * what it learns goes into the core's report.
 */
#ifndef PTVFS_TRACER_H
#define PTVFS_TRACER_H

#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uthash.h>

#include "ptvfs/report.h"
#include "ptvfs/resolve.h"
#include "ptvfs/syscalls.h"
#include "ptvfs/view_resolve.h"
#include "options.h"
#include "regs.h"

/*
 * View mode (remap.c): a call at whose stop ptvfs ran an mmap of its own
 * instead runs again from its syscall instruction.
 */
enum remap_replay {
	REPLAY_NONE,
	REPLAY_PENDING,	  /* the mmap ran: the call's syscall instruction comes again */
	REPLAY_COMMITTED, /* and its rewrite is in place: its next stop is handled already */
};
/* The scratch mappings of one address space (remap.c). */
struct scratch_space;

/* One traced task (a thread; a process's first thread has tid == tgid). Per-thread lifetime. */
struct thread {
	pid_t tid;
	pid_t tgid;
	/* The report entry of the program this thread's process runs now. */
	struct report_process *proc;
	/* The syscall whose exit stop was asked for, or NULL. */
	const struct syscall_desc *exit_pending;
	/* The working directory, cached while cwd_generation matches the tracer's. */
	char *cwd;
	int cwd_error; /* why cwd could not be read: -ENAMETOOLONG for a very deep one */
	unsigned cwd_generation;
	bool refused_abi; /* already told about a 32-bit syscall */
	int proc_fd_dir;  /* /proc/TID/fd, opened on first use, or -1 */
	/* View mode: the view path of cwd, while view_cwd_generation is cwd_generation. */
	char *view_cwd;
	unsigned view_cwd_generation;
	int view_cwd_error;
	/* View mode: arguments rewritten; their registers go back at the exit stop (remap.c). */
	arch_regs saved_regs;
	bool restore_pending;
	bool restore_after_exec;
	/* View mode: the scratch area of the thread's address space, and its slot there. */
	struct scratch_space *space;
	unsigned long slot; /* the slot's lowest address, 0 while it has none */
	/* View mode: the call runs again after ptvfs's own mmap (remap.c). */
	enum remap_replay replay;
	bool replay_exit_stop;	 /* the call's exit stop is wanted */
	unsigned long replay_ip; /* the address of its syscall instruction */
	/* View mode: the program an exec stopped at runs, as the view names it, and its argv. */
	char *exec_view;
	char **exec_argv;
	/* View mode: the size of the address buffer a getsockname or accept gave. */
	unsigned sockname_size;
	UT_hash_handle hh;
};

/* Where the traced threads run (cpu.c). */
struct cpu_placement {
	cpu_set_t all;	   /* the CPUs ptvfs was given: the command's own */
	cpu_set_t home;	   /* the one CPU of the packed mode */
	bool fixed;	   /* only one CPU: never moved */
	bool spread;	   /* on all CPUs now */
	int runnable;	   /* threads of processes without live children */
	long change_since; /* since when the mode should change, or 0 */
	long spin_ns;	   /* how long the loop polls for stops now */
	long spread_spin_ns;
	struct process_node *processes; /* uthash, by tgid */
};

struct tracer {
	const struct options *opts;
	struct report *report;
	struct thread *threads; /* uthash, by tid */
	pid_t root_pid;
	bool root_exited;
	int root_status;
	/* Bumped by every chdir and fchdir: cached cwds older than this are re-read. */
	unsigned cwd_generation;
	/* Directories and links already looked up on the host (hostfs.c). */
	struct lookup_entry *lookup_cache;
	struct cpu_placement cpu;
	/* Who forked each child not yet seen stopping (process.c). */
	struct birth *births;
	/* View mode (viewfs.c): the sealed view, or NULL when the view is the host's root. */
	const struct view *view;
	char *stand_in_dir; /* host stand-ins of view directories: SCRATCH/v */
	struct stand_in *stand_ins;
	unsigned long changes; /* writes and deletes the command made: stand-ins older are stale */
	/* Overlays (overlay.c): the upper directory, and the overlays met so far. */
	struct upper *upper;
	char *upper_dir; /* where the upper directory goes: --upper DIR, or SCRATCH/upper */
	struct overlay *overlays;
	/* --why (why.c): state of the stack unwinder, NULL without --why. */
	struct why *why;
};

/* process.c: the table of traced threads */
struct thread *thread_find(struct tracer *t, pid_t tid);
/* Start following TID, learning its process from /proc. Returns the new entry. */
struct thread *thread_attach(struct tracer *t, pid_t tid);
void thread_forget(struct tracer *t, struct thread *th);
/* PARENT just forked or cloned CHILD: remembered until CHILD's first stop. */
void thread_born(struct tracer *t, pid_t child, const struct thread *parent);
void thread_free_births(struct tracer *t);
/* The thread's working directory (absolute), or NULL when it cannot be read. */
const char *thread_cwd(struct tracer *t, struct thread *th);
/* Why the last thread_cwd() gave NULL: -errno. */
int thread_cwd_error(const struct thread *th);
/* A process of THREAD's just ran a new program: a new report entry. */
void thread_exec(struct tracer *t, struct thread *th);

/* memory.c: tracee memory */
/*
 * Read the NUL-terminated string at ADDR of TID into BUF (SIZE bytes).
 * Returns its length, -EFAULT, or -ENAMETOOLONG when no NUL is in SIZE bytes.
 */
ssize_t tracee_read_string(pid_t tid, unsigned long addr, char *buf, size_t size);
/* Read LEN bytes at ADDR of TID. Returns 0 or -errno. */
int tracee_read(pid_t tid, unsigned long addr, void *buf, size_t len);
/* Write LEN bytes at ADDR of TID. Returns 0 or -errno. */
int tracee_write(pid_t tid, unsigned long addr, const void *buf, size_t len);
/*
 * TID, stopped at the seccomp stop of a call, runs mmap(NULL, LEN,
 * PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) instead. It
 * is left at that mmap's exit stop with the call's registers back and its
 * instruction pointer on the call's syscall instruction, whose address
 * goes to *IP: resumed, it makes the call again. Returns the mapping's
 * address or -errno; *IP is 0 when the call was not replaced (the thread
 * is gone: -ESRCH, its end handed to the loop).
 */
long tracee_mmap(pid_t tid, size_t len, unsigned long *ip);
/* R's instruction pointer; R made to enter its call again from the syscall instruction at IP. */
unsigned long regs_ip(const arch_regs *r);
void regs_call_again(arch_regs *r, unsigned long ip);
/*
 * The target of a magic link such as /proc/PID/cwd into BUF: its length or
 * -errno. *DELETED tells whether it names a removed file (the kernel's
 * " (deleted)" suffix is then stripped; a live name that ends so is kept).
 */
ssize_t magic_link_read(const char *link, char *buf, size_t size, bool *deleted);
ssize_t magic_link_read_at(int dirfd, const char *link, char *buf, size_t size, bool *deleted);
/* The same for /proc/TID/NAME (NAME: "cwd", "exe", "fd/3", ...). */
ssize_t proc_link(pid_t tid, const char *name, char *buf, size_t size, bool *deleted);
/* The path an open descriptor FD of TH names (absolute, or e.g. "pipe:[1]"); -ENOENT if removed. */
ssize_t tracee_fd_path(struct thread *th, int fd, char *buf, size_t size);
/* Read a whole small /proc file of TID (e.g. "cmdline") into a malloc'd buffer. */
char *proc_read_file(pid_t tid, const char *name, size_t *len);

/* hostfs.c: resolution on the host, as seen by one thread */
struct host_resolver {
	struct tracer *tracer;
	struct thread *thread;
};
extern const struct resolve_ops host_resolve_ops;
/* The S_IF type of the host path PATH (not in /proc), or -errno; directories and links cached. */
int hostfs_type(struct tracer *t, const char *path);
/* readlink of the host path PATH (not in /proc), cached with the link. */
ssize_t hostfs_readlink(struct tracer *t, const char *path, char *buf, size_t size);
/* PATH was changed by a traced process: forget what was cached of it. */
void hostfs_invalidate(struct tracer *t, const char *path);
void hostfs_free_cache(struct tracer *t);

/* PATH, a path in the host's /proc, as the tracer must look it up: /proc/self as TH's own. */
const char *proc_self_path(const struct thread *th, const char *path, char *buf, size_t size);

/* viewfs.c: the virtual view as one thread sees it (view mode) */
struct viewfs_resolver {
	struct tracer *tracer;
	struct thread *thread;
	struct view_resolver view;
	bool as_text; /* readlink of a magic link for the command: a removed file's name too */
	/* Every path looked up so far is the host path of the same name: the kernel walks alike. */
	bool identity;
	/*
	 * viewfs_resolve: the last path looked up in the view (OUT_PATH, when
	 * OUT_VALID) and its target, in OUT: the walk's last lookup is the
	 * result's, which is then not looked up again.
	 */
	struct view_target *out;
	char *out_path;
	bool out_valid;
};
extern const struct resolve_ops viewfs_resolve_ops;
/*
 * Resolve PATH (relative to the view directory BASE) in the view: as
 * view_resolve(). *IDENTITY (may be NULL) tells whether every path met on
 * the way, links and the result included, is on the host at the same
 * name, so the kernel given PATH on the host walks the same way.
 */
int viewfs_resolve(struct tracer *t, struct thread *th, const char *base, const char *path,
		   unsigned flags, struct resolution *res, struct view_target *target,
		   bool *identity);
/* The view path at which the host path HOST is seen, into OUT (PATH_MAX); 0 or -ENOENT. */
int viewfs_view_path(struct tracer *t, const char *host, char *out);
/* The same; *FOUND tells whether *TARGET is OUT's (the view lookup done on the way). */
int viewfs_view_path_target(struct tracer *t, const char *host, char *out,
			    struct view_target *target, bool *found);
/* Record ACCESS of the view path PATH, with its host path and origin. */
void viewfs_record(struct tracer *t, struct thread *th, const char *path, unsigned access);
/* The same, TARGET being what PATH is in the view already (no second lookup). */
void viewfs_record_target(struct tracer *t, struct thread *th, const char *path,
			  const struct view_target *target, unsigned access);
/* The target of the link at the view path PATH as TH sees it (a /proc magic link: a view path). */
ssize_t viewfs_read_link(struct tracer *t, struct thread *th, const char *path, char *buf,
			 size_t size);
/* TH's working directory as a view path, or NULL (viewfs_cwd_error says why). */
const char *viewfs_cwd(struct tracer *t, struct thread *th);
int viewfs_cwd_error(const struct thread *th);
/*
 * The host directory standing in for the view directory DIR (a virtual
 * one, or one whose listing the view changes), made or brought up to date
 * now, into HOST (PATH_MAX). Returns 0 or -errno.
 */
int viewfs_stand_in(struct tracer *t, const char *dir, char *host);
/* The stand-in of DIR may miss a change the command made since it was made. */
bool viewfs_stand_in_stale(struct tracer *t, const char *dir);
void viewfs_free(struct tracer *t);

/* overlay.c: copy-on-write below --overlay DESTs (view mode) */
/* TARGET, the lookup of PATH below an overlay, becomes the upper copy, or absent (whiteout). */
void overlay_apply(struct tracer *t, const char *path, struct view_target *target);
/* The view path of HOST when it is in the upper directory; 0 or -ENOENT. */
int overlay_view_path(struct tracer *t, const char *host, char *out);
/* TARGET is below an overlay and is its lower (source) file, which must not change. */
bool overlay_is_lower(struct tracer *t, const char *path, const struct view_target *target);
enum overlay_change {
	OVERLAY_CHANGE,	 /* an existing object written, truncated, chmod'ed, linked to */
	OVERLAY_CREATE,	 /* a new name */
	OVERLAY_DELETE,	 /* unlink, rmdir */
	OVERLAY_MOVE,	 /* a rename's source */
	OVERLAY_REPLACE, /* a rename's target that exists */
};
/*
 * Before a call makes CHANGE to the view path PATH below an overlay: copy
 * up what must be, note whiteouts; HOST gets the upper path the kernel is
 * given. *ANSWER is 0 when the call is done already and must not run (the
 * delete of a lower object). Returns 0 or the -errno the call fails with.
 */
/* What the call needs of the user for a change of a source file, checked before its copy-up. */
enum overlay_need {
	OVERLAY_NEED_NOTHING,
	OVERLAY_NEED_WRITE, /* write permission (open for writing, truncate) */
	OVERLAY_NEED_OWNER, /* to own it (chmod, chown, utimes, xattrs) */
};
int overlay_write(struct tracer *t, const char *path, const struct view_target *target,
		  enum overlay_change change, enum overlay_need need, bool exists, char *host,
		  long *answer);
/* A rename below one overlay, for `ptvfs diff`. */
void overlay_rename_done(struct tracer *t, const char *from, const struct view_target *from_t,
			 const char *to, const struct view_target *to_t);
/* A listing of the overlay directory TARGET merges upper and lower: names through ADD. */
bool overlay_lists(struct tracer *t, const char *path, const struct view_target *target);
void overlay_list(struct tracer *t, const char *path, const struct view_target *target,
		  void (*add)(void *ctx, const char *dir_host, const char *name), void *ctx);
void overlay_free(struct tracer *t);

/* remap.c: rewriting a stopped call's arguments (view mode) */
/* At most this many bytes are placed for one call: one slot of a scratch mapping. */
#define REMAP_MAX_BYTES (64 * 1024)
struct remap {
	arch_regs regs;	    /* as they will be */
	unsigned long next; /* the lowest tracee byte used so far; 0 before the first */
	unsigned long low;  /* the lowest byte that may be used */
	bool changed;
};
void remap_begin(struct remap *m, const arch_regs *regs);
/*
 * Copy LEN bytes into the tracee below what was placed before (DATA NULL:
 * only room for them, which the kernel is to fill): their address, 0 on
 * failure. The first placement of a call takes the thread's
 * slot in its address space's scratch area, which may make the thread run
 * an mmap first (the call then runs again: REPLAY_PENDING).
 */
unsigned long remap_place(struct thread *th, struct remap *m, const void *data, size_t len);
/* Point argument ARG at a copy of S in the tracee. Returns 0 or -EFAULT. */
int remap_arg_string(struct thread *th, struct remap *m, int arg, const char *s);
/* Set the registers if anything changed; true when the exit stop must restore them. */
bool remap_commit(struct thread *th, struct remap *m, const arch_regs *orig, bool is_exec);
/* At the exit stop: the argument registers as the tracee had them. */
void remap_restore(struct thread *th);
/* The same into R, the registers just read at the exit stop, set with them (one PTRACE_SETREGS). */
void remap_restore_regs(struct thread *th, arch_regs *r);
/*
 * After a stop whose handler made TH run an mmap (REPLAY_PENDING): true
 * when the call runs again from its syscall instruction, false when the
 * handler answered it already (it returns now).
 */
bool remap_replay_again(struct thread *th);
/* A seccomp stop of TH in REPLAY_COMMITTED: true when it is that call again, handled already. */
bool remap_replay_arrived(struct thread *th);
/* A signal comes before the call runs again: its own arguments back, to be handled anew. */
void remap_replay_undo(struct thread *th);

/*
 * The scratch area of an address space, shared by the threads (and
 * CLONE_VM processes) that run in it; each holds a reference, and a slot
 * once it has needed one.
 */
/* TH runs in a new address space (the first process, an exec): an empty area. */
void scratch_fresh(struct thread *th);
/* TH runs in the address space of OTHER (a thread, a CLONE_VM child). */
void scratch_share(struct thread *th, const struct thread *other);
/* TH runs in a copy of PARENT's address space (fork): its mappings, at the same addresses. */
void scratch_copy(struct thread *th, const struct thread *parent);
/* TH is gone or leaves its address space: its slot is free again. */
void scratch_leave(struct thread *th);

/* filter.c: the seccomp filter, loaded by the command's process before exec */
/* Returns 0 or -errno. */
/* VIEW_MODE adds the rows only the view needs (getcwd). */
int filter_install(bool view_mode);

/* handlers.c: a seccomp stop of TH; returns true when the syscall's exit stop is needed. */
bool handle_syscall_stop(struct tracer *t, struct thread *th);
/* The exit stop asked for by handle_syscall_stop(). */
void handle_syscall_exit(struct tracer *t, struct thread *th);
/* Record the access OP made to the object at (resolved) RES by TH. */
void record_access(struct tracer *t, struct thread *th, const char *path, unsigned access);

/* exec.c: the program an execve runs, and the interpreters it loads */
void record_exec(struct tracer *t, struct thread *th, const struct resolution *prog);
/* View mode: what the kernel must exec for an exec of a view path, and with which argv. */
#define EXEC_PLAN_MAX 16
struct exec_plan {
	char host[PATH_MAX];	 /* the file the kernel is given */
	char exe_view[PATH_MAX]; /* the program that runs, as the view names it (/proc/PID/exe) */
	bool argv_changed;
	/* The new argv: ENTRIES (a new string S, or the original argv[ORIG]), then argv[KEEP_FROM...]. */
	struct {
		char *s;
		long orig;
	} entries[EXEC_PLAN_MAX];
	int count;
	long keep_from;
};
/*
 * Plan the exec of PROG (resolved in the view, TARGET its host file),
 * named FILENAME by the call, and record the program and interpreters as
 * executed. Returns 0, or the -errno the exec must fail with.
 */
int exec_plan_view(struct tracer *t, struct thread *th, const char *filename,
		   const struct resolution *prog, const struct view_target *target,
		   struct exec_plan *p);
void exec_plan_free(struct exec_plan *p);

/* cpu.c: where the traced threads run */
/* Pin ptvfs to its CPU before the command is forked, unless it has only one. */
void cpu_init(struct tracer *t);
void cpu_free(struct tracer *t);
void cpu_thread_started(struct tracer *t, pid_t tid, pid_t tgid, pid_t ppid);
void cpu_thread_ended(struct tracer *t, pid_t tid, pid_t tgid);
/* After each event: pack or spread the traced threads as the tree's work says. */
void cpu_update(struct tracer *t);
/* How long the loop may sleep before cpu_update() must run again; -1: as long as it likes. */
long cpu_wait_budget_ns(const struct tracer *t);
/* sched_setaffinity or sched_getaffinity stopped; and the latter's exit. */
void cpu_syscall_stop(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		      const arch_regs *regs);
void cpu_syscall_exit(struct tracer *t, struct thread *th);

/* why.c: --why GLOB, each access to a matching path told on stderr with the command's stack */
/* Set up for OPTS->why_glob (nothing to do without one). */
void why_init(struct tracer *t);
void why_free(struct tracer *t);
/* TH made ACCESS to the view path PATH (called for every access recorded). */
void why_access(struct tracer *t, struct thread *th, const char *path, unsigned access);

/* loop.c */
/*
 * PID's STATUS, taken by a wait of its own (an mmap ptvfs made it run):
 * handed to the loop as the next event.
 */
void loop_defer_status(pid_t pid, int status);
/* Run the command under the tracer; returns ptvfs's exit status. */
int trace_command(const struct options *opts, struct report *report);

#endif
