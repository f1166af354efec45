/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Variants in reads: a variant's SKU finds its product (the record's
 * variants are in the SKU index beside the product's own SKU, which wins a
 * clash), the record says where each variant's object ends in every
 * rendering, and reads in a channel price each variant by its own SKU
 * (falling back to the product's price) in two channels and currencies,
 * against the real store, publisher and image.
 */
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
#include <event2/event.h>
#include <jansson.h>
#include "common/error.h"
#include "daemon/import.h"
#include "daemon/publisher.h"
#include "domain/catalog/sections.h"
#include "fcgi/api.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/api_fixture.h"

/* ---- the record ------------------------------------------------------------------ */

static void test_catalog_variants_in_the_record(void **state)
{
	(void)state;
	/* two locales, the variants' bytes the same in both */
	static const char en[] = "{\"t\":\"Tee\",\"variants\":[{\"sku\":\"T-R\"},{\"sku\":\"T-B\"}]}";
	static const char de[] = "{\"t\":\"T-Shirt\",\"variants\":[{\"sku\":\"T-R\"},{\"sku\":\"T-B\"}]}";
	catalog_loc_t locs[2] = {{.locale = "de", .json = de, .json_len = strlen(de)},
				 {.locale = "en", .json = en, .json_len = strlen(en)}};
	locs[0].var_at = (uint32_t)(strchr(de, '[') - de);
	locs[1].var_at = (uint32_t)(strchr(en, '[') - en);
	catalog_price_t gbp = {.currency = "GBP", .amount = 1700};
	catalog_var_t vars[2] = {{.sku = "T-R", .sku_len = 3, .prices = &gbp, .nprices = 1},
				 {.sku = "T-B", .sku_len = 3}};
	vars[0].end = (uint32_t)(strstr(en, "\"T-R\"}") + 5 - strchr(en, '['));
	vars[1].end = (uint32_t)(strstr(en, "\"T-B\"}") + 5 - strchr(en, '['));
	catalog_product_t p = {.version = 1, .seq = 2, .sku = "T", .sku_len = 1, .category = "c",
			       .category_len = 1, .locs = locs, .nloc = 2, .default_loc = 1,
			       .vars = vars, .nvars = 2};
	p.id.b[0] = 1;
	/* another product whose own SKU is T-B: it keeps T-B */
	catalog_loc_t ql = {.locale = "en", .json = "{}", .json_len = 2};
	catalog_product_t q = {.version = 1, .seq = 1, .sku = "T-B", .sku_len = 3, .category = "c",
			       .category_len = 1, .locs = &ql, .nloc = 1};
	q.id.b[0] = 2;
	const catalog_product_t *arr[2] = {&p, &q};
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
	catalog_hit_t h;
	catalog_variant_t cv;
	int64_t amount;
	assert_int_equal(catalog_build_mem(arr, 2, 1, sec, len), 0);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);

	assert_int_equal(catalog_get_by_sku_in(&v, NULL, "T-R", 3, "de", &h), 0);
	assert_int_equal(h.variant, 0);
	assert_int_equal(h.nvars, 2);
	assert_int_equal(h.len, strlen(de));
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(catalog_hit_variant(&h, i, &cv), 0);
		assert_int_equal(h.json[cv.end], '}');
		assert_memory_equal(h.json + cv.end - 4, i ? "T-B\"" : "T-R\"", 4);
	}
	assert_int_equal(catalog_hit_variant(&h, 0, &cv), 0);
	assert_true(catalog_variant_price(&cv, "GBP", &amount));
	assert_true(amount == 1700);
	assert_false(catalog_variant_price(&cv, "EUR", &amount));
	/* the product's own SKU: no variant selected */
	assert_int_equal(catalog_get_by_sku_in(&v, NULL, "T", 1, NULL, &h), 0);
	assert_int_equal(h.variant, -1);
	/* a product's own SKU wins over a variant's */
	assert_int_equal(catalog_get_by_sku_in(&v, NULL, "T-B", 3, NULL, &h), 0);
	assert_int_equal(h.variant, -1);
	assert_int_equal(h.nvars, 0);
	assert_int_equal(catalog_get_by_sku_in(&v, NULL, "T-X", 3, NULL, &h), SOUK_ENOENT);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);

	/* a variant end that does not point at its object is refused on read */
	vars[1].end = 2;
	p.nvars = 2;
	assert_int_equal(catalog_build_mem(arr, 1, 1, sec, len), 0);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);
	assert_int_equal(catalog_get_by_sku_in(&v, NULL, "T-B", 3, NULL, &h), 0);
	assert_int_equal(catalog_hit_variant(&h, 1, &cv), SOUK_ECORRUPT);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
	/* bounds on the way in */
	vars[0].sku_len = 0;
	assert_int_equal(catalog_build_mem(arr, 1, 1, sec, len), SOUK_EINVAL);
}

