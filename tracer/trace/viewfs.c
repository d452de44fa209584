// SPDX-License-Identifier: MIT
/*
 * The virtual view as one traced thread sees it (view mode, DESIGN.md §1).
 *
 * - Resolution: the resolver's callbacks over the layer table
 *   (view_resolve.h), except that /proc, where the view shows the host's,
 *   is the thread's own: /proc/self names the thread, and the magic links
 *   below /proc/PID lead to the view path of the file they name.
 * - The way back: the kernel speaks of host paths (/proc/PID/cwd,
 *   /proc/PID/fd/N); the view path where a host path is visible is the
 *   layer table's reverse lookup, or, for the stand-ins below, their place.
 * - Stand-ins: what exists only in the view needs a host object for the
 *   kernel to work on. A virtual directory, and a directory whose listing
 *   the view changes (a bind point added, a hidden name dropped), is
 *   stood in for by a directory of the run's private directory
 *   (SCRATCH/v/VIEW_PATH) holding one placeholder per visible name: an
 *   empty directory, an empty file, or a link with the same target. The
 *   kernel then lists it, with working telldir and seekdir, and the
 *   command never sees a host name the view hides. Placeholders are never
 *   opened for their contents: every path into them is resolved in the
 *   view and rewritten to the real host file.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "ptvfs/view_resolve.h"
#include "tracer.h"

/* A view directory whose stand-in was made, for virtual ones made only once. */
struct stand_in {
	/* The command's changes counted when it was last made (tracer.changes). */
	unsigned long changes;
	UT_hash_handle hh;
	char path[];
};

static bool is_proc_path(const char *path)
{
	return strncmp(path, "/proc/", 6) == 0 || strcmp(path, "/proc") == 0;
}

/* The view shows the host's /proc at PATH: the kernel's magic applies there. */
static bool host_proc(const struct tracer *t, const char *path, struct view_target *target)
{
	if (!is_proc_path(path) || view_lookup(t->view, path, target) < 0)
		return false;
	return target->kind == VIEW_HOST && strcmp(target->host, path) == 0;
}

int viewfs_view_path_target(struct tracer *t, const char *host, char *out,
			    struct view_target *target, bool *found)
{
	size_t n = strlen(t->stand_in_dir);
	int ret;

	*found = false;
	if (strncmp(host, t->stand_in_dir, n) == 0 && (host[n] == '\0' || host[n] == '/')) {
		snprintf(out, PATH_MAX, "%s", host[n] ? host + n : "/");
		return 0;
	}
	if (overlay_view_path(t, host, out) == 0)
		return 0;
	ret = view_host_to_view_target(t->view, host, out, target);
	*found = ret == 0;
	return ret;
}

int viewfs_view_path(struct tracer *t, const char *host, char *out)
{
	struct view_target target;
	bool found;

	return viewfs_view_path_target(t, host, out, &target, &found);
}

/* A magic link of /proc (already mapped to the thread's): the view path of what it names. */
static ssize_t proc_link_view(struct viewfs_resolver *vr, const char *host, char *buf, size_t size,
			      bool as_text)
{
	char target[PATH_MAX];
	bool deleted;
	const char *rest = strrchr(host, '/');
	ssize_t n;

	/* /proc/PID/exe: the program as the view named it, which ptvfs may have started via ld.so. */
	if (rest && strcmp(rest, "/exe") == 0) {
		pid_t pid = atoi(host + 6);
		for (struct thread *o = vr->tracer->threads; o; o = o->hh.next)
			if (o->tgid == pid && o->proc && o->proc->exe)
				return snprintf(buf, size, "%s", o->proc->exe) < (int)size
					   ? (ssize_t)strlen(buf)
					   : -ENAMETOOLONG;
	}
	if (rest && strcmp(rest, "/root") == 0)
		return snprintf(buf, size, "/");
	n = magic_link_read(host, target, sizeof(target), &deleted);
	if (n < 0)
		return n;
	/* A pipe, a socket, a removed file: no path to walk, but the text a readlink shows. */
	if (target[0] != '/' || (deleted && !as_text))
		return -EINVAL;
	if (viewfs_view_path(vr->tracer, target, buf) < 0)
		return -EINVAL; /* a host file outside the view */
	if (deleted && strlen(buf) + sizeof(" (deleted)") <= size)
		strcat(buf, " (deleted)");
	return strlen(buf);
}

