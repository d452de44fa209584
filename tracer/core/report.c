// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <uthash.h>

#include "ptvfs/json.h"
#include "ptvfs/report.h"
#include "ptvfs/util.h"

struct file_entry {
	struct report_file file;
	UT_hash_handle hh;
};

struct refusal {
	pid_t pid;
	char *what;
	char *detail;
};

struct report {
	char **command;
	char *cwd;
	bool exited;
	int wait_status;

	struct file_entry *files; /* uthash, by path */

	struct report_process **procs;
	size_t nprocs, procs_cap;

	struct refusal *refusals;
	size_t nrefusals, refusals_cap;
	struct refusal *unrecorded;
	size_t nunrecorded, unrecorded_cap;

	/* Declared inputs, once report_set_inputs() was called. */
	bool has_inputs;
	char **inputs; /* distinct paths, in manifest order */
	size_t ninputs;
	size_t *inputs_by_path; /* indices into inputs, sorted by path */
	size_t *input_of;	/* each path given: its index into inputs */
	size_t ngiven;
	bool slash_ended; /* some input other than "/" ends with '/' */

	char *upper; /* the overlays' upper directory, once one was used */
};

/* Access kinds that touch a file's contents: the first of them decides written_first. */
#define ACCESS_CONTENTS (ACCESS_READ | ACCESS_EXEC | ACCESS_WRITE)

static const char *const access_names[ACCESS_KINDS] = {
    "read", "write", "delete", "exec", "stat", "list", "probe",
};

const char *access_name(unsigned bit)
{
	for (int i = 0; i < ACCESS_KINDS; i++)
		if (bit == 1u << i)
			return access_names[i];
	return NULL;
}

struct report *report_new(void)
{
	return xcalloc(1, sizeof(struct report));
}

void argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

char **argv_dup(char *const *argv)
{
	size_t n = 0;
	char **out;

	if (!argv)
		return NULL;
	while (argv[n])
		n++;
	out = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(argv[i]);
	return out;
}

char **argv_from_cmdline(const char *buf, size_t len)
{
	size_t n = 0, i, k = 0;
	char **out;

	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			n++;
	if (len > 0 && buf[len - 1] != '\0')
		n++;
	out = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < len && k < n;) {
		size_t end = i;
		while (end < len && buf[end])
			end++;
		out[k++] = xstrndup(buf + i, end - i);
		i = end + 1;
	}
	return out;
}

static void free_inputs(struct report *r)
{
	for (size_t i = 0; i < r->ninputs; i++)
		free(r->inputs[i]);
	free(r->inputs);
	free(r->inputs_by_path);
	free(r->input_of);
	r->inputs = NULL;
	r->inputs_by_path = NULL;
	r->input_of = NULL;
	r->ninputs = r->ngiven = 0;
	r->has_inputs = r->slash_ended = false;
}

void report_free(struct report *r)
{
	struct file_entry *f, *tmp;

	if (!r)
		return;
	HASH_ITER(hh, r->files, f, tmp)
	{
		HASH_DEL(r->files, f);
		free(f->file.path);
		free(f->file.host);
		free(f);
	}
	for (size_t i = 0; i < r->nprocs; i++) {
		free(r->procs[i]->exe);
		free(r->procs[i]->cwd);
		argv_free(r->procs[i]->argv);
		free(r->procs[i]);
	}
	free(r->procs);
	free(r->upper);
	for (size_t i = 0; i < r->nrefusals; i++) {
		free(r->refusals[i].what);
		free(r->refusals[i].detail);
	}
	free(r->refusals);
	for (size_t i = 0; i < r->nunrecorded; i++) {
		free(r->unrecorded[i].what);
		free(r->unrecorded[i].detail);
	}
	free(r->unrecorded);
	free_inputs(r);
	argv_free(r->command);
	free(r->cwd);
	free(r);
}

void report_set_command(struct report *r, char *const *argv, const char *cwd)
{
	argv_free(r->command);
	free(r->cwd);
	r->command = argv_dup(argv);
	r->cwd = cwd ? xstrdup(cwd) : NULL;
}

