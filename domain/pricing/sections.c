/* SPDX-License-Identifier: Apache-2.0 */
/* domain/pricing/sections.c - channel price sections (sections.h). */
#include "domain/pricing/sections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/error.h"
#include "common/strtab.h"

struct prc_hdr {
	uint32_t magic;
	uint32_t version;
	char channel[PRICING_CHANNEL_MAX];
	uint64_t seq;
	uint32_t nsku, ncand;
	uint64_t idx_off, idx_len, cand_off, str_off, str_len;
	uint64_t fmt_off, nfmt;
	uint64_t point_off, npoint;
};

struct prc_dir {
	uint32_t magic;
	uint32_t n;
	char code[]; /* n x PRICING_CHANNEL_MAX */
};

static size_t align8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

void pricing_section_name(const char *channel, char out[PRICING_SECT_NAME_MAX])
{
	uint64_t h = XXH3_64bits(channel, strlen(channel));
	snprintf(out, PRICING_SECT_NAME_MAX, "prc.%016llx", (unsigned long long)h);
}

static int in_cmp(const void *a, const void *b)
{
	const pricing_in_t *x = *(const pricing_in_t *const *)a, *y = *(const pricing_in_t *const *)b;
	return strcmp(x->sku, y->sku);
}

/* A string of the section: its offset + 1 (0: none). A channel's lists are
 * few, so their fields repeat; the SKU is in the index only. */
static uint32_t str_put(strtab_t *t, const char *v, int *err)
{
	size_t n = v ? strlen(v) : 0;
	if (n == 0)
		return 0;
	uint32_t off = strtab_put(t, v, n, err);
	return *err ? 0 : off + 1;
}

