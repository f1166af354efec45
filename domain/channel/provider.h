/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/channel/provider.h - the channels' section provider: every channel
 * record and the configured default (channels.default) as the "chn.list"
 * section (domain/channel/sections.h). Channels are few: any change writes
 * the whole section into the next delta, and nothing else is rebuilt.
 */
#include <stdbool.h>

#include "model/provider.h"

/* Its operations: the channel kind's image provider (channel_kind.image). */
extern const provider_ops_t channel_provider_ops;

/* default_code: channels.default ("" or NULL: none). */
int channel_provider_new(const char *default_code, provider_t *out);
/* A reload's channels.default: true when it changed (then tell the
 * publisher, publisher_provider_changed(pub, "channels")). */
bool channel_provider_set_default(provider_t *prov, const char *default_code);
