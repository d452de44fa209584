/* SPDX-License-Identifier: MIT */
/*
 * The upper directory of copy-on-write overlays (DESIGN.md §4): where the
 * writes a command makes below an --overlay DEST are kept, and the record
 * that `ptvfs diff` and `ptvfs apply` read.
 *
 * Layout of UPPER:
 *   UPPER/ptvfs-upper.json  the record (format 1), always written whole and atomically:
 *     {"upper_format": 1, "journal_generation": G,
 *      "overlays": [{"index": 1, "src": "/abs/SRC", "dest": "/view/DEST"}],
 *      "copied_up": [{"overlay": 1, "path": "REL", "type": "file", "mode": N,
 *                     "size": N, "mtime_ns": N, "sha256": "HEX"}],
 *      "whiteouts": [{"overlay": 1, "path": "REL", "type": "file"|"dir"|"link"|"other",
 *                     "mode": N, "size": N, "mtime_ns": N, "sha256": "HEX"}],
 *      "renames": [{"overlay": 1, "from": "REL", "to": "REL"}]}
 *   UPPER/ptvfs-upper.journal  what changed since the record was last written
 *                           whole: one JSON line per change (upper_internal.h).
 *                           upper_save() appends to it, so saving after every
 *                           change is cheap; the record is written whole again when
 *                           the journal outgrows it and when a writer's struct upper
 *                           is freed. upper_open() reads both.
 *   UPPER/N/REL             the current contents of every file and directory
 *                           of overlay N created or changed (copied up) by the command
 * REL is a path relative to the overlay's SRC (and DEST), without a leading
 * "/". A lower path REL is seen in the view as: UPPER/N/REL if that exists;
 * else absent if REL or one of its ancestors is a whiteout; else SRC/REL.
 * So a whiteout directory recreated in UPPER/N is opaque: nothing of SRC
 * below it shows through.
 *
 * Identities (an entry's type, mode, size, mtime, SHA-256) are the source
 * object's at copy-up or deletion, taken without following a final symbolic
 * link: `ptvfs apply` refuses when a source no longer matches. "mode" is the
 * whole st_mode (type bits included). A file's "sha256" hashes its contents,
 * a symbolic link's its target (the bytes readlink gives; "size" is their
 * length). A directory has "type" and "mode" only, and "other" objects (fifos,
 * sockets, devices) no "sha256". A whiteout of a directory also records every
 * object below it in SRC at that moment as a whiteout of its own, so that
 * apply can check them. Entries are sorted by overlay, then path (bytes);
 * renames stay in the order they happened. Paths are bytes; the record's
 * strings use the PEP 383 escapes of the report (json.h).
 *
 * Pure code: no ptrace. Functions return 0 or -errno. Not thread-safe: one
 * struct upper is used by one thread at a time.
 */
#ifndef PTVFS_UPPER_H
#define PTVFS_UPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* The record's file name inside UPPER. */
#define UPPER_RECORD "ptvfs-upper.json"

struct upper;

/* What was known of a source object when it was copied up or deleted. */
struct upper_identity {
	mode_t mode; /* st_mode: type and permissions */
	long long size;
	long long mtime_ns;
	bool has_sha256; /* files and symbolic links */
	unsigned char sha256[32];
};

/*
 * Open (make, mode 0700, when missing, with missing parents) the upper
 * directory DIR, loading its record if it has one (a second run with the
 * same --upper goes on from the first). An existing DIR that is neither
 * empty nor holds a record is refused (it is not an upper directory: a
 * typo must not make a home directory into proposed changes). Call
 * upper_save() once the overlays are added, so that a run that ends before
 * its last save leaves a record. NULL with *ERR (one line, malloc'd) on
 * failure.
 */
struct upper *upper_open(const char *dir, char **err);
/* Free U; when U wrote to the journal, the record is first written whole (and the journal removed). */
void upper_free(struct upper *u);
/* DIR as an absolute path (owned by U). */
const char *upper_dir(const struct upper *u);

