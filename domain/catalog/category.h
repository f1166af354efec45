/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/category.h - the category kind.
 *
 * A category has a unique code (what a product's "category" names), a name
 * per locale, an optional slug per locale (lowercase a-z 0-9 and '-', for
 * storefront URLs), an optional parent (the parent's code; absent: a root),
 * a rank ordering it among its siblings (then its code), and a status.
 * Archiving is DELETE, as for every kind. Staff with catalog permissions
 * manage them (GET/POST /api/v1/categories, GET/PATCH/DELETE
 * /api/v1/categories/{id}, history, revert).
 *
 * The tree itself (paths, breadcrumbs, descendants, cycles, depth) is not
 * one document's business: domain/catalog/category_tree.h computes it over
 * all live categories. What the field table and the check hook hold is
 * what one document can: the shapes, a slug's characters, a parent that is
 * not the category itself. Whether the parent exists and whether a move
 * would make a cycle is the write transaction's check
 * (category_tree_move_check), done by the integrator with the other
 * categories at hand; the "parent" secondary key lists a category's
 * children there (a category with live children is not archived).
 *
 * Stored document: {"code", "name": {locale: text}, "slug"?: {locale: slug},
 *   "parent"?: code, "rank": 0, "status": "active"}
 */
#include "model/model.h"

#define CATEGORY_CODE_MAX 64 /* = PRODUCT_NAME_MAX: a product's category field */
#define CATEGORY_NAME_MAX 200
#define CATEGORY_SLUG_MAX 100
#define CATEGORY_LOCALES_MAX 32
#define CATEGORY_RANK_MAX 1000000
#define CATEGORY_DOC_MAX (32u << 10)

extern const model_kind_t category_kind;

/* A slug: 1..CATEGORY_SLUG_MAX of [a-z0-9-], not starting or ending with
 * '-' (len bytes of s). */
bool category_slug_valid(const char *s, size_t len);