/* ---- through the API ------------------------------------------------------------- */

static void post(fix_t *f, const char *uri, const char *doc, char id[33])
{
	if (call(f, "POST", uri, AUTH, NULL, doc) != 201)
		fail_msg("%s %s: %d", uri, doc, f->resp.status);
	if (id)
		snprintf(id, 33, "%s", json_string_value(json_object_get(f->body, "id")));
}

static int get(fix_t *f, const char *chan, const char *uri)
{
	api_req_t rq = {.method = "GET", .uri = uri, .channel = chan};
	return call_req(f, &rq);
}

static long long amount_of(const json_t *o)
{
	json_t *a = json_object_get(json_object_get(o, "pricing"), "amount");
	return json_is_integer(a) ? (long long)json_integer_value(a) : -1;
}

static const char *str_of(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s ? s : "";
}

/* "sku=amount,..." of the variants of the product in f->body */
static void variant_prices(const json_t *product, char *out, size_t cap)
{
	size_t i, n = 0;
	json_t *v;
	out[0] = '\0';
	json_array_foreach(json_object_get(product, "variants"), i, v)
	{
		n += (size_t)snprintf(out + n, cap - n, "%s%s=%lld%s", n ? "," : "",
				      str_of(v, "sku"), amount_of(v),
				      json_is_true(json_object_get(v, "purchasable")) ? "" : "!");
	}
}

