/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channels in the image and the resolution of a request's channel: the
 * section built from channel documents, its checks, the resolution order
 * (X-Souk-Channel > host > configured default > the only channel), and the
 * API answering with the right storefront's locale (or a 404 problem, never
 * another channel's data), against the real store, publisher and image.
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
#include "domain/channel/channel.h"
#include "domain/channel/sections.h"
#include "fcgi/api.h"
#include "model/model.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/api_fixture.h"

#define UK_DOC                                                                                     \
	"{\"code\":\"uk\",\"name\":\"UK\",\"hostnames\":[\"shop.example.co.uk\"],"                 \
	"\"currencies\":{\"default\":\"GBP\",\"allowed\":[\"GBP\"]},"                              \
	"\"locales\":{\"default\":\"en-GB\",\"fallback\":[\"en\"]},"                               \
	"\"tax\":{\"prices_include_tax\":true,\"calculation\":\"unit\"}}"
#define EU_DOC                                                                                     \
	"{\"code\":\"eu\",\"name\":\"EU\",\"hostnames\":[\"eu.example.com\",\"shop.example.de\"],"  \
	"\"currencies\":{\"default\":\"EUR\",\"allowed\":[\"CHF\",\"EUR\"]},"                      \
	"\"locales\":{\"default\":\"de\",\"fallback\":[\"fr\",\"en\"]},"                           \
	"\"tax\":{\"rounding\":\"half_up\",\"rounding_by_currency\":{\"CHF\":\"down\"}}}"

/* a channel document as the kind normalises it, into a builder source */
static void src_of(const char *text, uint8_t idbyte, channel_src_t *out)
{
	json_error_t je;
	json_t *in = json_loads(text, 0, &je), *doc = NULL;
	problem_t p;
	store_id_t id;
	problem_init(&p);
	assert_non_null(in);
	assert_int_equal(model_validate(&channel_kind, NULL, in, false, &doc, &p), 0);
	memset(&id, idbyte, sizeof(id));
	assert_int_equal(channel_src_from_doc(doc, &id, 3, out), 0);
	json_decref(in);
	json_decref(doc);
}

static void build(const channel_src_t *const *src, size_t n, const char *def, void **sec,
		  size_t *len, channel_view_t *v)
{
	assert_int_equal(channel_build_mem(src, n, def, 9, sec, len), 0);
	assert_int_equal(channel_view_init_mem(*sec, *len, v), 0);
}

/* the UK and EU channels, the sources a test builds from */
typedef struct {
	channel_src_t uk, eu;
	const channel_src_t *src[2];
} two_t;

static void two_channels(two_t *t)
{
	src_of(UK_DOC, 1, &t->uk);
	src_of(EU_DOC, 2, &t->eu);
	t->src[0] = &t->uk;
	t->src[1] = &t->eu;
}

static void test_channel_section_holds_what_reads_need(void **state)
{
	two_t t;
	void *sec;
	size_t len;
	channel_view_t v;
	(void)state;
	two_channels(&t);
	build(t.src, 2, NULL, &sec, &len, &v);
	assert_int_equal(v.count, 2);
	assert_int_equal(v.nhosts, 3);
	/* sorted by code; the default currency and locale first */
	assert_string_equal(v.recs[0].code, "eu");
	const channel_rec_t *e = channel_find(&v, "eu", 2);
	assert_ptr_equal(e, &v.recs[0]);
	assert_null(channel_find(&v, "e", 1));
	assert_null(channel_find(&v, "euro", 4));
	assert_string_equal(e->currencies[0], "EUR");
	assert_string_equal(e->currencies[1], "CHF");
	assert_int_equal(e->ncurrencies, 2);
	assert_true(channel_has_currency(e, "CHF"));
	assert_false(channel_has_currency(e, "GBP"));
	assert_int_equal(e->rounding, CHANNEL_ROUND_HALF_UP);
	assert_int_equal(e->currency_rounding[0], CHANNEL_ROUND_HALF_UP);   /* EUR */
	assert_int_equal(e->currency_rounding[1], CHANNEL_ROUND_DOWN);      /* CHF override */
	assert_string_equal(e->locale_list, "de,fr,en");
	const channel_rec_t *u = channel_find(&v, "uk", 2);
	assert_true(u->prices_include_tax);
	assert_true(u->tax_per_unit);
	assert_int_equal(u->reservation_ttl_s, 900);
	assert_string_equal(u->locale_list, "en-GB,en");
	/* the request's locale among the channel's, else its default */
	assert_string_equal(e->locales[channel_pick_locale(e, "fr-CH,de", 8)], "fr");
	assert_string_equal(e->locales[channel_pick_locale(e, "it", 2)], "de");
	assert_string_equal(e->locales[channel_pick_locale(e, NULL, 0)], "de");
	assert_string_equal(u->locales[channel_pick_locale(u, "en-US", 5)], "en");
	free(sec);
}

