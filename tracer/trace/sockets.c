// SPDX-License-Identifier: MIT
/*
 * AF_UNIX addresses that name files, at a call's entry: bind, connect and
 * sendto name a socket file by path, so the path is recorded, and in a view
 * the address is rewritten to carry the host path (sendmsg's addresses,
 * inside a message header, are refused when they would need it). The
 * addresses the kernel hands back (getsockname, accept, recvfrom, ...) are
 * view_calls.c's, at the exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "calls.h"
#include "tracer.h"

/* An AF_UNIX address at ADDR (LEN bytes) that names a file: the path, else "". */
/* Returns 0, or -EPERM when the process's memory is closed to ptvfs. */
static int read_unix_path(pid_t tid, unsigned long addr, size_t len, char *path, size_t size)
{
	struct sockaddr_un sun;
	size_t n;
	int err;

	path[0] = '\0';
	if (addr == 0 || len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	if (len > sizeof(sun))
		len = sizeof(sun);
	memset(&sun, 0, sizeof(sun));
	err = tracee_read(tid, addr, &sun, len);
	if (err < 0 || sun.sun_family != AF_UNIX)
		return err == -EPERM ? err : 0;
	/* An abstract name (leading NUL) is no file. */
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (n == 0 || sun.sun_path[0] == '\0')
		return 0;
	if (n >= size)
		n = size - 1;
	memcpy(path, sun.sun_path, n);
	path[n] = '\0';
	path[strnlen(path, n)] = '\0';
	return 0;
}

/*
 * Record the socket file PATH names; in view mode, into HOST the host path
 * the address must carry instead (HOST "" when it can stay). Returns 0 or
 * the -errno the call fails with.
 */
static int unix_path(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		     const char *path, char *host)
{
	static struct path_arg pa;
	unsigned access;
	long answer;
	int err;

	host[0] = '\0';
	if (!path[0])
		return 0;
	snprintf(pa.given_buf, sizeof(pa.given_buf), "%s", path);
	pa.given = pa.given_buf;
	err = resolve_at(t, th, AT_FDCWD, path,
			 d->follow ? RESOLVE_FOLLOW : RESOLVE_NO_TRAILING_FOLLOW, &pa);
	if (err == -EBADF || err == -EPERM)
		return 0;
	if (err == -EXDEV)
		return -ENOENT;
	access = access_of(d->paths[0].op, &pa.res, 0);
	record_resolution(t, th, &pa, access);
	if (!t->view)
		return 0;
	err = kernel_path(t, d, 0, NULL, &pa, access, 0, host, &answer);
	if (err < 0)
		return err;
	if (kernel_reaches(&pa, host))
		host[0] = '\0';
	else if (strlen(host) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG; /* the host path does not fit in an address */
	return 0;
}

bool handle_sockaddr(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		     const arch_regs *regs)
{
	int arg = d->paths[0].path;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1], host[PATH_MAX];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned long at;
	struct remap m;
	int err;

	if (read_unix_path(th->tid, arch_arg(regs, arg), arch_arg(regs, arg + 1), path,
			   sizeof(path)) == -EPERM) {
		refuse_unseen(t, th, d, regs);
		return false;
	}
	err = unix_path(t, th, d, path, host);
	if (err < 0) {
		skip_call(th, regs, err);
		return false;
	}
	if (!host[0])
		return false;
	/* The address again, with the host path. */
	remap_begin(&m, regs);
	memcpy(sun.sun_path, host, strlen(host) + 1);
	at = remap_place(th, &m, &sun, sizeof(sun));
	if (!at) {
		refuse_call(t, th, d, regs, EFAULT,
			    "no room in the process for the host address (its scratch mapping "
			    "could not be made)");
		return false;
	}
	arch_set_arg(&m.regs, arg, at);
	arch_set_arg(&m.regs, arg + 1, offsetof(struct sockaddr_un, sun_path) + strlen(host) + 1);
	m.changed = true;
	return remap_commit(th, &m, regs, false);
}

void handle_msghdr(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		   const arch_regs *regs)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1], host[PATH_MAX];
	unsigned long addr = arch_arg(regs, 1);
	unsigned count = 1, i;

	if (d->nr != __NR_sendmsg) {
		count = (unsigned)arch_arg(regs, 2);
		if (count > 1024)
			count = 1024; /* the kernel's UIO_MAXIOV */
	}
	for (i = 0; i < count; i++) {
		struct msghdr mh;
		/* sendmmsg's vector is of struct mmsghdr: a msghdr and a length. */
		unsigned long at =
		    addr + i * (d->nr == __NR_sendmsg ? sizeof(mh) : sizeof(struct mmsghdr));

		int err = tracee_read(th->tid, at, &mh, sizeof(mh));

		if (err == 0)
			err = read_unix_path(th->tid, (unsigned long)mh.msg_name, mh.msg_namelen,
					     path, sizeof(path));
		if (err == -EPERM) {
			refuse_unseen(t, th, d, regs);
			return;
		}
		if (err < 0)
			return;
		err = unix_path(t, th, d, path, host);
		if (err < 0) {
			skip_call(th, regs, err);
			return;
		}
		if (host[0]) {
			/* An address inside a message header is not rewritten (yet): refused. */
			refuse_call(t, th, d, regs, EOPNOTSUPP,
				    "a socket address in a message names a remapped path");
			return;
		}
	}
}
