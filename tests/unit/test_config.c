/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_config.c - the configuration loader and schema.
 *
 * Run from the repository root (make check does): invalid files are
 * tests/data/config/invalid/NN-name.yaml, each with NN-name.expect holding
 * the exact error lines `soukd --check-config` prints for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "config/config.h"
#include "config/values.h"

#define INVALID_DIR "tests/data/config/invalid"
#define VALID_DIR   "tests/data/config/valid"

static char *errors_text(const cfg_errors_t *errs)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	cfg_errors_print(errs, f);
	fclose(f);
	return text;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir ending in suffix; returns count. */
static size_t list_dir(const char *dir, const char *suffix, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, slen = strlen(suffix);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l <= slen || strcmp(de->d_name + l - slen, suffix) != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		assert_non_null(names);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return n;
}

static void free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void test_cfg_invalid_files_give_expected_errors(void **state)
{
	char **names;
	size_t n = list_dir(INVALID_DIR, ".yaml", &names);
	unsigned failures = 0;
	(void)state;

	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		char path[512], expect_path[512];
		char *expect = NULL, *got;
		cfg_errors_t errs;
		cfg_t *cfg = NULL;
		int ret;

		snprintf(path, sizeof(path), "%s/%s", INVALID_DIR, names[i]);
		snprintf(expect_path, sizeof(expect_path), "%s/%.*s.expect", INVALID_DIR,
			 (int)(strlen(names[i]) - 5), names[i]);
		assert_int_equal(souk_read_file(expect_path, 1 << 20, &expect, NULL), 0);
		ret = cfg_load(path, &cfg, &errs);
		got = errors_text(&errs);
		if (ret != SOUK_ECONFIG || cfg != NULL || errs.count == 0 ||
		    strcmp(got, expect) != 0) {
			fprintf(stderr, "%s: ret %d\n--- expected\n%s--- got\n%s", path, ret,
				expect, got);
			failures++;
		}
		cfg_free(&cfg);
		free(got);
		free(expect);
	}
	free_list(names, n);
	assert_int_equal(failures, 0);
}

static void test_cfg_valid_files_load(void **state)
{
	char **names;
	size_t n = list_dir(VALID_DIR, ".yaml", &names);
	(void)state;

	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		cfg_errors_t errs;
		cfg_t *cfg = NULL;
		int ret;
		snprintf(path, sizeof(path), "%s/%s", VALID_DIR, names[i]);
		ret = cfg_load(path, &cfg, &errs);
		if (ret != 0) {
			char *got = errors_text(&errs);
			fprintf(stderr, "%s: %s", path, got);
			free(got);
		}
		assert_int_equal(ret, 0);
		assert_int_equal(errs.count, 0);
		assert_non_null(cfg);
		assert_string_equal(cfg->file, path);
		cfg_free(&cfg);
		assert_null(cfg);
	}
	free_list(names, n);
}

static void test_cfg_values_land_in_typed_struct(void **state)
{
	cfg_t *cfg = NULL;
	(void)state;
	assert_int_equal(cfg_load(VALID_DIR "/units.yaml", &cfg, NULL), 0);
	assert_string_equal(cfg->instance, "shop-test_1");
	assert_int_equal(cfg->log.level, LOG_DEBUG);
	assert_int_equal(cfg->log.target, LOG_TARGET_STDERR);
	assert_int_equal(cfg->store.map_size, 64ull << 20);
	assert_int_equal(cfg->store.map_max, 2ull << 40);
	assert_false(cfg->daemon.watchdog);
	assert_int_equal(cfg->fcgi.threads, 16);
	assert_int_equal(cfg->fcgi.max_body, 512ull << 10);
	assert_int_equal(cfg->fcgi.request_timeout_ms, 90000);
	assert_int_equal(cfg->fcgi.min_seq_wait_ms, 500);
	assert_int_equal(cfg->fcgi.idempotency_ttl_ms, 7ull * 86400 * 1000);
	assert_int_equal(cfg->publish.coalesce_ms, 0);
	assert_int_equal(cfg->fcgi.listen.kind, CFG_LISTEN_TCP4);
	assert_string_equal(cfg->fcgi.listen.host, "127.0.0.1");
	assert_int_equal(cfg->fcgi.listen.port, 9000);
	assert_string_equal(cfg->auth.admin_secret_file, "");
	/* items not in the file keep their defaults */
	assert_int_equal(cfg->fcgi.backlog, 1024);
	assert_string_equal(cfg->paths.state_dir, "/var/lib/souk");
	assert_int_equal(cfg->line[cfg_item_index(cfg_item_find("fcgi.backlog"))], 0);
	assert_true(cfg->line[cfg_item_index(cfg_item_find("fcgi.threads"))] > 0);
	cfg_free(&cfg);
}

