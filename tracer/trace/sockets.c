// SPDX-License-Identifier: MIT
/*
 * AF_UNIX addresses that name files. At a call's entry: bind, connect and
 * sendto name a socket file by path, so the path is recorded, and in a view
 * the address is rewritten to carry the host path (sendmsg's and
 * sendmmsg's addresses, inside message headers, are refused when they
 * would need it). In a view, at the exit: the addresses the kernel hands
 * back (getsockname, getpeername, accept, recvfrom, recvmsg, recvmmsg)
 * name the socket by its view path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

/* No AF_UNIX address is longer: a buffer this long is never cut. */
#define SUN_SIZE ((int)sizeof(struct sockaddr_un))
/* The messages a recvmmsg takes at most (the kernel's UIO_MAXIOV). */
#define MSGS_MAX 1024
/* What the scratch area surely holds for one call (remap_place() keeps a header, aligns). */
#define ROOM (REMAP_MAX_BYTES - 64)

/*
 * The address SUN the kernel handed back, KLEN bytes long (SUN holds all
 * of an AF_UNIX one), changed to name its socket file by the view path;
 * *LEN the length of the address then. False when it stays as it is (not
 * a path, seen at the same path, or a view path too long for an address).
 */
static bool view_address(struct tracer *t, struct sockaddr_un *sun, int klen, int *len)
{
	char host[sizeof(sun->sun_path) + 1], view[PATH_MAX];
	size_t n;

	*len = klen;
	if (klen <= (int)offsetof(struct sockaddr_un, sun_path) || klen > SUN_SIZE ||
	    sun->sun_family != AF_UNIX || sun->sun_path[0] != '/')
		return false;
	/* A path of the whole sun_path has no NUL. */
	n = strnlen(sun->sun_path, klen - offsetof(struct sockaddr_un, sun_path));
	memcpy(host, sun->sun_path, n);
	host[n] = '\0';
	if (viewfs_view_path(t, host, view) < 0 || strcmp(view, host) == 0 ||
	    strlen(view) >= sizeof(sun->sun_path))
		return false;
	memset(sun->sun_path, 0, sizeof(sun->sun_path));
	memcpy(sun->sun_path, view, strlen(view));
	*len = (int)(offsetof(struct sockaddr_un, sun_path) + strlen(view) + 1);
	return true;
}

/* The address SUN, LEN bytes, into the program's buffer ADDR of SIZE: cut to it, as the kernel. */
static int put_address(struct thread *th, unsigned long addr, int size,
		       const struct sockaddr_un *sun, int len)
{
	int n = len < size ? len : size;

	return n > 0 ? tracee_write(th->tid, addr, sun, n) : 0;
}

/*
 * The same, and LEN into the program's length at LENP: in one write (these
 * calls are a server's loop).
 */
static int put_address_and_length(struct thread *th, unsigned long addr, int size,
				  const struct sockaddr_un *sun, int len, unsigned long lenp)
{
	int n = len < size ? len : size;
	struct iovec local[2] = {{&len, sizeof(len)}, {(void *)sun, n > 0 ? n : 0}};
	struct iovec remote[2] = {{(void *)lenp, sizeof(len)}, {(void *)addr, n > 0 ? n : 0}};
	size_t want = sizeof(len) + (n > 0 ? n : 0);

	return process_vm_writev(th->tid, local, n > 0 ? 2 : 1, remote, n > 0 ? 2 : 1, 0) ==
		       (ssize_t)want
		   ? 0
		   : -EFAULT;
}

/*
 * At the exit stop: the call returns RET instead (the program's buffer was
 * not writable); set with the registers by sockname_exit.
 */
static void set_result(arch_regs *regs, long ret)
{
	arch_skip_syscall(regs, ret);
}

static bool is_msgs_call(const struct syscall_desc *d)
{
	return d->nr == __NR_recvmsg || d->nr == __NR_recvmmsg;
}

/* Where getsockname, accept, recvfrom... are given room for any address instead of the program's. */
struct address_room {
	struct sockaddr_un sun;
	int len;
};

/* A message header whose name buffer is too short for some address. */
static bool name_may_be_cut(const struct msghdr *h)
{
	return h->msg_name && (int)h->msg_namelen >= 0 && (int)h->msg_namelen < SUN_SIZE;
}

/*
 * recvmsg, recvmmsg: the kernel writes each sender's address where the
 * message header's msg_name points, msg_namelen bytes at most. A header
 * whose buffer is too short for some address (a host path may be cut
 * where its view path would fit) is given room in the scratch area: the
 * headers are copied there (the program's own stay as they are), those
 * copies point at room for a whole address, and the call reads the
 * copies. When the room does not hold them all (a recvmmsg of hundreds of
 * short buffers) or cannot be had (no scratch mapping), the call runs as
 * the program made it: the addresses are translated where they fit.
 * Whether the exit stop is needed: no header asks for an address.
 */
