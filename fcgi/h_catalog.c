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
#include <xxhash.h>

#include "common/error.h"
#include "common/problem.h"
#include "common/time.h"
#include "common/util.h"
#include "fcgi/api_int.h"
#include "fcgi/arena.h"
#include "fcgi/catalog_int.h"
#include "fcgi/handlers.h"
#include "fcgi/pricing_int.h"
#include "model/model.h"
#include "domain/catalog/collection.h"
#include "domain/catalog/product.h"
#include "domain/catalog/sections.h"

/* The image's category tree (an empty view when it has none). */
static const ctg_view_t *categories(api_thread_t *th, const catalog_view_t *view)
{
	const void *cv = NULL;
	if (shm_image_view(view->img, th->seg->category_view, &cv) != 0)
		return NULL;
	return cv;
}

/* ,"breadcrumbs":[{"code","name"}...] from the root to the product's
 * category (node i of the tree), names in the request's locales; nothing
 * for CATEGORY_IMG_NONE (a category not in the tree). */
static void breadcrumbs(sbuf_t *b, const ctg_view_t *cv, uint32_t i, const char *locale)
{
	uint32_t path[CATEGORY_IMG_DEPTH_MAX];
	if (i == CATEGORY_IMG_NONE)
		return;
	size_t n = ctg_path(cv, i, path), ll = locale ? strlen(locale) : 0;
	sbuf_adds(b, ",\"breadcrumbs\":[");
	for (size_t k = 0; k < n; k++) {
		const char *name = ctg_name(cv, path[k], locale, ll);
		sbuf_adds(b, k ? ",{\"code\":" : "{\"code\":");
		sbuf_add_json_str(b, ctg_code(cv, path[k]), cv->nodes[path[k]].code_len);
		sbuf_adds(b, ",\"name\":");
		sbuf_add_json_str(b, name, strlen(name));
		sbuf_adds(b, "}");
	}
	sbuf_adds(b, "]");
}

/* ,"selected_variant":"SKU" for a read by a variant's SKU */
static void selected_variant(sbuf_t *b, const catalog_hit_t *h, const catalog_variant_t *v)
{
	if (h->variant < 0)
		return;
	sbuf_adds(b, ",\"selected_variant\":");
	sbuf_add_json_str(b, v->sku, v->sku_len);
}

