/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_fcgi_api.c - the REST handlers without a web server: a
 * real store, real shared memory and the real publisher (synchronous
 * catch-up), requests built by hand. */
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
#include "common/util.h"
#include "daemon/publisher.h"
#include "fcgi/api.h"
#include "domain/catalog/sections.h"
#include "shm/settings.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/api_fixture.h"

static const char *field(fix_t *f, const char *name)
{
	static char buf[128];
	json_t *v = json_object_get(f->body, name);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return "";
}

static const char *P1 = "{\"sku\":\"A-1\",\"seller\":\"s1\",\"category\":\"home\","
			"\"title\":{\"en\":\"Mug\"},\"price\":{\"GBP\":250}}";

static void test_fcgi_api_writes_need_the_bearer_secret(void **state)
{
	fix_t *f = *state;
	assert_int_equal(call(f, "POST", "/api/v1/products", NULL, NULL, P1), 401);
	assert_true(has_header(f, "WWW-Authenticate: Bearer"));
	assert_int_equal(call(f, "POST", "/api/v1/products", "Bearer wrong", NULL, P1), 401);
	assert_int_equal(call(f, "POST", "/api/v1/products", "Basic Zm9vOmJhcg==", NULL, P1), 401);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, P1), 201);
}

static void test_fcgi_api_create_read_update_revert_delete(void **state)
{
	fix_t *f = *state;
	char uri[128], id[33];
	assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL), 200);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, P1), 201);
	snprintf(id, sizeof(id), "%s", field(f, "id"));
	assert_string_equal(field(f, "version"), "1");
	assert_true(has_header(f, "Souk-Seq: 1\r\n"));

	/* not published yet: a bounded Souk-Min-Seq wait gives 503 */
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", id);
	api_req_t rq = {.method = "GET", .uri = uri, .min_seq = "1"};
	api_finish(&f->th);
	api_handle(&f->th, &rq, &f->resp);
	assert_int_equal(f->resp.status, 503);
	assert_true(has_header(f, "Retry-After: 1"));
	/* a change not made yet is refused (400, not the 503 of a wait) */
	const char *ahead[] = {"2", "999999999", "18446744073709551615"};
	for (size_t i = 0; i < 3; i++) {
		api_req_t a = {.method = "GET", .uri = uri, .min_seq = ahead[i]};
		api_finish(&f->th);
		api_handle(&f->th, &a, &f->resp);
		assert_int_equal(f->resp.status, 400);
		assert_non_null(
		    memmem(f->resp.body, f->resp.body_len, "problems/min-seq-ahead", 22));
	}

	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(call(f, "GET", uri, NULL, NULL, NULL), 200);
	assert_string_equal(field(f, "title"), "Mug");
	assert_string_equal(f->resp.etag, "\"1\"");
	assert_string_equal(f->resp.cache_control, "public, max-age=5");
	assert_int_equal(call(f, "GET", "/api/v1/products/by-sku/A-1", NULL, NULL, NULL), 200);
	assert_string_equal(field(f, "id"), id);
	assert_string_equal(f->resp.etag, "\"1\"");
	/* If-None-Match (weak comparison): 304 without a body */
	const char *inm[] = {"\"1\"", "W/\"1\"", "\"7\", \"1\"", "*", "\"2\"", "1"};
	const int inm_status[] = {304, 304, 304, 304, 200, 200};
	for (size_t i = 0; i < 6; i++) {
		api_req_t c = {.method = "GET", .uri = uri, .if_none_match = inm[i]};
		api_finish(&f->th);
		api_handle(&f->th, &c, &f->resp);
		assert_int_equal(f->resp.status, inm_status[i]);
		assert_string_equal(f->resp.etag, "\"1\"");
		if (f->resp.status == 304)
			assert_int_equal(f->resp.body_len, 0);
	}
	assert_int_equal(call(f, "GET", "/api/v1/products", NULL, NULL, NULL), 200);
	assert_non_null(f->resp.etag);
	char list_etag[64];
	snprintf(list_etag, sizeof(list_etag), "%s", f->resp.etag);
	api_req_t lc = {.method = "GET", .uri = "/api/v1/products", .if_none_match = list_etag};
	api_finish(&f->th);
	api_handle(&f->th, &lc, &f->resp);
	assert_int_equal(f->resp.status, 304);
	/* answers that are not public catalog reads are not cached */
	assert_int_equal(call(f, "GET", "/api/v1/products/by-sku/NONE", NULL, NULL, NULL), 404);
	assert_null(f->resp.cache_control);
	assert_null(f->resp.etag);
	assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL), 200);
	assert_null(f->resp.cache_control);

	assert_int_equal(call(f, "PATCH", uri, AUTH, NULL, "{\"stock\":3}"), 428);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "*", "{\"stock\":3}"), 428);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "three", "{\"stock\":3}"), 400);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"2\"", "{\"stock\":3}"), 412);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "W/\"1\"", "{\"stock\":3}"), 412);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"stock\":3}"), 200);
	assert_null(f->resp.cache_control);
	assert_string_equal(field(f, "version"), "2");
	assert_string_equal(field(f, "stock"), "3");
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"2\"", "{\"price\":{\"GBP\":2.5}}"), 422);

	snprintf(uri, sizeof(uri), "/api/v1/products/%s/revert", id);
	assert_int_equal(call(f, "POST", uri, AUTH, NULL, "{\"version\":1}"), 428);
	assert_int_equal(call(f, "POST", uri, AUTH, "*", "{\"version\":1}"), 428);
	assert_int_equal(call(f, "POST", uri, AUTH, "W/\"2\"", "{\"version\":1}"), 412);
	assert_int_equal(call(f, "POST", uri, AUTH, "\"2\"", "{\"version\":1}"), 200);
	assert_string_equal(field(f, "version"), "3");
	assert_string_equal(field(f, "stock"), "0");
	assert_int_equal(call(f, "POST", uri, AUTH, "\"3\"", "{\"version\":\"1\"}"), 422);

	snprintf(uri, sizeof(uri), "/api/v1/products/%s", id);
	assert_int_equal(call(f, "DELETE", uri, AUTH, NULL, NULL), 428);
	assert_string_equal(field(f, "type"), "https://souk.dev/problems/precondition-required");
	assert_int_equal(call(f, "DELETE", uri, AUTH, "*", NULL), 428);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "W/\"3\"", NULL), 412);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"2\"", NULL), 412);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"3\"", NULL), 204);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"4\"", NULL), 404);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(call(f, "GET", uri, NULL, NULL, NULL), 404);

	snprintf(uri, sizeof(uri), "/api/v1/products/%s/history", id);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 4);
}

