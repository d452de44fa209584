// SPDX-License-Identifier: MIT
/*
 * The upper directory's record (upper.h): what the tracer notes during a
 * run comes back the same from ptvfs-upper.json, non-UTF-8 names included;
 * whiteouts cover what is below them; identities tell a changed source from
 * an unchanged one. And the pieces `ptvfs diff` builds on: SHA-256/SHA-1,
 * the JSON reader, the unified diff and git's binary literal.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/json_read.h"
#include "ptvfs/sha.h"
#include "ptvfs/textdiff.h"
#include "ptvfs/upper.h"
#include "ptvfs/util.h"

static char *scratch(void)
{
	char *dir = xstrdup("/tmp/ptvfs-upper-test-XXXXXX");

	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static void put(const char *dir, const char *rel, const char *data)
{
	autofree char *path = xasprintf("%s/%s", dir, rel);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(data, f);
	fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct strbuf sb = {0};
	char buf[4096];
	size_t n;

	cr_assert_not_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	*len = sb.len;
	return sb.buf ? sb.buf : xstrdup("");
}

static void rm_rf(const char *dir)
{
	autofree char *cmd = xasprintf("rm -rf '%s'", dir);

	cr_assert_eq(system(cmd), 0);
}

static struct upper *must_open(const char *dir)
{
	autofree char *err = NULL;
	struct upper *u = upper_open(dir, &err);

	cr_assert_not_null(u, "upper_open: %s", err ? err : "");
	return u;
}

/* ---- the record ---- */

