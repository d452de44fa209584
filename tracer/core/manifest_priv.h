/* SPDX-License-Identifier: MIT */
/*
 * Inside the manifest reader: what parsing (manifest.c) hands the check of
 * the sources (manifest_check.c). Internal to the core.
 */
#ifndef PTVFS_MANIFEST_PRIV_H
#define PTVFS_MANIFEST_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptvfs/view.h"

/* What the check of a line's source found. */
enum {
	SRC_UNCHECKED,
	SRC_EXISTS,   /* the host path as it is */
	SRC_LINK,     /* a link: the source is what it points to (realpath) */
	SRC_RESOLVED, /* already resolved (a ".." in it) */
};

/* A manifest line parsed, to be checked and declared. */
struct pending {
	const char *line; /* in the manifest's buffer, NUL-terminated, as written */
	const char *src;  /* the host path (NUL-terminated); NULL: the DEST's own path */
	const char *name; /* the host path's last component, in LINE or SRC (for the check) */
	uint32_t line_no;
	uint32_t node;	   /* of its DEST (made a few lines later than it is parsed) */
	uint32_t next;	   /* the next one in the same host directory (the check's) */
	uint32_t same;	   /* the next one of the same host path (the check's, while listing) */
	int32_t state;	   /* SRC_* or -errno */
	uint16_t name_len; /* of NAME */
	char *owned;	   /* the host path when made here (SRC or NAME in it), freed after */
};

/* The host path of the line P of the view V. */
const char *pending_host_path(const struct view *v, const struct pending *p);

/*
 * The check of the sources: the parser hands each line to it as it goes
 * (check_add); directories with many sources are listed by another thread
 * meanwhile; check_finish checks the rest with a few threads and sets
 * every line's state.
 */
struct checker;

/* A checker of up to MAX lines at LINES (which stay where they are until check_finish). */
struct checker *check_start(struct view *v, struct pending *lines, size_t max);
/*
 * Line I, whose host path is HOST (LEN bytes; only its directory is read,
 * and only now: the line's NAME is what stays), is to be checked.
 */
void check_add(struct checker *c, uint32_t i, const char *host, size_t len);
/* Check the COUNT lines handed over, then free C. */
void check_finish(struct checker *c, size_t count);

#endif
