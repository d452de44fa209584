// SPDX-License-Identifier: MIT
/*
 * The virtual view: the layer table, built from the declarations, then
 * sealed into one position-independent image (see view.h).
 *
 * Both the builder and the image are a tree of nodes: one per DEST, and
 * one per ancestor of a DEST, so that every prefix of a node's path at a
 * component boundary is a node too. A path is looked up by walking its
 * prefixes down from "/" until one is missing (O(depth) hash probes); the
 * deepest node found decides it. Here: the builder (nodes, declarations,
 * the manifests' texts and kept lines) and the lookups in the image;
 * sealing, which turns the builder into the image without copying it, is
 * view_seal.c's. The image's layout is in view_priv.h.
 *
 * The reverse way, a host path to a view path, is view_reverse.c's: sealing
 * gives it the nodes to index, and it looks up with view_image_lookup.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptvfs/bigmem.h"
#include "ptvfs/resolve.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "view_priv.h"

uint32_t view_table_find(const struct table *t, const char *path, size_t len, uint32_t hash)
{
	for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];
		const struct vnode *n;

		if (!s->node)
			return NONE;
		if (s->hash != hash)
			continue;
		n = &t->nodes[s->node - 1];
		if (node_path_is(t, n, path, len))
			return s->node - 1;
	}
}

bool node_path_is(const struct table *t, const struct vnode *n, const char *path, size_t len)
{
	size_t parent_len = n->name > 1 ? n->name - 1 : 1;

	if (n->len != len)
		return false;
	if (!(n->bits & NODE_NAME_ONLY))
		return memcmp(t->pool + n->path, path, len) == 0;
	/* The parent's path, a '/' (none after "/"), the name. */
	return memcmp(table_string(t, n->path), path + n->name, len - n->name) == 0 &&
	       (n->name == 1 || path[n->name - 1] == '/') &&
	       node_path_is(t, &t->nodes[n->parent], path, parent_len);
}

const char *node_path(const struct table *t, const struct vnode *n, char *buf)
{
	const char *parent;

	if (!(n->bits & NODE_NAME_ONLY))
		return t->pool + n->path;
	parent = node_path(t, &t->nodes[n->parent], buf);
	if (parent != buf)
		memcpy(buf, parent, n->name);
	buf[n->name - 1] = n->name > 1 ? '/' : buf[0];
	memcpy(buf + n->name, table_string(t, n->path), n->len - n->name);
	buf[n->len] = '\0';
	return buf;
}

/* Every ancestor of a node is a node, so the walk down stops at the first prefix missing. */
uint32_t view_deepest_node(const struct table *t, const char *path, size_t len)
{
	uint32_t h = HASH_SEED, best = 0; /* "/" */

	for (size_t i = 1; i < len;) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - path) : len;
		uint32_t n;

		h = hash_component(h, path + i, end - i);
		n = view_table_find(t, path, end, hash_final(h));
		if (n == NONE)
			break;
		best = n;
		i = end + 1;
	}
	return best;
}

void view_builder_table(const struct view *v, struct table *t)
{
	t->nodes = v->nodes;
	t->slots = v->slots;
	t->mask = v->slot_mask;
	t->pool = v->pool.buf;
	t->builder = v;
}

/* Room for EXTRA more bytes in the pool (which may move). */
static void pool_grow(struct view *v, size_t extra)
{
	size_t cap = v->pool.cap ? v->pool.cap : 1 << 16;

	if (v->pool.len + extra <= v->pool.cap)
		return;
	while (cap < v->pool.len + extra)
		cap *= 2;
	v->pool.buf = big_resize(v->pool.buf, v->pool.cap, cap);
	v->pool.cap = cap;
}

/* Append the string S (LEN bytes) and a NUL to the pool: its offset. */
uint32_t view_pool_add(struct view *v, const char *s, size_t len)
{
	uint32_t off = v->pool.len;

	if (s >= v->pool.buf && s < v->pool.buf + v->pool.len) {
		/* A string of the pool itself, which may move as it grows. */
		size_t at = s - v->pool.buf;

		pool_grow(v, len + 1);
		s = v->pool.buf + at;
	}
	pool_grow(v, len + 1);
	memcpy(v->pool.buf + off, s, len);
	v->pool.buf[off + len] = '\0';
	v->pool.len += len + 1;
	return off;
}

