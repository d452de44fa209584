// SPDX-License-Identifier: MIT
/*
 * Manifests (--inputs FILE): one declared input per line, read into the
 * layer table as LAYER_INPUT declarations. The format is in view.h.
 *
 * A manifest can hold a hundred thousand lines: setting them up is to take
 * tens of milliseconds, and fresh memory (a page fault per 4 kB) costs as
 * much as the work done in it. So:
 * - the file is read whole into a buffer the view keeps: its lines are
 *   NUL-terminated in place and stay there as the kept lines, and a SRC
 *   written as a canonical absolute path is used where it is;
 * - each DEST is made a node of the view as its line is parsed (its hash
 *   slot prefetched a few lines ahead);
 * - each SRC is handed to the check (manifest_check.c), which runs beside
 *   the parsing on another thread;
 * - then the lines are declared in order, so that an error is the first
 *   broken line's.
 */
#include <endian.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/bigmem.h"
#include "ptvfs/resolve.h"
#include "ptvfs/util.h"
#include "ptvfs/view.h"
#include "manifest_priv.h"
#include "view_priv.h"

/* What a path written in a manifest has in it: whether it can be used as it is. */
enum path_shape {
	PATH_CLEAN,  /* no empty, "." or ".." component, no '/' at its end (but "/") */
	PATH_DOTS,   /* an empty or "." component, or a '/' at its end: path_join_lexical */
	PATH_DOTDOT, /* a ".." component: the host must resolve it (realpath) */
};

/* The bytes of the word W equal to C, as their high bits. */
static inline uint64_t bytes_equal(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (0x0101010101010101ull * c);

	return ~(((x & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | x) & 0x8080808080808080ull;
}

/* The shape of the component of P (LEN bytes) starting at AT with a '/' or a '.'. */
static enum path_shape component_shape(const char *p, size_t len, size_t at)
{
	const char *end = memchr(p + at, '/', len - at);
	size_t comp = end ? (size_t)(end - (p + at)) : len - at;

	if (comp == 2 && p[at + 1] == '.')
		return PATH_DOTDOT;
	return comp <= 1 ? PATH_DOTS : PATH_CLEAN;
}

/*
 * The shape of the path P (LEN bytes, LEN > 0), sixteen bytes at a time
 * (SSE2, x86-64's own) then eight: a component that starts with '/' is
 * empty, one that starts with '.' is looked at closely (most paths have
 * none). A manifest has two paths a line: this is on the parser's way.
 */
static enum path_shape path_shape(const char *p, size_t len)
{
	enum path_shape shape = PATH_CLEAN, c;
	/* Byte 0 of a relative path starts a component, as if a '/' came before. */
	uint64_t carry = p[0] != '/';
	size_t i = 0;

#ifdef __SSE2__
	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		uint32_t slashes = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
		uint32_t dots = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
		uint32_t odd = ((slashes << 1) | (uint32_t)carry) & (slashes | dots) & 0xffff;

		carry = slashes >> 15;
		for (; odd; odd &= odd - 1) {
			c = component_shape(p, len, i + __builtin_ctz(odd));
			if (c == PATH_DOTDOT)
				return c;
			if (c == PATH_DOTS)
				shape = c;
		}
	}
#endif
	for (; i < len; i += 8) {
		size_t n = len - i < 8 ? len - i : 8;
		uint64_t w = 0, slashes, odd;

		if (n == 8)
			memcpy(&w, p + i, 8); /* one load */
		else
			w = word_tail(p, len); /* the last N bytes: I is a multiple of 8 */
		w = le64toh(w);
		slashes = bytes_equal(w, '/');
		if (n < 8)
			slashes &= (1ull << (8 * n)) - 1;
		odd = ((slashes << 8) | (carry << 7)) & (slashes | bytes_equal(w, '.'));
		carry = slashes >> 63;
		if (n < 8)
			odd &= (1ull << (8 * n)) - 1;
		for (; odd; odd &= odd - 1) {
			c = component_shape(p, len, i + __builtin_ctzll(odd) / 8);
			if (c == PATH_DOTDOT)
				return c;
			if (c == PATH_DOTS)
				shape = c;
		}
	}
	if (len > 1 && p[len - 1] == '/')
		shape = PATH_DOTS;
	return shape;
}

struct line_error {
	const char *file;
	size_t line;
	char **err;
};

__attribute__((format(printf, 3, 4))) static int line_err(const struct line_error *where, int ret,
							  const char *fmt, ...)
{
	autofree char *what = NULL;
	va_list ap;

	if (!where->err)
		return ret;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	*where->err = xasprintf("%s:%zu: %s", where->file, where->line, what ? what : "");
	return ret;
}

/* The part of LINE (LEN bytes) before a comment: its length, with the blanks before it cut. */
static size_t cut_comment(const char *line, size_t len)
{
	const char *hash = memchr(line, '#', len);

	for (; hash; hash = memchr(hash + 1, '#', len - (hash + 1 - line))) {
		size_t i = hash - line;

		if (i > 0 && line[i - 1] != ' ' && line[i - 1] != '\t')
			continue;
		while (i > 0 && (line[i - 1] == ' ' || line[i - 1] == '\t'))
			i--;
		return i;
	}
	return len;
}

static bool is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return false;
	return true;
}

