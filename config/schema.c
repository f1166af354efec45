/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config/schema.c - the one table that describes every configuration item.
 *
 * Adding an item: add a field to cfg_t (config/config.h), a row here, the
 * item with a comment to config/souk.yaml, and regenerate the reference:
 *   build/soukd --dump-schema=markdown > docs/configuration.md
 * tests/unit/test_config.c checks that the shipped file and the reference
 * cover every item and that every default is valid.
 */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#define FIELD(m) offsetof(cfg_t, m), sizeof(((cfg_t *)0)->m)
#define KiB	 (1024ull)
#define MiB	 (1024ull * KiB)
#define GiB	 (1024ull * MiB)
#define TiB	 (1024ull * GiB)
#define SEC	 (1000ull)
#define MIN	 (60ull * SEC)
#define HOUR	 (60ull * MIN)
#define DAY	 (24ull * HOUR)

static const cfg_enum_t g_levels[] = {
    {"emerg", LOG_EMERG}, {"alert", LOG_ALERT},	    {"crit", LOG_CRIT},
    {"error", LOG_ERR},	  {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
    {"info", LOG_INFO},	  {"debug", LOG_DEBUG},	    {NULL, 0},
};

static const cfg_enum_t g_targets[] = {
    {"auto", LOG_TARGET_AUTO},
    {"stderr", LOG_TARGET_STDERR},
    {"journal", LOG_TARGET_JOURNAL},
    {NULL, 0},
};

/* instance names end up in /dev/shm object names: keep them plain. */
static int check_instance(const cfg_item_t *it, const void *value, char *why, size_t why_len)
{
	const char *s = *(char *const *)value;
	(void)it;
	for (const char *p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			continue;
		snprintf(why, why_len, "only letters, digits, '-' and '_' are allowed");
		return SOUK_EINVAL;
	}
	if (*s == '\0') {
		snprintf(why, why_len, "must not be empty");
		return SOUK_EINVAL;
	}
	return 0;
}

/* Secret files may be missing at parse time (checked again when used), but
 * when present they must be private to their owner. */
/* the control socket lives in it: sun_path holds 108 bytes */
static int check_runtime_dir(const cfg_item_t *it, const void *value, char *why, size_t why_len)
{
	const char *path = *(char *const *)value;
	(void)it;
	if (strlen(path) > 80) {
		snprintf(why, why_len,
			 "longer than 80 characters, the control socket path would not fit");
		return SOUK_EINVAL;
	}
	return 0;
}

/* channels.default: a channel code as the channel kind takes it. */
static int check_channel_code(const cfg_item_t *it, const void *value, char *why, size_t why_len)
{
	const char *s = *(char *const *)value;
	(void)it;
	for (const char *p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.')
			continue;
		snprintf(why, why_len, "must be a channel code: A-Z, a-z, 0-9, '.', '-' and '_'");
		return SOUK_EINVAL;
	}
	return 0;
}

/* plugins.load: plain names only, so a name never walks out of plugins.dir
 * (plugins/loader.c checks each name again when it loads). */
static int check_plugin_names(const cfg_item_t *it, const void *value, char *why, size_t why_len)
{
	const char *s = *(char *const *)value;
	(void)it;
	for (const char *p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == ',' || *p == ' ')
			continue;
		snprintf(why, why_len,
			 "names of a-z, 0-9, '-' and '_' separated by commas or spaces ('/' and "
			 "'..' are not allowed: plug-ins load from plugins.dir only)");
		return SOUK_EINVAL;
	}
	return 0;
}

static int check_secret(const cfg_item_t *it, const void *value, char *why, size_t why_len)
{
	const char *path = *(char *const *)value;
	int ret;
	(void)it;
	if (path == NULL || *path == '\0')
		return 0;
	ret = cfg_check_secret_file(path, why, why_len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0 && why[0] == '\0')
		snprintf(why, why_len, "cannot check file (%s)", souk_strerror(ret));
	return ret;
}

