/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/pricing/price.h - prices (the price kind).
 *
 * A price is one amount of one SKU in one price list (its code): integer
 * minor units of the list's currency, for quantities from min_qty up (the
 * quantity tiers: a list's price with the largest min_qty the quantity
 * reaches is the list's offer, docs/pricing.md). (list, sku, min_qty) is
 * unique among live prices, enforced in the write transaction; prices are
 * indexed by list and by sku. Staff with pricing permissions manage them
 * (GET/POST /api/v1/prices, GET/PATCH/DELETE /api/v1/prices/{id}, history,
 * revert).
 */
#include "model/model.h"

#define PRICE_MIN_QTY_MAX 1000000000LL
#define PRICE_DOC_MAX (4u << 10)

extern const model_kind_t price_kind;
