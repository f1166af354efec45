/* SPDX-License-Identifier: Apache-2.0 */
/* domain/market/seller.c - the seller kind: a table and nothing else,
 * served by the generic entity handlers. */
#include "domain/market/seller.h"

static const char *const seller_status[] = { "applied",   "under_review", "approved",
					     "rejected",  "suspended",	  "closed",
					     NULL };

static const model_field_t seller_fields[] = {
	{ .name = "code", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = SELLER_CODE_MAX,
	  .help = "unique among live sellers; what other kinds' seller field names" },
	{ .name = "name", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED, .min = 1, .max = 200 },
	{ .name = "status", .type = MODEL_ENUM, .values = seller_status, .def = "\"approved\"" },
};

static const model_key_t seller_keys[] = {
	{ .name = "code", .field = "code", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP },
	{ .name = "status", .field = "status", .flags = 0 },
};

const model_kind_t seller_kind = {
	.magic = MODEL_MAGIC,
	.name = "seller",
	.plural = "sellers",
	.title = "Seller",
	.fields = seller_fields,
	.nfields = sizeof(seller_fields) / sizeof(seller_fields[0]),
	.keys = seller_keys,
	.nkeys = sizeof(seller_keys) / sizeof(seller_keys[0]),
	.doc_max = SELLER_DOC_MAX,
	.perm_read = PERM_SELLER_READ,
	.perm_write = PERM_SELLER_WRITE,
	.perm_history = PERM_SELLER_HISTORY,
};
