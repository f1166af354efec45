/* SPDX-License-Identifier: Apache-2.0 */
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

/*
 * While a long start-up step blocks the calling thread (soukd builds its
 * first image before READY=1 and before its event loop runs): a thread that
 * sends EXTEND_TIMEOUT_USEC=<extend_ms in usec> at once and then every
 * every_ms, so systemd's TimeoutStartSec= keeps being extended while the
 * step runs and runs out extend_ms after it stops (or the process hangs
 * with the thread gone). *out is NULL (and nothing is sent) without
 * NOTIFY_SOCKET. notify_startup_end() stops the thread and waits for it.
 */
typedef struct notify_startup notify_startup_t;
int notify_startup_begin(uint64_t every_ms, uint64_t extend_ms, notify_startup_t **out);
void notify_startup_end(notify_startup_t **ns);
