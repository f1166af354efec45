/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prices served per channel from the image: the product's own price, a
 * channel's price list in its currency, quantity tiers, a sale with its
 * window and strike-through original, a customer-group list only for that
 * group, and a price change that rewrites only its channel's prices (the
 * catalog is not built again), against the real store, publisher and image.
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
#include "common/time.h"
#include "common/util.h"
#include "daemon/publisher.h"
#include "domain/pricing/history.h"
#include "domain/pricing/sections.h"
#include "fcgi/api.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/api_fixture.h"

static const char *const SETUP[][2] = {
    {"/api/v1/channels",
     "{\"code\":\"uk\",\"name\":\"UK\",\"currencies\":{\"default\":\"GBP\",\"allowed\":[\"GBP\"]},"
     "\"locales\":{\"default\":\"en\"}}"},
    {"/api/v1/channels",
     "{\"code\":\"eu\",\"name\":\"EU\",\"currencies\":{\"default\":\"EUR\",\"allowed\":[\"EUR\","
     "\"GBP\"]},\"locales\":{\"default\":\"de\"}}"},
    {"/api/v1/products",
     "{\"sku\":\"MUG\",\"seller\":\"house\",\"category\":\"home\",\"title\":{\"en\":\"Mug\"},"
     "\"price\":{\"GBP\":1500}}"},
    {"/api/v1/price-lists",
     "{\"code\":\"eu-base\",\"name\":\"EU\",\"channel\":\"eu\",\"currency\":\"EUR\"}"},
    {"/api/v1/prices", "{\"list\":\"eu-base\",\"sku\":\"MUG\",\"amount\":1799}"},
    {"/api/v1/prices", "{\"list\":\"eu-base\",\"sku\":\"MUG\",\"amount\":1599,\"min_qty\":10}"},
    {"/api/v1/price-lists",
     "{\"code\":\"eu-trade\",\"name\":\"Trade\",\"channel\":\"eu\",\"currency\":\"EUR\","
     "\"scope\":{\"customer_group\":\"trade\"}}"},
    {"/api/v1/prices", "{\"list\":\"eu-trade\",\"sku\":\"MUG\",\"amount\":1200}"},
    /* a sale that ended, one that is on, and one to come */
    {"/api/v1/price-lists",
     "{\"code\":\"uk-old-sale\",\"name\":\"Old\",\"channel\":\"uk\",\"currency\":\"GBP\","
     "\"kind\":\"sale\",\"valid_from\":\"2020-01-01T00:00:00Z\",\"valid_until\":"
     "\"2020-02-01T00:00:00Z\"}"},
    {"/api/v1/prices", "{\"list\":\"uk-old-sale\",\"sku\":\"MUG\",\"amount\":900}"},
    {"/api/v1/price-lists",
     "{\"code\":\"uk-sale\",\"name\":\"Sale\",\"channel\":\"uk\",\"currency\":\"GBP\","
     "\"kind\":\"sale\",\"valid_from\":\"2020-01-01T00:00:00Z\",\"valid_until\":"
     "\"2999-01-01T00:00:00Z\"}"},
    {"/api/v1/prices", "{\"list\":\"uk-sale\",\"sku\":\"MUG\",\"amount\":1200}"},
    {"/api/v1/price-lists",
     "{\"code\":\"uk-next\",\"name\":\"Next\",\"channel\":\"uk\",\"currency\":\"GBP\","
     "\"kind\":\"sale\",\"valid_from\":\"2998-01-01T00:00:00Z\"}"},
    {"/api/v1/prices", "{\"list\":\"uk-next\",\"sku\":\"MUG\",\"amount\":100}"},
};

static int read_price(fix_t *f, const char *chan, const char *query, const char *auth,
		      const char *group)
{
	char uri[160];
	snprintf(uri, sizeof(uri), "/api/v1/products/by-sku/MUG%s", query);
	api_req_t rq = {.method = "GET", .uri = uri, .channel = chan, .authorization = auth,
			.customer_group = group};
	return call_req(f, &rq);
}

