// SPDX-License-Identifier: MIT
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "ptvfs/textdiff.h"
#include "ptvfs/util.h"

bool textdiff_is_binary(const char *data, size_t len)
{
	return memchr(data, '\0', len < 8000 ? len : 8000) != NULL;
}

/* A line: its bytes, newline included when it has one. */
struct line {
	const char *s;
	size_t len;
	uint64_t hash;
};

static size_t split_lines(const char *data, size_t len, struct line **out)
{
	size_t n = 0, cap = 64, pos = 0;
	struct line *lines = xmalloc(cap * sizeof(*lines));

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		uint64_t h = 1469598103934665603ULL;

		if (n == cap) {
			cap *= 2;
			lines = xrealloc(lines, cap * sizeof(*lines));
		}
		for (size_t i = pos; i < end; i++)
			h = (h ^ (unsigned char)data[i]) * 1099511628211ULL;
		lines[n].s = data + pos;
		lines[n].len = end - pos;
		lines[n].hash = h;
		n++;
		pos = end;
	}
	*out = lines;
	return n;
}

/* Give each line a number, equal for equal lines of either side, so that comparing is cheap. */
static int number_lines(const struct line *a, size_t na, const struct line *b, size_t nb, int *ida,
			int *idb)
{
	size_t size = 16;
	const struct line **slots;
	int *slot_id;
	int next = 0;

	while (size < 2 * (na + nb))
		size *= 2;
	slots = xcalloc(size, sizeof(*slots));
	slot_id = xmalloc(size * sizeof(*slot_id));
	for (size_t k = 0; k < na + nb; k++) {
		const struct line *l = k < na ? &a[k] : &b[k - na];
		size_t i = l->hash & (size - 1);

		while (slots[i] && !(slots[i]->hash == l->hash && slots[i]->len == l->len &&
				     !memcmp(slots[i]->s, l->s, l->len)))
			i = (i + 1) & (size - 1);
		if (!slots[i]) {
			slots[i] = l;
			slot_id[i] = next++;
		}
		if (k < na)
			ida[k] = slot_id[i];
		else
			idb[k - na] = slot_id[i];
	}
	free(slots);
	free(slot_id);
	return next;
}

struct myers {
	const int *a, *b;
	char *ca, *cb;	/* changed lines of either side */
	int *fd, *bd;	/* furthest x on each diagonal k = x - y, forward and backward */
	long expensive; /* the cost after which a split is guessed rather than searched */
};

/*
 * The middle of the shortest edit script from a[xoff..xlim) to b[yoff..ylim):
 * a point (x, y) it passes through, as in Myers' paper, found by searching
 * forward from the start and backward from the end until the two meet.
 */
static void middle(struct myers *m, int xoff, int xlim, int yoff, int ylim, int *sx, int *sy)
{
	int *fd = m->fd, *bd = m->bd;
	const int *a = m->a, *b = m->b;
	int dmin = xoff - ylim, dmax = xlim - yoff;
	int fmid = xoff - yoff, bmid = xlim - ylim;
	int fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	bool odd = (fmid - bmid) & 1;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (long cost = 1;; cost++) {
		long fbest = -1, bbest = LONG_MAX;
		int fx = xoff, bx = xlim;

		if (fmin > dmin)
			fd[--fmin - 1] = -1;
		else
			++fmin;
		if (fmax < dmax)
			fd[++fmax + 1] = -1;
		else
			--fmax;
		for (int d = fmax; d >= fmin; d -= 2) {
			int lo = fd[d - 1], hi = fd[d + 1];
			int x = lo >= hi ? lo + 1 : hi;
			int y = x - d;

			while (x < xlim && y < ylim && a[x] == b[y])
				x++, y++;
			fd[d] = x;
			if (odd && bmin <= d && d <= bmax && bd[d] <= x) {
				*sx = x;
				*sy = y;
				return;
			}
		}
		if (bmin > dmin)
			bd[--bmin - 1] = INT_MAX;
		else
			++bmin;
		if (bmax < dmax)
			bd[++bmax + 1] = INT_MAX;
		else
			--bmax;
		for (int d = bmax; d >= bmin; d -= 2) {
			int lo = bd[d - 1], hi = bd[d + 1];
			int x = lo < hi ? lo : hi - 1;
			int y = x - d;

			while (x > xoff && y > yoff && a[x - 1] == b[y - 1])
				x--, y--;
			bd[d] = x;
			if (!odd && fmin <= d && d <= fmax && x <= fd[d]) {
				*sx = x;
				*sy = y;
				return;
			}
		}
		if (cost < m->expensive)
			continue;
		/* Too costly: split where either search got furthest. */
		for (int d = fmax; d >= fmin; d -= 2) {
			int x = fd[d] < xlim ? fd[d] : xlim, y = x - d;

			if (y > ylim)
				x = ylim + d, y = ylim;
			if (x + y > fbest)
				fbest = x + y, fx = x;
		}
		for (int d = bmax; d >= bmin; d -= 2) {
			int x = bd[d] > xoff ? bd[d] : xoff, y = x - d;

			if (y < yoff)
				x = yoff + d, y = yoff;
			if (x + y < bbest)
				bbest = x + y, bx = x;
		}
		if ((long)xlim + ylim - bbest < fbest - ((long)xoff + yoff)) {
			*sx = fx;
			*sy = fbest - fx;
		} else {
			*sx = bx;
			*sy = bbest - bx;
		}
		return;
	}
}

