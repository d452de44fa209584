// SPDX-License-Identifier: MIT
/*
 * The command line (options.h).
 *
 * Two passes, as bubblewrap builds its list of setup operations: the first
 * reads ARGV into a list of view declarations and environment changes and
 * rejects what is malformed (an unknown option, a missing value); the
 * second makes the private directory and builds the view from the list, in
 * command-line order. Any failure ends ptvfs with one line and status 125
 * before the command runs; the private directory goes with it (scratch.c
 * removes it at exit).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "ptvfs/report.h"
#include "ptvfs/upper.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "scratch.h"

enum option_id {
	OPT_HELP,
	OPT_VERSION,
	OPT_REPORT,
	OPT_ROOT,
	OPT_HERMETIC,
	OPT_LAYER, /* --bind, --ro-bind, --tmpfs, --symlink, --hide: a view_add() */
	OPT_INPUTS,
	OPT_CHDIR,
	OPT_SETENV,
	OPT_UNSETENV,
	OPT_CLEARENV,
	OPT_WORKSPACE,
	OPT_UPPER,
	OPT_DEPFILE,
	OPT_DEPFILE_TARGET,
	OPT_UNUSED_INPUTS,
	OPT_COMPILE_COMMANDS,
	OPT_WHY,
};

struct option_desc {
	const char *name;
	enum option_id id;
	int nargs;
	enum layer_kind layer; /* OPT_LAYER */
	const char *args;      /* for the help and for "needs ..." */
	const char *help;
};

/* Every option, in the order --help lists them. */
static const struct option_desc option_table[] = {
    {"--root", OPT_ROOT, 1, 0, "DIR", "DIR is the base of the view, read-only"},
    {"--hermetic", OPT_HERMETIC, 0, 0, "", "the base is empty (/dev, /proc, /sys stay)"},
    {"--bind", OPT_LAYER, 2, LAYER_BIND, "SRC DEST", "SRC appears at DEST; writes reach SRC"},
    {"--ro-bind", OPT_LAYER, 2, LAYER_RO_BIND, "SRC DEST", "SRC appears at DEST, read-only"},
    {"--overlay", OPT_LAYER, 2, LAYER_OVERLAY, "SRC DEST",
     "SRC appears at DEST; writes are captured, copy-on-write"},
    {"--tmpfs", OPT_LAYER, 1, LAYER_TMPFS, "DEST", "an empty private directory at DEST"},
    {"--symlink", OPT_LAYER, 2, LAYER_SYMLINK, "TARGET DEST", "a symbolic link at DEST"},
    {"--hide", OPT_LAYER, 1, LAYER_HIDE, "DEST", "DEST and all below it are absent"},
    {"--inputs", OPT_INPUTS, 1, 0, "FILE", "declared inputs, read-only: DEST[<TAB>SRC] a line"},
    {"--workspace", OPT_WORKSPACE, 1, 0, "DIR",
     "DIR overlaid at /home/user/workspace, private /home/user, /tmp"},
    {"--upper", OPT_UPPER, 1, 0, "DIR", "keep the overlays' captured writes in DIR"},
    {"--chdir", OPT_CHDIR, 1, 0, "DIR", "start the command in DIR"},
    {"--setenv", OPT_SETENV, 2, 0, "VAR VALUE", "set VAR to VALUE for the command"},
    {"--unsetenv", OPT_UNSETENV, 1, 0, "VAR", "remove VAR from the command's environment"},
    {"--clearenv", OPT_CLEARENV, 0, 0, "", "start the command's environment empty"},
    {"--report", OPT_REPORT, 1, 0, "FILE", "write the record as JSON to FILE at the end"},
    {"--depfile", OPT_DEPFILE, 1, 0, "FILE", "write the dependencies to FILE as a Make rule"},
    {"--depfile-target", OPT_DEPFILE_TARGET, 1, 0, "NAME",
     "the depfile's target (default: the files written)"},
    {"--unused-inputs", OPT_UNUSED_INPUTS, 1, 0, "FILE",
     "write the declared inputs never used to FILE"},
    {"--compile-commands", OPT_COMPILE_COMMANDS, 1, 0, "FILE",
     "write the compiles run as a JSON compilation database"},
    {"--why", OPT_WHY, 1, 0, "GLOB", "tell each access to a matching path, with the stack"},
    {"-h", OPT_HELP, 0, 0, "", NULL},
    {"--help", OPT_HELP, 0, 0, "", "show this help and exit"},
    {"--version", OPT_VERSION, 0, 0, "", "show the version and exit"},
};