API_HANDLER(h_catalog_get)
{
	const catalog_view_t *view;
	store_id_t id;
	catalog_hit_t hit;
	int rc;
	const channel_rec_t *chan;
	if (api_get_view(th, req, resp, &view) != 0 ||
	    api_req_channel(th, req, resp, view->img, &chan) != 0)
		return;
	price_req_t pr;
	if (chan && !price_request(th, req, resp, query, query_len, chan, NULL, &pr))
		return;
	const char *want = api_req_locale(th, req, query, query_len);
	const char *locale = api_channel_locale(th, chan, want, chan ? &pr.locale : NULL);
	catalog_scope_t scope = {.channel = chan ? chan->code : NULL,
				 .now_ms = (int64_t)souk_now_real_ms()};
	if (rt->id == ROUTE_PRODUCT_BY_SKU) {
		rc = catalog_get_by_sku_in(view, &scope, rt->sku, rt->sku_len, locale, &hit);
	} else {
		if (!api_route_entity_id(th, req, resp, rt, &id))
			return;
		rc = catalog_get_in(view, &scope, &id, locale, &hit);
	}
	if (rc == SOUK_ENOENT) {
		api_fail(th, req, resp, 404, PROBLEM_NOT_FOUND, "Not found", "no such product");
		return;
	}
	if (rc != 0) {
		api_internal(th, req, resp, rc);
		return;
	}
	const ctg_view_t *cv = categories(th, view);
	uint32_t node = cv && cv->n ? ctg_find(cv, hit.category, hit.category_len)
				    : CATEGORY_IMG_NONE;
	bool crumbs = node != CATEGORY_IMG_NONE;
	catalog_variant_t sel;
	if (hit.variant >= 0 && (rc = catalog_hit_variant(&hit, (uint32_t)hit.variant, &sel)) != 0) {
		api_internal(th, req, resp, rc);
		return;
	}
	if (chan == NULL && !crumbs && hit.variant < 0) {
		char etag[SOUK_U64_DEC_MAX + 2];
		size_t n = souk_u64_dec(hit.version, etag + 1);
		etag[0] = etag[n + 1] = '"';
		bool same = api_public_read(th, req, resp, etag, n + 2);
		api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
		if (!same)
			api_resp_json(resp, 200, hit.json, hit.len);
		return;
	}
	if (chan == NULL) {
		/* the rendering and its breadcrumbs, which follow the tree (the
		 * image's sequence is in the tag) */
		sbuf_t b;
		sbuf_init(&b, th->arena);
		if (hit.len < 2) {
			api_internal(th, req, resp, SOUK_ECORRUPT);
			return;
		}
		sbuf_add(&b, hit.json, hit.len - 1);
		selected_variant(&b, &hit, &sel);
		breadcrumbs(&b, cv, node, locale);
		sbuf_adds(&b, "}");
		char etag[64];
		int en = snprintf(etag, sizeof(etag), "\"%llu.c%016llx\"",
				  (unsigned long long)hit.version,
				  (unsigned long long)XXH3_64bits(b.data, b.len));
		bool same = !b.failed && api_public_read(th, req, resp, etag, (size_t)en);
		api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
		if (b.failed)
			api_internal(th, req, resp, SOUK_ENOMEM);
		else if (!same)
			api_resp_json(resp, 200, b.data, b.len);
		return;
	}
	/* in a channel: the rendering (it ends with '}') and what the request
	 * adds: whether it can be bought now and its price */
	const void *pv = NULL;
	sbuf_t b;
	uint64_t tag = 0, vtag = 0;
	sbuf_init(&b, th->arena);
	if (hit.len < 2 || shm_image_view(view->img, th->seg->pricing_view, &pv) != 0) {
		api_internal(th, req, resp, SOUK_ECORRUPT);
		return;
	}
	/* the product's price, and a selected variant's (its own, else the
	 * product's); each variant in the rendering gets its own */
	price_found_t *pf = NULL, *vf = NULL;
	int prc = 0, vrc = SOUK_ENOENT;
	bool pfound = false;
	if (hit.nvars || hit.variant >= 0) {
		pf = arena_alloc(th->arena, sizeof(*pf));
		vf = arena_alloc(th->arena, sizeof(*vf));
		if (!pf || !vf) {
			api_internal(th, req, resp, SOUK_ENOMEM);
			return;
		}
		prc = price_find(pv, chan, &hit, &pr, pf);
		pfound = prc == 0;
		if (prc == 0 || prc == SOUK_ENOENT)
			prc = price_variants(&b, pv, chan, &hit, pf, pfound, &pr, vf, &vtag);
		if (prc == 0 && hit.variant >= 0)
			vrc = price_find_variant(pv, chan, &hit, &sel, &pr, vf);
		if (prc != 0 || (vrc != 0 && vrc != SOUK_ENOENT)) {
			api_internal(th, req, resp, prc ? prc : vrc);
			return;
		}
	} else {
		sbuf_add(&b, hit.json, hit.len - 1);
	}
	sbuf_adds(&b, hit.purchasable ? ",\"purchasable\":true" : ",\"purchasable\":false");
	selected_variant(&b, &hit, &sel);
	breadcrumbs(&b, cv, node, locale);
	if (pf) {
		bool own = vrc == 0;
		price_member_of(&b, pricing_channel(pv, chan->code), own ? vf : pf, own || pfound,
				&pr, &tag);
		tag ^= vtag ^ (uint64_t)(hit.variant + 1) << 56;
	} else if ((rc = price_member(&b, pv, chan, &hit, &pr, &tag)) != 0) {
		api_internal(th, req, resp, rc);
		return;
	}
	if (crumbs)
		tag ^= XXH3_64bits(b.data, b.len); /* a renamed or moved category */
	sbuf_adds(&b, "}");
	if (b.failed) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	/* the tag names the version, the channel, the purchase state and the
	 * price, which change with the clock and with price lists */
	char etag[SOUK_U64_DEC_MAX + CHANNEL_CODE_MAX + 40];
	size_t en = 0, cl = strnlen(chan->code, CHANNEL_CODE_MAX);
	etag[en++] = '"';
	en += souk_u64_dec(hit.version, etag + en);
	etag[en++] = '.';
	memcpy(etag + en, chan->code, cl);
	en += cl;
	etag[en++] = '.';
	if (!hit.purchasable) {
		memcpy(etag + en, "np.", 3);
		en += 3;
	}
	for (int sh = 60; sh >= 0; sh -= 4) /* without printf: the read path */
		etag[en++] = "0123456789abcdef"[(tag >> sh) & 15];
	etag[en++] = '"';
	bool same = false;
	if (pr.personal)
		resp->cache_control = "private, no-store";
	else
		same = api_public_read(th, req, resp, etag, en);
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
	if (!same)
		api_resp_json(resp, 200, b.data, b.len);
}

