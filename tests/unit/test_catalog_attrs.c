/* SPDX-License-Identifier: Apache-2.0 */
/*
 * List filters by attribute values: the record's compact form (value
 * hashes and fixed-point numbers) and "cat.attr" built in memory and read
 * back, then ?attr.<code>= through the real store, publisher and image with
 * a product type of enum, multi_enum, bool and number attributes (one set
 * per variant), composed with category, price and stock filters, paged
 * with a small limit.
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
#include "daemon/publisher.h"
#include "domain/catalog/sections.h"
#include "fcgi/api.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/api_fixture.h"

/* ---- the record encoding ---------------------------------------------------- */

static int u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_catalog_attrs_record_round_trip(void **state)
{
	(void)state;
	uint64_t colour = catalog_attr_code_hash("colour", 6);
	uint64_t weight = catalog_attr_code_hash("weight", 6);
	uint64_t shirt = catalog_type_hash("shirt", 5), mug = catalog_type_hash("mug", 3);
	uint64_t vals[2] = {catalog_attr_value_hash(colour, "red", 3),
			    catalog_attr_value_hash(colour, "blue", 4)};
	qsort(vals, 2, sizeof(vals[0]), u64cmp);
	catalog_num_t nums[1] = {{weight, 2505000}}; /* 250.5 */
	catalog_loc_t loc = {.locale = "en", .json = "{\"a\":1}", .json_len = 7};
	catalog_product_t p = {.version = 1, .seq = 1, .sku = "S1", .sku_len = 2,
			       .category = "c", .category_len = 1, .locs = &loc, .nloc = 1,
			       .type_hash = shirt, .attr_vals = vals, .nattr_vals = 2,
			       .attr_nums = nums, .nattr_nums = 1};
	p.id.b[0] = 1;
	catalog_product_t q = p; /* a mug: colour is not filterable for mugs */
	q.id.b[0] = 2;
	q.sku = "S2";
	q.type_hash = mug;
	const catalog_product_t *arr[2] = {&p, &q};
	catalog_attr_decl_t d[] = {
	    {"colour", 6, shirt, CATALOG_ATTR_ENUM},
	    {"weight", 6, shirt, CATALOG_ATTR_NUMBER},
	    {"colour", 6, shirt, CATALOG_ATTR_TEXT}, /* twice: the first counts */
	    {"size", 4, mug, CATALOG_ATTR_MULTI_ENUM},
	};
	void *attrs, *sec[CATALOG_NSECTIONS];
	size_t attrs_len, len[CATALOG_NSECTIONS];
	catalog_view_t v;
	assert_int_equal(catalog_attrs_encode(d, 4, &attrs, &attrs_len), 0);
	assert_int_equal(catalog_build_mem_with(arr, 2, attrs, attrs_len, 1, sec, len), 0);
	free(attrs);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);

	catalog_hit_t h1, h2;
	assert_int_equal(catalog_get_in(&v, NULL, &p.id, NULL, &h1), 0);
	assert_int_equal(catalog_get_in(&v, NULL, &q.id, NULL, &h2), 0);
	assert_int_equal(h1.nattr_vals, 2);
	assert_int_equal(h1.nattr_nums, 1);
	assert_true(h1.type_hash == shirt);

	const char *why = NULL;
	catalog_filters_t fs = {0};
	assert_int_equal(catalog_filter_add(&v, &fs, "colour", 6, "green,blue", 10, &why), 0);
	assert_true(catalog_filters_match(&fs, &h1));
	assert_false(catalog_filters_match(&fs, &h2)); /* same values, not filterable there */
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(catalog_filter_add(&v, &fs, "colour", 6, "green", 5, &why), 0);
	assert_false(catalog_filters_match(&fs, &h1));
	/* numbers: as numbers, ranges inclusive, fixed point */
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(catalog_filter_add(&v, &fs, "weight", 6, "250.50", 6, &why), 0);
	assert_true(catalog_filters_match(&fs, &h1));
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(catalog_filter_add(&v, &fs, "weight_min", 10, "250.5", 5, &why), 0);
	assert_int_equal(catalog_filter_add(&v, &fs, "weight_max", 10, "250.5", 5, &why), 0);
	assert_int_equal(fs.n, 1);
	assert_true(catalog_filters_match(&fs, &h1));
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(catalog_filter_add(&v, &fs, "weight_min", 10, "250.5001", 8, &why), 0);
	assert_false(catalog_filters_match(&fs, &h1));
	/* mistakes name what is wrong */
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(catalog_filter_add(&v, &fs, "weight", 6, "heavy", 5, &why), SOUK_EINVAL);
	assert_non_null(why);
	assert_int_equal(catalog_filter_add(&v, &fs, "weight_min", 10, "1.00001", 7, &why),
			 SOUK_EINVAL);
	assert_int_equal(catalog_filter_add(&v, &fs, "colour_min", 10, "1", 1, &why), SOUK_EINVAL);
	assert_int_equal(catalog_filter_add(&v, &fs, "nope", 4, "x", 1, &why), SOUK_EINVAL);
	assert_int_equal(catalog_filter_add(&v, &fs, "colour", 6, "red,,blue", 9, &why),
			 SOUK_EINVAL);
	assert_int_equal(catalog_filter_add(&v, &fs, "colour", 6, "", 0, &why), SOUK_EINVAL);
	int64_t x;
	assert_int_equal(catalog_num_parse("-2.5", 4, &x), 0);
	assert_true(x == -25000);
	assert_int_equal(catalog_num_parse("2.", 2, &x), SOUK_EINVAL);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
}

