/* SPDX-License-Identifier: Apache-2.0 */
#include "domain/catalog/render.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "common/locale.h"
#include "common/time.h"
#include "common/util.h"
#include "domain/catalog/product.h"

/* The product limits (fcgi/product.h) hold within what the store keeps and
 * what one catalog record holds, so whatever validation accepts renders. */
_Static_assert(PRODUCT_DOC_MAX <= STORE_DOC_MAX, "the store keeps any valid product");
_Static_assert(PRODUCT_RENDER_LOCALES + 1 <= CATALOG_LOCALES_MAX, "renderings fit a record");
_Static_assert(PRODUCT_RENDERED_MAX + CATALOG_LOCALES_MAX * 64 + 2 * CATALOG_KEY_MAX + 256 <=
		       CATALOG_REC_MAX,
	       "renderings fit a catalog record");

static const char *const reserved[] = {
	"id", "version", "seq", "updated_at", "locale", "titles", "descriptions", "dir", "channels",
	"variants",
};

static bool is_reserved(const char *k)
{
	for (size_t i = 0; i < SOUK_ARRAY_LEN(reserved); i++)
		if (strcmp(k, reserved[i]) == 0)
			return true;
	return false;
}

static bool locale_valid(const char *s)
{
	return souk_locale_shape_ok(s, strlen(s));
}

/* Sorted, deduplicated set of locale tags. */
typedef struct {
	char tag[CATALOG_LOCALES_MAX][CATALOG_LOCALE_MAX];
	size_t n;
} locset_t;

/* SOUK_ETOOBIG when the set is full (validation keeps products below). */
static int locset_add(locset_t *s, const char *tag)
{
	if (!locale_valid(tag))
		return 0;
	size_t i = 0;
	while (i < s->n && strcmp(s->tag[i], tag) < 0)
		i++;
	if (i < s->n && strcmp(s->tag[i], tag) == 0)
		return 0;
	if (s->n == CATALOG_LOCALES_MAX)
		return SOUK_ETOOBIG;
	memmove(s->tag[i + 1], s->tag[i], (s->n - i) * CATALOG_LOCALE_MAX);
	snprintf(s->tag[i], CATALOG_LOCALE_MAX, "%s", tag);
	s->n++;
	return 0;
}

static int locset_add_keys(locset_t *s, json_t *obj)
{
	const char *k;
	json_t *val;
	if (!json_is_object(obj))
		return 0;
	json_object_foreach(obj, k, val)
	{
		if (json_is_string(val) && locset_add(s, k) != 0)
			return SOUK_ETOOBIG;
	}
	return 0;
}

/* The string for locale, else the default locale, else the first locale in
 * byte order; NULL when obj has no string at all. */
static json_t *pick_text(json_t *obj, const char *locale, const char *def)
{
	json_t *v = json_object_get(obj, locale);
	if (json_is_string(v))
		return v;
	v = json_object_get(obj, def);
	if (json_is_string(v))
		return v;
	const char *k, *best = NULL;
	json_t *val, *bestv = NULL;
	json_object_foreach(obj, k, val)
	{
		if (json_is_string(val) && (!best || strcmp(k, best) < 0)) {
			best = k;
			bestv = val;
		}
	}
	return bestv;
}