/* Grow the node array to CAP nodes. */
static void nodes_grow(struct view *v, uint32_t cap)
{
	v->nodes = big_resize(v->nodes, (size_t)v->node_cap * sizeof(*v->nodes),
			      (size_t)cap * sizeof(*v->nodes));
	v->node_cap = cap;
}

static void slots_insert(struct slot *slots, uint32_t mask, uint32_t hash, uint32_t node)
{
	uint32_t i = hash & mask;

	while (slots[i].node)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].node = node + 1;
}

/* Grow the hash table to hold NODES nodes at most half full. */
static void slots_grow(struct view *v, size_t nodes)
{
	uint32_t mask = v->slot_mask;
	struct slot *slots;

	while (nodes * 2 > (size_t)mask + 1)
		mask = mask * 2 + 1;
	slots = big_alloc(((size_t)mask + 1) * sizeof(*slots));
	for (uint32_t i = 0; i <= v->slot_mask; i++)
		if (v->slots[i].node)
			slots_insert(slots, mask, v->slots[i].hash, v->slots[i].node - 1);
	big_free(v->slots, ((size_t)v->slot_mask + 1) * sizeof(*v->slots));
	v->slots = slots;
	v->slot_mask = mask;
}

/*
 * A new node for PATH (LEN bytes), not yet in the table: its index. NAME:
 * NONE, or where PATH's last component is kept (view_text_ref), the node
 * then holding that alone (NODE_NAME_ONLY).
 */
static uint32_t node_add(struct view *v, const char *path, size_t len, uint32_t hash, uint32_t name)
{
	struct vnode *n;
	const char *slash;

	if (v->node_count == v->node_cap)
		nodes_grow(v, v->node_cap ? v->node_cap * 2 : 256);
	if ((v->node_count + 1) * 2 > v->slot_mask + 1)
		slots_grow(v, v->node_count + 1);
	n = &v->nodes[v->node_count];
	memset(n, 0, sizeof(*n));
	if (name != NONE) {
		n->path = name;
		n->bits = NODE_NAME_ONLY;
	} else {
		n->path = view_pool_add(v, path, len);
	}
	n->hash = hash;
	n->len = len;
	slash = memrchr(path, '/', len);
	n->name = len > 1 ? slash - path + 1 : 0;
	n->parent = NONE;
	n->cover = NONE;
	n->first_child = NONE;
	n->next_sibling = NONE;
	n->type = NODE_ANCESTOR;
	slots_insert(v->slots, v->slot_mask, hash, v->node_count);
	return v->node_count++;
}

void view_prefetch(const struct view *v, uint32_t hash)
{
	__builtin_prefetch(&v->slots[hash & v->slot_mask]);
}

uint32_t view_node(struct view *v, const char *path, size_t len)
{
	return view_node_hashed(v, path, len, view_hash_path(path, len), NONE);
}

/*
 * The node of PATH (canonical, LEN bytes), made with its missing ancestors
 * when absent: those first, so that a parent's index is below its
 * children's (sealing walks the nodes in index order, parents first).
 */
uint32_t view_node_hashed(struct view *v, const char *path, size_t len, uint32_t hash,
			  uint32_t name)
{
	/* The missing ancestors' lengths and hashes, the deepest first. */
	uint16_t lens[PATH_MAX / 2];
	uint32_t hashes[PATH_MAX / 2];
	uint32_t node, parent, missing = 0;
	const struct vnode *last;
	struct table t;
	size_t at;

	view_builder_table(v, &t);
	node = view_table_find(&t, path, len, hash);
	if (node != NONE)
		return node;
	/* Inputs come by directory: the parent is often the last new node's. */
	last = &v->nodes[v->last_parent];
	at = memrchr(path, '/', len) - (const void *)path;
	at = at ? at : 1;
	if (len > 1 && node_path_is(&t, last, path, at)) {
		parent = v->last_parent;
	} else {
		/* Up to the first ancestor there ("/" is). */
		for (;;) {
			uint32_t h = view_hash_path(path, at);

			parent = view_table_find(&t, path, at, h);
			if (parent != NONE)
				break;
			lens[missing] = at;
			hashes[missing++] = h;
			at = memrchr(path, '/', at) - (const void *)path;
			at = at ? at : 1;
		}
		while (missing-- > 0) {
			node = node_add(v, path, lens[missing], hashes[missing], NONE);
			v->nodes[node].parent = parent;
			parent = node;
		}
	}
	/* A name alone below a whole path only, so that a path is made in one step. */
	if (v->nodes[parent].bits & NODE_NAME_ONLY)
		name = NONE;
	node = node_add(v, path, len, hash, name);
	v->nodes[node].parent = parent;
	v->last_parent = parent;
	return node;
}

