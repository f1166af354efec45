/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/routes.h"

#include "domain/catalog/category.h"
#include "domain/catalog/collection.h"
#include "domain/catalog/product.h"
#include "domain/catalog/variant.h"
#include "domain/catalog/product_type.h"
#include "domain/channel/channel.h"
#include "domain/inventory/warehouse.h"
#include "domain/market/seller.h"
#include "domain/pricing/price.h"
#include "domain/pricing/price_list.h"
#include "fcgi/handlers.h"

/* A route row; a PERM_UNSET permission fails the build. */
#define ROUTE(id_, method_, pattern_, perm_, flags_, kind_, name_, handler_)                \
	{                                                                                   \
		.id = (id_), .method = (method_), .pattern = (pattern_),                    \
		.perm = (perm_id_t)((perm_) + 0 * sizeof(struct {                           \
			_Static_assert((perm_) != PERM_UNSET,                               \
				       "route " pattern_ " declares no permission");        \
			int ok;                                                             \
		})),                                                                        \
		.flags = (flags_), .kind = (kind_), .name = (name_),                        \
		.handler = (handler_),                                                      \
	}

#define P "/api/v1/products"
#define W (ROUTE_F_WRITE | ROUTE_F_BODY)

/* The seven staff routes of a kind served from LMDB by the h_entity handlers:
 * list, create, get, update, archive, history, revert under base, with the
 * kind's permissions PERM_<P>_READ / _WRITE / _HISTORY. */