int catalog_list_item(const catalog_hit_t *h, void *arg)
{
	catalog_list_ctx_t *l = arg;
	uint64_t tag;
	store_id_t id;
	if (l->attrs && l->attrs->n && !catalog_filters_match(l->attrs, h))
		return CATALOG_SKIP;
	if (l->cols &&
	    (!catalog_hit_id(h, &id) || col_member(l->cols, l->coll, &id) == COL_IMG_NONE))
		return CATALOG_SKIP;
	if (l->chan == NULL) {
		if (l->n++ > 0)
			sbuf_add(l->b, ",", 1);
		sbuf_add(l->b, h->json, h->len);
		return l->b->failed ? SOUK_ENOMEM : 0;
	}
	if (l->in_stock && h->stock <= 0)
		return CATALOG_SKIP;
	int rc = price_find(l->pv, l->chan, h, l->pr, l->found);
	if (rc != 0 && rc != SOUK_ENOENT)
		return rc;
	if (l->have_min || l->have_max) {
		int64_t a = rc == 0 ? l->found->cand[l->found->pick.winner].amount : -1;
		if (rc != 0 || (l->have_min && a < l->min) || (l->have_max && a > l->max))
			return CATALOG_SKIP;
	}
	if (h->len < 2)
		return SOUK_ECORRUPT;
	if (l->n++ > 0)
		sbuf_add(l->b, ",", 1);
	if (h->nvars) {
		/* each variant with its own price (scratch room: one per list) */
		if (!l->vfound && !(l->vfound = arena_alloc(l->arena, sizeof(*l->vfound))))
			return SOUK_ENOMEM;
		int vr = price_variants(l->b, l->pv, l->chan, h, l->found, rc == 0, l->pr,
					l->vfound, &tag);
		if (vr)
			return vr;
	} else {
		sbuf_add(l->b, h->json, h->len - 1);
	}
	sbuf_adds(l->b, h->purchasable ? ",\"purchasable\":true" : ",\"purchasable\":false");
	price_member_of(l->b, pricing_channel(l->pv, l->chan->code), l->found, rc == 0, l->pr, &tag);
	sbuf_adds(l->b, "}");
	return l->b->failed ? SOUK_ENOMEM : 0;
}

/* Codes in byte order (the catalog's order), their lengths beside them. */
typedef struct {
	const char *c;
	size_t len;
} code_t;

static int code_cmp(const void *a, const void *b)
{
	const code_t *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->c, y->c, m);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static bool sort_codes(arena_t *a, const char **c, size_t *len, size_t n)
{
	code_t *t = arena_alloc(a, (n ? n : 1) * sizeof(*t));
	if (!t)
		return false;
	for (size_t i = 0; i < n; i++)
		t[i] = (code_t){c[i], len[i]};
	qsort(t, n, sizeof(*t), code_cmp);
	for (size_t i = 0; i < n; i++) {
		c[i] = t[i].c;
		len[i] = t[i].len;
	}
	return true;
}

/* ?price_min= / ?price_max= (minor units of the request's currency) and
 * ?in_stock=true of a list in a channel. */
