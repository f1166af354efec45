/* SPDX-License-Identifier: Apache-2.0 */
/*
 * domain/catalog/sections.c - the product catalog sections of an image.
 *
 * Layout (all integers native-endian, every structure 8-aligned, offsets
 * relative to the start of their section):
 *
 *   "cat.meta"  struct cat_meta
 *   "cat.rec"   records, one per product, in (category, id) order:
 *               struct cat_rec, nloc x struct cat_loc, nlist x
 *               catalog_listing_t, nprice x catalog_price_t, nattr x
 *               uint64 value hashes (sorted), nnum x catalog_num_t
 *               (sorted), nvar x struct cat_var, nvprice x
 *               catalog_price_t (the variants' own prices, each
 *               variant's [price_first, + nprice)), sku bytes,
 *               category bytes, then each
 *               locale's JSON followed by a NUL; padded to 8.
 *   "cat.id"    shm_hidx: 16-byte id -> record offset (tombstones included,
 *               so that a cursor naming an archived product still resolves)
 *   "cat.sku"   shm_hidx: sku bytes -> record offset (served products only)
 *   "cat.order" uint64 record offsets sorted by (category, id)
 *   "cat.attr"  struct cat_attr_head, ncode x struct cat_attr_code sorted by
 *               (hash, code), ntype x struct cat_attr_type: each code's
 *               [first, first + count) sorted by type hash. Every image
 *               (base or delta) holds all of it: it is small, and a delta's
 *               replaces its base's.
 *
 * A delta (meta flag CAT_META_DELTA) has the same sections over the changed
 * products only; its "gone" tombstones (CAT_REC_GONE, no sku, no category,
 * no renderings) follow the other records, are in "cat.id" and not in
 * "cat.order" (meta.norder counts the order entries, meta.nrec all
 * records). Its meta.count is what base + delta serve together.
 *
 * Readers trust nothing: each offset and length read from the image is
 * checked against the section it points into before use.
 */
#include "domain/catalog/sections.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/locale.h"
#include "common/log.h"
#include "common/money.h"
#include "common/util.h"

#define CAT_META_MAGIC	   0x4d544143u /* "CATM" */
#define CAT_REC_MAGIC	   0x52544143u /* "CATR" */
#define CAT_FORMAT_VERSION 5u /* 5: attribute values, "cat.attr", variants */
#define CAT_REC_ARCHIVED   0x1u
#define CAT_REC_GONE	   0x2u /* delta: the product left the catalog */
#define CAT_REC_LISTINGS   0x4u /* served only in the channels it lists */
#define CAT_META_DELTA	   0x1u
#define CAT_REC_MAX	   CATALOG_REC_MAX

struct cat_meta {
	uint32_t magic;
	uint32_t version;
	uint64_t count; /* served products */
	uint64_t nrec;	/* records, tombstones included */
	uint64_t seq;	/* change-log sequence included */
	uint64_t built_ms;
	uint64_t norder; /* entries in "cat.order" */
	uint32_t flags;	 /* CAT_META_DELTA */
	uint32_t pad;
};

struct cat_rec {
	uint32_t magic;
	uint32_t size; /* whole record, padding included */
	uint8_t id[16];
	uint64_t version;
	uint64_t seq;
	uint16_t flags;
	uint16_t nloc;
	uint16_t default_loc;
	uint16_t sku_len;
	uint16_t category_len;
	uint16_t nlist; /* catalog_listing_t after the cat_loc entries */
	uint16_t nprice; /* catalog_price_t after them */
	uint16_t pad;
	int64_t stock;
	uint32_t nattr; /* uint64 value hashes after the prices */
	uint32_t nnum;	/* catalog_num_t after them */
	uint64_t type_hash;
	uint32_t nvar;	 /* struct cat_var after them */
	uint32_t nvprice; /* catalog_price_t after them */
};

struct cat_var {
	uint32_t end; /* its closing '}' from its rendering's var_at */
	uint16_t sku_len;
	uint16_t nprice;
	uint32_t price_first;
	uint32_t pad;
	char sku[CATALOG_VAR_SKU_MAX];
};

#define CAT_ATTR_MAGIC 0x41544143u /* "CATA" */
struct cat_attr_head {
	uint32_t magic;
	uint32_t ncode;
	uint32_t ntype;
	uint32_t pad;
};

struct cat_attr_code {
	uint64_t hash;
	uint32_t first; /* its cat_attr_type entries */
	uint32_t count;
	uint32_t kinds; /* 1 << kind for each */
	uint16_t code_len;
	uint16_t pad;
	char code[CATALOG_ATTR_CODE_MAX];
};

struct cat_attr_type {
	uint64_t type_hash;
	uint32_t kind;
	uint32_t pad;
};

struct cat_loc {
	char locale[CATALOG_LOCALE_MAX];
	uint32_t off; /* from the record start */
	uint32_t len; /* without the trailing NUL */
	uint32_t var_at; /* with variants: the '[' of "variants" in the JSON */
	uint32_t pad;
};

const char *const catalog_section_names[CATALOG_NSECTIONS] = {
    "cat.meta", "cat.rec", "cat.id", "cat.sku", "cat.order", "cat.attr",
};

enum { SEC_META, SEC_REC, SEC_ID, SEC_SKU, SEC_ORDER, SEC_ATTR };

static size_t align8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

/* ---- building ------------------------------------------------------------ */

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int product_order_cmp(const void *pa, const void *pb)
{
	const catalog_product_t *a = *(const catalog_product_t *const *)pa;
	const catalog_product_t *b = *(const catalog_product_t *const *)pb;
	int c = key_cmp(a->category, a->category_len, b->category, b->category_len);
	return c ? c : memcmp(a->id.b, b->id.b, 16);
}

/* Sorting by (category, id) without chasing pointers in every comparison:
 * each distinct category gets its rank once, then compact (rank, id) keys
 * are sorted. With a million products the plain pointer sort spent most of
 * its time on cache misses (two products and two category strings per
 * comparison). */
typedef struct {
	uint32_t rank;
	uint8_t id[16];
	const catalog_product_t *p;
} order_key_t;

static int order_key_cmp(const void *pa, const void *pb)
{
	const order_key_t *a = pa, *b = pb;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return memcmp(a->id, b->id, 16);
}

/* qsort_r: distinct-category indexes by the name of their first product */
static int category_cmp(const void *pa, const void *pb, void *arg)
{
	const catalog_product_t *const *first = arg;
	const catalog_product_t *a = first[*(const uint32_t *)pa];
	const catalog_product_t *b = first[*(const uint32_t *)pb];
	return key_cmp(a->category, a->category_len, b->category, b->category_len);
}

static int sort_by_order(const catalog_product_t **arr, size_t n)
{
	size_t cap = 16, m = 0;
	while (cap < 2 * n)
		cap <<= 1;
	uint32_t *slot = malloc(cap * sizeof(*slot)); /* distinct index + 1, 0 = free */
	const catalog_product_t **first = malloc(n * sizeof(*first)); /* one per category */
	uint32_t *cat_of = malloc(n * sizeof(*cat_of)); /* product -> distinct index */
	uint32_t *rank = malloc(n * sizeof(*rank));	/* distinct index -> rank */
	order_key_t *keys = malloc(n * sizeof(*keys));
	int rc = SOUK_ENOMEM;
	if (!slot || !first || !cat_of || !rank || !keys)
		goto out;
	memset(slot, 0, cap * sizeof(*slot));
	for (size_t i = 0; i < n; i++) {
		const catalog_product_t *p = arr[i];
		size_t h = (size_t)shm_hash64(p->category, p->category_len, 0) & (cap - 1);
		for (;;) {
			if (slot[h] == 0) {
				first[m] = p;
				slot[h] = (uint32_t)++m;
				break;
			}
			const catalog_product_t *q = first[slot[h] - 1];
			if (key_cmp(q->category, q->category_len, p->category, p->category_len) ==
			    0)
				break;
			h = (h + 1) & (cap - 1);
		}
		cat_of[i] = slot[h] - 1;
	}
	/* rank the distinct categories: their indexes sorted by name (the
	 * slot table is done with and holds them) */
	for (uint32_t d = 0; d < m; d++)
		slot[d] = d;
	qsort_r(slot, m, sizeof(*slot), category_cmp, first);
	for (uint32_t r = 0; r < m; r++)
		rank[slot[r]] = r;
	for (size_t i = 0; i < n; i++) {
		keys[i].rank = rank[cat_of[i]];
		memcpy(keys[i].id, arr[i]->id.b, 16);
		keys[i].p = arr[i];
	}
	qsort(keys, n, sizeof(*keys), order_key_cmp);
	for (size_t i = 0; i < n; i++)
		arr[i] = keys[i].p;
	rc = 0;
out:
	free(slot);
	free(first);
	free(cat_of);
	free(rank);
	free(keys);
	return rc;
}