int cfg_check_secret_file(const char *path, char *why, size_t why_len)
{
	struct stat st;
	if (why_len > 0)
		why[0] = '\0';
	if (stat(path, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "must be a regular file");
		return SOUK_EPERM;
	}
	if ((st.st_mode & 0177) != 0) {
		snprintf(why, why_len, "file mode is %04o, must be 0600 or stricter",
			 (unsigned)(st.st_mode & 07777));
		return SOUK_EPERM;
	}
	return 0;
}

#define U(n, f, lo, hi, d, u, fl, h)                                                               \
	{                                                                                          \
		.name = n, .type = CFG_T_UINT, FIELD(f), .umin = lo, .umax = hi, .def = d,         \
		.unit = u, .flags = fl, .help = h                                                  \
	}
#define SZ(n, f, lo, hi, d, fl, h)                                                                 \
	{                                                                                          \
		.name = n, .type = CFG_T_SIZE, FIELD(f), .umin = lo, .umax = hi, .def = d,         \
		.unit = "bytes", .flags = fl, .help = h                                            \
	}
#define DUR(n, f, lo, hi, d, fl, h)                                                                \
	{                                                                                          \
		.name = n, .type = CFG_T_DURATION, FIELD(f), .umin = lo, .umax = hi, .def = d,     \
		.unit = "ms", .flags = fl, .help = h                                               \
	}
#define B(n, f, d, fl, h)                                                                          \
	{                                                                                          \
		.name = n, .type = CFG_T_BOOL, FIELD(f), .def = d, .flags = fl, .help = h          \
	}
#define P(n, f, d, fl, chk, h)                                                                     \
	{                                                                                          \
		.name = n, .type = CFG_T_PATH, FIELD(f), .umax = 4095, .def = d, .flags = fl,      \
		.check = chk, .help = h                                                            \
	}

