/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/collection_image.c - collections in the image
 * (collection_image.h): the section and its view. */
#include "domain/catalog/collection_image.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/locale.h"
#include "common/strtab.h"

struct col_hdr {
	uint32_t magic;
	uint32_t n;
	uint32_t nnames;
	uint32_t nmembers;
	uint32_t nslots; /* a power of two, at least twice nmembers */
	uint32_t pad;
	uint64_t str_len;
	uint64_t seq;
};

/* The membership index: nslots member indexes (COL_IMG_NONE: empty) by
 * the hash of (collection index, product id), linear probing. One
 * uint32_t per slot, built in place: writing it costs about as much as
 * copying the members. */
#define SLOTS_MAX (1u << 30)

static size_t align8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

static uint32_t slot_hash(uint32_t coll, const store_id_t *id, uint32_t mask)
{
	return (uint32_t)shm_hash64(id->b, 16, coll) & mask;
}

typedef struct {
	size_t nodes, names, members, slots, str, total;
} layout_t;

static void layout(uint32_t n, uint32_t nnames, uint32_t nmembers, uint32_t nslots, size_t str_len,
		   layout_t *l)
{
	l->nodes = align8(sizeof(struct col_hdr));
	l->names = l->nodes + (size_t)n * sizeof(col_rec_t);
	l->members = align8(l->names + (size_t)nnames * sizeof(col_name_t));
	l->slots = l->members + (size_t)nmembers * sizeof(store_id_t);
	l->str = align8(l->slots + (size_t)nslots * sizeof(uint32_t));
	l->total = align8(l->str + str_len);
}

static int src_cmp(const void *a, const void *b)
{
	const col_src_t *x = *(const col_src_t *const *)a, *y = *(const col_src_t *const *)b;
	return strcmp(x->code, y->code);
}

/* ---- building ---- */

int col_build_mem(const col_src_t *c, size_t n, uint64_t seq, void **sec, size_t *len)
{
	int rc = 0;
	size_t nnames = 0, nmembers = 0, k = 0;
	*sec = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		nnames += json_object_size(c[i].name);
		nmembers += c[i].nmembers;
	}
	if (n > (1u << 24) || nnames > (1u << 26) || nmembers > SLOTS_MAX / 2)
		return SOUK_ETOOBIG;
	uint32_t nslots = 8;
	while (nslots < 2 * nmembers)
		nslots *= 2;
	const col_src_t **by = calloc(n ? n : 1, sizeof(*by));
	col_rec_t *recs = calloc(n ? n : 1, sizeof(*recs));
	col_name_t *names = calloc(nnames ? nnames : 1, sizeof(*names));
	strtab_t sb = {0};
	uint8_t *buf = NULL;
	if (!by || !recs || !names) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		by[i] = &c[i];
	qsort(by, n, sizeof(*by), src_cmp);
	for (size_t i = 0, m = 0; rc == 0 && i < n; i++) {
		const col_src_t *s = by[i];
		col_rec_t *o = &recs[i];
		const char *loc;
		json_t *txt;
		if (i > 0 && strcmp(by[i - 1]->code, s->code) == 0) {
			rc = SOUK_EEXIST;
			break;
		}
		o->code_len = (uint32_t)strlen(s->code);
		o->code_off = strtab_put(&sb, s->code, o->code_len, &rc);
		o->kind = s->kind;
		o->names_first = (uint32_t)k;
		json_object_foreach((json_t *)s->name, loc, txt)
		{
			if (!json_is_string(txt))
				continue;
			names[k].locale_off = strtab_put(&sb, loc, strlen(loc), &rc);
			names[k].name_off =
			    strtab_put(&sb, json_string_value(txt), json_string_length(txt), &rc);
			names[k].rtl = strcmp(souk_locale_direction(loc), "rtl") == 0;
			k++;
		}
		o->nnames = (uint32_t)(k - o->names_first);
		o->members_first = (uint32_t)m;
		o->nmembers = (uint32_t)s->nmembers;
		m += s->nmembers;
	}
	if (rc)
		goto out;
	layout_t l;
	layout((uint32_t)n, (uint32_t)k, (uint32_t)nmembers, nslots, sb.len, &l);
	if (!(buf = malloc(l.total))) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	memset(buf, 0, l.members); /* header, records, names and their padding */
	struct col_hdr *h = (struct col_hdr *)buf;
	*h = (struct col_hdr){.magic = COLLECTION_SEC_MAGIC,
			      .n = (uint32_t)n,
			      .nnames = (uint32_t)k,
			      .nmembers = (uint32_t)nmembers,
			      .nslots = nslots,
			      .str_len = sb.len,
			      .seq = seq};
	if (n)
		memcpy(buf + l.nodes, recs, n * sizeof(col_rec_t));
	if (k)
		memcpy(buf + l.names, names, k * sizeof(col_name_t));
	store_id_t *members = (store_id_t *)(buf + l.members);
	uint32_t *slots = (uint32_t *)(buf + l.slots), mask = nslots - 1;
	memset(slots, 0xff, (size_t)nslots * sizeof(*slots));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const col_rec_t *o = &recs[i];
		if (o->nmembers)
			memcpy(&members[o->members_first], by[i]->members,
			       o->nmembers * sizeof(store_id_t));
		for (uint32_t j = 0; j < o->nmembers; j++) {
			uint32_t m = o->members_first + j,
				 b = slot_hash((uint32_t)i, &members[m], mask);
			for (; slots[b] != COL_IMG_NONE; b = (b + 1) & mask)
				if (slots[b] >= o->members_first &&
				    memcmp(members[slots[b]].b, members[m].b, 16) == 0) {
					rc = SOUK_EEXIST; /* a product twice in one collection */
					break;
				}
			slots[b] = m;
		}
	}
	if (rc)
		goto out;
	memset(buf + l.str, 0, l.total - l.str);
	if (sb.len)
		memcpy(buf + l.str, sb.buf, sb.len);
	*sec = buf;
	*len = l.total;
	buf = NULL;
