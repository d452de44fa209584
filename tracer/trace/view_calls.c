// SPDX-License-Identifier: MIT
/*
 * The view's side of a stopped call (view mode): for each path argument,
 * the host path the kernel is given, or the error the call fails with as
 * it would in a mount namespace built from the same declarations (ENOENT,
 * EROFS, EBUSY, ENOTEMPTY); whether the path as written already reaches it
 * (then nothing is rewritten and no exit stop is taken); and the answers
 * of calls that hand a path back (getcwd, readlink of /proc's magic
 * links), which must be view paths (AF_UNIX names are sockets.c's);
 * openat2's resolve flags, which the view enforces itself; ST_RDONLY in a
 * statfs of a read-only layer.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "calls.h"

/* The view's lookup of the directory holding the view path PATH. */
static int lookup_parent(const struct tracer *t, const char *path, struct view_target *target)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return view_lookup(t->view, dir, target);
}

/* View mode: the view directory holding the view path PATH is a virtual one. */
static bool in_virtual_dir(const struct tracer *t, const char *path)
{
	struct view_target target;

	return lookup_parent(t, path, &target) == 0 && target.kind == VIEW_VIRTUAL_DIR;
}

/*
 * PATH is a DEST of a host layer (a bind point, a --tmpfs): its parent is
 * decided by another declaration. Such a name is a mount point, which
 * unlink, rmdir and rename cannot take away (EBUSY), as with real mounts.
 */
static bool is_mount_point(const struct tracer *t, const char *path,
			   const struct view_target *target)
{
	struct view_target parent;

	if (strcmp(path, "/") == 0 || target->kind != VIEW_HOST)
		return false;
	return lookup_parent(t, path, &parent) == 0 && parent.layer_index != target->layer_index;
}

/*
 * View mode: the host path the kernel must be given for the path argument
 * PA of an operation OP making ACCESS, into HOST; or the -errno the call
 * must fail with instead, as it would in a mount namespace built from the
 * same declarations.
 */
/*
 * View mode, below an overlay: the change path K of the call D makes, for
 * overlay_write(), or -1 for none (a read).
 */
static int overlay_change_of(const struct syscall_desc *d, int k, const struct path_arg *pa,
			     unsigned access)
{
	enum sys_op op = (enum sys_op)d->paths[k].op;

	if (op == OP_DELETE)
		return d->paths[1].op == OP_REPLACE && k == 0 ? OVERLAY_MOVE : OVERLAY_DELETE;
	/* link's source: the new name must not share the source's inode. */
	if (k == 0 && d->paths[1].op == OP_CREATE && pa->res.error == 0)
		return OVERLAY_CHANGE;
	if (op == OP_REPLACE && pa->res.error == 0)
		return OVERLAY_REPLACE;
	/* A FIFO or a device of SRC opened for writing is used in place, as overlayfs does. */
	if (op == OP_OPEN && pa->res.error == 0 && pa->res.type != S_IFREG &&
	    pa->res.type != S_IFDIR && pa->res.type != S_IFLNK)
		return -1;
	if (access & ACCESS_WRITE)
		return pa->res.error == 0 ? OVERLAY_CHANGE : OVERLAY_CREATE;
	return -1;
}

/* What path K of the call D needs of the user to change a source file (overlay_write). */
static enum overlay_need overlay_need_of(const struct syscall_desc *d, int k)
{
	switch ((enum sys_op)d->paths[k].op) {
	case OP_OPEN:
	case OP_REPLACE: /* creat() */
		return OVERLAY_NEED_WRITE;
	case OP_MODIFY:
		return d->nr == __NR_truncate ? OVERLAY_NEED_WRITE : OVERLAY_NEED_OWNER;
	default:
		return OVERLAY_NEED_NOTHING;
	}
}

/* open(O_TMPFILE) of a directory makes a file in it: a write, though the directory exists. */
static bool makes_tmpfile(enum sys_op op, unsigned long open_flags)
{
	return op == OP_OPEN && (open_flags & __O_TMPFILE) == __O_TMPFILE;
}

/* unlink of a directory, rmdir of something else: what the kernel would say. */
static int delete_type_error(const struct syscall_desc *d, const arch_regs *regs, int type)
{
	bool wants_dir =
	    d->nr == __NR_rmdir || (d->nr == __NR_unlinkat && (arch_arg(regs, 2) & AT_REMOVEDIR));

	if (wants_dir && type != S_IFDIR)
		return -ENOTDIR;
	if (!wants_dir && type == S_IFDIR)
		return -EISDIR;
	return 0;
}

