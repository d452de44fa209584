// SPDX-License-Identifier: MIT
/*
 * `ptvfs diff UPPER [SRC|N]` and `ptvfs apply UPPER`: the changes an
 * overlay captured (upper_changes.h), printed as a patch in git's form or
 * copied back to their sources.
 *
 * diff: what `git diff --binary` would print for them, relative to the
 * overlay's SRC as it is now, sorted by path: text hunks with 3 lines of
 * context; new and deleted files; renames the record holds whose contents
 * did not change ("similarity index 100%", else a deletion and a new
 * file); git's two file modes (a change of permissions other than the
 * owner's x bit is not shown); links (mode 120000); binary files (a NUL in
 * the first 8000 bytes, as git decides) as "GIT binary patch" literals
 * with the full index line that git apply wants (GNU patch skips those and
 * exits 1). Names are quoted as git quotes them. Empty directories and
 * what is below .git are left out. With several overlays each one's part
 * follows a line "# ptvfs overlay N: SRC" (git apply and patch skip it) and
 * is relative to its own SRC; `ptvfs diff UPPER SRC` (or N) prints one.
 * No change: no output. Exit 0, or 125 when UPPER is no upper directory
 * or a file cannot be read.
 *
 * apply: first checks every source a change touches against the record:
 * a file changed (type, mode, size or contents: a file rewritten with the
 * same bytes is unchanged), deleted, or created where the view has a new
 * file, since the run makes it refuse, one line per file on stderr, exit
 * 1, nothing changed. Then writes each file to a temporary beside it,
 * fsync()s it and renames it over (a crash leaves whole files, at worst a
 * stray .ptvfs-apply.* temporary), deletes what the view deleted, removes
 * the directories it removed and makes the empty ones it made. What SRC
 * already has is skipped, so applying again changes nothing. The record
 * stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "upper_changes.h"
#include "ptvfs/sha.h"
#include "ptvfs/textdiff.h"
#include "ptvfs/upper.h"
#include "ptvfs/util.h"

#define EXIT_REFUSED 1

/* Open the upper directory DIR for reading: it must hold a record. NULL after a message. */
static struct upper *open_existing(const char *cmd, const char *dir)
{
	autofree char *record = xasprintf("%s/" UPPER_RECORD, dir);
	autofree char *err = NULL;
	struct stat st;
	struct upper *u;

	if (stat(dir, &st) < 0) {
		warn("%s: %s: %s", cmd, dir, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		warn("%s: %s: not a directory", cmd, dir);
		return NULL;
	}
	if (access(record, F_OK) < 0) {
		warn("%s: %s: no " UPPER_RECORD " in it: not an upper directory", cmd, dir);
		return NULL;
	}
	u = upper_open(dir, &err);
	if (!u)
		warn("%s: %s", cmd, err);
	return u;
}

/* ---- diff ---- */

static bool must_quote(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c >= 0x7f;
}

/* PREFIX and NAME as git writes a path: in C quotes when a byte needs it (core.quotePath). */
static void put_path(FILE *out, const char *prefix, const char *name)
{
	static const char esc[] = "\a\b\t\n\v\f\r";
	static const char letter[] = "abtnvfr";
	bool quote = false;

	for (const char *p = name; *p && !quote; p++)
		quote = must_quote(*p);
	if (!quote) {
		fprintf(out, "%s%s", prefix, name);
		return;
	}
	fprintf(out, "\"%s", prefix);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		const char *e = *p ? strchr(esc, *p) : NULL;

		if (!must_quote(*p))
			putc(*p, out);
		else if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (e)
			fprintf(out, "\\%c", letter[e - esc]);
		else
			fprintf(out, "\\%03o", *p);
	}
	putc('"', out);
}

/* A ---/+++ line; a tab after a name with a space, as git writes it for GNU patch. */
static void put_label(FILE *out, const char *mark, const char *prefix, const char *name)
{
	fprintf(out, "%s ", mark);
	if (!name) {
		fputs("/dev/null\n", out);
		return;
	}
	put_path(out, prefix, name);
	fputs(strchr(name, ' ') ? "\t\n" : "\n", out);
}

static unsigned git_mode(mode_t mode)
{
	if (S_ISLNK(mode))
		return 0120000;
	return mode & S_IXUSR ? 0100755 : 0100644;
}

struct side {
	char *data;
	size_t len;
	char id[41];
};

