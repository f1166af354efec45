/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The category tree in reads: breadcrumbs from the root in the request's
 * locale, a category's list holding its descendants' products (cursor
 * pages over several categories, each product once), and a moved subtree
 * showing in the next image, against the real store, publisher and image.
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

static void post(fix_t *f, const char *path, const char *doc, char *id_out)
{
	if (call(f, "POST", path, AUTH, NULL, doc) != 201)
		fail_msg("%s %s: %d", path, doc, f->resp.status);
	if (id_out)
		snprintf(id_out, 33, "%s", str(f, "id"));
}

static void product(fix_t *f, const char *sku, const char *cat, char *id)
{
	char doc[256];
	snprintf(doc, sizeof(doc),
		 "{\"sku\":\"%s\",\"category\":\"%s\",\"title\":{\"en\":\"%s\"},\"price\":{\"GBP\":100}}",
		 sku, cat, sku);
	post(f, "/api/v1/products", doc, id);
}

/* "code>code>..." and "name>name>..." of a product read's breadcrumbs */
static void crumbs(fix_t *f, const char *id, const char *al, char *codes, char *names)
{
	char uri[96];
	size_t i, nc = 0, nn = 0;
	json_t *b;
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", id);
	api_req_t rq = {.method = "GET", .uri = uri, .accept_language = al};
	assert_int_equal(call_req(f, &rq), 200);
	codes[0] = names[0] = '\0';
	json_array_foreach(json_object_get(f->body, "breadcrumbs"), i, b)
	{
		nc += (size_t)sprintf(codes + nc, "%s%s", i ? ">" : "",
				      json_string_value(json_object_get(b, "code")));
		nn += (size_t)sprintf(names + nn, "%s%s", i ? ">" : "",
				      json_string_value(json_object_get(b, "name")));
	}
}

/* every sku of ?category=cat, page by page of one, comma-separated */
static void walk(fix_t *f, const char *cat, char *out)
{
	char uri[512], cursor[400] = "";
	size_t n = 0;
	out[0] = '\0';
	for (int page = 0; page < 20; page++) {
		snprintf(uri, sizeof(uri), "/api/v1/products?category=%s&limit=1%s%s", cat,
			 cursor[0] ? "&cursor=" : "", cursor);
		assert_int_equal(call(f, "GET", uri, NULL, NULL, NULL), 200);
		json_t *it = json_array_get(json_object_get(f->body, "items"), 0);
		if (it)
			n += (size_t)sprintf(out + n, "%s%s", n ? "," : "",
					     json_string_value(json_object_get(it, "sku")));
		const char *next = json_string_value(json_object_get(f->body, "next_cursor"));
		if (!next)
			return;
		snprintf(cursor, sizeof(cursor), "%s", next);
	}
	fail_msg("more than 20 pages");
}

static void test_category_tree_in_reads(void **state)
{
	fix_t *f = *state;
	char kitchen[33], cup[33], codes[256], names[256], skus[256], uri[96], patch[64];
	post(f, "/api/v1/categories",
	     "{\"code\":\"home\",\"name\":{\"en\":\"Home\",\"de\":\"Zuhause\"}}", NULL);
	post(f, "/api/v1/categories",
	     "{\"code\":\"kitchen\",\"name\":{\"en\":\"Kitchen\",\"de\":\"K\\u00fcche\"},"
	     "\"parent\":\"home\"}",
	     kitchen);
	post(f, "/api/v1/categories",
	     "{\"code\":\"cups\",\"name\":{\"en\":\"Cups\"},\"parent\":\"kitchen\"}", NULL);
	post(f, "/api/v1/categories", "{\"code\":\"garden\",\"name\":{\"en\":\"Garden\"}}", NULL);
	product(f, "CUP-1", "cups", cup);
	product(f, "POT-1", "kitchen", NULL);
	product(f, "RUG-1", "home", NULL);
	product(f, "SPADE-1", "garden", NULL);
	product(f, "LOOSE-1", "nowhere", NULL); /* a category that is not in the tree */
	assert_int_equal(publisher_catch_up(f->p), 0);

	crumbs(f, cup, NULL, codes, names);
	assert_string_equal(codes, "home>kitchen>cups");
	assert_string_equal(names, "Home>Kitchen>Cups");
	crumbs(f, cup, "de", codes, names);
	assert_string_equal(names, "Zuhause>K\u00fcche>Cups"); /* no German name: the first */

	/* a category lists its descendants' products, page by page, each once */
	walk(f, "home", skus);
	assert_string_equal(skus, "CUP-1,RUG-1,POT-1");
	walk(f, "kitchen", skus);
	assert_string_equal(skus, "CUP-1,POT-1");
	walk(f, "nowhere", skus);
	assert_string_equal(skus, "LOOSE-1");

	/* the kitchen moves under the garden: the next image shows it */
	snprintf(uri, sizeof(uri), "/api/v1/categories/%s", kitchen);
	snprintf(patch, sizeof(patch), "{\"parent\":\"garden\"}");
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", patch), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	crumbs(f, cup, NULL, codes, names);
	assert_string_equal(codes, "garden>kitchen>cups");
	walk(f, "home", skus);
	assert_string_equal(skus, "RUG-1");
	walk(f, "garden", skus);
	assert_string_equal(skus, "CUP-1,SPADE-1,POT-1");

	/* a category whose parent is not live (written past the API's checks,
	 * as an old import could) shows as a root; the tree goes on */
	const char *doc = "{\"code\":\"lost\",\"name\":{\"en\":\"Lost\"},\"parent\":\"gone\","
			  "\"rank\":0,\"status\":\"active\"}";
	char key[32];
	int kn = snprintf(key, sizeof(key), "code%clost", 0);
	const char *keys[] = {key};
	size_t lens[] = {(size_t)kn};
	store_mut_t m = {.op = STORE_OP_CREATE, .kind = "category", .doc = doc, .doc_len = strlen(doc),
			 .keys = keys, .key_lens = lens, .nkeys = 1, .actor = "test"};
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	char lost[33];
	product(f, "MAP-1", "lost", lost);
	assert_int_equal(publisher_catch_up(f->p), 0);
	crumbs(f, lost, NULL, codes, names);
	assert_string_equal(codes, "lost");
	crumbs(f, cup, NULL, codes, names);
	assert_string_equal(codes, "garden>kitchen>cups");
}

