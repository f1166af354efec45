/* SPDX-License-Identifier: Apache-2.0 */
/* domain/pricing/provider.c - channel price sections from price lists,
 * prices and products (provider.h). */
#include "domain/pricing/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/util.h"
#include "domain/channel/channel.h"
#include "domain/pricing/sections.h"

#define CODE_MAX 64
#define CUR_MAX 32

typedef struct {
	store_id_t id;
	char code[PRICING_CHANNEL_MAX];
	char cur[CHANNEL_CURRENCIES_MAX][4];
	unsigned ncur;
	/* formatting templates of its locales x currencies (ICU, made when the
	 * channel changes, not at each build) */
	pricing_fmt_t *fmts;
	size_t nfmts;
} chan_t;

typedef struct {
	store_id_t id;
	char code[CODE_MAX + 1], channel[PRICING_CHANNEL_MAX], currency[4];
	char customer[CODE_MAX + 1], group[CODE_MAX + 1], country[3];
	price_kind_t kind;
	int32_t priority;
	int64_t from_ms, until_ms;
	bool active;
} list_t;

/* A price by id. Every table entry starts with the id and the used flag
 * (table_t holds entries of one size). */
typedef struct {
	store_id_t id;
	bool used;
	char sku[72];
	char list[CODE_MAX + 1];
	int64_t amount, min_qty;
	price_point_t hist[PRICE_HIST_MAX]; /* its amounts of the last 30 days */
	size_t nhist;
	/* deleted at (epoch ms), 0: live. A deleted price stays a candidate
	 * whose window closed then, for 30 days: never served, but what it
	 * was still counts toward the lowest prior price (EU Omnibus), so
	 * replacing a price by a new one cannot make a reduction look larger */
	int64_t gone_ms;
} ent_t;

/* A product's or variant's own prices (its "price" map) that changed in
 * the last 30 days: their histories, shipped in every channel's section as
 * "@product" history holders so that the lowest prior price counts them
 * as they were (the catalog record holds only the current amounts). */
#define OWN_CUR_MAX 8
typedef struct {
	char currency[4];
	uint32_t n;
	price_point_t p[PRICE_HIST_MAX];
} own_cur_t;

typedef struct {
	store_id_t id;
	bool used;
	char sku[72];
	uint32_t ncur;
	own_cur_t cur[OWN_CUR_MAX];
} own_t;

typedef struct {
	unsigned char *slot;
	size_t cap, n, esz;
} table_t;

typedef struct {
	char (*code)[PRICING_CHANNEL_MAX];
	size_t n;
	bool all; /* every channel (a product's own prices changed) */
} dirty_t;

typedef struct {
	chan_t *chan;
	size_t nchan, capchan;
	list_t *list;
	size_t nlist, caplist;
	table_t prices; /* ent_t */
	table_t own;	/* own_t */
	/* channels changed since the base, since the snapshot, and since the
	 * last published image (those not changed since are copied from it) */
	dirty_t since_base, since_snap, since_pub;
	uint64_t errors;
} prc_prov_t;

typedef struct {
	size_t n;
	char **name;
	void **sec;
	size_t *len;
	void *dir;
	size_t dir_len;
} prc_snap_t;

/* ---- the id table ---- */

static size_t id_hash(const store_id_t *id)
{
	uint64_t h;
	memcpy(&h, id->b, sizeof(h));
	return (size_t)h;
}

/* The entry of id (ent_t or own_t, t->esz bytes, starting with id and
 * used), added when add; NULL when absent or out of memory. */
