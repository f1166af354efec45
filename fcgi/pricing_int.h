/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/pricing_int.h - a request's price context and the price a read in a
 * channel serves (fcgi/h_pricing.c), for the catalog reads and the explain
 * route.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fcgi/api_int.h"
#include "fcgi/arena.h"

typedef struct {
	char currency[4], country[3], group[65];
	const char *groups[1];
	price_ctx_t ctx;
	bool personal;	    /* a customer group applied: not for shared caches */
	const char *locale; /* the channel locale amounts are formatted in */
} price_req_t;

/* The price context of a read in channel c from its query: ?currency= (one
 * of the channel's; else its default), ?quantity= (tiers, default 1),
 * ?country= (ISO 3166-1 alpha-2) and the customer group, which only a
 * principal holding pricing.read may name (X-Souk-Customer-Group, or
 * group when given: the explain route's ?customer_group=); false once a
 * 400 naming the parameter is sent. */
bool price_request(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const char *query,
		   size_t query_len, const channel_rec_t *c, const char *group, price_req_t *pr);
/* The candidates of a SKU in a channel and the rule's pick for pr. */
typedef struct {
	price_cand_t cand[PRICING_SKU_CANDS_MAX + CATALOG_PRICES_MAX];
	pricing_hist_t hist[PRICING_SKU_CANDS_MAX + CATALOG_PRICES_MAX];
	price_reason_t reason[PRICING_SKU_CANDS_MAX + CATALOG_PRICES_MAX];
	char own[CATALOG_PRICES_MAX][4]; /* currencies of the product's own prices */
	size_t n;
	price_pick_t pick;
} price_found_t;
/* The candidates of the product of h (its channel price lists' and its own
 * prices in the channel's currencies, as list PRICING_PRODUCT_LIST) and the
 * rule's pick for pr: 0 (a winner), SOUK_ENOENT when no price applies, or
 * SOUK_ECORRUPT. */
int price_find(const pricing_view_t *pv, const channel_rec_t *c, const catalog_hit_t *h,
	       const price_req_t *pr, price_found_t *out);
/* Append the "pricing" member for f (found: price_find gave 0), amounts
 * formatted with the channel's templates (pc, may be NULL: not formatted). */
void price_member_of(sbuf_t *b, const pricing_chan_t *pc, const price_found_t *f, bool found,
		     const price_req_t *pr, uint64_t *tag);
/* Append the "pricing" member of a read of hit in channel c to b; *tag
 * gets a digest of the price for the ETag. 0 or SOUK_ECORRUPT. */
int price_member(sbuf_t *b, const pricing_view_t *pv, const channel_rec_t *c,
		 const catalog_hit_t *h, const price_req_t *pr, uint64_t *tag);
/* price_find for variant v of the product of h: its SKU's prices in the
 * channel's lists and its own prices; SOUK_ENOENT when none applies (the
 * caller then takes the product's: docs/catalog.md). */
int price_find_variant(const pricing_view_t *pv, const channel_rec_t *c, const catalog_hit_t *h,
		       const catalog_variant_t *v, const price_req_t *pr, price_found_t *out);
/* Append h's rendering without its closing '}', each variant object in it
 * carrying its "pricing" (its own, else the product's: pf, found pfound)
 * and "purchasable" (the product's, in the channel) spliced in at the ends
 * the record names: one price lookup per variant, no JSON parsing. scratch
 * is working room; *tag gets a digest of the variants' prices. 0 or
 * SOUK_ECORRUPT. */
int price_variants(sbuf_t *b, const pricing_view_t *pv, const channel_rec_t *c,
		   const catalog_hit_t *h, const price_found_t *pf, bool pfound, const price_req_t *pr,
		   price_found_t *scratch, uint64_t *tag);
