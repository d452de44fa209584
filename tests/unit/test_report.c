// SPDX-License-Identifier: MIT
/*
 * The report (DESIGN.md §2): files merged by path and sorted by bytes,
 * access kinds in their fixed order, exits from wait statuses, and the file
 * written atomically. The JSON is read back with jansson.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/json.h"
#include "ptvfs/report.h"
#include "ptvfs/util.h"

/* The report as JSON, parsed; fails the test when it does not parse. */
static json_t *parse_report(const struct report *r)
{
	size_t len;
	autofree char *text = report_to_json(r, &len);
	json_error_t error;
	json_t *root;

	cr_assert_not_null(text);
	cr_assert_eq(strlen(text), len);
	root = json_loadb(text, len, 0, &error);
	cr_assert_not_null(root, "report does not parse: %s (line %d)\n%s", error.text, error.line,
			   text);
	cr_assert(json_is_object(root));
	return root;
}

/* The "access" array of FILE as one comma-separated string. */
static void access_list(json_t *file, char *out, size_t size)
{
	json_t *access = json_object_get(file, "access"), *v;
	size_t i;

	cr_assert(json_is_array(access));
	out[0] = '\0';
	json_array_foreach(access, i, v)
	{
		cr_assert(json_is_string(v));
		if (i)
			strncat(out, ",", size - strlen(out) - 1);
		strncat(out, json_string_value(v), size - strlen(out) - 1);
	}
}

Test(report, access_names)
{
	cr_expect_str_eq(access_name(ACCESS_READ), "read");
	cr_expect_str_eq(access_name(ACCESS_WRITE), "write");
	cr_expect_str_eq(access_name(ACCESS_DELETE), "delete");
	cr_expect_str_eq(access_name(ACCESS_EXEC), "exec");
	cr_expect_str_eq(access_name(ACCESS_STAT), "stat");
	cr_expect_str_eq(access_name(ACCESS_LIST), "list");
	cr_expect_str_eq(access_name(ACCESS_PROBE), "probe");
	cr_expect_null(access_name(0));
	cr_expect_null(access_name(ACCESS_READ | ACCESS_WRITE));
	cr_expect_null(access_name(1u << ACCESS_KINDS));
}

Test(report, add_merges_access_kinds_of_one_path)
{
	struct report *r = report_new();
	const struct report_file *f;

	report_add(r, "/src/a.c", NULL, ACCESS_STAT);
	report_add(r, "/src/a.c", "/host/src/a.c", ACCESS_READ);
	report_add(r, "/src/a.c", "/elsewhere/a.c", ACCESS_READ | ACCESS_WRITE);
	report_add(r, "/src/b.c", NULL, ACCESS_PROBE);
	/* Another path, though it names the same directory entry lexically. */
	report_add(r, "/src/a.c/", NULL, ACCESS_PROBE);

	cr_expect_eq(report_file_count(r), 3);
	f = report_find(r, "/src/a.c");
	cr_assert_not_null(f);
	cr_expect_str_eq(f->path, "/src/a.c");
	cr_expect_eq(f->access, ACCESS_STAT | ACCESS_READ | ACCESS_WRITE);
	/* The first host given stays. */
	cr_assert_not_null(f->host);
	cr_expect_str_eq(f->host, "/host/src/a.c");
	f = report_find(r, "/src/b.c");
	cr_assert_not_null(f);
	cr_expect_eq(f->access, ACCESS_PROBE);
	cr_expect_null(f->host);
	cr_expect_null(report_find(r, "/src"));
	cr_expect_null(report_find(r, "/src/c.c"));
	report_free(r);
}

Test(report, add_copies_its_strings)
{
	struct report *r = report_new();
	char path[] = "/tmp/x", host[] = "/h/x";
	const struct report_file *f;

	report_add(r, path, host, ACCESS_READ);
	path[5] = 'y';
	host[3] = 'y';
	f = report_find(r, "/tmp/x");
	cr_assert_not_null(f);
	cr_expect_str_eq(f->host, "/h/x");
	cr_expect_null(report_find(r, "/tmp/y"));
	report_free(r);
}