static void test_cfg_defaults_are_valid_and_canonical(void **state)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	cfg_t *cfg = NULL;
	char buf[256];
	(void)state;

	assert_int_equal(cfg_defaults(&cfg), 0);
	assert_int_equal(cfg->magic, CFG_MAGIC);
	assert_string_equal(cfg->instance, "souk");
	assert_string_equal(cfg->paths.state_dir, "/var/lib/souk");
	assert_string_equal(cfg->paths.runtime_dir, "/run/souk");
	assert_int_equal(cfg->log.level, LOG_INFO);
	assert_int_equal(cfg->fcgi.min_seq_wait_ms, 1000);
	assert_int_equal(cfg->publish.coalesce_ms, 2);
	assert_int_equal(cfg->publish.poll_interval_ms, 1000);
	assert_int_equal(cfg->publish.max_busy_pct, 25);
	assert_int_equal(cfg->fcgi.listen.kind, CFG_LISTEN_UNIX);
	assert_string_equal(cfg->fcgi.listen.path, "/run/souk/fcgi.sock");
	assert_true(n > 20 && n <= CFG_ITEMS_MAX);
	for (size_t i = 0; i < n; i++) {
		/* every default prints back as written in the table */
		assert_int_equal(cfg_item_format(cfg, &schema[i], buf, sizeof(buf)), 0);
		if (strcmp(buf, schema[i].def) != 0)
			fail_msg("item '%s': default '%s' formats as '%s'", schema[i].name,
				 schema[i].def, buf);
		assert_non_null(schema[i].help);
		assert_true(strlen(schema[i].help) > 10);
		assert_ptr_equal(cfg_item_find(schema[i].name), &schema[i]);
	}
	assert_null(cfg_item_find("fcgi"));
	assert_null(cfg_item_find("nope"));
	cfg_free(&cfg);
}

static void test_cfg_shipped_file_sets_every_item_to_its_default(void **state)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	cfg_t *cfg = NULL, *def = NULL;
	cfg_errors_t errs;
	cfg_diff_t diff;
	char *text = NULL;
	(void)state;

	assert_int_equal(cfg_load("config/souk.yaml", &cfg, &errs), 0);
	assert_int_equal(cfg_defaults(&def), 0);
	assert_int_equal(souk_read_file("config/souk.yaml", CFG_FILE_MAX, &text, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		if (cfg->line[i] == 0)
			fail_msg("item '%s' is missing from config/souk.yaml", schema[i].name);
		/* the line before each item is its comment */
		char *p = text;
		for (uint32_t l = 1; l + 1 < cfg->line[i] && p; l++)
			p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
		assert_non_null(p);
		while (*p == ' ')
			p++;
		if (*p != '#')
			fail_msg("item '%s' in config/souk.yaml has no comment above it",
				 schema[i].name);
	}
	cfg_diff(def, cfg, &diff);
	if (diff.count != 0)
		fail_msg("config/souk.yaml sets '%s' to a value other than its default",
			 diff.items[0]->name);
	free(text);
	cfg_free(&cfg);
	cfg_free(&def);
}