static void *table_find(table_t *t, const store_id_t *id, bool add)
{
	if (add && (t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		unsigned char *s = calloc(cap, t->esz);
		if (!s)
			return NULL;
		for (size_t i = 0; i < t->cap; i++) {
			ent_t *e = (ent_t *)(t->slot + i * t->esz);
			if (!e->used)
				continue;
			size_t j = id_hash(&e->id) & (cap - 1);
			while (((ent_t *)(s + j * t->esz))->used)
				j = (j + 1) & (cap - 1);
			memcpy(s + j * t->esz, e, t->esz);
		}
		free(t->slot);
		t->slot = s;
		t->cap = cap;
	}
	if (t->cap == 0)
		return NULL;
	size_t j = id_hash(id) & (t->cap - 1);
	ent_t *e;
	while ((e = (ent_t *)(t->slot + j * t->esz))->used) {
		if (memcmp(&e->id, id, sizeof(*id)) == 0)
			return e;
		j = (j + 1) & (t->cap - 1);
	}
	if (!add)
		return NULL;
	memset(e, 0, t->esz);
	e->used = true;
	e->id = *id;
	t->n++;
	return e;
}

static void *table_at(const table_t *t, size_t i)
{
	return t->slot + i * t->esz;
}

/* Remove by re-inserting the run after it (linear probing). */
static void table_del(table_t *t, const store_id_t *id)
{
	ent_t *e = table_find(t, id, false);
	unsigned char x[sizeof(own_t) > sizeof(ent_t) ? sizeof(own_t) : sizeof(ent_t)];
	if (!e)
		return;
	size_t j = (size_t)((unsigned char *)e - t->slot) / t->esz;
	e->used = false;
	t->n--;
	for (size_t k = (j + 1) & (t->cap - 1); ((ent_t *)table_at(t, k))->used;
	     k = (k + 1) & (t->cap - 1)) {
		ent_t *m = table_at(t, k);
		memcpy(x, m, t->esz);
		m->used = false;
		t->n--;
		void *y = table_find(t, &((ent_t *)x)->id, true);
		if (y)
			memcpy(y, x, t->esz);
	}
}

/* ---- dirty channels ---- */

static void dirty_add(dirty_t *d, const char *code)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->code[i], code) == 0)
			return;
	if (d->n < PRICING_CHANNELS_MAX)
		snprintf(d->code[d->n++], PRICING_CHANNEL_MAX, "%s", code);
	else
		d->all = true;
}

static bool dirty_has(const dirty_t *d, const char *code)
{
	if (d->all)
		return true;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->code[i], code) == 0)
			return true;
	return false;
}

static void dirty_clear(dirty_t *d)
{
	d->n = 0;
	d->all = false;
}

static void mark(prc_prov_t *p, const char *code)
{
	if (!code || !*code)
		return;
	dirty_add(&p->since_base, code);
	dirty_add(&p->since_snap, code);
	dirty_add(&p->since_pub, code);
}

static void mark_all(prc_prov_t *p)
{
	p->since_base.all = p->since_snap.all = p->since_pub.all = true;
}

/* ---- taking records ---- */

static void copy(char *dst, size_t cap, const json_t *v)
{
	const char *s = json_string_value(v);
	snprintf(dst, cap, "%s", s ? s : "");
}

static int64_t when(const json_t *v)
{
	const char *s = json_string_value(v);
	int64_t ms = s ? souk_rfc3339_parse_ms(s, strlen(s)) : 0;
	return ms > 0 ? ms : 0;
}

static list_t *list_by_code(prc_prov_t *p, const char *code)
{
	for (size_t i = 0; i < p->nlist; i++)
		if (strcmp(p->list[i].code, code) == 0)
			return &p->list[i];
	return NULL;
}

static int take_list(prc_prov_t *p, const store_rec_t *rec, const json_t *doc)
{
	list_t *l = NULL;
	for (size_t i = 0; i < p->nlist; i++)
		if (memcmp(&p->list[i].id, &rec->id, sizeof(rec->id)) == 0)
			l = &p->list[i];
	if (l) {
		mark(p, l->channel);
		if (!doc) {
			*l = p->list[--p->nlist];
			return 0;
		}
	} else {
		if (!doc)
			return 0;
		if (p->nlist == p->caplist) {
			size_t cap = p->caplist ? p->caplist * 2 : 16;
			list_t *a = realloc(p->list, cap * sizeof(*a));
			if (!a)
				return SOUK_ENOMEM;
			p->list = a;
			p->caplist = cap;
		}
		l = &p->list[p->nlist++];
	}
	memset(l, 0, sizeof(*l));
	l->id = rec->id;
	const json_t *scope = json_object_get(doc, "scope");
	copy(l->code, sizeof(l->code), json_object_get(doc, "code"));
	copy(l->channel, sizeof(l->channel), json_object_get(doc, "channel"));
	copy(l->currency, sizeof(l->currency), json_object_get(doc, "currency"));
	copy(l->customer, sizeof(l->customer), json_object_get(scope, "customer"));
	copy(l->group, sizeof(l->group), json_object_get(scope, "customer_group"));
	copy(l->country, sizeof(l->country), json_object_get(scope, "country"));
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	l->kind = kind && strcmp(kind, "sale") == 0 ? PRICE_KIND_SALE : PRICE_KIND_BASE;
	l->priority = (int32_t)json_integer_value(json_object_get(doc, "priority"));
	l->from_ms = when(json_object_get(doc, "valid_from"));
	l->until_ms = when(json_object_get(doc, "valid_until"));
	const char *st = json_string_value(json_object_get(doc, "status"));
	l->active = st == NULL || strcmp(st, "active") == 0;
	mark(p, l->channel);
	return 0;
}