static void test_channel_resolution_order(void **state)
{
	two_t t;
	const channel_rec_t *c;
	void *sec;
	size_t len;
	channel_view_t v;
	(void)state;
	two_channels(&t);
	build(t.src, 2, "", &sec, &len, &v);
	/* the header wins over the host */
	assert_int_equal(channel_resolve(&v, "eu", "shop.example.co.uk", &c), CHANNEL_FOUND);
	assert_string_equal(c->code, "eu");
	/* an unknown header is never answered from another channel */
	assert_int_equal(channel_resolve(&v, "us", "shop.example.co.uk", &c), CHANNEL_UNKNOWN);
	assert_null(c);
	/* the host: port, case and a final dot do not matter */
	assert_int_equal(channel_resolve(&v, NULL, "SHOP.Example.co.uk.:8443", &c), CHANNEL_FOUND);
	assert_string_equal(c->code, "uk");
	assert_int_equal(channel_resolve(&v, "", "shop.example.de", &c), CHANNEL_FOUND);
	assert_string_equal(c->code, "eu");
	/* several channels, no header, no host match, no default: refused */
	assert_int_equal(channel_resolve(&v, NULL, "other.example", &c), CHANNEL_NO_MATCH);
	assert_int_equal(channel_resolve(&v, NULL, "[::1]:80", &c), CHANNEL_NO_MATCH);
	assert_int_equal(channel_resolve(&v, NULL, NULL, &c), CHANNEL_NO_MATCH);
	free(sec);

	/* with a configured default */
	build(t.src, 2, "uk", &sec, &len, &v);
	assert_int_equal(channel_resolve(&v, NULL, "other.example", &c), CHANNEL_FOUND);
	assert_string_equal(c->code, "uk");
	free(sec);

	/* a disabled channel answers neither its code nor its hosts, and is no default */
	t.eu.rec.active = 0;
	build(t.src, 2, "eu", &sec, &len, &v);
	assert_int_equal(v.nhosts, 1);
	assert_int_equal(channel_resolve(&v, "eu", NULL, &c), CHANNEL_UNKNOWN);
	/* ... which leaves one active channel: it serves every request */
	assert_int_equal(channel_resolve(&v, NULL, "shop.example.de", &c), CHANNEL_FOUND);
	assert_string_equal(c->code, "uk");
	free(sec);

	/* no channels at all: the catalog is served without channel rules */
	build(NULL, 0, "uk", &sec, &len, &v);
	assert_int_equal(channel_resolve(&v, NULL, "shop.example.co.uk", &c), CHANNEL_NONE);
	assert_int_equal(channel_resolve(&v, "uk", NULL, &c), CHANNEL_UNKNOWN);
	free(sec);
}

static void test_channel_damaged_section_is_refused(void **state)
{
	two_t t;
	void *sec;
	size_t len;
	channel_view_t v;
	(void)state;
	two_channels(&t);
	assert_int_equal(channel_build_mem(t.src, 2, NULL, 1, &sec, &len), 0);
	uint8_t *b = sec, *copy = malloc(len);
	/* every truncation, and a flipped byte in each header word but the sequence */
	for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
		memcpy(copy, b, cut);
		assert_int_not_equal(channel_view_init_mem(copy, cut, &v), 0);
	}
	for (size_t off = 0; off < offsetof(channel_hdr_t, seq); off += 4) {
		memcpy(copy, b, len);
		copy[off] ^= 0x5a;
		assert_int_not_equal(channel_view_init_mem(copy, len, &v), 0);
	}
	/* a code without its NUL, records out of order, a host to no record */
	channel_hdr_t *h = (channel_hdr_t *)copy;
	channel_rec_t *r = (channel_rec_t *)(h + 1);
	channel_host_t *hs = (channel_host_t *)(r + 2);
	memcpy(copy, b, len);
	memset(r[0].code, 'x', sizeof(r[0].code));
	assert_int_equal(channel_view_init_mem(copy, len, &v), SOUK_ECORRUPT);
	memcpy(copy, b, len);
	memcpy(r[0].code, "zz", 3);
	assert_int_equal(channel_view_init_mem(copy, len, &v), SOUK_ECORRUPT);
	memcpy(copy, b, len);
	hs[0].channel = 7;
	assert_int_equal(channel_view_init_mem(copy, len, &v), SOUK_ECORRUPT);
	memcpy(copy, b, len);
	assert_int_equal(channel_view_init_mem(copy, len, &v), 0);
	free(copy);
	free(sec);
}

/* ---- through the API ---- */