void report_set_exit(struct report *r, int wait_status)
{
	r->exited = true;
	r->wait_status = wait_status;
}

void report_add_from(struct report *r, const char *path, const char *host, unsigned access,
		     enum report_origin origin)
{
	struct file_entry *f;
	size_t len = strlen(path);

	HASH_FIND(hh, r->files, path, len, f);
	if (!f) {
		f = xcalloc(1, sizeof(*f));
		f->file.path = xstrdup(path);
		HASH_ADD_KEYPTR(hh, r->files, f->file.path, len, f);
	}
	if (host && !f->file.host)
		f->file.host = xstrdup(host);
	if (origin != ORIGIN_OTHER && f->file.origin == ORIGIN_OTHER)
		f->file.origin = origin;
	if (!(f->file.access & ACCESS_CONTENTS) && (access & ACCESS_CONTENTS))
		f->file.written_first = access & ACCESS_WRITE;
	f->file.access |= access;
}

void report_set_host(struct report *r, const char *path, const char *host)
{
	struct file_entry *f;

	HASH_FIND(hh, r->files, path, strlen(path), f);
	if (!f || !host || (f->file.host && strcmp(f->file.host, host) == 0))
		return;
	free(f->file.host);
	f->file.host = xstrdup(host);
}

void report_set_upper(struct report *r, const char *dir)
{
	free(r->upper);
	r->upper = dir ? xstrdup(dir) : NULL;
}

void report_add(struct report *r, const char *path, const char *host, unsigned access)
{
	report_add_from(r, path, host, access, ORIGIN_OTHER);
}

struct given_input {
	const char *path;
	size_t given; /* its place in the manifest */
};

static int compare_given(const void *a, const void *b)
{
	const struct given_input *ga = a, *gb = b;
	int c = strcmp(ga->path, gb->path);

	if (c)
		return c;
	return ga->given < gb->given ? -1 : ga->given > gb->given;
}

void report_set_inputs(struct report *r, size_t count, const char *const *view_paths)
{
	autofree struct given_input *sorted = xcalloc(count, sizeof(*sorted));
	autofree size_t *first = xcalloc(count, sizeof(*first));
	size_t i, k;

	free_inputs(r);
	r->has_inputs = true;
	r->ngiven = count;
	r->input_of = xcalloc(count, sizeof(*r->input_of));
	r->inputs = xcalloc(count, sizeof(*r->inputs));
	r->inputs_by_path = xcalloc(count, sizeof(*r->inputs_by_path));
	/* Sorted by path, then place: each run of one path starts at its first listing. */
	for (i = 0; i < count; i++)
		sorted[i] = (struct given_input){view_paths[i], i};
	qsort(sorted, count, sizeof(*sorted), compare_given);
	for (i = 0; i < count; i = k) {
		for (k = i; k < count && !strcmp(sorted[k].path, sorted[i].path); k++)
			first[sorted[k].given] = sorted[i].given;
	}
	/* Numbered in manifest order; a later listing shares the first one's number. */
	for (i = 0; i < count; i++) {
		if (first[i] == i) {
			size_t len = strlen(view_paths[i]);

			if (len > 1 && view_paths[i][len - 1] == '/')
				r->slash_ended = true;
			r->input_of[i] = r->ninputs;
			r->inputs[r->ninputs++] = xstrdup(view_paths[i]);
		} else {
			r->input_of[i] = r->input_of[first[i]];
		}
	}
	for (i = 0, k = 0; i < count; i++)
		if (first[sorted[i].given] == sorted[i].given)
			r->inputs_by_path[k++] = r->input_of[sorted[i].given];
}

