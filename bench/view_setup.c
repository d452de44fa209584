// SPDX-License-Identifier: MIT
/*
 * Time to set up the view of a large manifest: view_add_inputs and
 * view_seal, median of 5 runs, with the size of the sealed image and the
 * process's peak resident memory.
 *
 *   build/view_setup_bench                      # generate 100,000 files in 3,000 directories
 *   build/view_setup_bench FILES DIRS           # another tree of that shape
 *   build/view_setup_bench -m MANIFEST [CWD]    # an existing manifest (relative to CWD)
 *
 * The generated tree and manifest live in a temporary directory under
 * $TMPDIR (or /tmp), removed at exit. The manifest lists the files with
 * paths relative to the tree's top, in a shuffled order of directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "ptvfs/view.h"

#define RUNS 5

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A tree of FILES empty files in DIRS directories (two levels) under TOP, and its manifest. */
static void generate(const char *top, long files, long dirs, const char *manifest)
{
	struct strbuf sb = {0};
	char path[PATH_MAX];
	long per_dir = (files + dirs - 1) / dirs, made = 0;
	FILE *out;

	for (long d = 0; d < dirs && made < files; d++) {
		/* Visit directories in a scattered order, as a build's inputs come. */
		long dir = (d * 7919) % dirs;

		snprintf(path, sizeof(path), "%s/src/mod%03ld", top, dir / 100);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die_errno("mkdir %s", path);
		snprintf(path, sizeof(path), "%s/src/mod%03ld/pkg%04ld", top, dir / 100, dir);
		if (mkdir(path, 0755) < 0)
			die_errno("mkdir %s", path);
		for (long f = 0; f < per_dir && made < files; f++, made++) {
			int fd;

			snprintf(path, sizeof(path), "%s/src/mod%03ld/pkg%04ld/file_%05ld.h", top,
				 dir / 100, dir, f);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0)
				die_errno("create %s", path);
			close(fd);
			strbuf_addf(&sb, "src/mod%03ld/pkg%04ld/file_%05ld.h\n", dir / 100, dir, f);
		}
	}
	out = fopen(manifest, "w");
	if (!out || fwrite(sb.buf, 1, sb.len, out) != sb.len || fclose(out) != 0)
		die_errno("write %s", manifest);
	strbuf_release(&sb);
}

int main(int argc, char **argv)
{
	char top[PATH_MAX] = "", manifest[PATH_MAX], cwd[PATH_MAX];
	double total[RUNS], add[RUNS], seal[RUNS];
	long files = 100000, dirs = 3000;
	size_t image = 0, inputs = 0;
	struct rusage ru;

	if (argc >= 3 && strcmp(argv[1], "-m") == 0) {
		snprintf(manifest, sizeof(manifest), "%s", argv[2]);
		if (argc >= 4)
			snprintf(cwd, sizeof(cwd), "%s", argv[3]);
		else if (!getcwd(cwd, sizeof(cwd)))
			die_errno("getcwd");
	} else {
		const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		double t0;

		if (argc >= 3) {
			files = atol(argv[1]);
			dirs = atol(argv[2]);
		}
		if (files <= 0 || dirs <= 0)
			die("usage: %s [FILES DIRS | -m MANIFEST [CWD]]", argv[0]);
		snprintf(top, sizeof(top), "%s/view-bench.XXXXXX", tmp);
		if (!mkdtemp(top))
			die_errno("mkdtemp");
		snprintf(cwd, sizeof(cwd), "%s", top);
		snprintf(manifest, sizeof(manifest), "%s/inputs.txt", top);
		snprintf(cwd + strlen(cwd), sizeof(cwd) - strlen(cwd), "/src");
		if (mkdir(cwd, 0755) < 0)
			die_errno("mkdir %s", cwd);
		snprintf(cwd, sizeof(cwd), "%s", top);
		t0 = now_ms();
		generate(top, files, dirs, manifest);
		printf("generated %ld files in %ld directories in %.0f ms\n", files, dirs,
		       now_ms() - t0);
	}

	for (int run = 0; run < RUNS; run++) {
		struct view *v = view_new();
		char *err = NULL;
		double t0 = now_ms(), t1;

		if (view_add_inputs(v, manifest, cwd, &err) < 0)
			die("%s", err);
		t1 = now_ms();
		if (view_seal(v, &err) < 0)
			die("%s", err);
		seal[run] = now_ms() - t1;
		add[run] = t1 - t0;
		total[run] = now_ms() - t0;
		image = view_image_size(v);
		inputs = view_input_count(v);
		view_free(v);
	}
	qsort(total, RUNS, sizeof(double), cmp_double);
	qsort(add, RUNS, sizeof(double), cmp_double);
	qsort(seal, RUNS, sizeof(double), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("inputs: %zu\n", inputs);
	printf("view_add_inputs + view_seal: %.1f ms (median of %d; min %.1f, max %.1f)\n",
	       total[RUNS / 2], RUNS, total[0], total[RUNS - 1]);
	printf("  view_add_inputs: %.1f ms, view_seal: %.1f ms (medians)\n", add[RUNS / 2],
	       seal[RUNS / 2]);
	printf("image: %zu bytes (%.1f MB, %.0f bytes per input)\n", image, image / 1048576.0,
	       inputs ? (double)image / inputs : 0.0);
	printf("peak RSS: %.1f MB\n", ru.ru_maxrss / 1024.0);
	if (top[0])
		nftw(top, remove_entry, 64, FTW_DEPTH | FTW_PHYS);
	return 0;
}
