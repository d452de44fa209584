// SPDX-License-Identifier: MIT
/*
 * A system call made on a small stack carved from the heap, as Go's
 * goroutines, green threads and coroutine libraries run: the memory right
 * below the stack is the program's own data, not stack (test_view_review.py).
 *
 *   small_stack PATH FREE   open PATH (openat, raw) with FREE bytes of the
 *                           stack left below the stack pointer
 *
 * Prints "open: ok" or "open: ERRNO-NAME", then "overwritten: N", the
 * bytes of the 16 KB of data below the stack that changed. Exits 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>

#define STACK 16384

static ucontext_t main_ctx, co_ctx;
static unsigned char *block;
static const char *path;
static long free_bytes, result;

/* openat(AT_FDCWD, PATH, O_RDONLY), made right here: the stack pointer is this function's. */
static long raw_open(const char *p)
{
	long ret;
	register long r10 __asm__("r10") = 0;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_openat), "D"((long)AT_FDCWD), "S"(p), "d"((long)O_RDONLY),
			   "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static void coroutine(void)
{
	unsigned long sp;
	long used;
	volatile char *pad;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	/* Use the stack down to FREE bytes above its bottom, as a deep call chain does. */
	used = (long)(sp - (unsigned long)(block + STACK)) - free_bytes;
	pad = alloca(used > 16 ? used : 16);
	pad[0] = 1;
	result = raw_open(path);
	(void)pad[0];
}

int main(int argc, char **argv)
{
	static int changed;

	if (argc != 3) {
		fprintf(stderr, "usage: small_stack PATH FREE\n");
		return 2;
	}
	path = argv[1];
	free_bytes = atol(argv[2]);
	/* One block: 16 KB of data, then the coroutine's 16 KB stack above it. */
	block = malloc(2 * STACK);
	memset(block, 0xAB, 2 * STACK);
	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_sp = block + STACK;
	co_ctx.uc_stack.ss_size = STACK;
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, coroutine, 0);
	swapcontext(&main_ctx, &co_ctx);
	for (int i = 0; i < STACK; i++)
		changed += block[i] != 0xAB;
	if (result >= 0)
		printf("open: ok\n");
	else
		printf("open: %s\n", strerrorname_np((int)-result));
	printf("overwritten: %d\n", changed);
	return 0;
}
