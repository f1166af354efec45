/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_pricing.c - the price selection rule (domain/pricing/
 * select.h, docs/pricing.md): every reason, the specificity ladder, ties,
 * windows at their edges, quantity tiers within and across lists, sale
 * prices with their original, the explain document, and a property test
 * over random candidate sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "common/error.h"
#include "domain/pricing/select.h"

#define NOW 1798761600000LL /* 2027-01-01T00:00:00.000Z */

/* a base price in GBP for everyone, from 1, always valid */
static price_cand_t cand(const char *list, int64_t amount)
{
	return (price_cand_t){.list = list, .currency = "GBP", .amount = amount, .min_qty = 1};
}

static price_ctx_t ctx_gb(void)
{
	return (price_ctx_t){.currency = "GBP", .country = "GB", .quantity = 1, .now_ms = NOW};
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static size_t winner_of(const price_cand_t *c, size_t n, const price_ctx_t *x)
{
	price_pick_t p;
	int rc = price_select(c, n, x, NULL, &p);
	assert_true(rc == 0 || rc == SOUK_ENOENT);
	assert_true((rc == 0) == (p.winner != PRICE_NONE));
	return p.winner;
}

/* Each reason code comes out for the candidate it describes. */
static void test_price_select_every_reason_code(void **state)
{
	(void)state;
	price_cand_t c[12];
	c[0] = cand("a-eur", 500);
	c[0].currency = "EUR";
	c[1] = cand("b-later", 500);
	c[1].valid_from_ms = NOW + 1;
	c[2] = cand("c-over", 500);
	c[2].valid_until_ms = NOW;
	c[3] = cand("d-bulk", 500);
	c[3].min_qty = 5;
	c[4] = cand("e-theirs", 500);
	c[4].customer = "c2";
	c[5] = cand("f", 700);
	c[6] = cand("f", 650);
	c[6].min_qty = 2;
	c[7] = cand("g-all", 100);
	c[7].priority = 9;
	/* country-scoped: the winner h, and how the others lose to it */
	c[8] = cand("h", 900);
	c[8].country = "GB", c[8].priority = 1;
	c[9] = cand("i", 100);
	c[9].country = "GB";
	c[10] = cand("j", 950);
	c[10].country = "GB", c[10].priority = 1;
	c[11] = cand("k", 900);
	c[11].country = "GB", c[11].priority = 1;
	price_ctx_t x = ctx_gb();
	x.customer = "c1";
	x.quantity = 2;
	price_reason_t r[N(c)];
	price_pick_t p;
	assert_int_equal(price_select(c, N(c), &x, r, &p), 0);
	assert_int_equal(p.winner, 8);
	assert_int_equal(p.original, PRICE_NONE);
	static const price_reason_t want[N(c)] = {
	    PRICE_R_WRONG_CURRENCY, PRICE_R_NOT_YET_VALID,  PRICE_R_EXPIRED,
	    PRICE_R_BELOW_MIN_QTY,  PRICE_R_SCOPE_MISMATCH, PRICE_R_LOWER_TIER,
	    PRICE_R_LESS_SPECIFIC,  PRICE_R_LESS_SPECIFIC,  PRICE_R_CHOSEN,
	    PRICE_R_LOWER_PRIORITY, PRICE_R_HIGHER_AMOUNT,  PRICE_R_TIE_BROKEN_BY_CODE};
	for (size_t i = 0; i < N(c); i++)
		if (r[i] != want[i])
			fail_msg("candidate %zu (%s): %s, want %s", i, c[i].list,
				 price_reason_name(r[i]), price_reason_name(want[i]));
	/* the names are stable; the filters are told from the ranking */
	static const char *const names[PRICE_R__COUNT] = {
	    "chosen",	      "wrong_currency", "not_yet_valid",     "expired",
	    "below_min_qty",  "scope_mismatch", "lower_tier",	     "less_specific",
	    "lower_priority", "higher_amount",	"tie_broken_by_code"};
	for (unsigned i = 0; i < PRICE_R__COUNT; i++) {
		assert_string_equal(price_reason_name((price_reason_t)i), names[i]);
		assert_int_equal(price_reason_filtered((price_reason_t)i),
				 i >= PRICE_R_WRONG_CURRENCY && i <= PRICE_R_SCOPE_MISMATCH);
	}
	assert_string_equal(price_reason_name(PRICE_R__COUNT), "unknown");
}

/* customer > customer group > country > none, whatever the priority and
 * amount of the less specific list; members count in that order, so
 * group+country is more specific than the group alone. */
static void test_price_select_specificity_ladder(void **state)
{
	(void)state;
	price_cand_t c[5];
	c[0] = cand("all", 100);
	c[0].priority = 50;
	c[1] = cand("gb", 200);
	c[1].country = "GB", c[1].priority = 40;
	c[2] = cand("vip", 300);
	c[2].customer_group = "vip", c[2].priority = 30;
	c[3] = cand("vip-gb", 400);
	c[3].customer_group = "vip", c[3].country = "GB", c[3].priority = 20;
	c[4] = cand("ann", 500);
	c[4].customer = "ann", c[4].priority = 10;
	static const char *const groups[] = {"staff", "vip"};
	price_ctx_t x = ctx_gb();
	x.customer = "ann";
	x.customer_groups = groups;
	x.ngroups = 2;
	assert_int_equal(winner_of(c, 5, &x), 4);
	x.customer = "bob"; /* ann's own list no longer applies */
	assert_int_equal(winner_of(c, 5, &x), 3);
	x.country = "FR";
	assert_int_equal(winner_of(c, 5, &x), 2);
	x.ngroups = 1; /* staff only */
	x.country = "GB";
	assert_int_equal(winner_of(c, 5, &x), 1);
	x.country = NULL; /* unknown country: only unscoped lists */
	assert_int_equal(winner_of(c, 5, &x), 0);
	price_reason_t r[5];
	price_pick_t p;
	x = ctx_gb();
	x.customer = "ann";
	x.customer_groups = groups;
	x.ngroups = 2;
	assert_int_equal(price_select(c, 5, &x, r, &p), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(r[i], PRICE_R_LESS_SPECIFIC);
}

/* Among equally specific lists the higher priority wins even when dearer,
 * then the lower amount, then the smaller list code, in any order. */
static void test_price_select_ties(void **state)
{
	(void)state;
	price_ctx_t x = ctx_gb();
	price_cand_t c[3] = {cand("zeta", 900), cand("alpha", 900), cand("mid", 900)};
	assert_int_equal(winner_of(c, 3, &x), 1);
	price_cand_t d[3] = {c[2], c[0], c[1]};
	assert_int_equal(winner_of(d, 3, &x), 2);
	c[0].amount = 899; /* cheaper beats the code */
	assert_int_equal(winner_of(c, 3, &x), 0);
	c[2].priority = 1; /* priority beats the amount */
	c[2].amount = 5000;
	assert_int_equal(winner_of(c, 3, &x), 2);
	price_reason_t r[3];
	price_pick_t p;
	assert_int_equal(price_select(c, 3, &x, r, &p), 0);
	assert_int_equal(r[0], PRICE_R_LOWER_PRIORITY);
	assert_int_equal(r[1], PRICE_R_LOWER_PRIORITY);
	c[2].priority = -1; /* negative priorities rank below the default */
	assert_int_equal(price_select(c, 3, &x, r, &p), 0);
	assert_int_equal(p.winner, 0);
	assert_int_equal(r[1], PRICE_R_HIGHER_AMOUNT);
	assert_int_equal(r[2], PRICE_R_LOWER_PRIORITY);
}

/* A window is [valid_from, valid_until): open at its first millisecond,
 * closed at valid_until; 0 leaves a side open. */
static void test_price_select_windows_at_their_edges(void **state)
{
	(void)state;
	price_cand_t c = cand("w", 100);
	c.valid_from_ms = NOW;
	c.valid_until_ms = NOW + 1000;
	price_ctx_t x = ctx_gb();
	price_reason_t r;
	price_pick_t p;
	static const struct {
		int64_t now;
		price_reason_t want;
	} at[] = {
	    {NOW - 1, PRICE_R_NOT_YET_VALID}, {NOW, PRICE_R_CHOSEN},
	    {NOW + 999, PRICE_R_CHOSEN},      {NOW + 1000, PRICE_R_EXPIRED},
	    {NOW + 1001, PRICE_R_EXPIRED},
	};
	for (size_t i = 0; i < N(at); i++) {
		x.now_ms = at[i].now;
		int rc = price_select(&c, 1, &x, &r, &p);
		assert_int_equal(rc, at[i].want == PRICE_R_CHOSEN ? 0 : SOUK_ENOENT);
		assert_int_equal(r, at[i].want);
	}
	c.valid_from_ms = 0; /* open before */
	x.now_ms = 1;
	assert_int_equal(price_select(&c, 1, &x, &r, &p), 0);
	c.valid_until_ms = 0; /* and after */
	x.now_ms = INT64_MAX;
	assert_int_equal(price_select(&c, 1, &x, &r, &p), 0);
}

/* Tiers: within a list the largest min_qty the quantity reaches is the
 * list's offer (1-9 at 10.00, 10+ at 9.00); across lists those offers
 * compete by the rule, so a higher-priority list's 1+ price beats another
 * list's cheaper 10+ tier, and an equal-priority list's cheaper tier wins
 * where it applies. */
static void test_price_select_quantity_tiers(void **state)
{
	(void)state;
	price_cand_t c[2] = {cand("uk", 1000), cand("uk", 900)};
	c[1].min_qty = 10;
	price_ctx_t x = ctx_gb();
	price_reason_t r[4];
	price_pick_t p;
	for (int64_t q = 1; q <= 12; q++) {
		x.quantity = q;
		assert_int_equal(price_select(c, 2, &x, r, &p), 0);
		assert_int_equal(c[p.winner].amount, q < 10 ? 1000 : 900);
		assert_int_equal(r[1], q < 10 ? PRICE_R_BELOW_MIN_QTY : PRICE_R_CHOSEN);
		assert_int_equal(r[0], q < 10 ? PRICE_R_CHOSEN : PRICE_R_LOWER_TIER);
	}
	/* a list's larger tier wins even when it is dearer: it is that
	 * list's price for the quantity */
	c[1].amount = 1100;
	x.quantity = 10;
	assert_int_equal(winner_of(c, 2, &x), 1);
	c[1].amount = 900;

	price_cand_t d[4] = {c[0], c[1], cand("promo", 920), cand("b2b", 950)};
	d[2].min_qty = 5;
	d[3].priority = 1;
	static const struct {
		int64_t qty;
		const char *list;
		int64_t amount;
	} with_promo[] = {{1, "uk", 1000},   {4, "uk", 1000}, {5, "promo", 920},
			  {9, "promo", 920}, {10, "uk", 900}, {1000, "uk", 900}};
	for (size_t i = 0; i < N(with_promo); i++) {
		x.quantity = with_promo[i].qty;
		size_t w = winner_of(d, 3, &x);
		assert_string_equal(d[w].list, with_promo[i].list);
		assert_int_equal(d[w].amount, with_promo[i].amount);
	}
	/* the b2b list's priority outranks every tier of the others */
	for (int64_t q = 1; q <= 20; q++) {
		x.quantity = q;
		assert_int_equal(winner_of(d, 4, &x), 3);
	}
}

/* A sale competes like any list; its winner keeps the best base price (by
 * the same rule, not the lowest) as the original when that is dearer. */
static void test_price_select_sale_keeps_the_best_base(void **state)
{
	(void)state;
	price_ctx_t x = ctx_gb();
	price_pick_t p;
	price_cand_t c[4] = {cand("base", 1000), cand("sale", 800), cand("base-hi", 1200),
			     cand("vip", 700)};
	c[1].kind = PRICE_KIND_SALE;
	c[3].customer_group = "vip";
	assert_int_equal(price_select(c, 2, &x, NULL, &p), 0);
	assert_int_equal(p.winner, 1);
	assert_int_equal(p.original, 0);
	/* the best base by the rule: the higher priority's 12.00, not 10.00 */
	c[2].priority = 1;
	c[1].priority = 2;
	assert_int_equal(price_select(c, 4, &x, NULL, &p), 0);
	assert_int_equal(p.winner, 1);
	assert_int_equal(p.original, 2);
	/* a group's base price is not an anonymous shopper's original */
	c[2].priority = 0;
	assert_int_equal(price_select(c, 4, &x, NULL, &p), 0);
	assert_int_equal(p.original, 0);
	/* a sale dearer than the base loses at equal priority ... */
	c[1].priority = 0;
	c[1].amount = 1100;
	assert_int_equal(price_select(c, 2, &x, NULL, &p), 0);
	assert_int_equal(p.winner, 0);
	assert_int_equal(p.original, PRICE_NONE);
	/* ... and wins with a higher one, without a strike-through */
	c[1].priority = 1;
	assert_int_equal(price_select(c, 2, &x, NULL, &p), 0);
	assert_int_equal(p.winner, 1);
	assert_int_equal(p.original, PRICE_NONE);
	/* no base price at all */
	assert_int_equal(price_select(&c[1], 1, &x, NULL, &p), 0);
	assert_int_equal(p.original, PRICE_NONE);
}

static void test_price_select_refuses_bad_input(void **state)
{
	(void)state;
	price_cand_t c = cand("a", 1);
	price_ctx_t x = ctx_gb();
	price_pick_t p;
	price_reason_t r;
	assert_int_equal(price_select(NULL, 0, &x, NULL, &p), SOUK_ENOENT);
	assert_int_equal(p.winner, PRICE_NONE);
	assert_int_equal(price_select(NULL, 1, &x, NULL, &p), SOUK_EINVAL);
	assert_int_equal(price_select(&c, 1, NULL, NULL, &p), SOUK_EINVAL);
	assert_int_equal(price_select(&c, 1, &x, NULL, NULL), SOUK_EINVAL);
	x.quantity = 0;
	assert_int_equal(price_select(&c, 1, &x, &r, &p), SOUK_EINVAL);
	assert_int_equal(p.winner, PRICE_NONE);
	x.quantity = 1;
	x.currency = NULL; /* no currency asked: nothing applies */
	assert_int_equal(price_select(&c, 1, &x, &r, &p), SOUK_ENOENT);
	assert_int_equal(r, PRICE_R_WRONG_CURRENCY);
	c.list = NULL;
	assert_int_equal(price_select(&c, 1, &x, &r, &p), SOUK_EINVAL);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The explain document names the context, the winner, its original and
 * every candidate with its list's fields and reason. */
static void test_price_explain_json(void **state)
{
	(void)state;
	price_cand_t c[3] = {cand("uk-base", 1000), cand("uk-sale", 800), cand("eu", 700)};
	c[1].kind = PRICE_KIND_SALE;
	c[1].list_index = 7;
	c[1].customer_group = "vip";
	c[1].valid_from_ms = NOW - 1000;
	c[1].valid_until_ms = NOW + 86400000;
	c[2].currency = "EUR";
	static const char *const groups[] = {"vip"};
	price_ctx_t x = ctx_gb();
	x.customer = "ann";
	x.customer_groups = groups;
	x.ngroups = 1;
	x.quantity = 3;
	json_t *doc = NULL;
	assert_int_equal(price_explain_json(c, 3, &x, &doc), 0);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "winner")), 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "original")), 0);
	json_t *price = json_object_get(doc, "price");
	assert_int_equal(json_integer_value(json_object_get(price, "amount")), 800);
	assert_string_equal(jstr(price, "currency"), "GBP");
	assert_string_equal(jstr(price, "kind"), "sale");
	assert_int_equal(json_integer_value(json_object_get(price, "original")), 1000);
	assert_string_equal(jstr(price, "original_list"), "uk-base");
	json_t *cx = json_object_get(doc, "context");
	assert_string_equal(jstr(cx, "currency"), "GBP");
	assert_string_equal(jstr(cx, "customer"), "ann");
	assert_string_equal(jstr(cx, "country"), "GB");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(cx, "customer_groups"), 0)), "vip");
	assert_int_equal(json_integer_value(json_object_get(cx, "quantity")), 3);
	assert_string_equal(jstr(cx, "now"), "2027-01-01T00:00:00.000Z");
	json_t *cands = json_object_get(doc, "candidates");
	assert_int_equal(json_array_size(cands), 3);
	json_t *c0 = json_array_get(cands, 0), *c1 = json_array_get(cands, 1),
	       *c2 = json_array_get(cands, 2);
	assert_string_equal(jstr(c0, "reason"), "less_specific");
	assert_string_equal(jstr(c1, "reason"), "chosen");
	assert_string_equal(jstr(c2, "reason"), "wrong_currency");
	assert_string_equal(jstr(c0, "specificity"), "none");
	assert_string_equal(jstr(c1, "specificity"), "customer_group");
	assert_string_equal(jstr(json_object_get(c1, "scope"), "customer_group"), "vip");
	assert_int_equal(json_object_size(json_object_get(c0, "scope")), 0);
	assert_string_equal(jstr(c1, "kind"), "sale");
	assert_string_equal(jstr(c1, "list"), "uk-sale");
	assert_int_equal(json_integer_value(json_object_get(c1, "list_index")), 7);
	assert_int_equal(json_integer_value(json_object_get(c1, "index")), 1);
	assert_int_equal(json_integer_value(json_object_get(c1, "amount")), 800);
	assert_int_equal(json_integer_value(json_object_get(c1, "min_qty")), 1);
	assert_string_equal(jstr(c1, "valid_from"), "2026-12-31T23:59:59.000Z");
	assert_string_equal(jstr(c1, "valid_until"), "2027-01-02T00:00:00.000Z");
	assert_true(json_is_null(json_object_get(c0, "valid_from")));
	assert_string_equal(jstr(c2, "currency"), "EUR");
	json_decref(doc);

	/* nothing applies: no winner, every candidate says why */
	x.currency = "USD";
	x.customer = NULL;
	x.ngroups = 0;
	assert_int_equal(price_explain_json(c, 3, &x, &doc), 0);
	assert_true(json_is_null(json_object_get(doc, "winner")));
	assert_true(json_is_null(json_object_get(doc, "price")));
	assert_true(json_is_null(json_object_get(json_object_get(doc, "context"), "customer")));
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(
		    jstr(json_array_get(json_object_get(doc, "candidates"), i), "reason"),
		    "wrong_currency");
	json_decref(doc);
	assert_int_equal(price_explain_json(c, 3, &x, NULL), SOUK_EINVAL);
	x.quantity = 0;
	assert_int_equal(price_explain_json(c, 3, &x, &doc), SOUK_EINVAL);
	assert_null(doc);
}

