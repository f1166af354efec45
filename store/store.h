/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * store/store.h - the LMDB system of record (public API).
 *
 * Every mutation, in one write transaction: the current record, an immutable
 * history version, a change-log entry under a monotonic sequence, and an
 * audit-log leaf (RFC 6962 Merkle tree). store_apply() takes a batch so that
 * callers can group-commit: each mutation gets its own result, the batch is
 * made durable by one commit, and nothing is reported done before that.
 *
 * Processes and threads:
 * - Open the store once per process, after any fork(); a second open of an
 *   environment already open in this process fails with SOUK_EBUSY, and a
 *   handle used in a forked child fails with SOUK_ESTALE.
 * - Every function may be called from several threads at once. LMDB allows
 *   one write transaction at a time: store_apply() serialises callers with a
 *   mutex inside the store. Reads use one read transaction per call (the
 *   environment is opened with MDB_NOTLS) and never block on writers.
 * - A fatal environment error (MDB_PANIC: LMDB could not write the meta page
 *   of a commit, so that commit may or may not be on disk) kills the store
 *   for this process: that commit and every later call fail with
 *   SOUK_EPANIC (store_status() says so); restart the process.
 * - Callbacks of store_history/store_scan/store_changes run inside a read
 *   transaction: they may call the other read functions but not
 *   store_apply(), store_backup() or store_idem_expire().
 *
 * Semantics:
 * - CREATE: id all-zero = a fresh random id (written back to mut->id), or
 *   a time-ordered one with store_opts_t.ordered_ids.
 * - CREATE and UPDATE set the entity's unique keys to exactly keys[0..nkeys)
 *   (UPDATE releases keys no longer listed and claims new ones; a key held
 *   by another entity of the kind fails the mutation with SOUK_EEXIST).
 * - DELETE archives: a new version with the same document and archived=true.
 *   Its unique keys are released (a new entity may reuse a SKU); history and
 *   the keys each version held are kept. UPDATE/DELETE of an archived entity
 *   fail with SOUK_ENOENT; REVERT to a live version restores it, re-claiming
 *   the keys that version held.
 * - REVERT: a new version whose document, keys and archived flag equal those
 *   of version revert_to.
 * - Idempotency keys are scoped by (kind, actor): the actor is the principal
 *   that made the request, and two principals never share a key. A replay
 *   returns the first mutation's id/version/seq with replayed=true and
 *   writes nothing; when both the first mutation and the replay carry a
 *   request fingerprint (idem_fp) and they differ, the replay fails with
 *   SOUK_EREUSED instead. Only successful mutations record their key.
 *   store_idem_expire() forgets old keys, oldest first, in bounded chunks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

typedef struct {
	uint64_t map_size;      /* initial map size in bytes (grows on demand) */
	uint64_t map_max;       /* ceiling for growth, 0 = no ceiling */
	uint32_t max_readers;   /* workers x threads + daemon + tools */
	bool read_only;         /* open without write access (tools) */
	/* CREATE without an id gets a time-ordered one: 8 bytes (milliseconds
	 * << 16 | a counter, increasing in this process) then 8 random bytes,
	 * instead of 16 random bytes. New records and their history then go to
	 * the end of the trees, so a batch writes far fewer pages; ids show
	 * when the entity was created. Off by default. */
	bool ordered_ids;
} store_opts_t;

int store_open(const char *dir, const store_opts_t *opts, store_t **out);
void store_close(store_t **s);

/* 128-bit random ids, shown as 32 lowercase hex characters. */
typedef struct {
	uint8_t b[16];
} store_id_t;
int store_id_new(store_id_t *out);
void store_id_hex(const store_id_t *id, char out[33]);
int store_id_parse(const char *hex, store_id_t *out);

typedef enum {
	STORE_OP_CREATE = 1, /* id, doc, unique keys */
	STORE_OP_UPDATE,     /* id, expect_version, doc, unique keys */
	STORE_OP_DELETE,     /* id, expect_version: archives (history kept) */
	STORE_OP_REVERT,     /* id, expect_version, revert_to */
} store_op_t;

