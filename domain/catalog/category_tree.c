/* SPDX-License-Identifier: Apache-2.0 */
/* domain/catalog/category_tree.c - the category tree over a set of category
 * documents: parents resolved by code, cycles and missing parents refused
 * by name, the depth bounded, children in (rank, code) order, and pre-order
 * numbers so that a subtree is one range (category_tree.h). */
#include "domain/catalog/category_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

static int fail(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;
	if (why != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

typedef struct {
	const char *code;
	const char *parent;
	uint32_t doc;
} entry_t;

static int by_code(const void *a, const void *b)
{
	return strcmp(((const entry_t *)a)->code, ((const entry_t *)b)->code);
}

/* sibling order: by parent (roots first), then rank, then code (= index);
 * the keys are copied so that the comparison needs no context */
typedef struct {
	uint64_t parent; /* 0 for a root, else parent index + 1 */
	int64_t rank;
	uint32_t node;
} place_t;

static int by_place(const void *a, const void *b)
{
	const place_t *p = a, *q = b;
	if (p->parent != q->parent)
		return p->parent < q->parent ? -1 : 1;
	if (p->rank != q->rank)
		return p->rank < q->rank ? -1 : 1;
	return p->node < q->node ? -1 : p->node > q->node;
}

uint32_t category_tree_find(const category_tree_t *t, const char *code, size_t len)
{
	size_t lo = 0, hi = t != NULL ? t->n : 0;
	if (code == NULL)
		return CATEGORY_NONE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *c = t->nodes[mid].code;
		int r = strncmp(c, code, len);
		if (r == 0)
			r = c[len] == '\0' ? 0 : 1;
		if (r == 0)
			return (uint32_t)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return CATEGORY_NONE;
}

void category_tree_free(category_tree_t **tp)
{
	category_tree_t *t = tp ? *tp : NULL;
	if (t == NULL)
		return;
	for (size_t i = 0; t->nodes != NULL && i < t->n; i++) {
		free((char *)t->nodes[i].code);
		json_decref((json_t *)t->nodes[i].name);
	}
	free(t->nodes);
	free(t->by_pre);
	t->magic = 0;
	free(t);
	*tp = NULL;
}

/* Parents resolved, the chain of each node walked once: a cycle or a chain
 * deeper than the bound fails naming a category; depth set. */
static int set_depths(category_tree_t *t, char *why, size_t cap)
{
	uint8_t *state = calloc(t->n ? t->n : 1, 1); /* 0 new, 1 on the walk, 2 done */
	uint32_t *walk = malloc((t->n ? t->n : 1) * sizeof(*walk));
	int rc = 0;
	if (state == NULL || walk == NULL) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	for (size_t s = 0; s < t->n && rc == 0; s++) {
		size_t nw = 0;
		uint32_t i = (uint32_t)s;
		while (i != CATEGORY_NONE && state[i] == 0) {
			state[i] = 1;
			walk[nw++] = i;
			i = t->nodes[i].parent;
		}
		if (i != CATEGORY_NONE && state[i] == 1) {
			rc = fail(why, cap, SOUK_EINVAL,
				  "category '%s' is its own ancestor (its parent '%s' leads back "
				  "to it)",
				  t->nodes[i].code, t->nodes[t->nodes[i].parent].code);
			break;
		}
		uint32_t depth = i == CATEGORY_NONE ? 0 : t->nodes[i].depth + 1;
		while (nw > 0) {
			uint32_t j = walk[--nw];
			t->nodes[j].depth = depth++;
			state[j] = 2;
			if (t->nodes[j].depth >= CATEGORY_DEPTH_MAX) {
				rc = fail(why, cap, SOUK_ETOOBIG,
					  "category '%s' is at level %u, deeper than the %u levels "
					  "a tree may have",
					  t->nodes[j].code, t->nodes[j].depth + 1, CATEGORY_DEPTH_MAX);
				break;
			}
		}
	}
out:
	free(state);
	free(walk);
	return rc;
}

/* Siblings linked in (rank, code) order, then pre-order numbers, sizes and
 * heights. */
static int link_and_number(category_tree_t *t)
{
	place_t *order = malloc((t->n ? t->n : 1) * sizeof(*order));
	if (order == NULL)
		return SOUK_ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		uint32_t p = t->nodes[i].parent;
		order[i].parent = p == CATEGORY_NONE ? 0 : (uint64_t)p + 1;
		order[i].rank = t->nodes[i].rank;
		order[i].node = (uint32_t)i;
	}
	qsort(order, t->n, sizeof(*order), by_place);
	for (size_t k = 0; k < t->n; k++) {
		category_node_t *c = &t->nodes[order[k].node];
		bool first = k == 0 || order[k - 1].parent != order[k].parent;
		if (first) {
			if (c->parent == CATEGORY_NONE)
				t->first_root = order[k].node;
			else
				t->nodes[c->parent].first_child = order[k].node;
		}
		if (k + 1 < t->n && order[k + 1].parent == order[k].parent)
			c->next_sibling = order[k + 1].node;
	}
	free(order);

	/* pre-order without a stack: down to the first child, else to the next
	 * sibling, else up until an ancestor has one */
	uint32_t pre = 0, i = t->first_root;
	while (i != CATEGORY_NONE) {
		t->nodes[i].pre = pre;
		t->by_pre[pre++] = i;
		if (t->nodes[i].first_child != CATEGORY_NONE) {
			i = t->nodes[i].first_child;
			continue;
		}
		while (i != CATEGORY_NONE && t->nodes[i].next_sibling == CATEGORY_NONE)
			i = t->nodes[i].parent;
		if (i != CATEGORY_NONE)
			i = t->nodes[i].next_sibling;
	}
	/* children come after their parent in pre-order: sizes and heights
	 * accumulate from the end */
	for (size_t k = t->n; k-- > 0;) {
		category_node_t *c = &t->nodes[t->by_pre[k]];
		c->size += 1;
		if (c->parent != CATEGORY_NONE) {
			category_node_t *p = &t->nodes[c->parent];
			p->size += c->size;
			if (c->height + 1 > p->height)
				p->height = c->height + 1;
		}
	}
	return 0;
}

int category_tree_build(const json_t *const *docs, size_t n, category_tree_t **out, char *why,
			size_t why_len)
{
	int rc = 0;
	entry_t *e = NULL;
	category_tree_t *t = NULL;
	*out = NULL;
	if (n >= CATEGORY_NONE)
		return fail(why, why_len, SOUK_ETOOBIG, "%zu categories are more than a tree numbers",
			    n);
	if ((t = calloc(1, sizeof(*t))) == NULL || (e = malloc((n ? n : 1) * sizeof(*e))) == NULL ||
	    (t->nodes = calloc(n ? n : 1, sizeof(*t->nodes))) == NULL ||
	    (t->by_pre = malloc((n ? n : 1) * sizeof(*t->by_pre))) == NULL) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	t->magic = CATEGORY_TREE_MAGIC;
	t->first_root = CATEGORY_NONE;
	for (size_t i = 0; i < n; i++) {
		e[i].code = json_string_value(json_object_get(docs[i], "code"));
		e[i].parent = json_string_value(json_object_get(docs[i], "parent"));
		e[i].doc = (uint32_t)i;
		if (e[i].code == NULL) {
			rc = fail(why, why_len, SOUK_EINVAL, "category document %zu has no code", i);
			goto fail;
		}
	}
	qsort(e, n, sizeof(*e), by_code);
	for (size_t i = 0; i < n; i++) {
		category_node_t *c = &t->nodes[i];
		const json_t *d = docs[e[i].doc];
		const json_t *name = json_object_get(d, "name");
		t->n = i + 1; /* what category_tree_free releases */
		if ((c->code = strdup(e[i].code)) == NULL) {
			rc = SOUK_ENOMEM;
			goto fail;
		}
		c->name = json_is_object(name) ? json_incref((json_t *)name) : NULL;
		c->rank = json_integer_value(json_object_get(d, "rank"));
		c->doc = e[i].doc;
		c->parent = c->first_child = c->next_sibling = CATEGORY_NONE;
		if (i > 0 && strcmp(e[i - 1].code, e[i].code) == 0) {
			rc = fail(why, why_len, SOUK_EEXIST, "category '%s' is there twice",
				  e[i].code);
			goto fail;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].parent == NULL)
			continue;
		uint32_t p = category_tree_find(t, e[i].parent, strlen(e[i].parent));
		if (p == CATEGORY_NONE) {
			rc = fail(why, why_len, SOUK_ENOENT,
				  "category '%s': its parent '%s' is not a category", e[i].code,
				  e[i].parent);
			goto fail;
		}
		t->nodes[i].parent = p;
	}
	if ((rc = set_depths(t, why, why_len)) != 0 || (rc = link_and_number(t)) != 0)
		goto fail;
	free(e);
	*out = t;
	return 0;
fail:
	free(e);
	category_tree_free(&t);
	return rc;
}

