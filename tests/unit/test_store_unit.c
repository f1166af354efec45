/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_store_unit.c - units of work in the store: a failing unit
 * drops only its own writes while the rest of the batch commits, a unit
 * reads what an earlier unit of the same batch wrote, counters keep their
 * floor and ceiling, 64 decrements of one counter in one batch all succeed,
 * the audit log verifies after batches mixing failed and successful units
 * and mutations, and everything is still there after a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

typedef fixture_store_t fx_t;

static int setup(void **state)
{
	return fixture_store_setup(state, "unit");
}

static void audit_ok(store_t *s)
{
	uint64_t bad = 0;
	assert_int_equal(store_audit_verify(s, &bad), 0);
	assert_true(bad == UINT64_MAX);
}

static int64_t counter(store_t *s, const char *name)
{
	int64_t v = 0;
	assert_int_equal(store_counter_get(s, name, strlen(name), &v), 0);
	return v;
}

/* A unit that creates n "item" entities (ids out) and then fails when
 * fail is set: its writes must all go. */
typedef struct {
	int n;
	bool fail;
	store_id_t ids[4];
	char docs[4][32];
	const char *counter;
	int64_t delta, floor, ceiling, value;
} writer_t;

static int writer_unit(store_txn_t *t, void *arg)
{
	writer_t *w = arg;
	int rc;
	for (int i = 0; i < w->n; i++) {
		snprintf(w->docs[i], sizeof(w->docs[i]), "{\"i\":%d}", i);
		store_mut_t m = { .op = STORE_OP_CREATE, .kind = "item", .doc = w->docs[i],
				  .doc_len = strlen(w->docs[i]), .actor = "test" };
		if ((rc = store_txn_put(t, &m)) != 0)
			return rc;
		w->ids[i] = m.id;
	}
	if (w->counter && (rc = store_counter_add(t, w->counter, strlen(w->counter), w->delta,
						  w->floor, w->ceiling, &w->value)) != 0)
		return rc;
	return w->fail ? SOUK_ECONFLICT : 0;
}

static void test_failed_unit_drops_only_its_writes(void **state)
{
	fx_t *f = *state;
	writer_t a = { .n = 3 }, b = { .n = 3, .fail = true }, c = { .n = 1 };
	store_mut_t plain = { .op = STORE_OP_CREATE, .kind = "item", .doc = "{}", .doc_len = 2,
			      .actor = "test" };
	store_work_t w[] = {
		{ .fn = writer_unit, .arg = &a, .actor = "test" },
		{ .fn = writer_unit, .arg = &b, .actor = "test" },
		{ .mut = &plain },
		{ .fn = writer_unit, .arg = &c, .actor = "test" },
	};
	assert_int_equal(store_apply_work(f->s, w, 4), 0);
	assert_int_equal(w[0].result, 0);
	assert_int_equal(w[1].result, SOUK_ECONFLICT);
	assert_int_equal(w[1].seq, 0);
	assert_int_equal(plain.result, 0);
	assert_int_equal(w[3].result, 0);
	/* sequences are dense: the dropped unit's three never happened */
	assert_int_equal(w[0].seq, 3);
	assert_int_equal(plain.seq, 4);
	assert_int_equal(w[3].seq, 5);
	assert_int_equal(fixture_last_seq(f->s), 5);
	store_rec_t r;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_get(f->s, "item", &a.ids[i], &r), 0);
		store_rec_deinit(&r);
		assert_int_equal(store_get(f->s, "item", &b.ids[i], &r), SOUK_ENOENT);
	}
	assert_int_equal(store_get(f->s, "item", &c.ids[0], &r), 0);
	store_rec_deinit(&r);
	audit_ok(f->s);
}

/* The second unit reads the record the first one wrote and updates it. */
typedef struct {
	store_id_t id;
	uint64_t seen_version;
	char seen[32];
} reader_t;