/*
 * Declare an overlay of SRC (absolute host dir) at DEST (view path): its
 * index N (1, 2, ...). An overlay of the same SRC at the same DEST already
 * in a loaded record keeps its index. Makes UPPER/N.
 */
int upper_add_overlay(struct upper *u, const char *src, const char *dest);
/* UPPER/N (owned by U), made when missing; NULL for an N that is no overlay. */
const char *upper_overlay_dir(const struct upper *u, int n);
/* How many overlays there are (they are 1 .. count). */
int upper_overlay_count(const struct upper *u);
/* Overlay N's SRC and DEST (owned by U), NULL for an N that is no overlay. */
const char *upper_overlay_src(const struct upper *u, int n);
const char *upper_overlay_dest(const struct upper *u, int n);

/*
 * The lower object SRC/REL was copied up: record its identity (hashing
 * LOWER_PATH's contents). Only the first copy-up of REL counts; REL under a
 * whiteout is not a lower object and is ignored.
 */
int upper_note_copy_up(struct upper *u, int n, const char *rel, const char *lower_path);
/*
 * The lower object SRC/REL was deleted in the view (or renamed away): a
 * whiteout, with LOWER_PATH's identity (the one of its copy-up when it
 * was copied up: not hashed again). -ENOENT (nothing recorded) when
 * LOWER_PATH does not exist. A directory's objects below it are recorded
 * too. REL already a whiteout, or below one, keeps its first identity.
 */
int upper_note_whiteout(struct upper *u, int n, const char *rel, const char *lower_path);
/*
 * The functions taking a REL accept slashes around it and refuse (-EINVAL,
 * or false) one that is not upper_rel_ok().
 */
/* REL or an ancestor of it is a whiteout of overlay N. */
bool upper_is_whiteout(const struct upper *u, int n, const char *rel);
/* REL itself is a whiteout: the listing of its directory drops that lower name. */
bool upper_is_whiteout_exact(const struct upper *u, int n, const char *rel);
/* A rename in the view from FROM to TO (for diff's "rename from/to"). */
int upper_note_rename(struct upper *u, int n, const char *from, const char *to);
/* Whether REL was copied up already (its identity is recorded). */
bool upper_was_copied_up(const struct upper *u, int n, const char *rel);

/* The identity recorded for REL at copy-up / at its whiteout, or NULL (owned by U). */
const struct upper_identity *upper_copy_up_identity(const struct upper *u, int n, const char *rel);
const struct upper_identity *upper_whiteout_identity(const struct upper *u, int n, const char *rel);
/* Overlay N's whiteouts (exact RELs, sorted by bytes): a malloc'd array of pointers owned by U. */
const char **upper_whiteouts(const struct upper *u, int n, size_t *count);

struct upper_rename {
	const char *from;
	const char *to;
};
/* Overlay N's renames in the order they happened: a malloc'd array, strings owned by U. */
struct upper_rename *upper_renames(const struct upper *u, int n, size_t *count);

/*
 * Whether REL is a path the record may hold: relative, its components
 * neither empty nor "." nor "..", so that it stays below SRC. Loading a
 * record refuses any other (an UPPER may come from elsewhere: apply must
 * not write or delete outside SRC).
 */
bool upper_rel_ok(const char *rel);

/*
 * The identity of NAME in directory DIRFD (AT_FDCWD: a path), not following
 * a final symbolic link. Hashes a file's contents and a link's target.
 */
int upper_identity_at(int dirfd, const char *name, struct upper_identity *id);
/*
 * Whether two identities describe the same object: type, mode, size and
 * SHA-256. The mtime counts only when a hash is missing (an unreadable
 * file): a source rewritten with the same bytes (git checkout, git stash
 * pop) is the same source, and applying over it loses nothing.
 */
bool upper_identity_equal(const struct upper_identity *a, const struct upper_identity *b);

/*
 * Put what changed since the last save on disk: appended to the journal
 * (one write of whole lines), or the record written whole and atomically
 * (temporary file, rename) the first time and when the journal has grown
 * past the record. Costs the changes, not the record: call it after each.
 */
int upper_save(struct upper *u);

#endif