static bool is_below_proc_entry(const char *path)
{
	return strncmp(path, "/proc/", 6) == 0 && strchr(path + 6, '/') != NULL;
}

static void copy_target(struct view_target *to, const struct view_target *from)
{
	to->kind = from->kind;
	to->read_only = from->read_only;
	to->layer = from->layer;
	to->layer_index = from->layer_index;
	to->listing_changed = from->listing_changed;
	strcpy(to->host, from->host);
}

/*
 * What the view path PATH (not /proc) is, with overlays; VR learns whether
 * it is itself. The same path asked again in a row (the walk's last, then
 * the result; a link, then its text) is looked up once.
 */
static int view_target_of(struct viewfs_resolver *vr, const char *path, struct view_target *target)
{
	int err;

	if (vr->out && vr->out_valid && strcmp(vr->out_path, path) == 0) {
		if (target != vr->out)
			copy_target(target, vr->out);
		return 0;
	}
	err = view_lookup(vr->tracer->view, path, target);
	if (vr->out)
		vr->out_valid = false;
	if (err < 0)
		return err;
	overlay_apply(vr->tracer, path, target);
	if (target->kind != VIEW_HOST || strcmp(target->host, path) != 0)
		vr->identity = false;
	if (vr->out && strlen(path) < PATH_MAX) {
		if (target != vr->out)
			copy_target(vr->out, target);
		strcpy(vr->out_path, path);
		vr->out_valid = true;
	}
	return 0;
}

/* The S_IF type of the view path PATH (not /proc), as view_resolve_ops, with overlays. */
static int view_object_type(struct viewfs_resolver *vr, const char *path)
{
	struct view_target target;
	int err = view_target_of(vr, path, &target);

	if (err < 0)
		return err;
	/* The host's directories and links are cached, as in recording (hostfs.c). */
	if (target.kind == VIEW_HOST)
		return hostfs_type(vr->tracer, target.host);
	return view_target_type(&target);
}

static int viewfs_lookup(void *ctx, const char *path)
{
	struct viewfs_resolver *vr = ctx;
	struct view_target target;
	char buf[PATH_MAX], link[PATH_MAX];
	const char *host;
	struct stat st;

	if (!host_proc(vr->tracer, path, &target))
		return view_object_type(vr, path);
	host = proc_self_path(vr->thread, path, buf, sizeof(buf));
	if (lstat(host, &st) < 0)
		return -errno;
	if (!S_ISLNK(st.st_mode) || !is_below_proc_entry(host))
		return st.st_mode & S_IFMT;
	/*
	 * A magic link of a process outside the traced tree (ptvfs itself, say)
	 * would lead out of the view: closed, as another user's would be.
	 */
	if (isdigit((unsigned char)host[6]) && !thread_find(vr->tracer, atoi(host + 6)))
		return -EACCES;
	return proc_link_view(vr, host, link, sizeof(link), false) > 0 ? S_IFLNK
								       : RESOLVE_TYPE_OPAQUE;
}

