/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/log.h - logging.
 *
 * Messages are lowercase, "component, what happened (reason)", names in
 * single quotes. Under systemd (JOURNAL_STREAM names our stderr) records go
 * to journald with structured fields SOUK_COMPONENT= and PRIORITY=; otherwise
 * to stderr as "LEVEL: component, message". Never log personal data or
 * secrets. Per-request events are counters, not log lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

typedef enum {
	LOG_TARGET_AUTO = 0, /* journald when JOURNAL_STREAM matches stderr */
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
} log_target_t;

/* Set up logging; ident is the program name. Safe to call again. */
void log_init(const char *ident, log_target_t target);
/* Messages less important than level (syslog priority) are dropped. */
void log_set_level(int level);
int log_level_from_name(const char *name); /* -1 when unknown */

void log_msg(int prio, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like log_msg with an extra structured field "KEY=value" (journald only). */
void log_msg_field(int prio, const char *component, const char *field,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Rate limiting for repeated errors: at most `burst` messages per
 * `interval_s` seconds per limiter; suppressed messages are counted and
 * reported with the next one that passes.
 */
typedef struct {
	uint64_t window_start_ms;
	uint32_t interval_s;
	uint32_t burst;
	uint32_t printed;
	uint32_t suppressed;
} log_ratelimit_t;
#define LOG_RATELIMIT_INIT(interval, n) { 0, (interval), (n), 0, 0 }
/* Returns true when a message may be logged now; thread-unsafe by design
 * (use one limiter per thread or hold a lock). */
bool log_ratelimit_ok(log_ratelimit_t *rl, uint32_t *suppressed);

#define log_err(...) log_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#define log_cfg_err(...) log_msg(LOG_ERR, "config", __VA_ARGS__)
#define log_cfg_warn(...) log_msg(LOG_WARNING, "config", __VA_ARGS__)
#define log_cfg_info(...) log_msg(LOG_INFO, "config", __VA_ARGS__)
#define log_shm_err(...) log_msg(LOG_ERR, "shm", __VA_ARGS__)
#define log_shm_warn(...) log_msg(LOG_WARNING, "shm", __VA_ARGS__)
#define log_shm_info(...) log_msg(LOG_INFO, "shm", __VA_ARGS__)
#define log_shm_debug(...) log_msg(LOG_DEBUG, "shm", __VA_ARGS__)
#define log_store_err(...) log_msg(LOG_ERR, "store", __VA_ARGS__)
#define log_store_warn(...) log_msg(LOG_WARNING, "store", __VA_ARGS__)
#define log_store_info(...) log_msg(LOG_INFO, "store", __VA_ARGS__)
#define log_store_debug(...) log_msg(LOG_DEBUG, "store", __VA_ARGS__)
#define log_daemon_err(...) log_msg(LOG_ERR, "soukd", __VA_ARGS__)
#define log_daemon_warn(...) log_msg(LOG_WARNING, "soukd", __VA_ARGS__)
#define log_daemon_info(...) log_msg(LOG_INFO, "soukd", __VA_ARGS__)
#define log_daemon_debug(...) log_msg(LOG_DEBUG, "soukd", __VA_ARGS__)
#define log_fcgi_err(...) log_msg(LOG_ERR, "fcgi", __VA_ARGS__)
#define log_fcgi_warn(...) log_msg(LOG_WARNING, "fcgi", __VA_ARGS__)
#define log_fcgi_info(...) log_msg(LOG_INFO, "fcgi", __VA_ARGS__)
#define log_fcgi_debug(...) log_msg(LOG_DEBUG, "fcgi", __VA_ARGS__)
#define log_ctl_err(...) log_msg(LOG_ERR, "soukctl", __VA_ARGS__)
#define log_ctl_info(...) log_msg(LOG_INFO, "soukctl", __VA_ARGS__)
