/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "domain/catalog/render.h"
#include "common/problem.h"
#include "domain/catalog/product.h"
#include "model/model.h"

static const char *valid_doc =
	"{\"sku\":\"85123A\",\"seller\":\"s1\",\"category\":\"home\","
	"\"title\":{\"en\":\"White hanging heart\"},\"price\":{\"GBP\":255,\"EUR\":299},"
	"\"stock\":12}";

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	assert_non_null(j);
	return j;
}

/* validate s; returns the problem's first field or NULL on success */
static int validate(const char *s, bool partial, json_t **out, problem_t *p)
{
	json_t *in = parse(s);
	problem_init(p);
	int rc = product_validate(in, partial, out, p);
	json_decref(in);
	return rc;
}

static bool has_field(const problem_t *p, const char *field)
{
	for (size_t i = 0; i < p->nerrors; i++)
		if (strcmp(p->errors[i].field, field) == 0)
			return true;
	return false;
}

static void test_product_accepts_valid_and_applies_defaults(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate(valid_doc, false, &out, &p), 0);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "published");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "price"), "GBP")),
			 255);
	/* canonical key order */
	char *s = json_dumps(out, JSON_COMPACT);
	assert_non_null(strstr(s, "{\"sku\":\"85123A\",\"status\":\"published\",\"seller\""));
	free(s);
	json_decref(out);
	/* the former name of the published status is taken as it */
	json_error_t je;
	json_t *in = json_loads("{\"sku\":\"X\",\"status\":\"active\",\"seller\":\"s\","
				"\"category\":\"c\",\"title\":{\"en\":\"t\"},\"price\":{\"GBP\":1}}",
				0, &je);
	assert_int_equal(product_validate(in, false, &out, &p), 0);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "published");
	json_decref(in);
	json_decref(out);
}

static void test_product_rejects_decimal_price(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate("{\"sku\":\"A\",\"seller\":\"s\",\"category\":\"c\","
				  "\"title\":{\"en\":\"t\"},\"price\":{\"GBP\":1.5}}",
				  false, &out, &p),
			 SOUK_EINVAL);
	assert_null(out);
	assert_int_equal(p.status, 422);
	assert_string_equal(p.slug, PROBLEM_VALIDATION);
	assert_true(has_field(&p, "price/GBP"));
}

static void test_product_rejects_unknown_currency_and_negative(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate("{\"sku\":\"A\",\"seller\":\"s\",\"category\":\"c\","
				  "\"title\":{\"en\":\"t\"},\"price\":{\"XYZ\":1,\"USD\":-1},"
				  "\"stock\":-3}",
				  false, &out, &p),
			 SOUK_EINVAL);
	assert_true(has_field(&p, "price/XYZ"));
	assert_true(has_field(&p, "price/USD"));
	assert_true(has_field(&p, "stock"));
}

static void test_product_prices_only_in_current_currencies(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate("{\"sku\":\"A\",\"seller\":\"s\",\"category\":\"c\","
				  "\"title\":{\"en\":\"t\"},\"price\":{\"ZWG\":100,\"IQD\":2500}}",
				  false, &out, &p),
			 0);
	json_decref(out);
	out = NULL;
	assert_int_equal(validate("{\"sku\":\"A\",\"seller\":\"s\",\"category\":\"c\","
				  "\"title\":{\"en\":\"t\"},\"price\":{\"ZWL\":1,\"HRK\":1,"
				  "\"eur\":1,\"XAU\":1}}",
				  false, &out, &p),
			 SOUK_EINVAL);
	assert_true(has_field(&p, "price/ZWL"));
	assert_true(has_field(&p, "price/HRK"));
	assert_true(has_field(&p, "price/eur"));
	assert_true(has_field(&p, "price/XAU"));
}

