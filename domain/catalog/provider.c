/* SPDX-License-Identifier: Apache-2.0 */
#include "domain/catalog/provider.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "domain/catalog/render.h"
#include "domain/catalog/sections.h"

#define PRODUCT_KIND "product"

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
	int rc = render_product(rec, p->default_locale, &r);
	if (rc == SOUK_ENOMEM)
		return rc;
	if (rc) {
		char hex[33];
		uint32_t suppressed = 0;
		bool kept = p->cap && p->slot[table_find(p, &rec->id)];
		p->render_errors++;
		if (p->ctl)
			shm_ctl_count_render_failures(p->ctl, 1);
		store_id_hex(&rec->id, hex);
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

static int cat_load(void *st, store_read_t *rt)
{
	cat_prov_t *p = st;
	int rc = p->cap ? 0 : table_grow(p);
	return rc ? rc : store_read_scan(rt, PRODUCT_KIND, scan_cb, p);
}

static int cat_apply(void *st, store_read_t *rt, const char *kind, const store_id_t *id)
{
	cat_prov_t *p = st;
	store_rec_t rec;
	int rc;

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
	if (!s)
		return SOUK_ENOMEM;
	s->arr = malloc((p->n ? p->n : 1) * sizeof(*s->arr));
	if (!s->arr) {
		free(s);
		return SOUK_ENOMEM;
	}
	for (size_t i = 0; i < p->cap; i++)
		if (p->slot[i])
			s->arr[s->n++] = &p->slot[i]->cp;
	idset_clear(&p->dnext);
	p->snap_live = true;
	*out = s;
	return 0;
}

static int cat_build_base(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes)
{
	const cat_snap_t *s = snap;
	return catalog_build(b, s->arr, s->n, seq, bytes);
}

static void cat_snapshot_free(void *st, void *snap)
{
	cat_prov_t *p = st;
	cat_snap_t *s = snap;
	if (s) {
		free(s->arr);
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
	if (set->n == 0)
		return 0; /* unchanged since the base: readers use the base's */
	arr = malloc(set->n * sizeof(*arr));
	gone = malloc(set->n * sizeof(*gone));
	if (!arr || !gone) {
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
	rc = catalog_build_delta(b, arr, n, gone, ngone, p->served, seq, bytes);
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
	}
	idset_clear(&p->dnext);
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
	free(p);
}

static const char *const cat_kinds[] = {PRODUCT_KIND, NULL};

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
	out->ops = &catalog_provider_ops;
	out->st = p;
	return 0;
}
