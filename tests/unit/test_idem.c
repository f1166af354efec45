/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_idem.c - idempotency keys in the store: expiry forgets keys
 * past the TTL oldest first and keeps younger ones, goes chunk by chunk so
 * another writer commits while a large expiry is in progress (real threads,
 * no timing), keys are scoped by principal, a replay with another request
 * fingerprint fails, and keys of a schema-1 environment still replay and
 * expire after the migration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#include "common/error.h"
#include "common/util.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

#define NOLD	200
#define PER_TXN 10

typedef fixture_store_t fx_t;

static int setup(void **state)
{
	return fixture_store_setup(state, "idem");
}

static store_mut_t mk(const char *actor, const char *key, const uint8_t *fp)
{
	store_mut_t m = {.op = STORE_OP_CREATE, .kind = "order", .doc = "{}", .doc_len = 2};
	m.actor = actor;
	m.idem_key = key;
	m.idem_key_len = strlen(key);
	m.idem_fp = fp;
	return m;
}

/* One create with key: its result (0 new or replayed, or an error). */
static int apply(fx_t *f, const char *actor, const char *key, const uint8_t *fp, bool *replayed)
{
	store_mut_t m = mk(actor, key, fp);
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	if (replayed)
		*replayed = m.replayed;
	return m.result;
}

/* NOLD keys in one batch (one time); returns that time, and waits until the
 * wall clock is past it so that later keys are younger. */
static uint64_t old_keys(fx_t *f)
{
	static char names[NOLD][16];
	store_mut_t m[NOLD];
	for (int i = 0; i < NOLD; i++) {
		snprintf(names[i], sizeof(names[i]), "old-%d", i);
		m[i] = mk("admin", names[i], NULL);
	}
	assert_int_equal(store_apply(f->s, m, NOLD), 0);
	for (int i = 0; i < NOLD; i++)
		assert_int_equal(m[i].result, 0);
	uint64_t t = m[0].time_ms, until = souk_now_mono_ms() + 10000;
	while (souk_now_real_ms() <= t && souk_now_mono_ms() < until) {
	}
	assert_true(souk_now_real_ms() > t);
	return t;
}

static void test_idem_expiry_forgets_old_keeps_young(void **state)
{
	fx_t *f = *state;
	bool rep;
	uint64_t t = old_keys(f), removed = 0;
	assert_int_equal(apply(f, "admin", "young", NULL, NULL), 0);
	/* keys recorded at t or before are past the TTL */
	store_idem_expire_opts_t o = {.per_txn = PER_TXN, .now_ms = t + 60000};
	assert_int_equal(store_idem_expire_opts(f->s, 60000, &o, &removed), 0);
	assert_int_equal(removed, NOLD);
	assert_int_equal(apply(f, "admin", "young", NULL, &rep), 0);
	assert_true(rep);
	assert_int_equal(apply(f, "admin", "old-7", NULL, &rep), 0);
	assert_false(rep); /* forgotten: a new order */
	/* nothing left to forget at that time */
	assert_int_equal(store_idem_expire_opts(f->s, 60000, &o, &removed), 0);
	assert_int_equal(removed, 0);
}

typedef struct {
	store_t *s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool go, done;
	int rc;
	unsigned calls;
	uint64_t removed_when_committed;
	unsigned stop_after; /* between() stops the expiry after this call */
} chunk_t;

static void *writer(void *arg)
{
	chunk_t *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->go)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	store_mut_t m = mk("admin", "written-during-expiry", NULL);
	int rc = store_apply(c->s, &m, 1);
	pthread_mutex_lock(&c->mu);
	c->rc = rc ? rc : m.result;
	c->done = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* After the first chunk: let the writer commit and wait for it (bounded).
 * An expiry in one transaction, or one that kept the writer lock between
 * chunks, never gets here or keeps the writer waiting past the bound. */