static void list_filters(const char *query, size_t query_len, catalog_list_ctx_t *l, problem_t *p)
{
	char buf[32];
	size_t n;
	uint64_t v;
	if (query_get(query, query_len, "price_min", buf, sizeof(buf), &n) == 0) {
		if (souk_parse_u64(buf, 0, (uint64_t)PRODUCT_PRICE_MAX, &v) != 0)
			problem_field(p, "price_min", "must be an amount in minor units (0 or more)");
		l->have_min = true;
		l->min = (int64_t)v;
	}
	if (query_get(query, query_len, "price_max", buf, sizeof(buf), &n) == 0) {
		if (souk_parse_u64(buf, 0, (uint64_t)PRODUCT_PRICE_MAX, &v) != 0)
			problem_field(p, "price_max", "must be an amount in minor units (0 or more)");
		l->have_max = true;
		l->max = (int64_t)v;
	}
	if (query_get(query, query_len, "in_stock", buf, sizeof(buf), &n) == 0) {
		if (strcmp(buf, "true") != 0 && strcmp(buf, "false") != 0)
			problem_field(p, "in_stock", "must be true or false");
		l->in_stock = strcmp(buf, "true") == 0;
	}
}

/* ?attr.<code>=v1,v2, ?attr.<code>_min= and _max= (catalog_filter_add,
 * against the image's filterable attributes): each mistake a field error
 * naming the parameter. */
static void attr_filters(const catalog_view_t *v, const char *query, size_t query_len,
			 catalog_filters_t *fs, problem_t *p)
{
	char name[CATALOG_ATTR_CODE_MAX + 16];
	char val[4 * PRODUCT_ATTR_STRING_MAX];
	size_t i = 0;
	while (i < query_len) {
		const char *amp = memchr(query + i, '&', query_len - i);
		size_t end = amp ? (size_t)(amp - query) : query_len;
		const char *eq = memchr(query + i, '=', end - i);
		size_t klen = (eq ? (size_t)(eq - query) : end) - i, nl = 0, vl = 0;
		const char *why = NULL;
		bool attr = klen > 5 && memcmp(query + i, "attr.", 5) == 0;
		if (attr && url_decode(query + i, klen, true, name, sizeof(name), &nl) != 0) {
			problem_field(p, "attr.", "names an attribute no product type declares "
						  "filterable");
		} else if (attr && !eq) {
			problem_field(p, name, "needs a value (attr.colour=red,blue)");
		} else if (attr && url_decode(eq + 1, end - (size_t)(eq + 1 - query), true, val,
					      sizeof(val), &vl) != 0) {
			problem_field(p, name, "is too long or not percent-encoded right");
		} else if (attr && catalog_filter_add(v, fs, name + 5, nl - 5, val, vl, &why) != 0) {
			problem_field(p, name, "%s", why ? why : "is not a filter");
		}
		i = end + 1;
	}
}

bool catalog_list_channel(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			  const char *query, size_t query_len, const catalog_view_t *view,
			  const channel_rec_t *chan, catalog_list_ctx_t *l, price_req_t *pr)
{
	problem_t p;
	const void *pv = NULL;
	problem_init(&p);
	list_filters(query, query_len, l, &p);
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
		return false;
	}
	if (!price_request(th, req, resp, query, query_len, chan, NULL, pr))
		return false;
	if (shm_image_view(view->img, th->seg->pricing_view, &pv) != 0 ||
	    (l->found = arena_alloc(th->arena, sizeof(*l->found))) == NULL) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return false;
	}
	l->chan = chan;
	l->arena = th->arena;
	l->pv = pv;
	l->pr = pr;
	return true;
}

