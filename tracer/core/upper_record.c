// SPDX-License-Identifier: MIT
/*
 * The upper directory's record on disk: ptvfs-upper.json and its journal
 * (upper_internal.h says how they go together).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ptvfs/json.h"
#include "ptvfs/json_read.h"
#include "ptvfs/sha.h"
#include "upper_internal.h"

/* The journal may grow to this, or to twice the record, before the record is written again. */
#define JOURNAL_MIN_LIMIT (256 * 1024)

static const char *type_name(mode_t mode)
{
	if (S_ISREG(mode))
		return "file";
	if (S_ISDIR(mode))
		return "dir";
	if (S_ISLNK(mode))
		return "link";
	return "other";
}

static void add_entry_json(struct strbuf *sb, const struct entry *e)
{
	const struct upper_identity *id = &e->id;

	strbuf_addf(sb, "{\"overlay\": %d, \"path\": ", e->n);
	json_add_string(sb, e->rel);
	strbuf_addf(sb, ", \"type\": \"%s\", \"mode\": %u", type_name(id->mode),
		    (unsigned)id->mode);
	if (!S_ISDIR(id->mode))
		strbuf_addf(sb, ", \"size\": %lld, \"mtime_ns\": %lld", id->size, id->mtime_ns);
	if (id->has_sha256) {
		char hex[65];

		sha_hex(id->sha256, 32, hex);
		strbuf_addf(sb, ", \"sha256\": \"%s\"", hex);
	}
	strbuf_addch(sb, '}');
}

static void add_rename_json(struct strbuf *sb, const struct rename_rec *r)
{
	strbuf_addf(sb, "{\"overlay\": %d, \"from\": ", r->n);
	json_add_string(sb, r->from);
	strbuf_addstr(sb, ", \"to\": ");
	json_add_string(sb, r->to);
	strbuf_addch(sb, '}');
}

static void add_overlay_json(struct strbuf *sb, const struct upper *u, int index)
{
	strbuf_addf(sb, "{\"index\": %d, \"src\": ", index);
	json_add_string(sb, u->overlays[index - 1].src);
	strbuf_addstr(sb, ", \"dest\": ");
	json_add_string(sb, u->overlays[index - 1].dest);
	strbuf_addch(sb, '}');
}

static void journal_start(struct upper *u, const char *kind)
{
	strbuf_addf(&u->pending, "{\"g\": %llu, \"%s\": ", u->generation, kind);
}

void upper_journal_entry(struct upper *u, const char *kind, const struct entry *e)
{
	journal_start(u, kind);
	add_entry_json(&u->pending, e);
	strbuf_addstr(&u->pending, "}\n");
}

void upper_journal_rename(struct upper *u, const struct rename_rec *r)
{
	journal_start(u, "rename");
	add_rename_json(&u->pending, r);
	strbuf_addstr(&u->pending, "}\n");
}

void upper_journal_overlay(struct upper *u, int index)
{
	journal_start(u, "overlay");
	add_overlay_json(&u->pending, u, index);
	strbuf_addstr(&u->pending, "}\n");
}

static int compare_entries(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

static void add_entries(struct strbuf *sb, struct entry *table)
{
	size_t count = 0;
	autofree struct entry **list = xmalloc((HASH_COUNT(table) + 1) * sizeof(*list));
	struct entry *e, *tmp;

	HASH_ITER(hh, table, e, tmp)
	list[count++] = e;
	if (count)
		qsort(list, count, sizeof(*list), compare_entries);
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < count; i++) {
		strbuf_addstr(sb, i ? ",\n  " : "\n  ");
		add_entry_json(sb, list[i]);
	}
	strbuf_addstr(sb, count ? "\n ]" : "]");
}

