/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * config/config.h - souk configuration (YAML, one schema table).
 *
 * One table (config/schema.c) names every item with its type, range,
 * default, unit, whether a change applies on reload or needs a restart, an
 * optional check callback and a help text. The same table drives parsing,
 * defaults, `soukd --check-config`, the JSON export of the schema and the
 * reference documentation (docs/configuration.md).
 *
 * Values land in the typed cfg_t below, so callers read `cfg->fcgi.threads`.
 * Units in C are explicit: sizes are bytes, durations are milliseconds
 * (fields ending in _ms).
 *
 * Errors name file, line, column, item and value:
 *   file '/etc/souk/souk.yaml', line 12, column 3, item 'fcgi.threads', value '0' (must be 1..1024)
 * (the logger or cfg_errors_print() prefixes "config, ").
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_MAGIC	 0x53434647u   /* "SCFG" */
#define CFG_FILE_MAX	 (1024 * 1024) /* larger files are refused */
#define CFG_ITEMS_MAX	 64	       /* capacity of per-item arrays */
#define CFG_ERRORS_MAX	 32	       /* errors kept; more are only counted */
#define CFG_DEFAULT_FILE "/etc/souk/souk.yaml"

typedef enum {
	CFG_T_INT = 1,	/* signed integer with range */
	CFG_T_UINT,	/* unsigned integer with range */
	CFG_T_SIZE,	/* bytes, with units: 512K, 64M, 1G, 2T */
	CFG_T_DURATION, /* milliseconds, with units: 500ms, 5s, 1m, 2h, 7d */
	CFG_T_BOOL,	/* true/false (also yes/no, on/off) */
	CFG_T_STRING,	/* free text, length-limited (max = length) */
	CFG_T_PATH,	/* absolute path, or "" when the item allows it */
	CFG_T_ENUM,	/* one name of a list, stored as its int value */
	CFG_T_LISTEN,	/* unix:/path or 127.0.0.1:9000 or [::1]:9000 */
} cfg_type_t;

/* A listen address. */
typedef enum {
	CFG_LISTEN_UNIX = 1,
	CFG_LISTEN_TCP4,
	CFG_LISTEN_TCP6,
} cfg_listen_kind_t;

typedef struct {
	cfg_listen_kind_t kind;
	char text[128]; /* as written, e.g. "unix:/run/souk/fcgi.sock" */
	char path[108]; /* UNIX: socket path */
	char host[48];	/* TCP: numeric address without brackets */
	uint16_t port;	/* TCP: port */
} cfg_listen_t;

typedef struct {
	uint32_t magic;
	char *file; /* the file it was loaded from ("" for defaults) */

	char *instance; /* names shared-memory objects */
	struct {
		char *state_dir;
		char *runtime_dir;
	} paths;
	struct {
		int level;  /* syslog priority (LOG_INFO...) */
		int target; /* log_target_t */
	} log;
	struct {
		uint64_t map_size;
		uint64_t map_max; /* 0 = no ceiling */
		uint32_t max_readers;
	} store;
	struct {
		uint32_t max_workers;
	} shm;
	struct {
		cfg_listen_t listen;
		uint32_t threads;
		uint32_t backlog;
		uint64_t max_body;
		uint32_t max_json_depth;
		uint64_t request_timeout_ms;
		uint64_t min_seq_wait_ms;
		uint64_t idempotency_ttl_ms;
	} fcgi;
	struct {
		uint64_t coalesce_ms;
		uint64_t poll_interval_ms;
		uint64_t max_busy_pct;
	} publish;
	struct {
		bool watchdog;
		uint64_t shutdown_timeout_ms;
	} daemon;
	struct {
		uint32_t max_clients;
		uint64_t idle_timeout_ms;
	} control;
	struct {
		char *admin_secret_file;
	} auth;
	struct {
		char *default_code; /* channels.default: "" = none */
	} channels;
	struct {
		char *signing_key_file;
		uint64_t checkpoint_interval_ms;
	} audit;
	struct {
		char *dir;  /* plug-in directory: <dir>/<name>.so */
		char *load; /* names to load, separated by commas or spaces */
	} plugins;

	/* Line where each schema item was set in the file (0 = default). */
	uint32_t line[CFG_ITEMS_MAX];
} cfg_t;

/* ---- errors ---------------------------------------------------------------- */
typedef struct {
	uint32_t line;	 /* 1-based, 0 when not tied to a place */
	uint32_t column; /* 1-based */
	char msg[512];	 /* "file '...', line L, column C, item '...', value '...' (why)" */
} cfg_error_t;

typedef struct {
	unsigned count;	  /* entries in e[] */
	unsigned dropped; /* errors beyond CFG_ERRORS_MAX */
	cfg_error_t e[CFG_ERRORS_MAX];
} cfg_errors_t;

/* Print every error as "config, <msg>" lines (and the dropped count). */
void cfg_errors_print(const cfg_errors_t *errs, FILE *f);

