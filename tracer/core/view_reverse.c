// SPDX-License-Identifier: MIT
/*
 * The reverse index of the sealed view: which view path shows a host path
 * (view_host_to_view, see view.h), for the paths the kernel gives in host
 * terms (a cwd, an fd's path). Kept apart from the layer table (view.c),
 * which looks the other way, view path to host path, and only hands it the
 * nodes at seal time and its lookups after.
 *
 * A host path's ancestors are walked from the path up: those that are the
 * SRC of a declaration of the host are found in a second hash table of the
 * image (SRC -> the declarations from it), except for the declarations
 * whose SRC is their DEST (most inputs), which are found on the forward
 * table's way down the same path instead, so that sealing does not index
 * them. Each view path so found is checked with a forward lookup.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "view_priv.h"

/*
 * The reverse index: a slot per host SRC of the declarations whose SRC is
 * not their DEST. A SRC of one declaration (most) has its node in the
 * slot; one of more, a chain of entries, the later declaration first.
 */
struct rev_slot {
	uint32_t hash; /* src_hash of the SRC */
	uint32_t ref;  /* 0: an empty slot; the node + 1; or REV_CHAIN | its first entry */
};

#define REV_CHAIN 0x80000000u

struct rev_entry {
	uint32_t node; /* a DECL node from the SRC */
	uint32_t next; /* index of the next (earlier) one + 1, 0: the last */
};

size_t reverse_slots_size(uint32_t count)
{
	return (size_t)count * sizeof(struct rev_slot);
}

size_t reverse_entries_size(uint32_t count)
{
	return (size_t)count * sizeof(struct rev_entry);
}

/*
 * The hash of the reverse index: of a host path, a word at a time (the
 * paths of 100,000 inputs are hashed while sealing), so that the hash of
 * each prefix of a path comes on one walk along it (view_host_to_view).
 */
#define SRC_SEED 0x9e3779b97f4a7c15ull

/* The N bytes (at most 8) at P as a number, the first byte lowest. */
static uint64_t src_word(const char *p, size_t n)
{
	uint64_t w = 0;

	memcpy(&w, p, n);
	return le64toh(w);
}

static uint64_t src_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

/* The hash of the LEN bytes at P, H having mixed in their whole words before LEN & ~7 already. */
static uint32_t src_hash_end(uint64_t h, const char *p, size_t len)
{
	h = src_mix(h ^ len, src_word(p + (len & ~(size_t)7), len & 7));
	h *= 0xc4ceb9fe1a85ec53ull;
	return h >> 32;
}

static uint32_t src_hash(const char *p, size_t len)
{
	uint64_t h = SRC_SEED;

	for (size_t i = 0; i + 8 <= len; i += 8)
		h = src_mix(h, src_word(p + i, 8));
	return src_hash_end(h, p, len);
}

/* A DECL node that the reverse index holds: on the host, its SRC another path than its DEST. */
static bool reverse_indexed(const struct vnode *n)
{
	return n->type == NODE_DECL && n->src != n->path && layer_on_host(n->layer);
}

void reverse_plan(const struct table *t, uint32_t count, uint32_t max_index, struct reverse *r)
{
	r->by_index = NULL;
	r->max_index = max_index;
	r->count = 0;
	for (uint32_t i = 0; i < count; i++) {
		const struct vnode *n = &t->nodes[i];

		if (!reverse_indexed(n))
			continue;
		if (!r->by_index) {
			r->by_index = xmalloc(r->max_index * sizeof(*r->by_index));
			memset(r->by_index, 0xff, r->max_index * sizeof(*r->by_index));
		}
		r->by_index[n->layer_index] = i;
		r->count++;
	}
	/* A slot per SRC (R->count at most), 3/4 full at most: a miss probes a cache line or two. */
	r->size = r->count ? r->count + r->count / 3 + 1 : 0;
}

/* The first slot to probe for HASH in a reverse index of SIZE slots. */
static uint32_t rev_home(uint32_t hash, uint32_t size)
{
	return ((uint64_t)hash * size) >> 32;
}

/* The first node of the reverse index's slot S. */
static uint32_t rev_first(const struct rev_slot *s, const struct rev_entry *entries)
{
	return s->ref & REV_CHAIN ? entries[s->ref & ~REV_CHAIN].node : s->ref - 1;
}