/* The declared input whose path is the LEN bytes at S, or -1. */
static ssize_t find_input(const struct report *r, const char *s, size_t len)
{
	size_t lo = 0, hi = r->ninputs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *path = r->inputs[r->inputs_by_path[mid]];
		int c = strncmp(s, path, len);

		if (!c && path[len])
			c = -1; /* S is a proper prefix of PATH */
		if (!c)
			return (ssize_t)r->inputs_by_path[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Whether the first LEN bytes of PATH are a declared input; if so marked in USED. */
static bool mark_input(const struct report *r, const char *path, size_t len, bool *used)
{
	ssize_t in = len ? find_input(r, path, len) : -1;

	if (in < 0)
		return false;
	used[in] = true;
	return true;
}

/*
 * Whether PATH is a declared input or below one; each such input is marked
 * in USED. The candidates are PATH itself and each leading part of it that
 * ends before a '/' ("/", "/a", "/a/b" for "/a/b"), and at one ("/a/") when
 * an input was given so: O(depth * log inputs).
 */
static bool mark_declared(const struct report *r, const char *path, bool *used)
{
	size_t len = strlen(path);
	bool declared = false;

	for (size_t i = 0; i < len; i++) {
		if (path[i] != '/')
			continue;
		declared |= mark_input(r, path, i ? i : 1, used);
		if (i && r->slash_ended)
			declared |= mark_input(r, path, i + 1, used);
	}
	if (len && path[len - 1] != '/')
		declared |= mark_input(r, path, len, used);
	return declared;
}

/* Which declared inputs were used: an array of ninputs, malloc'd. */
static bool *inputs_used(const struct report *r)
{
	bool *used = xcalloc(r->ninputs, sizeof(*used));
	struct file_entry *f, *tmp;

	HASH_ITER(hh, r->files, f, tmp)
	{
		if (f->file.access)
			mark_declared(r, f->file.path, used);
	}
	return used;
}

void report_inputs_used(const struct report *r, bool *used)
{
	autofree bool *distinct = inputs_used(r);

	for (size_t i = 0; i < r->ngiven; i++)
		used[i] = distinct[r->input_of[i]];
}

const struct report_file *report_find(const struct report *r, const char *path)
{
	struct file_entry *f;

	HASH_FIND(hh, r->files, path, strlen(path), f);
	return f ? &f->file : NULL;
}

size_t report_file_count(const struct report *r)
{
	return HASH_COUNT(r->files);
}

struct report_process *report_add_process(struct report *r, pid_t pid, pid_t ppid, const char *exe,
					  char *const *argv, const char *cwd)
{
	struct report_process *p = xcalloc(1, sizeof(*p));

	p->pid = pid;
	p->ppid = ppid;
	p->exe = exe ? xstrdup(exe) : NULL;
	p->argv = argv_dup(argv);
	p->cwd = cwd ? xstrdup(cwd) : NULL;
	if (r->nprocs == r->procs_cap) {
		r->procs_cap = r->procs_cap ? r->procs_cap * 2 : 16;
		r->procs = xrealloc(r->procs, r->procs_cap * sizeof(*r->procs));
	}
	r->procs[r->nprocs++] = p;
	return p;
}

static void add_note(struct refusal **list, size_t *n, size_t *cap, pid_t pid, const char *what,
		     const char *detail)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*list = xrealloc(*list, *cap * sizeof(**list));
	}
	(*list)[(*n)++] = (struct refusal){
	    .pid = pid,
	    .what = xstrdup(what),
	    .detail = detail ? xstrdup(detail) : NULL,
	};
}

void report_add_refusal(struct report *r, pid_t pid, const char *what, const char *detail)
{
	add_note(&r->refusals, &r->nrefusals, &r->refusals_cap, pid, what, detail);
}

void report_add_unrecorded(struct report *r, pid_t pid, const char *what, const char *detail)
{
	add_note(&r->unrecorded, &r->nunrecorded, &r->unrecorded_cap, pid, what, detail);
}

size_t report_unrecorded_count(const struct report *r)
{
	return r->nunrecorded;
}

void report_process_exit(struct report *r, pid_t pid, int wait_status)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		if (r->procs[i]->pid == pid && !r->procs[i]->exited) {
			r->procs[i]->exited = true;
			r->procs[i]->wait_status = wait_status;
		}
	}
}

size_t report_refusal_count(const struct report *r)
{
	return r->nrefusals;
}

