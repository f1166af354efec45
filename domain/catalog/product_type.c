/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/product_type.c - the product_type kind: its table, the
 * rules between its fields (attribute codes once each, values only and
 * always for enum types, a unit only for numbers, a known kind for
 * references, options naming enum attributes set per variant), and the
 * check of a product's attribute values against its type. */
#include "domain/catalog/product_type.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

static const char *const type_status[] = {"active", "archived", NULL};
static const char *const attr_types[] = {"text", "number",    "bool",      "enum",
					 "multi_enum", "date", "reference", NULL};

static const model_field_t value_fields[] = {
    {.name = "code",
     .type = MODEL_NAME,
     .flags = MODEL_F_REQUIRED,
     .max = PRODUCT_TYPE_ATTR_CODE_MAX,
     .help = "what a product's attribute holds"},
    {.name = "name",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REQUIRED,
     .max = PRODUCT_TYPE_NAME_MAX,
     .max_items = PRODUCT_TYPE_LOCALES_MAX},
};
static const model_field_t value_item = {.name = "value",
					 .type = MODEL_OBJECT,
					 .fields = value_fields,
					 .nfields = SOUK_ARRAY_LEN(value_fields)};

static const model_field_t attr_fields[] = {
    {.name = "code",
     .type = MODEL_NAME,
     .flags = MODEL_F_REQUIRED,
     .max = PRODUCT_TYPE_ATTR_CODE_MAX,
     .help = "the key in a product's or variant's attributes"},
    {.name = "name",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REQUIRED,
     .max = PRODUCT_TYPE_NAME_MAX,
     .max_items = PRODUCT_TYPE_LOCALES_MAX},
    {.name = "type", .type = MODEL_ENUM, .flags = MODEL_F_REQUIRED, .values = attr_types},
    {.name = "unit",
     .type = MODEL_TEXT,
     .min = 1,
     .max = PRODUCT_TYPE_UNIT_MAX,
     .help = "number attributes only (g, cm, ml)"},
    {.name = "values",
     .type = MODEL_LIST,
     .min = 1,
     .max_items = PRODUCT_TYPE_VALUES_MAX,
     .item = &value_item,
     .help = "enum and multi_enum attributes only, and required for them"},
    {.name = "ref",
     .type = MODEL_NAME,
     .max = 32,
     .help = "reference attributes only: the kind the id names"},
    {.name = "required", .type = MODEL_BOOL, .def = "false"},
    {.name = "filterable", .type = MODEL_BOOL, .def = "false", .help = "offered as a facet"},
    {.name = "searchable", .type = MODEL_BOOL, .def = "false", .help = "indexed for search"},
    {.name = "variant",
     .type = MODEL_BOOL,
     .def = "false",
     .help = "set on each variant instead of the product"},
};
static const model_field_t attr_item = {.name = "attribute",
					.type = MODEL_OBJECT,
					.fields = attr_fields,
					.nfields = SOUK_ARRAY_LEN(attr_fields)};
static const model_field_t option_item = {
    .name = "option", .type = MODEL_NAME, .max = PRODUCT_TYPE_ATTR_CODE_MAX};

static const model_field_t product_type_fields[] = {
    {.name = "code",
     .type = MODEL_NAME,
     .flags = MODEL_F_REQUIRED,
     .max = PRODUCT_TYPE_CODE_MAX,
     .help = "unique among live product types; what a product's type names"},
    {.name = "name",
     .type = MODEL_LOCALE_MAP,
     .flags = MODEL_F_REQUIRED,
     .max = PRODUCT_TYPE_NAME_MAX,
     .max_items = PRODUCT_TYPE_LOCALES_MAX},
    {.name = "status", .type = MODEL_ENUM, .values = type_status, .def = "\"active\""},
    {.name = "attributes",
     .type = MODEL_LIST,
     .max_items = PRODUCT_TYPE_ATTRS_MAX,
     .item = &attr_item,
     .def = "[]"},
    {.name = "options",
     .type = MODEL_LIST,
     .max_items = PRODUCT_TYPE_OPTIONS_MAX,
     .item = &option_item,
     .def = "[]",
     .help = "codes of enum attributes marked variant: the axes of the variants"},
};

static const model_key_t product_type_keys[] = {
    {.name = "code", .field = "code", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP},
    {.name = "status", .field = "status", .flags = 0},
};

static const char *str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

static bool is_enum_type(const char *t)
{
	return t != NULL && (strcmp(t, "enum") == 0 || strcmp(t, "multi_enum") == 0);
}

static bool is_true(const json_t *o, const char *name)
{
	return json_is_true(json_object_get(o, name));
}

