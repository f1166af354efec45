/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/pricing/price_list.h - price lists (the price_list kind).
 *
 * A price list is a set of prices (domain/pricing/price.h) in one channel
 * and one currency: a unique code, a name, the channel (its code), the
 * currency (a current ISO 4217 code), the seller whose prices they are (the
 * house by default), its kind (base prices, or a sale whose winner keeps the
 * best base price as the strike-through original), its scope (a customer, a
 * customer group, a country, or none of them: everyone), its priority
 * (higher wins among equally specific lists), an optional validity window
 * [valid_from, valid_until) and its status (draft lists are never served).
 * Which price a shopper gets is the one rule in domain/pricing/select.h and
 * docs/pricing.md. Staff with pricing permissions manage them
 * (GET/POST /api/v1/price-lists, GET/PATCH/DELETE /api/v1/price-lists/{id},
 * history, revert).
 */
#include "model/model.h"

#define PRICE_LIST_CODE_MAX 64
#define PRICE_LIST_GROUP_MAX 64    /* a customer group's name */
#define PRICE_LIST_CUSTOMER_MAX 64 /* a customer's id (a REF once customers are a kind) */
#define PRICE_LIST_PRIORITY_MAX 1000000
#define PRICE_LIST_DOC_MAX (8u << 10)

extern const model_kind_t price_list_kind;