static void mark_list_channel(prc_prov_t *p, const char *list)
{
	const list_t *l = list_by_code(p, list);
	if (l)
		mark(p, l->channel);
}

/* One version of a price into its history. */
static int hist_cb(const store_rec_t *rec, void *arg)
{
	ent_t *e = arg;
	json_error_t je;
	json_t *doc = rec->archived ? NULL : json_loadb(rec->doc, rec->doc_len, 0, &je);
	json_t *a = json_object_get(doc, "amount");
	price_points_add(e->hist, &e->nhist, (int64_t)rec->time_ms,
			 json_is_integer(a) ? json_integer_value(a) : PRICE_GONE);
	json_decref(doc);
	return 0;
}

static int take_price(prc_prov_t *p, store_read_t *rt, const store_rec_t *rec, const json_t *doc)
{
	ent_t *e = table_find(&p->prices, &rec->id, false);
	json_t *last = NULL;
	json_error_t je;
	if (e)
		mark_list_channel(p, e->list);
	int64_t gone = 0, since = (int64_t)souk_now_real_ms() - PRICE_OMNIBUS_MS;
	if (!doc && rec && rec->archived && (int64_t)rec->time_ms > since)
		doc = last = json_loadb(rec->doc, rec->doc_len, 0, &je); /* as it was */
	if (!json_is_object(doc)) {
		json_decref(last);
		table_del(&p->prices, &rec->id);
		return 0;
	}
	if (last)
		gone = (int64_t)rec->time_ms > 0 ? (int64_t)rec->time_ms : 1;
	if (!(e = table_find(&p->prices, &rec->id, true))) {
		json_decref(last);
		return SOUK_ENOMEM;
	}
	e->gone_ms = gone;
	copy(e->list, sizeof(e->list), json_object_get(doc, "list"));
	copy(e->sku, sizeof(e->sku), json_object_get(doc, "sku"));
	e->amount = json_integer_value(json_object_get(doc, "amount"));
	e->min_qty = json_integer_value(json_object_get(doc, "min_qty"));
	if (e->min_qty < 1)
		e->min_qty = 1;
	/* what it was lately, from every version the store keeps (one publish
	 * may follow several changes) */
	e->nhist = 0;
	json_decref(last);
	int rc = store_read_history(rt, "price", &rec->id, hist_cb, e);
	if (rc)
		return rc;
	price_points_prune(e->hist, &e->nhist, since);
	mark_list_channel(p, e->list);
	return 0;
}

static int take_channel(prc_prov_t *p, const store_rec_t *rec, const json_t *doc)
{
	chan_t *c = NULL;
	for (size_t i = 0; i < p->nchan; i++)
		if (memcmp(&p->chan[i].id, &rec->id, sizeof(rec->id)) == 0)
			c = &p->chan[i];
	if (c) {
		mark(p, c->code);
		if (!doc) {
			free(c->fmts);
			*c = p->chan[--p->nchan];
			return 0;
		}
	} else {
		if (!doc)
			return 0;
		if (p->nchan == p->capchan) {
			size_t cap = p->capchan ? p->capchan * 2 : 8;
			chan_t *a = realloc(p->chan, cap * sizeof(*a));
			if (!a)
				return SOUK_ENOMEM;
			p->chan = a;
			p->capchan = cap;
		}
		c = &p->chan[p->nchan++];
		memset(c, 0, sizeof(*c));
	}
	free(c->fmts);
	memset(c, 0, sizeof(*c));
	c->id = rec->id;
	copy(c->code, sizeof(c->code), json_object_get(doc, "code"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(doc, "currencies"), "allowed"), i, v)
	{
		if (c->ncur < CHANNEL_CURRENCIES_MAX)
			copy(c->cur[c->ncur++], 4, v);
	}
	/* its default locale and the fallbacks, each with every currency */
	const json_t *loc = json_object_get(doc, "locales");
	json_t *tags = json_array();
	if (!tags)
		return SOUK_ENOMEM;
	json_array_append(tags, json_object_get(loc, "default"));
	json_array_extend(tags, json_object_get(loc, "fallback"));
	c->fmts = calloc(json_array_size(tags) * c->ncur + 1, sizeof(*c->fmts));
	if (!c->fmts) {
		json_decref(tags);
		return SOUK_ENOMEM;
	}
	json_array_foreach(tags, i, v)
	{
		const char *tag = json_string_value(v);
		for (unsigned k = 0; tag && k < c->ncur && c->nfmts < PRICING_FMTS_MAX; k++) {
			pricing_fmt_t *f = &c->fmts[c->nfmts];
			if (strlen(tag) >= sizeof(f->locale) ||
			    money_fmt_make(tag, c->cur[k], &f->fmt) != 0) {
				p->errors++;
				continue;
			}
			memcpy(f->locale, tag, strlen(tag) + 1);
			memcpy(f->currency, c->cur[k], 4);
			c->nfmts++;
		}
	}
	json_decref(tags);
	mark(p, c->code);
	return 0;
}