static int product_check(const catalog_product_t *p, size_t *rec_size)
{
	size_t sz = sizeof(struct cat_rec);
	if (p->sku_len > CATALOG_KEY_MAX || p->category_len > CATALOG_KEY_MAX)
		return SOUK_EINVAL;
	if ((p->sku_len && !p->sku) || (p->category_len && !p->category))
		return SOUK_EINVAL;
	if (p->archived) {
		sz += p->sku_len + p->category_len;
	} else {
		if (p->nloc == 0 || p->nloc > CATALOG_LOCALES_MAX || p->default_loc >= p->nloc ||
		    !p->locs)
			return SOUK_EINVAL;
		if (p->nlistings > CATALOG_LISTINGS_MAX || (p->nlistings && !p->listings))
			return SOUK_EINVAL;
		for (uint32_t i = 0; i < p->nlistings; i++)
			if (memchr(p->listings[i].channel, '\0', CATALOG_CHANNEL_MAX) == NULL)
				return SOUK_EINVAL;
		if (p->nprices > CATALOG_PRICES_MAX || (p->nprices && !p->prices))
			return SOUK_EINVAL;
		if ((p->nattr_vals && !p->attr_vals) || (p->nattr_nums && !p->attr_nums))
			return SOUK_EINVAL;
		if (p->nvars > CATALOG_VARIANTS_MAX || (p->nvars && !p->vars))
			return SOUK_EINVAL;
		for (uint32_t i = 0; i < p->nvars; i++) {
			const catalog_var_t *v = &p->vars[i];
			if (!v->sku || v->sku_len == 0 || v->sku_len > CATALOG_VAR_SKU_MAX ||
			    v->nprices > CATALOG_PRICES_MAX || (v->nprices && !v->prices))
				return SOUK_EINVAL;
			sz += sizeof(struct cat_var) + (size_t)v->nprices * sizeof(catalog_price_t);
		}
		sz += (size_t)p->nloc * sizeof(struct cat_loc) +
		      (size_t)p->nlistings * sizeof(catalog_listing_t) +
		      (size_t)p->nprices * sizeof(catalog_price_t) +
		      (size_t)p->nattr_vals * sizeof(uint64_t) +
		      (size_t)p->nattr_nums * sizeof(catalog_num_t) + p->sku_len + p->category_len;
		for (uint32_t i = 0; i < p->nloc; i++) {
			if (!p->locs[i].json || p->locs[i].json_len > CAT_REC_MAX)
				return SOUK_EINVAL;
			if (memchr(p->locs[i].locale, '\0', CATALOG_LOCALE_MAX) == NULL)
				return SOUK_EINVAL;
			sz += p->locs[i].json_len + 1;
		}
	}
	sz = align8(sz);
	if (sz > CAT_REC_MAX)
		return SOUK_ETOOBIG;
	*rec_size = sz;
	return 0;
}

static void record_write(uint8_t *dst, const catalog_product_t *p, size_t size)
{
	struct cat_rec h;
	memset(&h, 0, sizeof(h));
	h.magic = CAT_REC_MAGIC;
	h.size = (uint32_t)size;
	memcpy(h.id, p->id.b, 16);
	h.version = p->version;
	h.seq = p->seq;
	h.flags = p->archived ? CAT_REC_ARCHIVED : p->has_listings ? CAT_REC_LISTINGS : 0;
	h.nloc = p->archived ? 0 : (uint16_t)p->nloc;
	h.nlist = p->archived ? 0 : (uint16_t)p->nlistings;
	h.stock = p->stock;
	h.nprice = p->archived ? 0 : (uint16_t)p->nprices;
	h.default_loc = p->archived ? 0 : (uint16_t)p->default_loc;
	h.sku_len = (uint16_t)p->sku_len;
	h.category_len = (uint16_t)p->category_len;
	h.nattr = p->archived ? 0 : p->nattr_vals;
	h.nnum = p->archived ? 0 : p->nattr_nums;
	h.type_hash = p->archived ? 0 : p->type_hash;
	h.nvar = p->archived ? 0 : p->nvars;
	for (uint32_t i = 0; i < h.nvar; i++)
		h.nvprice += p->vars[i].nprices;
	memcpy(dst, &h, sizeof(h));

	size_t pos = sizeof(h) + (size_t)h.nloc * sizeof(struct cat_loc);
	if (h.nlist)
		memcpy(dst + pos, p->listings, h.nlist * sizeof(catalog_listing_t));
	pos += (size_t)h.nlist * sizeof(catalog_listing_t);
	if (h.nprice)
		memcpy(dst + pos, p->prices, h.nprice * sizeof(catalog_price_t));
	pos += (size_t)h.nprice * sizeof(catalog_price_t);
	if (h.nattr)
		memcpy(dst + pos, p->attr_vals, h.nattr * sizeof(uint64_t));
	pos += (size_t)h.nattr * sizeof(uint64_t);
	if (h.nnum)
		memcpy(dst + pos, p->attr_nums, h.nnum * sizeof(catalog_num_t));
	pos += (size_t)h.nnum * sizeof(catalog_num_t);
	size_t vp = pos + (size_t)h.nvar * sizeof(struct cat_var);
	uint32_t first = 0;
	for (uint32_t i = 0; i < h.nvar; i++) {
		const catalog_var_t *v = &p->vars[i];
		struct cat_var cv;
		memset(&cv, 0, sizeof(cv));
		cv.end = v->end;
		cv.sku_len = (uint16_t)v->sku_len;
		cv.nprice = (uint16_t)v->nprices;
		cv.price_first = first;
		memcpy(cv.sku, v->sku, v->sku_len);
		memcpy(dst + pos + i * sizeof(cv), &cv, sizeof(cv));
		if (v->nprices)
			memcpy(dst + vp + (size_t)first * sizeof(catalog_price_t), v->prices,
			       v->nprices * sizeof(catalog_price_t));
		first += v->nprices;
	}
	pos = vp + (size_t)h.nvprice * sizeof(catalog_price_t);
	if (p->sku_len)
		memcpy(dst + pos, p->sku, p->sku_len);
	pos += p->sku_len;
	if (p->category_len)
		memcpy(dst + pos, p->category, p->category_len);
	pos += p->category_len;
	for (uint32_t i = 0; i < h.nloc; i++) {
		struct cat_loc l;
		memset(&l, 0, sizeof(l));
		memcpy(l.locale, p->locs[i].locale, CATALOG_LOCALE_MAX);
		l.off = (uint32_t)pos;
		l.len = (uint32_t)p->locs[i].json_len;
		l.var_at = h.nvar ? p->locs[i].var_at : 0;
		memcpy(dst + sizeof(h) + i * sizeof(l), &l, sizeof(l));
		memcpy(dst + pos, p->locs[i].json, p->locs[i].json_len);
		dst[pos + p->locs[i].json_len] = '\0';
		pos += p->locs[i].json_len + 1;
	}
	/* padding stays zero: buffers come zeroed */
}

/* Where each section goes: either builder reservations or heap buffers. */
typedef int (*section_alloc_fn)(void *arg, int idx, size_t len, void **out);

/* What decides between two claims of one SKU: a product's own over a
 * variant's, then the higher seq. */
typedef struct {
	uint64_t seq;
	uint32_t variant; /* 0: the product's own SKU */
	uint32_t product; /* index in sorted order (for the log) */
} sku_meta_t;

typedef struct {
	const shm_hidx_entry_t *e;
	const sku_meta_t *m;
} sku_sort_t;

