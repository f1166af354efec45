/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugins/builtin.c - the providers compiled into souk (plugins/builtin.h).
 */
#include "plugins/builtin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static const char *cfg_get(const souk_plugin_config_t *cfg, const char *key)
{
	for (size_t i = 0; cfg != NULL && i < cfg->count; i++)
		if (strcmp(cfg->items[i].key, key) == 0)
			return cfg->items[i].value;
	return NULL;
}

/* ---- manual payment ------------------------------------------------------ */
static const souk_payment_ops_t manual_ops = {.size = sizeof(souk_payment_ops_t)};

static int manual_init(const souk_plugin_config_t *cfg, void **state)
{
	(void)cfg;
	*state = NULL; /* nothing to hold: the money moves outside souk */
	return 0;
}

const char *plugin_manual_status(void *state)
{
	(void)state;
	return "pending";
}

const souk_plugin_t plugin_builtin_manual = {
    SOUK_PLUGIN_HEADER_INIT,
    .kind = SOUK_PLUGIN_PAYMENT,
    .name = "manual",
    .version = SOUK_VERSION,
    .init = manual_init,
    .fini = NULL,
    .ops = &manual_ops,
};

/* ---- spool notification -------------------------------------------------- */
typedef struct {
	char dir[4096];
	atomic_uint seq;
} spool_t;

static const souk_notification_ops_t spool_ops = {.size = sizeof(souk_notification_ops_t)};

static int spool_init(const souk_plugin_config_t *cfg, void **state)
{
	const char *sd = cfg_get(cfg, "state_dir");
	spool_t *s;

	if (sd == NULL || *sd != '/')
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/spool/notifications", sd) >=
	    sizeof(s->dir)) {
		free(s);
		return -ENAMETOOLONG;
	}
	*state = s; /* the directory is made on first use: start-up writes nothing */
	return 0;
}

static void spool_fini(void *state)
{
	free(state);
}

const char *plugin_spool_dir(void *state)
{
	return ((spool_t *)state)->dir;
}

/* Written under a dot name and renamed, so a mailer never sees half a file. */
int plugin_spool_write(void *state, const char *msg, size_t len)
{
	spool_t *s = state;
	char tmp[4200], path[4200];
	struct timespec ts;
	int fd, ret = 0;

	ret = souk_mkdir_p(s->dir, 0750);
	if (ret != 0)
		return ret;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned seq = atomic_fetch_add(&s->seq, 1);
	snprintf(tmp, sizeof(tmp), "%s/.%lld.%09ld.%d.%u.tmp", s->dir, (long long)ts.tv_sec,
		 ts.tv_nsec, (int)getpid(), seq);
	snprintf(path, sizeof(path), "%s/%lld.%09ld.%d.%u.msg", s->dir, (long long)ts.tv_sec,
		 ts.tv_nsec, (int)getpid(), seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, msg + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (ret == 0 && fsync(fd) != 0)
		ret = -errno;
	if (close(fd) != 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -errno;
	if (ret != 0)
		unlink(tmp);
	return ret;
}

const souk_plugin_t plugin_builtin_spool = {
    SOUK_PLUGIN_HEADER_INIT,
    .kind = SOUK_PLUGIN_NOTIFICATION,
    .name = "spool",
    .version = SOUK_VERSION,
    .init = spool_init,
    .fini = spool_fini,
    .ops = &spool_ops,
};

static const souk_plugin_t *const g_builtins[] = {&plugin_builtin_manual, &plugin_builtin_spool};

const souk_plugin_t *const *plugin_builtins(size_t *count)
{
	*count = SOUK_ARRAY_LEN(g_builtins);
	return g_builtins;
}
