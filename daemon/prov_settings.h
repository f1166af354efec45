/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/prov_settings.h - the settings provider: the worker settings soukd
 * validated (shm/settings.h), one small section in every base and in the
 * deltas made after they changed since that base. It follows no kind: soukd
 * sets new values on a configuration reload and tells the publisher
 * (publisher_provider_changed).
 */
#include <stdbool.h>

#include "config/config.h"
#include "model/provider.h"
#include "shm/settings.h"

int settings_provider_new(const cfg_t *cfg, provider_t *out);
/* The worker settings of cfg. */
void settings_from_config(const cfg_t *cfg, shm_settings_t *out);
/* Take the settings of cfg: true when they differ from what the provider
 * holds (then tell the publisher). */
bool settings_provider_update(provider_t *p, const cfg_t *cfg);