Test(upper, record_round_trip)
{
	autofree char *top = scratch();
	autofree char *src = xasprintf("%s/src", top);
	autofree char *src2 = xasprintf("%s/src\xff-two", top);
	autofree char *dir = xasprintf("%s/deep/upper", top);
	autofree char *lower = NULL;
	autofree char *record = NULL;
	autofree char *again = NULL;
	static const char bad[] = "bad\xfe\xc3name";
	struct upper *u;
	size_t n_wh, n_ren, len1, len2;
	const char **wh;
	struct upper_rename *ren;

	cr_assert_eq(mkdir(src, 0755), 0);
	cr_assert_eq(mkdir(src2, 0755), 0);
	put(src, "a.txt", "hello\n");
	put(src, bad, "bytes\n");
	cr_assert_eq(symlink("a.txt", xasprintf("%s/link", src)), 0);
	cr_assert_eq(mkdir(xasprintf("%s/d", src), 0750), 0);
	put(src, "d/x", "x\n");
	cr_assert_eq(mkdir(xasprintf("%s/d/e", src), 0755), 0);
	put(src, "d/e/y", "y\n");

	u = must_open(dir);
	cr_expect_eq(upper_overlay_count(u), 0);
	cr_assert_eq(upper_add_overlay(u, src, "/home/user/workspace"), 1);
	cr_assert_eq(upper_add_overlay(u, src2, "/other\xff"), 2);
	cr_expect_str_eq(upper_overlay_dir(u, 1), xasprintf("%s/1", upper_dir(u)));
	cr_expect_null(upper_overlay_dir(u, 3));
	cr_assert_eq(upper_save(u), 0, "the record can be saved as soon as the overlays are known");

	lower = xasprintf("%s/a.txt", src);
	cr_assert_eq(upper_note_copy_up(u, 1, "a.txt", lower), 0);
	cr_assert_eq(upper_note_copy_up(u, 1, bad, xasprintf("%s/%s", src, bad)), 0);
	cr_assert_eq(upper_note_copy_up(u, 1, "link", xasprintf("%s/link", src)), 0);
	cr_assert_eq(upper_note_whiteout(u, 1, "d", xasprintf("%s/d", src)), 0);
	cr_assert_eq(upper_note_rename(u, 1, "a.txt", "b.txt"), 0);
	cr_assert_eq(upper_note_rename(u, 1, bad, "z"), 0);
	cr_assert_eq(upper_note_rename(u, 2, "p", "q"), 0);
	cr_assert_eq(upper_save(u), 0);
	upper_free(u);

	record = xasprintf("%s/" UPPER_RECORD, dir);
	u = must_open(dir);
	cr_expect_eq(upper_overlay_count(u), 2);
	cr_expect_str_eq(upper_overlay_src(u, 2), src2, "a non-UTF-8 SRC comes back as bytes");
	cr_expect_str_eq(upper_overlay_dest(u, 2), "/other\xff");
	cr_expect(upper_was_copied_up(u, 1, "a.txt"));
	cr_expect(upper_was_copied_up(u, 1, bad), "a non-UTF-8 name comes back as bytes");
	cr_expect_not(upper_was_copied_up(u, 2, "a.txt"), "overlays keep apart");
	{
		struct upper_identity now;
		const struct upper_identity *rec = upper_copy_up_identity(u, 1, "a.txt");

		cr_assert_not_null(rec);
		cr_assert_eq(upper_identity_at(AT_FDCWD, lower, &now), 0);
		cr_expect(upper_identity_equal(rec, &now));
		cr_expect(rec->has_sha256);
		cr_expect_eq(rec->size, 6);
		cr_expect(S_ISREG(rec->mode));
		rec = upper_copy_up_identity(u, 1, "link");
		cr_assert_not_null(rec);
		cr_expect(S_ISLNK(rec->mode) && rec->size == 5 && rec->has_sha256,
			  "a link's identity is its target");
		rec = upper_whiteout_identity(u, 1, "d");
		cr_assert_not_null(rec);
		cr_expect(S_ISDIR(rec->mode) && (rec->mode & 07777) == 0750 && !rec->has_sha256);
	}
	wh = upper_whiteouts(u, 1, &n_wh);
	cr_assert_eq(n_wh, 4, "the directory and the three objects below it");
	cr_expect_str_eq(wh[0], "d");
	cr_expect_str_eq(wh[1], "d/e");
	cr_expect_str_eq(wh[2], "d/e/y");
	cr_expect_str_eq(wh[3], "d/x");
	free(wh);
	ren = upper_renames(u, 1, &n_ren);
	cr_assert_eq(n_ren, 2);
	cr_expect_str_eq(ren[0].from, "a.txt");
	cr_expect_str_eq(ren[0].to, "b.txt");
	cr_expect_str_eq(ren[1].from, bad);
	free(ren);
	ren = upper_renames(u, 2, &n_ren);
	cr_expect_eq(n_ren, 1);
	free(ren);
	cr_expect_eq(upper_add_overlay(u, src, "/home/user/workspace"), 1,
		     "a second run over the same upper keeps the overlay's index");
	cr_expect_eq(upper_add_overlay(u, src, "/elsewhere"), 3);

	/* Saved again, unchanged: the same bytes (sorted, deterministic). */
	upper_free(u);
	record = xasprintf("%s/" UPPER_RECORD, dir);
	{
		autofree char *first = slurp(record, &len1);

		u = must_open(dir);
		cr_assert_eq(upper_save(u), 0);
		upper_free(u);
		again = slurp(record, &len2);
		cr_expect(len1 == len2 && !memcmp(first, again, len1));
		cr_expect_not_null(strstr(first, "\"path\": \"bad\\udcfe\\udcc3name\""),
				   "non-UTF-8 bytes are written as PEP 383 escapes");
		cr_expect_null(strstr(first, ".tmp."), "no temporary file name in the record");
	}
	rm_rf(top);
}

