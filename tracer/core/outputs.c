// SPDX-License-Identifier: MIT
/*
 * Build-system outputs (outputs.h): the depfile, the unused-inputs list and
 * the compilation database, each made from the record of a run.
 */
#include <string.h>
#include <sys/stat.h>

#include "ptvfs/json.h"
#include "ptvfs/outputs.h"
#include "ptvfs/report.h"
#include "ptvfs/util.h"

/* A depfile line is continued before it grows longer than this, as GCC does. */
#define DEPFILE_COLUMNS 78

void depfile_escape(struct strbuf *sb, const char *name)
{
	size_t backslashes = 0; /* the run of backslashes just written */

	for (const char *p = name; *p; p++) {
		switch (*p) {
		case ' ':
		case '\t':
			/* 2N+1 backslashes and a blank read back as N and the blank. */
			for (size_t i = 0; i < backslashes + 1; i++)
				strbuf_addch(sb, '\\');
			strbuf_addch(sb, *p);
			break;
		case '#':
			strbuf_addstr(sb, "\\#");
			break;
		case '$':
			strbuf_addstr(sb, "$$");
			break;
		default:
			strbuf_addch(sb, *p);
		}
		backslashes = *p == '\\' ? backslashes + 1 : 0;
	}
	/* A backslash at the end would escape the blank or the line end after the name. */
	for (size_t i = 0; i < backslashes; i++)
		strbuf_addch(sb, '\\');
}

const char *depfile_name(const char *name, const char *cwd)
{
	size_t len = cwd ? strlen(cwd) : 0;

	if (len <= 1 || strncmp(name, cwd, len) != 0 || name[len] != '/' || !name[len + 1])
		return name;
	return name + len + 1;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether the file F is still there, and its type on the host (lstat) in *MODE. */
static bool host_type(const struct report_file *f, mode_t *mode)
{
	struct stat st;

	if (!f->host || lstat(f->host, &st) < 0)
		return false;
	*mode = st.st_mode;
	return true;
}

/* Add the rule's NAMES (N of them, sorted here) to SB; *COL is the current column. */
static void add_names(struct strbuf *sb, const char **names, size_t n, size_t *col)
{
	struct strbuf one = {0};

	qsort(names, n, sizeof(*names), compare_names);
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		strbuf_reset(&one);
		depfile_escape(&one, names[i]);
		if (*col > 0 && *col + 1 + one.len > DEPFILE_COLUMNS) {
			strbuf_addstr(sb, " \\\n");
			*col = 0;
		}
		if (*col > 0 || sb->len > 0) {
			strbuf_addch(sb, ' ');
			(*col)++;
		}
		strbuf_add(sb, one.buf, one.len);
		*col += one.len;
	}
	strbuf_release(&one);
}

char *depfile_text(const struct report *r, const char *target, size_t *len, size_t *skipped)
{
	size_t nfiles = report_file_count(r), ntargets = 0, ndeps = 0, nskipped = 0, col = 0;
	autofree const struct report_file **files = report_sorted_files(r);
	autofree const char **targets = xcalloc(nfiles + 1, sizeof(*targets));
	autofree const char **deps = xcalloc(nfiles, sizeof(*deps));
	const char *cwd = report_cwd(r);
	struct strbuf sb = {0};

	if (target)
		targets[ntargets++] = target;
	for (size_t i = 0; i < nfiles; i++) {
		const struct report_file *f = files[i];
		bool is_target = !target && (f->access & ACCESS_WRITE);
		bool is_dep = (f->access & (ACCESS_READ | ACCESS_EXEC)) && !f->written_first;
		mode_t mode;

		if ((!is_target && !is_dep) || report_path_is_system(f->path))
			continue;
		if (!host_type(f, &mode))
			continue;
		is_target &= !S_ISDIR(mode);
		is_dep &= S_ISREG(mode) != 0;
		if ((is_target || is_dep) && strchr(f->path, '\n')) {
			nskipped++;
			continue;
		}
		if (is_target)
			targets[ntargets++] = depfile_name(f->path, cwd);
		if (is_dep)
			deps[ndeps++] = depfile_name(f->path, cwd);
	}
	if (skipped)
		*skipped = nskipped;
	strbuf_grow(&sb, 1);
	if (ntargets) {
		add_names(&sb, targets, ntargets, &col);
		strbuf_addch(&sb, ':');
		col++;
		add_names(&sb, deps, ndeps, &col);
		strbuf_addch(&sb, '\n');
	}
	*len = sb.len;
	return sb.buf;
}

char *unused_inputs_text(const struct report *r, size_t count, const char *const *lines,
			 size_t *len)
{
	autofree bool *used = xcalloc(count, sizeof(*used));
	struct strbuf sb = {0};

	strbuf_grow(&sb, 1);
	report_inputs_used(r, used);
	for (size_t i = 0; i < count; i++) {
		const char *tab = strchr(lines[i], '\t');

		if (used[i])
			continue;
		strbuf_add(&sb, lines[i], tab ? (size_t)(tab - lines[i]) : strlen(lines[i]));
		strbuf_addch(&sb, '\n');
	}
	*len = sb.len;
	return sb.buf;
}

