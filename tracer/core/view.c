// SPDX-License-Identifier: MIT
/*
 * The virtual view: the layer table, built from the declarations, then
 * sealed into one position-independent image (see view.h).
 *
 * Both the builder and the image are a tree of nodes: one per DEST, and
 * one per ancestor of a DEST, so that every prefix of a node's path at a
 * component boundary is a node too. A path is looked up by walking its
 * prefixes down from "/" until one is missing (O(depth) hash probes); the
 * deepest node found decides it. The nodes of the builder are the nodes of
 * the image: sealing links each directory's children in byte order, decides
 * which ancestors are virtual directories, and moves the node array, the
 * hash table and the string pool (each a mapping of its own, bigmem.h)
 * into one mapping, page by page, without copying them. The image's layout
 * is in view_priv.h.
 *
 * The reverse way, a host path to a view path, is view_reverse.c's: sealing
 * here gives it the nodes to index and room in the image, and it looks up
 * with view_image_lookup.
 */
#include <errno.h>
#include <pthread.h>
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

#define VIEW_MAGIC 0x32776670u /* "pfw2" */

/*
 * A manifest's text kept: CAP bytes from big_alloc, LEN of them and a NUL
 * used. BASE is where it goes in the image, counted from the end of the
 * string pool (rounded up to a page), the texts one after the other.
 */
struct manifest_text {
	char *buf;
	size_t len, cap;
	uint32_t base;
};

/* A manifest line kept: the line (in a manifest's buffer) and the node of its DEST. */
struct kept_input {
	const char *line;
	uint32_t node;
};

/* The builder's strings: NUL-terminated, one after the other, at offsets that stay. */
struct pool {
	char *buf;
	size_t len, cap;
};

struct view {
	/* The builder, moved into the image by view_seal (arrays of bigmem.h). */
	struct vnode *nodes;
	uint32_t node_count, node_cap;
	struct slot *slots;
	uint32_t slot_mask;
	struct pool pool;
	uint32_t last_parent; /* the parent of the last node made: the next one's, often */
	uint32_t decl_count;
	enum layer_kind base_layer;
	char *base_src;

	/* The manifests' lines, kept after sealing: in the manifests' own buffers. */
	struct manifest_text *texts;
	size_t text_count;
	uint32_t text_size; /* of the texts, each rounded up to a page */
	struct kept_input *inputs;
	size_t input_count, input_cap;

	/* The sealed image, NULL until view_seal. */
	const struct view_image *image;
	bool owns_image;
};

static uint32_t hash_path(const char *p, size_t len)
{
	return hash_final(hash_more(HASH_SEED, p, len));
}

static uint32_t table_find(const struct table *t, const char *path, size_t len, uint32_t hash)
{
	for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];
		const struct vnode *n;

		if (!s->node)
			return NONE;
		if (s->hash != hash)
			continue;
		n = &t->nodes[s->node - 1];
		if (n->len == len && memcmp(t->pool + n->path, path, len) == 0)
			return s->node - 1;
	}
}

/* Every ancestor of a node is a node, so the walk down stops at the first prefix missing. */
uint32_t view_deepest_node(const struct table *t, const char *path, size_t len)
{
	uint32_t h = hash_step(HASH_SEED, '/');
	uint32_t best = 0; /* "/" */

	for (size_t i = 1; i <= len; i++) {
		if ((i == len || path[i] == '/') && i > 1) {
			uint32_t n = table_find(t, path, i, hash_final(h));

			if (n == NONE)
				break;
			best = n;
		}
		if (i < len)
			h = hash_step(h, path[i]);
	}
	return best;
}

static void builder_table(const struct view *v, struct table *t)
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
static uint32_t pool_add(struct view *v, const char *s, size_t len)
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

