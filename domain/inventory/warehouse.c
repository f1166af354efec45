/* SPDX-License-Identifier: Apache-2.0 */
/* domain/inventory/warehouse.c - the warehouse kind: a table and nothing
 * else, served by the generic entity handlers. */
#include "domain/inventory/warehouse.h"

static const char *const warehouse_types[] = { "warehouse", "store", "dropship", NULL };

static const model_field_t address_fields[] = {
	{ .name = "line1", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED, .max = 200 },
	{ .name = "line2", .type = MODEL_TEXT, .max = 200 },
	{ .name = "city", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED, .max = 100 },
	{ .name = "postal_code", .type = MODEL_TEXT, .max = 20 },
	{ .name = "region", .type = MODEL_TEXT, .max = 100 },
	{ .name = "country", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = 2,
	  .help = "ISO 3166-1 alpha-2" },
};

static const model_field_t warehouse_fields[] = {
	{ .name = "code", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = WAREHOUSE_CODE_MAX,
	  .help = "unique among live warehouses" },
	{ .name = "name", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED, .max = 200 },
	{ .name = "type", .type = MODEL_ENUM, .values = warehouse_types, .def = "\"warehouse\"" },
	{ .name = "seller", .type = MODEL_NAME, .flags = MODEL_F_REMOVABLE, .max = 64,
	  .help = "the seller it belongs to; none: the house" },
	{ .name = "pickup", .type = MODEL_BOOL, .def = "false" },
	{ .name = "address", .type = MODEL_OBJECT, .flags = MODEL_F_REQUIRED,
	  .fields = address_fields, .nfields = sizeof(address_fields) / sizeof(address_fields[0]) },
};

static const model_key_t warehouse_keys[] = {
	{ .name = "code", .field = "code", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP },
	{ .name = "seller", .field = "seller", .flags = 0 },
	{ .name = "type", .field = "type", .flags = 0 },
};

const model_kind_t warehouse_kind = {
	.magic = MODEL_MAGIC,
	.name = "warehouse",
	.plural = "warehouses",
	.title = "Warehouse",
	.fields = warehouse_fields,
	.nfields = sizeof(warehouse_fields) / sizeof(warehouse_fields[0]),
	.keys = warehouse_keys,
	.nkeys = sizeof(warehouse_keys) / sizeof(warehouse_keys[0]),
	.doc_max = WAREHOUSE_DOC_MAX,
	.perm_read = PERM_INVENTORY_READ,
	.perm_write = PERM_INVENTORY_WRITE,
	.perm_history = PERM_INVENTORY_HISTORY,
};
