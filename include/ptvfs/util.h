/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every part of ptvfs: fatal errors for setup code,
 * allocation that never returns NULL, scope-bound cleanup, and a growable
 * byte buffer.
 */
#ifndef PTVFS_UTIL_H
#define PTVFS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

/* Exit status of ptvfs itself failing (bad option, manifest, ...), as bubblewrap uses. */
#define PTVFS_EXIT_FAILURE 125

/* Print "ptvfs: MESSAGE" on stderr and exit 125. Only setup code may die. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
/* As die(), with ": strerror(errno)" appended. */
__attribute__((noreturn, format(printf, 1, 2))) void die_errno(const char *fmt, ...);
/* Print "ptvfs: MESSAGE" on stderr and go on. */
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *str);
char *xstrndup(const char *str, size_t len);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);

static inline void free_ptr(void *ptr)
{
	free(*(void **)ptr);
}

/* A pointer freed when it goes out of scope; hand it on with steal_pointer(). */
#define autofree __attribute__((cleanup(free_ptr)))

static inline void *steal_pointer_impl(void *pptr)
{
	void **p = pptr;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_pointer_impl(pp))

void close_fd_ptr(int *fd);
/* A file descriptor closed when it goes out of scope (-1 means none). */
#define autoclose __attribute__((cleanup(close_fd_ptr)))

/* A growable byte buffer, always NUL-terminated. */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *str);
void strbuf_addch(struct strbuf *sb, char ch);
__attribute__((format(printf, 2, 3))) void strbuf_addf(struct strbuf *sb, const char *fmt, ...);
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

/*
 * All of FD (to its end) or of the file PATH, in a malloc'd buffer with a
 * NUL after the LEN bytes (the caller frees *DATA). Returns 0 or -errno.
 */
int read_fd_whole(int fd, char **data, size_t *len);
int read_file_whole(const char *path, char **data, size_t *len);

/* The value of the hexadecimal digit C, or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Write LEN bytes to PATH atomically: a temporary file beside it, then rename.
 * Returns 0 or -errno.
 */
int write_file_atomic(const char *path, const char *data, size_t len);

#endif
