/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/perm.h"

/* Every permission has a distinct stable name that maps back to it. */
static void test_perm_names_round_trip(void **state)
{
	(void)state;
	for (unsigned i = PERM_UNSET + 1; i < PERM__COUNT; i++) {
		const char *n = perm_name((perm_id_t)i);
		assert_string_not_equal(n, "unset");
		assert_int_equal(perm_by_name(n), i);
		for (unsigned j = i + 1; j < PERM__COUNT; j++)
			assert_string_not_equal(n, perm_name((perm_id_t)j));
	}
	assert_int_equal(perm_by_name("catalog.write"), PERM_CATALOG_WRITE);
	assert_int_equal(perm_by_name("no.such"), PERM_UNSET);
	assert_string_equal(perm_name((perm_id_t)PERM__COUNT), "unset");
}

/* Default deny: anonymous holds only public; unset is held by no one. */
static void test_perm_allowed_denies_by_default(void **state)
{
	principal_t anon, admin;
	(void)state;
	principal_anonymous(&anon);
	principal_admin(&admin);
	assert_string_equal(anon.id, "anonymous");
	assert_string_equal(admin.id, "admin");
	assert_string_equal(principal_type_name(admin.type), "admin");
	assert_true(perm_allowed(&anon, PERM_PUBLIC, NULL));
	assert_true(perm_allowed(NULL, PERM_PUBLIC, NULL));
	for (unsigned i = PERM_PUBLIC + 1; i < PERM__COUNT; i++) {
		assert_false(perm_allowed(&anon, (perm_id_t)i, NULL));
		assert_false(perm_allowed(NULL, (perm_id_t)i, NULL));
		assert_true(perm_allowed(&admin, (perm_id_t)i, NULL));
	}
	assert_false(perm_allowed(&admin, PERM_UNSET, NULL));
	assert_false(perm_allowed(&admin, (perm_id_t)PERM__COUNT, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perm_names_round_trip),
		cmocka_unit_test(test_perm_allowed_denies_by_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