const char *report_cwd(const struct report *r)
{
	return r->cwd;
}

size_t report_process_count(const struct report *r)
{
	return r->nprocs;
}

const struct report_process *report_process_at(const struct report *r, size_t i)
{
	return i < r->nprocs ? r->procs[i] : NULL;
}

static void add_exit(struct strbuf *sb, int status)
{
	if (WIFSIGNALED(status))
		strbuf_addf(sb, "{\"signal\": %d, \"code\": %d}", WTERMSIG(status),
			    128 + WTERMSIG(status));
	else
		strbuf_addf(sb, "{\"code\": %d}", WEXITSTATUS(status));
}

static void add_argv(struct strbuf *sb, char *const *argv)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		json_add_string(sb, argv[i]);
	}
	strbuf_addch(sb, ']');
}

static int compare_files(const void *a, const void *b)
{
	const struct report_file *fa = *(const struct report_file *const *)a;
	const struct report_file *fb = *(const struct report_file *const *)b;

	return strcmp(fa->path, fb->path);
}

const struct report_file **report_sorted_files(const struct report *r)
{
	size_t n = HASH_COUNT(r->files), i = 0;
	const struct report_file **sorted = xcalloc(n, sizeof(*sorted));
	struct file_entry *f, *tmp;

	HASH_ITER(hh, r->files, f, tmp)
	{
		sorted[i++] = &f->file;
	}
	qsort(sorted, n, sizeof(*sorted), compare_files);
	return sorted;
}

static void add_files(struct strbuf *sb, const struct report_file *const *sorted, size_t n)
{
	strbuf_addstr(sb, "  \"files\": [");
	for (size_t i = 0; i < n; i++) {
		bool first = true;

		strbuf_addstr(sb, i ? ",\n    " : "\n    ");
		strbuf_addstr(sb, "{\"path\": ");
		json_add_string(sb, sorted[i]->path);
		if (sorted[i]->host) {
			strbuf_addstr(sb, ", \"host\": ");
			json_add_string(sb, sorted[i]->host);
		}
		strbuf_addstr(sb, ", \"access\": [");
		for (int k = 0; k < ACCESS_KINDS; k++) {
			if (!(sorted[i]->access & (1u << k)))
				continue;
			strbuf_addf(sb, "%s\"%s\"", first ? "" : ", ", access_names[k]);
			first = false;
		}
		strbuf_addstr(sb, "]}");
	}
	strbuf_addstr(sb, n ? "\n  ]" : "]");
}

/* One path of a list in "inputs"; *N counts those written so far. */
static void add_input_path(struct strbuf *sb, size_t *n, const char *path)
{
	strbuf_addstr(sb, (*n)++ ? ",\n      " : "\n      ");
	json_add_string(sb, path);
}

static void end_input_list(struct strbuf *sb, size_t n, bool last)
{
	strbuf_addstr(sb, n ? "\n    ]" : "]");
	strbuf_addstr(sb, last ? "\n" : ",\n");
}

bool report_path_is_system(const char *path)
{
	static const char *const dirs[] = {"/dev", "/proc", "/sys"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t len = strlen(dirs[i]);

		if (!strncmp(path, dirs[i], len) && (path[len] == '\0' || path[len] == '/'))
			return true;
	}
	return false;
}

/* Whether F, declared or below a declared input as DECLARED says, is read undeclared. */
static bool is_undeclared(const struct report_file *f, bool declared)
{
	return (f->access & (ACCESS_READ | ACCESS_EXEC)) && !declared &&
	       f->origin == ORIGIN_OTHER && !f->written_first && !report_path_is_system(f->path);
}

