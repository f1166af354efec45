/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/soukd.c - soukd's process core: configuration and reload, logging,
 * signals, sd_notify and watchdog, and the control socket commands
 * `status`, `reload`, `stop` and `config`.
 */
#include "daemon/soukd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/notify.h"

static void apply_logging(const cfg_t *cfg)
{
	log_init("soukd", (log_target_t)cfg->log.target);
	log_set_level(cfg->log.level);
}

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

static void log_errors(const cfg_errors_t *errs)
{
	for (unsigned i = 0; i < errs->count; i++)
		log_cfg_err("%s", errs->e[i].msg);
	if (errs->dropped > 0)
		log_cfg_err("%u more errors not shown", errs->dropped);
}

int soukd_new(const char *cfg_path, soukd_t **out, cfg_errors_t *errs)
{
	soukd_t *d;
	cfg_errors_t *e = NULL;
	int ret;

	d = calloc(1, sizeof(*d));
	e = calloc(1, sizeof(*e));
	if (d == NULL || e == NULL) {
		ret = SOUK_ENOMEM;
		goto fail;
	}
	d->magic = SOUKD_MAGIC;
	d->started_mono_ms = souk_now_mono_ms();
	d->started_real_ms = souk_now_real_ms();
	d->cfg_path = strdup(cfg_path);
	if (d->cfg_path == NULL) {
		ret = SOUK_ENOMEM;
		goto fail;
	}
	ret = cfg_load(cfg_path, &d->cfg, e);
	if (ret != 0) {
		log_errors(e);
		log_cfg_err("cannot start with configuration '%s' (%u error%s)", cfg_path,
			    e->count + e->dropped, plural(e->count + e->dropped));
		if (errs != NULL)
			*errs = *e;
		goto fail;
	}
	apply_logging(d->cfg);
	d->cfg_generation = 1;
	d->base = event_base_new();
	if (d->base == NULL) {
		log_daemon_err("cannot create the event loop");
		ret = SOUK_ENOMEM;
		goto fail;
	}
	free(e);
	*out = d;
	return 0;
fail:
	free(e);
	soukd_free(&d);
	return ret;
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_watchdog();
}

/* Start or stop the watchdog timer after start-up or a reload. */
static int watchdog_update(soukd_t *d)
{
	bool want = d->watchdog_usec > 0 && d->cfg->daemon.watchdog;

	if (want && d->ev_watchdog == NULL) {
		uint64_t half = d->watchdog_usec / 2;
		struct timeval tv = {(time_t)(half / 1000000), (suseconds_t)(half % 1000000)};
		d->ev_watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
		if (d->ev_watchdog == NULL || event_add(d->ev_watchdog, &tv) != 0)
			return SOUK_ENOMEM;
		notify_watchdog();
		log_daemon_info("watchdog, answering every %llu ms",
				(unsigned long long)(half / 1000));
	} else if (!want && d->ev_watchdog != NULL) {
		event_free(d->ev_watchdog);
		d->ev_watchdog = NULL;
		if (d->watchdog_usec > 0)
			log_daemon_warn("watchdog, keep-alives turned off by daemon.watchdog; "
					"systemd will restart soukd");
	}
	return 0;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	soukd_t *d = arg;
	(void)what;
	if (sig == SIGHUP) {
		log_daemon_info("received SIGHUP, reloading configuration");
		soukd_reload(d);
		return;
	}
	log_daemon_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	soukd_stop(d, 0);
}

/* ---- control commands ------------------------------------------------------- */

static int cmd_status(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	(void)conn;
	(void)args;
	return soukd_status_json(arg, reply);
}

static json_t *errors_json(const cfg_errors_t *errs)
{
	json_t *a = json_array();
	for (unsigned i = 0; a != NULL && i < errs->count; i++)
		json_array_append_new(a, json_string(errs->e[i].msg));
	return a;
}

static int cmd_reload(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	soukd_t *d = arg;
	int ret;
	(void)conn;
	(void)args;
	log_daemon_info("control, reload requested");
	ret = soukd_reload(d);
	json_object_set_new(reply, "config_generation",
			    json_integer((json_int_t)d->cfg_generation));
	if (ret != 0) {
		json_object_set_new(reply, "error",
				    json_string("configuration refused, the running "
						"configuration stays"));
		json_object_set_new(reply, "errors", errors_json(&d->last_reload.errors));
		return ret;
	}
	json_object_set_new(reply, "changed", json_integer(d->last_reload.changed));
	return 0;
}