static void test_catalog_variants_priced_in_reads(void **state)
{
	fix_t *f = *state;
	char pid[33], vid[3][33], doc[512], uri[96], got[256];
	post(f, "/api/v1/products",
	     "{\"sku\":\"TEE\",\"category\":\"tops\",\"title\":{\"en\":\"Tee\"},"
	     "\"price\":{\"GBP\":1500}}",
	     pid);
	static const char *const vars[][2] = {
	    {"TEE-R", "{\"colour\":\"red\"},\"price\":{\"GBP\":1700}"},
	    {"TEE-B", "{\"colour\":\"blue\"}"},
	    {"TEE-G", "{\"colour\":\"green\"}"},
	};
	for (size_t i = 0; i < 3; i++) {
		snprintf(doc, sizeof(doc), "{\"product\":\"%s\",\"sku\":\"%s\",\"options\":%s}", pid,
			 vars[i][0], vars[i][1]);
		post(f, "/api/v1/variants", doc, vid[i]);
	}
	assert_int_equal(publisher_catch_up(f->p), 0);
	/* a mall without channels: the variant's SKU finds the product */
	assert_int_equal(get(f, NULL, "/api/v1/products/by-sku/TEE-G"), 200);
	assert_string_equal(str_of(f->body, "sku"), "TEE");
	assert_string_equal(str_of(f->body, "selected_variant"), "TEE-G");
	assert_null(json_object_get(f->body, "pricing"));
	assert_int_equal(get(f, NULL, "/api/v1/products/by-sku/TEE"), 200);
	assert_null(json_object_get(f->body, "selected_variant"));
	assert_int_equal(get(f, NULL, "/api/v1/products/by-sku/TEE-X"), 404);

	post(f, "/api/v1/channels",
	     "{\"code\":\"uk\",\"name\":\"UK\",\"currencies\":{\"default\":\"GBP\",\"allowed\":"
	     "[\"GBP\"]},\"locales\":{\"default\":\"en\"}}",
	     NULL);
	post(f, "/api/v1/channels",
	     "{\"code\":\"eu\",\"name\":\"EU\",\"currencies\":{\"default\":\"EUR\",\"allowed\":"
	     "[\"EUR\",\"GBP\"]},\"locales\":{\"default\":\"de\"}}",
	     NULL);
	post(f, "/api/v1/price-lists",
	     "{\"code\":\"eu-base\",\"name\":\"EU\",\"channel\":\"eu\",\"currency\":\"EUR\"}", NULL);
	post(f, "/api/v1/prices", "{\"list\":\"eu-base\",\"sku\":\"TEE\",\"amount\":1799}", NULL);
	post(f, "/api/v1/prices", "{\"list\":\"eu-base\",\"sku\":\"TEE-G\",\"amount\":1999}", NULL);
	assert_int_equal(publisher_catch_up(f->p), 0);

	/* by a variant's SKU: priced for it, its own price or the product's */
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/TEE-R"), 200);
	assert_string_equal(str_of(f->body, "selected_variant"), "TEE-R");
	assert_int_equal(amount_of(f->body), 1700);
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/TEE-B"), 200);
	assert_string_equal(str_of(f->body, "selected_variant"), "TEE-B");
	assert_int_equal(amount_of(f->body), 1500); /* no price of its own */
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/TEE-G"), 200);
	assert_int_equal(amount_of(f->body), 1999);
	assert_string_equal(
	    str_of(json_object_get(f->body, "pricing"), "currency"), "EUR");
	/* TEE-R has a GBP price only: in EUR the product's list price */
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/TEE-R"), 200);
	assert_int_equal(amount_of(f->body), 1799);
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/TEE-R?currency=GBP"), 200);
	assert_int_equal(amount_of(f->body), 1700);
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/TEE?currency=GBP"), 200);
	assert_int_equal(amount_of(f->body), 1500);
	assert_null(json_object_get(f->body, "selected_variant"));

	/* every variant inside a product read carries its own price */
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", pid);
	assert_int_equal(get(f, "uk", uri), 200);
	assert_int_equal(amount_of(f->body), 1500);
	variant_prices(f->body, got, sizeof(got));
	assert_string_equal(got, "TEE-B=1500,TEE-G=1500,TEE-R=1700");
	assert_int_equal(get(f, "eu", uri), 200);
	variant_prices(f->body, got, sizeof(got));
	assert_string_equal(got, "TEE-B=1799,TEE-G=1999,TEE-R=1799");
	snprintf(uri, sizeof(uri), "/api/v1/products/%s?currency=GBP", pid);
	assert_int_equal(get(f, "eu", uri), 200);
	variant_prices(f->body, got, sizeof(got));
	assert_string_equal(got, "TEE-B=1500,TEE-G=1500,TEE-R=1700");
	/* the rendering stays the product's: options and the rest untouched */
	json_t *red = json_array_get(json_object_get(f->body, "variants"), 2);
	assert_string_equal(str_of(json_object_get(red, "options"), "colour"), "red");
	/* and in lists */
	assert_int_equal(get(f, "eu", "/api/v1/products"), 200);
	json_t *item = json_array_get(json_object_get(f->body, "items"), 0);
	assert_int_equal(amount_of(item), 1799);
	variant_prices(item, got, sizeof(got));
	assert_string_equal(got, "TEE-B=1799,TEE-G=1999,TEE-R=1799");
	/* a quantity tier of the variant's SKU applies to it */
	post(f, "/api/v1/prices", "{\"list\":\"eu-base\",\"sku\":\"TEE-G\",\"amount\":999,"
				  "\"min_qty\":1000}",
	     NULL);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/TEE-G?quantity=1000"), 200);
	assert_int_equal(amount_of(f->body), 999);
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/TEE-G"), 200);
	assert_int_equal(amount_of(f->body), 1999);
	/* a variant deleted: its SKU no longer finds the product (the base's
	 * record of it is stale once the delta holds the product again) */
	snprintf(uri, sizeof(uri), "/api/v1/variants/%s", vid[1]);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"1\"", NULL), 204);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/TEE-B"), 404);
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/TEE-R"), 200);
	variant_prices(f->body, got, sizeof(got));
	assert_string_equal(got, "TEE-G=1500,TEE-R=1700");
		/* the explain route explains the variant's SKU */
	api_req_t rq = {.method = "GET",
			.uri = "/api/v1/prices/explain?sku=TEE-G",
			.channel = "eu",
			.authorization = AUTH};
	assert_int_equal(call_req(f, &rq), 200);
	char *text = json_dumps(f->body, JSON_COMPACT);
	assert_non_null(strstr(text, "1999"));
	free(text);
}

/* The demo mall's colourways (data/demo/README.md), imported as scripts/run
 * does: a member's StockCode finds its colourway with the member selected
 * and priced for it in both storefronts (its own GBP price, its EUR list
 * price), though the member's own product, now a draft, has the same SKU;
 * a same-coloured duplicate left out of the group stays a product. The
 * catalog is published first, as a store made before the colourways, and
 * the colourways before their members become drafts. */