static void test_product_reports_every_missing_field(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate("{}", false, &out, &p), SOUK_EINVAL);
	assert_true(has_field(&p, "sku"));
	assert_false(has_field(&p, "seller")); /* the house seller by default */
	assert_true(has_field(&p, "category"));
	assert_true(has_field(&p, "title"));
	assert_true(has_field(&p, "price"));
	assert_false(has_field(&p, "stock"));
}

static void test_product_rejects_unknown_and_readonly_fields(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate("{\"colour\":\"red\",\"version\":3}", true, &out, &p),
			 SOUK_EINVAL);
	assert_true(has_field(&p, "colour"));
	assert_true(has_field(&p, "version"));
}

static void test_product_nfc_normalises_title(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	/* "e" + combining acute -> U+00E9 */
	assert_int_equal(validate("{\"title\":{\"fr\":\"Cafe\\u0301\"}}", true, &out, &p), 0);
	const char *t = json_string_value(json_object_get(json_object_get(out, "title"), "fr"));
	assert_string_equal(t, "Caf\xc3\xa9");
	json_decref(out);
}

static void test_product_canonicalises_locale_case(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate("{\"title\":{\"EN-gb\":\"x\",\"zh-hant\":\"y\"}}", true, &out, &p),
			 0);
	assert_non_null(json_object_get(json_object_get(out, "title"), "en-GB"));
	assert_non_null(json_object_get(json_object_get(out, "title"), "zh-Hant"));
	json_decref(out);
	assert_int_equal(validate("{\"title\":{\"english\":\"x\"}}", true, &out, &p), SOUK_EINVAL);
	assert_true(has_field(&p, "title/english"));
}

static void test_product_rejects_control_chars_and_long_title(void **state)
{
	json_t *out = NULL;
	problem_t p;
	char buf[1024];
	(void)state;
	assert_int_equal(validate("{\"title\":{\"en\":\"a\\u0007b\"}}", true, &out, &p),
			 SOUK_EINVAL);
	assert_true(has_field(&p, "title/en"));
	strcpy(buf, "{\"title\":{\"en\":\"");
	for (int i = 0; i < 201; i++)
		strcat(buf, "x");
	strcat(buf, "\"}}");
	assert_int_equal(validate(buf, true, &out, &p), SOUK_EINVAL);
	/* description may hold newlines and tabs, a title neither */
	assert_int_equal(validate("{\"description\":{\"en\":\"line1\\nline2\\tx\"}}", true, &out,
				  &p),
			 0);
	json_decref(out);
	assert_int_equal(validate("{\"title\":{\"en\":\"a\\tb\"}}", true, &out, &p), SOUK_EINVAL);
	/* DEL, and C1 controls beyond ASCII, in text that is otherwise ASCII or not */
	assert_int_equal(validate("{\"title\":{\"en\":\"a\\u007fb\"}}", true, &out, &p),
			 SOUK_EINVAL);
	assert_int_equal(validate("{\"title\":{\"en\":\"caf\u00e9\\u0085\"}}", true, &out, &p),
			 SOUK_EINVAL);
	assert_true(has_field(&p, "title/en"));
	/* the limit counts characters, not bytes: 200 two-byte characters fit */
	strcpy(buf, "{\"title\":{\"en\":\"");
	for (int i = 0; i < 200; i++)
		strcat(buf, "\u00e9");
	strcat(buf, "\"}}");
	assert_int_equal(validate(buf, true, &out, &p), 0);
	json_decref(out);
	assert_int_equal(validate("{\"title\":{\"en\":\"\"}}", false, &out, &p), SOUK_EINVAL);
	assert_true(has_field(&p, "title/en"));
}

