/* SPDX-License-Identifier: Apache-2.0 */
/* model/keys.c - the unique and secondary keys a document holds, from its
 * kind's key table, and the kind registry lookups. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "model/import.h"
#include "model/model.h"
#include "model/provider.h"
#include "store/store.h"

int model_key_encode(const char *name, const char *value, size_t value_len, char *buf, size_t cap)
{
	size_t n = strlen(name);
	if (n + 1 + value_len > cap || n + 1 + value_len > STORE_KEY_MAX)
		return SOUK_ETOOBIG;
	memcpy(buf, name, n);
	buf[n] = '\0';
	memcpy(buf + n + 1, value, value_len);
	return (int)(n + 1 + value_len);
}

/* One key value into out (its kind of key decides the list). */
static int key_add(const model_key_t *key, const json_t *v, model_keys_t *out)
{
	char num[24];
	const char *val;
	size_t len, slot = out->nunique + out->nindex;
	if (json_is_string(v)) {
		val = json_string_value(v);
		len = json_string_length(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" PRId64, (int64_t)json_integer_value(v));
		val = num;
		len = strlen(num);
	} else if (json_is_boolean(v)) {
		val = json_is_true(v) ? "true" : "false";
		len = strlen(val);
	} else {
		return 0; /* absent (or not a key type): no such key */
	}
	if (slot >= MODEL_KEY_VALUES_MAX)
		return SOUK_ETOOBIG;
	char *buf = out->buf[slot];
	int n = model_key_encode(key->name, val, len, buf, sizeof(out->buf[slot]));
	if (n < 0)
		return n;
	if (key->flags & MODEL_KEY_UNIQUE) {
		out->unique[out->nunique] = buf;
		out->unique_len[out->nunique++] = (size_t)n;
	} else {
		out->index[out->nindex] = buf;
		out->index_len[out->nindex++] = (size_t)n;
	}
	return 0;
}

int model_keys(const model_kind_t *k, const json_t *doc, model_keys_t *out)
{
	out->nunique = out->nindex = 0;
	if (k->nkeys > MODEL_KEYS_MAX)
		return SOUK_EINVAL;
	for (size_t i = 0; i < k->nkeys; i++) {
		const json_t *v = json_object_get(doc, k->keys[i].field), *e;
		size_t j;
		int rc = 0;
		if (json_is_array(v)) {
			json_array_foreach(v, j, e)
				if (rc == 0)
					rc = key_add(&k->keys[i], e, out);
		} else {
			rc = key_add(&k->keys[i], v, out);
		}
		if (rc)
			return rc;
	}
	return 0;
}

const model_kind_t *model_kind_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < model_nkinds; i++)
		if (strcmp(model_kinds[i]->name, name) == 0)
			return model_kinds[i];
	return NULL;
}

const model_kind_t *model_kind_by_plural(const char *plural, size_t len)
{
	for (size_t i = 0; i < model_nkinds; i++)
		if (strlen(model_kinds[i]->plural) == len &&
		    memcmp(model_kinds[i]->plural, plural, len) == 0)
			return model_kinds[i];
	return NULL;
}

/* [a-z0-9_]{1,max}; with dash also inner '-' (URL segments: "product-types") */
static bool ident_ok(const char *s, size_t max, bool dash)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      (dash && s[i] == '-')))
			return false;
	return true;
}

static int why(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return SOUK_EINVAL;
}

static int fields_check(const char *kind, const model_field_t *fields, size_t n, char *w, size_t wl)
{
	for (size_t i = 0; i < n; i++) {
		const model_field_t *f = &fields[i];
		if (f->name == NULL || *f->name == '\0')
			return why(w, wl, "%s: a field has no name%s", kind, "");
		for (size_t j = 0; j < i; j++)
			if (strcmp(fields[j].name, f->name) == 0)
				return why(w, wl, "%s: field %s is declared twice", kind, f->name);
		if (f->min > f->max && f->type == MODEL_INTEGER)
			return why(w, wl, "%s: field %s has min above max", kind, f->name);
		if (f->type == MODEL_ENUM && (f->values == NULL || f->values[0] == NULL))
			return why(w, wl, "%s: enum field %s has no values", kind, f->name);
		if (f->type == MODEL_NAME && f->max <= 0)
			return why(w, wl, "%s: name field %s has no maximum length", kind, f->name);
		if (f->type == MODEL_LIST && f->item == NULL)
			return why(w, wl, "%s: list field %s has no item type", kind, f->name);
		if ((f->type == MODEL_LOCALE_MAP || f->type == MODEL_PRICE_MAP ||
		     f->type == MODEL_MAP || f->type == MODEL_LIST) &&
		    f->max_items == 0 && !(f->flags & MODEL_F_READONLY))
			return why(w, wl, "%s: field %s has no max_items", kind, f->name);
		if (f->type == MODEL_REF && f->ref == NULL)
			return why(w, wl, "%s: reference field %s names no kind", kind, f->name);
		if ((f->flags & MODEL_F_REQUIRED) && f->def != NULL)
			return why(w, wl, "%s: field %s is required and has a default", kind,
				   f->name);
		if (f->def != NULL) {
			json_error_t e;
			json_t *d = json_loads(f->def, JSON_DECODE_ANY, &e);
			json_decref(d);
			if (d == NULL)
				return why(w, wl, "%s: the default of field %s is not JSON", kind,
					   f->name);
		}
		if (f->type == MODEL_OBJECT) {
			int rc = fields_check(kind, f->fields, f->nfields, w, wl);
			if (rc)
				return rc;
		}
	}
	return 0;
}

