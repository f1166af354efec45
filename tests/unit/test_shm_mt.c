/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_shm_mt.c - the publication protocol with threads (also run
 * under ThreadSanitizer): a publisher thread publishes generations while
 * reader threads, some sharing one shm_ctl_t and some on their own, verify
 * every record of every image they use; the same with deltas over bases that
 * another thread builds meanwhile (readers also verify each delta's base);
 * concurrent slot claims.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "shm/shm.h"
#include "tests/tools/shm_content.h"

#define NREADERS 4

typedef struct {
	char inst[64];
	shm_ctl_t *pub;	   /* publisher's segment */
	shm_ctl_t *shared; /* attached once, shared by some readers */
	_Atomic int stop;
	_Atomic uint64_t published;
	int delta;		     /* publish deltas over bases built apart */
	_Atomic uint64_t ready_base; /* a finished base for the publisher, 0 none */
	_Atomic uint64_t bases;	     /* bases made current */
	struct {
		shm_ctl_t *own; /* attached by this reader only, or NULL */
		_Atomic uint64_t requests, images, bad;
		int use_shared;
	} r[NREADERS];
} mt_t;

static void make_instance(char *buf, size_t len)
{
	uint32_t rnd = 0;
	souk_random(&rnd, sizeof(rnd));
	snprintf(buf, len, "souktest-mt-%d-%08x", (int)getpid(), rnd);
}

static double since(uint64_t t0)
{
	return (double)(souk_now_mono_ns() - t0) / 1e9;
}

typedef struct {
	mt_t *m;
	int id;
} arg_t;

static void *reader_thread(void *p)
{
	arg_t *a = p;
	mt_t *m = a->m;
	shm_ctl_t *ctl = m->r[a->id].use_shared ? m->shared : m->r[a->id].own;
	shm_reader_t *r = NULL;
	shm_slot_t *slot = NULL;
	uint64_t last = 0, t0 = souk_now_mono_ns();

	if (shm_reader_new(ctl, &r) != 0 || shm_slot_claim(ctl, &slot) != 0) {
		atomic_fetch_add(&m->r[a->id].bad, 1000);
		return NULL;
	}
	shm_reader_set_slot(r, slot);
	while (!atomic_load(&m->stop) && since(t0) < 60) {
		const shm_image_t *img;
		uint64_t g, bad = 0;
		if (shm_reader_acquire(r, &img) != 0) {
			sched_yield();
			continue;
		}
		g = shm_image_generation(img);
		if (g < last)
			bad++;
		if (g != last)
			atomic_fetch_add(&m->r[a->id].images, 1);
		last = g;
		const shm_image_t *base = shm_image_base(img);
		bad += shm_test_verify(img, g);
		if (base != NULL)
			bad += shm_test_verify(base, shm_image_generation(base)) +
			       (shm_image_generation(base) >= g);
		sched_yield();
		bad += shm_test_verify(img, g);
		if (base != NULL)
			bad += shm_test_verify(base, shm_image_generation(base));
		shm_reader_release(r);
		shm_slot_count(slot, 1, 1);
		atomic_fetch_add(&m->r[a->id].requests, 1);
		if (bad)
			atomic_fetch_add(&m->r[a->id].bad, bad);
	}
	shm_slot_release(ctl, &slot);
	shm_reader_free(&r);
	return NULL;
}

static uint64_t min_images(mt_t *m)
{
	uint64_t v = UINT64_MAX;
	for (int i = 0; i < NREADERS; i++)
		if (atomic_load(&m->r[i].images) < v)
			v = atomic_load(&m->r[i].images);
	return v;
}

/* delta mode: build bases one after another, each handed to the publisher. */
static void *base_thread(void *p)
{
	mt_t *m = p;
	while (!atomic_load(&m->stop)) {
		shm_builder_t *b = NULL;
		uint64_t gen = 0;
		if (atomic_load(&m->ready_base) != 0) {
			sched_yield(); /* not taken yet */
			continue;
		}
		if (shm_builder_new_base(m->pub, &b) != 0)
			break;
		if (shm_test_build(b) != 0 || shm_builder_finish(&b, &gen) != 0) {
			shm_builder_free(&b);
			break;
		}
		atomic_store(&m->ready_base, gen);
	}
	return NULL;
}

static void *publisher_thread(void *p)
{
	mt_t *m = p;
	uint64_t t0 = souk_now_mono_ns(), n = 0, base = 0;

	/* at least 1000 generations and until every reader used 3 images;
	 * bounded by 3000 generations and 20 s */
	while ((n < 1000 || min_images(m) < 3) && n < 3000 && since(t0) < 20) {
		shm_builder_t *b = NULL;
		uint64_t gen, nb = atomic_load(&m->ready_base);
		if (m->delta && nb != 0) {
			base = nb; /* the next delta makes it current */
			atomic_store(&m->bases, atomic_load(&m->bases) + 1);
			atomic_store(&m->ready_base, 0);
		}
		if (m->delta && base != 0 ? shm_builder_new_delta(m->pub, base, &b) != 0
					  : shm_builder_new(m->pub, &b) != 0)
			break;
		if (shm_test_build(b) != 0) {
			shm_builder_free(&b);
			break;
		}
		if (shm_builder_publish(&b, &gen) != 0)
			break;
		if (m->delta && base == 0)
			base = gen; /* the first, full image */
		n++;
		atomic_store(&m->published, n);
	}
	atomic_store(&m->stop, 1);
	return NULL;
}

static void readers_follow(int delta)
{
	mt_t *m = calloc(1, sizeof(*m));
	pthread_t pub, bt, rd[NREADERS];
	arg_t args[NREADERS];

	assert_non_null(m);
	m->delta = delta;
	make_instance(m->inst, sizeof(m->inst));
	assert_int_equal(shm_ctl_create(m->inst, 16, &m->pub), 0);
	assert_int_equal(shm_ctl_attach(m->inst, &m->shared), 0);
	for (int i = 0; i < NREADERS; i++) {
		m->r[i].use_shared = i % 2 == 0;
		if (!m->r[i].use_shared)
			assert_int_equal(shm_ctl_attach(m->inst, &m->r[i].own), 0);
	}
	assert_int_equal(pthread_create(&pub, NULL, publisher_thread, m), 0);
	if (delta)
		assert_int_equal(pthread_create(&bt, NULL, base_thread, m), 0);
	for (int i = 0; i < NREADERS; i++) {
		args[i] = (arg_t){m, i};
		assert_int_equal(pthread_create(&rd[i], NULL, reader_thread, &args[i]), 0);
	}
	pthread_join(pub, NULL);
	if (delta)
		pthread_join(bt, NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(rd[i], NULL);
	if (delta) {
		print_message("bases made current: %llu\n", (unsigned long long)m->bases);
		assert_true(atomic_load(&m->bases) >= 1);
		if (atomic_load(&m->ready_base) != 0) /* finished, never published */
			assert_int_equal(shm_image_discard(m->pub, atomic_load(&m->ready_base)), 0);
	}

	uint64_t req = 0;
	for (int i = 0; i < NREADERS; i++) {
		print_message("reader %d: requests=%llu images=%llu bad=%llu\n", i,
			      (unsigned long long)m->r[i].requests,
			      (unsigned long long)m->r[i].images, (unsigned long long)m->r[i].bad);
		assert_int_equal(atomic_load(&m->r[i].bad), 0);
		assert_true(atomic_load(&m->r[i].images) >= 3);
		req += atomic_load(&m->r[i].requests);
	}
	print_message("generations=%llu requests=%llu\n", (unsigned long long)m->published,
		      (unsigned long long)req);
	assert_true(atomic_load(&m->published) >= 3);
	for (int i = 0; i < NREADERS; i++)
		shm_ctl_free(&m->r[i].own);
	shm_ctl_free(&m->shared);
	shm_ctl_free(&m->pub);
	assert_int_equal(shm_ctl_unlink(m->inst), 0);
	free(m);
}

static void test_shm_mt_readers_follow_publisher_without_bad_reads(void **state)
{
	(void)state;
	readers_follow(0);
}

static void test_shm_mt_readers_follow_deltas_while_bases_are_built(void **state)
{
	(void)state;
	readers_follow(1);
}

typedef struct {
	shm_ctl_t *ctl;
	_Atomic uint64_t fails;
} claim_t;

static void *claimer(void *p)
{
	claim_t *c = p;
	for (int i = 0; i < 200; i++) {
		shm_slot_t *s = NULL;
		if (shm_slot_claim(c->ctl, &s) != 0) {
			atomic_fetch_add(&c->fails, 1);
			continue;
		}
		shm_slot_count(s, 2, 1);
		shm_slot_release(c->ctl, &s);
	}
	return NULL;
}

static void test_shm_mt_concurrent_slot_claims_never_share_a_slot(void **state)
{
	(void)state;
	char inst[64];
	claim_t c = {0};
	pthread_t t[6];
	shm_slot_t *held[6];

	make_instance(inst, sizeof(inst));
	assert_int_equal(shm_ctl_create(inst, 8, &c.ctl), 0);
	/* 6 threads claim/release while 2 slots stay free: never a failure */
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, claimer, &c), 0);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&c.fails), 0);
	/* distinct slots for distinct claims */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(shm_slot_claim(c.ctl, &held[i]), 0);
		for (int k = 0; k < i; k++)
			assert_ptr_not_equal(held[i], held[k]);
	}
	for (int i = 0; i < 6; i++)
		shm_slot_release(c.ctl, &held[i]);
	shm_ctl_free(&c.ctl);
	shm_ctl_unlink(inst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shm_mt_readers_follow_publisher_without_bad_reads),
	    cmocka_unit_test(test_shm_mt_readers_follow_deltas_while_bases_are_built),
	    cmocka_unit_test(test_shm_mt_concurrent_slot_claims_never_share_a_slot),
	};
	log_init("test_shm_mt", LOG_TARGET_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
