/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	/* figures for status */
	uint64_t checkpoints;
	uint64_t checkpoint_failures;
	uint64_t last_checkpoint_size;
	uint64_t last_checkpoint_ms;
	bool checkpoint_unscheduled; /* arm() failed */

	/* idempotency expiry: a thread of its own, so that a long expiry never
	 * holds up the event loop (watchdog, control socket, publisher); the
	 * store deletes in chunks, so other writers are not held up either */
	pthread_t idem_thread;
	bool idem_started;
	pthread_mutex_t mu; /* the fields below */
	pthread_cond_t cv;  /* CLOCK_MONOTONIC */
	_Atomic bool stop;
	uint64_t ttl_ms;    /* fcgi.idempotency_ttl in effect (copied on reload) */
	uint64_t idem_asked, idem_served; /* soukd_jobs_run_now() requests */
	uint64_t idem_runs;
	uint64_t idem_removed;
	uint64_t last_idem_ms;
	uint64_t last_idem_duration_ms;
	bool idem_running;
};

/* Schedule the next checkpoint in ms; a failure is logged and shown in
 * status ("checkpoint_scheduled": false), since no checkpoint is signed
 * until a reload or restart arms the timer again. */
static int arm(soukd_jobs_t *j, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	if (event_add(j->ev_checkpoint, &tv) != 0) {
		j->checkpoint_unscheduled = true;
		log_daemon_err("jobs, cannot schedule the next audit checkpoint (event_add failed); none is signed until a reload or restart");
		return SOUK_ENOMEM; /* libevent fails here only to allocate */
	}
	j->checkpoint_unscheduled = false;
	return 0;
}

