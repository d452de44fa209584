/* SPDX-License-Identifier: MIT */
/*
 * Inside the layer table, beyond view.h. Internal to the core.
 *
 * - What the manifest reader (manifest.c) needs of the builder (view.c):
 *   declaring, making nodes, keeping the manifest's lines.
 * - The sealed image's layout, and the lookups over it, that view.c and
 *   the reverse index (view_reverse.c) both read.
 * - The builder itself (struct view), which view.c builds and sealing
 *   (view_seal.c) turns into the image.
 * - The reverse index's part of view_seal (view_reverse.c).
 */
#ifndef PTVFS_VIEW_PRIV_H
#define PTVFS_VIEW_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ptvfs/view.h"

/*
 * Declare KIND at DEST (absolute, canonical) from SRC (already checked and
 * resolved; NULL for LAYER_HIDE). Returns the node of DEST, or -EINVAL when
 * DEST is an input declared before from another source: *CONFLICT is then
 * that source (valid until the next declaration).
 */
int view_declare(struct view *v, enum layer_kind kind, const char *src, const char *dest,
		 const char **conflict);

/*
 * The hash of the view paths, a component at a time, so that the hash of
 * each prefix at a component boundary comes on one walk along a path
 * (view_deepest_node): HASH_SEED is the state of "/", hash_component adds
 * the next component (its bytes eight at a time), hash_final makes a
 * state the hash of its path.
 */
#define HASH_SEED 0x2545f491u

/*
 * The last LEN % 8 bytes of C (LEN bytes: a component, a path) as a number, the
 * first byte lowest: in two loads at most, none outside C, instead of a
 * byte at a time.
 */
static inline uint64_t word_tail(const char *c, size_t len)
{
	size_t t = len % 8;
	uint64_t w;
	uint32_t a, b;
	uint16_t s, u;

	if (t == 0)
		return 0;
	if (len >= 8) {
		memcpy(&w, c + len - 8, 8);
		return w >> (8 * (8 - t));
	}
	/* Two overlapping loads: the bytes both hold are the same. */
	if (t >= 4) {
		memcpy(&a, c, 4);
		memcpy(&b, c + t - 4, 4);
		return a | (uint64_t)b << (8 * (t - 4));
	}
	if (t >= 2) {
		memcpy(&s, c, 2);
		memcpy(&u, c + t - 2, 2);
		return s | (uint64_t)u << (8 * (t - 2));
	}
	return (unsigned char)c[0];
}

static inline uint32_t hash_component(uint32_t h, const char *c, size_t len)
{
	uint64_t x = (uint64_t)h * 0x9e3779b97f4a7c15ull ^ len, w;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, c + i, 8);
		x = (x ^ w) * 0xff51afd7ed558ccdull;
		x ^= x >> 31;
	}
	w = word_tail(c, len);
	x = (x ^ w) * 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

/* The state after the components of the relative path P (canonical, LEN bytes) from H. */
static inline uint32_t hash_components(uint32_t h, const char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *slash = memchr(p + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - p) : len;

		h = hash_component(h, p + i, end - i);
		i = end + 1;
	}
	return h;
}