/* Each save appends to the journal; a run killed at any moment leaves a record that loads. */
Test(upper, journal_keeps_each_save)
{
	autofree char *top = scratch();
	autofree char *dir = xasprintf("%s/u", top);
	autofree char *journal = xasprintf("%s/ptvfs-upper.journal", dir);
	struct upper *u, *back;
	struct stat st;
	size_t count;
	const char **wh;
	FILE *f;

	for (int i = 0; i < 3000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%04d", i);
		put(top, name, name);
	}
	u = must_open(dir);
	cr_assert_eq(upper_add_overlay(u, top, "/w"), 1);
	for (int i = 0; i < 3000; i++) {
		char rel[32];
		autofree char *low = NULL;

		snprintf(rel, sizeof(rel), "f%04d", i);
		low = xasprintf("%s/%s", top, rel);
		cr_assert_eq(upper_note_whiteout(u, 1, rel, low), 0);
		cr_assert_eq(upper_save(u), 0);
	}
	cr_expect_eq(stat(journal, &st), 0, "saves go to the journal");

	/* Killed here (u never freed): the record and the journal load. */
	back = must_open(dir);
	wh = upper_whiteouts(back, 1, &count);
	cr_expect_eq(count, 3000, "every saved whiteout is back");
	free(wh);
	upper_free(back);

	/* A line cut short by a crash and lines of an older generation are skipped. */
	f = fopen(journal, "a");
	cr_assert_not_null(f);
	fputs("{\"g\": 0, \"whiteout\": {\"overlay\": 1, \"path\": \"old\", \"mode\": 33188}}\n",
	      f);
	fputs("{\"g\": 999999, \"whiteout\": {\"overla", f);
	fclose(f);
	upper_free(u); /* the writer ends: the record whole, the journal gone */
	cr_expect_neq(stat(journal, &st), 0);
	back = must_open(dir);
	wh = upper_whiteouts(back, 1, &count);
	cr_expect_eq(count, 3000);
	free(wh);
	cr_expect_not(upper_is_whiteout(back, 1, "old"));
	upper_free(back);
	cr_expect_eq(stat(journal, &st), -1, "a reader writes nothing");

	u = must_open(dir);
	cr_assert_eq(upper_note_rename(u, 1, "a", "b"), 0);
	cr_assert_eq(upper_save(u), 0);
	f = fopen(journal, "a");
	cr_assert_not_null(f);
	fputs("{\"g\": 1, \"rena", f);
	fclose(f);
	back = must_open(dir);
	{
		size_t n;
		autofree struct upper_rename *r = upper_renames(back, 1, &n);

		cr_expect_eq(n, 1, "the lines before a torn one count");
	}
	cr_assert_eq(upper_note_rename(back, 1, "c", "d"), 0);
	cr_assert_eq(upper_save(back), 0, "after a torn line the record is written whole");
	cr_expect_neq(stat(journal, &st), 0);
	upper_free(back);
	back = must_open(dir);
	{
		size_t n;
		autofree struct upper_rename *r = upper_renames(back, 1, &n);

		cr_expect_eq(n, 2);
	}
	upper_free(back);
	rm_rf(top);
}

Test(upper, whiteouts_cover_what_is_below)
{
	autofree char *top = scratch();
	autofree char *dir = xasprintf("%s/u", top);
	struct upper *u;

	put(top, "gone", "x");
	cr_assert_eq(mkdir(xasprintf("%s/tree", top), 0755), 0);
	put(top, "tree/leaf", "x");
	u = must_open(dir);
	cr_assert_eq(upper_add_overlay(u, top, "/w"), 1);
	cr_assert_eq(upper_note_whiteout(u, 1, "gone", xasprintf("%s/gone", top)), 0);
	cr_assert_eq(upper_note_whiteout(u, 1, "/tree/", xasprintf("%s/tree", top)), 0,
		     "slashes around REL are tolerated");

	cr_expect(upper_is_whiteout(u, 1, "gone"));
	cr_expect(upper_is_whiteout(u, 1, "gone/below/deeper"), "below a whiteout is gone too");
	cr_expect_not(upper_is_whiteout(u, 1, "gone2"), "a whiteout covers whole components only");
	cr_expect_not(upper_is_whiteout(u, 1, "gon"));
	cr_expect_not(upper_is_whiteout(u, 2, "gone"), "another overlay is not affected");
	cr_expect(upper_is_whiteout_exact(u, 1, "gone"));
	cr_expect_not(upper_is_whiteout_exact(u, 1, "gone/below"));
	cr_expect(upper_is_whiteout_exact(u, 1, "tree/leaf"),
		  "the objects below a deleted directory are recorded");
	cr_expect(upper_is_whiteout(u, 1, "tree/new"));
	cr_expect_not(upper_is_whiteout(u, 1, ""));

	/* A lower object that is not there: nothing recorded. */
	cr_expect_eq(upper_note_whiteout(u, 1, "never", xasprintf("%s/never", top)), -ENOENT);
	cr_expect_not(upper_is_whiteout(u, 1, "never"));
	cr_expect_eq(upper_note_whiteout(u, 9, "gone", "/"), -EINVAL);
	cr_expect_eq(upper_note_whiteout(u, 1, "../gone", xasprintf("%s/gone", top)), -EINVAL,
		     "a REL that leaves SRC is refused");
	cr_expect_eq(upper_note_rename(u, 1, "a/./b", "c"), -EINVAL);
	cr_expect_eq(upper_note_copy_up(u, 1, "a//b", xasprintf("%s/gone", top)), -EINVAL);

	/* Copy-up below a whiteout is no lower object: ignored. */
	cr_expect_eq(upper_note_copy_up(u, 1, "tree/leaf", xasprintf("%s/tree/leaf", top)), 0);
	cr_expect_not(upper_was_copied_up(u, 1, "tree/leaf"));
	upper_free(u);
	rm_rf(top);
}

