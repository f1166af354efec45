/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/catalog/category_image.h - the category tree inside a published
 * image: soukd's category provider writes it from every live category
 * (category_tree.h builds the tree), workers read breadcrumbs and subtrees
 * from it at request time, so a move or a renamed category shows in every
 * product read and list of the next image without rendering products
 * again.
 *
 * One section, CATEGORY_SECTION: a header, the nodes sorted by code (parent,
 * depth, pre-order number and subtree size, names per locale), the node
 * indexes in pre-order (a subtree is a contiguous run), the (locale, name)
 * pairs, and the strings. Offsets only; every index is checked at bind.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/provider.h"
#include "shm/shm.h"

#define CATEGORY_SECTION "ctg.tree"
#define CATEGORY_SEC_MAGIC 0x31475443u /* "CTG1" */
#define CATEGORY_IMG_NONE UINT32_MAX
#define CATEGORY_IMG_DEPTH_MAX 16

typedef struct {
	uint32_t code_off, code_len; /* strings */
	uint32_t parent;	     /* node index, CATEGORY_IMG_NONE for a root */
	uint32_t depth;		     /* 0 for a root */
	uint32_t pre, size;	     /* pre-order number, nodes in its subtree */
	uint32_t names_first, nnames; /* its (locale, name) pairs */
} ctg_node_t;

typedef struct {
	uint32_t locale_off, name_off;
} ctg_name_t;

typedef struct {
	const struct ctg_hdr *hdr; /* NULL: the image has no categories */
	const ctg_node_t *nodes;
	const uint32_t *by_pre;
	const ctg_name_t *names;
	const char *str;
	uint32_t n, nnames;
	size_t str_len;
} ctg_view_t;

/* Its operations and a provider instance (follows the category kind). */
extern const provider_ops_t category_provider_ops;
int category_provider_new(provider_t *out);

/* The section for the n live category documents (normalised), into heap
 * memory: 0, or the tree's error (category_tree_build) with why. */
struct json_t;
int ctg_build_mem(const struct json_t *const *docs, size_t n, uint64_t seq, void **sec,
		  size_t *len, char *why, size_t why_len);

int ctg_view_init_mem(const void *sec, size_t len, ctg_view_t *out);
/* Bound once per image; an image without the section binds an empty view. */
extern const shm_view_def_t ctg_view_def;

/* The node of code (len bytes), CATEGORY_IMG_NONE when none. */
uint32_t ctg_find(const ctg_view_t *v, const char *code, size_t len);
static inline const char *ctg_code(const ctg_view_t *v, uint32_t i)
{
	return v->str + v->nodes[i].code_off;
}
/* Node i's path, root first, into out: its length (0: no node). */
size_t ctg_path(const ctg_view_t *v, uint32_t i, uint32_t out[CATEGORY_IMG_DEPTH_MAX]);
/* Node i's name for a priority list of locales (souk_accept_language form,
 * RFC 4647 lookup), else its first name, else its code. */
const char *ctg_name(const ctg_view_t *v, uint32_t i, const char *list, size_t list_len);
/* The nodes of i's subtree (i first), in pre-order: by_pre[*first ..
 * *first + size). */
void ctg_subtree(const ctg_view_t *v, uint32_t i, uint32_t *first, uint32_t *size);
