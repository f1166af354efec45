/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/category_image.c - the category tree in the image
 * (category_image.h): the section, its view and its provider. */
#include "domain/catalog/category_image.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/strtab.h"
#include "common/locale.h"
#include "common/log.h"
#include "domain/catalog/category_tree.h"

struct ctg_hdr {
	uint32_t magic;
	uint32_t n;
	uint32_t nnames;
	uint32_t pad;
	uint64_t str_len;
	uint64_t seq;
};

static size_t align8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

/* ---- building ---- */

int ctg_build_mem(const json_t *const *docs, size_t n, uint64_t seq, void **sec, size_t *len,
		  char *why, size_t why_len)
{
	category_tree_t *t = NULL;
	int rc = category_tree_build(docs, n, &t, why, why_len);
	*sec = NULL;
	*len = 0;
	if (rc)
		return rc;
	size_t nnames = 0;
	for (size_t i = 0; i < t->n; i++)
		nnames += json_object_size(t->nodes[i].name);
	ctg_node_t *nodes = calloc(t->n ? t->n : 1, sizeof(*nodes));
	ctg_name_t *names = calloc(nnames ? nnames : 1, sizeof(*names));
	strtab_t sb = {0};
	if (!nodes || !names)
		rc = SOUK_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; rc == 0 && i < t->n; i++) {
		const category_node_t *cn = &t->nodes[i];
		ctg_node_t *o = &nodes[i];
		const char *loc;
		json_t *txt;
		o->code_len = (uint32_t)strlen(cn->code);
		o->code_off = strtab_put(&sb, cn->code, o->code_len, &rc);
		o->parent = cn->parent == CATEGORY_NONE ? CATEGORY_IMG_NONE : cn->parent;
		o->depth = cn->depth;
		o->pre = cn->pre;
		o->size = cn->size;
		o->names_first = (uint32_t)k;
		json_object_foreach((json_t *)cn->name, loc, txt)
		{
			if (!json_is_string(txt))
				continue;
			names[k].locale_off = strtab_put(&sb, loc, strlen(loc), &rc);
			names[k].name_off = strtab_put(&sb, json_string_value(txt),
						   json_string_length(txt), &rc);
			k++;
		}
		o->nnames = (uint32_t)(k - o->names_first);
	}
	size_t total = 0;
	uint8_t *buf = NULL;
	if (rc == 0) {
		size_t off_nodes = align8(sizeof(struct ctg_hdr));
		size_t off_pre = off_nodes + t->n * sizeof(ctg_node_t);
		size_t off_names = align8(off_pre + t->n * sizeof(uint32_t));
		size_t off_str = off_names + k * sizeof(ctg_name_t);
		total = align8(off_str + sb.len);
		if (!(buf = calloc(1, total ? total : 8))) {
			rc = SOUK_ENOMEM;
		} else {
			struct ctg_hdr *h = (struct ctg_hdr *)buf;
			h->magic = CATEGORY_SEC_MAGIC;
			h->n = (uint32_t)t->n;
			h->nnames = (uint32_t)k;
			h->str_len = sb.len;
			h->seq = seq;
			if (t->n) {
				memcpy(buf + off_nodes, nodes, t->n * sizeof(ctg_node_t));
				memcpy(buf + off_pre, t->by_pre, t->n * sizeof(uint32_t));
			}
			if (k)
				memcpy(buf + off_names, names, k * sizeof(ctg_name_t));
			if (sb.len)
				memcpy(buf + off_str, sb.buf, sb.len);
		}
	}
	free(nodes);
	free(names);
	strtab_free(&sb);
	category_tree_free(&t);
	if (rc == 0) {
		*sec = buf;
		*len = total;
	}
	return rc;
}

/* ---- reading ---- */