int kernel_path(struct tracer *t, const struct syscall_desc *d, int k, const arch_regs *regs,
		const struct path_arg *pa, unsigned access, unsigned long open_flags, char *host,
		long *answer)
{
	const struct resolution *res = &pa->res;
	const struct view_target *target = &pa->target;
	enum sys_op op = (enum sys_op)d->paths[k].op;
	bool changes = access & (ACCESS_WRITE | ACCESS_DELETE);
	int change = target->layer == LAYER_OVERLAY ? overlay_change_of(d, k, pa, access) : -1;

	*answer = 1;
	/* Missing, and not made by this call: fails as the view says, whatever the host has. */
	if (res->error && !(access & ACCESS_WRITE))
		return res->error;

	if (change == OVERLAY_DELETE && res->error == 0 && regs) {
		int err = delete_type_error(d, regs, res->type);
		if (err < 0)
			return err;
	}
	if (change >= 0 && (target->kind == VIEW_HOST ||
			    (target->kind == VIEW_ABSENT && change == OVERLAY_CREATE)))
		return overlay_write(t, res->path, target, change, overlay_need_of(d, k),
				     res->error == 0, host, answer);
	switch (target->kind) {
	case VIEW_HOST:
		if ((changes || makes_tmpfile(op, open_flags)) && target->read_only)
			return -EROFS;
		if ((op == OP_DELETE || op == OP_REPLACE) && res->error == 0 &&
		    is_mount_point(t, res->path, target))
			return -EBUSY;
		/* A directory opened (to be listed) whose listing the view changes. */
		if (op == OP_OPEN && res->error == 0 && res->type == S_IFDIR &&
		    (open_flags & __O_TMPFILE) != __O_TMPFILE &&
		    (target->listing_changed || overlay_lists(t, res->path, target)))
			return viewfs_stand_in(t, res->path, host);
		snprintf(host, PATH_MAX, "%s", target->host);
		return 0;
	case VIEW_VIRTUAL_DIR:
		if (changes || makes_tmpfile(op, open_flags))
			return -EROFS;
		return viewfs_stand_in(t, res->path, host);
	case VIEW_SYMLINK: {
		/* A declared link itself (not followed): its placeholder in its directory's stand-in. */
		char dir[PATH_MAX];
		char *slash;
		int err;

		if (changes)
			return -EROFS;
		snprintf(dir, sizeof(dir), "%s", res->path);
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		err = viewfs_stand_in(t, dir, host);
		if (err < 0)
			return err;
		if (snprintf(host, PATH_MAX, "%s%s", t->stand_in_dir, res->path) >= PATH_MAX)
			return -ENAMETOOLONG;
		return 0;
	}
	case VIEW_ABSENT:
		break;
	}
	/* A new name where the view has no host directory: in a virtual one, or a hidden name. */
	if (res->error == 0)
		return -ENOENT;
	return in_virtual_dir(t, res->path) ? -EROFS : -EACCES;
}

/*
 * Whether the kernel, given the path as the call wrote it, reaches HOST
 * itself, so the call needs no rewriting (and no exit stop): the same
 * absolute path, or a relative one that joined to its host directory is
 * HOST. HOST's directories are known to be directories, not links, so the
 * kernel's walk of the same names ends at the same file; a ".." is not
 * trusted (it undoes a link the lexical join cannot see).
 */
