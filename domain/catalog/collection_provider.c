/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/collection_provider.c - the collections' section provider
 * (collection_provider.h). */
#include "domain/catalog/collection_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "domain/catalog/category_tree.h"
#include "domain/catalog/collection.h"
#include "domain/catalog/collection_image.h"
#include "shm/shm.h"

#define CP_PRICES_MAX 32

typedef struct {
	char currency[4];
	int64_t amount;
} cp_price_t;

/* What the rules see of a live product, and the collections it is in. */
typedef struct {
	store_id_t id;
	char *category; /* NULL: none */
	json_t *attrs;	/* its "attributes" object (a reference), NULL: none */
	cp_price_t prices[CP_PRICES_MAX];
	uint32_t nprices;
	uint32_t *match; /* indexes into colls of the rule collections it is in */
	uint32_t nmatch, match_cap;
} cp_prod_t;

/* An active collection, compiled: manual ones with their listed ids, rule
 * ones with their rule and sorted members. */
typedef struct {
	const char *code; /* in doc */
	json_t *doc;
	uint32_t kind; /* COL_KIND_* */
	collection_rule_t rule;
	store_id_t *ids;
	size_t n, cap;
} cp_coll_t;

typedef struct {
	json_t *cols;	  /* id hex -> active collection document */
	json_t *cats;	  /* id hex -> active category document */
	cp_coll_t *colls; /* compiled, sorted by code */
	size_t ncolls;
	category_tree_t *tree;
	cp_prod_t **slots; /* open addressing by id (linear probing) */
	size_t cap, count;
	bool facts;   /* products are kept (false until a rule collection needs them) */
	bool stale;   /* collections or categories changed: compile and evaluate all */
	bool changed; /* the section changed since the last published image */
	bool since_base, since_snap;
	uint64_t evaluations, errors;
} cp_t;

typedef struct {
	void *sec;
	size_t len;
} cp_snap_t;

/* ---- products by id ---- */

static size_t slot_of(const cp_t *p, const store_id_t *id)
{
	return (size_t)shm_hash64(id->b, 16, 0) & (p->cap - 1);
}

static cp_prod_t **prod_find(cp_t *p, const store_id_t *id)
{
	if (p->cap == 0)
		return NULL;
	for (size_t i = slot_of(p, id);; i = (i + 1) & (p->cap - 1)) {
		if (!p->slots[i])
			return &p->slots[i];
		if (memcmp(p->slots[i]->id.b, id->b, 16) == 0)
			return &p->slots[i];
	}
}

static int prod_grow(cp_t *p)
{
	size_t cap = p->cap ? p->cap * 2 : 1024;
	cp_prod_t **old = p->slots;
	size_t ocap = p->cap;
	if (!(p->slots = calloc(cap, sizeof(*p->slots)))) {
		p->slots = old;
		return SOUK_ENOMEM;
	}
	p->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			*prod_find(p, &old[i]->id) = old[i];
	free(old);
	return 0;
}

static void prod_free(cp_prod_t *x)
{
	if (!x)
		return;
	free(x->category);
	json_decref(x->attrs);
	free(x->match);
	free(x);
}

