#pragma once
/*
 * daemon/notify.h - systemd readiness and watchdog notifications (sd_notify).
 *
 * Everything here is a no-op unless NOTIFY_SOCKET is set, so soukd behaves
 * the same in a terminal, under a test harness or under Type=notify.
 * Messages: READY=1 after start-up and after each reload, RELOADING=1 with
 * MONOTONIC_USEC= when a reload starts, STOPPING=1 on shutdown, WATCHDOG=1
 * from a timer, and STATUS= text for `systemctl status`.
 */
#include <stdbool.h>
#include <stdint.h>

/* True when a notification socket was given to us. */
bool notify_enabled(void);
int notify_ready(const char *status);
int notify_reloading(void);
int notify_stopping(const char *status);
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int notify_watchdog(void);
/* Ask systemd for more start-up/shutdown time (EXTEND_TIMEOUT_USEC=), e.g.
 * while the first image of a large catalog is built. */
int notify_extend_timeout(uint64_t usec);
/* Watchdog interval systemd asked for (WATCHDOG_USEC for this pid), 0 if none. */
uint64_t notify_watchdog_usec(void);