static void stop_after_reply(void *arg)
{
	soukd_stop(arg, 0);
}

static int cmd_stop(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	(void)args;
	log_daemon_info("control, stop requested");
	json_object_set_new(reply, "stopping", json_true());
	ctl_after_reply(conn, stop_after_reply, arg);
	return 0;
}

static int cmd_config(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	soukd_t *d = arg;
	json_t *items = cfg_to_json(d->cfg);
	(void)conn;
	(void)args;
	if (items == NULL)
		return SOUK_ENOMEM;
	json_object_set_new(reply, "config_file", json_string(d->cfg_path));
	json_object_set_new(reply, "items", items);
	return 0;
}

int soukd_status_json(soukd_t *d, json_t *out)
{
	json_t *last, *pending;
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);

	json_object_set_new(out, "version", json_string(SOUK_VERSION));
	json_object_set_new(out, "pid", json_integer(getpid()));
	json_object_set_new(out, "instance", json_string(d->cfg->instance));
	json_object_set_new(
	    out, "uptime_s",
	    json_integer((json_int_t)((souk_now_mono_ms() - d->started_mono_ms) / 1000)));
	json_object_set_new(out, "started_at_ms", json_integer((json_int_t)d->started_real_ms));
	json_object_set_new(out, "config_file", json_string(d->cfg_path));
	json_object_set_new(out, "config_generation", json_integer((json_int_t)d->cfg_generation));
	json_object_set_new(out, "reloads", json_integer((json_int_t)d->reloads_ok));
	json_object_set_new(out, "reloads_failed", json_integer((json_int_t)d->reloads_failed));
	json_object_set_new(out, "log_level", json_string(cfg_log_level_name(d->cfg->log.level)));
	last = json_object();
	if (last != NULL) {
		json_object_set_new(last, "result",
				    json_string(!d->last_reload.done ? "none"
						: d->last_reload.ok  ? "ok"
								     : "failed"));
		if (d->last_reload.done)
			json_object_set_new(last, "at_ms",
					    json_integer((json_int_t)d->last_reload.at_real_ms));
		if (d->last_reload.done && !d->last_reload.ok)
			json_object_set_new(last, "errors", errors_json(&d->last_reload.errors));
		json_object_set_new(out, "last_reload", last);
	}
	pending = json_array();
	for (size_t i = 0; pending != NULL && i < n; i++)
		if (d->pending[i] != NULL)
			json_array_append_new(pending, json_string(schema[i].name));
	json_object_set_new(out, "restart_pending", pending);
	json_object_set_new(out, "watchdog_usec", json_integer((json_int_t)d->watchdog_usec));
	if (d->ctl != NULL)
		json_object_set_new(out, "control_clients", json_integer(ctl_clients(d->ctl)));
	for (unsigned i = 0; i < d->n_status; i++)
		d->on_status[i].fn(d, out, d->on_status[i].arg);
	return 0;
}

/* ---- lifecycle -------------------------------------------------------------- */

static void notify_running(soukd_t *d)
{
	char status[256];
	if (d->last_reload.done && !d->last_reload.ok)
		snprintf(status, sizeof(status),
			 "running, config generation %llu, last reload refused (%u error%s)",
			 (unsigned long long)d->cfg_generation, d->last_reload.errors.count,
			 plural(d->last_reload.errors.count));
	else
		snprintf(status, sizeof(status), "running, config generation %llu",
			 (unsigned long long)d->cfg_generation);
	notify_ready(status);
}

