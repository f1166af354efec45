/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi/h_pricing.c - prices at request time: the price context of a read,
 * the price a product read in a channel carries, and GET
 * /api/v1/prices/explain (staff), which shows every candidate price of a
 * SKU in a channel and why the winner won. From the image, no LMDB.
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
#include "fcgi/arena.h"
#include "fcgi/handlers.h"
#include "fcgi/pricing_int.h"
#include "domain/catalog/product.h"
#include "model/model.h"

bool price_request(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const char *query,
		   size_t query_len, const channel_rec_t *c, const char *group, price_req_t *pr)
{
	char buf[24];
	size_t n;
	problem_t p;
	problem_init(&p);
	memset(pr, 0, sizeof(*pr));
	memcpy(pr->currency, c->currencies[0], 4);
	if (query_get(query, query_len, "currency", buf, sizeof(buf), &n) == 0) {
		if (n != 3 || !channel_has_currency(c, buf))
			problem_field(&p, "currency", "is not one of this channel's currencies");
		else
			memcpy(pr->currency, buf, 4);
	}
	uint64_t q = 1;
	if (query_get(query, query_len, "quantity", buf, sizeof(buf), &n) == 0 &&
	    souk_parse_u64(buf, 1, 1000000000, &q) != 0)
		problem_field(&p, "quantity", "must be an integer from 1 to 1000000000");
	if (query_get(query, query_len, "country", buf, sizeof(buf), &n) == 0) {
		if (n != 2 || buf[0] < 'A' || buf[0] > 'Z' || buf[1] < 'A' || buf[1] > 'Z')
			problem_field(&p, "country", "must be an ISO 3166-1 alpha-2 code (GB)");
		else
			memcpy(pr->country, buf, 3);
	}
	const char *g = group ? group : req->customer_group;
	if (g && *g && perm_allowed(&th->principal, PERM_PRICING_READ, NULL)) {
		if (!model_name_valid(g, strlen(g), 64, false))
			problem_field(&p, "X-Souk-Customer-Group", "is not a customer group name");
		snprintf(pr->group, sizeof(pr->group), "%s", g);
		pr->groups[0] = pr->group;
		pr->ctx.customer_groups = pr->groups;
		pr->ctx.ngroups = 1;
		pr->personal = true;
	}
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
		return false;
	}
	pr->ctx.currency = pr->currency;
	pr->ctx.country = pr->country[0] ? pr->country : NULL;
	pr->ctx.quantity = (int64_t)q;
	pr->ctx.now_ms = (int64_t)souk_now_real_ms();
	return true;
}

int price_find(const pricing_view_t *pv, const channel_rec_t *c, const catalog_hit_t *h,
	       const price_req_t *pr, price_found_t *out)
{
	const pricing_chan_t *pc = pricing_channel(pv, c->code);
	int n = pc ? pricing_candidates(pc, h->sku, h->sku_len, out->cand, out->hist,
					PRICING_SKU_CANDS_MAX)
		   : 0;
	if (n < 0)
		return n;
	/* "@product" entries of the section hold the histories of own prices
	 * that changed lately (never candidates themselves): set aside */
	pricing_hist_t own_hist[CATALOG_PRICES_MAX];
	const char *own_cur[CATALOG_PRICES_MAX];
	size_t nown = 0;
	for (int i = 0; i < n; i++) {
		if (out->cand[i].list[0] != '@' || strcmp(out->cand[i].list, PRICING_PRODUCT_LIST) != 0)
			continue;
		if (nown < CATALOG_PRICES_MAX) {
			own_cur[nown] = out->cand[i].currency;
			own_hist[nown++] = out->hist[i];
		}
		out->cand[i] = out->cand[n - 1];
		out->hist[i] = out->hist[n - 1];
		n--;
		i--;
	}
	/* the product's own prices in the channel's currencies, below every
	 * list: what no list overrides */
	for (uint32_t i = 0; i < h->nprices && (size_t)n < PRICING_SKU_CANDS_MAX + CATALOG_PRICES_MAX;
	     i++) {
		catalog_price_t own;
		memcpy(&own, h->prices + (size_t)i * sizeof(own), sizeof(own));
		if (own.currency[3] != '\0' || !channel_has_currency(c, own.currency))
			continue;
		price_cand_t *x = &out->cand[n++];
		memset(x, 0, sizeof(*x));
		memcpy(out->own[i], own.currency, 4);
		x->list = PRICING_PRODUCT_LIST;
		x->list_index = UINT32_MAX;
		x->currency = out->own[i];
		x->kind = PRICE_KIND_BASE;
		x->priority = PRICING_PRODUCT_PRIORITY;
		x->amount = own.amount;
		x->min_qty = 1;
		out->hist[n - 1] = (pricing_hist_t){ NULL, 0 };
		/* its history, when it changed lately and the history ends at
		 * the amount the record holds (both come from one image) */
		for (size_t k = 0; k < nown; k++)
			if (memcmp(own_cur[k], own.currency, 4) == 0 && own_hist[k].n &&
			    own_hist[k].p[own_hist[k].n - 1].amount == own.amount)
				out->hist[n - 1] = own_hist[k];
	}
	out->n = (size_t)n;
	if (n == 0 || price_select(out->cand, out->n, &pr->ctx, out->reason, &out->pick) != 0)
		return SOUK_ENOENT;
	return 0;
}

