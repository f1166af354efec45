/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/notify.c - sd_notify wrappers.
 */
#include "daemon/notify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "common/error.h"
#include "common/log.h"

bool notify_enabled(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	return s != NULL && *s != '\0';
}

static int send_state(const char *state)
{
	int ret;
	if (!notify_enabled())
		return 0;
	ret = sd_notify(0, state);
	if (ret < 0) {
		static log_ratelimit_t rl = LOG_RATELIMIT_INIT(60, 3);
		if (log_ratelimit_ok(&rl, NULL))
			log_daemon_warn("notify, cannot send to systemd (%d)", ret);
		return ret;
	}
	return 0;
}

int notify_ready(const char *status)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status ? status : "running");
	return send_state(msg);
}

int notify_reloading(void)
{
	char msg[128];
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(
	    msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading configuration",
	    (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	return send_state(msg);
}

int notify_stopping(const char *status)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=%s", status ? status : "stopping");
	return send_state(msg);
}

int notify_status(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return send_state(msg);
}

int notify_watchdog(void)
{
	return send_state("WATCHDOG=1");
}

int notify_extend_timeout(uint64_t usec)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)usec);
	return send_state(msg);
}

uint64_t notify_watchdog_usec(void)
{
	uint64_t usec = 0;
	if (!notify_enabled())
		return 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

/* ---- keep-alive during start-up ------------------------------------------------ */

#define NOTIFY_STARTUP_MAGIC 0x4e535455u /* "NSTU" */

struct notify_startup {
	uint32_t magic;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	bool stop;
	uint64_t every_ms, extend_ms;
};

static void *startup_main(void *arg)
{
	notify_startup_t *ns = arg;
	pthread_mutex_lock(&ns->mu);
	/* the first extension was sent by notify_startup_begin() itself, so
	 * that it precedes READY=1 however soon the caller ends the start-up */
	while (!ns->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(ns->every_ms / 1000);
		ts.tv_nsec += (long)(ns->every_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!ns->stop && pthread_cond_timedwait(&ns->cv, &ns->mu, &ts) == 0) {
		}
		if (!ns->stop)
			notify_extend_timeout(ns->extend_ms * 1000);
	}
	pthread_mutex_unlock(&ns->mu);
	return NULL;
}

int notify_startup_begin(uint64_t every_ms, uint64_t extend_ms, notify_startup_t **out)
{
	notify_startup_t *ns;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (every_ms == 0 || extend_ms <= every_ms)
		return SOUK_EINVAL;
	if (!notify_enabled())
		return 0;
	if ((ns = calloc(1, sizeof(*ns))) == NULL)
		return SOUK_ENOMEM;
	notify_extend_timeout(extend_ms * 1000);
	ns->magic = NOTIFY_STARTUP_MAGIC;
	ns->every_ms = every_ms;
	ns->extend_ms = extend_ms;
	pthread_mutex_init(&ns->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ns->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&ns->thread, NULL, startup_main, ns)) != 0) {
		log_daemon_warn("notify, cannot start the start-up keep-alive (%s)", strerror(rc));
		pthread_cond_destroy(&ns->cv);
		pthread_mutex_destroy(&ns->mu);
		free(ns);
		return -rc;
	}
	*out = ns;
	return 0;
}

void notify_startup_end(notify_startup_t **pns)
{
	notify_startup_t *ns = *pns;
	if (ns == NULL)
		return;
	pthread_mutex_lock(&ns->mu);
	ns->stop = true;
	pthread_cond_signal(&ns->cv);
	pthread_mutex_unlock(&ns->mu);
	pthread_join(ns->thread, NULL);
	pthread_cond_destroy(&ns->cv);
	pthread_mutex_destroy(&ns->mu);
	ns->magic = 0;
	free(ns);
	*pns = NULL;
}