static long long member(fix_t *f, const char *name)
{
	json_t *v = json_object_get(json_object_get(f->body, "pricing"), name);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static const char *list_of(fix_t *f)
{
	const char *s = json_string_value(json_object_get(json_object_get(f->body, "pricing"), "list"));
	return s ? s : "";
}

static void test_pricing_served_per_channel_from_the_image(void **state)
{
	fix_t *f = *state;
	char price_id[40];
	for (size_t i = 0; i < sizeof(SETUP) / sizeof(SETUP[0]); i++) {
		if (call(f, "POST", SETUP[i][0], AUTH, NULL, SETUP[i][1]) != 201)
			fail_msg("%s %s: %d", SETUP[i][0], SETUP[i][1], f->resp.status);
		if (i == 4)
			snprintf(price_id, sizeof(price_id), "%s",
				 json_string_value(json_object_get(f->body, "id")));
	}
	assert_int_equal(publisher_catch_up(f->p), 0);

	/* the UK: the sale that is on, with the product's own price as the
	 * original; the ended and the coming sale do not apply */
	assert_int_equal(read_price(f, "uk", "", NULL, NULL), 200);
	assert_int_equal(member(f, "amount"), 1200);
	assert_int_equal(member(f, "original"), 1500);
	assert_string_equal(list_of(f), "uk-sale");
	/* the lowest price of the 30 days before the sale began (the product's
	 * own; the sale that ended in 2020 was over before the window) */
	assert_int_equal(member(f, "lowest_30d"), 1500);
	/* formatted for the channel's locale, from the image's templates */
	json_t *pricing = json_object_get(f->body, "pricing");
	assert_string_equal(json_string_value(json_object_get(pricing, "formatted")), "£12.00");
	assert_string_equal(json_string_value(json_object_get(pricing, "original_formatted")),
			    "£15.00");
	/* the EU: its own list in its default currency; tier 10+ */
	assert_int_equal(read_price(f, "eu", "", NULL, NULL), 200);
	assert_int_equal(member(f, "amount"), 1799);
	assert_int_equal(member(f, "original"), -1);
	assert_string_equal(list_of(f), "eu-base");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f->body, "pricing"), "formatted")),
	    "17,99\u00a0€");
	assert_int_equal(read_price(f, "eu", "?quantity=9", NULL, NULL), 200);
	assert_int_equal(member(f, "amount"), 1799);
	assert_int_equal(read_price(f, "eu", "?quantity=10", NULL, NULL), 200);
	assert_int_equal(member(f, "amount"), 1599);
	/* another of its currencies: the product's own GBP price */
	assert_int_equal(read_price(f, "eu", "?currency=GBP", NULL, NULL), 200);
	assert_int_equal(member(f, "amount"), 1500);
	assert_string_equal(list_of(f), "@product");
	assert_int_equal(read_price(f, "uk", "?currency=EUR", NULL, NULL), 400);
	assert_int_equal(read_price(f, "eu", "?quantity=0", NULL, NULL), 400);
	/* the trade group's price: never for anonymous requests, even when they
	 * name the group; for a request staff makes for the group, not cached */
	assert_int_equal(read_price(f, "eu", "", NULL, "trade"), 200);
	assert_int_equal(member(f, "amount"), 1799);
	assert_int_equal(read_price(f, "eu", "", AUTH, "trade"), 200);
	assert_int_equal(member(f, "amount"), 1200);
	assert_string_equal(f->resp.cache_control, "private, no-store");

	/* a price change in the EU: visible there; neither the UK's prices nor
	 * the catalog are built again */
	publisher_provider_stats_t before[8], after[8];
	size_t np = 0;
	while (np < 8 && publisher_provider_stats(f->p, np, &before[np]) == 0)
		np++;
	char uri[96];
	snprintf(uri, sizeof(uri), "/api/v1/prices/%s", price_id);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"amount\":1749}"), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(read_price(f, "eu", "", NULL, NULL), 200);
	assert_int_equal(member(f, "amount"), 1749);
	/* the new image holds the EU's prices built again, and the UK's as
	 * the previous image had them (copied, built at an older sequence) */
	shm_reader_t *rd = NULL;
	const shm_image_t *img = NULL;
	const void *data;
	size_t len;
	pricing_chan_t eu, uk;
	char name[PRICING_SECT_NAME_MAX];
	assert_int_equal(shm_reader_new(f->ctl, &rd), 0);
	assert_int_equal(shm_reader_acquire(rd, &img), 0);
	pricing_section_name("eu", name);
	assert_int_equal(shm_image_section(img, name, &data, &len), 0);
	assert_int_equal(pricing_chan_init(data, len, &eu), 0);
	pricing_section_name("uk", name);
	assert_int_equal(shm_image_section(img, name, &data, &len), 0);
	assert_int_equal(pricing_chan_init(data, len, &uk), 0);
	assert_int_equal(eu.seq, shm_image_seq(img));
	assert_true(uk.seq < eu.seq);
	shm_reader_release(rd);
	shm_reader_free(&rd);
	for (size_t i = 0; i < np; i++) {
		assert_int_equal(publisher_provider_stats(f->p, i, &after[i]), 0);
		if (strcmp(after[i].name, "catalog") == 0)
			assert_int_equal(after[i].builds, before[i].builds);
		if (strcmp(after[i].name, "prices") == 0)
			assert_int_equal(after[i].builds, before[i].builds + 1);
	}
}

