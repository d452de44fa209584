// SPDX-License-Identifier: MIT
/*
 * The resolver's callbacks over the sealed view (see view_resolve.h): the
 * layer table says what a view path is, the host answers for what a host
 * layer covers.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/view_resolve.h"

int view_target_type(const struct view_target *t)
{
	struct stat st;

	switch (t->kind) {
	case VIEW_HOST:
		if (lstat(t->host, &st) < 0)
			return -errno;
		return st.st_mode & S_IFMT;
	case VIEW_VIRTUAL_DIR:
		return S_IFDIR;
	case VIEW_SYMLINK:
		return S_IFLNK;
	case VIEW_ABSENT:
		break;
	}
	return -ENOENT;
}

static int view_ops_lookup(void *ctx, const char *path)
{
	const struct view_resolver *vr = ctx;
	struct view_target t;
	int err;

	err = view_lookup(vr->view, path, &t);
	if (err < 0)
		return err;
	return view_target_type(&t);
}

static ssize_t view_ops_readlink(void *ctx, const char *path, char *buf, size_t size)
{
	const struct view_resolver *vr = ctx;
	struct view_target t;
	size_t len;
	ssize_t n;
	int err;

	if (size == 0)
		return -EINVAL;
	err = view_lookup(vr->view, path, &t);
	if (err < 0)
		return err;
	switch (t.kind) {
	case VIEW_SYMLINK:
		len = strlen(t.host);
		if (len >= size)
			return -ENAMETOOLONG;
		memcpy(buf, t.host, len + 1);
		return len;
	case VIEW_HOST:
		n = readlink(t.host, buf, size - 1);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		return n;
	case VIEW_VIRTUAL_DIR:
		return -EINVAL;
	case VIEW_ABSENT:
		break;
	}
	return -ENOENT;
}

static void view_ops_link_followed(void *ctx, const char *path)
{
	const struct view_resolver *vr = ctx;

	if (vr->link_followed)
		vr->link_followed(vr->ctx, path);
}

const struct resolve_ops view_resolve_ops = {
    .lookup = view_ops_lookup,
    .readlink = view_ops_readlink,
    .link_followed = view_ops_link_followed,
};

int view_resolve(const struct view *v, const char *base, const char *path, unsigned flags,
		 struct resolution *out, struct view_target *target)
{
	struct view_resolver vr = {.view = v};
	int err;

	resolve_path(&view_resolve_ops, &vr, base, path, flags, out);
	memset(target, 0, sizeof(*target));
	target->kind = VIEW_ABSENT;
	if (out->path[0] != '/')
		return out->error;
	err = view_lookup(v, out->path, target);
	if (err < 0) {
		memset(target, 0, sizeof(*target));
		target->kind = VIEW_ABSENT;
		if (out->error == 0)
			out->error = err;
	}
	return out->error;
}
