/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/consumer.c - durable cursors of change-log consumers, and read
 * transactions that span several reads.
 *
 * Sub-database (schema version 3):
 *   consumers.v3   name -> seq u64
 * A cursor is the change-log sequence up to which its consumer has
 * processed the log. It only moves forward and never past the last
 * committed sequence; both are checked inside the write transaction that
 * moves it, so two processes advancing one consumer cannot move it back.
 */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int store_consumer_migrate_to_3(store_t *s, MDB_txn *txn)
{
	MDB_dbi dbi;
	int rc = mdb_dbi_open(txn, "consumers.v3", MDB_CREATE, &dbi);
	return rc ? rc : store_index_migrate(s, txn);
}

int store_consumer_open(store_t *s, MDB_txn *txn)
{
	int rc = mdb_dbi_open(txn, "consumers.v3", 0, &s->db_consumer);
	return rc ? rc : store_index_open(s, txn);
}

static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > STORE_CONSUMER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

static int cursor_in(store_t *s, MDB_txn *txn, const char *name, uint64_t *seq)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, s->db_consumer, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return 0;
	}
	if (rc)
		return store_mdb_rc(s, rc);
	if (v.mv_size != 8)
		return SOUK_ECORRUPT;
	*seq = store_get_u64(v.mv_data);
	return 0;
}

int store_consumer_get(store_t *s, const char *name, uint64_t *seq)
{
	MDB_txn *txn;
	if (!name_ok(name) || !seq)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = cursor_in(s, txn, name, seq);
	store_rd_end(s, txn);
	return rc;
}

typedef struct {
	const char *name;
	uint64_t seq;
} advance_t;

static int advance_txn(store_t *s, MDB_txn *txn, void *arg)
{
	advance_t *a = arg;
	uint64_t cur, last;
	uint8_t b[8];
	int rc;
	if ((rc = cursor_in(s, txn, a->name, &cur)) != 0 ||
	    (rc = store_meta_u64(txn, s->db_meta, "last_seq", &last)) != 0)
		return rc;
	if (a->seq > last)
		return SOUK_EINVAL;
	if (a->seq <= cur)
		return 0; /* an older or repeated report: the cursor stays */
	store_put_u64(b, a->seq);
	MDB_val k = { strlen(a->name), (void *)a->name }, v = { 8, b };
	return store_mdb_rc(s, mdb_put(txn, s->db_consumer, &k, &v, 0));
}

int store_consumer_advance(store_t *s, const char *name, uint64_t seq)
{
	if (!name_ok(name))
		return SOUK_EINVAL;
	if (s->opts.read_only)
		return SOUK_EPERM;
	int rc = store_check_handle(s);
	if (rc)
		return rc;
	advance_t a = { name, seq };
	return store_write_txn(s, advance_txn, &a);
}

int store_consumer_list(store_t *s, store_consumer_cb cb, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char name[STORE_CONSUMER_NAME_MAX + 1];
	if (!cb)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->db_consumer, &cur)) != 0) {
		rc = store_mdb_rc(s, rc);
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size > STORE_CONSUMER_NAME_MAX || v.mv_size != 8) {
			rc = SOUK_ECORRUPT;
			goto out;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = 0;
		if ((rc = cb(name, store_get_u64(v.mv_data), arg)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_mdb_rc(s, rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	store_rd_end(s, txn);
	return rc;
}

/* ---- read transactions ---- */

struct store_read {
	store_t *s;
	MDB_txn *txn;
};

int store_read_begin(store_t *s, store_read_t **out)
{
	if (!out)
		return SOUK_EINVAL;
	*out = NULL;
	store_read_t *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return SOUK_ENOMEM;
	int rc = store_rd_begin(s, &rt->txn);
	if (rc) {
		free(rt);
		return rc;
	}
	rt->s = s;
	*out = rt;
	return 0;
}

int store_read_last_seq(store_read_t *rt, uint64_t *out)
{
	if (!rt || !out)
		return SOUK_EINVAL;
	return store_meta_u64(rt->txn, rt->s->db_meta, "last_seq", out);
}

int store_read_get(store_read_t *rt, const char *kind, const store_id_t *id, store_rec_t *out)
{
	if (!rt)
		return SOUK_EINVAL;
	return store_get_in(rt->s, rt->txn, kind, id, out);
}

int store_read_changes(store_read_t *rt, uint64_t after, store_change_cb cb, void *arg)
{
	if (!rt)
		return SOUK_EINVAL;
	return store_changes_in(rt->s, rt->txn, after, cb, arg);
}

int store_read_scan(store_read_t *rt, const char *kind, store_rec_cb cb, void *arg)
{
	if (!rt)
		return SOUK_EINVAL;
	return store_scan_in(rt->s, rt->txn, kind, NULL, cb, arg);
}

int store_read_history(store_read_t *rt, const char *kind, const store_id_t *id, store_rec_cb cb,
		       void *arg)
{
	if (!rt)
		return SOUK_EINVAL;
	return store_history_in(rt->s, rt->txn, kind, id, cb, arg);
}

void store_read_end(store_read_t **rtp)
{
	store_read_t *rt = rtp ? *rtp : NULL;
	if (!rt)
		return;
	store_rd_end(rt->s, rt->txn);
	free(rt);
	*rtp = NULL;
}
