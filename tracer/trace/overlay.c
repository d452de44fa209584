// SPDX-License-Identifier: MIT
/*
 * Copy-on-write overlays (--overlay SRC DEST, DESIGN.md §4), as the tracer
 * applies them. The layer table says a view path is below an overlay and
 * where its lower file is (SRC/REL); the upper directory (upper.h) says
 * what the command changed: UPPER/N/REL when it has a copy, absent when REL
 * or an ancestor is a whiteout, else the lower file. SRC is never written:
 * a write first copies the file up (and the directories on the way), a
 * delete of a lower object leaves a whiteout and does not reach the kernel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/upper.h"
#include "ptvfs/util.h"
#include "tracer.h"

/* One overlay declaration, learned the first time a path below it is seen. */
struct overlay {
	uint32_t layer_index;
	int n;	   /* its index in the upper directory */
	char *src; /* host */
	char *dest;
	size_t dest_len;
	char *upper; /* UPPER/N */
	/* Anything changed below DEST yet (here or in a run before): else no upper lookups. */
	bool changed;
	UT_hash_handle hh;
};

/* The upper directory, opened when an overlay is first met. */
static bool have_upper(struct tracer *t)
{
	char *err = NULL;

	if (t->upper)
		return true;
	if (!t->upper_dir)
		return false;
	t->upper = upper_open(t->upper_dir, &err);
	if (t->upper)
		report_set_upper(t->report, upper_dir(t->upper));
	if (!t->upper) {
		warn("%s", err);
		free(err);
		free(t->upper_dir);
		t->upper_dir = NULL; /* said once; every write below an overlay then fails */
	}
	return t->upper != NULL;
}

/* Whether OV's upper directory has anything yet: files, or whiteouts of a run before. */
static bool has_changes(struct tracer *t, const struct overlay *ov)
{
	size_t whiteouts = 0;
	autofree const char **list = upper_whiteouts(t->upper, ov->n, &whiteouts);
	DIR *d = opendir(ov->upper);
	struct dirent *e;
	bool found = whiteouts > 0;

	while (d && !found && (e = readdir(d)))
		found = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return found;
}

/* The overlay deciding the view path PATH (TARGET its lookup), and REL in it. */
static struct overlay *overlay_of(struct tracer *t, const char *path,
				  const struct view_target *target, const char **rel)
{
	struct overlay *ov;
	uint32_t index = target->layer_index;

	if (!have_upper(t))
		return NULL;
	HASH_FIND(hh, t->overlays, &index, sizeof(index), ov);
	if (!ov) {
		/* DEST is the shortest ancestor of PATH decided by the same declaration. */
		char dest[PATH_MAX];
		struct view_target at;
		size_t len = strlen(path), best = len, host_len = strlen(target->host);

		snprintf(dest, sizeof(dest), "%s", path);
		for (size_t i = len; i > 0; i--) {
			if (path[i] != '/' && path[i] != '\0')
				continue;
			dest[i] = '\0';
			if (view_lookup(t->view, i ? dest : "/", &at) < 0 ||
			    at.layer != LAYER_OVERLAY || at.layer_index != index)
				break;
			best = i;
			dest[i] = path[i];
		}
		if (len - best > host_len)
			return NULL;
		ov = xcalloc(1, sizeof(*ov));
		ov->layer_index = index;
		ov->dest = xstrndup(path, best);
		ov->dest_len = best;
		ov->src = xstrndup(target->host, host_len - (len - best));
		ov->n = upper_add_overlay(t->upper, ov->src, ov->dest);
		ov->upper = xstrdup(upper_overlay_dir(t->upper, ov->n));
		ov->changed = has_changes(t, ov);
		HASH_ADD(hh, t->overlays, layer_index, sizeof(ov->layer_index), ov);
	}
	*rel = path + ov->dest_len;
	while (**rel == '/')
		(*rel)++;
	return ov;
}

static void upper_path(const struct overlay *ov, const char *rel, char *out)
{
	snprintf(out, PATH_MAX, "%s%s%s", ov->upper, *rel ? "/" : "", rel);
}