static int get(fix_t *f, const char *uri, const char *host, const char *chan, const char *al)
{
	api_req_t rq = {.method = "GET", .uri = uri, .host = host, .channel = chan,
			.accept_language = al};
	return call_req(f, &rq);
}

static const char *str(fix_t *f, const char *name)
{
	const char *s = json_string_value(json_object_get(f->body, name));
	return s ? s : "";
}

static void test_channel_requests_get_their_storefront(void **state)
{
	fix_t *f = *state;
	char uri[128];
	const char *prod = "{\"sku\":\"MUG\",\"seller\":\"house\",\"category\":\"home\","
			   "\"title\":{\"en\":\"Mug\",\"de\":\"Becher\",\"fr\":\"Tasse\"},"
			   "\"price\":{\"GBP\":250,\"EUR\":299}}";
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, prod), 201);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", str(f, "id"));
	/* no channel yet: served as before, no channel named */
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(get(f, uri, "anything.example", NULL, "de"), 200);
	assert_string_equal(str(f, "title"), "Becher");
	assert_false(has_header(f, "Souk-Channel:"));
	assert_int_equal(get(f, uri, NULL, "uk", NULL), 404);

	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, UK_DOC), 201);
	assert_int_equal(publisher_catch_up(f->p), 0);
	/* one channel serves every host, in its own locales */
	assert_int_equal(get(f, uri, "anything.example", NULL, "de"), 200);
	assert_true(has_header(f, "Souk-Channel: uk\r\n"));
	assert_string_equal(str(f, "title"), "Mug");
	assert_string_equal(str(f, "locale"), "en");

	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, EU_DOC), 201);
	char seq[24];
	snprintf(seq, sizeof(seq), "%lld", (long long)json_integer_value(json_object_get(f->body, "seq")));
	assert_int_equal(publisher_catch_up(f->p), 0);
	/* a read that waits for the channel's write sees it: the image that
	 * carries only the channel change is as of that change */
	api_req_t rq = {.method = "GET", .uri = uri, .host = "shop.example.de", .min_seq = seq};
	assert_int_equal(call_req(f, &rq), 200);
	assert_true(has_header(f, "Souk-Channel: eu\r\n"));
	assert_int_equal(get(f, uri, "shop.example.de", NULL, "fr;q=0.9, it"), 200);
	assert_true(has_header(f, "Souk-Channel: eu\r\n"));
	assert_string_equal(str(f, "title"), "Tasse");
	/* a locale the channel does not offer gets its default; the UK
	 * storefront never answers in German */
	assert_int_equal(get(f, uri, "eu.example.com:8080", NULL, "it"), 200);
	assert_string_equal(str(f, "title"), "Becher");
	assert_int_equal(get(f, uri, "shop.example.co.uk", NULL, "de"), 200);
	assert_string_equal(str(f, "title"), "Mug");
	/* the header overrides the host */
	assert_int_equal(get(f, uri, "shop.example.co.uk", "eu", NULL), 200);
	assert_string_equal(str(f, "title"), "Becher");
	/* unknown channel, or no way to tell: a 404 problem, never data */
	assert_int_equal(get(f, uri, "shop.example.co.uk", "us", NULL), 404);
	assert_string_equal(str(f, "type"), "https://souk.dev/problems/channel-unknown");
	assert_null(json_object_get(f->body, "sku"));
	assert_int_equal(get(f, uri, "elsewhere.example", NULL, NULL), 404);
	assert_string_equal(str(f, "type"), "https://souk.dev/problems/channel-unknown");
	assert_int_equal(get(f, "/api/v1/products?limit=5", "elsewhere.example", NULL, NULL), 404);
	assert_int_equal(get(f, "/api/v1/products?limit=5", "shop.example.de", NULL, NULL), 200);
	json_t *items = json_object_get(f->body, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "title")),
			    "Becher");
}

static const char *const LISTED_DOC[] = {
	/* only in the UK */
	"{\"sku\":\"UK-ONLY\",\"category\":\"a\",\"seller\":\"house\",\"title\":{\"en\":\"Scone\"},"
	"\"price\":{\"GBP\":100},\"channels\":{\"uk\":{}}}",
	/* in both, but not in the EU's lists; in the UK no longer purchasable */
	"{\"sku\":\"HIDDEN-EU\",\"category\":\"a\",\"seller\":\"house\",\"title\":{\"en\":\"Kettle\"},"
	"\"price\":{\"GBP\":100},\"channels\":{\"uk\":{\"purchasable_until\":\"2020-01-01T00:00:00Z\"},"
	"\"eu\":{\"listed\":false}}}",
	/* everywhere (no listing) */
	"{\"sku\":\"ALL\",\"category\":\"a\",\"seller\":\"house\",\"title\":{\"en\":\"Cup\"},"
	"\"price\":{\"GBP\":100}}",
};

