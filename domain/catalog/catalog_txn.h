/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* domain/catalog/catalog_txn.h - the catalog kinds' checks inside the write
 * transaction (model_kind_t.check_txn; domain/catalog/catalog_txn.c). */
#include "model/model.h"

int category_check_txn(const model_kind_t *k, struct store_txn *t, const json_t *doc,
		       const void *id, problem_t *err);
int product_check_txn(const model_kind_t *k, struct store_txn *t, const json_t *doc,
		      const void *id, problem_t *err);
int variant_check_txn(const model_kind_t *k, struct store_txn *t, const json_t *doc,
		      const void *id, problem_t *err);