static bool msgs_stop(struct thread *th, const struct syscall_desc *d, const arch_regs *regs)
{
	static struct mmsghdr msgs[MSGS_MAX];
	bool named = false, mmsg = d->nr == __NR_recvmmsg;
	size_t stride = mmsg ? sizeof(struct mmsghdr) : sizeof(struct msghdr);
	unsigned long vec = arch_arg(regs, 1), suns, at;
	size_t vlen = mmsg ? (unsigned)arch_arg(regs, 2) : 1, n, shorts = 0, need = 0, i;
	struct remap m;

	if (vlen > MSGS_MAX)
		vlen = MSGS_MAX;
	/* The headers the kernel can read: it stops at the first it cannot. */
	n = vlen;
	if (tracee_read(th->tid, vec, msgs, n * stride) < 0)
		for (n = 0; n < vlen; n++)
			if (tracee_read(th->tid, vec + n * stride, &msgs[n], stride) < 0)
				break;
	for (i = 0; i < n; i++) {
		named |= msgs[i].msg_hdr.msg_name != NULL;
		shorts += name_may_be_cut(&msgs[i].msg_hdr);
		need += stride + (name_may_be_cut(&msgs[i].msg_hdr) ? SUN_SIZE : 0);
	}
	/* The addresses whole, or the room too small: changed in place at the exit. */
	if (!named || !shorts || need > ROOM)
		return named;
	/* Room for the addresses first (the kernel fills it), then the copies pointing at it. */
	remap_begin(&m, regs);
	suns = remap_place(th, &m, NULL, shorts * SUN_SIZE);
	for (i = 0, shorts = 0; suns && i < n; i++) {
		struct msghdr *h = &msgs[i].msg_hdr;

		if (name_may_be_cut(h)) {
			h->msg_name = (void *)(suns + shorts++ * SUN_SIZE);
			h->msg_namelen = SUN_SIZE;
		}
	}
	at = suns ? remap_place(th, &m, msgs, n * stride) : 0;
	if (!at)
		return true; /* no scratch mapping: in place, as far as the addresses fit */
	arch_set_arg(&m.regs, 1, at);
	/* The kernel reads no header past the copies (those it could read). */
	if (mmsg)
		arch_set_arg(&m.regs, 2, n);
	m.changed = true;
	return remap_commit(th, &m, regs, false);
}

/*
 * accept: whether the program's buffer of SIZE bytes at ADDR, and the
 * length at LENP (which holds SIZE), can be written. Else the kernel's own
 * EFAULT must come, before it makes a descriptor; the bytes are written
 * back as they are. (Another call that fails there has done at the exit
 * what it does natively: ptvfs's EFAULT then stands for the kernel's.)
 */
static bool writable(struct thread *th, unsigned long addr, int size, unsigned long lenp)
{
	char buf[SUN_SIZE];

	return tracee_write(th->tid, lenp, &size, sizeof(size)) == 0 &&
	       (size == 0 || (tracee_read(th->tid, addr, buf, size) == 0 &&
			      tracee_write(th->tid, addr, buf, size) == 0));
}

bool sockname_stop(struct thread *th, const struct syscall_desc *d, const arch_regs *regs)
{
	struct address_room room = {.len = SUN_SIZE};
	int arg = d->paths[0].path, size;
	unsigned long addr = arch_arg(regs, arg), lenp = arch_arg(regs, arg + 1), at;
	struct remap m;

	if (is_msgs_call(d))
		return msgs_stop(th, d, regs);
	/* No address asked for, or the kernel's EFAULT or EINVAL. */
	if (!addr || !lenp || tracee_read(th->tid, lenp, &size, sizeof(size)) < 0 || size < 0)
		return false;
	th->sockname_size = size;
	if (size >= SUN_SIZE)
		return true; /* the address is whole in the buffer: changed in place at the exit */
	/*
	 * Too short for some address (a host path may be cut where its view
	 * path would fit): the kernel is given room for any in the scratch
	 * area, and the program the view's at the exit. Not when the kernel
	 * is to fail (a buffer it cannot write), nor without a scratch mapping:
	 * then the call runs as the program made it.
	 */
	if ((d->nr == __NR_accept || d->nr == __NR_accept4) && !writable(th, addr, size, lenp))
		return false;
	remap_begin(&m, regs);
	at = remap_place(th, &m, &room, sizeof(room));
	if (!at)
		return true; /* translated in place at the exit, as far as it fits */
	arch_set_arg(&m.regs, arg, at + offsetof(struct address_room, sun));
	arch_set_arg(&m.regs, arg + 1, at + offsetof(struct address_room, len));
	m.changed = true;
	return remap_commit(th, &m, regs, false);
}

