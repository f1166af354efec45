/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_publisher_mt.c - readers on other threads while the
 * publisher publishes: every image a reader acquires shows one committed
 * batch entirely (never half of one), and reads stay consistent while
 * images are replaced, also while new bases are built on the publisher's
 * worker thread from a snapshot of the table that the loop keeps changing.
 * Runs under ThreadSanitizer too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/publisher.h"
#include "domain/catalog/sections.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

enum { NPRODUCTS = 150, NROUNDS = 25, NREADERS = 3 };

typedef struct {
	shm_ctl_t *ctl;
	atomic_int done;
	atomic_int bad;        /* inconsistent images seen */
	atomic_long images;    /* images checked by all readers */
} shared_t;

typedef struct {
	int rounds[NROUNDS + 2];
	int n;
	int rc;
} seen_t;

/* titles are "r<round> p<i>": note the round */
static int title_cb(const char *json, size_t len, void *arg)
{
	seen_t *s = arg;
	const char *t = strstr(json, "\"title\":\"r");
	(void)len;
	if (!t) {
		s->rc = -1;
		return 1;
	}
	int r = atoi(t + 10);
	if (r < 0 || r > NROUNDS) {
		s->rc = -1;
		return 1;
	}
	s->rounds[r]++;
	s->n++;
	return 0;
}

static void *reader(void *arg)
{
	shared_t *sh = arg;
	shm_reader_t *r = NULL;
	if (shm_reader_new(sh->ctl, &r) != 0) {
		atomic_fetch_add(&sh->bad, 1);
		return NULL;
	}
	/* bounded in count, and stops when the writer is done */
	for (int it = 0; it < 200000 && !atomic_load(&sh->done); it++) {
		const shm_image_t *img;
		catalog_view_t v;
		seen_t s;
		char next[CATALOG_CURSOR_MAX];
		if (shm_reader_acquire(r, &img) != 0)
			continue;
		memset(&s, 0, sizeof(s));
		if (catalog_view_init(img, &v) != 0 ||
		    catalog_list(&v, NULL, NULL, CATALOG_LIST_MAX, NULL, title_cb, &s, next) != 0 ||
		    s.rc != 0 || s.n != NPRODUCTS || next[0] != '\0') {
			atomic_fetch_add(&sh->bad, 1);
		} else {
			/* one batch per image: every title from the same round */
			int rounds_seen = 0;
			for (int k = 0; k <= NROUNDS; k++)
				rounds_seen += s.rounds[k] != 0;
			if (rounds_seen != 1)
				atomic_fetch_add(&sh->bad, 1);
		}
		shm_reader_release(r);
		atomic_fetch_add(&sh->images, 1);
	}
	shm_reader_free(&r);
	return NULL;
}

static void commit_round(store_t *s, int round, store_id_t *ids, uint64_t *versions)
{
	store_mut_t *m = calloc(NPRODUCTS, sizeof(*m));
	char (*docs)[256] = calloc(NPRODUCTS, sizeof(*docs));
	char (*keys)[24] = calloc(NPRODUCTS, sizeof(*keys));
	const char **kp = calloc(NPRODUCTS, sizeof(*kp));
	size_t *kl = calloc(NPRODUCTS, sizeof(*kl));
	assert_true(m && docs && keys && kp && kl);
	for (int i = 0; i < NPRODUCTS; i++) {
		snprintf(docs[i], sizeof(docs[i]),
			 "{\"sku\":\"M%d\",\"status\":\"active\",\"seller\":\"s\",\"category\":\"c%d\","
			 "\"title\":{\"en\":\"r%d p%d\"},\"price\":{\"GBP\":%d}}",
			 i, i % 4, round, i, round);
		memcpy(keys[i], "sku", 4);
		snprintf(keys[i] + 4, 20, "M%d", i);
		kp[i] = keys[i];
		kl[i] = 4 + strlen(keys[i] + 4);
		m[i].op = round == 0 ? STORE_OP_CREATE : STORE_OP_UPDATE;
		m[i].kind = "product";
		m[i].id = ids[i];
		m[i].expect_version = versions[i];
		m[i].doc = docs[i];
		m[i].doc_len = strlen(docs[i]);
		m[i].keys = &kp[i];
		m[i].key_lens = &kl[i];
		m[i].nkeys = 1;
		m[i].actor = "test";
	}
	assert_int_equal(store_apply(s, m, NPRODUCTS), 0);
	for (int i = 0; i < NPRODUCTS; i++) {
		assert_int_equal(m[i].result, 0);
		ids[i] = m[i].id;
		versions[i] = m[i].version;
	}
	free(m);
	free(docs);
	free(keys);
	free(kp);
	free(kl);
}

static void test_publisher_mt_readers_see_whole_batches(void **state)
{
	char dir[64], db[96], inst[64];
	store_t *s = NULL;
	shared_t sh;
	struct event_base *base;
	publisher_t *p = NULL;
	pthread_t th[NREADERS];
	store_id_t ids[NPRODUCTS];
	uint64_t versions[NPRODUCTS];
	(void)state;

	assert_int_equal(fixture_tmpdir(dir, sizeof(dir), "pubmt"), 0);
	assert_int_equal(fixture_store_open(dir, db, sizeof(db), &s), 0);
	fixture_instance(inst, sizeof(inst), "pubmt");
	memset(&sh, 0, sizeof(sh));
	assert_int_equal(shm_ctl_create(inst, 8, &sh.ctl), 0);
	base = event_base_new();
	assert_non_null(base);

	memset(ids, 0, sizeof(ids));
	memset(versions, 0, sizeof(versions));
	commit_round(s, 0, ids, versions);
	/* every round changes all products: a new base is started after each
	 * delta that finds no build running */
	publisher_opts_t po = { .poll_ms = 60000, .base_rebuild_min = 100 };
	assert_int_equal(publisher_new(base, s, sh.ctl, &po, &p), 0);

	for (int i = 0; i < NREADERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &sh), 0);
	for (int round = 1; round <= NROUNDS; round++) {
		commit_round(s, round, ids, versions);
		assert_int_equal(publisher_catch_up(p), 0);
		event_base_loop(base, EVLOOP_NONBLOCK); /* a finished base is published */
	}
	for (int i = 0; i < 1000 && publisher_rebuilding(p); i++) {
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_false(publisher_rebuilding(p));
	atomic_store(&sh.done, 1);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);

	assert_int_equal(atomic_load(&sh.bad), 0);
	assert_true(atomic_load(&sh.images) > 0);
	publisher_stats_t ps;
	publisher_stats(p, &ps);
	assert_true(ps.base_rebuilds >= 1);
	assert_int_equal(ps.base_rebuild_failures, 0);
	/* one delta per round, one more per new base */
	assert_int_equal(ps.publishes, NROUNDS + 1 + ps.base_rebuilds);
	fprintf(stderr, "readers checked %ld images, %llu new bases\n", atomic_load(&sh.images),
		(unsigned long long)ps.base_rebuilds);

	publisher_free(&p);
	event_base_free(base);
	shm_ctl_free(&sh.ctl);
	shm_ctl_unlink(inst);
	store_close(&s);
	assert_int_equal(fixture_rm_rf(dir), 0);
}

int main(void)
{
	log_init("test_publisher_mt", LOG_TARGET_STDERR);
	log_set_level(LOG_CRIT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publisher_mt_readers_see_whole_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
