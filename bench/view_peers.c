// SPDX-License-Identifier: MIT
/*
 * What other sandboxes do to show an action its declared inputs, timed on
 * the same manifest as `ptvfs --inputs` (bench/bench.py, section
 * view-setup, builds and runs this; it needs nothing but libc):
 *
 *   view_peers generate FILES DIRS TOP MANIFEST
 *       the inputs: FILES empty files in DIRS directories under TOP/src, in
 *       the layout of bench/view_setup.c, and their manifest, each DEST
 *       under exec/ (relative: to the directory ptvfs starts in, TOP).
 *
 *   view_peers forest MANIFEST ROOT
 *       a symbolic link forest, as Bazel's sandbox builds for each action:
 *       the directories of the DESTs under ROOT (mkdir -p), then one link
 *       ROOT/DEST -> SRC a line; then the whole tree removed again (Bazel
 *       deletes it after the action), timed on its own.
 *
 *   view_peers binds dirs|files MANIFEST ROOT       (root only)
 *       bind mounts, in a private mount namespace of this process
 *       (unshare(CLONE_NEWNS), then / made recursively private, so
 *       nothing reaches the host's mounts): a tmpfs on ROOT, a skeleton of
 *       mount points in it, then read-only bind mounts (a bind, then a
 *       read-only remount of it, as bubblewrap's --ro-bind does): "dirs"
 *       binds each source directory once on ROOT/dirname(DEST), "files"
 *       binds each file on ROOT/DEST; then the tmpfs is detached with
 *       everything on it. A namespace holds at most fs.mount-max mounts
 *       (100,000 by default, counting those it started with): "files"
 *       binds as many as fit and says how many.
 *
 * MANIFEST: lines "DEST<TAB>SRC", DEST relative (it is put under ROOT), SRC
 * absolute; lines of a directory together (as bench.py writes them).
 * Output: one line of key=value pairs (times in ms, CLOCK_MONOTONIC,
 * around the work only: no process start-up).
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "view_peers: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct line {
	char *dest; /* relative */
	char *src;  /* absolute */
};

/* Read MANIFEST (whole, parsed in place) into *LINES; returns their number. */
static size_t read_manifest(const char *path, struct line **lines)
{
	size_t cap = 1024, n = 0, len = 0, size = 1 << 20;
	char *buf = malloc(size), *p;
	struct line *v = malloc(cap * sizeof(*v));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf || !v)
		fail("%s", path);
	while ((r = read(fd, buf + len, size - len - 1)) != 0) {
		if (r < 0)
			fail("read %s", path);
		len += r;
		if (size - len - 1 == 0 && !(buf = realloc(buf, size *= 2)))
			fail("realloc");
	}
	close(fd);
	buf[len] = '\0';
	for (p = buf; *p;) {
		char *nl = strchr(p, '\n'), *tab;

		if (nl)
			*nl = '\0';
		tab = strchr(p, '\t');
		if (!tab || p[0] == '/' || tab[1] != '/') {
			errno = EINVAL;
			fail("%s: line %zu is not DEST<TAB>/SRC", path, n + 1);
		}
		*tab = '\0';
		if (n == cap && !(v = realloc(v, (cap *= 2) * sizeof(*v))))
			fail("realloc");
		v[n].dest = p;
		v[n].src = tab + 1;
		n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	*lines = v;
	return n;
}

/* mkdir -p PATH (a writable copy is made); existing directories are fine. */
static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return;
	if (errno != ENOENT)
		fail("mkdir %s", path);
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			fail("mkdir %s", buf);
		*s = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		fail("mkdir %s", buf);
}

/* Length of the directory part of P (up to its last '/'; 0 if none). */
static size_t dir_len(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? (size_t)(s - p) : 0;
}

/* Remove everything in the directory open as FD (closed here), as rm -rf does. */
static void remove_in(int fd, const char *what)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;

	if (!d)
		fail("fdopendir %s", what);
	while ((errno = 0, e = readdir(d))) {
		int is_dir = e->d_type == DT_DIR;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				fail("stat %s/%s", what, e->d_name);
			is_dir = S_ISDIR(st.st_mode);
		}
		if (is_dir) {
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				fail("open %s/%s", what, e->d_name);
			remove_in(sub, e->d_name);
		}
		if (unlinkat(dirfd(d), e->d_name, is_dir ? AT_REMOVEDIR : 0) < 0)
			fail("remove %s/%s", what, e->d_name);
	}
	if (errno)
		fail("readdir %s", what);
	closedir(d);
}

