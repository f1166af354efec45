/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/router.h - request routing and URL parsing (no I/O, no allocation).
 * The routes are the rows of fcgi/routes.c:
 *
 *   GET    /api/v1/products                      ROUTE_PRODUCT_LIST
 *   POST   /api/v1/products                      ROUTE_PRODUCT_CREATE
 *   GET    /api/v1/products/{id}                 ROUTE_PRODUCT_GET
 *   PATCH  /api/v1/products/{id}                 ROUTE_PRODUCT_UPDATE
 *   DELETE /api/v1/products/{id}                 ROUTE_PRODUCT_DELETE
 *   GET    /api/v1/products/{id}/history         ROUTE_PRODUCT_HISTORY
 *   POST   /api/v1/products/{id}/revert          ROUTE_PRODUCT_REVERT
 *   GET    /api/v1/products/by-sku/{sku}         ROUTE_PRODUCT_BY_SKU
 *   GET    /healthz                              ROUTE_HEALTHZ
 *   GET    /metrics                              ROUTE_METRICS
 *   GET    /api/v1/warehouses (and POST, {id} GET/PATCH/DELETE, history,
 *          revert: as products)                 ROUTE_WAREHOUSE_*
 *   GET    /api/v1/channels, /api/v1/sellers (as warehouses) ROUTE_CHANNEL_*,
 *                                                 ROUTE_SELLER_*
 *   GET    /api/v1/product-types, /api/v1/categories, /api/v1/collections
 *          (as warehouses)  ROUTE_PRODUCT_TYPE_*, ROUTE_CATEGORY_*, ROUTE_COLLECTION_*
 *   GET    /api/v1/collections/by-code/{code}    ROUTE_COLLECTION_BY_CODE
 *   GET    /api/v1/collections/by-code/{code}/products ROUTE_COLLECTION_PRODUCTS
 *   GET    /api/v1/counters/{name}               ROUTE_COUNTER_GET
 *   POST   /api/v1/counters/{name}/add           ROUTE_COUNTER_ADD
 *   POST   /api/v1/batch                         ROUTE_BATCH
 *   GET    /api/v1/price-lists, /api/v1/prices (as warehouses)
 *                                                 ROUTE_PRICE_LIST_*, ROUTE_PRICE_*
 * HEAD is accepted wherever GET is. Path segments are percent-decoded.
 */
#include <stdbool.h>
#include <stddef.h>

#include "model/perm.h"