static void test_fcgi_api_idempotent_replay_returns_first_result(void **state)
{
	fix_t *f = *state;
	api_req_t rq = {.method = "POST",
			.uri = "/api/v1/products",
			.authorization = AUTH,
			.idem_key = "k-1",
			.body = P1,
			.body_len = strlen(P1)};
	api_handle(&f->th, &rq, &f->resp);
	assert_int_equal(f->resp.status, 201);
	char *first = strndup(f->resp.body, f->resp.body_len);
	api_finish(&f->th);
	api_handle(&f->th, &rq, &f->resp);
	assert_int_equal(f->resp.status, 201);
	assert_true(has_header(f, "Idempotent-Replayed: true"));
	assert_int_equal(strlen(first), f->resp.body_len);
	assert_memory_equal(first, f->resp.body, f->resp.body_len);
	free(first);
	/* the same sku without the key is a conflict: no second product */
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, P1), 409);
}

/* A key sent again with another body is a 422 naming the header, and
 * creates nothing; the replay is decided before the body is looked at, so
 * a retry that would now be refused (here: its media type) still gets the
 * first answer. */
static void test_fcgi_api_idempotency_key_with_another_body_is_422(void **state)
{
	fix_t *f = *state;
	const char *p2 = "{\"sku\":\"A-2\",\"seller\":\"s1\",\"category\":\"home\","
			 "\"title\":{\"en\":\"Cup\"},\"price\":{\"GBP\":300}}";
	api_req_t rq = {.method = "POST",
			.uri = "/api/v1/products",
			.authorization = AUTH,
			.idem_key = "k-2",
			.body = P1,
			.body_len = strlen(P1)};
	assert_int_equal(call_req(f, &rq), 201);
	char id[33];
	snprintf(id, sizeof(id), "%s", field(f, "id"));
	uint64_t seq = 0, now = 0;
	assert_int_equal(store_last_seq(f->s, &seq), 0);

	api_req_t other = rq;
	other.body = p2;
	other.body_len = strlen(p2);
	assert_int_equal(call_req(f, &other), 422);
	assert_string_equal(field(f, "type"), "https://souk.dev/problems/idempotency-key-reused");
	json_t *e = json_array_get(json_object_get(f->body, "errors"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "field")), "Idempotency-Key");
	other.body = "{\"sku\":";
	other.body_len = strlen(other.body);
	assert_int_equal(call_req(f, &other), 422); /* not 400: the key decides first */
	assert_string_equal(field(f, "type"), "https://souk.dev/problems/idempotency-key-reused");
	assert_int_equal(store_last_seq(f->s, &now), 0);
	assert_int_equal(now, seq);

	api_req_t retry = rq;
	retry.content_type = "text/plain";
	assert_int_equal(call_req(f, &retry), 201);
	assert_true(has_header(f, "Idempotent-Replayed: true"));
	assert_string_equal(field(f, "id"), id);
	assert_int_equal(store_last_seq(f->s, &now), 0);
	assert_int_equal(now, seq);
}

static void test_fcgi_api_bad_input_is_a_problem(void **state)
{
	fix_t *f = *state;
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, "{\"sku\":"), 400);
	assert_string_equal(f->resp.content_type, "application/problem+json");
	assert_string_equal(field(f, "type"), "https://souk.dev/problems/malformed-request");
	assert_int_equal(
	    call(f, "POST", "/api/v1/products", AUTH, NULL, "[[[[[[[[[[[[1]]]]]]]]]]]]"), 400);
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, "{}"), 422);
	assert_int_equal(json_array_size(json_object_get(f->body, "errors")), 4); /* sku, category, title, price */
	api_req_t big = {.method = "POST",
			 .uri = "/api/v1/products",
			 .authorization = AUTH,
			 .body_too_large = true};
	api_finish(&f->th);
	api_handle(&f->th, &big, &f->resp);
	assert_int_equal(f->resp.status, 413);
	assert_int_equal(call(f, "GET", "/api/v1/nope", NULL, NULL, NULL), 404);
	assert_int_equal(call(f, "PUT", "/api/v1/products", NULL, NULL, NULL), 405);
	assert_true(has_header(f, "Allow: GET, HEAD, POST"));
	assert_int_equal(call(f, "GET", "/api/v1/products?limit=5000", NULL, NULL, NULL), 400);
	assert_int_equal(call(f, "GET", "/metrics", NULL, NULL, NULL), 200);
	assert_non_null(strstr(f->resp.body, "souk_http_request_duration_seconds_bucket"));
}

/* A write answers with the version as stored: the body of a create and of
 * an update equals that version in the history, apart from who wrote it. */
static void test_fcgi_api_write_answers_the_stored_version(void **state)
{
	fix_t *f = *state;
	char uri[160], id[33];
	json_t *written[2];
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, P1), 201);
	snprintf(id, sizeof(id), "%s", field(f, "id"));
	written[0] = json_incref(f->body);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", id);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"",
			      "{\"title\":{\"fr\":\"Tasse \\\"caf\u00e9\\\"\"},\"stock\":7}"),
			 200);
	written[1] = json_incref(f->body);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(written[1], "title"), "fr")),
	    "Tasse \"caf\u00e9\"");
	assert_true(json_is_false(json_object_get(written[1], "archived")));

	snprintf(uri, sizeof(uri), "/api/v1/products/%s/history", id);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	json_t *items = json_object_get(f->body, "items");
	assert_int_equal(json_array_size(items), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *h = NULL;
		for (size_t j = 0; j < 2; j++) {
			json_t *it = json_array_get(items, j);
			if (json_integer_value(json_object_get(it, "version")) == (json_int_t)i + 1)
				h = json_deep_copy(it);
		}
		assert_non_null(h);
		assert_int_equal(json_object_del(h, "actor"), 0);
		json_object_del(h, "reason");
		assert_non_null(json_object_get(h, "updated_at"));
		assert_true(json_equal(h, written[i]));
		json_decref(h);
		json_decref(written[i]);
	}
}

/* History is staff-only, newest first, by pages of ?limit= with a cursor;
 * drafts are not served by public reads. */
