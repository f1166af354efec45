/* SPDX-License-Identifier: Apache-2.0 */
/* Group commit: many request threads, one committer, batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "fcgi/arena.h"
#include "fcgi/commit.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

#define NTHREADS 8
#define PER_THREAD 50

typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t seq;
	uint64_t applies;
	size_t gate;       /* first apply waits until this many are pending */
	commit_t *c;
	int fail_batch;    /* apply number that fails (1-based), 0 = none */
	uint64_t after_calls;
} fake_t;

static int fake_apply(void *arg, store_mut_t *m, size_t n)
{
	fake_t *f = arg;
	pthread_mutex_lock(&f->lock);
	uint64_t nr = ++f->applies;
	pthread_mutex_unlock(&f->lock);
	if (nr == 1 && f->gate > 0) {
		/* hold the first batch until the others are queued behind it */
		while (commit_pending(f->c) < f->gate)
			usleep(1000);
	}
	if (f->fail_batch != 0 && (int)nr == f->fail_batch)
		return SOUK_ESTORE;
	for (size_t i = 0; i < n; i++) {
		m[i].result = 0;
		m[i].version = 1;
		m[i].seq = ++f->seq; /* only the committer thread writes seq */
	}
	return 0;
}

static void fake_after(void *arg, const store_mut_t *m, size_t n, int rc)
{
	fake_t *f = arg;
	pthread_mutex_lock(&f->lock);
	f->after_calls++;
	pthread_mutex_unlock(&f->lock);
}

typedef struct {
	fake_t *f;
	int ok, failed;
	uint64_t last_seq;
	int monotonic;
} worker_t;

static void *worker(void *p)
{
	worker_t *w = p;
	w->monotonic = 1;
	for (int i = 0; i < PER_THREAD; i++) {
		store_mut_t m;
		memset(&m, 0, sizeof(m));
		m.op = STORE_OP_CREATE;
		m.kind = "product";
		int rc = commit_submit(w->f->c, &m);
		if (rc == 0 && m.result == 0) {
			w->ok++;
			if (m.seq <= w->last_seq)
				w->monotonic = 0;
			w->last_seq = m.seq;
		} else {
			w->failed++;
		}
	}
	return NULL;
}

static void test_commit_acknowledges_every_mutation(void **state)
{
	fake_t f = { .seq = 0 };
	pthread_t t[NTHREADS];
	worker_t w[NTHREADS];
	(void)state;
	pthread_mutex_init(&f.lock, NULL);
	assert_int_equal(commit_new(fake_apply, fake_after, &f, 16, &f.c), 0);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = &f;
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	int ok = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
		assert_int_equal(w[i].failed, 0);
		assert_true(w[i].monotonic);
	}
	assert_int_equal(ok, NTHREADS * PER_THREAD);
	commit_stats_t st;
	commit_stats(f.c, &st);
	assert_int_equal(st.mutations, NTHREADS * PER_THREAD);
	assert_true(st.largest_batch <= 16);
	assert_int_equal(f.after_calls, st.batches);
	commit_free(&f.c);
	assert_null(f.c);
	pthread_mutex_destroy(&f.lock);
}

typedef struct {
	commit_t *c;
	int rc, result;
} one_t;

static void *submit_one(void *p)
{
	one_t *o = p;
	store_mut_t m;
	memset(&m, 0, sizeof(m));
	o->rc = commit_submit(o->c, &m);
	o->result = m.result;
	return NULL;
}

/* Start one submission, wait until the committer holds it inside apply,
 * then queue four more behind it. */
static void start_gated(fake_t *f, pthread_t t[5], one_t o[5])
{
	for (int i = 0; i < 5; i++) {
		o[i].c = f->c;
		pthread_create(&t[i], NULL, submit_one, &o[i]);
		while (i == 0) {
			pthread_mutex_lock(&f->lock);
			uint64_t n = f->applies;
			pthread_mutex_unlock(&f->lock);
			if (n >= 1)
				break;
			usleep(1000);
		}
	}
}

/* The first submission is held inside apply until 4 more are queued: they
 * must be committed together in the second batch. */
static void test_commit_batches_waiting_requests(void **state)
{
	fake_t f = { .gate = 4 };
	pthread_t t[5];
	one_t o[5];
	(void)state;
	pthread_mutex_init(&f.lock, NULL);
	assert_int_equal(commit_new(fake_apply, NULL, &f, 64, &f.c), 0);
	start_gated(&f, t, o);
	for (int i = 0; i < 5; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(o[i].rc, 0);
	}
	commit_stats_t st;
	commit_stats(f.c, &st);
	assert_int_equal(st.batches, 2);
	assert_int_equal(st.largest_batch, 4);
	commit_free(&f.c);
	pthread_mutex_destroy(&f.lock);
}

/* A failed commit fails every request of its batch and only those. */
static void test_commit_failure_fails_whole_batch(void **state)
{
	fake_t f = { .gate = 4, .fail_batch = 2 };
	pthread_t t[5];
	one_t o[5];
	(void)state;
	pthread_mutex_init(&f.lock, NULL);
	assert_int_equal(commit_new(fake_apply, NULL, &f, 64, &f.c), 0);
	start_gated(&f, t, o);
	int failed = 0, ok = 0;
	for (int i = 0; i < 5; i++) {
		pthread_join(t[i], NULL);
		if (o[i].rc == SOUK_ESTORE) {
			assert_int_equal(o[i].result, SOUK_ESTORE);
			failed++;
		} else {
			assert_int_equal(o[i].rc, 0);
			ok++;
		}
	}
	assert_int_equal(failed, 4);
	assert_int_equal(ok, 1);
	commit_stats_t st;
	commit_stats(f.c, &st);
	assert_int_equal(st.failed_batches, 1);
	commit_free(&f.c);
	pthread_mutex_destroy(&f.lock);
}

