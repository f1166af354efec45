#pragma once
/*
 * daemon/ctl_table.h - soukctl commands.
 *
 * Commands are rows of a table (ctl_commands): a name of one or two words,
 * argument bounds, a handler, usage and help. Handlers return an exit code:
 * CTL_OK (0), CTL_FAIL (1, the operation failed or a check found damage),
 * CTL_USAGE (2, bad command line). With --json a handler prints one JSON
 * object on stdout; otherwise human text. Errors go to stderr.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

typedef struct {
	const char *data_dir; /* state directory holding data.mdb */
	bool json;
	json_t *out;          /* object printed at the end in --json mode */
} ctl_ctx_t;

typedef struct {
	const char *name;     /* "backup", "audit verify" */
	/* argv: the words after the name (options and arguments); argv[-1]
	 * is the last word of the name */
	int (*run)(ctl_ctx_t *c, int argc, char **argv);
	const char *usage;
	const char *help;
} ctl_cmd_t;

extern const ctl_cmd_t ctl_store_commands[];
extern const size_t ctl_store_ncommands;
extern const ctl_cmd_t ctl_catalog_commands[]; /* daemon/ctl_catalog.c */
extern const size_t ctl_catalog_ncommands;

/* Find a command for argv (one or two words); *used = words consumed. */
const ctl_cmd_t *ctl_find(int argc, char **argv, int *used);
void ctl_usage(FILE *f);
