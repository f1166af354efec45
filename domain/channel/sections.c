/* SPDX-License-Identifier: Apache-2.0 */
/* domain/channel/sections.c - the "chn.list" section: building it from
 * channel records, checking it, and resolving a request's channel. */
#include "domain/channel/sections.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/error.h"
#include "common/money.h"

static int rounding_of(const json_t *v)
{
	souk_round_t m;
	const char *s = json_string_value(v);
	return s && souk_money_round_parse(s, &m) == 0 ? (int)m : -1;
}

static int copy_str(char *dst, size_t cap, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	if (!s || n == 0 || n >= cap)
		return SOUK_EINVAL;
	memcpy(dst, s, n + 1);
	return 0;
}

/* Add tag to the record's locales unless it is there already. */
static int add_locale(channel_rec_t *r, const json_t *v)
{
	char tag[SOUK_LOCALE_MAX];
	if (copy_str(tag, sizeof(tag), v) != 0)
		return SOUK_EINVAL;
	for (unsigned i = 0; i < r->nlocales; i++)
		if (strcasecmp(r->locales[i], tag) == 0)
			return 0;
	if (r->nlocales >= CHANNEL_LOCALES_MAX + 1)
		return SOUK_EINVAL;
	memcpy(r->locales[r->nlocales++], tag, sizeof(tag));
	return 0;
}

static int rec_from_doc(const json_t *doc, const store_id_t *id, uint64_t version,
			channel_rec_t *out)
{
	const json_t *cur = json_object_get(doc, "currencies");
	const json_t *loc = json_object_get(doc, "locales");
	const json_t *tax = json_object_get(doc, "tax");
	const json_t *ord = json_object_get(doc, "orders");
	const json_t *v;
	size_t i;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc) || !cur || !loc ||
	    copy_str(out->code, sizeof(out->code), json_object_get(doc, "code")) != 0 ||
	    copy_str(out->currencies[0], 4, json_object_get(cur, "default")) != 0)
		return SOUK_EINVAL;
	out->id = *id;
	out->version = version;
	const char *status = json_string_value(json_object_get(doc, "status"));
	out->active = status == NULL || strcmp(status, "active") == 0;
	out->prices_include_tax = json_is_true(json_object_get(tax, "prices_include_tax"));
	const char *calc = json_string_value(json_object_get(tax, "calculation"));
	out->tax_per_unit = calc != NULL && strcmp(calc, "unit") == 0;
	int r = json_object_get(tax, "rounding") ? rounding_of(json_object_get(tax, "rounding"))
						 : CHANNEL_ROUND_HALF_EVEN;
	if (r < 0)
		return SOUK_EINVAL;
	out->rounding = (uint8_t)r;
	const char *alloc = json_string_value(json_object_get(doc, "allocation"));
	out->most_stock = alloc != NULL && strcmp(alloc, "most_stock") == 0;
	out->auto_confirm = json_is_true(json_object_get(ord, "auto_confirm"));
	json_int_t ttl = json_integer_value(json_object_get(ord, "reservation_ttl_s"));
	out->reservation_ttl_s = ttl > 0 && ttl < UINT32_MAX ? (uint32_t)ttl : 900;
	ttl = json_integer_value(json_object_get(ord, "unpaid_ttl_s"));
	out->unpaid_ttl_s = ttl > 0 && ttl < UINT32_MAX ? (uint32_t)ttl : 86400;
	/* the default currency first, then the other allowed ones */
	out->ncurrencies = 1;
	json_array_foreach(json_object_get(cur, "allowed"), i, v)
	{
		char c[4];
		if (copy_str(c, sizeof(c), v) != 0)
			return SOUK_EINVAL;
		if (strcmp(c, out->currencies[0]) == 0)
			continue;
		if (out->ncurrencies >= CHANNEL_CURRENCIES_MAX)
			return SOUK_EINVAL;
		memcpy(out->currencies[out->ncurrencies++], c, 4);
	}
	const json_t *by_cur = json_object_get(tax, "rounding_by_currency");
	for (i = 0; i < out->ncurrencies; i++) {
		const json_t *o = json_object_get(by_cur, out->currencies[i]);
		int m = o ? rounding_of(o) : out->rounding;
		if (m < 0)
			return SOUK_EINVAL;
		out->currency_rounding[i] = (uint8_t)m;
	}
	if (add_locale(out, json_object_get(loc, "default")) != 0)
		return SOUK_EINVAL;
	json_array_foreach(json_object_get(loc, "fallback"), i, v)
	{
		if (add_locale(out, v) != 0)
			return SOUK_EINVAL;
	}
	size_t n = 0;
	for (i = 0; i < out->nlocales; i++) {
		size_t l = strlen(out->locales[i]);
		if (i > 0)
			out->locale_list[n++] = ',';
		memcpy(out->locale_list + n, out->locales[i], l);
		n += l;
	}
	out->locale_list[n] = '\0';
	out->locale_list_len = (uint32_t)n;
	return 0;
}