Test(upper, first_identity_counts)
{
	autofree char *top = scratch();
	autofree char *dir = xasprintf("%s/u", top);
	autofree char *f = xasprintf("%s/f", top);
	struct upper_identity before, now;
	struct upper *u;

	put(top, "f", "first\n");
	u = must_open(dir);
	cr_assert_eq(upper_add_overlay(u, top, "/w"), 1);
	cr_assert_eq(upper_note_copy_up(u, 1, "f", f), 0);
	cr_assert_eq(upper_identity_at(AT_FDCWD, f, &before), 0);
	put(top, "f", "other\n");
	cr_assert_eq(upper_note_copy_up(u, 1, "f", f), 0);
	cr_expect(upper_identity_equal(upper_copy_up_identity(u, 1, "f"), &before),
		  "only the first copy-up of a path is its identity");
	cr_assert_eq(upper_note_whiteout(u, 1, "f", f), 0);
	cr_assert_eq(upper_identity_at(AT_FDCWD, f, &now), 0);
	cr_assert_eq(upper_note_whiteout(u, 1, "f", "/nonexistent"), 0,
		     "a path already a whiteout keeps its first identity");
	cr_expect(upper_identity_equal(upper_whiteout_identity(u, 1, "f"), &before),
		  "a copied-up file deleted later keeps the identity of its copy-up");
	cr_expect_not(upper_identity_equal(&before, &now));
	upper_free(u);
	rm_rf(top);
}

Test(upper, identity_tells_changes)
{
	autofree char *top = scratch();
	autofree char *f = xasprintf("%s/f", top);
	autofree char *l = xasprintf("%s/l", top);
	struct upper_identity a, b;
	struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 678}};

	put(top, "f", "contents\n");
	cr_assert_eq(upper_identity_at(AT_FDCWD, f, &a), 0);
	cr_assert_eq(upper_identity_at(AT_FDCWD, f, &b), 0);
	cr_expect(upper_identity_equal(&a, &b));

	put(top, "f", "CONTENTS\n");
	cr_assert_eq(upper_identity_at(AT_FDCWD, f, &b), 0);
	cr_expect_not(upper_identity_equal(&a, &b), "same size, other bytes: changed");

	put(top, "f", "contents\n");
	cr_assert_eq(utimensat(AT_FDCWD, f, times, 0), 0);
	cr_assert_eq(upper_identity_at(AT_FDCWD, f, &b), 0);
	cr_expect_neq(a.mtime_ns, b.mtime_ns);
	cr_expect(upper_identity_equal(&a, &b), "the same bytes with another mtime: unchanged");

	cr_assert_eq(chmod(f, 0600), 0);
	cr_assert_eq(upper_identity_at(AT_FDCWD, f, &b), 0);
	cr_expect_not(upper_identity_equal(&a, &b), "another mode: changed");

	cr_assert_eq(symlink("one", l), 0);
	cr_assert_eq(upper_identity_at(AT_FDCWD, l, &a), 0);
	cr_assert_eq(unlink(l), 0);
	cr_assert_eq(symlink("two", l), 0);
	cr_assert_eq(upper_identity_at(AT_FDCWD, l, &b), 0);
	cr_expect(S_ISLNK(a.mode), "a link is not followed");
	cr_expect_not(upper_identity_equal(&a, &b), "another link target: changed");
	cr_expect_eq(upper_identity_at(AT_FDCWD, xasprintf("%s/none", top), &b), -ENOENT);
	rm_rf(top);
}

