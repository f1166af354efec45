/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/internal.h"
#include "store/merkle.h"
#include "store/store.h"
#include "tests/tools/store_raw.h"
#include "tests/unit/fixture.h"

/* The fail_meta shim's pwrite(), linked into this test: with
 * SOUK_FAIL_META_ARM naming an existing file, LMDB's next meta-page write
 * fails (liblmdb's calls bind to this executable's definition). */
#include "tests/shims/fail_meta.c"

/* SHA-256 that fails while fail_digest is set (the store's hashing binds to
 * this definition; everything else goes on to libcrypto's). */
static bool fail_digest;
int EVP_DigestInit_ex(EVP_MD_CTX *c, const EVP_MD *md, ENGINE *e)
{
	static int (*real)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
	if (!real)
		real = (int (*)(EVP_MD_CTX *, const EVP_MD *, ENGINE *))dlsym(RTLD_NEXT,
									  "EVP_DigestInit_ex");
	return fail_digest ? 0 : real(c, md, e);
}

typedef struct {
	char dir[64];
	store_t *s;
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	if (fixture_tmpdir(f->dir, sizeof(f->dir), "store") != 0)
		return -1;
	store_opts_t o = { .map_size = 1 << 20, .max_readers = 32 };
	if (store_open(f->dir, &o, &f->s) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	store_close(&f->s);
	fixture_rm_rf(f->dir);
	free(f);
	return 0;
}

static store_mut_t mk(store_op_t op, const char *kind, const char *doc, const char *key)
{
	static const char *keys[1];
	static size_t lens[1];
	store_mut_t m = { 0 };
	m.op = op;
	m.kind = kind;
	m.doc = doc;
	m.doc_len = doc ? strlen(doc) : 0;
	m.actor = "tester";
	m.reason = "unit test";
	if (key) {
		keys[0] = key;
		lens[0] = strlen(key);
		m.keys = keys;
		m.key_lens = lens;
		m.nkeys = 1;
	}
	return m;
}

static store_id_t create(store_t *s, const char *doc, const char *key)
{
	store_mut_t m = mk(STORE_OP_CREATE, "product", doc, key);
	assert_int_equal(store_apply(s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	assert_int_equal(m.version, 1);
	return m.id;
}

static int update(store_t *s, const store_id_t *id, uint64_t expect, const char *doc,
		  const char *key, uint64_t *ver)
{
	store_mut_t m = mk(STORE_OP_UPDATE, "product", doc, key);
	m.id = *id;
	m.expect_version = expect;
	assert_int_equal(store_apply(s, &m, 1), 0);
	if (ver)
		*ver = m.version;
	return m.result;
}

static void test_store_create_get_update_conflict(void **state)
{
	fx_t *f = *state;
	store_rec_t r;
	uint64_t v = 0;
	store_id_t id = create(f->s, "{\"name\":\"tea\"}", "sku\0001");
	assert_int_equal(store_get(f->s, "product", &id, &r), 0);
	assert_string_equal(r.doc, "{\"name\":\"tea\"}");
	assert_int_equal(r.version, 1);
	assert_string_equal(r.actor, "tester");
	assert_string_equal(r.reason, "unit test");
	assert_false(r.archived);
	store_rec_deinit(&r);
	assert_int_equal(update(f->s, &id, 1, "{\"name\":\"green tea\"}", "sku1", &v), 0);
	assert_int_equal(v, 2);
	/* a writer that read version 1 is now stale */
	assert_int_equal(update(f->s, &id, 1, "{\"name\":\"black tea\"}", "sku1", NULL), SOUK_ECONFLICT);
	assert_int_equal(store_get(f->s, "product", &id, &r), 0);
	assert_string_equal(r.doc, "{\"name\":\"green tea\"}");
	assert_int_equal(r.version, 2);
	store_rec_deinit(&r);
	store_id_t other;
	store_id_new(&other);
	assert_int_equal(update(f->s, &other, 0, "{}", NULL, NULL), SOUK_ENOENT);
	assert_int_equal(store_get(f->s, "product", &other, &r), SOUK_ENOENT);
	/* a second create with the same id is refused */
	store_mut_t m = mk(STORE_OP_CREATE, "product", "{}", NULL);
	m.id = id;
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, SOUK_EEXIST);
}

static void test_store_rejects_bad_input(void **state)
{
	fx_t *f = *state;
	store_mut_t m = mk(STORE_OP_CREATE, "product", "{\"a\":", NULL);
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, SOUK_EINVAL);
	m = mk(STORE_OP_CREATE, "product", "[1,2]", NULL);
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, SOUK_EINVAL);
	m = mk(STORE_OP_CREATE, "Bad Kind", "{}", NULL);
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, SOUK_EINVAL);
	m = mk(STORE_OP_CREATE, "product", "{\"a\":1,\"a\":2}", NULL);
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, SOUK_EINVAL);
	m = mk(STORE_OP_CREATE, "product", "{}", NULL);
	m.actor = NULL;
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, SOUK_EINVAL);
	/* nothing was written */
	assert_int_equal(fixture_last_seq(f->s), 0);
}

static void test_store_unique_keys_conflict_and_move(void **state)
{
	fx_t *f = *state;
	store_rec_t r;
	store_id_t a = create(f->s, "{\"n\":\"a\"}", "sku:A");
	store_id_t b = create(f->s, "{\"n\":\"b\"}", "sku:B");
	store_mut_t m = mk(STORE_OP_CREATE, "product", "{\"n\":\"c\"}", "sku:A");
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, SOUK_EEXIST);
	/* same key in another kind is independent */
	m = mk(STORE_OP_CREATE, "seller", "{}", "sku:A");
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, 0);
	/* b cannot take A; a moves to C and releases A; then b may take A */
	assert_int_equal(update(f->s, &b, 0, "{\"n\":\"b\"}", "sku:A", NULL), SOUK_EEXIST);
	assert_int_equal(update(f->s, &a, 0, "{\"n\":\"a\"}", "sku:C", NULL), 0);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:A", 5, &r), SOUK_ENOENT);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:C", 5, &r), 0);
	assert_memory_equal(r.id.b, a.b, 16);
	store_rec_deinit(&r);
	assert_int_equal(update(f->s, &b, 0, "{\"n\":\"b\"}", "sku:A", NULL), 0);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:A", 5, &r), 0);
	assert_memory_equal(r.id.b, b.b, 16);
	store_rec_deinit(&r);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:B", 5, &r), SOUK_ENOENT);
	/* keys may hold any bytes */
	store_id_t z = create(f->s, "{}", NULL);
	const char *kk[] = { "sku\0X", "ean\0" "01" };
	size_t kl[] = { 5, 6 };
	m = mk(STORE_OP_UPDATE, "product", "{}", NULL);
	m.id = z;
	m.keys = kk;
	m.key_lens = kl;
	m.nkeys = 2;
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, 0);
	assert_int_equal(store_get_by_key(f->s, "product", "sku\0X", 5, &r), 0);
	store_rec_deinit(&r);
	assert_int_equal(store_get_by_key(f->s, "product", "sku", 3, &r), SOUK_ENOENT);
}