out:
	free(buf);
	free(by);
	free(recs);
	free(names);
	strtab_free(&sb);
	return rc;
}

/* ---- reading ---- */

int col_view_init_mem(const void *sec, size_t len, col_view_t *out)
{
	const struct col_hdr *h = sec;
	const uint8_t *base = sec;
	layout_t l;
	memset(out, 0, sizeof(*out));
	if (!sec || len < sizeof(*h) || ((uintptr_t)sec & 7u) || h->magic != COLLECTION_SEC_MAGIC ||
	    h->n > (1u << 24) || h->nnames > (1u << 26) || h->nmembers > SLOTS_MAX / 2 ||
	    h->nslots > SLOTS_MAX || h->nslots < 2 * h->nmembers || h->nslots < 8 ||
	    (h->nslots & (h->nslots - 1)) || h->str_len > len)
		return SOUK_ECORRUPT;
	layout(h->n, h->nnames, h->nmembers, h->nslots, (size_t)h->str_len, &l);
	if (l.total > len || (h->str_len && base[l.str + h->str_len - 1] != '\0'))
		return SOUK_ECORRUPT;
	const col_rec_t *recs = (const col_rec_t *)(base + l.nodes);
	const col_name_t *names = (const col_name_t *)(base + l.names);
	const uint32_t *slots = (const uint32_t *)(base + l.slots);
	const char *str = (const char *)base + l.str;
	for (uint32_t i = 0; i < h->n; i++) {
		const col_rec_t *x = &recs[i];
		if (x->code_off >= h->str_len || x->code_len > h->str_len - x->code_off ||
		    str[x->code_off + x->code_len] != '\0' || x->kind > COL_KIND_RULE ||
		    x->names_first > h->nnames || x->nnames > h->nnames - x->names_first ||
		    x->members_first > h->nmembers ||
		    x->nmembers > h->nmembers - x->members_first ||
		    (i > 0 && strcmp(str + recs[i - 1].code_off, str + x->code_off) >= 0))
			return SOUK_ECORRUPT;
	}
	for (uint32_t i = 0; i < h->nnames; i++)
		if (names[i].locale_off >= h->str_len || names[i].name_off >= h->str_len)
			return SOUK_ECORRUPT;
	for (uint32_t i = 0; i < h->nslots; i++)
		if (slots[i] != COL_IMG_NONE && slots[i] >= h->nmembers)
			return SOUK_ECORRUPT;
	out->hdr = h;
	out->recs = recs;
	out->names = names;
	out->members = (const store_id_t *)(base + l.members);
	out->slots = slots;
	out->nslots = h->nslots;
	out->str = str;
	out->n = h->n;
	out->nnames = h->nnames;
	out->nmembers = h->nmembers;
	out->str_len = (size_t)h->str_len;
	out->seq = h->seq;
	return 0;
}

static int col_view_bind(const shm_image_t *img, void *view)
{
	const void *data = NULL;
	size_t len = 0;
	int rc = shm_image_section(img, COLLECTION_SECTION, &data, &len);
	if (rc == SOUK_ENOENT) {
		memset(view, 0, sizeof(col_view_t));
		return 0;
	}
	return rc ? rc : col_view_init_mem(data, len, view);
}

