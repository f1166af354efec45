/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Variants: their own SKU, a combination of option values unique per
 * product whatever the member order (also two at once in one batch), and
 * product reads that show a product's published variants by SKU, following
 * their changes, against the real store, publisher and image.
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
#include "fcgi/api.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/api_fixture.h"

static const char *str(fix_t *f, const char *name)
{
	const char *s = json_string_value(json_object_get(f->body, name));
	return s ? s : "";
}

static void create_variant(fix_t *f, const char *pid, const char *sku, const char *options,
			   const char *extra, int want, char *id_out)
{
	char doc[512];
	snprintf(doc, sizeof(doc), "{\"product\":\"%s\",\"sku\":\"%s\",\"options\":%s%s}", pid, sku,
		 options, extra);
	if (call(f, "POST", "/api/v1/variants", AUTH, NULL, doc) != want)
		fail_msg("%s: %d, not %d", doc, f->resp.status, want);
	if (id_out)
		snprintf(id_out, 33, "%s", str(f, "id"));
}

/* "sku,sku,..." of the product's rendered variants */
static void variant_skus(fix_t *f, const char *pid, char *out, size_t cap)
{
	char uri[96];
	size_t i, n = 0;
	json_t *v;
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", pid);
	assert_int_equal(call(f, "GET", uri, NULL, NULL, NULL), 200);
	out[0] = '\0';
	json_array_foreach(json_object_get(f->body, "variants"), i, v)
	n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "",
			      json_string_value(json_object_get(v, "sku")));
}

static void test_variant_combinations_are_unique_and_rendered(void **state)
{
	fix_t *f = *state;
	char pid[33], pid2[33], red_m[33], blue_m[33], uri[96], skus[256];
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"TEE\",\"seller\":\"house\",\"category\":\"wear\","
			      "\"title\":{\"en\":\"T-shirt\"},\"price\":{\"GBP\":1000}}"),
			 201);
	snprintf(pid, sizeof(pid), "%s", str(f, "id"));
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"MUG\",\"seller\":\"house\",\"category\":\"home\","
			      "\"title\":{\"en\":\"Mug\"},\"price\":{\"GBP\":500}}"),
			 201);
	snprintf(pid2, sizeof(pid2), "%s", str(f, "id"));

	create_variant(f, pid, "TEE-RED-M", "{\"colour\":\"red\",\"size\":\"M\"}",
		       ",\"price\":{\"GBP\":1200},\"stock\":4", 201, red_m);
	/* the same values in another member order: the same combination */
	create_variant(f, pid, "TEE-RED-M2", "{\"size\":\"M\",\"colour\":\"red\"}", "", 409, NULL);
	assert_string_equal(str(f, "type"), "https://souk.dev/problems/conflict");
	/* the same SKU twice */
	create_variant(f, pid, "TEE-RED-M", "{\"colour\":\"red\",\"size\":\"L\"}", "", 409, NULL);
	/* the same combination on another product is another variant */
	create_variant(f, pid2, "MUG-RED-M", "{\"colour\":\"red\",\"size\":\"M\"}", "", 201, NULL);
	create_variant(f, pid, "TEE-BLUE-M", "{\"colour\":\"blue\",\"size\":\"M\"}", "", 201, blue_m);
	create_variant(f, pid, "TEE-ALPHA", "{\"colour\":\"green\",\"size\":\"S\"}",
		       ",\"status\":\"draft\"", 201, NULL);
	/* field errors: no options, a media URL that is not https, a bad product id */
	create_variant(f, pid, "TEE-X", "{}", ",\"media\":[{\"url\":\"http://x.example/a.png\"}]",
		       422, NULL);
	char *errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	assert_non_null(strstr(errs, "\"options\""));
	assert_non_null(strstr(errs, "\"media/0/url\""));
	free(errs);
	/* two of one combination in one batch: neither is written */
	char batch[1024];
	snprintf(batch, sizeof(batch),
		 "{\"operations\":[{\"op\":\"create\",\"kind\":\"variant\",\"doc\":{\"product\":\"%s\","
		 "\"sku\":\"TEE-W1\",\"options\":{\"colour\":\"white\",\"size\":\"M\"}}},"
		 "{\"op\":\"create\",\"kind\":\"variant\",\"doc\":{\"product\":\"%s\",\"sku\":"
		 "\"TEE-W2\",\"options\":{\"size\":\"M\",\"colour\":\"white\"}}}]}",
		 pid, pid);
	assert_int_equal(call(f, "POST", "/api/v1/batch", AUTH, NULL, batch), 409);

	assert_int_equal(publisher_catch_up(f->p), 0);
	/* published variants, by sku; the draft is not shown */
	variant_skus(f, pid, skus, sizeof(skus));
	assert_string_equal(skus, "TEE-BLUE-M,TEE-RED-M");
	json_t *red = json_array_get(json_object_get(f->body, "variants"), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(red, "price"), "GBP")),
			 1200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(red, "options"),
							      "colour")),
			    "red");
	/* archiving a variant frees its combination and takes it off the product */
	snprintf(uri, sizeof(uri), "/api/v1/variants/%s", red_m);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"1\"", NULL), 204);
	create_variant(f, pid, "TEE-RED-M3", "{\"size\":\"M\",\"colour\":\"red\"}", "", 201, NULL);
	/* a variant moved to the other product leaves this one */
	snprintf(uri, sizeof(uri), "/api/v1/variants/%s", blue_m);
	char patch[96];
	snprintf(patch, sizeof(patch), "{\"product\":\"%s\"}", pid2);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", patch), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	variant_skus(f, pid, skus, sizeof(skus));
	assert_string_equal(skus, "TEE-RED-M3");
	variant_skus(f, pid2, skus, sizeof(skus));
	assert_string_equal(skus, "MUG-RED-M,TEE-BLUE-M");
}

