/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_store_index.c - secondary indexes: kept in step with
 * CREATE/UPDATE/DELETE/REVERT, scanned by exact value, prefix and range in
 * (value, id) order, and paged with cursors that stay exact while entries
 * come and go between pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

typedef fixture_store_t fx_t;

static int setup(void **state)
{
	return fixture_store_setup(state, "index");
}

/* m with one index key color\0<color>; *id in/out */
static int mut(store_t *s, store_op_t op, store_id_t *id, uint64_t v, const char *color,
	       uint64_t revert_to)
{
	char key[64];
	size_t kl = (size_t)snprintf(key, sizeof(key), "color%c%s", 0, color ? color : "");
	const char *keys[] = {key};
	size_t lens[] = {kl};
	store_mut_t m = {.op = op,
			 .kind = "product",
			 .expect_version = v,
			 .doc = "{}",
			 .doc_len = 2,
			 .actor = "test",
			 .revert_to = revert_to};
	if (color) {
		m.index_keys = keys;
		m.index_key_lens = lens;
		m.nindex = 1;
	}
	if (id)
		m.id = *id;
	assert_int_equal(store_apply(s, &m, 1), 0);
	if (id && m.result == 0)
		*id = m.id;
	return m.result;
}

typedef struct {
	char out[512];
	store_id_t ids[16];
	int n;
} seen_t;

static int seen_cb(const char *value, size_t len, const store_id_t *id, void *arg)
{
	seen_t *s = arg;
	size_t n = strlen(s->out);
	assert_int_equal(strlen(value), len);
	snprintf(s->out + n, sizeof(s->out) - n, "%s;", value);
	if (s->n < 16)
		s->ids[s->n++] = *id;
	return 0;
}

static const char *scan(store_t *s, const store_index_query_t *q, seen_t *out, char *next)
{
	memset(out, 0, sizeof(*out));
	assert_int_equal(store_index_scan(s, "product", "color", q, seen_cb, out, next), 0);
	return out->out;
}

static void test_index_follows_every_operation(void **state)
{
	fx_t *f = *state;
	store_id_t a = {{0}}, b = {{0}}, c = {{0}};
	seen_t sn;
	mut(f->s, STORE_OP_CREATE, &a, 0, "red", 0);
	mut(f->s, STORE_OP_CREATE, &b, 0, "blue", 0);
	mut(f->s, STORE_OP_CREATE, &c, 0, "red", 0);
	assert_string_equal(scan(f->s, NULL, &sn, NULL), "blue;red;red;");
	/* exact match, ids in order */
	store_index_query_t q = {.from = "red", .prefix = "red"};
	assert_string_equal(scan(f->s, &q, &sn, NULL), "red;red;");
	assert_true(memcmp(&sn.ids[0], &sn.ids[1], sizeof(store_id_t)) < 0);
	/* an update leaves its old value and joins the new one */
	assert_int_equal(mut(f->s, STORE_OP_UPDATE, &a, 1, "green", 0), 0);
	assert_string_equal(scan(f->s, NULL, &sn, NULL), "blue;green;red;");
	/* archived entities leave the index; revert brings the keys back */
	assert_int_equal(mut(f->s, STORE_OP_DELETE, &a, 2, NULL, 0), 0);
	assert_string_equal(scan(f->s, NULL, &sn, NULL), "blue;red;");
	assert_int_equal(mut(f->s, STORE_OP_REVERT, &a, 3, NULL, 2), 0);
	assert_string_equal(scan(f->s, NULL, &sn, NULL), "blue;green;red;");
	assert_int_equal(mut(f->s, STORE_OP_REVERT, &a, 4, NULL, 1), 0);
	assert_string_equal(scan(f->s, NULL, &sn, NULL), "blue;red;red;");
	/* an update without index keys leaves the index */
	assert_int_equal(mut(f->s, STORE_OP_UPDATE, &b, 1, NULL, 0), 0);
	assert_string_equal(scan(f->s, NULL, &sn, NULL), "red;red;");
	uint64_t bad = 0;
	assert_int_equal(store_audit_verify(f->s, &bad), 0);
	/* bad keys are refused before anything is written */
	const char *k1[] = {"nonul"};
	size_t l1[] = {5};
	store_mut_t m = {.op = STORE_OP_CREATE,
			 .kind = "product",
			 .doc = "{}",
			 .doc_len = 2,
			 .actor = "test",
			 .index_keys = k1,
			 .index_key_lens = l1,
			 .nindex = 1};
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, SOUK_EINVAL);
	assert_int_equal(fixture_last_seq(f->s), 8); /* nothing written */
}

static void test_index_prefix_range_and_pages(void **state)
{
	fx_t *f = *state;
	static const char *colors[] = {"amber", "apple", "apricot", "azure",
				       "beige", "black", "blue"};
	store_id_t ids[7];
	seen_t sn;
	char next[STORE_INDEX_CURSOR_MAX];
	for (int i = 0; i < 7; i++) {
		memset(&ids[i], 0, sizeof(ids[i]));
		mut(f->s, STORE_OP_CREATE, &ids[i], 0, colors[i], 0);
	}
	store_index_query_t q = {.prefix = "ap"};
	assert_string_equal(scan(f->s, &q, &sn, next), "apple;apricot;");
	assert_string_equal(next, "");
	q = (store_index_query_t){.from = "apricot", .to = "black"};
	assert_string_equal(scan(f->s, &q, &sn, NULL), "apricot;azure;beige;");
	q = (store_index_query_t){.from = "b", .prefix = "a"};
	assert_string_equal(scan(f->s, &q, &sn, NULL), "");
	/* pages of 2; between pages an entry before the cursor goes and one
	 * after it comes: nothing repeats, nothing is skipped */
	q = (store_index_query_t){.limit = 2};
	assert_string_equal(scan(f->s, &q, &sn, next), "amber;apple;");
	assert_string_not_equal(next, "");
	char cur[STORE_INDEX_CURSOR_MAX];
	strcpy(cur, next);
	assert_int_equal(mut(f->s, STORE_OP_DELETE, &ids[0], 1, NULL, 0), 0);
	store_id_t n1 = {{0}};
	mut(f->s, STORE_OP_CREATE, &n1, 0, "aqua", 0);
	q.after = cur;
	assert_string_equal(scan(f->s, &q, &sn, next), "apricot;aqua;");
	strcpy(cur, next);
	/* the entry the cursor names may itself go */
	assert_int_equal(mut(f->s, STORE_OP_UPDATE, &n1, 1, "zinc", 0), 0);
	assert_string_equal(scan(f->s, &q, &sn, next), "azure;beige;");
	strcpy(cur, next);
	assert_string_equal(scan(f->s, &q, &sn, next), "black;blue;");
	strcpy(cur, next);
	assert_string_equal(scan(f->s, &q, &sn, next), "zinc;");
	assert_string_equal(next, "");
	/* cursors are outside input */
	q.after = "zz";
	assert_int_equal(store_index_scan(f->s, "product", "color", &q, seen_cb, &sn, NULL),
			 SOUK_EINVAL);
	q.after = "00";
	assert_int_equal(store_index_scan(f->s, "product", "color", &q, seen_cb, &sn, NULL),
			 SOUK_EINVAL);
	/* another index name sees nothing */
	assert_int_equal(store_index_scan(f->s, "product", "colour", NULL, seen_cb, &sn, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_index_follows_every_operation, setup,
					    fixture_store_teardown),
	    cmocka_unit_test_setup_teardown(test_index_prefix_range_and_pages, setup,
					    fixture_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
