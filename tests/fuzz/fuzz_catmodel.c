/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the catalog model's checks of outside input. The input
 * is a request body, a JSON array [product type, attribute values,
 * categories, rule]: the type is validated as a product_type (with its
 * check hook), the values checked against it at both levels, the
 * categories built into a tree (whose ranges must nest), and the rule
 * compiled against the tree and matched with the values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/problem.h"
#include "domain/catalog/category_tree.h"
#include "domain/catalog/collection.h"
#include "domain/catalog/product_type.h"
#include "model/model.h"

#define CATS_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tree_part(const json_t *cats, const json_t *rule, const json_t *attrs)
{
	const json_t *docs[CATS_MAX];
	size_t n = json_array_size(cats);
	char why[200];
	category_tree_t *t = NULL;
	if (n > CATS_MAX)
		n = CATS_MAX;
	for (size_t i = 0; i < n; i++)
		docs[i] = json_array_get(cats, i);
	if (category_tree_build(docs, n, &t, why, sizeof(why)) == 0) {
		for (uint32_t i = 0; i < t->n; i++) {
			category_range_t r = category_tree_range(t, i);
			uint32_t p = t->nodes[i].parent;
			if (r.hi > t->n || r.lo >= r.hi)
				abort();
			if (p != CATEGORY_NONE && !category_range_has(category_tree_range(t, p), r.lo))
				abort();
			if (t->nodes[i].depth >= CATEGORY_DEPTH_MAX)
				abort();
		}
	} else if (t != NULL) {
		abort();
	}
	collection_rule_t r;
	collection_facts_t f = {.category_pre = t && t->n ? 0 : CATEGORY_NONE,
				.attributes = attrs, .currency = "GBP", .price = 100};
	collection_rule_compile(rule, t, &r, why, sizeof(why));
	(void)collection_rule_match(&r, &f);
	category_tree_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	problem_t p;
	json_t *in = NULL, *type = NULL;
	json_error_t e;
	problem_init(&p);
	if (size > 65536)
		return 0;
	in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_array(in)) {
		json_decref(in);
		return 0;
	}
	const json_t *attrs = json_array_get(in, 1);
	if (model_validate(&product_type_kind, NULL, json_array_get(in, 0), false, &type, &p) ==
	    0) {
		for (int level = 0; level <= 1; level++) {
			problem_init(&p);
			int rc = product_type_check_values(type, attrs, level, "attributes", &p);
			if ((rc == 0) != (p.nerrors == 0 && p.dropped == 0))
				abort();
		}
		json_decref(type);
	} else if (p.nerrors == 0) {
		abort();
	}
	tree_part(json_array_get(in, 2), json_array_get(in, 3), json_is_object(attrs) ? attrs : NULL);
	json_decref(in);
	return 0;
}
