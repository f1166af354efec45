/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collections for shoppers, against the real store, publisher and image:
 * a collection by code in two channels and locales, its products page by
 * page (rule collections in id order, manual ones as listed, each product
 * rendered and priced as the product list does, only what the channel
 * serves), the product list's ?collection= filter with its cursors, and a
 * product write moving a product out of a rule collection in the next
 * image.
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

static const char *str(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s ? s : "";
}

static void post(fix_t *f, const char *path, const char *doc, char *id_out)
{
	if (call(f, "POST", path, AUTH, NULL, doc) != 201)
		fail_msg("%s %s: %d", path, doc, f->resp.status);
	if (id_out)
		snprintf(id_out, 33, "%s", str(f->body, "id"));
}

static int get(fix_t *f, const char *chan, const char *uri, const char *al)
{
	api_req_t rq = {.method = "GET", .uri = uri, .channel = chan, .accept_language = al};
	return call_req(f, &rq);
}

/* Every page of uri (a "?"-query of its own, or none) with limit 2: the
 * items as "SKU=amount" (amount -1 without pricing), comma-separated; ids
 * of the items into ids (33 bytes each) when given. */
static int walk(fix_t *f, const char *chan, const char *uri, char *out, size_t cap, char (*ids)[33])
{
	char u[512], cursor[400] = "";
	size_t o = 0;
	int count = 0;
	out[0] = '\0';
	for (int page = 0; page < 20; page++) {
		snprintf(u, sizeof(u), "%s%slimit=2%s%s", uri, strchr(uri, '?') ? "&" : "?",
			 cursor[0] ? "&cursor=" : "", cursor);
		assert_int_equal(get(f, chan, u, NULL), 200);
		size_t i;
		json_t *it;
		assert_true(json_array_size(json_object_get(f->body, "items")) <= 2);
		json_array_foreach(json_object_get(f->body, "items"), i, it)
		{
			json_t *pr = json_object_get(it, "pricing");
			o += (size_t)snprintf(
			    out + o, cap - o, "%s%s=%lld", o ? "," : "", str(it, "sku"),
			    json_is_object(pr)
				? (long long)json_integer_value(json_object_get(pr, "amount"))
				: -1LL);
			if (ids)
				snprintf(ids[count], 33, "%s", str(it, "id"));
			count++;
		}
		const char *next = json_string_value(json_object_get(f->body, "next_cursor"));
		if (!next)
			return count;
		snprintf(cursor, sizeof(cursor), "%s", next);
	}
	fail_msg("more than 20 pages");
	return -1;
}

static void setup_mall(fix_t *f, char (*pid)[33])
{
	post(f, "/api/v1/channels",
	     "{\"code\":\"uk\",\"name\":\"UK\",\"currencies\":{\"default\":\"GBP\",\"allowed\":"
	     "[\"GBP\"]},\"locales\":{\"default\":\"en\"}}",
	     NULL);
	post(f, "/api/v1/channels",
	     "{\"code\":\"eu\",\"name\":\"EU\",\"currencies\":{\"default\":\"EUR\",\"allowed\":"
	     "[\"EUR\"]},\"locales\":{\"default\":\"de\",\"fallback\":[\"fr\"]}}",
	     NULL);
	post(f, "/api/v1/categories", "{\"code\":\"home\",\"name\":{\"en\":\"Home\"}}", NULL);
	post(f, "/api/v1/categories",
	     "{\"code\":\"kitchen\",\"name\":{\"en\":\"Kitchen\"},\"parent\":\"home\"}", NULL);
	post(f, "/api/v1/categories", "{\"code\":\"garden\",\"name\":{\"en\":\"Garden\"}}", NULL);
	for (int i = 1; i <= 5; i++) {
		char doc[512];
		snprintf(doc, sizeof(doc),
			 "{\"sku\":\"P%d\",\"category\":\"%s\",\"title\":{\"en\":\"Pot %d\",\"de\":"
			 "\"Topf %d\"},\"price\":{\"GBP\":%d,\"EUR\":%d}%s}",
			 i, i == 4 ? "home" : "kitchen", i, i, 100 * i, 120 * i,
			 i == 5 ? ",\"channels\":{\"uk\":{}}" : "");
		post(f, "/api/v1/products", doc, pid[i]);
	}
	/* a draft in the kitchen, and a product elsewhere */
	post(f, "/api/v1/products",
	     "{\"sku\":\"P6\",\"status\":\"draft\",\"category\":\"kitchen\",\"title\":{\"en\":"
	     "\"Draft\"},"
	     "\"price\":{\"GBP\":1}}",
	     pid[6]);
	post(f, "/api/v1/products",
	     "{\"sku\":\"P7\",\"category\":\"garden\",\"title\":{\"en\":\"Spade\"},\"price\":{"
	     "\"GBP\":7}}",
	     pid[7]);
	post(f, "/api/v1/collections",
	     "{\"code\":\"home-all\",\"name\":{\"en\":\"All of home\",\"de\":\"Alles f\\u00fcr "
	     "zuhause\"},\"kind\":\"rule\",\"rule\":{\"category\":\"home\"}}",
	     NULL);
	char doc[512];
	snprintf(doc, sizeof(doc),
		 "{\"code\":\"picks\",\"name\":{\"en\":\"Picks\",\"fr\":\"S\\u00e9lection\"},"
		 "\"kind\":\"manual\",\"products\":[\"%s\",\"%s\",\"%s\",\"%s\"]}",
		 pid[3], pid[7], pid[6], pid[1]);
	post(f, "/api/v1/collections", doc, NULL);
	post(f, "/api/v1/collections",
	     "{\"code\":\"hidden\",\"name\":{\"en\":\"Hidden\"},\"status\":\"draft\",\"kind\":"
	     "\"rule\","
	     "\"rule\":{\"category\":\"home\"}}",
	     NULL);
	assert_int_equal(publisher_catch_up(f->p), 0);
}