void overlay_apply(struct tracer *t, const char *path, struct view_target *target)
{
	struct overlay *ov;
	const char *rel;
	char upper[PATH_MAX];
	struct stat st;

	if (target->layer != LAYER_OVERLAY || target->kind != VIEW_HOST)
		return;
	ov = overlay_of(t, path, target, &rel);
	if (!ov || !ov->changed)
		return;
	upper_path(ov, rel, upper);
	if (lstat(upper, &st) == 0) {
		snprintf(target->host, sizeof(target->host), "%s", upper);
	} else if (upper_is_whiteout(t->upper, ov->n, rel)) {
		target->kind = VIEW_ABSENT;
	}
}

int overlay_view_path(struct tracer *t, const char *host, char *out)
{
	struct overlay *ov, *tmp;

	HASH_ITER(hh, t->overlays, ov, tmp)
	{
		size_t n = strlen(ov->upper);

		if (strncmp(host, ov->upper, n) == 0 && (host[n] == '\0' || host[n] == '/')) {
			snprintf(out, PATH_MAX, "%s%s", ov->dest, host + n);
			return 0;
		}
	}
	return -ENOENT;
}

/* Copy the lower file FROM to TO (new), contents, mode and times. */
static int copy_file(const char *from, const char *to, const struct stat *st)
{
	autoclose int in = open(from, O_RDONLY | O_CLOEXEC);
	autoclose int out = -1;
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	off_t left = st->st_size;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return -errno;
	/* The kernel copies (or reflinks) without the data passing through ptvfs. */
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, left, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
			char buf[65536];
			n = read(in, buf, sizeof(buf));
			if (n > 0 && write(out, buf, n) != n)
				return -EIO;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		left -= n;
	}
	fchmod(out, st->st_mode & 07777);
	futimens(out, times);
	return 0;
}

