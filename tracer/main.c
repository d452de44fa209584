// SPDX-License-Identifier: MIT
/*
 * ptvfs: run a command and record every file it touches.
 * The command line is read in options.c; the work is in trace/ and core/.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "ptvfs/report.h"
#include "ptvfs/util.h"
#include "scratch.h"
#include "trace/tracer.h"

int main(int argc, char **argv)
{
	struct options opts = {0};
	struct report *report;
	char cwd[PATH_MAX];
	int status, err;

	/* Any die() from here on still removes the private directory (scratch.c, at exit). */
	options_parse(argc, argv, &opts);
	if (!getcwd(cwd, sizeof(cwd)))
		die_errno("cannot read the current directory");
	report = report_new();
	report_set_command(report, opts.command, cwd);
	status = trace_command(&opts, report);
	/* Every process of the command has ended: nothing uses the private directory now. */
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
	report_free(report);
	options_free(&opts);
	return status;
}