struct manifest {
	struct view *v;
	const char *cwd;
	char *data;
	size_t size, cap; /* of DATA: the file's bytes, the mapping's */
	size_t pos;	  /* the first byte not parsed yet */
	bool kept;	  /* the view keeps DATA (view_keep_manifest) */
	struct pending_lines lines;
	size_t count;
	struct line_error where;
	int error;	  /* of the first broken line, 0: none */
	char *error_text; /* its message */
	size_t cwd_len;
	uint32_t cwd_hash; /* the view hash's state after CWD's components */
	/* The DESTs parsed, not yet made nodes: their slots are being prefetched. */
	struct ring_entry *ring;
	uint32_t ring_head, ring_tail;
	struct checker *check;
};

/*
 * A DEST waiting for its node: the line's pending index, its path and hash,
 * and where its last component is in the manifest's text (view_text_ref;
 * NONE: the path is copied whole).
 */
struct ring_entry {
	uint32_t line;
	uint32_t hash;
	uint32_t name;
	size_t len;
	char path[PATH_MAX];
};

/* How many lines ahead of making its node a DEST's hash slot is prefetched. */
#define RING_SIZE 16

/* Make the nodes of the DESTs in the ring, oldest first, until N are left. */
static void drain_ring(struct manifest *m, uint32_t n)
{
	while (m->ring_tail - m->ring_head > n) {
		struct ring_entry *r = &m->ring[m->ring_head++ % RING_SIZE];

		m->lines.at[r->line].node =
		    view_node_hashed(m->v, r->path, r->len, r->hash, r->name);
	}
}

/*
 * The host path of a SRC written SRC_LEN bytes long at SRC (NUL-terminated)
 * into *HOST: SRC itself when it is canonical and absolute (most), else
 * made here (the lines' OWNED of P). Returns 0 (*HOST NULL with P->state an
 * -errno when a ".." resolved on the host failed), or -EINVAL after
 * line_err for a path too long.
 */
static int source_path(struct manifest *m, struct pending *p, const char *src, size_t src_len,
		       const char **host)
{
	enum path_shape shape = path_shape(src, src_len);
	char joined[PATH_MAX * 2], out[PATH_MAX];

	if (shape == PATH_CLEAN && src[0] == '/') {
		*host = src;
		return 0;
	}
	if (shape != PATH_DOTDOT) {
		if (path_join_lexical(m->cwd, src, out) < 0)
			return line_err(&m->where, -EINVAL, "the path is too long");
	} else {
		/* The host resolves ".." after the links before it: so must we. */
		snprintf(joined, sizeof(joined), "%s/%s", src[0] == '/' ? "" : m->cwd, src);
		if (!realpath(joined, out)) {
			p->state = -errno;
			*host = NULL;
			return 0;
		}
		p->state = SRC_RESOLVED;
	}
	*host = m->lines.owned[p - m->lines.at] = xstrdup(out);
	return 0;
}