int pricing_build_mem(const char *channel, const pricing_in_t *in, size_t n,
		      const pricing_fmt_t *fmts, size_t nfmts, uint64_t seq, void **sec, size_t *len,
		      uint64_t *dropped)
{
	const pricing_in_t **sorted = malloc((n ? n : 1) * sizeof(*sorted));
	prc_cand_t *cands = calloc(n ? n : 1, sizeof(*cands));
	shm_hidx_entry_t *ents = calloc(n ? n : 1, sizeof(*ents));
	strtab_t sb = {0};
	size_t npoints = 0, pts_cap = 0;
	price_point_t *pts = NULL;
	int rc = 0;
	size_t nsku = 0, keys = 0;
	*sec = NULL;
	*len = 0;
	if (!sorted || !cands || !ents) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	if (strlen(channel) >= PRICING_CHANNEL_MAX) {
		rc = SOUK_EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = &in[i];
	qsort(sorted, n, sizeof(*sorted), in_cmp);
	size_t w = 0; /* candidates written */
	for (size_t i = 0; i < n && rc == 0; i++) {
		const pricing_in_t *p = sorted[i];
		bool first = i == 0 || strcmp(sorted[i - 1]->sku, p->sku) != 0;
		if (!first && (ents[nsku - 1].value & 0xffffu) >= PRICING_SKU_CANDS_MAX) {
			if (dropped)
				(*dropped)++; /* the image holds a bounded set per SKU */
			continue;
		}
		prc_cand_t *c = &cands[w];
		c->amount = p->amount;
		c->min_qty = p->min_qty;
		c->valid_from_ms = p->valid_from_ms;
		c->valid_until_ms = p->valid_until_ms;
		c->priority = p->priority;
		c->kind = (uint8_t)p->kind;
		snprintf(c->currency, sizeof(c->currency), "%s", p->currency);
		c->list_off = str_put(&sb, p->list, &rc);
		c->customer_off = str_put(&sb, p->customer, &rc);
		c->group_off = str_put(&sb, p->customer_group, &rc);
		c->country_off = str_put(&sb, p->country, &rc);
		c->hist_first = (uint32_t)npoints;
		c->nhist = (uint32_t)(p->nhist < PRICE_HIST_MAX ? p->nhist : PRICE_HIST_MAX);
		if (c->nhist && npoints + c->nhist > pts_cap) {
			size_t cap = pts_cap ? pts_cap * 2 : 1024;
			price_point_t *np = realloc(pts, cap * sizeof(*np));
			if (!np) {
				rc = SOUK_ENOMEM;
				break;
			}
			pts = np;
			pts_cap = cap;
		}
		if (c->nhist)
			memcpy(pts + npoints, p->hist, c->nhist * sizeof(*pts));
		npoints += c->nhist;
		if (first) {
			ents[nsku].key = p->sku;
			ents[nsku].key_len = (uint32_t)strlen(p->sku);
			ents[nsku].value = (uint64_t)w << 16;
			keys += ents[nsku].key_len;
			nsku++;
		}
		ents[nsku - 1].value++;
		w++;
	}
	n = w;
	if (rc)
		goto out;
	size_t idx_len = shm_hidx_size(nsku, keys);
	size_t idx_off = align8(sizeof(struct prc_hdr));
	size_t cand_off = align8(idx_off + idx_len);
	size_t str_off = cand_off + n * sizeof(prc_cand_t);
	if (nfmts > PRICING_FMTS_MAX)
		nfmts = PRICING_FMTS_MAX;
	size_t fmt_off = align8(str_off + sb.len);
	size_t point_off = fmt_off + nfmts * sizeof(pricing_fmt_t);
	size_t total = point_off + npoints * sizeof(price_point_t);
	uint8_t *buf = calloc(1, total);
	if (!buf) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	struct prc_hdr *h = (struct prc_hdr *)buf;
	h->magic = PRICING_SEC_MAGIC;
	h->version = PRICING_SEC_VERSION;
	memcpy(h->channel, channel, strlen(channel));
	h->seq = seq;
	h->nsku = (uint32_t)nsku;
	h->ncand = (uint32_t)n;
	h->idx_off = idx_off;
	h->idx_len = idx_len;
	h->cand_off = cand_off;
	h->str_off = str_off;
	h->str_len = sb.len;
	h->fmt_off = fmt_off;
	h->nfmt = nfmts;
	h->point_off = point_off;
	h->npoint = npoints;
	if ((rc = shm_hidx_build(ents, nsku, buf + idx_off, idx_len)) != 0) {
		free(buf);
		goto out;
	}
	memcpy(buf + cand_off, cands, n * sizeof(prc_cand_t));
	if (sb.len)
		memcpy(buf + str_off, sb.buf, sb.len);
	if (nfmts)
		memcpy(buf + fmt_off, fmts, nfmts * sizeof(pricing_fmt_t));
	if (npoints)
		memcpy(buf + point_off, pts, npoints * sizeof(price_point_t));
	*sec = buf;
	*len = total;
out:
	free(sorted);
	free(cands);
	free(ents);
	strtab_free(&sb);
	free(pts);
	return rc;
}

void pricing_set_seq(void *sec, uint64_t seq)
{
	((struct prc_hdr *)sec)->seq = seq;
}

static int code_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pricing_dir_mem(const char *const *channels, size_t n, void **sec, size_t *len)
{
	if (n > PRICING_CHANNELS_MAX)
		return SOUK_ETOOBIG;
	const char **s = malloc((n ? n : 1) * sizeof(*s));
	size_t total = align8(sizeof(struct prc_dir) + n * PRICING_CHANNEL_MAX);
	struct prc_dir *d = calloc(1, total);
	if (!s || !d) {
		free(s);
		free(d);
		return SOUK_ENOMEM;
	}
	memcpy(s, channels, n * sizeof(*s));
	qsort(s, n, sizeof(*s), code_cmp);
	d->magic = PRICING_DIR_MAGIC;
	d->n = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (strlen(s[i]) >= PRICING_CHANNEL_MAX) {
			free(s);
			free(d);
			return SOUK_EINVAL;
		}
		memcpy(d->code + i * PRICING_CHANNEL_MAX, s[i], strlen(s[i]));
	}
	free(s);
	*sec = d;
	*len = total;
	return 0;
}