/* The lowest price applied to the request in the 30 days before the
 * winner's reduction: over every other candidate that fits the request
 * (its currency, scope and quantity; a window that has ended or not begun
 * still counts for the time it was open), the lowest amount its history
 * shows while its window was open in [start - 30 days, start), start being
 * when the reduction began (its list's valid_from, else now); the
 * strike-through original's current amount when nothing else was. */
static bool lowest_prior(const price_found_t *f, const price_req_t *pr, int64_t *out)
{
	const price_cand_t *w = &f->cand[f->pick.winner];
	int64_t start = w->valid_from_ms ? w->valid_from_ms : pr->ctx.now_ms;
	int64_t from = start - PRICE_OMNIBUS_MS, best = 0;
	bool any = false;
	for (size_t i = 0; i < f->n; i++) {
		const price_cand_t *c = &f->cand[i];
		price_reason_t r = f->reason[i];
		if (i == f->pick.winner || r == PRICE_R_WRONG_CURRENCY || r == PRICE_R_BELOW_MIN_QTY ||
		    r == PRICE_R_SCOPE_MISMATCH || r == PRICE_R_LOWER_TIER)
			continue;
		int64_t a = c->valid_from_ms > from ? c->valid_from_ms : from;
		int64_t b = c->valid_until_ms && c->valid_until_ms < start ? c->valid_until_ms : start;
		if (a >= b)
			continue; /* its list was not open then */
		int64_t low;
		if (f->hist[i].n ? price_points_lowest(f->hist[i].p, f->hist[i].n, a, b, &low)
				 : (low = c->amount, true)) {
			best = any && best < low ? best : low;
			any = true;
		}
	}
	if (!any && f->pick.original != PRICE_NONE) {
		best = f->cand[f->pick.original].amount;
		any = true;
	}
	*out = best;
	return any;
}

/* ,"name":"formatted" when the channel has a template for it */
static void formatted(sbuf_t *b, const pricing_chan_t *pc, const price_req_t *pr,
		      const char *name, const char *currency, int64_t amount)
{
	const money_fmt_t *fmt = pc && pr->locale ? pricing_format(pc, pr->locale, currency) : NULL;
	char out[MONEY_FORMAT_MAX];
	if (!fmt || money_fmt_apply(fmt, amount, out, sizeof(out)) == 0)
		return;
	/* the template's text is the locale's own (no quotes or controls) */
	sbuf_adds(b, ",\"");
	sbuf_adds(b, name);
	sbuf_adds(b, "\":\"");
	sbuf_adds(b, out);
	sbuf_adds(b, "\"");
}

