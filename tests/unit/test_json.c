// SPDX-License-Identifier: MIT
/*
 * JSON strings from paths, which are bytes: valid UTF-8 written as it is,
 * every other byte as \udcXX, and json_decode_string() giving the bytes back.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "ptvfs/json.h"
#include "ptvfs/util.h"

/* The JSON string json_add_string_len() writes for STR (LEN bytes), malloc'd. */
static char *encode(const char *str, size_t len)
{
	struct strbuf sb = {0};

	json_add_string_len(&sb, str, len);
	return sb.buf;
}

static void expect_encoding(const char *str, size_t len, const char *json)
{
	autofree char *out = encode(str, len);

	cr_expect_str_eq(out, json);
}

#define EXPECT_ENC(lit, json) expect_encoding(lit, sizeof(lit) - 1, json)

/*
 * Whether JSON (one quoted string) is valid JSON text: jansson checks its
 * UTF-8 strictly, but refuses lone surrogates, so each \udcXX escape is
 * given to it as \u00XX.
 */
static bool is_valid_json_string(const char *json)
{
	autofree char *copy = xstrdup(json);
	json_error_t error;
	json_t *v;

	for (char *p = copy; *p; p++) {
		if (*p != '\\')
			continue;
		p++;
		if (p[0] == 'u' && (p[1] == 'd' || p[1] == 'D') && (p[2] == 'c' || p[2] == 'C')) {
			p[1] = '0';
			p[2] = '0';
		}
	}
	v = json_loads(copy, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (!v)
		return false;
	json_decref(v);
	return true;
}

/* Encode BYTES, check the result is valid JSON, decode it, and compare. */
static void expect_round_trip(const char *bytes, size_t len)
{
	autofree char *json = encode(bytes, len);
	autofree char *back = NULL;
	size_t jlen = strlen(json), blen = 0;

	cr_assert_geq(jlen, 2);
	cr_assert_eq(json[0], '"');
	cr_assert_eq(json[jlen - 1], '"');
	cr_assert(is_valid_json_string(json), "not valid JSON: %s", json);
	for (size_t i = 0; i < jlen; i++)
		cr_assert_geq((unsigned char)json[i], 0x20, "raw control byte in %s", json);
	back = json_decode_string(json + 1, jlen - 2, &blen);
	cr_assert_not_null(back, "%s does not decode", json);
	cr_assert_eq(blen, len, "%s decodes to %zu bytes, not %zu", json, blen, len);
	cr_assert(memcmp(back, bytes, len) == 0, "%s does not decode to its bytes", json);
	cr_assert_eq(back[blen], '\0');
}

Test(json, plain_ascii)
{
	EXPECT_ENC("", "\"\"");
	EXPECT_ENC("/usr/include/stdio.h", "\"/usr/include/stdio.h\"");
	EXPECT_ENC("a b~\x7f", "\"a b~\x7f\"");
}

Test(json, quotes_and_backslashes)
{
	EXPECT_ENC("a\"b", "\"a\\\"b\"");
	EXPECT_ENC("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	EXPECT_ENC("\\\"", "\"\\\\\\\"\"");
	/* Looks like an escape, but is text. */
	EXPECT_ENC("\\udc80", "\"\\\\udc80\"");
}

Test(json, control_characters)
{
	EXPECT_ENC("\n", "\"\\n\"");
	EXPECT_ENC("\t", "\"\\t\"");
	EXPECT_ENC("\r", "\"\\r\"");
	EXPECT_ENC("\x01", "\"\\u0001\"");
	EXPECT_ENC("\x1f", "\"\\u001f\"");
	EXPECT_ENC("\b\f", "\"\\u0008\\u000c\"");
	EXPECT_ENC("a\0b", "\"a\\u0000b\"");
	/* Every byte below 0x20 is escaped. */
	for (int c = 0; c < 0x20; c++) {
		char in[1] = {(char)c};
		autofree char *out = encode(in, 1);

		cr_expect_eq(out[1], '\\', "byte %#x not escaped: %s", c, out);
	}
}

Test(json, appends_to_the_buffer)
{
	struct strbuf sb = {0};

	strbuf_addstr(&sb, "[");
	json_add_string(&sb, "a");
	strbuf_addstr(&sb, ",");
	json_add_string(&sb, "b\xff");
	strbuf_addstr(&sb, "]");
	cr_expect_str_eq(sb.buf, "[\"a\",\"b\\udcff\"]");
	strbuf_release(&sb);
}

Test(json, valid_utf8_is_unchanged)
{
	static const char *const valid[] = {
	    "\xc2\x80",		/* U+0080, first 2-byte */
	    "caf\xc3\xa9",	/* é */
	    "\xdf\xbf",		/* U+07FF, last 2-byte */
	    "\xe0\xa0\x80",	/* U+0800, first 3-byte */
	    "\xe2\x82\xac",	/* € */
	    "\xed\x9f\xbf",	/* U+D7FF, below the surrogates */
	    "\xee\x80\x80",	/* U+E000, above them */
	    "\xef\xbf\xbf",	/* U+FFFF */
	    "\xf0\x90\x80\x80", /* U+10000, first 4-byte */
	    "\xf0\x9f\x98\x80", /* 😀 */
	    "\xf4\x8f\xbf\xbf", /* U+10FFFF, the last */
	    "/home/\xe6\x97\xa5\xe6\x9c\xac/\xd0\xbf\xd1\x80\xd0\xb8.c",
	};

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		autofree char *out = encode(valid[i], strlen(valid[i]));
		size_t n = strlen(out);

		cr_expect_eq(n, strlen(valid[i]) + 2, "%s: %s", valid[i], out);
		cr_expect(n >= 2 && memcmp(out + 1, valid[i], n - 2) == 0, "%s changed: %s",
			  valid[i], out);
		cr_expect(is_valid_json_string(out));
	}
}