static bool has_error(fix_t *f, const char *field)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(f->body, "errors"), i, e)
	{
		const char *x = json_string_value(json_object_get(e, "field"));
		if (x && strcmp(x, field) == 0)
			return true;
	}
	return false;
}

static void test_references_are_checked_in_the_write(void **state)
{
	fix_t *f = *state;
	char home[33], cups[33], uri[96], patch[64], pid[33];
	post(f, "/api/v1/categories", "{\"code\":\"home\",\"name\":{\"en\":\"Home\"}}", home);
	post(f, "/api/v1/categories",
	     "{\"code\":\"kitchen\",\"name\":{\"en\":\"Kitchen\"},\"parent\":\"home\"}", NULL);
	post(f, "/api/v1/categories",
	     "{\"code\":\"cups\",\"name\":{\"en\":\"Cups\"},\"parent\":\"kitchen\"}", cups);
	/* a parent that does not exist */
	assert_int_equal(call(f, "POST", "/api/v1/categories", AUTH, NULL,
			      "{\"code\":\"x\",\"name\":{\"en\":\"X\"},\"parent\":\"nope\"}"),
			 422);
	assert_true(has_error(f, "parent"));
	/* home under cups would make it its own ancestor */
	snprintf(uri, sizeof(uri), "/api/v1/categories/%s", home);
	snprintf(patch, sizeof(patch), "{\"parent\":\"cups\"}");
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", patch), 422);
	assert_true(has_error(f, "parent"));
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->body, "version")), 1);
	/* a batch runs the same checks, and nothing of it is written */
	assert_int_equal(call(f, "POST", "/api/v1/batch", AUTH, NULL,
			      "{\"operations\":[{\"op\":\"create\",\"kind\":\"category\",\"doc\":"
			      "{\"code\":\"b1\",\"name\":{\"en\":\"B1\"}}},"
			      "{\"op\":\"create\",\"kind\":\"category\",\"doc\":"
			      "{\"code\":\"b2\",\"name\":{\"en\":\"B2\"},\"parent\":\"nope\"}}]}"),
			 422);
	char *errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	assert_non_null(strstr(errs, "operation 1: parent"));
	free(errs);
	/* ... while a parent created earlier in the same batch counts */
	assert_int_equal(call(f, "POST", "/api/v1/batch", AUTH, NULL,
			      "{\"operations\":[{\"op\":\"create\",\"kind\":\"category\",\"doc\":"
			      "{\"code\":\"b1\",\"name\":{\"en\":\"B1\"}}},"
			      "{\"op\":\"create\",\"kind\":\"category\",\"doc\":"
			      "{\"code\":\"b2\",\"name\":{\"en\":\"B2\"},\"parent\":\"b1\"}}]}"),
			 200);

	/* a product's attributes against its type */
	post(f, "/api/v1/product-types",
	     "{\"code\":\"mug\",\"name\":{\"en\":\"Mug\"},\"attributes\":["
	     "{\"code\":\"capacity_ml\",\"name\":{\"en\":\"Capacity\"},\"type\":\"number\","
	     "\"unit\":\"ml\",\"required\":true},"
	     "{\"code\":\"colour\",\"name\":{\"en\":\"Colour\"},\"type\":\"enum\","
	     "\"variant\":true,\"values\":[{\"code\":\"red\",\"name\":{\"en\":\"Red\"}},"
	     "{\"code\":\"blue\",\"name\":{\"en\":\"Blue\"}}]}],\"options\":[\"colour\"]}",
	     NULL);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"M1\",\"category\":\"cups\",\"type\":\"mug\",\"title\":{\"en\":"
			      "\"Mug\"},\"price\":{\"GBP\":1},\"attributes\":{\"capacity_ml\":\"big\"}}"),
			 422);
	assert_true(has_error(f, "attributes/capacity_ml"));
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"M1\",\"category\":\"cups\",\"type\":\"tumbler\",\"title\":{\"en\":"
			      "\"Mug\"},\"price\":{\"GBP\":1}}"),
			 422);
	assert_true(has_error(f, "type"));
	post(f, "/api/v1/products",
	     "{\"sku\":\"M1\",\"category\":\"cups\",\"type\":\"mug\",\"title\":{\"en\":\"Mug\"},"
	     "\"price\":{\"GBP\":1},\"attributes\":{\"capacity_ml\":350}}",
	     pid);
	/* variants: of a live product, with option values of its type */
	char doc[256];
	snprintf(doc, sizeof(doc),
		 "{\"product\":\"%s\",\"sku\":\"M1-G\",\"options\":{\"colour\":\"green\"}}", pid);
	assert_int_equal(call(f, "POST", "/api/v1/variants", AUTH, NULL, doc), 422);
	assert_true(has_error(f, "options/colour"));
	snprintf(doc, sizeof(doc),
		 "{\"product\":\"0123456789abcdef0123456789abcdef\",\"sku\":\"M1-X\",\"options\":"
		 "{\"colour\":\"red\"}}");
	assert_int_equal(call(f, "POST", "/api/v1/variants", AUTH, NULL, doc), 422);
	assert_true(has_error(f, "product"));
	snprintf(doc, sizeof(doc),
		 "{\"product\":\"%s\",\"sku\":\"M1-R\",\"options\":{\"colour\":\"red\"}}", pid);
	assert_int_equal(call(f, "POST", "/api/v1/variants", AUTH, NULL, doc), 201);
	(void)cups;
}