static void compare(struct myers *m, int xoff, int xlim, int yoff, int ylim)
{
	int x, y;

	while (xoff < xlim && yoff < ylim && m->a[xoff] == m->b[yoff])
		xoff++, yoff++;
	while (xlim > xoff && ylim > yoff && m->a[xlim - 1] == m->b[ylim - 1])
		xlim--, ylim--;
	if (xoff == xlim || yoff == ylim) {
		memset(m->ca + xoff, 1, xlim - xoff);
		memset(m->cb + yoff, 1, ylim - yoff);
		return;
	}
	middle(m, xoff, xlim, yoff, ylim, &x, &y);
	if ((x == xoff && y == yoff) || (x == xlim && y == ylim)) {
		/* No progress (cannot happen with an exact middle): all of it changed. */
		memset(m->ca + xoff, 1, xlim - xoff);
		memset(m->cb + yoff, 1, ylim - yoff);
		return;
	}
	compare(m, xoff, x, yoff, y);
	compare(m, x, xlim, y, ylim);
}

/*
 * Mark in CA and CB the lines of IDA (NA lines) and IDB (NB lines) that a
 * shortest edit script changes. A line whose number the other side lacks
 * is changed whatever the script: it is left out of the search (as GNU
 * diff and git do), which makes files with few lines in common cheap.
 */
static void find_changes(const int *ida, size_t na, const int *idb, size_t nb, int nids, char *ca,
			 char *cb)
{
	char *in_a = xcalloc(nids + 1, 1), *in_b = xcalloc(nids + 1, 1);
	int *ra = xmalloc((na + 1) * sizeof(int)), *rb = xmalloc((nb + 1) * sizeof(int));
	int *ka = xmalloc((na + 1) * sizeof(int)), *kb = xmalloc((nb + 1) * sizeof(int));
	size_t ma = 0, mb = 0;
	struct myers m;
	long root = 1;

	for (size_t i = 0; i < na; i++)
		in_a[ida[i]] = 1;
	for (size_t j = 0; j < nb; j++)
		in_b[idb[j]] = 1;
	for (size_t i = 0; i < na; i++) {
		if (in_b[ida[i]]) {
			ka[ma] = ida[i];
			ra[ma++] = i;
		} else {
			ca[i] = 1;
		}
	}
	for (size_t j = 0; j < nb; j++) {
		if (in_a[idb[j]]) {
			kb[mb] = idb[j];
			rb[mb++] = j;
		} else {
			cb[j] = 1;
		}
	}
	m.a = ka;
	m.b = kb;
	m.ca = xcalloc(ma + 1, 1);
	m.cb = xcalloc(mb + 1, 1);
	m.fd = xmalloc((ma + mb + 3) * sizeof(int));
	m.bd = xmalloc((ma + mb + 3) * sizeof(int));
	m.fd += mb + 1;
	m.bd += mb + 1;
	while (root * root < (long)(ma + mb + 3))
		root *= 2;
	m.expensive = root > 1024 ? root : 1024;
	compare(&m, 0, ma, 0, mb);
	for (size_t k = 0; k < ma; k++)
		ca[ra[k]] |= m.ca[k];
	for (size_t k = 0; k < mb; k++)
		cb[rb[k]] |= m.cb[k];
	free(m.fd - (mb + 1));
	free(m.bd - (mb + 1));
	free(m.ca);
	free(m.cb);
	free(in_a);
	free(in_b);
	free(ra);
	free(rb);
	free(ka);
	free(kb);
}

static void put_line(FILE *out, char mark, const struct line *l)
{
	putc(mark, out);
	fwrite(l->s, 1, l->len, out);
	if (!l->len || l->s[l->len - 1] != '\n')
		fputs("\n\\ No newline at end of file\n", out);
}

static void put_range(FILE *out, char sign, size_t start, size_t count)
{
	if (count == 1)
		fprintf(out, "%c%zu", sign, start + 1);
	else
		fprintf(out, "%c%zu,%zu", sign, count ? start + 1 : start, count);
}

/* A run of changes: a[a0..a1) replaced by b[b0..b1). */
struct group {
	size_t a0, a1, b0, b1;
};

