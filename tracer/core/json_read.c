// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ptvfs/json.h"
#include "ptvfs/json_read.h"
#include "ptvfs/util.h"

/* Deeper nesting than this is refused rather than recursed into. */
#define JR_MAX_DEPTH 200

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	char *err;
};

static void fail(struct parser *p, const char *what)
{
	if (!p->err)
		p->err = xasprintf("%s at byte %zu", what, p->pos);
}

static void skip_space(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

/* A string starting at the opening quote: its decoded bytes. */
static char *parse_string(struct parser *p, size_t *out_len)
{
	size_t start = ++p->pos;
	char *str;

	while (p->pos < p->len && p->s[p->pos] != '"') {
		unsigned char c = p->s[p->pos];

		if (c < 0x20) {
			fail(p, "control character in a string");
			return NULL;
		}
		p->pos += c == '\\' ? 2 : 1;
	}
	if (p->pos >= p->len) {
		fail(p, "unterminated string");
		return NULL;
	}
	str = json_decode_string(p->s + start, p->pos - start, out_len);
	if (!str) {
		fail(p, "bad escape in a string");
		return NULL;
	}
	p->pos++;
	return str;
}

static bool parse_number(struct parser *p, struct jr_value *v)
{
	size_t start = p->pos;
	bool integral = true;
	char buf[64];
	char *end;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9') {
		fail(p, "bad number");
		return false;
	}
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')
			integral = false;
		else if (c < '0' || c > '9')
			break;
		p->pos++;
	}
	if (p->pos - start >= sizeof(buf)) {
		fail(p, "number too long");
		return false;
	}
	memcpy(buf, p->s + start, p->pos - start);
	buf[p->pos - start] = '\0';
	v->type = JR_NUMBER;
	errno = 0;
	v->number = strtod(buf, &end);
	if (*end) {
		fail(p, "bad number");
		return false;
	}
	if (integral) {
		errno = 0;
		v->integer = strtoll(buf, &end, 10);
		v->is_int = errno == 0 && !*end;
	}
	return true;
}

static bool parse_value(struct parser *p, struct jr_value *v, int depth);

static bool parse_array(struct parser *p, struct jr_value *v, int depth)
{
	size_t cap = 0;

	v->type = JR_ARRAY;
	p->pos++;
	skip_space(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		return true;
	}
	for (;;) {
		if (v->count == cap) {
			cap = cap ? 2 * cap : 8;
			v->items = xrealloc(v->items, cap * sizeof(*v->items));
		}
		memset(&v->items[v->count], 0, sizeof(*v->items));
		v->count++;
		if (!parse_value(p, &v->items[v->count - 1], depth + 1))
			return false;
		skip_space(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			return true;
		}
		fail(p, "expected ',' or ']'");
		return false;
	}
}

static bool parse_object(struct parser *p, struct jr_value *v, int depth)
{
	size_t cap = 0;

	v->type = JR_OBJECT;
	p->pos++;
	skip_space(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		return true;
	}
	for (;;) {
		struct jr_member *m;

		if (p->pos >= p->len || p->s[p->pos] != '"') {
			fail(p, "expected a member name");
			return false;
		}
		if (v->count == cap) {
			cap = cap ? 2 * cap : 8;
			v->members = xrealloc(v->members, cap * sizeof(*v->members));
		}
		m = &v->members[v->count++];
		memset(m, 0, sizeof(*m));
		m->key = parse_string(p, &m->key_len);
		if (!m->key)
			return false;
		skip_space(p);
		if (p->pos >= p->len || p->s[p->pos] != ':') {
			fail(p, "expected ':'");
			return false;
		}
		p->pos++;
		if (!parse_value(p, &m->value, depth + 1))
			return false;
		skip_space(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			skip_space(p);
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			return true;
		}
		fail(p, "expected ',' or '}'");
		return false;
	}
}

static bool parse_value(struct parser *p, struct jr_value *v, int depth)
{
	if (depth > JR_MAX_DEPTH) {
		fail(p, "nested too deeply");
		return false;
	}
	skip_space(p);
	if (p->pos >= p->len) {
		fail(p, "unexpected end");
		return false;
	}
	switch (p->s[p->pos]) {
	case '{':
		return parse_object(p, v, depth);
	case '[':
		return parse_array(p, v, depth);
	case '"':
		v->type = JR_STRING;
		v->str = parse_string(p, &v->len);
		return v->str != NULL;
	case 't':
	case 'f':
		v->type = JR_BOOL;
		v->boolean = p->s[p->pos] == 't';
		if (literal(p, v->boolean ? "true" : "false"))
			return true;
		break;
	case 'n':
		v->type = JR_NULL;
		if (literal(p, "null"))
			return true;
		break;
	default:
		return parse_number(p, v);
	}
	fail(p, "unexpected character");
	return false;
}

static void free_inside(struct jr_value *v)
{
	free(v->str);
	for (size_t i = 0; v->type == JR_ARRAY && i < v->count; i++)
		free_inside(&v->items[i]);
	for (size_t i = 0; v->type == JR_OBJECT && i < v->count; i++) {
		free(v->members[i].key);
		free_inside(&v->members[i].value);
	}
	free(v->items);
	free(v->members);
}

void jr_free(struct jr_value *v)
{
	if (!v)
		return;
	free_inside(v);
	free(v);
}

struct jr_value *jr_parse(const char *text, size_t len, char **err)
{
	struct parser p = {.s = text, .len = len};
	struct jr_value *v = xcalloc(1, sizeof(*v));

	if (parse_value(&p, v, 0)) {
		skip_space(&p);
		if (p.pos == p.len)
			return v;
		fail(&p, "text after the value");
	}
	jr_free(v);
	*err = p.err;
	return NULL;
}

const struct jr_value *jr_get(const struct jr_value *obj, const char *key)
{
	size_t n = strlen(key);

	if (!obj || obj->type != JR_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->count; i++)
		if (obj->members[i].key_len == n && memcmp(obj->members[i].key, key, n) == 0)
			return &obj->members[i].value;
	return NULL;
}

const char *jr_get_string(const struct jr_value *obj, const char *key, size_t *len)
{
	const struct jr_value *v = jr_get(obj, key);

	if (!v || v->type != JR_STRING)
		return NULL;
	if (len)
		*len = v->len;
	return v->str;
}

bool jr_get_int(const struct jr_value *obj, const char *key, long long *out)
{
	const struct jr_value *v = jr_get(obj, key);

	if (!v || v->type != JR_NUMBER || !v->is_int)
		return false;
	*out = v->integer;
	return true;
}