/* A damaged "cat.attr" is refused when the view is bound, never read. */
static void test_catalog_attrs_damaged_section_refused(void **state)
{
	(void)state;
	catalog_attr_decl_t d = {"colour", 6, catalog_type_hash("t", 1), CATALOG_ATTR_ENUM};
	void *attrs, *sec[CATALOG_NSECTIONS];
	size_t attrs_len, len[CATALOG_NSECTIONS];
	catalog_view_t v;
	assert_int_equal(catalog_attrs_encode(&d, 1, &attrs, &attrs_len), 0);
	assert_int_equal(catalog_build_mem_with(NULL, 0, attrs, attrs_len, 1, sec, len), 0);
	free(attrs);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);
	uint32_t big = 1000;
	memcpy((uint8_t *)sec[5] + 4, &big, 4); /* more codes than it holds */
	assert_int_equal(catalog_view_init_mem(sec, len, &v), SOUK_ECORRUPT);
	d.kind = 99;
	assert_int_equal(catalog_attrs_encode(&d, 1, &attrs, &attrs_len), SOUK_EINVAL);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
}

/* ---- through the API ---------------------------------------------------------- */

static void post(fix_t *f, const char *uri, const char *doc, char id[33])
{
	if (call(f, "POST", uri, AUTH, NULL, doc) != 201)
		fail_msg("%s %s: %d", uri, doc, f->resp.status);
	if (id)
		snprintf(id, 33, "%s", json_string_value(json_object_get(f->body, "id")));
}

#define TYPE_DOC                                                                                  \
	"{\"code\":\"shirt\",\"name\":{\"en\":\"Shirt\"},\"attributes\":["                       \
	"{\"code\":\"colour\",\"name\":{\"en\":\"Colour\"},\"type\":\"enum\",\"filterable\":true," \
	"\"values\":[{\"code\":\"red\",\"name\":{\"en\":\"Red\"}},{\"code\":\"blue\",\"name\":"    \
	"{\"en\":\"Blue\"}},{\"code\":\"green\",\"name\":{\"en\":\"Green\"}}]},"                  \
	"{\"code\":\"sizes\",\"name\":{\"en\":\"Sizes\"},\"type\":\"multi_enum\","                 \
	"\"filterable\":true,\"values\":[{\"code\":\"s\",\"name\":{\"en\":\"S\"}},{\"code\":"      \
	"\"m\",\"name\":{\"en\":\"M\"}},{\"code\":\"l\",\"name\":{\"en\":\"L\"}}]},"              \
	"{\"code\":\"organic\",\"name\":{\"en\":\"Organic\"},\"type\":\"bool\","                   \
	"\"filterable\":%s},"                                                                     \
	"{\"code\":\"weight\",\"name\":{\"en\":\"Weight\"},\"type\":\"number\",\"unit\":\"g\","    \
	"\"filterable\":true},"                                                                   \
	"{\"code\":\"note\",\"name\":{\"en\":\"Note\"},\"type\":\"text\"},"                        \
	"{\"code\":\"fit\",\"name\":{\"en\":\"Fit\"},\"type\":\"enum\",\"variant\":true,"          \
	"\"filterable\":true,\"values\":[{\"code\":\"slim\",\"name\":{\"en\":\"Slim\"}},"          \
	"{\"code\":\"wide\",\"name\":{\"en\":\"Wide\"}}]}],\"options\":[\"fit\"]}"

static const char *const colours[] = {"red", "blue", "green"};
#define NPROD 18