const char *view_node_path(const struct view *v, uint32_t node, char *buf)
{
	struct table t;

	view_builder_table(v, &t);
	return node_path(&t, &v->nodes[node], buf);
}

void view_node_host_dir(struct view *v, uint32_t node)
{
	uint32_t parent = v->nodes[node].parent;

	if (parent != NONE)
		v->nodes[parent].bits |= NODE_HOST_DIR;
}

void view_reserve(struct view *v, size_t nodes, size_t bytes)
{
	if (v->node_count + nodes > v->node_cap)
		nodes_grow(v, v->node_count + nodes);
	if ((v->node_count + nodes) * 2 > v->slot_mask + 1)
		slots_grow(v, v->node_count + nodes);
	pool_grow(v, bytes);
}

struct view *view_new(void)
{
	struct view *v = xcalloc(1, sizeof(*v));

	v->slot_mask = 1023;
	v->slots = big_alloc(((size_t)v->slot_mask + 1) * sizeof(*v->slots));
	view_pool_add(v, "", 0); /* offset 0: no string */
	node_add(v, "/", 1, view_hash_path("/", 1), NONE);
	v->base_layer = LAYER_BASE_HOST;
	v->base_src = xstrdup("/");
	return v;
}

void view_builder_release(struct view *v)
{
	big_free(v->nodes, (size_t)v->node_cap * sizeof(*v->nodes));
	big_free(v->slots, ((size_t)v->slot_mask + 1) * sizeof(*v->slots));
	big_free(v->pool.buf, v->pool.cap);
	v->pool = (struct pool){0};
	free(v->base_src);
	v->nodes = NULL;
	v->slots = NULL;
	v->base_src = NULL;
	v->node_count = v->node_cap = 0;
}

void view_free(struct view *v)
{
	if (!v)
		return;
	view_builder_release(v);
	for (size_t i = 0; i < v->text_count; i++)
		big_free(v->texts[i].buf, v->texts[i].cap);
	free(v->texts);
	big_free(v->inputs, v->input_cap * sizeof(*v->inputs));
	if (v->owns_image)
		big_free((void *)v->image, v->image->size);
	free(v);
}

/* Fill *ERR (when not NULL) with a message, and return RET. */
int view_set_err(char **err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return ret;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return ret;
}

int view_set_root(struct view *v, const char *host_dir, char **err)
{
	char *real;
	struct stat st;

	if (v->image)
		return view_set_err(err, -EINVAL, "--root %s: the view is already sealed",
				    host_dir);
	real = realpath(host_dir, NULL);
	if (!real)
		return view_set_err(err, -errno, "--root %s: %s", host_dir, strerror(errno));
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(real);
		return view_set_err(err, -ENOTDIR, "--root %s: %s", host_dir, strerror(ENOTDIR));
	}
	free(v->base_src);
	v->base_src = real;
	v->base_layer = LAYER_BASE_ROOT;
	return 0;
}

void view_set_hermetic(struct view *v)
{
	free(v->base_src);
	v->base_src = NULL;
	v->base_layer = LAYER_BASE_EMPTY;
}

int view_declare(struct view *v, enum layer_kind kind, const char *src, const char *dest,
		 const char **conflict)
{
	return view_declare_node(v, view_node(v, dest, strlen(dest)), kind, src, conflict);
}