typedef struct {
	/* in */
	store_op_t op;
	const char *kind;             /* entity kind, e.g. "product" */
	store_id_t id;
	uint64_t expect_version;      /* version read; 0 = no check */
	const char *doc;              /* document (JSON) */
	size_t doc_len;
	const char *const *keys;      /* unique secondary keys, e.g. "sku\0ABC" */
	const size_t *key_lens;
	size_t nkeys;
	/* secondary (non-unique) index keys of CREATE/UPDATE, "name\0value"
	 * (name 1..64 bytes, no NUL in either, at most STORE_KEY_MAX bytes):
	 * kept with the version; DELETE takes them out of the indexes, REVERT
	 * restores those of version revert_to */
	const char *const *index_keys;
	const size_t *index_key_lens;
	size_t nindex;
	uint64_t revert_to;
	const char *actor;            /* who */
	const char *reason;           /* why (may be NULL) */
	const char *idem_key;         /* Idempotency-Key (may be NULL) */
	size_t idem_key_len;
	const uint8_t *idem_fp;       /* 32-byte request fingerprint
	                                 (store_idem_fingerprint), or NULL */
	bool doc_is_json_object;      /* doc was made by json_dumps() of a jansson
	                                 object: skip parsing it again */
	/* out */
	int result;                   /* 0, SOUK_ECONFLICT, SOUK_EEXIST, SOUK_ENOENT,
	                                 SOUK_EREUSED, ... */
	uint64_t version;             /* new version */
	uint64_t seq;                 /* change-log sequence */
	uint64_t time_ms;             /* when the version was written (the
	                                 record's time, ms since the epoch) */
	bool replayed;                /* idempotent replay of an earlier mutation */
} store_mut_t;

/* Apply a batch in one durable write transaction. Returns 0 when the commit
 * is on disk (each mut has its own result), or an error when the commit
 * failed (all results are that error): then no mutation happened, except
 * with SOUK_EPANIC, after which the batch may or may not be on disk (retry
 * with the same idempotency keys after a restart). */
int store_apply(store_t *s, store_mut_t *muts, size_t n);

/* ---- units of work (store/unit.c) ----
 *
 * A unit is a function that runs inside the batch's write transaction: it
 * reads current records (seeing what earlier entries of the same batch
 * wrote), checks, and writes several entities and counters. It returns 0 to
 * keep its writes or a SOUK_* code to drop them: each unit runs in an LMDB
 * nested transaction, so a failed unit takes back only its own writes (and
 * the batch's change-log sequence and audit tree stay as if it never ran)
 * while the rest of the batch commits. Nothing is durable before the batch
 * is: store_apply_work() returns after the commit.
 * A unit may run more than once (map growth, a batch run again): it must
 * keep every effect inside the txn and set its outputs from scratch. It must
 * not call store functions other than store_txn_* and store_counter_add.
 * A put that fails after it began writing (a damaged environment) drops the
 * unit whatever the function returns; a batch-level error (map full, LMDB)
 * fails the whole batch. */
typedef struct store_txn store_txn_t;
typedef int (*store_unit_fn)(store_txn_t *t, void *arg);

/* One entry of a batch: either a mutation (mut) or a unit (fn, arg). */
typedef struct {
	store_mut_t *mut;      /* a plain mutation, or NULL */
	store_unit_fn fn;      /* a unit, or NULL */
	void *arg;
	const char *actor;     /* a unit's actor for its counter changes */
	/* out (units; a mutation's outcome is in *mut) */
	int result;            /* the unit's return, or the commit error */
	uint64_t seq;          /* last change-log sequence it wrote, 0 = none */
} store_work_t;

/* Apply a batch of mutations and units in one durable write transaction:
 * the store_apply() contract, entry by entry. */
int store_apply_work(store_t *s, store_work_t *w, size_t n);

/* A record as read: doc is heap memory the caller frees. */
typedef struct {
	store_id_t id;
	uint64_t version;
	uint64_t seq;        /* change-log sequence of this version */
	uint64_t time_ms;    /* wall clock of the change */
	bool archived;       /* deleted (archived) */
	char *doc;
	size_t doc_len;
	char actor[64];
	char reason[256];
} store_rec_t;
void store_rec_deinit(store_rec_t *r);