static int load_side(int rootfd, const char *root, const char *rel, struct side *s)
{
	unsigned char digest[20];
	int ret;

	if (!rel) {
		s->data = xstrdup("");
		s->len = 0;
		memset(s->id, '0', 40);
		s->id[40] = '\0';
		return 0;
	}
	ret = beneath_read(rootfd, rel, &s->data, &s->len);
	if (ret < 0) {
		warn("diff: %s/%s: %s", root, rel, strerror(-ret));
		return ret;
	}
	git_blob_id(s->data, s->len, digest);
	sha_hex(digest, 20, s->id);
	return 0;
}

static int print_change(FILE *out, struct overlay_changes *c, const struct change *ch)
{
	const char *a = ch->kind == CHANGE_ADD ? ch->new_rel : ch->old_rel;
	const char *b = ch->kind == CHANGE_DELETE ? ch->old_rel : ch->new_rel;
	mode_t kept = ch->kind == CHANGE_ADD ? ch->new_mode : ch->old_mode;
	bool modes_differ, binary;
	struct side old = {0}, new = {0};
	int ret = 0;

	if ((!S_ISREG(kept) && !S_ISLNK(kept)) ||
	    (ch->kind != CHANGE_DELETE && !S_ISREG(ch->new_mode) && !S_ISLNK(ch->new_mode)))
		return 0;
	modes_differ = (ch->kind == CHANGE_MODIFY || ch->kind == CHANGE_RENAME) &&
		       git_mode(ch->old_mode) != git_mode(ch->new_mode);
	if (ch->kind == CHANGE_RENAME) {
		fputs("diff --git ", out);
		put_path(out, "a/", a);
		putc(' ', out);
		put_path(out, "b/", b);
		putc('\n', out);
		if (modes_differ)
			fprintf(out, "old mode %06o\nnew mode %06o\n", git_mode(ch->old_mode),
				git_mode(ch->new_mode));
		fputs("similarity index 100%\nrename from ", out);
		put_path(out, "", a);
		fputs("\nrename to ", out);
		put_path(out, "", b);
		putc('\n', out);
		return 0;
	}
	if (load_side(c->src_fd, c->src, ch->kind == CHANGE_ADD ? NULL : ch->old_rel, &old) < 0 ||
	    load_side(c->upper_fd, c->upper_dir, ch->kind == CHANGE_DELETE ? NULL : ch->new_rel,
		      &new) < 0) {
		ret = -EIO;
		goto out;
	}
	/* A change of permissions that git does not keep (0644 to 0600) has nothing to show. */
	if (ch->kind == CHANGE_MODIFY && !modes_differ && !strcmp(old.id, new.id))
		goto out;
	binary = !S_ISLNK(kept) &&
		 (textdiff_is_binary(old.data, old.len) || textdiff_is_binary(new.data, new.len));

	fputs("diff --git ", out);
	put_path(out, "a/", a);
	putc(' ', out);
	put_path(out, "b/", b);
	putc('\n', out);
	if (ch->kind == CHANGE_ADD)
		fprintf(out, "new file mode %06o\n", git_mode(ch->new_mode));
	else if (ch->kind == CHANGE_DELETE)
		fprintf(out, "deleted file mode %06o\n", git_mode(ch->old_mode));
	else if (modes_differ)
		fprintf(out, "old mode %06o\nnew mode %06o\n", git_mode(ch->old_mode),
			git_mode(ch->new_mode));
	if (!strcmp(old.id, new.id))
		goto out;
	/* git apply wants the whole ids for a binary patch; 7 digits do otherwise, as git writes. */
	fprintf(out, "index %.*s..%.*s", binary ? 40 : 7, old.id, binary ? 40 : 7, new.id);
	if (ch->kind == CHANGE_MODIFY && !modes_differ)
		fprintf(out, " %06o", git_mode(ch->new_mode));
	putc('\n', out);
	if (binary) {
		fputs("GIT binary patch\n", out);
		textdiff_git_literal(out, new.data, new.len);
		textdiff_git_literal(out, old.data, old.len);
		goto out;
	}
	if (!old.len && !new.len)
		goto out;
	put_label(out, "---", "a/", ch->kind == CHANGE_ADD ? NULL : a);
	put_label(out, "+++", "b/", ch->kind == CHANGE_DELETE ? NULL : b);
	textdiff_unified(out, old.data, old.len, new.data, new.len, 3);
out:
	free(old.data);
	free(new.data);
	return ret;
}