/* getsockname, accept, recvfrom...: REGS as at the exit, before the arguments go back. */
static void address_exit(struct tracer *t, struct thread *th, const struct syscall_desc *d,
			 arch_regs *regs)
{
	bool moved = th->restore_pending;
	const arch_regs *own = moved ? &th->saved_regs : regs;
	int arg = d->paths[0].path, klen, len;
	struct sockaddr_un sun;
	bool changed;

	memset(&sun, 0, sizeof(sun));
	if (moved) {
		struct address_room room;

		/* The kernel's address and its length, side by side in the room: one read. */
		if (tracee_read(th->tid, arch_arg(regs, arg), &room, sizeof(room)) < 0 ||
		    room.len < 0)
			return;
		klen = room.len;
		memcpy(&sun, &room.sun, klen < SUN_SIZE ? klen : SUN_SIZE);
	} else if (tracee_read(th->tid, arch_arg(regs, arg + 1), &klen, sizeof(klen)) < 0 ||
		   klen < 0 ||
		   (klen > 0 && tracee_read(th->tid, arch_arg(regs, arg), &sun,
					    klen < SUN_SIZE ? klen : SUN_SIZE) < 0)) {
		return;
	}
	changed = view_address(t, &sun, klen, &len);
	if (!moved && !changed)
		return;
	/* As the kernel: the whole length is told, the address cut to the buffer. */
	if (put_address_and_length(th, arch_arg(own, arg), (int)th->sockname_size, &sun, len,
				   arch_arg(own, arg + 1)) < 0)
		set_result(regs, -EFAULT);
}

/*
 * One message received: GOT the header the kernel filled (a copy when
 * MOVED), AT the program's own (STRIDE bytes). 0 or -EFAULT.
 */
static int msg_exit(struct tracer *t, struct thread *th, struct mmsghdr *got, unsigned long at,
		    size_t stride, bool moved)
{
	struct msghdr *h = &got->msg_hdr, mine = *h;
	int len = (int)h->msg_namelen, err;
	struct sockaddr_un sun;
	bool changed = false;

	if (moved && tracee_read(th->tid, at, &mine, sizeof(mine)) < 0)
		return -EFAULT;
	memset(&sun, 0, sizeof(sun));
	if (h->msg_name && len > 0 &&
	    tracee_read(th->tid, (unsigned long)h->msg_name, &sun,
			len < SUN_SIZE ? len : SUN_SIZE) == 0)
		changed = view_address(t, &sun, len, &len);
	if (h->msg_name != mine.msg_name) /* the kernel wrote into the room given */
		err =
		    put_address(th, (unsigned long)mine.msg_name, (int)mine.msg_namelen, &sun, len);
	else if (changed)
		err = put_address(th, (unsigned long)mine.msg_name, SUN_SIZE, &sun, len);
	else
		err = 0;
	h->msg_name = mine.msg_name;
	h->msg_namelen = len;
	/* A copy goes back whole: msg_namelen, msg_controllen, msg_flags, msg_len. */
	if (err == 0 && moved)
		err = tracee_write(th->tid, at, got, stride);
	else if (err == 0 && changed)
		err = tracee_write(th->tid, at + offsetof(struct msghdr, msg_namelen),
				   &h->msg_namelen, sizeof(h->msg_namelen));
	return err < 0 ? -EFAULT : 0;
}

/* recvmsg, recvmmsg: REGS as at the exit, before the arguments go back. */
static void msgs_exit(struct tracer *t, struct thread *th, const struct syscall_desc *d,
		      arch_regs *regs)
{
	static struct mmsghdr got[MSGS_MAX];
	bool mmsg = d->nr == __NR_recvmmsg, moved = th->restore_pending;
	size_t stride = mmsg ? sizeof(struct mmsghdr) : sizeof(struct msghdr);
	long ret = arch_return_value(regs);
	size_t count = mmsg ? (size_t)ret : 1;
	unsigned long own = arch_arg(moved ? &th->saved_regs : regs, 1);

	/* The messages received: their headers are the copies when moved. */
	if (count > MSGS_MAX || tracee_read(th->tid, arch_arg(regs, 1), got, count * stride) < 0)
		return;
	for (size_t i = 0; i < count; i++) {
		if (msg_exit(t, th, &got[i], own + i * stride, stride, moved) < 0) {
			/* As the kernel: the messages before, else EFAULT. */
			set_result(regs, mmsg && i ? (long)i : -EFAULT);
			return;
		}
	}
}

void sockname_exit(struct tracer *t, struct thread *th, const struct syscall_desc *d)
{
	arch_regs regs;
	long ret;

	if (ptrace(PTRACE_GETREGS, th->tid, 0, &regs) < 0 || arch_return_value(&regs) < 0)
		return;
	ret = arch_return_value(&regs);
	if (is_msgs_call(d))
		msgs_exit(t, th, d, &regs);
	else
		address_exit(t, th, d, &regs);
	/* The arguments go back with the result, in one write of the registers. */
	if (th->restore_pending)
		remap_restore_regs(th, &regs);
	else if (arch_return_value(&regs) != ret)
		ptrace(PTRACE_SETREGS, th->tid, 0, &regs);
}
