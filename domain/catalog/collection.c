/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/collection.c - the collection kind: its table, the rules
 * between its fields (products only for manual collections, none twice; a
 * rule only and always for rule collections, with a criterion, a price
 * range in order and in a real currency), and the rule evaluator. */
#include "domain/catalog/collection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/currency.h"
#include "common/error.h"
#include "common/util.h"

static const char *const collection_status[] = {"active", "draft", "archived", NULL};
static const char *const collection_kinds[] = {"manual", "rule", NULL};

static const model_field_t product_ref = {.name = "product", .type = MODEL_REF, .ref = "product"};

static const model_field_t rule_fields[] = {
    {.name = "category",
     .type = MODEL_NAME,
     .max = 64,
     .help = "a category code; its descendants too unless descendants is false"},
    {.name = "descendants", .type = MODEL_BOOL, .def = "true"},
    {.name = "attributes",
     .type = MODEL_MAP,
     .max = 1024,
     .max_items = COLLECTION_RULE_ATTRS_MAX,
     .max_key = 64,
     .help = "attribute code to the value it equals (or a list: one of them)"},
    {.name = "price_min", .type = MODEL_INTEGER, .min = 0, .max = COLLECTION_PRICE_MAX,
     .help = "minor units of currency, inclusive"},
    {.name = "price_max", .type = MODEL_INTEGER, .min = 0, .max = COLLECTION_PRICE_MAX,
     .help = "minor units of currency, inclusive"},
    {.name = "currency", .type = MODEL_NAME, .max = 3, .help = "ISO 4217, with a price bound"},
};

static const model_field_t collection_fields[] = {
    {.name = "code",
     .type = MODEL_NAME,
     .flags = MODEL_F_REQUIRED,
     .max = COLLECTION_CODE_MAX,
     .help = "unique among live collections"},
    {.name = "name",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REQUIRED,
     .max = COLLECTION_NAME_MAX,
     .max_items = COLLECTION_LOCALES_MAX},
    {.name = "status",
     .type = MODEL_ENUM,
     .values = collection_status,
     .def = "\"active\"",
     .help = "draft collections are staff-only"},
    {.name = "kind", .type = MODEL_ENUM, .flags = MODEL_F_REQUIRED, .values = collection_kinds},
    {.name = "products",
     .type = MODEL_LIST,
     .flags = MODEL_F_REMOVABLE,
     .max_items = COLLECTION_PRODUCTS_MAX,
     .item = &product_ref,
     .help = "manual collections: product ids in the order shown, none twice"},
    {.name = "rule",
     .type = MODEL_OBJECT,
     .flags = MODEL_F_REMOVABLE,
     .fields = rule_fields,
     .nfields = SOUK_ARRAY_LEN(rule_fields),
     .help = "rule collections: what a product must match"},
};

static const model_key_t collection_keys[] = {
    {.name = "code", .field = "code", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP},
    {.name = "kind", .field = "kind", .flags = 0},
    {.name = "status", .field = "status", .flags = 0},
};

typedef struct {
	const char *id;
	size_t at;
} listed_t;

static int by_id(const void *a, const void *b)
{
	const listed_t *x = a, *y = b;
	int r = strcmp(x->id, y->id);
	return r ? r : (x->at < y->at ? -1 : x->at > y->at);
}

/* Each product once: sorted copies, a repeat named at its later place. */
static void check_products(const json_t *products, problem_t *err)
{
	char path[64];
	size_t n = json_array_size(products);
	listed_t *l = n ? malloc(n * sizeof(*l)) : NULL;
	if (l == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(products, i));
		l[i].id = s ? s : "";
		l[i].at = i;
	}
	qsort(l, n, sizeof(*l), by_id);
	for (size_t i = 1; i < n; i++)
		if (strcmp(l[i].id, l[i - 1].id) == 0) {
			snprintf(path, sizeof(path), "products/%zu", l[i].at);
			problem_field(err, path, "is listed before (at %zu)", l[i - 1].at);
		}
	free(l);
}

static void check_rule(const json_t *rule, problem_t *err)
{
	const json_t *min = json_object_get(rule, "price_min");
	const json_t *max = json_object_get(rule, "price_max");
	const char *cur = json_string_value(json_object_get(rule, "currency"));
	const json_t *attrs = json_object_get(rule, "attributes");
	if (json_object_get(rule, "category") == NULL && json_object_size(attrs) == 0 &&
	    min == NULL && max == NULL)
		problem_field(err, "rule", "needs at least one of category, attributes, price_min, "
					   "price_max");
	if (min != NULL && max != NULL && json_integer_value(min) > json_integer_value(max))
		problem_field(err, "rule/price_min", "is above price_max");
	if ((min != NULL || max != NULL) && cur == NULL)
		problem_field(err, "rule/currency", "is required with price_min or price_max");
	else if (cur != NULL && min == NULL && max == NULL)
		problem_field(err, "rule/currency", "is only for price_min and price_max");
	else if (cur != NULL && !souk_currency_current(cur))
		problem_field(err, "rule/currency", "'%s' is not a current ISO 4217 currency code",
			      cur);
}