Test(upper, refuses_what_is_no_upper_directory)
{
	autofree char *top = scratch();
	autofree char *err = NULL;
	autofree char *bad = xasprintf("%s/bad", top);

	put(top, "stray", "x");
	cr_expect_null(upper_open(top, &err), "a non-empty directory without a record");
	cr_expect_not_null(strstr(err, "not an upper directory"), "%s", err);

	static const char *records[] = {
	    "",
	    "{\"upper_format\": 2, \"overlays\": []}",
	    "{\"upper_format\": 1}",
	    "{\"upper_format\": 1, \"overlays\": [{\"index\": 2, \"src\": \"/a\", \"dest\": "
	    "\"/b\"}]}",
	    "{\"upper_format\": 1, \"overlays\": [], \"whiteouts\": [{\"overlay\": 1, \"path\": "
	    "\"x\", \"mode\": 1}]}",
	    "{\"upper_format\": 1, \"overlays\": [{\"index\": 1, \"src\": \"/a\", \"dest\": "
	    "\"/b\"}],"
	    " \"copied_up\": [{\"overlay\": 1, \"path\": \"x\", \"mode\": 33188, \"sha256\": "
	    "\"zz\"}]}",
	    "{\"upper_format\": 1, \"overlays\": [] ",
	    /* A record from elsewhere must not lead apply out of SRC. */
	    "{\"upper_format\": 1, \"overlays\": [{\"index\": 1, \"src\": \"/a\", \"dest\": "
	    "\"/b\"}],"
	    " \"whiteouts\": [{\"overlay\": 1, \"path\": \"../etc\", \"mode\": 16877}]}",
	    "{\"upper_format\": 1, \"overlays\": [{\"index\": 1, \"src\": \"/a\", \"dest\": "
	    "\"/b\"}],"
	    " \"renames\": [{\"overlay\": 1, \"from\": \"x\", \"to\": \"a/../../y\"}]}",
	    "{\"upper_format\": 1, \"overlays\": [{\"index\": 1, \"src\": \"a\", \"dest\": "
	    "\"/b\"}]}",
	};
	cr_assert_eq(mkdir(bad, 0700), 0);
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		autofree char *msg = NULL;

		put(bad, UPPER_RECORD, records[i]);
		cr_expect_null(upper_open(bad, &msg), "record %zu is refused", i);
		cr_expect_not_null(msg);
	}
	rm_rf(top);
}

/* ---- hashes ---- */

static void expect_sha256(const void *data, size_t len, const char *hex)
{
	struct sha256_ctx c;
	unsigned char d[32];
	char out[65];

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, d);
	sha_hex(d, 32, out);
	cr_expect_str_eq(out, hex);
}