/* scripts/run's imports, in its order: kind, file under data/demo/ */
static const char *const demo_files[][2] = {
    {"product", "catalog.csv"},
    {"category", "categories.jsonl"},
    {"channel", "channels.jsonl"},
    {"price_list", "price-lists.jsonl"},
    {"price", "prices-eu.csv"},
    {"product_type", "product-types.jsonl"},
    {"product", "products-colourways.jsonl"},
    {"variant", "variants.jsonl"},
    {"product", "colourway-members.csv"},
    {"price", "prices-eu-colourways.csv"},
};

/* demo_files[from, to), each without a failed line */
static void demo_import(fix_t *f, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		import_opts_t o = {.kind = model_kind_find(demo_files[i][0]), .default_stock = 100};
		import_stats_t st;
		char file[160];
		snprintf(file, sizeof(file), "data/demo/%s", demo_files[i][1]); /* from the top */
		assert_non_null(o.kind);
		assert_int_equal(import_file(f->s, file, &o, &st), 0);
		if (st.failed || st.records == 0)
			fail_msg("%s: %llu of %llu failed", file, (unsigned long long)st.failed,
				 (unsigned long long)st.records);
	}
}

static void test_catalog_variants_demo_colourways(void **state)
{
	fix_t *f = *state;
	char got[256];
	demo_import(f, 0, 5);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/20734"), 200);
	assert_string_equal(str_of(f->body, "sku"), "20734");

	demo_import(f, 5, 8);
	assert_int_equal(publisher_catch_up(f->p), 0);
	/* published with its colourway, the member's own product still wins its
	 * SKU; once it is a draft (one change, then all), the variant has it */
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/20734"), 200);
	assert_string_equal(str_of(f->body, "sku"), "20734");
	import_opts_t o = {.kind = model_kind_find("product")};
	import_stats_t st;
	const char *one = "sku,status\n20734,draft\n";
	assert_int_equal(import_mem(f->s, one, strlen(one), &o, &st), 0);
	assert_int_equal(st.updated, 1);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/20734"), 200);
	assert_string_equal(str_of(f->body, "selected_variant"), "20734");
	demo_import(f, 8, sizeof(demo_files) / sizeof(demo_files[0]));
	assert_int_equal(publisher_catch_up(f->p), 0);

	/* MINI TAPE MEASURE in gold (20733), silver (20734) and black (20735) */
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/20734"), 200);
	assert_string_equal(str_of(f->body, "sku"), "20733-V");
	assert_string_equal(str_of(f->body, "title"), "MINI TAPE MEASURE");
	assert_string_equal(str_of(f->body, "type"), "colourway");
	assert_string_equal(str_of(f->body, "selected_variant"), "20734");
	assert_int_equal(amount_of(f->body), 163);
	variant_prices(f->body, got, sizeof(got));
	assert_string_equal(got, "20733=83,20734=163,20735=85");
	json_t *silver = json_array_get(json_object_get(f->body, "variants"), 1);
	assert_string_equal(str_of(json_object_get(silver, "options"), "colour"), "silver");
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/20734"), 200);
	assert_string_equal(str_of(f->body, "selected_variant"), "20734");
	assert_string_equal(str_of(json_object_get(f->body, "pricing"), "currency"), "EUR");
	assert_int_equal(amount_of(f->body), 191);
	variant_prices(f->body, got, sizeof(got));
	assert_string_equal(got, "20733=97,20734=191,20735=99");
	/* the colourway itself: the lowest of its members */
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/20733-V"), 200);
	assert_null(json_object_get(f->body, "selected_variant"));
	assert_int_equal(amount_of(f->body), 83);
	assert_int_equal(get(f, "eu", "/api/v1/products/by-sku/20733-V"), 200);
	assert_int_equal(amount_of(f->body), 97);
	/* the best seller is the white of a colourway; its lower-case twin not */
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/85123A"), 200);
	assert_string_equal(str_of(f->body, "sku"), "21733-V");
	assert_string_equal(str_of(f->body, "selected_variant"), "85123A");
	assert_int_equal(get(f, "uk", "/api/v1/products/by-sku/85123a"), 200);
	assert_string_equal(str_of(f->body, "sku"), "85123a");
	assert_null(json_object_get(f->body, "selected_variant"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catalog_variants_in_the_record),
	    cmocka_unit_test_setup_teardown(test_catalog_variants_priced_in_reads, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_catalog_variants_demo_colourways, api_fix_setup,
					    api_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
