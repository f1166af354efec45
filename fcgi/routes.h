/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/routes.h - the one route table.
 *
 * Every route souk-fcgi serves is a row of route_table[] (fcgi/routes.c):
 * method, path pattern, route id (the metrics index), the permission it
 * needs, flags, the kind it serves and its handler. router_match() matches
 * requests against it, /metrics names routes from it, and the tests walk
 * it: the authorization matrix (every row x principal) and the OpenAPI
 * check (every row is documented with its methods and security, and the
 * reverse). A row is written with ROUTE(), which refuses PERM_UNSET at
 * compile time: a route without a permission does not build.
 *
 * Patterns are '/'-separated literals and placeholders: {id} (32 hex
 * digits, any case, answered lowercase in route_t.entity_id) and {sku},
 * {name} or {code} (percent-decoded, at most ROUTE_SKU_MAX bytes, in
 * route_t.sku).
 */
#include <stddef.h>

#include "fcgi/router.h"
#include "model/perm.h"

/* methods (HEAD is served wherever GET is) */
#define ROUTE_M_GET 0x1u
#define ROUTE_M_POST 0x2u
#define ROUTE_M_PATCH 0x4u
#define ROUTE_M_DELETE 0x8u

/* flags */
#define ROUTE_F_WRITE 0x01u    /* mutating: body size and X-Souk-Reason checked */
#define ROUTE_F_IF_MATCH 0x02u /* needs a strong If-Match (428 without) */
#define ROUTE_F_IDEM 0x04u     /* takes Idempotency-Key */
#define ROUTE_F_BODY 0x08u     /* JSON body */
#define ROUTE_F_CACHE 0x10u    /* public, cacheable (ETag, max-age) */

typedef struct {
	route_id_t id;
	unsigned method;     /* one ROUTE_M_* */
	const char *pattern; /* "/api/v1/products/{id}/history" */
	perm_id_t perm;
	unsigned flags;      /* ROUTE_F_* */
	const struct model_kind *kind; /* entity kind served, NULL for operational routes */
	const char *name;    /* metrics name: "product_get" */
	route_handler_fn handler; /* fcgi/handlers.h */
} route_def_t;

extern const route_def_t route_table[];
extern const size_t route_table_len;

/* The row of a route id (the first when it has several), NULL for
 * ROUTE_NONE or an unknown id. */
const route_def_t *route_def(route_id_t id);
/* "GET", "POST", ... for one ROUTE_M_* bit. */
const char *route_method_name(unsigned method);
