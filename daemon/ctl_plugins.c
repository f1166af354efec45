/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_plugins.c - `soukctl plugins`: what soukd loaded, asked over
 * its control socket (daemon/soukd_plugins.c answers).
 */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "daemon/ctl_client.h"
#include "daemon/ctl_table.h"

static int cmd_plugins(ctl_ctx_t *c, int argc, char **argv)
{
	json_t *reply = NULL, *list;
	const char *e;
	int rc;

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "soukctl, plugins takes no arguments\n");
		return CTL_USAGE;
	}
	rc = ctl_client_call(c->control_socket, "plugins", c->timeout_ms, &reply);
	if (rc != 0) {
		fprintf(stderr, "soukctl, %s (%s at '%s')\n",
			ctl_client_down(rc) ? "soukd is not running" : "cannot reach soukd",
			ctl_client_strerror(rc), c->control_socket);
		return CTL_FAIL;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		e = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "soukctl, soukd refused 'plugins' (%s)\n", e ? e : "no reason given");
		json_decref(reply);
		return CTL_FAIL;
	}
	list = json_object_get(reply, "plugins");
	if (c->json) {
		json_object_set(c->out, "abi", json_object_get(reply, "abi"));
		json_object_set(c->out, "plugins", list);
	} else {
		printf("%-16s %-13s %-12s %-4s %s\n", "NAME", "KIND", "VERSION", "ABI", "FROM");
		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *p = json_array_get(list, i);
#define F(k) (json_string_value(json_object_get(p, k)) ?: "?")
			printf("%-16s %-13s %-12s %-4s %s\n", F("name"), F("kind"), F("version"),
			       F("abi"), F("path"));
#undef F
		}
	}
	json_decref(reply);
	return CTL_OK;
}

const ctl_cmd_t ctl_plugins_commands[] = {
    {"plugins", cmd_plugins, "plugins",
     "the plug-ins soukd loaded: name, kind, version, ABI, built-in or file"},
};
const size_t ctl_plugins_ncommands = SOUK_ARRAY_LEN(ctl_plugins_commands);
