/* SPDX-License-Identifier: Apache-2.0 */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "common/text.h"

static struct {
	char ident[32];
	bool journal;
	int level;
} g_log = { "souk", false, LOG_INFO };

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

/* journald is used when our stderr is the stream systemd connected. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev = 0, ino = 0;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, log_target_t target)
{
	snprintf(g_log.ident, sizeof(g_log.ident), "%s", ident ? ident : "souk");
	switch (target) {
	case LOG_TARGET_STDERR: g_log.journal = false; break;
	case LOG_TARGET_JOURNAL: g_log.journal = true; break;
	default: g_log.journal = stderr_is_journal(); break;
	}
}

void log_set_level(int level)
{
	if (level >= LOG_EMERG && level <= LOG_DEBUG)
		g_log.level = level;
}

static const char *const g_level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

int log_level_from_name(const char *name)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (name != NULL && strcmp(name, g_level_names[i]) == 0)
			return i;
	return -1;
}

static void log_vwrite(int prio, const char *component, const char *field,
		       const char *fmt, va_list ap)
{
	char msg[2048];
	int saved = errno;

	if (prio > g_log.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one line per record, and nothing a terminal would act on: newlines in
	 * values would forge records, ESC sequences rewrite the screen */
	souk_text_sanitize(msg, strlen(msg), 0, 0, msg, sizeof(msg));

	if (g_log.journal) {
		if (field != NULL)
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
					"SYSLOG_IDENTIFIER=%s", g_log.ident,
					"SOUK_COMPONENT=%s", component ? component : g_log.ident,
					"%s", field, NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
					"SYSLOG_IDENTIFIER=%s", g_log.ident,
					"SOUK_COMPONENT=%s", component ? component : g_log.ident,
					NULL);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		pthread_mutex_lock(&g_log_lock);
		fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s%s%s\n", when,
			ts.tv_nsec / 1000000, g_log.ident, (int)getpid(),
			g_level_names[prio & 7], component ? component : "",
			component ? ", " : "", msg);
		pthread_mutex_unlock(&g_log_lock);
	}
	errno = saved;
}

void log_msg(int prio, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(prio, component, NULL, fmt, ap);
	va_end(ap);
}

void log_msg_field(int prio, const char *component, const char *field,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(prio, component, field, fmt, ap);
	va_end(ap);
}

bool log_ratelimit_ok(log_ratelimit_t *rl, uint32_t *suppressed)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (rl->window_start_ms == 0 ||
	    now - rl->window_start_ms >= (uint64_t)rl->interval_s * 1000) {
		rl->window_start_ms = now;
		rl->printed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		if (suppressed != NULL)
			*suppressed = rl->suppressed;
		rl->suppressed = 0;
		return true;
	}
	rl->suppressed++;
	return false;
}
