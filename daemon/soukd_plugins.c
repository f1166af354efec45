/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/soukd_plugins.c - load plug-ins at start-up, `plugins` command.
 */
#include "daemon/soukd_plugins.h"

#include "common/error.h"
#include "common/log.h"
#include "daemon/control.h"

static int cmd_plugins(ctl_conn_t *conn, const char *args, json_t *reply, void *arg)
{
	json_t *list = plugin_list_json(arg);
	(void)conn;
	(void)args;
	if (list == NULL)
		return SOUK_ENOMEM;
	json_object_set_new(reply, "abi", json_sprintf("%d.%d", SOUK_PLUGIN_ABI_MAJOR,
						       SOUK_PLUGIN_ABI_MINOR));
	json_object_set_new(reply, "plugins", list);
	return 0;
}

int soukd_plugins_start(soukd_t *d, plugin_set_t **out)
{
	char err[1024];
	int ret;

	ret = plugin_load_list(d->cfg->plugins.dir, d->cfg->plugins.load, d->cfg->paths.state_dir,
			       out, err, sizeof(err));
	if (ret != 0) {
		log_err("%s; not starting", err);
		return ret;
	}
	log_info("plug-ins, %zu loaded (built-ins included, ABI %d.%d)", plugin_count(*out),
		 SOUK_PLUGIN_ABI_MAJOR, SOUK_PLUGIN_ABI_MINOR);
	ret = ctl_register(d->ctl, "plugins", "the plug-ins loaded (name, kind, version, ABI)",
			   cmd_plugins, *out);
	if (ret != 0)
		plugin_set_free(out);
	return ret;
}