Test(report, json_top_level)
{
	struct report *r = report_new();
	char *const argv[] = {"cc", "-c", "say \"hi\".c", "tab\there", NULL};
	json_t *root, *cmd;

	report_set_command(r, argv, "/home/user/work");
	report_set_exit(r, 0);
	root = parse_report(r);
	cr_expect_eq(json_integer_value(json_object_get(root, "report_format")), 1);
	cr_expect_str_eq(json_string_value(json_object_get(root, "ptvfs_version")), PTVFS_VERSION);
	cr_expect_str_eq(json_string_value(json_object_get(root, "cwd")), "/home/user/work");
	cmd = json_object_get(root, "command");
	cr_assert(json_is_array(cmd));
	cr_assert_eq(json_array_size(cmd), 4);
	for (size_t i = 0; i < 4; i++)
		cr_expect_str_eq(json_string_value(json_array_get(cmd, i)), argv[i]);
	cr_expect(json_is_array(json_object_get(root, "files")));
	cr_expect_eq(json_array_size(json_object_get(root, "files")), 0);
	cr_expect(json_is_array(json_object_get(root, "processes")));
	json_decref(root);
	report_free(r);
}

Test(report, files_sorted_by_bytes)
{
	/* Byte order: "-" < "/" < "A" < "a" < any byte of a multi-byte character. */
	static const char *const sorted[] = {
	    "/A", "/a", "/a-b", "/a/b", "/b", "/z", "/\xc3\xa9", "/\xe2\x82\xac",
	};
	static const int insert_order[] = {6, 3, 0, 7, 1, 5, 2, 4};
	struct report *r = report_new();
	json_t *root, *files;
	size_t n = sizeof(sorted) / sizeof(sorted[0]);

	for (size_t i = 0; i < n; i++)
		report_add(r, sorted[insert_order[i]], NULL, ACCESS_READ);
	report_set_exit(r, 0);
	root = parse_report(r);
	files = json_object_get(root, "files");
	cr_assert_eq(json_array_size(files), n);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(
		    json_string_value(json_object_get(json_array_get(files, i), "path")), sorted[i],
		    "files[%zu]", i);
	json_decref(root);
	report_free(r);
}

Test(report, access_kinds_in_fixed_order)
{
	struct report *r = report_new();
	json_t *root, *files, *f;
	char list[256];

	/* Added in reverse order, one kind at a time. */
	for (int k = ACCESS_KINDS - 1; k >= 0; k--)
		report_add(r, "/all", "/host/all", 1u << k);
	report_add(r, "/some", NULL, ACCESS_PROBE);
	report_add(r, "/some", NULL, ACCESS_EXEC);
	report_add(r, "/some", NULL, ACCESS_READ);
	report_add(r, "/none", NULL, 0);
	root = parse_report(r);
	files = json_object_get(root, "files");
	cr_assert_eq(json_array_size(files), 3);

	f = json_array_get(files, 0);
	cr_expect_str_eq(json_string_value(json_object_get(f, "path")), "/all");
	cr_expect_str_eq(json_string_value(json_object_get(f, "host")), "/host/all");
	access_list(f, list, sizeof(list));
	cr_expect_str_eq(list, "read,write,delete,exec,stat,list,probe");

	f = json_array_get(files, 1);
	cr_expect_str_eq(json_string_value(json_object_get(f, "path")), "/none");
	access_list(f, list, sizeof(list));
	cr_expect_str_eq(list, "");

	f = json_array_get(files, 2);
	cr_expect_str_eq(json_string_value(json_object_get(f, "path")), "/some");
	/* No host: no "host" key. */
	cr_expect_null(json_object_get(f, "host"));
	access_list(f, list, sizeof(list));
	cr_expect_str_eq(list, "read,exec,probe");
	json_decref(root);
	report_free(r);
}

Test(report, undecodable_path_is_escaped_not_dropped)
{
	struct report *r = report_new();
	size_t len;
	autofree char *text = NULL;

	report_add(r, "/src/caf\xe9.c", NULL, ACCESS_READ);
	text = report_to_json(r, &len);
	cr_expect_not_null(strstr(text, "\"path\": \"/src/caf\\udce9.c\""), "%s", text);
	report_free(r);
}

struct exit_case {
	int status;
	int code;
	int signal; /* 0: none */
};

static void expect_exit(json_t *exit, const struct exit_case *c)
{
	cr_assert(json_is_object(exit), "exit of status %#x is not an object", c->status);
	cr_expect_eq(json_integer_value(json_object_get(exit, "code")), c->code, "status %#x: code",
		     c->status);
	if (c->signal) {
		cr_expect_eq(json_object_size(exit), 2);
		cr_expect_eq(json_integer_value(json_object_get(exit, "signal")), c->signal,
			     "status %#x: signal", c->status);
	} else {
		cr_expect_eq(json_object_size(exit), 1, "status %#x has a signal", c->status);
	}
}

static const struct exit_case exit_cases[] = {
    {0, 0, 0},
    {1 << 8, 1, 0},
    {42 << 8, 42, 0},
    {255 << 8, 255, 0},
    {SIGKILL, 128 + SIGKILL, SIGKILL},
    {SIGTERM, 128 + SIGTERM, SIGTERM},
    /* Killed with a core dump (WCOREFLAG). */
    {SIGSEGV | 0x80, 128 + SIGSEGV, SIGSEGV},
    {SIGABRT | 0x80, 128 + SIGABRT, SIGABRT},
};

