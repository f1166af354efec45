/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * tests/unit/api_fixture.h - the REST handlers without a web server: a real
 * store, real shared memory and the real publisher (synchronous catch-up),
 * requests built by hand. Header-only; include after cmocka and the
 * headers below.
 */
#include <event2/event.h>
#include <jansson.h>

#include "daemon/publisher.h"
#include "fcgi/api.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

#define SECRET "0123456789abcdef-secret"
#define AUTH   "Bearer " SECRET

typedef struct {
	char dir[64], db[96], inst[64];
	store_t *s;
	shm_ctl_t *ctl;
	struct event_base *base;
	publisher_t *p;
	api_t api;
	api_thread_t th;
	api_resp_t resp;
	json_t *body;
} fix_t;

static inline int api_fix_setup(void **state)
{
	fix_t *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	if (fixture_tmpdir(f->dir, sizeof(f->dir), "api") != 0 ||
	    fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s) != 0)
		return -1;
	fixture_instance(f->inst, sizeof(f->inst), "api");
	if (shm_ctl_create(f->inst, 8, &f->ctl) != 0)
		return -1;
	f->base = event_base_new();
	publisher_opts_t po = {0};
	if (f->base == NULL || publisher_new(f->base, f->s, f->ctl, &po, &f->p) != 0)
		return -1;
	api_opts_t ao = {.instance = f->inst,
			 .notify_path = "",
			 .max_body = 4096,
			 .max_json_depth = 8,
			 .min_seq_wait_ms = 50,
			 .max_batch = 16};
	if (api_init(&f->api, &ao, f->s, SECRET, strlen(SECRET)) != 0 ||
	    api_thread_init(&f->th, &f->api) != 0)
		return -1;
	*state = f;
	return 0;
}

static inline int api_fix_teardown(void **state)
{
	fix_t *f = *state;
	json_decref(f->body);
	api_finish(&f->th);
	api_thread_deinit(&f->th);
	api_deinit(&f->api);
	publisher_free(&f->p);
	event_base_free(f->base);
	shm_ctl_free(&f->ctl);
	shm_ctl_unlink(f->inst);
	store_close(&f->s);
	if (fixture_rm_rf(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* one request; the previous response's image and arena are released first */
static inline int call_req(fix_t *f, const api_req_t *req)
{
	json_decref(f->body);
	f->body = NULL;
	api_finish(&f->th);
	api_handle(&f->th, req, &f->resp);
	if (f->resp.body_len > 0 && f->resp.content_type != NULL &&
	    strstr(f->resp.content_type, "json") != NULL) {
		json_error_t e;
		f->body = json_loadb(f->resp.body, f->resp.body_len, 0, &e);
		assert_non_null(f->body);
	}
	return f->resp.status;
}

static inline int call(fix_t *f, const char *method, const char *uri, const char *auth,
		       const char *if_match, const char *body)
{
	api_req_t req = {.method = method,
			 .uri = uri,
			 .authorization = auth,
			 .if_match = if_match,
			 .body = body,
			 .body_len = body ? strlen(body) : 0};
	return call_req(f, &req);
}

static inline bool has_header(fix_t *f, const char *line)
{
	return f->resp.headers.data != NULL && strstr(f->resp.headers.data, line) != NULL;
}
