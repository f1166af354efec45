/* SPDX-License-Identifier: Apache-2.0 */
/* model/validate.c - validation and normalisation of documents by walking a
 * kind's field table (model/model.h): every bad field is named in the 422
 * problem, the normalised document has the fields in table order, text in
 * NFC, locale tags canonical, defaults applied to full documents. */
#include "model/model.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <utf8proc.h>

#include "common/currency.h"
#include "common/error.h"
#include "common/locale.h"
#include "common/text.h"
#include "common/time.h"
#include "common/util.h"

#define PATH_MAX_SHOWN 96

typedef struct {
	problem_t *err;
	const model_opts_t *opts;
	bool partial;
	int nerr;
} vctx_t;

/* Field paths can hold keys from the document: shown sanitised (soukctl
 * import prints them on a terminal). */
static void ferr(vctx_t *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ferr(vctx_t *v, const char *path, const char *fmt, ...)
{
	char shown[PATH_MAX_SHOWN], msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	souk_text_sanitize(path, strlen(path), SOUK_TEXT_QUOTE, 0, shown, sizeof(shown));
	problem_field(v->err, shown, "%s", msg);
	v->nerr++;
}

static void subpath(char *out, size_t cap, const char *path, const char *sub)
{
	snprintf(out, cap, "%s%s%s", path, *path ? "/" : "", sub);
}

/* out when no field error was noted since `before`, else NULL (out freed) */
static json_t *keep_if_clean(vctx_t *v, int before, json_t *out)
{
	if (v->nerr != before) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool model_name_valid(const char *s, size_t len, size_t max, bool inner_space)
{
	if (len == 0 || len > max || s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' ? !inner_space || s[i - 1] == ' '
				: !is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static json_t *norm_text(vctx_t *v, const char *path, const json_t *val, size_t max_cp,
			 bool multiline, bool allow_empty)
{
	if (!json_is_string(val)) {
		ferr(v, path, "must be a string");
		return NULL;
	}
	const char *s = json_string_value(val);
	size_t len = json_string_length(val), ascii = 0, count = 0;
	const char *problem = NULL;
	char msg[96];
	utf8proc_uint8_t *nfc = NULL;
	while (ascii < len && (unsigned char)s[ascii] < 0x80)
		ascii++;
	if (strlen(s) != len)
		problem = "must not contain NUL characters";
	else if (ascii < len && (nfc = utf8proc_NFC((const utf8proc_uint8_t *)s)) == NULL)
		problem = "is not valid UTF-8";
	if (problem == NULL) {
		if (nfc != NULL)
			problem = souk_text_problem(nfc, strlen((char *)nfc), multiline, &count);
		else
			problem = souk_text_problem((const uint8_t *)s, len, multiline, &count);
	}
	if (problem == NULL && count == 0 && !allow_empty)
		problem = "must not be empty";
	if (problem == NULL && max_cp > 0 && count > max_cp) {
		snprintf(msg, sizeof(msg), "must be at most %zu characters", max_cp);
		problem = msg;
	}
	json_t *out = NULL;
	if (problem == NULL) {
		/* unchanged text is shared with the input, not copied */
		out = nfc ? json_string((const char *)nfc) : json_incref((json_t *)val);
		if (out == NULL)
			problem = "is not valid UTF-8";
	}
	free(nfc);
	if (problem != NULL)
		ferr(v, path, "%s", problem);
	return out;
}

static json_t *norm_name(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	bool inner = f->flags & MODEL_F_INNER_SPACE;
	const char *s = json_string_value(val);
	size_t len = s ? json_string_length(val) : 0;
	if (s == NULL || strlen(s) != len || !model_name_valid(s, len, (size_t)f->max, inner)) {
		ferr(v, path, "must be 1 to %lld characters of A-Z a-z 0-9 . _ -%s",
		     (long long)f->max, inner ? " and single inner spaces" : "");
		return NULL;
	}
	return json_stringn(s, len);
}

static json_t *norm_enum(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	const char *s = json_string_value(val);
	char list[200] = "";
	size_t o = 0;
	for (size_t i = 0; s != NULL && f->aliases && f->aliases[i] && f->aliases[i + 1]; i += 2)
		if (strcmp(s, f->aliases[i]) == 0)
			return json_string(f->aliases[i + 1]);
	for (size_t i = 0; f->values[i] != NULL; i++) {
		if (s != NULL && strcmp(s, f->values[i]) == 0)
			return json_string(s);
		int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", f->values[i]);
		if (n > 0 && (size_t)n < sizeof(list) - o)
			o += (size_t)n;
	}
	ferr(v, path, "must be one of %s", list);
	return NULL;
}

static json_t *norm_int(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	if (!json_is_integer(val) || json_integer_value(val) < f->min ||
	    json_integer_value(val) > f->max) {
		ferr(v, path, "must be an integer from %lld to %lld", (long long)f->min,
		     (long long)f->max);
		return NULL;
	}
	return json_integer(json_integer_value(val));
}

static json_t *norm_timestamp(vctx_t *v, const char *path, const json_t *val)
{
	const char *s = json_string_value(val);
	int64_t ms = s ? souk_rfc3339_parse_ms(s, json_string_length(val)) : -1;
	char out[SOUK_RFC3339_MAX];
	if (ms < 0 || souk_rfc3339((uint64_t)ms, out) != 0) {
		ferr(v, path,
		     "must be an RFC 3339 date and time from 1970 on, e.g. "
		     "2026-01-31T12:00:00Z");
		return NULL;
	}
	return json_string(out);
}

static json_t *norm_ref(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	const char *s = json_string_value(val);
	char id[33];
	bool ok = s != NULL && json_string_length(val) == 32;
	for (size_t i = 0; ok && i < 32; i++) {
		int x = souk_hexval(s[i]);
		ok = x >= 0;
		id[i] = ok ? "0123456789abcdef"[x] : 0;
	}
	if (!ok) {
		ferr(v, path, "must be the 32-hex-digit id of a %s", f->ref ? f->ref : "record");
		return NULL;
	}
	id[32] = '\0';
	return json_string(id);
}

/* The start of a keyed map (locales, currencies): its shape, at least one
 * entry when required, at most max_items; a new empty object for the
 * normalised entries, or NULL (error recorded). */
static json_t *map_open(vctx_t *v, const model_field_t *f, const char *path, const json_t *val,
			const char *shape, const char *one, const char *many)
{
	if (!json_is_object(val)) {
		ferr(v, path, "must be an object of %s", shape);
		return NULL;
	}
	size_t n = json_object_size(val);
	if ((f->flags & MODEL_F_REQUIRED) && n == 0 && !v->partial) {
		ferr(v, path, "needs at least one %s", one);
		return NULL;
	}
	if (n > f->max_items) {
		ferr(v, path, "has too many %s (at most %u)", many, f->max_items);
		return NULL;
	}
	return json_object();
}

static json_t *norm_locale_map(vctx_t *v, const model_field_t *f, const char *path,
			       const json_t *val)
{
	const char *key;
	json_t *item;
	bool multiline = f->flags & MODEL_F_MULTILINE;
	json_t *out = map_open(v, f, path, val, "locale to text, e.g. {\"en\": \"...\"}", "locale",
			       "locales");
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	json_object_foreach((json_t *)val, key, item)
	{
		char canon[SOUK_LOCALE_MAX], sub[PATH_MAX_SHOWN];
		subpath(sub, sizeof(sub), path, key);
		if (souk_locale_canon(key, strlen(key), canon) != 0) {
			ferr(v, sub, "is not a locale tag (e.g. en, en-GB)");
			continue;
		}
		subpath(sub, sizeof(sub), path, canon);
		if (json_object_get(out, canon) != NULL) {
			ferr(v, sub, "duplicates another locale");
			continue;
		}
		if (v->partial && json_is_null(item)) {
			json_object_set_new(out, canon, json_null());
			continue;
		}
		json_t *t =
		    norm_text(v, sub, item, (size_t)f->max, multiline, f->flags & MODEL_F_EMPTY_OK);
		if (t != NULL && json_object_set_new(out, canon, t) != 0)
			v->nerr++;
	}
	if (v->nerr == before && (f->flags & MODEL_F_DEFAULT_LOCALE) && !v->partial) {
		const char *dl =
		    v->opts && v->opts->default_locale ? v->opts->default_locale : "en";
		if (json_object_get(out, dl) == NULL)
			ferr(v, path, "needs the default locale %s", dl);
	}
	return keep_if_clean(v, before, out);
}

static bool amount_ok(vctx_t *v, const model_field_t *f, const char *path, const json_t *item)
{
	if (!json_is_integer(item)) {
		ferr(v, path,
		     "must be an integer amount in minor units (1999 for 19.99), not a "
		     "decimal");
		return false;
	}
	json_int_t a = json_integer_value(item);
	if (a < f->min || a > f->max) {
		ferr(v, path, "must be between %lld and %lld minor units", (long long)f->min,
		     (long long)f->max);
		return false;
	}
	return true;
}

static json_t *norm_price_map(vctx_t *v, const model_field_t *f, const char *path,
			      const json_t *val)
{
	const char *key;
	json_t *item;
	json_t *out = map_open(v, f, path, val, "ISO 4217 code to integer minor units", "currency",
			       "currencies");
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	json_object_foreach((json_t *)val, key, item)
	{
		char sub[PATH_MAX_SHOWN];
		subpath(sub, sizeof(sub), path, key);
		if (!souk_currency_current(key)) {
			ferr(v, sub, "is not an ISO 4217 currency code");
			continue;
		}
		if (v->partial && json_is_null(item)) {
			json_object_set_new(out, key, json_null());
			continue;
		}
		if (amount_ok(v, f, sub, item))
			json_object_set_new(out, key, json_integer(json_integer_value(item)));
	}
	return keep_if_clean(v, before, out);
}

static json_t *norm_money(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	const json_t *amount = json_object_get(val, "amount");
	const char *cur = json_string_value(json_object_get(val, "currency"));
	char sub[PATH_MAX_SHOWN];
	if (!json_is_object(val) || json_object_size(val) != 2 || amount == NULL || cur == NULL) {
		ferr(v, path, "must be {\"amount\": minor units, \"currency\": ISO 4217 code}");
		return NULL;
	}
	subpath(sub, sizeof(sub), path, "currency");
	if (!souk_currency_current(cur)) {
		ferr(v, sub, "is not an ISO 4217 currency code");
		return NULL;
	}
	subpath(sub, sizeof(sub), path, "amount");
	if (!amount_ok(v, f, sub, amount))
		return NULL;
	return json_pack("{sIss}", "amount", (json_int_t)json_integer_value(amount), "currency",
			 cur);
}

static json_t *norm_value(vctx_t *v, const model_field_t *f, const char *path, const json_t *val);

/* a free-map value without an item type: text, number, boolean */
static json_t *norm_scalar(vctx_t *v, const model_field_t *f, const char *path, const json_t *item)
{
	if (json_is_string(item))
		return norm_text(v, path, item, (size_t)f->max, true, true);
	if (json_is_integer(item) || json_is_real(item) || json_is_boolean(item))
		return json_deep_copy(item);
	ferr(v, path, "must be a string, number, boolean or array of those");
	return NULL;
}

static json_t *norm_map(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	const char *key;
	json_t *item;
	if (!json_is_object(val)) {
		ferr(v, path, "must be an object");
		return NULL;
	}
	if (json_object_size(val) > f->max_items) {
		ferr(v, path, "has too many keys (at most %u)", f->max_items);
		return NULL;
	}
	json_t *out = json_object();
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	json_object_foreach((json_t *)val, key, item)
	{
		char sub[PATH_MAX_SHOWN];
		size_t klen = strlen(key);
		bool kok = klen > 0 && klen <= f->max_key;
		for (size_t i = 0; kok && i < klen; i++)
			if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f || key[i] == '/')
				kok = false;
		if (!kok) {
			subpath(sub, sizeof(sub), path, "(key)");
			ferr(v, sub, "keys must be 1 to %u bytes without control characters or '/'",
			     f->max_key);
			continue;
		}
		subpath(sub, sizeof(sub), path, key);
		if (v->partial && json_is_null(item)) {
			json_object_set_new(out, key, json_null());
			continue;
		}
		json_t *nv = NULL;
		if (f->item != NULL) {
			nv = norm_value(v, f->item, sub, item);
		} else if (json_is_array(item)) {
			if (json_array_size(item) > MODEL_MAP_ARRAY_MAX) {
				ferr(v, sub, "has too many elements (at most %u)",
				     MODEL_MAP_ARRAY_MAX);
				continue;
			}
			if ((nv = json_array()) == NULL)
				break;
			size_t i;
			json_t *el;
			json_array_foreach(item, i, el)
			{
				json_t *ne = norm_scalar(v, f, sub, el);
				if (ne == NULL)
					break;
				json_array_append_new(nv, ne);
			}
		} else {
			nv = norm_scalar(v, f, sub, item);
		}
		if (nv != NULL)
			json_object_set_new(out, key, nv);
	}
	return keep_if_clean(v, before, out);
}

static json_t *norm_list(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	if (!json_is_array(val)) {
		ferr(v, path, "must be an array");
		return NULL;
	}
	size_t n = json_array_size(val);
	if (n > f->max_items || (int64_t)n < f->min) {
		ferr(v, path, "must have %lld to %u elements", (long long)f->min, f->max_items);
		return NULL;
	}
	json_t *out = json_array();
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	size_t i;
	json_t *el;
	json_array_foreach(val, i, el)
	{
		char sub[PATH_MAX_SHOWN], idx[24];
		snprintf(idx, sizeof(idx), "%zu", i);
		subpath(sub, sizeof(sub), path, idx);
		json_t *ne = norm_value(v, f->item, sub, el);
		if (ne != NULL)
			json_array_append_new(out, ne);
	}
	return keep_if_clean(v, before, out);
}

static json_t *walk_fields(vctx_t *v, const char *what, const model_field_t *fields, size_t n,
			   const json_t *in, const char *path);

static json_t *norm_value(vctx_t *v, const model_field_t *f, const char *path, const json_t *val)
{
	switch (f->type) {
	case MODEL_TEXT:
		return norm_text(v, path, val, (size_t)f->max, f->flags & MODEL_F_MULTILINE,
				 f->flags & MODEL_F_EMPTY_OK);
	case MODEL_NAME: return norm_name(v, f, path, val);
	case MODEL_LOCALE_MAP: return norm_locale_map(v, f, path, val);
	case MODEL_MONEY: return norm_money(v, f, path, val);
	case MODEL_PRICE_MAP: return norm_price_map(v, f, path, val);
	case MODEL_INTEGER: return norm_int(v, f, path, val);
	case MODEL_BOOL:
		if (json_is_boolean(val))
			return json_incref((json_t *)val);
		ferr(v, path, "must be true or false");
		return NULL;
	case MODEL_ENUM: return norm_enum(v, f, path, val);
	case MODEL_TIMESTAMP: return norm_timestamp(v, path, val);
	case MODEL_REF: return norm_ref(v, f, path, val);
	case MODEL_LIST: return norm_list(v, f, path, val);
	case MODEL_OBJECT:
		if (!json_is_object(val)) {
			ferr(v, path, "must be an object");
			return NULL;
		}
		return walk_fields(v, f->name, f->fields, f->nfields, val, path);
	case MODEL_MAP: return norm_map(v, f, path, val);
	}
	ferr(v, path, "has a type this server does not know");
	return NULL;
}

/* The record fields the API renders around every document. */
static const char *const record_fields[] = {"id", "version", "seq", "updated_at", "archived"};

static const model_field_t *field_of(const model_field_t *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* An object against fields: unknown and read-only members are refused by
 * name, each field is normalised, defaults applied (full documents). */
static json_t *walk_fields(vctx_t *v, const char *what, const model_field_t *fields, size_t n,
			   const json_t *in, const char *path)
{
	const char *key;
	json_t *item;
	char sub[PATH_MAX_SHOWN];
	json_object_foreach((json_t *)in, key, item)
	{
		const model_field_t *f = field_of(fields, n, key);
		bool ro = f ? (f->flags & MODEL_F_READONLY) != 0 : false;
		for (size_t i = 0; *path == '\0' && !f && i < SOUK_ARRAY_LEN(record_fields); i++)
			ro = ro || strcmp(key, record_fields[i]) == 0;
		subpath(sub, sizeof(sub), path, strlen(key) < 64 ? key : "(key)");
		if (ro)
			ferr(v, sub, "is read-only");
		else if (f == NULL)
			ferr(v, sub, "is not a %s field", what);
	}
	json_t *out = json_object();
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	for (size_t i = 0; i < n; i++) {
		const model_field_t *f = &fields[i];
		if (f->flags & MODEL_F_READONLY)
			continue;
		const json_t *val = json_object_get(in, f->name);
		json_t *nv = NULL;
		subpath(sub, sizeof(sub), path, f->name);
		if (val == NULL) {
			if (v->partial)
				continue;
			if (f->def != NULL) {
				/* a default is normalised like a value, so an object's
				 * default ("{}") gets its members' defaults too */
				json_error_t e;
				json_t *d = json_loads(f->def, JSON_DECODE_ANY, &e);
				if (d != NULL)
					nv = norm_value(v, f, sub, d);
				json_decref(d);
			} else if (f->flags & MODEL_F_REQUIRED) {
				ferr(v, sub, "is required");
				continue;
			} else {
				continue;
			}
		} else if (json_is_null(val)) {
			if (v->partial && (f->flags & MODEL_F_REMOVABLE)) {
				json_object_set_new(out, f->name, json_null());
				continue;
			}
			ferr(v, sub, v->partial ? "cannot be removed" : "must not be null");
			continue;
		} else {
			nv = norm_value(v, f, sub, val);
		}
		if (nv != NULL && json_object_set_new(out, f->name, nv) != 0) {
			v->nerr++;
			break;
		}
	}
	return keep_if_clean(v, before, out);
}

size_t model_dumped_len(const json_t *v)
{
	return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

size_t model_doc_size(const json_t *doc, const char **biggest)
{
	const char *key;
	json_t *val;
	size_t doc_len = 2, big_len = 0, i = 0;
	*biggest = NULL;
	json_object_foreach((json_t *)doc, key, val)
	{
		size_t n = model_dumped_len(val);
		doc_len += (i++ ? 1 : 0) + strlen(key) + 3 + n;
		if (n > big_len) {
			*biggest = key;
			big_len = n;
		}
	}
	return doc_len;
}

/* Hold a full document to the kind's document limit; the error names the
 * field that adds the most. */
static void check_doc_max(vctx_t *v, const model_kind_t *k, const json_t *doc)
{
	const char *big;
	size_t doc_len = model_doc_size(doc, &big);
	if (big != NULL && doc_len > k->doc_max)
		ferr(v, big, "makes the %s %zu bytes (at most %zu)", k->name, doc_len, k->doc_max);
}

int model_validate(const model_kind_t *k, const model_opts_t *o, const json_t *in, bool partial,
		   json_t **normalized, problem_t *err)
{
	vctx_t v = {.err = err, .opts = o, .partial = partial, .nerr = 0};
	if (!json_is_object(in)) {
		ferr(&v, "", "the document must be a JSON object");
		return SOUK_EINVAL;
	}
	json_t *out = walk_fields(&v, k->name, k->fields, k->nfields, in, "");
	if (out == NULL && v.nerr == 0)
		return SOUK_ENOMEM;
	if (v.nerr == 0 && !partial)
		check_doc_max(&v, k, out);
	if (v.nerr == 0 && !partial && k->check != NULL)
		k->check(k, out, err);
	if (v.nerr > 0 || (err != NULL && err->nerrors > 0)) {
		json_decref(out);
		return SOUK_EINVAL;
	}
	*normalized = out;
	return 0;
}