#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

/* A view option of the command line, applied in the second pass. */
struct view_op {
	const struct option_desc *desc;
	const char *arg[2];
};

static void print_usage(void)
{
	printf("usage: ptvfs [OPTION]... [--] COMMAND [ARG]...\n"
	       "       ptvfs show REPORT    a report summarised for a person\n"
	       "       ptvfs diff UPPER     the changes captured in UPPER, as a unified diff\n"
	       "       ptvfs apply UPPER    copy the changes captured in UPPER to their sources\n"
	       "Run COMMAND, following every process it starts, and record each file it touches.\n"
	       "A DEST is a path in the view; the deepest DEST covering a path decides it.\n"
	       "\n");
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		const struct option_desc *o = &option_table[i];
		char left[40];

		if (!o->help)
			continue;
		snprintf(left, sizeof(left), "%s%s%s%s", o->id == OPT_HELP ? "-h, " : "", o->name,
			 *o->args ? " " : "", o->args);
		printf("  %-24s %s\n", left, o->help);
	}
	printf("\n"
	       "Exit status: the command's own; 128+N when signal N killed it; 125 when ptvfs\n"
	       "fails; 126 when the command cannot be run; 127 when it is not found.\n");
}

static const struct option_desc *find_option(const char *arg)
{
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (strcmp(arg, option_table[i].name) == 0)
			return &option_table[i];
	return NULL;
}

/* The directory an output file goes in must exist before anything runs. */
static void check_output_file(const char *option, const char *file)
{
	autofree char *copy = xstrdup(file);
	char *slash = strrchr(copy, '/');
	const char *dir = ".";
	struct stat st;

	if (!*file)
		die("%s: empty file name", option);
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		die("%s %s: directory %s does not exist", option, file, dir);
	if (access(dir, W_OK) < 0)
		die("%s %s: directory %s is not writable", option, file, dir);
}

/*
 * --upper DIR: a directory, or one that can be made (the overlay code makes
 * it when the command first writes): its parent exists.
 */
/* An --upper DIR that is not one (a non-empty directory without a record, a broken record). */
static void check_upper_record(const char *option, const char *dir)
{
	char *err = NULL;
	struct upper *u = upper_open(dir, &err);

	if (!u)
		die("%s %s", option, err);
	upper_free(u);
}

static void check_upper_dir(const char *option, const char *dir)
{
	autofree char *copy = xstrdup(dir);
	char *slash;
	struct stat st;

	if (!*dir)
		die("%s: empty directory name", option);
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			die("%s %s: not a directory", option, dir);
		return;
	}
	if (errno != ENOENT)
		die("%s %s: %s", option, dir, strerror(errno));
	/* "a/b/" names the directory a/b: its parent is a. */
	for (slash = copy + strlen(copy) - 1; slash > copy && *slash == '/'; slash--)
		*slash = '\0';
	slash = strrchr(copy, '/');
	if (!slash) {
		copy[0] = '.';
		copy[1] = '\0';
	} else {
		slash[slash == copy] = '\0';
	}
	if (stat(copy, &st) < 0 || !S_ISDIR(st.st_mode))
		die("%s %s: directory %s does not exist", option, dir, copy);
}

/* setenv() and unsetenv() refuse these; say so before anything runs. */
static void check_env_name(const char *option, const char *name)
{
	if (!*name)
		die("%s: empty variable name", option);
	if (strchr(name, '='))
		die("%s %s: a variable name cannot contain '='", option, name);
}

static void add_env(struct options *opts, int op, const char *name, const char *value)
{
	opts->env = xrealloc(opts->env, (opts->env_count + 1) * sizeof(*opts->env));
	opts->env[opts->env_count++] = (struct env_change){.op = op, .name = name, .value = value};
}