Test(report, exit_of_the_command)
{
	for (size_t i = 0; i < sizeof(exit_cases) / sizeof(exit_cases[0]); i++) {
		struct report *r = report_new();
		json_t *root;

		report_set_exit(r, exit_cases[i].status);
		root = parse_report(r);
		expect_exit(json_object_get(root, "exit"), &exit_cases[i]);
		json_decref(root);
		report_free(r);
	}
}

Test(report, processes)
{
	struct report *r = report_new();
	char *const argv1[] = {"sh", "-c", "cc -c foo.c", NULL};
	char *const argv2[] = {"cc", "-c", "foo.c", NULL};
	struct report_process *p1, *p2, *p3;
	json_t *root, *procs, *p;

	p1 = report_add_process(r, 100, 99, "/bin/sh", argv1, "/work");
	p2 = report_add_process(r, 101, 100, "/usr/bin/cc", argv2, "/work/sub");
	p3 = report_add_process(r, 102, 101, NULL, NULL, NULL);
	cr_assert_neq(p1->argv, (char **)argv1, "argv not copied");
	p1->exited = true;
	p1->wait_status = 2 << 8;
	p2->exited = true;
	p2->wait_status = SIGKILL;
	(void)p3;
	report_set_exit(r, 2 << 8);
	root = parse_report(r);
	procs = json_object_get(root, "processes");
	cr_assert_eq(json_array_size(procs), 3);

	p = json_array_get(procs, 0);
	cr_expect_eq(json_integer_value(json_object_get(p, "pid")), 100);
	cr_expect_eq(json_integer_value(json_object_get(p, "ppid")), 99);
	cr_expect_str_eq(json_string_value(json_object_get(p, "exe")), "/bin/sh");
	cr_expect_str_eq(json_string_value(json_object_get(p, "cwd")), "/work");
	cr_assert_eq(json_array_size(json_object_get(p, "argv")), 3);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(p, "argv"), 2)),
			 "cc -c foo.c");
	expect_exit(json_object_get(p, "exit"), &(struct exit_case){2 << 8, 2, 0});

	p = json_array_get(procs, 1);
	cr_expect_eq(json_integer_value(json_object_get(p, "pid")), 101);
	cr_expect_str_eq(json_string_value(json_object_get(p, "cwd")), "/work/sub");
	expect_exit(json_object_get(p, "exit"), &(struct exit_case){SIGKILL, 137, SIGKILL});

	p = json_array_get(procs, 2);
	cr_expect_eq(json_integer_value(json_object_get(p, "pid")), 102);
	cr_expect_eq(json_array_size(json_object_get(p, "argv")), 0);
	json_decref(root);
	report_free(r);
}

Test(report, refusals)
{
	struct report *r = report_new();
	json_t *root, *refused;

	cr_expect_eq(report_refusal_count(r), 0);
	report_add_refusal(r, 7, "mount", "/mnt");
	report_add_refusal(r, 8, "io_uring_setup", NULL);
	cr_expect_eq(report_refusal_count(r), 2);
	root = parse_report(r);
	refused = json_object_get(root, "refused");
	cr_assert_eq(json_array_size(refused), 2);
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(refused, 0), "pid")), 7);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(refused, 0), "what")),
			 "mount");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(refused, 0), "detail")),
			 "/mnt");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(refused, 1), "what")),
			 "io_uring_setup");
	json_decref(root);
	report_free(r);
}

static void expect_argv(char **argv, const char *const *want, size_t n)
{
	cr_assert_not_null(argv);
	for (size_t i = 0; i < n; i++) {
		cr_assert_not_null(argv[i], "argv[%zu] missing", i);
		cr_expect_str_eq(argv[i], want[i], "argv[%zu]", i);
	}
	cr_expect_null(argv[n], "argv has more than %zu entries", n);
	argv_free(argv);
}

Test(report, argv_from_cmdline)
{
	static const char *const three[] = {"cc", "-c", "foo.c"};
	static const char *const with_empty[] = {"a", "", "b"};
	static const char *const one_empty[] = {""};
	static const char *const unterminated[] = {"a", "bc"};

	expect_argv(argv_from_cmdline("cc\0-c\0foo.c\0", 12), three, 3);
	expect_argv(argv_from_cmdline("a\0\0b\0", 5), with_empty, 3);
	expect_argv(argv_from_cmdline("\0", 1), one_empty, 1);
	/* A process that rewrote its cmdline may leave no final NUL. */
	expect_argv(argv_from_cmdline("a\0bc", 4), unterminated, 2);
	expect_argv(argv_from_cmdline("", 0), NULL, 0);
}