/* Which overlay WHICH (an index or a SRC) names: its index, or 0. */
static int find_overlay(const struct upper *u, const char *which)
{
	autofree char *real = realpath(which, NULL);
	char *end;
	long n = strtol(which, &end, 10);

	if (!*end && n >= 1 && n <= upper_overlay_count(u))
		return n;
	for (int i = 1; i <= upper_overlay_count(u); i++) {
		autofree char *src = realpath(upper_overlay_src(u, i), NULL);

		if (!strcmp(which, upper_overlay_src(u, i)) || (real && src && !strcmp(real, src)))
			return i;
	}
	return 0;
}

static void warn_skipped(const char *cmd, const struct overlay_changes *c)
{
	for (size_t i = 0; i < c->n_skipped; i++)
		warn("%s: %s/%s: not a file, link or directory: left out", cmd, c->upper_dir,
		     c->skipped[i]);
	if (c->n_git)
		warn("%s: %zu change%s below .git in %s left out (git's own data)", cmd, c->n_git,
		     c->n_git == 1 ? "" : "s", c->upper_dir);
}

int diff_main(int argc, char **argv)
{
	struct upper *u;
	int only = 0, status = 0;
	static char buf[1 << 20];

	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		warn("usage: ptvfs diff UPPER [SRC]");
		return PTVFS_EXIT_FAILURE;
	}
	u = open_existing("diff", argv[1]);
	if (!u)
		return PTVFS_EXIT_FAILURE;
	if (argc == 3) {
		only = find_overlay(u, argv[2]);
		if (!only) {
			warn("diff: %s: not the SRC of an overlay in %s", argv[2], argv[1]);
			upper_free(u);
			return PTVFS_EXIT_FAILURE;
		}
	}
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	for (int n = 1; n <= upper_overlay_count(u) && !status; n++) {
		struct overlay_changes c;
		autofree char *err = NULL;

		if (only && n != only)
			continue;
		if (changes_compute(&c, u, n, &err) < 0) {
			warn("diff: %s", err);
			status = PTVFS_EXIT_FAILURE;
		}
		/* Several overlays: each part is relative to its own SRC, after a line naming it. */
		if (!status && !only && upper_overlay_count(u) > 1 && c.count)
			printf("# ptvfs overlay %d: %s\n", n, upper_overlay_src(u, n));
		warn_skipped("diff", &c);
		for (size_t i = 0; !status && i < c.count; i++)
			if (print_change(stdout, &c, &c.list[i]) < 0)
				status = PTVFS_EXIT_FAILURE;
		changes_free(&c);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warn("diff: writing the patch: %s", strerror(errno));
		status = PTVFS_EXIT_FAILURE;
	}
	upper_free(u);
	return status;
}

/* ---- apply ---- */

/* The identity the record holds for REL as it was in SRC when the command ran, or NULL. */
static const struct upper_identity *recorded(const struct overlay_changes *c, const char *rel)
{
	const struct upper_identity *id = upper_copy_up_identity(c->u, c->n, rel);

	return id ? id : upper_whiteout_identity(c->u, c->n, rel);
}

static void refuse(const struct overlay_changes *c, const char *rel, const char *why)
{
	warn("apply: %s/%s: %s", c->src, rel, why);
}

/* Whether every source the changes touch is as the record has it: the refusals are printed. */
static bool sources_unchanged(const struct overlay_changes *c)
{
	bool ok = true;

	for (size_t i = 0; i < c->count; i++) {
		const struct change *ch = &c->list[i];
		const struct upper_identity *rec;

		if (ch->kind != CHANGE_ADD) {
			struct upper_identity now;
			const char *name;
			int dir = beneath_parent(c->src_fd, ch->old_rel, &name), ret = dir;

			rec = recorded(c, ch->old_rel);
			if (dir >= 0) {
				ret = upper_identity_at(dir, name, &now);
				close(dir);
			}
			if (!rec) {
				refuse(c, ch->old_rel, "created since the run");
				ok = false;
			} else if (ret < 0 || !upper_identity_equal(rec, &now)) {
				refuse(c, ch->old_rel, "changed since the run");
				ok = false;
			}
		}
		if (ch->kind == CHANGE_ADD || ch->kind == CHANGE_RENAME) {
			/* A type change deletes the path first: that deletion was checked. */
			bool replaced = i > 0 && c->list[i - 1].kind == CHANGE_DELETE &&
					!strcmp(c->list[i - 1].old_rel, ch->new_rel);

			rec = recorded(c, ch->new_rel);
			if (!replaced && rec && !S_ISDIR(rec->mode)) {
				refuse(c, ch->new_rel, "deleted since the run");
				ok = false;
			}
		}
	}
	return ok;
}

