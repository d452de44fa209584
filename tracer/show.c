// SPDX-License-Identifier: MIT
/*
 * `ptvfs show REPORT`: a report summarised for a person, on stdout. The
 * command and how it ended, its programs, counts per access kind, the
 * directories read most, what it wrote, the declared inputs left unused
 * and the files read without being declared, and whatever the record could
 * not follow. Long lists stop after a few entries with "and N more".
 *
 * The report is read with jansson. Paths are bytes: a byte that is not
 * UTF-8 is in the report as the escape \udcXX (PEP 383), which jansson
 * refuses (a lone surrogate). Before parsing, each such escape is turned
 * into "\u0000" followed by the two hex digits, which jansson takes with
 * JSON_ALLOW_NUL; bytes_of() turns them back into the byte. A report holds
 * no NUL of its own (its strings are C strings), so nothing is mistaken.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "commands.h"
#include "ptvfs/util.h"

#define SHOW_LIST_MAX 10     /* paths of one list shown before "and N more" */
#define SHOW_DIRS_MAX 5	     /* directories read most */
#define SHOW_PROGRAMS_MAX 8  /* distinct program names */
#define SHOW_COMMAND_MAX 400 /* bytes of the command line shown */
#define LABEL "%-11s"

static const char *const access_kinds[] = {"read", "write", "delete", "exec",
					   "stat", "list",  "probe"};
#define NKINDS (sizeof(access_kinds) / sizeof(access_kinds[0]))