static int forest(const char *manifest, const char *root)
{
	struct line *v;
	size_t n = read_manifest(manifest, &v), prev_len = 0, dirs = 0;
	const char *prev = NULL;
	char path[PATH_MAX];
	int dfd = -1, fd;
	double t0, t1, t2;

	t0 = now_ms();
	mkdir_p(root);
	for (size_t i = 0; i < n; i++) {
		size_t dl = dir_len(v[i].dest);

		/* A new directory: mkdir -p it, and make the links from a descriptor of it. */
		if (!prev || dl != prev_len || memcmp(prev, v[i].dest, dl) != 0) {
			if (dfd >= 0)
				close(dfd);
			snprintf(path, sizeof(path), "%s/%.*s", root, (int)dl, v[i].dest);
			mkdir_p(path);
			dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				fail("open %s", path);
			prev = v[i].dest;
			prev_len = dl;
			dirs++;
		}
		if (symlinkat(v[i].src, dfd, v[i].dest + (dl ? dl + 1 : 0)) < 0)
			fail("symlink %s/%s", root, v[i].dest);
	}
	if (dfd >= 0)
		close(dfd);
	t1 = now_ms();
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail("open %s", root);
	remove_in(fd, root);
	if (rmdir(root) < 0)
		fail("rmdir %s", root);
	t2 = now_ms();
	printf("links=%zu dirs=%zu create_ms=%.3f remove_ms=%.3f\n", n, dirs, t1 - t0, t2 - t1);
	return 0;
}

