/* SPDX-License-Identifier: Apache-2.0 */
#include "domain/catalog/provider.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "domain/catalog/render.h"
#include "domain/catalog/variant.h"
#include "domain/catalog/sections.h"

#define PRODUCT_KIND "product"
#define VARIANT_KIND "variant"
#define TYPE_KIND "product_type"

/* A set of product ids (open addressing, linear probing). */
typedef struct {
	store_id_t *ids;
	uint8_t *used;
	size_t cap, n;
} idset_t;

/* A snapshot: every product of the table (any order: catalog_build sorts). */
typedef struct {
	const catalog_product_t **arr;
	size_t n;
	void *attrs; /* "cat.attr" as of the snapshot */
	size_t attrs_len;
} cat_snap_t;

typedef struct {
	char default_locale[CATALOG_LOCALE_MAX];
	shm_ctl_t *ctl;
	/* rendered products by id: open addressing, linear probing */
	render_product_t **slot;
	size_t cap, n;
	size_t served; /* products in the table that are not archived */
	uint64_t heap;  /* render_product_bytes of the products in the table */
	/* products changed since the base (the next delta), and since the
	 * last snapshot while one is live (the delta over the base built
	 * from it) */
	idset_t dset, dnext;
	bool snap_live;
	/* products replaced while a snapshot is live */
	render_product_t **grave;
	size_t ngrave, grave_cap;
	uint64_t render_errors;
	log_ratelimit_t rl;
	/* published variants: product id (hex) -> array of them by sku, and
	 * variant id (hex) -> its product id (hex) */
	json_t *variants, *variant_of;
	/* live product types with filterable attributes: type id (hex) ->
	 * {"code", "attrs": [[attribute code, kind], ...]}; their "cat.attr"
	 * encoding (NULL when it needs making again), and whether they changed
	 * since the base (types_dset) and since the last snapshot */
	json_t *types;
	void *attrs;
	size_t attrs_len;
	bool types_dset, types_dnext;
} cat_prov_t;

/* ---- the table ------------------------------------------------------------ */

static uint64_t id_hash(const store_id_t *id)
{
	uint64_t a, b;
	memcpy(&a, id->b, 8);
	memcpy(&b, id->b + 8, 8);
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static size_t table_find(const cat_prov_t *p, const store_id_t *id)
{
	size_t mask = p->cap - 1, i = (size_t)id_hash(id) & mask;
	while (p->slot[i] && memcmp(p->slot[i]->cp.id.b, id->b, 16) != 0)
		i = (i + 1) & mask;
	return i;
}

static int table_grow(cat_prov_t *p)
{
	size_t ncap = p->cap ? p->cap * 2 : 1024;
	render_product_t **old = p->slot;
	size_t ocap = p->cap;
	p->slot = calloc(ncap, sizeof(*p->slot));
	if (!p->slot) {
		p->slot = old;
		return SOUK_ENOMEM;
	}
	p->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			p->slot[table_find(p, &old[i]->cp.id)] = old[i];
	free(old);
	return 0;
}

/* Room in the graveyard for one more product, taken before the table
 * changes so that retiring never fails halfway. */
static int grave_reserve(cat_prov_t *p)
{
	if (!p->snap_live || p->ngrave < p->grave_cap)
		return 0;
	size_t ncap = p->grave_cap ? p->grave_cap * 2 : 256;
	render_product_t **g = realloc(p->grave, ncap * sizeof(*g));
	if (!g)
		return SOUK_ENOMEM;
	p->grave = g;
	p->grave_cap = ncap;
	return 0;
}

/* Free a product leaving the table, or keep it until the snapshot that may
 * point to it is freed (room reserved by grave_reserve). */
static void product_retire(cat_prov_t *p, render_product_t **r)
{
	if (!*r)
		return;
	if (!(*r)->cp.archived)
		p->served--;
	p->heap -= render_product_bytes(*r);
	if (p->snap_live) {
		p->grave[p->ngrave++] = *r;
		*r = NULL;
		return;
	}
	render_product_free(r);
}

static void grave_clear(cat_prov_t *p)
{
	for (size_t i = 0; i < p->ngrave; i++)
		render_product_free(&p->grave[i]);
	p->ngrave = 0;
}

/* Takes ownership of r, replacing (and retiring) any product with its id. */
static int table_put(cat_prov_t *p, render_product_t *r)
{
	int rc;
	if ((p->n + 1) * 4 > p->cap * 3) {
		rc = table_grow(p);
		if (rc)
			return rc;
	}
	if ((rc = grave_reserve(p)) != 0)
		return rc;
	size_t i = table_find(p, &r->cp.id);
	if (p->slot[i]) {
		product_retire(p, &p->slot[i]);
	} else {
		p->n++;
	}
	p->slot[i] = r;
	if (!r->cp.archived)
		p->served++;
	p->heap += render_product_bytes(r);
	return 0;
}

static int table_del(cat_prov_t *p, const store_id_t *id)
{
	if (!p->cap)
		return 0;
	size_t mask = p->cap - 1, i = table_find(p, id);
	if (!p->slot[i])
		return 0;
	int rc = grave_reserve(p);
	if (rc)
		return rc;
	product_retire(p, &p->slot[i]);
	p->n--;
	/* backward-shift deletion keeps probe chains intact */
	for (size_t j = (i + 1) & mask; p->slot[j]; j = (j + 1) & mask) {
		size_t home = (size_t)id_hash(&p->slot[j]->cp.id) & mask;
		bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			p->slot[i] = p->slot[j];
			p->slot[j] = NULL;
			i = j;
		}
	}
	return 0;
}