Test(report, argv_dup)
{
	char *const argv[] = {"x", "y z", NULL};
	char **dup = argv_dup(argv);

	cr_assert_not_null(dup);
	cr_expect_neq(dup[0], argv[0]);
	expect_argv(dup, (const char *const[]){"x", "y z"}, 2);
	cr_expect_null(argv_dup(NULL));
	argv_free(NULL);
}

Test(report, set_command_replaces)
{
	struct report *r = report_new();
	char *const first[] = {"a", NULL};
	char *const second[] = {"b", "c", NULL};
	json_t *root, *cmd;

	report_set_command(r, first, "/one");
	report_set_command(r, second, "/two");
	root = parse_report(r);
	cmd = json_object_get(root, "command");
	cr_assert_eq(json_array_size(cmd), 2);
	cr_expect_str_eq(json_string_value(json_array_get(cmd, 0)), "b");
	cr_expect_str_eq(json_string_value(json_object_get(root, "cwd")), "/two");
	json_decref(root);
	report_free(r);
}

/* The names in DIR, comma-separated, sorted. */
static void dir_names(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	cr_assert_geq(n, 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			if (out[0])
				strncat(out, ",", size - strlen(out) - 1);
			strncat(out, names[i]->d_name, size - strlen(out) - 1);
		}
		free(names[i]);
	}
	free(names);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = {0};
	char buf[4096];
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	*len = sb.len;
	return sb.buf ? sb.buf : xstrdup("");
}

Test(report, write_is_atomic)
{
	char dir[] = "/tmp/ptvfs-report-XXXXXX";
	struct report *r = report_new();
	char *const argv[] = {"true", NULL};
	autofree char *file = NULL;
	autofree char *want = NULL;
	autofree char *got = NULL;
	size_t want_len, got_len;
	struct stat before, after;
	char names[256];
	json_error_t error;
	json_t *root;
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	file = xasprintf("%s/report.json", dir);
	/* An old report, replaced as a whole: a new inode, never a half-written file. */
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "old", 3), 3);
	close(fd);
	cr_assert_eq(stat(file, &before), 0);

	report_set_command(r, argv, "/");
	report_add(r, "/bin/true", "/bin/true", ACCESS_EXEC | ACCESS_READ);
	report_set_exit(r, 0);
	cr_assert_eq(report_write(r, file), 0);

	want = report_to_json(r, &want_len);
	got = read_all(file, &got_len);
	cr_expect_eq(got_len, want_len);
	cr_expect(got_len == want_len && memcmp(got, want, got_len) == 0);
	root = json_loadb(got, got_len, 0, &error);
	cr_expect_not_null(root, "%s", error.text);
	json_decref(root);
	cr_assert_eq(stat(file, &after), 0);
	cr_expect_neq(after.st_ino, before.st_ino, "report rewritten in place");
	dir_names(dir, names, sizeof(names));
	cr_expect_str_eq(names, "report.json", "left behind in %s: %s", dir, names);

	/* Into a missing directory: an error, and nothing written. */
	autofree char *missing = xasprintf("%s/no/report.json", dir);
	cr_expect_eq(report_write(r, missing), -ENOENT);
	dir_names(dir, names, sizeof(names));
	cr_expect_str_eq(names, "report.json");

	/* Over a directory: an error, the temporary file removed. */
	autofree char *sub = xasprintf("%s/sub", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	cr_expect_lt(report_write(r, sub), 0);
	dir_names(dir, names, sizeof(names));
	cr_expect_str_eq(names, "report.json,sub");

	unlink(file);
	rmdir(sub);
	rmdir(dir);
	report_free(r);
}

/* The "inputs" object of R's report, parsed; ROOT to json_decref() after. */
static json_t *parse_inputs(const struct report *r, json_t **root)
{
	json_t *inputs;

	*root = parse_report(r);
	inputs = json_object_get(*root, "inputs");
	cr_assert(json_is_object(inputs), "no \"inputs\" object");
	cr_expect_eq(json_object_size(inputs), 4);
	cr_assert(json_is_integer(json_object_get(inputs, "declared")));
	return inputs;
}

/* INPUTS[KEY] is exactly the N strings of WANT, in order. */
static void expect_list(json_t *inputs, const char *key, const char *const *want, size_t n)
{
	json_t *list = json_object_get(inputs, key);

	cr_assert(json_is_array(list), "\"%s\" is not an array", key);
	cr_expect_eq(json_array_size(list), n, "\"%s\" has %zu entries, not %zu", key,
		     json_array_size(list), n);
	for (size_t i = 0; i < n && i < json_array_size(list); i++)
		cr_expect_str_eq(json_string_value(json_array_get(list, i)), want[i], "%s[%zu]",
				 key, i);
}