/* How many SRCs are hashed, their slots prefetched, before they are put in the reverse index. */
#define REV_BATCH 16

uint32_t reverse_build(const struct table *t, const struct reverse *r, void *slots_at,
		       void *entries_at)
{
	struct rev_slot *slots = slots_at;
	struct rev_entry *entries = entries_at;
	uint32_t count = 0, batch[REV_BATCH], hashes[REV_BATCH], n = 0;

	/* In declaration order, each in front of its chain: the later comes first. */
	for (uint32_t k = 0; r->count && k <= r->max_index; k++) {
		if (k < r->max_index && r->by_index[k] != NONE) {
			const char *src = table_string(t, t->nodes[r->by_index[k]].src);

			batch[n] = r->by_index[k];
			hashes[n] = src_hash(src, strlen(src));
			__builtin_prefetch(&slots[rev_home(hashes[n], r->size)], 1);
			if (++n < REV_BATCH)
				continue;
		}
		for (uint32_t b = 0; b < n; b++) {
			uint32_t node = batch[b], h = hashes[b], i;
			const char *src = table_string(t, t->nodes[node].src);
			struct rev_slot *s;

			for (i = rev_home(h, r->size);; i = i + 1 < r->size ? i + 1 : 0) {
				s = &slots[i];
				if (!s->ref ||
				    (s->hash == h &&
				     strcmp(table_string(t, t->nodes[rev_first(s, entries)].src),
					    src) == 0))
					break;
			}
			if (!s->ref) {
				s->hash = h;
				s->ref = node + 1;
				continue;
			}
			if (!(s->ref & REV_CHAIN)) {
				/* A second declaration of this SRC: a chain of the two. */
				entries[count].node = s->ref - 1;
				entries[count].next = 0;
				s->ref = REV_CHAIN | count++;
			}
			entries[count].node = node;
			entries[count].next = (s->ref & ~REV_CHAIN) + 1;
			s->ref = REV_CHAIN | count++;
		}
		n = 0;
	}
	return count;
}

/*
 * The reverse index's slot of the SRC that is the first LEN bytes of HOST
 * (their src_hash HASH), NULL when none.
 */
static const struct rev_slot *reverse_find(const struct view_image *img, const struct table *t,
					   const struct rev_entry *entries, const char *host,
					   size_t len, uint32_t hash)
{
	const struct rev_slot *slots =
	    (const struct rev_slot *)((const char *)img + img->rev_slots);

	for (uint32_t i = rev_home(hash, img->rev_size);; i = i + 1 < img->rev_size ? i + 1 : 0) {
		const struct rev_slot *s = &slots[i];
		const char *src;

		if (!s->ref)
			return NULL;
		if (s->hash != hash)
			continue;
		src = t->pool + t->nodes[rev_first(s, entries)].src;
		if (memcmp(src, host, len) == 0 && src[len] == '\0')
			return s;
	}
}

/* The view paths tried for a host path (view_host_to_view). */
struct reverse_try {
	const struct view_image *img;
	const char *host;
	size_t len;
	char *out;
	struct view_target *target; /* OUT's, when found */
	bool self_tried;	    /* HOST as its own view path, once is enough */
	bool too_long;		    /* a view path had PATH_MAX bytes or more */
};

/*
 * Whether RT->host is visible at the view path it has through a layer from
 * its first SRC_LEN bytes at DEST (NULL: at its own path, as through a
 * layer whose SRC is its DEST): 0 with that path in RT->out, or -ENOENT.
 */
static int reverse_try(struct reverse_try *rt, const char *dest, size_t src_len)
{
	struct view_target *target = rt->target;
	uint32_t node;
	bool exact;

	if (!dest || (src_len == 1 && strcmp(dest, "/") == 0)) {
		if (rt->self_tried)
			return -ENOENT;
		rt->self_tried = true;
		memcpy(rt->out, rt->host, rt->len + 1);
	} else if (view_host_join(dest, rt->host, src_len, rt->out) < 0) {
		rt->too_long = true;
		return -ENOENT;
	}
	if (view_image_lookup(rt->img, rt->out, target, &exact, &node) < 0 ||
	    target->kind != VIEW_HOST || strcmp(target->host, rt->host) != 0)
		return -ENOENT;
	return 0;
}

