/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_fcgi_api_mt.c - request threads writing and reading
 * through the API at once, while a publisher thread republishes and the
 * housekeeping runs: every write is acknowledged and visible to its own
 * Souk-Min-Seq read. Runs under ThreadSanitizer in make check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/error.h"
#include "common/util.h"
#include "daemon/publisher.h"
#include "fcgi/api.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

#define SECRET "0123456789abcdef-secret"
#define NTHREADS 4
#define PER_THREAD 15

typedef struct {
	char dir[64], db[96], inst[64];
	store_t *s;
	shm_ctl_t *ctl;
	struct event_base *base;
	publisher_t *p;
	api_t api;
	atomic_int stop;
	int restarts; /* soukd clean restarts the publisher thread makes */
	atomic_int restarted;
} fix_t;

typedef struct {
	fix_t *f;
	int n;
	int created, visible, errors;
} worker_t;

/* What a clean soukd stop and start does to the shared memory. */
static int restart_soukd(fix_t *f)
{
	publisher_opts_t po = { 0 };
	publisher_free(&f->p);
	shm_ctl_free(&f->ctl);
	if (shm_ctl_unlink(f->inst) != 0 || shm_ctl_create(f->inst, 8, &f->ctl) != 0)
		return -1;
	return publisher_new(f->base, f->s, f->ctl, &po, &f->p);
}

static void *publisher_main(void *arg)
{
	fix_t *f = arg;
	for (unsigned i = 1; !atomic_load(&f->stop); i++) {
		if (atomic_load(&f->restarted) < f->restarts && i % 2 == 0) {
			if (restart_soukd(f) != 0)
				break;
			atomic_fetch_add(&f->restarted, 1);
		}
		if (publisher_catch_up(f->p) != 0)
			break;
		api_housekeeping(&f->api);
		usleep(1000);
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	api_thread_t th;
	api_resp_t resp;
	if (api_thread_init(&th, &w->f->api) != 0) {
		w->errors++;
		return NULL;
	}
	for (int i = 0; i < PER_THREAD; i++) {
		/* halfway, every restart has happened (bounded wait) */
		for (int k = 0; i == PER_THREAD / 2 && k < 10000 &&
				atomic_load(&w->f->restarted) < w->f->restarts;
		     k++)
			usleep(1000);
		char body[256], uri[96], seq[32] = "", sku[32];
		snprintf(sku, sizeof(sku), "T%d-%d", w->n, i);
		snprintf(body, sizeof(body),
			 "{\"sku\":\"%s\",\"seller\":\"s\",\"category\":\"c%d\","
			 "\"title\":{\"en\":\"t\"},\"price\":{\"GBP\":%d}}",
			 sku, w->n, i + 1);
		api_req_t rq = { .method = "POST", .uri = "/api/v1/products",
				 .authorization = "Bearer " SECRET, .body = body,
				 .body_len = strlen(body) };
		api_handle(&th, &rq, &resp);
		const char *h = resp.headers.data ? strstr(resp.headers.data, "Souk-Seq: ") : NULL;
		if (resp.status == 201 && h != NULL) {
			w->created++;
			snprintf(seq, sizeof(seq), "%.*s", (int)strcspn(h + 10, "\r"), h + 10);
		} else {
			w->errors++;
		}
		api_finish(&th);
		snprintf(uri, sizeof(uri), "/api/v1/products/by-sku/%s", sku);
		api_req_t get = { .method = "GET", .uri = uri, .min_seq = seq };
		api_handle(&th, &get, &resp);
		if (resp.status == 200 && resp.body_len > 0 &&
		    memmem(resp.body, resp.body_len, sku, strlen(sku)) != NULL)
			w->visible++;
		api_finish(&th);
	}
	api_thread_deinit(&th);
	return NULL;
}

/* store, control segment, publisher (driven by hand) and api */
static void fix_open(fix_t *f, const char *name, uint64_t wait_ms, unsigned max_waiters)
{
	assert_int_equal(fixture_tmpdir(f->dir, sizeof(f->dir), name), 0);
	assert_int_equal(fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s), 0);
	fixture_instance(f->inst, sizeof(f->inst), name);
	assert_int_equal(shm_ctl_create(f->inst, 8, &f->ctl), 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	publisher_opts_t po = { 0 };
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &po, &f->p), 0);
	api_opts_t ao = { .instance = f->inst, .notify_path = "", .max_body = 4096,
			  .max_json_depth = 8, .min_seq_wait_ms = wait_ms, .max_batch = 8,
			  .max_waiters = max_waiters };
	assert_int_equal(api_init(&f->api, &ao, f->s, SECRET, strlen(SECRET)), 0);
}

static void fix_close(fix_t *f)
{
	api_deinit(&f->api);
	publisher_free(&f->p);
	event_base_free(f->base);
	shm_ctl_free(&f->ctl);
	shm_ctl_unlink(f->inst);
	store_close(&f->s);
	assert_int_equal(fixture_rm_rf(f->dir), 0);
}

