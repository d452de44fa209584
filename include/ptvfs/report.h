/* SPDX-License-Identifier: MIT */
/*
 * The record of a run: processes, files and their access kinds, and what
 * ptvfs refused; written as the JSON report of DESIGN.md §2 (format 1).
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

struct report_file {
	char *path; /* in the view */
	char *host; /* on the host, or NULL */
	unsigned access;
};

struct report *report_new(void);
void report_free(struct report *r);

/* The command as given and the directory it started in. */
void report_set_command(struct report *r, char *const *argv, const char *cwd);
/* The command's end, as waitpid() reported it. */
void report_set_exit(struct report *r, int wait_status);

/* Record ACCESS (bits of enum access) of PATH (view) at HOST (may be NULL). */
void report_add(struct report *r, const char *path, const char *host, unsigned access);
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

/* The report as JSON text (malloc'd, NUL-terminated); its length in *LEN. */
char *report_to_json(const struct report *r, size_t *len);
/* Write the JSON report to FILE atomically. Returns 0 or -errno. */
int report_write(const struct report *r, const char *file);

#endif
