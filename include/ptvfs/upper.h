/* SPDX-License-Identifier: MIT */
/*
 * The upper directory of copy-on-write overlays (DESIGN.md §4): where the
 * writes a command makes below an --overlay DEST are kept, and the record
 * that `ptvfs diff` and `ptvfs apply` read.
 *
 * Layout of UPPER:
 *   UPPER/ptvfs-upper.json  the record (format 1), rewritten atomically by upper_save():
 *     {"upper_format": 1,
 *      "overlays": [{"index": 1, "src": "/abs/SRC", "dest": "/view/DEST"}],
 *      "copied_up": [{"overlay": 1, "path": "REL", "size": N, "mtime_ns": N,
 *                     "mode": N, "sha256": "HEX"}],
 *      "whiteouts": [{"overlay": 1, "path": "REL", "type": "file"|"dir"|"link",
 *                     "size": N, "mtime_ns": N, "mode": N, "sha256": "HEX"}],
 *      "renames": [{"overlay": 1, "from": "REL", "to": "REL"}]}
 *   UPPER/N/REL             the current contents of every file and directory
 *                           of overlay N created or changed (copied up) by the command
 * REL is a path relative to the overlay's SRC (and DEST), without a leading
 * "/". A lower path REL is seen in the view as: UPPER/N/REL if that exists;
 * else absent if REL or one of its ancestors is a whiteout; else SRC/REL.
 * Identities (size, mtime, mode, SHA-256 of the contents) are the source
 * file's at copy-up or deletion: `ptvfs apply` refuses when a source no
 * longer matches. Paths are bytes; the record's strings use the PEP 383
 * escapes of the report (json.h).
 *
 * Pure code: no ptrace. Functions return 0 or -errno.
 */
#ifndef PTVFS_UPPER_H
#define PTVFS_UPPER_H

#include <stdbool.h>
#include <sys/stat.h>

struct upper;

/*
 * Open (make, mode 0700, when missing) the upper directory DIR, loading
 * its record if it has one (a second run with the same --upper goes on
 * from the first). NULL with *ERR (one line, malloc'd) on failure.
 */
struct upper *upper_open(const char *dir, char **err);
void upper_free(struct upper *u);
const char *upper_dir(const struct upper *u);

/* Declare an overlay of SRC (absolute host dir) at DEST (view path): its index N (1, 2, ...). */
int upper_add_overlay(struct upper *u, const char *src, const char *dest);
/* UPPER/N, made when missing. */
const char *upper_overlay_dir(const struct upper *u, int n);

/* The lower file SRC/REL was copied up: its identity (hashing LOWER_PATH's contents). */
int upper_note_copy_up(struct upper *u, int n, const char *rel, const char *lower_path);
/* The lower object SRC/REL was deleted in the view (or renamed away): a whiteout. */
int upper_note_whiteout(struct upper *u, int n, const char *rel, const char *lower_path);
/* REL or an ancestor of it is a whiteout of overlay N. */
bool upper_is_whiteout(const struct upper *u, int n, const char *rel);
/* REL itself is a whiteout: the listing of its directory drops that lower name. */
bool upper_is_whiteout_exact(const struct upper *u, int n, const char *rel);
/* A rename in the view from FROM to TO (for diff's "rename from/to"). */
int upper_note_rename(struct upper *u, int n, const char *from, const char *to);
/* Whether REL was copied up already (its identity is recorded). */
bool upper_was_copied_up(const struct upper *u, int n, const char *rel);

/* Write the record atomically (temporary file, rename). */
int upper_save(struct upper *u);

#endif
