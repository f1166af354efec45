/* SPDX-License-Identifier: Apache-2.0 */
/* domain/channel/provider.c - channels into the image (provider.h). */
#include "domain/channel/provider.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "domain/channel/sections.h"

typedef struct {
	channel_src_t **src; /* live channels, any order */
	size_t n, cap;
	char default_code[CHANNEL_CODE_MAX + 1];
	bool since_base, since_snap;
	uint64_t errors;
} chn_prov_t;

typedef struct {
	channel_src_t **src;
	size_t n;
	char default_code[CHANNEL_CODE_MAX + 1];
} chn_snap_t;

static ssize_t find(const chn_prov_t *p, const store_id_t *id)
{
	for (size_t i = 0; i < p->n; i++)
		if (memcmp(&p->src[i]->rec.id, id, sizeof(*id)) == 0)
			return (ssize_t)i;
	return -1;
}

static void drop(chn_prov_t *p, const store_id_t *id)
{
	ssize_t i = find(p, id);
	if (i < 0)
		return;
	free(p->src[i]);
	p->src[i] = p->src[--p->n];
}

/* Take rec's version; one that does not parse keeps the last good one. */
static int take(chn_prov_t *p, const store_rec_t *rec)
{
	if (rec->archived) {
		drop(p, &rec->id);
		return 0;
	}
	json_error_t je;
	json_t *doc = json_loadb(rec->doc, rec->doc_len, 0, &je);
	channel_src_t *s = calloc(1, sizeof(*s));
	int rc = doc && s ? channel_src_from_doc(doc, &rec->id, rec->version, s) : SOUK_ENOMEM;
	json_decref(doc);
	if (rc == SOUK_EINVAL || !doc) {
		char hex[33];
		store_id_hex(&rec->id, hex);
		log_daemon_warn("publisher, channel '%s' version %" PRIu64
				" is not a channel the image can hold, keeping its last good version",
				hex, rec->version);
		p->errors++;
		free(s);
		return 0;
	}
	if (rc) {
		free(s);
		return rc;
	}
	ssize_t i = find(p, &rec->id);
	if (i >= 0) {
		free(p->src[i]);
		p->src[i] = s;
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		channel_src_t **a = realloc(p->src, cap * sizeof(*a));
		if (!a) {
			free(s);
			return SOUK_ENOMEM;
		}
		p->src = a;
		p->cap = cap;
	}
	p->src[p->n++] = s;
	return 0;
}

static int scan_cb(const store_rec_t *rec, void *arg)
{
	return take(arg, rec);
}

static int chn_load(void *st, store_read_t *rt)
{
	chn_prov_t *p = st;
	p->since_base = p->since_snap = true;
	return store_read_scan(rt, "channel", scan_cb, p);
}

static int chn_apply(void *st, store_read_t *rt, const char *kind, const store_id_t *id)
{
	chn_prov_t *p = st;
	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	p->since_base = p->since_snap = true;
	int rc = store_read_get(rt, "channel", id, &rec);
	if (rc == SOUK_ENOENT) {
		drop(p, id);
		return 0;
	}
	if (rc == 0)
		rc = take(p, &rec);
	store_rec_deinit(&rec);
	return rc;
}

static void snap_free(chn_snap_t *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		free(s->src[i]);
	if (s)
		free(s->src);
	free(s);
}

static int chn_snapshot(void *st, void **out)
{
	chn_prov_t *p = st;
	chn_snap_t *s = calloc(1, sizeof(*s));
	if (!s || !(s->src = calloc(p->n ? p->n : 1, sizeof(*s->src)))) {
		free(s);
		return SOUK_ENOMEM;
	}
	for (; s->n < p->n; s->n++) {
		if (!(s->src[s->n] = malloc(sizeof(channel_src_t)))) {
			snap_free(s);
			return SOUK_ENOMEM;
		}
		*s->src[s->n] = *p->src[s->n];
	}
	memcpy(s->default_code, p->default_code, sizeof(s->default_code));
	p->since_snap = false;
	*out = s;
	return 0;
}

static int chn_build_base(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes)
{
	const chn_snap_t *s = snap;
	return channel_build(b, (const channel_src_t *const *)s->src, s->n, s->default_code, seq,
			     bytes);
}

static void chn_snapshot_free(void *st, void *snap)
{
	snap_free(snap);
}

static int chn_build_delta(void *st, shm_builder_t *b, uint64_t seq, bool since_snapshot,
			   size_t *bytes)
{
	chn_prov_t *p = st;
	*bytes = 0;
	if (!(since_snapshot ? p->since_snap : p->since_base))
		return 0; /* the base's section is current */
	return channel_build(b, (const channel_src_t *const *)p->src, p->n, p->default_code, seq,
			     bytes);
}

static void chn_rebased(void *st, bool ok)
{
	chn_prov_t *p = st;
	if (ok)
		p->since_base = p->since_snap;
}

static void chn_weight(const void *st, provider_weight_t *w)
{
	const chn_prov_t *p = st;
	memset(w, 0, sizeof(*w));
	w->items = w->served = p->n;
	w->delta_items = p->since_base ? p->n : 0;
	w->heap_bytes = sizeof(*p) + p->n * sizeof(channel_src_t);
	w->errors = p->errors;
}

static void chn_free(void *st)
{
	chn_prov_t *p = st;
	for (size_t i = 0; p && i < p->n; i++)
		free(p->src[i]);
	if (p)
		free(p->src);
	free(p);
}

static const char *const chn_kinds[] = { "channel", NULL };

const provider_ops_t channel_provider_ops = {
	.name = "channels",
	.prefix = "chn.",
	.kinds = chn_kinds,
	.load = chn_load,
	.apply = chn_apply,
	.snapshot = chn_snapshot,
	.build_base = chn_build_base,
	.snapshot_free = chn_snapshot_free,
	.build_delta = chn_build_delta,
	.rebased = chn_rebased,
	.weight = chn_weight,
	.free = chn_free,
	.whole = true,
};

static void set_code(chn_prov_t *p, const char *code)
{
	snprintf(p->default_code, sizeof(p->default_code), "%s", code ? code : "");
}

int channel_provider_new(const char *default_code, provider_t *out)
{
	chn_prov_t *p;
	if (!out)
		return SOUK_EINVAL;
	if (!(p = calloc(1, sizeof(*p))))
		return SOUK_ENOMEM;
	set_code(p, default_code);
	out->ops = &channel_provider_ops;
	out->st = p;
	return 0;
}

bool channel_provider_set_default(provider_t *prov, const char *default_code)
{
	if (!prov || prov->ops != &channel_provider_ops)
		return false;
	chn_prov_t *p = prov->st;
	if (strcmp(p->default_code, default_code ? default_code : "") == 0)
		return false;
	set_code(p, default_code);
	p->since_base = p->since_snap = true;
	return true;
}