static uint64_t idem_period(uint64_t ttl_ms)
{
	uint64_t p = ttl_ms / 4;
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

/* Between two chunks of an expiry: stop at shutdown (the next run goes on). */
static int idem_between(void *arg, uint64_t removed)
{
	soukd_jobs_t *j = arg;
	(void)removed;
	return atomic_load(&j->stop) ? 1 : 0;
}

/* One expiry, on the job thread, without j->mu held. */
static void run_idem(soukd_jobs_t *j, uint64_t ttl)
{
	store_idem_expire_opts_t o = {.between = idem_between, .arg = j};
	uint64_t removed = 0, now = souk_now_real_ms(), t0 = souk_now_mono_ms();
	int ret;

	if (now <= ttl)
		return;
	ret = store_idem_expire_opts(j->store, now - ttl, &o, &removed);
	pthread_mutex_lock(&j->mu);
	j->idem_removed += removed;
	if (ret == 0) {
		j->idem_runs++;
		j->last_idem_ms = now;
		j->last_idem_duration_ms = souk_now_mono_ms() - t0;
	}
	pthread_mutex_unlock(&j->mu);
	if (ret != 0)
		log_msg(LOG_WARNING, "store", "idempotency keys, expiry failed (%s)",
			souk_strerror(ret));
	else if (removed > 0)
		log_msg(LOG_INFO, "store", "idempotency keys, forgot %llu older than %llu s",
			(unsigned long long)removed, (unsigned long long)(ttl / 1000));
}

static void abs_mono(uint64_t ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Every idem_period() after the last run ended, or when asked. */
static void *idem_main(void *arg)
{
	soukd_jobs_t *j = arg;
	uint64_t last = souk_now_mono_ms();

	pthread_mutex_lock(&j->mu);
	while (!atomic_load(&j->stop)) {
		uint64_t due = last + idem_period(j->ttl_ms), now = souk_now_mono_ms();
		if (j->idem_asked == j->idem_served && now < due) {
			struct timespec ts;
			abs_mono(due - now, &ts);
			pthread_cond_timedwait(&j->cv, &j->mu, &ts);
			continue;
		}
		uint64_t asked = j->idem_asked, ttl = j->ttl_ms;
		j->idem_running = true;
		pthread_mutex_unlock(&j->mu);
		run_idem(j, ttl);
		pthread_mutex_lock(&j->mu);
		j->idem_running = false;
		j->idem_served = asked;
		last = souk_now_mono_ms();
		pthread_cond_broadcast(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static void checkpoint_cb(evutil_socket_t fd, short what, void *arg)
{
	soukd_jobs_t *j = arg;
	(void)fd;
	(void)what;
	run_checkpoint(j);
	(void)arm(j, j->d->cfg->audit.checkpoint_interval_ms); /* logged */
}

static void jobs_status(soukd_t *d, json_t *status, void *arg)
{
	soukd_jobs_t *j = arg;
	json_t *o = json_object();
	int bad = 0; /* a field that could not be added (out of memory) */
	(void)d;
	if (o == NULL) {
		log_daemon_err("status, the jobs section is missing (out of memory)");
		return;
	}
	bad |= json_object_set_new(o, "checkpoints", json_integer((json_int_t)j->checkpoints));
	bad |= json_object_set_new(o, "checkpoint_failures",
				   json_integer((json_int_t)j->checkpoint_failures));
	bad |= json_object_set_new(o, "checkpoint_scheduled",
				   json_boolean(!j->checkpoint_unscheduled));
	bad |= json_object_set_new(o, "last_checkpoint_size",
				   json_integer((json_int_t)j->last_checkpoint_size));
	bad |= json_object_set_new(o, "last_checkpoint_ms",
				   json_integer((json_int_t)j->last_checkpoint_ms));
	pthread_mutex_lock(&j->mu);
	bad |= json_object_set_new(o, "idem_expiry_runs", json_integer((json_int_t)j->idem_runs));
	bad |= json_object_set_new(o, "idem_keys_forgotten",
				   json_integer((json_int_t)j->idem_removed));
	bad |= json_object_set_new(o, "idem_expiry_running", json_boolean(j->idem_running));
	bad |= json_object_set_new(o, "last_idem_expiry_ms",
				   json_integer((json_int_t)j->last_idem_ms));
	bad |= json_object_set_new(o, "last_idem_expiry_duration_ms",
				   json_integer((json_int_t)j->last_idem_duration_ms));
	pthread_mutex_unlock(&j->mu);
	if (bad | json_object_set_new(status, "jobs", o))
		log_daemon_err("status, fields of the jobs section are missing (out of memory)");
}

static void jobs_reload(soukd_t *d, const cfg_t *old_cfg, const cfg_t *new_cfg,
			const cfg_diff_t *diff, void *arg)
{
	soukd_jobs_t *j = arg;
	(void)d;
	(void)diff;
	if (old_cfg->audit.checkpoint_interval_ms != new_cfg->audit.checkpoint_interval_ms)
		(void)arm(j, new_cfg->audit.checkpoint_interval_ms); /* logged */
	if (old_cfg->fcgi.idempotency_ttl_ms != new_cfg->fcgi.idempotency_ttl_ms) {
		pthread_mutex_lock(&j->mu);
		j->ttl_ms = new_cfg->fcgi.idempotency_ttl_ms;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
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
	j->ttl_ms = d->cfg->fcgi.idempotency_ttl_ms;
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	j->ev_checkpoint = evtimer_new(d->base, checkpoint_cb, j);
	if (j->ev_checkpoint == NULL)
		goto fail;
	/* before the hooks: a start that fails here leaves none behind */
	if ((ret = arm(j, d->cfg->audit.checkpoint_interval_ms)) != 0)
		goto fail;
	if ((ret = soukd_on_status(d, jobs_status, j)) != 0 ||
	    (ret = soukd_on_reload(d, jobs_reload, j)) != 0)
		goto fail;
	if ((ret = pthread_create(&j->idem_thread, NULL, idem_main, j)) != 0) {
		log_daemon_err("jobs, cannot start the idempotency expiry thread (%s)",
			       strerror(ret));
		ret = -ret;
		goto fail;
	}
	j->idem_started = true;
	*out = j;
	return 0;
fail:
	soukd_jobs_free(&j);
	return ret;
}

void soukd_jobs_run_now(soukd_jobs_t *j)
{
	run_checkpoint(j);
	pthread_mutex_lock(&j->mu);
	uint64_t want = ++j->idem_asked;
	pthread_cond_broadcast(&j->cv);
	while (j->idem_served < want && !atomic_load(&j->stop))
		pthread_cond_wait(&j->cv, &j->mu);
	pthread_mutex_unlock(&j->mu);
}

void soukd_jobs_free(soukd_jobs_t **jp)
{
	soukd_jobs_t *j = *jp;
	if (j == NULL)
		return;
	if (j->idem_started) {
		pthread_mutex_lock(&j->mu);
		atomic_store(&j->stop, true);
		pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
		pthread_join(j->idem_thread, NULL);
	}
	if (j->ev_checkpoint != NULL)
		event_free(j->ev_checkpoint);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	j->magic = 0;
	free(j);
	*jp = NULL;
}