static void test_fcgi_api_history_and_drafts(void **state)
{
	fix_t *f = *state;
	char uri[200], id[33], etag[16], cursor[32];
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, P1), 201);
	snprintf(id, sizeof(id), "%s", field(f, "id"));
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", id);
	for (int v = 1; v <= 4; v++) {
		char body[32];
		snprintf(etag, sizeof(etag), "\"%d\"", v);
		snprintf(body, sizeof(body), "{\"stock\":%d}", v);
		assert_int_equal(call(f, "PATCH", uri, AUTH, etag, body), 200);
	}
	snprintf(uri, sizeof(uri), "/api/v1/products/%s/history", id);
	assert_int_equal(call(f, "GET", uri, NULL, NULL, NULL), 401);
	assert_int_equal(call(f, "GET", uri, "Bearer wrong", NULL, NULL), 401);
	int want = 5, pages = 0;
	cursor[0] = '\0';
	do {
		snprintf(uri, sizeof(uri), "/api/v1/products/%s/history?limit=2%s%s", id,
			 cursor[0] ? "&cursor=" : "", cursor);
		assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
		json_t *items = json_object_get(f->body, "items");
		for (size_t i = 0; i < json_array_size(items); i++)
			assert_int_equal(json_integer_value(
					     json_object_get(json_array_get(items, i), "version")),
					 want--);
		json_t *next = json_object_get(f->body, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s",
			 json_is_string(next) ? json_string_value(next) : "");
		assert_true(++pages <= 3);
	} while (cursor[0]);
	assert_int_equal(want, 0);
	assert_int_equal(pages, 3);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s/history?cursor=zz", id);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 400);

	/* a draft: written and in its history, but not public */
	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL,
			      "{\"sku\":\"D-1\",\"status\":\"draft\",\"seller\":\"s1\","
			      "\"category\":\"home\",\"title\":{\"en\":\"Soon\"},"
			      "\"price\":{\"GBP\":1}}"),
			 201);
	snprintf(id, sizeof(id), "%s", field(f, "id"));
	assert_int_equal(publisher_catch_up(f->p), 0);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", id);
	assert_int_equal(call(f, "GET", uri, NULL, NULL, NULL), 404);
	assert_int_equal(call(f, "GET", "/api/v1/products/by-sku/D-1", NULL, NULL, NULL), 404);
	assert_int_equal(call(f, "GET", "/api/v1/products", NULL, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 1);
	assert_int_equal(call(f, "GET", "/api/v1/products/by-sku/A-1", NULL, NULL, NULL), 200);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s/history", id);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(f->body, "items"), 0), "status")),
			    "draft");
}

/* X-Souk-Reason is validated like document text: 422 naming the header,
 * nothing written. */
static void test_fcgi_api_reason_is_validated_text(void **state)
{
	fix_t *f = *state;
	char long_reason[300];
	memset(long_reason, 'r', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	const char *bad[] = {"bad \xff\xfe bytes", "line\nbreak", "esc \x1b[31m", long_reason};
	for (size_t i = 0; i < 4; i++) {
		api_req_t rq = {.method = "POST",
				.uri = "/api/v1/products",
				.authorization = AUTH,
				.reason = bad[i],
				.body = P1,
				.body_len = strlen(P1)};
		json_decref(f->body);
		f->body = NULL;
		api_finish(&f->th);
		api_handle(&f->th, &rq, &f->resp);
		assert_int_equal(f->resp.status, 422);
		json_error_t e;
		f->body = json_loadb(f->resp.body, f->resp.body_len, 0, &e);
		json_t *err = json_array_get(json_object_get(f->body, "errors"), 0);
		assert_string_equal(json_string_value(json_object_get(err, "field")),
				    "X-Souk-Reason");
	}
	/* nothing was written: the sku is still free */
	api_req_t ok = {.method = "POST",
			.uri = "/api/v1/products",
			.authorization = AUTH,
			.reason = "caf\u00e9 price \u2192 new",
			.body = P1,
			.body_len = strlen(P1)};
	api_finish(&f->th);
	api_handle(&f->th, &ok, &f->resp);
	assert_int_equal(f->resp.status, 201);
}

/* Distinct image files of the instance this process maps after soukd
 * unlinked them (tmpfs space not given back). */
static int deleted_images_mapped(const char *inst)
{
	char line[512], pat[96], seen[64][128];
	int n = 0;
	FILE *fp = fopen("/proc/self/maps", "r");
	assert_non_null(fp);
	snprintf(pat, sizeof(pat), "/dev/shm/%s.img.", inst);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = strstr(line, pat);
		if (p == NULL || strstr(p, "(deleted)") == NULL)
			continue;
		p[strcspn(p, " \n")] = '\0';
		bool dup = false;
		for (int i = 0; i < n && !dup; i++)
			dup = strcmp(seen[i], p) == 0;
		if (!dup && n < 64)
			snprintf(seen[n++], sizeof(seen[0]), "%s", p);
	}
	fclose(fp);
	return n;
}

/* soukd stopped cleanly (segment and images unlinked) and started again,
 * 20 times: the api follows every new segment, serves a write made after
 * the last one, and keeps no unlinked image mapped. */
static void test_fcgi_api_follows_soukd_across_restarts(void **state)
{
	fix_t *f = *state;
	char body[160], uri[96], seq[32];
	api_seg_stats_t st;
	for (int i = 1; i <= 20; i++) {
		publisher_free(&f->p);
		shm_ctl_free(&f->ctl);
		assert_int_equal(shm_ctl_unlink(f->inst), 0);
		api_housekeeping(&f->api); /* notices the removal */
		api_seg_stats(&f->api, &st);
		assert_true(st.removed);
		assert_int_equal(shm_ctl_create(f->inst, 8, &f->ctl), 0);
		publisher_opts_t po = {0};
		assert_int_equal(publisher_new(f->base, f->s, f->ctl, &po, &f->p), 0);
		assert_int_equal(publisher_catch_up(f->p), 0);
		api_housekeeping(&f->api);
		snprintf(body, sizeof(body),
			 "{\"sku\":\"R-%d\",\"seller\":\"s\",\"category\":\"c\","
			 "\"title\":{\"en\":\"t\"},\"price\":{\"GBP\":%d}}",
			 i, i);
		assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, body), 201);
		snprintf(uri, sizeof(uri), "/api/v1/products/%s", field(f, "id"));
		const char *h = strstr(f->resp.headers.data, "Souk-Seq: ");
		assert_non_null(h);
		snprintf(seq, sizeof(seq), "%.*s", (int)strcspn(h + 10, "\r"), h + 10);
		assert_int_equal(publisher_catch_up(f->p), 0);
		api_req_t rq = {.method = "GET", .uri = uri, .min_seq = seq};
		api_finish(&f->th);
		api_handle(&f->th, &rq, &f->resp);
		assert_int_equal(f->resp.status, 200);
	}
	api_seg_stats(&f->api, &st);
	assert_int_equal(st.reattaches, 20);
	assert_false(st.removed);
	assert_int_equal(st.retired, 0); /* the one thread moved on each time */
	assert_int_equal(deleted_images_mapped(f->inst), 0);
	assert_int_equal(call(f, "GET", "/metrics", NULL, NULL, NULL), 200);
	assert_non_null(strstr(f->resp.body, "\nsouk_fcgi_segment_reattach_total 20\n"));
}

