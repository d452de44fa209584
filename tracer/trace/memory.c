// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "tracer.h"

#define PAGE 4096UL

int tracee_read(pid_t tid, unsigned long addr, void *buf, size_t len)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *)addr, len};
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int tracee_write(pid_t tid, unsigned long addr, const void *buf, size_t len)
{
	struct iovec local = {(void *)buf, len};
	struct iovec remote = {(void *)addr, len};
	ssize_t n = process_vm_writev(tid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/*
 * Reads a page at a time at most, never across a page boundary in one
 * piece, so a string at the end of a mapping reads without EFAULT.
 */
ssize_t tracee_read_string(pid_t tid, unsigned long addr, char *buf, size_t size)
{
	size_t done = 0;

	if (addr == 0)
		return -EFAULT;
	while (done < size) {
		size_t chunk = PAGE - ((addr + done) & (PAGE - 1));
		struct iovec local, remote;
		ssize_t n;
		char *nul;

		if (chunk > size - done)
			chunk = size - done;
		local = (struct iovec){buf + done, chunk};
		remote = (struct iovec){(void *)(addr + done), chunk};
		n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return n < 0 && (errno == ESRCH || errno == EPERM) ? -errno : -EFAULT;
		nul = memchr(buf + done, '\0', n);
		if (nul)
			return nul - buf;
		done += n;
	}
	return -ENAMETOOLONG;
}

ssize_t magic_link_read_at(int dirfd, const char *link, char *buf, size_t size, bool *deleted)
{
	static const char suffix[] = " (deleted)";
	const size_t suffix_len = sizeof(suffix) - 1;
	struct stat st;
	ssize_t n = readlinkat(dirfd, link, buf, size - 1);

	*deleted = false;
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* A live file may be named so too: only a removed one has no links left. */
	if ((size_t)n > suffix_len && strcmp(buf + n - suffix_len, suffix) == 0 &&
	    fstatat(dirfd, link, &st, 0) == 0 && st.st_nlink == 0) {
		*deleted = true;
		n -= suffix_len;
		buf[n] = '\0';
	}
	return n;
}

ssize_t magic_link_read(const char *link, char *buf, size_t size, bool *deleted)
{
	return magic_link_read_at(AT_FDCWD, link, buf, size, deleted);
}

ssize_t proc_link(pid_t tid, const char *name, char *buf, size_t size, bool *deleted)
{
	char link[64];

	snprintf(link, sizeof(link), "/proc/%d/%s", (int)tid, name);
	return magic_link_read(link, buf, size, deleted);
}

ssize_t tracee_fd_path(struct thread *th, int fd, char *buf, size_t size)
{
	char name[16];
	bool deleted;
	ssize_t n;

	/* /proc/TID/fd held open: each lookup is one readlinkat, not a walk of /proc. */
	if (th->proc_fd_dir < 0) {
		char dir[48];
		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)th->tid);
		th->proc_fd_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (th->proc_fd_dir >= 0) {
		snprintf(name, sizeof(name), "%d", fd);
		n = magic_link_read_at(th->proc_fd_dir, name, buf, size, &deleted);
	} else {
		/* Out of descriptors (thousands of threads): the full path, as before. */
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)th->tid, fd);
		n = magic_link_read(link, buf, size, &deleted);
	}
	return n >= 0 && deleted ? -ENOENT : n;
}

char *proc_read_file(pid_t tid, const char *name, size_t *len)
{
	char path[64], *data;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)tid, name);
	return read_file_whole(path, &data, len) == 0 ? data : NULL;
}
