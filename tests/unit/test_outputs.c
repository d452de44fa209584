// SPDX-License-Identifier: MIT
/*
 * Build-system outputs (DESIGN.md §3): the depfile's escaping, relative
 * names, targets and dependencies (checked on a real tree, and read back
 * with the rules Ninja's depfile reader follows), the unused-inputs list
 * as the manifest wrote it, and the compilation database: driver names,
 * many command-line shapes, wrappers, clang's own jobs.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rows.h"
#include "ptvfs/outputs.h"
#include "ptvfs/report.h"
#include "ptvfs/util.h"

/* Escaping */

struct escape_case {
	const char *name, *escaped;
};

static const struct escape_case escape_cases[] = {
    {"src/a.c", "src/a.c"},
    {"my file.h", "my\\ file.h"},
    {"two  spaces", "two\\ \\ spaces"},
    {"tab\there", "tab\\\there"},
    {"a#b", "a\\#b"},
    {"cost$1", "cost$$1"},
    {"$$", "$$$$"},
    /* The backslashes right before a blank are doubled, so that they read back as they were. */
    {"a\\ b", "a\\\\\\ b"},
    {"a\\\\ b", "a\\\\\\\\\\ b"},
    /* Before '#', one more backslash: Ninja and Make drop exactly one. */
    {"a\\#b", "a\\\\#b"},
    /* Elsewhere a backslash is itself; at the end it would escape what follows the name. */
    {"dir\\file", "dir\\file"},
    {"end\\", "end\\\\"},
    {"a:b", "a:b"},
    {"/usr/include/c++/12/vector", "/usr/include/c++/12/vector"},
    {"", ""},
};

ParameterizedTestParameters(depfile_escape, table)
{
	return ROWS(escape_cases);
}

ParameterizedTest(size_t *row, depfile_escape, table)
{
	const struct escape_case *c = &escape_cases[*row];
	struct strbuf sb = {0};

	strbuf_grow(&sb, 1);
	depfile_escape(&sb, c->name);
	cr_expect_str_eq(sb.buf, c->escaped, "escape of \"%s\"", c->name);
	strbuf_release(&sb);
}

struct name_case {
	const char *path, *cwd, *name;
};

static const struct name_case name_cases[] = {
    {"/w/src/a.c", "/w", "src/a.c"},
    {"/w/a.c", "/w", "a.c"},
    {"/w2/a.c", "/w", "/w2/a.c"},
    {"/wa.c", "/w", "/wa.c"},
    {"/w", "/w", "/w"},
    {"/usr/include/stdio.h", "/home/me/src", "/usr/include/stdio.h"},
    {"/home/me/src/sub/x.h", "/home/me/src", "sub/x.h"},
    {"/home/me/x.h", "/home/me/src", "/home/me/x.h"},
    {"/a/b", "/", "/a/b"},
    {"/a/b", NULL, "/a/b"},
};

ParameterizedTestParameters(depfile_name, table)
{
	return ROWS(name_cases);
}

ParameterizedTest(size_t *row, depfile_name, table)
{
	const struct name_case *c = &name_cases[*row];

	cr_expect_str_eq(depfile_name(c->path, c->cwd), c->name, "%s in %s", c->path,
			 c->cwd ? c->cwd : "(none)");
}

/*
 * A depfile read back as Ninja reads one: "\" and a line end continue the
 * line; 2N+1 backslashes and a blank are N backslashes and the blank, 2N
 * and a blank are 2N and the name's end; "\#" is '#', "$$" is '$'; the
 * targets end at a ':' followed by a blank or the end. Names go into
 * TARGETS and DEPS, NUL-separated, each ending with NUL.
 */
