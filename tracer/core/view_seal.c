// SPDX-License-Identifier: MIT
/*
 * Sealing the view (see view.c for the builder, view_priv.h for the
 * image's layout): decide which ancestors are virtual directories, link
 * each directory's children in byte order, then move the node array, the
 * hash table, the string pool and the manifests' texts (each a mapping of
 * its own, bigmem.h) into one mapping, page by page, without copying them.
 * The reverse index (view_reverse.c) is built meanwhile on another thread.
 * Also: an image from elsewhere (view_from_image).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptvfs/bigmem.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "view_priv.h"

/* Byte order of the names of the nodes at A and B of the table ARG (strcmp's, by lengths). */
static int cmp_names(const void *a, const void *b, void *arg)
{
	const struct table *t = arg;
	const struct vnode *na = &t->nodes[*(const uint32_t *)a];
	const struct vnode *nb = &t->nodes[*(const uint32_t *)b];
	size_t la = node_name_len(na), lb = node_name_len(nb);
	int c = memcmp(node_name(t, na), node_name(t, nb), la < lb ? la : lb);

	return c ? c : (la > lb) - (la < lb);
}

/* Whether the N nodes at ORDER are in byte order of their names already (manifests often are). */
static bool sorted(const struct table *t, const uint32_t *order, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (cmp_names(&order[i - 1], &order[i], (void *)t) > 0)
			return false;
	return true;
}

/* Link every node's children in byte order of their names: a counting sort by parent. */
static void link_children(struct view *v)
{
	uint32_t count = v->node_count;
	autofree uint32_t *start = xcalloc(count + 1, sizeof(*start));
	autofree uint32_t *order = xmalloc(count * sizeof(*order));
	struct table t;

	view_builder_table(v, &t);
	for (uint32_t n = 1; n < count; n++)
		start[v->nodes[n].parent + 1]++;
	for (uint32_t p = 0; p < count; p++)
		start[p + 1] += start[p];
	for (uint32_t n = 1; n < count; n++)
		order[start[v->nodes[n].parent]++] = n;
	/* START[P] is now the end of P's children: walk back to link them. */
	for (uint32_t p = 0; p < count; p++) {
		uint32_t begin = p ? start[p - 1] : 0, end = start[p];

		if (end - begin > 1 && !sorted(&t, order + begin, end - begin))
			qsort_r(order + begin, end - begin, sizeof(*order), cmp_names, &t);
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
	char host[PATH_MAX], buf[PATH_MAX];
	struct stat st;
	struct table t;

	open_hidden_dirs(v);
	for (uint32_t node = 0; node < v->node_count; node++) {
		struct vnode *n = &v->nodes[node];
		const struct vnode *p = n->parent == NONE ? NULL : &v->nodes[n->parent];
		const char *path;

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
		view_builder_table(v, &t);
		path = node_path(&t, n, buf);
		if (n->cover == NONE) {
			if (view_host_join(v->base_src, path, 1, host) < 0)
				continue;
		} else {
			const struct vnode *c = &v->nodes[n->cover];

			/* A DEST from itself: the host path is the view path. */
			if (c->src == c->path)
				strcpy(host, path);
			else if (view_host_join(view_builder_string(v, c->src), path, c->len,
						host) < 0)
				continue;
		}
		/* The manifest's check may have seen that directory already. */
		if (((n->bits & NODE_HOST_DIR) && strcmp(host, path) == 0) ||
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

		view_builder_table(v, &t);
		node = view_table_find(&t, dest, strlen(dest), view_hash_path(dest, strlen(dest)));
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

	for (uint32_t i = 0; i < img->node_count; i++) {
		if (nodes[i].src & TEXT_REF)
			nodes[i].src = texts_at + (nodes[i].src & ~TEXT_REF);
		/* A DEST from itself keeps the same offset for both. */
		if (nodes[i].path & TEXT_REF)
			nodes[i].path = texts_at + (nodes[i].path & ~TEXT_REF);
	}
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
		return view_set_err(err, -EINVAL, "the view is already sealed");
	add_implicit_binds(v);
	/* The last string: the pool does not move while the reverse index is built. */
	if (v->base_src)
		view_pool_add(v, v->base_src, strlen(v->base_src));
	view_builder_table(v, &t);
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
		return view_set_err(err, -E2BIG, "the view is too large (%zu bytes)",
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
	view_builder_release(v);
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
