/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "fcgi/router.h"

#define ID "0123456789abcdef0123456789abcdef"

static route_t match(const char *method, const char *path)
{
	route_t r;
	router_match(method, path, strlen(path), &r);
	return r;
}

static void test_router_matches_product_routes(void **state)
{
	(void)state;
	assert_int_equal(match("GET", "/api/v1/products").id, ROUTE_PRODUCT_LIST);
	assert_int_equal(match("POST", "/api/v1/products").id, ROUTE_PRODUCT_CREATE);
	assert_true(match("POST", "/api/v1/products").write);
	route_t r = match("GET", "/api/v1/products/" ID);
	assert_int_equal(r.id, ROUTE_PRODUCT_GET);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.entity_id, ID);
	assert_int_equal(match("PATCH", "/api/v1/products/" ID).id, ROUTE_PRODUCT_UPDATE);
	assert_int_equal(match("DELETE", "/api/v1/products/" ID).id, ROUTE_PRODUCT_DELETE);
	assert_int_equal(match("GET", "/api/v1/products/" ID "/history").id,
			 ROUTE_PRODUCT_HISTORY);
	assert_int_equal(match("POST", "/api/v1/products/" ID "/revert").id,
			 ROUTE_PRODUCT_REVERT);
	assert_int_equal(match("GET", "/healthz").id, ROUTE_HEALTHZ);
	assert_int_equal(match("GET", "/metrics").id, ROUTE_METRICS);
	r = match("HEAD", "/healthz");
	assert_int_equal(r.id, ROUTE_HEALTHZ);
	assert_true(r.head);
}

static void test_router_lowercases_id_and_decodes_sku(void **state)
{
	(void)state;
	route_t r = match("GET", "/api/v1/products/0123456789ABCDEF0123456789abcdef");
	assert_int_equal(r.id, ROUTE_PRODUCT_GET);
	assert_string_equal(r.entity_id, ID);
	r = match("GET", "/api/v1/products/by-sku/AB%2D12");
	assert_int_equal(r.id, ROUTE_PRODUCT_BY_SKU);
	assert_string_equal(r.sku, "AB-12");
	assert_int_equal(r.sku_len, 5);
}

static void test_router_unknown_paths_are_404(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "/", "/api", "/api/v1", "/api/v1/products/", "/api/v1//products",
		"/api/v2/products", "/api/v1/products/xyz", "/api/v1/products/" ID "/nope",
		"/api/v1/products/" ID "/history/x", "/api/v1/products/by-sku/a%zz",
		"/api/v1/products/by-sku/a%00b", "/api/v1/products/0123456789abcdef0123456789abcdeg",
		"healthz", "/healthz/",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		route_t r = match("GET", bad[i]);
		assert_int_equal(r.id, ROUTE_NONE);
		assert_int_equal(r.status, 404);
	}
}

static void test_router_wrong_method_is_405_with_allow(void **state)
{
	(void)state;
	route_t r = match("PUT", "/api/v1/products/" ID);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD, PATCH, DELETE");
	r = match("GET", "/api/v1/products/" ID "/revert");
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "POST");
	r = match("DELETE", "/api/v1/products");
	assert_int_equal(r.status, 405);
}

static void test_query_get_decodes_and_bounds(void **state)
{
	char v[16];
	size_t n;
	const char *q = "category=home%20ware&limit=10&x&cursor=a+b";
	(void)state;
	assert_int_equal(query_get(q, strlen(q), "category", v, sizeof(v), &n), 0);
	assert_string_equal(v, "home ware");
	assert_int_equal(query_get(q, strlen(q), "limit", v, sizeof(v), &n), 0);
	assert_string_equal(v, "10");
	assert_int_equal(query_get(q, strlen(q), "x", v, sizeof(v), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(query_get(q, strlen(q), "cursor", v, sizeof(v), &n), 0);
	assert_string_equal(v, "a b");
	assert_int_equal(query_get(q, strlen(q), "missing", v, sizeof(v), &n), SOUK_ENOENT);
	assert_int_equal(query_get("a=%4", 4, "a", v, sizeof(v), &n), SOUK_EINVAL);
	assert_int_equal(query_get("a=0123456789abcdefghij", 22, "a", v, sizeof(v), &n),
			 SOUK_ETOOBIG);
	assert_int_equal(query_get(NULL, 0, "a", v, sizeof(v), &n), SOUK_ENOENT);
}

static void test_uri_split_separates_query(void **state)
{
	const char *p, *q;
	size_t pl, ql;
	(void)state;
	uri_split("/api/v1/products?limit=2", &p, &pl, &q, &ql);
	assert_int_equal(pl, 16);
	assert_non_null(q);
	assert_int_equal(ql, 7);
	uri_split("/healthz", &p, &pl, &q, &ql);
	assert_int_equal(pl, 8);
	assert_null(q);
}

/* Every matched route names the permission it needs; only reads are public. */
static void test_router_routes_declare_permissions(void **state)
{
	static const struct {
		const char *method, *path;
		perm_id_t perm;
	} cases[] = {
		{ "GET", "/api/v1/products", PERM_PUBLIC },
		{ "POST", "/api/v1/products", PERM_CATALOG_WRITE },
		{ "GET", "/api/v1/products/0123456789abcdef0123456789abcdef", PERM_PUBLIC },
		{ "PATCH", "/api/v1/products/0123456789abcdef0123456789abcdef", PERM_CATALOG_WRITE },
		{ "DELETE", "/api/v1/products/0123456789abcdef0123456789abcdef", PERM_CATALOG_WRITE },
		{ "GET", "/api/v1/products/0123456789abcdef0123456789abcdef/history",
		  PERM_CATALOG_HISTORY },
		{ "POST", "/api/v1/products/0123456789abcdef0123456789abcdef/revert",
		  PERM_CATALOG_WRITE },
		{ "GET", "/api/v1/products/by-sku/ABC", PERM_PUBLIC },
		{ "GET", "/healthz", PERM_PUBLIC },
		{ "GET", "/metrics", PERM_PUBLIC },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		route_t rt;
		router_match(cases[i].method, cases[i].path, strlen(cases[i].path), &rt);
		assert_int_equal(rt.status, 0);
		assert_int_equal(rt.perm, cases[i].perm);
		assert_int_equal(rt.write, cases[i].perm == PERM_CATALOG_WRITE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_routes_declare_permissions),
		cmocka_unit_test(test_router_matches_product_routes),
		cmocka_unit_test(test_router_lowercases_id_and_decodes_sku),
		cmocka_unit_test(test_router_unknown_paths_are_404),
		cmocka_unit_test(test_router_wrong_method_is_405_with_allow),
		cmocka_unit_test(test_query_get_decodes_and_bounds),
		cmocka_unit_test(test_uri_split_separates_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