/* A copy of obj with keys in byte order (for "titles"/"descriptions"). */
static json_t *sorted_copy(json_t *obj)
{
	const char *keys[CATALOG_LOCALES_MAX * 4];
	size_t n = 0;
	const char *k;
	json_t *val;
	json_t *out = json_object();
	if (!out)
		return NULL;
	json_object_foreach(obj, k, val)
	{
		if (json_is_string(val) && n < SOUK_ARRAY_LEN(keys))
			keys[n++] = k;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		if (json_object_set(out, keys[i], json_object_get(obj, keys[i])) != 0) {
			json_decref(out);
			return NULL;
		}
	return out;
}

/* The variants as rendered, "[{...},{...}]", the same in every locale,
 * with where each object ends (render.h). */
typedef struct {
	char *text;
	size_t len;
} var_text_t;

static int render_one(json_t *doc, const render_product_t *p, const char *hex, const char *when,
		      const char *locale, const char *def, const var_text_t *variants, char **json,
		      size_t *len, uint32_t *var_at)
{
	json_t *o = json_object();
	const char *k;
	json_t *val;
	int rc = SOUK_ENOMEM;

	if (!o)
		return SOUK_ENOMEM;
	if (json_object_set_new(o, "id", json_string(hex)) ||
	    json_object_set_new(o, "version", json_integer((json_int_t)p->cp.version)) ||
	    json_object_set_new(o, "seq", json_integer((json_int_t)p->cp.seq)) ||
	    json_object_set_new(o, "updated_at", json_string(when)) ||
	    json_object_set_new(o, "locale", json_string(locale)) ||
	    json_object_set_new(o, "dir", json_string(souk_locale_direction(locale))))
		goto fail;
	json_object_foreach(doc, k, val)
	{
		if (is_reserved(k))
			continue;
		if ((strcmp(k, "title") == 0 || strcmp(k, "description") == 0) &&
		    json_is_object(val)) {
			json_t *t = pick_text(val, locale, def);
			char plural[16];
			snprintf(plural, sizeof(plural), "%ss", k);
			if (t && json_object_set(o, k, t))
				goto fail;
			if (json_object_set_new(o, plural, sorted_copy(val)))
				goto fail;
			continue;
		}
		if (strcmp(k, "media") == 0 && json_is_array(val)) {
			/* each item's alternative text in the rendered locale */
			json_t *arr = json_array(), *m;
			size_t i;
			if (!arr || json_object_set_new(o, k, arr))
				goto fail;
			json_array_foreach(val, i, m)
			{
				json_t *e = json_pack("{s:O}", "url", json_object_get(m, "url"));
				json_t *alt = pick_text(json_object_get(m, "alt"), locale, def);
				if (!e || (alt && json_object_set(e, "alt", alt))) {
					json_decref(e);
					goto fail;
				}
				if (json_array_append_new(arr, e))
					goto fail;
			}
			continue;
		}
		if (json_object_set(o, k, val))
			goto fail;
	}
	*json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!*json)
		goto fail;
	*len = strlen(*json);
	*var_at = 0;
	if (variants) {
		/* the same bytes as a "variants" member last in the object, put
		 * in by hand so that each variant's place is known */
		static const char key[] = ",\"variants\":";
		size_t n = *len - 1 + (*len > 2 ? sizeof(key) - 1 : sizeof(key) - 2) +
			   variants->len + 1;
		char *t = realloc(*json, n + 1);
		if (!t) {
			free(*json);
			*json = NULL;
			goto fail;
		}
		size_t at = *len - 1; /* the closing '}' */
		const char *sep = *len > 2 ? key : key + 1;
		memcpy(t + at, sep, strlen(sep));
		at += strlen(sep);
		*var_at = (uint32_t)at;
		memcpy(t + at, variants->text, variants->len);
		at += variants->len;
		t[at++] = '}';
		t[at] = '\0';
		*json = t;
		*len = at;
	}
	rc = 0;
fail:
	json_decref(o);
	return rc;
}

static int64_t when_ms(const json_t *l, const char *name)
{
	const json_t *v = json_object_get(l, name);
	int64_t ms = json_is_string(v) ? souk_rfc3339_parse_ms(json_string_value(v),
							       json_string_length(v))
				       : 0;
	return ms > 0 ? ms : 0;
}

/* The "channels" map into listings (validation holds it to the channel
 * codes and times the image takes; anything else keeps the product out of
 * that channel rather than showing it everywhere). */
static int render_listings(json_t *doc, render_product_t *p)
{
	json_t *map = json_object_get(doc, "channels"), *l;
	const char *code;
	if (!json_is_object(map))
		return 0;
	p->cp.has_listings = true;
	if (json_object_size(map) > CATALOG_LISTINGS_MAX)
		return SOUK_ETOOBIG;
	if (json_object_size(map) == 0)
		return 0;
	p->listings = calloc(json_object_size(map), sizeof(*p->listings));
	if (!p->listings)
		return SOUK_ENOMEM;
	json_object_foreach(map, code, l)
	{
		catalog_listing_t *c = &p->listings[p->cp.nlistings];
		if (strlen(code) >= CATALOG_CHANNEL_MAX || !json_is_object(l))
			continue;
		memcpy(c->channel, code, strlen(code));
		c->published = !json_is_false(json_object_get(l, "published"));
		c->listed = !json_is_false(json_object_get(l, "listed"));
		c->published_at_ms = when_ms(l, "published_at");
		c->purchasable_from_ms = when_ms(l, "purchasable_from");
		c->purchasable_until_ms = when_ms(l, "purchasable_until");
		p->cp.nlistings++;
	}
	p->cp.listings = p->listings;
	return 0;
}

/* The "price" map into the record, where reads find the product's own
 * price beside the channel's price lists. */
static int price_map(const json_t *map, catalog_price_t **out, uint32_t *n);

static int render_prices(json_t *doc, render_product_t *p)
{
	int rc = price_map(json_object_get(doc, "price"), &p->prices, &p->cp.nprices);
	p->cp.prices = p->prices;
	return rc;
}