static void test_pricing_explain_shows_every_candidate(void **state)
{
	fix_t *f = *state;
	for (size_t i = 0; i < sizeof(SETUP) / sizeof(SETUP[0]); i++)
		assert_int_equal(call(f, "POST", SETUP[i][0], AUTH, NULL, SETUP[i][1]), 201);
	assert_int_equal(publisher_catch_up(f->p), 0);
	api_req_t rq = {.method = "GET", .uri = "/api/v1/prices/explain?sku=MUG", .channel = "uk"};
	assert_int_equal(call_req(f, &rq), 401);
	rq.authorization = AUTH;
	assert_int_equal(call_req(f, &rq), 200);
	assert_string_equal(json_string_value(json_object_get(f->body, "channel")), "uk");
	json_t *cands = json_object_get(f->body, "candidates");
	/* the three sales and the product's own price */
	assert_int_equal(json_array_size(cands), 4);
	char seen[256] = "";
	size_t i;
	json_t *c;
	json_array_foreach(cands, i, c)
	{
		strcat(seen, json_string_value(json_object_get(c, "list")));
		strcat(seen, "=");
		strcat(seen, json_string_value(json_object_get(c, "reason")));
		strcat(seen, ";");
	}
	assert_non_null(strstr(seen, "uk-sale=chosen;"));
	assert_non_null(strstr(seen, "uk-old-sale=expired;"));
	assert_non_null(strstr(seen, "uk-next=not_yet_valid;"));
	assert_non_null(strstr(seen, "@product=lower_priority;"));
	/* as of a time in the coming sale, it wins */
	rq.uri = "/api/v1/prices/explain?sku=MUG&at=2998-06-01T00:00:00Z";
	assert_int_equal(call_req(f, &rq), 200);
	json_t *price = json_object_get(f->body, "price");
	assert_int_equal(json_integer_value(json_object_get(price, "amount")), 100);
	/* the EU trade group, asked for explicitly */
	rq.channel = "eu";
	rq.uri = "/api/v1/prices/explain?sku=MUG&customer_group=trade";
	assert_int_equal(call_req(f, &rq), 200);
	price = json_object_get(f->body, "price");
	assert_int_equal(json_integer_value(json_object_get(price, "amount")), 1200);
	rq.uri = "/api/v1/prices/explain?currency=EUR";
	assert_int_equal(call_req(f, &rq), 400);
	rq.uri = "/api/v1/prices/explain?sku=NONE";
	assert_int_equal(call_req(f, &rq), 200);
	assert_true(json_is_null(json_object_get(f->body, "winner")));
}

/* "SKU=amount,..." of a list page in a channel */
static void list_prices(fix_t *f, const char *chan, const char *query, char *out, size_t cap)
{
	char uri[160];
	size_t i, n = 0;
	json_t *it;
	snprintf(uri, sizeof(uri), "/api/v1/products?category=home%s", query);
	api_req_t rq = {.method = "GET", .uri = uri, .channel = chan};
	assert_int_equal(call_req(f, &rq), 200);
	out[0] = '\0';
	json_array_foreach(json_object_get(f->body, "items"), i, it)
	{
		json_t *pr = json_object_get(it, "pricing");
		n += (size_t)snprintf(out + n, cap - n, "%s%s=%lld", n ? "," : "",
				      json_string_value(json_object_get(it, "sku")),
				      json_is_object(pr) ? (long long)json_integer_value(
							       json_object_get(pr, "amount"))
							 : -1LL);
	}
}

