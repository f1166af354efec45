/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/collection_provider.h - the collections' section provider:
 * every active collection into COLLECTION_SECTION
 * (domain/catalog/collection_image.h), rule collections evaluated against
 * the products.
 *
 * It follows collections, categories and products and keeps, beside the
 * collection documents and the category tree, what a rule looks at of each
 * live product (its category, attributes and own prices) and the rule
 * collections each product is in. So:
 *   - a product write evaluates that one product against the rules and
 *     moves it in or out of the collections whose answer changed; when none
 *     did, the next image copies the section from the previous one (no
 *     build);
 *   - a collection or category write compiles every rule again against the
 *     new tree and evaluates every product once, at the next build.
 * A rule's price range is matched against the product's own price in the
 * rule's currency (its "price" map), not against price lists. Archived
 * products leave every collection; drafts stay members (reads skip them).
 * A rule whose category is not a live category matches nothing.
 * Products are read and kept only while an active rule collection exists
 * (from load, or from the apply of the first one, which reads every
 * product once in its transaction): without one a product write costs
 * nothing here.
 */
#include <stddef.h>
#include <stdint.h>

#include "model/provider.h"
#include "store/store.h"

extern const provider_ops_t collection_provider_ops;
int collection_provider_new(provider_t *out);

/* What apply does with a record, without a store (tests; a provider that
 * was never loaded keeps every product): doc (len bytes
 * of JSON) is the entity's current document, NULL when it is gone or
 * archived. kind is "collection", "category" or "product". */
int collection_provider_put(void *st, const char *kind, const store_id_t *id, const char *doc,
			    size_t len);
/* The section of the current state into heap memory (free()); tests. */
int collection_provider_section(void *st, uint64_t seq, void **sec, size_t *len);
/* Products evaluated against the rules so far (each product once per
 * evaluation, whatever the number of rules): what tests count to see that
 * a product write evaluates only that product. */
uint64_t collection_provider_evaluations(const void *st);
