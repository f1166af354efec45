/* SPDX-License-Identifier: Apache-2.0 */
/* domain/pricing/price.c - the price kind: a table and nothing else, served
 * by the generic entity handlers. Its tier (list, sku, min_qty) is a unique
 * composite key, so two prices of one SKU for one quantity in one list never
 * both live. */
#include "domain/pricing/price.h"

#include "domain/catalog/product.h"
#include "domain/pricing/price_list.h"

static const model_field_t price_fields[] = {
	{ .name = "list", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = PRICE_LIST_CODE_MAX,
	  .help = "the code of its price list" },
	{ .name = "sku", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED | MODEL_F_INNER_SPACE,
	  .max = PRODUCT_SKU_MAX, .help = "the stock keeping unit it prices" },
	{ .name = "amount", .type = MODEL_INTEGER, .flags = MODEL_F_REQUIRED, .min = 0,
	  .max = PRODUCT_PRICE_MAX, .help = "minor units of the list's currency" },
	{ .name = "min_qty", .type = MODEL_INTEGER, .min = 1, .max = PRICE_MIN_QTY_MAX, .def = "1",
	  .help = "the smallest quantity this price is for (its tier)" },
};

static const char *const tier_also[] = { "sku", "min_qty", NULL };

static const model_key_t price_keys[] = {
	{ .name = "tier", .field = "list", .flags = MODEL_KEY_UNIQUE, .also = tier_also },
	{ .name = "list", .field = "list", .flags = 0 },
	{ .name = "sku", .field = "sku", .flags = 0 },
};

const model_kind_t price_kind = {
	.magic = MODEL_MAGIC,
	.name = "price",
	.plural = "prices",
	.title = "Price",
	.fields = price_fields,
	.nfields = sizeof(price_fields) / sizeof(price_fields[0]),
	.keys = price_keys,
	.nkeys = sizeof(price_keys) / sizeof(price_keys[0]),
	.doc_max = PRICE_DOC_MAX,
	.perm_read = PERM_PRICING_READ,
	.perm_write = PERM_PRICING_WRITE,
	.perm_history = PERM_PRICING_HISTORY,
};