/* the skus of a channel's list, in order, comma-separated */
static void list_skus(fix_t *f, const char *chan, char *out, size_t cap)
{
	json_t *it;
	size_t i, n = 0;
	out[0] = '\0';
	assert_int_equal(get(f, "/api/v1/products?category=a", NULL, chan, NULL), 200);
	json_array_foreach(json_object_get(f->body, "items"), i, it)
	n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "",
			      json_string_value(json_object_get(it, "sku")));
}

static void test_channel_listing_decides_what_each_storefront_serves(void **state)
{
	fix_t *f = *state;
	char skus[256], uri[160];
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, UK_DOC), 201);
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, EU_DOC), 201);
	for (size_t i = 0; i < sizeof(LISTED_DOC) / sizeof(LISTED_DOC[0]); i++)
		assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, LISTED_DOC[i]), 201);
	/* a listing names a channel code and a window that ends after it starts */
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"BAD\",\"category\":\"a\",\"seller\":\"house\","
			      "\"title\":{\"en\":\"x\"},\"price\":{\"GBP\":1},\"channels\":{"
			      "\"u k\":{},\"eu\":{\"purchasable_from\":\"2030-01-02T00:00:00Z\","
			      "\"purchasable_until\":\"2030-01-01T00:00:00Z\"}}}"),
			 422);
	char *errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	assert_non_null(strstr(errs, "\"channels/eu/purchasable_until\""));
	assert_non_null(strstr(errs, "'u k' is not a channel code"));
	free(errs);
	assert_int_equal(publisher_catch_up(f->p), 0);

	/* the UK lists all three; the EU neither the UK-only one nor the
	 * one kept out of its lists */
	list_skus(f, "uk", skus, sizeof(skus));
	assert_int_equal(strlen(skus), strlen("UK-ONLY,HIDDEN-EU,ALL"));
	assert_non_null(strstr(skus, "UK-ONLY"));
	assert_non_null(strstr(skus, "HIDDEN-EU"));
	list_skus(f, "eu", skus, sizeof(skus));
	assert_string_equal(skus, "ALL");
	/* by SKU: the UK-only product is a 404 in the EU, the unlisted one is
	 * served there (and purchasable), and in the UK it can no longer be bought */
	assert_int_equal(get(f, "/api/v1/products/by-sku/UK-ONLY", NULL, "eu", NULL), 404);
	assert_int_equal(get(f, "/api/v1/products/by-sku/UK-ONLY", NULL, "uk", NULL), 200);
	assert_true(json_is_true(json_object_get(f->body, "purchasable")));
	assert_null(json_object_get(f->body, "channels"));
	assert_string_equal(str(f, "dir"), "ltr");
	assert_int_equal(get(f, "/api/v1/products/by-sku/HIDDEN-EU", NULL, "eu", NULL), 200);
	assert_true(json_is_true(json_object_get(f->body, "purchasable")));
	assert_int_equal(get(f, "/api/v1/products/by-sku/HIDDEN-EU", NULL, "uk", NULL), 200);
	assert_true(json_is_false(json_object_get(f->body, "purchasable")));
	assert_true(strncmp(f->resp.etag, "\"1.uk.np.", 9) == 0);

	/* scheduled: published in the EU a moment from now, visible from that
	 * time on with no write, no publish and no request in between */
	char at[SOUK_RFC3339_MAX], doc[512];
	uint64_t when = souk_now_real_ms() + 1200;
	assert_int_equal(souk_rfc3339(when, at), 0);
	snprintf(doc, sizeof(doc),
		 "{\"sku\":\"SOON\",\"category\":\"a\",\"seller\":\"house\",\"title\":"
		 "{\"en\":\"Soon\"},\"price\":{\"GBP\":1},\"channels\":{\"eu\":{\"published_at\":\"%s\"}}}",
		 at);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, doc), 201);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", str(f, "id"));
	assert_int_equal(publisher_catch_up(f->p), 0);
	int status = get(f, uri, NULL, "eu", NULL);
	if (souk_now_real_ms() < when)
		assert_int_equal(status, 404);
	for (int i = 0; i < 100 && souk_now_real_ms() < when + 50; i++)
		usleep(50 * 1000);
	assert_int_equal(get(f, uri, NULL, "eu", NULL), 200);
	list_skus(f, "eu", skus, sizeof(skus));
	assert_non_null(strstr(skus, "SOON"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_channel_section_holds_what_reads_need),
	    cmocka_unit_test(test_channel_resolution_order),
	    cmocka_unit_test(test_channel_damaged_section_is_refused),
	    cmocka_unit_test_setup_teardown(test_channel_requests_get_their_storefront,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_channel_listing_decides_what_each_storefront_serves,
					    api_fix_setup, api_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
