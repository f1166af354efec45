/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/channel/channel.h - storefronts (the channel kind).
 *
 * A channel is one storefront of the mall: a unique code, a name, the
 * hostnames it answers, its currencies (a default among the allowed ones),
 * its locales (a default and the fallback chain tried after it), its tax
 * settings (prices with or without tax, rounding, per unit or per line, with
 * per-currency rounding overrides), its stock locations in priority order
 * (references to warehouses) with the allocation strategy, and its order
 * policies (how long a reservation holds, how long an unpaid order waits).
 * Staff with channel permissions manage them (GET/POST /api/v1/channels,
 * GET/PATCH/DELETE /api/v1/channels/{id}, history, revert); request
 * resolution and the per-channel image sections build on them.
 */
#include "model/model.h"

#define CHANNEL_CODE_MAX 32
#define CHANNEL_HOSTS_MAX 16
#define CHANNEL_CURRENCIES_MAX 16
#define CHANNEL_LOCALES_MAX 16
#define CHANNEL_LOCATIONS_MAX 64
#define CHANNEL_DOC_MAX (32u << 10)

extern const model_kind_t channel_kind;