/* ---- own prices ---- */

typedef struct {
	own_t o;
	bool bad;
} own_acc_t;

static own_cur_t *own_cur(own_t *o, const char *currency)
{
	for (uint32_t i = 0; i < o->ncur; i++)
		if (memcmp(o->cur[i].currency, currency, 4) == 0)
			return &o->cur[i];
	if (o->ncur == OWN_CUR_MAX || strlen(currency) != 3)
		return NULL;
	own_cur_t *c = &o->cur[o->ncur++];
	memcpy(c->currency, currency, 4);
	return c;
}

/* One version of a product or variant into its own prices' histories: a
 * currency its map lacks (or an archived version) is not on offer then. */
static int own_cb(const store_rec_t *rec, void *arg)
{
	own_acc_t *a = arg;
	json_error_t je;
	json_t *doc = rec->archived ? NULL : json_loadb(rec->doc, rec->doc_len, 0, &je);
	const json_t *map = json_object_get(doc, "price");
	const char *cur;
	json_t *v;
	if (doc && !json_is_object(doc))
		a->bad = true;
	json_object_foreach((json_t *)map, cur, v)
		own_cur(&a->o, cur);
	for (uint32_t i = 0; i < a->o.ncur; i++) {
		own_cur_t *c = &a->o.cur[i];
		json_t *amt = json_object_get(map, c->currency);
		size_t n = c->n;
		price_points_add(c->p, &n, (int64_t)rec->time_ms,
				 json_is_integer(amt) ? json_integer_value(amt) : PRICE_GONE);
		c->n = (uint32_t)n;
	}
	if (doc)
		copy(a->o.sku, sizeof(a->o.sku), json_object_get(doc, "sku"));
	json_decref(doc);
	return 0;
}

/* A product's or variant's own prices: their histories when one changed
 * in the last 30 days. 0 when that changed what the channels' sections
 * hold (all are marked), PROVIDER_UNCHANGED when not (most writes: a
 * title, stock, a first version), or a store error. */
static int take_own(prc_prov_t *p, store_read_t *rt, const char *kind, const store_rec_t *rec)
{
	own_acc_t a;
	memset(&a, 0, sizeof(a));
	own_t *old = table_find(&p->own, &rec->id, false);
	if (!rec->archived && rec->version > 1) {
		/* one version has one amount per currency: nothing to remember */
		int rc = store_read_history(rt, kind, &rec->id, own_cb, &a);
		if (rc)
			return rc;
		int64_t since = (int64_t)souk_now_real_ms() - PRICE_OMNIBUS_MS;
		uint32_t k = 0;
		for (uint32_t i = 0; i < a.o.ncur; i++) {
			own_cur_t *c = &a.o.cur[i];
			size_t n = c->n;
			price_points_prune(c->p, &n, since);
			c->n = (uint32_t)n;
			if (c->n >= 2) /* it changed in the window */
				a.o.cur[k++] = *c;
		}
		memset(&a.o.cur[k], 0, (a.o.ncur - k) * sizeof(a.o.cur[0]));
		a.o.ncur = k;
		if (a.bad)
			p->errors++;
	}
	if (a.o.ncur == 0) {
		if (!old)
			return PROVIDER_UNCHANGED;
		table_del(&p->own, &rec->id);
		mark_all(p);
		return 0;
	}
	a.o.id = rec->id;
	a.o.used = true;
	if (old && memcmp(old, &a.o, sizeof(a.o)) == 0)
		return PROVIDER_UNCHANGED;
	own_t *e = old ? old : table_find(&p->own, &rec->id, true);
	if (!e)
		return SOUK_ENOMEM;
	*e = a.o;
	mark_all(p);
	return 0;
}