void price_member_of(sbuf_t *b, const pricing_chan_t *pc, const price_found_t *f, bool found,
		     const price_req_t *pr, uint64_t *tag)
{
	sbuf_adds(b, ",\"pricing\":");
	if (!found) {
		sbuf_adds(b, "null");
		*tag = 0;
		return;
	}
	const price_cand_t *w = &f->cand[f->pick.winner];
	/* currency and list code are names (no quote or control to escape) */
	sbuf_adds(b, "{\"currency\":\"");
	sbuf_adds(b, w->currency);
	sbuf_adds(b, "\",\"amount\":");
	sbuf_add_i64(b, w->amount);
	sbuf_adds(b, ",\"list\":\"");
	sbuf_adds(b, w->list);
	sbuf_adds(b, "\",\"quantity\":");
	sbuf_add_i64(b, pr->ctx.quantity);
	*tag = ((uint64_t)w->amount * 1000003u) ^ ((uint64_t)f->pick.winner << 48) ^
	       (uint64_t)w->min_qty;
	formatted(b, pc, pr, "formatted", w->currency, w->amount);
	if (f->pick.original != PRICE_NONE) {
		int64_t o = f->cand[f->pick.original].amount, low;
		sbuf_adds(b, ",\"original\":");
		sbuf_add_i64(b, o);
		formatted(b, pc, pr, "original_formatted", w->currency, o);
		*tag ^= (uint64_t)o << 20;
		/* a reduction is shown with the lowest price of the 30 days
		 * before it (EU Omnibus) */
		if (lowest_prior(f, pr, &low)) {
			sbuf_adds(b, ",\"lowest_30d\":");
			sbuf_add_i64(b, low);
			formatted(b, pc, pr, "lowest_30d_formatted", w->currency, low);
			*tag ^= (uint64_t)low << 40;
		}
	}
	sbuf_adds(b, "}");
}

int price_find_variant(const pricing_view_t *pv, const channel_rec_t *c, const catalog_hit_t *h,
		       const catalog_variant_t *v, const price_req_t *pr, price_found_t *out)
{
	catalog_hit_t vh = *h;
	vh.sku = v->sku;
	vh.sku_len = v->sku_len;
	vh.prices = v->prices;
	vh.nprices = v->nprices;
	return price_find(pv, c, &vh, pr, out);
}

int price_variants(sbuf_t *b, const pricing_view_t *pv, const channel_rec_t *c,
		   const catalog_hit_t *h, const price_found_t *pf, bool pfound, const price_req_t *pr,
		   price_found_t *scratch, uint64_t *tag)
{
	const pricing_chan_t *pc = pricing_channel(pv, c->code);
	size_t at = 0;
	*tag = 0;
	if (h->len < 2)
		return SOUK_ECORRUPT;
	for (uint32_t i = 0; i < h->nvars; i++) {
		catalog_variant_t v;
		uint64_t t;
		int rc = catalog_hit_variant(h, i, &v);
		if (rc == 0 && v.end < at)
			rc = SOUK_ECORRUPT;
		if (rc)
			return rc;
		sbuf_add(b, h->json + at, v.end - at);
		rc = price_find_variant(pv, c, h, &v, pr, scratch);
		if (rc != 0 && rc != SOUK_ENOENT)
			return rc;
		price_member_of(b, pc, rc == 0 ? scratch : pf, rc == 0 || pfound, pr, &t);
		sbuf_adds(b, h->purchasable ? ",\"purchasable\":true" : ",\"purchasable\":false");
		*tag ^= (t + i + 1) * 0x9e3779b97f4a7c15ull;
		at = v.end;
	}
	sbuf_add(b, h->json + at, h->len - 1 - at);
	return 0;
}

int price_member(sbuf_t *b, const pricing_view_t *pv, const channel_rec_t *c,
		 const catalog_hit_t *h, const price_req_t *pr, uint64_t *tag)
{
	price_found_t f;
	int rc = price_find(pv, c, h, pr, &f);
	if (rc != 0 && rc != SOUK_ENOENT)
		return rc;
	price_member_of(b, pricing_channel(pv, c->code), &f, rc == 0, pr, tag);
	return 0;
}

/* GET /api/v1/prices/explain?sku=&currency=&quantity=&country=
 * &customer_group=&customer=&at= in the request's channel: the candidates
 * the image holds for the SKU there, each with why it won or lost
 * (docs/pricing.md). at (RFC 3339) asks as of another time. */