/* ---- schema ---------------------------------------------------------------- */
#define CFG_F_RESTART  0x1u /* soukd applies a change at its restart only (else: on reload) */
#define CFG_F_EMPTY_OK 0x2u /* string/path may be "" (feature off / unset) */
/* souk-fcgi reads the item from the file at start and never again: a change
 * reaches the workers with `systemctl restart souk-fcgi`. */
#define CFG_F_FCGI	0x4u
#define CFG_F_FCGI_ONLY 0x8u /* with CFG_F_FCGI: soukd does not use the item */
#define CFG_F_WORKER	(CFG_F_FCGI | CFG_F_FCGI_ONLY)
/* with CFG_F_FCGI: soukd publishes the value it runs with to the workers in
 * the image (shm/settings.h), so a reload reaches running workers; the
 * file's value is theirs until soukd has published one. */
#define CFG_F_PUBLISHED 0x10u

typedef struct {
	const char *name;
	int value;
} cfg_enum_t;

typedef struct cfg_item cfg_item_t;
/* Extra validation: 0, or non-zero with why filled ("must be ..."). */
typedef int (*cfg_check_t)(const cfg_item_t *it, const void *value, char *why, size_t why_len);

struct cfg_item {
	const char *name; /* dotted: "fcgi.threads" */
	cfg_type_t type;
	size_t offset;		 /* offsetof(cfg_t, ...) */
	size_t size;		 /* sizeof the field */
	int64_t min;		 /* INT */
	uint64_t umin;		 /* UINT, SIZE, DURATION (ms) */
	uint64_t umax;		 /* UINT, SIZE, DURATION (ms); STRING: max length */
	int64_t max;		 /* INT */
	const char *def;	 /* default, written as in the file */
	const char *unit;	 /* for documentation: "bytes", "ms", NULL */
	const cfg_enum_t *enums; /* ENUM: NULL-terminated */
	unsigned flags;		 /* CFG_F_* */
	cfg_check_t check;
	const char *help;
};

/* The schema table and its length. */
const cfg_item_t *cfg_schema(size_t *count);
/* Look an item up by dotted name; NULL when unknown. */
const cfg_item_t *cfg_item_find(const char *name);
/* Index of an item in the schema table (for cfg_t.line[]). */
size_t cfg_item_index(const cfg_item_t *it);

/* ---- loading ------------------------------------------------------------- */
/*
 * Load and validate a file (at most CFG_FILE_MAX bytes). On success *out is
 * a new config and errs->count is 0. On failure returns SOUK_ECONFIG (or
 * -errno/SOUK_ENOMEM), leaves *out NULL, and errs holds every problem found.
 * errs may be NULL.
 */
int cfg_load(const char *path, cfg_t **out, cfg_errors_t *errs);
/* The same from memory; name is used in messages (and as cfg->file). */
int cfg_load_buffer(const char *buf, size_t len, const char *name, cfg_t **out, cfg_errors_t *errs);
/* A config holding every default. */
int cfg_defaults(cfg_t **out);
/* Deep copy. */
int cfg_dup(const cfg_t *src, cfg_t **out);
void cfg_free(cfg_t **cfg);

/* ---- values ---------------------------------------------------------------- */
/* Format the value of an item as it would be written in the file. */
int cfg_item_format(const cfg_t *cfg, const cfg_item_t *it, char *buf, size_t len);
/* True when the item has the same value in both configs. */
bool cfg_item_equal(const cfg_t *a, const cfg_t *b, const cfg_item_t *it);
/* Copy one item's value from src into dst. */
int cfg_item_copy(cfg_t *dst, const cfg_t *src, const cfg_item_t *it);

/* Which items differ between two configs. */
typedef struct {
	unsigned count;
	bool restart; /* at least one changed item needs a restart */
	const cfg_item_t *items[CFG_ITEMS_MAX];
} cfg_diff_t;
void cfg_diff(const cfg_t *old_cfg, const cfg_t *new_cfg, cfg_diff_t *out);
bool cfg_diff_has(const cfg_diff_t *diff, const char *name);

/* Name of a syslog level / log target as written in the file. */
const char *cfg_log_level_name(int level);

/*
 * A secret file (admin secret, signing key) must be a regular file readable
 * by its owner only (mode 0600 or stricter). 0, -errno, or SOUK_EPERM with
 * why filled.
 */
int cfg_check_secret_file(const char *path, char *why, size_t why_len);

/* ---- export ---------------------------------------------------------------- */
/* The schema as JSON ({"version":1,"items":[...]}); 0 or an error. */
int cfg_dump_schema_json(FILE *f);
/* The values of a config as a JSON object {"fcgi.threads": "8", ...}, each
 * written as in the file (for `soukd` status output and tools). */
struct json_t;
struct json_t *cfg_to_json(const cfg_t *cfg);
/* The reference documentation (docs/configuration.md) as Markdown. */
int cfg_dump_schema_markdown(FILE *f);