/* ---- reading ---- */

int pricing_chan_init(const void *sec, size_t len, pricing_chan_t *out)
{
	const struct prc_hdr *h = sec;
	memset(out, 0, sizeof(*out));
	if (!sec || len < sizeof(*h) || ((uintptr_t)sec & 7u) || h->magic != PRICING_SEC_MAGIC)
		return SOUK_ECORRUPT;
	if (h->version != PRICING_SEC_VERSION)
		return SOUK_EVERSION;
	if (memchr(h->channel, '\0', sizeof(h->channel)) == NULL || h->idx_off > len ||
	    h->idx_len > len - h->idx_off || (h->idx_off & 7u) || (h->cand_off & 7u) ||
	    h->cand_off > len || (uint64_t)h->ncand * sizeof(prc_cand_t) > len - h->cand_off ||
	    h->str_off != h->cand_off + (uint64_t)h->ncand * sizeof(prc_cand_t) ||
	    h->str_len > len - h->str_off ||
	    (h->str_len && ((const char *)sec)[h->str_off + h->str_len - 1] != '\0') ||
	    (h->fmt_off & 7u) || h->fmt_off > len || h->nfmt > PRICING_FMTS_MAX ||
	    h->nfmt * sizeof(pricing_fmt_t) > len - h->fmt_off || (h->point_off & 7u) ||
	    h->point_off > len || h->npoint > UINT32_MAX ||
	    h->npoint * sizeof(price_point_t) > len - h->point_off)
		return SOUK_ECORRUPT;
	out->base = sec;
	out->len = len;
	out->idx = (const uint8_t *)sec + h->idx_off;
	out->idx_len = h->idx_len;
	out->cands = (const prc_cand_t *)((const uint8_t *)sec + h->cand_off);
	out->ncand = h->ncand;
	out->str = (const char *)sec + h->str_off;
	out->str_len = h->str_len;
	out->seq = h->seq;
	out->fmts = (const pricing_fmt_t *)((const uint8_t *)sec + h->fmt_off);
	out->nfmts = (uint32_t)h->nfmt;
	out->points = (const price_point_t *)((const uint8_t *)sec + h->point_off);
	out->npoints = (uint32_t)h->npoint;
	for (uint32_t i = 0; i < out->nfmts; i++) {
		const pricing_fmt_t *f = &out->fmts[i];
		const money_fmt_t *m = &f->fmt;
		bool ok = memchr(f->locale, 0, sizeof(f->locale)) && memchr(f->currency, 0, 4) &&
			  memchr(m->pos_prefix, 0, MONEY_AFFIX_MAX) &&
			  memchr(m->pos_suffix, 0, MONEY_AFFIX_MAX) &&
			  memchr(m->neg_prefix, 0, MONEY_AFFIX_MAX) &&
			  memchr(m->neg_suffix, 0, MONEY_AFFIX_MAX) &&
			  memchr(m->decimal, 0, MONEY_SYMBOL_MAX) &&
			  memchr(m->group, 0, MONEY_SYMBOL_MAX) && m->frac <= 4;
		for (int d = 0; ok && d < 10; d++)
			ok = memchr(m->digit[d], 0, MONEY_SYMBOL_MAX) != NULL;
		if (!ok)
			return SOUK_ECORRUPT;
	}
	return 0;
}