/* Make UPPER/N/REL's directories, each with its lower directory's mode. */
static int copy_up_parents(struct overlay *ov, const char *rel)
{
	char up[PATH_MAX], low[PATH_MAX];

	for (const char *p = rel; (p = strchr(p, '/')); p++) {
		int len = (int)(p - rel);
		struct stat st;

		snprintf(up, sizeof(up), "%s/%.*s", ov->upper, len, rel);
		if (lstat(up, &st) == 0)
			continue;
		snprintf(low, sizeof(low), "%s/%.*s", ov->src, len, rel);
		if (lstat(low, &st) < 0 || !S_ISDIR(st.st_mode))
			st.st_mode = 0755;
		if (mkdir(up, st.st_mode & 07777) < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/* Copy the lower object SRC/REL up, a directory with all below it when DEEP. */
static int copy_up(struct tracer *t, struct overlay *ov, const char *rel, bool deep)
{
	char up[PATH_MAX], low[PATH_MAX];
	struct stat st;
	int err;

	upper_path(ov, rel, up);
	snprintf(low, sizeof(low), "%s/%s", ov->src, rel);
	if (lstat(up, &st) == 0 && !deep)
		return 0;
	if (lstat(low, &st) < 0)
		return -errno;
	err = copy_up_parents(ov, rel);
	if (err < 0)
		return err;
	if (S_ISDIR(st.st_mode)) {
		DIR *d;
		struct dirent *e;

		if (mkdir(up, st.st_mode & 07777) < 0 && errno != EEXIST)
			return -errno;
		if (!deep || !(d = opendir(low)))
			return 0;
		while ((e = readdir(d))) {
			char sub[PATH_MAX];

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
			if (upper_is_whiteout(t->upper, ov->n, sub))
				continue;
			err = copy_up(t, ov, sub, true);
			if (err < 0 && err != -EEXIST)
				break;
		}
		closedir(d);
		return err < 0 && err != -EEXIST ? err : 0;
	}
	if (lstat(up, &st) == 0)
		return 0; /* already copied (a deep copy meets what was copied before) */
	lstat(low, &st);
	upper_note_copy_up(t->upper, ov->n, rel, low);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(low, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		err = symlink(target, up) < 0 ? -errno : 0;
	} else if (S_ISREG(st.st_mode)) {
		err = copy_file(low, up, &st);
	} else {
		err = -EOPNOTSUPP; /* a device or fifo of SRC is not copied up */
	}
	upper_save(t->upper);
	return err;
}

/* Whether the lower directory SRC/REL has a name the view still shows. */
static bool lower_dir_has_entries(struct tracer *t, struct overlay *ov, const char *rel)
{
	char low[PATH_MAX], sub[PATH_MAX];
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(low, sizeof(low), "%s/%s", ov->src, rel);
	d = opendir(low);
	while (d && !found && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
		found = !upper_is_whiteout(t->upper, ov->n, sub);
	}
	if (d)
		closedir(d);
	return found;
}

/* Whether TARGET (of OV) is the upper directory's copy. */
static bool in_upper(const struct overlay *ov, const struct view_target *target)
{
	size_t n = strlen(ov->upper);

	return strncmp(target->host, ov->upper, n) == 0 &&
	       (target->host[n] == '\0' || target->host[n] == '/');
}

bool overlay_is_lower(struct tracer *t, const char *path, const struct view_target *target)
{
	struct overlay *ov;
	const char *rel;

	if (target->layer != LAYER_OVERLAY)
		return false;
	if (!(ov = overlay_of(t, path, target, &rel)))
		return true;
	return !in_upper(ov, target);
}

/*
 * The permission checks the kernel would make on the source, which the
 * copies (the user's own) no longer carry: NEED on the file SRC/REL (ST),
 * and for a name made or removed, write and search on its directory.
 */
static int check_permission(struct overlay *ov, const char *rel, enum overlay_change change,
			    enum overlay_need need, const struct stat *st, bool in_lower)
{
	char dir[PATH_MAX], up[PATH_MAX];
	const char *slash = strrchr(rel, '/');
	struct stat dst;

	if (change == OVERLAY_CHANGE && in_lower) {
		char low[PATH_MAX];

		snprintf(low, sizeof(low), "%s/%s", ov->src, rel);
		if (need == OVERLAY_NEED_WRITE && S_ISREG(st->st_mode) &&
		    faccessat(AT_FDCWD, low, W_OK, AT_EACCESS) < 0)
			return -EACCES;
		if (need == OVERLAY_NEED_OWNER && geteuid() != 0 && st->st_uid != geteuid())
			return -EPERM;
		return 0;
	}
	if (change == OVERLAY_CHANGE)
		return 0;
	/* The directory as the source has it, else as the command made it. */
	int len = slash ? (int)(slash - rel) : 0;

	if (snprintf(dir, sizeof(dir), "%s/%.*s", ov->src, len, rel) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (lstat(dir, &dst) < 0) {
		upper_path(ov, "", up);
		if (snprintf(dir, sizeof(dir), "%s/%.*s", up, len, rel) >= (int)sizeof(dir))
			return -ENAMETOOLONG;
	}
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0 && errno == EACCES)
		return -EACCES;
	return 0;
}

int overlay_write(struct tracer *t, const char *path, const struct view_target *target,
		  enum overlay_change change, enum overlay_need need, bool exists, char *host,
		  long *answer)
{
	struct overlay *ov;
	const char *rel;
	char low[PATH_MAX];
	struct stat st;
	bool in_lower;
	int err;

	*answer = 1;
	ov = overlay_of(t, path, target, &rel);
	if (!ov)
		return -EROFS;
	ov->changed = true;
	upper_path(ov, rel, host);
	/* DEST itself: a mount point, whose changes (chmod, utimes) go to the upper root. */
	if (!*rel)
		return change == OVERLAY_CHANGE || change == OVERLAY_CREATE ? 0 : -EBUSY;
	snprintf(low, sizeof(low), "%s/%s", ov->src, rel);
	in_lower = !upper_is_whiteout(t->upper, ov->n, rel) && lstat(low, &st) == 0;
	err = check_permission(ov, rel, change, need, &st, in_lower && !in_upper(ov, target));
	if (err < 0)
		return err;
	switch (change) {
	case OVERLAY_CHANGE:
		/* Written, truncated, chmod'ed, linked to: the kernel works on a copy. */
		if (exists && !in_upper(ov, target))
			return copy_up(t, ov, rel, false);
		return copy_up_parents(ov, rel);
	case OVERLAY_CREATE:
		return copy_up_parents(ov, rel);
	case OVERLAY_REPLACE:
		/* A directory replaced by a rename must look empty, its source names included. */
		if (in_lower && S_ISDIR(st.st_mode) && lower_dir_has_entries(t, ov, rel))
			return -ENOTEMPTY;
		if (exists && !in_upper(ov, target))
			return copy_up(t, ov, rel, false);
		return copy_up_parents(ov, rel);
	case OVERLAY_MOVE:
		/* A rename's source: the whole object moves in the upper directory. */
		err = copy_up_parents(ov, rel);
		if (err < 0)
			return err;
		if (in_lower) {
			err = copy_up(t, ov, rel, true);
			if (err < 0)
				return err;
			upper_note_whiteout(t->upper, ov->n, rel, low);
			upper_save(t->upper);
		}
		return 0;
	case OVERLAY_DELETE:
		if (!in_lower)
			return 0; /* only in the upper directory: the kernel removes it */
		/* The directory's upper copy says its listing changed (overlay_lists). */
		err = copy_up_parents(ov, rel);
		if (err < 0)
			return err;
		if (S_ISDIR(st.st_mode) && lower_dir_has_entries(t, ov, rel))
			return -ENOTEMPTY;
		if (in_upper(ov, target)) {
			/* The copy goes by the kernel's call; the lower one by a whiteout. */
			upper_note_whiteout(t->upper, ov->n, rel, low);
			upper_save(t->upper);
			return 0;
		}
		upper_note_whiteout(t->upper, ov->n, rel, low);
		upper_save(t->upper);
		*answer = 0; /* done: the call does not reach the kernel */
		return 0;
	}
	return 0;
}

void overlay_rename_done(struct tracer *t, const char *from, const struct view_target *from_t,
			 const char *to, const struct view_target *to_t)
{
	struct overlay *a, *b;
	const char *ra, *rb;

	if (from_t->layer != LAYER_OVERLAY || to_t->layer != LAYER_OVERLAY)
		return;
	a = overlay_of(t, from, from_t, &ra);
	b = overlay_of(t, to, to_t, &rb);
	if (a && a == b) {
		char low[PATH_MAX];
		struct stat st;

		upper_note_rename(t->upper, a->n, ra, rb);
		/* What the rename replaces at TO is gone, a directory's lower names with it. */
		snprintf(low, sizeof(low), "%s/%s", b->src, rb);
		if (*rb && lstat(low, &st) == 0 && !upper_is_whiteout(t->upper, b->n, rb))
			upper_note_whiteout(t->upper, b->n, rb, low);
		upper_save(t->upper);
	}
}

bool overlay_lists(struct tracer *t, const char *path, const struct view_target *target)
{
	struct overlay *ov;
	const char *rel;
	char up[PATH_MAX];
	struct stat st;

	/* Every change below a directory makes its upper copy: without one, SRC's listing is it. */
	if (target->layer != LAYER_OVERLAY || !(ov = overlay_of(t, path, target, &rel)) ||
	    !ov->changed)
		return false;
	upper_path(ov, rel, up);
	return lstat(up, &st) == 0 && S_ISDIR(st.st_mode);
}

void overlay_list(struct tracer *t, const char *path, const struct view_target *target,
		  void (*add)(void *ctx, const char *dir_host, const char *name), void *ctx)
{
	struct overlay *ov;
	const char *rel;
	char dir[PATH_MAX], sub[PATH_MAX];
	DIR *d;
	struct dirent *e;

	ov = overlay_of(t, path, target, &rel);
	if (!ov)
		return;
	/* The upper directory's names, then the lower ones not whited out. */
	upper_path(ov, rel, dir);
	if ((d = opendir(dir))) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				add(ctx, dir, e->d_name);
		closedir(d);
	}
	if (upper_is_whiteout(t->upper, ov->n, rel) && *rel)
		return; /* a directory made again where a lower one was removed: opaque */
	snprintf(dir, sizeof(dir), "%s%s%s", ov->src, *rel ? "/" : "", rel);
	if ((d = opendir(dir))) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
			if (!upper_is_whiteout_exact(t->upper, ov->n, sub))
				add(ctx, dir, e->d_name);
		}
		closedir(d);
	}
}

void overlay_free(struct tracer *t)
{
	struct overlay *ov, *tmp;

	HASH_ITER(hh, t->overlays, ov, tmp)
	{
		HASH_DEL(t->overlays, ov);
		free(ov->src);
		free(ov->dest);
		free(ov->upper);
		free(ov);
	}
	if (t->upper) {
		upper_save(t->upper);
		upper_free(t->upper);
		t->upper = NULL;
	}
	free(t->upper_dir);
}
