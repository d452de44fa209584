// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ptvfs/sha.h"
#include "ptvfs/util.h"

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_blocks_c(uint32_t state[8], const unsigned char *p, size_t blocks)
{
	for (; blocks; blocks--, p += 64) {
		uint32_t w[64], a, b, c, d, e, f, g, h;
		int i;

		for (i = 0; i < 16; i++)
			w[i] = load_be32(p + 4 * i);
		for (; i < 64; i++) {
			uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
			uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		a = state[0], b = state[1], c = state[2], d = state[3];
		e = state[4], f = state[5], g = state[6], h = state[7];
		for (i = 0; i < 64; i++) {
			uint32_t s1 = ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25);
			uint32_t ch = (e & f) ^ (~e & g);
			uint32_t t1 = h + s1 + ch + sha256_k[i] + w[i];
			uint32_t s0 = ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22);
			uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
			uint32_t t2 = s0 + maj;

			h = g, g = f, f = e, e = d + t1;
			d = c, c = b, b = a, a = t1 + t2;
		}
		state[0] += a, state[1] += b, state[2] += c, state[3] += d;
		state[4] += e, state[5] += f, state[6] += g, state[7] += h;
	}
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * The same compression with the SHA extensions (sha_ni), about five times
 * faster: hashing is what copy-up costs beyond the copy itself. The state
 * is kept as the instructions want it, ABEF and CDGH.
 */
__attribute__((target("sha,sse4.1"))) static void
sha256_blocks_ni(uint32_t state[8], const unsigned char *p, size_t blocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i abef, cdgh, tmp, save_abef, save_cdgh, msg, m[4];

	tmp = _mm_loadu_si128((const __m128i *)&state[0]);  /* a b c d (low to high) */
	cdgh = _mm_loadu_si128((const __m128i *)&state[4]); /* e f g h */
	tmp = _mm_shuffle_epi32(tmp, 0xb1);		    /* b a d c */
	cdgh = _mm_shuffle_epi32(cdgh, 0x1b);		    /* h g f e */
	abef = _mm_alignr_epi8(tmp, cdgh, 8);		    /* f e b a */
	cdgh = _mm_blend_epi16(cdgh, tmp, 0xf0);	    /* h g d c */

	for (; blocks; blocks--, p += 64) {
		save_abef = abef;
		save_cdgh = cdgh;
		for (int i = 0; i < 4; i++)
			m[i] =
			    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int r = 0; r < 16; r++) {
			__m128i *cur = &m[r & 3];

			if (r >= 4) {
				/* w[4r..4r+3] from the four previous groups. */
				__m128i prev = m[(r - 1) & 3];
				__m128i t = _mm_alignr_epi8(prev, m[(r - 2) & 3], 4);

				*cur = _mm_sha256msg1_epu32(*cur, m[(r - 3) & 3]);
				*cur = _mm_add_epi32(*cur, t);
				*cur = _mm_sha256msg2_epu32(*cur, prev);
			}
			msg =
			    _mm_add_epi32(*cur, _mm_loadu_si128((const __m128i *)&sha256_k[4 * r]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
			msg = _mm_shuffle_epi32(msg, 0x0e);
			/* The first two rounds left ABEF in cdgh; the old ABEF is the new CDGH. */
			abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);
		}
		abef = _mm_add_epi32(abef, save_abef);
		cdgh = _mm_add_epi32(cdgh, save_cdgh);
	}

	tmp = _mm_shuffle_epi32(abef, 0x1b);	 /* a b e f */
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);	 /* g h c d */
	abef = _mm_blend_epi16(tmp, cdgh, 0xf0); /* a b c d */
	cdgh = _mm_alignr_epi8(cdgh, tmp, 8);	 /* e f g h */
	_mm_storeu_si128((__m128i *)&state[0], abef);
	_mm_storeu_si128((__m128i *)&state[4], cdgh);
}
#endif

static void sha256_blocks(uint32_t *state, const unsigned char *p, size_t blocks)
{
#if defined(__x86_64__)
	static int have_ni = -1;

	if (have_ni < 0)
		have_ni = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1");
	if (have_ni) {
		sha256_blocks_ni(state, p, blocks);
		return;
	}
#endif
	sha256_blocks_c(state, p, blocks);
}

void sha256_init(struct sha256_ctx *c)
{
	static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(c->state, init, sizeof(init));
	c->bytes = 0;
	c->used = 0;
}

