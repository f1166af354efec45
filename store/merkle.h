/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * store/merkle.h - RFC 6962 section 2.1 Merkle tree hashing and proofs.
 *
 * Leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left ||
 * right). Trees are reached through a callback returning the hash of a
 * complete subtree (2^level leaves starting at leaf index << level), so the
 * same code serves the stored audit log (where complete subtrees are kept)
 * and in-memory trees (tests).
 */
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

typedef int (*merkle_node_fn)(void *ctx, unsigned level, uint64_t index, uint8_t out[32]);

/* Hash functions return 0, or SOUK_ECRYPTO when OpenSSL failed (logged
 * once; out is then not a hash and must not be used). */
int merkle_leaf_hash(const void *data, size_t len, uint8_t out[32]);
int merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);
/* The same with a caller's reusable context (one thread at a time; NULL =
 * a fresh context per call), and plain SHA-256. */
int merkle_leaf_hash_ctx(EVP_MD_CTX *c, const void *data, size_t len, uint8_t out[32]);
int merkle_node_hash_ctx(EVP_MD_CTX *c, const uint8_t left[32], const uint8_t right[32],
			 uint8_t out[32]);
int merkle_sha256_ctx(EVP_MD_CTX *c, const void *data, size_t len, uint8_t out[32]);
/* Root of leaves [0, size); size 0 gives SHA-256 of the empty string. */
int merkle_root(merkle_node_fn fn, void *ctx, uint64_t size, uint8_t out[32]);
int merkle_inclusion_proof(merkle_node_fn fn, void *ctx, uint64_t index, uint64_t size,
			   uint8_t proof[][32], size_t *nproof);
int merkle_consistency_proof(merkle_node_fn fn, void *ctx, uint64_t old_size,
			     uint64_t new_size, uint8_t proof[][32], size_t *nproof);
/* RFC 9162 2.1.3.2 / 2.1.4.2 verification: 0, SOUK_ECORRUPT, or
 * SOUK_ECRYPTO when hashing failed. */
int merkle_verify_inclusion(const uint8_t leaf[32], uint64_t index, uint64_t size,
			    const uint8_t proof[][32], size_t nproof, const uint8_t root[32]);
int merkle_verify_consistency(uint64_t old_size, const uint8_t old_root[32],
			      uint64_t new_size, const uint8_t new_root[32],
			      const uint8_t proof[][32], size_t nproof);
