/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/soukd_plugins.h - the plug-ins soukd loaded (plugins/loader.h).
 *
 * soukd_plugins_start() loads plugins.load from plugins.dir with the
 * built-ins, logs why when one cannot be loaded (soukd then refuses to
 * start) and adds the control command `plugins`, which lists them.
 */
#include "daemon/soukd.h"
#include "plugins/loader.h"

/* After soukd_start(); 0 or an error (already logged). */
int soukd_plugins_start(soukd_t *d, plugin_set_t **out);