/* "sku,sku,..." of one page (or of every page, following next_cursor) */
static int list(fix_t *f, const char *chan, const char *query, bool all, char *out, size_t cap)
{
	char uri[512], cursor[400] = "";
	size_t n = 0;
	out[0] = '\0';
	for (int pages = 0; pages < 100; pages++) {
		snprintf(uri, sizeof(uri), "/api/v1/products?%s%s%s", query,
			 cursor[0] ? "&cursor=" : "", cursor);
		api_req_t rq = {.method = "GET", .uri = uri, .channel = chan};
		int st = call_req(f, &rq);
		if (st != 200)
			return st;
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(f->body, "items"), i, it)
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "",
				      json_string_value(json_object_get(it, "sku")));
		const char *next = json_string_value(json_object_get(f->body, "next_cursor"));
		if (!all || !next)
			return 200;
		snprintf(cursor, sizeof(cursor), "%s", next);
	}
	fail_msg("more than 100 pages");
	return 0;
}

static int strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the comma-separated SKUs of s in byte order (lists are in (category, id)
 * order, and ids are random) */
static void sorted(char *s)
{
	char *parts[64], copy[2048], *save = NULL;
	size_t n = 0, o = 0;
	snprintf(copy, sizeof(copy), "%s", s);
	for (char *t = strtok_r(copy, ",", &save); t && n < 64; t = strtok_r(NULL, ",", &save))
		parts[n++] = t;
	qsort(parts, n, sizeof(parts[0]), strpcmp);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(s + o, "%s%s", i ? "," : "", parts[i]);
}

static void problem_names(fix_t *f, const char *param)
{
	char *errs = json_dumps(f->body, JSON_COMPACT);
	if (strstr(errs, param) == NULL)
		fail_msg("%s not named in %s", param, errs);
	free(errs);
}