static void run(int restarts)
{
	static fix_t fx;
	fix_t *f = &fx;
	pthread_t pub, t[NTHREADS];
	worker_t w[NTHREADS];
	memset(f, 0, sizeof(*f));
	f->restarts = restarts;
	fix_open(f, "apimt", 5000, NTHREADS);

	assert_int_equal(pthread_create(&pub, NULL, publisher_main, f), 0);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = f;
		w[i].n = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&f->stop, 1);
	pthread_join(pub, NULL);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(w[i].errors, 0);
		assert_int_equal(w[i].created, PER_THREAD);
		assert_int_equal(w[i].visible, PER_THREAD);
	}
	store_info_t si;
	assert_int_equal(store_info(f->s, &si), 0);
	assert_int_equal(si.last_seq, NTHREADS * PER_THREAD);
	api_seg_stats_t st;
	api_seg_stats(&f->api, &st);
	/* every restart was followed (housekeeping runs after each); no
	 * thread holds a replaced segment any more */
	assert_int_equal(atomic_load(&f->restarted), restarts);
	assert_int_equal(st.reattaches, restarts);
	assert_int_equal(st.retired, 0);
	assert_int_equal(st.attach_failures, 0);

	fix_close(f);
}

static void test_fcgi_api_mt_concurrent_writes_are_acknowledged_and_visible(void **state)
{
	(void)state;
	run(0);
}

/* soukd restarted cleanly while the threads write and read: each thread
 * moves to the new segment (also in the middle of a Souk-Min-Seq wait) and
 * the replaced ones are freed once no thread reads them. */
static void test_fcgi_api_mt_threads_follow_soukd_restarts(void **state)
{
	(void)state;
	run(10);
}

typedef struct {
	api_t *api;
	const char *uri, *min_seq;
	int status;
} waiter_t;

static void *waiter_main(void *arg)
{
	waiter_t *w = arg;
	api_thread_t th;
	api_resp_t resp;
	if (api_thread_init(&th, w->api) != 0)
		return NULL;
	api_req_t rq = { .method = "GET", .uri = w->uri, .min_seq = w->min_seq };
	api_handle(&th, &rq, &resp);
	w->status = resp.status;
	api_finish(&th);
	api_thread_deinit(&th);
	return NULL;
}

static bool has(const api_resp_t *r, const char *s)
{
	return (r->headers.data != NULL && strstr(r->headers.data, s) != NULL) ||
	       (r->body != NULL && memmem(r->body, r->body_len, s, strlen(s)) != NULL);
}

/* With max_waiters threads waiting for Souk-Min-Seq, one more such read is
 * answered 503 with Retry-After at once; reads without it are served. */
static void test_fcgi_api_mt_waiting_threads_are_bounded(void **state)
{
	static fix_t fx;
	fix_t *f = &fx;
	api_thread_t th;
	api_resp_t resp;
	pthread_t t;
	char seq[32];
	(void)state;
	memset(f, 0, sizeof(*f));
	fix_open(f, "apiwait", 30000, 1);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(api_thread_init(&th, &f->api), 0);

	const char *body = "{\"sku\":\"W-1\",\"seller\":\"s\",\"category\":\"c\","
			   "\"title\":{\"en\":\"t\"},\"price\":{\"GBP\":1}}";
	api_req_t post = { .method = "POST", .uri = "/api/v1/products",
			   .authorization = "Bearer " SECRET, .body = body,
			   .body_len = strlen(body) };
	api_handle(&th, &post, &resp);
	assert_int_equal(resp.status, 201);
	const char *h = strstr(resp.headers.data, "Souk-Seq: ");
	assert_non_null(h);
	snprintf(seq, sizeof(seq), "%.*s", (int)strcspn(h + 10, "\r"), h + 10);
	api_finish(&th);

	/* committed, not published: the waiter holds the one place */
	waiter_t w = { .api = &f->api, .uri = "/api/v1/products/by-sku/W-1", .min_seq = seq };
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	for (int i = 0; i < 10000 && atomic_load(&f->api.waiters) == 0; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&f->api.waiters), 1);

	api_req_t get = { .method = "GET", .uri = "/api/v1/products/by-sku/W-1", .min_seq = seq };
	api_handle(&th, &get, &resp);
	assert_int_equal(resp.status, 503);
	assert_true(has(&resp, "Retry-After: 1\r\n"));
	assert_true(has(&resp, "problems/service-unavailable"));
	api_finish(&th);
	api_req_t list = { .method = "GET", .uri = "/api/v1/products" };
	api_handle(&th, &list, &resp);
	assert_int_equal(resp.status, 200);
	api_finish(&th);

	assert_int_equal(publisher_catch_up(f->p), 0); /* the waiter's change is out */
	pthread_join(t, NULL);
	assert_int_equal(w.status, 200);
	assert_int_equal(atomic_load(&f->api.waiters), 0);
	api_handle(&th, &get, &resp);
	assert_int_equal(resp.status, 200);
	api_finish(&th);

	api_thread_deinit(&th);
	fix_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fcgi_api_mt_concurrent_writes_are_acknowledged_and_visible),
		cmocka_unit_test(test_fcgi_api_mt_threads_follow_soukd_restarts),
		cmocka_unit_test(test_fcgi_api_mt_waiting_threads_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