const char *view_text_string(const struct view *v, uint32_t off)
{
	off &= ~TEXT_REF;
	for (size_t i = v->text_count; i-- > 0;)
		if (off >= v->texts[i].base)
			return v->texts[i].buf + (off - v->texts[i].base);
	return NULL;
}

/* The builder's string at OFF: in the pool, or in a manifest's text (TEXT_REF). */
const char *view_builder_string(const struct view *v, uint32_t off)
{
	return off & TEXT_REF ? view_text_string(v, off) : v->pool.buf + off;
}

/*
 * The offset of SRC: its place in a manifest's text (TEXT_REF; the text
 * ends with a NUL, so SRC's is in it too), or a copy in the pool.
 */
static uint32_t builder_add_string(struct view *v, const char *src)
{
	uint32_t ref = view_text_ref(v, src);

	return ref != NONE ? ref : view_pool_add(v, src, strlen(src));
}

uint32_t view_text_ref(const struct view *v, const char *s)
{
	for (size_t i = 0; i < v->text_count; i++) {
		const struct manifest_text *text = &v->texts[i];

		if (s >= text->buf && s < text->buf + text->len)
			return TEXT_REF | (text->base + (uint32_t)(s - text->buf));
	}
	return NONE;
}

int view_keep_manifest(struct view *v, char *buf, size_t len, size_t cap)
{
	size_t base = v->text_size;

	if (base + big_round(len + 1) >= TEXT_REF)
		return -EFBIG;
	v->texts = xrealloc(v->texts, (v->text_count + 1) * sizeof(*v->texts));
	v->texts[v->text_count++] = (struct manifest_text){buf, len, cap, base};
	v->text_size = base + big_round(len + 1);
	return 0;
}

/*
 * Declare NODE of layer KIND from SRC, or from its own path (SELF, SRC
 * NULL): an input declared again must name the same source.
 */
static int declare_at(struct view *v, uint32_t node, enum layer_kind kind, const char *src,
		      bool self, const char **conflict)
{
	struct vnode *n = &v->nodes[node];

	if (n->type == NODE_DECL && n->layer == LAYER_INPUT && kind == LAYER_INPUT) {
		/* The earlier source: from itself, the DEST (whose name alone the node may keep). */
		static char earlier_buf[PATH_MAX];
		bool earlier_self = n->src == n->path;
		const char *earlier = earlier_self ? view_node_path(v, node, earlier_buf)
						   : view_builder_string(v, n->src);

		/*
		 * Compared as strings: sources are resolved the same way (one
		 * equal to the DEST was declared from itself).
		 */
		if (self ? !earlier_self : strcmp(earlier, src) != 0) {
			*conflict = earlier;
			return -EINVAL;
		}
	}
	n->type = NODE_DECL;
	n->layer = kind;
	n->layer_index = v->decl_count++;
	n->cover = node;
	if (self)
		n->src = n->path;
	else if (!src)
		n->src = 0;
	else
		n->src = builder_add_string(v, src);
	return node;
}

int view_declare_node(struct view *v, uint32_t node, enum layer_kind kind, const char *src,
		      const char **conflict)
{
	struct table t;

	/* Compared where the node keeps its path, unmade (a manifest declares thousands). */
	view_builder_table(v, &t);
	if (src && node_path_is(&t, &v->nodes[node], src, strlen(src)))
		return declare_at(v, node, kind, NULL, true, conflict);
	return declare_at(v, node, kind, src, false, conflict);
}

int view_declare_node_self(struct view *v, uint32_t node, enum layer_kind kind,
			   const char **conflict)
{
	return declare_at(v, node, kind, NULL, true, conflict);
}

void view_reserve_inputs(struct view *v, size_t count)
{
	size_t cap = v->input_cap ? v->input_cap : 64;

	if (v->input_count + count <= v->input_cap)
		return;
	while (cap < v->input_count + count)
		cap *= 2;
	v->inputs =
	    big_resize(v->inputs, v->input_cap * sizeof(*v->inputs), cap * sizeof(*v->inputs));
	v->input_cap = cap;
}

