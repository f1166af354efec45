/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/prov_settings.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

typedef struct {
	shm_settings_t cur;
	bool since_base; /* changed since the current base */
	bool since_snap; /* ... since the last snapshot */
} set_prov_t;

void settings_from_config(const cfg_t *cfg, shm_settings_t *out)
{
	memset(out, 0, sizeof(*out));
	out->max_json_depth = cfg->fcgi.max_json_depth;
	out->min_seq_wait_ms = cfg->fcgi.min_seq_wait_ms;
	out->request_timeout_ms = cfg->fcgi.request_timeout_ms;
	out->max_body = cfg->fcgi.max_body;
}

static int set_load(void *st, store_read_t *rt)
{
	return 0;
}

static int set_snapshot(void *st, void **snap)
{
	set_prov_t *p = st;
	shm_settings_t *s = malloc(sizeof(*s));
	if (!s)
		return SOUK_ENOMEM;
	*s = p->cur;
	p->since_snap = false;
	*snap = s;
	return 0;
}

static int set_build_base(const void *snap, shm_builder_t *b, uint64_t seq, size_t *bytes)
{
	*bytes = sizeof(shm_settings_t);
	return settings_build(b, snap);
}

static void set_snapshot_free(void *st, void *snap)
{
	free(snap);
}

static int set_build_delta(void *st, shm_builder_t *b, uint64_t seq, bool since_snapshot,
			   size_t *bytes)
{
	set_prov_t *p = st;
	*bytes = 0;
	if (!(since_snapshot ? p->since_snap : p->since_base))
		return 0; /* the base's are current */
	*bytes = sizeof(shm_settings_t);
	return settings_build(b, &p->cur);
}

static void set_rebased(void *st, bool ok)
{
	set_prov_t *p = st;
	if (ok)
		p->since_base = p->since_snap;
}

static void set_weight(const void *st, provider_weight_t *w)
{
	memset(w, 0, sizeof(*w));
	w->heap_bytes = sizeof(set_prov_t);
}

/* Announce the settings generation once an image holding it is current:
 * workers then re-read their limits only when it moves. */
static void set_published(void *st, shm_ctl_t *ctl)
{
	const set_prov_t *p = st;
	if (shm_ctl_settings_gen(ctl) != p->cur.generation)
		shm_ctl_set_settings_gen(ctl, p->cur.generation);
}

static void set_free(void *st)
{
	free(st);
}

static const provider_ops_t settings_provider_ops = {
	.name = "settings",
	.prefix = "set.",
	.kinds = NULL,
	.load = set_load,
	.snapshot = set_snapshot,
	.build_base = set_build_base,
	.snapshot_free = set_snapshot_free,
	.build_delta = set_build_delta,
	.rebased = set_rebased,
	.weight = set_weight,
	.published = set_published,
	.free = set_free,
	.whole = true,
};

int settings_provider_new(const cfg_t *cfg, provider_t *out)
{
	set_prov_t *p;
	if (!cfg || !out)
		return SOUK_EINVAL;
	if (!(p = calloc(1, sizeof(*p))))
		return SOUK_ENOMEM;
	settings_from_config(cfg, &p->cur);
	/* unique across soukd restarts, which may take over a segment still
	 * announcing an earlier soukd's generation (compared for equality) */
	p->cur.generation = souk_now_real_ms();
	out->ops = &settings_provider_ops;
	out->st = p;
	return 0;
}

bool settings_provider_update(provider_t *prov, const cfg_t *cfg)
{
	set_prov_t *p;
	shm_settings_t n;
	if (!prov || prov->ops != &settings_provider_ops || !cfg)
		return false;
	p = prov->st;
	settings_from_config(cfg, &n);
	n.generation = p->cur.generation;
	if (memcmp(&n, &p->cur, sizeof(n)) == 0)
		return false;
	n.generation++;
	p->cur = n;
	p->since_base = p->since_snap = true;
	return true;
}