bool provider_follows(const provider_ops_t *ops, const char *kind)
{
	if (!ops || !ops->kinds || !kind)
		return false;
	for (size_t i = 0; ops->kinds[i]; i++)
		if (strcmp(ops->kinds[i], kind) == 0)
			return true;
	return false;
}

static const model_field_t *top_field(const model_kind_t *k, const char *name)
{
	for (size_t j = 0; name != NULL && j < k->nfields; j++)
		if (strcmp(k->fields[j].name, name) == 0)
			return &k->fields[j];
	return NULL;
}

/* What the kind declares for imports (model/import.h) names its own
 * writable fields, and its defaults are JSON. */
static int import_check(const model_kind_t *k, char *w, size_t wl)
{
	const model_import_t *im = k->import;
	for (size_t i = 0; im != NULL && i < im->naliases; i++) {
		const model_import_alias_t *a = &im->aliases[i];
		if (a->column == NULL || *a->column == '\0' || a->as == NULL || *a->as == '\0')
			return why(w, wl, "kind %s: an import alias lacks its column or field%s",
				   k->name, "");
		if (a->unless != NULL && top_field(k, a->unless) == NULL)
			return why(w, wl, "kind %s: import alias %s names no field", k->name,
				   a->column);
	}
	for (size_t i = 0; im != NULL && i < im->ndefaults; i++) {
		const model_import_default_t *d = &im->defaults[i];
		const model_field_t *f = top_field(k, d->field);
		json_t *v = d->json ? json_loads(d->json, JSON_DECODE_ANY, NULL) : NULL;
		json_decref(v);
		if (f == NULL || (f->flags & MODEL_F_READONLY) || v == NULL)
			return why(w, wl, "kind %s: import default %s is no writable field with "
				   "a JSON value", k->name, d->field ? d->field : "?");
	}
	return 0;
}

int model_kind_check(const model_kind_t *k, char *w, size_t wl)
{
	if (k->magic != MODEL_MAGIC)
		return why(w, wl, "a kind table has a bad magic%s%s", "", "");
	if (!ident_ok(k->name, STORE_KIND_MAX, false) || !ident_ok(k->plural, 64, true))
		return why(w, wl, "kind %s: name must be [a-z0-9_], plural [a-z0-9_-]%s",
			   k->name ? k->name : "?", "");
	if (k->perm_read == PERM_UNSET || k->perm_write == PERM_UNSET ||
	    k->perm_history == PERM_UNSET)
		return why(w, wl, "kind %s: read, write and history need a permission%s", k->name,
			   "");
	if (k->doc_max == 0 || k->doc_max > STORE_DOC_MAX)
		return why(w, wl, "kind %s: doc_max must be 1..STORE_DOC_MAX%s", k->name, "");
	if (k->image && (!provider_follows(k->image, k->name) || !k->image->prefix ||
			 !k->image->prefix[0]))
		return why(w, wl, "kind %s: its image provider %s must follow it and name a section "
			   "prefix", k->name, k->image->name ? k->image->name : "?");
	if (k->nkeys > MODEL_KEYS_MAX)
		return why(w, wl, "kind %s: too many keys%s", k->name, "");
	int rc = fields_check(k->name, k->fields, k->nfields, w, wl);
	if (rc)
		return rc;
	size_t values = 0;
	for (size_t i = 0; i < k->nkeys; i++) {
		const model_field_t *f = top_field(k, k->keys[i].field);
		if (f == NULL)
			return why(w, wl, "kind %s: key %s names no field", k->name,
				   k->keys[i].name);
		values += f->type == MODEL_LIST ? f->max_items : 1;
		if (f->type == MODEL_LIST && f->item != NULL)
			f = f->item; /* each element is a key value */
		if (f->type != MODEL_NAME && f->type != MODEL_TEXT && f->type != MODEL_ENUM &&
		    f->type != MODEL_REF && f->type != MODEL_INTEGER && f->type != MODEL_BOOL)
			return why(w, wl, "kind %s: key %s is on a field that is no scalar",
				   k->name, k->keys[i].name);
	}
	if (values > MODEL_KEY_VALUES_MAX)
		return why(w, wl, "kind %s: its keys can hold more than MODEL_KEY_VALUES_MAX values%s",
			   k->name, "");
	return import_check(k, w, wl);
}
