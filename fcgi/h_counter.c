/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi/h_counter.c - counters over HTTP:
 *   GET  /api/v1/counters/{name}       {"name","value"}
 *   POST /api/v1/counters/{name}/add   {"delta":-1,"floor":0,"ceiling":N}
 * An add is a unit of work in the group commit: it never conflicts with
 * concurrent adds (they run one after another inside the batch), and a
 * floor or ceiling refusal is a 409 counter-limit problem.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "fcgi/api_int.h"
#include "fcgi/arena.h"
#include "fcgi/commit.h"
#include "fcgi/handlers.h"
#include "store/store.h"

static void counter_problem(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int status,
			    const char *slug, const char *title, const char *detail)
{
	problem_t p;
	problem_init(&p);
	problem_set(&p, status, slug, title, "%s", detail);
	api_problem(th, req, resp, &p);
}

static bool counter_name(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 const route_t *rt)
{
	if (store_counter_name_ok(rt->sku, rt->sku_len))
		return true;
	counter_problem(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found",
			"a counter name is 1 to 64 of A-Z a-z 0-9 . _ : -");
	return false;
}

static void counter_answer(api_thread_t *th, api_resp_t *resp, const route_t *rt, int64_t v)
{
	sbuf_t b;
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"name\":");
	sbuf_add_json_str(&b, rt->sku, rt->sku_len);
	sbuf_printf(&b, ",\"value\":%" PRId64 "}", v);
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body = b.data;
	resp->body_len = b.failed ? 0 : b.len;
}

API_HANDLER(h_counter_get)
{
	int64_t v = 0;
	if (!counter_name(th, req, resp, rt))
		return;
	int rc = store_counter_get(th->api->store, rt->sku, rt->sku_len, &v);
	if (rc == SOUK_ENOENT) {
		counter_problem(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found",
				"no such counter");
		return;
	}
	if (rc != 0) {
		api_unavailable(th, req, resp, rc);
		return;
	}
	counter_answer(th, resp, rt, v);
}

typedef struct {
	const char *name;
	size_t name_len;
	int64_t delta, floor, ceiling, value;
} counter_add_t;

static int add_unit(store_txn_t *t, void *arg)
{
	counter_add_t *a = arg;
	return store_counter_add(t, a->name, a->name_len, a->delta, a->floor, a->ceiling,
				 &a->value);
}

/* An optional integer member into *out; false (and a field error) when it
 * is there but not an integer. */
static bool int_member(const json_t *doc, const char *name, int64_t *out, bool required,
		       problem_t *p)
{
	json_t *v = json_object_get(doc, name);
	if (v == NULL && !required)
		return true;
	if (!json_is_integer(v)) {
		problem_field(p, name, "an integer is required");
		return false;
	}
	*out = (int64_t)json_integer_value(v);
	return true;
}

API_HANDLER(h_counter_add)
{
	counter_add_t a = { .name = rt->sku, .name_len = rt->sku_len, .floor = INT64_MIN,
			    .ceiling = INT64_MAX };
	problem_t p;
	if (!counter_name(th, req, resp, rt))
		return;
	json_t *doc = api_read_body(th, req, resp);
	if (doc == NULL)
		return;
	problem_init(&p);
	if (!json_is_object(doc))
		problem_field(&p, "", "an object {\"delta\":N} is required");
	else {
		int_member(doc, "delta", &a.delta, true, &p);
		int_member(doc, "floor", &a.floor, false, &p);
		int_member(doc, "ceiling", &a.ceiling, false, &p);
		if (p.status == 0 && a.floor > a.ceiling)
			problem_field(&p, "floor", "must not be above the ceiling");
	}
	json_decref(doc);
	if (p.status != 0) {
		api_problem(th, req, resp, &p);
		return;
	}
	int result = 0;
	int rc = commit_submit_unit(th->api->commit, add_unit, &a, th->principal.id, &result);
	if (rc != 0) {
		api_unavailable(th, req, resp, rc);
		return;
	}
	if (result == SOUK_ELIMIT) {
		char d[200];
		snprintf(d, sizeof(d), "adding %" PRId64 " would leave the range %" PRId64
			 "..%" PRId64 "; nothing was changed", a.delta, a.floor, a.ceiling);
		counter_problem(th, req, resp, 409, PROBLEM_COUNTER_LIMIT, "Counter limit", d);
		return;
	}
	if (result != 0) {
		api_unavailable(th, req, resp, result);
		return;
	}
	counter_answer(th, resp, rt, a.value);
}