#define EXPECT_LIST(inputs, key, ...)                                                              \
	expect_list(inputs, key, (const char *const[]){__VA_ARGS__},                               \
		    sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void expect_empty(json_t *inputs, const char *key)
{
	expect_list(inputs, key, NULL, 0);
}

Test(report, no_inputs_without_a_manifest)
{
	struct report *r = report_new();
	json_t *root;

	report_add(r, "/usr/include/stdio.h", NULL, ACCESS_READ);
	root = parse_report(r);
	cr_expect_null(json_object_get(root, "inputs"));
	json_decref(root);
	report_free(r);
}

Test(report, inputs_of_an_empty_manifest)
{
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 0, NULL);
	report_add(r, "/src/a.c", NULL, ACCESS_READ);
	inputs = parse_inputs(r, &root);
	cr_expect_eq(json_integer_value(json_object_get(inputs, "declared")), 0);
	expect_empty(inputs, "used");
	expect_empty(inputs, "unused");
	EXPECT_LIST(inputs, "undeclared", "/src/a.c");
	json_decref(root);
	report_free(r);
}

Test(report, inputs_used_unused_undeclared)
{
	static const char *const declared[] = {"/src/a.c", "/src/b.h", "/src/c.h", "/src/d.c"};
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 4, declared);
	report_add(r, "/src/a.c", "/host/src/a.c", ACCESS_READ);
	report_add(r, "/src/c.h", NULL, ACCESS_STAT); /* any access uses it */
	report_add(r, "/src/x.h", NULL, ACCESS_READ);
	report_add(r, "/usr/bin/cc", NULL, ACCESS_EXEC | ACCESS_READ);
	report_add(r, "/usr/lib/libc.so.6", NULL, ACCESS_READ);
	report_add(r, "/usr/include/y.h", NULL, ACCESS_PROBE);
	report_add(r, "/usr/include/z.h", NULL, ACCESS_STAT);
	report_add(r, "/out/a.o", NULL, ACCESS_WRITE);
	inputs = parse_inputs(r, &root);
	cr_expect_eq(json_integer_value(json_object_get(inputs, "declared")), 4);
	EXPECT_LIST(inputs, "used", "/src/a.c", "/src/c.h");
	EXPECT_LIST(inputs, "unused", "/src/b.h", "/src/d.c");
	EXPECT_LIST(inputs, "undeclared", "/src/x.h", "/usr/bin/cc", "/usr/lib/libc.so.6");
	json_decref(root);
	report_free(r);
}

Test(report, declared_directory_used_through_a_file_below)
{
	static const char *const declared[] = {"/a/b", "/a/c", "/d/e", "/f"};
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 4, declared);
	report_add(r, "/a/b/x/y.h", NULL, ACCESS_READ);
	report_add(r, "/d/e/missing.h", NULL, ACCESS_PROBE); /* a header search in it */
	/* Only sharing a leading part of the name: not below. */
	report_add(r, "/a/cd", NULL, ACCESS_READ);
	report_add(r, "/a/c-d", NULL, ACCESS_READ);
	report_add(r, "/a/c.d/e", NULL, ACCESS_READ);
	report_add(r, "/ff", NULL, ACCESS_READ);
	/* Above a declared directory: not a use of it. */
	report_add(r, "/a", NULL, ACCESS_LIST);
	inputs = parse_inputs(r, &root);
	EXPECT_LIST(inputs, "used", "/a/b", "/d/e");
	EXPECT_LIST(inputs, "unused", "/a/c", "/f");
	EXPECT_LIST(inputs, "undeclared", "/a/c-d", "/a/c.d/e", "/a/cd", "/ff");
	json_decref(root);
	report_free(r);
}

Test(report, declared_root_covers_everything)
{
	static const char *const declared[] = {"/"};
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 1, declared);
	report_add(r, "/usr/bin/cc", NULL, ACCESS_EXEC);
	inputs = parse_inputs(r, &root);
	EXPECT_LIST(inputs, "used", "/");
	expect_empty(inputs, "unused");
	expect_empty(inputs, "undeclared");
	json_decref(root);
	report_free(r);
}