void view_record_input(struct view *v, const char *line, uint32_t node)
{
	view_reserve_inputs(v, 1);
	v->inputs[v->input_count] = (struct kept_input){line, node};
	v->input_count++;
}

/* Declare in view_add: the message of a conflict. */
static int declare(struct view *v, enum layer_kind kind, const char *src, const char *dest,
		   const char *option, char **err)
{
	const char *conflict = NULL;

	if (view_declare(v, kind, src, dest, &conflict) < 0)
		return view_set_err(err, -EINVAL, "%s: %s declared twice, from %s and %s", option,
				    dest, conflict, src ? src : "");
	return 0;
}

int view_add(struct view *v, enum layer_kind kind, const char *src, const char *dest,
	     const char *option, char **err)
{
	char norm[PATH_MAX];
	autofree char *real = NULL;

	if (v->image)
		return view_set_err(err, -EINVAL, "%s: the view is already sealed", option);
	if (kind < LAYER_BIND || kind > LAYER_INPUT)
		return view_set_err(err, -EINVAL, "%s: not a declaration", option);
	if (!dest || dest[0] != '/')
		return view_set_err(err, -EINVAL, "%s %s: the destination must be an absolute path",
				    option, dest ? dest : "");
	if (strlen(dest) >= PATH_MAX || path_join_lexical(NULL, dest, norm) < 0)
		return view_set_err(err, -ENAMETOOLONG, "%s %s: %s", option, dest,
				    strerror(ENAMETOOLONG));
	if (kind == LAYER_HIDE)
		return declare(v, kind, NULL, norm, option, err);
	if (!src)
		return view_set_err(err, -EINVAL, "%s %s: a source is needed", option, dest);
	if (strlen(src) >= PATH_MAX)
		return view_set_err(err, -ENAMETOOLONG, "%s %s: %s", option, src,
				    strerror(ENAMETOOLONG));
	if (kind == LAYER_SYMLINK)
		return declare(v, kind, src, norm, option, err);
	/* Binding a link binds what it points to, as a mount would. */
	real = realpath(src, NULL);
	if (!real)
		return view_set_err(err, -errno, "%s %s: %s", option, src, strerror(errno));
	if (strlen(real) >= PATH_MAX)
		return view_set_err(err, -ENAMETOOLONG, "%s %s: %s", option, src,
				    strerror(ENAMETOOLONG));
	return declare(v, kind, real, norm, option, err);
}

static bool layer_read_only(enum layer_kind kind)
{
	return kind == LAYER_BASE_ROOT || kind == LAYER_RO_BIND || kind == LAYER_INPUT;
}

int view_host_join(const char *src, const char *path, size_t dest_len, char *out)
{
	const char *rest = dest_len == 1 ? path : path + dest_len;
	size_t src_len = strlen(src), rest_len;

	if (strcmp(rest, "/") == 0)
		rest = "";
	if (strcmp(src, "/") == 0 && *rest)
		src_len = 0;
	rest_len = strlen(rest);
	if (src_len + rest_len >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, src, src_len);
	memcpy(out + src_len, rest, rest_len + 1);
	return 0;
}

/* Lookups, against the image only. */

/* Decide PATH through the DECL node COVER (NONE: the base). */
static int decide(const struct view_image *img, const struct table *t, uint32_t cover,
		  const char *path, bool exact, struct view_target *out)
{
	const char *src;
	size_t dest_len;
	bool itself = false; /* the host path is the view path */

	if (cover == NONE) {
		out->layer = img->base_layer;
		out->layer_index = 0;
		src = img->base_src ? t->pool + img->base_src : NULL;
		dest_len = 1;
	} else {
		const struct vnode *c = &t->nodes[cover];

		out->layer = c->layer;
		out->layer_index = c->layer_index;
		/* A DEST from itself may keep its name alone (NODE_NAME_ONLY): no string of it. */
		itself = c->src == c->path;
		src = itself ? NULL : t->pool + c->src;
		dest_len = c->len;
	}
	out->read_only = layer_read_only(out->layer);
	if (out->layer == LAYER_SYMLINK && exact) {
		out->kind = VIEW_SYMLINK;
		strcpy(out->host, src);
		return 0;
	}
	if (!layer_on_host(out->layer)) {
		out->kind = VIEW_ABSENT;
		return 0;
	}
	out->kind = VIEW_HOST;
	if (itself) {
		strcpy(out->host, path);
		return 0;
	}
	return view_host_join(src, path, dest_len, out->host);
}