static int count_hit(const char *value, size_t len, const store_id_t *id, void *arg)
{
	(void)value, (void)len, (void)id;
	++*(unsigned *)arg;
	return 0;
}

/* A kind with no code of its own (a table and route rows): warehouses get
 * create, read, list, update, history, revert and archive, staff only, each
 * write in history and the audit log. */
/* A channel is its table: cross-field rules (a default currency among the
 * allowed ones, real ISO 4217 codes, locale tags, no warehouse twice) are
 * named per field, defaults fill the nested settings, the code is unique;
 * sellers likewise. */
static void test_fcgi_api_channel_and_seller_kinds(void **state)
{
	fix_t *f = *state;
	char uri[128];
	const char *UK = "{\"code\":\"uk\",\"name\":\"UK store\",\"hostnames\":[\"shop.example.co.uk\"],"
			 "\"currencies\":{\"default\":\"GBP\",\"allowed\":[\"GBP\"]},"
			 "\"locales\":{\"default\":\"en-GB\",\"fallback\":[\"en\"]}}";
	assert_int_equal(call(f, "POST", "/api/v1/channels", NULL, NULL, UK), 401);
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL,
			      "{\"code\":\"eu\",\"name\":\"EU\","
			      "\"currencies\":{\"default\":\"USD\",\"allowed\":[\"EUR\",\"QQQ\",\"EUR\"]},"
			      "\"locales\":{\"default\":\"de\",\"fallback\":[\"de\",\"de_CH\"]},"
			      "\"tax\":{\"rounding_by_currency\":{\"ZZZ\":\"up\"}},"
			      "\"stock_locations\":[{\"warehouse\":\"0123456789abcdef0123456789abcdef\"},"
			      "{\"warehouse\":\"0123456789abcdef0123456789abcdef\",\"priority\":2}]}"),
			 422);
	char *errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	static const char *const bad[] = {
	    "\"currencies/default\"", "\"currencies/allowed/1\"", "\"currencies/allowed/2\"",
	    "\"locales/fallback/0\"", "\"locales/fallback/1\"",
	    "\"tax/rounding_by_currency/ZZZ\"", "\"stock_locations/1/warehouse\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(errs, bad[i]) == NULL)
			fail_msg("no error for %s in %s", bad[i], errs);
	free(errs);
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, UK), 201);
	json_t *tax = json_object_get(f->body, "tax"), *orders = json_object_get(f->body, "orders");
	assert_string_equal(json_string_value(json_object_get(tax, "rounding")), "half_even");
	assert_true(json_is_false(json_object_get(tax, "prices_include_tax")));
	assert_int_equal(json_integer_value(json_object_get(orders, "reservation_ttl_s")), 900);
	assert_string_equal(field(f, "status"), "active");
	snprintf(uri, sizeof(uri), "/api/v1/channels/%s", field(f, "id"));
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL, UK), 409);
	/* another code, but a host the UK store answers already */
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL,
			      "{\"code\":\"uk2\",\"name\":\"UK 2\",\"hostnames\":[\"b.example\",\"shop.example.co.uk\"],"
			      "\"currencies\":{\"default\":\"GBP\",\"allowed\":[\"GBP\"]},"
			      "\"locales\":{\"default\":\"en\"}}"),
			 409);
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL,
			      "{\"code\":\"uk2\",\"name\":\"UK 2\",\"hostnames\":[\"B.example\",\"c.example\",\"c.example\"],"
			      "\"currencies\":{\"default\":\"GBP\",\"allowed\":[\"GBP\"]},"
			      "\"locales\":{\"default\":\"en\"}}"),
			 422);
	errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	assert_non_null(strstr(errs, "\"hostnames/0\""));
	assert_non_null(strstr(errs, "\"hostnames/2\""));
	free(errs);
	assert_int_equal(call(f, "POST", "/api/v1/channels", AUTH, NULL,
			      "{\"code\":\"uk2\",\"name\":\"UK 2\",\"hostnames\":[\"b.example\"],"
			      "\"currencies\":{\"default\":\"GBP\",\"allowed\":[\"GBP\"]},"
			      "\"locales\":{\"default\":\"en\"}}"),
			 201);
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"",
			      "{\"currencies\":{\"allowed\":[\"EUR\"]}}"),
			 422); /* the default GBP would leave the allowed ones */
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"",
			      "{\"tax\":{\"prices_include_tax\":true}}"),
			 200);
	tax = json_object_get(f->body, "tax");
	assert_true(json_is_true(json_object_get(tax, "prices_include_tax")));
	assert_string_equal(json_string_value(json_object_get(tax, "calculation")), "line");

	assert_int_equal(call(f, "POST", "/api/v1/sellers", AUTH, NULL,
			      "{\"code\":\"house\",\"name\":\"The house\"}"),
			 201);
	assert_string_equal(field(f, "status"), "approved");
	assert_int_equal(call(f, "POST", "/api/v1/sellers", AUTH, NULL,
			      "{\"code\":\"s2\",\"name\":\"\",\"status\":\"open\"}"),
			 422);
	errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	assert_non_null(strstr(errs, "\"name\""));
	assert_non_null(strstr(errs, "\"status\""));
	free(errs);
	assert_int_equal(call(f, "GET", "/api/v1/sellers", AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 1);
}

