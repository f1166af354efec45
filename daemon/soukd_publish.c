/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/soukd_publish.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/control.h"
#include "daemon/notify.h"
#include "daemon/prov_settings.h"
#include "daemon/publisher.h"
#include "domain/catalog/provider.h"
#include "daemon/migrate.h"
#include "domain/catalog/category_image.h"
#include "domain/catalog/collection_provider.h"
#include "domain/channel/provider.h"
#include "domain/pricing/provider.h"
#include "shm/shm.h"
#include "store/store.h"

/* While the first image is built: EXTEND_TIMEOUT_USEC of 30 s every 10 s. */
#define SOUKD_START_EXTEND_EVERY_MS 10000
#define SOUKD_START_EXTEND_MS 30000

struct soukd_publish {
	soukd_t *d;
	store_t *store;
	shm_ctl_t *ctl;
	publisher_t *pub;
	char instance[64];
	bool started; /* a clean stop removes the instance's shared memory */
};

static uint32_t clamp_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int cmd_publish(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	soukd_publish_t *sp = arg;
	publisher_stats_t st;
	(void)conn;
	(void)args;
	log_daemon_info("control, publish requested");
	int rc = publisher_publish_now(sp->pub);
	publisher_stats(sp->pub, &st);
	if (rc == 0) {
		json_object_set_new(reply, "generation",
				    json_integer((json_int_t)st.last_generation));
		json_object_set_new(reply, "seq", json_integer((json_int_t)st.last_seq));
		json_object_set_new(reply, "products", json_integer((json_int_t)st.served));
		json_object_set_new(reply, "duration_us",
				    json_integer((json_int_t)st.last_duration_us));
	}
	return rc;
}

static void on_status(soukd_t *d, json_t *status, void *arg)
{
	soukd_publish_t *sp = arg;
	publisher_stats_t st;
	json_t *o = json_object();
	int bad = 0; /* a field that could not be added (out of memory) */
	(void)d;
	if (!o) {
		log_daemon_err("status, the publisher section is missing (out of memory)");
		return;
	}
	publisher_stats(sp->pub, &st);
#define F(name) bad |= json_object_set_new(o, #name, json_integer((json_int_t)st.name))
	F(publishes);
	F(failures);
	F(datagrams);
	F(poll_catchups);
	F(render_errors);
	F(last_generation);
	F(last_seq);
	F(last_publish_ms);
	F(last_duration_us);
	F(max_duration_us);
	F(last_changed);
	F(last_lag_ms);
	F(catalog_bytes);
	F(base_generation);
	F(base_catalog_bytes);
	F(delta_products);
	F(base_rebuilds);
	F(base_rebuilds_size);
	F(base_rebuilds_cost);
	F(base_rebuilds_idle);
	F(base_rebuild_failures);
	F(last_base_build_us);
	F(products);
	F(served);
#undef F
	uint64_t last = 0;
	int src = store_last_seq(sp->store, &last);
	bad |= json_object_set_new(o, "store_last_seq",
				   src == 0 ? json_integer((json_int_t)last) : json_null());
	if (src != 0)
		bad |= json_object_set_new(o, "store_error", json_string(souk_strerror(src)));
	bad |= json_object_set_new(o, "socket", json_string(publisher_socket_path(sp->pub)));
	json_t *pa = json_array();
	publisher_provider_stats_t ps;
	for (size_t i = 0; pa && publisher_provider_stats(sp->pub, i, &ps) == 0; i++) {
		json_t *e = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name", ps.name,
				      "builds", (json_int_t)ps.builds, "copies",
				      (json_int_t)ps.copies, "bytes", (json_int_t)ps.bytes,
				      "base_bytes", (json_int_t)ps.base_bytes, "items",
				      (json_int_t)ps.items, "delta_items",
				      (json_int_t)ps.delta_items);
		bad |= json_array_append_new(pa, e);
	}
	bad |= json_object_set_new(o, "providers", pa ? pa : json_null());
	if (bad | json_object_set_new(status, "publisher", o))
		log_daemon_err("status, fields of the publisher section are missing (out of memory)");
}

static void on_reload(soukd_t *d, const cfg_t *old_cfg, const cfg_t *new_cfg,
		      const cfg_diff_t *diff, void *arg)
{
	soukd_publish_t *sp = arg;
	(void)d;
	(void)diff;
	/* the workers' settings travel in the image: only that section is new */
	if (settings_provider_update(publisher_provider(sp->pub, "settings"), new_cfg) &&
	    publisher_provider_changed(sp->pub, "settings") != 0)
		log_daemon_warn("publisher, new worker settings not published");
	if (channel_provider_set_default(publisher_provider(sp->pub, "channels"),
					 new_cfg->channels.default_code) &&
	    publisher_provider_changed(sp->pub, "channels") != 0)
		log_daemon_warn("publisher, the new default channel is not published");
	if (old_cfg->publish.coalesce_ms == new_cfg->publish.coalesce_ms &&
	    old_cfg->publish.poll_interval_ms == new_cfg->publish.poll_interval_ms &&
	    old_cfg->publish.max_busy_pct == new_cfg->publish.max_busy_pct)
		return;
	if (publisher_set_timing(sp->pub, clamp_u32(new_cfg->publish.coalesce_ms),
				 clamp_u32(new_cfg->publish.poll_interval_ms),
				 clamp_u32(new_cfg->publish.max_busy_pct)) != 0)
		log_daemon_warn("publisher, new timing not applied");
}

