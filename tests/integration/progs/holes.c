// SPDX-License-Identifier: MIT
/*
 * Ways around a tracer that only knows the x86_64 syscall table, for
 * test_no_holes.py. Each mode prints "before", tries, and prints the result.
 *   holes i386 DIR      mkdir DIR with an i386 syscall (int $0x80) from 64-bit code
 *   holes x32 DIR       mkdir DIR with an x32 syscall (__X32_SYSCALL_BIT)
 *   holes io_uring      io_uring_setup (would let the kernel open files unseen)
 *   holes mount DIR     mount a tmpfs on DIR, then umount2 it
 *   holes chroot DIR    chroot into DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define I386_MKDIR 39
#define X32_SYSCALL_BIT 0x40000000

static void show(const char *label, long ret)
{
	if (ret < 0)
		printf("%s: -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%s: %ld\n", label, ret);
	fflush(stdout);
}

static long i386_mkdir(const char *dir)
{
	/* i386 arguments are 32 bits: the path must sit below 4 GiB. */
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	long ret = I386_MKDIR;

	if (low == MAP_FAILED)
		return -1;
	snprintf(low, 4096, "%s", dir);
#ifdef __x86_64__
	asm volatile("int $0x80"
		     : "+a"(ret)
		     : "b"(low), "c"(0755)
		     : "memory", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
#endif
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *dir = argc > 2 ? argv[2] : "";

	printf("before\n");
	fflush(stdout);
	if (strcmp(mode, "i386") == 0) {
		show("i386 mkdir", i386_mkdir(dir));
	} else if (strcmp(mode, "x32") == 0) {
		show("x32 mkdir", syscall(X32_SYSCALL_BIT | SYS_mkdir, dir, 0755));
	} else if (strcmp(mode, "io_uring") == 0) {
		struct io_uring_params params;

		memset(&params, 0, sizeof(params));
		show("io_uring_setup", syscall(SYS_io_uring_setup, 4, &params));
	} else if (strcmp(mode, "mount") == 0) {
		show("mount", syscall(SYS_mount, "none", dir, "tmpfs", 0L, NULL));
		show("umount2", syscall(SYS_umount2, dir, 0L));
	} else if (strcmp(mode, "chroot") == 0) {
		show("chroot", syscall(SYS_chroot, dir));
		show("access /etc/passwd after chroot", syscall(SYS_access, "/etc/passwd", F_OK));
	} else {
		fprintf(stderr, "usage: holes i386|x32 DIR | io_uring | mount DIR | chroot DIR\n");
		return 2;
	}
	printf("after\n");
	return 0;
}
