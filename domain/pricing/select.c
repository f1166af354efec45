/* SPDX-License-Identifier: Apache-2.0 */
/* domain/pricing/select.c - the price selection rule (select.h,
 * docs/pricing.md) and its explain document. price_select runs on the
 * request path: no allocation, no system call, integers only. */
#include "domain/pricing/select.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"

static const char *const reason_names[PRICE_R__COUNT] = {
    [PRICE_R_CHOSEN] = "chosen",
    [PRICE_R_WRONG_CURRENCY] = "wrong_currency",
    [PRICE_R_NOT_YET_VALID] = "not_yet_valid",
    [PRICE_R_EXPIRED] = "expired",
    [PRICE_R_BELOW_MIN_QTY] = "below_min_qty",
    [PRICE_R_SCOPE_MISMATCH] = "scope_mismatch",
    [PRICE_R_LOWER_TIER] = "lower_tier",
    [PRICE_R_LESS_SPECIFIC] = "less_specific",
    [PRICE_R_LOWER_PRIORITY] = "lower_priority",
    [PRICE_R_HIGHER_AMOUNT] = "higher_amount",
    [PRICE_R_TIE_BROKEN_BY_CODE] = "tie_broken_by_code",
};

const char *price_reason_name(price_reason_t r)
{
	return (unsigned)r < PRICE_R__COUNT ? reason_names[r] : "unknown";
}

bool price_reason_filtered(price_reason_t r)
{
	return r >= PRICE_R_WRONG_CURRENCY && r <= PRICE_R_SCOPE_MISMATCH;
}

static bool set(const char *s)
{
	return s != NULL && *s != '\0';
}

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* specificity as bits, customer > group > country: comparing the numbers
 * compares the scopes member by member in that order */
#define SPEC_CUSTOMER 4u
#define SPEC_GROUP    2u
#define SPEC_COUNTRY  1u

static unsigned specificity(const price_cand_t *c)
{
	return (set(c->customer) ? SPEC_CUSTOMER : 0) | (set(c->customer_group) ? SPEC_GROUP : 0) |
	       (set(c->country) ? SPEC_COUNTRY : 0);
}

static bool in_groups(const price_ctx_t *x, const char *group)
{
	for (size_t i = 0; i < x->ngroups; i++)
		if (same(x->customer_groups[i], group))
			return true;
	return false;
}

/* step 1: PRICE_R_CHOSEN when c may apply, else why not */
static price_reason_t filter(const price_cand_t *c, const price_ctx_t *x)
{
	if (!same(c->currency, x->currency))
		return PRICE_R_WRONG_CURRENCY;
	if (c->valid_from_ms != 0 && x->now_ms < c->valid_from_ms)
		return PRICE_R_NOT_YET_VALID;
	if (c->valid_until_ms != 0 && x->now_ms >= c->valid_until_ms)
		return PRICE_R_EXPIRED;
	if (c->min_qty > x->quantity)
		return PRICE_R_BELOW_MIN_QTY;
	if ((set(c->customer) && !same(c->customer, x->customer)) ||
	    (set(c->customer_group) && !in_groups(x, c->customer_group)) ||
	    (set(c->country) && !same(c->country, x->country)))
		return PRICE_R_SCOPE_MISMATCH;
	return PRICE_R_CHOSEN;
}

/* step 2: a survivor b of a's list takes a's place: a larger tier (or, for
 * input the store never holds, the same tier cheaper or earlier) */
static bool tier_beats(const price_cand_t *c, size_t b, size_t a)
{
	if (b == a || !same(c[b].list, c[a].list))
		return false;
	if (c[b].min_qty != c[a].min_qty)
		return c[b].min_qty > c[a].min_qty;
	if (c[b].amount != c[a].amount)
		return c[b].amount < c[a].amount;
	return b < a;
}

static bool competes(const price_cand_t *c, size_t n, const price_ctx_t *x, size_t a)
{
	if (filter(&c[a], x) != PRICE_R_CHOSEN)
		return false;
	for (size_t b = 0; b < n; b++)
		if (tier_beats(c, b, a) && filter(&c[b], x) == PRICE_R_CHOSEN)
			return false;
	return true;
}

