// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ptvfs/json.h"

/* Length of the valid UTF-8 sequence at S (at most N bytes), or 0 when it does not decode. */
static size_t utf8_sequence_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF do not decode. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void json_add_string_len(struct strbuf *sb, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	strbuf_grow(sb, len + 2);
	strbuf_addch(sb, '"');
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		if (c == '"' || c == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, c);
			i++;
			continue;
		}
		if (c < 0x20) {
			switch (c) {
			case '\n':
				strbuf_addstr(sb, "\\n");
				break;
			case '\t':
				strbuf_addstr(sb, "\\t");
				break;
			case '\r':
				strbuf_addstr(sb, "\\r");
				break;
			default:
				strbuf_addf(sb, "\\u%04x", c);
			}
			i++;
			continue;
		}
		n = utf8_sequence_len(s + i, len - i);
		if (n == 0) {
			strbuf_addf(sb, "\\udc%02x", c);
			i++;
			continue;
		}
		strbuf_add(sb, s + i, n);
		i += n;
	}
	strbuf_addch(sb, '"');
}

void json_add_string(struct strbuf *sb, const char *str)
{
	json_add_string_len(sb, str, strlen(str));
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void add_utf8(struct strbuf *sb, uint32_t cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, 0xc0 | cp >> 6);
		strbuf_addch(sb, 0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, 0xe0 | cp >> 12);
		strbuf_addch(sb, 0x80 | ((cp >> 6) & 0x3f));
		strbuf_addch(sb, 0x80 | (cp & 0x3f));
	} else {
		strbuf_addch(sb, 0xf0 | cp >> 18);
		strbuf_addch(sb, 0x80 | ((cp >> 12) & 0x3f));
		strbuf_addch(sb, 0x80 | ((cp >> 6) & 0x3f));
		strbuf_addch(sb, 0x80 | (cp & 0x3f));
	}
}

char *json_decode_string(const char *body, size_t body_len, size_t *len)
{
	struct strbuf sb = {0};
	size_t i = 0;

	strbuf_grow(&sb, body_len);
	while (i < body_len) {
		uint32_t cp, lo;

		if (body[i] != '\\') {
			strbuf_addch(&sb, body[i++]);
			continue;
		}
		if (++i >= body_len)
			goto bad;
		switch (body[i++]) {
		case '"':
			strbuf_addch(&sb, '"');
			break;
		case '\\':
			strbuf_addch(&sb, '\\');
			break;
		case '/':
			strbuf_addch(&sb, '/');
			break;
		case 'b':
			strbuf_addch(&sb, '\b');
			break;
		case 'f':
			strbuf_addch(&sb, '\f');
			break;
		case 'n':
			strbuf_addch(&sb, '\n');
			break;
		case 'r':
			strbuf_addch(&sb, '\r');
			break;
		case 't':
			strbuf_addch(&sb, '\t');
			break;
		case 'u':
			if (i + 4 > body_len || hex4(body + i, &cp) < 0)
				goto bad;
			i += 4;
			if (cp >= 0xdc80 && cp <= 0xdcff) {
				/* An escaped byte (PEP 383). */
				strbuf_addch(&sb, (char)(cp & 0xff));
			} else if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= body_len &&
				   body[i] == '\\' && body[i + 1] == 'u' &&
				   hex4(body + i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
				i += 6;
				add_utf8(&sb, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
			} else {
				add_utf8(&sb, cp);
			}
			break;
		default:
			goto bad;
		}
	}
	*len = sb.len;
	if (!sb.buf)
		return xstrdup("");
	/* strbuf_grow() alone leaves the buffer unterminated: an empty body adds nothing. */
	sb.buf[sb.len] = '\0';
	return sb.buf;
bad:
	strbuf_release(&sb);
	return NULL;
}
