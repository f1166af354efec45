/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/collection.h - collections (the collection kind) and the
 * evaluation of a rule collection against a product.
 *
 * A collection has a unique code, a name per locale, a status (drafts are
 * staff-only), and a kind: "manual" collections list their products (ids,
 * in the order shown, none twice); "rule" collections have a rule, matched
 * against every product when the image is built:
 *   {"category": code, "descendants": true,   the category (with its
 *                                             descendants unless false)
 *    "attributes": {code: value | [values]},  each attribute equals the
 *                                             value (or one of the values;
 *                                             a multi_enum product value
 *                                             matches when it holds it)
 *    "price_min", "price_max": minor units,   a price range (inclusive) in
 *    "currency": ISO 4217}                    currency
 * Every criterion given must hold; a rule gives at least one. Staff with
 * catalog permissions manage them (GET/POST /api/v1/collections,
 * GET/PATCH/DELETE /api/v1/collections/{id}, history, revert). Whether the
 * listed products and the rule's category exist is the integrator's check
 * in the write transaction (ids) and at image build (the rule's category,
 * collection_rule_compile).
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "domain/catalog/category_tree.h"
#include "model/model.h"

#define COLLECTION_CODE_MAX 64
#define COLLECTION_NAME_MAX 200
#define COLLECTION_LOCALES_MAX 32
#define COLLECTION_PRODUCTS_MAX 1000
#define COLLECTION_RULE_ATTRS_MAX 16
#define COLLECTION_PRICE_MAX 1000000000000000LL /* = PRODUCT_PRICE_MAX */
#define COLLECTION_DOC_MAX (64u << 10)

extern const model_kind_t collection_kind;

/* A rule compiled against one category tree (for one image build). Borrows
 * the rule document's attributes: keep the rule alive while it is used. */
typedef struct {
	bool has_category;
	category_range_t category; /* pre-order numbers the product's category must be in */
	const json_t *attributes;  /* {code: value | [values]}, NULL: none */
	bool has_min, has_max;
	int64_t price_min, price_max;
	char currency[4]; /* with a price bound */
	bool never;       /* matches nothing (its category is not in the tree) */
} collection_rule_t;

/* What a product (or a variant, with its product's values merged in)
 * offers a rule. */
typedef struct {
	uint32_t category_pre;    /* its category's pre-order number in the tree the
				   * rule was compiled with; CATEGORY_NONE: none */
	const json_t *attributes; /* its attribute values {code: value}, NULL: none */
	const char *currency;     /* currency of price; NULL: no price known */
	int64_t price;            /* minor units */
} collection_facts_t;

/* Compile rule (the "rule" object of a normalised collection document)
 * against tree (may be NULL when the rule names no category). 0, or
 * SOUK_ENOENT when the rule's category is not in the tree (why says so; out
 * then matches nothing, so an image still builds), SOUK_EINVAL when rule is
 * not an object (out matches nothing). */
int collection_rule_compile(const json_t *rule, const category_tree_t *tree,
			    collection_rule_t *out, char *why, size_t why_len);

/* Whether a product with facts f is in the collection of rule r: every
 * criterion of r holds. Pure; safe from several threads. */
bool collection_rule_match(const collection_rule_t *r, const collection_facts_t *f);

/* Attribute value equality as rules use it: strings, booleans and numbers
 * as given (JSON integers with integers, reals with reals: 3 is not 3.0,
 * as product_type_check_values keeps them), never arrays or objects. */
bool collection_value_equal(const json_t *a, const json_t *b);
