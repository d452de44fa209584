/* SPDX-License-Identifier: MIT */
/*
 * Writing JSON strings from Linux paths, which are bytes.
 *
 * Valid UTF-8 is written as it is; a byte that does not decode is written as
 * the escape \udcXX (PEP 383's surrogateescape, so Python's os.fsencode gets
 * the original bytes back). JSON libraries such as jansson refuse strings
 * that are not valid UTF-8 and cannot write lone surrogates, hence this.
 */
#ifndef PTVFS_JSON_H
#define PTVFS_JSON_H

#include <stddef.h>

#include "ptvfs/util.h"

/* Append STR (LEN bytes) to SB as a quoted JSON string. */
void json_add_string_len(struct strbuf *sb, const char *str, size_t len);
/* Append the NUL-terminated STR to SB as a quoted JSON string. */
void json_add_string(struct strbuf *sb, const char *str);

/*
 * Decode a JSON string body written by json_add_string() back into bytes:
 * used by the tests and by readers of reports. Returns a malloc'd,
 * NUL-terminated buffer and its length in *LEN, or NULL when malformed.
 */
char *json_decode_string(const char *body, size_t body_len, size_t *len);

#endif
