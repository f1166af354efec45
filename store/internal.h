/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * store/internal.h - shared between the store's source files; not public.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "store/store.h"

#define STORE_MAGIC 0x53544f52u /* "STOR" */

struct store {
	uint32_t magic;
	MDB_env *env;
	MDB_dbi db_meta, db_rec, db_hist, db_chg, db_ukey, db_idem, db_audit, db_ckpt;
	MDB_dbi db_idem2, db_idem_time; /* idempotency keys, schema 2 (store/idem.c) */
	_Atomic bool idem_v1_keys;      /* idem.v1 (schema 1) still holds keys */
	MDB_dbi db_consumer;            /* consumer cursors, schema 3 (store/consumer.c) */
	MDB_dbi db_index, db_ixver;     /* secondary indexes, schema 3 (store/index.c) */
	pthread_mutex_t wlock;     /* one writer at a time (LMDB requires it) */
	pthread_rwlock_t maplock;  /* txns hold it shared; map resizes exclusive */
	store_opts_t opts;
	pid_t pid;
	dev_t dev;
	ino_t ino;
	_Atomic bool dead;             /* a fatal environment error was seen */
	_Atomic uint64_t applies_since_check;
	uint64_t last_id_prefix;       /* ordered ids, under wlock */
	_Atomic uint64_t last_check_ms; /* last mdb_reader_check (monotonic) */
	char dir[4096];
};

#define REC_HDR 40
#define REC_FORMAT 1
#define REC_ARCHIVED 1u
#define REC_LEAF_V2 2u  /* its audit leaf is v2 (whole version); else v1 */
#define CHG_HDR 36
#define EK_MAX (STORE_KIND_MAX + 1 + 16)

typedef struct {
	uint8_t op;
	uint16_t flags;
	uint64_t version, seq, time_ms;
	const char *actor, *reason, *doc;
	size_t actor_len, reason_len, doc_len;
	const uint8_t *keys;
	size_t keys_len;
	const uint8_t *raw;   /* the whole encoded value (set by store_rec_parse) */
	size_t raw_len;
} rec_view_t;

typedef struct {
	uint8_t op;
	store_id_t id;
	uint64_t version, time_ms;
	const char *kind;
	size_t kind_len;
} chg_view_t;

int store_rec_parse(const MDB_val *v, rec_view_t *r);
int store_chg_parse(const MDB_val *v, chg_view_t *c);
/* md: a reusable hashing context, or NULL */
int store_leaf_of(uint64_t seq, const char *kind, const store_id_t *id, const rec_view_t *r,
		  EVP_MD_CTX *md, uint8_t out[32]);
size_t store_entity_key(uint8_t *buf, const char *kind, const store_id_t *id);
bool store_kind_ok(const char *kind);
int store_check_handle(store_t *s);
int store_grow_map(store_t *s);
int store_adopt_map_size(store_t *s);

/* Clear stale reader slots when the last check is older than a second
 * (or always when force); cheap when nothing is due. */
void store_reader_check_due(store_t *s, bool force);
/* The name of a refused filesystem type (network, FUSE), or NULL. */
const char *store_fs_refused(unsigned long f_type);

/* Begin/end a read transaction (handles MDB_MAP_RESIZED). */
int store_rd_begin(store_t *s, MDB_txn **txn);
void store_rd_end(store_t *s, MDB_txn *txn);
int store_mdb_err(int rc);

/* The body of a write transaction: 0 to commit, STORE_TXN_AGAIN to abort
 * and run again, or an error (a souk code, LMDB's already translated) to
 * abort and return it. It may run several times: start from scratch. */
#define STORE_TXN_AGAIN 1
typedef int (*store_txn_fn)(store_t *s, MDB_txn *txn, void *arg);
/* One write transaction with fn as its body, under wlock: begins it
 * (adopting a map grown by another process), commits, grows the map and runs
 * again on SOUK_EMAPFULL (from fn or the commit), and translates LMDB codes
 * (a fatal error marks the store dead). A read-only store gets a read-only
 * txn, committed too (fn must not write). */
int store_write_txn(store_t *s, store_txn_fn fn, void *arg);
/* store_mdb_err() for a call on s: MDB_PANIC (a fatal environment error)
 * also marks the store dead, so every later call fails with SOUK_EPANIC. */