/* Whether the last answer's problem names field among its errors is want. */
static bool names_errors(fix_t *f, const char *name, bool want)
{
	size_t i;
	json_t *e;
	bool found = false;
	json_array_foreach(json_object_get(f->body, "errors"), i, e)
		found |= strcmp(json_string_value(json_object_get(e, "field")), name) == 0;
	if (found != want)
		fprintf(stderr, "field %s %s among the errors\n", name, want ? "not" : "unexpectedly");
	return found == want;
}

/* Price lists and prices are their tables: a list's currency and country
 * are checked against ISO 4217 and ISO 3166 (422 naming the field), its
 * window must open before it closes, defaults fill seller, kind, scope and
 * priority; a price's tier (list, sku, min_qty) is one unique key, so a
 * second price for the same tier is 409 however its members are ordered,
 * and archiving a price frees its tier. */
static void test_fcgi_api_price_list_and_price_kinds(void **state)
{
	fix_t *f = *state;
	char uri[128], id[33];
	const char *L1 = "{\"code\":\"uk-base\",\"name\":\"UK base\",\"channel\":\"uk\","
			 "\"currency\":\"GBP\"}";
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", NULL, NULL, L1), 401);
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL,
			      "{\"code\":\"eu\",\"name\":\"EU\",\"channel\":\"eu\",\"currency\":\"QQQ\","
			      "\"scope\":{\"country\":\"gb\"},\"valid_from\":\"2027-01-01T00:00:00Z\","
			      "\"valid_until\":\"2027-01-01T00:00:00.000Z\"}"),
			 422);
	assert_true(names_errors(f, "currency", true));
	assert_true(names_errors(f, "scope/country", true));
	assert_true(names_errors(f, "valid_until", true));
	/* two letters, but no country */
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL,
			      "{\"code\":\"eu\",\"name\":\"EU\",\"channel\":\"eu\",\"currency\":\"EUR\","
			      "\"scope\":{\"country\":\"QZ\"}}"),
			 422);
	assert_true(names_errors(f, "scope/country", true));
	assert_true(names_errors(f, "currency", false));
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL, L1), 201);
	assert_string_equal(field(f, "seller"), "house");
	assert_string_equal(field(f, "kind"), "base");
	assert_string_equal(field(f, "status"), "active");
	assert_int_equal(json_integer_value(json_object_get(f->body, "priority")), 0);
	assert_int_equal(json_object_size(json_object_get(f->body, "scope")), 0);
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL, L1), 409);
	assert_int_equal(call(f, "POST", "/api/v1/price-lists", AUTH, NULL,
			      "{\"code\":\"uk-vip\",\"name\":\"UK VIP sale\",\"channel\":\"uk\","
			      "\"currency\":\"GBP\",\"kind\":\"sale\",\"priority\":5,"
			      "\"scope\":{\"customer_group\":\"vip\",\"country\":\"GB\"},"
			      "\"valid_from\":\"2027-01-01T00:00:00+01:00\","
			      "\"valid_until\":\"2027-02-01T00:00:00Z\"}"),
			 201);
	assert_string_equal(field(f, "valid_from"), "2026-12-31T23:00:00.000Z");

	/* prices: one per tier */
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"list\":\"uk-base\",\"sku\":\"A 1\",\"amount\":1000}"),
			 201);
	snprintf(id, sizeof(id), "%s", field(f, "id"));
	assert_int_equal(json_integer_value(json_object_get(f->body, "min_qty")), 1);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"amount\":990,\"min_qty\":1,\"sku\":\"A 1\",\"list\":\"uk-base\"}"),
			 409);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"sku\":\"A 1\",\"list\":\"uk-base\",\"amount\":980}"),
			 409);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"min_qty\":10,\"list\":\"uk-base\",\"sku\":\"A 1\",\"amount\":900}"),
			 201);
	snprintf(uri, sizeof(uri), "/api/v1/prices/%s", field(f, "id"));
	/* the same sku and quantity in another list, another sku in this one */
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"list\":\"uk-vip\",\"sku\":\"A 1\",\"amount\":800}"),
			 201);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"list\":\"uk-base\",\"sku\":\"A 2\",\"amount\":1000}"),
			 201);
	/* moving the 10+ tier onto the 1+ one is a conflict too */
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"min_qty\":1}"), 409);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"list\":\"uk-base\",\"sku\":\"A 3\",\"amount\":-1,\"min_qty\":0}"),
			 422);
	assert_true(names_errors(f, "amount", true));
	assert_true(names_errors(f, "min_qty", true));
	/* prices are indexed by list and by sku in the same transaction */
	store_index_query_t q = {.from = "uk-base", .prefix = "uk-base", .limit = 10};
	unsigned hits = 0;
	assert_int_equal(store_index_scan(f->s, "price", "list", &q, count_hit, &hits, NULL), 0);
	assert_int_equal(hits, 3);
	store_index_query_t qs = {.from = "A 1", .prefix = "A 1", .limit = 10};
	hits = 0;
	assert_int_equal(store_index_scan(f->s, "price", "sku", &qs, count_hit, &hits, NULL), 0);
	assert_int_equal(hits, 3);
	/* an archived price frees its tier */
	snprintf(uri, sizeof(uri), "/api/v1/prices/%s", id);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"1\"", NULL), 204);
	assert_int_equal(call(f, "POST", "/api/v1/prices", AUTH, NULL,
			      "{\"sku\":\"A 1\",\"amount\":950,\"list\":\"uk-base\"}"),
			 201);
	assert_int_equal(call(f, "GET", "/api/v1/prices", NULL, NULL, NULL), 401);
	assert_int_equal(call(f, "GET", "/api/v1/prices", AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 4);
	/* one transaction: the second create of a tier sees the first, and
	 * the whole batch is dropped */
	assert_int_equal(call(f, "POST", "/api/v1/batch", AUTH, NULL,
			      "{\"operations\":["
			      "{\"op\":\"create\",\"kind\":\"price\",\"doc\":"
			      "{\"list\":\"uk-base\",\"sku\":\"B 1\",\"amount\":500,\"min_qty\":3}},"
			      "{\"op\":\"create\",\"kind\":\"price\",\"doc\":"
			      "{\"min_qty\":3,\"amount\":400,\"sku\":\"B 1\",\"list\":\"uk-base\"}}]}"),
			 409);
	assert_non_null(strstr(json_string_value(json_object_get(f->body, "detail")), "tier"));
	assert_int_equal(call(f, "GET", "/api/v1/prices", AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 4);
}

/* The catalog model's kinds through the entity routes: a product type's
 * rules between fields are named per field, its code is unique; categories
 * and collections likewise. */
/* The 422 just answered names each of fields[] in its errors. */
static void expect_field_errors(fix_t *f, const char *const *fields, size_t n)
{
	char *errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	for (size_t i = 0; i < n; i++) {
		char quoted[96];
		snprintf(quoted, sizeof(quoted), "\"%s\"", fields[i]);
		if (errs == NULL || strstr(errs, quoted) == NULL)
			fail_msg("no error for %s in %s", fields[i], errs ? errs : "(none)");
	}
	free(errs);
}

static void test_fcgi_api_catalog_model_kinds(void **state)
{
	fix_t *f = *state;
	char uri[128];
	const char *TYPE = "{\"code\":\"shirt\",\"name\":{\"en\":\"Shirt\"},\"attributes\":["
			   "{\"code\":\"size\",\"name\":{\"en\":\"Size\"},\"type\":\"enum\","
			   "\"variant\":true,\"values\":[{\"code\":\"m\",\"name\":{\"en\":\"M\"}}]}],"
			   "\"options\":[\"size\"]}";
	assert_int_equal(call(f, "POST", "/api/v1/product-types", NULL, NULL, TYPE), 401);
	assert_int_equal(call(f, "POST", "/api/v1/product-types", AUTH, NULL,
			      "{\"code\":\"bad\",\"name\":{\"en\":\"Bad\"},\"attributes\":["
			      "{\"code\":\"w\",\"name\":{\"en\":\"W\"},\"type\":\"text\",\"unit\":\"g\"},"
			      "{\"code\":\"c\",\"name\":{\"en\":\"C\"},\"type\":\"enum\"}],"
			      "\"options\":[\"c\"]}"),
			 422);
	static const char *const bad[] = {"attributes/0/unit", "attributes/1/values", "options/0"};
	expect_field_errors(f, bad, 3);
	assert_int_equal(call(f, "POST", "/api/v1/product-types", AUTH, NULL, TYPE), 201);
	assert_string_equal(field(f, "status"), "active");
	snprintf(uri, sizeof(uri), "/api/v1/product-types/%s", field(f, "id"));
	assert_int_equal(call(f, "POST", "/api/v1/product-types", AUTH, NULL, TYPE), 409);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	assert_string_equal(field(f, "code"), "shirt");
	assert_int_equal(call(f, "GET", "/api/v1/product-types", AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 1);

	assert_int_equal(call(f, "POST", "/api/v1/categories", AUTH, NULL,
			      "{\"code\":\"home\",\"name\":{\"en\":\"Home\"},"
			      "\"slug\":{\"en\":\"Home\"},\"parent\":\"home\"}"),
			 422);
	static const char *const cat[] = {"slug/en", "parent"};
	expect_field_errors(f, cat, 2);
	assert_int_equal(call(f, "POST", "/api/v1/categories", AUTH, NULL,
			      "{\"code\":\"home\",\"name\":{\"en\":\"Home\"}}"),
			 201);
	assert_int_equal(json_integer_value(json_object_get(f->body, "rank")), 0);

	assert_int_equal(call(f, "POST", "/api/v1/collections", AUTH, NULL,
			      "{\"code\":\"sale\",\"name\":{\"en\":\"Sale\"},\"kind\":\"rule\"}"),
			 422);
	static const char *const rule[] = {"rule"};
	expect_field_errors(f, rule, 1);
	assert_int_equal(call(f, "POST", "/api/v1/collections", AUTH, NULL,
			      "{\"code\":\"sale\",\"name\":{\"en\":\"Sale\"},\"kind\":\"rule\","
			      "\"rule\":{\"category\":\"home\"}}"),
			 201);
	assert_true(json_is_true(json_object_get(json_object_get(f->body, "rule"), "descendants")));
}

static void test_fcgi_api_warehouse_kind_from_its_table(void **state)
{
	fix_t *f = *state;
	char uri[128], id[33], id2[33];
	const char *W1 =
	    "{\"code\":\"BER-1\",\"name\":\"Berlin\",\"address\":{\"line1\":\"Hafen 1\","
	    "\"city\":\"Berlin\",\"country\":\"DE\"}}";
	assert_int_equal(call(f, "POST", "/api/v1/warehouses", NULL, NULL, W1), 401);
	assert_int_equal(call(f, "GET", "/api/v1/warehouses", NULL, NULL, NULL), 401);
	/* validation walks the table and names every bad field */
	assert_int_equal(call(f, "POST", "/api/v1/warehouses", AUTH, NULL,
			      "{\"code\":\"a b\",\"type\":\"shed\",\"address\":{\"city\":\"X\"},"
			      "\"sku\":\"1\"}"),
			 422);
	char *errs = json_dumps(json_object_get(f->body, "errors"), JSON_COMPACT);
	static const char *const bad[] = {
	    "\"code\"", "\"name\"", "\"type\"", "\"address/line1\"", "\"address/country\"",
	    "\"sku\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(errs, bad[i]) == NULL)
			fail_msg("no error for %s in %s", bad[i], errs);
	free(errs);
	assert_int_equal(call(f, "POST", "/api/v1/warehouses", AUTH, NULL, W1), 201);
	snprintf(id, sizeof(id), "%s", field(f, "id"));
	assert_string_equal(field(f, "type"), "warehouse"); /* default */
	assert_true(has_header(f, "Location: /api/v1/warehouses/"));
	/* the code is a unique key */
	assert_int_equal(call(f, "POST", "/api/v1/warehouses", AUTH, NULL, W1), 409);
	assert_int_equal(
	    call(f, "POST", "/api/v1/warehouses", AUTH, NULL,
		 "{\"code\":\"HAM-1\",\"name\":\"Hamburg\",\"type\":\"store\","
		 "\"pickup\":true,\"address\":{\"line1\":\"Elbe 2\",\"city\":\"Hamburg\","
		 "\"country\":\"DE\"}}"),
	    201);
	snprintf(id2, sizeof(id2), "%s", field(f, "id"));
	snprintf(uri, sizeof(uri), "/api/v1/warehouses/%s", id);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	assert_string_equal(field(f, "name"), "Berlin");
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"name\":\"Berlin Hafen\"}"), 200);
	assert_string_equal(field(f, "version"), "2");
	assert_int_equal(call(f, "PATCH", uri, AUTH, "\"1\"", "{\"name\":\"stale\"}"), 412);
	/* a page of one, then the next */
	assert_int_equal(call(f, "GET", "/api/v1/warehouses?limit=1", AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 1);
	char next[128];
	snprintf(next, sizeof(next), "/api/v1/warehouses?limit=1&cursor=%s",
		 field(f, "next_cursor"));
	const char *first = json_string_value(
	    json_object_get(json_array_get(json_object_get(f->body, "items"), 0), "id"));
	char first_id[33];
	snprintf(first_id, sizeof(first_id), "%s", first);
	if (call(f, "GET", next, AUTH, NULL, NULL) != 200)
		fail_msg("%s: %.*s", next, (int)f->resp.body_len, f->resp.body);
	json_t *items = json_object_get(f->body, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_not_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
				first_id);
	assert_true(json_is_null(json_object_get(f->body, "next_cursor")));
	/* history, revert, archive */
	snprintf(uri, sizeof(uri), "/api/v1/warehouses/%s/history", id);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	items = json_object_get(f->body, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "actor")),
			    "admin");
	snprintf(uri, sizeof(uri), "/api/v1/warehouses/%s/revert", id);
	assert_int_equal(call(f, "POST", uri, AUTH, "\"2\"", "{\"version\":1}"), 200);
	assert_string_equal(field(f, "name"), "Berlin");
	assert_string_equal(field(f, "version"), "3");
	snprintf(uri, sizeof(uri), "/api/v1/warehouses/%s", id);
	assert_int_equal(call(f, "DELETE", uri, AUTH, "\"3\"", NULL), 204);
	assert_int_equal(call(f, "GET", uri, AUTH, NULL, NULL), 200);
	assert_true(json_is_true(json_object_get(f->body, "archived")));
	assert_int_equal(call(f, "GET", "/api/v1/warehouses", AUTH, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "items")), 1);
	/* the released code may be used again */
	assert_int_equal(call(f, "POST", "/api/v1/warehouses", AUTH, NULL, W1), 201);
	/* the kind table's secondary keys are indexed in the same transaction:
	 * one live store; the archived Berlin left the index, its new twin is in */
	store_index_query_t q = {.from = "store", .prefix = "store", .limit = 10};
	unsigned hits = 0;
	assert_int_equal(store_index_scan(f->s, "warehouse", "type", &q, count_hit, &hits, NULL),
			 0);
	assert_int_equal(hits, 1);
	store_index_query_t qw = {.prefix = "ware", .limit = 10};
	hits = 0;
	assert_int_equal(store_index_scan(f->s, "warehouse", "type", &qw, count_hit, &hits, NULL),
			 0);
	assert_int_equal(hits, 1);
	/* every write is in the audit log, which verifies */
	uint64_t bad_index = 0, size = 0;
	uint8_t root[32];
	assert_int_equal(store_audit_verify(f->s, &bad_index), 0);
	assert_int_equal(store_audit_root(f->s, &size, root), 0);
	assert_int_equal(size, 6);
	(void)id2;
}

