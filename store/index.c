/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/index.c - secondary (non-unique) indexes, maintained in the write
 * transaction of the mutation, and range scans over them.
 *
 * Sub-databases (schema version 3):
 *   index.v3   u8 kind_len, kind, u8 name_len, name, value, 0x00, id[16] -> ()
 *   ixver.v3   kind \0 id[16] version u64 -> (u16 len, "name\0value")*
 * Entries sort by (kind, name, value, id); values hold no NUL byte, so the
 * 0x00 after a value sorts it before every longer value it prefixes.
 * ixver.v3 keeps the index keys each version held, so DELETE (archived
 * entities leave the indexes) and REVERT (the reverted-to version's keys
 * come back) know them. The audit leaf (v2) does not cover them: adding
 * them would change the leaf of a version layout existing logs verify.
 */
#include "store/internal.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

#define IX_NAME_MAX 64
#define IX_MAX 64 /* index keys per mutation */
#define IX_KEY_MAX (2 + STORE_KIND_MAX + IX_NAME_MAX + STORE_KEY_MAX + 1 + 16)

int store_index_migrate(store_t *s, MDB_txn *txn)
{
	MDB_dbi dbi;
	int rc;
	(void)s;
	if ((rc = mdb_dbi_open(txn, "index.v3", MDB_CREATE, &dbi)) != 0)
		return rc;
	return mdb_dbi_open(txn, "ixver.v3", MDB_CREATE, &dbi);
}

int store_index_open(store_t *s, MDB_txn *txn)
{
	int rc = mdb_dbi_open(txn, "index.v3", 0, &s->db_index);
	return rc ? rc : mdb_dbi_open(txn, "ixver.v3", 0, &s->db_ixver);
}

/* "name\0value": name 1..IX_NAME_MAX bytes, value without NUL. */
static int split(const uint8_t *k, size_t kl, size_t *name_len)
{
	const uint8_t *z = kl ? memchr(k, 0, kl) : NULL;
	if (!z || z == k || (size_t)(z - k) > IX_NAME_MAX || kl > STORE_KEY_MAX)
		return SOUK_EINVAL;
	if (memchr(z + 1, 0, kl - (size_t)(z - k) - 1))
		return SOUK_EINVAL;
	*name_len = (size_t)(z - k);
	return 0;
}

int store_index_validate(const store_mut_t *m)
{
	size_t nl;
	if (m->op != STORE_OP_CREATE && m->op != STORE_OP_UPDATE)
		return 0;
	if (m->nindex > IX_MAX || (m->nindex && (!m->index_keys || !m->index_key_lens)))
		return SOUK_EINVAL;
	for (size_t i = 0; i < m->nindex; i++)
		if (split((const uint8_t *)m->index_keys[i], m->index_key_lens[i], &nl) != 0)
			return SOUK_EINVAL;
	return 0;
}

static size_t entry_key(uint8_t *buf, const char *kind, const uint8_t *k, size_t kl,
			const store_id_t *id)
{
	size_t n = strlen(kind), nl = 0, p = 0;
	split(k, kl, &nl);
	buf[p++] = (uint8_t)n;
	memcpy(buf + p, kind, n);
	p += n;
	buf[p++] = (uint8_t)nl;
	memcpy(buf + p, k, nl);
	p += nl;
	memcpy(buf + p, k + nl + 1, kl - nl - 1);
	p += kl - nl - 1;
	buf[p++] = 0;
	if (id) {
		memcpy(buf + p, id->b, 16);
		p += 16;
	}
	return p;
}

/* Put (add) or delete every entry of an encoded key list. */
static int entries(store_t *s, MDB_txn *t, const char *kind, const store_id_t *id,
		   const uint8_t *enc, size_t len, bool add)
{
	uint8_t kb[IX_KEY_MAX];
	size_t p = 0;
	while (p < len) {
		if (len - p < 2)
			return SOUK_ECORRUPT;
		size_t kl = store_get_u16(enc + p);
		p += 2;
		size_t nl;
		if (kl > len - p || split(enc + p, kl, &nl) != 0)
			return SOUK_ECORRUPT;
		MDB_val k = { entry_key(kb, kind, enc + p, kl, id), kb }, v = { 0, "" };
		int rc = add ? mdb_put(t, s->db_index, &k, &v, 0) : mdb_del(t, s->db_index, &k, NULL);
		if (rc && !(rc == MDB_NOTFOUND && !add))
			return store_mdb_err(rc);
		p += kl;
	}
	return 0;
}