static ssize_t viewfs_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	struct viewfs_resolver *vr = ctx;
	struct view_target target;
	char host_buf[PATH_MAX];
	const char *host;
	ssize_t n;

	if (!host_proc(vr->tracer, path, &target)) {
		int err = view_target_of(vr, path, &target);

		if (err < 0)
			return err;
		switch (target.kind) {
		case VIEW_HOST:
			return hostfs_readlink(vr->tracer, target.host, buf, size);
		case VIEW_SYMLINK:
			return snprintf(buf, size, "%s", target.host) < (int)size
				   ? (ssize_t)strlen(buf)
				   : -ENAMETOOLONG;
		case VIEW_VIRTUAL_DIR:
			return -EINVAL;
		case VIEW_ABSENT:
			break;
		}
		return -ENOENT;
	}
	host = proc_self_path(vr->thread, path, host_buf, sizeof(host_buf));
	if (is_below_proc_entry(host))
		return proc_link_view(vr, host, buf, size, vr->as_text);
	n = readlink(host, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static void viewfs_link_followed(void *ctx, const char *path)
{
	struct viewfs_resolver *vr = ctx;

	struct view_target target;

	if (is_below_proc_entry(path))
		return;
	/* The link was just looked up and read: its target is known. */
	if (view_target_of(vr, path, &target) < 0) {
		target.kind = VIEW_ABSENT;
		target.layer = LAYER_BASE_EMPTY;
	}
	viewfs_record_target(vr->tracer, vr->thread, path, &target, ACCESS_READ);
}

const struct resolve_ops viewfs_resolve_ops = {
    .lookup = viewfs_lookup,
    .readlink = viewfs_readlink,
    .link_followed = viewfs_link_followed,
};

int viewfs_resolve(struct tracer *t, struct thread *th, const char *base, const char *path,
		   unsigned flags, struct resolution *res, struct view_target *target,
		   bool *identity)
{
	char last_path[PATH_MAX];
	struct viewfs_resolver vr = {.tracer = t,
				     .thread = th,
				     .view = {.view = t->view},
				     .identity = true,
				     .out = target,
				     .out_path = last_path};
	int err;

	resolve_path(&viewfs_resolve_ops, &vr, base, path, flags, res);
	if (identity)
		*identity = false;
	err = res->path[0] == '/' ? view_target_of(&vr, res->path, target) : -EINVAL;
	if (err < 0) {
		memset(target, 0, sizeof(*target));
		target->kind = VIEW_ABSENT;
		if (res->path[0] != '/')
			return res->error;
		if (res->error == 0)
			res->error = err;
	}
	if (identity)
		*identity = vr.identity;
	return res->error;
}

/* Where a recorded file came from, for the report's inputs section. */
static enum report_origin origin_of(const char *path, const struct view_target *target)
{
	static const char *const system_dirs[] = {"/dev", "/proc", "/sys"};

	for (size_t i = 0; i < 3; i++)
		if (path_is_below(path, system_dirs[i]))
			return ORIGIN_SYSTEM;
	switch (target->layer) {
	case LAYER_INPUT:
		return ORIGIN_INPUT;
	case LAYER_BASE_ROOT:
	case LAYER_RO_BIND:
		return ORIGIN_READ_ONLY;
	default:
		return ORIGIN_OTHER;
	}
}

void viewfs_record(struct tracer *t, struct thread *th, const char *path, unsigned access)
{
	struct view_target target;

	if (view_lookup(t->view, path, &target) < 0) {
		target.kind = VIEW_ABSENT;
		target.layer = LAYER_BASE_EMPTY;
	} else {
		overlay_apply(t, path, &target);
	}
	viewfs_record_target(t, th, path, &target, access);
}

void viewfs_record_target(struct tracer *t, struct thread *th, const char *path,
			  const struct view_target *target, unsigned access)
{
	const char *host = target->kind == VIEW_HOST ? target->host : NULL;
	enum report_origin origin = origin_of(path, target);

	/* A link the view itself declares is no input of the command's. */
	if (target->kind == VIEW_SYMLINK && origin == ORIGIN_OTHER)
		origin = ORIGIN_READ_ONLY;
	report_add_from(t->report, path, host, access, origin);
	if (access & (ACCESS_WRITE | ACCESS_DELETE))
		t->changes++;
	if (host && (access & (ACCESS_WRITE | ACCESS_DELETE)))
		hostfs_invalidate(t, host);
	if (t->why && th)
		why_access(t, th, path, access);
	if (th && th->proc)
		th->proc->accessed = true;
}

const char *viewfs_cwd(struct tracer *t, struct thread *th)
{
	const char *host = thread_cwd(t, th);
	char view[PATH_MAX];

	if (!host) {
		th->view_cwd_error = thread_cwd_error(th);
		return NULL;
	}
	if (th->view_cwd && th->view_cwd_generation == th->cwd_generation)
		return th->view_cwd;
	free(th->view_cwd);
	th->view_cwd = NULL;
	th->view_cwd_generation = th->cwd_generation;
	if (viewfs_view_path(t, host, view) < 0) {
		/* A directory the view does not show (hidden since): nothing relative resolves. */
		th->view_cwd_error = -ENOENT;
		return NULL;
	}
	th->view_cwd = xstrdup(view);
	return th->view_cwd;
}

int viewfs_cwd_error(const struct thread *th)
{
	return th->view_cwd_error;
}

/* Make the directories of PATH (absolute) that are missing, like mkdir -p. */
static int make_dirs(char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The type of placeholder a stand-in shows for a file of mode MODE: the
 * same, except devices, which an unprivileged user cannot make: files.
 */
static int placeholder_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
	case S_IFLNK:
	case S_IFIFO:
	case S_IFSOCK:
		return mode & S_IFMT;
	default:
		return S_IFREG;
	}
}