int store_get(store_t *s, const char *kind, const store_id_t *id, store_rec_t *out);
int store_get_by_key(store_t *s, const char *kind, const char *key, size_t key_len,
		     store_rec_t *out);
int store_get_version(store_t *s, const char *kind, const store_id_t *id,
		      uint64_t version, store_rec_t *out);
/* The entity as it was after change-log sequence seq. */
int store_get_as_of(store_t *s, const char *kind, const store_id_t *id,
		    uint64_t seq, store_rec_t *out);

/* Callbacks return 0 to go on, non-zero to stop (returned by the caller).
 * The record or change handed to a callback (doc, kind) is valid only during
 * the call; copy what you keep. doc is NUL-terminated. */
typedef int (*store_rec_cb)(const store_rec_t *rec, void *arg);
/* History of one entity, oldest first. */
int store_history(store_t *s, const char *kind, const store_id_t *id,
		  store_rec_cb cb, void *arg);
/* Every current record of a kind (archived included), in id order. */
int store_scan(store_t *s, const char *kind, store_rec_cb cb, void *arg);
/* The same from the record after id `after` (NULL = from the first), in id
 * order: a page costs what it reads, not the kind's size. */
int store_scan_after(store_t *s, const char *kind, const store_id_t *after, store_rec_cb cb,
		     void *arg);

/* Change log: entries with sequence > after, in order. */
typedef struct {
	uint64_t seq;
	const char *kind;
	store_id_t id;
	uint64_t version;
	store_op_t op;
	uint64_t time_ms;
} store_change_t;
typedef int (*store_change_cb)(const store_change_t *c, void *arg);
int store_changes(store_t *s, uint64_t after, store_change_cb cb, void *arg);
/* The last committed change-log sequence (0 for an empty log) into *out. */
int store_last_seq(store_t *s, uint64_t *out);

/* Audit log (RFC 6962): tree size and root hash. */
int store_audit_root(store_t *s, uint64_t *size, uint8_t root[32]);
/* Verify the stored log; on damage returns SOUK_ECORRUPT and *bad_index
 * names the first bad entry. Recomputes every leaf from history and the
 * change log, checks the stored tree, that the change log is 1..N without
 * gaps, that every history version is named by its change entry, and that
 * every current record equals its newest history version. *bad_index is the
 * 0-based leaf index (change-log sequence - 1), UINT64_MAX when sound. */
int store_audit_verify(store_t *s, uint64_t *bad_index);

/* Environment facts for status and metrics (and health: an error, e.g.
 * SOUK_EPANIC, when the environment cannot be read). */
typedef struct {
	uint64_t map_size;
	uint64_t used_bytes;
	uint32_t readers_used;
	uint32_t max_readers;
	uint64_t last_seq;
} store_info_t;
int store_info(store_t *s, store_info_t *out);
/* 0 while the store is usable; SOUK_EPANIC once LMDB reported a fatal error
 * of the environment (a failed meta-page write, MDB_PANIC): then every call
 * fails fast with SOUK_EPANIC and only a new process (close and reopen)
 * recovers. Cheap (no transaction); workers check it to exit and be
 * restarted. */
int store_status(store_t *s);

/* Consistent compacted copy into an empty directory while writes go on. */
int store_backup(store_t *s, const char *dir);

/* ---- extensions ---------------------------------------------------------- */

#define STORE_SCHEMA_VERSION 3u /* 2: idempotency keys by principal, time index;
                                   3: consumer cursors, secondary indexes */
#define STORE_KIND_MAX 32       /* [a-z0-9_]{1,32} */
#define STORE_KEY_MAX 400       /* unique key bytes */
#define STORE_IDEM_MAX 255      /* idempotency key bytes */
#define STORE_DOC_MAX (4u << 20) /* document bytes */
#define STORE_PROOF_MAX 64      /* hashes in any proof */

/* ---- read transactions (store/consumer.c) ---- */