static void test_cfg_reference_doc_is_current(void **state)
{
	char *want = NULL, *have = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&want, &len);
	(void)state;

	assert_non_null(f);
	assert_int_equal(cfg_dump_schema_markdown(f), 0);
	fclose(f);
	assert_int_equal(souk_read_file("docs/configuration.md", 1 << 20, &have, NULL), 0);
	if (strcmp(want, have) != 0)
		fail_msg("docs/configuration.md is stale: run "
			 "'build/soukd --dump-schema=markdown > docs/configuration.md'");
	free(want);
	free(have);
}

/*
 * The items souk-fcgi takes from the file at start (fcgi/main_fcgi.c). Those
 * soukd publishes in the image (CFG_F_PUBLISHED) follow a reload; for the
 * others the reference, the shipped file and soukd's reload must all say
 * that a change needs a restart of souk-fcgi.
 */
static void test_cfg_worker_items_say_restart_souk_fcgi(void **state)
{
	static const char *const worker_items[] = {
	    "instance",	       "paths.state_dir",	"paths.runtime_dir",
	    "log.level",       "log.target",		"store.map_size",
	    "store.map_max",   "store.max_readers",	"fcgi.listen",
	    "fcgi.threads",    "fcgi.backlog",		"auth.admin_secret_file",
	};
	/* soukd does not use these: a reload must not claim to apply them */
	static const char *const fcgi_only[] = {"auth.admin_secret_file"};
	/* soukd publishes these to the workers: a reload reaches them */
	static const char *const published[] = {
	    "fcgi.max_body", "fcgi.max_json_depth", "fcgi.request_timeout", "fcgi.min_seq_wait",
	};
	char *md = NULL, *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&md, &len);
	cfg_t *cfg = NULL;
	(void)state;

	assert_non_null(f);
	assert_int_equal(cfg_dump_schema_markdown(f), 0);
	fclose(f);
	assert_non_null(strstr(md, "`systemctl reload soukd`"));
	assert_null(strstr(md, "reload souk`"));
	assert_int_equal(cfg_load("config/souk.yaml", &cfg, NULL), 0);
	assert_int_equal(souk_read_file("config/souk.yaml", CFG_FILE_MAX, &yaml, NULL), 0);
	for (size_t i = 0; i < SOUK_ARRAY_LEN(worker_items) + SOUK_ARRAY_LEN(published); i++) {
		bool pub = i >= SOUK_ARRAY_LEN(worker_items);
		const char *name = pub ? published[i - SOUK_ARRAY_LEN(worker_items)] : worker_items[i];
		const cfg_item_t *it = cfg_item_find(name);
		char head[96];
		assert_non_null(it);
		if (!(it->flags & CFG_F_FCGI))
			fail_msg("item '%s' is read by souk-fcgi but not flagged CFG_F_FCGI",
				 it->name);
		assert_int_equal(!!(it->flags & CFG_F_PUBLISHED), pub);
		/* its section of the reference, up to the next item */
		snprintf(head, sizeof(head), "### `%s`", it->name);
		char *sec = strstr(md, head);
		assert_non_null(sec);
		char *end = strstr(sec + 1, "\n### ");
		size_t slen = end ? (size_t)(end - sec) : strlen(sec);
		char *text = strndup(sec, slen);
		if (!pub && strstr(text, "`systemctl restart souk-fcgi`") == NULL)
			fail_msg("docs for '%s' do not say 'restart souk-fcgi'", it->name);
		if (pub && (strstr(text, "a reload reaches running workers") == NULL ||
			    strstr(text, "soukd applies it on: reload") == NULL))
			fail_msg("docs for '%s' do not say that a reload reaches the workers",
				 it->name);
		/* raising max_body still needs new workers: their arenas */
		if (strcmp(it->name, "fcgi.max_body") == 0)
			assert_non_null(strstr(text, "needs `systemctl restart souk-fcgi`"));
		free(text);
		/* the comment line right above it in the shipped file */
		char *p = yaml, *prev = yaml;
		for (uint32_t l = 1; l < cfg->line[cfg_item_index(it)] && p; l++) {
			prev = p;
			p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
		}
		assert_non_null(p);
		char *line = strndup(prev, (size_t)(p - prev));
		if (strstr(line, pub ? "(souk-fcgi, follows reload)" : "souk-fcgi)") == NULL)
			fail_msg("config/souk.yaml: the comment above '%s' does not say %s",
				 it->name, pub ? "(souk-fcgi, follows reload)" : "(souk-fcgi)");
		free(line);
	}
	for (size_t i = 0; i < SOUK_ARRAY_LEN(fcgi_only); i++) {
		const cfg_item_t *it = cfg_item_find(fcgi_only[i]);
		assert_non_null(it);
		assert_true(it->flags & CFG_F_FCGI_ONLY);
		/* soukd holds the running value and lists it as restart_pending */
		assert_true(it->flags & CFG_F_RESTART);
	}
	for (size_t i = 0; i < SOUK_ARRAY_LEN(published); i++) {
		const cfg_item_t *it = cfg_item_find(published[i]);
		/* soukd takes the new value at a reload, to publish it */
		assert_false(it->flags & (CFG_F_RESTART | CFG_F_FCGI_ONLY));
	}
	/* removed: nothing read them */
	assert_null(cfg_item_find("fcgi.processes"));
	assert_null(cfg_item_find("auth.token_ttl"));
	cfg_free(&cfg);
	free(yaml);
	free(md);
}

