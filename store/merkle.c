/* SPDX-License-Identifier: Apache-2.0 */
#include "store/merkle.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/error.h"
#include "common/log.h"
#include "store/store.h"

/* SHA-256 fetched once: the implicit fetch behind SHA256()/EVP_sha256() is
 * a provider lookup per call, which costs more than hashing a leaf. */
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha_md;

static void sha_fetch(void)
{
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_md(void)
{
	pthread_once(&sha_once, sha_fetch);
	return sha_md ? sha_md : EVP_sha256();
}

/* SHA-256 of a || b with c (or a fresh context when c is NULL). */
static int sha256_2(EVP_MD_CTX *c, const void *a, size_t alen, const void *b, size_t blen,
		    uint8_t out[32])
{
	EVP_MD_CTX *own = c ? NULL : (c = EVP_MD_CTX_new());
	int rc = 0;
	if (!c || EVP_DigestInit_ex(c, sha256_md(), NULL) != 1 ||
	    EVP_DigestUpdate(c, a, alen) != 1 || (blen && EVP_DigestUpdate(c, b, blen) != 1) ||
	    EVP_DigestFinal_ex(c, out, NULL) != 1) {
		char why[256] = "out of memory";
		unsigned long e = ERR_get_error();
		if (e)
			ERR_error_string_n(e, why, sizeof(why));
		ERR_clear_error();
		log_store_err("sha-256 failed (%s)", why);
		rc = SOUK_ECRYPTO;
	}
	EVP_MD_CTX_free(own);
	return rc;
}

int merkle_sha256_ctx(EVP_MD_CTX *c, const void *data, size_t len, uint8_t out[32])
{
	return sha256_2(c, data, len, NULL, 0, out);
}

int merkle_leaf_hash_ctx(EVP_MD_CTX *c, const void *data, size_t len, uint8_t out[32])
{
	const uint8_t prefix = 0x00;
	return sha256_2(c, &prefix, 1, data, len, out);
}

int merkle_node_hash_ctx(EVP_MD_CTX *c, const uint8_t left[32], const uint8_t right[32],
			 uint8_t out[32])
{
	uint8_t buf[65];
	buf[0] = 0x01;
	memcpy(buf + 1, left, 32);
	memcpy(buf + 33, right, 32);
	return sha256_2(c, buf, sizeof(buf), NULL, 0, out);
}

int merkle_leaf_hash(const void *data, size_t len, uint8_t out[32])
{
	return merkle_leaf_hash_ctx(NULL, data, len, out);
}

int merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
	return merkle_node_hash_ctx(NULL, left, right, out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

static int ctz64(uint64_t v)
{
	return v ? __builtin_ctzll(v) : 64;
}

/* Hash of leaves [start, start + size); start is a multiple of the largest
 * power of two <= size in every call made by the RFC 6962 recursions. */
static int range_hash(merkle_node_fn fn, void *ctx, uint64_t start, uint64_t size,
		      uint8_t out[32])
{
	if ((size & (size - 1)) == 0) {
		unsigned level = (unsigned)ctz64(size);
		if (start & (size - 1))
			return SOUK_EINVAL;
		return fn(ctx, level, start >> level, out);
	}
	uint64_t k = split_point(size);
	uint8_t l[32], r[32];
	int rc = fn(ctx, (unsigned)ctz64(k), start / k, l);
	if (rc == 0)
		rc = range_hash(fn, ctx, start + k, size - k, r);
	if (rc == 0)
		rc = merkle_node_hash(l, r, out);
	return rc;
}

int merkle_root(merkle_node_fn fn, void *ctx, uint64_t size, uint8_t out[32])
{
	if (size == 0)
		return merkle_sha256_ctx(NULL, "", 0, out);
	return range_hash(fn, ctx, 0, size, out);
}

static int push(uint8_t proof[][32], size_t *n, const uint8_t h[32])
{
	if (*n >= STORE_PROOF_MAX)
		return SOUK_ETOOBIG;
	memcpy(proof[*n], h, 32);
	(*n)++;
	return 0;
}

static int path(merkle_node_fn fn, void *ctx, uint64_t m, uint64_t start, uint64_t n,
		uint8_t proof[][32], size_t *np)
{
	uint8_t h[32];
	int rc;
	if (n <= 1)
		return 0;
	uint64_t k = split_point(n);
	if (m < k) {
		rc = path(fn, ctx, m, start, k, proof, np);
		if (rc == 0)
			rc = range_hash(fn, ctx, start + k, n - k, h);
	} else {
		rc = path(fn, ctx, m - k, start + k, n - k, proof, np);
		if (rc == 0)
			rc = range_hash(fn, ctx, start, k, h);
	}
	return rc ? rc : push(proof, np, h);
}

int merkle_inclusion_proof(merkle_node_fn fn, void *ctx, uint64_t index, uint64_t size,
			   uint8_t proof[][32], size_t *nproof)
{
	*nproof = 0;
	if (index >= size)
		return SOUK_EINVAL;
	return path(fn, ctx, index, 0, size, proof, nproof);
}

static int subproof(merkle_node_fn fn, void *ctx, uint64_t m, uint64_t start, uint64_t n,
		    int whole, uint8_t proof[][32], size_t *np)
{
	uint8_t h[32];
	int rc;
	if (m == n) {
		if (whole)
			return 0;
		rc = range_hash(fn, ctx, start, n, h);
		return rc ? rc : push(proof, np, h);
	}
	uint64_t k = split_point(n);
	if (m <= k) {
		rc = subproof(fn, ctx, m, start, k, whole, proof, np);
		if (rc == 0)
			rc = range_hash(fn, ctx, start + k, n - k, h);
	} else {
		rc = subproof(fn, ctx, m - k, start + k, n - k, 0, proof, np);
		if (rc == 0)
			rc = range_hash(fn, ctx, start, k, h);
	}
	return rc ? rc : push(proof, np, h);
}

int merkle_consistency_proof(merkle_node_fn fn, void *ctx, uint64_t old_size,
			     uint64_t new_size, uint8_t proof[][32], size_t *nproof)
{
	*nproof = 0;
	if (old_size > new_size)
		return SOUK_EINVAL;
	if (old_size == 0 || old_size == new_size)
		return 0;
	return subproof(fn, ctx, old_size, 0, new_size, 1, proof, nproof);
}

static int hash_eq(const uint8_t a[32], const uint8_t b[32])
{
	return CRYPTO_memcmp(a, b, 32) == 0;
}

int merkle_verify_inclusion(const uint8_t leaf[32], uint64_t index, uint64_t size,
			    const uint8_t proof[][32], size_t nproof, const uint8_t root[32])
{
	uint8_t r[32];
	int rc = 0;
	if (index >= size)
		return SOUK_ECORRUPT;
	uint64_t fn = index, sn = size - 1;
	memcpy(r, leaf, 32);
	for (size_t i = 0; i < nproof; i++) {
		if (sn == 0)
			return SOUK_ECORRUPT;
		if ((fn & 1) || fn == sn) {
			rc = merkle_node_hash(proof[i], r, r);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			rc = merkle_node_hash(r, proof[i], r);
		}
		if (rc)
			return rc;
		fn >>= 1;
		sn >>= 1;
	}
	return (sn == 0 && hash_eq(r, root)) ? 0 : SOUK_ECORRUPT;
}

int merkle_verify_consistency(uint64_t old_size, const uint8_t old_root[32],
			      uint64_t new_size, const uint8_t new_root[32],
			      const uint8_t proof[][32], size_t nproof)
{
	uint8_t fr[32], sr[32];
	size_t i = 0;
	int rc = 0;
	if (old_size > new_size)
		return SOUK_ECORRUPT;
	if (old_size == new_size)
		return (nproof == 0 && hash_eq(old_root, new_root)) ? 0 : SOUK_ECORRUPT;
	if (old_size == 0)
		return nproof == 0 ? 0 : SOUK_ECORRUPT;
	if (nproof == 0)
		return SOUK_ECORRUPT;
	uint64_t fn = old_size - 1, sn = new_size - 1;
	if ((old_size & (old_size - 1)) == 0) {
		/* the proof omits the old root when it is a complete subtree */
		memcpy(fr, old_root, 32);
	} else {
		memcpy(fr, proof[0], 32);
		i = 1;
	}
	memcpy(sr, fr, 32);
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < nproof; i++) {
		if (sn == 0)
			return SOUK_ECORRUPT;
		if ((fn & 1) || fn == sn) {
			if ((rc = merkle_node_hash(proof[i], fr, fr)) == 0)
				rc = merkle_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			rc = merkle_node_hash(sr, proof[i], sr);
		}
		if (rc)
			return rc;
		fn >>= 1;
		sn >>= 1;
	}
	return (sn == 0 && hash_eq(fr, old_root) && hash_eq(sr, new_root)) ? 0 : SOUK_ECORRUPT;
}