/* One read transaction for several reads that must see the same committed
 * state (a snapshot of one change-log sequence): the publisher reads the
 * change log and the records it renders through one. Keep it short (it pins
 * the pages it sees, so a long one makes the file grow); one thread at a
 * time; no store_apply() while it is open on the same thread. */
typedef struct store_read store_read_t;
int store_read_begin(store_t *s, store_read_t **out);
/* The last committed sequence as of the snapshot. */
int store_read_last_seq(store_read_t *rt, uint64_t *out);
int store_read_get(store_read_t *rt, const char *kind, const store_id_t *id, store_rec_t *out);
/* store_scan in the read transaction (the records as of its sequence). */
int store_read_scan(store_read_t *rt, const char *kind, store_rec_cb cb, void *arg);
/* The versions of one entity, oldest first, as store_history, in rt's
 * snapshot. */
int store_read_history(store_read_t *rt, const char *kind, const store_id_t *id, store_rec_cb cb,
		       void *arg);
int store_read_changes(store_read_t *rt, uint64_t after, store_change_cb cb, void *arg);
/* Ends the transaction and frees *rt (NULL is fine); sets *rt to NULL. */
void store_read_end(store_read_t **rt);

/* ---- secondary indexes (store/index.c) ---- */

/* Entries of index `name` of a kind in (value, id) order. Each bound is a
 * NUL-terminated value or NULL: from (values >= from), to (values < to),
 * prefix (values starting with it; exact match: from = to-be-matched and
 * prefix = the same, or a range [v, v"\x01")). after is the cursor of the
 * previous page (NULL for the first): resumption is by position in the
 * index, so entries added or removed between pages neither repeat nor
 * hide others. limit 0 = no limit. */
#define STORE_INDEX_CURSOR_MAX (2 * (STORE_KEY_MAX + 17) + 1)
typedef struct {
	const char *from, *to, *prefix;
	const char *after;
	size_t limit;
} store_index_query_t;
/* value is NUL-terminated (value_len bytes) and valid during the call. */
typedef int (*store_index_cb)(const char *value, size_t value_len, const store_id_t *id,
			      void *arg);
/* next (may be NULL) gets the cursor of the next page, "" when this page
 * reached the end. */
int store_index_scan(store_t *s, const char *kind, const char *name,
		     const store_index_query_t *q, store_index_cb cb, void *arg,
		     char next[STORE_INDEX_CURSOR_MAX]);
/* Parse a cursor (outside input): 0, or SOUK_EINVAL. */
int store_index_cursor_parse(const char *hex, uint8_t *out, size_t cap, size_t *len);

/* ---- consumer cursors (store/consumer.c) ---- */

/* A consumer of the change log (the publisher; later search indexing,
 * notifications, webhooks) keeps the sequence up to which it has processed
 * the log under its name: [a-z0-9_.-]{1,STORE_CONSUMER_NAME_MAX}. */
#define STORE_CONSUMER_NAME_MAX 31
/* *seq = the consumer's cursor, 0 (and 0 returned) for a consumer never
 * advanced. */
int store_consumer_get(store_t *s, const char *name, uint64_t *seq);
/* Move the cursor to seq in a durable write transaction. Never backwards:
 * seq below the stored cursor leaves it as is (0 returned); seq beyond the
 * last committed sequence is SOUK_EINVAL. */
int store_consumer_advance(store_t *s, const char *name, uint64_t seq);
/* Every consumer's cursor, in name order; cb returns non-zero to stop. */
typedef int (*store_consumer_cb)(const char *name, uint64_t seq, void *arg);
int store_consumer_list(store_t *s, store_consumer_cb cb, void *arg);

/* ---- idempotency keys (store/idem.c) ---- */

/* SHA-256 of method \0 route \0 body: what a replay must repeat. */
int store_idem_fingerprint(const char *method, const char *route, const void *body, size_t len,
			   uint8_t out[32]);
/* What a key recorded, looked up outside any write (a retried request can be
 * answered before its body is parsed). */