static inline uint32_t hash_final(uint32_t h)
{
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

/* The node of the view path PATH (canonical, LEN bytes), made with its ancestors when absent. */
uint32_t view_node(struct view *v, const char *path, size_t len);
/*
 * The same, HASH being view_hash_path(PATH, LEN); a new node whose parent
 * has its whole path keeps only NAME (view_text_ref of the last component
 * in a manifest's text; NONE: PATH's, copied).
 */
uint32_t view_node_hashed(struct view *v, const char *path, size_t len, uint32_t hash,
			  uint32_t name);
/* Bring the hash table's slot of HASH into the cache, for a view_node_hashed soon after. */
void view_prefetch(const struct view *v, uint32_t hash);

/* View_declare at the node NODE. */
int view_declare_node(struct view *v, uint32_t node, enum layer_kind kind, const char *src,
		      const char **conflict);
/* The same, its source its own path (known to the caller: no path made or compared). */
int view_declare_node_self(struct view *v, uint32_t node, enum layer_kind kind,
			   const char **conflict);

/* The view path of NODE: its string, or made in BUF (PATH_MAX bytes); valid until the next declaration. */
const char *view_node_path(const struct view *v, uint32_t node, char *buf);
/* The builder's offset of S, a string in a manifest's text (view_keep_manifest): TEXT_REF set. */
uint32_t view_text_ref(const struct view *v, const char *s);

/* The host directory holding the same path as NODE exists (seen when checking NODE's source). */
void view_node_host_dir(struct view *v, uint32_t node);

/* Make room for NODES more nodes and BYTES more of strings. */
void view_reserve(struct view *v, size_t nodes, size_t bytes);

/*
 * The view owns BUF (CAP bytes from big_alloc, the manifest's LEN bytes and
 * a NUL) from now on: its lines are kept there, NUL-terminated in place, and
 * a SRC declared from a string in it (view_declare_node) is not copied:
 * sealing moves the text into the image whole, after the string pool.
 * Returns 0, or -EFBIG when the manifests are more than 2 GB in all.
 */
int view_keep_manifest(struct view *v, char *buf, size_t len, size_t cap);

/* Make room for COUNT more kept lines. */
void view_reserve_inputs(struct view *v, size_t count);

/*
 * Keep a manifest line (as written, less a comment) that declared the node
 * NODE: LINE, NUL-terminated, in a buffer the view keeps (view_keep_manifest).
 */
void view_record_input(struct view *v, const char *line, uint32_t node);

/* The sealed image, and the builder's table before it (view.c). */

/* No node (an index), no parent, the base as a cover. */
#define NONE UINT32_MAX

enum node_type {
	NODE_DECL,     /* a DEST: decided by its own declaration */
	NODE_ANCESTOR, /* builder only: an ancestor of a DEST, not yet classified */
	NODE_VIRTUAL,  /* an ancestor that exists only in the view */
	NODE_PASS,     /* an ancestor that exists in its covering layer */
};

/* A node of the tree. Offsets only: the same bytes serve the builder and the image. */
struct vnode {
	uint32_t path;	 /* offset of the NUL-terminated view path in the pool */
	uint32_t src;	 /* offset of SRC or the link's target (0: none) */
	uint32_t hash;	 /* of the path */
	uint32_t parent; /* node index, NONE for "/" */
	uint32_t cover;	 /* the DECL node deciding this one (itself for a DECL), NONE: the base */
	uint32_t first_child;  /* children in byte order of their names, NONE-terminated */
	uint32_t next_sibling; /* (both set by view_seal) */
	uint32_t layer_index;  /* declaration order (the builder: user order) */
	uint16_t len;	       /* of the path */
	uint16_t name;	       /* offset of the last component in the path */
	uint8_t layer; /* enum layer_kind of the declaration (of the cover when not a DECL) */
	uint8_t type;  /* enum node_type */
	uint8_t bits;  /* NODE_* */
	uint8_t flags; /* FLAG_*; open_hidden_dirs' scratch before */
};

/* vnode.bits: the builder knows the same path on the host to be a directory. */
#define NODE_HOST_DIR 1
/*
 * vnode.bits: PATH is the last component alone (LEN - NAME bytes, not
 * NUL-terminated: a manifest's DEST, where it wrote it); the node's path is
 * its parent's, a '/' and that. Saves a copy of each input's whole path.
 */
#define NODE_NAME_ONLY 2

/* A child of this node shows in its listing otherwise than its host directory's entry would. */
#define FLAG_LISTING_CHANGED 1

/* A slot of the hash table: the hash beside the node, to skip other nodes unread. */
struct slot {
	uint32_t hash;
	uint32_t node; /* node index + 1, 0: an empty slot */
};

/*
 * The sealed image: this header, the nodes, the hash slots, the reverse
 * index's slots, the string pool, the reverse index's entries (those two
 * are view_reverse.c's). Each part but the last starts on a page of its
 * own (view_seal moves the builder's arrays there), the padding unread.
 */
struct view_image {
	uint32_t magic;
	uint32_t size;
	uint32_t node_count;
	uint32_t nodes;	    /* byte offsets from the image's start */
	uint32_t slots;	    /* struct slot each */
	uint32_t slot_mask; /* slot count - 1 (a power of two) */
	uint32_t rev_slots; /* reverse_slots_size() of REV_SIZE slots */
	uint32_t rev_size;  /* their count (0: no SRC is indexed) */
	uint32_t rev_entries;
	uint32_t rev_count; /* of entries (declarations of a SRC of more than one) */
	uint32_t pool;
	uint32_t base_src; /* pool offset of the base's host directory (0: none) */
	uint8_t base_layer;
	uint8_t pad[3];
};

/* The nodes, the hash table and the pool, of the builder or of the image alike. */
struct table {
	const struct vnode *nodes;
	const struct slot *slots;
	uint32_t mask;
	const char *pool;
	const struct view *builder; /* the builder's table: its strings may be in manifests */
};

/*
 * A builder's string offset with this bit set is in the manifests' texts
 * (view_keep_manifest), not in the pool: sealing turns it into an offset
 * from the pool, as the others are.
 */
#define TEXT_REF 0x80000000u

/* The builder's string at OFF, TEXT_REF set: in a manifest's text. */
const char *view_text_string(const struct view *v, uint32_t off);

/* The string at the offset OFF of the table T. */
static inline const char *table_string(const struct table *t, uint32_t off)
{
	return t->builder && (off & TEXT_REF) ? view_text_string(t->builder, off) : t->pool + off;
}

/* The last component of N's path (node_name_len bytes; NUL-terminated only with a whole path). */
static inline const char *node_name(const struct table *t, const struct vnode *n)
{
	return n->bits & NODE_NAME_ONLY ? table_string(t, n->path) : t->pool + n->path + n->name;
}

static inline size_t node_name_len(const struct vnode *n)
{
	return n->len - n->name;
}

/* Whether N's path (of T) is PATH (LEN bytes). */
bool node_path_is(const struct table *t, const struct vnode *n, const char *path, size_t len);
/* N's path (of T), NUL-terminated: its string, or made in BUF (PATH_MAX bytes). */
const char *node_path(const struct table *t, const struct vnode *n, char *buf);

/* The table of the image IMG, into *T. */
static inline void image_table(const struct view_image *img, struct table *t)
{
	const char *base = (const char *)img;

	t->nodes = (const struct vnode *)(base + img->nodes);
	t->slots = (const struct slot *)(base + img->slots);
	t->mask = img->slot_mask;
	t->pool = base + img->pool;
	t->builder = NULL;
}

/*
 * The builder: view.c makes the nodes and declarations, view_seal.c seals
 * them into the image.
 */

#define VIEW_MAGIC 0x33776670u /* "pfw3" */

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

/* The view: the builder until view_seal, then the image (and the kept lines). */
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

/* The hash of the view path P (LEN bytes). */
static inline uint32_t view_hash_path(const char *p, size_t len)
{
	return hash_final(len > 1 ? hash_components(HASH_SEED, p + 1, len - 1) : HASH_SEED);
}

/* The node of T at PATH (LEN bytes, its hash HASH), or NONE. */
uint32_t view_table_find(const struct table *t, const char *path, size_t len, uint32_t hash);
/* The builder's table of V, into *T. */
void view_builder_table(const struct view *v, struct table *t);
/* Append the string S (LEN bytes) and a NUL to the builder's pool: its offset. */
uint32_t view_pool_add(struct view *v, const char *s, size_t len);
/* The builder's string at OFF: in the pool, or in a manifest's text (TEXT_REF). */
const char *view_builder_string(const struct view *v, uint32_t off);
/* Free what is left of the builder (after view_seal moved its arrays: NULL). */
void view_builder_release(struct view *v);
/* Fill *ERR (when not NULL) with a message, and return RET. */
__attribute__((format(printf, 3, 4))) int view_set_err(char **err, int ret, const char *fmt, ...);

/* Layers whose paths are on the host, below their SRC. */
static inline bool layer_on_host(enum layer_kind kind)
{
	switch (kind) {
	case LAYER_BASE_HOST:
	case LAYER_BASE_ROOT:
	case LAYER_BIND:
	case LAYER_RO_BIND:
	case LAYER_OVERLAY:
	case LAYER_TMPFS:
	case LAYER_INPUT:
		return true;
	default:
		return false;
	}
}

/* A DECL node of a layer on the host whose SRC is its DEST (most inputs; /dev, /proc, /sys). */
static inline bool shows_itself(const struct vnode *n)
{
	return n->type == NODE_DECL && n->src == n->path && layer_on_host(n->layer);
}

/*
 * The deepest node of T whose path is PATH (LEN bytes, absolute,
 * canonical) or a prefix of it at a component boundary: 0 ("/") at least.
 */
uint32_t view_deepest_node(const struct table *t, const char *path, size_t len);

/*
 * As view_lookup, in the image IMG; *EXACT tells whether PATH is itself a
 * node, *NODE is the deepest node on it.
 */
int view_image_lookup(const struct view_image *img, const char *path, struct view_target *out,
		      bool *exact, uint32_t *node);

/*
 * The host path of the view path PATH through a layer at a DEST of DEST_LEN
 * bytes from SRC, into OUT (PATH_MAX bytes): SRC and what follows DEST in
 * PATH. Also the view path of a host path, SRC and DEST swapped. Returns 0
 * or -ENAMETOOLONG.
 */
int view_host_join(const char *src, const char *path, size_t dest_len, char *out);

/*
 * The reverse index (view_reverse.c): a hash table of the host SRCs of the
 * declarations whose SRC is not their DEST, for view_host_to_view. View_seal
 * plans it, builds it in arrays of its own, then moves them into the image.
 */
struct reverse {
	uint32_t *by_index; /* NONE or the node, for each layer index; NULL: none (caller frees) */
	uint32_t max_index; /* bound of the layer indexes */
	uint32_t count;	    /* of nodes: room for as many entries is enough */
	uint32_t size;	    /* of slots */
};

/* Plan into R the index of the COUNT nodes of the builder's table T, layer indexes below MAX_INDEX. */
void reverse_plan(const struct table *t, uint32_t count, uint32_t max_index, struct reverse *r);

/*
 * Build the index of R, its nodes in T, into SLOTS (reverse_slots_size(R->size)
 * bytes, zeroed) and ENTRIES (room for reverse_entries_size(R->count)):
 * the number of entries used.
 */
uint32_t reverse_build(const struct table *t, const struct reverse *r, void *slots, void *entries);

/* The bytes of COUNT slots, of COUNT entries, of the reverse index in the image. */
size_t reverse_slots_size(uint32_t count);
size_t reverse_entries_size(uint32_t count);

#endif