static void test_cfg_schema_json_lists_every_item(void **state)
{
	char *text = NULL;
	size_t len = 0, n;
	const cfg_item_t *schema = cfg_schema(&n);
	FILE *f = open_memstream(&text, &len);
	json_t *root, *items, *it;
	json_error_t jerr;
	bool found = false;
	(void)state;

	assert_int_equal(cfg_dump_schema_json(f), 0);
	fclose(f);
	root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	items = json_object_get(root, "items");
	assert_int_equal(json_array_size(items), n);
	for (size_t i = 0; i < n; i++) {
		it = json_array_get(items, i);
		assert_string_equal(json_string_value(json_object_get(it, "name")), schema[i].name);
		assert_non_null(json_string_value(json_object_get(it, "help")));
		if (strcmp(schema[i].name, "fcgi.threads") == 0) {
			found = true;
			assert_string_equal(json_string_value(json_object_get(it, "type")), "uint");
			assert_string_equal(json_string_value(json_object_get(it, "min")), "1");
			assert_string_equal(json_string_value(json_object_get(it, "max")), "1024");
			assert_string_equal(json_string_value(json_object_get(it, "apply")),
					    "restart");
		}
		if (strcmp(schema[i].name, "log.level") == 0) {
			assert_int_equal(json_array_size(json_object_get(it, "values")), 8);
			assert_string_equal(json_string_value(json_object_get(it, "apply")),
					    "reload");
			assert_string_equal(json_string_value(json_object_get(it, "read_by")),
					    "soukd,souk-fcgi");
		}
		if (strcmp(schema[i].name, "fcgi.max_body") == 0) {
			assert_string_equal(json_string_value(json_object_get(it, "read_by")),
					    "soukd,souk-fcgi");
			assert_true(json_is_true(json_object_get(it, "published_to_workers")));
		}
		if (strcmp(schema[i].name, "auth.admin_secret_file") == 0)
			assert_string_equal(json_string_value(json_object_get(it, "read_by")),
					    "souk-fcgi");
		if (strcmp(schema[i].name, "publish.coalesce") == 0)
			assert_string_equal(json_string_value(json_object_get(it, "read_by")),
					    "soukd");
	}
	assert_true(found);
	json_decref(root);
	free(text);
}

static cfg_t *load_text(const char *text, cfg_errors_t *errs)
{
	cfg_t *cfg = NULL;
	cfg_load_buffer(text, strlen(text), "mem.yaml", &cfg, errs);
	return cfg;
}