static void test_product_bounds_attributes(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	assert_int_equal(validate("{\"attributes\":{\"colour\":\"red\",\"sizes\":[\"S\",\"M\"],"
				  "\"weight_kg\":1.5,\"fragile\":true}}",
				  true, &out, &p),
			 0);
	json_decref(out);
	assert_int_equal(validate("{\"attributes\":{\"nested\":{\"a\":1}}}", true, &out, &p),
			 SOUK_EINVAL);
	assert_true(has_field(&p, "attributes/nested"));
	json_t *many = json_object(), *doc = json_object();
	for (int i = 0; i < PRODUCT_ATTRS_MAX + 1; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		json_object_set_new(many, k, json_integer(i));
	}
	json_object_set_new(doc, "attributes", many);
	problem_init(&p);
	assert_int_equal(product_validate(doc, true, &out, &p), SOUK_EINVAL);
	json_decref(doc);
}

/* A valid document with title locales [0, n) and description locales
 * [first, first + m) of desc_cp two-byte characters each (locale 0 is "en"). */
static json_t *locale_doc(int n, int first, int m, size_t desc_cp)
{
	json_t *doc = parse(valid_doc), *t = json_object(), *d = json_object();
	char *text = malloc(desc_cp * 2 + 1);
	assert_non_null(text);
	for (size_t i = 0; i < desc_cp; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2); /* U+00E9, NFC */
	text[desc_cp * 2] = '\0';
	for (int i = 0; i < n || i < first + m; i++) {
		char tag[8];
		snprintf(tag, sizeof(tag), "%c%c", 'a' + i / 26, 'a' + i % 26);
		if (i == 0)
			snprintf(tag, sizeof(tag), "en");
		if (i < n)
			json_object_set_new(t, tag, json_string("Title"));
		if (i >= first && i < first + m)
			json_object_set_new(d, tag, json_string(text));
	}
	json_object_set_new(doc, "title", t);
	json_object_set_new(doc, "description", d);
	free(text);
	return doc;
}

static void test_product_holds_the_document_limit(void **state)
{
	json_t *out = NULL;
	problem_t p;
	(void)state;
	/* attributes within their own bounds but past the document limit */
	json_t *doc = parse(valid_doc), *attrs = json_object();
	char *big = malloc(PRODUCT_ATTR_STRING_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', PRODUCT_ATTR_STRING_MAX);
	big[PRODUCT_ATTR_STRING_MAX] = '\0';
	for (int i = 0; i < PRODUCT_ATTRS_MAX; i++) {
		json_t *arr = json_array();
		for (int k = 0; k < PRODUCT_ATTR_ARRAY_MAX; k++)
			json_array_append_new(arr, json_string(big));
		char key[16];
		snprintf(key, sizeof(key), "a%d", i);
		json_object_set_new(attrs, key, arr);
	}
	free(big);
	json_object_set_new(doc, "attributes", attrs);
	problem_init(&p);
	assert_int_equal(product_validate(doc, false, &out, &p), SOUK_EINVAL);
	assert_true(has_field(&p, "attributes"));
	assert_non_null(strstr(p.errors[0].detail, "(at most 1048576)"));
	json_decref(doc);

	/* 32 title and 32 description locales, all different: 65 renderings */
	doc = locale_doc(32, 32, 32, 10);
	problem_init(&p);
	assert_int_equal(product_validate(doc, false, &out, &p), SOUK_EINVAL);
	assert_true(has_field(&p, "description"));
	json_decref(doc);

	/* 63 locales of long descriptions: each rendering carries all of them */
	doc = locale_doc(32, 31, 32, PRODUCT_DESCRIPTION_MAX);
	problem_init(&p);
	assert_int_equal(product_validate(doc, false, &out, &p), SOUK_EINVAL);
	assert_true(has_field(&p, "description"));
	assert_non_null(strstr(p.errors[0].detail, "locales"));
	json_decref(doc);
}

/* What validation accepts at the edge of the limit renders (domain/catalog/render.c). */
static void test_product_accepted_documents_render(void **state)
{
	(void)state;
	size_t sizes[] = {10, 3000};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		json_t *doc = locale_doc(32, 31, 32, sizes[k]), *out = NULL;
		problem_t p;
		problem_init(&p);
		assert_int_equal(product_validate(doc, false, &out, &p), 0);
		char *s = json_dumps(out, JSON_COMPACT);
		store_rec_t rec = {.version = 1, .seq = 1, .doc = s, .doc_len = strlen(s)};
		render_product_t *r = NULL;
		assert_int_equal(render_product(&rec, "zz", &r), 0);
		assert_int_equal(r->cp.nloc, 64); /* 63 and the default locale */
		render_product_free(&r);
		free(s);
		json_decref(out);
		json_decref(doc);
	}
}