static void read_depfile(const char *text, struct strbuf *targets, struct strbuf *deps)
{
	struct strbuf *out = targets;
	const char *p = text;

	strbuf_grow(targets, 1);
	strbuf_grow(deps, 1);
	while (*p) {
		struct strbuf name = {0};

		while (*p == ' ' || *p == '\n' || (p[0] == '\\' && p[1] == '\n'))
			p += *p == '\\' ? 2 : 1;
		if (!*p)
			break;
		strbuf_grow(&name, 1);
		for (;;) {
			size_t bs = 0;

			while (p[bs] == '\\')
				bs++;
			if (bs && (p[bs] == ' ' || p[bs] == '\t')) {
				for (size_t i = 0; i < bs / 2; i++)
					strbuf_addch(&name, '\\');
				if (bs % 2 == 0) {
					p += bs;
					break;
				}
				strbuf_addch(&name, p[bs]);
				p += bs + 1;
			} else if (bs && p[bs] == '#') {
				for (size_t i = 0; i < bs - 1; i++)
					strbuf_addch(&name, '\\');
				strbuf_addch(&name, '#');
				p += bs + 1;
			} else if (bs == 1 && p[1] == '\n') {
				break;
			} else if (bs) {
				for (size_t i = 0; i < bs; i++)
					strbuf_addch(&name, '\\');
				p += bs;
			} else if (p[0] == '$' && p[1] == '$') {
				strbuf_addch(&name, '$');
				p += 2;
			} else if (!*p || *p == ' ' || *p == '\n' || *p == '\t') {
				break;
			} else if (*p == ':' && out == targets &&
				   (!p[1] || p[1] == ' ' || p[1] == '\n')) {
				break;
			} else {
				strbuf_addch(&name, *p++);
			}
		}
		if (name.len) {
			strbuf_add(out, name.buf, name.len);
			strbuf_addch(out, '\0');
		}
		strbuf_release(&name);
		if (*p == ':' && out == targets) {
			out = deps;
			p++;
		}
	}
}

/* The NUL-separated names of SB joined with '|' (a static buffer). */
static const char *joined(const struct strbuf *sb)
{
	static char buf[8192];
	size_t n = 0;

	for (size_t i = 0; i < sb->len && n + 1 < sizeof(buf); i++)
		buf[n++] = sb->buf[i] ? sb->buf[i] : '|';
	if (n && buf[n - 1] == '|')
		n--;
	buf[n] = '\0';
	return buf;
}

/* The tree of the depfile tests: T (its realpath), the command started in T/w. */
static char T[PATH_MAX];

static const char *tp(const char *rel)
{
	static char bufs[16][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 16];
	size_t n = strlen(T), len = strlen(rel);

	cr_assert_lt(n + 1 + len, PATH_MAX);
	memcpy(b, T, n);
	b[n] = '/';
	memcpy(b + n + 1, rel, len + 1);
	return b;
}

static void make_file(const char *rel)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s", tp(rel));
	for (char *s = path + strlen(T) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0, "create %s", path);
	close(fd);
}

static void make_tree(void)
{
	char tmpl[] = "/tmp/ptvfs-outputs-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, T));
}

static void remove_tree(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	cr_expect_eq(system(cmd), 0);
}

/* Record ACCESS at T/REL, its host path the same. */
static void add(struct report *r, const char *rel, unsigned access)
{
	report_add(r, tp(rel), tp(rel), access);
}

Test(depfile, one_rule_exactly_as_gcc_writes_it, .init = make_tree, .fini = remove_tree)
{
	struct report *r = report_new();
	char *argv[] = {"gcc", "-c", "a.c", NULL};
	autofree char *text = NULL;
	size_t len;

	mkdir(tp("w"), 0755);
	make_file("w/a.c");
	make_file("w/a.o");
	report_set_command(r, argv, tp("w"));
	add(r, "w/a.c", ACCESS_READ);
	add(r, "w/a.o", ACCESS_WRITE);
	text = depfile_text(r, NULL, &len, NULL);
	cr_expect_str_eq(text, "a.o: a.c\n");
	cr_expect_eq(len, strlen(text));
	report_free(r);
}