Test(report, declared_directory_with_a_trailing_slash)
{
	static const char *const declared[] = {"/inc/", "/lib"};
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 2, declared);
	report_add(r, "/inc/a.h", NULL, ACCESS_READ);
	report_add(r, "/incx/b.h", NULL, ACCESS_READ);
	inputs = parse_inputs(r, &root);
	EXPECT_LIST(inputs, "used", "/inc/");
	EXPECT_LIST(inputs, "unused", "/lib");
	EXPECT_LIST(inputs, "undeclared", "/incx/b.h");
	json_decref(root);
	report_free(r);
}

Test(report, written_first)
{
	struct report *r = report_new();
	json_t *root, *inputs;

	/* Created, then read back: the command's own. */
	report_add(r, "/out/a.o", NULL, ACCESS_WRITE);
	report_add(r, "/out/a.o", NULL, ACCESS_READ);
	/* Looked for, made, then run: lookups do not decide. */
	report_add(r, "/out/prog", NULL, ACCESS_PROBE);
	report_add(r, "/out/prog", NULL, ACCESS_WRITE);
	report_add(r, "/out/prog", NULL, ACCESS_EXEC);
	/* An old output looked at, removed, written again, read. */
	report_add(r, "/out/lib.a", NULL, ACCESS_STAT);
	report_add(r, "/out/lib.a", NULL, ACCESS_DELETE);
	report_add(r, "/out/lib.a", NULL, ACCESS_WRITE);
	report_add(r, "/out/lib.a", NULL, ACCESS_READ);
	/* Opened for reading and writing at once (O_RDWR|O_TRUNC). */
	report_add(r, "/out/log", NULL, ACCESS_READ | ACCESS_WRITE);
	/* Read, then written: what was there was used. */
	report_add(r, "/src/config.h", NULL, ACCESS_READ);
	report_add(r, "/src/config.h", NULL, ACCESS_WRITE);
	/* Linked with a symlink() the command made, then followed. */
	report_add(r, "/tmp/link", NULL, ACCESS_WRITE);
	report_add(r, "/tmp/link", NULL, ACCESS_READ);

	cr_expect(report_find(r, "/out/a.o")->written_first);
	cr_expect(report_find(r, "/out/prog")->written_first);
	cr_expect(report_find(r, "/out/lib.a")->written_first);
	cr_expect(report_find(r, "/out/log")->written_first);
	cr_expect_not(report_find(r, "/src/config.h")->written_first);

	report_set_inputs(r, 0, NULL);
	inputs = parse_inputs(r, &root);
	EXPECT_LIST(inputs, "undeclared", "/src/config.h");
	json_decref(root);
	report_free(r);
}

Test(report, origins)
{
	static const char *const declared[] = {"/src/a.c"};
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 1, declared);
	report_add_from(r, "/usr/lib/libc.so.6", NULL, ACCESS_READ, ORIGIN_READ_ONLY);
	report_add_from(r, "/opt/tool", NULL, ACCESS_EXEC, ORIGIN_READ_ONLY);
	report_add_from(r, "/in/dir/f.h", NULL, ACCESS_READ, ORIGIN_INPUT);
	report_add_from(r, "/dev/urandom", NULL, ACCESS_READ, ORIGIN_SYSTEM);
	/* /dev, /proc, /sys by path, also when the origin was not given. */
	report_add(r, "/proc/self/maps", NULL, ACCESS_READ);
	report_add(r, "/proc", NULL, ACCESS_READ);
	report_add(r, "/sys/devices/system/cpu/online", NULL, ACCESS_READ);
	report_add(r, "/dev/null", NULL, ACCESS_READ | ACCESS_WRITE);
	/* Only named like them. */
	report_add(r, "/devices/x", NULL, ACCESS_READ);
	report_add(r, "/sysroot/usr/include/a.h", NULL, ACCESS_READ);
	report_add(r, "/home/proc", NULL, ACCESS_READ);
	/* The first origin given stays; a record without one changes nothing. */
	report_add(r, "/lib/ld.so", NULL, ACCESS_STAT);
	report_add_from(r, "/lib/ld.so", NULL, ACCESS_READ, ORIGIN_READ_ONLY);
	report_add_from(r, "/lib/ld.so", NULL, ACCESS_EXEC, ORIGIN_INPUT);
	report_add(r, "/lib/ld.so", NULL, ACCESS_READ);
	/* A declared file that was recorded without its origin. */
	report_add(r, "/src/a.c", NULL, ACCESS_READ);

	cr_expect_eq(report_find(r, "/lib/ld.so")->origin, ORIGIN_READ_ONLY);
	cr_expect_eq(report_find(r, "/proc/self/maps")->origin, ORIGIN_OTHER);
	cr_expect_eq(report_find(r, "/in/dir/f.h")->origin, ORIGIN_INPUT);
	inputs = parse_inputs(r, &root);
	EXPECT_LIST(inputs, "used", "/src/a.c");
	EXPECT_LIST(inputs, "undeclared", "/devices/x", "/home/proc", "/sysroot/usr/include/a.h");
	json_decref(root);
	report_free(r);
}

