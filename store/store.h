#pragma once
/*
 * store/store.h - the LMDB system of record (public API).
 *
 * Every mutation, in one write transaction: the current record, an immutable
 * history version, a change-log entry under a monotonic sequence, and an
 * audit-log leaf (RFC 6962 Merkle tree). store_apply() takes a batch so that
 * callers can group-commit: each mutation gets its own result, the batch is
 * made durable by one commit, and nothing is reported done before that.
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
	uint64_t revert_to;
	const char *actor;            /* who */
	const char *reason;           /* why (may be NULL) */
	const char *idem_key;         /* Idempotency-Key (may be NULL) */
	size_t idem_key_len;
	/* out */
	int result;                   /* 0, SOUK_ECONFLICT, SOUK_EEXIST, SOUK_ENOENT, ... */
	uint64_t version;             /* new version */
	uint64_t seq;                 /* change-log sequence */
	bool replayed;                /* idempotent replay of an earlier mutation */
} store_mut_t;

/* Apply a batch in one durable write transaction. Returns 0 when the commit
 * is on disk (each mut has its own result), or an error when the commit
 * failed (then no mutation happened and all results are that error). */
int store_apply(store_t *s, store_mut_t *muts, size_t n);

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

/* Callbacks return 0 to go on, non-zero to stop (returned by the caller). */
typedef int (*store_rec_cb)(const store_rec_t *rec, void *arg);
/* History of one entity, oldest first. */
int store_history(store_t *s, const char *kind, const store_id_t *id,
		  store_rec_cb cb, void *arg);
/* Every current record of a kind (archived included), in id order. */
int store_scan(store_t *s, const char *kind, store_rec_cb cb, void *arg);

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
uint64_t store_last_seq(store_t *s);

/* Audit log (RFC 6962): tree size and root hash. */
int store_audit_root(store_t *s, uint64_t *size, uint8_t root[32]);
/* Verify the stored log; on damage returns SOUK_ECORRUPT and *bad_index
 * names the first bad entry. */
int store_audit_verify(store_t *s, uint64_t *bad_index);

/* Environment facts for status and metrics. */
typedef struct {
	uint64_t map_size;
	uint64_t used_bytes;
	uint32_t readers_used;
	uint32_t max_readers;
	uint64_t last_seq;
} store_info_t;
int store_info(store_t *s, store_info_t *out);

/* Consistent compacted copy into an empty directory while writes go on. */
int store_backup(store_t *s, const char *dir);