Test(depfile, targets_and_deps_of_a_run, .init = make_tree, .fini = remove_tree)
{
	struct report *r = report_new();
	char *argv[] = {"tool", NULL};
	autofree char *text = NULL;
	struct strbuf targets = {0}, deps = {0};
	autofree char *want_deps = NULL;
	size_t len, skipped = 99;

	mkdir(tp("w"), 0755);
	report_set_command(r, argv, tp("w"));
	/* Dependencies: regular files read or executed, below w relative, others absolute. */
	make_file("w/src/a.c");
	add(r, "w/src/a.c", ACCESS_READ | ACCESS_STAT);
	make_file("w/inc/x.h");
	add(r, "w/inc/x.h", ACCESS_READ);
	make_file("w/my file.h");
	add(r, "w/my file.h", ACCESS_READ);
	make_file("w/odd#1$.h");
	add(r, "w/odd#1$.h", ACCESS_READ);
	make_file("other/lib.h");
	add(r, "other/lib.h", ACCESS_READ);
	make_file("bin/tool");
	add(r, "bin/tool", ACCESS_EXEC);
	/* A view path served from elsewhere on the host: named by its view path. */
	make_file("bin/tool2");
	report_add(r, "/opt/tool/bin/cc", tp("bin/tool2"), ACCESS_EXEC | ACCESS_READ);
	/* Not dependencies: a link (its target is), a directory, metadata only, missing. */
	cr_assert_eq(symlink("inc/x.h", tp("w/link.h")), 0);
	add(r, "w/link.h", ACCESS_READ);
	add(r, "w/inc", ACCESS_READ | ACCESS_LIST);
	make_file("w/stat-only.h");
	add(r, "w/stat-only.h", ACCESS_STAT);
	add(r, "w/missing.h", ACCESS_PROBE);
	add(r, "w/read-then-deleted", ACCESS_READ | ACCESS_DELETE);
	report_add(r, "/virtual/file", NULL, ACCESS_READ);
	/* System paths, whatever their access. */
	report_add(r, "/dev/null", "/dev/null", ACCESS_READ | ACCESS_WRITE);
	report_add(r, "/proc/self/status", "/proc/self/status", ACCESS_READ);
	report_add(r, "/sys/devices/system/cpu/online", "/sys/devices/system/cpu/online",
		   ACCESS_READ);
	/* Targets: written and still there, not directories. */
	make_file("w/out/a.o");
	add(r, "w/out/a.o", ACCESS_WRITE);
	/* Written first and read back: a target, never a dependency. */
	make_file("w/gen.h");
	add(r, "w/gen.h", ACCESS_WRITE);
	add(r, "w/gen.h", ACCESS_READ);
	/* Written and gone (a temporary file), a directory made: neither. */
	add(r, "w/tmp.s", ACCESS_WRITE | ACCESS_READ | ACCESS_DELETE);
	add(r, "w/out", ACCESS_WRITE);

	text = depfile_text(r, NULL, &len, &skipped);
	cr_expect_eq(len, strlen(text));
	cr_expect_eq(skipped, 0);
	read_depfile(text, &targets, &deps);
	cr_expect_str_eq(joined(&targets), "gen.h|out/a.o", "targets of:\n%s", text);
	want_deps = xasprintf("/opt/tool/bin/cc|%s|%s|inc/x.h|my file.h|odd#1$.h|src/a.c",
			      tp("bin/tool"), tp("other/lib.h"));
	cr_expect_str_eq(joined(&deps), want_deps, "deps of:\n%s", text);
	cr_expect_not_null(strstr(text, "my\\ file.h"), "%s", text);
	cr_expect_not_null(strstr(text, "odd\\#1$$.h"), "%s", text);

	/* --depfile-target NAME instead of the files written. */
	strbuf_release(&targets);
	strbuf_release(&deps);
	free(text);
	text = depfile_text(r, "obj dir/a.o", &len, NULL);
	read_depfile(text, &targets, &deps);
	cr_expect_str_eq(joined(&targets), "obj dir/a.o", "%s", text);
	cr_expect_str_eq(joined(&deps), want_deps, "%s", text);
	cr_expect(!strncmp(text, "obj\\ dir/a.o:", 13), "%s", text);
	strbuf_release(&targets);
	strbuf_release(&deps);

	/* The same record, the same text. */
	{
		autofree char *again = depfile_text(r, "obj dir/a.o", &len, NULL);

		cr_expect_str_eq(again, text);
	}
	report_free(r);
}

