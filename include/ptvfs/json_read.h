/* SPDX-License-Identifier: MIT */
/*
 * Reading the JSON that ptvfs writes back into a tree of values. Strings
 * are bytes: the \udcXX escapes of json.h (PEP 383) give back the original
 * bytes, which jansson cannot do (it refuses lone surrogates). Integers keep
 * all 64 bits (nanosecond times do not fit a double). Pure code.
 */
#ifndef PTVFS_JSON_READ_H
#define PTVFS_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

enum jr_type { JR_NULL, JR_BOOL, JR_NUMBER, JR_STRING, JR_ARRAY, JR_OBJECT };

struct jr_member;

struct jr_value {
	enum jr_type type;
	bool boolean;
	bool is_int;	   /* a number written without fraction or exponent that fits */
	long long integer; /* when is_int */
	double number;	   /* every number */
	char *str;	   /* JR_STRING: NUL-terminated (may hold NULs: see len) */
	size_t len;
	struct jr_value *items;	   /* JR_ARRAY */
	struct jr_member *members; /* JR_OBJECT, in the order written */
	size_t count;		   /* items or members */
};

struct jr_member {
	char *key;
	size_t key_len;
	struct jr_value value;
};

/*
 * Parse TEXT (LEN bytes: one JSON value, white space around it). Returns
 * the value (free with jr_free()), or NULL with *ERR (malloc'd, naming the
 * byte offset) when the text is not JSON.
 */
struct jr_value *jr_parse(const char *text, size_t len, char **err);
void jr_free(struct jr_value *v);

/* The member KEY of object OBJ (the first one of that name), or NULL (also when OBJ is no object). */
const struct jr_value *jr_get(const struct jr_value *obj, const char *key);
/* OBJ's member KEY as a string / an integer: NULL / false when missing or of another type. */
const char *jr_get_string(const struct jr_value *obj, const char *key, size_t *len);
bool jr_get_int(const struct jr_value *obj, const char *key, long long *out);

#endif
