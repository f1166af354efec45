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

typedef struct {
	char currency[4], country[3], group[65];
	const char *groups[1];
	price_ctx_t ctx;
	bool personal; /* a customer group applied: not for shared caches */
} price_req_t;

/* The price context of a read in channel c from its query: ?currency= (one
 * of the channel's; else its default), ?quantity= (tiers, default 1),
 * ?country= (ISO 3166-1 alpha-2) and the customer group, which only a
 * principal holding pricing.read may name (X-Souk-Customer-Group, or
 * group when given: the explain route's ?customer_group=); false once a
 * 400 naming the parameter is sent. */
bool price_request(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const char *query,
		   size_t query_len, const channel_rec_t *c, const char *group, price_req_t *pr);
/* Append the "pricing" member of a read of hit in channel c to b; *tag
 * gets a digest of the price for the ETag. 0 or SOUK_ECORRUPT. */
int price_member(sbuf_t *b, const pricing_view_t *pv, const channel_rec_t *c,
		 const catalog_hit_t *h, const price_req_t *pr, uint64_t *tag);