#define KIND_ROUTES(K, k, base, P)                                                          \
	ROUTE(ROUTE_##K##_LIST, ROUTE_M_GET, base, PERM_##P##_READ, 0, &k##_kind, #k "_list",  \
	      h_entity_list),                                                               \
	ROUTE(ROUTE_##K##_CREATE, ROUTE_M_POST, base, PERM_##P##_WRITE, W | ROUTE_F_IDEM,      \
	      &k##_kind, #k "_create", h_entity_create),                                    \
	ROUTE(ROUTE_##K##_GET, ROUTE_M_GET, base "/{id}", PERM_##P##_READ, 0, &k##_kind,       \
	      #k "_get", h_entity_get),                                                     \
	ROUTE(ROUTE_##K##_UPDATE, ROUTE_M_PATCH, base "/{id}", PERM_##P##_WRITE,               \
	      W | ROUTE_F_IF_MATCH, &k##_kind, #k "_update", h_entity_update),              \
	ROUTE(ROUTE_##K##_DELETE, ROUTE_M_DELETE, base "/{id}", PERM_##P##_WRITE,              \
	      ROUTE_F_WRITE | ROUTE_F_IF_MATCH, &k##_kind, #k "_delete", h_entity_delete),  \
	ROUTE(ROUTE_##K##_HISTORY, ROUTE_M_GET, base "/{id}/history", PERM_##P##_HISTORY, 0,   \
	      &k##_kind, #k "_history", h_entity_history),                                  \
	ROUTE(ROUTE_##K##_REVERT, ROUTE_M_POST, base "/{id}/revert", PERM_##P##_WRITE,         \
	      W | ROUTE_F_IF_MATCH, &k##_kind, #k "_revert", h_entity_revert)

const route_def_t route_table[] = {
	ROUTE(ROUTE_PRODUCT_LIST, ROUTE_M_GET, P, PERM_PUBLIC, ROUTE_F_CACHE, &product_kind,
	      "product_list", h_catalog_list),
	ROUTE(ROUTE_PRODUCT_CREATE, ROUTE_M_POST, P, PERM_CATALOG_WRITE, W | ROUTE_F_IDEM,
	      &product_kind, "product_create", h_entity_create),
	ROUTE(ROUTE_PRODUCT_BY_SKU, ROUTE_M_GET, P "/by-sku/{sku}", PERM_PUBLIC, ROUTE_F_CACHE,
	      &product_kind, "product_by_sku", h_catalog_get),
	ROUTE(ROUTE_PRODUCT_GET, ROUTE_M_GET, P "/{id}", PERM_PUBLIC, ROUTE_F_CACHE, &product_kind,
	      "product_get", h_catalog_get),
	ROUTE(ROUTE_PRODUCT_UPDATE, ROUTE_M_PATCH, P "/{id}", PERM_CATALOG_WRITE,
	      W | ROUTE_F_IF_MATCH, &product_kind, "product_update", h_entity_update),
	ROUTE(ROUTE_PRODUCT_DELETE, ROUTE_M_DELETE, P "/{id}", PERM_CATALOG_WRITE,
	      ROUTE_F_WRITE | ROUTE_F_IF_MATCH, &product_kind, "product_delete", h_entity_delete),
	ROUTE(ROUTE_PRODUCT_HISTORY, ROUTE_M_GET, P "/{id}/history", PERM_CATALOG_HISTORY, 0,
	      &product_kind, "product_history", h_entity_history),
	ROUTE(ROUTE_PRODUCT_REVERT, ROUTE_M_POST, P "/{id}/revert", PERM_CATALOG_WRITE,
	      W | ROUTE_F_IF_MATCH, &product_kind, "product_revert", h_entity_revert),
	ROUTE(ROUTE_HEALTHZ, ROUTE_M_GET, "/healthz", PERM_PUBLIC, 0, NULL, "healthz", h_healthz),
	ROUTE(ROUTE_METRICS, ROUTE_M_GET, "/metrics", PERM_PUBLIC, 0, NULL, "metrics", h_metrics),
	KIND_ROUTES(WAREHOUSE, warehouse, "/api/v1/warehouses", INVENTORY),
	ROUTE(ROUTE_COUNTER_GET, ROUTE_M_GET, "/api/v1/counters/{name}", PERM_COUNTER_READ, 0,
	      NULL, "counter_get", h_counter_get),
	ROUTE(ROUTE_COUNTER_ADD, ROUTE_M_POST, "/api/v1/counters/{name}/add", PERM_COUNTER_WRITE, W,
	      NULL, "counter_add", h_counter_add),
	ROUTE(ROUTE_BATCH, ROUTE_M_POST, "/api/v1/batch", PERM_BATCH_WRITE, W, NULL, "batch", h_batch),
	KIND_ROUTES(CHANNEL, channel, "/api/v1/channels", CHANNEL),
	KIND_ROUTES(SELLER, seller, "/api/v1/sellers", SELLER),
	KIND_ROUTES(PRICE_LIST, price_list, "/api/v1/price-lists", PRICING),
	KIND_ROUTES(PRICE, price, "/api/v1/prices", PRICING),
	ROUTE(ROUTE_PRICE_EXPLAIN, ROUTE_M_GET, "/api/v1/prices/explain", PERM_PRICING_READ, 0,
	      NULL, "price_explain", h_price_explain),
	KIND_ROUTES(VARIANT, variant, "/api/v1/variants", CATALOG),
	KIND_ROUTES(PRODUCT_TYPE, product_type, "/api/v1/product-types", CATALOG),
	KIND_ROUTES(CATEGORY, category, "/api/v1/categories", CATALOG),
	KIND_ROUTES(COLLECTION, collection, "/api/v1/collections", CATALOG),
	/* shoppers' reads of active collections, from the image; "by-code" is
	 * never an {id} (32 hex digits), so the staff routes keep theirs */
	ROUTE(ROUTE_COLLECTION_BY_CODE, ROUTE_M_GET, "/api/v1/collections/by-code/{code}",
	      PERM_PUBLIC, ROUTE_F_CACHE, &collection_kind, "collection_by_code", h_collection_get),
	ROUTE(ROUTE_COLLECTION_PRODUCTS, ROUTE_M_GET, "/api/v1/collections/by-code/{code}/products",
	      PERM_PUBLIC, ROUTE_F_CACHE, &product_kind, "collection_products",
	      h_collection_products),
};
const size_t route_table_len = sizeof(route_table) / sizeof(route_table[0]);

const route_def_t *route_def(route_id_t id)
{
	for (size_t i = 0; i < route_table_len; i++)
		if (route_table[i].id == id)
			return &route_table[i];
	return NULL;
}

const char *route_method_name(unsigned method)
{
	switch (method) {
	case ROUTE_M_GET: return "GET";
	case ROUTE_M_POST: return "POST";
	case ROUTE_M_PATCH: return "PATCH";
	case ROUTE_M_DELETE: return "DELETE";
	default: return "";
	}
}