/* One name a stand-in must show, and what it is. */
struct wanted {
	char *name;
	int type; /* placeholder_type() */
	char *link_target;
	bool present;
	UT_hash_handle hh;
};

struct listing {
	struct tracer *t;
	const char *dir; /* view path */
	struct wanted *names;
};

static void want(struct listing *l, const char *name, int type, const char *link_target)
{
	struct wanted *w;

	HASH_FIND_STR(l->names, name, w);
	if (w)
		return;
	w = xcalloc(1, sizeof(*w));
	w->name = xstrdup(name);
	w->type = type;
	w->link_target = link_target ? xstrdup(link_target) : NULL;
	HASH_ADD_KEYPTR(hh, l->names, w->name, strlen(w->name), w);
}

static void want_declared(void *ctx, const char *name, enum view_node_kind kind)
{
	struct listing *l = ctx;
	char path[PATH_MAX], target_buf[PATH_MAX];
	struct view_target target;
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", strcmp(l->dir, "/") ? l->dir : "", name) >=
	    (int)sizeof(path))
		return;
	switch (kind) {
	case VIEW_VIRTUAL_DIR:
		want(l, name, S_IFDIR, NULL);
		return;
	case VIEW_SYMLINK:
		if (view_lookup(l->t->view, path, &target) == 0)
			want(l, name, S_IFLNK, target.host);
		return;
	case VIEW_HOST:
		if (view_lookup(l->t->view, path, &target) < 0 || lstat(target.host, &st) < 0)
			return; /* declared, but gone from the host: not listed */
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(target.host, target_buf, sizeof(target_buf) - 1);
			if (n < 0)
				return;
			target_buf[n] = '\0';
			want(l, name, S_IFLNK, target_buf);
		} else {
			want(l, name, placeholder_type(st.st_mode), NULL);
		}
		return;
	case VIEW_ABSENT:
		return;
	}
}

/* The host directory HOST's entries that the view keeps in DIR. */
static void want_host_entries(struct listing *l, const char *host)
{
	DIR *d = opendir(host);
	struct dirent *e;
	char target[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		int type;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!view_keeps_host_entry(l->t->view, l->dir, e->d_name))
			continue;
		type = placeholder_type(DTTOIF(e->d_type));
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = placeholder_type(st.st_mode);
		}
		if (type == S_IFLNK) {
			ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
		}
		want(l, e->d_name, type, type == S_IFLNK ? target : NULL);
	}
	closedir(d);
}

/* A name of an overlay directory's merged listing, found in the host directory DIR_HOST. */
static void want_overlay_entry(void *ctx, const char *dir_host, const char *name)
{
	struct listing *l = ctx;
	char path[PATH_MAX], target[PATH_MAX];
	struct stat st;
	int type;

	if (!view_keeps_host_entry(l->t->view, l->dir, name))
		return;
	snprintf(path, sizeof(path), "%s/%s", dir_host, name);
	if (lstat(path, &st) < 0)
		return;
	type = placeholder_type(st.st_mode);
	if (type == S_IFLNK) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return;
		target[n] = '\0';
	}
	want(l, name, type, type == S_IFLNK ? target : NULL);
}

