// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
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
 * x86_64 (the only CPU of arch/; these belong there with a second one): a
 * call enters through the two-byte syscall instruction, rip after it;
 * orig_rax is the call's number, rax its result.
 */
static const unsigned char syscall_insn[] = {0x0f, 0x05};

unsigned long regs_ip(const arch_regs *r)
{
	return r->rip;
}

void regs_call_again(arch_regs *r, unsigned long ip)
{
	r->rip = ip;
	r->rax = r->orig_rax;
}

/*
 * The seccomp filter was checked for the call at its stop already; the
 * kernel checks every filter again for the mmap the tracer put in its
 * place (ptvfs's own lets it run; a filter of the program's may refuse
 * it, which is a failed mmap). Signals come only after the exit stop.
 */
long tracee_mmap(pid_t tid, size_t len, unsigned long *ip)
{
	unsigned char insn[sizeof(syscall_insn)];
	arch_regs call, r;
	int status;
	long ret;

	*ip = 0;
	if (ptrace(PTRACE_GETREGS, tid, 0, &call) < 0)
		return -errno;
	if (tracee_read(tid, call.rip - sizeof(insn), insn, sizeof(insn)) < 0 ||
	    memcmp(insn, syscall_insn, sizeof(insn)) != 0)
		return -ENOEXEC; /* not made by a syscall instruction: cannot be made again */
	r = call;
	r.orig_rax = __NR_mmap;
	arch_set_arg(&r, 0, 0);
	arch_set_arg(&r, 1, len);
	arch_set_arg(&r, 2, PROT_READ | PROT_WRITE);
	arch_set_arg(&r, 3, MAP_PRIVATE | MAP_ANONYMOUS);
	arch_set_arg(&r, 4, (unsigned long)-1);
	arch_set_arg(&r, 5, 0);
	if (ptrace(PTRACE_SETREGS, tid, 0, &r) < 0)
		return -errno;
	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return -errno;
	for (;;) {
		pid_t got = waitpid(tid, &status, __WALL);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			loop_defer_status(tid, status);
			return -ESRCH;
		}
		if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
			break;
		/* Nothing else stops it before the exit stop; should anything, on it goes. */
		ptrace(PTRACE_SYSCALL, tid, 0, status >> 16 ? 0 : WSTOPSIG(status));
	}
	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return -errno;
	ret = (long)r.rax;
	/* The call as it was, on its syscall instruction again: it enters anew when resumed. */
	regs_call_again(&call, call.rip - sizeof(syscall_insn));
	if (ptrace(PTRACE_SETREGS, tid, 0, &call) < 0)
		return -errno;
	*ip = call.rip;
	return ret;
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