static void test_cfg_to_json_has_every_value(void **state)
{
	size_t n;
	cfg_t *cfg = load_text("fcgi:\n  threads: 12\n  max_body: 2M\n", NULL);
	json_t *o;
	(void)state;

	assert_non_null(cfg);
	cfg_schema(&n);
	o = cfg_to_json(cfg);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), n);
	assert_string_equal(json_string_value(json_object_get(o, "fcgi.threads")), "12");
	assert_string_equal(json_string_value(json_object_get(o, "fcgi.max_body")), "2M");
	assert_string_equal(json_string_value(json_object_get(o, "log.level")), "info");
	json_decref(o);
	cfg_free(&cfg);
}

static void test_cfg_size_units(void **state)
{
	static const struct {
		const char *in;
		uint64_t want;
	} ok[] = {
	    {"0", 0},		{"4096", 4096},	    {"512K", 512ull << 10}, {"64M", 64ull << 20},
	    {"1G", 1ull << 30}, {"2T", 2ull << 40}, {"1KiB", 1024},	    {"1kb", 1024},
	    {"3g", 3ull << 30}, {"10B", 10},
	};
	static const char *const bad[] = {
	    "",		"M", "1.5G", "-1M", "10X", "1 G", " 1G", "1GG", "99999999999999999999",
	    "20000000T"};
	uint64_t v;
	char buf[32];
	(void)state;

	for (size_t i = 0; i < SOUK_ARRAY_LEN(ok); i++) {
		assert_int_equal(cfg_parse_size(ok[i].in, &v), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++)
		if (cfg_parse_size(bad[i], &v) == 0)
			fail_msg("size '%s' was accepted", bad[i]);
	cfg_format_size(1ull << 30, buf, sizeof(buf));
	assert_string_equal(buf, "1G");
	cfg_format_size(1536, buf, sizeof(buf));
	assert_string_equal(buf, "1536");
	cfg_format_size(3ull << 20, buf, sizeof(buf));
	assert_string_equal(buf, "3M");
}

static void test_cfg_duration_units(void **state)
{
	static const struct {
		const char *in;
		uint64_t want;
	} ok[] = {
	    {"0", 0},	      {"500ms", 500},	 {"5s", 5000},	    {"1m", 60000},
	    {"1m30s", 90000}, {"24h", 86400000}, {"7d", 604800000}, {"0s", 0},
	};
	static const char *const bad[] = {
	    "", "30", "5 s", "1y", "ms", "-1s", "1.5s", "s5", "99999999999999999999d"};
	uint64_t v;
	char buf[32];
	(void)state;

	for (size_t i = 0; i < SOUK_ARRAY_LEN(ok); i++) {
		assert_int_equal(cfg_parse_duration(ok[i].in, &v), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++)
		if (cfg_parse_duration(bad[i], &v) == 0)
			fail_msg("duration '%s' was accepted", bad[i]);
	cfg_format_duration(90000, buf, sizeof(buf));
	assert_string_equal(buf, "90s");
	cfg_format_duration(2, buf, sizeof(buf));
	assert_string_equal(buf, "2ms");
	cfg_format_duration(3600000, buf, sizeof(buf));
	assert_string_equal(buf, "1h");
}

static void test_cfg_bool_and_listen_forms(void **state)
{
	cfg_listen_t l;
	bool b;
	(void)state;

	assert_int_equal(cfg_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(cfg_parse_bool("Off", &b), 0);
	assert_false(b);
	assert_int_not_equal(cfg_parse_bool("1", &b), 0);

	assert_int_equal(cfg_parse_listen("unix:/run/souk/fcgi.sock", &l), 0);
	assert_int_equal(l.kind, CFG_LISTEN_UNIX);
	assert_string_equal(l.path, "/run/souk/fcgi.sock");
	assert_int_equal(cfg_parse_listen("127.0.0.1:9000", &l), 0);
	assert_int_equal(l.kind, CFG_LISTEN_TCP4);
	assert_int_equal(l.port, 9000);
	assert_int_equal(cfg_parse_listen("[::1]:8080", &l), 0);
	assert_int_equal(l.kind, CFG_LISTEN_TCP6);
	assert_string_equal(l.host, "::1");
	assert_int_equal(l.port, 8080);
	assert_int_not_equal(cfg_parse_listen("127.0.0.1:0", &l), 0);
	assert_int_not_equal(cfg_parse_listen("127.0.0.1:65536", &l), 0);
	assert_int_not_equal(cfg_parse_listen("127.0.0.1", &l), 0);
	assert_int_not_equal(cfg_parse_listen("localhost:80", &l), 0);
	assert_int_not_equal(cfg_parse_listen("unix:", &l), 0);
	assert_int_not_equal(cfg_parse_listen("[::1]8080", &l), 0);
}

static void test_cfg_diff_names_changed_items_and_restart(void **state)
{
	cfg_t *a = load_text("log:\n  level: info\npublish:\n  coalesce: 2ms\n", NULL);
	cfg_t *b = load_text("log:\n  level: debug\npublish:\n  coalesce: 5ms\n", NULL);
	cfg_t *c = load_text("fcgi:\n  threads: 4\n", NULL);
	cfg_t *d = NULL;
	cfg_diff_t diff;
	(void)state;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	cfg_diff(a, a, &diff);
	assert_int_equal(diff.count, 0);
	assert_false(diff.restart);

	cfg_diff(a, b, &diff);
	assert_int_equal(diff.count, 2);
	assert_true(cfg_diff_has(&diff, "log.level"));
	assert_true(cfg_diff_has(&diff, "publish.coalesce"));
	assert_false(cfg_diff_has(&diff, "fcgi.threads"));
	assert_false(diff.restart);

	cfg_diff(a, c, &diff);
	assert_int_equal(diff.count, 1);
	assert_true(cfg_diff_has(&diff, "fcgi.threads"));
	assert_true(diff.restart);

	/* a copy is equal, and independent */
	assert_int_equal(cfg_dup(c, &d), 0);
	cfg_diff(c, d, &diff);
	assert_int_equal(diff.count, 0);
	assert_int_equal(cfg_item_copy(d, a, cfg_item_find("instance")), 0);
	assert_int_equal(cfg_item_copy(d, a, cfg_item_find("fcgi.threads")), 0);
	assert_int_equal(d->fcgi.threads, 8);
	assert_ptr_not_equal(d->instance, a->instance);
	cfg_diff(a, d, &diff);
	assert_int_equal(diff.count, 0);

	cfg_free(&a);
	cfg_free(&b);
	cfg_free(&c);
	cfg_free(&d);
}

static void test_cfg_oversize_and_missing_files_refused(void **state)
{
	char dir[] = "/tmp/souk-cfg-XXXXXX", path[64];
	cfg_errors_t errs;
	cfg_t *cfg = NULL;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("instance: souk\n", f);
	while (ftell(f) <= CFG_FILE_MAX)
		fputs("# padding padding padding pad\n", f);
	fclose(f);
	assert_int_equal(cfg_load(path, &cfg, &errs), SOUK_ECONFIG);
	assert_null(cfg);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].msg, "file is too large"));
	unlink(path);

	assert_int_not_equal(cfg_load(path, &cfg, &errs), 0);
	assert_null(cfg);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].msg, "cannot read (No such file or directory)"));
	rmdir(dir);

	/* the same limit from memory */
	char *big = malloc(CFG_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, '#', CFG_FILE_MAX + 1);
	assert_int_equal(cfg_load_buffer(big, CFG_FILE_MAX + 1, "mem", &cfg, &errs), SOUK_ECONFIG);
	assert_string_equal(errs.e[0].msg,
			    "file 'mem', file is too large (1048577 bytes, limit 1048576)");
	free(big);
}

