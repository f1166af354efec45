/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/product.h - the product kind (its table: product_kind).
 *
 * The stored document format is the one written down in domain/catalog/sections.h:
 *   {"sku", "status", "seller", "category", "title": {locale: text},
 *    "description": {locale: text}, "price": {ISO 4217: minor units},
 *    "stock", "attributes": {...}}
 * product_validate() is model_validate() over product_kind: it checks a
 * JSON value against the table, collects every field error into a problem
 * (422, type .../validation) and returns a new, normalised document: keys
 * in table order, text NFC-normalised, unknown and read-only fields
 * refused, defaults applied (full documents only). The same code validates
 * API writes and `soukctl import`.
 */
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/problem.h"
#include "model/model.h"

/* Bounds (documented in docs/openapi.yaml). */
#define PRODUCT_SKU_MAX 64
#define PRODUCT_NAME_MAX 64        /* seller, category */
#define PRODUCT_LOCALES_MAX 32
#define PRODUCT_TITLE_MAX 200      /* code points */
#define PRODUCT_DESCRIPTION_MAX 5000
#define PRODUCT_CURRENCIES_MAX 32
#define PRODUCT_PRICE_MAX 1000000000000000LL /* 10^15 minor units */
#define PRODUCT_STOCK_MAX 1000000000LL
#define PRODUCT_ATTRS_MAX 64
#define PRODUCT_ATTR_KEY_MAX 64
#define PRODUCT_ATTR_STRING_MAX 1024
#define PRODUCT_ATTR_ARRAY_MAX 32
#define PRODUCT_CHANNELS_MAX 32    /* channel listings of one product */
#define PRODUCT_MEDIA_MAX 32

/*
 * The one document limit. Everything else that bounds a product derives
 * from these: the publisher renders any document validation accepts
 * (domain/catalog/render.c), `soukctl import` reads any document an export wrote
 * (daemon/import.h), and the store's STORE_DOC_MAX is an absolute ceiling
 * above them. Validation refuses a document past them with a 422 naming the
 * field, so a write that was answered 200 always renders.
 *   PRODUCT_DOC_MAX        bytes of the stored document (compact JSON)
 *   PRODUCT_RENDER_LOCALES locales of title and description together (the
 *                          publisher renders one more: the default locale)
 *   PRODUCT_RENDERED_MAX   bytes of all renderings of one product: each
 *                          rendering is the document plus its locale's
 *                          title and description plus PRODUCT_RENDER_EXTRA
 */
#define PRODUCT_DOC_MAX (1u << 20)
#define PRODUCT_RENDER_LOCALES 63
#define PRODUCT_RENDERED_MAX (16u << 20)
#define PRODUCT_RENDER_EXTRA 256 /* id, version, seq, updated_at, locale, keys */

extern const model_kind_t product_kind;
/* The media item of products and variants, and its https check. */
extern const model_field_t product_media_item;
void product_check_media(const json_t *doc, problem_t *err);

/* What product files carry beyond the table (domain/catalog/product_import.c):
 * column aliases and the defaults of new products. */
#define PRODUCT_SELLER_DEFAULT "house"  /* seller of new products without one */
#define PRODUCT_CATEGORY_DEFAULT "other" /* category of new products without one */
extern const struct model_import product_import;

/* Validate `in`. partial: a fragment (every field optional, no defaults).
 * Returns 0 and a new reference in *normalized, or SOUK_EINVAL with the
 * reasons in err (422), or SOUK_ENOMEM. `in` is not modified. */
int product_validate(const json_t *in, bool partial, json_t **normalized, problem_t *err);

/* Identifier-like names (sku, seller, category): 1..max of [A-Za-z0-9._-]. */
bool product_name_valid(const char *s, size_t len, size_t max);
/* SKUs: the same characters plus single inner spaces ("BANK CHARGES"). */
bool product_sku_valid(const char *s, size_t len);