static int fsync_dir(int dirfd)
{
	autoclose int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/*
 * The SRC directory that holds REL, made with its missing parents (each
 * with the mode of the view's directory): an O_PATH descriptor, *NAME
 * REL's last component.
 */
static int make_parents(struct overlay_changes *c, const char *rel, const char **name)
{
	int fd = fcntl(c->src_fd, F_DUPFD_CLOEXEC, 0);
	const char *p = rel, *slash;

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		autofree char *prefix = xstrndup(rel, slash - rel);
		autofree char *comp = xstrndup(p, slash - p);
		int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;

		if (next < 0 && errno == ENOENT) {
			mode_t mode =
			    beneath_stat(c->upper_fd, prefix, &st) == 0 ? st.st_mode & 07777 : 0755;

			if (mkdirat(fd, comp, mode) < 0 && errno != EEXIST) {
				close(fd);
				return -errno;
			}
			fsync_dir(fd);
			next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		close(fd);
		if (next < 0)
			return -errno;
		fd = next;
		p = slash + 1;
	}
	*name = p;
	return fd < 0 ? -errno : fd;
}

static int copy_data(int in, int out)
{
	static char buf[1 << 16];
	bool plain = false;

	for (;;) {
		ssize_t n;

		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			n = read(in, buf, sizeof(buf));
			for (ssize_t done = 0; n > 0 && done < n;) {
				ssize_t w = write(out, buf + done, n - done);

				if (w < 0 && errno != EINTR)
					return -errno;
				if (w > 0)
					done += w;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
	}
}

/* Put the view's REL (a file or link of MODE) in SRC: a temporary beside it, fsync, rename. */
static int write_one(struct overlay_changes *c, const char *rel, mode_t mode)
{
	static unsigned counter;
	const char *name;
	autoclose int dir = make_parents(c, rel, &name);
	char tmp[64];
	int ret = 0;

	if (dir < 0)
		return dir;
	snprintf(tmp, sizeof(tmp), ".ptvfs-apply.%d.%u", (int)getpid(), counter++);
	if (S_ISLNK(mode)) {
		autofree char *target = NULL;
		size_t len;

		ret = beneath_read(c->upper_fd, rel, &target, &len);
		if (ret < 0)
			return ret;
		if (symlinkat(target, dir, tmp) < 0)
			return -errno;
	} else {
		const char *uname;
		autoclose int udir = beneath_parent(c->upper_fd, rel, &uname);
		autoclose int in = -1;
		autoclose int out = -1;

		if (udir < 0)
			return udir;
		in = openat(udir, uname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return -errno;
		out = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (out < 0)
			return -errno;
		ret = copy_data(in, out);
		if (!ret && (fchmod(out, mode & 07777) < 0 || fsync(out) < 0))
			ret = -errno;
		if (!ret && close(out) < 0)
			ret = -errno;
		out = -1;
		if (ret < 0) {
			unlinkat(dir, tmp, 0);
			return ret;
		}
	}
	if (renameat(dir, tmp, dir, name) < 0) {
		ret = -errno;
		unlinkat(dir, tmp, 0);
		return ret;
	}
	return fsync_dir(dir);
}

static int make_dir(struct overlay_changes *c, const char *rel)
{
	const char *name;
	autoclose int dir = make_parents(c, rel, &name);
	struct stat st;
	mode_t mode = beneath_stat(c->upper_fd, rel, &st) == 0 ? st.st_mode & 07777 : 0755;

	if (dir < 0)
		return dir;
	if (mkdirat(dir, name, mode) < 0 && errno != EEXIST)
		return -errno;
	return fsync_dir(dir);
}

static int remove_one(struct overlay_changes *c, const char *rel, int flags)
{
	const char *name;
	autoclose int dir = beneath_parent(c->src_fd, rel, &name);

	if (dir == -ENOENT || dir == -ENOTDIR)
		return 0;
	if (dir < 0)
		return dir;
	if (unlinkat(dir, name, flags) < 0)
		return errno == ENOENT ? 0 : -errno;
	return fsync_dir(dir);
}

/* Whether SRC must lose something first before REL can be written there (a directory, or a file above it). */
static bool blocked(struct overlay_changes *c, const char *rel, bool is_dir)
{
	struct stat st;
	int ret = beneath_stat(c->src_fd, rel, &st);

	return ret == -ENOTDIR || (ret == 0 && S_ISDIR(st.st_mode) != is_dir);
}

/* Whether deletion I is of a path that the next change writes again (a change of type). */
static bool rewritten(const struct overlay_changes *c, size_t i)
{
	return i + 1 < c->count && c->list[i + 1].kind != CHANGE_DELETE &&
	       !strcmp(c->list[i + 1].new_rel, c->list[i].old_rel);
}

static int fail_at(const struct overlay_changes *c, const char *rel, int err)
{
	warn("apply: %s/%s: %s", c->src, rel, strerror(-err));
	return err;
}

/*
 * Carry out C's changes: first what can be written at once (so that a
 * renamed file is never only in UPPER), then the deletions, then the
 * writes that had to wait for them. Each file is whole at every moment.
 */
static int apply_overlay(struct overlay_changes *c)
{
	autofree bool *later = xcalloc(c->count + 1, sizeof(bool));
	autofree bool *later_dir = xcalloc(c->n_mkdirs + 1, sizeof(bool));
	int ret;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->count; i++) {
			const struct change *ch = &c->list[i];

			if (ch->kind == CHANGE_DELETE || (pass == 1 && !later[i]))
				continue;
			if (pass == 0 && blocked(c, ch->new_rel, false)) {
				later[i] = true;
				continue;
			}
			ret = write_one(c, ch->new_rel, ch->new_mode);
			if (ret < 0)
				return fail_at(c, ch->new_rel, ret);
		}
		for (size_t i = 0; i < c->n_mkdirs; i++) {
			if (pass == 1 && !later_dir[i])
				continue;
			if (pass == 0 && blocked(c, c->mkdirs[i], true)) {
				later_dir[i] = true;
				continue;
			}
			ret = make_dir(c, c->mkdirs[i]);
			if (ret < 0)
				return fail_at(c, c->mkdirs[i], ret);
		}
		if (pass == 1)
			break;
		for (size_t i = 0; i < c->count; i++) {
			const struct change *ch = &c->list[i];

			if ((ch->kind != CHANGE_DELETE && ch->kind != CHANGE_RENAME) ||
			    (ch->kind == CHANGE_DELETE && rewritten(c, i)))
				continue;
			ret = remove_one(c, ch->old_rel, 0);
			if (ret < 0)
				return fail_at(c, ch->old_rel, ret);
		}
		for (size_t i = 0; i < c->n_rmdirs; i++) {
			ret = remove_one(c, c->rmdirs[i], AT_REMOVEDIR);
			if (ret < 0)
				return fail_at(c, c->rmdirs[i], ret);
		}
	}
	return 0;
}

int apply_main(int argc, char **argv)
{
	struct upper *u;
	struct overlay_changes *all;
	int count, status = 0;
	bool ok = true;

	if (argc != 2 || argv[1][0] == '-') {
		warn("usage: ptvfs apply UPPER");
		return PTVFS_EXIT_FAILURE;
	}
	u = open_existing("apply", argv[1]);
	if (!u)
		return PTVFS_EXIT_FAILURE;
	count = upper_overlay_count(u);
	all = xcalloc(count + 1, sizeof(*all));
	for (int n = 1; n <= count && !status; n++) {
		autofree char *err = NULL;

		if (changes_compute(&all[n - 1], u, n, &err) < 0) {
			warn("apply: %s", err);
			status = PTVFS_EXIT_FAILURE;
		}
	}
	/* Every overlay is checked before anything is changed. */
	for (int n = 1; n <= count && !status; n++)
		ok = sources_unchanged(&all[n - 1]) && ok;
	if (!status && !ok) {
		warn("apply: sources changed since the run: nothing applied");
		status = EXIT_REFUSED;
	}
	for (int n = 1; n <= count && !status; n++) {
		warn_skipped("apply", &all[n - 1]);
		if (apply_overlay(&all[n - 1]) < 0) {
			warn("apply: stopped; the files written so far are whole: apply again once "
			     "the cause is fixed");
			status = PTVFS_EXIT_FAILURE;
		}
	}
	for (int n = 1; n <= count; n++)
		changes_free(&all[n - 1]);
	free(all);
	upper_free(u);
	return status;
}
