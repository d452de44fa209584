/* SPDX-License-Identifier: MIT */
/*
 * The pieces of a patch in git's form that `ptvfs diff` prints: the hunks of
 * a unified diff (Myers' O(ND) algorithm in linear space, with a cost limit
 * on very different inputs, as GNU diff and git have) and the body of a "GIT
 * binary patch". Pure code: the callers write the headers.
 */
#ifndef PTVFS_TEXTDIFF_H
#define PTVFS_TEXTDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether git takes DATA for binary: a NUL byte in its first 8000 bytes. */
bool textdiff_is_binary(const char *data, size_t len);

/*
 * Write to OUT the hunks of a unified diff from OLD to NEW with CONTEXT
 * lines of context: "@@ -l,s +l,s @@" lines, then lines starting with ' ',
 * '-' or '+' ("\ No newline at end of file" after a last line that has
 * none). Nothing when OLD and NEW are equal.
 */
void textdiff_unified(FILE *out, const char *old, size_t old_len, const char *new, size_t new_len,
		      int context);

/*
 * Write to OUT one hunk of git's binary patch that gives DATA: "literal
 * LEN", DATA as a zlib stream (stored blocks: no compression) in git's
 * base-85 lines, an empty line.
 */
void textdiff_git_literal(FILE *out, const char *data, size_t len);

#endif