static int take(prc_prov_t *p, store_read_t *rt, const char *kind, const store_rec_t *rec)
{
	if (strcmp(kind, "product") == 0 || strcmp(kind, "variant") == 0)
		return take_own(p, rt, kind, rec);
	json_error_t je;
	json_t *doc = NULL;
	if (rec && !rec->archived) {
		doc = json_loadb(rec->doc, rec->doc_len, 0, &je);
		if (!json_is_object(doc)) {
			json_decref(doc);
			p->errors++;
			return 0; /* the last good state stays */
		}
	}
	int rc = strcmp(kind, "price_list") == 0 ? take_list(p, rec, doc)
		 : strcmp(kind, "price") == 0	  ? take_price(p, rt, rec, doc)
						  : take_channel(p, rec, doc);
	json_decref(doc);
	return rc;
}

typedef struct {
	prc_prov_t *p;
	store_read_t *rt;
	const char *kind;
} scan_t;

static int scan_cb(const store_rec_t *rec, void *arg)
{
	scan_t *s = arg;
	int rc = take(s->p, s->rt, s->kind, rec);
	return rc == PROVIDER_UNCHANGED ? 0 : rc;
}

/* products and variants for their own prices' histories only (their
 * current amounts are in the catalog's records) */
static const char *const prc_kinds[] = { "channel", "price_list", "price", "product", "variant",
					 NULL };

static int prc_load(void *st, store_read_t *rt)
{
	prc_prov_t *p = st;
	for (size_t i = 0; prc_kinds[i]; i++) {
		scan_t s = { p, rt, prc_kinds[i] };
		int rc = store_read_scan(rt, prc_kinds[i], scan_cb, &s);
		if (rc)
			return rc;
	}
	mark_all(p);
	return 0;
}

static int prc_apply(void *st, store_read_t *rt, const char *kind, const store_id_t *id)
{
	prc_prov_t *p = st;
	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	int rc = store_read_get(rt, kind, id, &rec);
	if (rc == SOUK_ENOENT) {
		rec.id = *id;
		rec.archived = true;
		rc = 0;
	}
	if (rc == 0)
		rc = take(p, rt, kind, &rec);
	store_rec_deinit(&rec);
	return rc;
}

/* ---- building ---- */

/* Room for one more of n candidates in *in (*cap of them): false when out
 * of memory. */
static bool room(pricing_in_t **in, size_t n, size_t *cap)
{
	if (n < *cap)
		return true;
	pricing_in_t *a = realloc(*in, *cap * 2 * sizeof(**in));
	if (!a)
		return false;
	*in = a;
	*cap *= 2;
	return true;
}

/* One channel's candidates: its active lists' prices (the products' own
 * prices are in the catalog's records, read beside them). */