static void test_cfg_secret_file_mode_checked(void **state)
{
	char dir[] = "/tmp/souk-cfg-XXXXXX", secret[64], text[256];
	cfg_errors_t errs;
	cfg_t *cfg;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(secret, sizeof(secret), "%s/admin.secret", dir);
	snprintf(text, sizeof(text), "auth:\n  admin_secret_file: %s\n", secret);

	/* missing: fine at parse time (checked again when used) */
	cfg = load_text(text, &errs);
	assert_non_null(cfg);
	cfg_free(&cfg);

	f = fopen(secret, "w");
	assert_non_null(f);
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	assert_int_equal(chmod(secret, 0644), 0);
	cfg = load_text(text, &errs);
	assert_null(cfg);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].msg, "line 2, column 3, item 'auth.admin_secret_file'"));
	assert_non_null(strstr(errs.e[0].msg, "(file mode is 0644, must be 0600 or stricter)"));

	assert_int_equal(chmod(secret, 0600), 0);
	cfg = load_text(text, &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->auth.admin_secret_file, secret);
	cfg_free(&cfg);
	assert_int_equal(chmod(secret, 0400), 0);
	{
		char why[128];
		assert_int_equal(cfg_check_secret_file(secret, why, sizeof(why)), 0);
		assert_int_equal(cfg_check_secret_file(dir, why, sizeof(why)), SOUK_EPERM);
		assert_string_equal(why, "must be a regular file");
	}
	unlink(secret);
	rmdir(dir);
}

