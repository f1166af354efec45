/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi/h_collection.c - active collections for shoppers, from the image
 * (domain/catalog/collection_image.h), no LMDB:
 *   GET /api/v1/collections/by-code/{code}           the collection in the
 *       request's locale (the channel's fallback chain)
 *   GET /api/v1/collections/by-code/{code}/products  a cursor page of its
 *       products in its order, each rendered as the product list renders
 *       it (fcgi/catalog_int.h) in the request's channel, locale and
 *       currency; members the channel does not serve are skipped.
 * A draft or archived collection is not in the image: 404, as for a code
 * that never existed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/error.h"
#include "common/problem.h"
#include "common/time.h"
#include "common/util.h"
#include "domain/catalog/collection_image.h"
#include "fcgi/api_int.h"
#include "fcgi/arena.h"
#include "fcgi/catalog_int.h"
#include "fcgi/handlers.h"
#include "fcgi/pricing_int.h"

bool catalog_hit_id(const catalog_hit_t *h, store_id_t *id)
{
	/* renderings begin {"id":"<32 hex>" (domain/catalog/render.h) */
	static const char lead[] = "{\"id\":\"";
	const size_t n = sizeof(lead) - 1;
	char hex[33];
	if (h->len < n + 33 || memcmp(h->json, lead, n) != 0 || h->json[n + 32] != '"')
		return false;
	memcpy(hex, h->json + n, 32);
	hex[32] = '\0';
	return store_id_parse(hex, id) == 0;
}

/* The image's collections and the one the route names: false once a 404
 * (or a 500) is sent. */
static bool find(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt,
		 const catalog_view_t *view, const col_view_t **cv, uint32_t *i)
{
	const void *v = NULL;
	int rc = shm_image_view(view->img, th->seg->collection_view, &v);
	if (rc != 0) {
		api_internal(th, req, resp, rc);
		return false;
	}
	*cv = v;
	*i = (*cv)->n ? col_find(*cv, rt->sku, rt->sku_len) : COL_IMG_NONE;
	if (*i == COL_IMG_NONE) {
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such collection");
		return false;
	}
	return true;
}

/* A page's ETag from its bytes, or the image's list tag without a channel;
 * true when a 304 went out. */
static bool not_modified(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			 const catalog_view_t *view, const sbuf_t *b, bool personal)
{
	char etag[48];
	int en = snprintf(etag, sizeof(etag), "\"C%" PRIu64 ".%016llx\"", view->seq,
			  (unsigned long long)XXH3_64bits(b->data, b->len));
	if (personal) {
		resp->cache_control = "private, no-store";
		return false;
	}
	return api_public_read(th, req, resp, etag, (size_t)en);
}

API_HANDLER(h_collection_get)
{
	const catalog_view_t *view;
	const channel_rec_t *chan;
	const col_view_t *cv;
	uint32_t i;
	if (api_get_view(th, req, resp, &view) != 0 ||
	    api_req_channel(th, req, resp, view->img, &chan) != 0 ||
	    !find(th, req, resp, rt, view, &cv, &i))
		return;
	const char *want = api_req_locale(th, req, query, query_len);
	const char *list = api_channel_locale(th, chan, want, NULL);
	const char *served;
	bool rtl;
	const char *name = col_name(cv, i, list, list ? strlen(list) : 0, &served, &rtl);
	const col_rec_t *x = &cv->recs[i];
	sbuf_t b;
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"code\":");
	sbuf_add_json_str(&b, col_code(cv, i), x->code_len);
	sbuf_adds(&b, x->kind == COL_KIND_RULE ? ",\"kind\":\"rule\",\"name\":"
					       : ",\"kind\":\"manual\",\"name\":");
	sbuf_add_json_str(&b, name, strlen(name));
	if (served[0]) {
		sbuf_adds(&b, ",\"locale\":");
		sbuf_add_json_str(&b, served, strlen(served));
	}
	sbuf_adds(&b, rtl ? ",\"dir\":\"rtl\",\"names\":{" : ",\"dir\":\"ltr\",\"names\":{");
	for (uint32_t k = 0; k < x->nnames; k++) {
		const col_name_t *nm = &cv->names[x->names_first + k];
		const char *loc = cv->str + nm->locale_off, *txt = cv->str + nm->name_off;
		if (k)
			sbuf_adds(&b, ",");
		sbuf_add_json_str(&b, loc, strlen(loc));
		sbuf_adds(&b, ":");
		sbuf_add_json_str(&b, txt, strlen(txt));
	}
	sbuf_adds(&b, "}");
	/* the tag names the content, not the image it came from */
	char etag[40];
	int en = snprintf(etag, sizeof(etag), "\"c%016llx\"",
			  (unsigned long long)XXH3_64bits(b.data, b.len));
	sbuf_printf(&b, ",\"seq\":%" PRIu64 "}", view->seq);
	if (b.failed) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	bool same = api_public_read(th, req, resp, etag, (size_t)en);
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
	if (!same)
		api_resp_json(resp, 200, b.data, b.len);
}