static void add_inputs(struct strbuf *sb, const struct report *r,
		       const struct report_file *const *sorted, size_t nfiles)
{
	autofree bool *used = xcalloc(r->ninputs, sizeof(*used));
	autofree bool *declared = xcalloc(nfiles, sizeof(*declared));
	size_t n = 0;

	for (size_t i = 0; i < nfiles; i++)
		if (sorted[i]->access)
			declared[i] = mark_declared(r, sorted[i]->path, used);

	strbuf_addf(sb, ",\n  \"inputs\": {\n    \"declared\": %zu,\n    \"used\": [", r->ninputs);
	for (size_t i = 0; i < r->ninputs; i++)
		if (used[i])
			add_input_path(sb, &n, r->inputs[i]);
	end_input_list(sb, n, false);
	strbuf_addstr(sb, "    \"unused\": [");
	n = 0;
	for (size_t i = 0; i < r->ninputs; i++)
		if (!used[i])
			add_input_path(sb, &n, r->inputs[i]);
	end_input_list(sb, n, false);
	strbuf_addstr(sb, "    \"undeclared\": [");
	n = 0;
	for (size_t i = 0; i < nfiles; i++)
		if (is_undeclared(sorted[i], declared[i]))
			add_input_path(sb, &n, sorted[i]->path);
	end_input_list(sb, n, true);
	strbuf_addstr(sb, "  }");
}

static void add_notes(struct strbuf *sb, const char *key, const struct refusal *notes, size_t n)
{
	strbuf_addf(sb, ",\n  \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		strbuf_addstr(sb, i ? ",\n    " : "\n    ");
		strbuf_addf(sb, "{\"pid\": %d, \"what\": ", (int)notes[i].pid);
		json_add_string(sb, notes[i].what);
		if (notes[i].detail) {
			strbuf_addstr(sb, ", \"detail\": ");
			json_add_string(sb, notes[i].detail);
		}
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, n ? "\n  ]" : "]");
}

char *report_to_json(const struct report *r, size_t *len)
{
	size_t nfiles = HASH_COUNT(r->files);
	autofree const struct report_file **sorted = report_sorted_files(r);
	struct strbuf sb = {0};

	strbuf_addf(&sb, "{\n  \"report_format\": %d,\n  \"ptvfs_version\": \"%s\",\n",
		    PTVFS_REPORT_FORMAT, PTVFS_VERSION);
	strbuf_addstr(&sb, "  \"command\": ");
	add_argv(&sb, r->command);
	strbuf_addstr(&sb, ",\n  \"cwd\": ");
	json_add_string(&sb, r->cwd ? r->cwd : "");
	strbuf_addstr(&sb, ",\n  \"exit\": ");
	if (r->exited)
		add_exit(&sb, r->wait_status);
	else
		strbuf_addstr(&sb, "null");
	strbuf_addstr(&sb, ",\n  \"processes\": [");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct report_process *p = r->procs[i];

		strbuf_addstr(&sb, i ? ",\n    " : "\n    ");
		strbuf_addf(&sb, "{\"pid\": %d, \"ppid\": %d, \"exe\": ", (int)p->pid,
			    (int)p->ppid);
		json_add_string(&sb, p->exe ? p->exe : "");
		strbuf_addstr(&sb, ", \"argv\": ");
		add_argv(&sb, p->argv);
		strbuf_addstr(&sb, ", \"cwd\": ");
		json_add_string(&sb, p->cwd ? p->cwd : "");
		strbuf_addstr(&sb, ", \"exit\": ");
		if (p->exited)
			add_exit(&sb, p->wait_status);
		else
			strbuf_addstr(&sb, "null");
		strbuf_addch(&sb, '}');
	}
	strbuf_addstr(&sb, r->nprocs ? "\n  ],\n" : "],\n");
	add_files(&sb, sorted, nfiles);
	if (r->has_inputs)
		add_inputs(&sb, r, sorted, nfiles);
	if (r->upper) {
		strbuf_addstr(&sb, ",\n  \"upper\": ");
		json_add_string(&sb, r->upper);
	}
	add_notes(&sb, "refused", r->refusals, r->nrefusals);
	add_notes(&sb, "unrecorded", r->unrecorded, r->nunrecorded);
	strbuf_addstr(&sb, "\n}\n");
	*len = sb.len;
	return sb.buf;
}

int report_write(const struct report *r, const char *file)
{
	size_t len;
	autofree char *json = report_to_json(r, &len);

	return write_file_atomic(file, json, len);
}
