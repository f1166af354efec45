/*
 * soukctl - souk operations CLI. Global options come first, then a command
 * from the table in daemon/ctl*.c and its own options and arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "daemon/ctl_table.h"

int main(int argc, char **argv)
{
	ctl_ctx_t c = { 0 };
	int i = 1, rc;
	c.data_dir = getenv("SOUK_DATA") ? getenv("SOUK_DATA") : "/var/lib/souk";
	log_init("soukctl", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			c.json = true;
		} else if (strcmp(a, "--data") == 0 || strncmp(a, "--data=", 7) == 0) {
			if (a[6] == '=') {
				c.data_dir = a + 7;
			} else if (i + 1 < argc) {
				c.data_dir = argv[++i];
			} else {
				fprintf(stderr, "soukctl, --data needs a directory\n");
				return CTL_USAGE;
			}
			if (!*c.data_dir) {
				fprintf(stderr, "soukctl, --data needs a directory\n");
				return CTL_USAGE;
			}
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			fprintf(stderr, "soukctl, configuration files are not supported yet (use --data DIR)\n");
			return CTL_USAGE;
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
	return rc;
}