/* Parse the line LINE (LEN bytes, NUL-terminated, no comment) into a pending declaration. */
static int parse_line(struct manifest *m, const char *line, size_t len)
{
	const struct line_error *where = &m->where;
	const char *tab = memchr(line, '\t', len), *host;
	size_t dest_len = tab ? (size_t)(tab - line) : len;
	size_t src_len = tab ? len - dest_len - 1 : 0;
	struct ring_entry *r = &m->ring[m->ring_tail % RING_SIZE];
	const char *slash;
	char *norm = r->path;
	struct pending *p;
	bool canonical;
	int ret;

	if (tab && memchr(tab + 1, '\t', src_len))
		return line_err(where, -EINVAL,
				"more than one tab (the format is DEST or DEST<TAB>SRC)");
	if (dest_len == 0)
		return line_err(where, -EINVAL, "the destination is empty");
	if (tab && src_len == 0)
		return line_err(where, -EINVAL, "the source after the tab is empty");
	if (dest_len >= PATH_MAX || src_len >= PATH_MAX)
		return line_err(where, -EINVAL, "the path is too long");
	/* The ring's slot may still hold a DEST waiting for its node. */
	drain_ring(m, RING_SIZE - 1);
	canonical = line[0] != '/' && path_shape(line, dest_len) == PATH_CLEAN;
	if (canonical && m->cwd_len + 1 + dest_len < PATH_MAX) {
		/* The common case, without path_join_lexical's walk. */
		size_t at = m->cwd_len > 1 ? m->cwd_len + 1 : 1;

		memcpy(norm, m->cwd, m->cwd_len);
		norm[at - 1] = '/';
		memcpy(norm + at, line, dest_len);
		norm[at + dest_len] = '\0';
		r->len = at + dest_len;
		r->hash = hash_final(hash_components(m->cwd_hash, line, dest_len));
		/* The node keeps only its name, where the line has it. */
		slash = memrchr(line, '/', dest_len);
		r->name = view_text_ref(m->v, slash ? slash + 1 : line);
	} else {
		char dest[PATH_MAX];

		memcpy(dest, line, dest_len);
		dest[dest_len] = '\0';
		if (path_join_lexical(m->cwd, dest, norm) < 0)
			return line_err(where, -EINVAL, "the path is too long");
		r->len = strlen(norm);
		r->hash = view_hash_path(norm, r->len);
		r->name = NONE;
	}
	p = &m->lines.at[m->count];
	*p = (struct pending){
	    .line = line - m->data, .line_no = where->line, .node = NONE, .next = NONE};
	if (tab) {
		ret = source_path(m, p, tab + 1, src_len, &host);
	} else if (!canonical) {
		/* The DEST as written, as a host path (its NUL is the line's). */
		ret = source_path(m, p, line, dest_len, &host);
	} else {
		/* The DEST itself, whose name stays in the line (no tab: its end is the line's). */
		ret = 0;
		host = line;
	}
	if (ret < 0)
		return ret; /* source_path made nothing */
	if (host) {
		/* Not in the text: made here. */
		bool owned = host < m->data || host >= m->data + m->cap;
		/* Its length: as written, but when made here. */
		size_t len = owned ? strlen(host) : tab ? src_len : dest_len;
		const char *slash = memrchr(host, '/', len);

		p->src = owned ? SRC_OWNED : (uint32_t)(host - m->data);
		p->name_at = slash ? slash + 1 - host : 0;
		p->name_len = len - p->name_at;
		if (host == line || (len == r->len && memcmp(host, norm, len) == 0))
			p->flags |= PENDING_SAME_PATH;
		if (p->state == SRC_UNCHECKED)
			check_add(m->check, m->count, p->flags & PENDING_SAME_PATH ? norm : host,
				  p->flags & PENDING_SAME_PATH ? r->len : len);
	}
	r->line = m->count++;
	m->ring_tail++;
	view_prefetch(m->v, r->hash);
	return 0;
}