/* The rules between an attribute's fields. */
static void check_attribute(const json_t *a, size_t i, problem_t *err)
{
	char path[96];
	const char *type = str(a, "type");
	const json_t *values = json_object_get(a, "values");
	if (type == NULL)
		return;
	snprintf(path, sizeof(path), "attributes/%zu/values", i);
	if (is_enum_type(type) && values == NULL)
		problem_field(err, path, "is required for %s attributes", type);
	else if (!is_enum_type(type) && values != NULL)
		problem_field(err, path, "is only for enum and multi_enum attributes");
	size_t j;
	const json_t *v;
	json_array_foreach(values, j, v)
	{
		for (size_t k = 0; k < j; k++)
			if (json_equal(json_object_get(v, "code"),
				       json_object_get(json_array_get(values, k), "code"))) {
				snprintf(path, sizeof(path), "attributes/%zu/values/%zu/code", i, j);
				problem_field(err, path, "'%s' is the code of value %zu already",
					      str(v, "code"), k);
				break;
			}
	}
	snprintf(path, sizeof(path), "attributes/%zu/unit", i);
	if (json_object_get(a, "unit") != NULL && strcmp(type, "number") != 0)
		problem_field(err, path, "is only for number attributes");
	const char *ref = str(a, "ref");
	snprintf(path, sizeof(path), "attributes/%zu/ref", i);
	if (strcmp(type, "reference") == 0) {
		if (ref == NULL)
			problem_field(err, path, "is required for reference attributes: the kind "
						 "the id names");
		else if (model_kind_find(ref) == NULL)
			problem_field(err, path, "'%s' is not a kind", ref);
	} else if (ref != NULL) {
		problem_field(err, path, "is only for reference attributes");
	}
}

/* The index of attribute `code` in attrs, -1 when there is none. */
static long attr_index(const json_t *attrs, const char *code)
{
	size_t i;
	const json_t *a;
	json_array_foreach(attrs, i, a)
	{
		const char *c = str(a, "code");
		if (c != NULL && code != NULL && strcmp(c, code) == 0)
			return (long)i;
	}
	return -1;
}

/* The rules between fields the table cannot say. */
static void product_type_check(const model_kind_t *k, const json_t *doc, problem_t *err)
{
	(void)k;
	char path[96];
	size_t i;
	const json_t *a, *o;
	const json_t *attrs = json_object_get(doc, "attributes");
	json_array_foreach(attrs, i, a)
	{
		long first = attr_index(attrs, str(a, "code"));
		if (first >= 0 && (size_t)first < i) {
			snprintf(path, sizeof(path), "attributes/%zu/code", i);
			problem_field(err, path, "'%s' is the code of attribute %ld already",
				      str(a, "code"), first);
		}
		check_attribute(a, i, err);
	}
	const json_t *options = json_object_get(doc, "options");
	json_array_foreach(options, i, o)
	{
		const char *code = json_string_value(o);
		long at = attr_index(attrs, code);
		snprintf(path, sizeof(path), "options/%zu", i);
		for (size_t j = 0; j < i; j++)
			if (json_equal(o, json_array_get(options, j))) {
				problem_field(err, path, "is listed twice");
				break;
			}
		if (at < 0) {
			problem_field(err, path, "'%s' is not an attribute of this type", code);
			continue;
		}
		a = json_array_get(attrs, (size_t)at);
		const char *type = str(a, "type");
		if (type == NULL || strcmp(type, "enum") != 0)
			problem_field(err, path, "'%s' must be an enum attribute to tell variants apart",
				      code);
		else if (!is_true(a, "variant"))
			problem_field(err, path, "'%s' must be marked variant (set on each variant)",
				      code);
	}
}

const model_kind_t product_type_kind = {
    .magic = MODEL_MAGIC,
    .name = "product_type",
    .plural = "product-types",
    .title = "Product type",
    .fields = product_type_fields,
    .nfields = SOUK_ARRAY_LEN(product_type_fields),
    .keys = product_type_keys,
    .nkeys = SOUK_ARRAY_LEN(product_type_keys),
    .doc_max = PRODUCT_TYPE_DOC_MAX,
    .perm_read = PERM_CATALOG_READ,
    .perm_write = PERM_CATALOG_WRITE,
    .perm_history = PERM_CATALOG_HISTORY,
    .flags = MODEL_K_STATUS,
    .check = product_type_check,
};

/* ---- a product's values against its type ---- */

static int dig(const char *s, size_t n)
{
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	return x;
}

bool product_type_date_valid(const char *s, size_t len)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	int y = dig(s, 4), m = dig(s + 5, 2), d = dig(s + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(m == 2 && d == 29 && !leap);
}

const json_t *product_type_attribute(const json_t *type_doc, const char *code)
{
	const json_t *attrs = json_object_get(type_doc, "attributes");
	long i = attr_index(attrs, code);
	return i < 0 ? NULL : json_array_get(attrs, (size_t)i);
}

static bool value_known(const json_t *a, const json_t *v)
{
	size_t i;
	const json_t *val;
	const char *s = json_string_value(v);
	if (s == NULL)
		return false;
	json_array_foreach(json_object_get(a, "values"), i, val)
	{
		const char *c = str(val, "code");
		if (c != NULL && strcmp(c, s) == 0)
			return true;
	}
	return false;
}

