/* SPDX-License-Identifier: MIT */
/*
 * Large arrays of the view's setup (a manifest's worth: megabytes, filled
 * once, front to back): anonymous mappings of their own, in huge pages
 * where the kernel gives them. Setting up 100,000 inputs touches tens of
 * megabytes of fresh memory, and a fault per 4 kB page of it cost more than
 * the work done in it; a huge page costs one fault per 2 MB. A mapping can
 * also be moved whole, without copying (big_move), which is how the
 * builder's arrays become the sealed view's image.
 *
 * Sizes are in bytes; they are rounded up to whole (huge) pages here, so
 * that a caller frees with the size it asked for. The memory comes zeroed. Allocation
 * never fails (it dies, as xmalloc does).
 */
#ifndef PTVFS_BIGMEM_H
#define PTVFS_BIGMEM_H

#include <stddef.h>

/* SIZE bytes (0: NULL), zeroed. */
void *big_alloc(size_t size);
/*
 * SIZE bytes (0: NULL), zeroed, in pages of 4 kB even where huge pages
 * would do: for a buffer filled once from its start (a file read into it).
 * A virtual machine's host may have taken back the huge pages free in the
 * guest, and backing one again costs far more than the faults of its 4 kB
 * pages, which the guest keeps at hand (bench/README.md, "View setup").
 * Freed, resized and moved as any other.
 */
void *big_alloc_small_pages(size_t size);
/* Fault in the LEN bytes at P (of big_alloc*) at once, before they are written: a hint. */
void big_populate(void *p, size_t len);
/* P (of OLD bytes) grown or shrunk to NEW bytes, perhaps moved; what it held is kept. */
void *big_resize(void *p, size_t old_size, size_t new_size);
/* Free P of SIZE bytes (NULL: nothing). */
void big_free(void *p, size_t size);
/*
 * Move the first SIZE bytes of P (CAP bytes, from big_alloc) to AT,
 * page-aligned inside a mapping of big_alloc, replacing the pages there:
 * no byte is copied. P is gone, the rest of it freed.
 */
void big_move(void *p, size_t size, size_t cap, void *at);
/* SIZE rounded up to a whole number of pages. */
size_t big_round(size_t size);

#endif