static void test_store_delete_archives_and_releases_key(void **state)
{
	fx_t *f = *state;
	store_rec_t r;
	store_id_t a = create(f->s, "{\"n\":1}", "sku:D");
	store_mut_t m = mk(STORE_OP_DELETE, "product", NULL, NULL);
	m.id = a;
	m.expect_version = 1;
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	assert_int_equal(m.version, 2);
	assert_int_equal(store_get(f->s, "product", &a, &r), 0);
	assert_true(r.archived);
	assert_string_equal(r.doc, "{\"n\":1}");
	store_rec_deinit(&r);
	/* the key is free again; history is kept */
	store_id_t b = create(f->s, "{\"n\":2}", "sku:D");
	assert_int_equal(store_get_version(f->s, "product", &a, 1, &r), 0);
	assert_false(r.archived);
	store_rec_deinit(&r);
	/* an archived entity cannot be updated or deleted again */
	assert_int_equal(update(f->s, &a, 0, "{}", NULL, NULL), SOUK_ENOENT);
	m.expect_version = 0;
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, SOUK_ENOENT);
	/* restoring it needs its key back, which b now holds */
	m = mk(STORE_OP_REVERT, "product", NULL, NULL);
	m.id = a;
	m.revert_to = 1;
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, SOUK_EEXIST);
	assert_int_equal(update(f->s, &b, 0, "{\"n\":2}", "sku:E", NULL), 0);
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, 0);
	assert_int_equal(m.version, 3);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:D", 5, &r), 0);
	assert_memory_equal(r.id.b, a.b, 16);
	assert_false(r.archived);
	store_rec_deinit(&r);
}

typedef struct {
	int n;
	uint64_t versions[16];
	char docs[16][64];
} hist_t;

static int hist_cb(const store_rec_t *r, void *arg)
{
	hist_t *h = arg;
	h->versions[h->n] = r->version;
	snprintf(h->docs[h->n], 64, "%s", r->doc);
	h->n++;
	return 0;
}

static void test_store_revert_history_and_as_of(void **state)
{
	fx_t *f = *state;
	store_rec_t r;
	uint64_t seq_v1, seq_v2;
	store_id_t a = create(f->s, "{\"price\":100}", NULL);
	seq_v1 = fixture_last_seq(f->s);
	create(f->s, "{\"other\":1}", NULL);
	assert_int_equal(update(f->s, &a, 1, "{\"price\":120}", NULL, NULL), 0);
	seq_v2 = fixture_last_seq(f->s);
	assert_int_equal(update(f->s, &a, 2, "{\"price\":150}", NULL, NULL), 0);
	store_mut_t m = mk(STORE_OP_REVERT, "product", NULL, NULL);
	m.id = a;
	m.expect_version = 3;
	m.revert_to = 1;
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	assert_int_equal(m.version, 4);
	assert_int_equal(store_get(f->s, "product", &a, &r), 0);
	assert_string_equal(r.doc, "{\"price\":100}");
	assert_int_equal(r.version, 4);
	store_rec_deinit(&r);
	m.revert_to = 9;
	m.expect_version = 0;
	store_apply(f->s, &m, 1);
	assert_int_equal(m.result, SOUK_ENOENT);

	hist_t h = { 0 };
	assert_int_equal(store_history(f->s, "product", &a, hist_cb, &h), 0);
	assert_int_equal(h.n, 4);
	assert_string_equal(h.docs[0], "{\"price\":100}");
	assert_string_equal(h.docs[1], "{\"price\":120}");
	assert_string_equal(h.docs[2], "{\"price\":150}");
	assert_string_equal(h.docs[3], "{\"price\":100}");
	assert_int_equal(h.versions[3], 4);

	assert_int_equal(store_get_as_of(f->s, "product", &a, seq_v1, &r), 0);
	assert_int_equal(r.version, 1);
	store_rec_deinit(&r);
	assert_int_equal(store_get_as_of(f->s, "product", &a, seq_v2 - 1, &r), 0);
	assert_int_equal(r.version, 1);
	store_rec_deinit(&r);
	assert_int_equal(store_get_as_of(f->s, "product", &a, seq_v2, &r), 0);
	assert_string_equal(r.doc, "{\"price\":120}");
	store_rec_deinit(&r);
	assert_int_equal(store_get_as_of(f->s, "product", &a, seq_v1 - 1, &r), SOUK_ENOENT);
	assert_int_equal(store_get_version(f->s, "product", &a, 3, &r), 0);
	assert_string_equal(r.doc, "{\"price\":150}");
	store_rec_deinit(&r);
}

