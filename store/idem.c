/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/idem.c - idempotency keys: lookup, record, expiry.
 *
 * Sub-databases (schema version 2):
 *   idem.v2       scope                 -> time u64, id[16], version u64,
 *                                          seq u64, fingerprint[32]
 *   idemtime.v2   time u64 || scope     -> (empty)
 * scope = kind \0 principal \0 key; the principal is the mutation's actor
 * (the admin bearer's "admin" today, a staff or customer identity later), so
 * two principals never see each other's keys. The fingerprint is SHA-256 of
 * the request (store_idem_fingerprint); all zero when the caller gave none,
 * and then a replay is not compared.
 *
 * idemtime.v2 is written in the same transaction as idem.v2 and sorts by
 * time, so expiry reads only what it deletes, oldest first, and deletes in
 * chunks of at most per_txn keys per write transaction. Between chunks the
 * writer locks (this process's mutex and LMDB's, shared by every process)
 * are released and expiry pauses as long as the chunk held them, so writers
 * keep at least half of the writer's time and wait at most one chunk.
 *
 * Environments of schema version 1 have idem.v1 (kind \0 key -> time, id,
 * version, seq; no principal, no fingerprint, no time index). Nothing writes
 * it any more; lookups still consult it while it holds keys (a replay then
 * is not compared), and expiry walks it in chunks too until it is empty.
 */
#include "store/internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#define IDEM_VAL 72
#define IDEM_V1_VAL 40
#define IDEM_PAUSE_MAX_MS 100
#define IDEM_CHUNKS_MAX (UINT64_C(1) << 40) /* bounds every loop below */

static const uint8_t zero_fp[32];

int store_idem_migrate_to_2(store_t *s, MDB_txn *txn)
{
	MDB_dbi dbi;
	int rc;
	(void)s;
	if ((rc = mdb_dbi_open(txn, "idem.v2", MDB_CREATE, &dbi)) != 0)
		return rc;
	return mdb_dbi_open(txn, "idemtime.v2", MDB_CREATE, &dbi);
}

int store_idem_open(store_t *s, MDB_txn *txn)
{
	MDB_stat st;
	int rc;
	if ((rc = mdb_dbi_open(txn, "idem.v2", 0, &s->db_idem2)) != 0 ||
	    (rc = mdb_dbi_open(txn, "idemtime.v2", 0, &s->db_idem_time)) != 0 ||
	    (rc = mdb_stat(txn, s->db_idem, &st)) != 0)
		return rc;
	atomic_store(&s->idem_v1_keys, st.ms_entries > 0);
	return 0;
}

/* kind \0 principal \0 key into buf[STORE_IDEM_SCOPE_MAX]; 0 when too long. */
static size_t scope_key(uint8_t *buf, const char *kind, const char *principal, const void *key,
			size_t key_len)
{
	size_t kl = strlen(kind), pl = strlen(principal);
	if (kl > STORE_KIND_MAX || pl > STORE_IDEM_PRINCIPAL_MAX || key_len > STORE_IDEM_MAX)
		return 0;
	memcpy(buf, kind, kl);
	buf[kl] = 0;
	memcpy(buf + kl + 1, principal, pl);
	buf[kl + 1 + pl] = 0;
	memcpy(buf + kl + pl + 2, key, key_len);
	return kl + pl + 2 + key_len;
}

/* The key recorded under scope (or, for version-1 environments, under
 * kind \0 key): 0 and *out, SOUK_ENOENT, SOUK_EREUSED when both sides have
 * a fingerprint and they differ, or another error. */
static int lookup(store_t *s, MDB_txn *txn, const uint8_t *scope, size_t scope_len,
		  const char *kind, const void *key, size_t key_len, const uint8_t *fp,
		  store_idem_t *out)
{
	MDB_val k = {scope_len, (void *)scope}, v;
	int rc = mdb_get(txn, s->db_idem2, &k, &v);
	if (rc == 0) {
		const uint8_t *p = v.mv_data;
		if (v.mv_size != IDEM_VAL)
			return SOUK_ECORRUPT;
		if (fp && memcmp(fp, zero_fp, 32) != 0 && memcmp(p + 40, zero_fp, 32) != 0 &&
		    memcmp(p + 40, fp, 32) != 0)
			return SOUK_EREUSED;
	} else if (rc == MDB_NOTFOUND && atomic_load(&s->idem_v1_keys)) {
		uint8_t lk[STORE_KIND_MAX + 1 + STORE_IDEM_MAX];
		size_t kl = strlen(kind);
		memcpy(lk, kind, kl + 1);
		memcpy(lk + kl + 1, key, key_len);
		k = (MDB_val){kl + 1 + key_len, lk};
		if ((rc = mdb_get(txn, s->db_idem, &k, &v)) == 0 && v.mv_size != IDEM_V1_VAL)
			return SOUK_ECORRUPT;
	}
	if (rc)
		return store_mdb_err(rc);
	const uint8_t *p = v.mv_data;
	out->time_ms = store_get_u64(p);
	memcpy(out->id.b, p + 8, 16);
	out->version = store_get_u64(p + 24);
	out->seq = store_get_u64(p + 32);
	return 0;
}

int store_idem_check(store_t *s, MDB_txn *txn, store_mut_t *m, uint8_t *scope, size_t *scope_len)
{
	store_idem_t r;
	*scope_len = scope_key(scope, m->kind, m->actor, m->idem_key, m->idem_key_len);
	if (*scope_len == 0)
		return SOUK_EINVAL;
	int rc = lookup(s, txn, scope, *scope_len, m->kind, m->idem_key, m->idem_key_len,
			m->idem_fp, &r);
	if (rc == SOUK_ENOENT)
		return 0;
	if (rc)
		return rc;
	store_idem_replay(&r, m);
	return 1;
}

void store_idem_replay(const store_idem_t *r, store_mut_t *m)
{
	m->result = 0;
	m->id = r->id;
	m->version = r->version;
	m->seq = r->seq;
	m->time_ms = r->time_ms;
	m->replayed = true;
}

int store_idem_put(store_t *s, MDB_txn *txn, const store_mut_t *m, const uint8_t *scope,
		   size_t scope_len, uint64_t now)
{
	uint8_t val[IDEM_VAL], tk[8 + STORE_IDEM_SCOPE_MAX];
	store_put_u64(val, now);
	memcpy(val + 8, m->id.b, 16);
	store_put_u64(val + 24, m->version);
	store_put_u64(val + 32, m->seq);
	memcpy(val + 40, m->idem_fp ? m->idem_fp : zero_fp, 32);
	MDB_val k = {scope_len, (void *)scope}, v = {IDEM_VAL, val};
	int rc = mdb_put(txn, s->db_idem2, &k, &v, MDB_NOOVERWRITE);
	if (rc)
		return rc;
	store_put_u64(tk, now);
	memcpy(tk + 8, scope, scope_len);
	k = (MDB_val){8 + scope_len, tk};
	v = (MDB_val){0, ""};
	return mdb_put(txn, s->db_idem_time, &k, &v, 0);
}

int store_idem_fingerprint(const char *method, const char *route, const void *body, size_t len,
			   uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(md, method, strlen(method) + 1) &&
		 EVP_DigestUpdate(md, route, strlen(route) + 1) &&
		 (len == 0 || EVP_DigestUpdate(md, body, len)) && EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
	if (!ok || n != 32) {
		memset(out, 0, 32);
		log_store_err("idempotency, request fingerprint failed (SHA-256)");
		return SOUK_ECRYPTO;
	}
	return 0;
}

int store_idem_get(store_t *s, const char *kind, const char *principal, const char *key,
		   size_t key_len, const uint8_t *fp, store_idem_t *out)
{
	uint8_t scope[STORE_IDEM_SCOPE_MAX];
	MDB_txn *txn;
	size_t n;
	if (!store_kind_ok(kind) || !principal || !*principal || !key || key_len == 0 || !out ||
	    (n = scope_key(scope, kind, principal, key, key_len)) == 0)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = lookup(s, txn, scope, n, kind, key, key_len, fp, out);
	store_rd_end(s, txn);
	return rc;
}

/* ---- expiry --------------------------------------------------------------------------- */

typedef struct {
	uint64_t cutoff;
	uint32_t per_txn;
	uint64_t removed; /* by the last chunk */
	bool more;        /* the last chunk stopped at per_txn */
	/* version-1 walk: where this chunk starts, and where the next one will
	 * (taken over once this one committed) */
	uint8_t pos[STORE_KIND_MAX + 1 + STORE_IDEM_MAX];
	size_t pos_len;
	uint8_t next[STORE_KIND_MAX + 1 + STORE_IDEM_MAX];
	size_t next_len;
} expiry_t;

/* Up to per_txn keys of idemtime.v2 not younger than cutoff, oldest first,
 * with their idem.v2 entries. */
static int chunk_v2(store_t *s, MDB_txn *txn, expiry_t *e)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, s->db_idem_time, &cur);
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size >= 8 && store_get_u64(k.mv_data) > e->cutoff)
			break;
		if (e->removed == e->per_txn) {
			e->more = true;
			break;
		}
		if (k.mv_size > 8) {
			MDB_val sk = {k.mv_size - 8, (uint8_t *)k.mv_data + 8};
			rc = mdb_del(txn, s->db_idem2, &sk, NULL);
			if (rc && rc != MDB_NOTFOUND)
				break;
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		e->removed++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Up to per_txn entries of idem.v1 from e->pos on; deletes those not younger
 * than cutoff, and remembers in e->next where the walk goes on. */
static int chunk_v1(store_t *s, MDB_txn *txn, expiry_t *e)
{
	MDB_cursor *cur;
	MDB_val k = {e->pos_len, e->pos}, v;
	uint32_t seen = 0;
	int rc = mdb_cursor_open(txn, s->db_idem, &cur);
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, e->pos_len ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (seen++ == e->per_txn) {
			if (k.mv_size > sizeof(e->next)) {
				rc = MDB_CORRUPTED;
				break;
			}
			memcpy(e->next, k.mv_data, k.mv_size);
			e->next_len = k.mv_size;
			e->more = true;
			break;
		}
		if (v.mv_size == IDEM_V1_VAL && store_get_u64(v.mv_data) > e->cutoff)
			continue;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		e->removed++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct {
	int (*fn)(store_t *, MDB_txn *, expiry_t *);
	expiry_t *e;
} chunk_t;

/* The body of one chunk's write transaction (run again from scratch after
 * the map grew). */
static int chunk_body(store_t *s, MDB_txn *txn, void *arg)
{
	chunk_t *c = arg;
	c->e->removed = 0;
	c->e->more = false;
	c->e->next_len = 0;
	return store_mdb_rc(s, c->fn(s, txn, c->e));
}

/* One chunk in its own write transaction (store_write_txn: under wlock,
 * map resize and growth handled). Returns a souk code. */
static int chunk_txn(store_t *s, int (*fn)(store_t *, MDB_txn *, expiry_t *), expiry_t *e)
{
	chunk_t c = {fn, e};
	int rc = store_write_txn(s, chunk_body, &c);
	if (rc == 0 && e->more) {
		memcpy(e->pos, e->next, e->next_len);
		e->pos_len = e->next_len;
	}
	return rc;
}

static void pause_ms(uint64_t ms)
{
	if (ms > IDEM_PAUSE_MAX_MS)
		ms = IDEM_PAUSE_MAX_MS;
	struct timespec ts = {0, (long)(ms ? ms : 1) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Chunks of fn until one finds nothing more to do (or between stops us). */
static int expire_all(store_t *s, int (*fn)(store_t *, MDB_txn *, expiry_t *), expiry_t *e,
		      const store_idem_expire_opts_t *o, uint64_t *total, bool *stopped)
{
	for (uint64_t i = 0; i < IDEM_CHUNKS_MAX; i++) {
		uint64_t t0 = souk_now_mono_ms();
		int rc = chunk_txn(s, fn, e);
		if (rc)
			return rc;
		*total += e->removed;
		if (!e->more)
			return 0;
		if (o->between && o->between(o->arg, *total) != 0) {
			*stopped = true;
			return 0;
		}
		pause_ms(souk_now_mono_ms() - t0);
	}
	return 0;
}

static int v1_count(store_t *s, uint64_t *n)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_stat(txn, s->db_idem, &st));
	store_rd_end(s, txn);
	*n = rc == 0 ? st.ms_entries : 0;
	return rc;
}

int store_idem_expire_opts(store_t *s, uint64_t older_than_ms, const store_idem_expire_opts_t *o,
			   uint64_t *removed)
{
	static const store_idem_expire_opts_t def = {0};
	expiry_t e = {0};
	uint64_t total = 0, now = souk_now_real_ms();
	bool stopped = false;
	int rc = store_check_handle(s);
	if (removed)
		*removed = 0;
	if (rc)
		return rc;
	if (s->opts.read_only)
		return -EROFS;
	if (!o)
		o = &def;
	if (o->now_ms)
		now = o->now_ms;
	e.cutoff = now > older_than_ms ? now - older_than_ms : 0;
	e.per_txn = o->per_txn ? o->per_txn : STORE_IDEM_EXPIRE_PER_TXN;
	rc = expire_all(s, chunk_v2, &e, o, &total, &stopped);
	/* schema-1 keys: asked again each run, since a process of the previous
	 * version may still write them during an upgrade */
	uint64_t v1 = 0;
	if (rc == 0 && !stopped && (rc = v1_count(s, &v1)) == 0 && v1 > 0) {
		atomic_store(&s->idem_v1_keys, true);
		rc = expire_all(s, chunk_v1, &e, o, &total, &stopped);
		if (rc == 0 && !stopped && (rc = v1_count(s, &v1)) == 0 && v1 == 0)
			log_store_info("idempotency, no keys of schema version 1 left");
	}
	if (rc == 0 && !stopped && v1 == 0)
		atomic_store(&s->idem_v1_keys, false);
	if (removed)
		*removed = total;
	return rc;
}

int store_idem_expire(store_t *s, uint64_t older_than_ms, uint64_t *removed)
{
	return store_idem_expire_opts(s, older_than_ms, NULL, removed);
}
