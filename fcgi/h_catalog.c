/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi/h_catalog.c - the catalog's public reads, served from the image
 * (domain/catalog/sections.h): a product by id or by SKU in the request's locale, and
 * cursor pages of the catalog, optionally of one category. No LMDB on this
 * path: one bound view per image, a lookup and a copy of JSON rendered at
 * publish time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/problem.h"
#include "common/time.h"
#include "common/util.h"
#include "fcgi/api_int.h"
#include "fcgi/arena.h"
#include "fcgi/handlers.h"
#include "model/model.h"
#include "domain/catalog/product.h"
#include "domain/catalog/sections.h"

API_HANDLER(h_catalog_get)
{
	const catalog_view_t *view;
	store_id_t id;
	const char *json = NULL;
	size_t len = 0;
	uint64_t version = 0;
	int rc;
	const channel_rec_t *chan;
	if (api_get_view(th, req, resp, &view) != 0 ||
	    api_req_channel(th, req, resp, view->img, &chan) != 0)
		return;
	const char *locale = api_channel_locale(th, chan, api_req_locale(th, req, query, query_len));
	catalog_scope_t scope = {.channel = chan ? chan->code : NULL,
				 .now_ms = (int64_t)souk_now_real_ms()};
	bool buy = true;
	if (rt->id == ROUTE_PRODUCT_BY_SKU) {
		rc = catalog_get_by_sku_in(view, &scope, rt->sku, rt->sku_len, locale, &json, &len,
					   &version, &buy);
	} else {
		if (!api_route_entity_id(th, req, resp, rt, &id))
			return;
		rc = catalog_get_in(view, &scope, &id, locale, &json, &len, &version, &buy);
	}
	if (rc == SOUK_ENOENT) {
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such product");
		return;
	}
	if (rc != 0) {
		api_internal(th, req, resp, rc);
		return;
	}
	/* in a channel: the tag names it and whether the product can be bought
	 * now, which changes with the clock and not with the version */
	char etag[SOUK_U64_DEC_MAX + CHANNEL_CODE_MAX + 8];
	size_t n = souk_u64_dec(version, etag + 1);
	etag[0] = '"';
	n++;
	if (chan != NULL)
		n += (size_t)snprintf(etag + n, sizeof(etag) - n, ".%s%s", chan->code, buy ? "" : ".np");
	etag[n++] = '"';
	bool same = api_public_read(th, req, resp, etag, n);
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
	if (same)
		return;
	if (chan == NULL) {
		api_resp_json(resp, 200, json, len);
		return;
	}
	/* the rendering ends with '}': the channel's answer adds purchasable */
	static const char yes[] = ",\"purchasable\":true}", no[] = ",\"purchasable\":false}";
	size_t extra = buy ? sizeof(yes) - 1 : sizeof(no) - 1;
	char *body = len > 1 ? arena_alloc(th->arena, len - 1 + extra) : NULL;
	if (body == NULL) {
		api_internal(th, req, resp, len > 1 ? SOUK_ENOMEM : SOUK_ECORRUPT);
		return;
	}
	memcpy(body, json, len - 1);
	memcpy(body + len - 1, buy ? yes : no, extra);
	api_resp_json(resp, 200, body, len - 1 + extra);
}

typedef struct {
	sbuf_t *b;
	unsigned n;
} list_ctx_t;

static int list_cb(const char *json, size_t len, void *arg)
{
	list_ctx_t *l = arg;
	if (l->n++ > 0)
		sbuf_add(l->b, ",", 1);
	sbuf_add(l->b, json, len);
	return l->b->failed ? SOUK_ENOMEM : 0;
}

API_HANDLER(h_catalog_list)
{
	char category[PRODUCT_NAME_MAX + 1], cursor[CATALOG_CURSOR_MAX];
	size_t n;
	uint64_t limit = API_LIST_DEFAULT;
	problem_t p;
	const catalog_view_t *view;
	problem_init(&p);
	bool have_cat = false, have_cursor = false;
	int rc = query_get(query, query_len, "category", category, sizeof(category), &n);
	if (rc == 0) {
		if (!product_name_valid(category, n, PRODUCT_NAME_MAX))
			problem_field(&p, "category", "is not a category name");
		have_cat = true;
	} else if (rc != SOUK_ENOENT) {
		problem_field(&p, "category", "is not a category name");
	}
	api_query_limit(query, query_len, &limit, &p);
	rc = query_get(query, query_len, "cursor", cursor, sizeof(cursor), &n);
	if (rc == 0 && n > 0) {
		have_cursor = true; /* catalog_list checks its form */
	} else if (rc != 0 && rc != SOUK_ENOENT) {
		problem_field(&p, "cursor", "is not a cursor returned by this API");
	}
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
		return;
	}
	const channel_rec_t *chan;
	if (api_get_view(th, req, resp, &view) != 0 ||
	    api_req_channel(th, req, resp, view->img, &chan) != 0 ||
	    api_list_not_modified(th, req, resp, view))
		return;
	const char *locale = api_channel_locale(th, chan, api_req_locale(th, req, query, query_len));
	sbuf_t b;
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"items\":[");
	list_ctx_t l = {.b = &b, .n = 0};
	char next[CATALOG_CURSOR_MAX] = "";
	catalog_scope_t scope = {.channel = chan ? chan->code : NULL,
				 .now_ms = (int64_t)souk_now_real_ms()};
	rc = catalog_list_in(view, &scope, have_cat ? category : NULL, have_cursor ? cursor : NULL,
			     (uint32_t)limit, locale, list_cb, &l, next);
	if (rc == SOUK_ENOENT || rc == SOUK_EINVAL) {
		problem_field(&p, "cursor",
			      rc == SOUK_EINVAL ? "is not a cursor returned by this API"
						: "names a product no longer in the catalog; start "
						  "again without it");
		api_bad_query(th, req, resp, &p);
		return;
	}
	if (rc != 0 || b.failed) {
		api_internal(th, req, resp, rc ? rc : SOUK_ENOMEM);
		return;
	}
	sbuf_adds(&b, "],\"next_cursor\":");
	if (next[0])
		sbuf_printf(&b, "\"%s\"", next);
	else
		sbuf_adds(&b, "null");
	sbuf_printf(&b, ",\"seq\":%" PRIu64 "}", view->seq);
	if (b.failed) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
	api_resp_json(resp, 200, b.data, b.len);
}
