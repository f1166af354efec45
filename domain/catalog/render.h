/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/render.h - render stored product documents for the catalog image.
 *
 * A stored product (JSON from LMDB, see domain/catalog/sections.h) plus its id, version,
 * change-log sequence and time becomes one JSON document per locale. Output
 * is deterministic: the same record always renders to the same bytes.
 *
 * Rendered fields, in this order: "id", "version", "seq", "updated_at",
 * "locale", then the stored fields in stored order, where "title" and
 * "description" become the string for the rendered locale (else the default
 * locale, else the alphabetically first locale) each followed by "titles" /
 * "descriptions" with every locale. Stored fields that clash with rendered
 * ones ("id", "version", "seq", "updated_at", "locale", "titles",
 * "descriptions", "dir") are dropped, and so is "channels": the channel
 * listings go into the record (catalog_listing_t), where reads apply them
 * at request time. "dir" follows "locale": "rtl" for a right-to-left
 * locale (ICU: Arabic, Hebrew, Persian, Urdu...), else "ltr".
 *
 * The record also gets the product's type (its "type" code, hashed) and the
 * values of its "attributes" and of its variants' "options" and
 * "attributes" for list filters (sections.h): strings (text, enum, date,
 * reference), true/false and each string of an array (multi_enum) as
 * value hashes; numbers as fixed point, rounded to CATALOG_NUM_DECIMALS
 * decimals (attribute numbers are measures, never money).
 *
 * Locales rendered: the default one, plus every locale key of "title" and
 * "description" (tags of 1..39 characters [A-Za-z0-9_-]).
 */
#include <stddef.h>
#include <stdint.h>

#include "domain/catalog/sections.h"
#include "store/store.h"

typedef struct {
	catalog_product_t cp; /* what catalog_build takes; points into this */
	catalog_loc_t *locs;
	catalog_listing_t *listings;
	catalog_price_t *prices;
	char *sku;
	char *category;
	uint64_t time_ms;
	uint64_t *attr_vals; /* cp.attr_vals */
	catalog_num_t *attr_nums;
	catalog_var_t *vars; /* cp.vars: SKUs in var_skus, prices each its own */
	char *var_skus;
} render_product_t;

/* Render one record. default_locale NULL = CATALOG_DEFAULT_LOCALE. Archived
 * records (rec->archived or "status":"archived") and drafts ("status":
 * "draft", not public) render as hidden tombstones.
 * SOUK_EINVAL when the document is not a JSON object, SOUK_ETOOBIG past the
 * product limits of fcgi/product.h (which validation holds new writes to). */
int render_product(const store_rec_t *rec, const char *default_locale,
		   render_product_t **out);
/* The same with the product's variants (a JSON array of variant objects,
 * in the order to render, or NULL), rendered as "variants" after the
 * stored fields; each variant with a "sku" goes into the record too
 * (catalog_var_t: its SKU, its own "price" map, where its object ends in
 * the renderings). */
struct json_t;
int render_product_with(const store_rec_t *rec, const char *default_locale,
			const struct json_t *variants, render_product_t **out);
void render_product_free(render_product_t **p);

/* Approximate heap bytes held by a rendered product (for statistics). */
size_t render_product_bytes(const render_product_t *p);