Test(report, directories_listed_or_statted_are_not_read)
{
	struct report *r = report_new();
	json_t *root, *inputs;

	report_add(r, "/usr/include", NULL, ACCESS_LIST | ACCESS_STAT);
	report_add(r, "/usr/local/include", NULL, ACCESS_PROBE);
	report_add(r, "/etc/ld.so.cache", NULL, ACCESS_READ);
	report_set_inputs(r, 0, NULL);
	inputs = parse_inputs(r, &root);
	EXPECT_LIST(inputs, "undeclared", "/etc/ld.so.cache");
	json_decref(root);
	report_free(r);
}

Test(report, inputs_keep_manifest_order)
{
	/* Neither sorted nor reversed. */
	static const char *const declared[] = {"/z", "/b", "/y/1", "/a", "/y", "/c", "/x"};
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 7, declared);
	report_add(r, "/x", NULL, ACCESS_READ);
	report_add(r, "/a", NULL, ACCESS_READ);
	report_add(r, "/y/2", NULL, ACCESS_READ);
	report_add(r, "/z", NULL, ACCESS_STAT);
	inputs = parse_inputs(r, &root);
	cr_expect_eq(json_integer_value(json_object_get(inputs, "declared")), 7);
	EXPECT_LIST(inputs, "used", "/z", "/a", "/y", "/x");
	EXPECT_LIST(inputs, "unused", "/b", "/y/1", "/c");
	expect_empty(inputs, "undeclared");
	json_decref(root);
	report_free(r);
}

Test(report, inputs_listed_twice_count_once)
{
	static const char *const declared[] = {"/b", "/a", "/b", "/c", "/a", "/b"};
	struct report *r = report_new();
	bool used[6];
	json_t *root, *inputs;

	report_set_inputs(r, 6, declared);
	report_add(r, "/b", NULL, ACCESS_READ);
	inputs = parse_inputs(r, &root);
	cr_expect_eq(json_integer_value(json_object_get(inputs, "declared")), 3);
	EXPECT_LIST(inputs, "used", "/b");
	EXPECT_LIST(inputs, "unused", "/a", "/c");
	json_decref(root);

	/* Per manifest line, for --unused-inputs. */
	memset(used, 0, sizeof(used));
	report_inputs_used(r, used);
	cr_expect(used[0] && !used[1] && used[2] && !used[3] && !used[4] && used[5]);
	report_free(r);
}

Test(report, set_inputs_copies_and_replaces)
{
	char first[] = "/old";
	const char *declared[] = {first};
	static const char *const second[] = {"/new"};
	struct report *r = report_new();
	json_t *root, *inputs;

	report_set_inputs(r, 1, declared);
	first[1] = 'x';
	report_add(r, "/old", NULL, ACCESS_READ);
	inputs = parse_inputs(r, &root);
	EXPECT_LIST(inputs, "used", "/old");
	json_decref(root);

	report_set_inputs(r, 1, second);
	inputs = parse_inputs(r, &root);
	cr_expect_eq(json_integer_value(json_object_get(inputs, "declared")), 1);
	expect_empty(inputs, "used");
	EXPECT_LIST(inputs, "unused", "/new");
	EXPECT_LIST(inputs, "undeclared", "/old");
	json_decref(root);
	report_free(r);
}

/* The decoded bytes of the JSON string that follows KEY in TEXT ("key": "..."). */
static char *string_after(const char *text, const char *key, size_t *len)
{
	const char *at = strstr(text, key), *end;

	cr_assert_not_null(at, "%s not in %s", key, text);
	at = strchr(at + strlen(key), '"');
	cr_assert_not_null(at);
	for (end = at + 1; *end != '"'; end++)
		if (*end == '\\')
			end++;
	return json_decode_string(at + 1, end - at - 1, len);
}

Test(report, undecodable_inputs_are_escaped)
{
	static const char *const declared[] = {"/src/caf\xe9.c", "/src/\xff"};
	struct report *r = report_new();
	autofree char *text = NULL;
	autofree char *used = NULL;
	autofree char *unused = NULL;
	autofree char *undeclared = NULL;
	size_t len, n;

	report_set_inputs(r, 2, declared);
	report_add(r, "/src/caf\xe9.c", NULL, ACCESS_READ);
	report_add(r, "/usr/include/\xfe.h", NULL, ACCESS_READ);
	text = report_to_json(r, &len);
	cr_expect_not_null(strstr(text, "\"/src/caf\\udce9.c\""), "%s", text);
	used = string_after(text, "\"used\":", &n);
	cr_assert_not_null(used);
	cr_expect(n == strlen(declared[0]) && !memcmp(used, declared[0], n));
	unused = string_after(text, "\"unused\":", &n);
	cr_assert_not_null(unused);
	cr_expect(n == strlen(declared[1]) && !memcmp(unused, declared[1], n));
	undeclared = string_after(text, "\"undeclared\":", &n);
	cr_assert_not_null(undeclared);
	cr_expect_str_eq(undeclared, "/usr/include/\xfe.h");
	report_free(r);
}