/* Declare the checked lines in order: the first error is the first line's. */
static int declare_lines(struct manifest *m)
{
	char real[PATH_MAX], path[PATH_MAX], own[PATH_MAX];

	view_reserve_inputs(m->v, m->count);
	for (size_t i = 0; i < m->count; i++) {
		struct pending *p = &m->lines.at[i];
		const char *line = m->data + p->line, *conflict;
		/* A source that is the DEST's own path: declared as such, its string not made. */
		bool same = p->flags & PENDING_SAME_PATH;
		const char *src = same ? NULL : pending_string(&m->lines, i);
		int node;

		m->where.line = p->line_no;
		if (p->state == SRC_LINK) {
			if (same)
				src = view_node_path(m->v, p->node, own);
			p->state = realpath(src, real) ? SRC_RESOLVED : -errno;
			src = real;
			same = false;
		}
		if (p->state < 0) {
			const char *tab = strchr(line, '\t');

			return line_err(&m->where, p->state, "%s: %s", tab ? tab + 1 : line,
					strerror(-p->state));
		}
		if (same) {
			view_node_host_dir(m->v, p->node);
			node = view_declare_node_self(m->v, p->node, LAYER_INPUT, &conflict);
		} else {
			node = view_declare_node(m->v, p->node, LAYER_INPUT, src, &conflict);
		}
		if (node < 0)
			return line_err(&m->where, node, "%s declared twice, from %s and %s",
					view_node_path(m->v, p->node, path), conflict,
					same ? view_node_path(m->v, p->node, own) : src);
		view_record_input(m->v, line, p->node);
	}
	return 0;
}

/*
 * Parse the lines from M->pos up to END: those ending before END (with a
 * newline), and with LAST also the one after them. Stops at the first
 * broken line, whose error is kept for after the lines before it.
 */
