// SPDX-License-Identifier: MIT
/* Large arrays in mappings of their own (see bigmem.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ptvfs/bigmem.h"
#include "ptvfs/util.h"

/* The size of a huge page (x86-64, arm64 with 4 kB pages). */
#define HUGE_SIZE ((size_t)2 << 20)
/*
 * From this size on, a mapping is made of huge pages: a fault per 4 kB
 * page costs about 2 us here (a virtual machine), so a huge page pays for
 * itself from half of it touched.
 */
#define HUGE_MIN (HUGE_SIZE / 2)

size_t big_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) & ~(page - 1);
}

/*
 * The size of the mapping that holds SIZE bytes: whole huge pages from
 * HUGE_MIN on (the kernel aligns a mapping of whole huge pages to them; it
 * would not another), whole pages below. What is mapped and never touched
 * costs nothing.
 */
static size_t map_size(size_t size)
{
	if (size >= HUGE_MIN)
		return (size + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
	return big_round(size);
}

/* Huge pages for the range, when it is worth it: a hint, nothing fails without. */
static void want_huge(void *p, size_t size)
{
	if (size >= HUGE_MIN)
		(void)madvise(p, size, MADV_HUGEPAGE);
}

static void *map_new(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("out of memory (%zu bytes)", size);
	return p;
}

void *big_alloc(size_t size)
{
	void *p;

	if (size == 0)
		return NULL;
	size = map_size(size);
	p = map_new(size);
	want_huge(p, size);
	return p;
}

void *big_alloc_small_pages(size_t size)
{
	void *p;

	if (size == 0)
		return NULL;
	/* The same size as big_alloc's, so that it is freed and moved alike. */
	size = map_size(size);
	p = map_new(size);
	(void)madvise(p, size, MADV_NOHUGEPAGE); /* where the kernel makes them unasked */
	return p;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

void big_populate(void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(page - 1);

	/* One call instead of a fault a page; an older kernel faults them as they are written. */
	if (len)
		(void)madvise((void *)start, big_round((uintptr_t)p + len - start),
			      MADV_POPULATE_WRITE);
}

void *big_resize(void *p, size_t old_size, size_t new_size)
{
	void *q;

	if (!p)
		return big_alloc(new_size);
	if (new_size == 0) {
		big_free(p, old_size);
		return NULL;
	}
	old_size = map_size(old_size);
	new_size = map_size(new_size);
	if (old_size == new_size)
		return p;
	if (new_size < old_size || new_size < HUGE_MIN) {
		q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			die("out of memory (%zu bytes)", new_size);
		return q;
	}
	/*
	 * Into a new mapping, aligned to huge pages as mremap's would not be:
	 * small pages copied (so that they become part of a huge one), huge
	 * ones moved.
	 */
	q = big_alloc(new_size);
	if (old_size < HUGE_MIN) {
		memcpy(q, p, old_size);
		munmap(p, old_size);
	} else if (mremap(p, old_size, old_size, MREMAP_MAYMOVE | MREMAP_FIXED, q) == MAP_FAILED) {
		die("cannot move %zu bytes of memory: %s", old_size, strerror(errno));
	}
	return q;
}

void big_free(void *p, size_t size)
{
	if (p && size)
		munmap(p, map_size(size));
}

void big_move(void *p, size_t size, size_t cap, void *at)
{
	size_t moved = big_round(size);

	if (moved && mremap(p, moved, moved, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED)
		die("cannot move %zu bytes of memory: %s", moved, strerror(errno));
	if (map_size(cap) > moved)
		munmap((char *)p + moved, map_size(cap) - moved);
}