/* Growing arrays of a product's attribute values. */
typedef struct {
	uint64_t *v;
	size_t nv, capv;
	catalog_num_t *num;
	size_t nn, capn;
} attr_acc_t;

/* Room for one more of n elements of size bytes in *arr (capacity *cap). */
static int acc_room(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return SOUK_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int acc_val(attr_acc_t *a, uint64_t h)
{
	if (acc_room((void **)&a->v, &a->capv, a->nv, sizeof(*a->v)) != 0)
		return SOUK_ENOMEM;
	a->v[a->nv++] = h;
	return 0;
}

static int acc_num(attr_acc_t *a, uint64_t code, const json_t *x)
{
	int64_t v;
	if (json_is_integer(x)) {
		json_int_t i = json_integer_value(x);
		if (i > INT64_MAX / CATALOG_NUM_SCALE || i < INT64_MIN / CATALOG_NUM_SCALE)
			return 0; /* beyond what a filter can name */
		v = (int64_t)i * CATALOG_NUM_SCALE;
	} else {
		/* jansson holds reals as binary; the nearest 1/10000 is what was
		 * meant by a measure such as 2.5 or 0.1 */
		double d = json_real_value(x) * CATALOG_NUM_SCALE;
		if (!(d > -9.2e18 && d < 9.2e18))
			return 0;
		v = llround(d);
	}
	if (acc_room((void **)&a->num, &a->capn, a->nn, sizeof(*a->num)) != 0)
		return SOUK_ENOMEM;
	a->num[a->nn++] = (catalog_num_t){code, v};
	return 0;
}

/* One attribute's value (or an array of them) into the accumulator. */
static int acc_attr(attr_acc_t *a, const char *code, const json_t *val, bool in_array)
{
	uint64_t ch = catalog_attr_code_hash(code, strlen(code));
	if (json_is_string(val))
		return acc_val(a, catalog_attr_value_hash(ch, json_string_value(val),
							  json_string_length(val)));
	if (json_is_boolean(val))
		return acc_val(a, catalog_attr_value_hash(ch, json_is_true(val) ? "true" : "false",
							  json_is_true(val) ? 4 : 5));
	if (json_is_number(val))
		return acc_num(a, ch, val);
	if (json_is_array(val) && !in_array) {
		size_t i;
		json_t *e;
		json_array_foreach(val, i, e)
		{
			int rc = acc_attr(a, code, e, true);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int acc_object(attr_acc_t *a, const json_t *obj)
{
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)obj, k, val)
	{
		if (strlen(k) > CATALOG_ATTR_CODE_MAX)
			continue;
		int rc = acc_attr(a, k, val, false);
		if (rc)
			return rc;
	}
	return 0;
}

static int u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return a < b ? -1 : a > b;
}

static int num_cmp(const void *pa, const void *pb)
{
	const catalog_num_t *a = pa, *b = pb;
	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	return a->value < b->value ? -1 : a->value > b->value;
}

/* The product's type and attribute values, with its variants' (their
 * options are attributes of the type too), sorted and distinct. */
static int render_attrs(json_t *doc, const json_t *variants, render_product_t *p)
{
	attr_acc_t a = {0};
	size_t i;
	json_t *var;
	int rc = acc_object(&a, json_object_get(doc, "attributes"));
	json_array_foreach((json_t *)variants, i, var)
	{
		if (rc == 0)
			rc = acc_object(&a, json_object_get(var, "options"));
		if (rc == 0)
			rc = acc_object(&a, json_object_get(var, "attributes"));
	}
	if (rc || a.nv > UINT32_MAX || a.nn > UINT32_MAX) {
		free(a.v);
		free(a.num);
		return rc ? rc : SOUK_ETOOBIG;
	}
	size_t u = 0;
	if (a.nv > 1)
		qsort(a.v, a.nv, sizeof(*a.v), u64_cmp);
	for (size_t k = 0; k < a.nv; k++)
		if (u == 0 || a.v[u - 1] != a.v[k])
			a.v[u++] = a.v[k];
	a.nv = u;
	u = 0;
	if (a.nn > 1)
		qsort(a.num, a.nn, sizeof(*a.num), num_cmp);
	for (size_t k = 0; k < a.nn; k++)
		if (u == 0 || num_cmp(&a.num[u - 1], &a.num[k]) != 0)
			a.num[u++] = a.num[k];
	a.nn = u;
	const char *type = json_string_value(json_object_get(doc, "type"));
	p->cp.type_hash = type ? catalog_type_hash(type, strlen(type)) : 0;
	p->attr_vals = a.v;
	p->attr_nums = a.num;
	p->cp.attr_vals = a.v;
	p->cp.nattr_vals = (uint32_t)a.nv;
	p->cp.attr_nums = a.num;
	p->cp.nattr_nums = (uint32_t)a.nn;
	return 0;
}

/* A price map ({"GBP": 1500}) into n catalog_price_t (*out, heap). */
static int price_map(const json_t *map, catalog_price_t **out, uint32_t *n)
{
	const char *cur;
	json_t *a;
	size_t cnt = json_object_size(map);
	*out = NULL;
	*n = 0;
	if (cnt == 0)
		return 0;
	if (cnt > CATALOG_PRICES_MAX)
		return SOUK_ETOOBIG;
	if (!(*out = calloc(cnt, sizeof(**out))))
		return SOUK_ENOMEM;
	json_object_foreach((json_t *)map, cur, a)
	{
		if (strlen(cur) != 3 || !json_is_integer(a))
			continue;
		memcpy((*out)[*n].currency, cur, 4);
		(*out)[(*n)++].amount = json_integer_value(a);
	}
	return 0;
}

/* The variants' text and records: each object dumped as a whole rendering
 * would dump it, its SKU and its own prices. */
static int render_vars(const json_t *variants, render_product_t *p, var_text_t *vt)
{
	size_t n = json_array_size(variants), cap = 256, i;
	json_t *v;
	if (!variants)
		return 0;
	if (n > CATALOG_VARIANTS_MAX)
		return SOUK_ETOOBIG;
	vt->text = malloc(cap);
	p->vars = n ? calloc(n, sizeof(*p->vars)) : NULL;
	if (!vt->text || (n && !p->vars))
		return SOUK_ENOMEM;
	vt->text[vt->len++] = '[';
	json_array_foreach((json_t *)variants, i, v)
	{
		char *d = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		const char *sku = json_string_value(json_object_get(v, "sku"));
		if (!d)
			return SOUK_ENOMEM;
		size_t dl = strlen(d);
		if (vt->len + dl + 2 > cap) {
			while (vt->len + dl + 2 > cap)
				cap *= 2;
			char *t = realloc(vt->text, cap);
			if (!t) {
				free(d);
				return SOUK_ENOMEM;
			}
			vt->text = t;
		}
		if (i)
			vt->text[vt->len++] = ',';
		memcpy(vt->text + vt->len, d, dl);
		vt->len += dl;
		free(d);
		if (!sku || json_string_length(json_object_get(v, "sku")) > CATALOG_VAR_SKU_MAX ||
		    !*sku)
			continue; /* no SKU to find or price it by: rendered only */
		catalog_var_t *cv = &p->vars[p->cp.nvars++];
		cv->sku = sku; /* pointed at below, once variants outlive nothing */
		cv->sku_len = strlen(sku);
		cv->end = (uint32_t)(vt->len - 1);
		catalog_price_t *pr = NULL;
		int rc = price_map(json_object_get(v, "price"), &pr, &cv->nprices);
		if (rc)
			return rc;
		cv->prices = pr;
	}
	vt->text[vt->len++] = ']';
	/* the SKUs live in the product, not in the caller's variant objects */
	size_t skus = 0;
	for (uint32_t k = 0; k < p->cp.nvars; k++)
		skus += p->vars[k].sku_len + 1;
	if (skus && !(p->var_skus = malloc(skus)))
		return SOUK_ENOMEM;
	for (uint32_t k = 0, at = 0; k < p->cp.nvars; k++) {
		memcpy(p->var_skus + at, p->vars[k].sku, p->vars[k].sku_len + 1);
		p->vars[k].sku = p->var_skus + at;
		at += (uint32_t)p->vars[k].sku_len + 1;
	}
	p->cp.vars = p->vars;
	return 0;
}

static int dup_str(json_t *v, size_t max, char **out, size_t *len)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	if (n > max)
		return SOUK_EINVAL;
	*out = malloc(n + 1);
	if (!*out)
		return SOUK_ENOMEM;
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	*len = n;
	return 0;
}