static void test_collection_read_by_code_in_channels_and_locales(void **state)
{
	fix_t *f = *state;
	char pid[8][33];
	setup_mall(f, pid);
	assert_int_equal(get(f, "uk", "/api/v1/collections/by-code/picks", NULL), 200);
	assert_string_equal(str(f->body, "name"), "Picks");
	assert_string_equal(str(f->body, "locale"), "en");
	assert_string_equal(str(f->body, "kind"), "manual");
	assert_string_equal(str(f->body, "dir"), "ltr");
	/* a public read: its tag answers 304 next time */
	assert_non_null(f->resp.etag);
	char tag[64];
	snprintf(tag, sizeof(tag), "%s", f->resp.etag);
	api_req_t again = {.method = "GET",
			   .uri = "/api/v1/collections/by-code/picks",
			   .channel = "uk",
			   .if_none_match = tag};
	assert_int_equal(call_req(f, &again), 304);
	/* the EU channel: German first, then its French fallback */
	assert_int_equal(get(f, "eu", "/api/v1/collections/by-code/home-all", NULL), 200);
	assert_string_equal(str(f->body, "name"), "Alles f\u00fcr zuhause");
	assert_string_equal(str(f->body, "locale"), "de");
	assert_string_equal(str(f->body, "kind"), "rule");
	assert_int_equal(get(f, "eu", "/api/v1/collections/by-code/picks", NULL), 200);
	assert_string_equal(str(f->body, "name"), "S\u00e9lection");
	assert_string_equal(str(f->body, "locale"), "fr");
	assert_string_equal(str(json_object_get(f->body, "names"), "en"), "Picks");
	assert_int_equal(get(f, "eu", "/api/v1/collections/by-code/picks", "fr"), 200);
	assert_string_equal(str(f->body, "locale"), "fr");
	/* a draft collection and an unknown code are not there */
	assert_int_equal(get(f, "uk", "/api/v1/collections/by-code/hidden", NULL), 404);
	assert_int_equal(get(f, "uk", "/api/v1/collections/by-code/hidden/products", NULL), 404);
	assert_int_equal(get(f, "uk", "/api/v1/collections/by-code/nope", NULL), 404);
	/* the staff routes keep /collections/{id} */
	assert_int_equal(call(f, "GET", "/api/v1/collections", AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 3);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_collection_products_pages(void **state)
{
	fix_t *f = *state;
	char pid[8][33], got[512], ids[16][33], sorted[16][33];
	setup_mall(f, pid);
	/* a rule collection, bigger than a page: every product of home and
	 * its kitchen the channel serves, in id order, each once, priced in
	 * the channel's currency (the draft left out) */
	int n =
	    walk(f, "uk", "/api/v1/collections/by-code/home-all/products", got, sizeof(got), ids);
	assert_int_equal(n, 5);
	memcpy(sorted, ids, sizeof(ids));
	qsort(sorted, (size_t)n, 33, id_cmp);
	assert_memory_equal(sorted, ids, (size_t)n * 33);
	for (int i = 1; i <= 5; i++) {
		char want[16];
		snprintf(want, sizeof(want), "P%d=%d", i, 100 * i);
		assert_non_null(strstr(got, want));
	}
	assert_null(strstr(got, "P6"));
	/* the EU channel does not list P5; prices in euros; German titles */
	n = walk(f, "eu", "/api/v1/collections/by-code/home-all/products", got, sizeof(got), NULL);
	assert_int_equal(n, 4);
	assert_null(strstr(got, "P5"));
	assert_non_null(strstr(got, "P2=240"));
	assert_int_equal(
	    get(f, "eu", "/api/v1/collections/by-code/home-all/products?limit=1", NULL), 200);
	json_t *it = json_array_get(json_object_get(f->body, "items"), 0);
	assert_string_equal(str(it, "locale"), "de");
	assert_non_null(strstr(str(it, "title"), "Topf"));
	assert_true(json_is_boolean(json_object_get(it, "purchasable")));
	assert_string_equal(str(f->body, "collection"), "home-all");
	/* a manual collection: as listed, the draft skipped */
	walk(f, "uk", "/api/v1/collections/by-code/picks/products", got, sizeof(got), NULL);
	assert_string_equal(got, "P3=300,P7=7,P1=100");
	walk(f, "uk", "/api/v1/collections/by-code/picks/products?price_max=200", got, sizeof(got),
	     NULL);
	assert_string_equal(got, "P7=7,P1=100");
	/* a collection with no member the channel serves: an empty page */
	post(f, "/api/v1/collections",
	     "{\"code\":\"none\",\"name\":{\"en\":\"None\"},\"kind\":\"rule\",\"rule\":"
	     "{\"category\":\"garden\",\"descendants\":false,\"attributes\":{\"x\":1}}}",
	     NULL);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(walk(f, "uk", "/api/v1/collections/by-code/none/products", got, sizeof(got),
			      NULL),
			 0);
	/* a cursor that is not one */
	assert_int_equal(get(f, "uk", "/api/v1/collections/by-code/picks/products?cursor=x", NULL),
			 400);

	/* a product leaves the home: the next image's collection lacks it */
	char uri[96];
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", pid[2]);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"category\":\"garden\"}"), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	n = walk(f, "uk", "/api/v1/collections/by-code/home-all/products", got, sizeof(got), NULL);
	assert_int_equal(n, 4);
	assert_null(strstr(got, "P2"));

	/* a write that moves nothing (a new title; the next image copies the
	 * collections), then a new base: the same members, the new title */
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", pid[3]);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"title\":{\"en\":\"Big pot\"}}"),
			 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	walk(f, "uk", "/api/v1/collections/by-code/picks/products", got, sizeof(got), NULL);
	assert_string_equal(got, "P3=300,P7=7,P1=100");
	assert_int_equal(get(f, "uk", "/api/v1/collections/by-code/picks/products?limit=1", NULL),
			 200);
	assert_string_equal(str(json_array_get(json_object_get(f->body, "items"), 0), "title"),
			    "Big pot");
	assert_int_equal(publisher_rebuild_base(f->p), 0);
	for (int i = 0; i < 1000 && publisher_rebuilding(f->p); i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	assert_false(publisher_rebuilding(f->p));
	n = walk(f, "uk", "/api/v1/collections/by-code/home-all/products", got, sizeof(got), NULL);
	assert_int_equal(n, 4);
	walk(f, "uk", "/api/v1/collections/by-code/picks/products", got, sizeof(got), NULL);
	assert_string_equal(got, "P3=300,P7=7,P1=100");

	/* soukd starts again: the rule collections are evaluated at load */
	publisher_free(&f->p);
	publisher_opts_t po = {0};
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &po, &f->p), 0);
	n = walk(f, "uk", "/api/v1/collections/by-code/home-all/products", got, sizeof(got), NULL);
	assert_int_equal(n, 4);
	assert_null(strstr(got, "P2"));
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", pid[2]);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"2\"", "{\"category\":\"kitchen\"}"), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	n = walk(f, "uk", "/api/v1/collections/by-code/home-all/products", got, sizeof(got), NULL);
	assert_int_equal(n, 5);

	/* kept out of the channel's lists: out of the collection's page too,
	 * still read by id */
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", pid[1]);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"",
			      "{\"channels\":{\"uk\":{\"published\":true,\"listed\":false}}}"),
			 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	walk(f, "uk", "/api/v1/collections/by-code/picks/products", got, sizeof(got), NULL);
	assert_string_equal(got, "P3=300,P7=7");
	assert_int_equal(get(f, "uk", uri, NULL), 200);
}