static void collection_check(const model_kind_t *k, const json_t *doc, problem_t *err)
{
	(void)k;
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const json_t *products = json_object_get(doc, "products");
	const json_t *rule = json_object_get(doc, "rule");
	if (kind == NULL)
		return;
	if (strcmp(kind, "manual") == 0) {
		if (rule != NULL)
			problem_field(err, "rule", "is only for rule collections");
		check_products(products, err);
	} else {
		if (products != NULL)
			problem_field(err, "products", "are listed only by manual collections");
		if (rule == NULL)
			problem_field(err, "rule", "is required for a rule collection");
		else
			check_rule(rule, err);
	}
}

const model_kind_t collection_kind = {
    .magic = MODEL_MAGIC,
    .name = "collection",
    .plural = "collections",
    .title = "Collection",
    .fields = collection_fields,
    .nfields = SOUK_ARRAY_LEN(collection_fields),
    .keys = collection_keys,
    .nkeys = SOUK_ARRAY_LEN(collection_keys),
    .doc_max = COLLECTION_DOC_MAX,
    .perm_read = PERM_CATALOG_READ,
    .perm_write = PERM_CATALOG_WRITE,
    .perm_history = PERM_CATALOG_HISTORY,
    .flags = MODEL_K_STATUS,
    .check = collection_check,
};

/* ---- the rule evaluator ---- */

int collection_rule_compile(const json_t *rule, const category_tree_t *tree,
			    collection_rule_t *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(rule)) {
		out->never = true;
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "the collection has no rule");
		return SOUK_EINVAL;
	}
	const char *cat = json_string_value(json_object_get(rule, "category"));
	if (cat != NULL) {
		uint32_t c = tree ? category_tree_find(tree, cat, strlen(cat)) : CATEGORY_NONE;
		if (c == CATEGORY_NONE) {
			out->never = true;
			if (why != NULL && why_len > 0)
				snprintf(why, why_len, "the rule's category '%s' is not a live category",
					 cat);
			return SOUK_ENOENT;
		}
		out->has_category = true;
		out->category = category_tree_range(tree, c);
		if (json_is_false(json_object_get(rule, "descendants")))
			out->category.hi = out->category.lo + 1;
	}
	const json_t *attrs = json_object_get(rule, "attributes");
	out->attributes = json_object_size(attrs) > 0 ? attrs : NULL;
	const json_t *min = json_object_get(rule, "price_min");
	const json_t *max = json_object_get(rule, "price_max");
	out->has_min = json_is_integer(min);
	out->has_max = json_is_integer(max);
	out->price_min = out->has_min ? json_integer_value(min) : 0;
	out->price_max = out->has_max ? json_integer_value(max) : 0;
	const char *cur = json_string_value(json_object_get(rule, "currency"));
	snprintf(out->currency, sizeof(out->currency), "%s", cur ? cur : "");
	return 0;
}

bool collection_value_equal(const json_t *a, const json_t *b)
{
	/* attribute numbers are compared as given (an integer is not a real;
	 * no conversion), like the values they are stored as */
	if (json_is_array(a) || json_is_object(a) || json_is_null(a))
		return false;
	return json_equal(a, b);
}

/* A product value holds the wanted value: equal, or a list holding it. */
static bool holds(const json_t *have, const json_t *want)
{
	size_t i;
	const json_t *el;
	if (json_is_array(have)) {
		json_array_foreach(have, i, el)
		{
			if (collection_value_equal(el, want))
				return true;
		}
		return false;
	}
	return collection_value_equal(have, want);
}

static bool attr_matches(const json_t *have, const json_t *want)
{
	size_t i;
	const json_t *w;
	if (have == NULL)
		return false;
	if (!json_is_array(want))
		return holds(have, want);
	json_array_foreach(want, i, w)
	{
		if (holds(have, w))
			return true;
	}
	return false;
}

bool collection_rule_match(const collection_rule_t *r, const collection_facts_t *f)
{
	const char *code;
	json_t *want;
	if (r->never)
		return false;
	if (r->has_category &&
	    (f->category_pre == CATEGORY_NONE || !category_range_has(r->category, f->category_pre)))
		return false;
	json_object_foreach((json_t *)r->attributes, code, want)
	{
		if (!attr_matches(json_object_get(f->attributes, code), want))
			return false;
	}
	if (r->has_min || r->has_max) {
		if (f->currency == NULL || strcmp(f->currency, r->currency) != 0)
			return false;
		if ((r->has_min && f->price < r->price_min) ||
		    (r->has_max && f->price > r->price_max))
			return false;
	}
	return true;
}
