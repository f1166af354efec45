/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/catalog_int.h - a product list's item as the catalog list renders
 * it (fcgi/h_catalog.c), for the other pages of products: a collection's
 * (fcgi/h_collection.c) renders its items with the same function, so both
 * carry the same fields, purchase state and pricing.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/problem.h"
#include "domain/catalog/collection_image.h"
#include "fcgi/pricing_int.h"

typedef struct {
	sbuf_t *b;
	unsigned n;
	/* in a channel: its prices and the filters on them */
	const channel_rec_t *chan;
	const pricing_view_t *pv;
	const price_req_t *pr;
	price_found_t *found;
	bool have_min, have_max, in_stock;
	int64_t min, max;
	/* ?collection=: only members of collection coll of cols */
	const col_view_t *cols;
	uint32_t coll;
	const catalog_filters_t *attrs; /* ?attr.<code>= filters (NULL or n 0: none) */
	arena_t *arena;        /* set by catalog_list_channel */
	price_found_t *vfound; /* variants' prices, allocated at the first */
} catalog_list_ctx_t;

/* One item (a catalog_item_cb): appended to l->b after a ',' unless it is
 * the first, or CATALOG_SKIP when a filter of l leaves it out. */
int catalog_list_item(const catalog_hit_t *h, void *l);
/* A list in channel chan: its ?price_min= / ?price_max= (minor units of
 * the request's currency) and ?in_stock=true filters and the request's
 * price context (price_request) into l and pr; false once a 400 (or a
 * 500) is sent. */
bool catalog_list_channel(api_thread_t *th, const api_req_t *req, api_resp_t *resp,
			  const char *query, size_t query_len, const catalog_view_t *view,
			  const channel_rec_t *chan, catalog_list_ctx_t *l, price_req_t *pr);
/* The product id of a hit, from its rendering's leading "id" member
 * (domain/catalog/render.h); false when the rendering has none. */
bool catalog_hit_id(const catalog_hit_t *h, store_id_t *id);