int soukd_start(soukd_t *d)
{
	char path[256];
	int ret;
	ctl_opts_t opts;

	signal(SIGPIPE, SIG_IGN);
	ret = souk_mkdir_p(d->cfg->paths.runtime_dir, 0750);
	if (ret != 0) {
		log_daemon_err("cannot create runtime directory '%s' (%s)",
			       d->cfg->paths.runtime_dir, souk_strerror(ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/control.sock", d->cfg->paths.runtime_dir);
	opts = (ctl_opts_t){.path = path,
			    .mode = 0660,
			    .max_clients = d->cfg->control.max_clients,
			    .idle_timeout_ms = d->cfg->control.idle_timeout_ms};
	ret = ctl_new(d->base, &opts, &d->ctl);
	if (ret != 0) {
		log_daemon_err("control, cannot listen on '%s' (%s)", path,
			       ret == SOUK_EBUSY ? "another soukd answers there"
						 : souk_strerror(ret));
		return ret;
	}
	if ((ret = ctl_register(d->ctl, "status", "state of the daemon", cmd_status, d)) != 0 ||
	    (ret = ctl_register(d->ctl, "reload", "re-read the configuration file", cmd_reload,
				d)) != 0 ||
	    (ret = ctl_register(d->ctl, "stop", "shut the daemon down", cmd_stop, d)) != 0 ||
	    (ret = ctl_register(d->ctl, "config", "the configuration in effect", cmd_config, d)) !=
		0)
		return ret;

	d->ev_hup = evsignal_new(d->base, SIGHUP, signal_cb, d);
	d->ev_term = evsignal_new(d->base, SIGTERM, signal_cb, d);
	d->ev_int = evsignal_new(d->base, SIGINT, signal_cb, d);
	if (d->ev_hup == NULL || d->ev_term == NULL || d->ev_int == NULL ||
	    event_add(d->ev_hup, NULL) != 0 || event_add(d->ev_term, NULL) != 0 ||
	    event_add(d->ev_int, NULL) != 0) {
		log_daemon_err("cannot install signal handlers");
		return SOUK_ENOMEM;
	}
	d->watchdog_usec = notify_watchdog_usec();
	ret = watchdog_update(d);
	if (ret != 0)
		return ret;
	log_daemon_info("started (version %s, config '%s', control socket '%s')", SOUK_VERSION,
			d->cfg_path, path);
	return 0;
}

int soukd_run(soukd_t *d)
{
	/* READY only now: whatever main() set up after soukd_start (the first
	 * image, built synchronously by the publisher) is in place. */
	notify_running(d);
	if (event_base_dispatch(d->base) < 0) {
		log_daemon_err("event loop failed");
		return 1;
	}
	log_daemon_info("stopped");
	return d->exit_code;
}

static void stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	soukd_t *d = arg;
	(void)fd;
	(void)what;
	log_daemon_warn("shutdown, %u tasks still running after %llu ms, exiting anyway", d->holds,
			(unsigned long long)d->cfg->daemon.shutdown_timeout_ms);
	event_base_loopexit(d->base, NULL);
}

void soukd_stop(soukd_t *d, int exit_code)
{
	if (d->stopping)
		return;
	d->stopping = true;
	d->exit_code = exit_code;
	notify_stopping("stopping");
	for (unsigned i = 0; i < d->n_stop; i++)
		d->on_stop[i].fn(d, d->on_stop[i].arg);
	if (d->ev_watchdog != NULL)
		event_del(d->ev_watchdog);
	if (d->holds == 0) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	log_daemon_info("shutdown, waiting for %u tasks", d->holds);
	uint64_t ms = d->cfg->daemon.shutdown_timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	d->ev_stop_timeout = evtimer_new(d->base, stop_timeout_cb, d);
	if (d->ev_stop_timeout == NULL || evtimer_add(d->ev_stop_timeout, &tv) != 0)
		event_base_loopexit(d->base, NULL);
}

void soukd_hold(soukd_t *d)
{
	d->holds++;
}

void soukd_release(soukd_t *d)
{
	if (d->holds > 0)
		d->holds--;
	if (d->stopping && d->holds == 0)
		event_base_loopexit(d->base, NULL);
}

/* Restart-only items keep their running value; warn once per new value. */
static void hold_restart_items(soukd_t *d, cfg_t *nc)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	char newv[256], oldv[256];

	for (size_t i = 0; i < n; i++) {
		const cfg_item_t *it = &schema[i];
		if (!(it->flags & CFG_F_RESTART))
			continue;
		if (cfg_item_equal(d->cfg, nc, it)) {
			if (d->pending[i] != NULL)
				log_cfg_info("item '%s' is back to its running value", it->name);
			souk_free(&d->pending[i]);
			continue;
		}
		cfg_item_format(nc, it, newv, sizeof(newv));
		cfg_item_format(d->cfg, it, oldv, sizeof(oldv));
		if (d->pending[i] == NULL || strcmp(d->pending[i], newv) != 0) {
			log_cfg_warn("item '%s' changed to '%s', takes effect after a restart "
				     "(running value '%s')",
				     it->name, newv, oldv);
			free(d->pending[i]);
			d->pending[i] = strdup(newv);
		}
		cfg_item_copy(nc, d->cfg, it);
	}
}

int soukd_reload(soukd_t *d)
{
	cfg_t *nc = NULL, *old;
	cfg_diff_t diff;
	int ret;

	notify_reloading();
	d->last_reload.done = true;
	d->last_reload.at_real_ms = souk_now_real_ms();
	ret = cfg_load(d->cfg_path, &nc, &d->last_reload.errors);
	if (ret != 0) {
		log_errors(&d->last_reload.errors);
		unsigned nerr = d->last_reload.errors.count + d->last_reload.errors.dropped;
		log_cfg_err("reload refused, the running configuration stays (%u error%s in '%s')",
			    nerr, plural(nerr), d->cfg_path);
		d->last_reload.ok = false;
		d->reloads_failed++;
		notify_running(d);
		return SOUK_ECONFIG;
	}
	hold_restart_items(d, nc);
	cfg_diff(d->cfg, nc, &diff);

	/* apply what changed, then swap */
	if (cfg_diff_has(&diff, "log.level") || cfg_diff_has(&diff, "log.target"))
		apply_logging(nc);
	for (unsigned i = 0; i < diff.count; i++) {
		char oldv[256], newv[256];
		cfg_item_format(d->cfg, diff.items[i], oldv, sizeof(oldv));
		cfg_item_format(nc, diff.items[i], newv, sizeof(newv));
		log_cfg_info("item '%s' changed from '%s' to '%s'", diff.items[i]->name, oldv,
			     newv);
	}
	if (d->ctl != NULL)
		ctl_set_limits(d->ctl, nc->control.max_clients, nc->control.idle_timeout_ms);
	old = d->cfg;
	d->cfg = nc;
	if (d->base != NULL)
		watchdog_update(d);
	d->cfg_generation++;
	d->reloads_ok++;
	d->last_reload.ok = true;
	d->last_reload.changed = diff.count;
	memset(&d->last_reload.errors, 0, sizeof(d->last_reload.errors));
	for (unsigned i = 0; i < d->n_reload; i++)
		d->on_reload[i].fn(d, old, nc, &diff, d->on_reload[i].arg);
	cfg_free(&old);
	char field[64];
	snprintf(field, sizeof(field), "SOUK_CONFIG_GENERATION=%llu",
		 (unsigned long long)d->cfg_generation);
	log_msg_field(LOG_INFO, "config", field,
		      "reloaded '%s' (generation %llu, %u item%s changed)", d->cfg_path,
		      (unsigned long long)d->cfg_generation, diff.count, plural(diff.count));
	notify_running(d);
	return 0;
}

void soukd_free(soukd_t **pd)
{
	soukd_t *d = *pd;
	if (d == NULL)
		return;
	ctl_free(&d->ctl);
	if (d->ev_watchdog)
		event_free(d->ev_watchdog);
	if (d->ev_stop_timeout)
		event_free(d->ev_stop_timeout);
	if (d->ev_hup)
		event_free(d->ev_hup);
	if (d->ev_term)
		event_free(d->ev_term);
	if (d->ev_int)
		event_free(d->ev_int);
	if (d->base)
		event_base_free(d->base);
	for (size_t i = 0; i < CFG_ITEMS_MAX; i++)
		free(d->pending[i]);
	cfg_free(&d->cfg);
	free(d->cfg_path);
	d->magic = 0;
	free(d);
	*pd = NULL;
}

#define ADD_HOOK(arr, cnt, f, a)                                                                   \
	do {                                                                                       \
		if ((f) == NULL)                                                                   \
			return SOUK_EINVAL;                                                        \
		if ((cnt) >= SOUKD_HOOKS_MAX)                                                      \
			return SOUK_ETOOBIG;                                                       \
		(arr)[cnt].fn = (f);                                                               \
		(arr)[cnt].arg = (a);                                                              \
		(cnt)++;                                                                           \
		return 0;                                                                          \
	} while (0)

int soukd_on_reload(soukd_t *d, soukd_reload_fn fn, void *arg)
{
	ADD_HOOK(d->on_reload, d->n_reload, fn, arg);
}

int soukd_on_status(soukd_t *d, soukd_status_fn fn, void *arg)
{
	ADD_HOOK(d->on_status, d->n_status, fn, arg);
}

int soukd_on_stop(soukd_t *d, soukd_stop_fn fn, void *arg)
{
	ADD_HOOK(d->on_stop, d->n_stop, fn, arg);
}