int upper_record_write(struct upper *u)
{
	struct strbuf sb = {0};
	autofree char *path = xasprintf("%s/" UPPER_RECORD, u->dir);
	autofree char *journal = xasprintf("%s/" UPPER_JOURNAL, u->dir);
	int ret;

	strbuf_addf(&sb, "{\"upper_format\": 1,\n \"journal_generation\": %llu,\n \"overlays\": [",
		    u->generation + 1);
	for (int i = 1; i <= u->n_overlays; i++) {
		strbuf_addstr(&sb, i > 1 ? ",\n  " : "\n  ");
		add_overlay_json(&sb, u, i);
	}
	strbuf_addstr(&sb, u->n_overlays ? "\n ],\n \"copied_up\": " : "],\n \"copied_up\": ");
	add_entries(&sb, u->copied);
	strbuf_addstr(&sb, ",\n \"whiteouts\": ");
	add_entries(&sb, u->whiteouts);
	strbuf_addstr(&sb, ",\n \"renames\": [");
	for (size_t i = 0; i < u->n_renames; i++) {
		strbuf_addstr(&sb, i ? ",\n  " : "\n  ");
		add_rename_json(&sb, &u->renames[i]);
	}
	strbuf_addstr(&sb, u->n_renames ? "\n ]}\n" : "]}\n");
	ret = write_file_atomic(path, sb.buf, sb.len);
	if (ret == 0) {
		/* The new generation: what the journal holds is in the record now. */
		u->generation++;
		u->record_exists = true;
		u->record_bytes = sb.len;
		u->journal_bytes = 0;
		u->rewrite = false;
		u->journaled = false;
		strbuf_reset(&u->pending);
		if (unlink(journal) < 0 && errno != ENOENT)
			u->rewrite = true;
	}
	strbuf_release(&sb);
	return ret;
}

static int append_journal(struct upper *u)
{
	autofree char *path = xasprintf("%s/" UPPER_JOURNAL, u->dir);
	autoclose int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < u->pending.len) {
		ssize_t n = write(fd, u->pending.buf + done, u->pending.len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* A line may be cut short: the next save writes the record whole. */
			u->rewrite = true;
			return -errno;
		}
		done += n;
	}
	u->journal_bytes += done;
	u->journaled = true;
	strbuf_reset(&u->pending);
	return 0;
}

int upper_save(struct upper *u)
{
	size_t limit =
	    2 * u->record_bytes > JOURNAL_MIN_LIMIT ? 2 * u->record_bytes : JOURNAL_MIN_LIMIT;

	if (u->record_exists && !u->rewrite && !u->pending.len)
		return 0;
	if (!u->record_exists || u->rewrite || u->journal_bytes + u->pending.len > limit ||
	    append_journal(u) < 0)
		return upper_record_write(u);
	return 0;
}

/* A record's REL: no NUL inside, no component that leaves SRC. */
static const char *rec_path(const struct jr_value *obj, const char *key)
{
	size_t len;
	const char *s = jr_get_string(obj, key, &len);

	if (!s || !len || strlen(s) != len || !upper_rel_ok(s))
		return NULL;
	return s;
}

/* A record's absolute path (SRC, DEST). */
static const char *abs_path(const struct jr_value *obj, const char *key)
{
	size_t len;
	const char *s = jr_get_string(obj, key, &len);

	if (!s || !len || strlen(s) != len || s[0] != '/')
		return NULL;
	return s;
}

static bool load_entry(struct upper *u, const struct jr_value *e, struct entry **table)
{
	const char *rel = rec_path(e, "path"), *hex;
	struct upper_identity id = {0};
	long long n, v;
	size_t len;

	if (!rel || !jr_get_int(e, "overlay", &n) || n < 1 || n > u->n_overlays ||
	    !jr_get_int(e, "mode", &v))
		return false;
	id.mode = v;
	if (jr_get_int(e, "size", &v))
		id.size = v;
	if (jr_get_int(e, "mtime_ns", &v))
		id.mtime_ns = v;
	hex = jr_get_string(e, "sha256", &len);
	if (hex) {
		if (sha_unhex(hex, len, id.sha256, 32) < 0)
			return false;
		id.has_sha256 = true;
	}
	if (!upper_find(*table, n, rel, strlen(rel)))
		upper_add_entry(u, table, n, rel, &id);
	return true;
}

static bool load_rename(struct upper *u, const struct jr_value *r)
{
	const char *from = rec_path(r, "from"), *to = rec_path(r, "to");
	long long n;

	if (!from || !to || !jr_get_int(r, "overlay", &n) || n < 1 || n > u->n_overlays)
		return false;
	upper_add_rename(u, n, from, to);
	return true;
}