/* Where --workspace puts things in the view (DESIGN.md §1). */
#define WORKSPACE_HOME "/home/user"
#define WORKSPACE_DIR WORKSPACE_HOME "/workspace"

/*
 * --workspace DIR: the declarations it stands for, added to OPS at *N, in
 * this order: --tmpfs /home/user, --overlay DIR /home/user/workspace,
 * --tmpfs /tmp; then --setenv HOME /home/user and TMPDIR /tmp; and the starting directory:
 * the workspace directory matching the current one (DIR's subdirectory
 * REL is /home/user/workspace/REL), else the workspace itself.
 */
static void add_workspace(struct options *opts, struct view_op *ops, size_t *n, const char *dir)
{
	char real[PATH_MAX], cwd[PATH_MAX];
	const char *rel = NULL;
	struct stat st;
	size_t len;

	if (!*dir)
		die("--workspace: empty directory name");
	if (!realpath(dir, real) || stat(real, &st) < 0)
		die("--workspace %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die("--workspace %s: not a directory", dir);
	ops[(*n)++] = (struct view_op){.desc = find_option("--tmpfs"), .arg = {WORKSPACE_HOME}};
	ops[(*n)++] =
	    (struct view_op){.desc = find_option("--overlay"), .arg = {dir, WORKSPACE_DIR}};
	ops[(*n)++] = (struct view_op){.desc = find_option("--tmpfs"), .arg = {"/tmp"}};
	add_env(opts, ENV_SET, "HOME", WORKSPACE_HOME);
	/* A TMPDIR of the host's (often below /tmp) is not in the view: the private /tmp is. */
	add_env(opts, ENV_SET, "TMPDIR", "/tmp");

	len = strlen(real);
	if (getcwd(cwd, sizeof(cwd))) {
		if (!strcmp(real, "/"))
			rel = cwd + 1;
		else if (!strncmp(cwd, real, len) && (cwd[len] == '/' || !cwd[len]))
			rel = cwd[len] ? cwd + len + 1 : "";
	}
	free(opts->chdir_owned);
	opts->chdir_owned =
	    rel && *rel ? xasprintf("%s/%s", WORKSPACE_DIR, rel) : xstrdup(WORKSPACE_DIR);
	opts->chdir = opts->chdir_owned;
}

/* End ptvfs on a failed view call: its message names the option (and FILE:LINE). */
static __attribute__((noreturn)) void view_failed(const struct view_op *op, int ret,
						  const char *err)
{
	if (!err)
		die("%s %s: %s", op->desc->name, op->arg[0] ? op->arg[0] : "", strerror(-ret));
	/* A manifest line's message starts with FILE:LINE; the option goes before it. */
	if (op->desc->id == OPT_INPUTS && strncmp(err, "--inputs", 8) != 0)
		die("--inputs %s", err);
	die("%s", err);
}

/* The second pass: the private directory, then the view, declaration by declaration. */
static void build_view(struct options *opts, const struct view_op *ops, size_t count)
{
	struct view *v = view_new();
	char *err = NULL;
	int ret;

	opts->scratch = scratch_create(&err);
	if (!opts->scratch)
		die("%s: %s", ops[0].desc->name, err);
	for (size_t i = 0; i < count; i++) {
		const struct view_op *op = &ops[i];
		const char *src = op->arg[0], *dest = op->arg[1];

		switch (op->desc->id) {
		case OPT_ROOT:
			ret = view_set_root(v, src, &err);
			break;
		case OPT_HERMETIC:
			view_set_hermetic(v);
			ret = 0;
			break;
		case OPT_INPUTS:
			/* Relative DESTs: relative to the starting directory, the current one. */
			ret = view_add_inputs(v, src, NULL, &err);
			break;
		default:
			if (op->desc->nargs == 1) {
				dest = op->arg[0];
				src = NULL;
			}
			if (op->desc->layer == LAYER_TMPFS) {
				src = scratch_new_dir(opts->scratch, dest, &err);
				if (!src)
					die("%s %s: %s", op->desc->name, dest, err);
			}
			ret = view_add(v, op->desc->layer, src, dest, op->desc->name, &err);
		}
		if (ret < 0)
			view_failed(op, ret, err);
	}
	ret = view_seal(v, &err);
	if (ret < 0)
		die("%s", err ? err : strerror(-ret));
	opts->view = v;
}

void options_parse(int argc, char **argv, struct options *opts)
{
	/* --workspace DIR, two words, makes three declarations. */
	autofree struct view_op *ops = xcalloc(2 * argc, sizeof(*ops));
	size_t op_count = 0;
	bool has_inputs = false;
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const struct option_desc *o;
		const char *a0, *a1;

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-')
			break;
		o = find_option(arg);
		if (!o)
			die("unknown option %s (see ptvfs --help)", arg);
		if (i + o->nargs >= argc)
			die("%s needs %s%s (see ptvfs --help)", arg,
			    o->nargs == 1 ? "a value: " : "two values: ", o->args);
		a0 = o->nargs > 0 ? argv[i + 1] : NULL;
		a1 = o->nargs > 1 ? argv[i + 2] : NULL;
		i += o->nargs;
		switch (o->id) {
		case OPT_HELP:
			print_usage();
			exit(0);
		case OPT_VERSION:
			printf("ptvfs %s\n", PTVFS_VERSION);
			exit(0);
		case OPT_REPORT:
			check_output_file(arg, a0);
			opts->report_file = a0;
			break;
		case OPT_CHDIR:
			if (!*a0)
				die("%s: empty directory name", arg);
			opts->chdir = a0;
			break;
		case OPT_WORKSPACE:
			add_workspace(opts, ops, &op_count, a0);
			break;
		case OPT_UPPER:
			check_upper_dir(arg, a0);
			check_upper_record(arg, a0);
			opts->upper_dir = a0;
			break;
		case OPT_DEPFILE:
			check_output_file(arg, a0);
			opts->depfile = a0;
			break;
		case OPT_DEPFILE_TARGET:
			if (!*a0)
				die("%s: empty target name", arg);
			opts->depfile_target = a0;
			break;
		case OPT_UNUSED_INPUTS:
			check_output_file(arg, a0);
			opts->unused_inputs = a0;
			break;
		case OPT_COMPILE_COMMANDS:
			check_output_file(arg, a0);
			opts->compile_commands = a0;
			break;
		case OPT_WHY:
			if (!*a0)
				die("%s: empty pattern", arg);
			opts->why_glob = a0;
			break;
		case OPT_SETENV:
			check_env_name(arg, a0);
			add_env(opts, ENV_SET, a0, a1);
			break;
		case OPT_UNSETENV:
			check_env_name(arg, a0);
			add_env(opts, ENV_UNSET, a0, NULL);
			break;
		case OPT_CLEARENV:
			add_env(opts, ENV_CLEAR, NULL, NULL);
			break;
		default:
			has_inputs |= o->id == OPT_INPUTS;
			/* symlink("") fails: say so now rather than in the command. */
			if (o->id == OPT_LAYER && o->layer == LAYER_SYMLINK && !*a0)
				die("%s: empty TARGET", arg);
			ops[op_count++] = (struct view_op){.desc = o, .arg = {a0, a1}};
		}
	}
	if (i >= argc)
		die("no command given (see ptvfs --help)");
	if (opts->depfile_target && !opts->depfile)
		die("--depfile-target %s needs --depfile", opts->depfile_target);
	if (opts->unused_inputs && !has_inputs)
		die("--unused-inputs %s needs --inputs (the declared inputs)", opts->unused_inputs);
	opts->command = argv + i;
	/* No view option: the host's root as it is, and nothing private to make. */
	if (op_count)
		build_view(opts, ops, op_count);
}

void options_apply_env(const struct options *opts)
{
	for (size_t i = 0; i < opts->env_count; i++) {
		const struct env_change *c = &opts->env[i];

		switch (c->op) {
		case ENV_SET:
			setenv(c->name, c->value, 1);
			break;
		case ENV_UNSET:
			unsetenv(c->name);
			break;
		case ENV_CLEAR:
			clearenv();
			break;
		}
	}
}

void options_free(struct options *opts)
{
	view_free(opts->view);
	free(opts->env);
	free(opts->chdir_owned);
	scratch_destroy(opts->scratch);
	*opts = (struct options){0};
}
