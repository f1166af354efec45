/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/handlers.h - every route's handler, named by its row in
 * fcgi/routes.c. api_handle() has authenticated and authorised the request
 * (the route's permission), checked the body size and X-Souk-Reason of
 * writes, and calls the handler, which must fill resp.
 *
 *   fcgi/h_entity.c   any kind of the registry, from LMDB: create, update
 *                     (merge patch, If-Match), delete (archive), revert,
 *                     history, get and list for staff
 *   fcgi/h_catalog.c  public catalog reads from the image (products by id,
 *                     by sku, lists)
 *   fcgi/h_counter.c  counters; fcgi/h_batch.c batches of operations
 *   fcgi/h_pricing.c  the explain route of the price selection rule
 *   fcgi/h_collection.c active collections for shoppers, from the image
 *   fcgi/api.c        /healthz and /metrics
 */
#include "fcgi/api.h"

#define API_HANDLER(name)                                                                   \
	void name(api_thread_t *th, const api_req_t *req, api_resp_t *resp, const route_t *rt, \
		  const char *query, size_t query_len)

API_HANDLER(h_entity_create);
API_HANDLER(h_entity_update);
API_HANDLER(h_entity_delete);
API_HANDLER(h_entity_revert);
API_HANDLER(h_entity_history);
API_HANDLER(h_entity_get);
API_HANDLER(h_entity_list);
API_HANDLER(h_catalog_get);
API_HANDLER(h_catalog_list);
API_HANDLER(h_counter_get);
API_HANDLER(h_counter_add);
API_HANDLER(h_batch);
API_HANDLER(h_price_explain);
API_HANDLER(h_collection_get);
API_HANDLER(h_collection_products);
API_HANDLER(h_healthz);
API_HANDLER(h_metrics);