static void test_product_names_are_restricted(void **state)
{
	(void)state;
	assert_true(product_name_valid("85123A", 6, 64));
	assert_false(product_name_valid("a b", 3, 64));
	assert_false(product_name_valid("a/b", 3, 64));
	assert_false(product_name_valid("", 0, 64));
}

static void test_model_parse_body_limits_depth_and_utf8(void **state)
{
	json_t *j = NULL;
	problem_t p;
	char deep[200];
	(void)state;
	problem_init(&p);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(model_parse_body(deep, sizeof(deep), 32, &j, &p), SOUK_EINVAL);
	assert_int_equal(p.status, 400);
	problem_init(&p);
	assert_int_equal(model_parse_body("{\"a\":\"\xff\"}", 8, 32, &j, &p), SOUK_EINVAL);
	assert_string_equal(p.slug, PROBLEM_INVALID_UTF8);
	problem_init(&p);
	assert_int_equal(model_parse_body("{\"a\":1,\"a\":2}", 13, 32, &j, &p), SOUK_EINVAL);
	assert_string_equal(p.slug, PROBLEM_MALFORMED);
	problem_init(&p);
	assert_int_equal(model_parse_body("42", 2, 32, &j, &p), SOUK_EINVAL);
	problem_init(&p);
	assert_int_equal(model_parse_body("{\"s\":\"[[[[\"}", 12, 2, &j, &p), 0);
	json_decref(j);
}

static void test_model_merge_patch_follows_rfc7396(void **state)
{
	json_t *t = parse("{\"a\":1,\"b\":{\"x\":1,\"y\":2},\"c\":3}");
	json_t *patch = parse("{\"a\":null,\"b\":{\"x\":null,\"z\":3},\"d\":[1]}");
	(void)state;
	json_t *m = model_merge_patch(t, patch);
	char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"b\":{\"y\":2,\"z\":3},\"c\":3,\"d\":[1]}");
	free(s);
	json_decref(m);
	json_decref(t);
	json_decref(patch);
}

static void test_problem_render_has_type_and_errors(void **state)
{
	problem_t p;
	(void)state;
	problem_init(&p);
	problem_field(&p, "price/GBP", "must be an integer");
	char *s = problem_render(&p, "/api/v1/products");
	json_t *j = parse(s);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "https://souk.dev/problems/validation");
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 422);
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "field")), "price/GBP");
	json_decref(j);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_product_accepts_valid_and_applies_defaults),
		cmocka_unit_test(test_product_rejects_decimal_price),
		cmocka_unit_test(test_product_rejects_unknown_currency_and_negative),
		cmocka_unit_test(test_product_prices_only_in_current_currencies),
		cmocka_unit_test(test_product_reports_every_missing_field),
		cmocka_unit_test(test_product_rejects_unknown_and_readonly_fields),
		cmocka_unit_test(test_product_nfc_normalises_title),
		cmocka_unit_test(test_product_canonicalises_locale_case),
		cmocka_unit_test(test_product_rejects_control_chars_and_long_title),
		cmocka_unit_test(test_product_bounds_attributes),
		cmocka_unit_test(test_product_names_are_restricted),
		cmocka_unit_test(test_model_parse_body_limits_depth_and_utf8),
		cmocka_unit_test(test_model_merge_patch_follows_rfc7396),
		cmocka_unit_test(test_product_holds_the_document_limit),
		cmocka_unit_test(test_product_accepted_documents_render),
		cmocka_unit_test(test_problem_render_has_type_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