int soukd_publish_start(soukd_t *d, soukd_publish_t **out)
{
	soukd_publish_t *sp = NULL;
	const cfg_t *cfg;
	int rc;

	if (!d || !out)
		return SOUK_EINVAL;
	cfg = d->cfg;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return SOUK_ENOMEM;
	sp->d = d;
	/* soukd_start() has not run yet: the socket's directory may be missing */
	rc = souk_mkdir_p(cfg->paths.runtime_dir, 0750);
	if (rc) {
		log_daemon_err("cannot create runtime directory '%s' (%s)", cfg->paths.runtime_dir,
			       souk_strerror(rc));
		goto fail;
	}
	store_opts_t so = {
	    .map_size = cfg->store.map_size,
	    .map_max = cfg->store.map_max,
	    .max_readers = cfg->store.max_readers,
	};
	rc = store_open(cfg->paths.state_dir, &so, &sp->store);
	if (rc) {
		log_daemon_err("cannot open the store in '%s' (%s)", cfg->paths.state_dir,
			       souk_strerror(rc));
		goto fail;
	}
	/* stored documents in their kinds' current shape before any image */
	migrate_stats_t ms = {0};
	if ((rc = migrate_all(sp->store, &ms)) != 0) {
		log_daemon_err("cannot move stored documents to this version's shape (%s)",
			       souk_strerror(rc));
		goto fail;
	}
	if (ms.changed || ms.refused)
		log_daemon_info("migrate, %" PRIu64 " documents rewritten, %" PRIu64
				" already current, %" PRIu64 " kept as stored",
				ms.changed, ms.unchanged, ms.refused);
	rc = shm_ctl_create(cfg->instance, cfg->shm.max_workers, &sp->ctl);
	if (rc) {
		log_daemon_err("cannot create shared memory for instance '%s' (%s)", cfg->instance,
			       souk_strerror(rc));
		goto fail;
	}
	provider_t prov[6];
	catalog_provider_opts_t cpo = {.ctl = sp->ctl};
	if ((rc = catalog_provider_new(&cpo, &prov[0])) != 0)
		goto fail;
	if ((rc = settings_provider_new(cfg, &prov[1])) != 0) {
		prov[0].ops->free(prov[0].st);
		goto fail;
	}
	if ((rc = channel_provider_new(cfg->channels.default_code, &prov[2])) != 0) {
		prov[0].ops->free(prov[0].st);
		prov[1].ops->free(prov[1].st);
		goto fail;
	}
	if ((rc = pricing_provider_new(&prov[3])) != 0) {
		for (int i = 0; i < 3; i++)
			prov[i].ops->free(prov[i].st);
		goto fail;
	}
	if ((rc = category_provider_new(&prov[4])) != 0) {
		for (int i = 0; i < 4; i++)
			prov[i].ops->free(prov[i].st);
		goto fail;
	}
	if ((rc = collection_provider_new(&prov[5])) != 0) {
		for (int i = 0; i < 5; i++)
			prov[i].ops->free(prov[i].st);
		goto fail;
	}
	publisher_opts_t po = {
	    .providers = prov,
	    .nproviders = 6,
	    .runtime_dir = cfg->paths.runtime_dir,
	    .coalesce_ms = clamp_u32(cfg->publish.coalesce_ms),
	    .poll_ms = clamp_u32(cfg->publish.poll_interval_ms),
	    .max_busy_pct = clamp_u32(cfg->publish.max_busy_pct),
	};
	/* the first image is built here, before READY=1: ask systemd for more
	 * start-up time while it runs, however large the catalog */
	notify_startup_t *ns = NULL;
	if (notify_startup_begin(SOUKD_START_EXTEND_EVERY_MS, SOUKD_START_EXTEND_MS, &ns) != 0)
		log_daemon_warn("publisher, start-up time is not extended while the first image is built");
	rc = publisher_new(d->base, sp->store, sp->ctl, &po, &sp->pub);
	notify_startup_end(&ns);
	if (rc) {
		log_daemon_err("publisher, cannot start (%s)", souk_strerror(rc));
		goto fail;
	}
	if ((rc = soukd_on_status(d, on_status, sp)) != 0 ||
	    (rc = soukd_on_reload(d, on_reload, sp)) != 0)
		goto fail;
	snprintf(sp->instance, sizeof(sp->instance), "%s", cfg->instance);
	sp->started = true;
	*out = sp;
	return 0;
fail:
	soukd_publish_free(&sp);
	return rc;
}

int soukd_publish_attach(soukd_publish_t *sp)
{
	if (!sp || !sp->d->ctl)
		return SOUK_EINVAL;
	return ctl_register(sp->d->ctl, "publish", "build and publish a new image now", cmd_publish,
			    sp);
}

void soukd_publish_free(soukd_publish_t **psp)
{
	soukd_publish_t *sp = psp ? *psp : NULL;
	if (!sp)
		return;
	publisher_free(&sp->pub);
	shm_ctl_free(&sp->ctl);
	if (sp->started) {
		/* workers keep their mappings; they re-attach to the next soukd's
		 * segment when shm_ctl_replaced() tells them */
		int rc = shm_ctl_unlink(sp->instance);
		if (rc && rc != SOUK_ENOENT)
			log_daemon_warn("cannot remove shared memory of '%s' (%s)", sp->instance,
					souk_strerror(rc));
	}
	store_close(&sp->store);
	free(sp);
	*psp = NULL;
}

store_t *soukd_publish_store(soukd_publish_t *sp)
{
	return sp != NULL ? sp->store : NULL;
}
