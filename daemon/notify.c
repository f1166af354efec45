/*
 * daemon/notify.c - sd_notify wrappers.
 */
#include "daemon/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-daemon.h>

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