int view_image_lookup(const struct view_image *img, const char *path, struct view_target *out,
		      bool *exact, uint32_t *nodep)
{
	struct table t;
	size_t len = strlen(path);
	uint32_t node;
	const struct vnode *n;

	out->host[0] = '\0';
	out->listing_changed = false;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (path[0] != '/')
		return -EINVAL;
	image_table(img, &t);
	node = view_deepest_node(&t, path, len);
	n = &t.nodes[node];
	*exact = n->len == len || (len == 1 && node == 0);
	*nodep = node;
	out->listing_changed = *exact && (n->flags & FLAG_LISTING_CHANGED);
	switch (n->type) {
	case NODE_DECL:
		return decide(img, &t, node, path, *exact, out);
	case NODE_PASS:
		return decide(img, &t, n->cover, path, false, out);
	default:
		out->kind = *exact ? VIEW_VIRTUAL_DIR : VIEW_ABSENT;
		out->read_only = true;
		out->layer = n->layer;
		out->layer_index = n->layer_index;
		return 0;
	}
}

int view_lookup(const struct view *v, const char *path, struct view_target *out)
{
	uint32_t node;
	bool exact;

	if (!v->image)
		return -EINVAL;
	return view_image_lookup(v->image, path, out, &exact, &node);
}

bool view_dir_is_plain(const struct view *v, const char *dir)
{
	struct view_target target;
	uint32_t node;
	bool exact;

	if (!v->image || view_image_lookup(v->image, dir, &target, &exact, &node) < 0)
		return false;
	return target.kind == VIEW_HOST && !target.listing_changed;
}

void view_list_extra(const struct view *v, const char *dir,
		     void (*add)(void *ctx, const char *name, enum view_node_kind kind), void *ctx)
{
	struct table t;
	size_t len = strlen(dir);
	char name[PATH_MAX];
	uint32_t node;
	const struct vnode *n;

	if (!v->image || len >= PATH_MAX || dir[0] != '/')
		return;
	image_table(v->image, &t);
	node = view_deepest_node(&t, dir, len);
	n = &t.nodes[node];
	if (n->len != len || (n->type == NODE_DECL && !layer_on_host(n->layer)))
		return;
	for (uint32_t c = n->first_child; c != NONE; c = t.nodes[c].next_sibling) {
		const struct vnode *child = &t.nodes[c];
		enum view_node_kind kind = VIEW_HOST;

		if (child->type == NODE_VIRTUAL)
			kind = VIEW_VIRTUAL_DIR;
		else if (child->type == NODE_DECL && child->layer == LAYER_HIDE)
			continue;
		else if (child->type == NODE_DECL && child->layer == LAYER_SYMLINK)
			kind = VIEW_SYMLINK;
		memcpy(name, node_name(&t, child), node_name_len(child));
		name[node_name_len(child)] = '\0';
		add(ctx, name, kind);
	}
}

bool view_keeps_host_entry(const struct view *v, const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct view_target target;
	uint32_t node;
	bool exact;
	int len;

	if (!v->image)
		return false;
	len = snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
	if (len < 0 || len >= PATH_MAX)
		return false;
	if (view_image_lookup(v->image, path, &target, &exact, &node) < 0)
		return false;
	return !exact && target.kind == VIEW_HOST;
}

size_t view_input_count(const struct view *v)
{
	return v->input_count;
}

const char *view_input_line(const struct view *v, size_t i)
{
	return i < v->input_count ? v->inputs[i].line : NULL;
}

const char *view_input_path(const struct view *v, size_t i, char *buf)
{
	struct table t;
	const struct vnode *n;

	if (i >= v->input_count)
		return NULL;
	if (v->image)
		image_table(v->image, &t);
	else
		view_builder_table(v, &t);
	n = &t.nodes[v->inputs[i].node];
	return node_path(&t, n, buf);
}