/* The compilation database. */

static const char *const drivers[] = {"gcc", "g++", "cc", "c++", "clang", "clang++"};

/* Whether the LEN bytes at S are a version: digits and dots, a digit first. */
static bool is_version(const char *s, size_t len)
{
	if (!len || s[0] < '0' || s[0] > '9')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.')
			return false;
	return true;
}

bool is_compiler_driver(const char *name)
{
	const char *dash = strrchr(name, '-');
	size_t len = strlen(name);

	if (dash && is_version(dash + 1, len - (dash + 1 - name)))
		len = dash - name;
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		size_t dlen = strlen(drivers[i]);

		if (len < dlen || memcmp(name + len - dlen, drivers[i], dlen) != 0)
			continue;
		/* The whole name, or a target prefix before it: "x86_64-linux-gnu-". */
		if (len == dlen || (len > dlen + 1 && name[len - dlen - 1] == '-'))
			return true;
	}
	return false;
}

/* Extensions of the files a driver compiles (GCC's list less headers and preprocessed files). */
static const char *const source_extensions[] = {
    "c", "cc", "cp", "cpp", "cxx", "c++", "C", "CPP", "m", "mm", "M", "s", "S", "sx",
};

/* Languages of -x whose files are compiled (others: headers, preprocessed files, none). */
static const char *const source_languages[] = {
    "c", "c++", "objective-c", "objective-c++", "assembler", "assembler-with-cpp",
};

/* Options whose value is the next word ("-I DIR"; "-IDIR" is one word and needs nothing). */
static const char *const options_with_value[] = {
    "-A",
    "-B",
    "-D",
    "-F",
    "-I",
    "-L",
    "-MF",
    "-MJ",
    "-MQ",
    "-MT",
    "-T",
    "-U",
    "-Xanalyzer",
    "-Xassembler",
    "-Xclang",
    "-Xlinker",
    "-Xpreprocessor",
    "-arch",
    "-aux-info",
    "-cxx-isystem",
    "-dumpbase",
    "-dumpbase-ext",
    "-dumpdir",
    "-e",
    "-idirafter",
    "-iframework",
    "-imacros",
    "-imultilib",
    "-include",
    "-include-pch",
    "-iprefix",
    "-iquote",
    "-isysroot",
    "-isystem",
    "-isystem-after",
    "-ivfsoverlay",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-iwithsysroot",
    "-l",
    "-mllvm",
    "-resource-dir",
    "-serialize-diagnostics",
    "-target",
    "-u",
    "-working-directory",
    "-wrapper",
    "-z",
    "--define-macro",
    "--imacros",
    "--include",
    "--include-directory",
    "--include-prefix",
    "--library",
    "--library-directory",
    "--param",
    "--sysroot",
    "--undefine-macro",
};