Test(sha, known_answers)
{
	struct sha1_ctx s;
	unsigned char d[20];
	char out[65];

	expect_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	sha1_init(&s);
	sha1_update(&s, "abc", 3);
	sha1_final(&s, d);
	sha_hex(d, 20, out);
	cr_expect_str_eq(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
	git_blob_id("", 0, d);
	sha_hex(d, 20, out);
	cr_expect_str_eq(out, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "git's empty blob");
	git_blob_id("hello\n", 6, d);
	sha_hex(d, 20, out);
	cr_expect_str_eq(out, "ce013625030ba8dba906f756967f9e9ca394464a");
}

Test(sha, pieces_make_the_whole)
{
	static unsigned char buf[100003];
	unsigned char whole[32], parts[32];
	struct sha256_ctx c;
	size_t pos = 0, step = 1;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i * 131 + (i >> 9);
	sha256_init(&c);
	sha256_update(&c, buf, sizeof(buf));
	sha256_final(&c, whole);
	sha256_init(&c);
	while (pos < sizeof(buf)) {
		size_t n = step < sizeof(buf) - pos ? step : sizeof(buf) - pos;

		sha256_update(&c, buf + pos, n);
		pos += n;
		step = step * 7 % 997 + 1;
	}
	sha256_final(&c, parts);
	cr_expect_arr_eq(whole, parts, 32);
}

/* ---- the JSON reader ---- */

Test(json_read, values_and_bytes)
{
	static const char text[] = " {\"n\": -9007199254740993, \"big\": 1796410384013789291,"
				   " \"f\": 1.5e3, \"s\": \"a\\udcff\\u00e9\\n\\\"\","
				   " \"l\": [true, false, null, [], {}], \"s\": \"second\"} ";
	autofree char *err = NULL;
	struct jr_value *v = jr_parse(text, sizeof(text) - 1, &err);
	long long n;
	size_t len;
	const char *s;

	cr_assert_not_null(v, "%s", err ? err : "");
	cr_expect(jr_get_int(v, "n", &n) && n == -9007199254740993LL, "integers keep 64 bits");
	cr_expect(jr_get_int(v, "big", &n) && n == 1796410384013789291LL);
	cr_expect_not(jr_get_int(v, "f", &n), "a fraction is no integer");
	cr_expect_eq(jr_get(v, "f")->number, 1500.0);
	s = jr_get_string(v, "s", &len);
	cr_assert_not_null(s);
	cr_expect(len == 6 && !memcmp(s, "a\xff\xc3\xa9\n\"", 6), "\\udcXX gives the byte back");
	cr_expect_eq(jr_get(v, "l")->count, 5);
	cr_expect_eq(jr_get(v, "l")->items[2].type, JR_NULL);
	cr_expect_null(jr_get(v, "missing"));
	jr_free(v);

	static const char *bad[] = {"",	   "{",	  "[1,]",     "{\"a\" 1}", "\"\\q\"",
				    "tru", "1 2", "\"a\nb\"", "{\"a\": [}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		autofree char *msg = NULL;

		cr_expect_null(jr_parse(bad[i], strlen(bad[i]), &msg), "%s is refused", bad[i]);
		cr_expect_not_null(msg);
	}
}

/* ---- the unified diff ---- */

static char *udiff(const char *old, const char *new)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	textdiff_unified(f, old, strlen(old), new, strlen(new), 3);
	fclose(f);
	return out;
}

/* Apply the hunks of PATCH to OLD, as patch would (the hunks must match exactly). */
static char *apply_hunks(const char *old, const char *patch)
{
	struct strbuf sb = {0};
	const char *p = patch, *o = old;
	size_t line = 1;

	while (*p) {
		const char *eol = strchr(p, '\n');

		cr_assert(eol, "lines end in newlines");
		if (!strncmp(p, "@@ -", 4)) {
			char *end;
			unsigned long start = strtoul(p + 4, &end, 10);
			if (*end == ',' && strtoul(end + 1, NULL, 10) == 0)
				start++; /* "-N,0": insert after line N */
			for (; line < start; line++) {
				const char *next = strchr(o, '\n');
				size_t n = next ? (size_t)(next - o) + 1 : strlen(o);

				strbuf_add(&sb, o, n);
				o += n;
			}
		} else if (*p == '\\') {
			/* "\ No newline": taken care of with the line before. */
		} else {
			size_t n = eol - p;
			bool no_eol = !strncmp(eol + 1, "\\ No newline", 12);

			if (*p == ' ' || *p == '-') {
				cr_assert(!strncmp(o, p + 1, n - 1), "context matches at line %zu",
					  line);
				o += n - 1 + !no_eol;
				line++;
			}
			if (*p == ' ' || *p == '+') {
				strbuf_add(&sb, p + 1, n - 1);
				if (!no_eol)
					strbuf_addch(&sb, '\n');
			}
		}
		p = eol + 1;
	}
	strbuf_addstr(&sb, o);
	return sb.buf ? sb.buf : xstrdup("");
}

