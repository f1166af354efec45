/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/product_type.h - product types (the product_type kind) and
 * the check of a product's attribute values against its type.
 *
 * A product type has a unique code, a name per locale, its attributes and
 * its options. Each attribute has a code (its key in a product's or a
 * variant's "attributes" object), a name per locale, a type (text, number,
 * bool, enum, multi_enum, date, reference), a unit (number only), its values
 * (enum and multi_enum only, each a code and a name per locale), the kind a
 * reference names (reference only), and flags: required, filterable (the
 * search issue builds facets on it), searchable (its text goes into the
 * search index), variant (set on each variant, not on the product). The
 * options are the codes of the enum attributes marked variant whose values
 * tell a product's variants apart (size, colour). Staff with catalog
 * permissions manage them (GET/POST /api/v1/product-types,
 * GET/PATCH/DELETE /api/v1/product-types/{id}, history, revert); the
 * rules between fields are checked by the kind's check hook, each a field
 * error (422) naming e.g. "attributes/2/values".
 *
 * Stored document (normalised by model_validate over product_type_kind):
 *   {"code", "name": {locale: text}, "status": "active",
 *    "attributes": [{"code", "name", "type", "unit"?, "values"?: [{"code",
 *       "name"}], "ref"?, "required", "filterable", "searchable",
 *       "variant"}],
 *    "options": [attribute code, ...]}
 */
#include <stdbool.h>

#include <jansson.h>

#include "common/problem.h"
#include "model/model.h"

#define PRODUCT_TYPE_CODE_MAX 64
#define PRODUCT_TYPE_NAME_MAX 200 /* code points of a name, per locale */
#define PRODUCT_TYPE_LOCALES_MAX 32
#define PRODUCT_TYPE_ATTRS_MAX 64 /* = PRODUCT_ATTRS_MAX: a product holds them all */
#define PRODUCT_TYPE_ATTR_CODE_MAX 64 /* = PRODUCT_ATTR_KEY_MAX */
#define PRODUCT_TYPE_VALUES_MAX 256 /* values of one enum attribute */
#define PRODUCT_TYPE_OPTIONS_MAX 4  /* options of a type: the variant axes */
#define PRODUCT_TYPE_UNIT_MAX 16
#define PRODUCT_TYPE_DOC_MAX (512u << 10)

extern const model_kind_t product_type_kind;

/*
 * Check a product's (variant_level false) or one variant's (true) attribute
 * values `attrs` (a JSON object {attribute code: value}, NULL or absent =
 * none) against `type_doc`, a normalised product_type document (what
 * model_validate over product_type_kind returned, or the stored document).
 * For the integrator: call it from the product and variant checks inside
 * the write transaction, once the product's type is read.
 *
 * Each mistake is a field error in err named field_prefix "/" code
 * ("attributes/weight"; field_prefix "variants/2/attributes" gives
 * "variants/2/attributes/colour"):
 *   - a code the type does not declare, or one declared at the other level
 *     (a variant attribute on the product, a product attribute on a variant);
 *   - a value of the wrong JSON type: text a string, number a JSON integer
 *     or real (kept and compared as given: attributes are not money), bool
 *     true/false, enum one of the attribute's value codes, multi_enum an
 *     array of distinct value codes, date "YYYY-MM-DD" naming a real
 *     calendar day (years 0001-9999), reference the 32 lowercase hex digits
 *     of an id (whether it exists is the caller's check, in the write txn);
 *   - a required attribute of this level missing; on a variant every option
 *     is required.
 * Returns 0 when the values hold, SOUK_EINVAL when field errors were
 * recorded (err must not be NULL), SOUK_EINVAL too when type_doc has no
 * attributes array.
 */
int product_type_check_values(const json_t *type_doc, const json_t *attrs, bool variant_level,
			      const char *field_prefix, problem_t *err);

/* The attribute `code` of a normalised product_type document (borrowed
 * reference), NULL when the type has none by that code. */
const json_t *product_type_attribute(const json_t *type_doc, const char *code);

/* A date attribute's value: "YYYY-MM-DD" with a real calendar day, years
 * 0001..9999 (len bytes of s, no NUL needed). */
bool product_type_date_valid(const char *s, size_t len);
