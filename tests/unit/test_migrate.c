/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stored documents move to their kind's current shape at start: products
 * written by the previous version (status "active") become "published",
 * as new versions with history and the reason, across several batches;
 * the kind's version is recorded once all are moved; a second start
 * changes nothing; a document the current table refuses is kept as stored;
 * a store from a newer program is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "common/error.h"
#include "daemon/migrate.h"
#include "domain/catalog/product.h"
#include "model/model.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

/* A product as the previous version stored it (no channel listings,
 * "active"), with its sku key. */
static void old_product(store_t *s, int i, const char *status, store_id_t *id)
{
	char doc[256], key[64];
	int n = snprintf(doc, sizeof(doc),
			 "{\"sku\":\"OLD-%d\",\"status\":\"%s\",\"seller\":\"house\",\"category\":"
			 "\"home\",\"title\":{\"en\":\"Mug %d\"},\"price\":{\"GBP\":%d},\"stock\":1}",
			 i, status, i, 100 + i);
	int k = snprintf(key, sizeof(key), "sku%cOLD-%d", 0, i);
	const char *keys[] = {key};
	size_t lens[] = {(size_t)k};
	store_mut_t m = {.op = STORE_OP_CREATE, .kind = "product", .doc = doc,
			 .doc_len = (size_t)n, .keys = keys, .key_lens = lens, .nkeys = 1,
			 .actor = "old"};
	assert_int_equal(store_apply(s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	*id = m.id;
}

static json_t *doc_of(store_t *s, const store_id_t *id, uint64_t *version)
{
	store_rec_t r;
	json_error_t je;
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_get(s, "product", id, &r), 0);
	json_t *d = json_loadb(r.doc, r.doc_len, 0, &je);
	*version = r.version;
	store_rec_deinit(&r);
	assert_non_null(d);
	return d;
}

typedef struct {
	char actor[64], reason[256];
	int n;
} hist_t;

static int hist_cb(const store_rec_t *r, void *arg)
{
	hist_t *h = arg;
	snprintf(h->actor, sizeof(h->actor), "%s", r->actor);
	snprintf(h->reason, sizeof(h->reason), "%s", r->reason);
	h->n++;
	return 0;
}

#define NOLD (MIGRATE_BATCH * 2 + 17) /* three batches */

static void test_migrate_moves_old_products_once(void **state)
{
	fixture_store_t *f = *state;
	static store_id_t ids[NOLD];
	store_id_t bad, draft;
	uint32_t ver;
	uint64_t v;
	for (int i = 0; i < NOLD; i++)
		old_product(f->s, i, "active", &ids[i]);
	old_product(f->s, NOLD, "draft", &draft);
	old_product(f->s, NOLD + 1, "on-sale", &bad); /* never valid */
	assert_int_equal(store_kind_version(f->s, "product", &ver), 0);
	assert_int_equal(ver, 0);

	migrate_stats_t st = {0};
	assert_int_equal(migrate_all(f->s, &st), 0);
	assert_int_equal(st.changed, NOLD);
	assert_int_equal(st.unchanged, 1); /* the draft already fits */
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.kinds, 1);
	assert_int_equal(store_kind_version(f->s, "product", &ver), 0);
	assert_int_equal(ver, product_kind.version);
	for (int i = 0; i < NOLD; i += 97) {
		json_t *d = doc_of(f->s, &ids[i], &v);
		assert_string_equal(json_string_value(json_object_get(d, "status")), "published");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "price"), "GBP")),
				 100 + i);
		assert_int_equal(v, 2);
		json_decref(d);
		hist_t h = {0};
		assert_int_equal(store_history(f->s, "product", &ids[i], hist_cb, &h), 0);
		assert_int_equal(h.n, 2);
		assert_string_equal(h.actor, MIGRATE_ACTOR);
		assert_string_equal(h.reason, "product documents from version 1 to 2");
	}
	json_t *d = doc_of(f->s, &bad, &v);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "on-sale");
	assert_int_equal(v, 1);
	json_decref(d);
	/* the audit log covers the new versions */
	assert_int_equal(store_audit_verify(f->s, NULL), 0);

	/* the next start: nothing to do */
	migrate_stats_t again = {0};
	assert_int_equal(migrate_all(f->s, &again), 0);
	assert_int_equal(again.changed + again.unchanged + again.refused + again.kinds, 0);
	d = doc_of(f->s, &ids[0], &v);
	assert_int_equal(v, 2);
	json_decref(d);
}

static int mark_unit(store_txn_t *t, void *arg)
{
	return store_txn_set_kind_version(t, "product", *(uint32_t *)arg);
}

static void set_version(store_t *s, uint32_t ver)
{
	store_work_t w = {.fn = mark_unit, .arg = &ver, .actor = "test"};
	assert_int_equal(store_apply_work(s, &w, 1), 0);
	assert_int_equal(w.result, 0);
}

static void test_migrate_goes_on_after_a_stop_part_way(void **state)
{
	fixture_store_t *f = *state;
	store_id_t a, b;
	uint64_t v;
	uint32_t ver;
	old_product(f->s, 1, "active", &a);
	old_product(f->s, 2, "active", &b);
	/* as if a start had moved a and stopped before recording the version */
	migrate_stats_t st = {0};
	assert_int_equal(migrate_kind(f->s, &product_kind, &st), 0);
	set_version(f->s, 1);
	assert_int_equal(store_kind_version(f->s, "product", &ver), 0);
	assert_int_equal(ver, 1);
	/* b was written meanwhile in the old shape */
	char key[32];
	int k = snprintf(key, sizeof(key), "sku%cOLD-2", 0);
	const char *keys[] = {key};
	size_t lens[] = {(size_t)k};
	const char *old = "{\"sku\":\"OLD-2\",\"status\":\"active\",\"seller\":\"house\",\"category\":"
			  "\"home\",\"title\":{\"en\":\"Mug\"},\"price\":{\"GBP\":1},\"stock\":1}";
	store_mut_t m = {.op = STORE_OP_UPDATE, .kind = "product", .id = b, .expect_version = 2,
			 .doc = old, .doc_len = strlen(old), .keys = keys, .key_lens = lens,
			 .nkeys = 1, .actor = "old"};
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	migrate_stats_t st2 = {0};
	assert_int_equal(migrate_kind(f->s, &product_kind, &st2), 0);
	assert_int_equal(st2.changed, 1);   /* b again */
	assert_int_equal(st2.unchanged, 1); /* a is done */
	json_t *d = doc_of(f->s, &b, &v);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "published");
	json_decref(d);

	/* a store from a newer program is refused, nothing written */
	set_version(f->s, product_kind.version + 1);
	migrate_stats_t st3 = {0};
	assert_int_equal(migrate_kind(f->s, &product_kind, &st3), SOUK_EVERSION);
}

static int setup(void **state)
{
	return fixture_store_setup(state, "migrate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migrate_moves_old_products_once,
					    setup, fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_goes_on_after_a_stop_part_way,
					    setup, fixture_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