static bool ref_valid(const json_t *v)
{
	const char *s = json_string_value(v);
	if (s == NULL || json_string_length(v) != 32)
		return false;
	for (size_t i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One value against its attribute; a field error at path when it fails. */
static void check_value(const json_t *a, const json_t *v, const char *path, problem_t *err)
{
	const char *type = str(a, "type");
	const char *code = str(a, "code");
	if (type == NULL)
		return;
	if (strcmp(type, "text") == 0) {
		if (!json_is_string(v))
			problem_field(err, path, "must be text");
	} else if (strcmp(type, "number") == 0) {
		if (!json_is_integer(v) && !json_is_real(v))
			problem_field(err, path, "must be a number%s%s", str(a, "unit") ? " in " : "",
				      str(a, "unit") ? str(a, "unit") : "");
	} else if (strcmp(type, "bool") == 0) {
		if (!json_is_boolean(v))
			problem_field(err, path, "must be true or false");
	} else if (strcmp(type, "enum") == 0) {
		if (!json_is_string(v))
			problem_field(err, path, "must be the code of one of the values of '%s'",
				      code);
		else if (!value_known(a, v))
			problem_field(err, path, "'%s' is not one of the values of '%s'",
				      json_string_value(v), code);
	} else if (strcmp(type, "multi_enum") == 0) {
		size_t i;
		const json_t *el;
		if (!json_is_array(v)) {
			problem_field(err, path, "must be a list of codes of the values of '%s'",
				      code);
			return;
		}
		json_array_foreach(v, i, el)
		{
			if (!value_known(a, el)) {
				problem_field(err, path, "element %zu is not one of the values of '%s'",
					      i, code);
				return;
			}
			for (size_t j = 0; j < i; j++)
				if (json_equal(el, json_array_get(v, j))) {
					problem_field(err, path, "lists '%s' twice",
						      json_string_value(el));
					return;
				}
		}
	} else if (strcmp(type, "date") == 0) {
		if (!product_type_date_valid(json_string_value(v), json_string_length(v)))
			problem_field(err, path, "must be a calendar date YYYY-MM-DD");
	} else if (strcmp(type, "reference") == 0) {
		if (!ref_valid(v))
			problem_field(err, path, "must be the 32-hex-digit (lowercase) id of a %s",
				      str(a, "ref") ? str(a, "ref") : "record");
	}
}

static void attr_path(char *out, size_t cap, const char *prefix, const char *code)
{
	if (prefix == NULL || *prefix == '\0')
		snprintf(out, cap, "%s", code);
	else
		snprintf(out, cap, "%s/%s", prefix, code);
}

static bool is_option(const json_t *type_doc, const char *code)
{
	size_t i;
	const json_t *o;
	json_array_foreach(json_object_get(type_doc, "options"), i, o)
	{
		if (json_string_value(o) != NULL && strcmp(json_string_value(o), code) == 0)
			return true;
	}
	return false;
}

int product_type_check_values(const json_t *type_doc, const json_t *attrs, bool variant_level,
			      const char *field_prefix, problem_t *err)
{
	char path[96];
	const char *key;
	json_t *v;
	size_t before = err->nerrors + err->dropped, i;
	const json_t *decl = json_object_get(type_doc, "attributes");
	const char *tcode = str(type_doc, "code");
	if (!json_is_array(decl)) {
		problem_field(err, field_prefix ? field_prefix : "", "names a product type without "
								     "attributes");
		return SOUK_EINVAL;
	}
	if (attrs != NULL && !json_is_object(attrs)) {
		problem_field(err, field_prefix ? field_prefix : "", "must be an object");
		return SOUK_EINVAL;
	}
	json_object_foreach((json_t *)attrs, key, v)
	{
		const json_t *a = product_type_attribute(type_doc, key);
		attr_path(path, sizeof(path), field_prefix, key);
		if (a == NULL) {
			problem_field(err, path, "is not an attribute of product type '%s'",
				      tcode ? tcode : "?");
			continue;
		}
		if (is_true(a, "variant") != variant_level) {
			problem_field(err, path, "%s",
				      variant_level ? "is set on the product, not on its variants"
						    : "is set on each variant, not on the product");
			continue;
		}
		check_value(a, v, path, err);
	}
	const json_t *a;
	json_array_foreach(decl, i, a)
	{
		const char *code = str(a, "code");
		if (code == NULL || is_true(a, "variant") != variant_level)
			continue;
		bool needed = is_true(a, "required") || (variant_level && is_option(type_doc, code));
		if (needed && json_object_get(attrs, code) == NULL) {
			attr_path(path, sizeof(path), field_prefix, code);
			problem_field(err, path, "is required by product type '%s'",
				      tcode ? tcode : "?");
		}
	}
	return err->nerrors + err->dropped != before ? SOUK_EINVAL : 0;
}
