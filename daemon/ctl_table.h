/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/ctl_table.h - soukctl commands.
 *
 * Commands are rows of a table (ctl_commands): a name of one or two words,
 * argument bounds, a handler, usage and help. Handlers return an exit code:
 * CTL_OK (0), CTL_FAIL (1, the operation failed or a check found damage),
 * CTL_USAGE (2, bad command line or a configuration that cannot be loaded).
 * With --json a handler fills c->out, printed as one JSON object at the end;
 * otherwise it prints "key: value" lines (daemon/ctl_print.h) or short
 * sentences. Errors go to stderr.
 *
 * Before a command runs, soukctl loads the configuration (-c FILE,
 * $SOUK_CONFIG, or /etc/souk/souk.yaml) and derives its paths from it:
 * data_dir from paths.state_dir (unless --data or $SOUK_DATA), the control
 * socket from paths.runtime_dir, the shared-memory instance and the audit
 * key (ctl_setup). check-config loads the file itself.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "config/config.h"

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

typedef struct {
	const char *data_dir; /* state directory holding data.mdb */
	bool json;
	json_t *out;          /* object printed at the end in --json mode */

	const char *config_file; /* -c, $SOUK_CONFIG or the default */
	bool config_explicit;	 /* given by -c or $SOUK_CONFIG */
	const cfg_t *cfg;	 /* loaded configuration (defaults when the default
				  * file does not exist); NULL for check-config */
	char control_socket[128]; /* <paths.runtime_dir>/control.sock */
	const char *instance;	  /* shared-memory instance */
	const char *audit_key;	  /* audit.signing_key_file of the file read; NULL when
				   * unset or when no file exists (defaults) */
	/* set when the file does not validate and an online command goes on
	 * with the paths salvaged from it (the errors are not printed yet) */
	const cfg_errors_t *cfg_errors;
	uint64_t timeout_ms;	  /* bound on each control request */
} ctl_ctx_t;

typedef struct {
	const char *name;     /* "backup", "audit verify" */
	/* argv: the words after the name (options and arguments); argv[-1]
	 * is the last word of the name */
	int (*run)(ctl_ctx_t *c, int argc, char **argv);
	const char *usage;
	const char *help;
} ctl_cmd_t;

extern const ctl_cmd_t ctl_ops_commands[]; /* daemon/ctl_ops.c */
extern const size_t ctl_ops_ncommands;
extern const ctl_cmd_t ctl_store_commands[];
extern const size_t ctl_store_ncommands;
extern const ctl_cmd_t ctl_catalog_commands[]; /* daemon/ctl_catalog.c */
extern const size_t ctl_catalog_ncommands;
extern const ctl_cmd_t ctl_plugins_commands[]; /* daemon/ctl_plugins.c */
extern const size_t ctl_plugins_ncommands;

/* Find a command for argv (one or two words); *used = words consumed. */
const ctl_cmd_t *ctl_find(int argc, char **argv, int *used);
void ctl_usage(FILE *f);

/*
 * Load the configuration for cmd and fill the paths of c (see above). When
 * the file cannot be loaded its errors are printed as soukd prints them; the
 * online commands then go on with the paths that can still be read from the
 * file (a broken file must not hide a running soukd), the others return
 * CTL_USAGE. *cfg receives the loaded config (free it with cfg_free()).
 */
int ctl_setup(ctl_ctx_t *c, const ctl_cmd_t *cmd, bool data_given, cfg_t **cfg);