int channel_src_from_doc(const json_t *doc, const store_id_t *id, uint64_t version,
			 channel_src_t *out)
{
	const json_t *v;
	size_t i;
	memset(out, 0, sizeof(*out));
	if (rec_from_doc(doc, id, version, &out->rec) != 0)
		return SOUK_EINVAL;
	json_array_foreach(json_object_get(doc, "hostnames"), i, v)
	{
		if (out->nhosts >= CHANNEL_HOSTS_MAX ||
		    copy_str(out->hosts[out->nhosts], CHANNEL_HOST_MAX, v) != 0)
			return SOUK_EINVAL;
		out->nhosts++;
	}
	return 0;
}

static int src_cmp(const void *a, const void *b)
{
	const channel_src_t *x = *(const channel_src_t *const *)a;
	const channel_src_t *y = *(const channel_src_t *const *)b;
	return strcmp(x->rec.code, y->rec.code);
}

static int host_cmp(const void *a, const void *b)
{
	const channel_host_t *x = a, *y = b;
	int c = strcmp(x->host, y->host);
	return c != 0 ? c : (int)x->channel - (int)y->channel;
}

int channel_build_mem(const channel_src_t *const *src, size_t n, const char *default_code,
		      uint64_t seq, void **sec, size_t *len)
{
	size_t nhosts = 0;
	*sec = NULL;
	*len = 0;
	if (n > CHANNEL_IMAGE_MAX)
		return SOUK_ETOOBIG;
	for (size_t i = 0; i < n; i++)
		nhosts += src[i]->nhosts;
	const channel_src_t **sorted = calloc(n ? n : 1, sizeof(*sorted));
	size_t size = sizeof(channel_hdr_t) + n * sizeof(channel_rec_t) +
		      nhosts * sizeof(channel_host_t);
	uint8_t *buf = calloc(1, size);
	if (!buf || !sorted) {
		free(buf);
		free(sorted);
		return SOUK_ENOMEM;
	}
	if (n)
		memcpy(sorted, src, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), src_cmp);
	channel_hdr_t *h = (channel_hdr_t *)buf;
	channel_rec_t *r = (channel_rec_t *)(h + 1);
	channel_host_t *hs = (channel_host_t *)(r + n);
	size_t nh = 0;
	h->default_idx = CHANNEL_NO_DEFAULT;
	for (size_t i = 0; i < n; i++) {
		r[i] = sorted[i]->rec;
		if (default_code && strcmp(r[i].code, default_code) == 0 && r[i].active)
			h->default_idx = (uint32_t)i;
		for (uint32_t j = 0; r[i].active && j < sorted[i]->nhosts; j++) {
			size_t l = strnlen(sorted[i]->hosts[j], CHANNEL_HOST_MAX);
			if (l == 0 || l >= CHANNEL_HOST_MAX)
				continue;
			memcpy(hs[nh].host, sorted[i]->hosts[j], l);
			hs[nh++].channel = (uint16_t)i;
		}
	}
	free(sorted);
	qsort(hs, nh, sizeof(*hs), host_cmp);
	/* one channel per host: the lower record index, that is the lower code */
	size_t w = 0;
	for (size_t i = 0; i < nh; i++)
		if (w == 0 || strcmp(hs[w - 1].host, hs[i].host) != 0)
			hs[w++] = hs[i];
	h->magic = CHANNEL_SEC_MAGIC;
	h->version = CHANNEL_SEC_VERSION;
	h->rec_size = sizeof(channel_rec_t);
	h->count = (uint32_t)n;
	h->nhosts = (uint32_t)w;
	h->seq = seq;
	*sec = buf;
	*len = sizeof(channel_hdr_t) + n * sizeof(channel_rec_t) + w * sizeof(channel_host_t);
	return 0;
}