/* At most this many ancestors of a host path without an empty component ("/a", "/a/b", ...). */
#define MAX_ANCESTORS (PATH_MAX / 2 + 1)

/*
 * The ancestors of HOST (LEN bytes, absolute), longest first: HOST itself,
 * its prefix before each '/', then "/". Their lengths in ENDS, their
 * src_hash in HASHES (MAX_ANCESTORS each): their count, or -EINVAL when
 * HOST has an empty component ("//", a '/' at the end).
 */
static int host_ancestors(const char *host, size_t len, uint16_t *ends, uint32_t *hashes)
{
	uint64_t h = SRC_SEED;
	size_t count = 0, mixed = 0;

	for (size_t i = len; i >= 1; i--) {
		if (host[i - 1] == '/' && (i == len || host[i] == '/') && len > 1)
			return -EINVAL;
		if (i == len || i == 1 || host[i] == '/')
			ends[count++] = i;
	}
	/* Shortest first: the whole words of each prefix are mixed in once. */
	for (size_t k = count; k-- > 0;) {
		for (; mixed + 8 <= ends[k]; mixed += 8)
			h = src_mix(h, src_word(host + mixed, 8));
		hashes[k] = src_hash_end(h, host, ends[k]);
	}
	return count;
}

int view_host_to_view(const struct view *v, const char *host, char *out)
{
	struct view_target target;

	return view_host_to_view_target(v, host, out, &target);
}

int view_host_to_view_target(const struct view *v, const char *host, char *out,
			     struct view_target *target)
{
	const struct view_image *img = view_image(v);
	struct reverse_try rt = {.img = img, .host = host, .out = out, .target = target};
	const struct rev_entry *entries;
	uint16_t ends[MAX_ANCESTORS];
	uint32_t hashes[MAX_ANCESTORS], up;
	const char *base_src = NULL;
	char dest_buf[PATH_MAX];
	size_t base_len = 0;
	struct table t;
	int count;

	out[0] = '\0';
	if (!img)
		return -EINVAL;
	rt.len = strlen(host);
	if (rt.len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (host[0] != '/')
		return -EINVAL;
	count = host_ancestors(host, rt.len, ends, hashes);
	if (count < 0)
		return count;
	image_table(img, &t);
	entries = (const struct rev_entry *)((const char *)img + img->rev_entries);
	if (img->base_src && layer_on_host(img->base_layer)) {
		base_src = t.pool + img->base_src;
		base_len = strlen(base_src);
	}
	/* The nodes on HOST's path read as a view path: those that show themselves are SRCs too. */
	up = view_deepest_node(&t, host, rt.len);
	for (int k = 0; k < count; k++) {
		size_t plen = ends[k];
		uint32_t self = NONE, node = NONE, next = 0;
		const struct rev_slot *s = NULL;

		if (img->rev_size)
			s = reverse_find(img, &t, entries, host, plen, hashes[k]);
		if (s && s->ref & REV_CHAIN) {
			node = entries[s->ref & ~REV_CHAIN].node;
			next = entries[s->ref & ~REV_CHAIN].next;
		} else if (s) {
			node = s->ref - 1;
		}
		while (t.nodes[up].len > plen)
			up = t.nodes[up].parent;
		if (t.nodes[up].len == plen && shows_itself(&t.nodes[up]))
			self = up;
		/* The declarations from this SRC, the later first: NODE, then along NEXT. */
		while (self != NONE || node != NONE) {
			const char *dest = NULL;

			if (self != NONE && (node == NONE || t.nodes[self].layer_index >
								 t.nodes[node].layer_index)) {
				self = NONE;
			} else {
				dest = node_path(&t, &t.nodes[node], dest_buf);
				node = next ? entries[next - 1].node : NONE;
				next = next ? entries[next - 1].next : 0;
			}
			if (reverse_try(&rt, dest, plen) == 0)
				return 0;
		}
		/* The base after them: it is declaration 0. */
		if (base_src && base_len == plen && memcmp(base_src, host, plen) == 0 &&
		    reverse_try(&rt, "/", plen) == 0)
			return 0;
	}
	out[0] = '\0';
	return rt.too_long ? -ENAMETOOLONG : -ENOENT;
}
