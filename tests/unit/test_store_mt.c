/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_mt - store_apply() from several threads while others read, on
 * a map that starts tiny (growth under concurrency). Also run under TSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/log.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

#define WRITERS 4
#define BATCHES 60

typedef struct {
	store_t *s;
	int t;
	int created;
	int conflicts;
	int errors;
} wctx_t;

static atomic_int writers_done;

static void *writer(void *arg)
{
	wctx_t *w = arg;
	store_id_t shared_id = { { 0 } };
	for (int b = 0; b < BATCHES; b++) {
		char docs[3][64], keys[3][32];
		const char *kp[3][1];
		size_t kl[3][1];
		store_mut_t m[3];
		int n = 1 + b % 3;
		memset(m, 0, sizeof(m));
		for (int j = 0; j < n; j++) {
			snprintf(docs[j], sizeof(docs[j]), "{\"t\":%d,\"b\":%d,\"j\":%d}", w->t, b, j);
			snprintf(keys[j], sizeof(keys[j]), "k:%d:%d:%d", w->t, b, j);
			kp[j][0] = keys[j];
			kl[j][0] = strlen(keys[j]);
			m[j] = (store_mut_t){ .op = STORE_OP_CREATE, .kind = "item", .doc = docs[j],
					      .doc_len = strlen(docs[j]), .keys = kp[j],
					      .key_lens = kl[j], .nkeys = 1, .actor = "mt" };
		}
		if (store_apply(w->s, m, (size_t)n) != 0) {
			w->errors++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			if (m[j].result == 0)
				w->created++;
			else
				w->errors++;
		}
		/* every thread also fights over one shared counter record */
		store_rec_t r;
		store_id_parse("000102030405060708090a0b0c0d0e0f", &shared_id);
		if (store_get(w->s, "counter", &shared_id, &r) == 0) {
			store_mut_t u = { .op = STORE_OP_UPDATE, .kind = "counter", .id = shared_id,
					  .expect_version = r.version, .doc = "{\"c\":1}",
					  .doc_len = 7, .actor = "mt" };
			store_rec_deinit(&r);
			if (store_apply(w->s, &u, 1) != 0)
				w->errors++;
			else if (u.result == SOUK_ECONFLICT)
				w->conflicts++;
			else if (u.result != 0)
				w->errors++;
		}
	}
	atomic_fetch_add(&writers_done, 1);
	return NULL;
}

static int count_cb(const store_rec_t *r, void *arg)
{
	(*(int *)arg)++;
	return r->doc_len == 0;
}

static int chg_cb(const store_change_t *c, void *arg)
{
	uint64_t *last = arg;
	if (c->seq != *last + 1)
		return 1; /* gap or disorder seen by a reader */
	*last = c->seq;
	return 0;
}

static void *reader(void *arg)
{
	store_t *s = arg;
	intptr_t bad = 0;
	while (atomic_load(&writers_done) < WRITERS) {
		int n = 0;
		uint64_t last = 0;
		if (store_scan(s, "item", count_cb, &n) != 0)
			bad++;
		if (store_changes(s, 0, chg_cb, &last) != 0)
			bad++;
		uint8_t root[32];
		uint64_t size;
		if (store_audit_root(s, &size, root) != 0)
			bad++;
	}
	return (void *)bad;
}

static void test_store_mt_concurrent_apply_and_reads(void **state)
{
	char dir[64];
	store_t *s = NULL;
	pthread_t wt[WRITERS], rt[2];
	wctx_t w[WRITERS];
	(void)state;
	assert_int_equal(fixture_tmpdir(dir, sizeof(dir), "store-mt"), 0);
	store_opts_t o = { .map_size = 64 << 10, .max_readers = 64 };
	assert_int_equal(store_open(dir, &o, &s), 0);
	store_mut_t c = { .op = STORE_OP_CREATE, .kind = "counter", .doc = "{\"c\":0}", .doc_len = 7,
			  .actor = "mt" };
	store_id_parse("000102030405060708090a0b0c0d0e0f", &c.id);
	assert_int_equal(store_apply(s, &c, 1), 0);
	assert_int_equal(c.result, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&rt[i], NULL, reader, s), 0);
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (wctx_t){ .s = s, .t = i };
		assert_int_equal(pthread_create(&wt[i], NULL, writer, &w[i]), 0);
	}
	int created = 0, updates = 0;
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(wt[i], NULL);
		assert_int_equal(w[i].errors, 0);
		created += w[i].created;
		updates += BATCHES - w[i].conflicts;
	}
	for (int i = 0; i < 2; i++) {
		void *bad;
		pthread_join(rt[i], &bad);
		assert_int_equal((intptr_t)bad, 0);
	}
	assert_int_equal(created, WRITERS * (BATCHES / 3) * 6);
	int n = 0;
	assert_int_equal(store_scan(s, "item", count_cb, &n), 0);
	assert_int_equal(n, created);
	/* every change is there exactly once: creates + successful updates + 1 */
	assert_int_equal(fixture_last_seq(s), (uint64_t)(created + updates + 1));
	store_rec_t r;
	assert_int_equal(store_get(s, "counter", &c.id, &r), 0);
	assert_int_equal(r.version, (uint64_t)updates + 1);
	store_rec_deinit(&r);
	uint64_t bad;
	assert_int_equal(store_audit_verify(s, &bad), 0);
	store_info_t info;
	assert_int_equal(store_info(s, &info), 0);
	assert_true(info.map_size > (64 << 10));
	store_close(&s);
	assert_int_equal(fixture_rm_rf(dir), 0);
}

int main(void)
{
	log_init("test_store_mt", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_mt_concurrent_apply_and_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