static int chan_build(prc_prov_t *p, const chan_t *c, uint64_t seq, void **sec, size_t *len)
{
	size_t n = 0, cap = 1024;
	pricing_in_t *in = malloc(cap * sizeof(*in));
	int rc = 0;
	if (!in)
		return SOUK_ENOMEM;
	/* the channel's active lists first: a price's list is then looked up
	 * among those few, not among every list of the mall */
	const list_t **mine = malloc((p->nlist ? p->nlist : 1) * sizeof(*mine));
	size_t nmine = 0;
	if (!mine) {
		free(in);
		return SOUK_ENOMEM;
	}
	for (size_t i = 0; i < p->nlist; i++)
		if (p->list[i].active && strcmp(p->list[i].channel, c->code) == 0)
			mine[nmine++] = &p->list[i];
	for (size_t i = 0; i < p->prices.cap && rc == 0 && nmine; i++) {
		const ent_t *e = table_at(&p->prices, i);
		if (!e->used || !e->sku[0])
			continue;
		const list_t *l = NULL;
		for (size_t k = 0; k < nmine && !l; k++)
			if (strcmp(mine[k]->code, e->list) == 0)
				l = mine[k];
		if (!l)
			continue;
		int64_t until = l->until_ms;
		if (e->gone_ms && (until == 0 || e->gone_ms < until))
			until = e->gone_ms;
		if (!room(&in, n, &cap)) {
			rc = SOUK_ENOMEM;
			break;
		}
		in[n++] = (pricing_in_t){ .sku = e->sku, .list = l->code, .currency = l->currency,
					  .customer = l->customer, .customer_group = l->group,
					  .country = l->country, .kind = l->kind,
					  .priority = l->priority, .amount = e->amount,
					  .min_qty = e->min_qty, .valid_from_ms = l->from_ms,
					  .valid_until_ms = until, .hist = e->hist,
					  .nhist = e->nhist };
	}
	free(mine);
	/* the own prices' history holders, in the channel's currencies */
	for (size_t i = 0; i < p->own.cap && rc == 0; i++) {
		const own_t *o = table_at(&p->own, i);
		if (!o->used || !o->sku[0])
			continue;
		for (uint32_t k = 0; k < o->ncur; k++) {
			const own_cur_t *oc = &o->cur[k];
			bool mine_cur = false;
			for (unsigned j = 0; j < c->ncur && !mine_cur; j++)
				mine_cur = memcmp(c->cur[j], oc->currency, 4) == 0;
			if (!mine_cur)
				continue;
			if (!room(&in, n, &cap)) {
				rc = SOUK_ENOMEM;
				break;
			}
			int64_t now_amount = oc->p[oc->n - 1].amount;
			in[n++] = (pricing_in_t){ .sku = o->sku, .list = PRICING_PRODUCT_LIST,
						  .currency = oc->currency, .kind = PRICE_KIND_BASE,
						  .priority = PRICING_PRODUCT_PRIORITY,
						  .amount = now_amount == PRICE_GONE ? 0 : now_amount,
						  .min_qty = 1, .hist = oc->p, .nhist = oc->n };
		}
	}
	if (rc == 0)
		rc = pricing_build_mem(c->code, in, n, c->fmts, c->nfmts, seq, sec, len, &p->errors);
	free(in);
	return rc;
}

static int dir_build(const prc_prov_t *p, void **sec, size_t *len)
{
	const char *codes[PRICING_CHANNELS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < p->nchan && n < PRICING_CHANNELS_MAX; i++)
		if (p->chan[i].code[0])
			codes[n++] = p->chan[i].code;
	return pricing_dir_mem(codes, n, sec, len);
}

static int add(shm_builder_t *b, const char *name, const void *sec, size_t len, size_t *bytes)
{
	int rc = shm_builder_add(b, name, 8, sec, len);
	if (rc == 0)
		*bytes += len;
	return rc;
}

static void snap_free(prc_snap_t *s)
{
	for (size_t i = 0; s && i < s->n; i++) {
		free(s->name[i]);
		free(s->sec[i]);
	}
	if (s) {
		free(s->name);
		free(s->sec);
		free(s->len);
		free(s->dir);
	}
	free(s);
}

static int prc_snapshot(void *st, void **out)
{
	prc_prov_t *p = st;
	prc_snap_t *s = calloc(1, sizeof(*s));
	int rc = SOUK_ENOMEM;
	if (!s)
		return rc;
	s->name = calloc(p->nchan + 1, sizeof(*s->name));
	s->sec = calloc(p->nchan + 1, sizeof(*s->sec));
	s->len = calloc(p->nchan + 1, sizeof(*s->len));
	if (!s->name || !s->sec || !s->len)
		goto fail;
	for (size_t i = 0; i < p->nchan && i < PRICING_CHANNELS_MAX; i++) {
		if (!(s->name[s->n] = malloc(PRICING_SECT_NAME_MAX)))
			goto fail;
		pricing_section_name(p->chan[i].code, s->name[s->n]);
		s->n++;
		if ((rc = chan_build(p, &p->chan[i], 0, &s->sec[s->n - 1], &s->len[s->n - 1])) != 0)
			goto fail;
	}
	if ((rc = dir_build(p, &s->dir, &s->dir_len)) != 0)
		goto fail;
	dirty_clear(&p->since_snap);
	*out = s;
	return 0;
fail:
	snap_free(s);
	return rc;
}

static int prc_build_base(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes)
{
	const prc_snap_t *s = snap;
	int rc = 0;
	*bytes = 0;
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		pricing_set_seq(s->sec[i], seq);
		rc = add(b, s->name[i], s->sec[i], s->len[i], bytes);
	}
	return rc ? rc : add(b, PRICING_DIR_SECTION, s->dir, s->dir_len, bytes);
}