Test(depfile, no_target_no_rule, .init = make_tree, .fini = remove_tree)
{
	struct report *r = report_new();
	char *argv[] = {"cat", "a", NULL};
	autofree char *text = NULL;
	size_t len;

	make_file("a");
	report_set_command(r, argv, T);
	add(r, "a", ACCESS_READ);
	text = depfile_text(r, NULL, &len, NULL);
	cr_expect_str_eq(text, "");
	cr_expect_eq(len, 0);
	report_free(r);
}

Test(depfile, long_lines_are_continued, .init = make_tree, .fini = remove_tree)
{
	struct report *r = report_new();
	char *argv[] = {"cc", NULL};
	autofree char *text = NULL;
	struct strbuf targets = {0}, deps = {0}, want = {0};
	size_t len, lines = 0;

	report_set_command(r, argv, T);
	make_file("out.o");
	add(r, "out.o", ACCESS_WRITE);
	strbuf_grow(&want, 1);
	for (int i = 0; i < 40; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "include/header_number_%02d with space.h", i);
		make_file(rel);
		add(r, rel, ACCESS_READ);
		strbuf_addf(&want, "%s%s", i ? "|" : "", rel);
	}
	text = depfile_text(r, NULL, &len, NULL);
	read_depfile(text, &targets, &deps);
	cr_expect_str_eq(joined(&targets), "out.o");
	cr_expect_str_eq(joined(&deps), want.buf, "%s", text);
	for (const char *line = text; *line; lines++) {
		const char *end = strchr(line, '\n');

		cr_assert_not_null(end);
		cr_expect_leq(end - line, 80, "line too long: %.*s", (int)(end - line), line);
		cr_expect(end[1] == '\0' || end[-1] == '\\',
			  "a line not ended by \\ before the last");
		line = end + 1;
	}
	cr_expect_gt(lines, 10);
	strbuf_release(&targets);
	strbuf_release(&deps);
	strbuf_release(&want);
	report_free(r);
}

Test(depfile, a_name_with_a_newline_is_left_out_and_counted, .init = make_tree, .fini = remove_tree)
{
	struct report *r = report_new();
	char *argv[] = {"cc", NULL};
	autofree char *text = NULL;
	size_t len, skipped = 0;

	report_set_command(r, argv, T);
	make_file("out.o");
	add(r, "out.o", ACCESS_WRITE);
	make_file("a\nb.h");
	add(r, "a\nb.h", ACCESS_READ);
	make_file("c.h");
	add(r, "c.h", ACCESS_READ);
	text = depfile_text(r, NULL, &len, &skipped);
	cr_expect_str_eq(text, "out.o: c.h\n");
	cr_expect_eq(skipped, 1);
	report_free(r);
}

/* The unused-inputs list */

Test(unused_inputs, dests_as_the_manifest_wrote_them_in_its_order)
{
	struct report *r = report_new();
	/* The view paths report_set_inputs got, and the manifest lines they came from. */
	const char *const paths[] = {
	    "/w/inc/a.h", "/w/inc/b.h", "/usr/include/stdio.h",	 "/w/inc/c.h",
	    "/w/lib",	  "/w/inc/b.h", "/w/dir with space/d.h",
	};
	const char *const lines[] = {
	    "inc/a.h",	     "./inc/b.h", "/usr/include/stdio.h", "inc/c.h\t/src/inc/c.h",
	    "lib\t/src/lib", "inc/b.h",	  "dir with space/d.h",
	};
	autofree char *text = NULL;
	size_t len;

	report_set_inputs(r, 7, paths);
	report_add(r, "/w/inc/a.h", NULL, ACCESS_READ);
	/* Anything below a declared directory uses it; a stat counts too. */
	report_add(r, "/w/lib/x/y.so", NULL, ACCESS_STAT);
	text = unused_inputs_text(r, 7, lines, &len);
	cr_expect_str_eq(text, "./inc/b.h\n/usr/include/stdio.h\ninc/c.h\ninc/b.h\n"
			       "dir with space/d.h\n");
	cr_expect_eq(len, strlen(text));
	report_free(r);
}