static void table_clear(cat_prov_t *p)
{
	for (size_t i = 0; i < p->cap; i++)
		render_product_free(&p->slot[i]);
	souk_free(&p->slot);
	p->cap = p->n = p->served = 0;
	p->heap = 0;
}

/* ---- id sets ---------------------------------------------------------------- */

static int idset_grow(idset_t *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 256;
	store_id_t *ids = malloc(ncap * sizeof(*ids));
	uint8_t *used = calloc(ncap, 1);
	if (!ids || !used) {
		free(ids);
		free(used);
		return SOUK_ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->used[i])
			continue;
		size_t j = (size_t)id_hash(&s->ids[i]) & (ncap - 1);
		while (used[j])
			j = (j + 1) & (ncap - 1);
		ids[j] = s->ids[i];
		used[j] = 1;
	}
	free(s->ids);
	free(s->used);
	s->ids = ids;
	s->used = used;
	s->cap = ncap;
	return 0;
}

static int idset_add(idset_t *s, const store_id_t *id)
{
	if ((s->n + 1) * 2 > s->cap) {
		int rc = idset_grow(s);
		if (rc)
			return rc;
	}
	size_t j = (size_t)id_hash(id) & (s->cap - 1);
	while (s->used[j]) {
		if (memcmp(s->ids[j].b, id->b, 16) == 0)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->ids[j] = *id;
	s->used[j] = 1;
	s->n++;
	return 0;
}

static void idset_clear(idset_t *s)
{
	if (s->cap > 4096) { /* do not keep a large table for a small delta */
		souk_free(&s->ids);
		souk_free(&s->used);
		s->cap = 0;
	} else if (s->cap) {
		memset(s->used, 0, s->cap);
	}
	s->n = 0;
}

static void idset_free(idset_t *s)
{
	souk_free(&s->ids);
	souk_free(&s->used);
	s->cap = s->n = 0;
}

/* ---- rendering ------------------------------------------------------------- */

/* Render rec and put it in the table. A version that does not render
 * (validation keeps new writes renderable; older or foreign documents may
 * not be) leaves the last good rendering in the catalog, logged and counted,
 * rather than stopping publishing or hiding a product that was served. */
static int table_render(cat_prov_t *p, const store_rec_t *rec)
{
	render_product_t *r = NULL;
	char hex[33];
	store_id_hex(&rec->id, hex);
	int rc = render_product_with(rec, p->default_locale, json_object_get(p->variants, hex), &r);
	if (rc == SOUK_ENOMEM)
		return rc;
	if (rc) {
		uint32_t suppressed = 0;
		bool kept = p->cap && p->slot[table_find(p, &rec->id)];
		p->render_errors++;
		if (p->ctl)
			shm_ctl_count_render_failures(p->ctl, 1);
		if (log_ratelimit_ok(&p->rl, &suppressed))
			log_daemon_warn("publisher, product '%s' version %" PRIu64
					" did not render (%s), %s%s",
					hex, rec->version, souk_strerror(rc),
					kept ? "serving its last good rendering"
					     : "left out of the catalog",
					suppressed ? ", more suppressed" : "");
		return 0;
	}
	rc = table_put(p, r);
	if (rc)
		render_product_free(&r);
	return rc;
}

static int scan_cb(const store_rec_t *rec, void *arg)
{
	return table_render(arg, rec);
}

/* ---- the provider ---------------------------------------------------------- */

/* ---- variants -------------------------------------------------------------- */

/* What a product read shows of a variant. */
static const char *const variant_shown[] = {"sku", "options", "price", "stock", "attributes",
					    "media"};

/* Take a variant's version: out of its former product's list, into its
 * product's when it is published. *old_pid and *new_pid (33 bytes, "" for
 * none) name the products whose renderings change. */
static int variant_take(cat_prov_t *p, const store_rec_t *rec, const store_id_t *vid,
			char old_pid[33], char new_pid[33])
{
	char vhex[33];
	size_t i;
	json_t *v;
	store_id_hex(vid, vhex);
	old_pid[0] = new_pid[0] = '\0';
	const char *was = json_string_value(json_object_get(p->variant_of, vhex));
	if (was) {
		snprintf(old_pid, 33, "%s", was);
		json_t *arr = json_object_get(p->variants, old_pid);
		json_array_foreach(arr, i, v)
		{
			if (strcmp(json_string_value(json_object_get(v, "id")), vhex) == 0) {
				json_array_remove(arr, i);
				break;
			}
		}
		if (json_array_size(arr) == 0)
			json_object_del(p->variants, old_pid);
		json_object_del(p->variant_of, vhex);
	}
	if (!rec || rec->archived)
		return 0;
	json_error_t je;
	json_t *doc = json_loadb(rec->doc, rec->doc_len, 0, &je);
	const char *pid = json_string_value(json_object_get(doc, "product"));
	const char *status = json_string_value(json_object_get(doc, "status"));
	const char *sku = json_string_value(json_object_get(doc, "sku"));
	if (!json_is_object(doc) || !pid || strlen(pid) != 32 || !sku ||
	    (status && strcmp(status, "published") != 0)) {
		json_decref(doc);
		return 0; /* drafts (and what is no variant) are not shown */
	}
	json_t *e = json_object();
	int rc = e ? json_object_set_new(e, "id", json_string(vhex)) : -1;
	for (size_t k = 0; rc == 0 && k < sizeof(variant_shown) / sizeof(variant_shown[0]); k++) {
		json_t *f = json_object_get(doc, variant_shown[k]);
		if (f)
			rc = json_object_set(e, variant_shown[k], f);
	}
	json_t *arr = json_object_get(p->variants, pid);
	if (rc == 0 && !arr) {
		arr = json_array();
		rc = arr ? json_object_set_new(p->variants, pid, arr) : -1;
	}
	/* by sku, so a rendering does not depend on the order of changes */
	size_t at = json_array_size(arr);
	json_array_foreach(arr, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "sku")), sku) > 0) {
			at = i;
			break;
		}
	}
	if (rc == 0 && json_array_size(arr) < VARIANT_PER_PRODUCT_MAX)
		rc = json_array_insert(arr, at, e);
	if (rc == 0)
		rc = json_object_set_new(p->variant_of, vhex, json_string(pid));
	if (rc == 0)
		snprintf(new_pid, 33, "%s", pid);
	json_decref(e);
	json_decref(doc);
	return rc == 0 ? 0 : SOUK_ENOMEM;
}