static long mounts_now(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	long n = 0;
	int c;

	if (!f)
		fail("/proc/self/mountinfo");
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static long mount_max(void)
{
	FILE *f = fopen("/proc/sys/fs/mount-max", "r");
	long m = 100000;

	if (f) {
		if (fscanf(f, "%ld", &m) != 1)
			m = 100000;
		fclose(f);
	}
	return m;
}

static int binds(const char *mode, const char *manifest, const char *root)
{
	struct line *v;
	size_t n = read_manifest(manifest, &v), count = 0, limit;
	int files = strcmp(mode, "files") == 0;
	char **src, **dst;
	double t0, t1, t2, t3, t4, t5;
	struct stat a, b;

	if (!files && strcmp(mode, "dirs") != 0) {
		errno = EINVAL;
		fail("binds: mode %s (dirs or files)", mode);
	}
	src = malloc(n * sizeof(*src));
	dst = malloc(n * sizeof(*dst));
	if (!src || !dst)
		fail("malloc");

	mkdir_p(root);
	t0 = now_ms();
	if (unshare(CLONE_NEWNS) < 0)
		fail("unshare(CLONE_NEWNS)");
	/* Nothing mounted from here on may propagate to the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("make / private");
	t1 = now_ms();

	/*
	 * What is mounted where (not timed: a sandbox gets it from its caller).
	 * Files: as many as the namespace holds, with room for the tmpfs and
	 * for the one mount the kernel counts beyond /proc/self/mountinfo.
	 */
	limit = mount_max() - mounts_now() - 2;
	for (size_t i = 0; i < n; i++) {
		if (files) {
			if (count == limit)
				break;
			src[count] = v[i].src;
			if (asprintf(&dst[count], "%s/%s", root, v[i].dest) < 0)
				fail("asprintf");
			count++;
		} else {
			size_t dl = dir_len(v[i].dest), sl = dir_len(v[i].src);
			char d[PATH_MAX];

			snprintf(d, sizeof(d), "%s/%.*s", root, (int)dl, v[i].dest);
			if (count && strcmp(dst[count - 1], d) == 0)
				continue;
			if (!(dst[count] = strdup(d)) ||
			    asprintf(&src[count], "%.*s", (int)sl, v[i].src) < 0)
				fail("strdup");
			count++;
		}
	}

	t2 = now_ms();
	if (mount("tmpfs", root, "tmpfs", 0, "mode=0755") < 0)
		fail("mount tmpfs on %s", root);
	for (size_t i = 0; i < count; i++) {
		if (files) {
			size_t dl = dir_len(dst[i]);
			int fd;

			if (i == 0 || dl != dir_len(dst[i - 1]) ||
			    memcmp(dst[i], dst[i - 1], dl) != 0) {
				char d[PATH_MAX];

				snprintf(d, sizeof(d), "%.*s", (int)dl, dst[i]);
				mkdir_p(d);
			}
			fd = open(dst[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0)
				fail("create %s", dst[i]);
			close(fd);
		} else {
			mkdir_p(dst[i]);
		}
	}
	t3 = now_ms();
	for (size_t i = 0; i < count; i++)
		if (mount(src[i], dst[i], NULL, MS_BIND, NULL) < 0)
			fail("bind %zu of %zu: %s on %s", i + 1, count, src[i], dst[i]);
	t4 = now_ms();
	for (size_t i = 0; i < count; i++)
		if (mount(NULL, dst[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
			fail("remount %s read-only", dst[i]);
	t5 = now_ms();

	/* Check: the last mount point shows its source, read-only. */
	if (count && (stat(src[count - 1], &a) < 0 || stat(dst[count - 1], &b) < 0 ||
		      a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
		errno = EIO;
		fail("%s does not show %s", dst[count - 1], src[count - 1]);
	}
	if (count && access(dst[count - 1], W_OK) == 0)
		errno = 0;
	if (count && errno != EROFS)
		fail("%s is not read-only", dst[count - 1]);
	long mounted = mounts_now();
	double t6 = now_ms();
	if (umount2(root, MNT_DETACH) < 0)
		fail("umount %s", root);
	double t7 = now_ms();

	printf("mode=%s inputs=%zu mounts=%zu namespace_mounts=%ld mount_max=%ld unshare_ms=%.3f "
	       "skeleton_ms=%.3f bind_ms=%.3f ro_ms=%.3f umount_ms=%.3f\n",
	       mode, n, count, mounted, mount_max(), t1 - t0, t3 - t2, t4 - t3, t5 - t4, t7 - t6);
	return 0;
}

/*
 * The inputs: FILES empty files in DIRS directories (two levels) under
 * TOP/src, laid out and ordered as bench/view_setup.c makes them, and the
 * manifest "exec/modM/pkgP/file_F.h<TAB>TOP/src/modM/pkgP/file_F.h".
 */
static int generate(long files, long dirs, const char *top, const char *manifest)
{
	long per_dir = (files + dirs - 1) / dirs, made = 0;
	char path[PATH_MAX];
	FILE *out = fopen(manifest, "w");

	if (!out)
		fail("%s", manifest);
	snprintf(path, sizeof(path), "%s/src", top);
	mkdir_p(path);
	for (long d = 0; d < dirs && made < files; d++) {
		/* Directories in a scattered order, as a build's inputs come. */
		long dir = (d * 7919) % dirs;

		snprintf(path, sizeof(path), "%s/src/mod%03ld/pkg%04ld", top, dir / 100, dir);
		mkdir_p(path);
		for (long f = 0; f < per_dir && made < files; f++, made++) {
			int fd;

			snprintf(path, sizeof(path), "%s/src/mod%03ld/pkg%04ld/file_%05ld.h", top,
				 dir / 100, dir, f);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0)
				fail("create %s", path);
			close(fd);
			fprintf(out, "exec/mod%03ld/pkg%04ld/file_%05ld.h\t%s\n", dir / 100, dir, f,
				path);
		}
	}
	if (fclose(out) != 0)
		fail("write %s", manifest);
	printf("files=%ld dirs=%ld\n", made, dirs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "generate") == 0)
		return generate(atol(argv[2]), atol(argv[3]), argv[4], argv[5]);
	if (argc == 4 && strcmp(argv[1], "forest") == 0)
		return forest(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "binds") == 0)
		return binds(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: view_peers generate FILES DIRS TOP MANIFEST\n"
			"       view_peers forest MANIFEST ROOT\n"
			"       view_peers binds dirs|files MANIFEST ROOT\n");
	return 2;
}