int ctg_view_init_mem(const void *sec, size_t len, ctg_view_t *out)
{
	const struct ctg_hdr *h = sec;
	memset(out, 0, sizeof(*out));
	if (!sec || len < sizeof(*h) || ((uintptr_t)sec & 7u) || h->magic != CATEGORY_SEC_MAGIC)
		return SOUK_ECORRUPT;
	size_t off_nodes = align8(sizeof(*h));
	size_t off_pre = off_nodes + (size_t)h->n * sizeof(ctg_node_t);
	size_t off_names = align8(off_pre + (size_t)h->n * sizeof(uint32_t));
	size_t off_str = off_names + (size_t)h->nnames * sizeof(ctg_name_t);
	if (h->n > (1u << 24) || h->nnames > (1u << 26) || off_str > len ||
	    h->str_len > len - off_str || (h->str_len && ((const char *)sec)[off_str + h->str_len - 1]))
		return SOUK_ECORRUPT;
	const ctg_node_t *nodes = (const ctg_node_t *)((const uint8_t *)sec + off_nodes);
	const uint32_t *by_pre = (const uint32_t *)((const uint8_t *)sec + off_pre);
	const ctg_name_t *names = (const ctg_name_t *)((const uint8_t *)sec + off_names);
	for (uint32_t i = 0; i < h->n; i++) {
		const ctg_node_t *x = &nodes[i];
		if (x->code_off >= h->str_len || x->code_len > h->str_len - x->code_off ||
		    (x->parent != CATEGORY_IMG_NONE && x->parent >= h->n) || x->pre >= h->n ||
		    x->size == 0 || x->size > h->n - x->pre || by_pre[x->pre] != i ||
		    x->depth >= CATEGORY_IMG_DEPTH_MAX || x->names_first > h->nnames ||
		    x->nnames > h->nnames - x->names_first ||
		    (i > 0 && strcmp((const char *)sec + off_str + nodes[i - 1].code_off,
				     (const char *)sec + off_str + x->code_off) >= 0))
			return SOUK_ECORRUPT;
	}
	for (uint32_t i = 0; i < h->nnames; i++)
		if (names[i].locale_off >= h->str_len || names[i].name_off >= h->str_len)
			return SOUK_ECORRUPT;
	out->hdr = h;
	out->nodes = nodes;
	out->by_pre = by_pre;
	out->names = names;
	out->str = (const char *)sec + off_str;
	out->n = h->n;
	out->nnames = h->nnames;
	out->str_len = h->str_len;
	return 0;
}

static int ctg_view_bind(const shm_image_t *img, void *view)
{
	const void *data = NULL;
	size_t len = 0;
	int rc = shm_image_section(img, CATEGORY_SECTION, &data, &len);
	if (rc == SOUK_ENOENT) {
		memset(view, 0, sizeof(ctg_view_t));
		return 0;
	}
	return rc ? rc : ctg_view_init_mem(data, len, view);
}

const shm_view_def_t ctg_view_def = { "categories", sizeof(ctg_view_t), ctg_view_bind };

uint32_t ctg_find(const ctg_view_t *v, const char *code, size_t len)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const ctg_node_t *x = &v->nodes[mid];
		size_t m = x->code_len < len ? x->code_len : len;
		int c = memcmp(v->str + x->code_off, code, m);
		if (c == 0)
			c = x->code_len < len ? -1 : x->code_len > len ? 1 : 0;
		if (c == 0)
			return (uint32_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return CATEGORY_IMG_NONE;
}

size_t ctg_path(const ctg_view_t *v, uint32_t i, uint32_t out[CATEGORY_IMG_DEPTH_MAX])
{
	uint32_t rev[CATEGORY_IMG_DEPTH_MAX];
	size_t n = 0;
	while (i != CATEGORY_IMG_NONE && i < v->n && n < CATEGORY_IMG_DEPTH_MAX) {
		rev[n++] = i;
		i = v->nodes[i].parent;
	}
	for (size_t k = 0; k < n; k++)
		out[k] = rev[n - 1 - k];
	return n;
}

typedef struct {
	const ctg_view_t *v;
	const ctg_node_t *x;
} names_arg_t;

