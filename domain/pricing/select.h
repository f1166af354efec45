/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/pricing/select.h - which price a shopper pays: the one selection
 * rule (docs/pricing.md), as a pure function.
 *
 * It runs per request in souk-fcgi over the candidates of one SKU read from
 * the image (the prices of the active lists of the request's channel): no
 * LMDB, no allocation, no locale, no clock of its own. The caller leaves
 * out draft lists and other channels' lists when it builds the candidates;
 * everything else is decided here:
 *
 *   1. filter: the list's currency is the request's; its window holds now
 *      (valid_from <= now < valid_until, 0 = open); min_qty <= quantity;
 *      every scope member the list sets matches the context (its customer,
 *      one of the customer's groups, the request's country). The first test
 *      that fails, in that order, is the candidate's reason.
 *   2. tiers: of one list's survivors only the largest min_qty competes (its
 *      smaller tiers: lower_tier), so a list offers one price per quantity.
 *   3. rank the competitors: the most specific scope (customer > customer
 *      group > country > none, compared member by member in that order, so
 *      group+country is more specific than group alone), then the higher
 *      priority, then the lower amount, then the smaller list code
 *      (byte order): a total order, so the winner never depends on the
 *      order of the candidates.
 *   4. a sale winner keeps the best base competitor (by the same order) as
 *      its strike-through original, when that is dearer than the sale.
 *
 * Amounts are integer minor units of the candidate's currency (no float
 * anywhere). Candidates of one list carry the same list fields (code,
 * currency, kind, priority, scope, window), and a list holds at most one
 * price per min_qty (the store's tier key); strings are NUL-terminated.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef enum {
	PRICE_KIND_BASE = 0, /* a list of regular prices */
	PRICE_KIND_SALE,     /* a sale: its winner shows the best base price as original */
} price_kind_t;

/* Why a candidate won or lost, one per candidate (price_reason_name gives
 * the stable name the explain output and docs/pricing.md use). */
typedef enum {
	PRICE_R_CHOSEN = 0,	    /* "chosen": the winner */
	PRICE_R_WRONG_CURRENCY,	    /* "wrong_currency": the list is in another currency */
	PRICE_R_NOT_YET_VALID,	    /* "not_yet_valid": now < valid_from */
	PRICE_R_EXPIRED,	    /* "expired": now >= valid_until */
	PRICE_R_BELOW_MIN_QTY,	    /* "below_min_qty": quantity < min_qty */
	PRICE_R_SCOPE_MISMATCH,	    /* "scope_mismatch": a scope member the context lacks */
	PRICE_R_LOWER_TIER,	    /* "lower_tier": a larger tier of its list applies */
	PRICE_R_LESS_SPECIFIC,	    /* "less_specific": the winner's scope is more specific */
	PRICE_R_LOWER_PRIORITY,	    /* "lower_priority": as specific, lower list priority */
	PRICE_R_HIGHER_AMOUNT,	    /* "higher_amount": as specific and high, dearer */
	PRICE_R_TIE_BROKEN_BY_CODE, /* "tie_broken_by_code": equal, its list code sorts later */
	PRICE_R__COUNT,
} price_reason_t;

/* Stable name of a reason ("chosen", ...), "unknown" past the enum. */
const char *price_reason_name(price_reason_t r);
/* True for the reasons of step 1 (the candidate could not apply at all). */
bool price_reason_filtered(price_reason_t r);

/* One price of the SKU, with its list's fields. */
typedef struct {
	const char *list;     /* the list's code, unique: the last tie-break */
	uint32_t list_index;  /* the caller's own index of the list (its image record) */
	const char *currency; /* the list's ISO 4217 code */
	price_kind_t kind;    /* the list's kind */
	int32_t priority;     /* the list's priority: higher wins */
	const char *customer; /* the list's scope; NULL or "": not limited by it */
	const char *customer_group;
	const char *country;	/* ISO 3166-1 alpha-2, upper-case */
	int64_t valid_from_ms;	/* epoch ms, inclusive; 0: open */
	int64_t valid_until_ms; /* epoch ms, exclusive; 0: open */
	int64_t amount;		/* minor units of currency */
	int64_t min_qty;	/* >= 1: the tier */
} price_cand_t;

/* Who asks, for what, and when. */
typedef struct {
	const char *currency;		    /* the request's currency */
	const char *customer;		    /* the customer's id; NULL: anonymous */
	const char *const *customer_groups; /* the customer's groups (ngroups of them) */
	size_t ngroups;
	const char *country; /* the request's country; NULL: unknown */
	int64_t quantity;    /* >= 1 */
	int64_t now_ms;	     /* epoch ms */
} price_ctx_t;

#define PRICE_NONE SIZE_MAX

typedef struct {
	size_t winner;	 /* index of the chosen candidate, PRICE_NONE when none applies */
	size_t original; /* a sale winner's strike-through: the best base competitor
			  * when dearer than the sale, else PRICE_NONE */
} price_pick_t;

/*
 * Apply the rule to the n candidates c for ctx. reasons (n entries, may be
 * NULL) gets each candidate's reason. 0 with out->winner set; SOUK_ENOENT
 * when no candidate applies (out->winner and out->original PRICE_NONE,
 * reasons filled); SOUK_EINVAL for a NULL ctx or out, candidates NULL with
 * n > 0, a candidate without a list code, or a quantity below 1 (out then
 * holds PRICE_NONE twice, reasons untouched). No allocation; O(n^2) in the worst case
 * (the tiers of one list), n being one SKU's prices.
 */
int price_select(const price_cand_t *c, size_t n, const price_ctx_t *ctx, price_reason_t *reasons,
		 price_pick_t *out);

/*
 * The explain document of GET /api/v1/prices/explain (staff): the context,
 * the winner and every candidate with its list's fields and its reason, as
 * a new JSON object in *out (layout in docs/pricing.md; a window bound
 * that is no time from 1970 to 9999 is shown as its number). 0 (also when no
 * candidate applies: "winner" null), SOUK_EINVAL as price_select, or
 * SOUK_ENOMEM. Allocates; not for the hot path.
 */
int price_explain_json(const price_cand_t *c, size_t n, const price_ctx_t *ctx, json_t **out);
