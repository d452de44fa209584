/* SPDX-License-Identifier: MIT */
/*
 * What the manifest reader (manifest.c) needs of the layer table (view.c)
 * beyond view.h. Internal to the core.
 */
#ifndef PTVFS_VIEW_PRIV_H
#define PTVFS_VIEW_PRIV_H

#include <stddef.h>
#include <stdint.h>

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
 * The hash of the view paths: FNV-1a, updated byte by byte so that every
 * prefix's hash comes on the way (hash_more from HASH_SEED), then mixed
 * (hash_final).
 */
#define HASH_SEED 2166136261u

static inline uint32_t hash_step(uint32_t h, unsigned char c)
{
	return (h ^ c) * 16777619u;
}

static inline uint32_t hash_more(uint32_t h, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = hash_step(h, p[i]);
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
/* The same, HASH being hash_final(hash_more(HASH_SEED, PATH, LEN)). */
uint32_t view_node_hashed(struct view *v, const char *path, size_t len, uint32_t hash);
/* Bring the hash table's slot of HASH into the cache, for a view_node_hashed soon after. */
void view_prefetch(const struct view *v, uint32_t hash);

/* View_declare at the node NODE. */
int view_declare_node(struct view *v, uint32_t node, enum layer_kind kind, const char *src,
		      const char **conflict);

/* The view path of NODE (valid until the next declaration). */
const char *view_node_path(const struct view *v, uint32_t node);

/* The host directory holding the same path as NODE exists (seen when checking NODE's source). */
void view_node_host_dir(struct view *v, uint32_t node);

/* Make room for NODES more nodes and BYTES more of strings. */
void view_reserve(struct view *v, size_t nodes, size_t bytes);

/* Keep a manifest line (LEN bytes, as written) that declared the node NODE. */
void view_record_input(struct view *v, const char *line, size_t len, uint32_t node);

#endif