int channel_build(shm_builder_t *b, const channel_src_t *const *src, size_t n,
		  const char *default_code, uint64_t seq, size_t *bytes)
{
	void *sec = NULL;
	size_t len = 0;
	int rc = channel_build_mem(src, n, default_code, seq, &sec, &len);
	if (rc == 0)
		rc = shm_builder_add(b, CHANNEL_SECTION, 8, sec, len);
	free(sec);
	if (bytes)
		*bytes = rc == 0 ? len : 0;
	return rc;
}

/* ---- reading ---- */

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int channel_view_init_mem(const void *sec, size_t len, channel_view_t *out)
{
	const channel_hdr_t *h = sec;
	memset(out, 0, sizeof(*out));
	if (!sec || len < sizeof(*h) || ((uintptr_t)sec & 7u) != 0 || h->magic != CHANNEL_SEC_MAGIC)
		return SOUK_ECORRUPT;
	if (h->version != CHANNEL_SEC_VERSION || h->rec_size != sizeof(channel_rec_t))
		return SOUK_EVERSION;
	if (h->count > CHANNEL_IMAGE_MAX ||
	    h->nhosts > (uint64_t)CHANNEL_IMAGE_MAX * CHANNEL_HOSTS_MAX ||
	    len != sizeof(*h) + (size_t)h->count * sizeof(channel_rec_t) +
			   (size_t)h->nhosts * sizeof(channel_host_t) ||
	    (h->default_idx != CHANNEL_NO_DEFAULT && h->default_idx >= h->count))
		return SOUK_ECORRUPT;
	const channel_rec_t *r = (const channel_rec_t *)(h + 1);
	const channel_host_t *hs = (const channel_host_t *)(r + h->count);
	uint32_t nactive = 0, only = 0;
	for (uint32_t i = 0; i < h->count; i++) {
		const channel_rec_t *c = &r[i];
		if (!terminated(c->code, sizeof(c->code)) || c->ncurrencies == 0 ||
		    c->ncurrencies > CHANNEL_CURRENCIES_MAX || c->nlocales == 0 ||
		    c->nlocales > CHANNEL_LOCALES_MAX + 1 ||
		    c->locale_list_len >= sizeof(c->locale_list) ||
		    c->locale_list[c->locale_list_len] != '\0' ||
		    (i > 0 && strcmp(r[i - 1].code, c->code) >= 0))
			return SOUK_ECORRUPT;
		for (unsigned j = 0; j < c->ncurrencies; j++)
			if (!terminated(c->currencies[j], 4))
				return SOUK_ECORRUPT;
		for (unsigned j = 0; j < c->nlocales; j++)
			if (!terminated(c->locales[j], SOUK_LOCALE_MAX))
				return SOUK_ECORRUPT;
		if (c->active) {
			nactive++;
			only = i;
		}
	}
	for (uint32_t i = 0; i < h->nhosts; i++)
		if (!terminated(hs[i].host, sizeof(hs[i].host)) || hs[i].channel >= h->count ||
		    (i > 0 && strcmp(hs[i - 1].host, hs[i].host) >= 0))
			return SOUK_ECORRUPT;
	out->hdr = h;
	out->recs = r;
	out->hosts = hs;
	out->count = h->count;
	out->nhosts = h->nhosts;
	out->nactive = nactive;
	out->only_active = only;
	return 0;
}