static void test_pricing_lists_filter_by_price_and_stock(void **state)
{
	fix_t *f = *state;
	char got[256];
	for (size_t i = 0; i < sizeof(SETUP) / sizeof(SETUP[0]); i++)
		assert_int_equal(call(f, "POST", SETUP[i][0], AUTH, NULL, SETUP[i][1]), 201);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"PLATE\",\"seller\":\"house\",\"category\":\"home\","
			      "\"title\":{\"en\":\"Plate\"},\"price\":{\"GBP\":300},\"stock\":0}"),
			 201);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"BOWL\",\"seller\":\"house\",\"category\":\"home\","
			      "\"title\":{\"en\":\"Bowl\"},\"price\":{\"EUR\":300},\"stock\":3}"),
			 201);
	snprintf(got, sizeof(got), "%s", json_string_value(json_object_get(f->body, "id")));
	char mug_patch_uri[96];
	assert_int_equal(publisher_catch_up(f->p), 0);
	/* every item carries its price in the channel (the bowl has none in GBP) */
	char all[256];
	list_prices(f, "uk", "", all, sizeof(all));
	assert_non_null(strstr(all, "MUG=1200"));
	assert_non_null(strstr(all, "PLATE=300"));
	assert_non_null(strstr(all, "BOWL=-1"));
	list_prices(f, "uk", "&price_max=500", got, sizeof(got));
	assert_string_equal(got, "PLATE=300");
	list_prices(f, "uk", "&price_min=500&price_max=1200", got, sizeof(got));
	assert_string_equal(got, "MUG=1200");
	list_prices(f, "uk", "&in_stock=true", got, sizeof(got));
	assert_null(strstr(got, "PLATE"));
	list_prices(f, "eu", "&price_max=400", got, sizeof(got));
	assert_string_equal(got, "BOWL=300");
	/* a page of one filtered item goes on after the items it skipped */
	list_prices(f, "uk", "&price_max=500&limit=1", got, sizeof(got));
	assert_string_equal(got, "PLATE=300");
	api_req_t bad = {.method = "GET", .uri = "/api/v1/products?price_min=-1", .channel = "uk"};
	assert_int_equal(call_req(f, &bad), 400);

	/* a product write that leaves its own prices as they were changes its
	 * catalog record, not the price sections (they are copied) */
	publisher_provider_stats_t before[8], after[8];
	size_t np = 0;
	while (np < 8 && publisher_provider_stats(f->p, np, &before[np]) == 0)
		np++;
	api_req_t plate = {.method = "GET", .uri = "/api/v1/products/by-sku/PLATE", .channel = "uk"};
	assert_int_equal(call_req(f, &plate), 200);
	snprintf(mug_patch_uri, sizeof(mug_patch_uri), "/api/v1/products/%s",
		 json_string_value(json_object_get(f->body, "id")));
	assert_int_equal(call(f, "PATCH", mug_patch_uri, AUTH, "\"1\"", "{\"stock\":7}"), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	for (size_t i = 0; i < np; i++) {
		assert_int_equal(publisher_provider_stats(f->p, i, &after[i]), 0);
		if (strcmp(after[i].name, "prices") == 0)
			assert_int_equal(after[i].builds, before[i].builds);
		before[i] = after[i];
	}
	/* its own price changes: the new amount at once, and the old one
	 * kept for the lowest prior price (the price sections carry it) */
	assert_int_equal(call(f, "PATCH", mug_patch_uri, AUTH, "\"2\"", "{\"price\":{\"GBP\":350}}"),
			 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	list_prices(f, "uk", "&price_max=500", got, sizeof(got));
	assert_string_equal(got, "PLATE=350");
	for (size_t i = 0; i < np; i++) {
		assert_int_equal(publisher_provider_stats(f->p, i, &after[i]), 0);
		if (strcmp(after[i].name, "prices") == 0)
			assert_int_equal(after[i].builds, before[i].builds + 1);
		before[i] = after[i];
	}
	/* and a stock change after it moves no history: copied again */
	assert_int_equal(call(f, "PATCH", mug_patch_uri, AUTH, "\"3\"", "{\"stock\":8}"), 200);
	assert_int_equal(publisher_catch_up(f->p), 0);
	for (size_t i = 0; i < np; i++) {
		assert_int_equal(publisher_provider_stats(f->p, i, &after[i]), 0);
		if (strcmp(after[i].name, "prices") == 0)
			assert_int_equal(after[i].builds, before[i].builds);
	}
}

/* A sale list of the UK channel opening 1.2 s from now with one price of
 * sku, published: when it opens. */
static uint64_t sale_soon(fix_t *f, const char *code, const char *sku, long amount)
{
	char doc[512], at[SOUK_RFC3339_MAX];
	uint64_t start = souk_now_real_ms() + 1200;
	souk_rfc3339(start, at);
	snprintf(doc, sizeof(doc),
		 "{\"code\":\"%s\",\"name\":\"Sale\",\"channel\":\"uk\",\"currency\":\"GBP\","
		 "\"kind\":\"sale\",\"priority\":2,\"valid_from\":\"%s\"}",
		 code, at);
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL, doc), 201);
	snprintf(doc, sizeof(doc), "{\"list\":\"%s\",\"sku\":\"%s\",\"amount\":%ld}", code, sku,
		 amount);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL, doc), 201);
	assert_int_equal(publisher_catch_up(f->p), 0);
	return start;
}

