/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api - api_handle() with arbitrary request parameters: method, URI
 * with query, every request header it reads, and the body. A real store
 * (on tmpfs, so its fsyncs are cheap), a control segment and the publisher
 * with a few published products are set up once; each input is one request.
 *
 * Input: byte 0 chooses the method (bits 0-2), the credential (bits 3-4:
 * 0 the Authorization field, 1 the valid admin bearer, 2/3 none), whether
 * the transport saw too large a body (bit 5) and whether an empty field is
 * an empty header (bit 6) or an absent one. The rest is split on '\n' into
 * the URI, Content-Type, If-Match, If-None-Match, Idempotency-Key,
 * Authorization, Souk-Min-Seq, Accept-Language, X-Souk-Reason; what follows
 * the last '\n' is the body. "{id}" in the URI becomes a published product's
 * id. A response must look valid to a client: status 100..599, a problem
 * body with a "type" for >= 400, JSON bodies that parse, no CR or LF inside
 * any header value.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "daemon/publisher.h"
#include "fcgi/api.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

#define SECRET "0123456789abcdef-fuzz-secret"
#define FIELDS 9
#define BODY_MAX 4096u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	char dir[64], db[96], inst[64];
	store_t *s;
	shm_ctl_t *ctl;
	struct event_base *base;
	publisher_t *p;
	api_t api;
	api_thread_t th;
	char id[33];
	bool ready;
} g;

static void cleanup(void)
{
	if (!g.ready)
		return;
	api_finish(&g.th);
	api_thread_deinit(&g.th);
	api_deinit(&g.api);
	publisher_free(&g.p);
	event_base_free(g.base);
	shm_ctl_free(&g.ctl);
	shm_ctl_unlink(g.inst);
	store_close(&g.s);
	fixture_rm_rf(g.dir);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_api, set-up failed (%s)\n", what);
	abort();
}

/* a response header value must not end the header early */
static void check_value(const char *v, size_t n)
{
	if (v != NULL && (memchr(v, '\r', n) != NULL || memchr(v, '\n', n) != NULL))
		abort();
}

static json_t *parse_json(const api_resp_t *resp)
{
	json_error_t e;
	json_t *j = json_loadb(resp->body, resp->body_len, 0, &e);
	if (j == NULL) {
		fprintf(stderr, "status %d, body is not JSON: %.*s\n", resp->status,
			(int)resp->body_len, resp->body);
		abort();
	}
	return j;
}

static void check_resp(const api_resp_t *resp)
{
	if (resp->status < 100 || resp->status > 599 || api_reason(resp->status) == NULL)
		abort();
	if (resp->content_type != NULL)
		check_value(resp->content_type, strlen(resp->content_type));
	if (resp->etag != NULL)
		check_value(resp->etag, strlen(resp->etag));
	if (resp->cache_control != NULL)
		check_value(resp->cache_control, strlen(resp->cache_control));
	/* extra headers: "Name: value\r\n" lines, nothing else */
	const char *h = resp->headers.data;
	const char *end = h != NULL ? h + resp->headers.len : NULL;
	while (h != NULL && h < end) {
		const char *crlf = memmem(h, (size_t)(end - h), "\r\n", 2);
		if (crlf == NULL)
			abort();
		const char *colon = memchr(h, ':', (size_t)(crlf - h));
		if (colon == NULL || colon == h)
			abort();
		check_value(h, (size_t)(crlf - h));
		h = crlf + 2;
	}
	if (resp->body_len > 0 && resp->body == NULL)
		abort();
	if (resp->status >= 400) {
		if (resp->content_type == NULL ||
		    strcmp(resp->content_type, "application/problem+json") != 0)
			abort();
		json_t *j = parse_json(resp);
		if (!json_is_string(json_object_get(j, "type")) ||
		    !json_is_integer(json_object_get(j, "status")) ||
		    json_integer_value(json_object_get(j, "status")) != resp->status)
			abort();
		json_decref(j);
	} else if (resp->body_len > 0 && resp->content_type != NULL &&
		   strstr(resp->content_type, "json") != NULL) {
		json_decref(parse_json(resp));
	}
}