Test(unused_inputs, all_used_gives_an_empty_list)
{
	struct report *r = report_new();
	const char *const paths[] = {"/a"};
	const char *const lines[] = {"/a"};
	autofree char *text = NULL;
	size_t len;

	report_set_inputs(r, 1, paths);
	report_add(r, "/a", NULL, ACCESS_READ);
	text = unused_inputs_text(r, 1, lines, &len);
	cr_expect_str_eq(text, "");
	cr_expect_eq(len, 0);
	report_free(r);
}

/* Compiler drivers */

struct driver_case {
	const char *name;
	bool driver;
};

static const struct driver_case driver_cases[] = {
    {"gcc", true},
    {"g++", true},
    {"cc", true},
    {"c++", true},
    {"clang", true},
    {"clang++", true},
    {"gcc-12", true},
    {"g++-12", true},
    {"gcc-12.2.0", true},
    {"clang-16", true},
    {"clang++-14", true},
    {"x86_64-linux-gnu-gcc-12", true},
    {"x86_64-linux-gnu-g++", true},
    {"arm-none-eabi-gcc", true},
    {"aarch64-linux-gnu-c++-13", true},
    {"cc1", false},
    {"cc1plus", false},
    {"collect2", false},
    {"as", false},
    {"ld", false},
    {"gcc-ar", false},
    {"gcc-ar-12", false},
    {"x86_64-linux-gnu-gcc-ar-12", false},
    {"clang-tidy", false},
    {"clang-format-16", false},
    {"c++filt", false},
    {"distcc", false},
    {"ccache", false},
    {"mygcc", false},
    {"gcc-", false},
    {"-gcc", false},
    {"", false},
};

ParameterizedTestParameters(compiler_driver, table)
{
	return ROWS(driver_cases);
}

ParameterizedTest(size_t *row, compiler_driver, table)
{
	const struct driver_case *c = &driver_cases[*row];

	cr_expect_eq(is_compiler_driver(c->name), c->driver, "is_compiler_driver(\"%s\")", c->name);
}

/* Command lines: what a driver run compiles. */

struct args_case {
	const char *argv; /* words split at spaces */
	enum compile_mode mode;
	const char *sources; /* joined with '|' */
	const char *output;  /* of the first source */
};

