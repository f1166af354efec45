/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_tamper - damage a store the way an attacker with file access would,
 * by editing LMDB directly (for testing the audit verifier).
 *
 *   store_tamper DIR edit-doc|edit-reason|archive|edit-leaf|truncate|reorder SEQ
 *
 * edit-doc   flips one byte of the document of the history version at SEQ
 * edit-reason  changes the reason of the version at SEQ (history, and the
 *            current record when it is that version)
 * archive    flips the archived flag of the version at SEQ (likewise)
 * edit-leaf  flips one byte of audit leaf SEQ-1
 * truncate   removes change-log entries SEQ.. and their audit leaves
 * reorder    swaps change-log entries SEQ and SEQ+1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "common/util.h"
#include "tests/tools/store_raw.h"

#define CHECK(x)                                                                     \
	do {                                                                         \
		int rc_ = (x);                                                       \
		if (rc_) {                                                           \
			fprintf(stderr, "store_tamper, %s failed (%s)\n", #x, mdb_strerror(rc_)); \
			exit(1);                                                     \
		}                                                                    \
	} while (0)

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi chg, hist, audit, rec;
	MDB_val k, v;
	uint64_t seq;
	uint8_t kb[8];
	if (argc != 4 || souk_parse_u64(argv[3], 1, UINT64_MAX / 2, &seq) != 0) {
		fprintf(stderr, "usage: store_tamper DIR edit-doc|edit-reason|archive|edit-leaf|truncate|reorder SEQ\n");
		return 2;
	}
	CHECK(mdb_env_create(&env));
	CHECK(mdb_env_set_maxdbs(env, 16));
	CHECK(mdb_env_set_mapsize(env, 0));
	CHECK(mdb_env_open(env, argv[1], 0, 0600));
	CHECK(mdb_txn_begin(env, NULL, 0, &txn));
	CHECK(mdb_dbi_open(txn, "changes.v1", 0, &chg));
	CHECK(mdb_dbi_open(txn, "history.v1", 0, &hist));
	CHECK(mdb_dbi_open(txn, "audit.v1", 0, &audit));
	CHECK(mdb_dbi_open(txn, "records.v1", 0, &rec));
	be64(kb, seq);
	k = (MDB_val){ 8, kb };
	const char *how = argv[2];
	if (strcmp(how, "edit-doc") == 0) {
		CHECK(mdb_get(txn, chg, &k, &v));
		uint8_t hk[64];
		MDB_val hkv = { store_raw_hist_key(v.mv_data, hk), hk }, hv;
		CHECK(mdb_get(txn, hist, &hkv, &hv));
		uint8_t *copy = malloc(hv.mv_size);
		memcpy(copy, hv.mv_data, hv.mv_size);
		copy[hv.mv_size - 2] ^= 0x01;
		MDB_val nv = { hv.mv_size, copy };
		CHECK(mdb_put(txn, hist, &hkv, &nv, 0));
		free(copy);
	} else if (strcmp(how, "edit-reason") == 0) {
		CHECK(store_raw_rewrite_version(txn, chg, hist, rec, seq, store_raw_edit_reason));
	} else if (strcmp(how, "archive") == 0) {
		CHECK(store_raw_rewrite_version(txn, chg, hist, rec, seq, store_raw_edit_archived));
	} else if (strcmp(how, "edit-leaf") == 0) {
		uint8_t ak[9] = { 0 }, h[32];
		be64(ak + 1, seq - 1);
		MDB_val akv = { 9, ak };
		CHECK(mdb_get(txn, audit, &akv, &v));
		memcpy(h, v.mv_data, 32);
		h[5] ^= 0x40;
		MDB_val nv = { 32, h };
		CHECK(mdb_put(txn, audit, &akv, &nv, 0));
	} else if (strcmp(how, "truncate") == 0) {
		for (uint64_t s = seq;; s++) {
			uint8_t ak[9] = { 0 };
			be64(kb, s);
			be64(ak + 1, s - 1);
			MDB_val ck = { 8, kb }, akv = { 9, ak };
			int a = mdb_del(txn, chg, &ck, NULL), b = mdb_del(txn, audit, &akv, NULL);
			if (a == MDB_NOTFOUND && b == MDB_NOTFOUND)
				break;
		}
	} else if (strcmp(how, "reorder") == 0) {
		uint8_t kb2[8], a[128], b[128];
		be64(kb2, seq + 1);
		MDB_val k2 = { 8, kb2 }, v2;
		CHECK(mdb_get(txn, chg, &k, &v));
		size_t al = v.mv_size < sizeof(a) ? v.mv_size : sizeof(a);
		memcpy(a, v.mv_data, al);
		CHECK(mdb_get(txn, chg, &k2, &v2));
		size_t bl = v2.mv_size < sizeof(b) ? v2.mv_size : sizeof(b);
		memcpy(b, v2.mv_data, bl);
		MDB_val na = { al, a }, nb = { bl, b };
		CHECK(mdb_put(txn, chg, &k, &nb, 0));
		CHECK(mdb_put(txn, chg, &k2, &na, 0));
	} else {
		fprintf(stderr, "store_tamper, unknown damage '%s'\n", how);
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return 2;
	}
	CHECK(mdb_txn_commit(txn));
	mdb_env_close(env);
	return 0;
}