static bool load_overlay(struct upper *u, const struct jr_value *o)
{
	const char *src = abs_path(o, "src"), *dest = abs_path(o, "dest");
	long long index;

	if (!src || !dest || !jr_get_int(o, "index", &index) || index != u->n_overlays + 1)
		return false;
	upper_add_overlay_rec(u, src, dest);
	return true;
}

static char *load_list(struct upper *u, const struct jr_value *root, const char *what,
		       struct entry **table)
{
	const struct jr_value *list = jr_get(root, what);

	if (!list)
		return NULL;
	if (list->type != JR_ARRAY)
		return xasprintf("\"%s\" is not a list", what);
	for (size_t i = 0; i < list->count; i++) {
		bool ok = table			     ? load_entry(u, &list->items[i], table)
			  : !strcmp(what, "renames") ? load_rename(u, &list->items[i])
						     : load_overlay(u, &list->items[i]);

		if (!ok)
			return xasprintf("entry %zu of \"%s\" is malformed", i + 1, what);
	}
	return NULL;
}

static char *load_json(struct upper *u, const char *text, size_t len)
{
	autofree char *err = NULL;
	struct jr_value *root = jr_parse(text, len, &err);
	long long v;
	char *msg = NULL;

	if (!root)
		return xasprintf("not JSON (%s)", err);
	if (!jr_get_int(root, "upper_format", &v) || v != 1)
		msg = xasprintf("not an upper record of format 1");
	else if (!jr_get(root, "overlays"))
		msg = xasprintf("no \"overlays\" list");
	if (!msg)
		msg = load_list(u, root, "overlays", NULL);
	if (!msg)
		msg = load_list(u, root, "copied_up", &u->copied);
	if (!msg)
		msg = load_list(u, root, "whiteouts", &u->whiteouts);
	if (!msg)
		msg = load_list(u, root, "renames", NULL);
	if (!msg && jr_get_int(root, "journal_generation", &v))
		u->generation = v;
	jr_free(root);
	return msg;
}

/* Replay the journal's lines of this generation; a damaged one ends it (rewrite at next save). */
static void replay_journal(struct upper *u, const char *text, size_t len)
{
	size_t pos = 0;

	u->journal_bytes = len;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		autofree char *err = NULL;
		struct jr_value *line;
		const struct jr_value *v;
		long long g;
		bool ok = false;

		if (!nl) {
			u->rewrite = true; /* a last line cut short */
			return;
		}
		line = jr_parse(text + pos, nl - text - pos, &err);
		pos = nl - text + 1;
		if (line && jr_get_int(line, "g", &g) && (unsigned long long)g != u->generation) {
			jr_free(line);
			continue; /* left from before the record was last written whole */
		}
		if (line && (v = jr_get(line, "copied_up")))
			ok = load_entry(u, v, &u->copied);
		else if (line && (v = jr_get(line, "whiteout")))
			ok = load_entry(u, v, &u->whiteouts);
		else if (line && (v = jr_get(line, "rename")))
			ok = load_rename(u, v);
		else if (line && (v = jr_get(line, "overlay")))
			ok = load_overlay(u, v);
		jr_free(line);
		if (!ok) {
			u->rewrite = true;
			return;
		}
	}
}

int upper_record_load(struct upper *u, bool *missing, char **err)
{
	autofree char *record = xasprintf("%s/" UPPER_RECORD, u->dir);
	autofree char *journal = xasprintf("%s/" UPPER_JOURNAL, u->dir);
	autofree char *text = NULL;
	autofree char *lines = NULL;
	autofree char *msg = NULL;
	size_t len = 0, lines_len = 0;
	int ret = read_file_whole(record, &text, &len);

	*missing = ret == -ENOENT;
	if (*missing)
		return 0;
	if (ret < 0) {
		*err = xasprintf("%s: %s", record, strerror(-ret));
		return ret;
	}
	ret = read_file_whole(journal, &lines, &lines_len);
	if (ret < 0 && ret != -ENOENT) {
		*err = xasprintf("%s: %s", journal, strerror(-ret));
		return ret;
	}
	u->loading = true;
	msg = load_json(u, text ? text : "", len);
	if (!msg && ret == 0)
		replay_journal(u, lines ? lines : "", lines_len);
	u->loading = false;
	if (msg) {
		*err = xasprintf("%s: %s", record, msg);
		return -EINVAL;
	}
	u->record_exists = true;
	u->record_bytes = len;
	return 0;
}