static void test_collection_filter_of_the_product_list(void **state)
{
	fix_t *f = *state;
	char pid[8][33], got[512];
	setup_mall(f, pid);
	/* the list's order (category, id), only the members */
	int n = walk(f, "uk", "/api/v1/products?collection=picks", got, sizeof(got), NULL);
	assert_int_equal(n, 3);
	assert_non_null(strstr(got, "P7=7"));
	assert_non_null(strstr(got, "P1=100"));
	assert_non_null(strstr(got, "P3=300"));
	assert_int_equal(strncmp(got, "P7=7,", 5), 0); /* garden before kitchen */
	/* with the other filters */
	walk(f, "uk", "/api/v1/products?collection=picks&category=home", got, sizeof(got), NULL);
	assert_null(strstr(got, "P7"));
	walk(f, "uk", "/api/v1/products?collection=home-all&price_min=300", got, sizeof(got), NULL);
	assert_int_equal(strlen(got), strlen("P3=300,P4=400,P5=500"));
	n = walk(f, "eu", "/api/v1/products?collection=home-all", got, sizeof(got), NULL);
	assert_int_equal(n, 4);
	/* a collection the image does not serve lists nothing; a bad code is 400 */
	assert_int_equal(get(f, "uk", "/api/v1/products?collection=hidden", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 0);
	assert_true(json_is_null(json_object_get(f->body, "next_cursor")));
	assert_int_equal(get(f, "uk", "/api/v1/products?collection=no%20way", NULL), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_collection_read_by_code_in_channels_and_locales,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_collection_products_pages, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_collection_filter_of_the_product_list,
					    api_fix_setup, api_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