/* Feed LEN bytes at DATA to a hash of 64-byte blocks: whole blocks to BLOCKS, the rest kept. */
static void update_blocks(uint32_t *state, unsigned char block[64], size_t *used, uint64_t *bytes,
			  const void *data, size_t len,
			  void (*blocks)(uint32_t *state, const unsigned char *p, size_t n))
{
	const unsigned char *p = data;

	*bytes += len;
	if (*used) {
		size_t n = 64 - *used < len ? 64 - *used : len;

		memcpy(block + *used, p, n);
		*used += n;
		p += n;
		len -= n;
		if (*used < 64)
			return;
		blocks(state, block, 1);
		*used = 0;
	}
	if (len >= 64) {
		blocks(state, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(block, p, len);
	*used = len;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	update_blocks(c->state, c->block, &c->used, &c->bytes, data, len, sha256_blocks);
}

/* The padding both hashes share: 0x80 and zeros; whether the length needs a block of its own. */
static bool pad_block(unsigned char block[64], size_t used)
{
	block[used++] = 0x80;
	memset(block + used, 0, 64 - used);
	return used > 56;
}

static void put_length(unsigned char block[64], uint64_t bytes)
{
	store_be32(block + 56, (uint32_t)(bytes >> 29));
	store_be32(block + 60, (uint32_t)(bytes << 3));
}

void sha256_final(struct sha256_ctx *c, unsigned char digest[32])
{
	if (pad_block(c->block, c->used)) {
		sha256_blocks(c->state, c->block, 1);
		memset(c->block, 0, 64);
	}
	put_length(c->block, c->bytes);
	sha256_blocks(c->state, c->block, 1);
	for (int i = 0; i < 8; i++)
		store_be32(digest + 4 * i, c->state[i]);
}

static void sha1_blocks(uint32_t *state, const unsigned char *p, size_t blocks)
{
	for (; blocks; blocks--, p += 64) {
		uint32_t w[80], a, b, c, d, e;
		int i;

		for (i = 0; i < 16; i++)
			w[i] = load_be32(p + 4 * i);
		for (; i < 80; i++)
			w[i] = ROL32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
		a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
		for (i = 0; i < 80; i++) {
			uint32_t f, k, t;

			if (i < 20) {
				f = (b & c) | (~b & d);
				k = 0x5a827999;
			} else if (i < 40) {
				f = b ^ c ^ d;
				k = 0x6ed9eba1;
			} else if (i < 60) {
				f = (b & c) | (b & d) | (c & d);
				k = 0x8f1bbcdc;
			} else {
				f = b ^ c ^ d;
				k = 0xca62c1d6;
			}
			t = ROL32(a, 5) + f + e + k + w[i];
			e = d, d = c, c = ROL32(b, 30), b = a, a = t;
		}
		state[0] += a, state[1] += b, state[2] += c, state[3] += d, state[4] += e;
	}
}

void sha1_init(struct sha1_ctx *c)
{
	static const uint32_t init[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
					 0xc3d2e1f0};

	memcpy(c->state, init, sizeof(init));
	c->bytes = 0;
	c->used = 0;
}

void sha1_update(struct sha1_ctx *c, const void *data, size_t len)
{
	update_blocks(c->state, c->block, &c->used, &c->bytes, data, len, sha1_blocks);
}

void sha1_final(struct sha1_ctx *c, unsigned char digest[20])
{
	if (pad_block(c->block, c->used)) {
		sha1_blocks(c->state, c->block, 1);
		memset(c->block, 0, 64);
	}
	put_length(c->block, c->bytes);
	sha1_blocks(c->state, c->block, 1);
	for (int i = 0; i < 5; i++)
		store_be32(digest + 4 * i, c->state[i]);
}

void sha_hex(const unsigned char *digest, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * len] = '\0';
}

int sha_unhex(const char *hex, size_t hex_len, unsigned char *out, size_t len)
{
	if (hex_len != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = hi << 4 | lo;
	}
	return 0;
}

void git_blob_id(const void *data, size_t len, unsigned char digest[20])
{
	struct sha1_ctx c;
	char head[32];
	int n = snprintf(head, sizeof(head), "blob %zu", len);

	sha1_init(&c);
	sha1_update(&c, head, n + 1);
	sha1_update(&c, data, len);
	sha1_final(&c, digest);
}