API_HANDLER(h_price_explain)
{
	char sku[PRODUCT_SKU_MAX + 1], group[65], customer[65], at[40];
	size_t n;
	problem_t p;
	const catalog_view_t *view;
	const channel_rec_t *chan;
	price_req_t pr;
	problem_init(&p);
	if (query_get(query, query_len, "sku", sku, sizeof(sku), &n) != 0 ||
	    !model_name_valid(sku, n, PRODUCT_SKU_MAX, true))
		problem_field(&p, "sku", "is required: the SKU whose prices to explain");
	bool have_group =
	    query_get(query, query_len, "customer_group", group, sizeof(group), &n) == 0;
	if (have_group && !model_name_valid(group, n, 64, false))
		problem_field(&p, "customer_group", "is not a customer group name");
	bool have_customer = query_get(query, query_len, "customer", customer, sizeof(customer),
				       &n) == 0;
	if (have_customer && !model_name_valid(customer, n, 64, false))
		problem_field(&p, "customer", "is not a customer id");
	int64_t at_ms = -2;
	if (query_get(query, query_len, "at", at, sizeof(at), &n) == 0 &&
	    (at_ms = souk_rfc3339_parse_ms(at, n)) < 0)
		problem_field(&p, "at", "must be an RFC 3339 time, e.g. 2027-01-31T12:00:00Z");
	if (p.status != 0) {
		api_bad_query(th, req, resp, &p);
		return;
	}
	if (api_get_view(th, req, resp, &view) != 0 ||
	    api_req_channel(th, req, resp, view->img, &chan) != 0)
		return;
	if (chan == NULL) {
		api_fail(th, req, resp, 404, PROBLEM_CHANNEL_UNKNOWN, "Unknown channel",
			 "prices are per channel and this mall has no channel yet");
		return;
	}
	if (!price_request(th, req, resp, query, query_len, chan, have_group ? group : NULL, &pr))
		return;
	if (have_customer)
		pr.ctx.customer = customer;
	if (at_ms >= 0)
		pr.ctx.now_ms = at_ms;
	const void *pv = NULL;
	price_found_t *f = arena_alloc(th->arena, sizeof(*f));
	if (!f || shm_image_view(view->img, th->seg->pricing_view, &pv) != 0) {
		api_internal(th, req, resp, f ? SOUK_ECORRUPT : SOUK_ENOMEM);
		return;
	}
	/* the product as the image holds it (its own prices), or only the
	 * lists' prices of a SKU the catalog does not serve */
	catalog_hit_t hit;
	int rc = catalog_get_by_sku_in(view, NULL, sku, strlen(sku), NULL, &hit);
	if (rc == SOUK_ENOENT) {
		memset(&hit, 0, sizeof(hit));
		hit.variant = -1;
		hit.sku = sku;
		hit.sku_len = strlen(sku);
		rc = 0;
	}
	if (rc == 0) {
		catalog_variant_t var;
		if (hit.variant >= 0 && (rc = catalog_hit_variant(&hit, (uint32_t)hit.variant, &var)) == 0)
			rc = price_find_variant(pv, chan, &hit, &var, &pr, f);
		else if (rc == 0)
			rc = price_find(pv, chan, &hit, &pr, f);
		rc = rc == SOUK_ENOENT ? 0 : rc;
	}
	json_t *out = NULL;
	if (rc == 0)
		rc = price_explain_json(f->cand, f->n, &pr.ctx, &out);
	if (rc == 0 && (json_object_set_new(out, "channel", json_string(chan->code)) ||
			json_object_set_new(out, "sku", json_string(sku))))
		rc = SOUK_ENOMEM;
	char *text = rc == 0 ? json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(out);
	if (!text) {
		api_internal(th, req, resp, rc ? rc : SOUK_ENOMEM);
		return;
	}
	char *body = arena_strndup(th->arena, text, strlen(text));
	free(text);
	if (!body) {
		api_internal(th, req, resp, SOUK_ENOMEM);
		return;
	}
	api_resp_header_u64(resp, "Souk-Seq", view->seq, false);
	api_resp_json(resp, 200, body, strlen(body));
}