/* Archiving a category that still has live subcategories is refused; once
 * they are gone (also earlier in the same batch) it goes. */
static void test_archiving_a_parent_is_refused(void **state)
{
	fix_t *f = *state;
	char home[33], kitchen[33], cups[33], uri[96], doc[512];
	post(f, "/api/v1/categories", "{\"code\":\"home\",\"name\":{\"en\":\"Home\"}}", home);
	post(f, "/api/v1/categories",
	     "{\"code\":\"kitchen\",\"name\":{\"en\":\"Kitchen\"},\"parent\":\"home\"}", kitchen);
	post(f, "/api/v1/categories",
	     "{\"code\":\"cups\",\"name\":{\"en\":\"Cups\"},\"parent\":\"kitchen\"}", cups);
	snprintf(uri, sizeof(uri), "/api/v1/categories/%s", home);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"1\"", NULL), 409);
	assert_non_null(strstr(str(f, "detail"), "'kitchen'"));
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	assert_string_equal(str(f, "status"), "active");
	/* a batch is refused whole, naming the operation */
	snprintf(doc, sizeof(doc),
		 "{\"operations\":[{\"op\":\"delete\",\"kind\":\"category\",\"id\":\"%s\"}]}",
		 kitchen);
	assert_int_equal(call(f, "POST", "/api/v1/batch", AUTH, NULL, doc), 409);
	assert_non_null(strstr(str(f, "detail"), "operation 0"));
	assert_non_null(strstr(str(f, "detail"), "'cups'"));
	/* the child first, then its parent, in one batch */
	snprintf(doc, sizeof(doc),
		 "{\"operations\":[{\"op\":\"delete\",\"kind\":\"category\",\"id\":\"%s\"},"
		 "{\"op\":\"delete\",\"kind\":\"category\",\"id\":\"%s\"}]}",
		 cups, kitchen);
	assert_int_equal(call(f, "POST", "/api/v1/batch", AUTH, NULL, doc), 200);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"1\"", NULL), 204);
	/* a leaf goes at once, and an unknown one is still a 404 */
	post(f, "/api/v1/categories", "{\"code\":\"leaf\",\"name\":{\"en\":\"Leaf\"}}", home);
	snprintf(uri, sizeof(uri), "/api/v1/categories/%s", home);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"1\"", NULL), 204);
	assert_int_equal(call(f, "DELETE", "/api/v1/categories/0123456789abcdef0123456789abcdef",
			      AUTH, "\"1\"", NULL),
			 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_category_tree_in_reads, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_references_are_checked_in_the_write, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_archiving_a_parent_is_refused, api_fix_setup,
					    api_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
