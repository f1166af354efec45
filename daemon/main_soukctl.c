/* SPDX-License-Identifier: Apache-2.0 */
/*
 * soukctl - souk operations CLI. Global options come first, then a command
 * from the tables in daemon/ctl_*.c and its own options and arguments.
 *
 * The configuration (-c FILE, $SOUK_CONFIG, /etc/souk/souk.yaml) gives the
 * paths; when the default file does not exist the defaults apply. See
 * docs/soukctl.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/ctl_table.h"

/* "--name VALUE" or "--name=VALUE" (or "-c VALUE"); NULL on a usage error. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	const char *v = NULL;
	if (strncmp(a, name, n) == 0 && a[n] == '=')
		v = a + n + 1;
	else if (*i + 1 < argc)
		v = argv[++*i];
	if (v == NULL || *v == '\0') {
		fprintf(stderr, "soukctl, %s needs a value\n", name);
		return NULL;
	}
	return v;
}

static bool is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);
	return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

int main(int argc, char **argv)
{
	ctl_ctx_t c = {0};
	cfg_t *cfg = NULL;
	bool data_given = false;
	int i = 1, rc;

	c.config_file = CFG_DEFAULT_FILE;
	c.timeout_ms = 30000;
	if (getenv("SOUK_CONFIG") && *getenv("SOUK_CONFIG")) {
		c.config_file = getenv("SOUK_CONFIG");
		c.config_explicit = true;
	}
	if (getenv("SOUK_DATA") && *getenv("SOUK_DATA")) {
		c.data_dir = getenv("SOUK_DATA");
		data_given = true;
	}
	log_init("soukctl", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			c.json = true;
		} else if (is_opt(a, "--data")) {
			if ((c.data_dir = opt_value(argc, argv, &i, "--data")) == NULL)
				return CTL_USAGE;
			data_given = true;
		} else if (strcmp(a, "-c") == 0 || is_opt(a, "--config")) {
			if ((c.config_file = opt_value(argc, argv, &i,
						       a[1] == 'c' ? "-c" : "--config")) == NULL)
				return CTL_USAGE;
			c.config_explicit = true;
		} else if (is_opt(a, "--timeout")) {
			const char *v = opt_value(argc, argv, &i, "--timeout");
			uint64_t s;
			if (v == NULL || souk_parse_u64(v, 1, 3600, &s) != 0) {
				fprintf(stderr, "soukctl, --timeout needs seconds (1..3600)\n");
				return CTL_USAGE;
			}
			c.timeout_ms = s * 1000;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			ctl_usage(stdout);
			return CTL_OK;
		} else if (strcmp(a, "--version") == 0) {
			printf("soukctl %s\n", SOUK_VERSION);
			return CTL_OK;
		} else {
			fprintf(stderr, "soukctl, unknown option '%s'\n", a);
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	}
	int used = 0;
	const ctl_cmd_t *cmd = i < argc ? ctl_find(argc - i, argv + i, &used) : NULL;
	if (!cmd) {
		if (i < argc)
			fprintf(stderr, "soukctl, unknown command '%s'\n", argv[i]);
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	/* --json is also taken after the command (soukctl status --json) */
	int first = i + used, n = first;
	for (int k = first; k < argc; k++) {
		if (strcmp(argv[k], "--") == 0) {
			while (k < argc)
				argv[n++] = argv[k++];
			break;
		}
		if (strcmp(argv[k], "--json") == 0)
			c.json = true;
		else
			argv[n++] = argv[k];
	}
	argc = n;
	if ((rc = ctl_setup(&c, cmd, data_given, &cfg)) != CTL_OK)
		return rc;
	if (c.json)
		c.out = json_object();
	rc = cmd->run(&c, argc - i - used, argv + i + used);
	if (c.json) {
		json_object_set_new(c.out, "command", json_string(cmd->name));
		json_object_set_new(c.out, "ok", json_boolean(rc == CTL_OK));
		json_object_set_new(c.out, "exit", json_integer(rc));
		char *s = json_dumps(c.out, JSON_SORT_KEYS);
		if (s)
			puts(s);
		free(s);
		json_decref(c.out);
	}
	cfg_free(&cfg);
	return rc;
}
