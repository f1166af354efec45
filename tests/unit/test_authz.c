/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_authz.c - the authorization matrix: every row of the route
 * table (fcgi/routes.c) x every principal type gets the status written in
 * matrix[] below, and a route added to the table without a row here fails
 * the test. Requests go through api_handle() against a real store and
 * image, with a real product for the {id} and {sku} placeholders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "fcgi/routes.h"
#include "tests/unit/api_fixture.h"

/* served: neither 401 nor 403 (the handler ran and answered for itself) */
#define SERVED 0

typedef enum { WHO_NONE, WHO_WRONG_TOKEN, WHO_OTHER_SCHEME, WHO_ADMIN, WHO__COUNT } who_t;
static const char *const who_name[WHO__COUNT] = {"no credentials", "a wrong bearer token",
						 "Basic credentials", "admin"};

typedef struct {
	const char *method;
	const char *pattern;
	int want[WHO__COUNT]; /* status per principal, SERVED, or 401/403 */
} authz_row_t;

/* The expected matrix. Identity adds customer, staff (scoped) and API-key
 * columns; every new route adds its row. */
static const authz_row_t matrix[] = {
    {"GET", "/api/v1/products", {SERVED, SERVED, SERVED, SERVED}},
    {"POST", "/api/v1/products", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/products/by-sku/{sku}", {SERVED, SERVED, SERVED, SERVED}},
    {"GET", "/api/v1/products/{id}", {SERVED, SERVED, SERVED, SERVED}},
    {"PATCH", "/api/v1/products/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/products/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/products/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/products/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/healthz", {SERVED, SERVED, SERVED, SERVED}},
    {"GET", "/metrics", {SERVED, SERVED, SERVED, SERVED}},
    {"GET", "/api/v1/counters/{name}", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/counters/{name}/add", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/batch", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/warehouses", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/warehouses", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/warehouses/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/warehouses/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/warehouses/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/warehouses/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/warehouses/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/channels", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/channels", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/channels/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/channels/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/channels/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/channels/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/channels/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/sellers", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/sellers", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/sellers/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/sellers/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/sellers/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/sellers/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/sellers/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/price-lists", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/price-lists", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/price-lists/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/price-lists/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/price-lists/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/price-lists/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/price-lists/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/prices", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/prices/explain", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/variants", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/variants", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/variants/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/variants/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/variants/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/variants/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/variants/{id}/revert", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/prices", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/prices/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/prices/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/prices/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/prices/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/prices/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/product-types", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/product-types", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/product-types/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/product-types/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/product-types/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/product-types/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/product-types/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/categories", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/categories", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/categories/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/categories/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/categories/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/categories/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/categories/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/collections", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/collections", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/collections/{id}", {401, 401, 401, SERVED}},
    {"PATCH", "/api/v1/collections/{id}", {401, 401, 401, SERVED}},
    {"DELETE", "/api/v1/collections/{id}", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/collections/{id}/history", {401, 401, 401, SERVED}},
    {"POST", "/api/v1/collections/{id}/revert", {401, 401, 401, SERVED}},
    {"GET", "/api/v1/collections/by-code/{code}", {SERVED, SERVED, SERVED, SERVED}},
    {"GET", "/api/v1/collections/by-code/{code}/products", {SERVED, SERVED, SERVED, SERVED}},
};

typedef struct {
	fix_t *f;
	char id[33];
	const char *sku;
} ctx_t;

static const char *auth_of(who_t w)
{
	switch (w) {
	case WHO_WRONG_TOKEN: return "Bearer wrong-" SECRET;
	case WHO_OTHER_SCHEME: return "Basic Zm9vOmJhcg==";
	case WHO_ADMIN: return AUTH;
	default: return NULL;
	}
}

/* pattern with its placeholders filled in */
static void uri_of(const ctx_t *c, const char *pattern, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = pattern; *p && o + 1 < cap;) {
		const char *val = NULL;
		size_t skip = 0;
		if (strncmp(p, "{id}", 4) == 0)
			val = c->id, skip = 4;
		else if (strncmp(p, "{sku}", 5) == 0)
			val = c->sku, skip = 5;
		else if (strncmp(p, "{name}", 6) == 0)
			val = "authz.counter", skip = 6;
		else if (strncmp(p, "{code}", 6) == 0)
			val = "authz-collection", skip = 6;
		if (val) {
			size_t n = strlen(val);
			assert_true(o + n < cap);
			memcpy(out + o, val, n);
			o += n;
			p += skip;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	assert_null(strchr(out, '{'));
}

static int request(ctx_t *c, const char *method, const route_def_t *rd, who_t who)
{
	char uri[256];
	uri_of(c, rd->pattern, uri, sizeof(uri));
	const char *body = (rd->flags & ROUTE_F_BODY) ? "{}" : NULL;
	api_req_t req = {.method = method,
			 .uri = uri,
			 .authorization = auth_of(who),
			 .if_match = (rd->flags & ROUTE_F_IF_MATCH) ? "\"1\"" : NULL,
			 .content_type = body ? "application/json" : NULL,
			 .body = body,
			 .body_len = body ? strlen(body) : 0};
	return call_req(c->f, &req);
}

static const authz_row_t *row_of(const route_def_t *rd)
{
	const char *m = route_method_name(rd->method);
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++)
		if (strcmp(matrix[i].method, m) == 0 && strcmp(matrix[i].pattern, rd->pattern) == 0)
			return &matrix[i];
	return NULL;
}

static void setup_product(ctx_t *c, fix_t *f)
{
	c->f = f;
	c->sku = "AUTHZ-1";
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"AUTHZ-1\",\"seller\":\"s1\",\"category\":\"home\","
			      "\"title\":{\"en\":\"Mug\"},\"price\":{\"GBP\":250}}"),
			 201);
	snprintf(c->id, sizeof(c->id), "%s", json_string_value(json_object_get(f->body, "id")));
	assert_int_equal(strlen(c->id), 32);
}

static bool check_status(const char *method, const route_def_t *rd, who_t w, int want, int got)
{
	bool ok = want == SERVED ? (got != 401 && got != 403 && got < 500) : got == want;
	if (!ok && want == SERVED)
		fprintf(stderr, "%s %s with %s: want it served (not 401/403), got %d\n", method,
			rd->pattern, who_name[w], got);
	else if (!ok)
		fprintf(stderr, "%s %s with %s: want %d, got %d\n", method, rd->pattern,
			who_name[w], want, got);
	return ok;
}

static void test_authz_every_route_and_principal(void **state)
{
	ctx_t c;
	setup_product(&c, *state);
	unsigned bad = 0, missing = 0;
	for (size_t i = 0; i < route_table_len; i++) {
		const route_def_t *rd = &route_table[i];
		const authz_row_t *row = row_of(rd);
		if (row == NULL) {
			fprintf(stderr, "route %s %s has no row in the authorization matrix\n",
				route_method_name(rd->method), rd->pattern);
			missing++;
			continue;
		}
		/* the table and the matrix agree on who the route is for */
		if ((rd->perm == PERM_PUBLIC) != (row->want[WHO_NONE] == SERVED)) {
			fprintf(stderr, "%s: public in one of table and matrix only\n",
				rd->pattern);
			bad++;
		}
		/* admin last: its writes may change the product */
		for (int w = 0; w < WHO__COUNT; w++) {
			const char *m = route_method_name(rd->method);
			bad += !check_status(m, rd, (who_t)w, row->want[w],
					     request(&c, m, rd, (who_t)w));
			if (rd->method == ROUTE_M_GET)
				bad += !check_status("HEAD", rd, (who_t)w, row->want[w],
						     request(&c, "HEAD", rd, (who_t)w));
			if (row->want[w] == 401)
				assert_true(has_header(c.f, "WWW-Authenticate: Bearer"));
		}
		/* a write the admin made may have archived it: a fresh product each row */
		if (rd->flags & ROUTE_F_WRITE) {
			char sku[32];
			static unsigned n;
			snprintf(sku, sizeof(sku), "AUTHZ-%u", ++n + 1);
			char doc[256];
			snprintf(doc, sizeof(doc),
				 "{\"sku\":\"%s\",\"seller\":\"s1\",\"category\":\"home\","
				 "\"title\":{\"en\":\"Mug\"},\"price\":{\"GBP\":250}}",
				 sku);
			assert_int_equal(call(c.f, "POST", "/api/v1/products", AUTH, NULL, doc),
					 201);
			snprintf(c.id, sizeof(c.id), "%s",
				 json_string_value(json_object_get(c.f->body, "id")));
		}
	}
	assert_int_equal(missing, 0);
	assert_int_equal(bad, 0);
}

/* A method a path does not route is 405 with Allow for every principal,
 * before any credential is looked at. */
static void test_authz_unrouted_methods_are_405_for_everyone(void **state)
{
	ctx_t c;
	setup_product(&c, *state);
	static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT"};
	unsigned checked = 0;
	for (size_t i = 0; i < route_table_len; i++) {
		const route_def_t *rd = &route_table[i];
		for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
			bool routed = false;
			for (size_t j = 0; j < route_table_len; j++)
				routed |= strcmp(route_table[j].pattern, rd->pattern) == 0 &&
					  strcmp(route_method_name(route_table[j].method),
						 methods[k]) == 0;
			if (routed)
				continue;
			for (int w = 0; w < WHO__COUNT; w++) {
				int got = request(&c, methods[k], rd, (who_t)w);
				if (got != 405)
					fprintf(stderr, "%s %s with %s: want 405, got %d\n",
						methods[k], rd->pattern, who_name[w], got);
				assert_int_equal(got, 405);
				assert_true(has_header(c.f, "Allow: "));
				checked++;
			}
		}
	}
	assert_true(checked > 0);
}

/* Rows of the matrix name routes that exist (a removed route loses its row). */
static void test_authz_matrix_rows_are_routes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < route_table_len; j++)
			found |= strcmp(route_method_name(route_table[j].method),
					matrix[i].method) == 0 &&
				 strcmp(route_table[j].pattern, matrix[i].pattern) == 0;
		if (!found)
			fprintf(stderr, "matrix row %s %s is no route\n", matrix[i].method,
				matrix[i].pattern);
		assert_true(found);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_authz_every_route_and_principal, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_authz_unrouted_methods_are_405_for_everyone,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test(test_authz_matrix_rows_are_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