struct invalid_case {
	const char *bytes;
	const char *json;
};

Test(json, invalid_bytes_become_udcxx)
{
	static const struct invalid_case cases[] = {
	    {"\x80", "\"\\udc80\""},
	    {"\xff", "\"\\udcff\""},
	    {"\xfe", "\"\\udcfe\""},
	    {"a\xbfz", "\"a\\udcbfz\""},
	    /* Truncated sequences, at the end and before ASCII. */
	    {"\xc3", "\"\\udcc3\""},
	    {"\xe2\x82", "\"\\udce2\\udc82\""},
	    {"\xe2\x82x", "\"\\udce2\\udc82x\""},
	    {"\xf0\x9f\x98", "\"\\udcf0\\udc9f\\udc98\""},
	    /* A lead byte followed by another lead: the second still decodes. */
	    {"\xc3\xc3\xa9", "\"\\udcc3\xc3\xa9\""},
	    /* Overlong forms. */
	    {"\xc0\xaf", "\"\\udcc0\\udcaf\""},
	    {"\xc1\xbf", "\"\\udcc1\\udcbf\""},
	    {"\xe0\x80\xaf", "\"\\udce0\\udc80\\udcaf\""},
	    {"\xf0\x80\x80\xaf", "\"\\udcf0\\udc80\\udc80\\udcaf\""},
	    /* UTF-8-encoded surrogates (CESU), low and high. */
	    {"\xed\xa0\x80", "\"\\udced\\udca0\\udc80\""},
	    {"\xed\xbf\xbf", "\"\\udced\\udcbf\\udcbf\""},
	    /* Past U+10FFFF, and lead bytes that never start a sequence. */
	    {"\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\""},
	    {"\xf5\x80\x80\x80", "\"\\udcf5\\udc80\\udc80\\udc80\""},
	    {"/tmp/\xe9t\xe9", "\"/tmp/\\udce9t\\udce9\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		autofree char *out = encode(cases[i].bytes, strlen(cases[i].bytes));

		cr_expect_str_eq(out, cases[i].json, "case %zu", i);
		cr_expect(is_valid_json_string(out), "case %zu: %s", i, out);
	}
}

Test(json, decode_escapes)
{
	static const struct {
		const char *body;
		const char *bytes;
	} cases[] = {
	    {"plain", "plain"},
	    {"\\\"\\\\\\/", "\"\\/"},
	    {"\\b\\f\\n\\r\\t", "\b\f\n\r\t"},
	    {"\\u0041\\u00e9", "A\xc3\xa9"},
	    {"\\u20AC", "\xe2\x82\xac"},
	    {"\\ud83d\\ude00", "\xf0\x9f\x98\x80"},
	    {"\\udc80\\udcff", "\x80\xff"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		autofree char *out = json_decode_string(cases[i].body, strlen(cases[i].body), &len);

		cr_assert_not_null(out, "%s", cases[i].body);
		cr_expect_eq(len, strlen(cases[i].bytes), "%s", cases[i].body);
		cr_expect_str_eq(out, cases[i].bytes);
	}
}

Test(json, decode_nul_and_empty)
{
	size_t len = 99;
	autofree char *empty = json_decode_string("", 0, &len);
	autofree char *nul = NULL;

	cr_assert_not_null(empty);
	cr_expect_eq(len, 0);
	cr_expect_str_eq(empty, "");
	nul = json_decode_string("a\\u0000b", 8, &len);
	cr_assert_not_null(nul);
	cr_expect_eq(len, 3);
	cr_expect(memcmp(nul, "a\0b", 3) == 0);
}

Test(json, decode_refuses_malformed)
{
	static const char *const bad[] = {"\\",	   "a\\",     "\\x",	 "\\u",
					  "\\u12", "\\u12g4", "\\uzzzz", "ok\\q"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len;
		char *out = json_decode_string(bad[i], strlen(bad[i]), &len);

		cr_expect_null(out, "%s decoded", bad[i]);
		free(out);
	}
}

Test(json, round_trip_every_byte)
{
	for (int c = 0; c < 256; c++) {
		char b[1] = {(char)c};
		char ctx[3] = {'x', (char)c, 'y'};

		expect_round_trip(b, 1);
		expect_round_trip(ctx, 3);
	}
}

Test(json, round_trip_every_byte_pair)
{
	for (int a = 0; a < 256; a++) {
		for (int b = 0; b < 256; b++) {
			char s[2] = {(char)a, (char)b};

			expect_round_trip(s, 2);
		}
	}
}

/* xorshift32: the same strings on every run. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

Test(json, round_trip_random_byte_strings)
{
	/* Pieces that make near-misses likely: leads, continuations, escapes. */
	static const char *const pieces[] = {
	    "\xc3\xa9",
	    "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80",
	    "\xed\xa0\x80",
	    "\xc0\xaf",
	    "\\",
	    "\"",
	    "\\udc80",
	    "\\u",
	    "/",
	    "\xf4\x90",
	    "\xe0",
	    "\x80",
	    "\xff",
	    "\n",
	};
	uint32_t state = 0x9e3779b9;
	char buf[128];

	for (int iter = 0; iter < 5000; iter++) {
		size_t len = next_random(&state) % 64, n = 0;

		while (n < len) {
			uint32_t r = next_random(&state);

			if (r % 3 == 0) {
				const char *p =
				    pieces[(r >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
				size_t plen = strlen(p);

				if (n + plen > sizeof(buf))
					break;
				memcpy(buf + n, p, plen);
				n += plen;
			} else {
				buf[n++] = (char)(r >> 8);
			}
		}
		expect_round_trip(buf, n);
	}
}