/* What soukd's settings provider does on a reload: a delta over the
 * current base carrying the worker settings (set NULL: a damaged section),
 * and the catalog's changes over that base as they are (the catalog did not
 * change). */
static void publish_settings(fix_t *f, const shm_settings_t *set)
{
	shm_ctl_stats_t cs;
	shm_reader_t *r = NULL;
	shm_builder_t *b = NULL;
	const shm_image_t *img;
	uint64_t gen = 0;
	shm_ctl_stats(f->ctl, &cs);
	assert_int_equal(shm_reader_new(f->ctl, &r), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_builder_new_delta(f->ctl, cs.base_generation, &b), 0);
	shm_builder_set_seq(b, shm_image_seq(img));
	for (int i = 0; i < CATALOG_NSECTIONS && cs.base_generation != cs.generation; i++) {
		const void *p;
		size_t len;
		if (shm_image_section_own(img, catalog_section_names[i], &p, &len) != 0) {
			assert_int_equal(i, 0); /* a delta holds all of them or none */
			break;
		}
		assert_int_equal(shm_builder_add(b, catalog_section_names[i], 8, p, len), 0);
	}
	shm_reader_release(r);
	shm_reader_free(&r);
	if (set != NULL) {
		assert_int_equal(settings_build(b, set), 0);
	} else { /* a damaged section */
		static const uint8_t zeros[sizeof(shm_settings_t)];
		assert_int_equal(shm_builder_add(b, SETTINGS_SECTION, 8, zeros, sizeof(zeros)), 0);
	}
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
}

