/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/pricing/provider.h - the prices' section provider: per channel,
 * the candidate prices of every SKU (domain/pricing/sections.h), from the
 * price lists and prices of the channel. The products' own prices are in
 * the catalog's records (read beside these), so a product change does not
 * touch them.
 * A price or price-list change rewrites the sections of the channels it
 * touches only; the catalog is not rebuilt for it.
 */
#include "model/provider.h"

extern const provider_ops_t pricing_provider_ops;

int pricing_provider_new(provider_t *out);