static int channel_view_bind(const shm_image_t *img, void *view)
{
	const void *data = NULL;
	size_t len = 0;
	int rc = shm_image_section(img, CHANNEL_SECTION, &data, &len);
	if (rc == SOUK_ENOENT) {
		memset(view, 0, sizeof(channel_view_t)); /* no channels */
		return 0;
	}
	return rc != 0 ? rc : channel_view_init_mem(data, len, view);
}

const shm_view_def_t channel_view_def = { "channels", sizeof(channel_view_t), channel_view_bind };

const channel_rec_t *channel_find(const channel_view_t *v, const char *code, size_t len)
{
	size_t lo = 0, hi = v->count;
	if (len == 0 || len > CHANNEL_CODE_MAX)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *c = v->recs[mid].code;
		int cmp = strncmp(c, code, len);
		if (cmp == 0 && c[len] != '\0')
			cmp = 1;
		if (cmp == 0)
			return &v->recs[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* host as the table holds it: without the port, lower case, no final dot;
 * false when it cannot be a hostname of the table. */
static bool host_key(const char *host, char out[CHANNEL_HOST_MAX])
{
	size_t n = 0;
	if (*host == '[')
		return false; /* an IP literal names no storefront */
	for (; host[n] && host[n] != ':'; n++) {
		if (n + 1 >= CHANNEL_HOST_MAX)
			return false;
		char c = host[n];
		out[n] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n > 0;
}

channel_match_t channel_resolve(const channel_view_t *v, const char *header, const char *host,
				const channel_rec_t **out)
{
	*out = NULL;
	if (v->count == 0)
		return header != NULL && *header ? CHANNEL_UNKNOWN : CHANNEL_NONE;
	if (header != NULL && *header) {
		const channel_rec_t *c = channel_find(v, header, strlen(header));
		if (c == NULL || !c->active)
			return CHANNEL_UNKNOWN;
		*out = c;
		return CHANNEL_FOUND;
	}
	char key[CHANNEL_HOST_MAX];
	if (host != NULL && v->nhosts > 0 && host_key(host, key)) {
		size_t lo = 0, hi = v->nhosts;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int cmp = strcmp(v->hosts[mid].host, key);
			if (cmp == 0) {
				*out = &v->recs[v->hosts[mid].channel];
				return CHANNEL_FOUND;
			}
			if (cmp < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	if (v->hdr->default_idx != CHANNEL_NO_DEFAULT) {
		*out = &v->recs[v->hdr->default_idx];
		return CHANNEL_FOUND;
	}
	if (v->nactive == 1) {
		*out = &v->recs[v->only_active];
		return CHANNEL_FOUND;
	}
	return CHANNEL_NO_MATCH;
}

bool channel_has_currency(const channel_rec_t *c, const char *currency)
{
	for (unsigned i = 0; i < c->ncurrencies; i++)
		if (strcmp(c->currencies[i], currency) == 0)
			return true;
	return false;
}

static int rec_locale_at(const void *arg, size_t i, char out[SOUK_LOCALE_MAX])
{
	const channel_rec_t *c = arg;
	memcpy(out, c->locales[i], SOUK_LOCALE_MAX);
	return 0;
}

size_t channel_pick_locale(const channel_rec_t *c, const char *list, size_t list_len)
{
	size_t found = 0;
	if (list == NULL || list_len == 0 ||
	    souk_locale_lookup(list, list_len, c->nlocales, rec_locale_at, c, &found) != 0)
		return 0;
	return found;
}