API_HANDLER(h_catalog_list)
{
	char category[PRODUCT_NAME_MAX + 1], cursor[CATALOG_CURSOR_MAX];
	char coll[COLLECTION_CODE_MAX + 1];
	size_t n;
	uint64_t limit = API_LIST_DEFAULT;
	problem_t p;
	const catalog_view_t *view;
	problem_init(&p);
	bool have_cat = false, have_cursor = false, have_coll = false;
	int rc = query_get(query, query_len, "category", category, sizeof(category), &n);
	if (rc == 0) {
		if (!product_name_valid(category, n, PRODUCT_NAME_MAX))
			problem_field(&p, "category", "is not a category name");
		have_cat = true;
	} else if (rc != SOUK_ENOENT) {
		problem_field(&p, "category", "is not a category name");
	}
	rc = query_get(query, query_len, "collection", coll, sizeof(coll), &n);
	if (rc == 0 && model_name_valid(coll, n, COLLECTION_CODE_MAX, false))
		have_coll = true;
	else if (rc != SOUK_ENOENT)
		problem_field(&p, "collection", "is not a collection code");
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
	catalog_filters_t attrs = {.n = 0};
	catalog_list_ctx_t l = {.n = 0, .attrs = &attrs};
	price_req_t pr;
	if (api_get_view(th, req, resp, &view) != 0 ||
	    api_req_channel(th, req, resp, view->img, &chan) != 0)
		return;
	attr_filters(view, query, query_len, &attrs, &p);
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
		return;
	}
	if (chan == NULL) {
		if (api_list_not_modified(th, req, resp, view))
			return;
	} else if (!catalog_list_channel(th, req, resp, query, query_len, view, chan, &l, &pr)) {
		/* in a channel the prices and purchase windows follow the clock:
		 * the tag is taken from the answer itself (below) */
		return;
	}
	const char *want = api_req_locale(th, req, query, query_len);
	const char *locale = api_channel_locale(th, chan, want, chan ? &pr.locale : NULL);
	sbuf_t b;
	sbuf_init(&b, th->arena);
	sbuf_adds(&b, "{\"items\":[");
	l.b = &b;
	char next[CATALOG_CURSOR_MAX] = "";
	catalog_scope_t scope = {.channel = chan ? chan->code : NULL,
				 .now_ms = (int64_t)souk_now_real_ms()};
	/* a category of the tree lists its descendants' products too */
	const char **cats = NULL;
	size_t *lens = NULL, ncat = 0;
	const ctg_view_t *cv = have_cat ? categories(th, view) : NULL;
	uint32_t node = cv && cv->n ? ctg_find(cv, category, strlen(category)) : CATEGORY_IMG_NONE;
	if (node != CATEGORY_IMG_NONE) {
		uint32_t first, size;
		ctg_subtree(cv, node, &first, &size);
		cats = arena_alloc(th->arena, size * sizeof(*cats));
		lens = arena_alloc(th->arena, size * sizeof(*lens));
		if (!cats || !lens) {
			api_internal(th, req, resp, SOUK_ENOMEM);
			return;
		}
		for (uint32_t k = 0; k < size; k++) {
			uint32_t i = cv->by_pre[first + k];
			cats[ncat] = ctg_code(cv, i);
			lens[ncat++] = cv->nodes[i].code_len;
		}
		if (!sort_codes(th->arena, cats, lens, ncat)) {
			api_internal(th, req, resp, SOUK_ENOMEM);
			return;
		}
	}
	/* ?collection=: its members only (a collection the image does not
	 * serve has none: no walk) */
	const void *colv = NULL;
	if (have_coll && shm_image_view(view->img, th->seg->collection_view, &colv) == 0) {
		l.cols = colv;
		l.coll = col_find(l.cols, coll, strlen(coll));
	}
	if (have_coll && (!l.cols || l.coll == COL_IMG_NONE))
		rc = 0;
	else if (ncat > 0)
		rc = catalog_list_cats(view, &scope, cats, lens, ncat, have_cursor ? cursor : NULL,
				       (uint32_t)limit, locale, catalog_list_item, &l, next);
	else
		rc = catalog_list_in(view, &scope, have_cat ? category : NULL,
				     have_cursor ? cursor : NULL, (uint32_t)limit, locale,
				     catalog_list_item, &l, next);
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
	if (chan != NULL) {
		char etag[48];
		int en = snprintf(etag, sizeof(etag), "\"L%" PRIu64 ".%016llx\"", view->seq,
				  (unsigned long long)XXH3_64bits(b.data, b.len));
		if (pr.personal) {
			resp->cache_control = "private, no-store";
		} else if (api_public_read(th, req, resp, etag, (size_t)en)) {
			api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
			return;
		}
	}
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
	api_resp_json(resp, 200, b.data, b.len);
}
