// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ptvfs/resolve.h"

/* Drop the last component of the absolute path P (length *LEN); "/" stays "/". */
static void pop_component(char *p, size_t *len)
{
	while (*len > 1 && p[*len - 1] != '/')
		(*len)--;
	if (*len > 1)
		(*len)--;
	p[*len] = '\0';
}

static int push_component(char *p, size_t *len, const char *name, size_t name_len)
{
	size_t need = *len + (*len > 1) + name_len;

	if (need >= PATH_MAX)
		return -ENAMETOOLONG;
	if (*len > 1)
		p[(*len)++] = '/';
	memcpy(p + *len, name, name_len);
	*len += name_len;
	p[*len] = '\0';
	return 0;
}

int path_join_lexical(const char *base, const char *rel, char *out)
{
	size_t len = 1;
	const char *s;
	int pass;

	out[0] = '/';
	out[1] = '\0';
	for (pass = 0; pass < 2; pass++) {
		s = pass == 0 ? base : rel;
		if (!s || (pass == 1 && *s == '/')) {
			if (pass == 1 && s) {
				len = 1;
				out[1] = '\0';
			} else {
				continue;
			}
		}
		while (*s) {
			const char *end;
			size_t n;

			while (*s == '/')
				s++;
			end = s;
			while (*end && *end != '/')
				end++;
			n = end - s;
			if (n == 0)
				break;
			if (n == 1 && s[0] == '.') {
				/* nothing */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				pop_component(out, &len);
			} else if (push_component(out, &len, s, n) < 0) {
				return -ENAMETOOLONG;
			}
			s = end;
		}
	}
	return 0;
}

bool path_is_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Whether the path P has a ".." component. */
static bool has_dotdot(const char *p)
{
	for (const char *s = strstr(p, ".."); s; s = strstr(s + 1, ".."))
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return true;
	return false;
}

/*
 * A lookup failed at RES: name the whole path asked for, the rest taken as
 * written, unless a ".." in the rest would make it name another file.
 */
static int fail_with_rest(struct resolution *out, const char *rest, int err)
{
	char full[PATH_MAX];

	while (*rest == '/')
		rest++;
	if (*rest && !has_dotdot(rest) && path_join_lexical(out->path, rest, full) == 0)
		memcpy(out->path, full, strlen(full) + 1);
	out->error = err;
	out->type = 0;
	return err;
}

/*
 * The walk keeps the path still to do in TODO: initially PATH, and after a
 * link, the link's target followed by what remained after the link.
 */
int resolve_path(const struct resolve_ops *ops, void *ctx, const char *base, const char *path,
		 unsigned flags, struct resolution *out)
{
	char todo[PATH_MAX * 2];
	char target[PATH_MAX];
	char *res = out->path;
	size_t len = 1, todo_len = strlen(path);
	size_t pos = 0;
	int links = 0;
	int type = S_IFDIR;

	out->error = 0;
	out->type = 0;
	out->parent_exists = false;
	out->trailing_slash = false;
	if (todo_len == 0) {
		res[0] = '\0';
		return out->error = -ENOENT;
	}
	if (todo_len >= PATH_MAX) {
		res[0] = '\0';
		return out->error = -ENAMETOOLONG;
	}
	memcpy(todo, path, todo_len + 1);
	out->trailing_slash = todo[todo_len - 1] == '/';
	if (path[0] == '/' || !base) {
		res[0] = '/';
		res[1] = '\0';
	} else {
		int err = path_join_lexical(base, NULL, res);
		if (err < 0)
			return out->error = err;
		len = strlen(res);
	}

	for (;;) {
		const char *name;
		size_t n;
		bool last;

		while (pos < todo_len && todo[pos] == '/')
			pos++;
		if (pos >= todo_len) {
			/* Path used up: RES names an existing object of type TYPE. */
			out->type = type;
			out->parent_exists = true;
			/* A trailing "/", of the path or of a link's target, asks for a directory. */
			if (todo[todo_len - 1] == '/' && type != S_IFDIR &&
			    type != RESOLVE_TYPE_OPAQUE)
				return out->error = -ENOTDIR;
			return 0;
		}
		name = todo + pos;
		n = 0;
		while (pos + n < todo_len && name[n] != '/')
			n++;
		pos += n;
		/* Last when only slashes remain. */
		last = true;
		for (size_t i = pos; i < todo_len; i++) {
			if (todo[i] != '/') {
				last = false;
				break;
			}
		}
		if (type != S_IFDIR && type != RESOLVE_TYPE_OPAQUE) {
			/* A component below something that is not a directory. */
			bool dot = (n == 1 && name[0] == '.') ||
				   (n == 2 && name[0] == '.' && name[1] == '.');
			if (!dot && push_component(res, &len, name, n) < 0)
				return out->error = -ENAMETOOLONG;
			return fail_with_rest(out, todo + pos, -ENOTDIR);
		}
		if (n > NAME_MAX)
			return out->error = -ENAMETOOLONG;
		if (n == 1 && name[0] == '.')
			continue;
		if (n == 2 && name[0] == '.' && name[1] == '.') {
			pop_component(res, &len);
			type = S_IFDIR;
			continue;
		}
		if (push_component(res, &len, name, n) < 0)
			return out->error = -ENAMETOOLONG;
		if (type == RESOLVE_TYPE_OPAQUE)
			continue;
		type = ops->lookup(ctx, res);
		if (type < 0) {
			if (type == -ENOENT && last)
				out->parent_exists = true;
			return fail_with_rest(out, todo + pos, type);
		}
		if (type == RESOLVE_TYPE_OPAQUE) {
			/* The rest below a magic link is taken as written; the kernel decides. */
			int t;
			if (pos < todo_len) {
				char rest[PATH_MAX];
				const char *tail = todo + pos;

				/* Relative to the link: a leading "/" would make it absolute. */
				while (*tail == '/')
					tail++;
				if (path_join_lexical(res, tail, rest) < 0)
					return out->error = -ENAMETOOLONG;
				memcpy(res, rest, strlen(rest) + 1);
				len = strlen(res);
			}
			t = ops->lookup(ctx, res);
			out->parent_exists = true;
			if (t < 0 && t != -ENOENT)
				t = RESOLVE_TYPE_OPAQUE;
			if (t < 0)
				return out->error = t;
			out->type = t;
			return 0;
		}
		if (type == S_IFLNK &&
		    (!last || (flags & RESOLVE_FOLLOW) ||
		     (out->trailing_slash && !(flags & RESOLVE_NO_TRAILING_FOLLOW)))) {
			ssize_t tlen;
			size_t rest_len = todo_len - pos;

			if (++links > RESOLVE_MAX_LINKS)
				return out->error = -ELOOP;
			tlen = ops->readlink(ctx, res, target, sizeof(target));
			if (tlen < 0)
				return out->error = (int)tlen;
			if (ops->link_followed)
				ops->link_followed(ctx, res);
			if (tlen == 0)
				return out->error = -ENOENT;
			if ((size_t)tlen + 1 + rest_len >= sizeof(todo))
				return out->error = -ENAMETOOLONG;
			/* New TODO: the target, then what followed the link. */
			memmove(todo + tlen + 1, todo + pos, rest_len + 1);
			memcpy(todo, target, tlen);
			todo[tlen] = '/';
			todo_len = tlen + 1 + rest_len;
			pos = 0;
			if (!out->trailing_slash && rest_len == 0)
				todo[--todo_len] = '\0';
			if (target[0] == '/') {
				len = 1;
				res[1] = '\0';
			} else {
				pop_component(res, &len);
			}
			type = S_IFDIR;
			continue;
		}
	}
}
