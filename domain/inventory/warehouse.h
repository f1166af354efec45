/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/inventory/warehouse.h - stock locations (the warehouse kind).
 *
 * A warehouse, store or dropship location that stock is kept at: a unique
 * code, a name, an address, the seller it belongs to (none: the house),
 * whether shoppers may pick up there. Staff with inventory permissions
 * manage them (GET/POST /api/v1/warehouses, GET/PATCH/DELETE
 * /api/v1/warehouses/{id}, history, revert); they are not in the image.
 * Stock levels per location come with the inventory issue.
 */
#include "model/model.h"

#define WAREHOUSE_CODE_MAX 32
#define WAREHOUSE_DOC_MAX (16u << 10)

extern const model_kind_t warehouse_kind;
