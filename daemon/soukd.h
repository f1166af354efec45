/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/soukd.h - the core daemon's process: configuration, logging,
 * signals, systemd notification, watchdog and control socket, all on one
 * libevent base.
 *
 * Design: no pid file and no daemonizing; systemd (Type=notify) tracks the
 * process, stdout/stderr go to the journal. SIGHUP and the control command
 * `reload` re-read the configuration: a file with errors is refused (each
 * error logged) and the running configuration stays; otherwise the new one
 * is swapped in, reloadable changes are applied, and items that need a
 * restart keep their running value with one warning each. SIGTERM, SIGINT
 * and the control command `stop` end the loop; soukd_run() returns 0.
 *
 * Extending: other parts of soukd (publisher, datagram wake-up socket, jobs)
 * add their events to d->base, add fields to struct soukd, register control
 * commands on d->ctl, and hook into reloads, status and shutdown with
 * soukd_on_reload(), soukd_on_status() and soukd_on_stop().
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "daemon/control.h"

struct event_base;
struct event;

#define SOUKD_MAGIC	0x534f554bu /* "SOUK" */
#define SOUKD_HOOKS_MAX 16

typedef struct soukd soukd_t;

/* After a successful reload, with the old and the (now current) new config
 * and what changed between them (restart-only items are not in diff). */
typedef void (*soukd_reload_fn)(soukd_t *d, const cfg_t *old_cfg, const cfg_t *new_cfg,
				const cfg_diff_t *diff, void *arg);
/* Add fields to the `status` reply. */
typedef void (*soukd_status_fn)(soukd_t *d, json_t *status, void *arg);
/* Shutdown begins (before the loop ends): stop timers, flush. */
typedef void (*soukd_stop_fn)(soukd_t *d, void *arg);

typedef struct {
	bool done;	     /* any reload attempted since start */
	bool ok;	     /* result of the last one */
	uint64_t at_real_ms; /* wall clock of the last attempt */
	unsigned changed;    /* items applied by the last successful reload */
	cfg_errors_t errors; /* errors of the last failed reload */
} soukd_reload_result_t;

struct soukd {
	uint32_t magic;
	struct event_base *base;
	char *cfg_path;
	cfg_t *cfg;		 /* current configuration */
	uint64_t cfg_generation; /* 1 at start, +1 per successful reload */
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	soukd_reload_result_t last_reload;
	uint64_t started_mono_ms;
	uint64_t started_real_ms;
	/* restart-only items that changed in the file: value warned about */
	char *pending[CFG_ITEMS_MAX];

	ctl_t *ctl;
	struct event *ev_hup, *ev_term, *ev_int, *ev_watchdog, *ev_stop_timeout;
	uint64_t watchdog_usec; /* systemd's interval, 0 when off */
	bool stopping;
	unsigned holds; /* work that must finish before the loop ends */
	int exit_code;

	struct {
		soukd_reload_fn fn;
		void *arg;
	} on_reload[SOUKD_HOOKS_MAX];
	struct {
		soukd_status_fn fn;
		void *arg;
	} on_status[SOUKD_HOOKS_MAX];
	struct {
		soukd_stop_fn fn;
		void *arg;
	} on_stop[SOUKD_HOOKS_MAX];
	unsigned n_reload, n_status, n_stop;
};

/*
 * Load the configuration from cfg_path, set up logging from it and create
 * the event base. On a configuration error the errors are logged and
 * SOUK_ECONFIG returned (errs, when not NULL, receives them too).
 */
int soukd_new(const char *cfg_path, soukd_t **out, cfg_errors_t *errs);
/* Create the runtime directory, open the control socket, install signal
 * handlers and the watchdog timer, and tell systemd READY=1. */
int soukd_start(soukd_t *d);
/* Run the event loop until stopped; returns the exit code (0 on SIGTERM). */
int soukd_run(soukd_t *d);
void soukd_free(soukd_t **d);

/* Re-read the configuration file (SIGHUP, `reload`). 0, or SOUK_ECONFIG
 * with d->last_reload.errors filled and the running config kept. */
int soukd_reload(soukd_t *d);
/* Begin shutdown: STOPPING=1, stop hooks, then leave the loop as soon as
 * no hold is left, or after daemon.shutdown_timeout at the latest. */
void soukd_stop(soukd_t *d, int exit_code);
/* Work in progress that shutdown should wait for (an image being built):
 * soukd_hold() before, soukd_release() when done. */
void soukd_hold(soukd_t *d);
void soukd_release(soukd_t *d);

int soukd_on_reload(soukd_t *d, soukd_reload_fn fn, void *arg);
int soukd_on_status(soukd_t *d, soukd_status_fn fn, void *arg);
int soukd_on_stop(soukd_t *d, soukd_stop_fn fn, void *arg);

/* The `status` reply body (also used by tests). */
int soukd_status_json(soukd_t *d, json_t *out);
