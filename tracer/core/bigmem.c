// SPDX-License-Identifier: MIT
/* Large arrays in mappings of their own (see bigmem.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ptvfs/bigmem.h"
#include "ptvfs/util.h"

/* From this size on, a mapping asks for huge pages (a smaller one would only waste them). */
#define HUGE_MIN (2u << 20)

size_t big_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) & ~(page - 1);
}

/* Huge pages for the range, when it is worth it: a hint, nothing fails without. */
static void want_huge(void *p, size_t size)
{
	if (size >= HUGE_MIN)
		(void)madvise(p, size, MADV_HUGEPAGE);
}

void *big_alloc(size_t size)
{
	void *p;

	if (size == 0)
		return NULL;
	size = big_round(size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("out of memory (%zu bytes)", size);
	want_huge(p, size);
	return p;
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
	old_size = big_round(old_size);
	new_size = big_round(new_size);
	if (old_size == new_size)
		return p;
	q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		die("out of memory (%zu bytes)", new_size);
	if (new_size > old_size)
		want_huge(q, new_size);
	return q;
}

void big_free(void *p, size_t size)
{
	if (p && size)
		munmap(p, big_round(size));
}

void big_move(void *p, size_t size, void *at)
{
	size = big_round(size);
	if (size && mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED)
		die("cannot move %zu bytes of memory: %s", size, strerror(errno));
}
