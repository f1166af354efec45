/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/variant.c - the variant kind's table (variant.h). */
#include "domain/catalog/variant.h"

#include <stdio.h>
#include <string.h>

#include "domain/catalog/catalog_txn.h"
#include "domain/catalog/product.h"

static const model_field_t option_value = { .name = "value", .type = MODEL_NAME,
					    .flags = MODEL_F_INNER_SPACE,
					    .max = VARIANT_OPTION_MAX };

static const char *const variant_status[] = { "published", "draft", NULL };

static const model_field_t variant_fields[] = {
	{ .name = "product", .type = MODEL_REF, .flags = MODEL_F_REQUIRED, .ref = "product",
	  .help = "the product it is a variant of" },
	{ .name = "sku", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED | MODEL_F_INNER_SPACE,
	  .max = PRODUCT_SKU_MAX, .help = "its own stock keeping unit, unique among variants" },
	{ .name = "options", .type = MODEL_MAP, .flags = MODEL_F_REQUIRED,
	  .max_items = VARIANT_OPTIONS_MAX, .max_key = VARIANT_OPTION_MAX, .item = &option_value,
	  .help = "its value for each of the product's options; unique per product" },
	{ .name = "status", .type = MODEL_ENUM, .values = variant_status, .def = "\"published\"",
	  .help = "draft variants are not rendered with their product" },
	{ .name = "price", .type = MODEL_PRICE_MAP, .flags = MODEL_F_REMOVABLE, .min = 0,
	  .max = PRODUCT_PRICE_MAX, .max_items = PRODUCT_CURRENCIES_MAX,
	  .help = "its own prices (else the product's)" },
	{ .name = "stock", .type = MODEL_INTEGER, .min = 0, .max = PRODUCT_STOCK_MAX, .def = "0" },
	{ .name = "attributes", .type = MODEL_MAP, .flags = MODEL_F_REMOVABLE,
	  .max = PRODUCT_ATTR_STRING_MAX, .max_items = PRODUCT_ATTRS_MAX,
	  .max_key = PRODUCT_ATTR_KEY_MAX },
	{ .name = "media", .type = MODEL_LIST, .flags = MODEL_F_REMOVABLE,
	  .max_items = VARIANT_MEDIA_MAX, .item = &product_media_item },
};

static const char *const combination_also[] = { "options", NULL };

static const model_key_t variant_keys[] = {
	{ .name = "sku", .field = "sku", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP },
	{ .name = "combination", .field = "product", .flags = MODEL_KEY_UNIQUE,
	  .also = combination_also },
	{ .name = "product", .field = "product", .flags = 0 },
};

static void variant_check(const model_kind_t *k, const json_t *doc, problem_t *err)
{
	product_check_media(doc, err);
	if (json_object_size(json_object_get(doc, "options")) == 0)
		problem_field(err, "options", "must name at least one option value");
}

const model_kind_t variant_kind = {
	.magic = MODEL_MAGIC,
	.name = "variant",
	.plural = "variants",
	.title = "Variant",
	.fields = variant_fields,
	.nfields = sizeof(variant_fields) / sizeof(variant_fields[0]),
	.keys = variant_keys,
	.nkeys = sizeof(variant_keys) / sizeof(variant_keys[0]),
	.doc_max = VARIANT_DOC_MAX,
	.perm_read = PERM_CATALOG_READ,
	.perm_write = PERM_CATALOG_WRITE,
	.perm_history = PERM_CATALOG_HISTORY,
	.flags = MODEL_K_STATUS,
	.check = variant_check,
	.check_txn = variant_check_txn,
};