static void prc_snapshot_free(void *st, void *snap)
{
	snap_free(snap);
}

static int prc_build_delta(void *st, shm_builder_t *b, uint64_t seq, bool since_snapshot,
			   size_t *bytes)
{
	prc_prov_t *p = st;
	int rc = 0;
	bool any = false;
	*bytes = 0;
	const dirty_t *d = since_snapshot ? &p->since_snap : &p->since_base;
	for (size_t i = 0; i < p->nchan && rc == 0; i++) {
		if (!dirty_has(d, p->chan[i].code))
			continue; /* the base's section is current */
		char name[PRICING_SECT_NAME_MAX];
		void *sec = NULL;
		size_t len = 0, copied = 0;
		any = true;
		pricing_section_name(p->chan[i].code, name);
		/* unchanged since the last image: its section as that image has
		 * it (not over this delta's base, or not in it: build it) */
		if (!dirty_has(&p->since_pub, p->chan[i].code) &&
		    shm_builder_copy(b, name, &copied) == 0 && copied > 0) {
			*bytes += copied;
			continue;
		}
		if ((rc = chan_build(p, &p->chan[i], seq, &sec, &len)) == 0)
			rc = add(b, name, sec, len, bytes);
		free(sec);
	}
	if (rc == 0 && (any || d->n > 0)) {
		void *dir = NULL;
		size_t len = 0;
		if ((rc = dir_build(p, &dir, &len)) == 0)
			rc = add(b, PRICING_DIR_SECTION, dir, len, bytes);
		free(dir);
	}
	return rc;
}

static void prc_rebased(void *st, bool ok)
{
	prc_prov_t *p = st;
	if (!ok)
		return;
	memcpy(p->since_base.code, p->since_snap.code, p->since_snap.n * sizeof(*p->since_snap.code));
	p->since_base.n = p->since_snap.n;
	p->since_base.all = p->since_snap.all;
}

static void prc_weight(const void *st, provider_weight_t *w)
{
	const prc_prov_t *p = st;
	memset(w, 0, sizeof(*w));
	/* its own entities: products are the catalog's to count; a delta
	 * rewrites whole channel sections, so it does not grow with changes */
	w->items = w->served = p->prices.n + p->nlist;
	w->delta_items = 0;
	w->heap_bytes = sizeof(*p) + p->prices.cap * sizeof(ent_t) + p->own.cap * sizeof(own_t) +
			p->caplist * sizeof(list_t) + p->capchan * sizeof(chan_t);
	w->errors = p->errors;
}

/* An image with the state is current: what changed since the last one
 * is in it, the rest can be copied from it. */
static void prc_published(void *st, shm_ctl_t *ctl)
{
	prc_prov_t *p = st;
	dirty_clear(&p->since_pub);
}

static void prc_free(void *st)
{
	prc_prov_t *p = st;
	if (!p)
		return;
	for (size_t i = 0; i < p->nchan; i++)
		free(p->chan[i].fmts);
	free(p->chan);
	free(p->list);
	free(p->prices.slot);
	free(p->own.slot);
	free(p->since_base.code);
	free(p->since_snap.code);
	free(p->since_pub.code);
	free(p);
}

const provider_ops_t pricing_provider_ops = {
	.name = "prices",
	.prefix = "prc.",
	.kinds = prc_kinds,
	.load = prc_load,
	.apply = prc_apply,
	.snapshot = prc_snapshot,
	.build_base = prc_build_base,
	.snapshot_free = prc_snapshot_free,
	.build_delta = prc_build_delta,
	.rebased = prc_rebased,
	.weight = prc_weight,
	.published = prc_published,
	.free = prc_free,
	.whole = true,
};

int pricing_provider_new(provider_t *out)
{
	prc_prov_t *p = calloc(1, sizeof(*p));
	if (!p || !(p->since_base.code = calloc(PRICING_CHANNELS_MAX, PRICING_CHANNEL_MAX)) ||
	    !(p->since_snap.code = calloc(PRICING_CHANNELS_MAX, PRICING_CHANNEL_MAX)) ||
	    !(p->since_pub.code = calloc(PRICING_CHANNELS_MAX, PRICING_CHANNEL_MAX))) {
		prc_free(p);
		return SOUK_ENOMEM;
	}
	p->prices.esz = sizeof(ent_t);
	p->own.esz = sizeof(own_t);
	out->ops = &pricing_provider_ops;
	out->st = p;
	return 0;
}