static int name_locale_at(const void *arg, size_t i, char out[SOUK_LOCALE_MAX])
{
	const names_arg_t *a = arg;
	const char *loc = a->v->str + a->v->names[a->x->names_first + i].locale_off;
	snprintf(out, SOUK_LOCALE_MAX, "%s", loc);
	return 0;
}

const char *ctg_name(const ctg_view_t *v, uint32_t i, const char *list, size_t list_len)
{
	const ctg_node_t *x = &v->nodes[i];
	names_arg_t a = { v, x };
	size_t found = 0;
	if (x->nnames == 0)
		return v->str + x->code_off;
	if (list && list_len &&
	    souk_locale_lookup(list, list_len, x->nnames, name_locale_at, &a, &found) == 0)
		return v->str + v->names[x->names_first + found].name_off;
	return v->str + v->names[x->names_first].name_off;
}

void ctg_subtree(const ctg_view_t *v, uint32_t i, uint32_t *first, uint32_t *size)
{
	*first = v->nodes[i].pre;
	*size = v->nodes[i].size;
}

/* ---- the provider ---- */

typedef struct {
	json_t *docs; /* id hex -> live category document */
	bool since_base, since_snap;
	uint64_t errors;
	void *last;   /* the last good section (kept when a tree does not build) */
	size_t last_len;
} ctg_prov_t;

typedef struct {
	void *sec;
	size_t len;
} ctg_snap_t;

static int take(ctg_prov_t *p, const store_rec_t *rec)
{
	char hex[33];
	store_id_hex(&rec->id, hex);
	p->since_base = p->since_snap = true;
	json_error_t je;
	json_t *doc = rec->archived ? NULL : json_loadb(rec->doc, rec->doc_len, 0, &je);
	const char *st = json_string_value(json_object_get(doc, "status"));
	if (!json_is_object(doc) || (st && strcmp(st, "active") != 0)) {
		json_decref(doc);
		json_object_del(p->docs, hex);
		return 0;
	}
	return json_object_set_new(p->docs, hex, doc) ? SOUK_ENOMEM : 0;
}

static int scan_cb(const store_rec_t *rec, void *arg)
{
	return take(arg, rec);
}

static int ctg_load(void *st, store_read_t *rt)
{
	return store_read_scan(rt, "category", scan_cb, st);
}

static int ctg_apply(void *st, store_read_t *rt, const char *kind, const store_id_t *id)
{
	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	int rc = store_read_get(rt, "category", id, &rec);
	if (rc == SOUK_ENOENT) {
		rec.id = *id;
		rec.archived = true;
		rc = 0;
	}
	if (rc == 0)
		rc = take(st, &rec);
	store_rec_deinit(&rec);
	return rc;
}

/* The section of the current documents, or the last good one when they do
 * not make a tree (a parent missing or a cycle written before the checks). */
static int current(ctg_prov_t *p, uint64_t seq, void **sec, size_t *len)
{
	size_t n = json_object_size(p->docs), k = 0;
	const json_t **docs = calloc(n ? n : 1, sizeof(*docs));
	const char *key;
	json_t *d;
	char why[160] = "";
	json_t *orphans = json_array(); /* copies without their missing parent */
	if (!docs || !orphans) {
		free(docs);
		json_decref(orphans);
		return SOUK_ENOMEM;
	}
	/* a category whose parent is not live (written before the checks, or
	 * by an import) is shown as a root rather than stopping the tree */
	json_t *codes = json_object();
	json_object_foreach(p->docs, key, d)
	{
		const char *c = json_string_value(json_object_get(d, "code"));
		if (c)
			json_object_set_new(codes, c, json_true());
	}
	json_object_foreach(p->docs, key, d)
	{
		const char *parent = json_string_value(json_object_get(d, "parent"));
		if (parent && !json_object_get(codes, parent)) {
			json_t *copy = json_copy(d);
			json_object_del(copy, "parent");
			json_array_append_new(orphans, copy);
			docs[k++] = copy;
			continue;
		}
		docs[k++] = d;
	}
	json_decref(codes);
	int rc = ctg_build_mem(docs, k, seq, sec, len, why, sizeof(why));
	free(docs);
	json_decref(orphans);
	if (rc == 0) {
		void *copy = malloc(*len);
		if (copy) {
			memcpy(copy, *sec, *len);
			free(p->last);
			p->last = copy;
			p->last_len = *len;
		}
		return 0;
	}
	if (rc == SOUK_ENOMEM)
		return rc;
	p->errors++;
	log_daemon_warn("publisher, the categories make no tree (%s), serving the last good one",
			why);
	if (!p->last) {
		*sec = NULL;
		*len = 0;
		return 0;
	}
	if (!(*sec = malloc(p->last_len)))
		return SOUK_ENOMEM;
	memcpy(*sec, p->last, p->last_len);
	*len = p->last_len;
	return 0;
}