/* step 3: why competitor a ranks below b (PRICE_R_CHOSEN: it does not) */
static price_reason_t loses_to(const price_cand_t *a, const price_cand_t *b)
{
	unsigned sa = specificity(a), sb = specificity(b);
	if (sa != sb)
		return sa < sb ? PRICE_R_LESS_SPECIFIC : PRICE_R_CHOSEN;
	if (a->priority != b->priority)
		return a->priority < b->priority ? PRICE_R_LOWER_PRIORITY : PRICE_R_CHOSEN;
	if (a->amount != b->amount)
		return a->amount > b->amount ? PRICE_R_HIGHER_AMOUNT : PRICE_R_CHOSEN;
	return strcmp(a->list, b->list) > 0 ? PRICE_R_TIE_BROKEN_BY_CODE : PRICE_R_CHOSEN;
}

/* the best competitor, of one kind only when kind_only */
static size_t best(const price_cand_t *c, size_t n, const price_ctx_t *x, bool kind_only,
		   price_kind_t kind)
{
	size_t w = PRICE_NONE;
	for (size_t i = 0; i < n; i++) {
		if ((kind_only && c[i].kind != kind) || !competes(c, n, x, i))
			continue;
		if (w == PRICE_NONE || loses_to(&c[w], &c[i]) != PRICE_R_CHOSEN)
			w = i;
	}
	return w;
}

int price_select(const price_cand_t *c, size_t n, const price_ctx_t *ctx, price_reason_t *reasons,
		 price_pick_t *out)
{
	if (out == NULL)
		return SOUK_EINVAL;
	out->winner = out->original = PRICE_NONE;
	if (ctx == NULL || (c == NULL && n > 0) || ctx->quantity < 1)
		return SOUK_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (c[i].list == NULL)
			return SOUK_EINVAL;
	size_t w = best(c, n, ctx, false, PRICE_KIND_BASE);
	if (w != PRICE_NONE && c[w].kind == PRICE_KIND_SALE) {
		size_t o = best(c, n, ctx, true, PRICE_KIND_BASE);
		if (o != PRICE_NONE && c[o].amount > c[w].amount)
			out->original = o;
	}
	out->winner = w;
	for (size_t i = 0; reasons != NULL && i < n; i++) {
		price_reason_t r = filter(&c[i], ctx);
		if (r == PRICE_R_CHOSEN && !competes(c, n, ctx, i))
			r = PRICE_R_LOWER_TIER;
		else if (r == PRICE_R_CHOSEN && i != w)
			r = loses_to(&c[i], &c[w]);
		reasons[i] = r;
	}
	return w == PRICE_NONE ? SOUK_ENOENT : 0;
}

/* ---- explain ---- */

static const char *specificity_name(unsigned spec)
{
	if (spec & SPEC_CUSTOMER)
		return "customer";
	if (spec & SPEC_GROUP)
		return "customer_group";
	return (spec & SPEC_COUNTRY) ? "country" : "none";
}

static json_t *str_or_null(const char *s)
{
	return set(s) ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
	char t[SOUK_RFC3339_MAX];
	if (ms <= 0 || souk_rfc3339((uint64_t)ms, t) != 0)
		return ms == 0 ? json_null() : json_integer(ms);
	return json_string(t);
}

/* o[key] = v, taking v; rc carries an earlier failure along (v dropped) */
static int put(json_t *o, const char *key, json_t *v, int rc)
{
	if (rc != 0 || v == NULL) {
		json_decref(v);
		return SOUK_ENOMEM;
	}
	return json_object_set_new(o, key, v) == 0 ? 0 : SOUK_ENOMEM;
}

static json_t *scope_json(const price_cand_t *c)
{
	json_t *s = json_object();
	int rc = 0;
	if (s == NULL)
		return NULL;
	if (set(c->customer_group))
		rc = put(s, "customer_group", json_string(c->customer_group), rc);
	if (set(c->customer))
		rc = put(s, "customer", json_string(c->customer), rc);
	if (set(c->country))
		rc = put(s, "country", json_string(c->country), rc);
	if (rc != 0) {
		json_decref(s);
		return NULL;
	}
	return s;
}

