/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * tests/tools/store_raw.h - the on-disk layout of store entries, for tests
 * that damage a store by editing LMDB directly (store_tamper, test_store).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

/* The history key (kind, NUL, id, version) of the version the change-log
 * entry c names, into hk (64 bytes); returns its length. */
static inline size_t store_raw_hist_key(const uint8_t *c, uint8_t hk[64])
{
	size_t kl = (size_t)(c[2] << 8 | c[3]);
	memcpy(hk, c + 36, kl);
	hk[kl] = 0;
	memcpy(hk + kl + 1, c + 4, 16);
	memcpy(hk + kl + 17, c + 20, 8);
	return kl + 25;
}

/* In an encoded record value (40-byte header, actor, reason, keys, doc):
 * where its reason starts, its length into *len. */
static inline size_t store_raw_reason(const uint8_t *v, size_t *len)
{
	*len = (size_t)(v[34] << 8 | v[35]);
	return 40 + (size_t)(v[32] << 8 | v[33]);
}
/* The flags byte holding bit 0 (archived) of an encoded record value. */
#define STORE_RAW_FLAGS_LOW 3

/* Rewrite the version named by change-log entry seq the way an attacker who
 * covers tracks would: edit() changes a copy of its history value in place,
 * and the current record gets the same bytes when it is that version (so
 * only the audit leaf can tell). 0 or an LMDB code. */
static inline int store_raw_rewrite_version(MDB_txn *txn, MDB_dbi chg, MDB_dbi hist, MDB_dbi rec,
					    uint64_t seq, void (*edit)(uint8_t *v, size_t len))
{
	uint8_t kb[8], hk[64];
	MDB_val k = { 8, kb }, v, hv, rv;
	for (int i = 0; i < 8; i++)
		kb[i] = (uint8_t)(seq >> (56 - 8 * i));
	int rc = mdb_get(txn, chg, &k, &v);
	if (rc)
		return rc;
	size_t hkl = store_raw_hist_key(v.mv_data, hk);
	MDB_val hkv = { hkl, hk }, rkv = { hkl - 8, hk };
	if ((rc = mdb_get(txn, hist, &hkv, &hv)) != 0)
		return rc;
	uint8_t *copy = malloc(hv.mv_size);
	if (!copy)
		return ENOMEM;
	memcpy(copy, hv.mv_data, hv.mv_size);
	bool current = mdb_get(txn, rec, &rkv, &rv) == 0 && rv.mv_size == hv.mv_size &&
		       memcmp(rv.mv_data, hv.mv_data, hv.mv_size) == 0;
	edit(copy, hv.mv_size);
	MDB_val nv = { hv.mv_size, copy };
	rc = mdb_put(txn, hist, &hkv, &nv, 0);
	if (rc == 0 && current)
		rc = mdb_put(txn, rec, &rkv, &nv, 0);
	free(copy);
	return rc;
}

/* Edits for store_raw_rewrite_version(). */
static inline void store_raw_edit_reason(uint8_t *v, size_t len)
{
	size_t rl, off = store_raw_reason(v, &rl);
	if (rl > 0 && off + rl <= len)
		v[off] ^= 0x20; /* "unit test" -> "Unit test": a rewritten "why" */
}
static inline void store_raw_edit_archived(uint8_t *v, size_t len)
{
	if (len > STORE_RAW_FLAGS_LOW)
		v[STORE_RAW_FLAGS_LOW] ^= 0x01;
}