/* Wait (bounded) until just past start. */
static void wait_past(uint64_t start)
{
	for (int i = 0; i < 100 && souk_now_real_ms() < start + 20; i++)
		usleep(50 * 1000);
}

/* A product's own price raised shortly before a sale: the lowest prior
 * price is the own price as it was, not as it is now. */
static void test_pricing_lowest_prior_price_counts_own_price_history(void **state)
{
	fix_t *f = *state;
	char uri[96];
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, SETUP[0][1]), 201);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"OWN\",\"category\":\"home\",\"title\":{\"en\":\"Rug\"},"
			      "\"price\":{\"GBP\":1500}}"),
			 201);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s",
		 json_string_value(json_object_get(f->body, "id")));
	assert_int_equal(publisher_catch_up(f->p), 0);
	usleep(20 * 1000);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"price\":{\"GBP\":2000}}"), 200);
	uint64_t start = sale_soon(f, "w-sale", "OWN", 1800);
	api_req_t rq = {.method = "GET", .uri = "/api/v1/products/by-sku/OWN", .channel = "uk"};
	assert_int_equal(call_req(f, &rq), 200);
	if (souk_now_real_ms() < start)
		assert_int_equal(member(f, "amount"), 2000);
	wait_past(start);
	assert_int_equal(call_req(f, &rq), 200);
	assert_int_equal(member(f, "amount"), 1800);
	assert_int_equal(member(f, "original"), 2000);
	assert_int_equal(member(f, "lowest_30d"), 1500);
	/* the same after a restart (the history is read back from the store) */
	publisher_free(&f->p);
	publisher_opts_t po = {0};
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &po, &f->p), 0);
	assert_int_equal(call_req(f, &rq), 200);
	assert_int_equal(member(f, "lowest_30d"), 1500);
	/* the explanation shows no history holder as a candidate */
	api_req_t ex = {.method = "GET", .uri = "/api/v1/prices/explain?sku=OWN", .channel = "uk",
			.authorization = AUTH};
	assert_int_equal(call_req(f, &ex), 200);
	/* the sale and the own price: no third entry */
	assert_int_equal(json_array_size(json_object_get(f->body, "candidates")), 2);
}


static void test_pricing_lowest_prior_price_counts_earlier_sales(void **state)
{
	fix_t *f = *state;
	char uri[96];
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, SETUP[0][1]), 201);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"OMNI\",\"category\":\"home\",\"title\":{\"en\":\"Lamp\"},"
			      "\"price\":{\"GBP\":2100}}"),
			 201);
	/* a regular price of 15.00, raised to 20.00; then a sale of 18.00
	 * that starts a moment from now */
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL,
			      "{\"code\":\"o-base\",\"name\":\"Base\",\"channel\":\"uk\","
			      "\"currency\":\"GBP\",\"priority\":1}"),
			 201);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"list\":\"o-base\",\"sku\":\"OMNI\",\"amount\":1500}"),
			 201);
	snprintf(uri, sizeof(uri), "/api/v1/prices/%s",
		 json_string_value(json_object_get(f->body, "id")));
	usleep(20 * 1000); /* another millisecond of the store's clock */
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"amount\":2000}"), 200);
	uint64_t start = sale_soon(f, "o-now", "OMNI", 1800);
	api_req_t rq = {.method = "GET", .uri = "/api/v1/products/by-sku/OMNI", .channel = "uk"};
	assert_int_equal(call_req(f, &rq), 200);
	if (souk_now_real_ms() < start) { /* no reduction yet: nothing to compare with */
		assert_int_equal(member(f, "amount"), 2000);
		assert_int_equal(member(f, "lowest_30d"), -1);
	}
	wait_past(start);
	assert_int_equal(call_req(f, &rq), 200);
	assert_int_equal(member(f, "amount"), 1800);
	assert_int_equal(member(f, "original"), 2000);
	/* not the 20.00 it is struck through from: 15.00 was charged lately */
	assert_int_equal(member(f, "lowest_30d"), 1500);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f->body, "pricing"),
					      "lowest_30d_formatted")),
	    "£15.00");
}