bool kernel_reaches(const struct path_arg *pa, const char *host)
{
	char joined[PATH_MAX];
	const char *p = pa->given;

	/*
	 * Resolved through names that are the host's own (links, ".." and all):
	 * the kernel walking the same string on the host meets the same files.
	 */
	if (pa->identity && strcmp(host, pa->res.path) == 0 && (p[0] == '/' || pa->base_identity))
		return true;
	if (p[0] == '/')
		return strcmp(p, host) == 0;
	if (!pa->host_base[0])
		return false;
	for (const char *c = p; (c = strstr(c, "..")); c += 2)
		if ((c == p || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
			return false;
	return path_join_lexical(pa->host_base, p, joined) == 0 && strcmp(joined, host) == 0;
}

/* View mode: readlink of a magic link of /proc answered with the view path it stands for. */
bool answer_proc_readlink(struct tracer *t, struct thread *th, const struct syscall_desc *d,
			  const arch_regs *regs, const struct path_arg *pa)
{
	char target[PATH_MAX];
	unsigned long buf = arch_arg(regs, d->paths[0].path + 1);
	size_t size = arch_arg(regs, d->paths[0].path + 2);
	ssize_t n;

	if (!pa->given || pa->res.error ||
	    (pa->res.type != S_IFLNK && pa->res.type != RESOLVE_TYPE_OPAQUE) ||
	    strncmp(pa->res.path, "/proc/", 6) != 0 || !strchr(pa->res.path + 6, '/'))
		return false;
	n = viewfs_read_link(t, th, pa->res.path, target, sizeof(target));
	if (n < 0)
		return false;
	if ((long)size <= 0) {
		skip_call(th, regs, -EINVAL);
		return true;
	}
	if ((size_t)n > size)
		n = size;
	skip_call(th, regs, tracee_write(th->tid, buf, target, n) < 0 ? -EFAULT : n);
	return true;
}

/* An access() family call asking whether the path may be written (W_OK). */
bool asks_write_access(const struct syscall_desc *d, const arch_regs *regs)
{
	if (d->nr == __NR_access)
		return arch_arg(regs, 1) & W_OK;
	if (d->nr == __NR_faccessat || d->nr == __NR_faccessat2)
		return arch_arg(regs, 2) & W_OK;
	return false;
}

/* The argv strings of an exec at ARGV in TH (for the report), or NULL. */
char **read_argv(struct thread *th, unsigned long argv)
{
	struct strbuf sb = {0};
	char arg[PATH_MAX];
	char **out;

	for (int i = 0; i < 4096; i++) {
		unsigned long at;
		ssize_t n;

		if (tracee_read(th->tid, argv + i * sizeof(at), &at, sizeof(at)) < 0 || !at)
			break;
		n = tracee_read_string(th->tid, at, arg, sizeof(arg));
		if (n < 0)
			break;
		strbuf_add(&sb, arg, n + 1);
	}
	out = argv_from_cmdline(sb.buf ? sb.buf : "", sb.len);
	free(sb.buf);
	return out;
}

/*
 * View mode: give the exec planned as P its file and, when the plan
 * changed it, its argv: new strings and the pointer array in the tracee.
 */
int remap_exec(struct thread *th, struct remap *m, const struct syscall_desc *d,
	       const struct exec_plan *p)
{
	int argv_arg = d->paths[0].path + 1;
	unsigned long argv = arch_arg(&m->regs, argv_arg);
	unsigned long *ptrs;
	size_t count = 0, cap = 64;
	int err = 0;

	if (remap_arg_string(th, m, d->paths[0].path, p->host) < 0)
		return -EFAULT;
	if (d->flags_arg != SYS_NO_ARG) /* execveat: the path is absolute, not the descriptor's */
		arch_set_arg(&m->regs, d->flags_arg,
			     arch_arg(&m->regs, d->flags_arg) & ~(unsigned long)AT_EMPTY_PATH);
	if (!p->argv_changed)
		return 0;
	ptrs = xmalloc(cap * sizeof(*ptrs));
	for (int i = 0; i < p->count && !err; i++) {
		unsigned long at = 0;

		if (p->entries[i].s) {
			at = remap_place(th, m, p->entries[i].s, strlen(p->entries[i].s) + 1);
			err = at ? 0 : -EFAULT;
		} else if (argv) {
			err = tracee_read(th->tid, argv + p->entries[i].orig * sizeof(at), &at,
					  sizeof(at));
		}
		ptrs[count++] = at;
	}
	for (long i = p->keep_from; argv && !err; i++) {
		unsigned long at;

		err = tracee_read(th->tid, argv + i * sizeof(at), &at, sizeof(at));
		if (err || !at)
			break;
		if (count + 1 >= cap)
			ptrs = xrealloc(ptrs, (cap *= 2) * sizeof(*ptrs));
		ptrs[count++] = at;
	}
	ptrs[count++] = 0;
	if (!err) {
		unsigned long at = remap_place(th, m, ptrs, count * sizeof(*ptrs));
		if (at)
			arch_set_arg(&m->regs, argv_arg, at);
		else
			err = -E2BIG;
	}
	free(ptrs);
	return err;
}

/* View mode: getcwd answered with the view's directory. */
void answer_getcwd(struct tracer *t, struct thread *th, const arch_regs *regs)
{
	const char *cwd = viewfs_cwd(t, th);
	size_t size = arch_arg(regs, 1);
	size_t len = cwd ? strlen(cwd) + 1 : 0;
	long ret = len;

	if (!cwd)
		ret = viewfs_cwd_error(th) ? viewfs_cwd_error(th) : -ENOENT;
	else if (len > size)
		ret = -ERANGE;
	else if (tracee_write(th->tid, arch_arg(regs, 0), cwd, len) < 0)
		ret = -EFAULT;
	skip_call(th, regs, ret);
}

int crosses_layers(struct tracer *t, const struct syscall_desc *d, const struct path_arg pa[2],
		   const bool resolved[2])
{
	bool two_names = d->paths[1].op == OP_REPLACE ||
			 (d->paths[0].op == OP_STAT && d->paths[1].op == OP_CREATE);
	struct view_target from, to;

	if (!two_names || !resolved[0] || !resolved[1] || pa[0].res.error)
		return 0;
	/* The kernel's magic links (linkat of /proc/self/fd/N) are the kernel's to judge. */
	if (path_is_below(pa[0].res.path, "/proc"))
		return 0;
	/* A source file of an overlay by its descriptor cannot get a name of the view. */
	if (!pa[0].given && overlay_is_lower(t, pa[0].res.path, &pa[0].target))
		return -EXDEV;
	/*
	 * Two layers are two mounts: link and rename between them fail, as
	 * across mounts. The kernel compares the mounts of link's file and of
	 * the new name's directory; of rename's two directories.
	 */
	if (lookup_parent(t, pa[1].res.path, &to) < 0)
		return 0;
	if (d->paths[1].op == OP_REPLACE) {
		if (lookup_parent(t, pa[0].res.path, &from) < 0)
			return 0;
	} else {
		/* link makes the new name (EROFS in a read-only directory) before it compares. */
		if (to.read_only)
			return 0;
		from = pa[0].target;
	}
	return from.layer_index == to.layer_index ? 0 : -EXDEV;
}

bool fstat_of_stand_in(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		       const arch_regs *regs, const struct path_arg *pa, struct remap *m)
{
	struct view_target real;
	size_t n = strlen(t->stand_in_dir);

	if ((d->nr != __NR_newfstatat && d->nr != __NR_statx) || d->paths[0].path == SYS_NO_ARG ||
	    d->flags_arg == SYS_NO_ARG || strncmp(pa->target.host, t->stand_in_dir, n) != 0 ||
	    (pa->target.host[n] != '\0' && pa->target.host[n] != '/'))
		return false;
	/* fstat of a directory opened as its stand-in: the directory's own metadata. */
	if (view_lookup(t->view, pa->res.path, &real) < 0)
		return false;
	overlay_apply(t, pa->res.path, &real);
	if (real.kind != VIEW_HOST)
		return false;
	remap_begin(m, regs);
	if (remap_arg_string(th, m, d->paths[0].path, real.host) < 0)
		return false;
	arch_set_arg(&m->regs, d->flags_arg,
		     arch_arg(regs, d->flags_arg) & ~(unsigned long)AT_EMPTY_PATH);
	return true;
}

void list_of_stand_in(struct tracer *t, struct thread *th, const arch_regs *regs,
		      const struct path_arg *pa)
{
	char name[64], buf[256], host[PATH_MAX];
	size_t n = strlen(t->stand_in_dir);
	autoclose int fd = -1;
	ssize_t len;
	char *pos;

	if (strncmp(pa->target.host, t->stand_in_dir, n) != 0 ||
	    (pa->target.host[n] != '\0' && pa->target.host[n] != '/') ||
	    !viewfs_stand_in_stale(t, pa->res.path))
		return;
	/* Listed from the start again (opendir, rewinddir): the stand-in is brought up to date. */
	snprintf(name, sizeof(name), "/proc/%d/fdinfo/%d", (int)th->tid, (int)arch_arg(regs, 0));
	fd = open(name, O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (len <= 0)
		return;
	buf[len] = '\0';
	pos = strstr(buf, "pos:");
	if (pos && strtoll(pos + 4, NULL, 10) == 0)
		viewfs_stand_in(t, pa->res.path, host);
}

/*
 * openat2's resolve flags, enforced in the view (a rewritten call reaches
 * the kernel as an absolute host path, which they would refuse): the path
 * walked as the kernel walks it under these flags. A mount there is a
 * layer and, in a layer that shows the host's directories (a bind is
 * recursive, as bubblewrap's), a host mount inside it; an overlay is one
 * mount, as overlayfs shows no mounts below its lower directory.
 */
struct view_mount {
	uint32_t layer;
	uint64_t host;
};

static struct view_mount mount_of(struct tracer *t, const char *path)
{
	struct view_mount m = {UINT32_MAX, 0};
	struct view_target target;
	struct statx stx;

	if (view_lookup(t->view, path, &target) < 0)
		return m;
	m.layer = target.layer_index;
	if (target.kind == VIEW_HOST && target.layer != LAYER_OVERLAY &&
	    statx(AT_FDCWD, target.host, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) == 0)
		m.host = (stx.stx_mask & STATX_MNT_ID)
			     ? stx.stx_mnt_id
			     : ((uint64_t)stx.stx_dev_major << 32 | stx.stx_dev_minor);
	return m;
}

static bool same_mount(struct view_mount a, struct view_mount b)
{
	return a.layer == b.layer && a.host == b.host;
}

/* PATH, a link, is a magic link of the host's /proc (its target is no path to walk). */
static bool is_magic_link(const struct tracer *t, const char *path)
{
	struct view_target target;

	if (strncmp(path, "/proc/", 6) != 0 || !strchr(path + 6, '/'))
		return false;
	return view_lookup(t->view, path, &target) == 0 && target.kind == VIEW_HOST &&
	       strcmp(target.host, path) == 0;
}

/*
 * PATH walked from the view directory BASE (NULL: none) under the flags
 * RESOLVE; FOLLOW: a final link is followed. As openat2_view_flags().
 */
static int resolve_scoped(struct tracer *t, struct thread *th, const char *base, const char *path,
			  uint64_t resolve, bool follow)
{
	struct viewfs_resolver vr = {.tracer = t, .thread = th, .view = {.view = t->view}};
	bool beneath = resolve & RESOLVE_BENEATH, no_xdev = resolve & RESOLVE_NO_XDEV;
	bool no_links = resolve & RESOLVE_NO_SYMLINKS;
	bool no_magic = resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
	char todo[PATH_MAX * 2], cur[PATH_MAX], next[PATH_MAX], target[PATH_MAX];
	size_t len = strlen(path), pos = 0;
	bool trailing_slash = len && path[len - 1] == '/';
	struct view_mount here = {0, 0};
	int links = 0;

	if (len == 0 || len >= PATH_MAX)
		return 0;
	if (path[0] == '/') {
		if (beneath)
			return -EXDEV; /* an absolute path leaves the directory */
		strcpy(cur, "/");
	} else if (!base || snprintf(cur, sizeof(cur), "%s", base) >= (int)sizeof(cur)) {
		return 0;
	}
	memcpy(todo, path, len + 1);
	if (no_xdev)
		here = mount_of(t, cur);
	/* Errors other than the flags' are left to the resolution that follows (ENOENT...). */
	for (;;) {
		const char *name;
		size_t n = 0;
		bool last;
		int type;

		while (pos < len && todo[pos] == '/')
			pos++;
		if (pos >= len)
			return 0;
		name = todo + pos;
		while (pos + n < len && name[n] != '/')
			n++;
		pos += n;
		last = strspn(todo + pos, "/") == len - pos;
		if (n == 1 && name[0] == '.')
			continue;
		if (n == 2 && name[0] == '.' && name[1] == '.') {
			if (beneath && strcmp(cur, base) == 0)
				return -EXDEV; /* ".." of the directory itself */
			if (strcmp(cur, "/") == 0)
				continue;
			*strrchr(cur, '/') = '\0';
			if (!cur[0])
				strcpy(cur, "/");
			/* ".." of a mount's root leaves the mount. */
			if (no_xdev && !same_mount(here, mount_of(t, cur)))
				return -EXDEV;
			continue;
		}
		if (n > NAME_MAX ||
		    snprintf(next, sizeof(next), "%s/%.*s", strcmp(cur, "/") ? cur : "", (int)n,
			     name) >= (int)sizeof(next))
			return 0;
		type = viewfs_resolve_ops.lookup(&vr, next);
		if (type < 0)
			return 0;
		if (type == S_IFLNK || type == RESOLVE_TYPE_OPAQUE) {
			size_t rest = len - pos;
			ssize_t tlen;

			if (last && !follow && !trailing_slash)
				return 0; /* the link itself is opened (O_PATH) or refused (ELOOP) */
			if (no_links)
				return -ELOOP;
			if (type == RESOLVE_TYPE_OPAQUE || is_magic_link(t, next)) {
				if (no_magic)
					return -ELOOP;
				if (beneath)
					return -EXDEV; /* a jump no scoped lookup may take */
				tlen =
				    viewfs_resolve_ops.readlink(&vr, next, target, sizeof(target));
				if (no_xdev &&
				    (tlen <= 0 || !same_mount(here, mount_of(t, target))))
					return -EXDEV;
				return 0; /* the rest below it is the kernel's */
			}
			if (++links > RESOLVE_MAX_LINKS)
				return 0;
			tlen = viewfs_resolve_ops.readlink(&vr, next, target, sizeof(target));
			if (tlen <= 0 || (size_t)tlen + 1 + rest >= sizeof(todo))
				return 0;
			if (target[0] == '/') {
				if (beneath)
					return -EXDEV;
				strcpy(cur, "/");
				if (no_xdev && !same_mount(here, mount_of(t, cur)))
					return -EXDEV;
			}
			/* The walk goes on with the target, then what followed the link. */
			memmove(todo + tlen + 1, todo + pos, rest + 1);
			memcpy(todo, target, tlen);
			todo[tlen] = '/';
			len = tlen + 1 + rest;
			pos = 0;
			if (rest == 0 && !trailing_slash)
				todo[--len] = '\0';
			continue;
		}
		/* Into a mount point: another mount. */
		if (no_xdev && !same_mount(here, mount_of(t, next)))
			return -EXDEV;
		if (type != S_IFDIR && !last)
			return 0;
		memcpy(cur, next, strlen(next) + 1);
	}
}

/*
 * View mode: the view directory a relative path of DIRFD starts from (into
 * BUF unless it is the cwd's), or NULL when it has none.
 */
static const char *view_dir_of(struct tracer *t, struct thread *th, int dirfd, char *buf)
{
	char host[PATH_MAX];

	if (dirfd == AT_FDCWD)
		return viewfs_cwd(t, th);
	if (tracee_fd_path(th, dirfd, host, sizeof(host)) < 0 || host[0] != '/' ||
	    viewfs_view_path(t, host, buf) < 0)
		return NULL;
	return buf;
}

int openat2_view_flags(struct tracer *t, struct thread *th, const arch_regs *regs,
		       const struct open_how *how)
{
	char path[PATH_MAX], buf[PATH_MAX];
	bool follow =
	    !(how->flags & O_NOFOLLOW) && (how->flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);

	if (tracee_read_string(th->tid, arch_arg(regs, 1), path, sizeof(path)) <= 0)
		return 0; /* the kernel's EFAULT, ENOENT, ENAMETOOLONG */
	return resolve_scoped(t, th, view_dir_of(t, th, (int)arch_arg(regs, 0), buf), path,
			      how->resolve, follow);
}

int remap_open_how(struct thread *th, struct remap *m, const struct how_copy *how)
{
	static struct how_copy copy;
	unsigned long at;

	memcpy(copy.bytes, how->bytes, how->size);
	copy.how.resolve &= ~(uint64_t)HOW_VIEW_FLAGS;
	at = remap_place(th, m, copy.bytes, how->size);
	if (!at)
		return -EFAULT;
	arch_set_arg(&m->regs, 2, at);
	m->changed = true;
	return 0;
}

void statfs_exit(struct thread *th)
{
	__typeof__(((struct statfs *)0)->f_flags) flags;
	unsigned long buf;
	arch_regs regs;

	if (ptrace(PTRACE_GETREGS, th->tid, 0, &regs) < 0 || arch_return_value(&regs) != 0)
		return;
	buf = arch_arg(&regs, 1) + offsetof(struct statfs, f_flags);
	if (tracee_read(th->tid, buf, &flags, sizeof(flags)) < 0 || (flags & ST_RDONLY))
		return;
	flags |= ST_RDONLY;
	tracee_write(th->tid, buf, &flags, sizeof(flags));
}
