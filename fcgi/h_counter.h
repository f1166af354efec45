/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/h_counter.h - counters over HTTP:
 *   GET  /api/v1/counters/{name}       {"name","value"}
 *   POST /api/v1/counters/{name}/add   {"delta":-1,"floor":0,"ceiling":N}
 * An add is a unit of work in the group commit: it never conflicts with
 * concurrent adds (they run one after another inside the batch), and a
 * floor or ceiling refusal is a 409 counter-limit problem.
 */
#include <jansson.h>

#include "common/problem.h"
#include "fcgi/api.h"
#include "fcgi/router.h"

void h_counter_get(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt);
void h_counter_add(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt);

/* POST /api/v1/batch (fcgi/h_batch.c): operations as one unit of work. */
void h_batch(api_thread_t *th, const api_req_t *req, api_resp_t *resp);

/* api.c's response helpers, for handlers in their own files. */
void api_problem(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const problem_t *p);
json_t *api_read_body(api_thread_t *th, const api_req_t *req, api_resp_t *resp);
/* 503 for a commit that failed (or the dead-store answer). */
void api_unavailable(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int rc);