/* A price deleted and replaced by a new one still counts toward the lowest
 * prior price for 30 days, and is never served again. */
static void test_pricing_lowest_prior_price_counts_deleted_prices(void **state)
{
	fix_t *f = *state;
	char uri[96];
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, SETUP[0][1]), 201);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"GONE\",\"category\":\"home\",\"title\":{\"en\":\"Vase\"},"
			      "\"price\":{\"GBP\":2500}}"),
			 201);
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL,
			      "{\"code\":\"g-base\",\"name\":\"Base\",\"channel\":\"uk\","
			      "\"currency\":\"GBP\",\"priority\":1}"),
			 201);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"list\":\"g-base\",\"sku\":\"GONE\",\"amount\":1200}"),
			 201);
	snprintf(uri, sizeof(uri), "/api/v1/prices/%s",
		 json_string_value(json_object_get(f->body, "id")));
	assert_int_equal(publisher_catch_up(f->p), 0);
	usleep(20 * 1000);
	/* 12.00 withdrawn, 20.00 put in its place as a new price */
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"1\"", NULL), 204);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"list\":\"g-base\",\"sku\":\"GONE\",\"amount\":2000}"),
			 201);
	uint64_t start = sale_soon(f, "g-sale", "GONE", 1800);
	api_req_t rq = {.method = "GET", .uri = "/api/v1/products/by-sku/GONE", .channel = "uk"};
	assert_int_equal(call_req(f, &rq), 200);
	if (souk_now_real_ms() < start) /* the deleted 12.00 is not served */
		assert_int_equal(member(f, "amount"), 2000);
	wait_past(start);
	assert_int_equal(call_req(f, &rq), 200);
	assert_int_equal(member(f, "amount"), 1800);
	assert_int_equal(member(f, "original"), 2000);
	assert_int_equal(member(f, "lowest_30d"), 1200);
	/* soukd starts again: the deleted price is read back from the store */
	publisher_free(&f->p);
	publisher_opts_t po = {0};
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &po, &f->p), 0);
	assert_int_equal(call_req(f, &rq), 200);
	assert_int_equal(member(f, "amount"), 1800);
	assert_int_equal(member(f, "lowest_30d"), 1200);
}

static void test_pricing_history_points(void **state)
{
	price_point_t p[PRICE_HIST_MAX];
	size_t n = 0;
	int64_t low;
	(void)state;
	price_points_add(p, &n, 100, 1000);
	price_points_add(p, &n, 200, 1000); /* no change: no point */
	price_points_add(p, &n, 300, 800);
	price_points_add(p, &n, 400, PRICE_GONE);
	price_points_add(p, &n, 500, 900);
	assert_int_equal(n, 4);
	assert_true(price_points_lowest(p, n, 0, 1000, &low));
	assert_int_equal(low, 800);
	assert_true(price_points_lowest(p, n, 450, 1000, &low));
	assert_int_equal(low, 900); /* gone from 400, back at 900 from 500 */
	assert_false(price_points_lowest(p, n, 410, 490, &low));
	assert_true(price_points_lowest(p, n, 250, 299, &low));
	assert_int_equal(low, 1000);
	/* pruning keeps the point in force at the window's start */
	price_points_prune(p, &n, 350);
	assert_int_equal(n, 3);
	assert_int_equal(p[0].from_ms, 300);
	/* more changes than it holds: merged from the oldest, never higher */
	n = 0;
	for (int i = 0; i < 20; i++)
		price_points_add(p, &n, 1000 + i, i == 3 ? 10 : 500 + i);
	assert_int_equal(n, PRICE_HIST_MAX);
	assert_true(price_points_lowest(p, n, 0, 5000, &low));
	assert_int_equal(low, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pricing_served_per_channel_from_the_image,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pricing_explain_shows_every_candidate,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pricing_lists_filter_by_price_and_stock,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pricing_lowest_prior_price_counts_earlier_sales,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pricing_lowest_prior_price_counts_deleted_prices,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pricing_lowest_prior_price_counts_own_price_history,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test(test_pricing_history_points),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