/* A new node for PATH (LEN bytes), not yet in the table: its index. */
static uint32_t node_add(struct view *v, const char *path, size_t len, uint32_t hash)
{
	struct vnode *n;
	const char *slash;

	if (v->node_count == v->node_cap)
		nodes_grow(v, v->node_cap ? v->node_cap * 2 : 256);
	if ((v->node_count + 1) * 2 > v->slot_mask + 1)
		slots_grow(v, v->node_count + 1);
	n = &v->nodes[v->node_count];
	memset(n, 0, sizeof(*n));
	n->path = pool_add(v, path, len);
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
	return view_node_hashed(v, path, len, hash_path(path, len));
}

/*
 * The node of PATH (canonical, LEN bytes), made with its missing ancestors
 * when absent: those first, so that a parent's index is below its
 * children's (sealing walks the nodes in index order, parents first).
 */
uint32_t view_node_hashed(struct view *v, const char *path, size_t len, uint32_t hash)
{
	/* The missing ancestors' lengths and hashes, the deepest first. */
	uint16_t lens[PATH_MAX / 2];
	uint32_t hashes[PATH_MAX / 2];
	uint32_t node, parent, missing = 0;
	const struct vnode *last;
	struct table t;
	size_t at;

	builder_table(v, &t);
	node = table_find(&t, path, len, hash);
	if (node != NONE)
		return node;
	/* Inputs come by directory: the parent is often the last new node's. */
	last = &v->nodes[v->last_parent];
	at = memrchr(path, '/', len) - (const void *)path;
	at = at ? at : 1;
	if (len > 1 && last->len == at && memcmp(v->pool.buf + last->path, path, at) == 0) {
		parent = v->last_parent;
	} else {
		/* Up to the first ancestor there ("/" is). */
		for (;;) {
			uint32_t h = hash_path(path, at);

			parent = table_find(&t, path, at, h);
			if (parent != NONE)
				break;
			lens[missing] = at;
			hashes[missing++] = h;
			at = memrchr(path, '/', at) - (const void *)path;
			at = at ? at : 1;
		}
		while (missing-- > 0) {
			node = node_add(v, path, lens[missing], hashes[missing]);
			v->nodes[node].parent = parent;
			parent = node;
		}
	}
	node = node_add(v, path, len, hash);
	v->nodes[node].parent = parent;
	v->last_parent = parent;
	return node;
}

const char *view_node_path(const struct view *v, uint32_t node)
{
	return v->pool.buf + v->nodes[node].path;
}

void view_node_host_dir(struct view *v, uint32_t node)
{
	uint32_t parent = v->nodes[node].parent;

	if (parent != NONE)
		v->nodes[parent].host_dir = 1;
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
	pool_add(v, "", 0); /* offset 0: no string */
	node_add(v, "/", 1, hash_path("/", 1));
	v->base_layer = LAYER_BASE_HOST;
	v->base_src = xstrdup("/");
	return v;
}

static void builder_release(struct view *v)
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
	builder_release(v);
	for (size_t i = 0; i < v->text_count; i++)
		big_free(v->texts[i].buf, v->texts[i].cap);
	free(v->texts);
	big_free(v->inputs, v->input_cap * sizeof(*v->inputs));
	if (v->owns_image)
		big_free((void *)v->image, v->image->size);
	free(v);
}

/* Fill *ERR (when not NULL) with a message, and return RET. */
__attribute__((format(printf, 3, 4))) static int set_err(char **err, int ret, const char *fmt, ...)
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
		return set_err(err, -EINVAL, "--root %s: the view is already sealed", host_dir);
	real = realpath(host_dir, NULL);
	if (!real)
		return set_err(err, -errno, "--root %s: %s", host_dir, strerror(errno));
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(real);
		return set_err(err, -ENOTDIR, "--root %s: %s", host_dir, strerror(ENOTDIR));
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
static const char *builder_string(const struct view *v, uint32_t off)
{
	return off & TEXT_REF ? view_text_string(v, off) : v->pool.buf + off;
}

/*
 * The offset of SRC: its place in a manifest's text (TEXT_REF; the text
 * ends with a NUL, so SRC's is in it too), or a copy in the pool.
 */