/* ---- property: random candidate sets (fixed seed, bounded count) ---- */

/* rand() after srand(PROP_SEED): the same sets on every run */
static uint64_t pick(uint64_t n)
{
	return (uint64_t)rand() % n;
}

#define PROP_SEED   4217
#define PROP_ROUNDS 3000
#define PROP_LISTS  6
#define PROP_TIERS  3
#define PROP_MAX    (PROP_LISTS * PROP_TIERS)

static const char *const list_codes[PROP_LISTS] = {"l0", "l1", "l2", "l3", "l4", "l5"};
static const char *const currencies[] = {"GBP", "EUR"};
static const char *const groups_pool[] = {"vip", "staff", "b2b"};
static const char *const customers[] = {"ann", "bob"};
static const char *const countries[] = {"GB", "DE"};
static const int64_t tiers[PROP_TIERS] = {1, 5, 10};

/* one random set: up to PROP_LISTS lists, each its fields and 1..3 tiers of
 * distinct min_qty (as the store's tier key holds them), amounts from a
 * small range so that ties happen */
static size_t random_set(price_cand_t *c)
{
	size_t n = 0, nl = 1 + pick(PROP_LISTS);
	for (size_t l = 0; l < nl; l++) {
		price_cand_t base = {.list = list_codes[l],
				     .list_index = (uint32_t)l,
				     .currency = currencies[pick(2)],
				     .kind = pick(3) == 0 ? PRICE_KIND_SALE : PRICE_KIND_BASE,
				     .priority = (int32_t)pick(3) - 1};
		if (pick(3) == 0)
			base.customer = customers[pick(2)];
		if (pick(3) == 0)
			base.customer_group = groups_pool[pick(3)];
		if (pick(3) == 0)
			base.country = countries[pick(2)];
		if (pick(4) == 0)
			base.valid_from_ms = NOW + (int64_t)pick(5) - 2;
		if (pick(4) == 0)
			base.valid_until_ms = NOW + (int64_t)pick(5) - 1;
		for (size_t t = 0; t < PROP_TIERS; t++) {
			if (t > 0 && pick(2) == 0)
				continue;
			c[n] = base;
			c[n].min_qty = tiers[t];
			c[n].amount = 95 + (int64_t)pick(10);
			n++;
		}
	}
	return n;
}

