/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/unit.c - reads, writes and counters inside a unit of work.
 *
 * The unit runs in a nested txn of the batch (store.c run_unit); reads here
 * go to that txn, so they see what earlier entries of the batch wrote.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/error.h"
#include "store/internal.h"

int store_txn_get(store_txn_t *t, const char *kind, const store_id_t *id, store_rec_t *out)
{
	uint8_t ek[EK_MAX];
	rec_view_t r;
	MDB_val k, v;
	if (!t || !store_kind_ok(kind) || !id || !out)
		return SOUK_EINVAL;
	k = (MDB_val){ store_entity_key(ek, kind, id), ek };
	int rc = store_mdb_err(mdb_get(t->txn, t->s->db_rec, &k, &v));
	if (rc == 0)
		rc = store_rec_parse(&v, &r);
	return rc ? rc : store_rec_fill(&r, id, out);
}

int store_txn_get_by_key(store_txn_t *t, const char *kind, const char *key, size_t key_len,
			 store_rec_t *out)
{
	uint8_t kb[STORE_KIND_MAX + 1 + STORE_KEY_MAX];
	store_id_t id;
	MDB_val k, v;
	if (!t || !store_kind_ok(kind) || !key || key_len == 0 || key_len > STORE_KEY_MAX || !out)
		return SOUK_EINVAL;
	size_t kl = strlen(kind);
	memcpy(kb, kind, kl);
	kb[kl] = 0;
	memcpy(kb + kl + 1, key, key_len);
	k = (MDB_val){ kl + 1 + key_len, kb };
	int rc = store_mdb_err(mdb_get(t->txn, t->s->db_ukey, &k, &v));
	if (rc)
		return rc;
	if (v.mv_size != 16)
		return SOUK_ECORRUPT;
	memcpy(id.b, v.mv_data, 16);
	rc = store_txn_get(t, kind, &id, out);
	return rc == SOUK_ENOENT ? SOUK_ECORRUPT : rc;
}

int store_txn_put(store_txn_t *t, store_mut_t *m)
{
	if (!t || !m)
		return SOUK_EINVAL;
	return store_batch_put(t, m);
}

/* ---- kind document versions ---- */

static int kindver_key(const char *kind, char buf[16 + STORE_KIND_NAME_MAX], MDB_val *k)
{
	size_t n = kind ? strlen(kind) : 0;
	if (n == 0 || n > STORE_KIND_NAME_MAX)
		return SOUK_EINVAL;
	memcpy(buf, "kind_version:", 13);
	memcpy(buf + 13, kind, n);
	k->mv_size = 13 + n;
	k->mv_data = buf;
	return 0;
}

int store_kind_version(store_t *s, const char *kind, uint32_t *out)
{
	char buf[16 + STORE_KIND_NAME_MAX];
	MDB_val k, v;
	MDB_txn *txn;
	int rc = kindver_key(kind, buf, &k);
	if (rc || !out)
		return rc ? rc : SOUK_EINVAL;
	if ((rc = store_rd_begin(s, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, s->db_meta, &k, &v);
	*out = 0;
	if (rc == 0 && v.mv_size == 4)
		*out = store_get_u32(v.mv_data);
	else if (rc == 0)
		rc = MDB_CORRUPTED;
	store_rd_end(s, txn);
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

int store_txn_set_kind_version(store_txn_t *t, const char *kind, uint32_t version)
{
	char buf[16 + STORE_KIND_NAME_MAX];
	uint8_t b[4];
	MDB_val k, v = {4, b};
	int rc = t ? kindver_key(kind, buf, &k) : SOUK_EINVAL;
	if (rc)
		return rc;
	store_put_u32(b, version);
	return store_mdb_err(mdb_put(t->txn, t->s->db_meta, &k, &v, 0));
}

/* ---- counters ---- */

bool store_counter_name_ok(const char *name, size_t len)
{
	if (!name || len == 0 || len > STORE_COUNTER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

int store_counter_id(const char *name, size_t len, store_id_t *out)
{
	static const char tag[] = "souk-counter"; /* hashed with its NUL */
	uint8_t h[SHA256_DIGEST_LENGTH], in[sizeof(tag) + STORE_COUNTER_NAME_MAX];
	if (!store_counter_name_ok(name, len) || !out)
		return SOUK_EINVAL;
	memcpy(in, tag, sizeof(tag));
	memcpy(in + sizeof(tag), name, len);
	if (!SHA256(in, sizeof(tag) + len, h))
		return SOUK_ECRYPTO;
	memcpy(out->b, h, 16);
	return 0;
}

/* The value of a counter document {"name":"...","value":N}. */
static int counter_parse(const char *doc, size_t len, int64_t *out)
{
	static const char tag[] = "\"value\":";
	const char *p = memmem(doc, len, tag, sizeof(tag) - 1);
	if (!p)
		return SOUK_ECORRUPT;
	p += sizeof(tag) - 1;
	const char *end = doc + len;
	bool neg = p < end && *p == '-';
	p += neg;
	uint64_t v = 0;
	if (p >= end || *p < '0' || *p > '9')
		return SOUK_ECORRUPT;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return SOUK_ECORRUPT;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if ((!neg && v > INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
		return SOUK_ECORRUPT;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int store_counter_add(store_txn_t *t, const char *name, size_t name_len, int64_t delta,
		      int64_t floor, int64_t ceiling, int64_t *value_out)
{
	store_rec_t cur;
	store_id_t id;
	int64_t val = 0, nv;
	bool have = false;
	int rc;
	if (!t || floor > ceiling)
		return SOUK_EINVAL;
	if ((rc = store_counter_id(name, name_len, &id)) != 0)
		return rc;
	rc = store_txn_get(t, STORE_COUNTER_KIND, &id, &cur);
	if (rc == 0) {
		have = true;
		uint64_t ver = cur.version;
		rc = cur.archived ? SOUK_ECORRUPT : counter_parse(cur.doc, cur.doc_len, &val);
		store_rec_deinit(&cur);
		cur.version = ver;
		if (rc)
			return rc;
	} else if (rc != SOUK_ENOENT) {
		return rc;
	}
	if (__builtin_add_overflow(val, delta, &nv) || nv < floor || nv > ceiling)
		return SOUK_ELIMIT;
	char doc[STORE_COUNTER_NAME_MAX + 64];
	int dl = snprintf(doc, sizeof(doc), "{\"name\":\"%.*s\",\"value\":%lld}", (int)name_len,
			  name, (long long)nv);
	if (dl < 0 || (size_t)dl >= sizeof(doc))
		return SOUK_ETOOBIG;
	store_mut_t m = {
		.op = have ? STORE_OP_UPDATE : STORE_OP_CREATE,
		.kind = STORE_COUNTER_KIND,
		.id = id,
		.expect_version = have ? cur.version : 0,
		.doc = doc,
		.doc_len = (size_t)dl,
		.actor = t->actor ? t->actor : "system",
	};
	if ((rc = store_batch_put(t, &m)) != 0)
		return rc;
	if (value_out)
		*value_out = nv;
	return 0;
}

int store_counter_get(store_t *s, const char *name, size_t name_len, int64_t *value_out)
{
	store_rec_t r;
	store_id_t id;
	int rc = store_counter_id(name, name_len, &id);
	if (rc)
		return rc;
	if ((rc = store_get(s, STORE_COUNTER_KIND, &id, &r)) != 0)
		return rc;
	rc = r.archived ? SOUK_ENOENT : counter_parse(r.doc, r.doc_len, value_out);
	store_rec_deinit(&r);
	return rc;
}