static void parse_lines(struct manifest *m, size_t end, bool last)
{
	const char *nul = memchr(m->data + m->pos, '\0', end - m->pos);

	m->where.err = &m->error_text;
	while (m->pos < end && m->error == 0) {
		char *line = m->data + m->pos;
		const char *nl = memchr(line, '\n', end - m->pos);
		size_t len = nl ? (size_t)(nl - line) : end - m->pos;

		if (!nl && !last)
			break;
		m->pos += len + 1;
		m->where.line++;
		if (nul && nul < line + len) {
			m->error = line_err(&m->where, -EINVAL, "a NUL byte in the line");
			break;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		len = cut_comment(line, len);
		if (is_blank(line, len))
			continue;
		/* Kept as written, less the comment; a SRC at its end is a string there too. */
		line[len] = '\0';
		m->error = parse_line(m, line, len);
	}
}

static size_t count_lines(const char *p, size_t len)
{
	size_t n = 0;

	for (const char *end = p + len; (p = memchr(p, '\n', end - p)); p++)
		n++;
	return n;
}

/*
 * Room for MAX parsed lines, which the check reads as they come (they never
 * move), about EXPECTED of them; and the check, whose thread (for many)
 * starts now: waking another CPU can take a millisecond or more, done
 * while the first chunk is read.
 */
static void reserve_lines(struct manifest *m, size_t max, size_t expected)
{
	m->lines.max = max;
	m->lines.at = big_alloc(max * sizeof(*m->lines.at));
	m->lines.owned = big_alloc(max * sizeof(*m->lines.owned));
	m->lines.text = m->data;
	m->check = check_start(&m->lines, expected);
}

/* Room in the view for about EXPECTED lines' nodes and strings (they may grow). */
static void reserve_view(struct manifest *m, size_t expected)
{
	/* Each line's DEST: CWD, '/', the line; and a node per directory, a few. */
	view_reserve(m->v, expected + expected / 8, expected * (m->cwd_len + 2 + 64));
}

/* The view keeps the manifest's text, LEN bytes of M->data. */
static int keep_text(struct manifest *m, size_t len)
{
	int ret = view_keep_manifest(m->v, m->data, len, m->cap);

	m->kept = ret == 0;
	return ret;
}

/*
 * A manifest line is rarely shorter (a DEST and a SRC of a few components):
 * a regular file's size over this is how many lines it has, about, before
 * any is read.
 */
#define LINE_BYTES_MIN 32

/* Bytes read at a time, each parsed (and its sources' check begun) before the next is read. */
#define READ_CHUNK ((size_t)1 << 20)

/*
 * Read the manifest FD into M->data (M->size bytes and a NUL) and parse its
 * lines. A regular file of SIZE bytes is read in chunks, each parsed before
 * the next is read, so that the sources' check starts at once; anything
 * else (a pipe, <(...), a file whose size is not known) whole, then parsed.
 * Returns 0 or -errno (a broken line is M->error).
 */
static int read_and_parse(struct manifest *m, int fd, off_t size)
{
	bool chunked = size > 0;

	int ret;

	m->cap = chunked ? (size_t)size + 1 : 65536;
	/* Filled from its start, at once: 4 kB pages the kernel has at hand (bigmem.h). */
	m->data = chunked ? big_alloc_small_pages(m->cap) : big_alloc(m->cap);
	/*
	 * The view keeps the text from now on (its lines, and the names and
	 * SRCs written there) when it cannot move any more. Every line has a
	 * byte and a newline at least.
	 */
	if (chunked) {
		ret = keep_text(m, (size_t)size);
		if (ret < 0)
			return ret;
		reserve_lines(m, m->cap / 2 + 1, m->cap / LINE_BYTES_MIN);
	}
	for (;;) {
		size_t room = m->cap - m->size - 1;
		ssize_t got;

		if (!chunked && room == 0) {
			m->data = big_resize(m->data, m->cap, m->cap * 2);
			m->cap *= 2;
			continue;
		}
		if (chunked)
			big_populate(m->data + m->size, room > READ_CHUNK ? READ_CHUNK : room);
		got = read(fd, m->data + m->size, chunked && room > READ_CHUNK ? READ_CHUNK : room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		if (chunked && m->size == 0) {
			/* About as many lines a byte as in the first chunk. */
			size_t first = count_lines(m->data, got) + 1;

			reserve_view(m, first * (m->cap / got) + first / 8 + 16);
		}
		m->size += got;
		if (chunked && m->error == 0) {
			const char *nl = memrchr(m->data + m->pos, '\n', m->size - m->pos);

			if (nl)
				parse_lines(m, nl + 1 - m->data, false);
		}
		if (chunked && m->size == m->cap - 1)
			break;
	}
	m->data[m->size] = '\0';
	if (!chunked) {
		size_t lines = count_lines(m->data, m->size) + 1;

		ret = keep_text(m, m->size);
		if (ret < 0)
			return ret;
		reserve_lines(m, lines, lines);
		reserve_view(m, lines);
	}
	if (m->error == 0)
		parse_lines(m, m->size, true);
	drain_ring(m, 0);
	return 0;
}

static void release_lines(struct manifest *m)
{
	for (size_t i = 0; i < m->count; i++)
		if (m->lines.at[i].src == SRC_OWNED)
			free(m->lines.owned[i]);
	big_free(m->lines.at, m->lines.max * sizeof(*m->lines.at));
	big_free(m->lines.owned, m->lines.max * sizeof(*m->lines.owned));
}

int view_add_inputs(struct view *v, const char *manifest, const char *cwd, char **err)
{
	struct manifest m = {.v = v, .where = {manifest, 0, NULL}};
	char cwd_buf[PATH_MAX];
	autoclose int fd = -1;
	struct stat st;
	int ret;

	if (view_image(v)) {
		if (err)
			*err = xasprintf("--inputs %s: the view is already sealed", manifest);
		return -EINVAL;
	}
	if (!cwd) {
		if (!getcwd(cwd_buf, sizeof(cwd_buf)))
			return -errno;
		cwd = cwd_buf;
	}
	m.cwd = cwd;
	m.cwd_len = strlen(cwd);
	/* The hash state of what parse_line puts before a canonical DEST: CWD. */
	m.cwd_hash = m.cwd_len > 1 ? hash_components(HASH_SEED, cwd + 1, m.cwd_len - 1) : HASH_SEED;
	fd = open(manifest, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
	} else {
		m.ring = xmalloc(RING_SIZE * sizeof(*m.ring));
		ret = read_and_parse(&m, fd, S_ISREG(st.st_mode) ? st.st_size : 0);
		free(m.ring);
	}
	if (m.check)
		check_finish(m.check, m.count);
	if (ret < 0) {
		if (!m.kept)
			big_free(m.data, m.cap);
		release_lines(&m);
		if (err)
			*err = xasprintf("--inputs %s: %s", manifest, strerror(-ret));
		return ret;
	}
	m.where.err = err;
	ret = declare_lines(&m);
	if (ret == 0 && m.error < 0) {
		ret = m.error;
		if (err)
			*err = steal_pointer(&m.error_text);
	}
	free(m.error_text);
	release_lines(&m);
	return ret;
}
