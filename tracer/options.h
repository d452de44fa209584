/* SPDX-License-Identifier: MIT */
/*
 * The command line, parsed (options.c): what to run, the view it runs in,
 * and what to write. Filled once by main() before anything runs; read-only
 * afterwards.
 */
#ifndef PTVFS_OPTIONS_H
#define PTVFS_OPTIONS_H

#include <stddef.h>

struct view;
struct scratch;

/* One of --setenv, --unsetenv, --clearenv, applied in command-line order. */
struct env_change {
	enum { ENV_SET, ENV_UNSET, ENV_CLEAR } op;
	const char *name;  /* ENV_SET, ENV_UNSET */
	const char *value; /* ENV_SET */
};

struct options {
	const char *report_file;
	/* Build-system outputs (DESIGN.md §3, outputs.h); NULL when not asked for. */
	const char *depfile;	      /* --depfile FILE */
	const char *depfile_target;   /* --depfile-target NAME: the depfile's target */
	const char *unused_inputs;    /* --unused-inputs FILE (needs --inputs) */
	const char *compile_commands; /* --compile-commands FILE */
	const char *why_glob;	      /* --why GLOB: accesses told on stderr (why.c) */
	/* --upper DIR: where overlays keep captured writes; NULL: a private one. */
	const char *upper_dir;
	char **command; /* NULL-terminated, not owned */
	/* The sealed view; NULL when no view option was given: the host's root, recording only. */
	struct view *view;
	/* --chdir DIR, a view path (relative: to the starting directory's view path); or NULL. */
	const char *chdir;
	struct env_change *env;
	size_t env_count;
	/* The run's private host directory (--tmpfs, virtual directories); NULL without a view. */
	struct scratch *scratch;
	char *chdir_owned; /* --workspace's starting directory (opts->chdir points to it) */
};

/*
 * Parse ARGV into OPTS: builds and seals the view. Bad input (an unknown
 * option, a missing SRC, a broken manifest line, ...) ends ptvfs with a
 * one-line message and exit status 125 before anything runs.
 */
void options_parse(int argc, char **argv, struct options *opts);
/*
 * Apply the --setenv, --unsetenv and --clearenv of OPTS, in command-line
 * order, to this process's environment (the command's process, before exec).
 */
void options_apply_env(const struct options *opts);
/* Free the view and the environment changes; remove the private directory if still there. */
void options_free(struct options *opts);

#endif