Test(textdiff, hunks_as_git_writes_them)
{
	autofree char *d1 = udiff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nE\nf\ng\nh\n");
	autofree char *d2 = udiff("", "one\n");
	autofree char *d3 = udiff("x\ny", "x\nz");
	autofree char *d4 = udiff("same\n", "same\n");
	autofree char *d5 = udiff("gone\n", "");

	cr_expect_str_eq(d1, "@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n");
	cr_expect_str_eq(d2, "@@ -0,0 +1 @@\n+one\n");
	cr_expect_str_eq(d3, "@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n"
			     "\\ No newline at end of file\n");
	cr_expect_str_eq(d4, "");
	cr_expect_str_eq(d5, "@@ -1 +0,0 @@\n-gone\n");
}

Test(textdiff, far_changes_make_two_hunks)
{
	struct strbuf a = {0}, b = {0};

	for (int i = 0; i < 30; i++) {
		strbuf_addf(&a, "%d\n", i);
		strbuf_addf(&b, "%d\n", i == 3 || i == 25 ? -i : i);
	}
	autofree char *d = udiff(a.buf, b.buf);
	cr_expect_str_eq(d, "@@ -1,7 +1,7 @@\n 0\n 1\n 2\n-3\n+-3\n 4\n 5\n 6\n"
			    "@@ -23,7 +23,7 @@\n 22\n 23\n 24\n-25\n+-25\n 26\n 27\n 28\n");
	strbuf_release(&a);
	strbuf_release(&b);
}

Test(textdiff, random_edits_apply_back)
{
	static const char *words[] = {"a\n", "b\n", "c\n", "{\n", "}\n", "\n", "return;\n"};
	unsigned seed = 12345;

	for (int round = 0; round < 300; round++) {
		struct strbuf a = {0}, b = {0};
		int na = rand_r(&seed) % 60;

		for (int i = 0; i < na; i++) {
			const char *w = words[rand_r(&seed) % 7];

			strbuf_addstr(&a, w);
			switch (rand_r(&seed) % 6) {
			case 0:
				break; /* deleted */
			case 1:
				strbuf_addstr(&b, words[rand_r(&seed) % 7]);
				break; /* replaced */
			case 2:
				strbuf_addstr(&b, words[rand_r(&seed) % 7]); /* inserted before */
				strbuf_addstr(&b, w);
				break;
			default:
				strbuf_addstr(&b, w);
			}
		}
		if (!a.buf)
			strbuf_addstr(&a, "");
		if (!b.buf)
			strbuf_addstr(&b, "");
		if (round % 5 == 0 && a.len)
			a.buf[--a.len] = '\0'; /* no newline at the end */
		{
			autofree char *d = udiff(a.buf, b.buf);
			autofree char *back = NULL;

			if (strstr(d, "\\ No newline")) {
				strbuf_release(&a);
				strbuf_release(&b);
				continue; /* apply_hunks() keeps to whole lines */
			}
			back = apply_hunks(a.buf, d);
			cr_expect_str_eq(back, b.buf, "round %d:\n%s", round, d);
		}
		strbuf_release(&a);
		strbuf_release(&b);
	}
}

Test(textdiff, binary_and_literal)
{
	char *out = NULL;
	size_t len;
	FILE *f;

	cr_expect(textdiff_is_binary("a\0b", 3));
	cr_expect_not(textdiff_is_binary("text\n", 5));
	{
		static char late[9000];

		memset(late, 'x', sizeof(late));
		late[8500] = '\0';
		cr_expect_not(textdiff_is_binary(late, sizeof(late)),
			      "as git: only the first 8000 bytes are looked at");
	}
	f = open_memstream(&out, &len);
	textdiff_git_literal(f, "", 0);
	fclose(f);
	/* 78 01 | 01 00 00 ff ff | 00 00 00 01: a zlib stream of one empty stored block. */
	cr_expect_str_eq(out, "literal 0\nKcmV+b0RR6000031\n\n");
	free(out);
	f = open_memstream(&out, &len);
	textdiff_git_literal(f, "\0\1\2", 3);
	fclose(f);
	cr_expect_eq(strncmp(out, "literal 3\nN", 11), 0, "14 bytes of zlib stream: line length N");
	free(out);
}
