/* SPDX-License-Identifier: MIT */
/*
 * Inside the upper directory's record: the tables (upper.c) and their life
 * on disk (upper_record.c). Not for use outside those two files.
 *
 * On disk the record is UPPER/ptvfs-upper.json, the whole of it, plus
 * UPPER/ptvfs-upper.journal: one JSON line per change made since the
 * record was last written in full ({"g": G, "copied_up": ENTRY},
 * {"g": G, "whiteout": ENTRY}, {"g": G, "rename": RENAME}, {"g": G,
 * "overlay": OVERLAY}). upper_save() appends the new lines, so that saving
 * after each change costs the change, not the record; when the journal
 * outgrows the record (and when a writer is freed) the record is written
 * again in full and the journal removed. G is the record's
 * "journal_generation": lines of another generation are leftovers of a
 * rewrite that ended before the journal was removed, and are skipped, as
 * is a last line cut short by a crash.
 */
#ifndef PTVFS_UPPER_INTERNAL_H
#define PTVFS_UPPER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <uthash.h>

#include "ptvfs/upper.h"
#include "ptvfs/util.h"

#define UPPER_JOURNAL "ptvfs-upper.journal"

/* One recorded object: a copy-up or a whiteout of overlay N's REL. */
struct entry {
	char *key;	 /* "N/REL": the table's key */
	int n;		 /* overlay */
	const char *rel; /* inside key */
	struct upper_identity id;
	UT_hash_handle hh;
};

struct overlay {
	char *src;
	char *dest;
	char *dir; /* UPPER/N */
};

struct rename_rec {
	int n;
	char *from;
	char *to;
};

struct upper {
	char *dir;
	struct overlay *overlays; /* [0] is overlay 1 */
	int n_overlays;
	struct entry *copied;	 /* uthash, by key */
	struct entry *whiteouts; /* uthash, by key */
	struct rename_rec *renames;
	size_t n_renames;

	/* On disk (upper_record.c). */
	bool loading;	    /* what is added comes from disk: not journaled again */
	bool record_exists; /* ptvfs-upper.json was written */
	bool rewrite;	    /* the journal is damaged: the next save writes it all */
	bool journaled;	    /* this process appended to the journal */
	unsigned long long generation;
	size_t record_bytes, journal_bytes;
	struct strbuf pending; /* journal lines not written yet */
};

/* TABLE's entry for overlay N's REL (REL_LEN bytes), or NULL. */
struct entry *upper_find(struct entry *table, int n, const char *rel, size_t rel_len);
/* Add an entry to U's TABLE (copied or whiteouts), journaled unless loading. */
struct entry *upper_add_entry(struct upper *u, struct entry **table, int n, const char *rel,
			      const struct upper_identity *id);
/* Add a rename / an overlay to U, journaled unless loading. */
void upper_add_rename(struct upper *u, int n, const char *from, const char *to);
void upper_add_overlay_rec(struct upper *u, const char *src, const char *dest);

/* Journal lines for what was just added (upper_record.c). */
void upper_journal_entry(struct upper *u, const char *kind, const struct entry *e);
void upper_journal_rename(struct upper *u, const struct rename_rec *r);
void upper_journal_overlay(struct upper *u, int index);

/*
 * Load the record and the journal of U->dir into U. 0 (also when there is
 * no record: then *MISSING), or -EINVAL with *ERR (malloc'd).
 */
int upper_record_load(struct upper *u, bool *missing, char **err);
/* Write the whole record atomically and remove the journal. */
int upper_record_write(struct upper *u);

#endif
