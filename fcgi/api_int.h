/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/api_int.h - what fcgi/api.c offers the handler files (fcgi/h_*.c):
 * problem answers, response headers, request helpers and the image of the
 * request. Not for the transport (fcgi/api.h is its interface).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/problem.h"
#include "fcgi/api.h"
#include "fcgi/router.h"
#include "domain/catalog/sections.h"
#include "domain/catalog/category_image.h"
#include "domain/channel/sections.h"
#include "domain/pricing/sections.h"
#include "store/store.h"

#define API_LIST_DEFAULT 50  /* items of a page without ?limit= */
#define API_LIST_MAX	 200 /* most items of a page */

/* ---- answers ---- */
/* A problem (RFC 9457) as the whole answer. */
void api_problem(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const problem_t *p);
void api_fail(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int status,
	      const char *slug, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* 500 naming rc, or 503 for a dead store (the restarted worker serves it). */
void api_internal(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int rc);
/* 503 with Retry-After and detail. */
void api_unavailable_why(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 const char *detail);
/* 503 for a commit that failed (or the dead-store answer). */
void api_unavailable(api_thread_t *th, const api_req_t *req, api_resp_t *resp, int rc);
/* 422: an Idempotency-Key reused with another request. */
void api_idem_reused(api_thread_t *th, const api_req_t *req, api_resp_t *resp);
/* 400 with the query parameters p names. */
void api_bad_query(api_thread_t *th, const api_req_t *req, api_resp_t *resp, problem_t *p);
void api_resp_json(api_resp_t *resp, int status, const char *body, size_t len);
void api_resp_header(api_thread_t *th, api_resp_t *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "Name: v" or "Name: \"v\"" (an ETag) without printf: the read path's headers. */
void api_resp_header_u64(api_resp_t *resp, const char *name, uint64_t v, bool quoted);

/* ---- requests ---- */
/* The JSON object body (Content-Type checked, the published depth limit);
 * NULL once a problem is sent. A new reference. */
json_t *api_read_body(api_thread_t *th, const api_req_t *req, api_resp_t *resp);
/* ?limit= of a page: 1..API_LIST_MAX, else a field error in p. */
void api_query_limit(const char *query, size_t query_len, uint64_t *limit, problem_t *p);
/* The locales the request prefers, as the catalog's priority list ("de,fr"):
 * ?locale= (one tag), else Accept-Language by q-value; NULL = default. */
const char *api_req_locale(api_thread_t *th, const api_req_t *req, const char *query,
			   size_t query_len);
/* The request's channel in img (domain/channel/sections.h: X-Souk-Channel,
 * then the host, then the configured default): 0 and *out (NULL when the
 * mall has no channels), with a Souk-Channel header naming it; else a
 * negative code once a 404 channel-unknown problem (or a 503) is sent. */
int api_req_channel(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		    const shm_image_t *img, const channel_rec_t **out);
/* The priority list a channel's reads use for a request's locales (list,
 * from api_req_locale): the channel locale the request prefers (else the
 * channel's default), then the channel's default and fallback chain; list
 * unchanged when c is NULL. *picked (may be NULL) gets that channel locale
 * (NULL without a channel). */
const char *api_channel_locale(api_thread_t *th, const channel_rec_t *c, const char *list,
			       const char **picked);
/* The entity id in the route; false once a 404 problem is sent. */
bool api_route_entity_id(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 const route_t *rt, store_id_t *id);

/* ---- the image ---- */
/* Acquire the current image's catalog view, waiting (bounded) for
 * Souk-Min-Seq: 0, or a negative code once a problem is sent. A sequence
 * not committed yet is refused at once; at most max_waiters threads wait,
 * the others are answered 503. */
int api_get_view(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
		 const catalog_view_t **view);
/* A public read: ETag, a short public max-age, Vary (the locale may come
 * from Accept-Language). true when If-None-Match names the tag: then the
 * answer is a 304 without a body. */
bool api_public_read(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const char *etag,
		     size_t etag_len);
/* The list's ETag from the image (change sequence and creation time); true
 * when If-None-Match names it (a 304 is sent). */
bool api_list_not_modified(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			   const catalog_view_t *view);