static int between(void *arg, uint64_t removed)
{
	chunk_t *c = arg;
	if (++c->calls == 1) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 60;
		pthread_mutex_lock(&c->mu);
		c->go = true;
		pthread_cond_broadcast(&c->cv);
		while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
		}
		c->removed_when_committed = c->done ? removed : UINT64_MAX;
		pthread_mutex_unlock(&c->mu);
	}
	return c->stop_after && c->calls >= c->stop_after;
}

static void test_idem_expiry_chunks_let_writers_commit(void **state)
{
	fx_t *f = *state;
	chunk_t c = {.s = f->s, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	pthread_t th;
	bool rep;
	uint64_t t = old_keys(f), removed = 0;
	assert_int_equal(pthread_create(&th, NULL, writer, &c), 0);
	store_idem_expire_opts_t o = {
	    .per_txn = PER_TXN, .now_ms = t, .between = between, .arg = &c};
	assert_int_equal(store_idem_expire_opts(f->s, 0, &o, &removed), 0);
	pthread_mutex_lock(&c.mu);
	c.go = true; /* in case between() never ran */
	pthread_cond_broadcast(&c.cv);
	pthread_mutex_unlock(&c.mu);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* the writer committed after the first chunk, with the rest to go */
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.removed_when_committed, PER_TXN);
	assert_true(c.calls >= NOLD / PER_TXN - 1);
	assert_int_equal(removed, NOLD);
	/* the writer's key is younger than the cutoff: kept */
	assert_int_equal(apply(f, "admin", "written-during-expiry", NULL, &rep), 0);
	assert_true(rep);
}

static void test_idem_expiry_stopped_between_chunks_goes_on_later(void **state)
{
	fx_t *f = *state;
	chunk_t c = {.s = f->s,
		     .mu = PTHREAD_MUTEX_INITIALIZER,
		     .cv = PTHREAD_COND_INITIALIZER,
		     .done = true,
		     .stop_after = 1};
	uint64_t t = old_keys(f), removed = 0;
	store_idem_expire_opts_t o = {
	    .per_txn = PER_TXN, .now_ms = t, .between = between, .arg = &c};
	assert_int_equal(store_idem_expire_opts(f->s, 0, &o, &removed), 0);
	assert_int_equal(removed, PER_TXN);
	o.between = NULL;
	assert_int_equal(store_idem_expire_opts(f->s, 0, &o, &removed), 0);
	assert_int_equal(removed, NOLD - PER_TXN);
}

static void test_idem_scoped_by_principal(void **state)
{
	fx_t *f = *state;
	bool rep;
	store_idem_t r;
	assert_int_equal(apply(f, "admin", "k-1", NULL, &rep), 0);
	assert_false(rep);
	assert_int_equal(apply(f, "alice", "k-1", NULL, &rep), 0);
	assert_false(rep); /* another principal: another key */
	assert_int_equal(apply(f, "alice", "k-1", NULL, &rep), 0);
	assert_true(rep);
	assert_int_equal(store_idem_get(f->s, "order", "admin", "k-1", 3, NULL, &r), 0);
	assert_int_equal(r.version, 1);
	assert_int_equal(store_idem_get(f->s, "order", "bob", "k-1", 3, NULL, &r), SOUK_ENOENT);
}