static int variant_scan_cb(const store_rec_t *rec, void *arg)
{
	char a[33], b[33];
	return variant_take(arg, rec, &rec->id, a, b);
}

/* Render product pid (hex) again, as of rt, into the next delta. */
static int rerender(cat_prov_t *p, store_read_t *rt, const char *pid)
{
	store_id_t id;
	store_rec_t rec;
	if (!pid[0] || store_id_parse(pid, &id) != 0)
		return 0;
	int rc = idset_add(&p->dset, &id);
	if (rc == 0 && p->snap_live)
		rc = idset_add(&p->dnext, &id);
	if (rc)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rc = store_read_get(rt, PRODUCT_KIND, &id, &rec);
	if (rc == SOUK_ENOENT)
		return 0; /* not (yet) a product: nothing renders its variants */
	if (rc == 0)
		rc = table_render(p, &rec);
	store_rec_deinit(&rec);
	return rc;
}

static int variant_apply(cat_prov_t *p, store_read_t *rt, const store_id_t *id)
{
	store_rec_t rec;
	char old_pid[33], new_pid[33];
	memset(&rec, 0, sizeof(rec));
	int rc = store_read_get(rt, VARIANT_KIND, id, &rec);
	if (rc != 0 && rc != SOUK_ENOENT)
		return rc;
	rc = variant_take(p, rc == 0 ? &rec : NULL, id, old_pid, new_pid);
	store_rec_deinit(&rec);
	if (rc == 0)
		rc = rerender(p, rt, old_pid);
	if (rc == 0 && strcmp(old_pid, new_pid) != 0)
		rc = rerender(p, rt, new_pid);
	return rc;
}