static const struct args_case args_cases[] = {
    {"gcc -c foo.c", COMPILE_OBJECT, "foo.c", "foo.o"},
    {"gcc -c src/foo.c", COMPILE_OBJECT, "src/foo.c", "foo.o"},
    {"gcc -c foo.c -o out/foo.o", COMPILE_OBJECT, "foo.c", "out/foo.o"},
    {"gcc -c foo.c -oout.o", COMPILE_OBJECT, "foo.c", "out.o"},
    {"gcc -c --output=x.o a.c", COMPILE_OBJECT, "a.c", "x.o"},
    {"gcc -c a.c --output x.o", COMPILE_OBJECT, "a.c", "x.o"},
    {"gcc -o a.o -c a.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"cc -O2 -Wall -Iinc -I inc2 -DX=1 -D Y -c a.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"gcc -c -MD -MF a.d -MT a.o a.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"gcc -MMD -MP -c a.c", COMPILE_OBJECT, "a.c", "a.o"},
    /* Values of options that take one are not sources, whatever their names. */
    {"gcc -c -I src.c a.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"gcc -c -include pre.c -isystem sys.c a.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"gcc -c -MF dep.c -MT t.c -MQ q.c a.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"clang -c -Xclang -load.c -target x86_64-linux a.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"gcc -c a.c -Wl,-Map,x.c", COMPILE_OBJECT, "a.c", "a.o"},
    {"gcc -c a.c -o", COMPILE_OBJECT, "a.c", "a.o"},
    {"x86_64-linux-gnu-gcc-12 -c /abs/path/a.c", COMPILE_OBJECT, "/abs/path/a.c", "a.o"},
    {"g++ -std=c++17 -c a.cc b.cpp c.cxx d.C e.c++ f.cp g.CPP", COMPILE_OBJECT,
     "a.cc|b.cpp|c.cxx|d.C|e.c++|f.cp|g.CPP", "a.o"},
    {"clang -c a.m b.mm c.s d.S e.sx", COMPILE_OBJECT, "a.m|b.mm|c.s|d.S|e.sx", "a.o"},
    {"gcc -c noext", COMPILE_NONE, "", NULL},
    {"gcc -c dir.c/noext", COMPILE_NONE, "", NULL},
    {"gcc -c .c", COMPILE_NONE, "", NULL},
    /* -x: the language of the files after it, "none" back to their extensions. */
    {"g++ -c -x c++ a.inc", COMPILE_OBJECT, "a.inc", "a.o"},
    {"gcc -xc -c a.txt", COMPILE_OBJECT, "a.txt", "a.o"},
    {"gcc -x c a.txt -x none b.txt c.c -c", COMPILE_OBJECT, "a.txt|c.c", "a.o"},
    {"gcc -x c -c noext", COMPILE_OBJECT, "noext", "noext.o"},
    {"gcc -x c-header -c a.h", COMPILE_NONE, "", NULL},
    {"gcc -c a.h", COMPILE_NONE, "", NULL},
    {"gcc -x c -c -", COMPILE_NONE, "", NULL},
    /* -S and -E (the sources are still named: the run compiles none of them). */
    {"gcc -S a.c", COMPILE_ASSEMBLY, "a.c", "a.s"},
    {"gcc -S a.c -o a.asm", COMPILE_ASSEMBLY, "a.c", "a.asm"},
    {"gcc -c -S a.c", COMPILE_ASSEMBLY, "a.c", "a.s"},
    {"gcc -E a.c", COMPILE_NONE, "a.c", NULL},
    {"gcc -c -E a.c", COMPILE_NONE, "a.c", NULL},
    {"gcc -M a.c", COMPILE_NONE, "a.c", NULL},
    {"gcc -MM a.c", COMPILE_NONE, "a.c", NULL},
    {"gcc -fsyntax-only a.c", COMPILE_NONE, "a.c", NULL},
    {"gcc -### -c a.c", COMPILE_NONE, "a.c", NULL},
    {"gcc --version", COMPILE_NONE, "", NULL},
    /* Compile and link. */
    {"gcc a.c", COMPILE_LINK, "a.c", "a.out"},
    {"gcc a.c b.c -o prog -lm", COMPILE_LINK, "a.c|b.c", "prog"},
    {"gcc a.c lib.o -L libdir.c -l m", COMPILE_LINK, "a.c", "a.out"},
    {"gcc a.o b.o -o prog -lm", COMPILE_NONE, "", NULL},
    /* Not a driver's own compile. */
    {"clang -cc1 -triple x86_64 -emit-obj a.c -o a.o", COMPILE_NONE, "", NULL},
    {"clang -cc1as -filetype obj a.s -o a.o", COMPILE_NONE, "", NULL},
    {"gcc -c @args.rsp", COMPILE_NONE, "", NULL},
    {"gcc", COMPILE_NONE, "", NULL},
};

ParameterizedTestParameters(compile_args, table)
{
	return ROWS(args_cases);
}

ParameterizedTest(size_t *row, compile_args, table)
{
	const struct args_case *c = &args_cases[*row];
	autofree char *words = xstrdup(c->argv);
	char *argv[64], *save = NULL;
	struct compile_args args;
	struct strbuf sources = {0};
	size_t n = 0;

	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	compile_args_parse(argv, &args);
	cr_expect_eq(args.mode, c->mode, "mode of %s", c->argv);
	strbuf_grow(&sources, 1);
	for (size_t i = 0; i < args.nsources; i++)
		strbuf_addf(&sources, "%s%s", i ? "|" : "", argv[args.sources[i]]);
	cr_expect_str_eq(sources.buf, c->sources, "sources of %s", c->argv);
	if (c->output) {
		autofree char *output = compile_output(&args, argv[args.sources[0]]);

		cr_expect_str_eq(output, c->output, "output of %s", c->argv);
	}
	strbuf_release(&sources);
	compile_args_free(&args);
}

/* The compilation database of a build */

static json_t *parse_json(const char *text)
{
	json_error_t error;
	json_t *root = json_loads(text, 0, &error);

	cr_assert_not_null(root, "does not parse: %s (line %d)\n%s", error.text, error.line, text);
	cr_assert(json_is_array(root));
	return root;
}

static const char *entry_str(json_t *entry, const char *key)
{
	json_t *v = json_object_get(entry, key);

	cr_assert(json_is_string(v), "\"%s\" is a string", key);
	return json_string_value(v);
}

/* The "arguments" of ENTRY joined with spaces (a static buffer). */
static const char *entry_args(json_t *entry)
{
	static char buf[1024];
	json_t *args = json_object_get(entry, "arguments"), *v;
	size_t i;

	cr_assert(json_is_array(args));
	buf[0] = '\0';
	json_array_foreach(args, i, v)
	{
		if (i)
			strcat(buf, " ");
		strcat(buf, json_string_value(v));
	}
	return buf;
}

static void add_proc(struct report *r, pid_t pid, pid_t ppid, const char *exe, const char *cmd,
		     const char *cwd)
{
	autofree char *words = xstrdup(cmd);
	char *argv[32], *save = NULL;
	size_t n = 0;

	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	report_add_process(r, pid, ppid, exe, argv, cwd);
}

Test(compile_commands, one_entry_per_source_compiled, .timeout = 10)
{
	struct report *r = report_new();
	char *argv[] = {"make", "-j2", NULL};
	const char *gcc = "/usr/bin/x86_64-linux-gnu-gcc-12";
	autofree char *text = NULL;
	json_t *db;
	size_t len;

	report_set_command(r, argv, "/w");
	add_proc(r, 10, 1, "/usr/bin/make", "make -j2", "/w");
	add_proc(r, 11, 10, "/usr/bin/dash", "/bin/sh -c gcc -c a.c -o a.o", "/w");
	add_proc(r, 11, 10, gcc, "gcc -DFOO=1 -c a.c -o a.o", "/w");
	add_proc(r, 12, 11, "/usr/libexec/gcc/x86_64-linux-gnu/12/cc1",
		 "cc1 -quiet a.c -o /tmp/x.s", "/w");
	add_proc(r, 13, 11, "/usr/bin/x86_64-linux-gnu-as", "as -o a.o /tmp/x.s", "/w");
	/* Two sources in one run: two entries, each with its own source only. */
	add_proc(r, 14, 10, gcc, "cc -c sub/b.c sub/c.c", "/w/sub/..");
	/* clang, and its own compiler job (not a driver run). */
	add_proc(r, 15, 10, "/usr/lib/llvm-14/bin/clang", "clang++ -std=c++17 -c d.cpp", "/w");
	add_proc(r, 16, 15, "/usr/lib/llvm-14/bin/clang",
		 "/usr/lib/llvm-14/bin/clang -cc1 -triple x86_64 -emit-obj d.cpp -o d.o", "/w");
	/* A wrapper that execs the compiler (same pid), and one that runs it (a child). */
	add_proc(r, 17, 10, "/usr/bin/dash", "gcc -c e.c", "/w");
	add_proc(r, 17, 10, gcc, "gcc -c e.c", "/w");
	add_proc(r, 18, 10, "/usr/bin/ccache", "gcc -c f.c", "/w/f");
	add_proc(r, 19, 18, gcc, "/usr/bin/gcc -c f.c", "/w/f");
	/* Not compiles: preprocessing, a link, a version query, other tools. */
	add_proc(r, 20, 10, gcc, "gcc -E g.c", "/w");
	add_proc(r, 21, 10, gcc, "gcc a.o b.o c.o -o prog", "/w");
	add_proc(r, 22, 10, gcc, "gcc --version", "/w");
	add_proc(r, 23, 10, "/usr/bin/ar", "ar rcs lib.a a.o", "/w");
	/* A compile and link of a source, argv[0] a full path. */
	add_proc(r, 24, 10, "/usr/lib/llvm-14/bin/clang", "/usr/bin/clang-14 h.c -o h", "/w/h");

	text = compile_commands_text(r, &len);
	cr_expect_eq(len, strlen(text));
	db = parse_json(text);
	cr_assert_eq(json_array_size(db), 7, "%s", text);
	struct {
		const char *dir, *args, *file, *output;
	} want[] = {
	    {"/w", "gcc -DFOO=1 -c a.c -o a.o", "a.c", "a.o"},
	    {"/w/sub/..", "cc -c sub/b.c", "sub/b.c", "b.o"},
	    {"/w/sub/..", "cc -c sub/c.c", "sub/c.c", "c.o"},
	    {"/w", "clang++ -std=c++17 -c d.cpp", "d.cpp", "d.o"},
	    {"/w", "gcc -c e.c", "e.c", "e.o"},
	    {"/w/f", "/usr/bin/gcc -c f.c", "f.c", "f.o"},
	    {"/w/h", "/usr/bin/clang-14 h.c -o h", "h.c", "h"},
	};
	for (size_t i = 0; i < 7; i++) {
		json_t *e = json_array_get(db, i);

		cr_assert(json_is_object(e));
		cr_expect_eq(json_object_size(e), 4);
		cr_expect_str_eq(entry_str(e, "directory"), want[i].dir, "entry %zu", i);
		cr_expect_str_eq(entry_args(e), want[i].args, "entry %zu", i);
		cr_expect_str_eq(entry_str(e, "file"), want[i].file, "entry %zu", i);
		cr_expect_str_eq(entry_str(e, "output"), want[i].output, "entry %zu", i);
	}
	json_decref(db);
	/* The wrapper's entry (pid 17's first) is not there; the same record, the same text. */
	{
		autofree char *again = compile_commands_text(r, &len);

		cr_expect_str_eq(again, text);
	}
	report_free(r);
}

Test(compile_commands, nothing_compiled_is_an_empty_array)
{
	struct report *r = report_new();
	autofree char *text = NULL;
	json_t *db;
	size_t len;

	add_proc(r, 10, 1, "/usr/bin/true", "true", "/");
	text = compile_commands_text(r, &len);
	db = parse_json(text);
	cr_expect_eq(json_array_size(db), 0);
	json_decref(db);
	report_free(r);
}

Test(compile_commands, paths_that_are_not_utf8_read_back_as_bytes)
{
	struct report *r = report_new();
	autofree char *text = NULL;
	size_t len;

	add_proc(r, 10, 1, "/usr/bin/gcc", "gcc -c caf\xe9.c", "/w\xff");
	text = compile_commands_text(r, &len);
	cr_expect_not_null(strstr(text, "\"caf\\udce9.c\""), "%s", text);
	cr_expect_not_null(strstr(text, "\"/w\\udcff\""), "%s", text);
	cr_expect_not_null(strstr(text, "\"caf\\udce9.o\""), "%s", text);
	report_free(r);
}