typedef struct {
	store_id_t id;
	uint64_t version;
	uint64_t seq;
	uint64_t time_ms;
} store_idem_t;
/* 0 and *out; SOUK_ENOENT when the key is not recorded in the scope
 * (kind, principal); SOUK_EREUSED when fp (may be NULL) and the recorded
 * fingerprint differ. */
int store_idem_get(store_t *s, const char *kind, const char *principal, const char *key,
		   size_t key_len, const uint8_t *fp, store_idem_t *out);
/* m's outputs as store_apply() sets them for a replay of r. */
void store_idem_replay(const store_idem_t *r, store_mut_t *m);

#define STORE_IDEM_EXPIRE_PER_TXN 1000u /* keys deleted per write txn */
typedef struct {
	uint32_t per_txn; /* keys per write txn, 0 = STORE_IDEM_EXPIRE_PER_TXN */
	uint64_t now_ms;  /* the time older_than_ms counts back from, 0 = now */
	/* After each chunk that left more to do, with no lock held: removed so
	 * far. Non-zero stops the expiry (shutdown); the next run goes on. */
	int (*between)(void *arg, uint64_t removed);
	void *arg;
} store_idem_expire_opts_t;
/* Forget idempotency keys recorded more than older_than_ms ago, oldest
 * first, at most per_txn per write transaction; between transactions the
 * writer lock is released and expiry pauses as long as the chunk held it,
 * so other writers (of every process) wait at most one chunk. */
int store_idem_expire_opts(store_t *s, uint64_t older_than_ms, const store_idem_expire_opts_t *o,
			   uint64_t *removed);
/* The same with the default options. */
int store_idem_expire(store_t *s, uint64_t older_than_ms, uint64_t *removed);
/* Clear reader slots left by dead processes (also done at open and every
 * few commits); *cleared may be NULL. */
int store_reader_check(store_t *s, int *cleared);
/* Schema version recorded in the environment. */
int store_schema_version(store_t *s, uint32_t *out);

/* Audit leaf hash at index (0-based; leaf i is change-log sequence i+1). */
int store_audit_leaf(store_t *s, uint64_t index, uint8_t out[32]);
/* Root of the first `size` leaves (size <= current size). */
int store_audit_root_at(store_t *s, uint64_t size, uint8_t root[32]);
/* RFC 6962 2.1.1 audit path for leaf `index` in the tree of `size` leaves. */
int store_audit_inclusion_proof(store_t *s, uint64_t index, uint64_t size,
				uint8_t proof[][32], size_t *nproof);
/* RFC 6962 2.1.2 consistency proof between tree sizes old_size <= new_size. */
int store_audit_consistency_proof(store_t *s, uint64_t old_size, uint64_t new_size,
				  uint8_t proof[][32], size_t *nproof);
/* The canonical leaf data of a change: fills buf (at most cap bytes) and
 * *len; the leaf hash is SHA-256(0x00 || data).
 * v2, every version written by this code: covers the whole version as
 * stored in history. head_sha256 is SHA-256 of its encoded value up to the
 * document (header with op, flags (archived, leaf v2), doc length,
 * version, seq, time; then actor, reason and the unique keys it holds),
 * doc_sha256 that of the document:
 *   "souk-leaf-v2" \0, u64 seq, u16 kind_len, kind, id[16], head_sha256,
 *   doc_sha256 */
int store_audit_leaf_data_v2(uint64_t seq, const char *kind, const store_id_t *id,
			     const uint8_t head_sha256[32], const uint8_t doc_sha256[32],
			     uint8_t *buf, size_t cap, size_t *len);
/* v1, versions written before leaf v2 (still verified as such): covers
 * neither the reason, the archived flag nor the unique keys.
 *   "souk-leaf-v1" \0, u64 seq, u16 kind_len, kind, id[16], u64 version,
 *   u8 op, u16 actor_len, actor, u64 time_ms, doc_sha256 */
int store_audit_leaf_data(uint64_t seq, const char *kind, const store_id_t *id,
			  uint64_t version, store_op_t op, const char *actor,
			  uint64_t time_ms, const uint8_t doc_sha256[32],
			  uint8_t *buf, size_t cap, size_t *len);

