/* SPDX-License-Identifier: Apache-2.0 */
/* tests/plugins/good.c - a plug-in the host accepts; init counts its calls
 * in an exported counter so a test can see it ran. */
#include "souk/plugin.h"

static const souk_notification_ops_t ops = {.size = sizeof(souk_notification_ops_t)};
SOUK_PLUGIN_EXPORT int good_inits;
SOUK_PLUGIN_EXPORT int good_finis;

static int good_init(const souk_plugin_config_t *cfg, void **state)
{
	good_inits++;
	*state = (void *)cfg->items; /* anything non-NULL */
	return 0;
}

static void good_fini(void *state)
{
	(void)state;
	good_finis++;
}

SOUK_PLUGIN_EXPORT const souk_plugin_t souk_plugin = {
    SOUK_PLUGIN_HEADER_INIT,
    .kind = SOUK_PLUGIN_NOTIFICATION,
    .name = "good",
    .version = "1.2.3",
    .init = good_init,
    .fini = good_fini,
    .ops = &ops,
};