size_t category_tree_children(const category_tree_t *t, uint32_t i, uint32_t *out, size_t cap)
{
	size_t k = 0;
	uint32_t c;
	if (i == CATEGORY_NONE)
		c = t->first_root;
	else if (i < t->n)
		c = t->nodes[i].first_child;
	else
		return 0;
	for (; c != CATEGORY_NONE; c = t->nodes[c].next_sibling, k++)
		if (k < cap)
			out[k] = c;
	return k;
}

size_t category_tree_path(const category_tree_t *t, uint32_t i, uint32_t out[CATEGORY_DEPTH_MAX])
{
	if (i >= t->n)
		return 0;
	size_t len = t->nodes[i].depth + 1;
	for (size_t k = len; k-- > 0; i = t->nodes[i].parent)
		out[k] = i;
	return len;
}

const char *category_tree_name(const category_tree_t *t, uint32_t i, const char *const *locales,
			       size_t nloc, const char **served)
{
	const char *loc;
	json_t *v;
	if (served != NULL)
		*served = NULL;
	if (i >= t->n)
		return NULL;
	const json_t *name = t->nodes[i].name;
	for (size_t k = 0; k < nloc; k++) {
		const char *s = json_string_value(json_object_get(name, locales[k]));
		if (s != NULL) {
			if (served != NULL)
				*served = locales[k];
			return s;
		}
	}
	json_object_foreach((json_t *)name, loc, v)
	{
		if (json_is_string(v)) {
			if (served != NULL)
				*served = loc;
			return json_string_value(v);
		}
	}
	return t->nodes[i].code;
}

