/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/category.c - the category kind: its table and the rules
 * one document can hold (slugs, a parent other than itself). The tree is
 * domain/catalog/category_tree.c. */
#include "domain/catalog/category.h"
#include "domain/catalog/category_image.h"
#include "domain/catalog/catalog_txn.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

static const char *const category_status[] = {"active", "archived", NULL};

static const model_field_t category_fields[] = {
    {.name = "code",
     .type = MODEL_NAME,
     .flags = MODEL_F_REQUIRED,
     .max = CATEGORY_CODE_MAX,
     .help = "unique among live categories; what a product's category names"},
    {.name = "name",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REQUIRED,
     .max = CATEGORY_NAME_MAX,
     .max_items = CATEGORY_LOCALES_MAX},
    {.name = "slug",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REMOVABLE,
     .max = CATEGORY_SLUG_MAX,
     .max_items = CATEGORY_LOCALES_MAX,
     .help = "per locale, lowercase a-z 0-9 and '-'"},
    {.name = "parent",
     .type = MODEL_NAME,
     .flags = MODEL_F_REMOVABLE,
     .max = CATEGORY_CODE_MAX,
     .help = "the parent category's code; absent: a root"},
    {.name = "rank",
     .type = MODEL_INTEGER,
     .min = 0,
     .max = CATEGORY_RANK_MAX,
     .def = "0",
     .help = "order among siblings (lower first, then code)"},
    {.name = "status", .type = MODEL_ENUM, .values = category_status, .def = "\"active\""},
};

static const model_key_t category_keys[] = {
    {.name = "code", .field = "code", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP},
    {.name = "parent", .field = "parent", .flags = 0},
    {.name = "status", .field = "status", .flags = 0},
};

bool category_slug_valid(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > CATEGORY_SLUG_MAX || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static void category_check(const model_kind_t *k, const json_t *doc, problem_t *err)
{
	(void)k;
	char path[96];
	const char *loc;
	json_t *v;
	json_object_foreach(json_object_get(doc, "slug"), loc, v)
	{
		if (!category_slug_valid(json_string_value(v), json_string_length(v))) {
			snprintf(path, sizeof(path), "slug/%s", loc);
			problem_field(err, path, "must be lowercase a-z, 0-9 and inner '-' (e.g. "
						 "garden-tools)");
		}
	}
	const json_t *parent = json_object_get(doc, "parent");
	if (parent != NULL && json_equal(parent, json_object_get(doc, "code")))
		problem_field(err, "parent", "is the category itself");
}

const model_kind_t category_kind = {
    .magic = MODEL_MAGIC,
    .name = "category",
    .image = &category_provider_ops,
    .plural = "categories",
    .title = "Category",
    .fields = category_fields,
    .nfields = SOUK_ARRAY_LEN(category_fields),
    .keys = category_keys,
    .nkeys = SOUK_ARRAY_LEN(category_keys),
    .doc_max = CATEGORY_DOC_MAX,
    .perm_read = PERM_CATALOG_READ,
    .perm_write = PERM_CATALOG_WRITE,
    .perm_history = PERM_CATALOG_HISTORY,
    .flags = MODEL_K_STATUS,
    .check = category_check,
    .check_txn = category_check_txn,
};