static int create_unit(store_txn_t *t, void *arg)
{
	reader_t *r = arg;
	store_mut_t m = { .op = STORE_OP_CREATE, .kind = "item", .doc = "{\"v\":1}", .doc_len = 7,
			  .actor = "test" };
	int rc = store_txn_put(t, &m);
	r->id = m.id;
	return rc;
}

static int read_update_unit(store_txn_t *t, void *arg)
{
	reader_t *r = arg;
	store_rec_t rec;
	int rc = store_txn_get(t, "item", &r->id, &rec);
	if (rc)
		return rc;
	r->seen_version = rec.version;
	snprintf(r->seen, sizeof(r->seen), "%s", rec.doc);
	store_mut_t m = { .op = STORE_OP_UPDATE, .kind = "item", .id = r->id,
			  .expect_version = rec.version, .doc = "{\"v\":2}", .doc_len = 7,
			  .actor = "test" };
	store_rec_deinit(&rec);
	return store_txn_put(t, &m);
}

static void test_unit_reads_earlier_unit_of_batch(void **state)
{
	fx_t *f = *state;
	reader_t r = { 0 };
	store_work_t w[] = {
		{ .fn = create_unit, .arg = &r, .actor = "test" },
		{ .fn = read_update_unit, .arg = &r, .actor = "test" },
	};
	assert_int_equal(store_apply_work(f->s, w, 2), 0);
	assert_int_equal(w[0].result, 0);
	assert_int_equal(w[1].result, 0);
	assert_int_equal(r.seen_version, 1);
	assert_string_equal(r.seen, "{\"v\":1}");
	store_rec_t rec;
	assert_int_equal(store_get(f->s, "item", &r.id, &rec), 0);
	assert_int_equal(rec.version, 2);
	assert_string_equal(rec.doc, "{\"v\":2}");
	store_rec_deinit(&rec);
	audit_ok(f->s);
}

static int add_one(store_t *s, const char *name, int64_t delta, int64_t floor, int64_t ceiling,
		   int64_t *value)
{
	writer_t u = { .counter = name, .delta = delta, .floor = floor, .ceiling = ceiling };
	store_work_t w = { .fn = writer_unit, .arg = &u, .actor = "test" };
	int rc = store_apply_work(s, &w, 1);
	if (rc)
		return rc;
	*value = u.value;
	return w.result;
}