void textdiff_unified(FILE *out, const char *old, size_t old_len, const char *new, size_t new_len,
		      int context)
{
	struct line *a, *b;
	size_t na = split_lines(old, old_len, &a), nb = split_lines(new, new_len, &b);
	int *ida = xmalloc((na + 1) * sizeof(int)), *idb = xmalloc((nb + 1) * sizeof(int));
	char *ca = xcalloc(na + 1, 1), *cb = xcalloc(nb + 1, 1);
	struct group *groups = NULL;
	size_t ngroups = 0, cap = 0, i = 0, j = 0, ctx = context;

	find_changes(ida, na, idb, nb, number_lines(a, na, b, nb, ida, idb), ca, cb);

	/* The unchanged lines of both sides pair up in order: the runs of changes between them. */
	while (i < na || j < nb) {
		struct group g;

		if (i < na && j < nb && !ca[i] && !cb[j]) {
			i++, j++;
			continue;
		}
		g.a0 = i, g.b0 = j;
		while (i < na && ca[i])
			i++;
		while (j < nb && cb[j])
			j++;
		g.a1 = i, g.b1 = j;
		if (ngroups == cap) {
			cap = cap ? 2 * cap : 16;
			groups = xrealloc(groups, cap * sizeof(*groups));
		}
		groups[ngroups++] = g;
	}

	for (size_t first = 0; first < ngroups;) {
		size_t last = first, a_start, b_start, a_end, b_end, ai, bi;

		/* Changes less than 2 * CONTEXT lines apart share a hunk. */
		while (last + 1 < ngroups && groups[last + 1].a0 - groups[last].a1 <= 2 * ctx)
			last++;
		a_start = groups[first].a0 > ctx ? groups[first].a0 - ctx : 0;
		b_start = groups[first].b0 - (groups[first].a0 - a_start);
		a_end = groups[last].a1 + ctx < na ? groups[last].a1 + ctx : na;
		b_end = groups[last].b1 + (a_end - groups[last].a1);
		fputs("@@ ", out);
		put_range(out, '-', a_start, a_end - a_start);
		putc(' ', out);
		put_range(out, '+', b_start, b_end - b_start);
		fputs(" @@\n", out);
		ai = a_start, bi = b_start;
		for (size_t g = first; g <= last; g++) {
			for (; ai < groups[g].a0; ai++, bi++)
				put_line(out, ' ', &a[ai]);
			for (; ai < groups[g].a1; ai++)
				put_line(out, '-', &a[ai]);
			for (; bi < groups[g].b1; bi++)
				put_line(out, '+', &b[bi]);
		}
		for (; ai < a_end; ai++, bi++)
			put_line(out, ' ', &a[ai]);
		first = last + 1;
	}

	free(groups);
	free(ca);
	free(cb);
	free(ida);
	free(idb);
	free(a);
	free(b);
}

/* Git's base-85 lines: a length letter, then 5 characters for each 4 bytes. */
struct b85_writer {
	FILE *out;
	unsigned char line[52];
	size_t used;
};

static void b85_flush(struct b85_writer *w)
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

	if (!w->used)
		return;
	putc(w->used <= 26 ? 'A' + w->used - 1 : 'a' + w->used - 27, w->out);
	for (size_t i = 0; i < w->used; i += 4) {
		uint32_t v = 0;
		char chunk[5];

		for (size_t k = 0; k < 4; k++)
			v = v << 8 | (i + k < w->used ? w->line[i + k] : 0);
		for (int k = 4; k >= 0; k--) {
			chunk[k] = digits[v % 85];
			v /= 85;
		}
		fwrite(chunk, 1, 5, w->out);
	}
	putc('\n', w->out);
	w->used = 0;
}

static void b85_add(struct b85_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len) {
		size_t n = sizeof(w->line) - w->used < len ? sizeof(w->line) - w->used : len;

		memcpy(w->line + w->used, p, n);
		w->used += n;
		p += n;
		len -= n;
		if (w->used == sizeof(w->line))
			b85_flush(w);
	}
}

static uint32_t adler32(const unsigned char *p, size_t len)
{
	uint32_t s1 = 1, s2 = 0;

	while (len) {
		size_t n = len < 5552 ? len : 5552;

		len -= n;
		while (n--) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= 65521;
		s2 %= 65521;
	}
	return s2 << 16 | s1;
}

void textdiff_git_literal(FILE *out, const char *data, size_t len)
{
	struct b85_writer w = {.out = out};
	const unsigned char *p = (const unsigned char *)data;
	unsigned char head[5], tail[4];
	uint32_t sum = adler32(p, len);
	size_t pos = 0;

	fprintf(out, "literal %zu\n", len);
	/* zlib: deflate with a 32 KB window, no dictionary, the fastest level. */
	b85_add(&w, "\x78\x01", 2);
	do {
		size_t n = len - pos < 65535 ? len - pos : 65535;

		/* A stored block: final bit, type 00, then LEN and its complement. */
		head[0] = pos + n == len;
		head[1] = n & 0xff;
		head[2] = n >> 8;
		head[3] = ~n & 0xff;
		head[4] = (~n >> 8) & 0xff;
		b85_add(&w, head, 5);
		b85_add(&w, p + pos, n);
		pos += n;
	} while (pos < len);
	tail[0] = sum >> 24;
	tail[1] = sum >> 16;
	tail[2] = sum >> 8;
	tail[3] = sum;
	b85_add(&w, tail, 4);
	b85_flush(&w);
	putc('\n', out);
}
