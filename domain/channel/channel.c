/* SPDX-License-Identifier: Apache-2.0 */
/* domain/channel/channel.c - the channel kind: its table and the rules
 * between its fields (a default currency among the allowed ones, real ISO
 * 4217 codes, well-formed locale tags, lowercase hostnames, none twice; no
 * location twice). Each hostname is a unique key: no two live channels
 * answer one host. */
#include "domain/channel/channel.h"
#include "domain/channel/provider.h"

#include <stdio.h>
#include <string.h>

#include "common/currency.h"
#include "common/locale.h"

static const char *const channel_status[] = { "active", "disabled", NULL };
static const char *const rounding_modes[] = { "half_even", "half_up", "half_down", "up", "down",
					      NULL };
static const char *const tax_levels[] = { "line", "unit", NULL };
static const char *const allocations[] = { "priority", "most_stock", NULL };

static const model_field_t currency_code = { .name = "currency", .type = MODEL_NAME, .max = 3 };
static const model_field_t locale_tag = { .name = "locale", .type = MODEL_NAME, .max = 35 };
static const model_field_t host_name = { .name = "hostname", .type = MODEL_NAME, .max = 253 };
static const model_field_t rounding_mode = { .name = "rounding", .type = MODEL_ENUM,
					     .values = rounding_modes };

static const model_field_t currencies_fields[] = {
	{ .name = "default", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = 3,
	  .help = "ISO 4217 code, one of allowed" },
	{ .name = "allowed", .type = MODEL_LIST, .flags = MODEL_F_REQUIRED, .min = 1,
	  .max_items = CHANNEL_CURRENCIES_MAX, .item = &currency_code },
};

static const model_field_t locales_fields[] = {
	{ .name = "default", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = 35,
	  .help = "BCP 47 tag" },
	{ .name = "fallback", .type = MODEL_LIST, .max_items = CHANNEL_LOCALES_MAX,
	  .item = &locale_tag, .def = "[]",
	  .help = "tried in order after the default when a text lacks the asked locale" },
};

static const model_field_t tax_fields[] = {
	{ .name = "prices_include_tax", .type = MODEL_BOOL, .def = "false" },
	{ .name = "rounding", .type = MODEL_ENUM, .values = rounding_modes, .def = "\"half_even\"" },
	{ .name = "rounding_by_currency", .type = MODEL_MAP, .max_items = CHANNEL_CURRENCIES_MAX,
	  .max_key = 3, .item = &rounding_mode, .def = "{}" },
	{ .name = "calculation", .type = MODEL_ENUM, .values = tax_levels, .def = "\"line\"" },
};

static const model_field_t location_fields[] = {
	{ .name = "warehouse", .type = MODEL_REF, .flags = MODEL_F_REQUIRED, .ref = "warehouse" },
	{ .name = "priority", .type = MODEL_INTEGER, .min = 0, .max = 1000, .def = "0",
	  .help = "lower first" },
};
static const model_field_t location = { .name = "location", .type = MODEL_OBJECT,
					.fields = location_fields,
					.nfields = sizeof(location_fields) / sizeof(location_fields[0]) };

static const model_field_t orders_fields[] = {
	{ .name = "reservation_ttl_s", .type = MODEL_INTEGER, .min = 60, .max = 7 * 86400,
	  .def = "900", .help = "how long a cart's reservation holds stock" },
	{ .name = "unpaid_ttl_s", .type = MODEL_INTEGER, .min = 300, .max = 30 * 86400,
	  .def = "86400", .help = "how long an unpaid order waits before it is cancelled" },
	{ .name = "auto_confirm", .type = MODEL_BOOL, .def = "false" },
};

static const model_field_t channel_fields[] = {
	{ .name = "code", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = CHANNEL_CODE_MAX,
	  .help = "unique among live channels; the X-Souk-Channel value" },
	{ .name = "name", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED, .min = 1, .max = 200 },
	{ .name = "status", .type = MODEL_ENUM, .values = channel_status, .def = "\"active\"" },
	{ .name = "hostnames", .type = MODEL_LIST, .max_items = CHANNEL_HOSTS_MAX,
	  .item = &host_name, .def = "[]" },
	{ .name = "currencies", .type = MODEL_OBJECT, .flags = MODEL_F_REQUIRED,
	  .fields = currencies_fields,
	  .nfields = sizeof(currencies_fields) / sizeof(currencies_fields[0]) },
	{ .name = "locales", .type = MODEL_OBJECT, .flags = MODEL_F_REQUIRED,
	  .fields = locales_fields, .nfields = sizeof(locales_fields) / sizeof(locales_fields[0]) },
	{ .name = "tax", .type = MODEL_OBJECT, .fields = tax_fields,
	  .nfields = sizeof(tax_fields) / sizeof(tax_fields[0]), .def = "{}" },
	{ .name = "stock_locations", .type = MODEL_LIST, .max_items = CHANNEL_LOCATIONS_MAX,
	  .item = &location, .def = "[]" },
	{ .name = "allocation", .type = MODEL_ENUM, .values = allocations, .def = "\"priority\"" },
	{ .name = "orders", .type = MODEL_OBJECT, .fields = orders_fields,
	  .nfields = sizeof(orders_fields) / sizeof(orders_fields[0]), .def = "{}" },
};

