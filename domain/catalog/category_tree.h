/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/category_tree.h - the category tree, computed by pure
 * functions over a set of category documents (domain/catalog/category.h).
 *
 * Uses:
 *   - the image builder: build the tree over every live category, then per
 *     product its category's pre-order number (category_tree_find +
 *     node->pre), per category its path, breadcrumbs and ordered children,
 *     and for "a category list includes its descendants" the range
 *     [pre, pre + size) of the asked category (category_tree_range): a
 *     product is in the subtree of c exactly when its category's pre-order
 *     number is in c's range, one comparison pair per product, no walk;
 *   - the write transaction of a category create, update (move) or revert:
 *     build the tree over the other live categories and call
 *     category_tree_move_check (parent exists, no cycle, depth bound);
 *     category_would_cycle is the cycle part alone;
 *   - collection rules (domain/catalog/collection.h) match a category with
 *     its descendants by the same range.
 *
 * A tree is immutable once built and may be read from several threads.
 * It holds copies of the codes and references to the name maps of the
 * documents it was built from (json_incref), not the documents.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CATEGORY_TREE_MAGIC 0x43545245u /* "CTRE" */
#define CATEGORY_DEPTH_MAX 16           /* levels of the tree: a root is level 1 */
#define CATEGORY_NONE UINT32_MAX        /* no node (a root's parent, a leaf's child) */

typedef struct {
	const char *code;      /* the category's code (owned by the tree) */
	const json_t *name;    /* its name {locale: text}, NULL when the document had none */
	int64_t rank;          /* order among siblings (then code) */
	uint32_t doc;          /* index of its document in the build's input */
	uint32_t parent;       /* node index; CATEGORY_NONE for a root */
	uint32_t first_child;  /* first child in (rank, code) order; CATEGORY_NONE: a leaf */
	uint32_t next_sibling; /* next in (rank, code) order; CATEGORY_NONE: the last */
	uint32_t depth;        /* 0 for a root */
	uint32_t height;       /* levels below it: 0 for a leaf */
	uint32_t pre;          /* pre-order number (roots and children in order) */
	uint32_t size;         /* nodes in its subtree, itself included */
} category_node_t;

typedef struct category_tree {
	uint32_t magic;         /* CATEGORY_TREE_MAGIC */
	category_node_t *nodes; /* sorted by code: a node's index is its code's rank */
	size_t n;
	uint32_t *by_pre;       /* pre-order number -> node index */
	uint32_t first_root;    /* first root in (rank, code) order; CATEGORY_NONE: empty */
} category_tree_t;

/* Descendants as a half-open range of pre-order numbers. */
typedef struct {
	uint32_t lo, hi; /* [lo, hi) */
} category_range_t;

/*
 * Build the tree of the n category documents docs[] (normalised category
 * documents, or any objects with "code", optional "parent", "rank" and
 * "name"; archived categories are the caller's to leave out). 0 and a new
 * tree in *out, or an error with the reason, naming the category, in why:
 *   SOUK_EINVAL  a document without a code, or a cycle of parents;
 *   SOUK_EEXIST  two documents with one code;
 *   SOUK_ENOENT  a parent that is not among the documents;
 *   SOUK_ETOOBIG a category deeper than CATEGORY_DEPTH_MAX levels, or more
 *                categories than a uint32_t numbers;
 *   SOUK_ENOMEM.
 */
int category_tree_build(const json_t *const *docs, size_t n, category_tree_t **out, char *why,
			size_t why_len);
/* Free a tree and set *t to NULL (NULL is fine). */
void category_tree_free(category_tree_t **t);

/* The node index of code (len bytes), CATEGORY_NONE when there is none. */
uint32_t category_tree_find(const category_tree_t *t, const char *code, size_t len);

static inline const category_node_t *category_tree_node(const category_tree_t *t, uint32_t i)
{
	return i < t->n ? &t->nodes[i] : NULL;
}

/* Children of node i (CATEGORY_NONE: the roots) in (rank, code) order:
 * their node indexes into out (at most cap), returns how many there are. */
size_t category_tree_children(const category_tree_t *t, uint32_t i, uint32_t *out, size_t cap);

/* The path of node i: node indexes root..i into out; returns its length
 * (depth + 1), 0 when i is no node. */
size_t category_tree_path(const category_tree_t *t, uint32_t i,
			  uint32_t out[CATEGORY_DEPTH_MAX]);

/* The name of node i for the first of locales[0..nloc) it has, else its
 * first locale, else its code; *served (when not NULL) is the locale used
 * (NULL when it fell back to the code). */
const char *category_tree_name(const category_tree_t *t, uint32_t i, const char *const *locales,
			       size_t nloc, const char **served);

/* Breadcrumbs of node i: the names (category_tree_name) along its path,
 * root first, into names (and the locales served into served when not
 * NULL); returns their count, 0 when i is no node. */
size_t category_tree_breadcrumbs(const category_tree_t *t, uint32_t i,
				 const char *const *locales, size_t nloc,
				 const char *names[CATEGORY_DEPTH_MAX],
				 const char *served[CATEGORY_DEPTH_MAX]);

/* Node i and its descendants: [pre(i), pre(i) + size(i)); empty when i is
 * no node. */
category_range_t category_tree_range(const category_tree_t *t, uint32_t i);

static inline bool category_range_has(category_range_t r, uint32_t pre)
{
	return pre >= r.lo && pre < r.hi;
}

/* Whether making new_parent the parent of code would close a cycle:
 * new_parent is code itself or one of its descendants. A code not in the
 * tree (a new category) has no descendants; a new_parent not in the tree
 * closes no cycle (category_tree_move_check refuses it). NULL new_parent
 * (a root) never does. */
bool category_would_cycle(const category_tree_t *t, const char *code, const char *new_parent);

/* The write transaction's check of category code getting new_parent (NULL:
 * a root), against the tree of the live categories (with or without code
 * itself): 0, or
 *   SOUK_ENOENT  new_parent is not a live category;
 *   SOUK_EINVAL  new_parent is code or one of its descendants (a cycle);
 *   SOUK_ETOOBIG code's subtree would reach below CATEGORY_DEPTH_MAX levels;
 * with the reason in why (for a field error on "parent"). */
int category_tree_move_check(const category_tree_t *t, const char *code, const char *new_parent,
			     char *why, size_t why_len);