/* ---- product types: what may be filtered on ------------------------------- */

/* Take a product type's version (NULL: gone) into p->types. */
static int type_take(cat_prov_t *p, const store_rec_t *rec, const store_id_t *id)
{
	char hex[33];
	json_error_t je;
	store_id_hex(id, hex);
	json_object_del(p->types, hex);
	souk_free(&p->attrs);
	p->types_dset = true;
	if (p->snap_live)
		p->types_dnext = true;
	if (!rec || rec->archived)
		return 0;
	json_t *doc = json_loadb(rec->doc, rec->doc_len, 0, &je);
	const char *code = json_string_value(json_object_get(doc, "code"));
	const char *status = json_string_value(json_object_get(doc, "status"));
	json_t *list = json_array(), *a;
	size_t i;
	int rc = list ? 0 : SOUK_ENOMEM;
	if (!code || (status && strcmp(status, "active") != 0))
		goto out; /* an archived type offers no filters */
	json_array_foreach(json_object_get(doc, "attributes"), i, a)
	{
		const char *ac = json_string_value(json_object_get(a, "code"));
		int kind = catalog_attr_kind(json_string_value(json_object_get(a, "type")));
		if (rc || !ac || !kind || !json_is_true(json_object_get(a, "filterable")) ||
		    strlen(ac) > CATALOG_ATTR_CODE_MAX)
			continue;
		if (json_array_append_new(list, json_pack("[si]", ac, kind)) != 0)
			rc = SOUK_ENOMEM;
	}
	if (rc == 0 && json_array_size(list) &&
	    json_object_set_new(p->types, hex, json_pack("{s:s,s:O}", "code", code, "attrs", list)))
		rc = SOUK_ENOMEM;
out:
	json_decref(list);
	json_decref(doc);
	return rc;
}

static int type_scan_cb(const store_rec_t *rec, void *arg)
{
	return type_take(arg, rec, &rec->id);
}

static int type_apply(cat_prov_t *p, store_read_t *rt, const store_id_t *id)
{
	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	int rc = store_read_get(rt, TYPE_KIND, id, &rec);
	if (rc != 0 && rc != SOUK_ENOENT)
		return rc;
	rc = type_take(p, rc == 0 ? &rec : NULL, id);
	store_rec_deinit(&rec);
	return rc;
}