typedef enum {
	ROUTE_NONE = 0, /* not found or method not allowed (see status) */
	ROUTE_PRODUCT_LIST,
	ROUTE_PRODUCT_CREATE,
	ROUTE_PRODUCT_GET,
	ROUTE_PRODUCT_UPDATE,
	ROUTE_PRODUCT_DELETE,
	ROUTE_PRODUCT_HISTORY,
	ROUTE_PRODUCT_REVERT,
	ROUTE_PRODUCT_BY_SKU,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_WAREHOUSE_LIST,
	ROUTE_WAREHOUSE_CREATE,
	ROUTE_WAREHOUSE_GET,
	ROUTE_WAREHOUSE_UPDATE,
	ROUTE_WAREHOUSE_DELETE,
	ROUTE_WAREHOUSE_HISTORY,
	ROUTE_WAREHOUSE_REVERT,
	ROUTE_COUNTER_GET,
	ROUTE_COUNTER_ADD,
	ROUTE_BATCH,
	ROUTE_CHANNEL_LIST,
	ROUTE_CHANNEL_CREATE,
	ROUTE_CHANNEL_GET,
	ROUTE_CHANNEL_UPDATE,
	ROUTE_CHANNEL_DELETE,
	ROUTE_CHANNEL_HISTORY,
	ROUTE_CHANNEL_REVERT,
	ROUTE_SELLER_LIST,
	ROUTE_SELLER_CREATE,
	ROUTE_SELLER_GET,
	ROUTE_SELLER_UPDATE,
	ROUTE_SELLER_DELETE,
	ROUTE_SELLER_HISTORY,
	ROUTE_SELLER_REVERT,
	ROUTE_PRICE_LIST_LIST,
	ROUTE_PRICE_LIST_CREATE,
	ROUTE_PRICE_LIST_GET,
	ROUTE_PRICE_LIST_UPDATE,
	ROUTE_PRICE_LIST_DELETE,
	ROUTE_PRICE_LIST_HISTORY,
	ROUTE_PRICE_LIST_REVERT,
	ROUTE_PRICE_LIST, /* GET /api/v1/prices (the price kind's list route) */
	ROUTE_PRICE_CREATE,
	ROUTE_PRICE_GET,
	ROUTE_PRICE_UPDATE,
	ROUTE_PRICE_DELETE,
	ROUTE_PRICE_HISTORY,
	ROUTE_PRICE_REVERT,
	ROUTE_PRICE_EXPLAIN, /* GET /api/v1/prices/explain (staff) */
	ROUTE_VARIANT_LIST,
	ROUTE_VARIANT_CREATE,
	ROUTE_VARIANT_GET,
	ROUTE_VARIANT_UPDATE,
	ROUTE_VARIANT_DELETE,
	ROUTE_VARIANT_HISTORY,
	ROUTE_VARIANT_REVERT,
	ROUTE_PRODUCT_TYPE_LIST,
	ROUTE_PRODUCT_TYPE_CREATE,
	ROUTE_PRODUCT_TYPE_GET,
	ROUTE_PRODUCT_TYPE_UPDATE,
	ROUTE_PRODUCT_TYPE_DELETE,
	ROUTE_PRODUCT_TYPE_HISTORY,
	ROUTE_PRODUCT_TYPE_REVERT,
	ROUTE_CATEGORY_LIST,
	ROUTE_CATEGORY_CREATE,
	ROUTE_CATEGORY_GET,
	ROUTE_CATEGORY_UPDATE,
	ROUTE_CATEGORY_DELETE,
	ROUTE_CATEGORY_HISTORY,
	ROUTE_CATEGORY_REVERT,
	ROUTE_COLLECTION_LIST,
	ROUTE_COLLECTION_CREATE,
	ROUTE_COLLECTION_GET,
	ROUTE_COLLECTION_UPDATE,
	ROUTE_COLLECTION_DELETE,
	ROUTE_COLLECTION_HISTORY,
	ROUTE_COLLECTION_REVERT,
	ROUTE_COLLECTION_BY_CODE, /* GET /api/v1/collections/by-code/{code} (public) */
	ROUTE_COLLECTION_PRODUCTS, /* GET /api/v1/collections/by-code/{code}/products */
	ROUTE__COUNT,
} route_id_t;

/* A route's handler (fcgi/handlers.h): the types are fcgi/api.h's. */
struct api_thread;
struct api_req;
struct api_resp;
struct route;
typedef void (*route_handler_fn)(struct api_thread *th, const struct api_req *req,
				 struct api_resp *resp, const struct route *rt, const char *query,
				 size_t query_len);

#define ROUTE_SKU_MAX 64
#define ROUTE_SEGMENTS_MAX 8 /* longer paths are never a route */

typedef struct route {
	route_id_t id;
	int status;          /* 0 matched, 404 no such resource, 405 wrong method */
	const char *allow;   /* for 405: the Allow header value (in allow_buf) */
	char allow_buf[40];
	bool head;           /* HEAD request (send no body) */
	bool write;          /* mutating route (body, X-Souk-Reason checked) */
	perm_id_t perm;      /* permission the route needs (PERM_PUBLIC: anyone) */
	const struct model_kind *kind; /* the kind the route serves, NULL for none */
	route_handler_fn handler;      /* NULL unless matched */
	char entity_id[33]; /* lowercase hex, for {id} routes */
	char sku[ROUTE_SKU_MAX + 1]; /* {sku}, a counter's {name} or a collection's {code} */
	size_t sku_len;
} route_t;

/* Route method + path (path without the query string). */
void router_match(const char *method, const char *path, size_t path_len, route_t *out);
/* Short stable name of a route for metrics ("product_get", ..., "other"). */
const char *router_name(route_id_t id);

/* Percent-decode (and '+' to space when form is true) into out (at most
 * out_size-1 bytes, NUL-terminated). SOUK_EINVAL on a bad escape or a
 * decoded NUL, SOUK_ETOOBIG when it does not fit. */
int url_decode(const char *s, size_t len, bool form, char *out, size_t out_size,
	       size_t *out_len);
/* Find query parameter `name` in a query string (without '?') and decode
 * its value. 0, SOUK_ENOENT when absent, SOUK_EINVAL / SOUK_ETOOBIG. */
int query_get(const char *query, size_t query_len, const char *name, char *out,
	      size_t out_size, size_t *out_len);
/* Split a REQUEST_URI into path and query (query NULL when absent). */
void uri_split(const char *uri, const char **path, size_t *path_len, const char **query,
	       size_t *query_len);