API_HANDLER(h_collection_products)
{
	char cursor[COL_CURSOR_MAX + 1];
	size_t n;
	uint64_t limit = API_LIST_DEFAULT;
	uint32_t pos = 0, i;
	store_id_t after;
	problem_t p;
	const catalog_view_t *view;
	const channel_rec_t *chan;
	const col_view_t *cv;
	problem_init(&p);
	api_query_limit(query, query_len, &limit, &p);
	int rc = query_get(query, query_len, "cursor", cursor, sizeof(cursor), &n);
	bool have_cursor = rc == 0 && n > 0;
	if ((have_cursor && col_cursor_parse(cursor, n, &pos, &after) != 0) ||
	    (rc != 0 && rc != SOUK_ENOENT))
		problem_field(&p, "cursor", "is not a cursor returned by this API");
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
		return;
	}
	if (api_get_view(th, req, resp, &view) != 0 ||
	    api_req_channel(th, req, resp, view->img, &chan) != 0 ||
	    !find(th, req, resp, rt, view, &cv, &i))
		return;
	catalog_list_ctx_t l = {.n = 0};
	price_req_t pr = {.personal = false};
	if (chan != NULL &&
	    !catalog_list_channel(th, req, resp, query, query_len, view, chan, &l, &pr))
		return;
	const char *want = api_req_locale(th, req, query, query_len);
	const char *locale = api_channel_locale(th, chan, want, chan ? &pr.locale : NULL);
	catalog_scope_t scope = {.channel = chan ? chan->code : NULL,
				 .now_ms = (int64_t)souk_now_real_ms()};
	sbuf_t b, spare;
	sbuf_init(&b, th->arena);
	sbuf_init(&spare, th->arena);
	sbuf_adds(&b, "{\"items\":[");
	l.b = &b;
	const col_rec_t *x = &cv->recs[i];
	uint32_t first = x->members_first, end = first + x->nmembers, last = COL_IMG_NONE;
	uint32_t m = have_cursor ? col_resume(cv, i, pos, &after) : first;
	bool more = false;
	rc = 0; /* an empty walk is a page too */
	uint32_t examined = 0;
	for (; m < end; m++) {
		catalog_hit_t hit;
		if (++examined > CATALOG_SCAN_MAX && last != COL_IMG_NONE) {
			more = true; /* bounded as the product list: a short page */
			break;
		}
		rc = catalog_get_in(view, &scope, &cv->members[m], locale, &hit);
		if (rc == SOUK_ENOENT || (rc == 0 && !hit.listed)) {
			rc = 0;
			last = m; /* the next page starts after it all the same */
			continue; /* not served in this channel (draft, archived, not
				   * published there) or kept out of its lists */
		}
		if (rc == 0 && l.n == limit) {
			/* is there a next page? the item is rendered aside */
			catalog_list_ctx_t ahead = l;
			spare.len = 0;
			ahead.b = &spare;
			ahead.n = 0;
			rc = catalog_list_item(&hit, &ahead);
			more = rc == 0;
			if (rc != CATALOG_SKIP)
				break;
			continue;
		}
		if (rc == 0)
			rc = catalog_list_item(&hit, &l);
		if (rc == CATALOG_SKIP) {
			last = m;
			continue;
		}
		if (rc != 0)
			break;
		last = m;
	}
	if ((rc != 0 && rc != CATALOG_SKIP) || b.failed) {
		api_internal(th, req, resp, rc && rc != CATALOG_SKIP ? rc : SOUK_ENOMEM);
		return;
	}
	sbuf_adds(&b, "],\"next_cursor\":");
	if (more && last != COL_IMG_NONE) {
		char next[COL_CURSOR_MAX];
		col_cursor_make(last - first, &cv->members[last], next);
		sbuf_printf(&b, "\"%s\"", next);
	} else {
		sbuf_adds(&b, "null");
	}
	sbuf_adds(&b, ",\"collection\":");
	sbuf_add_json_str(&b, col_code(cv, i), x->code_len);
	sbuf_printf(&b, ",\"seq\":%" PRIu64 "}", view->seq);
	if (b.failed) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	bool same = not_modified(th, req, resp, view, &b, pr.personal);
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
	if (!same)
		api_resp_json(resp, 200, b.data, b.len);
}