static int hex4_at(const char *s, size_t left)
{
	int v = 0;

	if (left < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(s[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * TEXT (LEN bytes) with each escaped byte \udc80..\udcff that is not the
 * second half of a surrogate pair, and each \u0000, written as "\u0000XX"
 * (XX the byte's hex digits). Malloc'd; its length in *OUT_LEN.
 */
static char *escape_bytes(const char *text, size_t len, size_t *out_len)
{
	struct strbuf sb = {0};
	size_t i = 0;

	strbuf_grow(&sb, len + 1);
	while (i < len) {
		int cp, lo;

		if (text[i] != '\\' || i + 1 >= len) {
			strbuf_addch(&sb, text[i++]);
			continue;
		}
		if (text[i + 1] != 'u') {
			/* Any other escape, "\\" included: copied as it is. */
			strbuf_add(&sb, text + i, 2);
			i += 2;
			continue;
		}
		cp = hex4_at(text + i + 2, len - i - 2);
		if (cp >= 0xd800 && cp <= 0xdbff && i + 12 <= len && text[i + 6] == '\\' &&
		    text[i + 7] == 'u' && (lo = hex4_at(text + i + 8, len - i - 8)) >= 0xdc00 &&
		    lo <= 0xdfff) {
			strbuf_add(&sb, text + i, 12); /* a pair: one character */
			i += 12;
		} else if ((cp >= 0xdc80 && cp <= 0xdcff) || cp == 0) {
			strbuf_addf(&sb, "\\u0000%02x", cp & 0xff);
			i += 6;
		} else {
			strbuf_add(&sb, text + i, 2);
			i += 2;
		}
	}
	*out_len = sb.len;
	return sb.buf;
}

/* The bytes of the JSON string V (malloc'd), its escaped bytes restored; "" if V is none. */
static char *bytes_of(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	char *out, *o;

	if (!s)
		return xstrdup("");
	o = out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' && i + 2 < len && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			*o++ = (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Print the JSON string V as the bytes it stands for. */
static void put_bytes(const json_t *v)
{
	autofree char *s = bytes_of(v);

	fputs(s, stdout);
}

static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "_-./=:,+@%^",
			    *s))
			return true;
	return false;
}

/* One argument as a shell would need it: 'it' when it holds anything special. */
static void put_arg(struct strbuf *sb, const char *s)
{
	if (!needs_quotes(s)) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

static void show_command(const json_t *report)
{
	const json_t *argv = json_object_get(report, "command");
	struct strbuf sb = {0};
	size_t n = json_array_size(argv), i;

	for (i = 0; i < n && sb.len < SHOW_COMMAND_MAX; i++) {
		autofree char *arg = bytes_of(json_array_get(argv, i));

		if (i)
			strbuf_addch(&sb, ' ');
		put_arg(&sb, arg);
	}
	if (i < n)
		strbuf_addf(&sb, " ... (%zu more arguments)", n - i);
	printf(LABEL "%s\n", "command", sb.buf ? sb.buf : "");
	strbuf_release(&sb);
	printf(LABEL, "directory");
	put_bytes(json_object_get(report, "cwd"));
	putchar('\n');
}

/* How a process or the command ended, from its "exit" object, into BUF. */
static const char *exit_text(const json_t *exit, char *buf, size_t size)
{
	const json_t *sig = json_object_get(exit, "signal");

	if (!json_is_object(exit))
		snprintf(buf, size, "did not end");
	else if (json_is_integer(sig))
		snprintf(buf, size, "killed by signal %d (SIG%s), status %d",
			 (int)json_integer_value(sig),
			 sigabbrev_np((int)json_integer_value(sig))
			     ? sigabbrev_np((int)json_integer_value(sig))
			     : "?",
			 (int)json_integer_value(json_object_get(exit, "code")));
	else
		snprintf(buf, size, "%d", (int)json_integer_value(json_object_get(exit, "code")));
	return buf;
}

static bool ended_badly(const json_t *exit)
{
	return !json_is_object(exit) || json_object_get(exit, "signal") ||
	       json_integer_value(json_object_get(exit, "code")) != 0;
}

/* The programs the command ran: how many, their names, and those that failed. */
static void show_processes(const json_t *report)
{
	const json_t *procs = json_object_get(report, "processes");
	size_t n = json_array_size(procs), names = 0, failed = 0;
	autofree char **seen = xcalloc(n + 1, sizeof(*seen));
	char buf[128];

	printf(LABEL "%zu", "processes", n);
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(procs, i);
		const json_t *argv0 = json_array_get(json_object_get(p, "argv"), 0);
		/* As the command named it ("gcc", "as"), else its file's name. */
		char *exe = bytes_of(json_string_length(argv0) ? argv0 : json_object_get(p, "exe"));
		const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
		bool dup = false;

		for (size_t j = 0; j < names && !dup; j++)
			dup = strcmp(seen[j], base) == 0;
		if (dup || !*base) {
			free(exe);
			continue;
		}
		memmove(exe, base, strlen(base) + 1);
		seen[names++] = exe;
	}
	for (size_t i = 0; i < names && i < SHOW_PROGRAMS_MAX; i++)
		printf("%s%s", i ? ", " : ": ", seen[i]);
	if (names > SHOW_PROGRAMS_MAX)
		printf(" and %zu more", names - SHOW_PROGRAMS_MAX);
	putchar('\n');
	for (size_t i = 0; i < names; i++)
		free(seen[i]);

	/* The command itself is the first entry: its exit is shown already. */
	for (size_t i = 1; i < n; i++) {
		const json_t *p = json_array_get(procs, i);
		const json_t *exit = json_object_get(p, "exit");

		if (!ended_badly(exit))
			continue;
		if (++failed > 3)
			continue;
		printf(LABEL "pid %d ", failed == 1 ? "failed" : "",
		       (int)json_integer_value(json_object_get(p, "pid")));
		put_bytes(json_object_get(p, "exe"));
		printf(": %s\n", exit_text(exit, buf, sizeof(buf)));
	}
	if (failed > 3)
		printf(LABEL "and %zu more\n", "", failed - 3);
}

static unsigned access_bits(const json_t *access)
{
	unsigned bits = 0;

	for (size_t i = 0; i < json_array_size(access); i++) {
		const char *kind = json_string_value(json_array_get(access, i));

		for (size_t k = 0; kind && k < NKINDS; k++)
			if (strcmp(kind, access_kinds[k]) == 0)
				bits |= 1u << k;
	}
	return bits;
}

#define BIT_READ (1u << 0)
#define BIT_WRITE (1u << 1)
#define BIT_DELETE (1u << 2)

struct dir_count {
	char *dir;
	size_t files;
	UT_hash_handle hh;
};

static int by_count(const void *a, const void *b)
{
	const struct dir_count *x = *(const struct dir_count *const *)a;
	const struct dir_count *y = *(const struct dir_count *const *)b;

	if (x->files != y->files)
		return x->files > y->files ? -1 : 1;
	return strcmp(x->dir, y->dir);
}

/* Print the first SHOW_LIST_MAX of the COUNT paths in PATHS (bytes), under LABEL_TEXT. */
static void show_paths(const char *label_text, char **paths, size_t count)
{
	for (size_t i = 0; i < count && i < SHOW_LIST_MAX; i++)
		printf(LABEL "%s\n", i ? "" : label_text, paths[i]);
	if (count > SHOW_LIST_MAX)
		printf(LABEL "and %zu more\n", "", count - SHOW_LIST_MAX);
}

/*
 * Whether a file both written and deleted is an output: it is when it is
 * there now (a linker removes its old output before writing the new one);
 * one that is gone was a temporary file.
 */
static bool still_there(const char *path, const json_t *file)
{
	autofree char *host = bytes_of(json_object_get(file, "host"));
	struct stat st;

	return lstat(*host ? host : path, &st) == 0;
}

/* /dev, /proc, /sys or below: writing /dev/null makes no output. */
static bool is_system(const char *path)
{
	static const char *const tops[] = {"/dev", "/proc", "/sys"};

	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		size_t n = strlen(tops[i]);

		if (strncmp(path, tops[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
			return true;
	}
	return false;
}

/* Counts per access kind, the directories read most, and what was written. */
static void show_files(const json_t *report)
{
	const json_t *files = json_object_get(report, "files");
	size_t n = json_array_size(files), counts[NKINDS] = {0}, nwritten = 0, temporaries = 0;
	struct dir_count *dirs = NULL, *d, *tmp;
	autofree char **written = xcalloc(n + 1, sizeof(*written));
	autofree struct dir_count **top = NULL;
	size_t ndirs, width = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *f = json_array_get(files, i);
		unsigned bits = access_bits(json_object_get(f, "access"));
		char *path = bytes_of(json_object_get(f, "path"));

		for (size_t k = 0; k < NKINDS; k++)
			counts[k] += !!(bits & (1u << k));
		if (bits & BIT_READ) {
			char *slash = strrchr(path, '/');
			autofree char *dir =
			    slash && slash != path ? xstrndup(path, slash - path) : xstrdup("/");

			HASH_FIND_STR(dirs, dir, d);
			if (!d) {
				d = xcalloc(1, sizeof(*d));
				d->dir = steal_pointer(&dir);
				HASH_ADD_KEYPTR(hh, dirs, d->dir, strlen(d->dir), d);
			}
			d->files++;
		}
		if ((bits & BIT_WRITE) && !is_system(path)) {
			if (!(bits & BIT_DELETE) || still_there(path, f)) {
				written[nwritten++] = path;
				continue;
			}
			temporaries++;
		}
		free(path);
	}

	printf(LABEL "%zu:", "files", n);
	for (size_t k = 0; k < NKINDS; k++)
		printf(" %zu %s%s", counts[k], access_kinds[k], k + 1 < NKINDS ? "," : "\n");

	ndirs = HASH_COUNT(dirs);
	top = xcalloc(ndirs + 1, sizeof(*top));
	ndirs = 0;
	HASH_ITER(hh, dirs, d, tmp)
	top[ndirs++] = d;
	qsort(top, ndirs, sizeof(*top), by_count);
	for (size_t i = 0; i < ndirs && i < SHOW_DIRS_MAX; i++)
		if (strlen(top[i]->dir) > width)
			width = strlen(top[i]->dir);
	for (size_t i = 0; i < ndirs && i < SHOW_DIRS_MAX; i++)
		printf(LABEL "%-*s  %zu file%s\n", i ? "" : "read most", (int)width, top[i]->dir,
		       top[i]->files, top[i]->files == 1 ? "" : "s");
	HASH_ITER(hh, dirs, d, tmp)
	{
		HASH_DEL(dirs, d);
		free(d->dir);
		free(d);
	}

	if (!nwritten)
		printf(LABEL "nothing\n", "written");
	show_paths("written", written, nwritten);
	if (temporaries)
		printf(LABEL "and %zu temporary file%s, written and deleted\n", nwritten ? "" : "",
		       temporaries, temporaries == 1 ? "" : "s");
	for (size_t i = 0; i < nwritten; i++)
		free(written[i]);
}

static void show_path_list(const char *label_text, const json_t *list)
{
	size_t n = json_array_size(list);
	autofree char **paths = xcalloc(n + 1, sizeof(*paths));

	for (size_t i = 0; i < n && i < SHOW_LIST_MAX; i++)
		paths[i] = bytes_of(json_array_get(list, i));
	show_paths(label_text, paths, n);
	for (size_t i = 0; i < n && i < SHOW_LIST_MAX; i++)
		free(paths[i]);
}

/* The declared inputs (present with --inputs): how many were used, the unused, the undeclared. */
static void show_inputs(const json_t *report)
{
	const json_t *inputs = json_object_get(report, "inputs");
	const json_t *unused = json_object_get(inputs, "unused");
	const json_t *undeclared = json_object_get(inputs, "undeclared");

	if (!json_is_object(inputs))
		return;
	printf(LABEL "%d declared: %zu used, %zu unused, %zu undeclared\n", "inputs",
	       (int)json_integer_value(json_object_get(inputs, "declared")),
	       json_array_size(json_object_get(inputs, "used")), json_array_size(unused),
	       json_array_size(undeclared));
	show_path_list("unused", unused);
	show_path_list("undeclared", undeclared);
}

/* "refused" or "unrecorded": each entry's process, what and detail. */
static size_t show_notes(const json_t *report, const char *key)
{
	const json_t *notes = json_object_get(report, key);
	size_t n = json_array_size(notes);

	for (size_t i = 0; i < n && i < SHOW_LIST_MAX; i++) {
		const json_t *note = json_array_get(notes, i);
		const json_t *detail = json_object_get(note, "detail");

		printf(LABEL "pid %d: ", i ? "" : key,
		       (int)json_integer_value(json_object_get(note, "pid")));
		put_bytes(json_object_get(note, "what"));
		if (detail) {
			fputs(": ", stdout);
			put_bytes(detail);
		}
		putchar('\n');
	}
	if (n > SHOW_LIST_MAX)
		printf(LABEL "and %zu more\n", "", n - SHOW_LIST_MAX);
	return n;
}

/* The report at FILE, parsed, or NULL after saying why. */
static json_t *load_report(const char *file)
{
	autoclose int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct strbuf sb = {0};
	autofree char *text = NULL;
	size_t len;
	json_error_t error;
	json_t *report, *format;
	struct stat st;
	int ret;

	if (fd < 0 || fstat(fd, &st) < 0) {
		warn("show: cannot read %s: %s", file, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		warn("show: cannot read %s: %s", file, strerror(EISDIR));
		return NULL;
	}
	ret = read_fd_whole(fd, &sb.buf, &sb.len);
	if (ret < 0) {
		warn("show: cannot read %s: %s", file, strerror(-ret));
		return NULL;
	}
	text = escape_bytes(sb.buf ? sb.buf : "", sb.len, &len);
	strbuf_release(&sb);
	report = json_loadb(text ? text : "", len, JSON_ALLOW_NUL, &error);
	if (!report) {
		warn("show: %s is not a ptvfs report: line %d: %s", file, error.line, error.text);
		return NULL;
	}
	format = json_object_get(report, "report_format");
	if (!json_is_object(report) || !json_is_integer(format)) {
		warn("show: %s is not a ptvfs report (no report_format)", file);
		json_decref(report);
		return NULL;
	}
	if (json_integer_value(format) != 1) {
		warn("show: %s has report format %lld; this ptvfs reads format 1", file,
		     (long long)json_integer_value(format));
		json_decref(report);
		return NULL;
	}
	return report;
}

static void usage(FILE *out)
{
	fputs("usage: ptvfs show REPORT\n"
	      "  a report written by --report, summarised: the command, its exit, the files it\n"
	      "  touched per access kind, the directories it read most, what it wrote, unused and\n"
	      "  undeclared inputs, and what the record could not follow\n",
	      out);
}

int show_main(int argc, char **argv)
{
	json_t *report;
	char buf[128];
	size_t notes;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || !*argv[1]) {
		warn("show: %s (usage: ptvfs show REPORT)",
		     argc < 2 ? "a report file is needed" : "one report file only");
		return PTVFS_EXIT_FAILURE;
	}
	report = load_report(argv[1]);
	if (!report)
		return PTVFS_EXIT_FAILURE;

	show_command(report);
	printf(LABEL "%s\n", "exit", exit_text(json_object_get(report, "exit"), buf, sizeof(buf)));
	show_processes(report);
	show_files(report);
	show_inputs(report);
	notes = show_notes(report, "refused");
	notes += show_notes(report, "unrecorded");
	if (!notes)
		printf(LABEL "complete: nothing refused or unrecorded\n", "record");
	json_decref(report);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warn("show: cannot write: %s", strerror(errno));
		return PTVFS_EXIT_FAILURE;
	}
	return 0;
}
