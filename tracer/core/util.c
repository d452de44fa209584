// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/util.h"

static void vmessage(const char *fmt, va_list ap, int err)
{
	struct strbuf sb = {0};
	va_list copy;
	int len;

	va_copy(copy, ap);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	strbuf_addstr(&sb, "ptvfs: ");
	strbuf_grow(&sb, len + 1);
	vsnprintf(sb.buf + sb.len, len + 1, fmt, ap);
	sb.len += len;
	if (err)
		strbuf_addf(&sb, ": %s", strerror(err));
	strbuf_addch(&sb, '\n');
	/* One write, so messages of concurrent processes do not interleave. */
	if (write(STDERR_FILENO, sb.buf, sb.len) < 0) {
		/* Nothing better to do: stderr is gone. */
	}
	strbuf_release(&sb);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	exit(PTVFS_EXIT_FAILURE);
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap, err);
	va_end(ap);
	exit(PTVFS_EXIT_FAILURE);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
}

static void *check_alloc(void *ptr)
{
	if (!ptr) {
		static const char msg[] = "ptvfs: out of memory\n";
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* Exiting anyway. */
		}
		abort();
	}
	return ptr;
}

void *xmalloc(size_t size)
{
	return check_alloc(malloc(size ? size : 1));
}

void *xcalloc(size_t count, size_t size)
{
	return check_alloc(calloc(count ? count : 1, size ? size : 1));
}

void *xrealloc(void *ptr, size_t size)
{
	return check_alloc(realloc(ptr, size ? size : 1));
}

char *xstrdup(const char *str)
{
	return check_alloc(strdup(str));
}

char *xstrndup(const char *str, size_t len)
{
	return check_alloc(strndup(str, len));
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	if (vasprintf(&out, fmt, ap) < 0)
		out = NULL;
	va_end(ap);
	return check_alloc(out);
}

void close_fd_ptr(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->cap)
		return;
	sb->cap = sb->cap ? sb->cap : 64;
	while (sb->cap < need)
		sb->cap *= 2;
	sb->buf = xrealloc(sb->buf, sb->cap);
	sb->buf[sb->len] = '\0';
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *str)
{
	strbuf_add(sb, str, strlen(str));
}

void strbuf_addch(struct strbuf *sb, char ch)
{
	strbuf_add(sb, &ch, 1);
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	strbuf_grow(sb, len);
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, len + 1, fmt, ap);
	va_end(ap);
	sb->len += len;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	*sb = (struct strbuf){0};
}

int write_file_atomic(const char *path, const char *data, size_t len)
{
	autofree char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;
			unlink(tmp);
			return err;
		}
		done += n;
	}
	if (close(fd) < 0) {
		int err = -errno;
		fd = -1;
		unlink(tmp);
		return err;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

int read_fd_whole(int fd, char **data, size_t *len)
{
	struct strbuf sb = {0};
	struct stat st;

	/* A regular file is read into one buffer of its size (a manifest: megabytes). */
	strbuf_grow(&sb, fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size + 1 : 4096);
	for (;;) {
		ssize_t got;

		strbuf_grow(&sb, 4096);
		got = read(fd, sb.buf + sb.len, sb.cap - sb.len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;

			strbuf_release(&sb);
			return err;
		}
		if (got == 0)
			break;
		sb.len += got;
	}
	sb.buf[sb.len] = '\0';
	*data = sb.buf;
	*len = sb.len;
	return 0;
}

int read_file_whole(const char *path, char **data, size_t *len)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return read_fd_whole(fd, data, len);
}
