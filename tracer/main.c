// SPDX-License-Identifier: MIT
/*
 * ptvfs: run a command and record every file it touches.
 * Option parsing only fills struct options; the work is in trace/ and core/.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/report.h"
#include "ptvfs/util.h"
#include "trace/tracer.h"

static const char usage[] =
    "usage: ptvfs [OPTION]... [--] COMMAND [ARG]...\n"
    "Run COMMAND, following every process it starts, and record each file it touches.\n"
    "\n"
    "  --report FILE   write the record as JSON to FILE when the command ends\n"
    "  -h, --help      show this help and exit\n"
    "  --version       show the version and exit\n"
    "\n"
    "Exit status: the command's own; 128+N when signal N killed it; 125 when ptvfs\n"
    "fails; 126 when the command cannot be run; 127 when it is not found.\n";

/* The value of option ARGV[*I], which must follow it. */
static const char *option_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		die("option %s needs a value (see ptvfs --help)", argv[*i]);
	return argv[++*i];
}

/* The directory an output file goes in must exist before anything runs. */
static void check_output_file(const char *option, const char *file)
{
	autofree char *copy = xstrdup(file);
	char *slash = strrchr(copy, '/');
	const char *dir = ".";
	struct stat st;

	if (!*file)
		die("option %s: empty file name", option);
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		die("option %s %s: directory %s does not exist", option, file, dir);
	if (access(dir, W_OK) < 0)
		die("option %s %s: directory %s is not writable", option, file, dir);
}

static void parse_options(int argc, char **argv, struct options *opts)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-')
			break;
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(usage, stdout);
			exit(0);
		} else if (strcmp(arg, "--version") == 0) {
			printf("ptvfs %s\n", PTVFS_VERSION);
			exit(0);
		} else if (strcmp(arg, "--report") == 0) {
			opts->report_file = option_value(argc, argv, &i);
			check_output_file(arg, opts->report_file);
		} else {
			die("unknown option %s (see ptvfs --help)", arg);
		}
	}
	if (i >= argc)
		die("no command given (see ptvfs --help)");
	opts->command = argv + i;
}

int main(int argc, char **argv)
{
	struct options opts = {0};
	struct report *report;
	char cwd[PATH_MAX];
	int status, err;

	parse_options(argc, argv, &opts);
	if (!getcwd(cwd, sizeof(cwd)))
		die_errno("cannot read the current directory");
	report = report_new();
	report_set_command(report, opts.command, cwd);
	status = trace_command(&opts, report);
	if (opts.report_file) {
		err = report_write(report, opts.report_file);
		if (err < 0) {
			errno = -err;
			warn("cannot write the report %s: %s", opts.report_file, strerror(-err));
			status = PTVFS_EXIT_FAILURE;
		}
	}
	report_free(report);
	return status;
}