static void test_product_media_alt_text_per_locale(void **state)
{
	fix_t *f = *state;
	char uri[96];
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"PIC\",\"category\":\"home\",\"title\":{\"en\":\"Vase\","
			      "\"de\":\"Vase\"},\"price\":{\"GBP\":900},\"media\":[{\"url\":"
			      "\"https://img.example/vase.jpg\",\"alt\":{\"en\":\"A blue vase\","
			      "\"de\":\"Eine blaue Vase\"}}]}"),
			 201);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", str(f, "id"));
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"PIC2\",\"category\":\"home\",\"title\":{\"en\":\"x\"},"
			      "\"price\":{\"GBP\":1},\"media\":[{\"url\":\"ftp://img.example/a\"}]}"),
			 422);
	assert_int_equal(publisher_catch_up(f->p), 0);
	api_req_t rq = {.method = "GET", .uri = uri, .accept_language = "de"};
	assert_int_equal(call_req(f, &rq), 200);
	json_t *m = json_array_get(json_object_get(f->body, "media"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "url")),
			    "https://img.example/vase.jpg");
	assert_string_equal(json_string_value(json_object_get(m, "alt")), "Eine blaue Vase");
	rq.accept_language = "fr";
	assert_int_equal(call_req(f, &rq), 200);
	m = json_array_get(json_object_get(f->body, "media"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "alt")), "A blue vase");
	assert_string_equal(str(f, "dir"), "ltr");
	/* a right-to-left rendering says so */
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"AR\",\"category\":\"home\",\"title\":{\"en\":\"Lamp\","
			      "\"ar\":\"\u0645\u0635\u0628\u0627\u062d\"},\"price\":{\"GBP\":1}}"),
			 201);
	assert_int_equal(publisher_catch_up(f->p), 0);
	api_req_t ar = {.method = "GET", .uri = "/api/v1/products/by-sku/AR", .accept_language = "ar"};
	assert_int_equal(call_req(f, &ar), 200);
	assert_string_equal(str(f, "locale"), "ar");
	assert_string_equal(str(f, "dir"), "rtl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_variant_combinations_are_unique_and_rendered,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_product_media_alt_text_per_locale, api_fix_setup,
					    api_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