static void test_catalog_attrs_list_filters(void **state)
{
	fix_t *f = *state;
	char doc[1024], tid[33], pid[NPROD][33], got[2048], want[2048];
	snprintf(doc, sizeof(doc), TYPE_DOC, "true");
	post(f, "/api/v1/product-types", doc, tid);
	post(f, "/api/v1/channels",
	     "{\"code\":\"uk\",\"name\":\"UK\",\"currencies\":{\"default\":\"GBP\",\"allowed\":"
	     "[\"GBP\"]},\"locales\":{\"default\":\"en\"}}",
	     NULL);
	/* P00..P17: colour by i % 3, sizes m for even i (and l for i % 4 == 0),
	 * organic for i % 5 == 0, weight 100 + 10.5 * i g, price 100 * i,
	 * stock for odd i; categories a (i < 9) and b; P15 untyped (red) */
	for (int i = 0; i < NPROD; i++) {
		snprintf(doc, sizeof(doc),
			 "{\"sku\":\"P%02d\",\"category\":\"%s\",%s\"title\":{\"en\":\"P\"},"
			 "\"price\":{\"GBP\":%d},\"stock\":%d,\"attributes\":{\"colour\":\"%s\","
			 "\"sizes\":%s,\"organic\":%s,\"weight\":%d.%d,\"note\":\"n%d\"}}",
			 i, i < 9 ? "a" : "b", i == 15 ? "" : "\"type\":\"shirt\",", 100 * i + 100,
			 i % 2, colours[i % 3],
			 i % 4 == 0 ? "[\"m\",\"l\"]" : i % 2 == 0 ? "[\"m\"]" : "[\"s\"]",
			 i % 5 == 0 ? "true" : "false", 100 + (21 * i) / 2, (i % 2) * 5, i);
		post(f, "/api/v1/products", doc, pid[i]);
	}
	/* a variant of P01 with fit slim: the product lists under fit=slim */
	snprintf(doc, sizeof(doc),
		 "{\"product\":\"%s\",\"sku\":\"P01-S\",\"options\":{\"fit\":\"slim\"}}", pid[1]);
	post(f, "/api/v1/variants", doc, NULL);
	assert_int_equal(publisher_catch_up(f->p), 0);

	/* one value; the untyped P17 never matches */
	assert_int_equal(list(f, NULL, "attr.colour=red&limit=100", false, got, sizeof(got)), 200);
	sorted(got);
	assert_string_equal(got, "P00,P03,P06,P09,P12");
	/* values of one attribute OR, attributes AND; multi_enum holds any */
	assert_int_equal(
	    list(f, NULL, "attr.colour=red,blue&attr.sizes=l&limit=100", false, got, sizeof(got)),
	    200);
	sorted(got);
	assert_string_equal(got, "P00,P04,P12,P16");
	assert_int_equal(list(f, NULL, "attr.organic=true&limit=100", false, got, sizeof(got)),
			 200);
	sorted(got);
	assert_string_equal(got, "P00,P05,P10");
	/* numbers: weight 100 + 10.5 i; 131.5 (i 3) to 152.5 (i 5) */
	assert_int_equal(list(f, NULL, "attr.weight_min=131.5&attr.weight_max=152.5&limit=100",
			      false, got, sizeof(got)),
			 200);
	sorted(got);
	assert_string_equal(got, "P03,P04,P05");
	assert_int_equal(list(f, NULL, "attr.weight=142,121.00&limit=100", false, got, sizeof(got)),
			 200);
	sorted(got);
	assert_string_equal(got, "P02,P04");
	/* a variant's option */
	assert_int_equal(list(f, NULL, "attr.fit=slim", false, got, sizeof(got)), 200);
	sorted(got);
	assert_string_equal(got, "P01");
	/* with the category and, in a channel, price and stock */
	assert_int_equal(list(f, NULL, "category=b&attr.colour=red&limit=100", false, got,
			      sizeof(got)),
			 200);
	sorted(got);
	assert_string_equal(got, "P09,P12");
	assert_int_equal(list(f, "uk", "attr.colour=red&in_stock=true&price_max=1300&limit=100",
			      false, got, sizeof(got)),
			 200);
	sorted(got);
	assert_string_equal(got, "P03,P09");

	/* paged two at a time: the same products, none twice, none skipped */
	assert_int_equal(
	    list(f, NULL, "attr.colour=red,green&attr.sizes=m&limit=100", false, want, sizeof(want)),
	    200);
	char want_sorted[2048];
	snprintf(want_sorted, sizeof(want_sorted), "%s", want);
	sorted(want_sorted);
	assert_string_equal(want_sorted, "P00,P02,P06,P08,P12,P14");
	assert_int_equal(
	    list(f, NULL, "attr.colour=red,green&attr.sizes=m&limit=2", true, got, sizeof(got)),
	    200);
	assert_string_equal(got, want);
	assert_int_equal(list(f, "uk", "attr.colour=red,green&attr.sizes=m&limit=1", true, got,
			      sizeof(got)),
			 200);
	assert_string_equal(got, want);

	/* mistakes: a 400 naming the parameter */
	assert_int_equal(list(f, NULL, "attr.note=n1", false, got, sizeof(got)), 400);
	problem_names(f, "attr.note");
	assert_int_equal(list(f, NULL, "attr.nope=x", false, got, sizeof(got)), 400);
	problem_names(f, "attr.nope");
	assert_int_equal(list(f, NULL, "attr.organic=maybe", false, got, sizeof(got)), 400);
	problem_names(f, "attr.organic");
	assert_int_equal(list(f, NULL, "attr.weight_min=light", false, got, sizeof(got)), 400);
	problem_names(f, "attr.weight_min");
	assert_int_equal(list(f, NULL, "attr.colour_max=3", false, got, sizeof(got)), 400);
	assert_int_equal(list(f, NULL, "attr.colour", false, got, sizeof(got)), 400);
	assert_int_equal(
	    list(f, NULL, "attr.colour=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", false, got, sizeof(got)),
	    400);
	assert_int_equal(list(f, NULL, "attr.colour=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", false, got,
			      sizeof(got)),
			 200);

	/* the type no longer offers organic as a filter: the next image says so
	 * without the products being written again */
	char uri[80];
	snprintf(uri, sizeof(uri), "/api/v1/product-types/%s", tid);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	char etag[40];
	snprintf(etag, sizeof(etag), "\"%lld\"",
		 (long long)json_integer_value(json_object_get(f->body, "version")));
	snprintf(doc, sizeof(doc), TYPE_DOC, "false");
	assert_int_equal(call(f, "PATCH", uri, AUTH, etag, doc), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(list(f, NULL, "attr.organic=true", false, got, sizeof(got)), 400);
	assert_int_equal(list(f, NULL, "attr.colour=red&limit=100", false, got, sizeof(got)), 200);
	sorted(got);
	assert_string_equal(got, "P00,P03,P06,P09,P12");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catalog_attrs_record_round_trip),
	    cmocka_unit_test(test_catalog_attrs_damaged_section_refused),
	    cmocka_unit_test_setup_teardown(test_catalog_attrs_list_filters, api_fix_setup,
					    api_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