int render_product(const store_rec_t *rec, const char *default_locale, render_product_t **out)
{
	return render_product_with(rec, default_locale, NULL, out);
}

int render_product_with(const store_rec_t *rec, const char *default_locale,
			const json_t *variants, render_product_t **out)
{
	render_product_t *p = NULL;
	json_t *doc = NULL;
	json_error_t jerr;
	locset_t ls;
	char hex[33], when[32];
	var_text_t vt = {NULL, 0};
	int rc;

	if (!rec || !out || (!rec->doc && rec->doc_len))
		return SOUK_EINVAL;
	if (!default_locale || !locale_valid(default_locale))
		default_locale = CATALOG_DEFAULT_LOCALE;
	if (rec->doc_len > PRODUCT_DOC_MAX)
		return SOUK_ETOOBIG;
	doc = json_loadb(rec->doc ? rec->doc : "", rec->doc_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		rc = SOUK_EINVAL;
		goto fail;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	p->cp.id = rec->id;
	p->cp.version = rec->version;
	p->cp.seq = rec->seq;
	p->time_ms = rec->time_ms;
	rc = dup_str(json_object_get(doc, "sku"), CATALOG_KEY_MAX, &p->sku, &p->cp.sku_len);
	if (rc)
		goto fail;
	rc = dup_str(json_object_get(doc, "category"), CATALOG_KEY_MAX, &p->category,
		     &p->cp.category_len);
	if (rc)
		goto fail;
	p->cp.sku = p->sku;
	p->cp.category = p->category;
	/* drafts are not public: the image holds them as hidden tombstones,
	 * like archived products, so every public read answers 404 */
	const char *status = json_string_value(json_object_get(doc, "status"));
	p->cp.archived = rec->archived ||
			 (status && (strcmp(status, "archived") == 0 || strcmp(status, "draft") == 0));
	if (p->cp.archived)
		goto done;
	if ((rc = render_listings(doc, p)) != 0)
		goto fail;
	p->cp.stock = json_integer_value(json_object_get(doc, "stock"));
	if ((rc = render_prices(doc, p)) != 0)
		goto fail;
	if ((rc = render_attrs(doc, variants, p)) != 0)
		goto fail;

	memset(&ls, 0, sizeof(ls));
	locset_add(&ls, default_locale);
	if (locset_add_keys(&ls, json_object_get(doc, "title")) != 0 ||
	    locset_add_keys(&ls, json_object_get(doc, "description")) != 0) {
		rc = SOUK_ETOOBIG;
		goto fail;
	}
	p->locs = calloc(ls.n, sizeof(*p->locs));
	if (!p->locs) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	store_id_hex(&rec->id, hex);
	(void)souk_rfc3339(rec->time_ms, when);
	if ((rc = render_vars(variants, p, &vt)) != 0)
		goto fail;
	size_t total = 0;
	for (size_t i = 0; i < ls.n; i++) {
		char *json = NULL;
		size_t len = 0;
		rc = render_one(doc, p, hex, when, ls.tag[i], default_locale, variants ? &vt : NULL,
				&json, &len, &p->locs[i].var_at);
		if (rc)
			goto fail;
		total += len;
		if (total > PRODUCT_RENDERED_MAX) {
			free(json);
			rc = SOUK_ETOOBIG;
			goto fail;
		}
		snprintf(p->locs[i].locale, CATALOG_LOCALE_MAX, "%s", ls.tag[i]);
		p->locs[i].json = json;
		p->locs[i].json_len = len;
		p->cp.nloc = (uint32_t)(i + 1);
		if (strcmp(ls.tag[i], default_locale) == 0)
			p->cp.default_loc = (uint32_t)i;
	}
	p->cp.locs = p->locs;
done:
	free(vt.text);
	json_decref(doc);
	*out = p;
	return 0;
fail:
	free(vt.text);
	json_decref(doc);
	render_product_free(&p);
	return rc;
}

void render_product_free(render_product_t **pp)
{
	render_product_t *p = pp ? *pp : NULL;
	if (!p)
		return;
	for (uint32_t i = 0; p->locs && i < p->cp.nloc; i++)
		free((void *)p->locs[i].json);
	free(p->locs);
	free(p->listings);
	free(p->prices);
	free(p->attr_vals);
	free(p->attr_nums);
	for (uint32_t i = 0; p->vars && i < p->cp.nvars; i++)
		free((void *)p->vars[i].prices);
	free(p->vars);
	free(p->var_skus);
	free(p->sku);
	free(p->category);
	free(p);
	*pp = NULL;
}

size_t render_product_bytes(const render_product_t *p)
{
	size_t n = sizeof(*p) + p->cp.sku_len + p->cp.category_len + 2 +
		   p->cp.nattr_vals * sizeof(uint64_t) + p->cp.nattr_nums * sizeof(catalog_num_t);
	for (uint32_t i = 0; i < p->cp.nvars; i++)
		n += sizeof(catalog_var_t) + p->vars[i].sku_len + 1 +
		     p->vars[i].nprices * sizeof(catalog_price_t);
	for (uint32_t i = 0; i < p->cp.nloc; i++)
		n += sizeof(catalog_loc_t) + p->locs[i].json_len + 1;
	return n;
}
