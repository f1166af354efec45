/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request arena's string buffer: integers written without printf give
 * what printf gives, at the edges too, and a buffer grows past a chunk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fcgi/arena.h"

static void test_sbuf_integers_as_printf_writes_them(void **state)
{
	(void)state;
	arena_t *a = NULL;
	assert_int_equal(arena_new(256, 1 << 20, &a), 0);
	static const int64_t vals[] = {0, 1, -1, 9, 10, -10, 1999, -1999, 1000000000000000LL,
				       INT64_MAX, INT64_MIN, INT64_MIN + 1};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		sbuf_t b;
		char want[32];
		sbuf_init(&b, a);
		sbuf_adds(&b, "x");
		sbuf_add_i64(&b, vals[i]);
		snprintf(want, sizeof(want), "x%lld", (long long)vals[i]);
		assert_false(b.failed);
		assert_string_equal(b.data, want);
		sbuf_init(&b, a);
		sbuf_add_u64(&b, (uint64_t)vals[i]);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)(uint64_t)vals[i]);
		assert_string_equal(b.data, want);
	}
	/* many numbers: the buffer grows across chunks */
	sbuf_t b;
	sbuf_init(&b, a);
	for (int i = 0; i < 1000; i++) {
		sbuf_add_i64(&b, -i);
		sbuf_add(&b, ",", 1);
	}
	assert_false(b.failed);
	assert_non_null(strstr(b.data, ",-500,-501,"));
	assert_int_equal(strncmp(b.data, "0,-1,-2,", 8), 0);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sbuf_integers_as_printf_writes_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
