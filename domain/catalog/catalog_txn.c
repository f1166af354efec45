/* SPDX-License-Identifier: Apache-2.0 */
/*
 * domain/catalog/catalog_txn.c - the catalog's checks against other
 * entities, inside the write transaction (model_kind_t.check_txn):
 *   - a category's parent is a live category, and the parent chain from it
 *     never comes back to the category (no cycle), within the tree's depth;
 *   - a product's type is a live product type, and its attributes fit it;
 *   - a variant's product is a live product, and its option values and
 *     attributes fit the product's type.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/problem.h"
#include "domain/catalog/catalog_txn.h"
#include "domain/catalog/category_tree.h"
#include "domain/catalog/product_type.h"
#include "store/store.h"

/* The live entity of kind whose unique key name has value: 0 and *doc (a
 * new reference), SOUK_ENOENT, or a store error. */
static int by_key(store_txn_t *t, const char *kind, const char *name, const char *value,
		  json_t **doc)
{
	char key[400];
	store_rec_t rec;
	json_error_t je;
	*doc = NULL;
	int n = model_key_encode(name, value, strlen(value), key, sizeof(key));
	if (n < 0)
		return SOUK_ENOENT;
	memset(&rec, 0, sizeof(rec));
	int rc = store_txn_get_by_key(t, kind, key, (size_t)n, &rec);
	if (rc == 0 && !rec.archived)
		*doc = json_loadb(rec.doc, rec.doc_len, 0, &je);
	else if (rc == 0)
		rc = SOUK_ENOENT;
	store_rec_deinit(&rec);
	return rc == 0 && !*doc ? SOUK_ENOMEM : rc;
}

static int by_id(store_txn_t *t, const char *kind, const char *hex, json_t **doc)
{
	store_id_t id;
	store_rec_t rec;
	json_error_t je;
	*doc = NULL;
	if (store_id_parse(hex, &id) != 0)
		return SOUK_ENOENT;
	memset(&rec, 0, sizeof(rec));
	int rc = store_txn_get(t, kind, &id, &rec);
	if (rc == 0 && !rec.archived)
		*doc = json_loadb(rec.doc, rec.doc_len, 0, &je);
	else if (rc == 0)
		rc = SOUK_ENOENT;
	store_rec_deinit(&rec);
	return rc == 0 && !*doc ? SOUK_ENOMEM : rc;
}

/* Archiving a category that still has live subcategories would orphan
 * them: refused (409), naming one, until they are moved or archived. */
static int category_archive_check(store_txn_t *t, const store_id_t *id, problem_t *err)
{
	store_rec_t rec;
	store_id_t child;
	json_error_t je;
	char key[400];
	memset(&rec, 0, sizeof(rec));
	int rc = store_txn_get(t, "category", id, &rec);
	if (rc || rec.archived) {
		store_rec_deinit(&rec);
		return rc == SOUK_ENOENT ? 0 : rc; /* the delete answers 404 itself */
	}
	json_t *doc = json_loadb(rec.doc, rec.doc_len, 0, &je);
	store_rec_deinit(&rec);
	const char *code = json_string_value(json_object_get(doc, "code"));
	int n = code ? model_key_encode("parent", code, strlen(code), key, sizeof(key)) : -1;
	rc = n < 0 ? SOUK_ENOENT : store_txn_index_first(t, "category", key, (size_t)n, &child);
	if (rc == 0) {
		json_t *cd = NULL;
		char hex[33];
		store_id_hex(&child, hex);
		const char *cc = by_id(t, "category", hex, &cd) == 0
					 ? json_string_value(json_object_get(cd, "code"))
					 : NULL;
		problem_set(err, 409, PROBLEM_CONFLICT, "Conflict",
			    "category '%s' still has live subcategories (such as '%s'): move or "
			    "archive them first",
			    code, cc ? cc : hex);
		json_decref(cd);
	}
	json_decref(doc);
	return rc == SOUK_ENOENT ? 0 : rc;
}

int category_check_txn(const model_kind_t *k, struct store_txn *t, const json_t *doc,
		       const void *id, problem_t *err)
{
	if (!doc)
		return id ? category_archive_check(t, id, err) : 0;
	const char *code = json_string_value(json_object_get(doc, "code"));
	const char *parent = json_string_value(json_object_get(doc, "parent"));
	char cur[128];
	if (!parent || !code)
		return 0;
	/* up the chain from the new parent: it must exist, and never be the
	 * category itself (which would make it its own ancestor) */
	snprintf(cur, sizeof(cur), "%s", parent);
	for (int depth = 1;; depth++) {
		json_t *p = NULL;
		if (strcmp(cur, code) == 0) {
			problem_field(err, "parent",
				      "'%s' is this category or one of its descendants: a category "
				      "cannot be its own ancestor",
				      parent);
			return 0;
		}
		int rc = by_key(t, "category", "code", cur, &p);
		if (rc == SOUK_ENOENT) {
			problem_field(err, "parent", depth == 1 ? "'%s' is not a live category"
								: "'%s' has a broken parent chain",
				      parent);
			return 0;
		}
		if (rc)
			return rc;
		const char *up = json_string_value(json_object_get(p, "parent"));
		if (!up || depth >= CATEGORY_DEPTH_MAX) {
			if (up)
				problem_field(err, "parent", "makes the tree deeper than %d levels",
					      CATEGORY_DEPTH_MAX);
			json_decref(p);
			return 0;
		}
		snprintf(cur, sizeof(cur), "%s", up);
		json_decref(p);
	}
}

int product_check_txn(const model_kind_t *k, struct store_txn *t, const json_t *doc,
		      const void *id, problem_t *err)
{
	const char *type = json_string_value(json_object_get(doc, "type"));
	json_t *td = NULL;
	if (!type)
		return 0;
	int rc = by_key(t, "product_type", "code", type, &td);
	if (rc == SOUK_ENOENT) {
		problem_field(err, "type", "'%s' is not a live product type", type);
		return 0;
	}
	if (rc)
		return rc;
	const json_t *attrs = json_object_get(doc, "attributes");
	json_t *empty = attrs ? NULL : json_object();
	product_type_check_values(td, attrs ? attrs : empty, false, "attributes", err);
	json_decref(empty);
	json_decref(td);
	return 0;
}

int variant_check_txn(const model_kind_t *k, struct store_txn *t, const json_t *doc,
		      const void *id, problem_t *err)
{
	const char *pid = json_string_value(json_object_get(doc, "product"));
	json_t *prod = NULL, *td = NULL;
	if (!pid)
		return 0;
	int rc = by_id(t, "product", pid, &prod);
	if (rc == SOUK_ENOENT) {
		problem_field(err, "product", "is not a live product");
		return 0;
	}
	if (rc)
		return rc;
	const char *type = json_string_value(json_object_get(prod, "type"));
	if (type && (rc = by_key(t, "product_type", "code", type, &td)) == 0) {
		/* the options are variant-level attributes of the type */
		json_t *vals = json_deep_copy(json_object_get(doc, "options"));
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(doc, "attributes"), key, v)
			json_object_set(vals, key, v);
		product_type_check_values(td, vals, true, "options", err);
		json_decref(vals);
	}
	json_decref(td);
	json_decref(prod);
	return rc == SOUK_ENOENT ? 0 : rc;
}
