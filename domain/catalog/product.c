/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/product.c - the product kind: its field table, keys and
 * limits. Validation, keys and the REST handlers are the generic ones that
 * walk this table (model/). */
#include "domain/catalog/product.h"
#include "domain/catalog/catalog_txn.h"
#include "domain/catalog/provider.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "model/model.h"

bool product_name_valid(const char *s, size_t len, size_t max)
{
	return model_name_valid(s, len, max, false);
}

bool product_sku_valid(const char *s, size_t len)
{
	return model_name_valid(s, len, PRODUCT_SKU_MAX, true);
}

/* Channel codes as the channel kind takes them; a purchase window that
 * ends after it starts. */
static void check_listings(const json_t *doc, problem_t *err)
{
	const char *code;
	json_t *l;
	json_object_foreach((json_t *)json_object_get(doc, "channels"), code, l)
	{
		if (!model_name_valid(code, strlen(code), 32, false)) {
			problem_field(err, "channels", "'%s' is not a channel code", code);
			continue;
		}
		const char *from = json_string_value(json_object_get(l, "purchasable_from"));
		const char *until = json_string_value(json_object_get(l, "purchasable_until"));
		/* normalised RFC 3339 UTC with ms: byte order is time order */
		if (from && until && strcmp(from, until) >= 0) {
			char path[64];
			snprintf(path, sizeof(path), "channels/%s/purchasable_until", code);
			problem_field(err, path, "must be after purchasable_from");
		}
	}
}

/* The longest string of a locale map, as dumped (0 when there is none). */
static size_t longest_text(const json_t *map)
{
	const char *k;
	json_t *t;
	size_t max = 0;
	json_object_foreach((json_t *)map, k, t)
	{
		size_t n = model_dumped_len(t);
		max = n > max ? n : max;
	}
	return max;
}

/* Hold doc to what the publisher renders (product.h): its locales and the
 * size of its renderings (the stored size is checked against doc_max
 * before). A field error names the field that adds the most (the locale
 * maps for too many locales). */
static void check_limits(const model_kind_t *k, const json_t *doc, problem_t *err)
{
	const char *key, *big;
	json_t *val;
	char msg[160];
	size_t doc_len = model_doc_size(doc, &big);
	const json_t *title = json_object_get(doc, "title");
	const json_t *desc = json_object_get(doc, "description");
	check_listings(doc, err);
	product_check_media(doc, err);
	size_t nloc = json_object_size(title);
	json_object_foreach((json_t *)desc, key, val) nloc += json_object_get(title, key) == NULL;
	if (nloc > PRODUCT_RENDER_LOCALES) {
		snprintf(msg, sizeof(msg),
			 "title and description have %zu locales together (at most %u)", nloc,
			 PRODUCT_RENDER_LOCALES);
		problem_field(err, json_object_size(desc) ? "description" : "title", "%s", msg);
		return;
	}
	if (big == NULL)
		return;
	/* every locale's rendering, plus the default locale's */
	size_t one = doc_len + PRODUCT_RENDER_EXTRA + longest_text(title) + longest_text(desc);
	size_t all = (nloc + 1) * one;
	if (all > PRODUCT_RENDERED_MAX) {
		snprintf(msg, sizeof(msg),
			 "makes the product render to %zu bytes in %zu locales (at most %u); "
			 "shorten it or use fewer locales",
			 all, nloc + 1, PRODUCT_RENDERED_MAX);
		problem_field(err, big, "%s", msg);
	}
}

static const char *const product_statuses[] = {"draft", "published", "archived", NULL};
/* "active" was the published status before version 2 */
static const char *const product_status_aliases[] = {"active", "published", NULL};

/* A product's listing in one channel: published (from a time), visible in
 * lists, purchasable within a window. A product without "channels" is
 * listed in every channel; with it, only in the channels it names. */
static const model_field_t listing_fields[] = {
    {.name = "published", .type = MODEL_BOOL, .def = "true",
     .help = "false: not served in this channel at all"},
    {.name = "published_at", .type = MODEL_TIMESTAMP, .flags = MODEL_F_REMOVABLE,
     .help = "served from this time on (absent: at once)"},
    {.name = "listed", .type = MODEL_BOOL, .def = "true",
     .help = "false: left out of lists, still served by id and SKU"},
    {.name = "purchasable_from", .type = MODEL_TIMESTAMP, .flags = MODEL_F_REMOVABLE},
    {.name = "purchasable_until", .type = MODEL_TIMESTAMP, .flags = MODEL_F_REMOVABLE},
};
static const model_field_t listing = {.name = "listing", .type = MODEL_OBJECT,
				      .fields = listing_fields,
				      .nfields = sizeof(listing_fields) / sizeof(listing_fields[0])};

/* A picture or video of a product or variant: an https URL and its
 * alternative text per locale. */
static const model_field_t media_fields[] = {
	{ .name = "url", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED, .min = 1, .max = 2048,
	  .help = "https URL of the image or video" },
	{ .name = "alt", .type = MODEL_LOCALE_MAP, .flags = MODEL_F_EMPTY_OK, .max = 300,
	  .max_items = PRODUCT_LOCALES_MAX, .def = "{}", .help = "alternative text per locale" },
};
const model_field_t product_media_item = { .name = "media", .type = MODEL_OBJECT,
					  .fields = media_fields,
					  .nfields = sizeof(media_fields) / sizeof(media_fields[0]) };

