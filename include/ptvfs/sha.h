/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (the identity of a source file in the upper record) and SHA-1
 * (git's blob ids in the index lines of `ptvfs diff`), FIPS 180-4. Written
 * here so that ptvfs needs no crypto library at run time. Pure code.
 */
#ifndef PTVFS_SHA_H
#define PTVFS_SHA_H

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
	uint32_t state[8];
	uint64_t bytes;
	unsigned char block[64];
	size_t used;
};

struct sha1_ctx {
	uint32_t state[5];
	uint64_t bytes;
	unsigned char block[64];
	size_t used;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, unsigned char digest[32]);

void sha1_init(struct sha1_ctx *c);
void sha1_update(struct sha1_ctx *c, const void *data, size_t len);
void sha1_final(struct sha1_ctx *c, unsigned char digest[20]);

/* LEN bytes of DIGEST as lower-case hex into OUT (2 * LEN + 1 bytes, NUL-terminated). */
void sha_hex(const unsigned char *digest, size_t len, char *out);
/* OUT (LEN bytes) from the 2 * LEN hex digits of HEX: 0, or -EINVAL. */
int sha_unhex(const char *hex, size_t hex_len, unsigned char *out, size_t len);

/* Git's object id of a blob: SHA-1 of "blob SIZE\0" and the contents. */
void git_blob_id(const void *data, size_t len, unsigned char digest[20]);

#endif
