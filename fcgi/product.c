/* SPDX-License-Identifier: Apache-2.0 */
#include "fcgi/product.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "common/currency.h"
#include "common/error.h"
#include "common/locale.h"
#include "common/text.h"
#include "common/util.h"

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

bool product_name_valid(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

bool product_sku_valid(const char *s, size_t len)
{
	if (len == 0 || len > PRODUCT_SKU_MAX || s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' ? s[i - 1] == ' '
				: !is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

typedef struct {
	problem_t *err;
	bool partial;
	int nerr;
} vctx_t;

/* Field names can be keys from the document: shown sanitised (soukctl import
 * prints them on a terminal). */
static void ferr(vctx_t *v, const char *field, const char *detail)
{
	char shown[96];
	souk_text_sanitize(field, strlen(field), SOUK_TEXT_QUOTE, 0, shown, sizeof(shown));
	problem_field(v->err, shown, "%s", detail);
	v->nerr++;
}

static void ferr2(vctx_t *v, const char *field, const char *sub, const char *detail)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/%s", field, sub);
	ferr(v, path, detail);
}

/* out if no field error was noted since v->nerr was before, else NULL (out freed). */
static json_t *keep_if_clean(vctx_t *v, int before, json_t *out)
{
	if (v->nerr != before) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Validate and NFC-normalise text; NULL (error recorded) when invalid. */
static json_t *norm_text(vctx_t *v, const char *field, const char *sub, const json_t *val,
			 size_t max_cp, bool multiline, bool allow_empty)
{
	char msg[96];
	if (!json_is_string(val)) {
		sub ? ferr2(v, field, sub, "must be a string") : ferr(v, field, "must be a string");
		return NULL;
	}
	const char *s = json_string_value(val);
	size_t len = json_string_length(val), ascii = 0, count = 0;
	const char *problem = NULL;
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
	if (problem == NULL && count > max_cp) {
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
		sub ? ferr2(v, field, sub, problem) : ferr(v, field, problem);
	return out;
}

static json_t *norm_name(vctx_t *v, const char *field, const json_t *val, size_t max)
{
	if (!json_is_string(val)) {
		ferr(v, field, "must be a string");
		return NULL;
	}
	const char *s = json_string_value(val);
	size_t len = json_string_length(val);
	bool sku = strcmp(field, "sku") == 0;
	if (!(sku ? product_sku_valid(s, len) : product_name_valid(s, len, max)) ||
	    strlen(s) != len) {
		char msg[96];
		snprintf(msg, sizeof(msg), "must be 1 to %zu characters of A-Z a-z 0-9 . _ -%s", max,
			 sku ? " and single inner spaces" : "");
		ferr(v, field, msg);
		return NULL;
	}
	return json_stringn(s, len);
}

static json_t *norm_locale_map(vctx_t *v, const char *field, const json_t *val, size_t max_cp,
			       bool multiline, bool need_one)
{
	const char *key;
	json_t *item;
	if (!json_is_object(val)) {
		ferr(v, field, "must be an object of locale to text, e.g. {\"en\": \"...\"}");
		return NULL;
	}
	size_t n = json_object_size(val);
	if (need_one && n == 0 && !v->partial) {
		ferr(v, field, "needs at least one locale");
		return NULL;
	}
	if (n > PRODUCT_LOCALES_MAX) {
		ferr(v, field, "has too many locales (at most 32)");
		return NULL;
	}
	json_t *out = json_object();
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	json_object_foreach ((json_t *)val, key, item) {
		size_t klen = strlen(key);
		char canon[SOUK_LOCALE_MAX];
		if (souk_locale_canon(key, klen, canon) != 0) {
			ferr2(v, field, key, "is not a locale tag (e.g. en, en-GB)");
			continue;
		}
		if (json_object_get(out, canon) != NULL) {
			ferr2(v, field, key, "duplicates another locale");
			continue;
		}
		if (v->partial && json_is_null(item)) {
			json_object_set_new(out, canon, json_null());
			continue;
		}
		json_t *t = norm_text(v, field, canon, item, max_cp, multiline, multiline);
		if (t != NULL && json_object_set_new(out, canon, t) != 0)
			v->nerr++;
	}
	return keep_if_clean(v, before, out);
}

static json_t *norm_price(vctx_t *v, const json_t *val)
{
	const char *key;
	json_t *item;
	if (!json_is_object(val)) {
		ferr(v, "price", "must be an object of ISO 4217 code to integer minor units");
		return NULL;
	}
	size_t n = json_object_size(val);
	if (n == 0 && !v->partial) {
		ferr(v, "price", "needs at least one currency");
		return NULL;
	}
	if (n > PRODUCT_CURRENCIES_MAX) {
		ferr(v, "price", "has too many currencies (at most 32)");
		return NULL;
	}
	json_t *out = json_object();
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	json_object_foreach ((json_t *)val, key, item) {
		if (!souk_currency_current(key)) {
			ferr2(v, "price", key, "is not an ISO 4217 currency code");
			continue;
		}
		if (v->partial && json_is_null(item)) {
			json_object_set_new(out, key, json_null());
			continue;
		}
		if (!json_is_integer(item)) {
			ferr2(v, "price", key,
			      "must be an integer amount in minor units (1999 for 19.99), not a "
			      "decimal");
			continue;
		}
		json_int_t a = json_integer_value(item);
		if (a < 0 || a > PRODUCT_PRICE_MAX) {
			ferr2(v, "price", key, "must be between 0 and 10^15 minor units");
			continue;
		}
		json_object_set_new(out, key, json_integer(a));
	}
	return keep_if_clean(v, before, out);
}

static bool attr_scalar_ok(vctx_t *v, const char *path, const json_t *item, json_t **out)
{
	if (json_is_string(item)) {
		*out = norm_text(v, "attributes", path, item, PRODUCT_ATTR_STRING_MAX, true, true);
		return *out != NULL;
	}
	if (json_is_integer(item) || json_is_real(item) || json_is_boolean(item)) {
		*out = json_deep_copy(item);
		return *out != NULL;
	}
	ferr2(v, "attributes", path, "must be a string, number, boolean or array of those");
	return false;
}

static json_t *norm_attributes(vctx_t *v, const json_t *val)
{
	const char *key;
	json_t *item;
	if (!json_is_object(val)) {
		ferr(v, "attributes", "must be an object");
		return NULL;
	}
	if (json_object_size(val) > PRODUCT_ATTRS_MAX) {
		ferr(v, "attributes", "has too many keys (at most 64)");
		return NULL;
	}
	json_t *out = json_object();
	if (out == NULL)
		return NULL;
	int before = v->nerr;
	json_object_foreach ((json_t *)val, key, item) {
		size_t klen = strlen(key);
		bool kok = klen > 0 && klen <= PRODUCT_ATTR_KEY_MAX;
		for (size_t i = 0; kok && i < klen; i++)
			if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f || key[i] == '/')
				kok = false;
		if (!kok) {
			ferr2(v, "attributes", "(key)",
			      "keys must be 1 to 64 bytes without control characters or '/'");
			continue;
		}
		if (v->partial && json_is_null(item)) {
			json_object_set_new(out, key, json_null());
			continue;
		}
		json_t *nv = NULL;
		if (json_is_array(item)) {
			if (json_array_size(item) > PRODUCT_ATTR_ARRAY_MAX) {
				ferr2(v, "attributes", key, "has too many elements (at most 32)");
				continue;
			}
			nv = json_array();
			if (nv == NULL)
				break;
			size_t i;
			json_t *el;
			json_array_foreach (item, i, el) {
				json_t *ne = NULL;
				if (!attr_scalar_ok(v, key, el, &ne))
					break;
				json_array_append_new(nv, ne);
			}
		} else if (!attr_scalar_ok(v, key, item, &nv)) {
			continue;
		}
		if (nv != NULL)
			json_object_set_new(out, key, nv);
	}
	return keep_if_clean(v, before, out);
}

static json_t *norm_int(vctx_t *v, const char *field, const json_t *val, json_int_t max)
{
	if (!json_is_integer(val) || json_integer_value(val) < 0 ||
	    json_integer_value(val) > max) {
		char msg[96];
		snprintf(msg, sizeof(msg), "must be an integer from 0 to %lld", (long long)max);
		ferr(v, field, msg);
		return NULL;
	}
	return json_integer(json_integer_value(val));
}

/* Bytes of v as json_dumps(v, JSON_COMPACT) writes it. */
static size_t dumped_len(const json_t *v)
{
	return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The longest string of a locale map, as dumped (0 when there is none). */
static size_t longest_text(const json_t *map)
{
	const char *k;
	json_t *t;
	size_t max = 0;
	json_object_foreach ((json_t *)map, k, t) {
		size_t n = dumped_len(t);
		max = n > max ? n : max;
	}
	return max;
}

/* Hold doc to the document limit (product.h): its stored size, its locales
 * and the size of its renderings. A field error names the field that adds
 * the most (the locale maps for too many locales). */
static void check_limits(vctx_t *v, const json_t *doc)
{
	const char *key, *big = NULL;
	json_t *val;
	size_t doc_len = 2, big_len = 0, i = 0;
	char msg[160];

	json_object_foreach ((json_t *)doc, key, val) {
		size_t n = dumped_len(val);
		doc_len += (i++ ? 1 : 0) + strlen(key) + 3 + n;
		if (n > big_len) {
			big = key;
			big_len = n;
		}
	}
	const json_t *title = json_object_get(doc, "title");
	const json_t *desc = json_object_get(doc, "description");
	size_t nloc = json_object_size(title);
	json_object_foreach ((json_t *)desc, key, val)
		nloc += json_object_get(title, key) == NULL;
	if (nloc > PRODUCT_RENDER_LOCALES) {
		snprintf(msg, sizeof(msg),
			 "title and description have %zu locales together (at most %u)", nloc,
			 PRODUCT_RENDER_LOCALES);
		ferr(v, json_object_size(desc) ? "description" : "title", msg);
		return;
	}
	if (big == NULL)
		return;
	if (doc_len > PRODUCT_DOC_MAX) {
		snprintf(msg, sizeof(msg), "makes the product %zu bytes (at most %u)", doc_len,
			 PRODUCT_DOC_MAX);
		ferr(v, big, msg);
		return;
	}
	/* every locale's rendering, plus the default locale's */
	size_t one = doc_len + PRODUCT_RENDER_EXTRA + longest_text(title) + longest_text(desc);
	size_t all = (nloc + 1) * one;
	if (all > PRODUCT_RENDERED_MAX) {
		snprintf(msg, sizeof(msg),
			 "makes the product render to %zu bytes in %zu locales (at most %u); "
			 "shorten it or use fewer locales",
			 all, nloc + 1, PRODUCT_RENDERED_MAX);
		ferr(v, big, msg);
	}
}

static const char *const readonly_fields[] = {
	"id", "version", "seq", "updated_at", "locale", "titles", "descriptions", "archived",
};

int product_validate(const json_t *in, bool partial, json_t **normalized, problem_t *err)
{
	static const char *const order[] = {
		"sku", "status", "seller", "category", "title", "description",
		"price", "stock", "attributes",
	};
	vctx_t v = { .err = err, .partial = partial, .nerr = 0 };
	json_t *out = NULL;
	const char *key;
	json_t *item;

	if (!json_is_object(in)) {
		ferr(&v, "", "the document must be a JSON object");
		return SOUK_EINVAL;
	}
	json_object_foreach ((json_t *)in, key, item) {
		bool known = false, ro = false;
		for (size_t i = 0; i < SOUK_ARRAY_LEN(order); i++)
			known = known || strcmp(key, order[i]) == 0;
		for (size_t i = 0; i < SOUK_ARRAY_LEN(readonly_fields); i++)
			ro = ro || strcmp(key, readonly_fields[i]) == 0;
		if (ro)
			ferr(&v, key, "is read-only");
		else if (!known)
			ferr(&v, strlen(key) < 64 ? key : "(key)", "is not a product field");
	}
	out = json_object();
	if (out == NULL)
		return SOUK_ENOMEM;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(order); i++) {
		const char *f = order[i];
		const json_t *val = json_object_get(in, f);
		json_t *nv = NULL;
		if (val == NULL) {
			if (partial)
				continue;
			if (strcmp(f, "status") == 0)
				nv = json_string("active");
			else if (strcmp(f, "stock") == 0)
				nv = json_integer(0);
			else if (strcmp(f, "description") == 0 || strcmp(f, "attributes") == 0)
				continue;
			else {
				ferr(&v, f, "is required");
				continue;
			}
		} else if (json_is_null(val)) {
			if (partial &&
			    (strcmp(f, "description") == 0 || strcmp(f, "attributes") == 0)) {
				json_object_set_new(out, f, json_null());
				continue;
			}
			ferr(&v, f, partial ? "cannot be removed" : "must not be null");
			continue;
		} else if (strcmp(f, "sku") == 0) {
			nv = norm_name(&v, f, val, PRODUCT_SKU_MAX);
		} else if (strcmp(f, "seller") == 0 || strcmp(f, "category") == 0) {
			nv = norm_name(&v, f, val, PRODUCT_NAME_MAX);
		} else if (strcmp(f, "status") == 0) {
			const char *s = json_string_value(val);
			if (s == NULL || (strcmp(s, "active") != 0 && strcmp(s, "draft") != 0 &&
					  strcmp(s, "archived") != 0))
				ferr(&v, f, "must be one of active, draft, archived");
			else
				nv = json_string(s);
		} else if (strcmp(f, "title") == 0) {
			nv = norm_locale_map(&v, f, val, PRODUCT_TITLE_MAX, false, true);
		} else if (strcmp(f, "description") == 0) {
			nv = norm_locale_map(&v, f, val, PRODUCT_DESCRIPTION_MAX, true, false);
		} else if (strcmp(f, "price") == 0) {
			nv = norm_price(&v, val);
		} else if (strcmp(f, "stock") == 0) {
			nv = norm_int(&v, f, val, PRODUCT_STOCK_MAX);
		} else if (strcmp(f, "attributes") == 0) {
			nv = norm_attributes(&v, val);
		}
		if (nv != NULL && json_object_set_new(out, f, nv) != 0) {
			json_decref(out);
			return SOUK_ENOMEM;
		}
	}
	if (v.nerr == 0 && !partial)
		check_limits(&v, out);
	if (v.nerr > 0) {
		json_decref(out);
		return SOUK_EINVAL;
	}
	*normalized = out;
	return 0;
}