Test(report, inputs_key_order_and_same_text)
{
	static const char *const declared[] = {"/s/b.c", "/s/a.c", "/s/d"};
	struct report *one = report_new(), *two = report_new();
	autofree char *a = NULL;
	autofree char *b = NULL;
	size_t alen, blen;
	const char *files, *inputs, *refused, *unrecorded;

	/* The same record, made in another order. */
	report_set_inputs(one, 3, declared);
	report_add(one, "/s/a.c", NULL, ACCESS_READ);
	report_add(one, "/s/d/e.h", NULL, ACCESS_READ);
	report_add(one, "/u/x.h", NULL, ACCESS_READ);
	report_add(one, "/u/w.h", NULL, ACCESS_READ);
	report_add(two, "/u/w.h", NULL, ACCESS_READ);
	report_add(two, "/u/x.h", NULL, ACCESS_READ);
	report_add(two, "/s/d/e.h", NULL, ACCESS_READ);
	report_add(two, "/s/a.c", NULL, ACCESS_READ);
	report_set_inputs(two, 3, declared);
	a = report_to_json(one, &alen);
	b = report_to_json(two, &blen);
	cr_expect_str_eq(a, b);

	files = strstr(a, "\"files\":");
	inputs = strstr(a, "\"inputs\":");
	refused = strstr(a, "\"refused\":");
	unrecorded = strstr(a, "\"unrecorded\":");
	cr_assert(files && inputs && refused && unrecorded, "%s", a);
	cr_expect(files < inputs && inputs < refused && refused < unrecorded, "%s", a);
	cr_expect(strstr(a, "\"declared\": 3") < strstr(a, "\"used\":"));
	cr_expect(strstr(a, "\"used\":") < strstr(a, "\"unused\":"));
	cr_expect(strstr(a, "\"unused\":") < strstr(a, "\"undeclared\":"));
	report_free(one);
	report_free(two);
}

Test(report, many_inputs)
{
	/* 100,000 declared inputs in 1,000 directories, 10,000 files recorded. */
	enum { DIRS = 1000, PER_DIR = 100, FILES = 10000 };
	size_t n = DIRS * PER_DIR;
	char **declared = xcalloc(n, sizeof(*declared));
	struct report *r = report_new();
	json_t *root, *inputs, *used, *unused, *undeclared;
	bool *by_line = xcalloc(n, sizeof(*by_line));
	size_t nused = 0;

	for (size_t i = 0; i < n; i++)
		declared[i] = xasprintf("/ws/d%zu/f%zu.h", i % DIRS, i / DIRS);
	report_set_inputs(r, n, (const char *const *)declared);
	/* Every tenth declared input read; as many undeclared files beside them. */
	for (size_t i = 0; i < FILES; i++) {
		autofree char *path = xasprintf("/ws/d%zu/%s%zu.h", (i * 10) % DIRS,
						i % 2 ? "f" : "g", (i * 10) / DIRS);
		report_add(r, path, NULL, ACCESS_READ);
	}
	inputs = parse_inputs(r, &root);
	used = json_object_get(inputs, "used");
	unused = json_object_get(inputs, "unused");
	undeclared = json_object_get(inputs, "undeclared");
	cr_expect_eq(json_integer_value(json_object_get(inputs, "declared")), n);
	cr_expect_eq(json_array_size(used), FILES / 2);
	cr_expect_eq(json_array_size(unused), n - FILES / 2);
	cr_expect_eq(json_array_size(undeclared), FILES / 2);
	/* Manifest order: the first used is the first odd i's file. */
	cr_expect_str_eq(json_string_value(json_array_get(used, 0)), "/ws/d10/f0.h");
	cr_expect_str_eq(json_string_value(json_array_get(unused, 0)), "/ws/d0/f0.h");
	report_inputs_used(r, by_line);
	for (size_t i = 0; i < n; i++)
		nused += by_line[i];
	cr_expect_eq(nused, FILES / 2);
	json_decref(root);
	for (size_t i = 0; i < n; i++)
		free(declared[i]);
	free(declared);
	free(by_line);
	report_free(r);
}