static int pricing_view_bind(const shm_image_t *img, void *view)
{
	pricing_view_t *v = view;
	const void *data;
	size_t len;
	int rc = shm_image_section(img, PRICING_DIR_SECTION, &data, &len);
	memset(v, 0, sizeof(*v));
	if (rc == SOUK_ENOENT)
		return 0;
	const struct prc_dir *d = data;
	if (rc)
		return rc;
	if (len < sizeof(*d) || d->magic != PRICING_DIR_MAGIC || d->n > PRICING_CHANNELS_MAX ||
	    len < sizeof(*d) + (size_t)d->n * PRICING_CHANNEL_MAX)
		return SOUK_ECORRUPT;
	for (uint32_t i = 0; i < d->n; i++) {
		const char *code = d->code + (size_t)i * PRICING_CHANNEL_MAX;
		char name[PRICING_SECT_NAME_MAX];
		if (memchr(code, '\0', PRICING_CHANNEL_MAX) == NULL ||
		    (i > 0 && strcmp(v->code[i - 1], code) >= 0))
			return SOUK_ECORRUPT;
		memcpy(v->code[i], code, PRICING_CHANNEL_MAX);
		pricing_section_name(code, name);
		if ((rc = shm_image_section(img, name, &data, &len)) != 0 ||
		    (rc = pricing_chan_init(data, len, &v->chan[i])) != 0)
			return rc == SOUK_ENOENT ? SOUK_ECORRUPT : rc;
		const struct prc_hdr *h = data;
		if (strcmp(h->channel, code) != 0)
			return SOUK_ECORRUPT; /* another channel's: a hash collision */
	}
	v->n = d->n;
	return 0;
}

const shm_view_def_t pricing_view_def = { "prices", sizeof(pricing_view_t), pricing_view_bind };

const pricing_chan_t *pricing_channel(const pricing_view_t *v, const char *code)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(v->code[mid], code, PRICING_CHANNEL_MAX);
		if (c == 0)
			return &v->chan[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const money_fmt_t *pricing_format(const pricing_chan_t *c, const char *locale,
				  const char *currency)
{
	for (uint32_t i = 0; i < c->nfmts; i++) {
		const pricing_fmt_t *f = &c->fmts[i];
		if (strncmp(f->locale, locale, sizeof(f->locale)) == 0 &&
		    memcmp(f->currency, currency, 4) == 0)
			return &f->fmt;
	}
	return NULL;
}

static const char *str_at(const pricing_chan_t *c, uint32_t off)
{
	if (off == 0 || off > c->str_len)
		return NULL;
	return c->str + off - 1; /* NUL-terminated: the section ends with a NUL */
}

int pricing_candidates(const pricing_chan_t *c, const char *sku, size_t sku_len,
		       price_cand_t *out, pricing_hist_t *hist, size_t cap)
{
	uint64_t v;
	int rc = shm_hidx_lookup(c->idx, c->idx_len, sku, (uint32_t)sku_len, &v);
	if (rc == SOUK_ENOENT)
		return 0;
	if (rc)
		return rc;
	uint64_t first = v >> 16, n = v & 0xffffu;
	if (first > c->ncand || n > c->ncand - first || n > PRICING_SKU_CANDS_MAX)
		return SOUK_ECORRUPT;
	if (n > cap)
		n = cap;
	for (uint64_t i = 0; i < n; i++) {
		const prc_cand_t *p = &c->cands[first + i];
		price_cand_t *o = &out[i];
		if (memchr(p->currency, '\0', sizeof(p->currency)) == NULL || p->min_qty < 1 ||
		    p->kind > PRICE_KIND_SALE || (o->list = str_at(c, p->list_off)) == NULL)
			return SOUK_ECORRUPT;
		o->list_index = (uint32_t)(first + i);
		o->currency = p->currency;
		o->kind = (price_kind_t)p->kind;
		o->priority = p->priority;
		o->customer = str_at(c, p->customer_off);
		o->customer_group = str_at(c, p->group_off);
		o->country = str_at(c, p->country_off);
		o->valid_from_ms = p->valid_from_ms;
		o->valid_until_ms = p->valid_until_ms;
		o->amount = p->amount;
		o->min_qty = p->min_qty;
		if (hist) {
			if (p->hist_first > c->npoints || p->nhist > c->npoints - p->hist_first ||
			    p->nhist > PRICE_HIST_MAX)
				return SOUK_ECORRUPT;
			hist[i].p = c->points + p->hist_first;
			hist[i].n = p->nhist;
		}
	}
	return (int)n;
}
