#include "daemon/jobs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "config/config.h"

#define JOBS_MAGIC 0x4a4f4253u /* "JOBS" */
#define IDEM_PERIOD_MS (10ull * 60 * 1000)

struct soukd_jobs {
	uint32_t magic;
	soukd_t *d;
	store_t *store;
	struct event *ev_checkpoint;
	struct event *ev_idem;
	/* figures for status */
	uint64_t checkpoints;
	uint64_t checkpoint_failures;
	uint64_t last_checkpoint_size;
	uint64_t last_checkpoint_ms;
	uint64_t idem_runs;
	uint64_t idem_removed;
	uint64_t last_idem_ms;
};

static void arm(struct event *ev, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	event_add(ev, &tv);
}

static uint64_t idem_period(const cfg_t *cfg)
{
	uint64_t p = cfg->fcgi.idempotency_ttl_ms / 4;
	return p < IDEM_PERIOD_MS ? (p < 1000 ? 1000 : p) : IDEM_PERIOD_MS;
}

static void run_checkpoint(soukd_jobs_t *j)
{
	const cfg_t *cfg = j->d->cfg;
	const char *key = cfg->audit.signing_key_file;
	store_checkpoint_t cp;
	char text[STORE_CHECKPOINT_TEXT_MAX];
	uint64_t size = 0;
	uint8_t root[32];
	int ret;

	if (key == NULL || key[0] == '\0' || access(key, F_OK) != 0)
		return; /* unsigned deployment: nothing to do */
	if (store_audit_root(j->store, &size, root) != 0 || size == 0 ||
	    size == j->last_checkpoint_size)
		return; /* nothing new to vouch for */
	ret = store_audit_checkpoint(j->store, key, &cp, text);
	if (ret != 0) {
		j->checkpoint_failures++;
		log_msg(LOG_ERR, "audit", "checkpoint failed, key '%s' (%s)", key,
			souk_strerror(ret));
		return;
	}
	j->checkpoints++;
	j->last_checkpoint_size = cp.size;
	j->last_checkpoint_ms = cp.time_ms;
	log_msg(LOG_INFO, "audit", "signed checkpoint at tree size %llu",
		(unsigned long long)cp.size);
}

static void run_idem(soukd_jobs_t *j)
{
	uint64_t removed = 0, now = souk_now_real_ms();
	uint64_t ttl = j->d->cfg->fcgi.idempotency_ttl_ms;
	int ret;

	if (now <= ttl)
		return;
	ret = store_idem_expire(j->store, now - ttl, &removed);
	if (ret != 0) {
		log_msg(LOG_WARNING, "store", "idempotency keys, expiry failed (%s)",
			souk_strerror(ret));
		return;
	}
	j->idem_runs++;
	j->idem_removed += removed;
	j->last_idem_ms = now;
	if (removed > 0)
		log_msg(LOG_INFO, "store", "idempotency keys, forgot %llu older than %llu s",
			(unsigned long long)removed, (unsigned long long)(ttl / 1000));
}

static void checkpoint_cb(evutil_socket_t fd, short what, void *arg)
{
	soukd_jobs_t *j = arg;
	(void)fd;
	(void)what;
	run_checkpoint(j);
	arm(j->ev_checkpoint, j->d->cfg->audit.checkpoint_interval_ms);
}

static void idem_cb(evutil_socket_t fd, short what, void *arg)
{
	soukd_jobs_t *j = arg;
	(void)fd;
	(void)what;
	run_idem(j);
	arm(j->ev_idem, idem_period(j->d->cfg));
}

static void jobs_status(soukd_t *d, json_t *status, void *arg)
{
	soukd_jobs_t *j = arg;
	json_t *o = json_object();
	(void)d;
	if (o == NULL)
		return;
	json_object_set_new(o, "checkpoints", json_integer((json_int_t)j->checkpoints));
	json_object_set_new(o, "checkpoint_failures",
			    json_integer((json_int_t)j->checkpoint_failures));
	json_object_set_new(o, "last_checkpoint_size",
			    json_integer((json_int_t)j->last_checkpoint_size));
	json_object_set_new(o, "last_checkpoint_ms",
			    json_integer((json_int_t)j->last_checkpoint_ms));
	json_object_set_new(o, "idem_expiry_runs", json_integer((json_int_t)j->idem_runs));
	json_object_set_new(o, "idem_keys_forgotten", json_integer((json_int_t)j->idem_removed));
	json_object_set_new(status, "jobs", o);
}

static void jobs_reload(soukd_t *d, const cfg_t *old_cfg, const cfg_t *new_cfg,
			const cfg_diff_t *diff, void *arg)
{
	soukd_jobs_t *j = arg;
	(void)d;
	(void)diff;
	if (old_cfg->audit.checkpoint_interval_ms != new_cfg->audit.checkpoint_interval_ms)
		arm(j->ev_checkpoint, new_cfg->audit.checkpoint_interval_ms);
	if (old_cfg->fcgi.idempotency_ttl_ms != new_cfg->fcgi.idempotency_ttl_ms)
		arm(j->ev_idem, idem_period(new_cfg));
}

int soukd_jobs_start(soukd_t *d, store_t *store, soukd_jobs_t **out)
{
	soukd_jobs_t *j;
	int ret = SOUK_ENOMEM;

	if (d == NULL || store == NULL || out == NULL)
		return SOUK_EINVAL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return SOUK_ENOMEM;
	j->magic = JOBS_MAGIC;
	j->d = d;
	j->store = store;
	j->ev_checkpoint = evtimer_new(d->base, checkpoint_cb, j);
	j->ev_idem = evtimer_new(d->base, idem_cb, j);
	if (j->ev_checkpoint == NULL || j->ev_idem == NULL)
		goto fail;
	if ((ret = soukd_on_status(d, jobs_status, j)) != 0 ||
	    (ret = soukd_on_reload(d, jobs_reload, j)) != 0)
		goto fail;
	arm(j->ev_checkpoint, d->cfg->audit.checkpoint_interval_ms);
	arm(j->ev_idem, idem_period(d->cfg));
	*out = j;
	return 0;
fail:
	soukd_jobs_free(&j);
	return ret;
}

void soukd_jobs_run_now(soukd_jobs_t *j)
{
	run_checkpoint(j);
	run_idem(j);
}

void soukd_jobs_free(soukd_jobs_t **jp)
{
	soukd_jobs_t *j = *jp;
	if (j == NULL)
		return;
	if (j->ev_checkpoint != NULL)
		event_free(j->ev_checkpoint);
	if (j->ev_idem != NULL)
		event_free(j->ev_idem);
	j->magic = 0;
	free(j);
	*jp = NULL;
}