int store_mdb_rc(store_t *s, int rc);
/* After mdb_txn_commit() failed with rc (not MDB_MAP_FULL), under the map
 * lock: SOUK_EPANIC (store marked dead) when LMDB flagged the environment
 * fatal, else rc translated. */
int store_commit_err(store_t *s, int rc);

/* A unit's view of the batch (store.c runs units, store/unit.c reads and
 * writes through it). */
struct store_txn {
	store_t *s;
	MDB_txn *txn;          /* the unit's nested txn */
	void *batch;           /* store.c's batch state */
	const char *actor;     /* for counter changes */
	int fatal;             /* batch-level error a put hit: the batch fails */
	int broken;            /* a put failed after it wrote: the unit is dropped */
};
/* One mutation in the unit's txn, as in a batch. */
int store_batch_put(store_txn_t *t, store_mut_t *m);
/* A record view into a store_rec_t (heap copy of the doc). */
int store_rec_fill(const rec_view_t *r, const store_id_t *id, store_rec_t *out);

/* Big-endian helpers for keys and values. */
static inline void store_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}
static inline uint64_t store_get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
static inline void store_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline uint32_t store_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void store_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline uint16_t store_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}


/* Audit tree access inside a transaction. */
int store_audit_node(MDB_txn *txn, MDB_dbi dbi, unsigned level, uint64_t index, uint8_t out[32]);
int store_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out);

/* Idempotency keys (store/idem.c). The scope of a key: kind \0 principal
 * (the actor) \0 key. */
#define STORE_IDEM_PRINCIPAL_MAX 63
#define STORE_IDEM_SCOPE_MAX (STORE_KIND_MAX + 1 + STORE_IDEM_PRINCIPAL_MAX + 1 + STORE_IDEM_MAX)
int store_idem_migrate_to_2(store_t *s, MDB_txn *txn);
/* After the migrations: open the schema-2 tables (an MDB code). */
int store_idem_open(store_t *s, MDB_txn *txn);
/* Inside the write txn, before any write of m: 1 when m replays a recorded
 * key (m's outputs filled, replayed=true), 0 when the key is new (scope
 * filled for store_idem_put), SOUK_EREUSED or another error. */
int store_idem_check(store_t *s, MDB_txn *txn, store_mut_t *m, uint8_t *scope, size_t *scope_len);
/* Record m's key (m->id, version and seq set) with its time index entry;
 * returns an MDB code. */
int store_idem_put(store_t *s, MDB_txn *txn, const store_mut_t *m, const uint8_t *scope,
		   size_t scope_len, uint64_t now);

/* Reads inside a caller's read transaction (store_read_*, store/consumer.c). */
/* store_scan inside txn. */
int store_history_in(store_t *s, MDB_txn *txn, const char *kind, const store_id_t *id,
		     store_rec_cb cb, void *arg);
int store_scan_in(store_t *s, MDB_txn *txn, const char *kind, const store_id_t *after,
		  store_rec_cb cb, void *arg);
int store_get_in(store_t *s, MDB_txn *txn, const char *kind, const store_id_t *id,
		 store_rec_t *out);
int store_changes_in(store_t *s, MDB_txn *txn, uint64_t after, store_change_cb cb, void *arg);

/* Consumer cursors (store/consumer.c): create the table (migration to 3) and
 * open it after the migrations (MDB codes). */
int store_consumer_migrate_to_3(store_t *s, MDB_txn *txn);
int store_consumer_open(store_t *s, MDB_txn *txn);

/* Secondary indexes (store/index.c): tables (migration to 3, open after the
 * migrations; MDB codes), a mutation's index keys checked before any write,
 * and the entries moved from the current version (cur_version 0: none) to
 * the new one inside the write txn. */
int store_index_migrate(store_t *s, MDB_txn *txn);
int store_index_open(store_t *s, MDB_txn *txn);
int store_index_validate(const store_mut_t *m);
int store_index_apply(store_t *s, MDB_txn *t, const store_mut_t *m, uint64_t cur_version,
		      bool cur_archived, uint64_t new_version, bool new_archived);