static int ixver_get(store_t *s, MDB_txn *t, const uint8_t *ek, size_t ekl, uint64_t version,
		     MDB_val *out)
{
	uint8_t kb[EK_MAX + 8];
	memcpy(kb, ek, ekl);
	store_put_u64(kb + ekl, version);
	MDB_val k = { ekl + 8, kb };
	int rc = mdb_get(t, s->db_ixver, &k, out);
	if (rc == MDB_NOTFOUND) {
		*out = (MDB_val){ 0, NULL };
		return 0;
	}
	return store_mdb_err(rc);
}

int store_index_apply(store_t *s, MDB_txn *t, const store_mut_t *m, uint64_t cur_version,
		      bool cur_archived, uint64_t new_version, bool new_archived)
{
	uint8_t ek[EK_MAX + 8], enc[IX_MAX * (2 + STORE_KEY_MAX)];
	size_t ekl = store_entity_key(ek, m->kind, &m->id), len = 0;
	MDB_val cur = { 0, NULL }, src;
	int rc;
	/* the new version's keys, copied before any write moves pages */
	if (m->op == STORE_OP_CREATE || m->op == STORE_OP_UPDATE) {
		for (size_t i = 0; i < m->nindex; i++) {
			store_put_u16(enc + len, (uint16_t)m->index_key_lens[i]);
			memcpy(enc + len + 2, m->index_keys[i], m->index_key_lens[i]);
			len += 2 + m->index_key_lens[i];
		}
	} else {
		uint64_t from = m->op == STORE_OP_REVERT ? m->revert_to : cur_version;
		if ((rc = ixver_get(s, t, ek, ekl, from, &src)) != 0)
			return rc;
		if (src.mv_size > sizeof(enc))
			return SOUK_ECORRUPT;
		if (src.mv_size)
			memcpy(enc, src.mv_data, src.mv_size);
		len = src.mv_size;
	}
	if (cur_version && !cur_archived) {
		if ((rc = ixver_get(s, t, ek, ekl, cur_version, &cur)) != 0)
			return rc;
		if (cur.mv_size &&
		    (rc = entries(s, t, m->kind, &m->id, cur.mv_data, cur.mv_size, false)) != 0)
			return rc;
	}
	if (!new_archived && (rc = entries(s, t, m->kind, &m->id, enc, len, true)) != 0)
		return rc;
	if (len == 0)
		return 0;
	store_put_u64(ek + ekl, new_version);
	MDB_val k = { ekl + 8, ek }, v = { len, enc };
	return store_mdb_err(mdb_put(t, s->db_ixver, &k, &v, MDB_NOOVERWRITE));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int store_index_cursor_parse(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = hex ? strlen(hex) : 0;
	if (n == 0 || n % 2 || n / 2 > cap || n / 2 < 17)
		return SOUK_EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return SOUK_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	/* value, 0x00, id[16]: the value holds no NUL */
	if (out[n / 2 - 17] != 0 || memchr(out, 0, n / 2 - 17))
		return SOUK_EINVAL;
	*len = n / 2;
	return 0;
}

int store_index_scan(store_t *s, const char *kind, const char *name,
		     const store_index_query_t *q, store_index_cb cb, void *arg,
		     char next[STORE_INDEX_CURSOR_MAX])
{
	uint8_t pfx[2 + STORE_KIND_MAX + IX_NAME_MAX], kb[IX_KEY_MAX], after[STORE_KEY_MAX + 17];
	size_t nl = name ? strlen(name) : 0, kl = kind ? strlen(kind) : 0, pl = 0, al = 0;
	const char *lo = q ? q->from : NULL, *hi = q ? q->to : NULL;
	size_t lol = lo ? strlen(lo) : 0, hil = hi ? strlen(hi) : 0;
	const char *px = q ? q->prefix : NULL;
	size_t pxl = px ? strlen(px) : 0;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t n = 0;
	if (next)
		next[0] = 0;
	if (!store_kind_ok(kind) || nl == 0 || nl > IX_NAME_MAX || memchr(name, 0, nl) || !cb ||
	    lol > STORE_KEY_MAX || hil > STORE_KEY_MAX || pxl > STORE_KEY_MAX)
		return SOUK_EINVAL;
	if (q && q->after && store_index_cursor_parse(q->after, after, sizeof(after), &al) != 0)
		return SOUK_EINVAL;
	pfx[pl++] = (uint8_t)kl;
	memcpy(pfx + pl, kind, kl);
	pl += kl;
	pfx[pl++] = (uint8_t)nl;
	memcpy(pfx + pl, name, nl);
	pl += nl;
	/* start: after the cursor, else at from / prefix, else the first entry */
	size_t start = pl;
	memcpy(kb, pfx, pl);
	if (al) {
		memcpy(kb + pl, after, al);
		start += al;
	} else if (pxl || lol) {
		/* the greater of from and prefix */
		size_t mn = pxl < lol ? pxl : lol;
		int c = mn ? memcmp(px, lo, mn) : 0;
		bool use_px = c > 0 || (c == 0 && pxl > lol);
		const char *f = use_px ? px : lo;
		size_t fl = use_px ? pxl : lol;
		memcpy(kb + pl, f, fl);
		start += fl;
	}
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->db_index, &cur)) != 0) {
		rc = store_mdb_rc(s, rc);
		goto out;
	}
	k = (MDB_val){ start, kb };
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *e = k.mv_data;
		if (k.mv_size < pl + 17 || memcmp(e, pfx, pl) != 0)
			break; /* past this kind and name */
		const uint8_t *val = e + pl;
		size_t vl = k.mv_size - pl - 17;
		if (val[vl] != 0)
			break; /* not an entry of this index */
		if (al && k.mv_size == pl + al && memcmp(val, after, al) == 0)
			continue; /* the cursor's own entry */
		if (pxl && (vl < pxl || memcmp(val, px, pxl) != 0))
			break;
		if (hi) {
			size_t m = vl < hil ? vl : hil;
			int c = memcmp(val, hi, m);
			if (c > 0 || (c == 0 && vl >= hil))
				break;
		}
		if (q && q->limit && n == q->limit) {
			rc = 0;
			goto out; /* next holds the last entry given */
		}
		store_id_t id;
		memcpy(id.b, val + vl + 1, 16);
		if (next) {
			for (size_t i = 0; i < vl + 17; i++)
				snprintf(next + 2 * i, 3, "%02x", val[i]);
		}
		n++;
		if ((rc = cb((const char *)val, vl, &id, arg)) != 0)
			goto out;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_rc(s, rc);
	if (next)
		next[0] = 0; /* the end: no next page */
out:
	if (cur)
		mdb_cursor_close(cur);
	store_rd_end(s, txn);
	return rc;
}

int store_txn_index_first(store_txn_t *t, const char *kind, const char *key, size_t key_len,
			  store_id_t *id)
{
	uint8_t kb[IX_KEY_MAX];
	size_t nl;
	MDB_cursor *cur;
	MDB_val k, v;
	if (!t || !store_kind_ok(kind) || !key || !id ||
	    split((const uint8_t *)key, key_len, &nl) != 0)
		return SOUK_EINVAL;
	size_t pl = entry_key(kb, kind, (const uint8_t *)key, key_len, NULL);
	int rc = mdb_cursor_open(t->txn, t->s->db_index, &cur);
	if (rc)
		return store_mdb_err(rc);
	k = (MDB_val){ pl, kb };
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == pl + 16 && memcmp(k.mv_data, kb, pl) == 0)
		memcpy(id->b, (const uint8_t *)k.mv_data + pl, 16);
	else if (rc == 0 || rc == MDB_NOTFOUND)
		rc = SOUK_ENOENT;
	else
		rc = store_mdb_err(rc);
	mdb_cursor_close(cur);
	return rc;
}
