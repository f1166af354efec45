/* SPDX-License-Identifier: Apache-2.0 */
/* domain/pricing/price_list.c - the price_list kind: its table and the rules
 * between its fields (a current ISO 4217 currency, an ISO 3166 country in
 * the scope, a window that opens before it closes). */
#include "domain/pricing/price_list.h"

#include <string.h>

#include "common/currency.h"
#include "common/locale.h"
#include "domain/channel/channel.h"
#include "domain/market/seller.h"

static const char *const list_kinds[] = { "base", "sale", NULL };
static const char *const list_status[] = { "active", "draft", NULL };

static const model_field_t scope_fields[] = {
	{ .name = "customer_group", .type = MODEL_NAME, .flags = MODEL_F_REMOVABLE,
	  .max = PRICE_LIST_GROUP_MAX, .help = "only customers of this group" },
	{ .name = "customer", .type = MODEL_NAME, .flags = MODEL_F_REMOVABLE,
	  .max = PRICE_LIST_CUSTOMER_MAX, .help = "only this customer (its id)" },
	{ .name = "country", .type = MODEL_NAME, .flags = MODEL_F_REMOVABLE, .max = 2,
	  .help = "ISO 3166-1 alpha-2, upper-case: only requests from this country" },
};

static const model_field_t price_list_fields[] = {
	{ .name = "code", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = PRICE_LIST_CODE_MAX,
	  .help = "unique among live price lists; what its prices' list field names" },
	{ .name = "name", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED, .min = 1, .max = 200 },
	{ .name = "channel", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = CHANNEL_CODE_MAX,
	  .help = "the code of the channel it prices" },
	{ .name = "currency", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = 3,
	  .help = "a current ISO 4217 code; its prices are minor units of it" },
	{ .name = "seller", .type = MODEL_NAME, .max = SELLER_CODE_MAX,
	  .def = "\"" SELLER_HOUSE "\"", .help = "the seller whose prices these are" },
	{ .name = "kind", .type = MODEL_ENUM, .values = list_kinds, .def = "\"base\"",
	  .help = "sale: its winner keeps the best base price as the original" },
	{ .name = "scope", .type = MODEL_OBJECT, .fields = scope_fields,
	  .nfields = sizeof(scope_fields) / sizeof(scope_fields[0]), .def = "{}",
	  .help = "who it is for; every member set must match; none: everyone" },
	{ .name = "priority", .type = MODEL_INTEGER, .min = -PRICE_LIST_PRIORITY_MAX,
	  .max = PRICE_LIST_PRIORITY_MAX, .def = "0",
	  .help = "higher wins among equally specific lists" },
	{ .name = "valid_from", .type = MODEL_TIMESTAMP, .flags = MODEL_F_REMOVABLE,
	  .help = "served from this time on; absent: since ever" },
	{ .name = "valid_until", .type = MODEL_TIMESTAMP, .flags = MODEL_F_REMOVABLE,
	  .help = "served before this time; absent: for ever" },
	{ .name = "status", .type = MODEL_ENUM, .values = list_status, .def = "\"active\"",
	  .help = "draft lists are never served" },
};

static const model_key_t price_list_keys[] = {
	{ .name = "code", .field = "code", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP },
	{ .name = "channel", .field = "channel", .flags = 0 },
};

/* The rules between fields the table cannot say. */
static void price_list_check(const model_kind_t *k, const json_t *doc, problem_t *err)
{
	(void)k;
	const char *cur = json_string_value(json_object_get(doc, "currency"));
	if (cur != NULL && !souk_currency_current(cur))
		problem_field(err, "currency", "'%s' is not a current ISO 4217 currency code", cur);
	const char *country =
	    json_string_value(json_object_get(json_object_get(doc, "scope"), "country"));
	if (country != NULL && !souk_country_valid(country))
		problem_field(err, "scope/country",
			      "'%s' is not an ISO 3166-1 alpha-2 country code (two upper-case "
			      "letters, e.g. GB)",
			      country);
	/* normalised timestamps (UTC, milliseconds) compare as strings */
	const char *from = json_string_value(json_object_get(doc, "valid_from"));
	const char *until = json_string_value(json_object_get(doc, "valid_until"));
	if (from != NULL && until != NULL && strcmp(from, until) >= 0)
		problem_field(err, "valid_until", "must be after valid_from (%s)", from);
}

const model_kind_t price_list_kind = {
	.magic = MODEL_MAGIC,
	.name = "price_list",
	.plural = "price-lists",
	.title = "Price list",
	.fields = price_list_fields,
	.nfields = sizeof(price_list_fields) / sizeof(price_list_fields[0]),
	.keys = price_list_keys,
	.nkeys = sizeof(price_list_keys) / sizeof(price_list_keys[0]),
	.doc_max = PRICE_LIST_DOC_MAX,
	.perm_read = PERM_PRICING_READ,
	.perm_write = PERM_PRICING_WRITE,
	.perm_history = PERM_PRICING_HISTORY,
	.check = price_list_check,
};
