/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/market/seller.h - the sellers of the marketplace (the seller kind).
 *
 * A seller has a unique code (what products, warehouses and price lists
 * name in their "seller" field; the house seller is "house"), a name, and
 * a status along the onboarding life cycle: applied -> under_review ->
 * approved | rejected, approved -> suspended -> approved | closed. Staff
 * with seller permissions manage them (GET/POST /api/v1/sellers,
 * GET/PATCH/DELETE /api/v1/sellers/{id}, history, revert); the marketplace
 * issue adds onboarding documents, KYC and payouts on top.
 */
#include "model/model.h"

#define SELLER_CODE_MAX 64 /* as a product's seller field */
#define SELLER_HOUSE "house"
#define SELLER_DOC_MAX (16u << 10)

extern const model_kind_t seller_kind;