/* A product body (SKU N-<n>) nested depth levels deep, padded with
 * blanks to size bytes. Beyond depth 3 the nesting is in its attributes,
 * which a product refuses (422) once the body is parsed. */
static const char *nested_body(unsigned n, unsigned depth, size_t size)
{
	static char buf[4096];
	size_t len = (size_t)snprintf(buf, sizeof(buf),
				      "{\"sku\":\"N-%u\",\"seller\":\"s1\",\"category\":\"home\","
				      "\"title\":{\"en\":\"Nest\"},\"price\":{\"GBP\":1},"
				      "\"attributes\":{\"k\":[1]",
				      n);
	for (unsigned d = 3; depth > 3 && d <= depth; d++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, ",\"a\":{\"b\":1");
	for (unsigned d = 3; depth > 3 && d <= depth; d++)
		buf[len++] = '}';
	buf[len++] = '}';
	while (len + 2 < size && len + 2 < sizeof(buf))
		buf[len++] = ' ';
	buf[len++] = '}';
	buf[len] = '\0';
	return buf;
}

/* A product write: its status and, when want_detail, its problem's type
 * and detail ("<type> <detail>"). */
static int write_problem(fix_t *f, const char *body, const char *want_detail)
{
	char got[512];
	int st = call(f, "POST", "/api/v1/products", AUTH, NULL, body);
	snprintf(got, sizeof(got), "%s %s", field(f, "type"), field(f, "detail"));
	if (want_detail != NULL)
		assert_string_equal(got, want_detail);
	return st;
}

/* The limits a connection accepted now would get. */
static void check_limits(fix_t *f, uint64_t max_body, unsigned depth, uint64_t wait_ms,
			 uint64_t timeout_ms)
{
	api_limits_t lim;
	api_finish(&f->th);
	api_thread_limits(&f->th, &lim);
	assert_int_equal(lim.max_body, max_body);
	assert_int_equal(lim.max_json_depth, depth);
	assert_int_equal(lim.min_seq_wait_ms, wait_ms);
	assert_int_equal(lim.request_timeout_ms, timeout_ms);
}