/* p->attrs made from p->types when it is stale. */
static int attrs_encode(cat_prov_t *p)
{
	const char *k;
	json_t *t, *a;
	size_t n = 0, i;
	if (p->attrs)
		return 0;
	json_object_foreach(p->types, k, t) n += json_array_size(json_object_get(t, "attrs"));
	catalog_attr_decl_t *d = malloc((n ? n : 1) * sizeof(*d));
	if (!d)
		return SOUK_ENOMEM;
	n = 0;
	json_object_foreach(p->types, k, t)
	{
		const char *code = json_string_value(json_object_get(t, "code"));
		uint64_t th = catalog_type_hash(code, strlen(code));
		json_array_foreach(json_object_get(t, "attrs"), i, a)
		{
			const char *ac = json_string_value(json_array_get(a, 0));
			d[n++] = (catalog_attr_decl_t){ac, strlen(ac), th,
						       (int)json_integer_value(json_array_get(a, 1))};
		}
	}
	int rc = catalog_attrs_encode(d, n, &p->attrs, &p->attrs_len);
	free(d);
	return rc;
}

static int cat_load(void *st, store_read_t *rt)
{
	cat_prov_t *p = st;
	int rc = p->cap ? 0 : table_grow(p);
	if (rc == 0)
		rc = store_read_scan(rt, TYPE_KIND, type_scan_cb, p);
	/* variants first: each product renders with its own */
	if (rc == 0)
		rc = store_read_scan(rt, VARIANT_KIND, variant_scan_cb, p);
	return rc ? rc : store_read_scan(rt, PRODUCT_KIND, scan_cb, p);
}

static int cat_apply(void *st, store_read_t *rt, const char *kind, const store_id_t *id)
{
	cat_prov_t *p = st;
	store_rec_t rec;
	int rc;

	if (strcmp(kind, VARIANT_KIND) == 0)
		return variant_apply(p, rt, id);
	if (strcmp(kind, TYPE_KIND) == 0)
		return type_apply(p, rt, id);
	/* the id is part of the next delta even when it does not render: the
	 * delta then carries its last good rendering, as the base does */
	rc = idset_add(&p->dset, id);
	if (rc == 0 && p->snap_live)
		rc = idset_add(&p->dnext, id);
	if (rc)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rc = store_read_get(rt, PRODUCT_KIND, id, &rec);
	if (rc == SOUK_ENOENT)
		return table_del(p, id);
	if (rc)
		return rc;
	rc = table_render(p, &rec);
	store_rec_deinit(&rec);
	return rc;
}

static int cat_snapshot(void *st, void **out)
{
	cat_prov_t *p = st;
	cat_snap_t *s = calloc(1, sizeof(*s));
	if (!s || attrs_encode(p) != 0) {
		free(s);
		return SOUK_ENOMEM;
	}
	s->arr = malloc((p->n ? p->n : 1) * sizeof(*s->arr));
	s->attrs = malloc(p->attrs_len);
	if (!s->arr || !s->attrs) {
		free(s->arr);
		free(s->attrs);
		free(s);
		return SOUK_ENOMEM;
	}
	memcpy(s->attrs, p->attrs, p->attrs_len);
	s->attrs_len = p->attrs_len;
	for (size_t i = 0; i < p->cap; i++)
		if (p->slot[i])
			s->arr[s->n++] = &p->slot[i]->cp;
	idset_clear(&p->dnext);
	p->types_dnext = false;
	p->snap_live = true;
	*out = s;
	return 0;
}

static int cat_build_base(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes)
{
	const cat_snap_t *s = snap;
	return catalog_build_with(b, s->arr, s->n, s->attrs, s->attrs_len, seq, bytes);
}