static uint32_t builder_add_string(struct view *v, const char *src)
{
	for (size_t i = 0; i < v->text_count; i++) {
		const struct manifest_text *text = &v->texts[i];

		if (src >= text->buf && src < text->buf + text->len)
			return TEXT_REF | (text->base + (uint32_t)(src - text->buf));
	}
	return pool_add(v, src, strlen(src));
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

int view_declare_node(struct view *v, uint32_t node, enum layer_kind kind, const char *src,
		      const char **conflict)
{
	struct vnode *n = &v->nodes[node];
	const char *dest = v->pool.buf + n->path;
	bool same = src && (src == dest || strcmp(src, dest) == 0);

	if (n->type == NODE_DECL && n->layer == LAYER_INPUT && kind == LAYER_INPUT &&
	    strcmp(builder_string(v, n->src), src) != 0) {
		/* Compared as strings: sources are resolved the same way. */
		*conflict = builder_string(v, n->src);
		return -EINVAL;
	}
	n->type = NODE_DECL;
	n->layer = kind;
	n->layer_index = v->decl_count++;
	n->cover = node;
	if (!src)
		n->src = 0;
	else if (same)
		n->src = n->path;
	else
		n->src = builder_add_string(v, src);
	return node;
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
		return set_err(err, -EINVAL, "%s: %s declared twice, from %s and %s", option, dest,
			       conflict, src ? src : "");
	return 0;
}

int view_add(struct view *v, enum layer_kind kind, const char *src, const char *dest,
	     const char *option, char **err)
{
	char norm[PATH_MAX];
	autofree char *real = NULL;

	if (v->image)
		return set_err(err, -EINVAL, "%s: the view is already sealed", option);
	if (kind < LAYER_BIND || kind > LAYER_INPUT)
		return set_err(err, -EINVAL, "%s: not a declaration", option);
	if (!dest || dest[0] != '/')
		return set_err(err, -EINVAL, "%s %s: the destination must be an absolute path",
			       option, dest ? dest : "");
	if (strlen(dest) >= PATH_MAX || path_join_lexical(NULL, dest, norm) < 0)
		return set_err(err, -ENAMETOOLONG, "%s %s: %s", option, dest,
			       strerror(ENAMETOOLONG));
	if (kind == LAYER_HIDE)
		return declare(v, kind, NULL, norm, option, err);
	if (!src)
		return set_err(err, -EINVAL, "%s %s: a source is needed", option, dest);
	if (strlen(src) >= PATH_MAX)
		return set_err(err, -ENAMETOOLONG, "%s %s: %s", option, src,
			       strerror(ENAMETOOLONG));
	if (kind == LAYER_SYMLINK)
		return declare(v, kind, src, norm, option, err);
	/* Binding a link binds what it points to, as a mount would. */
	real = realpath(src, NULL);
	if (!real)
		return set_err(err, -errno, "%s %s: %s", option, src, strerror(errno));
	if (strlen(real) >= PATH_MAX)
		return set_err(err, -ENAMETOOLONG, "%s %s: %s", option, src,
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

/* Sealing: classify the ancestors, link the children in byte order, copy into the image. */

static int cmp_names(const void *a, const void *b, void *arg)
{
	const struct view *v = arg;
	const struct vnode *na = &v->nodes[*(const uint32_t *)a];
	const struct vnode *nb = &v->nodes[*(const uint32_t *)b];

	return strcmp(v->pool.buf + na->path + na->name, v->pool.buf + nb->path + nb->name);
}

/* Whether the N nodes at ORDER are in byte order of their names already (manifests often are). */
static bool sorted(const struct view *v, const uint32_t *order, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (cmp_names(&order[i - 1], &order[i], (void *)v) > 0)
			return false;
	return true;
}

/* Link every node's children in byte order of their names: a counting sort by parent. */
static void link_children(struct view *v)
{
	uint32_t count = v->node_count;
	autofree uint32_t *start = xcalloc(count + 1, sizeof(*start));
	autofree uint32_t *order = xmalloc(count * sizeof(*order));

	for (uint32_t n = 1; n < count; n++)
		start[v->nodes[n].parent + 1]++;
	for (uint32_t p = 0; p < count; p++)
		start[p + 1] += start[p];
	for (uint32_t n = 1; n < count; n++)
		order[start[v->nodes[n].parent]++] = n;
	/* START[P] is now the end of P's children: walk back to link them. */
	for (uint32_t p = 0; p < count; p++) {
		uint32_t begin = p ? start[p - 1] : 0, end = start[p];

		if (end - begin > 1 && !sorted(v, order + begin, end - begin))
			qsort_r(order + begin, end - begin, sizeof(*order), cmp_names, v);
		for (uint32_t i = end; i > begin; i--) {
			v->nodes[order[i - 1]].next_sibling = v->nodes[p].first_child;
			v->nodes[p].first_child = order[i - 1];
		}
	}
}

/*
 * A --hide DEST with something visible declared below it (a DEST of another
 * kind) is a virtual directory, as a tmpfs with binds in it would be: it
 * keeps its layer (LAYER_HIDE), and covers what is below it, so that its
 * undeclared names stay absent.
 */
static void open_hidden_dirs(struct view *v)
{
	/* Builder only: FLAGS is set on the nodes with a visible DEST below them (children first). */
	for (uint32_t i = v->node_count; i-- > 1;) {
		const struct vnode *n = &v->nodes[i];

		if (n->flags || (n->type == NODE_DECL && n->layer != LAYER_HIDE))
			v->nodes[n->parent].flags = 1;
	}
	for (uint32_t i = 0; i < v->node_count; i++) {
		struct vnode *n = &v->nodes[i];

		if (n->type == NODE_DECL && n->layer == LAYER_HIDE && n->flags)
			n->type = NODE_VIRTUAL;
		n->flags = 0;
	}
}

/*
 * Decide each ancestor, parents first (in index order: view_node_hashed): a
 * virtual directory unless its counterpart in the layer covering it is a
 * directory on the host.
 */
static void classify(struct view *v)
{
	char host[PATH_MAX];
	struct stat st;

	open_hidden_dirs(v);
	for (uint32_t node = 0; node < v->node_count; node++) {
		struct vnode *n = &v->nodes[node];
		const struct vnode *p = n->parent == NONE ? NULL : &v->nodes[n->parent];

		if (n->type == NODE_DECL || n->cover == node)
			continue;
		n->cover = p ? p->cover : NONE;
		if (n->cover == NONE) {
			n->layer = v->base_layer;
			n->layer_index = 0;
		} else {
			n->layer = v->nodes[n->cover].layer;
			n->layer_index = v->nodes[n->cover].layer_index;
		}
		n->type = NODE_VIRTUAL;
		if (!layer_on_host(n->layer) || (p && p->type == NODE_VIRTUAL))
			continue;
		if (n->cover == NONE) {
			if (view_host_join(v->base_src, v->pool.buf + n->path, 1, host) < 0)
				continue;
		} else {
			const struct vnode *c = &v->nodes[n->cover];

			if (view_host_join(builder_string(v, c->src), v->pool.buf + n->path, c->len,
					   host) < 0)
				continue;
		}
		/* The manifest's check may have seen that directory already. */
		if ((n->host_dir && strcmp(host, v->pool.buf + n->path) == 0) ||
		    (stat(host, &st) == 0 && S_ISDIR(st.st_mode)))
			n->type = NODE_PASS;
	}
}

static const char *const implicit_binds[] = {"/dev", "/proc", "/sys"};
#define IMPLICIT_COUNT (sizeof(implicit_binds) / sizeof(implicit_binds[0]))

/* With --root or --hermetic, the host's /dev, /proc and /sys, declared before the user's. */
static void add_implicit_binds(struct view *v)
{
	uint32_t first = 1;
	struct table t;

	if (v->base_layer == LAYER_BASE_HOST) {
		for (uint32_t n = 0; n < v->node_count; n++)
			if (v->nodes[n].type == NODE_DECL)
				v->nodes[n].layer_index += 1;
		return;
	}
	for (uint32_t n = 0; n < v->node_count; n++)
		if (v->nodes[n].type == NODE_DECL)
			v->nodes[n].layer_index += 1 + IMPLICIT_COUNT;
	for (uint32_t i = 0; i < IMPLICIT_COUNT; i++) {
		const char *dest = implicit_binds[i];
		struct stat st;
		uint32_t node;

		builder_table(v, &t);
		node = table_find(&t, dest, strlen(dest), hash_path(dest, strlen(dest)));
		if ((node != NONE && v->nodes[node].type == NODE_DECL) || stat(dest, &st) < 0)
			continue;
		node = view_node(v, dest, strlen(dest));
		v->nodes[node].type = NODE_DECL;
		v->nodes[node].layer = LAYER_BIND;
		v->nodes[node].layer_index = first + i;
		v->nodes[node].cover = node;
		v->nodes[node].src = v->nodes[node].path;
	}
}

/*
 * Whether the layer covering the (not virtual) node N shows the host at
 * N's own path; BASE_AS_IS: the base does (the host's "/", or --root /).
 */
static bool covered_as_is(const struct view *v, const struct vnode *n, bool base_as_is)
{
	return n->cover == NONE ? base_as_is : shows_itself(&v->nodes[n->cover]);
}

/*
 * After classify: mark FLAG_LISTING_CHANGED on each node with a child
 * other than a directory already there on the host (NODE_PASS) or the
 * host's own file declared at its own path below a layer that shows the
 * host as it is (an input over the host's "/").
 */
static void mark_listings_changed(struct view *v)
{
	bool base_as_is = v->base_src && strcmp(v->base_src, "/") == 0;

	for (uint32_t i = 1; i < v->node_count; i++) {
		const struct vnode *n = &v->nodes[i];

		if (n->type == NODE_PASS ||
		    (shows_itself(n) && covered_as_is(v, &v->nodes[n->parent], base_as_is)))
			continue;
		v->nodes[n->parent].flags |= FLAG_LISTING_CHANGED;
	}
}

static bool in_text(const struct manifest_text *text, const char *p)
{
	return p >= text->buf && p <= text->buf + text->len;
}

/*
 * Make the builder's offsets and pointers into the manifests' texts those
 * of the image IMG, where the texts now are, from TEXTS on (at the pool's
 * offset TEXTS_AT).
 */
static void relocate_texts(struct view *v, struct view_image *img, char *texts, size_t texts_at)
{
	struct vnode *nodes = (struct vnode *)((char *)img + img->nodes);

	for (uint32_t i = 0; i < img->node_count; i++)
		if (nodes[i].src & TEXT_REF)
			nodes[i].src = texts_at + (nodes[i].src & ~TEXT_REF);
	for (size_t i = 0, k = 0; i < v->input_count && v->text_count; i++) {
		const char *line = v->inputs[i].line;

		/* Lines are kept text by text: the last line's text, mostly. */
		if (!in_text(&v->texts[k], line))
			for (k = 0; k < v->text_count && !in_text(&v->texts[k], line); k++)
				;
		if (k == v->text_count) {
			k = 0;
			continue;
		}
		v->inputs[i].line = texts + v->texts[k].base + (line - v->texts[k].buf);
	}
}

/* Building the reverse index, on a thread of its own. */
struct reverse_job {
	const struct table *t;
	const struct reverse *r;
	void *slots, *entries;
	uint32_t used;
};

static void *reverse_job_run(void *arg)
{
	struct reverse_job *job = arg;

	job->used = reverse_build(job->t, job->r, job->slots, job->entries);
	return NULL;
}

/* From this many sources on, the reverse index is built beside the rest of sealing. */
#define REVERSE_THREAD_MIN 4096

int view_seal(struct view *v, char **err)
{
	size_t nodes_size, slots_size, rev_slots_size, rev_entries_size, pool_size, size;
	void *rev_slots, *rev_entries;
	struct reverse_job build;
	struct view_image *img;
	struct reverse r;
	struct table t;
	pthread_t thread;
	bool threaded;
	uint32_t used;
	char *base;

	if (v->image)
		return set_err(err, -EINVAL, "the view is already sealed");
	add_implicit_binds(v);
	/* The last string: the pool does not move while the reverse index is built. */
	if (v->base_src)
		pool_add(v, v->base_src, strlen(v->base_src));
	builder_table(v, &t);
	reverse_plan(&t, v->node_count, v->decl_count + 1 + IMPLICIT_COUNT, &r);
	/* Room for an entry each: those used move into the image, the rest is never touched. */
	rev_slots_size = reverse_slots_size(r.size);
	build = (struct reverse_job){&t, &r, big_alloc(rev_slots_size),
				     big_alloc(reverse_entries_size(r.count))};
	/*
	 * The reverse index reads the declarations' sources; linking and
	 * classifying meanwhile write the nodes' other fields.
	 */
	threaded = r.count >= REVERSE_THREAD_MIN &&
		   pthread_create(&thread, NULL, reverse_job_run, &build) == 0;
	if (!threaded)
		reverse_job_run(&build);
	link_children(v);
	classify(v);
	mark_listings_changed(v);
	if (threaded)
		pthread_join(thread, NULL);
	rev_slots = build.slots;
	rev_entries = build.entries;
	used = build.used;
	rev_entries_size = reverse_entries_size(used);
	free(r.by_index);

	/*
	 * Each part on pages of its own, so that the builder's arrays, the
	 * manifests' texts and the reverse index move in whole pages.
	 */
	nodes_size = (size_t)v->node_count * sizeof(struct vnode);
	slots_size = ((size_t)v->slot_mask + 1) * sizeof(struct slot);
	pool_size = big_round(v->pool.len) + v->text_size;
	size = big_round(sizeof(*img)) + big_round(nodes_size) + big_round(slots_size) +
	       big_round(rev_slots_size) + big_round(pool_size);
	if (size + rev_entries_size > UINT32_MAX) {
		big_free(rev_slots, rev_slots_size);
		big_free(rev_entries, reverse_entries_size(r.count));
		return set_err(err, -E2BIG, "the view is too large (%zu bytes)",
			       size + rev_entries_size);
	}
	base = big_alloc(size + rev_entries_size);
	img = (struct view_image *)base;
	img->magic = VIEW_MAGIC;
	img->node_count = v->node_count;
	img->nodes = big_round(sizeof(*img));
	img->slots = img->nodes + big_round(nodes_size);
	img->slot_mask = v->slot_mask;
	img->rev_slots = img->slots + big_round(slots_size);
	img->rev_size = r.size;
	img->pool = img->rev_slots + big_round(rev_slots_size);
	img->rev_entries = size;
	img->base_layer = v->base_layer;
	if (v->base_src)
		img->base_src = v->pool.len - strlen(v->base_src) - 1;
	big_move(v->nodes, nodes_size, (size_t)v->node_cap * sizeof(struct vnode),
		 base + img->nodes);
	big_move(v->slots, slots_size, slots_size, base + img->slots);
	big_move(v->pool.buf, v->pool.len, v->pool.cap, base + img->pool);
	for (size_t i = 0; i < v->text_count; i++)
		big_move(v->texts[i].buf, v->texts[i].len + 1, v->texts[i].cap,
			 base + img->pool + big_round(v->pool.len) + v->texts[i].base);
	relocate_texts(v, img, base + img->pool + big_round(v->pool.len), big_round(v->pool.len));
	v->nodes = NULL;
	v->slots = NULL;
	v->pool = (struct pool){0};
	v->text_count = 0;
	big_move(rev_slots, rev_slots_size, rev_slots_size, base + img->rev_slots);
	big_move(rev_entries, rev_entries_size, reverse_entries_size(r.count),
		 base + img->rev_entries);
	img->size = size + rev_entries_size;
	img->rev_count = used;
	builder_release(v);
	v->image = img;
	v->owns_image = true;
	return 0;
}

/*
 * Whether IMAGE (SIZE bytes, from wherever) is a sealed image: its parts in
 * their order, each inside it and after the one before (page padding
 * between them is allowed, and not read).
 */
static bool image_valid(const struct view_image *img, size_t size)
{
	size_t nodes_end, slots_end, rev_slots_end;

	if (size < sizeof(*img) || img->magic != VIEW_MAGIC || img->size != size ||
	    img->node_count == 0 || img->nodes < sizeof(*img) || img->nodes % 4 != 0 ||
	    img->slots % 4 != 0 || img->rev_slots % 4 != 0 || img->rev_entries % 4 != 0 ||
	    ((img->slot_mask + 1) & img->slot_mask) != 0)
		return false;
	nodes_end = img->nodes + (size_t)img->node_count * sizeof(struct vnode);
	slots_end = img->slots + ((size_t)img->slot_mask + 1) * sizeof(struct slot);
	rev_slots_end = img->rev_slots + reverse_slots_size(img->rev_size);
	return img->slots >= nodes_end && img->rev_slots >= slots_end &&
	       img->pool >= rev_slots_end && img->rev_entries > img->pool &&
	       img->rev_entries + reverse_entries_size(img->rev_count) == size &&
	       img->base_src < img->rev_entries - img->pool;
}

struct view *view_from_image(const void *image, size_t size)
{
	const struct view_image *img = image;
	struct view *v;

	if (!image_valid(img, size))
		return NULL;
	v = xcalloc(1, sizeof(*v));
	v->image = img;
	return v;
}

const void *view_image(const struct view *v)
{
	return v->image;
}

size_t view_image_size(const struct view *v)
{
	return v->image ? v->image->size : 0;
}

/* Lookups, against the image only. */

/* Decide PATH through the DECL node COVER (NONE: the base). */
static int decide(const struct view_image *img, const struct table *t, uint32_t cover,
		  const char *path, bool exact, struct view_target *out)
{
	const char *src;
	size_t dest_len;

	if (cover == NONE) {
		out->layer = img->base_layer;
		out->layer_index = 0;
		src = img->base_src ? t->pool + img->base_src : NULL;
		dest_len = 1;
	} else {
		const struct vnode *c = &t->nodes[cover];

		out->layer = c->layer;
		out->layer_index = c->layer_index;
		src = t->pool + c->src;
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
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (path[0] != '/')
		return -EINVAL;
	image_table(img, &t);
	node = view_deepest_node(&t, path, len);
	n = &t.nodes[node];
	*exact = n->len == len || (len == 1 && node == 0);
	*nodep = node;
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
	struct table t;
	uint32_t node;
	bool exact;

	if (!v->image || view_image_lookup(v->image, dir, &target, &exact, &node) < 0)
		return false;
	if (target.kind != VIEW_HOST)
		return false;
	image_table(v->image, &t);
	return !exact || !(t.nodes[node].flags & FLAG_LISTING_CHANGED);
}

void view_list_extra(const struct view *v, const char *dir,
		     void (*add)(void *ctx, const char *name, enum view_node_kind kind), void *ctx)
{
	struct table t;
	size_t len = strlen(dir);
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
		add(ctx, t.pool + child->path + child->name, kind);
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

const char *view_input_path(const struct view *v, size_t i)
{
	struct table t;
	const struct vnode *n;

	if (i >= v->input_count)
		return NULL;
	if (v->image)
		image_table(v->image, &t);
	else
		builder_table(v, &t);
	n = &t.nodes[v->inputs[i].node];
	return t.pool + n->path;
}