static void test_cfg_errors_are_capped_and_counted(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cfg_errors_t errs;
	cfg_t *cfg = NULL;
	(void)state;

	for (int i = 0; i < 100; i++)
		fprintf(f, "unknown_%03d: 1\n", i);
	fclose(f);
	assert_int_equal(cfg_load_buffer(text, len, "many.yaml", &cfg, &errs), SOUK_ECONFIG);
	assert_null(cfg);
	assert_int_equal(errs.count, CFG_ERRORS_MAX);
	assert_int_equal(errs.dropped, 100 - CFG_ERRORS_MAX);
	assert_string_equal(errs.e[0].msg,
			    "file 'many.yaml', line 1, column 1, unknown item 'unknown_000'");
	assert_int_equal(errs.e[5].line, 6);
	free(text);
}

static void test_cfg_quoted_and_flow_values_accepted(void **state)
{
	cfg_errors_t errs;
	cfg_t *cfg = load_text("fcgi: {threads: \"12\", listen: '[::1]:9001'}\n"
			       "log: {level: 'warning'}\n",
			       &errs);
	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->fcgi.threads, 12);
	assert_int_equal(cfg->fcgi.listen.port, 9001);
	assert_int_equal(cfg->log.level, LOG_WARNING);
	cfg_free(&cfg);
	/* a NUL byte is not text */
	assert_int_equal(cfg_load_buffer("a: 1\0b: 2\n", 10, "nul.yaml", &cfg, &errs),
			 SOUK_ECONFIG);
	assert_string_equal(errs.e[0].msg,
			    "file 'nul.yaml', file contains a NUL byte (not a text file)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg_invalid_files_give_expected_errors),
	    cmocka_unit_test(test_cfg_valid_files_load),
	    cmocka_unit_test(test_cfg_values_land_in_typed_struct),
	    cmocka_unit_test(test_cfg_defaults_are_valid_and_canonical),
	    cmocka_unit_test(test_cfg_shipped_file_sets_every_item_to_its_default),
	    cmocka_unit_test(test_cfg_reference_doc_is_current),
	    cmocka_unit_test(test_cfg_worker_items_say_restart_souk_fcgi),
	    cmocka_unit_test(test_cfg_schema_json_lists_every_item),
	    cmocka_unit_test(test_cfg_to_json_has_every_value),
	    cmocka_unit_test(test_cfg_size_units),
	    cmocka_unit_test(test_cfg_duration_units),
	    cmocka_unit_test(test_cfg_bool_and_listen_forms),
	    cmocka_unit_test(test_cfg_diff_names_changed_items_and_restart),
	    cmocka_unit_test(test_cfg_oversize_and_missing_files_refused),
	    cmocka_unit_test(test_cfg_secret_file_mode_checked),
	    cmocka_unit_test(test_cfg_errors_are_capped_and_counted),
	    cmocka_unit_test(test_cfg_quoted_and_flow_values_accepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