/* Signed checkpoints (Ed25519; the private key is a PEM file outside LMDB,
 * mode 0600). Text form, one item per line, signature over the first four:
 *   souk-checkpoint v1\nsize N\nroot HEX\ntime MS\nsig HEX\n */
typedef struct {
	uint64_t size;
	uint8_t root[32];
	uint64_t time_ms;
	uint8_t sig[64];
} store_checkpoint_t;
#define STORE_CHECKPOINT_TEXT_MAX 512
int store_audit_keygen(const char *priv_path, const char *pub_path);
/* Sign the current tree head, store it in the environment, and write its
 * text form (NUL-terminated) to text[STORE_CHECKPOINT_TEXT_MAX]. */
int store_audit_checkpoint(store_t *s, const char *priv_path, store_checkpoint_t *out,
			   char *text);
int store_checkpoint_format(const store_checkpoint_t *cp, char *text, size_t cap);
int store_checkpoint_parse(const char *text, size_t len, store_checkpoint_t *out);
/* Check the signature with a PEM public (or private) key file. */
int store_checkpoint_verify_sig(const store_checkpoint_t *cp, const char *key_path);
/* Check that the current log extends the checkpointed one (consistency
 * proof from cp->size to the current size): 0 or SOUK_ECORRUPT. */
int store_audit_check_checkpoint(store_t *s, const store_checkpoint_t *cp);

/* ---- inside a unit ---- */

/* Reads in the unit's txn: the record as the batch has it so far. */
int store_txn_get(store_txn_t *t, const char *kind, const store_id_t *id, store_rec_t *out);
int store_txn_get_by_key(store_txn_t *t, const char *kind, const char *key, size_t key_len,
			 store_rec_t *out);
/* The first live entity of kind holding secondary key "name\0value"
 * (model_key_encode), in id order: 0 and *id, or SOUK_ENOENT. */
int store_txn_index_first(store_txn_t *t, const char *kind, const char *key, size_t key_len,
			  store_id_t *id);
/* A mutation as store_apply() does it (history, change log, audit leaf,
 * unique keys, idempotency key); returns and sets m->result. */
int store_txn_put(store_txn_t *t, store_mut_t *m);

/* Document versions of kinds: the shape a kind's stored documents have
 * (model_kind_t.version). 0 when never recorded (documents from before
 * kinds were versioned). Recorded inside a unit, so the marker commits
 * with the last documents it moved to the new shape (daemon/migrate.c). */
#define STORE_KIND_NAME_MAX 32
int store_kind_version(store_t *s, const char *kind, uint32_t *out);
int store_txn_set_kind_version(store_txn_t *t, const char *kind, uint32_t version);

/* Counters: named int64 values for stock and usage limits.
 * A counter is a record of kind STORE_COUNTER_KIND whose id is the first 16
 * bytes of SHA-256("souk-counter" \0 name) and whose document is compact,
 * {"name":"...","value":N}: every change is a version like any record's
 * (history with actor and time, change-log entry, audit leaf), so the audit
 * stays complete and store_audit_verify covers counters with no new
 * sub-database or schema change. The publisher ignores the kind. A counter
 * never written reads as SOUK_ENOENT and starts at 0 on its first add.
 * Names: 1..STORE_COUNTER_NAME_MAX of [A-Za-z0-9._:-]. */
#define STORE_COUNTER_KIND "counter"
#define STORE_COUNTER_NAME_MAX 128
bool store_counter_name_ok(const char *name, size_t len);
int store_counter_id(const char *name, size_t len, store_id_t *out);
/* Add delta (may be negative) inside a unit: SOUK_ELIMIT when the result
 * would be < floor or > ceiling (or overflow), and nothing is written;
 * else the new value in *value_out (may be NULL). The change's actor is the
 * unit's (store_work_t.actor). */
int store_counter_add(store_txn_t *t, const char *name, size_t name_len, int64_t delta,
		      int64_t floor, int64_t ceiling, int64_t *value_out);
/* The committed value, outside any txn: 0 or SOUK_ENOENT. */
int store_counter_get(store_t *s, const char *name, size_t name_len, int64_t *value_out);