/* one request with the valid bearer during set-up; the response's "id" */
static void setup_post(const char *body, char *id)
{
	api_req_t req = { .method = "POST", .uri = "/api/v1/products",
			  .authorization = "Bearer " SECRET, .body = body,
			  .body_len = strlen(body) };
	api_resp_t resp;
	api_handle(&g.th, &req, &resp);
	if (resp.status != 201)
		die("create a product");
	json_t *j = parse_json(&resp);
	if (id != NULL)
		snprintf(id, 33, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	api_finish(&g.th);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* tmpfs: every commit fsyncs, which costs nothing there */
	snprintf(g.dir, sizeof(g.dir), "/dev/shm/souk-fuzz-api-XXXXXX");
	if (mkdtemp(g.dir) == NULL && fixture_tmpdir(g.dir, sizeof(g.dir), "fuzz-api") != 0)
		die("temporary directory");
	if (fixture_store_open(g.dir, g.db, sizeof(g.db), &g.s) != 0)
		die("store");
	fixture_instance(g.inst, sizeof(g.inst), "fuzz-api");
	if (shm_ctl_create(g.inst, 8, &g.ctl) != 0)
		die("control segment");
	g.base = event_base_new();
	publisher_opts_t po = { 0 };
	if (g.base == NULL || publisher_new(g.base, g.s, g.ctl, &po, &g.p) != 0)
		die("publisher");
	api_opts_t ao = { .instance = g.inst, .notify_path = "", .max_body = BODY_MAX,
			  .max_json_depth = 8, .min_seq_wait_ms = 2, .max_batch = 16 };
	if (api_init(&g.api, &ao, g.s, SECRET, strlen(SECRET)) != 0 ||
	    api_thread_init(&g.th, &g.api) != 0)
		die("api");
	g.ready = true;
	atexit(cleanup);
	setup_post("{\"sku\":\"A-1\",\"seller\":\"s1\",\"category\":\"home\","
		   "\"title\":{\"en\":\"Mug\",\"fr\":\"Tasse\"},\"price\":{\"GBP\":250}}",
		   g.id);
	setup_post("{\"sku\":\"B-2\",\"seller\":\"s1\",\"category\":\"home\","
		   "\"title\":{\"en\":\"Bowl\"},\"price\":{\"GBP\":400,\"EUR\":450},"
		   "\"attributes\":{\"colour\":\"blue\"}}",
		   NULL);
	setup_post("{\"sku\":\"C-3\",\"seller\":\"s2\",\"category\":\"garden\","
		   "\"title\":{\"de\":\"Topf\"},\"price\":{\"EUR\":999}}",
		   NULL);
	if (publisher_catch_up(g.p) != 0)
		die("publish");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PATCH",
					       "DELETE", "PUT", "OPTIONS", NULL };
	if (size == 0)
		return 0;
	uint8_t ctl = data[0];
	/* a copy with room for the id and a NUL after every field */
	char *buf = malloc(size + 64);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	const char *f[FIELDS] = { 0 };
	char *p = buf, *end = buf + size - 1;
	size_t nf = 0;
	for (; nf < FIELDS && p <= end; nf++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) { /* no body: the rest is this field */
			f[nf++] = p;
			p = end + 1;
			break;
		}
		*nl = '\0';
		f[nf] = p;
		p = nl + 1;
	}
	for (size_t i = 0; i < FIELDS; i++)
		if (f[i] != NULL && f[i][0] == '\0' && !(ctl & 0x40))
			f[i] = NULL;

	char uri[API_HEADER_MAX + 64];
	const char *at = f[0] != NULL ? strstr(f[0], "{id}") : NULL;
	if (at != NULL && strlen(f[0]) < API_HEADER_MAX) {
		snprintf(uri, sizeof(uri), "%.*s%s%s", (int)(at - f[0]), f[0], g.id, at + 4);
		f[0] = uri;
	}

	api_req_t req = {
		.method = methods[ctl & 7],
		.uri = f[0],
		.content_type = f[1],
		.if_match = f[2],
		.if_none_match = f[3],
		.idem_key = f[4],
		.authorization = f[5],
		.min_seq = f[6],
		.accept_language = f[7],
		.reason = f[8],
		.body_too_large = (ctl & 0x20) != 0,
	};
	switch ((ctl >> 3) & 3) {
	case 0: break;
	case 1: req.authorization = "Bearer " SECRET; break;
	default: req.authorization = NULL; break;
	}
	if (p <= end) {
		req.body = p;
		req.body_len = (size_t)(end - p);
		if (req.body_len > BODY_MAX) /* the transport stops reading there */
			req.body_len = BODY_MAX, req.body_too_large = true;
	}

	api_resp_t resp;
	api_handle(&g.th, &req, &resp);
	check_resp(&resp);
	api_finish(&g.th);
	free(buf);
	return 0;
}