static void cat_snapshot_free(void *st, void *snap)
{
	cat_prov_t *p = st;
	cat_snap_t *s = snap;
	if (s) {
		free(s->arr);
		free(s->attrs);
		free(s);
	}
	p->snap_live = false;
	grave_clear(p);
}

static int cat_build_delta(void *st, shm_builder_t *b, uint64_t seq, bool since_snapshot,
			   size_t *bytes)
{
	cat_prov_t *p = st;
	const idset_t *set = since_snapshot ? &p->dnext : &p->dset;
	const catalog_product_t **arr = NULL;
	store_id_t *gone = NULL;
	size_t n = 0, ngone = 0;
	int rc;

	*bytes = 0;
	if (set->n == 0 && !(since_snapshot ? p->types_dnext : p->types_dset))
		return 0; /* unchanged since the base: readers use the base's */
	arr = malloc((set->n ? set->n : 1) * sizeof(*arr));
	gone = malloc((set->n ? set->n : 1) * sizeof(*gone));
	if (!arr || !gone || attrs_encode(p) != 0) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set->cap; i++) {
		if (!set->used[i])
			continue;
		size_t k = table_find(p, &set->ids[i]);
		if (p->slot[k])
			arr[n++] = &p->slot[k]->cp;
		else
			gone[ngone++] = set->ids[i];
	}
	rc = catalog_build_delta_with(b, arr, n, gone, ngone, p->attrs, p->attrs_len, p->served, seq,
				      bytes);
out:
	free(arr);
	free(gone);
	return rc;
}

static void cat_rebased(void *st, bool ok)
{
	cat_prov_t *p = st;
	if (ok) {
		idset_t t = p->dset;
		p->dset = p->dnext;
		p->dnext = t;
		p->types_dset = p->types_dnext;
	}
	idset_clear(&p->dnext);
	p->types_dnext = false;
}

static void cat_weight(const void *st, provider_weight_t *w)
{
	const cat_prov_t *p = st;
	w->items = p->n; /* every figure is kept as the table changes: O(1) per image */
	w->served = p->served;
	w->delta_items = p->dset.n;
	w->heap_bytes = p->heap;
	w->errors = p->render_errors;
}

static void cat_free(void *st)
{
	cat_prov_t *p = st;
	if (!p)
		return;
	table_clear(p);
	grave_clear(p);
	free(p->grave);
	idset_free(&p->dset);
	idset_free(&p->dnext);
	json_decref(p->variants);
	json_decref(p->variant_of);
	json_decref(p->types);
	free(p->attrs);
	free(p);
}

static const char *const cat_kinds[] = {PRODUCT_KIND, VARIANT_KIND, TYPE_KIND, NULL};

const provider_ops_t catalog_provider_ops = {
	.name = "catalog",
	.prefix = "cat.",
	.kinds = cat_kinds,
	.load = cat_load,
	.apply = cat_apply,
	.snapshot = cat_snapshot,
	.build_base = cat_build_base,
	.snapshot_free = cat_snapshot_free,
	.build_delta = cat_build_delta,
	.rebased = cat_rebased,
	.weight = cat_weight,
	.free = cat_free,
};

int catalog_provider_new(const catalog_provider_opts_t *o, provider_t *out)
{
	cat_prov_t *p;
	if (!out)
		return SOUK_EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return SOUK_ENOMEM;
	snprintf(p->default_locale, sizeof(p->default_locale), "%s",
		 o && o->default_locale && *o->default_locale ? o->default_locale
							      : CATALOG_DEFAULT_LOCALE);
	p->ctl = o ? o->ctl : NULL;
	p->rl = (log_ratelimit_t)LOG_RATELIMIT_INIT(60, 10);
	p->variants = json_object();
	p->variant_of = json_object();
	p->types = json_object();
	if (!p->variants || !p->variant_of || !p->types) {
		json_decref(p->variants);
		json_decref(p->variant_of);
		json_decref(p->types);
		free(p);
		return SOUK_ENOMEM;
	}
	out->ops = &catalog_provider_ops;
	out->st = p;
	return 0;
}
