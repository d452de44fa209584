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

/* A manifest line parsed, to be checked and declared: 32 bytes, as lines are many. */
struct pending {
	uint32_t line; /* its offset in the manifest's text (NUL-terminated there, as written) */
	uint32_t src;  /* the offset of the host path's string in the text, or SRC_OWNED */
	uint32_t line_no;
	uint32_t node;	   /* of its DEST (made a few lines later than it is parsed) */
	uint32_t next;	   /* the next one in the same host directory (the check's) */
	uint32_t same;	   /* the next one of the same host path (the check's, while listing) */
	int16_t state;	   /* SRC_* or -errno */
	uint16_t name_at;  /* where the host path's last component starts in its string */
	uint16_t name_len; /* of that component */
	uint16_t flags;	   /* PENDING_* */
};

/* The host path is the parser's own (the lines' OWNED). */
#define SRC_OWNED UINT32_MAX
/* The host path is the DEST's own view path (its string: the line, or a SRC that says so). */
#define PENDING_SAME_PATH 1

/* The parsed lines, and the strings they point into. */
struct pending_lines {
	struct pending *at; /* room for MAX of them (they never move) */
	char **owned;	    /* a host path made by the parser for line I, or NULL (sparse) */
	const char *text;   /* the manifest's text */
	size_t max;
};

/* The string line I's host path is in (NUL-terminated): its own, or the text's. */
static inline const char *pending_string(const struct pending_lines *l, uint32_t i)
{
	return l->at[i].src == SRC_OWNED ? l->owned[i] : l->text + l->at[i].src;
}

/* The last component of line I's host path (NAME_LEN bytes, NUL-terminated). */
static inline const char *pending_name(const struct pending_lines *l, uint32_t i)
{
	return pending_string(l, i) + l->at[i].name_at;
}

/*
 * The check of the sources: the parser hands each line to it as it goes
 * (check_add); directories with many sources are listed by another thread
 * meanwhile; check_finish checks the rest with a few threads and sets
 * every line's state.
 */
struct checker;

/*
 * A checker of up to LINES->max lines (LINES stays where it is until
 * check_finish), about EXPECTED of them: a thread checks beside the parser
 * when they are many.
 */
struct checker *check_start(const struct pending_lines *lines, size_t expected);
/*
 * Line I, whose host path is HOST (LEN bytes; only its directory is read,
 * and only now: the line's name is what stays), is to be checked.
 */
void check_add(struct checker *c, uint32_t i, const char *host, size_t len);
/* Check the COUNT lines handed over, then free C. */
void check_finish(struct checker *c, size_t count);

#endif