size_t category_tree_breadcrumbs(const category_tree_t *t, uint32_t i,
				 const char *const *locales, size_t nloc,
				 const char *names[CATEGORY_DEPTH_MAX],
				 const char *served[CATEGORY_DEPTH_MAX])
{
	uint32_t path[CATEGORY_DEPTH_MAX];
	size_t len = category_tree_path(t, i, path);
	for (size_t k = 0; k < len; k++)
		names[k] = category_tree_name(t, path[k], locales, nloc, served ? &served[k] : NULL);
	return len;
}

category_range_t category_tree_range(const category_tree_t *t, uint32_t i)
{
	category_range_t r = {0, 0};
	if (i < t->n) {
		r.lo = t->nodes[i].pre;
		r.hi = r.lo + t->nodes[i].size;
	}
	return r;
}

bool category_would_cycle(const category_tree_t *t, const char *code, const char *new_parent)
{
	if (code == NULL || new_parent == NULL)
		return false;
	if (strcmp(code, new_parent) == 0)
		return true;
	uint32_t c = category_tree_find(t, code, strlen(code));
	uint32_t p = category_tree_find(t, new_parent, strlen(new_parent));
	if (c == CATEGORY_NONE || p == CATEGORY_NONE)
		return false;
	return category_range_has(category_tree_range(t, c), t->nodes[p].pre);
}

int category_tree_move_check(const category_tree_t *t, const char *code, const char *new_parent,
			     char *why, size_t why_len)
{
	if (new_parent == NULL)
		return 0;
	uint32_t p = category_tree_find(t, new_parent, strlen(new_parent));
	if (p == CATEGORY_NONE && (code == NULL || strcmp(code, new_parent) != 0))
		return fail(why, why_len, SOUK_ENOENT, "'%s' is not a live category", new_parent);
	if (category_would_cycle(t, code, new_parent))
		return fail(why, why_len, SOUK_EINVAL,
			    "'%s' is the category itself or one of its descendants", new_parent);
	uint32_t c = code != NULL ? category_tree_find(t, code, strlen(code)) : CATEGORY_NONE;
	uint32_t height = c == CATEGORY_NONE ? 0 : t->nodes[c].height;
	/* code lands at depth(p) + 1, its deepest descendant height levels below */
	if ((size_t)t->nodes[p].depth + 1 + height >= CATEGORY_DEPTH_MAX)
		return fail(why, why_len, SOUK_ETOOBIG,
			    "under '%s' the category%s would reach level %u (at most %u)",
			    new_parent, height ? " and its descendants" : "",
			    t->nodes[p].depth + 2 + height, CATEGORY_DEPTH_MAX);
	return 0;
}