#define DEPTH_PROBLEM "https://souk.dev/problems/malformed-request JSON nesting deeper than "
#define SIZE_PROBLEM  "https://souk.dev/problems/payload-too-large the request body is larger than "

/* soukd's worker settings in the image lower max_json_depth and max_body
 * for the next requests: the same problems the start-up limits give; an
 * image without settings (or before any) keeps the start-up limits
 * (api_fix_setup: max_body 4096, max_json_depth 8). */
static void test_fcgi_api_follows_published_worker_settings(void **state)
{
	fix_t *f = *state;
	char uri[96];
	api_req_t big = {.method = "POST",
			 .uri = "/api/v1/products",
			 .authorization = AUTH,
			 .body_too_large = true};

	assert_int_equal(call(f, "POST", "/api/v1/products", AUTH, NULL, P1), 201);
	snprintf(uri, sizeof(uri), "/api/v1/products/%s", field(f, "id"));
	assert_int_equal(publisher_catch_up(f->p), 0);
	check_limits(f, 4096, 8, 50, 0);
	/* the start-up limits: depth 9 and a body over 4096 bytes refused,
	 * depth 5 past the parser (then 422: products are flat), 1500 bytes
	 * taken */
	assert_int_equal(write_problem(f, nested_body(1, 9, 300), DEPTH_PROBLEM "8 levels"), 400);
	assert_int_equal(call_req(f, &big), 413);
	assert_string_equal(field(f, "type"), "https://souk.dev/problems/payload-too-large");
	assert_string_equal(field(f, "detail"), "the request body is larger than 4096 bytes");
	assert_int_equal(write_problem(f, nested_body(1, 5, 300), NULL), 422);
	const char *ok = nested_body(1, 3, 1500);
	assert_int_equal(strlen(ok), 1499);
	assert_int_equal(write_problem(f, ok, NULL), 201);
	assert_int_equal(publisher_catch_up(f->p), 0);

	shm_settings_t set = {.generation = 1,
			      .max_json_depth = 4,
			      .min_seq_wait_ms = 20,
			      .request_timeout_ms = 7000,
			      .max_body = 1024};
	publish_settings(f, &set);
	check_limits(f, 1024, 4, 20, 7000);
	assert_int_equal(write_problem(f, nested_body(2, 5, 300), DEPTH_PROBLEM "4 levels"), 400);
	assert_int_equal(write_problem(f, nested_body(2, 3, 1500), SIZE_PROBLEM "1024 bytes"), 413);
	assert_int_equal(call_req(f, &big), 413);
	assert_string_equal(field(f, "detail"), "the request body is larger than 1024 bytes");
	assert_int_equal(write_problem(f, nested_body(2, 3, 900), NULL), 201);
	/* reads still come from the catalog the delta left as it was */
	assert_int_equal(call(f, "GET", uri, NULL, NULL, NULL), 200);
	assert_string_equal(field(f, "sku"), "A-1");
	assert_int_equal(call(f, "GET", "/api/v1/products/by-sku/N-1", NULL, NULL, NULL), 200);
	assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL), 200);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(f->body, "image"), "products")), 2);

	/* a max_body above the start-up one cannot raise it (arenas) */
	set.generation = 2;
	set.max_body = 1u << 20;
	publish_settings(f, &set);
	check_limits(f, 4096, 4, 20, 7000);
	assert_int_equal(call_req(f, &big), 413);
	assert_string_equal(field(f, "detail"), "the request body is larger than 4096 bytes");
	assert_int_equal(write_problem(f, nested_body(3, 3, 1500), NULL), 201);

	/* the next image without settings: the start-up limits again */
	assert_int_equal(write_problem(f, nested_body(4, 3, 300), NULL), 201);
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(call(f, "GET", "/api/v1/products/by-sku/N-4", NULL, NULL, NULL), 200);
	check_limits(f, 4096, 8, 50, 0);
	assert_int_equal(write_problem(f, nested_body(5, 5, 300), NULL), 422);
	assert_int_equal(write_problem(f, nested_body(5, 9, 300), DEPTH_PROBLEM "8 levels"), 400);

	/* damaged settings: the start-up limits, and the catalog is served */
	publish_settings(f, NULL);
	check_limits(f, 4096, 8, 50, 0);
	assert_int_equal(call(f, "GET", "/api/v1/products/by-sku/N-4", NULL, NULL, NULL), 200);
}

/* Workers re-read their limits when soukd announces a new settings
 * generation in the control segment, and only then: a write does not
 * acquire an image to learn that nothing changed. */
static void test_fcgi_api_limits_follow_the_announced_generation(void **state)
{
	fix_t *f = *state;
	shm_settings_t set = {.generation = 5, .max_json_depth = 4, .max_body = 2048};
	publish_settings(f, &set);
	shm_ctl_set_settings_gen(f->ctl, 5);
	check_limits(f, 2048, 4, 0, 0);
	assert_int_equal(write_problem(f, nested_body(3, 5, 300), DEPTH_PROBLEM "4 levels"), 400);
	/* an image with other settings that soukd has not announced yet */
	set.generation = 6;
	set.max_json_depth = 6;
	publish_settings(f, &set);
	check_limits(f, 2048, 4, 0, 0);
	/* announced: the next request reads them */
	shm_ctl_set_settings_gen(f->ctl, 6);
	check_limits(f, 2048, 6, 0, 0);
	assert_int_equal(write_problem(f, nested_body(3, 5, 300), NULL), 422);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fcgi_api_warehouse_kind_from_its_table,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_channel_and_seller_kinds, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_price_list_and_price_kinds, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_catalog_model_kinds, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_history_and_drafts, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_writes_need_the_bearer_secret,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_create_read_update_revert_delete,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_idempotent_replay_returns_first_result,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_idempotency_key_with_another_body_is_422,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_bad_input_is_a_problem, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_write_answers_the_stored_version,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_follows_soukd_across_restarts,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_reason_is_validated_text, api_fix_setup,
					    api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_follows_published_worker_settings,
					    api_fix_setup, api_fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fcgi_api_limits_follow_the_announced_generation,
					    api_fix_setup, api_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