static void test_store_idempotency_replay_and_expire(void **state)
{
	fx_t *f = *state;
	store_mut_t m = mk(STORE_OP_CREATE, "order", "{\"total\":5}", NULL);
	m.idem_key = "req-1";
	m.idem_key_len = 5;
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	assert_false(m.replayed);
	store_id_t id = m.id;
	uint64_t seq = m.seq;
	/* the client retries: same result, nothing new */
	store_mut_t again = mk(STORE_OP_CREATE, "order", "{\"total\":5}", NULL);
	again.idem_key = "req-1";
	again.idem_key_len = 5;
	assert_int_equal(store_apply(f->s, &again, 1), 0);
	assert_int_equal(again.result, 0);
	assert_true(again.replayed);
	assert_memory_equal(again.id.b, id.b, 16);
	assert_int_equal(again.version, 1);
	assert_int_equal(again.seq, seq);
	assert_int_equal(fixture_last_seq(f->s), seq);
	/* keys are per kind */
	store_mut_t other = mk(STORE_OP_CREATE, "product", "{}", NULL);
	other.idem_key = "req-1";
	other.idem_key_len = 5;
	store_apply(f->s, &other, 1);
	assert_false(other.replayed);
	assert_int_equal(other.seq, seq + 1);
	/* a replay inside one batch */
	store_mut_t batch[2] = { mk(STORE_OP_CREATE, "order", "{}", NULL),
				 mk(STORE_OP_CREATE, "order", "{}", NULL) };
	batch[0].idem_key = batch[1].idem_key = "req-2";
	batch[0].idem_key_len = batch[1].idem_key_len = 5;
	assert_int_equal(store_apply(f->s, batch, 2), 0);
	assert_false(batch[0].replayed);
	assert_true(batch[1].replayed);
	assert_int_equal(batch[1].seq, batch[0].seq);
	uint64_t removed = 0;
	assert_int_equal(store_idem_expire(f->s, 3600 * 1000, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(store_idem_expire(f->s, 0, &removed), 0);
	assert_int_equal(removed, 3);
	/* after expiry the key is new again */
	store_apply(f->s, &again, 1);
	assert_false(again.replayed);
	assert_int_not_equal(again.seq, seq);
}

static void test_store_batch_conflict_fails_alone(void **state)
{
	fx_t *f = *state;
	store_rec_t r;
	store_id_t a = create(f->s, "{\"n\":1}", "sku:1");
	store_mut_t b[4] = {
		mk(STORE_OP_CREATE, "product", "{\"n\":2}", "sku:2"),
		mk(STORE_OP_UPDATE, "product", "{\"n\":3}", "sku:1"),
		mk(STORE_OP_CREATE, "product", "{\"n\":4}", "sku:2"), /* taken by b[0] */
		mk(STORE_OP_CREATE, "product", "{\"n\":5}", NULL),
	};
	b[1].id = a;
	b[1].expect_version = 7; /* stale */
	assert_int_equal(store_apply(f->s, b, 4), 0);
	assert_int_equal(b[0].result, 0);
	assert_int_equal(b[1].result, SOUK_ECONFLICT);
	assert_int_equal(b[2].result, SOUK_EEXIST);
	assert_int_equal(b[3].result, 0);
	assert_int_equal(b[0].seq + 1, b[3].seq);
	assert_int_equal(store_get(f->s, "product", &b[3].id, &r), 0);
	store_rec_deinit(&r);
	assert_int_equal(store_get(f->s, "product", &b[2].id, &r), SOUK_ENOENT);
	assert_int_equal(store_get(f->s, "product", &a, &r), 0);
	assert_int_equal(r.version, 1);
	store_rec_deinit(&r);
	uint64_t bad;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
}

typedef struct {
	int n;
	uint64_t last;
	int ops[16];
} chg_t;

static int chg_cb(const store_change_t *c, void *arg)
{
	chg_t *x = arg;
	assert_true(c->seq > x->last);
	x->last = c->seq;
	x->ops[x->n++] = c->op;
	assert_string_equal(c->kind, x->n == 2 ? "seller" : "product");
	return 0;
}

static int scan_cb(const store_rec_t *r, void *arg)
{
	(*(int *)arg)++;
	return strcmp(r->doc, "{\"stop\":1}") == 0 ? 42 : 0;
}

static void test_store_changes_and_scan(void **state)
{
	fx_t *f = *state;
	store_id_t a = create(f->s, "{}", NULL);
	store_mut_t m = mk(STORE_OP_CREATE, "seller", "{}", NULL);
	store_apply(f->s, &m, 1);
	update(f->s, &a, 1, "{\"x\":1}", NULL, NULL);
	chg_t c = { 0 };
	assert_int_equal(store_changes(f->s, 0, chg_cb, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.ops[0], STORE_OP_CREATE);
	assert_int_equal(c.ops[2], STORE_OP_UPDATE);
	chg_t c2 = { .n = 2, .last = 2 };
	assert_int_equal(store_changes(f->s, 2, chg_cb, &c2), 0);
	assert_int_equal(c2.n, 3);
	int n = 0;
	assert_int_equal(store_scan(f->s, "product", scan_cb, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_scan(f->s, "seller", scan_cb, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_scan(f->s, "nothing", scan_cb, &n), 0);
	assert_int_equal(n, 0);
	create(f->s, "{\"stop\":1}", NULL);
	create(f->s, "{\"stop\":1}", NULL);
	n = 0;
	assert_int_equal(store_scan(f->s, "product", scan_cb, &n), 42);
	assert_true(n >= 1 && n <= 2);
}

typedef struct {
	store_id_t ids[64];
	size_t n;
} idlist_t;

static int collect_id(const store_rec_t *rec, void *arg)
{
	idlist_t *l = arg;
	if (l->n < 64)
		l->ids[l->n++] = rec->id;
	return 0;
}

static int id_order(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(store_id_t));
}

/* store_scan_after pages in id order from just after a given id, which need
 * not exist any more, and never leaves the kind. */
static void test_store_scan_after(void **state)
{
	fx_t *f = *state;
	store_id_t all[6];
	for (int i = 0; i < 6; i++)
		all[i] = create(f->s, "{}", NULL);
	store_mut_t m = mk(STORE_OP_CREATE, "seller", "{}", NULL);
	store_apply(f->s, &m, 1);
	qsort(all, 6, sizeof(all[0]), id_order);
	idlist_t x = {.n = 0};
	assert_int_equal(store_scan_after(f->s, "product", &all[1], collect_id, &x), 0);
	assert_int_equal(x.n, 4);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(&x.ids[i], &all[i + 2], sizeof(store_id_t));
	/* from an id between two records: the next one */
	store_id_t mid = all[3];
	mid.b[15] ^= 1; /* not a record; sorts next to all[3] */
	x.n = 0;
	assert_int_equal(store_scan_after(f->s, "product", &mid, collect_id, &x), 0);
	int want = memcmp(&mid, &all[3], sizeof(mid)) < 0 ? 3 : 2;
	assert_int_equal(x.n, want);
	assert_memory_equal(&x.ids[0], &all[6 - want], sizeof(store_id_t));
	/* after the last: nothing, and not the other kind's records */
	x.n = 0;
	assert_int_equal(store_scan_after(f->s, "product", &all[5], collect_id, &x), 0);
	assert_int_equal(x.n, 0);
	x.n = 0;
	assert_int_equal(store_scan_after(f->s, "product", NULL, collect_id, &x), 0);
	assert_int_equal(x.n, 6);
}

/* ---- RFC 6962 ---------------------------------------------------------------- */

static const char *const vec_leaves[] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const vec_roots[] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

typedef struct {
	uint8_t leaves[64][32];
	uint64_t n;
} memtree_t;

/* Reference MTH straight from RFC 6962 2.1, no stored nodes. */
static void mth(const memtree_t *t, uint64_t start, uint64_t n, uint8_t out[32])
{
	if (n == 1) {
		memcpy(out, t->leaves[start], 32);
		return;
	}
	uint64_t k = 1;
	while (k * 2 < n)
		k *= 2;
	uint8_t l[32], r[32];
	mth(t, start, k, l);
	mth(t, start + k, n - k, r);
	merkle_node_hash(l, r, out);
}

static int mem_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	memtree_t *t = ctx;
	uint64_t size = 1ull << level, start = index << level;
	if (start + size > t->n)
		return SOUK_EINVAL;
	mth(t, start, size, out);
	return 0;
}

static void load_vectors(memtree_t *t)
{
	uint8_t data[64];
	t->n = 8;
	for (int i = 0; i < 8; i++) {
		size_t len = strlen(vec_leaves[i]) / 2;
		assert_int_equal(souk_unhex(vec_leaves[i], len, data), 0);
		merkle_leaf_hash(data, len, t->leaves[i]);
	}
}

static void hex32(const char *hex, uint8_t out[32])
{
	assert_int_equal(souk_unhex(hex, 32, out), 0);
}

static void test_store_audit_rfc6962_vectors(void **state)
{
	memtree_t t;
	uint8_t root[32], want[32], ref[32];
	load_vectors(&t);
	assert_int_equal(merkle_root(mem_node, &t, 0, root), 0);
	hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
	assert_memory_equal(root, want, 32);
	for (uint64_t n = 1; n <= 8; n++) {
		assert_int_equal(merkle_root(mem_node, &t, n, root), 0);
		mth(&t, 0, n, ref);
		hex32(vec_roots[n - 1], want);
		assert_memory_equal(root, want, 32);
		assert_memory_equal(ref, want, 32);
	}
	/* inclusion proofs from the certificate-transparency reference data */
	static const struct {
		uint64_t leaf, size;
		int n;
		const char *h[3];
	} inc[] = {
		{ 0, 1, 0, { 0 } },
		{ 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
		{ 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	};
	uint8_t proof[STORE_PROOF_MAX][32];
	size_t np;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(inc); i++) {
		assert_int_equal(merkle_inclusion_proof(mem_node, &t, inc[i].leaf, inc[i].size, proof, &np), 0);
		assert_int_equal(np, inc[i].n);
		for (int j = 0; j < inc[i].n; j++) {
			hex32(inc[i].h[j], want);
			assert_memory_equal(proof[j], want, 32);
		}
	}
	static const struct {
		uint64_t m, n;
		int np;
		const char *h[3];
	} con[] = {
		{ 1, 1, 0, { 0 } },
		{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	};
	for (size_t i = 0; i < SOUK_ARRAY_LEN(con); i++) {
		assert_int_equal(merkle_consistency_proof(mem_node, &t, con[i].m, con[i].n, proof, &np), 0);
		assert_int_equal(np, con[i].np);
		for (int j = 0; j < con[i].np; j++) {
			hex32(con[i].h[j], want);
			assert_memory_equal(proof[j], want, 32);
		}
	}
	/* every proof for every size verifies, and a flipped bit does not */
	for (uint64_t n = 1; n <= 8; n++) {
		uint8_t rn[32];
		merkle_root(mem_node, &t, n, rn);
		for (uint64_t i = 0; i < n; i++) {
			assert_int_equal(merkle_inclusion_proof(mem_node, &t, i, n, proof, &np), 0);
			assert_int_equal(merkle_verify_inclusion(t.leaves[i], i, n,
								 (const uint8_t(*)[32])proof, np, rn), 0);
			if (np) {
				proof[0][3] ^= 1;
				assert_int_equal(merkle_verify_inclusion(t.leaves[i], i, n,
									 (const uint8_t(*)[32])proof, np, rn),
						 SOUK_ECORRUPT);
			}
			assert_int_equal(merkle_verify_inclusion(t.leaves[i], i, n + 1,
								 (const uint8_t(*)[32])proof, np, rn),
					 SOUK_ECORRUPT);
		}
		for (uint64_t m = 1; m <= n; m++) {
			uint8_t rm[32];
			merkle_root(mem_node, &t, m, rm);
			assert_int_equal(merkle_consistency_proof(mem_node, &t, m, n, proof, &np), 0);
			assert_int_equal(merkle_verify_consistency(m, rm, n, rn,
								   (const uint8_t(*)[32])proof, np), 0);
			if (m < n) {
				assert_int_equal(merkle_verify_consistency(m, rn, n, rn,
									   (const uint8_t(*)[32])proof, np),
						 SOUK_ECORRUPT);
				proof[np - 1][0] ^= 0x80;
				assert_int_equal(merkle_verify_consistency(m, rm, n, rn,
									   (const uint8_t(*)[32])proof, np),
						 SOUK_ECORRUPT);
			}
		}
	}
}

static void fill(store_t *s, int n)
{
	char doc[64];
	for (int i = 0; i < n; i++) {
		snprintf(doc, sizeof(doc), "{\"i\":%d}", i);
		store_mut_t m = mk(STORE_OP_CREATE, "product", doc, NULL);
		assert_int_equal(store_apply(s, &m, 1), 0);
		assert_int_equal(m.result, 0);
	}
}

static void test_store_audit_root_and_proofs_from_log(void **state)
{
	fx_t *f = *state;
	static memtree_t t;
	uint8_t root[32], ref[32], proof[STORE_PROOF_MAX][32];
	uint64_t size;
	size_t np;
	fill(f->s, 37);
	assert_int_equal(store_audit_root(f->s, &size, root), 0);
	assert_int_equal(size, 37);
	t.n = 37;
	for (uint64_t i = 0; i < 37; i++)
		assert_int_equal(store_audit_leaf(f->s, i, t.leaves[i]), 0);
	assert_int_equal(store_audit_leaf(f->s, 37, ref), SOUK_ENOENT);
	/* stored subtree hashes give the same roots as the plain recursion */
	for (uint64_t n = 1; n <= 37; n++) {
		assert_int_equal(store_audit_root_at(f->s, n, root), 0);
		mth(&t, 0, n, ref);
		assert_memory_equal(root, ref, 32);
	}
	for (uint64_t i = 0; i < 37; i += 5) {
		assert_int_equal(store_audit_inclusion_proof(f->s, i, 37, proof, &np), 0);
		assert_int_equal(merkle_verify_inclusion(t.leaves[i], i, 37, (const uint8_t(*)[32])proof, np, ref), 0);
	}
	for (uint64_t m = 1; m <= 37; m += 3) {
		uint8_t rm[32];
		mth(&t, 0, m, rm);
		assert_int_equal(store_audit_consistency_proof(f->s, m, 37, proof, &np), 0);
		assert_int_equal(merkle_verify_consistency(m, rm, 37, ref, (const uint8_t(*)[32])proof, np), 0);
	}
	uint64_t bad = 0;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	assert_int_equal(bad, UINT64_MAX);
}

/* ---- tampering: edit LMDB directly ---------------------------------------- */

typedef enum {
	T_EDIT_DOC,
	T_EDIT_LEAF,
	T_TRUNCATE,
	T_REORDER,
	T_DROP_CHANGE,
	T_EDIT_RECORD,
	T_EDIT_REASON,
	T_ARCHIVE,
} tamper_t;

/* A write txn on the environment in dir, opened with LMDB alone. */
static void raw_open(const char *dir, MDB_env **env, MDB_txn **txn, MDB_dbi *chg, MDB_dbi *hist,
		     MDB_dbi *audit, MDB_dbi *rec)
{
	assert_int_equal(mdb_env_create(env), 0);
	mdb_env_set_maxdbs(*env, 16);
	assert_int_equal(mdb_env_open(*env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, "changes.v1", 0, chg), 0);
	assert_int_equal(mdb_dbi_open(*txn, "history.v1", 0, hist), 0);
	assert_int_equal(mdb_dbi_open(*txn, "audit.v1", 0, audit), 0);
	assert_int_equal(mdb_dbi_open(*txn, "records.v1", 0, rec), 0);
}

static void tamper(const char *dir, tamper_t how, uint64_t seq)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi chg, hist, audit, rec;
	MDB_val k, v;
	uint8_t kb[9];
	raw_open(dir, &env, &txn, &chg, &hist, &audit, &rec);
	for (int i = 0; i < 8; i++)
		kb[i] = (uint8_t)(seq >> (56 - 8 * i));
	k = (MDB_val){ 8, kb };
	switch (how) {
	case T_EDIT_DOC: {
		/* find the history entry with this seq: change entry names it */
		assert_int_equal(mdb_get(txn, chg, &k, &v), 0);
		uint8_t hk[64];
		MDB_val hkv = { store_raw_hist_key(v.mv_data, hk), hk }, hv;
		assert_int_equal(mdb_get(txn, hist, &hkv, &hv), 0);
		uint8_t *copy = malloc(hv.mv_size);
		memcpy(copy, hv.mv_data, hv.mv_size);
		copy[hv.mv_size - 2] ^= 0x01; /* a digit in the document */
		MDB_val nv = { hv.mv_size, copy };
		assert_int_equal(mdb_put(txn, hist, &hkv, &nv, 0), 0);
		free(copy);
		break;
	}
	case T_EDIT_LEAF: {
		uint8_t ak[9] = { 0 }, h[32];
		memcpy(ak + 1, kb, 8);
		ak[8] = (uint8_t)(ak[8] - 1); /* leaf index seq-1 (seq < 256 here) */
		MDB_val akv = { 9, ak };
		assert_int_equal(mdb_get(txn, audit, &akv, &v), 0);
		memcpy(h, v.mv_data, 32);
		h[0] ^= 0xff;
		MDB_val nv = { 32, h };
		assert_int_equal(mdb_put(txn, audit, &akv, &nv, 0), 0);
		break;
	}
	case T_TRUNCATE: {
		/* drop change entries seq.. and their audit leaves (an attacker
		 * rolling the log back but forgetting the meta counter) */
		MDB_cursor *cur;
		assert_int_equal(mdb_cursor_open(txn, chg, &cur), 0);
		int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		while (rc == 0) {
			assert_int_equal(mdb_cursor_del(cur, 0), 0);
			rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
			if (rc == 0)
				continue;
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		break;
	}
	case T_REORDER: {
		uint8_t kb2[8], a[128], b[128];
		size_t al, bl;
		memcpy(kb2, kb, 8);
		kb2[7]++;
		MDB_val k2 = { 8, kb2 }, v2;
		assert_int_equal(mdb_get(txn, chg, &k, &v), 0);
		al = v.mv_size;
		memcpy(a, v.mv_data, al);
		assert_int_equal(mdb_get(txn, chg, &k2, &v2), 0);
		bl = v2.mv_size;
		memcpy(b, v2.mv_data, bl);
		MDB_val na = { al, a }, nb = { bl, b };
		assert_int_equal(mdb_put(txn, chg, &k, &nb, 0), 0);
		assert_int_equal(mdb_put(txn, chg, &k2, &na, 0), 0);
		break;
	}
	case T_DROP_CHANGE:
		assert_int_equal(mdb_del(txn, chg, &k, NULL), 0);
		break;
	case T_EDIT_REASON:
		assert_int_equal(store_raw_rewrite_version(txn, chg, hist, rec, seq, store_raw_edit_reason), 0);
		break;
	case T_ARCHIVE:
		assert_int_equal(store_raw_rewrite_version(txn, chg, hist, rec, seq, store_raw_edit_archived), 0);
		break;
	case T_EDIT_RECORD: {
		MDB_cursor *cur;
		assert_int_equal(mdb_cursor_open(txn, rec, &cur), 0);
		assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
		uint8_t *copy = malloc(v.mv_size);
		memcpy(copy, v.mv_data, v.mv_size);
		copy[v.mv_size - 2] ^= 0x01;
		MDB_val nv = { v.mv_size, copy };
		MDB_val kk = k;
		uint8_t keycopy[64];
		memcpy(keycopy, k.mv_data, k.mv_size);
		kk.mv_data = keycopy;
		mdb_cursor_close(cur);
		assert_int_equal(mdb_put(txn, rec, &kk, &nv, 0), 0);
		free(copy);
		break;
	}
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void tamper_case(fx_t *f, tamper_t how, uint64_t seq, uint64_t want_bad)
{
	uint64_t bad = 0;
	store_opts_t o = { .map_size = 1 << 20 };
	fill(f->s, 20);
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	store_close(&f->s);
	tamper(f->dir, how, seq);
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_audit_verify(f->s, &bad), SOUK_ECORRUPT);
	assert_int_equal(bad, want_bad);
}

static void test_store_verify_detects_edited_document(void **state)
{
	tamper_case(*state, T_EDIT_DOC, 7, 6);
}
static void test_store_verify_detects_edited_leaf(void **state)
{
	tamper_case(*state, T_EDIT_LEAF, 12, 11);
}
static void test_store_verify_detects_truncation(void **state)
{
	tamper_case(*state, T_TRUNCATE, 15, 14);
}
static void test_store_verify_detects_reorder(void **state)
{
	tamper_case(*state, T_REORDER, 4, 3);
}
static void test_store_verify_detects_dropped_change(void **state)
{
	tamper_case(*state, T_DROP_CHANGE, 9, 8);
}
/* the "why" and the archived flag of a version, rewritten in history and in
 * the current record together: only the leaf (v2) covers them */
static void test_store_verify_detects_rewritten_reason(void **state)
{
	tamper_case(*state, T_EDIT_REASON, 20, 19);
}
static void test_store_verify_detects_flipped_archived_flag(void **state)
{
	tamper_case(*state, T_ARCHIVE, 20, 19);
}

static void clear_leaf_v2(uint8_t *v, size_t len)
{
	v[STORE_RAW_FLAGS_LOW] &= (uint8_t)~REC_LEAF_V2;
}

/* Make the first n versions look as written before leaf v2: no REC_LEAF_V2
 * flag, v1 leaves, and the stored tree rebuilt over them. */
static void downgrade_to_v1_leaves(const char *dir, uint64_t n)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi chg, hist, audit, rec;
	static uint8_t lv[64][32];
	assert_true(n <= 64);
	raw_open(dir, &env, &txn, &chg, &hist, &audit, &rec);
	for (uint64_t seq = 1; seq <= n; seq++) {
		uint8_t kb[8], hk[64];
		char kind[STORE_KIND_MAX + 1];
		MDB_val k = { 8, kb }, v, hv;
		rec_view_t r;
		chg_view_t c;
		assert_int_equal(store_raw_rewrite_version(txn, chg, hist, rec, seq, clear_leaf_v2), 0);
		store_put_u64(kb, seq);
		assert_int_equal(mdb_get(txn, chg, &k, &v), 0);
		assert_int_equal(store_chg_parse(&v, &c), 0);
		memcpy(kind, c.kind, c.kind_len);
		kind[c.kind_len] = 0;
		MDB_val hkv = { store_raw_hist_key(v.mv_data, hk), hk };
		assert_int_equal(mdb_get(txn, hist, &hkv, &hv), 0);
		assert_int_equal(store_rec_parse(&hv, &r), 0);
		assert_false(r.flags & REC_LEAF_V2);
		assert_int_equal(store_leaf_of(seq, kind, &c.id, &r, NULL, lv[seq - 1]), 0);
	}
	assert_int_equal(mdb_drop(txn, audit, 0), 0);
	for (unsigned level = 0; (n >> level) > 0; level++) {
		uint64_t m = n >> level;
		for (uint64_t i = 0; i < m; i++) {
			uint8_t ak[9];
			ak[0] = (uint8_t)level;
			store_put_u64(ak + 1, i);
			MDB_val akv = { 9, ak }, av = { 32, lv[i] };
			assert_int_equal(mdb_put(txn, audit, &akv, &av, 0), 0);
		}
		for (uint64_t i = 0; i < m / 2; i++)
			assert_int_equal(merkle_node_hash(lv[2 * i], lv[2 * i + 1], lv[i]), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* An environment whose versions carry v1 leaves (written before leaf v2)
 * still verifies, also with v2 leaves appended; its v1 leaves still catch
 * what they cover. */
static void test_store_verify_accepts_v1_leaves(void **state)
{
	fx_t *f = *state;
	uint64_t bad = 0;
	uint8_t v2leaf[32], v1leaf[32];
	store_opts_t o = { .map_size = 1 << 20 };
	fill(f->s, 10);
	assert_int_equal(store_audit_leaf(f->s, 3, v2leaf), 0);
	store_close(&f->s);
	downgrade_to_v1_leaves(f->dir, 10);
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_audit_leaf(f->s, 3, v1leaf), 0);
	assert_memory_not_equal(v1leaf, v2leaf, 32);
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	fill(f->s, 5);
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	assert_int_equal(bad, UINT64_MAX);
	store_close(&f->s);
	tamper(f->dir, T_EDIT_DOC, 4);
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_audit_verify(f->s, &bad), SOUK_ECORRUPT);
	assert_int_equal(bad, 3);
}

/* A hashing failure fails the commit instead of writing a leaf nothing
 * matches: the log stays as it was and verifies. */
static void test_store_hash_failure_fails_the_mutation(void **state)
{
	fx_t *f = *state;
	fill(f->s, 3);
	store_mut_t m = mk(STORE_OP_CREATE, "product", "{\"n\":1}", NULL);
	fail_digest = true;
	int rc = store_apply(f->s, &m, 1);
	fail_digest = false;
	assert_int_equal(rc, SOUK_ECRYPTO);
	assert_int_equal(m.result, SOUK_ECRYPTO);
	assert_int_equal(fixture_last_seq(f->s), 3);
	assert_int_equal(store_audit_verify(f->s, NULL), 0);
	create(f->s, "{\"n\":2}", NULL);
	assert_int_equal(store_audit_verify(f->s, NULL), 0);
}

static void test_store_verify_detects_edited_record(void **state)
{
	fx_t *f = *state;
	uint64_t bad = 0;
	store_opts_t o = { .map_size = 1 << 20 };
	fill(f->s, 3);
	store_close(&f->s);
	tamper(f->dir, T_EDIT_RECORD, 0);
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_audit_verify(f->s, &bad), SOUK_ECORRUPT);
	assert_true(bad < 3);
}

/* ---- environment ----------------------------------------------------------- */

static void test_store_map_grows_from_tiny_map(void **state)
{
	fx_t *f = *state;
	store_t *s = NULL;
	store_info_t info;
	char dir[64];
	char doc[2100];
	assert_int_equal(fixture_tmpdir(dir, sizeof(dir), "store-tiny"), 0);
	store_opts_t o = { .map_size = 64 << 10 };
	assert_int_equal(store_open(dir, &o, &s), 0);
	memset(doc, 'x', sizeof(doc));
	memcpy(doc, "{\"p\":\"", 6);
	strcpy(doc + sizeof(doc) - 3, "\"}");
	for (int i = 0; i < 300; i++) {
		store_mut_t b[2] = { mk(STORE_OP_CREATE, "product", doc, NULL),
				     mk(STORE_OP_CREATE, "product", "{}", NULL) };
		assert_int_equal(store_apply(s, b, 2), 0);
		assert_int_equal(b[0].result, 0);
		assert_int_equal(b[1].result, 0);
	}
	assert_int_equal(store_info(s, &info), 0);
	assert_true(info.map_size > (64 << 10));
	assert_int_equal(info.last_seq, 600);
	uint64_t bad;
	assert_int_equal(store_audit_verify(s, &bad), 0);
	store_close(&s);
	/* a ceiling stops growth with a clear error and loses nothing */
	o.map_size = 64 << 10;
	o.map_max = info.map_size;
	assert_int_equal(store_open(dir, &o, &s), 0);
	int rc = 0;
	for (int i = 0; i < 5000 && rc == 0; i++) {
		store_mut_t m = mk(STORE_OP_CREATE, "product", doc, NULL);
		rc = store_apply(s, &m, 1);
		if (rc)
			assert_int_equal(m.result, SOUK_EMAPFULL);
	}
	assert_int_equal(rc, SOUK_EMAPFULL);
	assert_int_equal(store_audit_verify(s, &bad), 0);
	store_close(&s);
	fixture_rm_rf(dir);
	(void)f;
}

static int block_cb(const store_rec_t *r, void *arg)
{
	int fd = *(int *)arg;
	if (write(fd, "r", 1) != 1)
		_exit(1);
	pause();
	return 0;
}

static uint64_t churn(store_t *s, const store_id_t *id, int n)
{
	char doc[3000];
	store_info_t info;
	memset(doc, 'y', sizeof(doc));
	memcpy(doc, "{\"p\":\"", 6);
	strcpy(doc + sizeof(doc) - 3, "\"}");
	for (int i = 0; i < n; i++)
		assert_int_equal(update(s, id, 0, doc, NULL, NULL), 0);
	assert_int_equal(store_info(s, &info), 0);
	return info.used_bytes;
}

static void test_store_dead_reader_is_cleared(void **state)
{
	fx_t *f = *state;
	int p[2];
	char c;
	/* a map large enough that no growth (which also clears readers) happens */
	store_opts_t o = { .map_size = 256 << 20 };
	store_close(&f->s);
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	/* baseline: the growth from 400 updates with no reader */
	store_id_t a = create(f->s, "{}", NULL);
	uint64_t u0 = churn(f->s, &a, 10);
	uint64_t u1 = churn(f->s, &a, 400);
	uint64_t base = u1 - u0;
	/* a reader process holds a snapshot and dies without releasing it */
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store_t *rs = NULL;
		close(p[0]);
		if (store_open(f->dir, NULL, &rs) != 0)
			_exit(1);
		store_scan(rs, "product", block_cb, &p[1]);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	uint64_t u2 = churn(f->s, &a, 400);
	/* with the dead reader's snapshot pinned every update would leak its
	 * copied pages; cleared, growth stays near the baseline */
	assert_true(u2 - u1 <= 2 * base + (256 << 10));
	uint64_t bad;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
}

static void test_store_open_once_per_process_and_fork(void **state)
{
	fx_t *f = *state;
	store_t *s2 = NULL;
	assert_int_equal(store_open(f->dir, NULL, &s2), SOUK_EBUSY);
	assert_null(s2);
	uint32_t ver = 0;
	assert_int_equal(store_schema_version(f->s, &ver), 0);
	assert_int_equal(ver, STORE_SCHEMA_VERSION);
	pid_t pid = fork();
	if (pid == 0) {
		/* the inherited handle refuses service; a fresh open works */
		store_rec_t r;
		store_id_t id = { { 1 } };
		int bad = store_get(f->s, "product", &id, &r) != SOUK_ESTALE;
		store_t *c = NULL;
		bad |= store_open(f->dir, NULL, &c) != 0;
		store_close(&c);
		_exit(bad);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A mutation whose checks pass but whose writes fail half-way (here: the
 * history version it would write already exists, as in a damaged
 * environment) fails alone: none of its writes stay, the others commit. */
static void test_store_batch_write_failure_fails_alone(void **state)
{
	fx_t *f = *state;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi rec, hist;
	store_rec_t r;
	store_opts_t o = { .map_size = 1 << 20 };
	static const char *ka[] = { "sku:a2" }, *kc[] = { "sku:c" };
	static const size_t kal[] = { 6 }, kcl[] = { 5 };
	store_id_t a = create(f->s, "{\"n\":1}", "sku:a");
	store_id_t b = create(f->s, "{\"n\":2}", NULL);
	store_close(&f->s);
	/* plant history version 2 of a */
	uint8_t ek[64];
	size_t ekl = store_entity_key(ek, "product", &a);
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "records.v1", 0, &rec), 0);
	assert_int_equal(mdb_dbi_open(txn, "history.v1", 0, &hist), 0);
	MDB_val k = { ekl, ek }, v;
	assert_int_equal(mdb_get(txn, rec, &k, &v), 0);
	store_put_u64(ek + ekl, 2);
	k.mv_size = ekl + 8;
	assert_int_equal(mdb_put(txn, hist, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);

	store_mut_t m[3] = {
		mk(STORE_OP_UPDATE, "product", "{\"n\":3}", NULL),
		mk(STORE_OP_UPDATE, "product", "{\"n\":4}", NULL),
		mk(STORE_OP_CREATE, "product", "{\"n\":5}", NULL),
	};
	m[0].id = b;
	m[1].id = a;
	m[1].keys = ka;
	m[1].key_lens = kal;
	m[1].nkeys = 1;
	m[2].keys = kc;
	m[2].key_lens = kcl;
	m[2].nkeys = 1;
	assert_int_equal(store_apply(f->s, m, 3), 0);
	assert_int_equal(m[0].result, 0);
	assert_int_equal(m[0].version, 2);
	assert_int_equal(m[0].seq, 3);
	assert_int_equal(m[1].result, SOUK_EEXIST);
	assert_int_equal(m[1].version, 0);
	assert_int_equal(m[1].seq, 0);
	assert_int_equal(m[2].result, 0);
	assert_int_equal(m[2].seq, 4);
	assert_int_equal(fixture_last_seq(f->s), 4);
	/* a is untouched: same version, document and key */
	assert_int_equal(store_get(f->s, "product", &a, &r), 0);
	assert_int_equal(r.version, 1);
	assert_string_equal(r.doc, "{\"n\":1}");
	store_rec_deinit(&r);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:a2", 6, &r), SOUK_ENOENT);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:a", 5, &r), 0);
	assert_memory_equal(r.id.b, a.b, 16);
	store_rec_deinit(&r);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:c", 5, &r), 0);
	assert_memory_equal(r.id.b, m[2].id.b, 16);
	store_rec_deinit(&r);
	/* the next batch goes on from there */
	store_mut_t n = mk(STORE_OP_CREATE, "product", "{\"n\":6}", NULL);
	assert_int_equal(store_apply(f->s, &n, 1), 0);
	assert_int_equal(n.result, 0);
	assert_int_equal(n.seq, 5);
}

/* Within one batch each mutation sees the ones before it (records, unique
 * keys, idempotency keys), and batches of any size keep the audit tree
 * sound. */
static void test_store_batch_sees_earlier_mutations(void **state)
{
	fx_t *f = *state;
	store_rec_t r;
	static const char *k1[] = { "sku:x" }, *k2[] = { "sku:y" };
	static const size_t l1[] = { 5 }, l2[] = { 5 };
	store_mut_t m[6] = {
		mk(STORE_OP_CREATE, "product", "{\"v\":1}", NULL),
		mk(STORE_OP_UPDATE, "product", "{\"v\":2}", NULL),
		mk(STORE_OP_CREATE, "product", "{\"w\":1}", NULL),
		mk(STORE_OP_CREATE, "product", "{\"z\":1}", NULL),
		mk(STORE_OP_DELETE, "product", NULL, NULL),
		mk(STORE_OP_CREATE, "product", "{\"q\":1}", NULL),
	};
	assert_int_equal(store_id_new(&m[0].id), 0);
	m[0].keys = k1, m[0].key_lens = l1, m[0].nkeys = 1;
	m[1].id = m[0].id; /* moves its key from x to y */
	m[1].expect_version = 1;
	m[1].keys = k2, m[1].key_lens = l2, m[1].nkeys = 1;
	m[2].keys = k1, m[2].key_lens = l1, m[2].nkeys = 1; /* x is free again */
	m[3].keys = k2, m[3].key_lens = l2, m[3].nkeys = 1; /* y is taken */
	m[4].id = m[0].id;
	m[4].expect_version = 2;
	m[5].idem_key = "once";
	m[5].idem_key_len = 4;
	store_mut_t rep = m[5];
	assert_int_equal(store_apply(f->s, m, 6), 0);
	assert_int_equal(m[0].result, 0);
	assert_int_equal(m[1].result, 0);
	assert_int_equal(m[1].version, 2);
	assert_int_equal(m[2].result, 0);
	assert_int_equal(m[3].result, SOUK_EEXIST);
	assert_int_equal(m[4].result, 0);
	assert_int_equal(m[4].version, 3);
	assert_int_equal(m[5].result, 0);
	assert_int_equal(m[5].seq, 5);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:x", 5, &r), 0);
	assert_memory_equal(r.id.b, m[2].id.b, 16);
	store_rec_deinit(&r);
	assert_int_equal(store_get_by_key(f->s, "product", "sku:y", 5, &r), SOUK_ENOENT);
	assert_int_equal(store_get(f->s, "product", &m[0].id, &r), 0);
	assert_true(r.archived);
	store_rec_deinit(&r);
	/* the idempotency key recorded by m[5] replays in the next batch */
	store_mut_t two[2] = { rep, mk(STORE_OP_CREATE, "product", "{}", NULL) };
	assert_int_equal(store_apply(f->s, two, 2), 0);
	assert_true(two[0].replayed);
	assert_int_equal(two[0].seq, 5);
	assert_memory_equal(two[0].id.b, m[5].id.b, 16);
	assert_int_equal(two[1].seq, 6);

	/* batches of 1..67 mutations: every stored subtree matches its children */
	static store_mut_t big[67];
	char docs[67][32];
	for (size_t size = 1; size <= 67; size += 11) {
		for (size_t i = 0; i < size; i++) {
			snprintf(docs[i], sizeof(docs[i]), "{\"i\":%zu}", i);
			big[i] = mk(STORE_OP_CREATE, "product", docs[i], NULL);
		}
		assert_int_equal(store_apply(f->s, big, size), 0);
		for (size_t i = 0; i < size; i++)
			assert_int_equal(big[i].result, 0);
	}
	uint64_t bad = 0;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	assert_int_equal(bad, UINT64_MAX);
	assert_int_equal(fixture_last_seq(f->s), 6 + 1 + 12 + 23 + 34 + 45 + 56 + 67);
}



/* With ordered_ids, creates get ids that sort in creation order (so a scan
 * lists them oldest first); without it they do not follow any order. */
static void test_store_ordered_ids_follow_creation_order(void **state)
{
	fx_t *f = *state;
	store_opts_t o = { .map_size = 1 << 20, .ordered_ids = true };
	store_mut_t m[20];
	idlist_t l = { .n = 0 };
	store_id_t made[40];
	store_close(&f->s);
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 20; i++)
			m[i] = mk(STORE_OP_CREATE, "item", "{}", NULL);
		assert_int_equal(store_apply(f->s, m, 20), 0);
		for (int i = 0; i < 20; i++) {
			assert_int_equal(m[i].result, 0);
			made[round * 20 + i] = m[i].id;
		}
	}
	for (int i = 1; i < 40; i++)
		assert_true(memcmp(made[i - 1].b, made[i].b, 16) < 0);
	/* the random half differs */
	assert_memory_not_equal(made[0].b + 8, made[1].b + 8, 8);
	assert_int_equal(store_scan(f->s, "item", collect_id, &l), 0);
	assert_int_equal(l.n, 40);
	assert_memory_equal(l.ids, made, sizeof(made));
	/* a caller's id is kept as given */
	store_mut_t given = mk(STORE_OP_CREATE, "item", "{}", NULL);
	memset(given.id.b, 0xab, 16);
	assert_int_equal(store_apply(f->s, &given, 1), 0);
	assert_int_equal(given.result, 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(given.id.b[i], 0xab);
	uint64_t bad = 0;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
}

static void test_store_schema_newer_is_refused(void **state)
{
	fx_t *f = *state;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	uint8_t v[4] = { 0, 0, 0, 99 };
	store_close(&f->s);
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	MDB_val k = { 14, "schema_version" }, d = { 4, v };
	assert_int_equal(mdb_put(txn, meta, &k, &d, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(store_open(f->dir, NULL, &f->s), SOUK_EVERSION);
	assert_null(f->s);
}

static void test_store_backup_is_consistent_copy(void **state)
{
	fx_t *f = *state;
	char bdir[128];
	store_t *b = NULL;
	store_info_t info;
	fill(f->s, 50);
	snprintf(bdir, sizeof(bdir), "%s/backup", f->dir);
	assert_int_equal(store_backup(f->s, bdir), 0);
	assert_int_equal(store_backup(f->s, bdir), SOUK_EEXIST);
	fill(f->s, 5);
	/* a different directory: another environment, may be open beside ours */
	store_opts_t ro = { .read_only = true };
	assert_int_equal(store_open(bdir, &ro, &b), 0);
	assert_int_equal(store_info(b, &info), 0);
	assert_int_equal(info.last_seq, 50);
	uint64_t bad;
	assert_int_equal(store_audit_verify(b, &bad), 0);
	store_mut_t m = mk(STORE_OP_CREATE, "product", "{}", NULL);
	assert_int_not_equal(store_apply(b, &m, 1), 0);
	store_close(&b);
}

static void test_store_checkpoint_sign_and_detect_rewrite(void **state)
{
	fx_t *f = *state;
	char key[128], pub[128], text[STORE_CHECKPOINT_TEXT_MAX], text2[STORE_CHECKPOINT_TEXT_MAX];
	store_checkpoint_t cp, parsed, cp2;
	struct stat st;
	snprintf(key, sizeof(key), "%s/audit.key", f->dir);
	snprintf(pub, sizeof(pub), "%s/audit.pub", f->dir);
	assert_int_equal(store_audit_keygen(key, pub), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_not_equal(store_audit_keygen(key, NULL), 0); /* never overwrites */
	fill(f->s, 11);
	assert_int_equal(store_audit_checkpoint(f->s, key, &cp, text), 0);
	assert_int_equal(cp.size, 11);
	assert_int_equal(store_checkpoint_parse(text, strlen(text), &parsed), 0);
	assert_memory_equal(&parsed, &cp, sizeof(cp));
	assert_int_equal(store_checkpoint_verify_sig(&parsed, pub), 0);
	assert_int_equal(store_checkpoint_verify_sig(&parsed, key), 0);
	parsed.size++;
	assert_int_equal(store_checkpoint_verify_sig(&parsed, pub), SOUK_ECORRUPT);
	assert_int_equal(store_checkpoint_parse(text, strlen(text) - 1, &parsed), SOUK_EINVAL);
	/* the log grows: still consistent with the old checkpoint */
	fill(f->s, 6);
	assert_int_equal(store_audit_check_checkpoint(f->s, &cp), 0);
	assert_int_equal(store_audit_checkpoint(f->s, key, &cp2, text2), 0);
	assert_int_equal(cp2.size, 17);
	/* a private key readable by others is refused */
	chmod(key, 0644);
	assert_int_equal(store_audit_checkpoint(f->s, key, &cp2, text2), SOUK_EPERM);
	chmod(key, 0600);
	/* a rewritten past: the log is replaced by another, internally
	 * consistent one of the same length; only the checkpoint catches it */
	uint64_t bad;
	store_close(&f->s);
	char path[160];
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
	unlink(path);
	assert_int_equal(store_open(f->dir, NULL, &f->s), 0);
	fill(f->s, 17);
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	assert_int_equal(store_audit_check_checkpoint(f->s, &cp), SOUK_ECORRUPT);
	assert_int_equal(store_audit_check_checkpoint(f->s, &cp2), SOUK_ECORRUPT);
	/* a log shorter than the checkpoint is a truncation */
	cp.size = 100;
	assert_int_equal(store_audit_check_checkpoint(f->s, &cp), SOUK_ECORRUPT);
}

/* A failed meta-page write (MDB_PANIC from then on) kills the store for this
 * process: that commit and every later call, reads included, fail with
 * SOUK_EPANIC instead of answering 0; a reopen recovers. */
static void test_store_dead_after_failed_meta_write(void **state)
{
	fx_t *f = *state;
	uint64_t seq = 77;
	store_info_t info = { .last_seq = 77 };
	store_rec_t rec;
	store_id_t id = create(f->s, "{\"n\":1}", NULL);
	assert_int_equal(store_status(f->s), 0);
	assert_int_equal(store_last_seq(f->s, &seq), 0);
	assert_int_equal(seq, 1);

	assert_int_equal(fixture_meta_arm(f->dir), 0);
	store_mut_t m = mk(STORE_OP_CREATE, "product", "{\"n\":2}", NULL);
	int rc = store_apply(f->s, &m, 1);
	assert_int_equal(fixture_meta_disarm(), 1);
	assert_int_equal(rc, SOUK_EPANIC);
	assert_int_equal(m.result, SOUK_EPANIC);

	seq = 77;
	assert_int_equal(store_status(f->s), SOUK_EPANIC);
	assert_int_equal(store_last_seq(f->s, &seq), SOUK_EPANIC);
	assert_int_equal(seq, 77); /* no half-filled output */
	assert_int_equal(store_info(f->s, &info), SOUK_EPANIC);
	assert_int_equal(info.last_seq, 77);
	assert_int_equal(store_get(f->s, "product", &id, &rec), SOUK_EPANIC);
	m = mk(STORE_OP_CREATE, "product", "{\"n\":3}", NULL);
	assert_int_equal(store_apply(f->s, &m, 1), SOUK_EPANIC);
	assert_int_equal(store_audit_verify(f->s, NULL), SOUK_EPANIC);
	assert_string_equal(souk_strerror(SOUK_EPANIC),
			    "storage environment had a fatal error (restart to reopen it)");

	/* a new open (what a restarted process does) works again: the commit
	 * whose meta write failed is either there or not, the log is sound */
	store_close(&f->s);
	store_opts_t o = { .map_size = 1 << 20, .max_readers = 32 };
	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_status(f->s), 0);
	assert_int_equal(store_info(f->s, &info), 0);
	assert_true(info.last_seq == 1 || info.last_seq == 2);
	assert_int_equal(store_audit_verify(f->s, NULL), 0);
	assert_int_equal(store_get(f->s, "product", &id, &rec), 0);
	store_rec_deinit(&rec);
	create(f->s, "{\"n\":4}", NULL);
}

/* Every write txn goes through one loop: a checkpoint whose commit loses
 * its meta-page write kills the store like a failed store_apply(). */
static void test_store_checkpoint_commit_failure_kills_store(void **state)
{
	fx_t *f = *state;
	char key[96], text[STORE_CHECKPOINT_TEXT_MAX];
	snprintf(key, sizeof(key), "%s/audit.key", f->dir);
	assert_int_equal(store_audit_keygen(key, NULL), 0);
	fill(f->s, 2);
	assert_int_equal(fixture_meta_arm(f->dir), 0);
	int rc = store_audit_checkpoint(f->s, key, NULL, text);
	assert_int_equal(fixture_meta_disarm(), 1);
	assert_int_equal(rc, SOUK_EPANIC);
	assert_int_equal(store_status(f->s), SOUK_EPANIC);
	assert_int_equal(fixture_last_seq(f->s), UINT64_MAX);
}

static void test_store_refuses_network_filesystems(void **state)
{
	(void)state;
	assert_string_equal(store_fs_refused(0x6969), "nfs");
	assert_string_equal(store_fs_refused(0xFF534D42ul), "cifs");
	assert_string_equal(store_fs_refused(0xFE534D42ul), "smb2");
	assert_string_equal(store_fs_refused(0x517B), "smb");
	assert_string_equal(store_fs_refused(0x65735546), "fuse");
	assert_string_equal(store_fs_refused(0x01021997), "9p");
	assert_string_equal(store_fs_refused(0x00c36400), "ceph");
	/* f_type may arrive sign-extended from a 32-bit magic */
	assert_string_equal(store_fs_refused((unsigned long)(long)(int32_t)0xFF534D42u), "cifs");
	assert_null(store_fs_refused(0xEF53));     /* ext4 */
	assert_null(store_fs_refused(0x58465342)); /* xfs */
	assert_null(store_fs_refused(0x01021994)); /* tmpfs */
	assert_null(store_fs_refused(0x9123683E)); /* btrfs */
}

int main(void)
{
	log_init("test_store", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_create_get_update_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_rejects_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_unique_keys_conflict_and_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_delete_archives_and_releases_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_revert_history_and_as_of, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_idempotency_replay_and_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_batch_conflict_fails_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_changes_and_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_scan_after, setup, teardown),
		cmocka_unit_test(test_store_audit_rfc6962_vectors),
		cmocka_unit_test(test_store_refuses_network_filesystems),
		cmocka_unit_test_setup_teardown(test_store_audit_root_and_proofs_from_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_edited_document, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_edited_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_dropped_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_edited_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_rewritten_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_detects_flipped_archived_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_verify_accepts_v1_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_hash_failure_fails_the_mutation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_map_grows_from_tiny_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_dead_reader_is_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_open_once_per_process_and_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_schema_newer_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_batch_write_failure_fails_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_batch_sees_earlier_mutations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_ordered_ids_follow_creation_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_backup_is_consistent_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_checkpoint_sign_and_detect_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_dead_after_failed_meta_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_checkpoint_commit_failure_kills_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
