/* SPDX-License-Identifier: MIT */
/*
 * The record of a run: processes, files and their access kinds, the
 * declared inputs used and not, and what ptvfs refused; written as the JSON
 * report of DESIGN.md §2 (format 1).
 *
 * The report owns everything added to it (strings are copied). It lives for
 * the whole run. No ptrace here: the tracer feeds it.
 */
#ifndef PTVFS_REPORT_H
#define PTVFS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PTVFS_VERSION "0.1.0"
#define PTVFS_REPORT_FORMAT 1

/* Access kinds, in the order the report lists them. */
enum access {
	ACCESS_READ = 1 << 0,
	ACCESS_WRITE = 1 << 1,
	ACCESS_DELETE = 1 << 2,
	ACCESS_EXEC = 1 << 3,
	ACCESS_STAT = 1 << 4,
	ACCESS_LIST = 1 << 5,
	ACCESS_PROBE = 1 << 6,
};
#define ACCESS_KINDS 7

/* The name of the single access kind BIT ("read", ...), or NULL. */
const char *access_name(unsigned bit);

struct report;

/* One program image a process ran: a pid that execs twice has two entries. */
struct report_process {
	pid_t pid;
	pid_t ppid;
	char *exe;
	char **argv; /* NULL-terminated */
	char *cwd;
	bool exited;
	int wait_status; /* as waitpid() gives it, when exited */
	bool accessed;	 /* recorded any access since this entry began */
};

/* What served a file in the view: decides whether reading it is "undeclared". */
enum report_origin {
	ORIGIN_OTHER = 0, /* the host base, --bind, --tmpfs, --overlay, ... */
	ORIGIN_READ_ONLY, /* --root or --ro-bind: never undeclared */
	ORIGIN_INPUT,	  /* a declared input, or below a declared input directory */
	ORIGIN_SYSTEM,	  /* /dev, /proc, /sys */
};

struct report_file {
	char *path; /* in the view */
	char *host; /* on the host, or NULL */
	unsigned access;
	enum report_origin origin; /* the first one given other than ORIGIN_OTHER */
	/*
	 * The first record that read, executed or wrote the file wrote it: the
	 * command made its contents (an output read back, a temporary file).
	 * Records of metadata only (stat, list, probe) and deletions do not
	 * decide; a record of read and write at once (O_RDWR) counts as
	 * written. A tracer that knows old contents stayed readable records
	 * the read first.
	 */
	bool written_first;
};

struct report *report_new(void);
void report_free(struct report *r);

/* The command as given and the directory it started in. */
void report_set_command(struct report *r, char *const *argv, const char *cwd);
/* The command's end, as waitpid() reported it. */
void report_set_exit(struct report *r, int wait_status);

/*
 * Record ACCESS (bits of enum access) of PATH (view) at HOST (may be NULL),
 * served from ORIGIN. The first HOST given stays, and the first ORIGIN other
 * than ORIGIN_OTHER.
 */
void report_add_from(struct report *r, const char *path, const char *host, unsigned access,
		     enum report_origin origin);
/* report_add_from() with ORIGIN_OTHER. */
void report_add(struct report *r, const char *path, const char *host, unsigned access);
/* PATH's file is now at HOST (a file copied up into an overlay's upper directory). */
void report_set_host(struct report *r, const char *path, const char *host);
/* The overlays' upper directory, named in the report as "upper" (DESIGN.md §4). */
void report_set_upper(struct report *r, const char *dir);
/* The entry for PATH, or NULL. Owned by the report. */
const struct report_file *report_find(const struct report *r, const char *path);
/* Number of distinct files recorded. */
size_t report_file_count(const struct report *r);

/*
 * A new process entry. ARGV may be NULL (unknown yet). The entry is owned by
 * the report and stays valid for its lifetime.
 */
struct report_process *report_add_process(struct report *r, pid_t pid, pid_t ppid, const char *exe,
					  char *const *argv, const char *cwd);
/* Build ARGV from a /proc/PID/cmdline buffer (NUL-separated, LEN bytes). */
char **argv_from_cmdline(const char *buf, size_t len);
void argv_free(char **argv);
char **argv_dup(char *const *argv);

/*
 * The declared inputs (--inputs): their COUNT paths in the view, absolute
 * and normalized, in manifest order (copied; a later call replaces them).
 * A path listed more than once counts once, where it was first listed.
 *
 * Once called, even with COUNT 0, the report has, after "files":
 *   "inputs": {"declared": N, "used": [...], "unused": [...], "undeclared": [...]}
 * - declared: the number of distinct paths;
 * - used: those with any access recorded at them or at any path below them
 *   ("/a/b/c" is below "/a/b", "/a/bc" is not), in manifest order;
 * - unused: the rest, in manifest order;
 * - undeclared: the files recorded with ACCESS_READ or ACCESS_EXEC that are
 *   neither declared nor below a declared path, were served from
 *   ORIGIN_OTHER, are not /dev, /proc, /sys or below them (by path, whatever
 *   their origin), and were not written first; sorted by path. A directory
 *   only listed or looked up is not read.
 * Without it the report has no "inputs".
 */
void report_set_inputs(struct report *r, size_t count, const char *const *view_paths);
/*
 * Whether each of the COUNT inputs last given to report_set_inputs() was
 * used, in the same order, into USED[0..COUNT) (a path listed twice gets the
 * same answer twice): for --unused-inputs, which writes each as its manifest
 * line named it.
 */
void report_inputs_used(const struct report *r, bool *used);

/* Whether PATH is /dev, /proc, /sys or below them (never undeclared, never a dependency). */
bool report_path_is_system(const char *path);
/* The directory the command started in (view path), as report_set_command() got it; or NULL. */
const char *report_cwd(const struct report *r);
/*
 * The files recorded, sorted by path (byte order): a malloc'd array of
 * report_file_count() entries (the caller frees the array; the entries are
 * the report's, valid while nothing is added).
 */
const struct report_file **report_sorted_files(const struct report *r);
/* The process entries, in the order they were added: I from 0 to report_process_count(). */
size_t report_process_count(const struct report *r);
const struct report_process *report_process_at(const struct report *r, size_t i);

/* Something the record could not follow, refused instead: a syscall, a 32-bit process, ... */
void report_add_refusal(struct report *r, pid_t pid, const char *what, const char *detail);
size_t report_refusal_count(const struct report *r);
/* An access that ran but could not be recorded (a path longer than PATH_MAX): said, not hidden. */
void report_add_unrecorded(struct report *r, pid_t pid, const char *what, const char *detail);
size_t report_unrecorded_count(const struct report *r);

/*
 * Process PID ended with WAIT_STATUS: every entry of it not ended yet gets
 * it (a program replaced by exec ends with the process that ran it).
 */
void report_process_exit(struct report *r, pid_t pid, int wait_status);

/*
 * The report as JSON text (malloc'd, NUL-terminated); its length in *LEN.
 * Keys in this order: report_format, ptvfs_version, command, cwd, exit,
 * processes, files, inputs (when set), refused, unrecorded. The same record
 * gives the same text.
 */
char *report_to_json(const struct report *r, size_t *len);
/* Write the JSON report to FILE atomically. Returns 0 or -errno. */
int report_write(const struct report *r, const char *file);

#endif
