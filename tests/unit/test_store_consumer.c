/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_store_consumer.c - consumer cursors (advance, never
 * backwards, never past the log, durable across reopen, migration of a
 * schema-2 environment) and read transactions that see one snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "common/error.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

typedef fixture_store_t fx_t;

static int setup(void **state)
{
	return fixture_store_setup(state, "consumer");
}

static store_id_t put(store_t *s, const store_id_t *id, uint64_t expect, const char *doc)
{
	store_mut_t m = {.op = id ? STORE_OP_UPDATE : STORE_OP_CREATE,
			 .kind = "product",
			 .expect_version = expect,
			 .doc = doc,
			 .doc_len = strlen(doc),
			 .actor = "test"};
	if (id)
		m.id = *id;
	assert_int_equal(store_apply(s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	return m.id;
}

static void fill(store_t *s, int n)
{
	for (int i = 0; i < n; i++)
		put(s, NULL, 0, "{\"a\":1}");
}

static void test_consumer_cursor_moves_forward_only(void **state)
{
	fx_t *f = *state;
	uint64_t seq = 99;
	assert_int_equal(store_consumer_get(f->s, "publisher", &seq), 0);
	assert_int_equal(seq, 0);
	fill(f->s, 5);
	assert_int_equal(store_consumer_advance(f->s, "publisher", 3), 0);
	assert_int_equal(store_consumer_get(f->s, "publisher", &seq), 0);
	assert_int_equal(seq, 3);
	/* an older report (a slow second process) leaves the cursor */
	assert_int_equal(store_consumer_advance(f->s, "publisher", 2), 0);
	assert_int_equal(store_consumer_get(f->s, "publisher", &seq), 0);
	assert_int_equal(seq, 3);
	/* beyond the end of the log is refused */
	assert_int_equal(store_consumer_advance(f->s, "publisher", 6), SOUK_EINVAL);
	assert_int_equal(store_consumer_get(f->s, "publisher", &seq), 0);
	assert_int_equal(seq, 3);
	/* consumers are independent */
	assert_int_equal(store_consumer_advance(f->s, "search", 5), 0);
	assert_int_equal(store_consumer_get(f->s, "search", &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(store_consumer_get(f->s, "publisher", &seq), 0);
	assert_int_equal(seq, 3);
	/* bad names */
	assert_int_equal(store_consumer_get(f->s, "", &seq), SOUK_EINVAL);
	assert_int_equal(store_consumer_get(f->s, "Pub", &seq), SOUK_EINVAL);
	assert_int_equal(store_consumer_advance(f->s, "a/b", 1), SOUK_EINVAL);
	assert_int_equal(store_consumer_advance(f->s, "abcdefghijklmnopqrstuvwxyz0123456", 1),
			 SOUK_EINVAL);
}

static int list_cb(const char *name, uint64_t seq, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 128 - n, "%s=%llu;", name, (unsigned long long)seq);
	return 0;
}

static void test_consumer_cursor_survives_reopen(void **state)
{
	fx_t *f = *state;
	uint64_t seq = 0;
	char list[128] = "";
	fill(f->s, 4);
	assert_int_equal(store_consumer_advance(f->s, "webhooks", 4), 0);
	assert_int_equal(store_consumer_advance(f->s, "publisher", 2), 0);
	store_close(&f->s);
	assert_int_equal(fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s), 0);
	assert_int_equal(store_consumer_get(f->s, "webhooks", &seq), 0);
	assert_int_equal(seq, 4);
	assert_int_equal(store_consumer_list(f->s, list_cb, list), 0);
	assert_string_equal(list, "publisher=2;webhooks=4;");
	/* a read-only open (tools) reads cursors but cannot move them */
	store_close(&f->s);
	store_opts_t ro = {.read_only = true};
	assert_int_equal(store_open(f->db, &ro, &f->s), 0);
	assert_int_equal(store_consumer_get(f->s, "publisher", &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(store_consumer_advance(f->s, "publisher", 3), SOUK_EPERM);
}

/* An environment written by schema 2 (no consumers table) is migrated on
 * the first read-write open and keeps its data. */
static void test_consumer_schema2_environment_migrates(void **state)
{
	fx_t *f = *state;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, dbi;
	uint8_t v2[4] = {0, 0, 0, 2};
	uint32_t ver = 0;
	uint64_t seq = 1;
	fill(f->s, 3);
	store_close(&f->s);
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	mdb_env_set_mapsize(env, 64u << 20);
	assert_int_equal(mdb_env_open(env, f->db, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "consumers.v3", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	MDB_val k = {14, "schema_version"}, d = {4, v2};
	assert_int_equal(mdb_put(txn, meta, &k, &d, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	/* read-only tools refuse until a read-write open migrated it */
	store_opts_t ro = {.read_only = true};
	assert_int_equal(store_open(f->db, &ro, &f->s), SOUK_EVERSION);
	assert_int_equal(fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s), 0);
	assert_int_equal(store_schema_version(f->s, &ver), 0);
	assert_int_equal(ver, 3);
	assert_int_equal(store_last_seq(f->s, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(store_consumer_get(f->s, "publisher", &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(store_consumer_advance(f->s, "publisher", 3), 0);
	uint64_t bad = 0;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
}

typedef struct {
	uint64_t seqs[16];
	size_t n;
} seen_t;

static int seen_cb(const store_change_t *c, void *arg)
{
	seen_t *s = arg;
	if (s->n < 16)
		s->seqs[s->n++] = c->seq;
	return 0;
}

/* Writes committed while a read transaction is open are not seen by it:
 * the change log and the records agree on one sequence. */
static void test_read_txn_is_one_snapshot(void **state)
{
	fx_t *f = *state;
	store_read_t *rt = NULL;
	store_rec_t rec;
	uint64_t last = 0;
	seen_t seen = {.n = 0};
	store_id_t id = put(f->s, NULL, 0, "{\"v\":1}");
	assert_int_equal(store_read_begin(f->s, &rt), 0);
	put(f->s, &id, 1, "{\"v\":2}");
	put(f->s, NULL, 0, "{\"v\":3}");
	assert_int_equal(store_read_last_seq(rt, &last), 0);
	assert_int_equal(last, 1);
	assert_int_equal(store_read_changes(rt, 0, seen_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(store_read_get(rt, "product", &id, &rec), 0);
	assert_int_equal(rec.version, 1);
	assert_string_equal(rec.doc, "{\"v\":1}");
	store_rec_deinit(&rec);
	store_read_end(&rt);
	assert_null(rt);
	store_read_end(&rt); /* twice is harmless */
	/* a new one sees everything */
	assert_int_equal(store_read_begin(f->s, &rt), 0);
	seen.n = 0;
	assert_int_equal(store_read_changes(rt, 1, seen_cb, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.seqs[0], 2);
	assert_int_equal(seen.seqs[1], 3);
	assert_int_equal(store_read_get(rt, "product", &id, &rec), 0);
	assert_int_equal(rec.version, 2);
	store_rec_deinit(&rec);
	store_id_t none = {{7}};
	assert_int_equal(store_read_get(rt, "product", &none, &rec), SOUK_ENOENT);
	store_read_end(&rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_consumer_cursor_moves_forward_only, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_consumer_cursor_survives_reopen, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_consumer_schema2_environment_migrates, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_read_txn_is_one_snapshot, setup,
					    fixture_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