static const cfg_item_t g_schema[] = {
    {.name = "instance",
     .type = CFG_T_STRING,
     FIELD(instance),
     .umax = 32,
     .def = "souk",
     .flags = CFG_F_RESTART | CFG_F_FCGI,
     .check = check_instance,
     .help = "Name of this instance; shared-memory objects are /dev/shm/<instance>.*, "
	     "so several instances can share a machine."},
    P("paths.state_dir", paths.state_dir, "/var/lib/souk", CFG_F_RESTART | CFG_F_FCGI, NULL,
      "Directory of the LMDB environment (records, history, change log, audit log)."),
    P("paths.runtime_dir", paths.runtime_dir, "/run/souk", CFG_F_RESTART | CFG_F_FCGI,
      check_runtime_dir,
      "Directory of runtime files: the control socket <runtime_dir>/control.sock and "
      "soukd's publish socket <runtime_dir>/publish.sock, which workers wake soukd through."),
    {.name = "log.level",
     .type = CFG_T_ENUM,
     FIELD(log.level),
     .def = "info",
     .enums = g_levels,
     .flags = CFG_F_FCGI,
     .help = "Least important message that is logged (syslog levels)."},
    {.name = "log.target",
     .type = CFG_T_ENUM,
     FIELD(log.target),
     .def = "auto",
     .enums = g_targets,
     .flags = CFG_F_FCGI,
     .help = "Where log records go: journal when started by systemd (auto), "
	     "stderr, or journal."},
    SZ("store.map_size", store.map_size, 1 * MiB, 16 * TiB, "1G", CFG_F_RESTART | CFG_F_FCGI,
       "Initial size of the LMDB map; it grows on demand up to store.map_max."),
    SZ("store.map_max", store.map_max, 0, 16 * TiB, "64G", CFG_F_RESTART | CFG_F_FCGI,
       "Ceiling for map growth; 0 means no ceiling. Must be 0 or at least store.map_size."),
    U("store.max_readers", store.max_readers, 16, 65536, "512", NULL,
      CFG_F_RESTART | CFG_F_FCGI,
      "LMDB reader slots: at least (souk-fcgi processes) x fcgi.threads plus soukd and "
      "tools."),
    U("shm.max_workers", shm.max_workers, 1, 4096, "64", "slots", CFG_F_RESTART,
      "Worker slots in the shared-memory control segment (one per souk-fcgi process)."),
    {.name = "fcgi.listen",
     .type = CFG_T_LISTEN,
     FIELD(fcgi.listen),
     .def = "unix:/run/souk/fcgi.sock",
     .flags = CFG_F_RESTART | CFG_F_WORKER,
     .help = "FastCGI socket of the workers when they are not socket-activated: "
	     "unix:/path, 127.0.0.1:9000 or [::1]:9000."},
    U("fcgi.threads", fcgi.threads, 1, 1024, "8", NULL, CFG_F_RESTART | CFG_F_WORKER,
      "Request threads per worker process (the number of processes is the unit's or "
      "spawn-fcgi's business: one per souk-fcgi started)."),
    U("fcgi.backlog", fcgi.backlog, 1, 65535, "1024", NULL, CFG_F_RESTART | CFG_F_WORKER,
      "Listen backlog of the FastCGI socket."),
    SZ("fcgi.max_body", fcgi.max_body, 1 * KiB, 1 * GiB, "1M", CFG_F_FCGI | CFG_F_PUBLISHED,
       "Largest request body accepted; larger requests get 413. A reload can lower "
       "it for running workers; raising it above the value a worker started with "
       "needs `systemctl restart souk-fcgi` (a worker sizes its request buffers at "
       "start)."),
    U("fcgi.max_json_depth", fcgi.max_json_depth, 1, 256, "32", NULL,
      CFG_F_FCGI | CFG_F_PUBLISHED,
      "Deepest nesting of JSON arrays and objects accepted in a request body."),
    DUR("fcgi.request_timeout", fcgi.request_timeout_ms, 100, 10 * MIN, "30s",
	CFG_F_FCGI | CFG_F_PUBLISHED,
	"Receive and send timeout of a FastCGI connection (SO_RCVTIMEO, SO_SNDTIMEO): "
	"a web server that sends no request bytes, or reads no answer bytes, for this "
	"long has its connection closed. After a reload it applies to the connections "
	"accepted from then on. It also bounds how long a stopping worker waits for "
	"requests in progress."),
    DUR("fcgi.min_seq_wait", fcgi.min_seq_wait_ms, 0, 60 * SEC, "1s",
	CFG_F_FCGI | CFG_F_PUBLISHED,
	"Longest wait for an image that includes a client's last write "
	"(read-your-writes); 0 disables waiting."),
    DUR("fcgi.idempotency_ttl", fcgi.idempotency_ttl_ms, 1 * MIN, 30 * DAY, "1d", 0,
	"How long an Idempotency-Key and its response are kept."),
    DUR("publish.coalesce", publish.coalesce_ms, 0, 10 * SEC, "2ms", 0,
	"Wait after a change before building an image, so bursts of writes are "
	"published together."),
    DUR("publish.poll_interval", publish.poll_interval_ms, 10, 1 * MIN, "1s", 0,
	"Interval at which the change log is checked when no wake-up arrives."),
    U("publish.max_busy", publish.max_busy_pct, 5, 100, "25", "percent", 0,
      "Largest share of one core that publishing may take while writes keep "
      "arriving: after an image that took T to build, the next waits at least "
      "T x (100 - max_busy) / max_busy (at most 1 s); a new base image, built "
      "on a thread of its own, waits the same after the last one (at most 30 s; "
      "deltas go on meanwhile). Lower leaves more CPU to writes, higher makes "
      "them visible sooner; 100 publishes as soon as publish.coalesce allows."),
    B("daemon.watchdog", daemon.watchdog, "true", 0,
      "Answer the systemd watchdog (WatchdogSec=) from the event loop; off only "
      "for debugging."),
    DUR("daemon.shutdown_timeout", daemon.shutdown_timeout_ms, 100, 5 * MIN, "10s", 0,
	"Longest time to finish work in progress on SIGTERM before exiting anyway."),
    U("control.max_clients", control.max_clients, 1, 1024, "32", "connections", 0,
      "Simultaneous connections to the control socket; more are refused."),
    DUR("control.idle_timeout", control.idle_timeout_ms, 100, 1 * HOUR, "1m", 0,
	"A control connection idle for this long is closed."),
    P("auth.admin_secret_file", auth.admin_secret_file, "/etc/souk/admin.secret",
      CFG_F_EMPTY_OK | CFG_F_RESTART | CFG_F_WORKER, check_secret,
      "File holding the admin bearer: its first line is a static secret that a request presents as 'Authorization: Bearer <secret>' to "
      "write; compared byte for byte, it is not a signing key and issues no tokens. "
      "Mode 0600 or stricter. Empty: every write is refused (401)."),
    {.name = "channels.default",
     .type = CFG_T_STRING,
     FIELD(channels.default_code),
     .umax = 32,
     .def = "",
     .flags = CFG_F_EMPTY_OK,
     .check = check_channel_code,
     .help = "Code of the channel a request is served in when it names none (no "
	     "X-Souk-Channel header) and its host is none of a channel's hostnames. Empty: "
	     "with several channels such a request is refused (404), never answered with "
	     "another channel's data; a mall with one active channel serves that one."},
    P("audit.signing_key_file", audit.signing_key_file, "/etc/souk/audit.key",
      CFG_F_EMPTY_OK | CFG_F_RESTART, check_secret,
      "Private key (PEM) that signs audit-log checkpoints; mode 0600 or stricter. "
      "Empty leaves checkpoints unsigned."),
    DUR("audit.checkpoint_interval", audit.checkpoint_interval_ms, 1 * MIN, 1 * DAY, "1h", 0,
	"Interval between signed audit-log checkpoints."),
    P("plugins.dir", plugins.dir, "/usr/lib/souk/plugins", CFG_F_RESTART | CFG_F_FCGI, NULL,
      "Directory of plug-ins: plugins.load names <dir>/<name>.so. It must not be "
      "world-writable, nor may a plug-in file be."),
    {.name = "plugins.load",
     .type = CFG_T_STRING,
     FIELD(plugins.load),
     .umax = 1024,
     .def = "",
     .flags = CFG_F_EMPTY_OK | CFG_F_RESTART | CFG_F_FCGI,
     .check = check_plugin_names,
     .help = "Plug-ins to load at start-up, as names separated by commas or spaces "
	     "(for example 'stripe, dhl'); each is <plugins.dir>/<name>.so. soukd and "
	     "souk-fcgi refuse to start when one cannot be loaded or was built for another "
	     "plug-in ABI. The built-in providers (manual payment, spool notification) are "
	     "always there. Empty: built-ins only."},
};

_Static_assert(SOUK_ARRAY_LEN(g_schema) <= CFG_ITEMS_MAX, "raise CFG_ITEMS_MAX");

const cfg_item_t *cfg_schema(size_t *count)
{
	*count = SOUK_ARRAY_LEN(g_schema);
	return g_schema;
}

const cfg_item_t *cfg_item_find(const char *name)
{
	for (size_t i = 0; i < SOUK_ARRAY_LEN(g_schema); i++)
		if (strcmp(g_schema[i].name, name) == 0)
			return &g_schema[i];
	return NULL;
}

size_t cfg_item_index(const cfg_item_t *it)
{
	return (size_t)(it - g_schema);
}

const char *cfg_log_level_name(int level)
{
	for (const cfg_enum_t *e = g_levels; e->name; e++)
		if (e->value == level)
			return e->name;
	return "?";
}