static void test_counter_floor_and_ceiling(void **state)
{
	fx_t *f = *state;
	int64_t v = 0;
	assert_int_equal(store_counter_get(f->s, "stock:a", 7, &v), SOUK_ENOENT);
	assert_int_equal(add_one(f->s, "stock:a", 5, 0, 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(add_one(f->s, "stock:a", 6, 0, 10, &v), SOUK_ELIMIT);
	assert_int_equal(add_one(f->s, "stock:a", -6, 0, 10, &v), SOUK_ELIMIT);
	assert_int_equal(counter(f->s, "stock:a"), 5);
	assert_int_equal(add_one(f->s, "stock:a", -5, 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(add_one(f->s, "stock:a", -1, 0, 10, &v), SOUK_ELIMIT);
	assert_int_equal(add_one(f->s, "stock:a", INT64_MAX, INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(add_one(f->s, "stock:a", 1, INT64_MIN, INT64_MAX, &v), SOUK_ELIMIT);
	assert_int_equal(add_one(f->s, "bad name", 1, 0, 10, &v), SOUK_EINVAL);
	assert_int_equal(counter(f->s, "stock:a"), INT64_MAX);
	/* every change is a version in history, like any record's */
	store_id_t id;
	store_rec_t r;
	assert_int_equal(store_counter_id("stock:a", 7, &id), 0);
	assert_int_equal(store_get(f->s, STORE_COUNTER_KIND, &id, &r), 0);
	assert_int_equal(r.version, 3);
	assert_string_equal(r.actor, "test");
	store_rec_deinit(&r);
	audit_ok(f->s);
}

static void test_64_decrements_in_one_batch(void **state)
{
	fx_t *f = *state;
	int64_t v;
	assert_int_equal(add_one(f->s, "sku:hot", 64, 0, 1000, &v), 0);
	writer_t u[65];
	store_work_t w[65];
	for (int i = 0; i < 65; i++) {
		u[i] = (writer_t){ .counter = "sku:hot", .delta = -1, .floor = 0,
				   .ceiling = 1000 };
		w[i] = (store_work_t){ .fn = writer_unit, .arg = &u[i], .actor = "test" };
	}
	assert_int_equal(store_apply_work(f->s, w, 65), 0);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(w[i].result, 0);
		assert_int_equal(u[i].value, 63 - i);
	}
	assert_int_equal(w[64].result, SOUK_ELIMIT); /* the 65th finds none left */
	assert_int_equal(counter(f->s, "sku:hot"), 0);
	audit_ok(f->s);
}

static void test_mixed_batches_audit_and_reopen(void **state)
{
	fx_t *f = *state;
	int64_t v;
	assert_int_equal(add_one(f->s, "limit:x", 3, 0, 3, &v), 0);
	store_id_t kept[20][3];
	int nkept = 0;
	for (int round = 0; round < 20; round++) {
		writer_t u[6];
		store_mut_t pm[2];
		store_work_t w[8];
		size_t n = 0;
		for (int i = 0; i < 6; i++) {
			/* checkout-shaped: items and a claim; some fail at the end,
			 * some on the counter's floor */
			u[i] = (writer_t){ .n = 1 + (i + round) % 3, .fail = (i + round) % 4 == 1,
					   .counter = "limit:x", .delta = (i % 2) ? -1 : 1,
					   .floor = 0, .ceiling = 3 };
			w[n++] = (store_work_t){ .fn = writer_unit, .arg = &u[i], .actor = "test" };
			if (i == 2 || i == 4) {
				pm[i / 4] = (store_mut_t){ .op = STORE_OP_CREATE, .kind = "item",
							   .doc = "{}", .doc_len = 2,
							   .actor = "test" };
				w[n++] = (store_work_t){ .mut = &pm[i / 4] };
			}
		}
		assert_int_equal(store_apply_work(f->s, w, n), 0);
		for (int i = 0; i < 6; i++) {
			if (u[i].fail)
				continue;
			if (nkept < 20 && u[i].n == 3 && w[i].result == 0 && i == 0)
				memcpy(kept[nkept++], u[i].ids, sizeof(kept[0]));
		}
		audit_ok(f->s);
	}
	int64_t before = counter(f->s, "limit:x");
	assert_true(before >= 0 && before <= 3);
	uint64_t seq = fixture_last_seq(f->s);
	store_close(&f->s);
	assert_int_equal(fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s), 0);
	assert_int_equal(fixture_last_seq(f->s), seq);
	assert_int_equal(counter(f->s, "limit:x"), before);
	store_rec_t r;
	for (int k = 0; k < nkept; k++)
		for (int i = 0; i < 3; i++) {
			assert_int_equal(store_get(f->s, "item", &kept[k][i], &r), 0);
			store_rec_deinit(&r);
		}
	audit_ok(f->s);
}

static void test_work_entry_needs_one_of_mut_or_fn(void **state)
{
	fx_t *f = *state;
	store_work_t w = { 0 };
	assert_int_equal(store_apply_work(f->s, &w, 1), SOUK_EINVAL);
	assert_int_equal(fixture_last_seq(f->s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_failed_unit_drops_only_its_writes, setup, fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_unit_reads_earlier_unit_of_batch, setup, fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_counter_floor_and_ceiling, setup, fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_64_decrements_in_one_batch, setup, fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_mixed_batches_audit_and_reopen, setup, fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_work_entry_needs_one_of_mut_or_fn, setup, fixture_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