/* Remove the product in slot s (backward-shift deletion). */
static void prod_remove(cp_t *p, cp_prod_t **s)
{
	size_t i = (size_t)(s - p->slots), mask = p->cap - 1;
	prod_free(p->slots[i]);
	p->slots[i] = NULL;
	p->count--;
	for (size_t j = (i + 1) & mask; p->slots[j]; j = (j + 1) & mask) {
		size_t home = slot_of(p, &p->slots[j]->id);
		/* j's entry may fill the hole at i when its home is not in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			p->slots[i] = p->slots[j];
			p->slots[j] = NULL;
			i = j;
		}
	}
}

/* ---- membership ---- */

static size_t ids_lower(const cp_coll_t *c, const store_id_t *id)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(c->ids[mid].b, id->b, 16) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for one more member. */
static int ids_room(cp_coll_t *c)
{
	if (c->n < c->cap)
		return 0;
	size_t cap = c->cap ? c->cap * 2 : 64;
	store_id_t *n = realloc(c->ids, cap * sizeof(*n));
	if (!n)
		return SOUK_ENOMEM;
	c->ids = n;
	c->cap = cap;
	return 0;
}

static int ids_insert(cp_coll_t *c, const store_id_t *id)
{
	size_t at = ids_lower(c, id);
	if (at < c->n && memcmp(c->ids[at].b, id->b, 16) == 0)
		return 0;
	if (ids_room(c) != 0)
		return SOUK_ENOMEM;
	memmove(&c->ids[at + 1], &c->ids[at], (c->n - at) * sizeof(*c->ids));
	c->ids[at] = *id;
	c->n++;
	return 0;
}

static void ids_remove(cp_coll_t *c, const store_id_t *id)
{
	size_t at = ids_lower(c, id);
	if (at < c->n && memcmp(c->ids[at].b, id->b, 16) == 0) {
		memmove(&c->ids[at], &c->ids[at + 1], (c->n - at - 1) * sizeof(*c->ids));
		c->n--;
	}
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* The rule collections product x matches now, in index order, into
 * x->match (x->nmatch). */
static int evaluate(cp_t *p, cp_prod_t *x)
{
	collection_facts_t f = {.category_pre = CATEGORY_NONE, .attributes = x->attrs};
	p->evaluations++;
	if (x->category && p->tree) {
		uint32_t c = category_tree_find(p->tree, x->category, strlen(x->category));
		if (c != CATEGORY_NONE)
			f.category_pre = p->tree->nodes[c].pre;
	}
	x->nmatch = 0;
	for (size_t i = 0; i < p->ncolls; i++) {
		const cp_coll_t *c = &p->colls[i];
		if (c->kind != COL_KIND_RULE)
			continue;
		f.currency = NULL;
		f.price = 0;
		for (uint32_t k = 0; k < x->nprices && (c->rule.has_min || c->rule.has_max); k++)
			if (strcmp(x->prices[k].currency, c->rule.currency) == 0) {
				f.currency = x->prices[k].currency;
				f.price = x->prices[k].amount;
			}
		if (!collection_rule_match(&c->rule, &f))
			continue;
		if (x->nmatch == x->match_cap) {
			uint32_t cap = x->match_cap ? x->match_cap * 2 : 4;
			uint32_t *m = realloc(x->match, cap * sizeof(*m));
			if (!m)
				return SOUK_ENOMEM;
			x->match = m;
			x->match_cap = cap;
		}
		x->match[x->nmatch++] = (uint32_t)i;
	}
	return 0;
}

static bool has_match(const uint32_t *m, uint32_t n, uint32_t i)
{
	for (uint32_t k = 0; k < n; k++)
		if (m[k] == i)
			return true;
	return false;
}

static void mark_changed(cp_t *p)
{
	p->changed = p->since_base = p->since_snap = true;
}

/* Product x changed (its facts are new): evaluate it and move it between
 * the collections whose answer changed. old/nold: what it matched. */
static int reevaluate(cp_t *p, cp_prod_t *x, const uint32_t *old, uint32_t nold)
{
	int rc = evaluate(p, x);
	if (rc)
		return rc;
	for (uint32_t k = 0; k < nold; k++)
		if (!has_match(x->match, x->nmatch, old[k])) {
			ids_remove(&p->colls[old[k]], &x->id);
			mark_changed(p);
		}
	for (uint32_t k = 0; k < x->nmatch; k++)
		if (!has_match(old, nold, x->match[k])) {
			if ((rc = ids_insert(&p->colls[x->match[k]], &x->id)) != 0)
				return rc;
			mark_changed(p);
		}
	return 0;
}

/* ---- compiling ---- */

static void colls_free(cp_t *p)
{
	for (size_t i = 0; i < p->ncolls; i++) {
		json_decref(p->colls[i].doc);
		free(p->colls[i].ids);
	}
	free(p->colls);
	p->colls = NULL;
	p->ncolls = 0;
}

static int coll_cmp(const void *a, const void *b)
{
	return strcmp(((const cp_coll_t *)a)->code, ((const cp_coll_t *)b)->code);
}

/* The tree of the active categories; one whose parent is not live is a
 * root, as the category section shows it. NULL tree when none build. */
static int tree_build(cp_t *p)
{
	size_t n = json_object_size(p->cats), k = 0;
	const json_t **docs = calloc(n ? n : 1, sizeof(*docs));
	json_t *codes = json_object(), *copies = json_array(), *d;
	const char *key;
	char why[160] = "";
	int rc = docs && codes && copies ? 0 : SOUK_ENOMEM;
	category_tree_free(&p->tree);
	json_object_foreach(p->cats, key, d)
	{
		const char *c = json_string_value(json_object_get(d, "code"));
		if (rc == 0 && c && json_object_set_new(codes, c, json_true()))
			rc = SOUK_ENOMEM;
	}
	json_object_foreach(p->cats, key, d)
	{
		const char *parent = json_string_value(json_object_get(d, "parent"));
		if (rc == 0 && parent && !json_object_get(codes, parent)) {
			json_t *copy = json_copy(d);
			if (!copy || json_array_append_new(copies, copy)) {
				rc = SOUK_ENOMEM;
				break;
			}
			json_object_del(copy, "parent");
			d = copy;
		}
		docs[k++] = d;
	}
	if (rc == 0 && category_tree_build(docs, k, &p->tree, why, sizeof(why)) != 0) {
		p->errors++;
		log_daemon_warn("publisher, collections: the categories make no tree (%s); rules "
				"naming a category match nothing",
				why);
	}
	free(docs);
	json_decref(codes);
	json_decref(copies);
	return rc;
}

/* A manual collection's listed ids, each once (validation keeps them
 * unique; a stored document from before is taken at its first mention). */
static int manual_ids(cp_coll_t *c)
{
	const json_t *l = json_object_get(c->doc, "products");
	size_t n = json_array_size(l);
	store_id_t *sorted = NULL;
	if (n == 0)
		return 0;
	if (!(c->ids = calloc(n, sizeof(*c->ids))) || !(sorted = calloc(n, sizeof(*sorted)))) {
		free(sorted);
		return SOUK_ENOMEM;
	}
	c->cap = n;
	for (size_t i = 0; i < n; i++) {
		const char *hex = json_string_value(json_array_get(l, i));
		store_id_t id;
		if (!hex || store_id_parse(hex, &id) != 0)
			continue;
		size_t lo = 0, hi = c->n;
		/* sorted holds the ids taken so far, to refuse a repeat */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (memcmp(sorted[mid].b, id.b, 16) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->n && memcmp(sorted[lo].b, id.b, 16) == 0)
			continue;
		memmove(&sorted[lo + 1], &sorted[lo], (c->n - lo) * sizeof(*sorted));
		sorted[lo] = id;
		c->ids[c->n++] = id;
	}
	free(sorted);
	return 0;
}

/* Compile every active collection against the current tree and evaluate
 * every product once. */
static int recompile(cp_t *p)
{
	const char *key;
	json_t *d;
	int rc = tree_build(p);
	colls_free(p);
	if (rc)
		return rc;
	size_t n = json_object_size(p->cols);
	if (n && !(p->colls = calloc(n, sizeof(*p->colls))))
		return SOUK_ENOMEM;
	json_object_foreach(p->cols, key, d)
	{
		cp_coll_t *c = &p->colls[p->ncolls];
		const char *code = json_string_value(json_object_get(d, "code"));
		const char *kind = json_string_value(json_object_get(d, "kind"));
		if (!code || !kind)
			continue;
		c->code = code;
		c->doc = json_incref(d);
		c->kind = strcmp(kind, "rule") == 0 ? COL_KIND_RULE : COL_KIND_MANUAL;
		p->ncolls++;
	}
	if (p->ncolls > 1)
		qsort(p->colls, p->ncolls, sizeof(*p->colls), coll_cmp);
	size_t u = 0; /* codes are unique among live collections; keep one if not */
	for (size_t i = 0; i < p->ncolls; i++) {
		if (u > 0 && strcmp(p->colls[u - 1].code, p->colls[i].code) == 0) {
			json_decref(p->colls[i].doc);
			p->errors++;
			continue;
		}
		p->colls[u++] = p->colls[i];
	}
	p->ncolls = u;
	for (size_t i = 0; i < p->ncolls && rc == 0; i++) {
		cp_coll_t *c = &p->colls[i];
		char why[160];
		if (c->kind == COL_KIND_MANUAL)
			rc = manual_ids(c);
		else if (collection_rule_compile(json_object_get(c->doc, "rule"), p->tree, &c->rule,
						 why, sizeof(why)) != 0)
			log_daemon_info("publisher, collection '%s' matches nothing (%s)", c->code,
					why);
	}
	for (size_t i = 0; i < p->cap && rc == 0; i++) {
		cp_prod_t *x = p->slots[i];
		if (!x || (rc = evaluate(p, x)) != 0)
			continue;
		for (uint32_t k = 0; k < x->nmatch && rc == 0; k++) {
			cp_coll_t *c = &p->colls[x->match[k]];
			if ((rc = ids_room(c)) != 0)
				break;
			c->ids[c->n++] = x->id;
		}
	}
	for (size_t i = 0; i < p->ncolls && rc == 0; i++)
		if (p->colls[i].kind == COL_KIND_RULE && p->colls[i].n > 1)
			qsort(p->colls[i].ids, p->colls[i].n, sizeof(store_id_t), id_cmp);
	if (rc == 0) {
		p->stale = false;
		mark_changed(p);
	}
	return rc;
}

/* ---- taking records ---- */

static int put_product(cp_t *p, const store_id_t *id, json_t *doc)
{
	if (!p->facts)
		return 0; /* no rule collection: nothing to evaluate */
	const char *st = json_string_value(json_object_get(doc, "status"));
	bool live = json_is_object(doc) && !(st && strcmp(st, "archived") == 0);
	cp_prod_t **s = prod_find(p, id);
	int rc;
	if (!live) {
		if (s && *s) {
			for (uint32_t k = 0; k < (*s)->nmatch && !p->stale; k++) {
				ids_remove(&p->colls[(*s)->match[k]], id);
				mark_changed(p);
			}
			prod_remove(p, s);
		}
		return 0;
	}
	if (!s || !*s) {
		if ((p->count + 1) * 2 > p->cap && (rc = prod_grow(p)) != 0)
			return rc;
		s = prod_find(p, id);
		if (!(*s = calloc(1, sizeof(**s))))
			return SOUK_ENOMEM;
		(*s)->id = *id;
		p->count++;
	}
	cp_prod_t *x = *s;
	const char *cat = json_string_value(json_object_get(doc, "category"));
	const json_t *attrs = json_object_get(doc, "attributes");
	const json_t *price = json_object_get(doc, "price");
	const char *cur;
	json_t *amt;
	free(x->category);
	json_decref(x->attrs);
	x->category = cat ? strdup(cat) : NULL;
	x->attrs = json_is_object(attrs) ? json_incref((json_t *)attrs) : NULL;
	x->nprices = 0;
	json_object_foreach((json_t *)price, cur, amt)
	{
		if (x->nprices == CP_PRICES_MAX || strlen(cur) != 3 || !json_is_integer(amt))
			continue;
		memcpy(x->prices[x->nprices].currency, cur, 4);
		x->prices[x->nprices++].amount = json_integer_value(amt);
	}
	if (cat && !x->category)
		return SOUK_ENOMEM;
	if (p->stale)
		return 0; /* every product is evaluated at the next build */
	uint32_t old[64], *o = old, nold = x->nmatch;
	if (nold > 64 && !(o = malloc(nold * sizeof(*o))))
		return SOUK_ENOMEM;
	if (nold)
		memcpy(o, x->match, nold * sizeof(*o));
	rc = reevaluate(p, x, o, nold);
	if (o != old)
		free(o);
	return rc;
}

/* A collection or category document: kept while active. */
static int put_doc(cp_t *p, json_t *set, const store_id_t *id, json_t *doc)
{
	char hex[33];
	const char *st = json_string_value(json_object_get(doc, "status"));
	store_id_hex(id, hex);
	p->stale = true;
	mark_changed(p);
	if (!json_is_object(doc) || (st && strcmp(st, "active") != 0)) {
		json_object_del(set, hex);
		return 0;
	}
	return json_object_set(set, hex, doc) ? SOUK_ENOMEM : 0;
}

int collection_provider_put(void *st, const char *kind, const store_id_t *id, const char *doc,
			    size_t len)
{
	cp_t *p = st;
	json_error_t je;
	json_t *d;
	int rc;
	if (strcmp(kind, "product") == 0 && !p->facts)
		return 0; /* not even parsed */
	d = doc ? json_loadb(doc, len, 0, &je) : NULL;
	if (doc && !d)
		p->errors++; /* unreadable: as if gone */
	if (strcmp(kind, "product") == 0)
		rc = put_product(p, id, d);
	else if (strcmp(kind, "collection") == 0)
		rc = put_doc(p, p->cols, id, d);
	else if (strcmp(kind, "category") == 0)
		rc = put_doc(p, p->cats, id, d);
	else
		rc = SOUK_EINVAL;
	json_decref(d);
	return rc;
}

uint64_t collection_provider_evaluations(const void *st)
{
	return ((const cp_t *)st)->evaluations;
}

/* ---- the provider ---- */

static int take(cp_t *p, const char *kind, const store_rec_t *rec)
{
	return collection_provider_put(p, kind, &rec->id, rec->archived ? NULL : rec->doc,
				       rec->doc_len);
}

typedef struct {
	cp_t *p;
	const char *kind;
} scan_arg_t;

static int scan_cb(const store_rec_t *rec, void *arg)
{
	const scan_arg_t *a = arg;
	return take(a->p, a->kind, rec);
}

static const char *const cp_kinds[] = {"collection", "category", "product", NULL};

/* Is there an active rule collection? */
static bool any_rule(const cp_t *p)
{
	const char *key;
	json_t *d;
	json_object_foreach(p->cols, key, d)
	{
		const char *kind = json_string_value(json_object_get(d, "kind"));
		if (kind && strcmp(kind, "rule") == 0)
			return true;
	}
	return false;
}

/* Keep every product from now on, starting with those of rt. */
static int take_products(cp_t *p, store_read_t *rt)
{
	scan_arg_t a = {p, "product"};
	p->facts = true;
	p->stale = true;
	return store_read_scan(rt, "product", scan_cb, &a);
}

/* Products are read (and kept) only while a rule collection needs them: a
 * mall without one pays nothing per product write, and its start does not
 * parse every product a second time. */
static int cp_load(void *st, store_read_t *rt)
{
	cp_t *p = st;
	scan_arg_t a = {p, "collection"};
	int rc = store_read_scan(rt, "collection", scan_cb, &a);
	a.kind = "category";
	if (rc == 0)
		rc = store_read_scan(rt, "category", scan_cb, &a);
	p->facts = false;
	if (rc == 0 && any_rule(p))
		rc = take_products(p, rt);
	return rc;
}

static int cp_apply(void *st, store_read_t *rt, const char *kind, const store_id_t *id)
{
	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	int rc = store_read_get(rt, kind, id, &rec);
	if (rc == SOUK_ENOENT) {
		rec.id = *id;
		rec.archived = true;
		rc = 0;
	}
	if (rc == 0)
		rc = take(st, kind, &rec);
	store_rec_deinit(&rec);
	cp_t *p = st;
	if (rc == 0 && !p->facts && strcmp(kind, "collection") == 0 && any_rule(p))
		rc = take_products(p, rt); /* the first rule collection */
	return rc;
}

int collection_provider_section(void *st, uint64_t seq, void **sec, size_t *len)
{
	cp_t *p = st;
	int rc = p->stale ? recompile(p) : 0;
	if (rc)
		return rc;
	col_src_t *src = calloc(p->ncolls ? p->ncolls : 1, sizeof(*src));
	if (!src)
		return SOUK_ENOMEM;
	for (size_t i = 0; i < p->ncolls; i++)
		src[i] = (col_src_t){.code = p->colls[i].code,
				     .name = json_object_get(p->colls[i].doc, "name"),
				     .kind = p->colls[i].kind,
				     .members = p->colls[i].ids,
				     .nmembers = p->colls[i].n};
	rc = col_build_mem(src, p->ncolls, seq, sec, len);
	free(src);
	return rc;
}

static int cp_snapshot(void *st, void **out)
{
	cp_t *p = st;
	cp_snap_t *s = calloc(1, sizeof(*s));
	if (!s)
		return SOUK_ENOMEM;
	int rc = collection_provider_section(p, 0, &s->sec, &s->len);
	if (rc) {
		free(s);
		return rc;
	}
	p->since_snap = false;
	*out = s;
	return 0;
}

static int cp_build_base(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes)
{
	const cp_snap_t *s = snap;
	(void)seq;
	*bytes = s->len;
	return shm_builder_add(b, COLLECTION_SECTION, 8, s->sec, s->len);
}

static void cp_snapshot_free(void *st, void *snap)
{
	cp_snap_t *s = snap;
	(void)st;
	if (s)
		free(s->sec);
	free(s);
}

static int cp_build_delta(void *st, shm_builder_t *b, uint64_t seq, bool since_snapshot,
			  size_t *bytes)
{
	cp_t *p = st;
	void *sec = NULL;
	size_t len = 0;
	*bytes = 0;
	if (!(since_snapshot ? p->since_snap : p->since_base))
		return 0;
	/* a product write that moved nothing in or out of a collection: the
	 * previous image's section is still right */
	if (!since_snapshot && !p->changed && !p->stale) {
		int rc = shm_builder_copy(b, "col.", bytes);
		if (rc != SOUK_ESTALE)
			return rc;
	}
	int rc = collection_provider_section(p, seq, &sec, &len);
	if (rc == 0) {
		rc = shm_builder_add(b, COLLECTION_SECTION, 8, sec, len);
		*bytes = len;
	}
	free(sec);
	return rc;
}

static void cp_rebased(void *st, bool ok)
{
	cp_t *p = st;
	if (ok)
		p->since_base = p->since_snap;
}

static void cp_published(void *st, shm_ctl_t *ctl)
{
	(void)ctl;
	((cp_t *)st)->changed = false;
}

static void cp_weight(const void *st, provider_weight_t *w)
{
	const cp_t *p = st;
	memset(w, 0, sizeof(*w));
	w->items = w->served = json_object_size(p->cols);
	w->heap_bytes = p->count * (sizeof(cp_prod_t) + 2 * sizeof(void *));
	for (size_t i = 0; i < p->ncolls; i++)
		w->heap_bytes += p->colls[i].cap * sizeof(store_id_t);
	w->errors = p->errors;
}

static void cp_free(void *st)
{
	cp_t *p = st;
	if (!p)
		return;
	for (size_t i = 0; i < p->cap; i++)
		prod_free(p->slots[i]);
	free(p->slots);
	colls_free(p);
	category_tree_free(&p->tree);
	json_decref(p->cols);
	json_decref(p->cats);
	free(p);
}

const provider_ops_t collection_provider_ops = {
    .name = "collections",
    .prefix = "col.",
    .kinds = cp_kinds,
    .load = cp_load,
    .apply = cp_apply,
    .snapshot = cp_snapshot,
    .build_base = cp_build_base,
    .snapshot_free = cp_snapshot_free,
    .build_delta = cp_build_delta,
    .rebased = cp_rebased,
    .weight = cp_weight,
    .published = cp_published,
    .free = cp_free,
    .whole = true,
};

int collection_provider_new(provider_t *out)
{
	cp_t *p = calloc(1, sizeof(*p));
	if (!p || !(p->cols = json_object()) || !(p->cats = json_object())) {
		if (p)
			json_decref(p->cols);
		free(p);
		return SOUK_ENOMEM;
	}
	p->stale = p->facts = true; /* load decides whether products are kept */
	p->since_base = p->since_snap = p->changed = true;
	out->ops = &collection_provider_ops;
	out->st = p;
	return 0;
}
