/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_table.c - soukctl command lookup and usage text.
 */
#include "daemon/ctl_table.h"

#include <string.h>

#include "common/util.h"

static const struct {
	const ctl_cmd_t *cmds;
	const size_t *n;
} tables[] = {
	{ ctl_ops_commands, &ctl_ops_ncommands },
	{ ctl_store_commands, &ctl_store_ncommands },
	{ ctl_catalog_commands, &ctl_catalog_ncommands },
	{ ctl_plugins_commands, &ctl_plugins_ncommands },
};

const ctl_cmd_t *ctl_find(int argc, char **argv, int *used)
{
	for (size_t t = 0; t < SOUK_ARRAY_LEN(tables); t++)
		for (size_t i = 0; i < *tables[t].n; i++) {
			const ctl_cmd_t *c = &tables[t].cmds[i];
			const char *sp = strchr(c->name, ' ');
			if (!sp) {
				if (argc >= 1 && strcmp(argv[0], c->name) == 0) {
					*used = 1;
					return c;
				}
			} else if (argc >= 2 && strlen(argv[0]) == (size_t)(sp - c->name) &&
				   strncmp(argv[0], c->name, (size_t)(sp - c->name)) == 0 &&
				   strcmp(argv[1], sp + 1) == 0) {
				*used = 2;
				return c;
			}
		}
	return NULL;
}

void ctl_usage(FILE *f)
{
	fprintf(f, "usage: soukctl [-c FILE] [--data DIR] [--json] [--timeout SEC] COMMAND [ARGS]\n\n"
		   "options:\n"
		   "  -c, --config FILE  configuration file (default $SOUK_CONFIG, else\n"
		   "                     %s); gives the data directory, control\n"
		   "                     socket, shared-memory instance and audit key\n"
		   "  --data DIR         state directory holding data.mdb (default $SOUK_DATA,\n"
		   "                     else paths.state_dir of the configuration)\n"
		   "  --json             print results as one JSON object (also after\n"
		   "                     the command)\n"
		   "  --timeout SEC      bound on each control-socket request (default 30)\n"
		   "  -h, --help         this text;  --version\n\n"
		   "commands:\n",
		CFG_DEFAULT_FILE);
	for (size_t t = 0; t < SOUK_ARRAY_LEN(tables); t++)
		for (size_t i = 0; i < *tables[t].n; i++)
			fprintf(f, "  %-44s %s\n", tables[t].cmds[i].usage, tables[t].cmds[i].help);
	fprintf(f, "\nexit status: 0 ok; 1 failure, damage found, soukd not running (status)\n"
		   "or a refused reload; 2 usage error or a configuration that cannot be loaded\n");
}
