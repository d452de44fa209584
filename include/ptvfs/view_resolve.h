/* SPDX-License-Identifier: MIT */
/*
 * Path resolution inside the virtual view: the resolver's callbacks
 * (resolve.h) over a sealed layer table (view.h), so that resolve_path()
 * walks a view path as the kernel would inside a mount namespace built
 * from the same declarations (DESIGN.md §1).
 *
 * Every path the resolver hands to the callbacks, and every path it gives
 * back, is a view path. A link is read where the view says it is and its
 * target is resolved in the view: an absolute target starts again from the
 * view's "/" (the --root directory, not the host's "/"), a relative one
 * from the link's view directory, and ".." goes to the view parent, so a
 * link on the host inside a bound directory that points out of it (to
 * "/etc/x", or "../../x" past the bind point) lands in the view, never on
 * the host around the bind's SRC.
 *
 * The callbacks:
 * - lookup(PATH) is view_lookup(PATH): VIEW_HOST gives the S_IF type of
 *   lstat() of the host path (not following a link there), or -errno;
 *   VIEW_VIRTUAL_DIR gives S_IFDIR; VIEW_SYMLINK gives S_IFLNK;
 *   VIEW_ABSENT gives -ENOENT. A view_lookup error is passed on
 *   (-ENAMETOOLONG).
 * - readlink(PATH) gives a declared link's target as written (--symlink
 *   TARGET DEST), or readlink() of the host path for VIEW_HOST; -EINVAL for
 *   a virtual directory, -ENOENT for an absent path.
 * - link_followed(PATH) calls the resolver's own callback, if any, with the
 *   link's view path.
 * Nothing is cached and nothing is special in /proc: a host /proc bound in
 * the view is looked up as the tracer sees it (/proc/self is the tracer's);
 * a caller that needs the traced thread's /proc maps it before.
 *
 * Pure code: no ptrace, no tracee; only lstat() and readlink() of host paths.
 */
#ifndef PTVFS_VIEW_RESOLVE_H
#define PTVFS_VIEW_RESOLVE_H

#include "ptvfs/resolve.h"
#include "ptvfs/view.h"

/*
 * The context of view_resolve_ops: resolve_path(&view_resolve_ops, &VR, ...).
 * Borrowed, not owned: VIEW (sealed) and CTX must outlive the resolution.
 * LINK_FOLLOWED (may be NULL) is told the view path of each link followed,
 * declared or on the host, in the order they are met.
 */
struct view_resolver {
	const struct view *view;
	void (*link_followed)(void *ctx, const char *view_path);
	void *ctx;
};

extern const struct resolve_ops view_resolve_ops;

/* The S_IF type of what T is (lstat of a host path, not following a link), or -errno. */
int view_target_type(const struct view_target *t);

/*
 * Resolve the view path PATH (relative to the absolute view directory BASE
 * when it does not start with "/"; BASE NULL means "/") with FLAGS
 * (RESOLVE_FOLLOW, ...) into OUT, as resolve_path(), without telling
 * anyone of the links followed; then fill TARGET with view_lookup() of
 * OUT->path: the host path to rewrite the call with, and read_only for
 * the caller to fail a write with EROFS.
 * TARGET describes OUT->path whatever OUT->error is: after -ENOENT with
 * OUT->parent_exists, the object a create would make (VIEW_HOST and its
 * host path below a host layer; VIEW_ABSENT in a virtual directory or a
 * hidden name); after another error, the path where the walk stopped (for
 * messages only). When OUT->path is empty (an empty PATH, one too long),
 * TARGET is VIEW_ABSENT with an empty host path.
 * Returns OUT->error, or, when the resolution succeeded but view_lookup()
 * of the result failed (-ENAMETOOLONG: the host path is too long), that
 * error, which is then put in OUT->error too.
 */
int view_resolve(const struct view *v, const char *base, const char *path, unsigned flags,
		 struct resolution *out, struct view_target *target);

#endif