static void test_idem_replay_with_another_fingerprint_fails(void **state)
{
	fx_t *f = *state;
	uint8_t a[32], b[32];
	bool rep;
	store_idem_t r;
	assert_int_equal(store_idem_fingerprint("POST", "products", "{\"a\":1}", 7, a), 0);
	assert_int_equal(store_idem_fingerprint("POST", "products", "{\"a\":2}", 7, b), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(apply(f, "admin", "k-2", a, &rep), 0);
	assert_false(rep);
	assert_int_equal(apply(f, "admin", "k-2", a, &rep), 0);
	assert_true(rep);
	assert_int_equal(apply(f, "admin", "k-2", b, &rep), SOUK_EREUSED);
	assert_int_equal(store_idem_get(f->s, "order", "admin", "k-2", 3, a, &r), 0);
	assert_int_equal(store_idem_get(f->s, "order", "admin", "k-2", 3, b, &r), SOUK_EREUSED);
	/* a caller without a fingerprint is not compared */
	assert_int_equal(apply(f, "admin", "k-2", NULL, &rep), 0);
	assert_true(rep);
	/* nothing but the first create was written */
	{
		uint64_t last = 0;
		assert_int_equal(store_last_seq(f->s, &last), 0);
		assert_int_equal(last, 1);
	}
}

/* Make f's (empty) environment look like schema 1 with two idem.v1 keys,
 * one recorded at old_ms, one at young_ms. */
static void make_v1(fx_t *f, uint64_t old_ms, uint64_t young_ms)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, dbi;
	store_close(&f->s);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->db, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	uint8_t ver[4] = {0, 0, 0, 1};
	MDB_val k = {14, "schema_version"}, v = {4, ver};
	assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
	assert_int_equal(mdb_dbi_open(txn, "idem.v2", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_dbi_open(txn, "idemtime.v2", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_dbi_open(txn, "idem.v1", 0, &dbi), 0);
	const char *keys[2] = {"order\0legacy-old", "order\0legacy-young"};
	uint64_t times[2] = {old_ms, young_ms};
	for (int i = 0; i < 2; i++) {
		uint8_t val[40] = {0};
		for (int b = 0; b < 8; b++)
			val[7 - b] = (uint8_t)(times[i] >> (8 * b));
		val[31] = 1;		       /* version */
		val[39] = (uint8_t)(7 + i);    /* seq */
		memset(val + 8, 0xa0 + i, 16); /* id */
		k = (MDB_val){6 + strlen(keys[i] + 6), (void *)keys[i]};
		v = (MDB_val){40, val};
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_idem_schema1_keys_replay_and_expire(void **state)
{
	fx_t *f = *state;
	uint64_t now = souk_now_real_ms(), removed = 0;
	uint32_t ver = 0;
	store_idem_t r;
	bool rep;
	make_v1(f, 1000, now);
	store_opts_t so = {.map_size = 64u << 20};
	assert_int_equal(store_open(f->db, &so, &f->s), 0);
	assert_int_equal(store_schema_version(f->s, &ver), 0);
	assert_int_equal(ver, STORE_SCHEMA_VERSION);
	/* a schema-1 key replays for any principal, without a fingerprint check */
	assert_int_equal(store_idem_get(f->s, "order", "admin", "legacy-young", 12, NULL, &r), 0);
	assert_int_equal(r.seq, 8);
	uint8_t fp[32] = {1};
	store_mut_t m = mk("admin", "legacy-old", fp);
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_true(m.replayed);
	assert_int_equal(m.seq, 7);
	/* the old one is past a one-hour TTL, the young one is not */
	store_idem_expire_opts_t o = {.per_txn = 1, .now_ms = now};
	assert_int_equal(store_idem_expire_opts(f->s, 3600 * 1000, &o, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(store_idem_get(f->s, "order", "admin", "legacy-old", 10, NULL, &r),
			 SOUK_ENOENT);
	assert_int_equal(store_idem_get(f->s, "order", "admin", "legacy-young", 12, NULL, &r), 0);
	assert_int_equal(store_idem_expire_opts(f->s, 0, &o, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(store_idem_get(f->s, "order", "admin", "legacy-young", 12, NULL, &r),
			 SOUK_ENOENT);
	assert_int_equal(apply(f, "admin", "legacy-young", NULL, &rep), 0);
	assert_false(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_idem_expiry_forgets_old_keeps_young, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_idem_expiry_chunks_let_writers_commit, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_idem_expiry_stopped_between_chunks_goes_on_later,
					    setup, fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_idem_scoped_by_principal, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_idem_replay_with_another_fingerprint_fails, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_idem_schema1_keys_replay_and_expire, setup,
					    fixture_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