static void random_ctx(price_ctx_t *x, const char **groups)
{
	size_t ng = pick(3);
	for (size_t i = 0; i < ng; i++)
		groups[i] = groups_pool[pick(3)];
	*x = (price_ctx_t){.currency = currencies[pick(2)],
			   .customer = pick(2) ? customers[pick(2)] : NULL,
			   .customer_groups = groups,
			   .ngroups = ng,
			   .country = pick(3) ? countries[pick(2)] : NULL,
			   .quantity = 1 + (int64_t)pick(12),
			   .now_ms = NOW + (int64_t)pick(3) - 1};
}

/* The winner is never a candidate the filters refuse, it is the one
 * "chosen", nothing that competes outranks it, and shuffling the candidates
 * changes neither the winner, its original nor any candidate's reason. */
static void test_price_select_property_random_sets(void **state)
{
	(void)state;
	price_cand_t c[PROP_MAX], s[PROP_MAX];
	price_reason_t r[PROP_MAX], rs[PROP_MAX];
	size_t perm[PROP_MAX];
	const char *groups[3];
	unsigned won = 0, sales = 0;
	srand(PROP_SEED);
	for (unsigned round = 0; round < PROP_ROUNDS; round++) {
		size_t n = random_set(c);
		price_ctx_t x;
		price_pick_t p, ps;
		random_ctx(&x, groups);
		int rc = price_select(c, n, &x, r, &p);
		assert_true(rc == 0 || rc == SOUK_ENOENT);
		size_t chosen = 0;
		for (size_t i = 0; i < n; i++)
			chosen += r[i] == PRICE_R_CHOSEN;
		if (p.winner == PRICE_NONE) {
			assert_int_equal(chosen, 0);
			for (size_t i = 0; i < n; i++)
				assert_true(price_reason_filtered(r[i]) ||
					    r[i] == PRICE_R_LOWER_TIER);
		} else {
			const price_cand_t *w = &c[p.winner];
			won++;
			assert_int_equal(chosen, 1);
			assert_int_equal(r[p.winner], PRICE_R_CHOSEN);
			/* the filters, restated */
			assert_string_equal(w->currency, x.currency);
			assert_true(w->min_qty <= x.quantity);
			assert_true(w->valid_from_ms == 0 || w->valid_from_ms <= x.now_ms);
			assert_true(w->valid_until_ms == 0 || x.now_ms < w->valid_until_ms);
			assert_true(w->customer == NULL ||
				    (x.customer && strcmp(w->customer, x.customer) == 0));
			if (w->country != NULL)
				assert_true(x.country && strcmp(w->country, x.country) == 0);
			bool in_group = w->customer_group == NULL;
			for (size_t g = 0; g < x.ngroups; g++)
				in_group |= w->customer_group != NULL &&
					    strcmp(w->customer_group, x.customer_groups[g]) == 0;
			assert_true(in_group);
			/* the largest tier of its list the quantity reaches */
			for (size_t i = 0; i < n; i++)
				if (strcmp(c[i].list, w->list) == 0 && c[i].min_qty <= x.quantity)
					assert_true(c[i].min_qty <= w->min_qty);
			/* no competitor ranks above it: every one has a loss reason */
			for (size_t i = 0; i < n; i++)
				if (i != p.winner)
					assert_true(r[i] != PRICE_R_CHOSEN);
		}
		if (p.original != PRICE_NONE) {
			sales++;
			assert_int_equal(c[p.winner].kind, PRICE_KIND_SALE);
			assert_int_equal(c[p.original].kind, PRICE_KIND_BASE);
			assert_true(c[p.original].amount > c[p.winner].amount);
			assert_false(price_reason_filtered(r[p.original]));
			assert_int_not_equal(r[p.original], PRICE_R_LOWER_TIER);
		}
		/* a shuffle (Fisher-Yates) */
		for (size_t i = 0; i < n; i++)
			perm[i] = i;
		for (size_t i = n; i > 1; i--) {
			size_t j = pick(i), t = perm[i - 1];
			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			s[i] = c[perm[i]];
		assert_int_equal(price_select(s, n, &x, rs, &ps), rc);
		assert_int_equal(ps.winner == PRICE_NONE, p.winner == PRICE_NONE);
		if (ps.winner != PRICE_NONE)
			assert_int_equal(perm[ps.winner], p.winner);
		assert_int_equal(ps.original == PRICE_NONE, p.original == PRICE_NONE);
		if (ps.original != PRICE_NONE)
			assert_int_equal(perm[ps.original], p.original);
		for (size_t i = 0; i < n; i++)
			if (rs[i] != r[perm[i]])
				fail_msg("round %u: candidate %zu is %s shuffled, %s before", round,
					 perm[i], price_reason_name(rs[i]),
					 price_reason_name(r[perm[i]]));
	}
	/* the sets exercise the rule: some rounds have winners and originals */
	assert_true(won > PROP_ROUNDS / 10);
	assert_true(sales > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_price_select_every_reason_code),
	    cmocka_unit_test(test_price_select_specificity_ladder),
	    cmocka_unit_test(test_price_select_ties),
	    cmocka_unit_test(test_price_select_windows_at_their_edges),
	    cmocka_unit_test(test_price_select_quantity_tiers),
	    cmocka_unit_test(test_price_select_sale_keeps_the_best_base),
	    cmocka_unit_test(test_price_select_refuses_bad_input),
	    cmocka_unit_test(test_price_explain_json),
	    cmocka_unit_test(test_price_select_property_random_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