/* Options after which the driver compiles nothing: it preprocesses, checks or only tells. */
static const char *const options_no_compile[] = {
    "-E",
    "-M",
    "-MM",
    "-fsyntax-only",
    "-###",
    "--help",
    "--version",
    "-dumpversion",
    "-dumpmachine",
    "-dumpspecs",
    "-print-search-dirs",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

#define IN_LIST(s, list) in_list(s, list, sizeof(list) / sizeof(list[0]))

static bool is_source_name(const char *arg)
{
	const char *base = strrchr(arg, '/'), *dot;

	base = base ? base + 1 : arg;
	dot = strrchr(base, '.');
	return dot && dot != base && IN_LIST(dot + 1, source_extensions);
}

void compile_args_parse(char *const *argv, struct compile_args *out)
{
	const char *lang = NULL; /* -x LANG in force, or NULL ("none": by extension) */
	bool c = false, S = false, none = false;
	size_t n = 0;

	*out = (struct compile_args){0};
	if (!argv || !argv[0])
		return;
	while (argv[n])
		n++;
	out->sources = xcalloc(n, sizeof(*out->sources));
	/* clang running its own compiler job: not a driver run. */
	if (argv[1] && !strncmp(argv[1], "-cc1", 4))
		return;
	for (size_t i = 1; i < n; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < n ? argv[i + 1] : NULL;

		if (a[0] == '@')
			continue; /* a response file: not read here */
		if (a[0] != '-' || !a[1]) {
			bool source = lang ? IN_LIST(lang, source_languages) : is_source_name(a);

			/* "-" is standard input: a source, but no file to name. */
			if (source && strcmp(a, "-") != 0)
				out->sources[out->nsources++] = i;
			continue;
		}
		if (!strcmp(a, "-c"))
			c = true;
		else if (!strcmp(a, "-S"))
			S = true;
		else if (IN_LIST(a, options_no_compile))
			none = true;
		else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
			out->output = next, i += next != NULL;
		else if (!strncmp(a, "--output=", 9))
			out->output = a + 9;
		else if (!strncmp(a, "-o", 2))
			out->output = a + 2;
		else if (!strcmp(a, "-x") || !strcmp(a, "--language"))
			lang = next, i += next != NULL;
		else if (!strncmp(a, "-x", 2) || !strncmp(a, "--language=", 11))
			lang = a[1] == 'x' ? a + 2 : a + 11;
		else if (IN_LIST(a, options_with_value))
			i++;
		if (lang && !strcmp(lang, "none"))
			lang = NULL;
	}
	if (none || !out->nsources)
		out->mode = COMPILE_NONE;
	else if (S)
		out->mode = COMPILE_ASSEMBLY;
	else if (c)
		out->mode = COMPILE_OBJECT;
	else
		out->mode = COMPILE_LINK;
}

void compile_args_free(struct compile_args *args)
{
	free(args->sources);
	*args = (struct compile_args){0};
}

char *compile_output(const struct compile_args *args, const char *source)
{
	const char *base = strrchr(source, '/'), *dot;
	const char *ext = args->mode == COMPILE_ASSEMBLY ? "s" : "o";

	if (args->output)
		return xstrdup(args->output);
	if (args->mode == COMPILE_LINK)
		return xstrdup("a.out");
	base = base ? base + 1 : source;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return xasprintf("%s.%s", base, ext);
	return xasprintf("%.*s.%s", (int)(dot - base), base, ext);
}

static const char *basename_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* Whether process entry P ran a compiler driver: by its argv[0] or its program's name. */
static bool runs_driver(const struct report_process *p)
{
	if (!p->argv || !p->argv[0])
		return false;
	return is_compiler_driver(basename_of(p->argv[0])) ||
	       (p->exe && is_compiler_driver(basename_of(p->exe)));
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Whether driver runs A and B compile the same sources in the same directory. */
static bool same_compile(const struct report_process *pa, const struct compile_args *a,
			 const struct report_process *pb, const struct compile_args *b)
{
	if (a->nsources != b->nsources || !same_string(pa->cwd, pb->cwd))
		return false;
	for (size_t i = 0; i < a->nsources; i++)
		if (strcmp(pa->argv[a->sources[i]], pb->argv[b->sources[i]]) != 0)
			return false;
	return true;
}

/*
 * Whether entry I, a driver run compiling ARGS, only wraps another: a later
 * entry of the same process (it exec'd the real compiler, as a wrapper
 * script does) or of a child (ccache) runs a driver on the same sources.
 */
static bool is_wrapper(const struct report *r, size_t i, const struct compile_args *args)
{
	const struct report_process *p = report_process_at(r, i);

	for (size_t j = i + 1; j < report_process_count(r); j++) {
		const struct report_process *q = report_process_at(r, j);
		struct compile_args inner;
		bool same;

		if ((q->pid != p->pid && q->ppid != p->pid) || !runs_driver(q))
			continue;
		compile_args_parse(q->argv, &inner);
		same = inner.mode != COMPILE_NONE && same_compile(p, args, q, &inner);
		compile_args_free(&inner);
		if (same)
			return true;
	}
	return false;
}

/* One entry of the database: source K of the driver run P. */
static void add_entry(struct strbuf *sb, const struct report *r, const struct report_process *p,
		      const struct compile_args *args, size_t k)
{
	const char *source = p->argv[args->sources[k]];
	autofree char *output = compile_output(args, source);
	size_t s = 0;
	bool first = true;

	strbuf_addstr(sb, "  {\n    \"directory\": ");
	json_add_string(sb, p->cwd ? p->cwd : report_cwd(r) ? report_cwd(r) : "/");
	strbuf_addstr(sb, ",\n    \"arguments\": [");
	for (size_t i = 0; p->argv[i]; i++) {
		/* The other sources are left out: one compile job per entry. */
		while (s < args->nsources && args->sources[s] < i)
			s++;
		if (s < args->nsources && args->sources[s] == i && s != k)
			continue;
		if (!first)
			strbuf_addstr(sb, ", ");
		json_add_string(sb, p->argv[i]);
		first = false;
	}
	strbuf_addstr(sb, "],\n    \"file\": ");
	json_add_string(sb, source);
	strbuf_addstr(sb, ",\n    \"output\": ");
	json_add_string(sb, output);
	strbuf_addstr(sb, "\n  }");
}

char *compile_commands_text(const struct report *r, size_t *len)
{
	struct strbuf sb = {0};
	size_t entries = 0;

	strbuf_addch(&sb, '[');
	for (size_t i = 0; i < report_process_count(r); i++) {
		const struct report_process *p = report_process_at(r, i);
		struct compile_args args;

		if (!runs_driver(p))
			continue;
		compile_args_parse(p->argv, &args);
		if (args.mode != COMPILE_NONE && !is_wrapper(r, i, &args)) {
			for (size_t k = 0; k < args.nsources; k++) {
				strbuf_addstr(&sb, entries++ ? ",\n" : "\n");
				add_entry(&sb, r, p, &args, k);
			}
		}
		compile_args_free(&args);
	}
	strbuf_addstr(&sb, entries ? "\n]\n" : "]\n");
	*len = sb.len;
	return sb.buf;
}