static int ctg_snapshot(void *st, void **out)
{
	ctg_prov_t *p = st;
	ctg_snap_t *s = calloc(1, sizeof(*s));
	if (!s)
		return SOUK_ENOMEM;
	int rc = current(p, 0, &s->sec, &s->len);
	if (rc) {
		free(s);
		return rc;
	}
	p->since_snap = false;
	*out = s;
	return 0;
}

static int ctg_build_base(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes)
{
	const ctg_snap_t *s = snap;
	*bytes = 0;
	if (!s->sec)
		return 0;
	*bytes = s->len;
	return shm_builder_add(b, CATEGORY_SECTION, 8, s->sec, s->len);
}

static void ctg_snapshot_free(void *st, void *snap)
{
	ctg_snap_t *s = snap;
	if (s)
		free(s->sec);
	free(s);
}

static int ctg_build_delta(void *st, shm_builder_t *b, uint64_t seq, bool since_snapshot,
			   size_t *bytes)
{
	ctg_prov_t *p = st;
	void *sec = NULL;
	size_t len = 0;
	*bytes = 0;
	if (!(since_snapshot ? p->since_snap : p->since_base))
		return 0;
	int rc = current(p, seq, &sec, &len);
	if (rc == 0 && sec) {
		rc = shm_builder_add(b, CATEGORY_SECTION, 8, sec, len);
		*bytes = len;
	}
	free(sec);
	return rc;
}

static void ctg_rebased(void *st, bool ok)
{
	ctg_prov_t *p = st;
	if (ok)
		p->since_base = p->since_snap;
}

static void ctg_weight(const void *st, provider_weight_t *w)
{
	const ctg_prov_t *p = st;
	memset(w, 0, sizeof(*w));
	w->items = w->served = json_object_size(p->docs);
	w->heap_bytes = p->last_len;
	w->errors = p->errors;
}

static void ctg_free(void *st)
{
	ctg_prov_t *p = st;
	if (!p)
		return;
	json_decref(p->docs);
	free(p->last);
	free(p);
}

static const char *const ctg_kinds[] = { "category", NULL };

const provider_ops_t category_provider_ops = {
	.name = "categories",
	.prefix = "ctg.",
	.kinds = ctg_kinds,
	.load = ctg_load,
	.apply = ctg_apply,
	.snapshot = ctg_snapshot,
	.build_base = ctg_build_base,
	.snapshot_free = ctg_snapshot_free,
	.build_delta = ctg_build_delta,
	.rebased = ctg_rebased,
	.weight = ctg_weight,
	.free = ctg_free,
	.whole = true,
};

int category_provider_new(provider_t *out)
{
	ctg_prov_t *p = calloc(1, sizeof(*p));
	if (!p || !(p->docs = json_object())) {
		free(p);
		return SOUK_ENOMEM;
	}
	p->since_base = p->since_snap = true;
	out->ops = &category_provider_ops;
	out->st = p;
	return 0;
}