static const model_key_t channel_keys[] = {
	{ .name = "code", .field = "code", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP },
	{ .name = "status", .field = "status", .flags = 0 },
	{ .name = "hostname", .field = "hostnames", .flags = MODEL_KEY_UNIQUE },
};

static void check_currency(const char *path, const json_t *v, problem_t *err)
{
	const char *c = json_string_value(v);
	if (c != NULL && !souk_currency_current(c))
		problem_field(err, path, "'%s' is not a current ISO 4217 currency code", c);
}

static void check_locale(const char *path, const json_t *v, problem_t *err)
{
	const char *l = json_string_value(v);
	if (l != NULL && !souk_locale_shape_ok(l, strlen(l)))
		problem_field(err, path, "'%s' is not a BCP 47 language tag", l);
}

/* The rules between fields the table cannot say. */
static void channel_check(const model_kind_t *k, const json_t *doc, problem_t *err)
{
	char path[64];
	size_t i;
	json_t *v;
	const json_t *cur = json_object_get(doc, "currencies");
	const json_t *allowed = json_object_get(cur, "allowed");
	const char *def = json_string_value(json_object_get(cur, "default"));
	bool found = false;
	check_currency("currencies/default", json_object_get(cur, "default"), err);
	json_array_foreach(allowed, i, v)
	{
		snprintf(path, sizeof(path), "currencies/allowed/%zu", i);
		check_currency(path, v, err);
		found |= def != NULL && json_string_value(v) != NULL &&
			 strcmp(def, json_string_value(v)) == 0;
		for (size_t j = 0; j < i; j++)
			if (json_equal(v, json_array_get(allowed, j)))
				problem_field(err, path, "is listed twice");
	}
	if (def != NULL && !found)
		problem_field(err, "currencies/default", "must be one of currencies/allowed");

	const json_t *loc = json_object_get(doc, "locales");
	check_locale("locales/default", json_object_get(loc, "default"), err);
	json_array_foreach(json_object_get(loc, "fallback"), i, v)
	{
		snprintf(path, sizeof(path), "locales/fallback/%zu", i);
		check_locale(path, v, err);
		if (json_equal(v, json_object_get(loc, "default")))
			problem_field(err, path, "is the default locale already");
	}

	const char *ck;
	json_object_foreach(json_object_get(json_object_get(doc, "tax"), "rounding_by_currency"), ck,
			    v)
	{
		snprintf(path, sizeof(path), "tax/rounding_by_currency/%s", ck);
		if (!souk_currency_current(ck))
			problem_field(err, path, "'%s' is not a current ISO 4217 currency code", ck);
	}

	/* a host is one key of one channel: lowercase, each once */
	const json_t *hosts = json_object_get(doc, "hostnames");
	json_array_foreach(hosts, i, v)
	{
		const char *h = json_string_value(v);
		snprintf(path, sizeof(path), "hostnames/%zu", i);
		for (const char *c = h; c != NULL && *c; c++)
			if (*c >= 'A' && *c <= 'Z') {
				problem_field(err, path, "must be lowercase (host names match "
							 "case-insensitively)");
				break;
			}
		for (size_t j = 0; j < i; j++)
			if (json_equal(v, json_array_get(hosts, j)))
				problem_field(err, path, "is listed twice");
	}

	const json_t *locs = json_object_get(doc, "stock_locations");
	json_array_foreach(locs, i, v)
	{
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_object_get(v, "warehouse"),
				       json_object_get(json_array_get(locs, j), "warehouse"))) {
				snprintf(path, sizeof(path), "stock_locations/%zu/warehouse", i);
				problem_field(err, path, "names a warehouse listed before");
			}
	}
}

const model_kind_t channel_kind = {
	.magic = MODEL_MAGIC,
	.name = "channel",
	.plural = "channels",
	.title = "Channel",
	.fields = channel_fields,
	.nfields = sizeof(channel_fields) / sizeof(channel_fields[0]),
	.keys = channel_keys,
	.nkeys = sizeof(channel_keys) / sizeof(channel_keys[0]),
	.doc_max = CHANNEL_DOC_MAX,
	.perm_read = PERM_CHANNEL_READ,
	.perm_write = PERM_CHANNEL_WRITE,
	.perm_history = PERM_CHANNEL_HISTORY,
	.check = channel_check,
	.image = &channel_provider_ops,
};