static int sku_claim_cmp(const void *pa, const void *pb, void *arg)
{
	const sku_sort_t *t = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	int c = key_cmp(t->e[a].key, t->e[a].key_len, t->e[b].key, t->e[b].key_len);
	if (c)
		return c;
	if ((t->m[a].variant != 0) != (t->m[b].variant != 0))
		return t->m[a].variant ? 1 : -1;
	if (t->m[a].seq != t->m[b].seq)
		return t->m[a].seq > t->m[b].seq ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* The SKU entries with one claim per SKU (sku_claim_cmp's first), the
 * others logged; *n becomes how many are left. */
static int sku_entries_dedup(const catalog_product_t *const *sorted, shm_hidx_entry_t *skus,
			     const sku_meta_t *meta, size_t *n)
{
	uint32_t *ix = malloc((*n ? *n : 1) * sizeof(*ix));
	shm_hidx_entry_t *out = malloc((*n ? *n : 1) * sizeof(*out));
	size_t k = 0;
	if (!ix || !out) {
		free(ix);
		free(out);
		return SOUK_ENOMEM;
	}
	for (size_t i = 0; i < *n; i++)
		ix[i] = (uint32_t)i;
	sku_sort_t t = {skus, meta};
	qsort_r(ix, *n, sizeof(*ix), sku_claim_cmp, &t);
	for (size_t i = 0; i < *n; i++) {
		const shm_hidx_entry_t *e = &skus[ix[i]];
		if (k && key_cmp(e->key, e->key_len, out[k - 1].key, out[k - 1].key_len) == 0) {
			char hex[33];
			store_id_hex(&sorted[meta[ix[i]].product]->id, hex);
			log_shm_warn("catalog, duplicate sku, %s of product '%s' left out of the "
				     "sku index",
				     meta[ix[i]].variant ? "a variant" : "the sku", hex);
			continue;
		}
		out[k++] = *e;
	}
	memcpy(skus, out, k * sizeof(*out));
	*n = k;
	free(ix);
	free(out);
	return 0;
}

typedef struct {
	bool delta;
	const store_id_t *gone;
	size_t ngone;
	uint64_t count;
	const void *attrs; /* "cat.attr" as catalog_attrs_encode made it, or NULL */
	size_t attrs_len;
} build_kind_t;

static int catalog_build_into(const catalog_product_t *const *products, size_t n, uint64_t seq,
			      const build_kind_t *kind, section_alloc_fn alloc, void *arg,
			      size_t *bytes)
{
	const catalog_product_t **sorted = NULL;
	size_t *sizes = NULL;
	uint64_t *offs = NULL;
	shm_hidx_entry_t *ids = NULL, *skus = NULL;
	sku_meta_t *meta = NULL;
	void *sec[CATALOG_NSECTIONS] = {0};
	size_t rec_total = 0, nsku = 0, sku_bytes = 0, served = 0;
	bool in_order = true;
	int rc;

	size_t ngone = kind->ngone, nall = n + ngone;
	if ((n && !products) || (ngone && !kind->gone))
		return SOUK_EINVAL;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	sizes = malloc((n ? n : 1) * sizeof(*sizes));
	offs = malloc((n ? n : 1) * sizeof(*offs));
	ids = malloc((nall ? nall : 1) * sizeof(*ids));
	size_t nkeys = n;
	for (size_t i = 0; i < n; i++)
		nkeys += products[i] && !products[i]->archived ? products[i]->nvars : 0;
	skus = malloc((nkeys ? nkeys : 1) * sizeof(*skus));
	meta = malloc((nkeys ? nkeys : 1) * sizeof(*meta));
	if (!sorted || !sizes || !offs || !ids || !skus || !meta) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	if (n)
		memcpy(sorted, products, n * sizeof(*sorted));
	/* the publisher hands products over in order: sort only when needed */
	for (size_t i = 1; i < n && in_order; i++)
		in_order = product_order_cmp(&sorted[i - 1], &sorted[i]) < 0;
	if (!in_order && (rc = sort_by_order(sorted, n)) != 0)
		goto fail;

	for (size_t i = 0; i < n; i++) {
		if (i && memcmp(sorted[i]->id.b, sorted[i - 1]->id.b, 16) == 0 &&
		    key_cmp(sorted[i]->category, sorted[i]->category_len, sorted[i - 1]->category,
			    sorted[i - 1]->category_len) == 0) {
			rc = SOUK_EINVAL; /* the same product twice */
			goto fail;
		}
		rc = product_check(sorted[i], &sizes[i]);
		if (rc)
			goto fail;
		offs[i] = rec_total;
		rec_total += sizes[i];
		ids[i].key = sorted[i]->id.b;
		ids[i].key_len = 16;
		ids[i].value = offs[i];
		if (!sorted[i]->archived) {
			served++;
			if (sorted[i]->sku_len) {
				skus[nsku].key = sorted[i]->sku;
				skus[nsku].key_len = (uint32_t)sorted[i]->sku_len;
				skus[nsku].value = offs[i];
				meta[nsku] = (sku_meta_t){sorted[i]->seq, 0, (uint32_t)i};
				sku_bytes += sorted[i]->sku_len;
				nsku++;
			}
			/* its variants' SKUs find it too (product_check bounded them) */
			for (uint32_t k = 0; k < sorted[i]->nvars; k++) {
				const catalog_var_t *cv = &sorted[i]->vars[k];
				skus[nsku].key = cv->sku;
				skus[nsku].key_len = (uint32_t)cv->sku_len;
				skus[nsku].value = offs[i];
				meta[nsku] = (sku_meta_t){sorted[i]->seq, k + 1, (uint32_t)i};
				sku_bytes += cv->sku_len;
				nsku++;
			}
		}
	}

	size_t gone_off = rec_total;
	for (size_t i = 0; i < ngone; i++) {
		ids[n + i].key = kind->gone[i].b;
		ids[n + i].key_len = 16;
		ids[n + i].value = rec_total;
		rec_total += sizeof(struct cat_rec);
	}

	size_t len[CATALOG_NSECTIONS] = {
	    sizeof(struct cat_meta),	    rec_total ? rec_total : 8,
	    shm_hidx_size(nall, 16 * nall), shm_hidx_size(nsku, sku_bytes),
	    n ? n * sizeof(uint64_t) : 8,
	    kind->attrs ? align8(kind->attrs_len) : sizeof(struct cat_attr_head),
	};
	if (kind->attrs && kind->attrs_len < sizeof(struct cat_attr_head)) {
		rc = SOUK_EINVAL;
		goto fail;
	}
	if (bytes)
		*bytes = 0;
	for (int i = 0; i < CATALOG_NSECTIONS; i++) {
		rc = alloc(arg, i, len[i], &sec[i]);
		if (rc)
			goto fail;
		if (bytes)
			*bytes += len[i];
	}

	struct cat_meta m;
	memset(&m, 0, sizeof(m));
	m.magic = CAT_META_MAGIC;
	m.version = CAT_FORMAT_VERSION;
	m.count = kind->delta ? kind->count : served;
	m.nrec = nall;
	m.norder = n;
	m.flags = kind->delta ? CAT_META_DELTA : 0;
	m.seq = seq;
	m.built_ms = souk_now_real_ms();
	memcpy(sec[SEC_META], &m, sizeof(m));
	if (kind->attrs) {
		memcpy(sec[SEC_ATTR], kind->attrs, kind->attrs_len);
	} else {
		struct cat_attr_head ah = {.magic = CAT_ATTR_MAGIC};
		memcpy(sec[SEC_ATTR], &ah, sizeof(ah));
	}

	for (size_t i = 0; i < n; i++)
		record_write((uint8_t *)sec[SEC_REC] + offs[i], sorted[i], sizes[i]);
	for (size_t i = 0; i < ngone; i++) {
		struct cat_rec h;
		memset(&h, 0, sizeof(h));
		h.magic = CAT_REC_MAGIC;
		h.size = sizeof(h);
		memcpy(h.id, kind->gone[i].b, 16);
		h.flags = CAT_REC_ARCHIVED | CAT_REC_GONE;
		memcpy((uint8_t *)sec[SEC_REC] + gone_off + i * sizeof(h), &h, sizeof(h));
	}
	if (n)
		memcpy(sec[SEC_ORDER], offs, n * sizeof(uint64_t));
	rc = shm_hidx_build(ids, nall, sec[SEC_ID], len[SEC_ID]);
	if (rc) {
		if (rc == SOUK_EEXIST)
			rc = SOUK_EINVAL; /* the same id twice */
		goto fail;
	}
	rc = shm_hidx_build(skus, nsku, sec[SEC_SKU], len[SEC_SKU]);
	if (rc == SOUK_EEXIST) {
		/* two served products claim one SKU: keep the newer (a smaller
		 * index fits the space reserved) */
		rc = sku_entries_dedup(sorted, skus, meta, &nsku);
		if (rc == 0)
			rc = shm_hidx_build(skus, nsku, sec[SEC_SKU], len[SEC_SKU]);
	}
	if (rc)
		goto fail;
	rc = 0;
fail:
	free(sorted);
	free(sizes);
	free(offs);
	free(ids);
	free(skus);
	free(meta);
	return rc;
}

static int builder_alloc(void *arg, int idx, size_t len, void **out)
{
	return shm_builder_reserve(arg, catalog_section_names[idx], 8, len, out);
}

int catalog_build(shm_builder_t *b, const catalog_product_t *const *products, size_t n,
		  uint64_t seq, size_t *bytes)
{
	return catalog_build_with(b, products, n, NULL, 0, seq, bytes);
}

int catalog_build_with(shm_builder_t *b, const catalog_product_t *const *products, size_t n,
		       const void *attrs, size_t attrs_len, uint64_t seq, size_t *bytes)
{
	build_kind_t k = {.delta = false, .attrs = attrs, .attrs_len = attrs_len};
	if (!b)
		return SOUK_EINVAL;
	return catalog_build_into(products, n, seq, &k, builder_alloc, b, bytes);
}

int catalog_build_delta_with(shm_builder_t *b, const catalog_product_t *const *changed, size_t n,
			     const store_id_t *gone, size_t ngone, const void *attrs,
			     size_t attrs_len, uint64_t count, uint64_t seq, size_t *bytes)
{
	build_kind_t k = {.delta = true,
			  .gone = gone,
			  .ngone = ngone,
			  .count = count,
			  .attrs = attrs,
			  .attrs_len = attrs_len};
	if (!b)
		return SOUK_EINVAL;
	return catalog_build_into(changed, n, seq, &k, builder_alloc, b, bytes);
}

int catalog_build_delta(shm_builder_t *b, const catalog_product_t *const *changed, size_t n,
			const store_id_t *gone, size_t ngone, uint64_t count, uint64_t seq,
			size_t *bytes)
{
	return catalog_build_delta_with(b, changed, n, gone, ngone, NULL, 0, count, seq, bytes);
}

struct mem_alloc {
	void **sec;
	size_t *len;
};

static int mem_alloc(void *arg, int idx, size_t len, void **out)
{
	struct mem_alloc *m = arg;
	m->sec[idx] = calloc(1, len);
	if (!m->sec[idx])
		return SOUK_ENOMEM;
	m->len[idx] = len;
	*out = m->sec[idx];
	return 0;
}

static int build_mem(const catalog_product_t *const *products, size_t n, uint64_t seq,
		     const build_kind_t *k, void *sec[CATALOG_NSECTIONS],
		     size_t len[CATALOG_NSECTIONS])
{
	struct mem_alloc m = {sec, len};
	for (int i = 0; i < CATALOG_NSECTIONS; i++) {
		sec[i] = NULL;
		len[i] = 0;
	}
	int rc = catalog_build_into(products, n, seq, k, mem_alloc, &m, NULL);
	if (rc) {
		for (int i = 0; i < CATALOG_NSECTIONS; i++) {
			souk_free(&sec[i]);
			len[i] = 0;
		}
	}
	return rc;
}

int catalog_build_mem(const catalog_product_t *const *products, size_t n, uint64_t seq,
		      void *sec[CATALOG_NSECTIONS], size_t len[CATALOG_NSECTIONS])
{
	return catalog_build_mem_with(products, n, NULL, 0, seq, sec, len);
}

int catalog_build_mem_with(const catalog_product_t *const *products, size_t n,
			   const void *attrs, size_t attrs_len, uint64_t seq,
			   void *sec[CATALOG_NSECTIONS], size_t len[CATALOG_NSECTIONS])
{
	build_kind_t k = {.delta = false, .attrs = attrs, .attrs_len = attrs_len};
	return build_mem(products, n, seq, &k, sec, len);
}

int catalog_build_delta_mem(const catalog_product_t *const *changed, size_t n,
			    const store_id_t *gone, size_t ngone, uint64_t count, uint64_t seq,
			    void *sec[CATALOG_NSECTIONS], size_t len[CATALOG_NSECTIONS])
{
	build_kind_t k = {.delta = true, .gone = gone, .ngone = ngone, .count = count};
	return build_mem(changed, n, seq, &k, sec, len);
}

/* ---- reading ------------------------------------------------------------- */

static int part_bind(catalog_part_t *p, struct cat_meta *m)
{
	const void *ptr[CATALOG_NSECTIONS] = {p->meta, p->rec, p->id_idx, p->sku_idx, p->order,
					      p->attr};

	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		if (!ptr[i] || ((uintptr_t)ptr[i] & 7u))
			return SOUK_ECORRUPT;
	if (p->meta_len < sizeof(*m))
		return SOUK_ECORRUPT;
	memcpy(m, p->meta, sizeof(*m));
	if (m->magic != CAT_META_MAGIC)
		return SOUK_ECORRUPT;
	if (m->version != CAT_FORMAT_VERSION)
		return SOUK_EVERSION;
	if ((m->flags & ~CAT_META_DELTA) != 0 || m->norder > m->nrec ||
	    m->norder > p->order_len / sizeof(uint64_t) ||
	    (!(m->flags & CAT_META_DELTA) && (m->count > m->nrec || m->norder != m->nrec)))
		return SOUK_ECORRUPT;
	p->order_len = m->norder * sizeof(uint64_t);
	p->delta = (m->flags & CAT_META_DELTA) != 0;
	/* the filterable attributes: a header whose tables fit the section */
	struct cat_attr_head ah;
	if (p->attr_len < sizeof(ah))
		return SOUK_ECORRUPT;
	memcpy(&ah, p->attr, sizeof(ah));
	if (ah.magic != CAT_ATTR_MAGIC || ah.ncode > (1u << 20) || ah.ntype > (1u << 24) ||
	    sizeof(ah) + (size_t)ah.ncode * sizeof(struct cat_attr_code) +
		    (size_t)ah.ntype * sizeof(struct cat_attr_type) >
		p->attr_len)
		return SOUK_ECORRUPT;
	return 0;
}

/* Bind top (and base when given) and fill the view's figures. */
static int view_bind(catalog_view_t *v)
{
	struct cat_meta m, bm;
	int rc = part_bind(&v->top, &m);
	if (rc)
		return rc;
	if (v->has_base) {
		rc = part_bind(&v->base, &bm);
		if (rc)
			return rc;
		if (!v->top.delta || v->base.delta)
			return SOUK_ECORRUPT;
	} else if (v->top.delta) {
		return SOUK_ECORRUPT; /* a delta catalog needs its base */
	}
	v->count = m.count;
	v->seq = m.seq;
	return 0;
}

/* The image's own "cat.*" sections into p: 0 with all six, SOUK_ENOENT
 * with none, SOUK_ECORRUPT with some (a provider writes all or none). */
static int part_from_image(const shm_image_t *img, catalog_part_t *p)
{
	const void **ptr[CATALOG_NSECTIONS] = {&p->meta,    &p->rec,   &p->id_idx,
					       &p->sku_idx, &p->order, &p->attr};
	size_t *len[CATALOG_NSECTIONS] = {&p->meta_len,	   &p->rec_len,	  &p->id_idx_len,
					  &p->sku_idx_len, &p->order_len, &p->attr_len};
	int found = 0;
	for (int i = 0; i < CATALOG_NSECTIONS; i++) {
		int rc = shm_image_section_own(img, catalog_section_names[i], ptr[i], len[i]);
		if (rc == 0)
			found++;
		else if (rc != SOUK_ENOENT)
			return rc;
	}
	return found == CATALOG_NSECTIONS ? 0 : found == 0 ? SOUK_ENOENT : SOUK_ECORRUPT;
}

int catalog_view_init(const shm_image_t *img, catalog_view_t *out)
{
	const shm_image_t *base;
	catalog_view_t v;
	int rc;

	if (!img || !out)
		return SOUK_EINVAL;
	memset(&v, 0, sizeof(v));
	v.img = img;
	base = shm_image_base(img);
	rc = part_from_image(img, &v.top);
	if (rc == SOUK_ENOENT && base) {
		/* a delta over which the catalog did not change: the base's
		 * catalog alone, as of the delta's sequence */
		rc = part_from_image(base, &v.top);
		if (rc)
			return rc == SOUK_ENOENT ? SOUK_ECORRUPT : rc;
		rc = view_bind(&v);
		if (rc)
			return rc;
		if (shm_image_seq(img) > v.seq)
			v.seq = shm_image_seq(img);
		*out = v;
		return 0;
	}
	if (rc)
		return rc;
	if (base) {
		rc = part_from_image(base, &v.base);
		if (rc)
			return rc == SOUK_ENOENT ? SOUK_ECORRUPT : rc;
		v.has_base = true;
	}
	rc = view_bind(&v);
	if (rc)
		return rc;
	/* sections copied from the previous image (the catalog did not change
	 * since, another provider's did) are as of the image's sequence */
	if (shm_image_seq(img) > v.seq)
		v.seq = shm_image_seq(img);
	*out = v;
	return 0;
}

static int catalog_view_bind(const shm_image_t *img, void *view)
{
	return catalog_view_init(img, view);
}

const shm_view_def_t catalog_view_def = {"catalog", sizeof(catalog_view_t), catalog_view_bind};

static void part_from_mem(void *const sec[CATALOG_NSECTIONS], const size_t len[CATALOG_NSECTIONS],
			  catalog_part_t *p)
{
	p->meta = sec[SEC_META];
	p->meta_len = len[SEC_META];
	p->rec = sec[SEC_REC];
	p->rec_len = len[SEC_REC];
	p->id_idx = sec[SEC_ID];
	p->id_idx_len = len[SEC_ID];
	p->sku_idx = sec[SEC_SKU];
	p->sku_idx_len = len[SEC_SKU];
	p->order = sec[SEC_ORDER];
	p->order_len = len[SEC_ORDER];
	p->attr = sec[SEC_ATTR];
	p->attr_len = len[SEC_ATTR];
}

int catalog_view_init_mem(void *const sec[CATALOG_NSECTIONS], const size_t len[CATALOG_NSECTIONS],
			  catalog_view_t *out)
{
	catalog_view_t v;
	int rc;
	if (!sec || !len || !out)
		return SOUK_EINVAL;
	memset(&v, 0, sizeof(v));
	part_from_mem(sec, len, &v.top);
	rc = view_bind(&v);
	if (rc)
		return rc;
	*out = v;
	return 0;
}

int catalog_view_init_mem_delta(void *const base_sec[CATALOG_NSECTIONS],
				const size_t base_len[CATALOG_NSECTIONS],
				void *const delta_sec[CATALOG_NSECTIONS],
				const size_t delta_len[CATALOG_NSECTIONS], catalog_view_t *out)
{
	catalog_view_t v;
	int rc;
	if (!base_sec || !base_len || !delta_sec || !delta_len || !out)
		return SOUK_EINVAL;
	memset(&v, 0, sizeof(v));
	part_from_mem(delta_sec, delta_len, &v.top);
	part_from_mem(base_sec, base_len, &v.base);
	v.has_base = true;
	rc = view_bind(&v);
	if (rc)
		return rc;
	*out = v;
	return 0;
}

/* A record checked to lie inside "cat.rec" with consistent inner lengths. */
typedef struct {
	const uint8_t *base;
	struct cat_rec h;
	const uint8_t *lists; /* h.nlist catalog_listing_t, maybe unaligned */
	const uint8_t *prices; /* h.nprice catalog_price_t */
	const uint8_t *attrs;  /* h.nattr uint64_t */
	const uint8_t *nums;   /* h.nnum catalog_num_t */
	const uint8_t *vars;   /* h.nvar struct cat_var */
	const uint8_t *vprices; /* h.nvprice catalog_price_t */
	const char *sku, *category;
} rec_ref_t;

static int rec_at(const catalog_part_t *v, uint64_t off, rec_ref_t *r)
{
	if (!v->rec || (off & 7u) || off > v->rec_len || v->rec_len - off < sizeof(struct cat_rec))
		return SOUK_ECORRUPT;
	r->base = (const uint8_t *)v->rec + off;
	memcpy(&r->h, r->base, sizeof(r->h));
	if (r->h.magic != CAT_REC_MAGIC || r->h.size > v->rec_len - off)
		return SOUK_ECORRUPT;
	size_t lists = (size_t)r->h.nlist * sizeof(catalog_listing_t);
	size_t prices = (size_t)r->h.nprice * sizeof(catalog_price_t);
	size_t attrs = (size_t)r->h.nattr * sizeof(uint64_t);
	size_t nums = (size_t)r->h.nnum * sizeof(catalog_num_t);
	size_t need = sizeof(struct cat_rec) + (size_t)r->h.nloc * sizeof(struct cat_loc) + lists +
		      prices + r->h.sku_len + r->h.category_len;
	size_t vars = (size_t)r->h.nvar * sizeof(struct cat_var);
	size_t vprices = (size_t)r->h.nvprice * sizeof(catalog_price_t);
	if (attrs > r->h.size || nums > r->h.size || vars > r->h.size || vprices > r->h.size)
		return SOUK_ECORRUPT;
	need += attrs + nums + vars + vprices;
	if (need > r->h.size || (r->h.nloc && r->h.default_loc >= r->h.nloc) ||
	    r->h.nlist > CATALOG_LISTINGS_MAX || r->h.nprice > CATALOG_PRICES_MAX)
		return SOUK_ECORRUPT;
	r->lists = r->base + sizeof(struct cat_rec) + (size_t)r->h.nloc * sizeof(struct cat_loc);
	r->prices = r->lists + lists;
	r->attrs = r->prices + prices;
	r->nums = r->attrs + attrs;
	r->vars = r->nums + nums;
	r->vprices = r->vars + vars;
	r->sku = (const char *)r->vprices + vprices;
	r->category = r->sku + r->h.sku_len;
	return 0;
}

static int rec_loc(const rec_ref_t *r, uint32_t i, struct cat_loc *l)
{
	if (i >= r->h.nloc)
		return SOUK_ECORRUPT;
	memcpy(l, r->base + sizeof(struct cat_rec) + (size_t)i * sizeof(*l), sizeof(*l));
	size_t body = sizeof(struct cat_rec) + (size_t)r->h.nloc * sizeof(*l) +
		      (size_t)r->h.nlist * sizeof(catalog_listing_t) +
		      (size_t)r->h.nprice * sizeof(catalog_price_t) +
		      (size_t)r->h.nattr * sizeof(uint64_t) + (size_t)r->h.nnum * sizeof(catalog_num_t) +
		      (size_t)r->h.nvar * sizeof(struct cat_var) +
		      (size_t)r->h.nvprice * sizeof(catalog_price_t);
	if (l->off < body || l->off > r->h.size || (size_t)r->h.size - l->off < (size_t)l->len + 1)
		return SOUK_ECORRUPT;
	if (r->base[l->off + l->len] != '\0' || memchr(l->locale, '\0', sizeof(l->locale)) == NULL)
		return SOUK_ECORRUPT;
	return 0;
}

static int rec_loc_tag(const void *arg, size_t i, char out[SOUK_LOCALE_MAX])
{
	struct cat_loc l;
	int rc = rec_loc(arg, (uint32_t)i, &l);
	if (rc == 0) {
		size_t n = strnlen(l.locale, SOUK_LOCALE_MAX);
		n = n < SOUK_LOCALE_MAX ? n : 0; /* too long to be asked for */
		memcpy(out, l.locale, n);
		out[n] = '\0';
	}
	return rc;
}

/* Choose the rendering for a priority list of locales ("de,fr"): RFC 4647
 * lookup ("de-CH" -> "de"), else the default. */
static int rec_pick(const rec_ref_t *r, const char *locale, struct cat_loc *out)
{
	size_t found;
	int rc;
	if (r->h.flags & CAT_REC_ARCHIVED)
		return SOUK_ENOENT;
	if (r->h.nloc == 0)
		return SOUK_ECORRUPT;
	if (locale && *locale) {
		rc = souk_locale_lookup(locale, strnlen(locale, 256), r->h.nloc, rec_loc_tag, r,
					&found);
		if (rc == 0)
			return rec_loc(r, (uint32_t)found, out);
		if (rc != SOUK_ENOENT)
			return rc;
	}
	return rec_loc(r, r->h.default_loc, out);
}

/* Is r served in scope's channel now? *listed: in that channel's lists;
 * *purchasable: inside its purchase window there. */
static bool rec_visible(const rec_ref_t *r, const catalog_scope_t *s, bool *listed,
			bool *purchasable)
{
	*listed = *purchasable = true;
	if (!s || !s->channel || !(r->h.flags & CAT_REC_LISTINGS))
		return true;
	for (uint32_t i = 0; i < r->h.nlist; i++) {
		catalog_listing_t l;
		memcpy(&l, r->lists + (size_t)i * sizeof(l), sizeof(l));
		if (strncmp(l.channel, s->channel, CATALOG_CHANNEL_MAX) != 0)
			continue;
		if (!l.published || (l.published_at_ms && s->now_ms < l.published_at_ms))
			return false;
		*listed = l.listed != 0;
		*purchasable = (!l.purchasable_from_ms || s->now_ms >= l.purchasable_from_ms) &&
			       (!l.purchasable_until_ms || s->now_ms < l.purchasable_until_ms);
		return true;
	}
	return false;
}

static int get_rec(const rec_ref_t *r, const catalog_scope_t *scope, const char *locale,
		   catalog_hit_t *out)
{
	struct cat_loc l;
	int rc = rec_pick(r, locale, &l);
	if (rc)
		return rc;
	if (!rec_visible(r, scope, &out->listed, &out->purchasable))
		return SOUK_ENOENT;
	out->json = (const char *)r->base + l.off;
	out->len = l.len;
	out->version = r->h.version;
	out->sku = r->sku;
	out->sku_len = r->h.sku_len;
	out->category = r->category;
	out->category_len = r->h.category_len;
	out->stock = r->h.stock;
	out->prices = r->prices;
	out->nprices = r->h.nprice;
	out->type_hash = r->h.type_hash;
	out->attr_vals = r->attrs;
	out->nattr_vals = r->h.nattr;
	out->attr_nums = r->nums;
	out->nattr_nums = r->h.nnum;
	out->nvars = r->h.nvar;
	out->variant = -1;
	out->vars = r->vars;
	out->vprices = r->vprices;
	out->nvprices = r->h.nvprice;
	out->var_at = l.var_at;
	return 0;
}

int catalog_hit_variant(const catalog_hit_t *h, uint32_t i, catalog_variant_t *out)
{
	struct cat_var cv;
	if (i >= h->nvars)
		return SOUK_ECORRUPT;
	memcpy(&cv, h->vars + (size_t)i * sizeof(cv), sizeof(cv));
	size_t end = (size_t)h->var_at + cv.end;
	if (cv.sku_len == 0 || cv.sku_len > CATALOG_VAR_SKU_MAX || cv.nprice > CATALOG_PRICES_MAX ||
	    cv.price_first > h->nvprices || cv.nprice > h->nvprices - cv.price_first ||
	    end + 1 >= h->len || h->json[end] != '}' || h->json[h->var_at] != '[')
		return SOUK_ECORRUPT;
	out->sku = (const char *)h->vars + (size_t)i * sizeof(cv) + offsetof(struct cat_var, sku);
	out->sku_len = cv.sku_len;
	out->prices = h->vprices + (size_t)cv.price_first * sizeof(catalog_price_t);
	out->nprices = cv.nprice;
	out->end = end;
	return 0;
}

static bool price_in(const uint8_t *prices, uint32_t n, const char *currency, int64_t *amount)
{
	for (uint32_t i = 0; i < n; i++) {
		catalog_price_t p;
		memcpy(&p, prices + (size_t)i * sizeof(p), sizeof(p));
		if (memcmp(p.currency, currency, 3) == 0 && p.currency[3] == '\0') {
			*amount = p.amount;
			return true;
		}
	}
	return false;
}

bool catalog_variant_price(const catalog_variant_t *v, const char *currency, int64_t *amount)
{
	return price_in(v->prices, v->nprices, currency, amount);
}

bool catalog_hit_price(const catalog_hit_t *h, const char *currency, int64_t *amount)
{
	return price_in(h->prices, h->nprices, currency, amount);
}

/* The plain reads: every served product, no channel. */
static int get_plain(int rc, const catalog_hit_t *h, const char **json, size_t *len,
		     uint64_t *version)
{
	if (rc)
		return rc;
	if (json)
		*json = h->json;
	if (len)
		*len = h->len;
	if (version)
		*version = h->version;
	return 0;
}

/* The record of id in one part: 0, SOUK_ENOENT, SOUK_ECORRUPT. */
static int part_find_id(const catalog_part_t *p, const uint8_t id[16], rec_ref_t *r)
{
	uint64_t off;
	int rc = shm_hidx_lookup(p->id_idx, p->id_idx_len, id, 16, &off);
	if (rc)
		return rc;
	rc = rec_at(p, off, r);
	if (rc)
		return rc;
	return memcmp(r->h.id, id, 16) == 0 ? 0 : SOUK_ECORRUPT;
}

/* The current record of id: the delta's when it has one, else the base's. */
static int view_find_id(const catalog_view_t *v, const uint8_t id[16], rec_ref_t *r)
{
	int rc = part_find_id(&v->top, id, r);
	if (rc != SOUK_ENOENT || !v->has_base)
		return rc;
	return part_find_id(&v->base, id, r);
}

/* Does the delta hold id (so the base's record of it is stale)? */
static int overridden(const catalog_view_t *v, const uint8_t id[16])
{
	uint64_t off;
	int rc;
	if (!v->has_base)
		return 0;
	rc = shm_hidx_lookup(v->top.id_idx, v->top.id_idx_len, id, 16, &off);
	return rc == 0 ? 1 : rc == SOUK_ENOENT ? 0 : rc;
}

int catalog_get_in(const catalog_view_t *v, const catalog_scope_t *scope, const store_id_t *id,
		   const char *locale, catalog_hit_t *out)
{
	rec_ref_t r;
	int rc;
	if (!v || !id)
		return SOUK_EINVAL;
	rc = view_find_id(v, id->b, &r);
	if (rc)
		return rc;
	return get_rec(&r, scope, locale, out);
}

int catalog_get(const catalog_view_t *v, const store_id_t *id, const char *locale,
		const char **json, size_t *len, uint64_t *version)
{
	catalog_hit_t h;
	return get_plain(catalog_get_in(v, NULL, id, locale, &h), &h, json, len, version);
}

/* The record whose own SKU or one of whose variants' is sku: *variant -1
 * for its own, else the variant's index. */
static int part_find_sku(const catalog_part_t *p, const char *sku, size_t sku_len, rec_ref_t *r,
			 int32_t *variant)
{
	uint64_t off;
	int rc = shm_hidx_lookup(p->sku_idx, p->sku_idx_len, sku, (uint32_t)sku_len, &off);
	if (rc)
		return rc;
	rc = rec_at(p, off, r);
	if (rc)
		return rc;
	*variant = -1;
	if (r->h.sku_len == sku_len && memcmp(r->sku, sku, sku_len) == 0)
		return 0;
	for (uint32_t i = 0; i < r->h.nvar; i++) {
		struct cat_var cv;
		memcpy(&cv, r->vars + (size_t)i * sizeof(cv), sizeof(cv));
		if (cv.sku_len == sku_len && memcmp(cv.sku, sku, sku_len) == 0) {
			*variant = (int32_t)i;
			return 0;
		}
	}
	return SOUK_ECORRUPT;
}

int catalog_get_by_sku(const catalog_view_t *v, const char *sku, size_t sku_len, const char *locale,
		       const char **json, size_t *len, uint64_t *version)
{
	catalog_hit_t h;
	return get_plain(catalog_get_by_sku_in(v, NULL, sku, sku_len, locale, &h), &h, json, len,
			 version);
}

int catalog_get_by_sku_in(const catalog_view_t *v, const catalog_scope_t *scope, const char *sku,
			  size_t sku_len, const char *locale, catalog_hit_t *out)
{
	rec_ref_t r;
	int32_t variant = -1;
	int rc;
	if (!v || (!sku && sku_len))
		return SOUK_EINVAL;
	if (sku_len == 0 || sku_len > CATALOG_KEY_MAX)
		return SOUK_ENOENT;
	rc = part_find_sku(&v->top, sku, sku_len, &r, &variant);
	if (rc == SOUK_ENOENT && v->has_base) {
		rc = part_find_sku(&v->base, sku, sku_len, &r, &variant);
		if (rc == 0) {
			/* changed in the delta: its sku there is what counts */
			int o = overridden(v, r.h.id);
			if (o)
				return o > 0 ? SOUK_ENOENT : o;
		}
	}
	if (rc)
		return rc;
	rc = get_rec(&r, scope, locale, out);
	if (rc == 0)
		out->variant = variant;
	return rc;
}

static int order_at(const catalog_part_t *v, uint64_t i, rec_ref_t *r)
{
	uint64_t off;
	if (i >= v->order_len / sizeof(uint64_t))
		return SOUK_ECORRUPT;
	memcpy(&off, (const uint8_t *)v->order + i * sizeof(off), sizeof(off));
	return rec_at(v, off, r);
}

static int rec_cmp_key(const rec_ref_t *r, const char *cat, size_t cat_len, const uint8_t id[16])
{
	int c = key_cmp(r->category, r->h.category_len, cat, cat_len);
	return c ? c : memcmp(r->h.id, id, 16);
}

/* First position whose (category, id) is greater than (after) or not less
 * than (!after) the key. */
static int order_bound(const catalog_part_t *v, const char *cat, size_t cat_len,
		       const uint8_t id[16], bool after, uint64_t *pos)
{
	uint64_t lo = 0, hi = v->order_len / sizeof(uint64_t);
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		rec_ref_t r;
		int rc = order_at(v, mid, &r);
		if (rc)
			return rc;
		int c = rec_cmp_key(&r, cat, cat_len, id);
		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

/* One order list being walked: [pos, hi). */
typedef struct {
	const catalog_part_t *part;
	uint64_t pos, hi;
} walk_t;

/* ---- list cursors ------------------------------------------------------------
 * A cursor is the key (category, id) of the last product a page delivered,
 * base64url without padding over: format byte 1, category length, the 16
 * id bytes, the category padded with zeros to 64 bytes (255 when longer), so
 * every cursor of a validated catalog has one width (110 characters). A
 * list resumes after that key whether or not the product is still there.
 * The older form, the 32 hex id of the product, still resolves through the
 * image (the product's current place). */
#define CURSOR_FORMAT 1u
#define CURSOR_HEAD   18u /* format, length, id */
#define CURSOR_PAD    64u

typedef struct {
	uint8_t id[16];
	char category[CATALOG_KEY_MAX];
	size_t category_len;
} cursor_key_t;

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void cursor_make(const char *cat, size_t cat_len, const uint8_t id[16],
			char out[CATALOG_CURSOR_MAX])
{
	uint8_t raw[CURSOR_HEAD + CATALOG_KEY_MAX];
	size_t n = CURSOR_HEAD + (cat_len <= CURSOR_PAD ? CURSOR_PAD : CATALOG_KEY_MAX), o = 0;
	memset(raw, 0, sizeof(raw));
	raw[0] = CURSOR_FORMAT;
	raw[1] = (uint8_t)cat_len;
	memcpy(raw + 2, id, 16);
	memcpy(raw + CURSOR_HEAD, cat, cat_len);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
			     (i + 2 < n ? raw[i + 2] : 0);
		size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
		for (size_t k = 0; k < chars; k++)
			out[o++] = b64url[(w >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
}

static int b64url_val(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;
	return p ? (int)(p - b64url) : -1;
}

/* SOUK_EINVAL for anything cursor_make does not write. */
static int cursor_decode(const char *s, cursor_key_t *k)
{
	uint8_t raw[CURSOR_HEAD + CATALOG_KEY_MAX];
	size_t len = strlen(s), n = 0;
	size_t small = ((CURSOR_HEAD + CURSOR_PAD) * 4 + 2) / 3;
	size_t large = ((CURSOR_HEAD + CATALOG_KEY_MAX) * 4 + 2) / 3;
	if (len != small && len != large)
		return SOUK_EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t w = 0;
		size_t chars = len - i < 4 ? len - i : 4;
		for (size_t j = 0; j < chars; j++) {
			int d = b64url_val(s[i + j]);
			if (d < 0)
				return SOUK_EINVAL;
			w |= (uint32_t)d << (18 - 6 * j);
		}
		for (size_t j = 0; j + 1 < chars; j++)
			raw[n++] = (uint8_t)(w >> (16 - 8 * j));
	}
	size_t pad = n - CURSOR_HEAD;
	if (raw[0] != CURSOR_FORMAT || raw[1] > pad || (pad == CATALOG_KEY_MAX) != (raw[1] > CURSOR_PAD))
		return SOUK_EINVAL;
	for (size_t i = CURSOR_HEAD + raw[1]; i < n; i++)
		if (raw[i] != 0)
			return SOUK_EINVAL; /* one spelling per key */
	memcpy(k->id, raw + 2, 16);
	k->category_len = raw[1];
	memcpy(k->category, raw + CURSOR_HEAD, raw[1]);
	return 0;
}

/* The key a cursor resumes after: SOUK_EINVAL when malformed, SOUK_ENOENT
 * for an old-form id the image does not hold. */
static int cursor_key(const catalog_view_t *v, const char *cursor, cursor_key_t *k)
{
	store_id_t cid;
	rec_ref_t cr;
	if (strlen(cursor) != 32 || store_id_parse(cursor, &cid) != 0)
		return cursor_decode(cursor, k);
	int rc = view_find_id(v, cid.b, &cr);
	if (rc)
		return rc;
	if (cr.h.flags & CAT_REC_GONE)
		return SOUK_ENOENT; /* no longer in the catalog: no place */
	memcpy(k->id, cid.b, 16);
	k->category_len = cr.h.category_len;
	memcpy(k->category, cr.category, cr.h.category_len);
	return 0;
}

static int walk_init(const catalog_part_t *p, const char *category, size_t cat_len,
		     const cursor_key_t *after, walk_t *w)
{
	static const uint8_t zero[16] = {0};
	static const uint8_t ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint64_t lo = 0;
	int rc;
	w->part = p;
	w->hi = p->order_len / sizeof(uint64_t);
	if (category) {
		rc = order_bound(p, category, cat_len, zero, false, &lo);
		if (rc)
			return rc;
		rc = order_bound(p, category, cat_len, ones, true, &w->hi);
		if (rc)
			return rc;
	}
	w->pos = lo;
	if (after) {
		rc = order_bound(p, after->category, after->category_len, after->id, true, &w->pos);
		if (rc)
			return rc;
		if (w->pos < lo)
			w->pos = lo;
		if (w->pos > w->hi)
			w->pos = w->hi;
	}
	return 0;
}

/* catalog_list's callback over catalog_list_in's */
typedef struct {
	catalog_list_cb cb;
	void *arg;
} list_adapter_t;

static int list_adapt(const catalog_hit_t *h, void *arg)
{
	const list_adapter_t *a = arg;
	return a->cb(h->json, h->len, a->arg);
}

int catalog_list(const catalog_view_t *v, const char *category, const char *cursor, uint32_t limit,
		 const char *locale, catalog_list_cb cb, void *arg,
		 char next_cursor[CATALOG_CURSOR_MAX])
{
	list_adapter_t a = {cb, arg};
	return catalog_list_in(v, NULL, category, cursor, limit, locale, list_adapt, &a,
			       next_cursor);
}

int catalog_list_in(const catalog_view_t *v, const catalog_scope_t *scope, const char *category,
		    const char *cursor, uint32_t limit, const char *locale, catalog_item_cb cb,
		    void *arg, char next_cursor[CATALOG_CURSOR_MAX])
{
	size_t len = category ? strlen(category) : 0;
	return catalog_list_cats(v, scope, &category, &len, 1, cursor, limit, locale, cb, arg,
				 next_cursor);
}

int catalog_list_cats(const catalog_view_t *v, const catalog_scope_t *scope,
		      const char *const *cats, const size_t *cat_lens, size_t ncat,
		      const char *cursor, uint32_t limit, const char *locale, catalog_item_cb cb,
		      void *arg, char next_cursor[CATALOG_CURSOR_MAX])
{
	walk_t top, base;
	rec_ref_t r;
	cursor_key_t ck, *after = NULL;
	int rc;

	if (!v || !cb || !next_cursor || limit == 0 || limit > CATALOG_LIST_MAX || (ncat && !cats))
		return SOUK_EINVAL;
	next_cursor[0] = '\0';
	if (cursor && *cursor) {
		rc = cursor_key(v, cursor, &ck);
		if (rc)
			return rc;
		after = &ck;
	}
	rec_ref_t last;
	bool have_last = false;
	uint32_t n = 0, examined = 0;
	/* each category's run of the (category, id) order in turn: in byte
	 * order of the codes they are one walk of that order, so a cursor
	 * resumes as in a single category's */
	for (size_t ci = 0; ci < ncat; ci++) {
		const char *category = cats[ci];
		size_t cat_len = category ? cat_lens[ci] : 0;
		if (category && cat_len > CATALOG_KEY_MAX)
			continue; /* no such category */
		rc = walk_init(&v->top, category, cat_len, after, &top);
		if (rc)
			return rc;
		if (v->has_base) {
			rc = walk_init(&v->base, category, cat_len, after, &base);
			if (rc)
				return rc;
		} else {
			base.part = NULL;
			base.pos = base.hi = 0;
		}
		for (;;) {
			rec_ref_t rt, rb;
			bool have_t = false, have_b = false;
			if (top.pos < top.hi) {
				rc = order_at(top.part, top.pos, &rt);
				if (rc)
					return rc;
				have_t = true;
			}
			while (base.pos < base.hi) {
				rc = order_at(base.part, base.pos, &rb);
				if (rc)
					return rc;
				int o = overridden(v, rb.h.id);
				if (o < 0)
					return o;
				if (!o) {
					have_b = true;
					break;
				}
				base.pos++; /* stale: the delta has this product */
			}
			if (!have_t && !have_b)
				break;
			if (have_t && (!have_b || rec_cmp_key(&rt, rb.category, rb.h.category_len,
							      rb.h.id) < 0)) {
				r = rt;
				top.pos++;
			} else {
				r = rb;
				base.pos++;
			}
			if (++examined > CATALOG_SCAN_MAX && n < limit && have_last) {
				/* a page's walk is bounded: a filter that matches few
				 * products ends a short page where it stopped */
				cursor_make(last.category, last.h.category_len, last.h.id,
					    next_cursor);
				return 0;
			}
			bool listed, buy;
			if ((r.h.flags & CAT_REC_ARCHIVED) || !rec_visible(&r, scope, &listed, &buy) ||
			    !listed) {
				last = r; /* the next page starts after it all the same */
				have_last = true;
				continue;
			}
			if (n == limit) {
				/* a further served product exists: the list goes on */
				if (have_last)
					cursor_make(last.category, last.h.category_len, last.h.id,
						    next_cursor);
				return 0;
			}
			catalog_hit_t hit;
			rc = get_rec(&r, scope, locale, &hit);
			if (rc)
				return rc;
			rc = cb(&hit, arg);
			if (rc == CATALOG_SKIP) {
				/* filtered out: the next page starts after it all the same */
				last = r;
				have_last = true;
				continue;
			}
			if (rc) {
				if (have_last)
					cursor_make(last.category, last.h.category_len, last.h.id,
						    next_cursor);
				else if (after)
					cursor_make(after->category, after->category_len, after->id,
						    next_cursor);
				return rc;
			}
			last = r;
			have_last = true;
			n++;
		}
	}
	return 0;
}

/* ---- attribute values and filters ------------------------------------------ */

#define HASH_SEED_TYPE	0x65707974u /* "type" */
#define HASH_SEED_CODE	0x72747461u /* "attr" */
#define HASH_SEED_VALUE 0x756c6176ull

static uint64_t nonzero(uint64_t h)
{
	return h ? h : 1;
}

uint64_t catalog_type_hash(const char *code, size_t len)
{
	return nonzero(shm_hash64(code, len, HASH_SEED_TYPE));
}

uint64_t catalog_attr_code_hash(const char *code, size_t len)
{
	return nonzero(shm_hash64(code, len, HASH_SEED_CODE));
}

uint64_t catalog_attr_value_hash(uint64_t code_hash, const char *value, size_t len)
{
	return nonzero(shm_hash64(value, len, code_hash ^ HASH_SEED_VALUE));
}

int catalog_attr_kind(const char *s)
{
	static const char *const names[] = {"text", "number", "bool", "enum", "multi_enum", "date",
					    "reference"};
	for (size_t i = 0; s && i < SOUK_ARRAY_LEN(names); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i + CATALOG_ATTR_TEXT;
	return 0;
}

typedef struct {
	uint64_t hash;
	const catalog_attr_decl_t *d;
} decl_key_t;

static int decl_cmp(const void *pa, const void *pb)
{
	const decl_key_t *a = pa, *b = pb;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	int c = key_cmp(a->d->code, a->d->code_len, b->d->code, b->d->code_len);
	if (c)
		return c;
	if (a->d->type_hash != b->d->type_hash)
		return a->d->type_hash < b->d->type_hash ? -1 : 1;
	return a->d < b->d ? -1 : a->d > b->d; /* the first declaration first */
}

int catalog_attrs_encode(const catalog_attr_decl_t *d, size_t n, void **out, size_t *len)
{
	decl_key_t *k = NULL;
	uint8_t *buf = NULL;
	int rc = SOUK_EINVAL;
	if (!out || !len || (n && !d) || n > (1u << 20))
		return SOUK_EINVAL;
	*out = NULL;
	*len = 0;
	k = malloc((n ? n : 1) * sizeof(*k));
	if (!k)
		return SOUK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!d[i].code || d[i].code_len == 0 || d[i].code_len > CATALOG_ATTR_CODE_MAX ||
		    d[i].kind < CATALOG_ATTR_TEXT || d[i].kind > CATALOG_ATTR_REFERENCE)
			goto out;
		k[i] = (decl_key_t){catalog_attr_code_hash(d[i].code, d[i].code_len), &d[i]};
	}
	if (n > 1)
		qsort(k, n, sizeof(*k), decl_cmp);
	/* distinct codes and (code, type) pairs */
	size_t ncode = 0, ntype = 0;
	for (size_t i = 0; i < n; i++) {
		bool same_code = i && k[i].hash == k[i - 1].hash &&
				 key_cmp(k[i].d->code, k[i].d->code_len, k[i - 1].d->code,
					 k[i - 1].d->code_len) == 0;
		if (!same_code)
			ncode++;
		if (!same_code || k[i].d->type_hash != k[i - 1].d->type_hash)
			ntype++;
	}
	size_t size = sizeof(struct cat_attr_head) + ncode * sizeof(struct cat_attr_code) +
		      ntype * sizeof(struct cat_attr_type);
	buf = calloc(1, align8(size));
	if (!buf) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	struct cat_attr_head h = {.magic = CAT_ATTR_MAGIC,
				  .ncode = (uint32_t)ncode,
				  .ntype = (uint32_t)ntype};
	memcpy(buf, &h, sizeof(h));
	uint8_t *codes = buf + sizeof(h), *types = codes + ncode * sizeof(struct cat_attr_code);
	struct cat_attr_code c;
	size_t ci = 0, ti = 0;
	for (size_t i = 0; i < n; i++) {
		bool same_code = i && k[i].hash == k[i - 1].hash &&
				 key_cmp(k[i].d->code, k[i].d->code_len, k[i - 1].d->code,
					 k[i - 1].d->code_len) == 0;
		if (same_code && k[i].d->type_hash == k[i - 1].d->type_hash)
			continue; /* the first declaration counts */
		if (!same_code) {
			if (i)
				memcpy(codes + ci++ * sizeof(c), &c, sizeof(c));
			memset(&c, 0, sizeof(c));
			c.hash = k[i].hash;
			c.first = (uint32_t)ti;
			c.code_len = (uint16_t)k[i].d->code_len;
			memcpy(c.code, k[i].d->code, k[i].d->code_len);
		}
		struct cat_attr_type t = {.type_hash = k[i].d->type_hash,
					  .kind = (uint32_t)k[i].d->kind};
		memcpy(types + ti++ * sizeof(t), &t, sizeof(t));
		c.count++;
		c.kinds |= 1u << k[i].d->kind;
	}
	if (n)
		memcpy(codes + ci * sizeof(c), &c, sizeof(c));
	*out = buf;
	*len = align8(size);
	buf = NULL;
	rc = 0;
out:
	free(k);
	free(buf);
	return rc;
}

/* The "cat.attr" entry of code in the view (its current one: the top
 * part's), checked against the section: true and *c, else false. */
static bool attr_find(const catalog_view_t *v, const char *code, size_t len, struct cat_attr_code *c,
		      const uint8_t **types)
{
	const catalog_part_t *p = &v->top;
	struct cat_attr_head h;
	if (!p->attr || p->attr_len < sizeof(h) || len == 0 || len > CATALOG_ATTR_CODE_MAX)
		return false;
	memcpy(&h, p->attr, sizeof(h));
	const uint8_t *codes = (const uint8_t *)p->attr + sizeof(h);
	const uint8_t *tt = codes + (size_t)h.ncode * sizeof(*c);
	uint64_t hash = catalog_attr_code_hash(code, len);
	size_t lo = 0, hi = h.ncode; /* part_bind checked that the tables fit */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		memcpy(c, codes + mid * sizeof(*c), sizeof(*c));
		if (c->hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < h.ncode; lo++) {
		memcpy(c, codes + lo * sizeof(*c), sizeof(*c));
		if (c->hash != hash)
			return false;
		if (c->code_len != len || memcmp(c->code, code, len) != 0)
			continue;
		if (c->first > h.ntype || c->count > h.ntype - c->first)
			return false; /* damaged: nothing to filter on */
		*types = tt + (size_t)c->first * sizeof(struct cat_attr_type);
		return true;
	}
	return false;
}

int catalog_num_parse(const char *s, size_t len, int64_t *out)
{
	bool neg = len > 0 && s[0] == '-';
	int64_t v;
	if (neg) {
		s++;
		len--;
	}
	/* digits, at most one '.' with digits on both sides, 4 decimals */
	if (souk_money_parse_exp(s, len, CATALOG_NUM_DECIMALS, &v) != 0)
		return SOUK_EINVAL;
	*out = neg ? -v : v;
	return 0;
}

static bool has_suffix(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);
	return len > n && memcmp(s + len - n, suf, n) == 0;
}

int catalog_filter_add(const catalog_view_t *v, catalog_filters_t *fs, const char *name,
		       size_t name_len, const char *value, size_t value_len, const char **why)
{
	struct cat_attr_code c;
	const uint8_t *types = NULL;
	int which = 0; /* 0 values, 1 _min, 2 _max */
	static const char *const msg_bool = "must be true or false (or both, comma-separated)";
	static const char *const msg_num = "must be numbers of at most 4 decimals (2.5, -10)";
	if (!v || !fs || !why || (!name && name_len) || (!value && value_len))
		return SOUK_EINVAL;
	*why = NULL;
	if (!attr_find(v, name, name_len, &c, &types)) {
		if (has_suffix(name, name_len, "_min"))
			which = 1;
		else if (has_suffix(name, name_len, "_max"))
			which = 2;
		if (!which || !attr_find(v, name, name_len - 4, &c, &types)) {
			*why = "is not an attribute any product type declares filterable";
			return SOUK_EINVAL;
		}
		if (!(c.kinds & (1u << CATALOG_ATTR_NUMBER))) {
			*why = "_min and _max bound number attributes only";
			return SOUK_EINVAL;
		}
	}
	catalog_attr_filter_t *f = NULL;
	for (uint32_t i = 0; i < fs->n && !f; i++)
		if (fs->f[i].code == c.hash && fs->f[i].types == types)
			f = &fs->f[i];
	if (!f) {
		if (fs->n >= CATALOG_FILTERS_MAX) {
			*why = "is one attribute filter too many (at most 8 attributes per list)";
			return SOUK_EINVAL;
		}
		f = &fs->f[fs->n++];
		memset(f, 0, sizeof(*f));
		f->code = c.hash;
		f->types = types;
		f->ntypes = c.count;
		f->kinds = c.kinds;
	}
	if (which) {
		int64_t x;
		if (value_len == 0 || catalog_num_parse(value, value_len, &x) != 0) {
			*why = "must be a number of at most 4 decimals (2.5, -10)";
			return SOUK_EINVAL;
		}
		if (which == 1) {
			f->have_min = true;
			f->min = x;
		} else {
			f->have_max = true;
			f->max = x;
		}
		return 0;
	}
	uint32_t number = 1u << CATALOG_ATTR_NUMBER, boolean = 1u << CATALOG_ATTR_BOOL;
	size_t at = 0;
	do {
		const char *comma = value_len > at ? memchr(value + at, ',', value_len - at) : NULL;
		size_t end = comma ? (size_t)(comma - value) : value_len, n = end - at;
		const char *piece = value ? value + at : "";
		if (n == 0) {
			*why = "has an empty value (values are separated by commas)";
			return SOUK_EINVAL;
		}
		if (f->nvals >= CATALOG_FILTER_VALUES_MAX || f->nnums >= CATALOG_FILTER_VALUES_MAX) {
			*why = "has too many values (at most 16 per attribute)";
			return SOUK_EINVAL;
		}
		int64_t x;
		bool is_num = (f->kinds & number) && catalog_num_parse(piece, n, &x) == 0;
		bool is_bool = (n == 4 && memcmp(piece, "true", 4) == 0) ||
			       (n == 5 && memcmp(piece, "false", 5) == 0);
		if (f->kinds == number && !is_num) {
			*why = msg_num;
			return SOUK_EINVAL;
		}
		if (f->kinds == boolean && !is_bool) {
			*why = msg_bool;
			return SOUK_EINVAL;
		}
		if (is_num)
			f->nums[f->nnums++] = x;
		if (f->kinds & ~number)
			f->vals[f->nvals++] = catalog_attr_value_hash(c.hash, piece, n);
		at = end + 1;
	} while (at <= value_len);
	return 0;
}

/* The kind of the attribute in product type t, 0 when not filterable there. */
static uint32_t filter_kind(const catalog_attr_filter_t *f, uint64_t t)
{
	size_t lo = 0, hi = f->ntypes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct cat_attr_type e;
		memcpy(&e, f->types + mid * sizeof(e), sizeof(e));
		if (e.type_hash == t)
			return e.kind;
		if (e.type_hash < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static bool has_value(const catalog_hit_t *h, uint64_t x)
{
	size_t lo = 0, hi = h->nattr_vals;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t e;
		memcpy(&e, h->attr_vals + mid * sizeof(e), sizeof(e));
		if (e == x)
			return true;
		if (e < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool num_holds(const catalog_attr_filter_t *f, const catalog_hit_t *h)
{
	size_t lo = 0, hi = h->nattr_nums;
	catalog_num_t e;
	if (f->nnums == 0 && !f->have_min && !f->have_max)
		return false; /* only values that are no numbers */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		memcpy(&e, h->attr_nums + mid * sizeof(e), sizeof(e));
		if (e.code < f->code)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < h->nattr_nums; lo++) {
		memcpy(&e, h->attr_nums + lo * sizeof(e), sizeof(e));
		if (e.code != f->code)
			return false;
		if ((f->have_min && e.value < f->min) || (f->have_max && e.value > f->max))
			continue;
		if (f->nnums == 0)
			return true;
		for (uint32_t i = 0; i < f->nnums; i++)
			if (f->nums[i] == e.value)
				return true;
	}
	return false;
}

bool catalog_filters_match(const catalog_filters_t *fs, const catalog_hit_t *h)
{
	for (uint32_t i = 0; fs && i < fs->n; i++) {
		const catalog_attr_filter_t *f = &fs->f[i];
		uint32_t kind = h->type_hash ? filter_kind(f, h->type_hash) : 0;
		if (kind == 0)
			return false; /* its type does not offer the attribute as a filter */
		if (kind == CATALOG_ATTR_NUMBER) {
			if (!num_holds(f, h))
				return false;
			continue;
		}
		if (f->have_min || f->have_max || f->nvals == 0)
			return false; /* a range over what is no number here */
		bool any = false;
		for (uint32_t k = 0; k < f->nvals && !any; k++)
			any = has_value(h, f->vals[k]);
		if (!any)
			return false;
	}
	return true;
}