const shm_view_def_t col_view_def = {"collections", sizeof(col_view_t), col_view_bind};

typedef struct {
	const char *code;
	size_t len;
} code_key_t;

static int code_cmp(const void *key, const void *rec, void *arg)
{
	const code_key_t *k = key;
	const col_rec_t *x = rec;
	const col_view_t *v = arg;
	size_t m = x->code_len < k->len ? x->code_len : k->len;
	int c = memcmp(k->code, v->str + x->code_off, m);
	return c ? c : (k->len > x->code_len) - (k->len < x->code_len);
}

uint32_t col_find(const col_view_t *v, const char *code, size_t len)
{
	code_key_t k = {code, len};
	const void *rec;
	if (!v->n || shm_sorted_find(v->recs, (size_t)v->n * sizeof(col_rec_t), sizeof(col_rec_t),
				     &k, code_cmp, (void *)v, &rec) != 0)
		return COL_IMG_NONE;
	return (uint32_t)((const col_rec_t *)rec - v->recs);
}

typedef struct {
	const col_view_t *v;
	const col_rec_t *x;
} names_arg_t;

static int name_locale_at(const void *arg, size_t i, char out[SOUK_LOCALE_MAX])
{
	const names_arg_t *a = arg;
	snprintf(out, SOUK_LOCALE_MAX, "%s",
		 a->v->str + a->v->names[a->x->names_first + i].locale_off);
	return 0;
}

const char *col_name(const col_view_t *v, uint32_t i, const char *list, size_t list_len,
		     const char **locale, bool *rtl)
{
	const col_rec_t *x = &v->recs[i];
	names_arg_t a = {v, x};
	size_t found = 0;
	if (locale)
		*locale = "";
	if (rtl)
		*rtl = false;
	if (x->nnames == 0)
		return v->str + x->code_off;
	if (!list || !list_len ||
	    souk_locale_lookup(list, list_len, x->nnames, name_locale_at, &a, &found) != 0)
		found = 0;
	const col_name_t *nm = &v->names[x->names_first + found];
	if (locale)
		*locale = v->str + nm->locale_off;
	if (rtl)
		*rtl = nm->rtl != 0;
	return v->str + nm->name_off;
}

uint32_t col_member(const col_view_t *v, uint32_t i, const store_id_t *id)
{
	if (i >= v->n || v->nslots == 0)
		return COL_IMG_NONE;
	const col_rec_t *x = &v->recs[i];
	uint32_t mask = v->nslots - 1, b = slot_hash(i, id, mask);
	/* at least half the slots are empty; the bound holds a damaged
	 * index to one pass */
	for (uint32_t probes = 0; probes < v->nslots; probes++, b = (b + 1) & mask) {
		uint32_t m = v->slots[b];
		if (m == COL_IMG_NONE)
			break;
		if (m >= x->members_first && m - x->members_first < x->nmembers &&
		    memcmp(v->members[m].b, id->b, 16) == 0)
			return m;
	}
	return COL_IMG_NONE;
}

uint32_t col_resume(const col_view_t *v, uint32_t i, uint32_t pos, const store_id_t *id)
{
	const col_rec_t *x = &v->recs[i];
	uint32_t end = x->members_first + x->nmembers;
	uint32_t m = col_member(v, i, id);
	if (m != COL_IMG_NONE)
		return m + 1;
	if (x->kind == COL_KIND_MANUAL)
		return pos < x->nmembers ? x->members_first + pos : end;
	/* rule collections are in id order: the first member above id */
	uint32_t lo = x->members_first, hi = end;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (memcmp(v->members[mid].b, id->b, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void col_cursor_make(uint32_t pos, const store_id_t *id, char out[COL_CURSOR_MAX])
{
	char hex[33];
	store_id_hex(id, hex);
	snprintf(out, COL_CURSOR_MAX, "%" PRIu32 ".%s", pos, hex);
}

int col_cursor_parse(const char *s, size_t n, uint32_t *pos, store_id_t *id)
{
	const char *dot = memchr(s, '.', n);
	char hex[33];
	uint64_t v = 0;
	size_t digits = dot ? (size_t)(dot - s) : 0;
	if (!dot || digits == 0 || digits > 10 || n - digits != 33)
		return SOUK_EINVAL;
	for (size_t i = 0; i < digits; i++) {
		if (s[i] < '0' || s[i] > '9')
			return SOUK_EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	memcpy(hex, dot + 1, 32);
	hex[32] = '\0';
	if (v > UINT32_MAX || memchr(hex, '\0', 32) || store_id_parse(hex, id) != 0)
		return SOUK_EINVAL;
	*pos = (uint32_t)v;
	return 0;
}