/* Media are fetched by shoppers' browsers: https only. */
void product_check_media(const json_t *doc, problem_t *err)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(doc, "media"), i, m)
	{
		const char *url = json_string_value(json_object_get(m, "url"));
		if (url && strncmp(url, "https://", 8) != 0) {
			char path[40];
			snprintf(path, sizeof(path), "media/%zu/url", i);
			problem_field(err, path, "must be an https:// URL");
		}
	}
}

/* in the order of the stored document (domain/catalog/sections.h) */
static const model_field_t product_fields[] = {
    {.name = "sku",
     .type = MODEL_NAME,
     .flags = MODEL_F_REQUIRED | MODEL_F_INNER_SPACE,
     .max = PRODUCT_SKU_MAX,
     .help = "stock keeping unit, unique among live products"},
    {.name = "status",
     .type = MODEL_ENUM,
     .values = product_statuses,
     .aliases = product_status_aliases,
     .def = "\"published\"",
     .help = "draft products are hidden from public reads"},
    {.name = "type",
     .type = MODEL_NAME,
     .flags = MODEL_F_REMOVABLE,
     .max = PRODUCT_NAME_MAX,
     .help = "the code of its product type: its attributes are checked against it"},
    {.name = "seller",
     .type = MODEL_NAME,
     .max = PRODUCT_NAME_MAX,
     .def = "\"" PRODUCT_SELLER_DEFAULT "\"",
     .help = "the seller code; the house seller when not given"},
    {.name = "category", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = PRODUCT_NAME_MAX},
    {.name = "title",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REQUIRED,
     .max = PRODUCT_TITLE_MAX,
     .max_items = PRODUCT_LOCALES_MAX},
    {.name = "description",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REMOVABLE | MODEL_F_MULTILINE | MODEL_F_EMPTY_OK,
     .max = PRODUCT_DESCRIPTION_MAX,
     .max_items = PRODUCT_LOCALES_MAX},
    {.name = "price",
     .type = MODEL_PRICE_MAP,
     .flags = MODEL_F_REQUIRED,
     .min = 0,
     .max = PRODUCT_PRICE_MAX,
     .max_items = PRODUCT_CURRENCIES_MAX},
    {.name = "stock", .type = MODEL_INTEGER, .min = 0, .max = PRODUCT_STOCK_MAX, .def = "0"},
    {.name = "attributes",
     .type = MODEL_MAP,
     .flags = MODEL_F_REMOVABLE,
     .max = PRODUCT_ATTR_STRING_MAX,
     .max_items = PRODUCT_ATTRS_MAX,
     .max_key = PRODUCT_ATTR_KEY_MAX},
    {.name = "media",
     .type = MODEL_LIST,
     .flags = MODEL_F_REMOVABLE,
     .max_items = PRODUCT_MEDIA_MAX,
     .item = &product_media_item,
     .help = "pictures and videos, in display order; alt text per locale"},
    {.name = "channels",
     .type = MODEL_MAP,
     .flags = MODEL_F_REMOVABLE,
     .max_items = PRODUCT_CHANNELS_MAX,
     .max_key = 32,
     .item = &listing,
     .help = "listing per channel code; absent: listed in every channel"},
    /* what reads render around the document */
    {.name = "locale", .type = MODEL_TEXT, .flags = MODEL_F_READONLY},
    {.name = "titles", .type = MODEL_LOCALE_MAP, .flags = MODEL_F_READONLY},
    {.name = "descriptions", .type = MODEL_LOCALE_MAP, .flags = MODEL_F_READONLY},
    {.name = "dir", .type = MODEL_TEXT, .flags = MODEL_F_READONLY},
    {.name = "purchasable", .type = MODEL_BOOL, .flags = MODEL_F_READONLY},
};

static const model_key_t product_keys[] = {
    {.name = "sku", .field = "sku", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP},
    {.name = "seller", .field = "seller", .flags = 0},
    {.name = "category", .field = "category", .flags = 0},
};

const model_kind_t product_kind = {
    .magic = MODEL_MAGIC,
    .name = "product",
    .plural = "products",
    .title = "Product",
    .fields = product_fields,
    .nfields = sizeof(product_fields) / sizeof(product_fields[0]),
    .keys = product_keys,
    .nkeys = sizeof(product_keys) / sizeof(product_keys[0]),
    .doc_max = PRODUCT_DOC_MAX,
    .perm_read = PERM_CATALOG_READ,
    .perm_write = PERM_CATALOG_WRITE,
    .perm_history = PERM_CATALOG_HISTORY,
    .flags = MODEL_K_PUBLIC_READ | MODEL_K_STATUS,
    .check = check_limits,
    .image = &catalog_provider_ops,
    .import = &product_import,
    .version = 2, /* 2: status "active" became "published"; channel listings */
    .check_txn = product_check_txn,
};

int product_validate(const json_t *in, bool partial, json_t **normalized, problem_t *err)
{
	return model_validate(&product_kind, NULL, in, partial, normalized, err);
}
