// SPDX-License-Identifier: MIT
/*
 * ptvfs: run a command and record every file it touches.
 * The command line is read in options.c; the work is in trace/ and core/;
 * the subcommands (show, diff, apply) are in commands.h.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "ptvfs/outputs.h"
#include "ptvfs/report.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "scratch.h"
#include "trace/tracer.h"

/* `ptvfs NAME ...` runs a subcommand; `ptvfs -- NAME` runs a program of that name. */
static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} subcommands[] = {
    {"show", show_main},
    {"diff", diff_main},
    {"apply", apply_main},
};

/* Write TEXT (LEN bytes, freed here) to FILE atomically; on failure say so and give 125. */
static int write_output(const char *what, const char *file, char *text, size_t len, int status)
{
	int err = write_file_atomic(file, text, len);

	free(text);
	if (err < 0) {
		warn("cannot write the %s %s: %s", what, file, strerror(-err));
		return PTVFS_EXIT_FAILURE;
	}
	return status;
}

/* The build-system outputs asked for (DESIGN.md §3), from the finished record. */
static int write_outputs(const struct options *opts, const struct report *report, int status)
{
	size_t len, skipped = 0;
	char *text;

	if (opts->depfile) {
		text = depfile_text(report, opts->depfile_target, &len, &skipped);
		if (skipped)
			warn("--depfile %s: %zu path%s holding a newline left out (no Make syntax "
			     "for "
			     "it)",
			     opts->depfile, skipped, skipped == 1 ? "" : "s");
		status = write_output("depfile", opts->depfile, text, len, status);
	}
	if (opts->unused_inputs) {
		size_t n = opts->view ? view_input_count(opts->view) : 0;
		autofree const char **lines = xcalloc(n + 1, sizeof(*lines));

		for (size_t i = 0; i < n; i++)
			lines[i] = view_input_line(opts->view, i);
		text = unused_inputs_text(report, n, lines, &len);
		status = write_output("unused-inputs list", opts->unused_inputs, text, len, status);
	}
	if (opts->compile_commands) {
		text = compile_commands_text(report, &len);
		status =
		    write_output("compilation database", opts->compile_commands, text, len, status);
	}
	return status;
}

int main(int argc, char **argv)
{
	struct options opts = {0};
	struct report *report;
	char cwd[PATH_MAX];
	int status, err;

	for (size_t i = 0; argc > 1 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].main(argc - 1, argv + 1);

	/* Any die() from here on still removes the private directory (scratch.c, at exit). */
	options_parse(argc, argv, &opts);
	if (!getcwd(cwd, sizeof(cwd)))
		die_errno("cannot read the current directory");
	report = report_new();
	report_set_command(report, opts.command, cwd);
	status = trace_command(&opts, report);
	/*
	 * Every process of the command has ended: nothing uses the private
	 * directory now. Removed before the outputs are written, so that the
	 * depfile's targets are the files written that outlive the run.
	 */
	scratch_destroy(opts.scratch);
	opts.scratch = NULL;
	if (opts.report_file) {
		err = report_write(report, opts.report_file);
		if (err < 0) {
			errno = -err;
			warn("cannot write the report %s: %s", opts.report_file, strerror(-err));
			status = PTVFS_EXIT_FAILURE;
		}
	}
	status = write_outputs(&opts, report, status);
	report_free(report);
	options_free(&opts);
	return status;
}