/* Remove NAME in DIRFD and all below it (a placeholder no longer visible). */
static void remove_tree_at(int dirfd, const char *name)
{
	autoclose int fd = -1;
	DIR *d;
	struct dirent *e;

	if (unlinkat(dirfd, name, 0) == 0 || errno != EISDIR)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && (d = fdopendir(dup(fd)))) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				remove_tree_at(fd, e->d_name);
		closedir(d);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Bring the stand-in at HOST (a directory) in line with the names L wants. */
static void sync_stand_in(struct listing *l, const char *host)
{
	autoclose int fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct wanted *w, *tmp;
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(dup(fd));
	while (d && (e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		HASH_FIND_STR(l->names, e->d_name, w);
		if (w && fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (int)(st.st_mode & S_IFMT) == w->type) {
			w->present = true;
			if (w->type != S_IFLNK)
				continue;
			/* A link whose target changed is made again. */
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, e->d_name, target, sizeof(target) - 1);
			if (n >= 0 && (target[n] = '\0', strcmp(target, w->link_target) == 0))
				continue;
			w->present = false;
		}
		remove_tree_at(fd, e->d_name);
	}
	if (d)
		closedir(d);
	HASH_ITER(hh, l->names, w, tmp)
	{
		if (!w->present) {
			if (w->type == S_IFDIR)
				mkdirat(fd, w->name, 0755);
			else if (w->type == S_IFLNK)
				symlinkat(w->link_target, fd, w->name);
			else if (w->type == S_IFIFO || w->type == S_IFSOCK)
				mknodat(fd, w->name, w->type | 0644, 0);
			else
				close(openat(fd, w->name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		}
		HASH_DEL(l->names, w);
		free(w->name);
		free(w->link_target);
		free(w);
	}
}

int viewfs_stand_in(struct tracer *t, const char *dir, char *host)
{
	struct view_target target;
	struct listing l = {.t = t, .dir = dir};
	struct stand_in *done;
	int err;

	if (snprintf(host, PATH_MAX, "%s%s", t->stand_in_dir, strcmp(dir, "/") ? dir : "") >=
	    PATH_MAX)
		return -ENAMETOOLONG;
	err = view_lookup(t->view, dir, &target);
	if (err < 0)
		return err;
	overlay_apply(t, dir, &target);
	/*
	 * A virtual directory never changes: made once. Another is made again
	 * only after the command changed something (an opendir is followed by
	 * a getdents from the start: one listing of the host, not two).
	 */
	HASH_FIND_STR(t->stand_ins, dir, done);
	if (done && (target.kind == VIEW_VIRTUAL_DIR || done->changes == t->changes))
		return 0;
	err = make_dirs(host);
	if (err < 0)
		return err;
	if (target.kind == VIEW_HOST && overlay_lists(t, dir, &target))
		overlay_list(t, dir, &target, want_overlay_entry, &l);
	else if (target.kind == VIEW_HOST)
		want_host_entries(&l, target.host);
	view_list_extra(t->view, dir, want_declared, &l);
	sync_stand_in(&l, host);
	if (!done) {
		size_t len = strlen(dir);
		done = xcalloc(1, sizeof(*done) + len + 1);
		memcpy(done->path, dir, len + 1);
		HASH_ADD(hh, t->stand_ins, path, len, done);
	}
	done->changes = t->changes;
	return 0;
}

bool viewfs_stand_in_stale(struct tracer *t, const char *dir)
{
	struct stand_in *done;

	HASH_FIND_STR(t->stand_ins, dir, done);
	return !done || done->changes != t->changes;
}

void viewfs_free(struct tracer *t)
{
	struct stand_in *s, *tmp;

	HASH_ITER(hh, t->stand_ins, s, tmp)
	{
		HASH_DEL(t->stand_ins, s);
		free(s);
	}
}

ssize_t viewfs_read_link(struct tracer *t, struct thread *th, const char *path, char *buf,
			 size_t size)
{
	struct viewfs_resolver vr = {
	    .tracer = t, .thread = th, .view = {.view = t->view}, .as_text = true};

	return viewfs_readlink(&vr, path, buf, size);
}