/* ---- units through the committer, on a real store ---- */

static int real_apply(void *arg, store_mut_t *m, size_t n)
{
	return store_apply(arg, m, n);
}

static int real_work(void *arg, store_work_t *w, size_t n)
{
	return store_apply_work(arg, w, n);
}

static int add64(store_txn_t *t, void *arg)
{
	return store_counter_add(t, "stock:x", 7, 64, 0, 1000, arg);
}

static int take_one(store_txn_t *t, void *arg)
{
	return store_counter_add(t, "stock:x", 7, -1, 0, 1000, arg);
}

typedef struct {
	commit_t *c;
	int ok, limited, other;
	int plain_ok;
} unit_worker_t;

#define UNIT_THREADS 8
#define UNIT_PER_THREAD 8

static void *unit_worker(void *p)
{
	unit_worker_t *w = p;
	for (int i = 0; i < UNIT_PER_THREAD + 1; i++) {
		int64_t v = -1;
		int result = 1;
		int rc = commit_submit_unit(w->c, take_one, &v, "test", &result);
		if (rc == 0 && result == 0 && v >= 0)
			w->ok++;
		else if (rc == 0 && result == SOUK_ELIMIT)
			w->limited++;
		else
			w->other++;
		/* plain mutations share the batches */
		store_mut_t m = { .op = STORE_OP_CREATE, .kind = "item", .doc = "{}", .doc_len = 2,
				  .actor = "test" };
		if (commit_submit(w->c, &m) == 0 && m.result == 0)
			w->plain_ok++;
	}
	return NULL;
}

/* 64 decrements of one counter from 8 threads through the group commit all
 * succeed (no conflicts), the 8 attempts beyond them are refused by the
 * floor, plain mutations in the same batches commit, and the audit log
 * verifies. */
static void test_commit_units_share_group_commit(void **state)
{
	fixture_store_t *f;
	commit_t *c = NULL;
	void *st = NULL;
	(void)state;
	assert_int_equal(fixture_store_setup(&st, "cunit"), 0);
	f = st;
	assert_int_equal(commit_new(real_apply, NULL, f->s, 64, &c), 0);
	int result = 0;
	int64_t v;
	/* no apply_work yet: refused, nothing queued */
	assert_int_equal(commit_submit_unit(c, take_one, &v, "test", &result), SOUK_EINVAL);
	commit_set_work(c, real_work);
	assert_int_equal(commit_submit_unit(c, NULL, NULL, "test", &result), SOUK_EINVAL);
	pthread_t t[UNIT_THREADS];
	unit_worker_t w[UNIT_THREADS];
	assert_int_equal(store_counter_get(f->s, "stock:x", 7, &v), SOUK_ENOENT);
	/* the counter starts at 64 */
	assert_int_equal(commit_submit_unit(c, add64, &v, "test", &result), 0);
	assert_int_equal(result, 0);
	assert_int_equal(v, 64);
	for (int i = 0; i < UNIT_THREADS; i++) {
		w[i] = (unit_worker_t){ .c = c };
		assert_int_equal(pthread_create(&t[i], NULL, unit_worker, &w[i]), 0);
	}
	int ok = 0, limited = 0, plain = 0;
	for (int i = 0; i < UNIT_THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].other, 0);
		ok += w[i].ok;
		limited += w[i].limited;
		plain += w[i].plain_ok;
	}
	assert_int_equal(ok, 64);
	assert_int_equal(limited, UNIT_THREADS);
	assert_int_equal(plain, UNIT_THREADS * (UNIT_PER_THREAD + 1));
	assert_int_equal(store_counter_get(f->s, "stock:x", 7, &v), 0);
	assert_int_equal(v, 0);
	commit_free(&c);
	uint64_t bad = 0;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	fixture_store_teardown(&st);
}

static void test_arena_reset_and_ceiling(void **state)
{
	arena_t *a = NULL;
	(void)state;
	assert_int_equal(arena_new(1024, 8192, &a), 0);
	char *p = arena_alloc(a, 100);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_non_null(arena_alloc(a, 3000)); /* a second, larger chunk */
	assert_null(arena_alloc(a, 10000));    /* beyond the ceiling */
	arena_reset(a);
	assert_int_equal(arena_used(a), 0);
	sbuf_t b;
	sbuf_init(&b, a);
	sbuf_adds(&b, "{\"t\":");
	sbuf_add_json_str(&b, "a\"b\\c\n\x01", 7);
	sbuf_printf(&b, ",\"n\":%d}", 42);
	assert_false(b.failed);
	assert_string_equal(b.data, "{\"t\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":42}");
	assert_string_equal(arena_printf(a, "%s-%d", "x", 7), "x-7");
	arena_free(&a);
	assert_null(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_units_share_group_commit),
		cmocka_unit_test(test_commit_acknowledges_every_mutation),
		cmocka_unit_test(test_commit_batches_waiting_requests),
		cmocka_unit_test(test_commit_failure_fails_whole_batch),
		cmocka_unit_test(test_arena_reset_and_ceiling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