static json_t *candidate_json(const price_cand_t *c, size_t i, price_reason_t r)
{
	json_t *o = json_object();
	int rc = 0;
	if (o == NULL)
		return NULL;
	rc = put(o, "index", json_integer((json_int_t)i), rc);
	rc = put(o, "list", json_string(c->list), rc);
	rc = put(o, "list_index", json_integer(c->list_index), rc);
	rc = put(o, "kind", json_string(c->kind == PRICE_KIND_SALE ? "sale" : "base"), rc);
	rc = put(o, "currency", str_or_null(c->currency), rc);
	rc = put(o, "amount", json_integer(c->amount), rc);
	rc = put(o, "min_qty", json_integer(c->min_qty), rc);
	rc = put(o, "priority", json_integer(c->priority), rc);
	rc = put(o, "scope", scope_json(c), rc);
	rc = put(o, "specificity", json_string(specificity_name(specificity(c))), rc);
	rc = put(o, "valid_from", time_or_null(c->valid_from_ms), rc);
	rc = put(o, "valid_until", time_or_null(c->valid_until_ms), rc);
	rc = put(o, "reason", json_string(price_reason_name(r)), rc);
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *context_json(const price_ctx_t *x)
{
	json_t *o = json_object(), *g = json_array();
	int rc = o != NULL && g != NULL ? 0 : SOUK_ENOMEM;
	for (size_t i = 0; rc == 0 && i < x->ngroups; i++)
		if (set(x->customer_groups[i]) &&
		    json_array_append_new(g, json_string(x->customer_groups[i])) != 0)
			rc = SOUK_ENOMEM;
	rc = put(o, "currency", str_or_null(x->currency), rc);
	rc = put(o, "customer", str_or_null(x->customer), rc);
	rc = put(o, "customer_groups", g, rc);
	g = NULL; /* put took it (or failed with o) */
	rc = put(o, "country", str_or_null(x->country), rc);
	rc = put(o, "quantity", json_integer(x->quantity), rc);
	rc = put(o, "now", time_or_null(x->now_ms), rc);
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"amount", "currency", "list", "kind", "original"} of the winner */
static json_t *price_json(const price_cand_t *c, const price_pick_t *p)
{
	if (p->winner == PRICE_NONE)
		return json_null();
	const price_cand_t *w = &c[p->winner];
	json_t *o = json_object();
	int rc = o != NULL ? 0 : SOUK_ENOMEM;
	rc = put(o, "amount", json_integer(w->amount), rc);
	rc = put(o, "currency", str_or_null(w->currency), rc);
	rc = put(o, "list", json_string(w->list), rc);
	rc = put(o, "kind", json_string(w->kind == PRICE_KIND_SALE ? "sale" : "base"), rc);
	rc = put(o, "original",
		 p->original == PRICE_NONE ? json_null() : json_integer(c[p->original].amount), rc);
	rc = put(o, "original_list",
		 p->original == PRICE_NONE ? json_null() : json_string(c[p->original].list), rc);
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *index_or_null(size_t i)
{
	return i == PRICE_NONE ? json_null() : json_integer((json_int_t)i);
}

int price_explain_json(const price_cand_t *c, size_t n, const price_ctx_t *ctx, json_t **out)
{
	price_pick_t pick;
	price_reason_t *reasons = NULL;
	json_t *doc = NULL, *list = NULL;
	int rc;
	if (out == NULL)
		return SOUK_EINVAL;
	*out = NULL;
	if (n > 0 && (reasons = calloc(n, sizeof(*reasons))) == NULL)
		return SOUK_ENOMEM;
	rc = price_select(c, n, ctx, reasons, &pick);
	if (rc != 0 && rc != SOUK_ENOENT)
		goto fail;
	rc = SOUK_ENOMEM;
	if ((doc = json_object()) == NULL || (list = json_array()) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(list, candidate_json(&c[i], i, reasons[i])) != 0)
			goto fail;
	rc = put(doc, "context", context_json(ctx), 0);
	rc = put(doc, "winner", index_or_null(pick.winner), rc);
	rc = put(doc, "original", index_or_null(pick.original), rc);
	rc = put(doc, "price", price_json(c, &pick), rc);
	rc = put(doc, "candidates", list, rc);
	list = NULL;
	if (rc != 0)
		goto fail;
	free(reasons);
	*out = doc;
	return 0;
fail:
	json_decref(list);
	json_decref(doc);
	free(reasons);
	return rc;
}
