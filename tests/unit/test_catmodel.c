/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_catmodel.c - the catalog model's kinds and pure
 * functions: product types and the check of attribute values against them,
 * the category tree (random trees with a fixed seed: every descendant range
 * holds exactly the categories whose path passes through its category),
 * and collection rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "common/error.h"
#include "common/problem.h"
#include "domain/catalog/category.h"
#include "domain/catalog/category_tree.h"
#include "domain/catalog/collection.h"
#include "domain/catalog/product_type.h"
#include "model/model.h"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("bad test JSON at %d: %s", e.position, e.text);
	return j;
}

static bool has_error(const problem_t *p, const char *field)
{
	for (size_t i = 0; i < p->nerrors; i++)
		if (strcmp(p->errors[i].field, field) == 0)
			return true;
	return false;
}

static void dump_errors(const problem_t *p)
{
	for (size_t i = 0; i < p->nerrors; i++)
		print_message("  %s: %s\n", p->errors[i].field, p->errors[i].detail);
}

/* exactly the fields listed, each at least once */
static void expect_errors(const problem_t *p, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!has_error(p, fields[i])) {
			dump_errors(p);
			fail_msg("no error for %s", fields[i]);
		}
	for (size_t i = 0; i < p->nerrors; i++) {
		bool listed = false;
		for (size_t j = 0; j < n && !listed; j++)
			listed = strcmp(p->errors[i].field, fields[j]) == 0;
		if (!listed) {
			dump_errors(p);
			fail_msg("unexpected error for %s", p->errors[i].field);
		}
	}
}

/* validate text as a full document of k: 0 and *out, or the problem */
static int validate(const model_kind_t *k, const char *text, json_t **out, problem_t *p)
{
	json_t *in = load(text);
	problem_init(p);
	*out = NULL;
	int rc = model_validate(k, NULL, in, false, out, p);
	json_decref(in);
	return rc;
}

static const char *const SHIRT =
    "{\"code\":\"shirt\",\"name\":{\"en\":\"Shirt\"},\"attributes\":["
    "{\"code\":\"material\",\"name\":{\"en\":\"Material\"},\"type\":\"text\",\"required\":true,"
    "\"searchable\":true},"
    "{\"code\":\"weight\",\"name\":{\"en\":\"Weight\"},\"type\":\"number\",\"unit\":\"g\","
    "\"filterable\":true},"
    "{\"code\":\"organic\",\"name\":{\"en\":\"Organic\"},\"type\":\"bool\"},"
    "{\"code\":\"fit\",\"name\":{\"en\":\"Fit\"},\"type\":\"enum\",\"values\":["
    "{\"code\":\"slim\",\"name\":{\"en\":\"Slim\"}},{\"code\":\"loose\",\"name\":{\"en\":\"Loose\"}}]},"
    "{\"code\":\"care\",\"name\":{\"en\":\"Care\"},\"type\":\"multi_enum\",\"values\":["
    "{\"code\":\"wash30\",\"name\":{\"en\":\"30\"}},{\"code\":\"iron\",\"name\":{\"en\":\"Iron\"}},"
    "{\"code\":\"dry\",\"name\":{\"en\":\"Dry\"}}]},"
    "{\"code\":\"released\",\"name\":{\"en\":\"Released\"},\"type\":\"date\"},"
    "{\"code\":\"brand\",\"name\":{\"en\":\"Brand\"},\"type\":\"reference\",\"ref\":\"seller\"},"
    "{\"code\":\"size\",\"name\":{\"en\":\"Size\"},\"type\":\"enum\",\"variant\":true,\"values\":["
    "{\"code\":\"s\",\"name\":{\"en\":\"S\"}},{\"code\":\"m\",\"name\":{\"en\":\"M\"}}]},"
    "{\"code\":\"colour\",\"name\":{\"en\":\"Colour\"},\"type\":\"enum\",\"variant\":true,"
    "\"values\":[{\"code\":\"red\",\"name\":{\"en\":\"Red\"}}]},"
    "{\"code\":\"gtin\",\"name\":{\"en\":\"GTIN\"},\"type\":\"text\",\"variant\":true}],"
    "\"options\":[\"size\",\"colour\"]}";

/* A good type normalises with its defaults; every rule between fields the
 * table cannot say is a field error naming the place. */
static void test_product_type_rules_between_fields(void **state)
{
	(void)state;
	problem_t p;
	json_t *doc;
	assert_int_equal(validate(&product_type_kind, SHIRT, &doc, &p), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "active");
	const json_t *w = product_type_attribute(doc, "weight");
	assert_non_null(w);
	assert_true(json_is_false(json_object_get(w, "required")));
	assert_true(json_is_true(json_object_get(w, "filterable")));
	assert_null(product_type_attribute(doc, "nope"));
	json_decref(doc);

	assert_int_equal(
	    validate(&product_type_kind,
		     "{\"code\":\"bad\",\"name\":{\"en\":\"Bad\"},\"attributes\":["
		     "{\"code\":\"a\",\"name\":{\"en\":\"A\"},\"type\":\"enum\"},"
		     "{\"code\":\"a\",\"name\":{\"en\":\"A2\"},\"type\":\"text\",\"unit\":\"kg\","
		     "\"values\":[{\"code\":\"x\",\"name\":{\"en\":\"X\"}}]},"
		     "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"type\":\"reference\"},"
		     "{\"code\":\"r2\",\"name\":{\"en\":\"R2\"},\"type\":\"reference\",\"ref\":\"planet\"},"
		     "{\"code\":\"e\",\"name\":{\"en\":\"E\"},\"type\":\"multi_enum\",\"variant\":true,"
		     "\"ref\":\"product\",\"values\":[{\"code\":\"v\",\"name\":{\"en\":\"V\"}},"
		     "{\"code\":\"v\",\"name\":{\"en\":\"V again\"}}]},"
		     "{\"code\":\"f\",\"name\":{\"en\":\"F\"},\"type\":\"enum\","
		     "\"values\":[{\"code\":\"v\",\"name\":{\"en\":\"V\"}}]},"
		     "{\"code\":\"t\",\"name\":{\"en\":\"T\"},\"type\":\"color\"}],"
		     "\"options\":[\"e\",\"f\",\"zz\",\"f\"]}",
		     &doc, &p),
	    SOUK_EINVAL);
	/* the table's own errors come first and stop the cross-field checks */
	static const char *const shape[] = {"attributes/6/type"};
	expect_errors(&p, shape, 1);

	assert_int_equal(
	    validate(&product_type_kind,
		     "{\"code\":\"bad\",\"name\":{\"en\":\"Bad\"},\"attributes\":["
		     "{\"code\":\"a\",\"name\":{\"en\":\"A\"},\"type\":\"enum\"},"
		     "{\"code\":\"a\",\"name\":{\"en\":\"A2\"},\"type\":\"text\",\"unit\":\"kg\","
		     "\"values\":[{\"code\":\"x\",\"name\":{\"en\":\"X\"}}]},"
		     "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"type\":\"reference\"},"
		     "{\"code\":\"r2\",\"name\":{\"en\":\"R2\"},\"type\":\"reference\",\"ref\":\"planet\"},"
		     "{\"code\":\"e\",\"name\":{\"en\":\"E\"},\"type\":\"multi_enum\",\"variant\":true,"
		     "\"ref\":\"product\",\"values\":[{\"code\":\"v\",\"name\":{\"en\":\"V\"}},"
		     "{\"code\":\"v\",\"name\":{\"en\":\"V again\"}}]},"
		     "{\"code\":\"f\",\"name\":{\"en\":\"F\"},\"type\":\"enum\","
		     "\"values\":[{\"code\":\"v\",\"name\":{\"en\":\"V\"}}]}],"
		     "\"options\":[\"e\",\"f\",\"zz\",\"f\"]}",
		     &doc, &p),
	    SOUK_EINVAL);
	static const char *const rules[] = {
	    "attributes/0/values",   /* enum without values */
	    "attributes/1/code",     /* a second "a" */
	    "attributes/1/values",   /* values on text */
	    "attributes/1/unit",     /* unit on text */
	    "attributes/2/ref",      /* reference without a kind */
	    "attributes/3/ref",      /* no such kind */
	    "attributes/4/ref",      /* ref on a multi_enum */
	    "attributes/4/values/1/code", /* value code twice */
	    "options/0",             /* multi_enum is no variant axis */
	    "options/1",             /* not marked variant */
	    "options/2",             /* no such attribute */
	    "options/3",             /* twice (and not variant) */
	};
	expect_errors(&p, rules, sizeof(rules) / sizeof(rules[0]));
}

/* A product's and a variant's values against the type: each wrong type,
 * unknown value or code, bad date and missing required attribute is named
 * by its path; numbers are taken as given, integers and decimals. */
static void test_product_type_values_checked_per_attribute(void **state)
{
	(void)state;
	problem_t p;
	json_t *type;
	assert_int_equal(validate(&product_type_kind, SHIRT, &type, &p), 0);

	json_t *good = load("{\"material\":\"cotton\",\"weight\":180.5,\"organic\":true,"
			    "\"fit\":\"slim\",\"care\":[\"wash30\",\"dry\"],\"released\":\"2024-02-29\","
			    "\"brand\":\"0123456789abcdef0123456789abcdef\"}");
	problem_init(&p);
	assert_int_equal(product_type_check_values(type, good, false, "attributes", &p), 0);
	assert_int_equal(p.nerrors, 0);
	json_object_set_new(good, "weight", json_integer(180)); /* an integer is a number too */
	assert_int_equal(product_type_check_values(type, good, false, "attributes", &p), 0);
	json_decref(good);

	json_t *bad = load("{\"weight\":\"heavy\",\"organic\":\"yes\",\"fit\":\"baggy\","
			   "\"care\":[\"wash30\",\"bleach\"],\"released\":\"2023-02-29\","
			   "\"brand\":\"0123456789ABCDEF0123456789ABCDEF\",\"colour\":\"red\","
			   "\"shoe_size\":42}");
	problem_init(&p);
	assert_int_equal(product_type_check_values(type, bad, false, "attributes", &p), SOUK_EINVAL);
	static const char *const product_level[] = {
	    "attributes/weight",   "attributes/organic", "attributes/fit",
	    "attributes/care",     "attributes/released", "attributes/brand",
	    "attributes/colour",   /* a variant attribute on the product */
	    "attributes/shoe_size", /* not in the type */
	    "attributes/material", /* required, missing */
	};
	expect_errors(&p, product_level, sizeof(product_level) / sizeof(product_level[0]));
	json_decref(bad);

	/* multi_enum: a list, each value known and once */
	static const char *const multi[] = {"\"wash30\"", "[\"iron\",\"iron\"]", "[1]", "{}"};
	for (size_t i = 0; i < sizeof(multi) / sizeof(multi[0]); i++) {
		char text[96];
		snprintf(text, sizeof(text), "{\"material\":\"x\",\"care\":%s}", multi[i]);
		json_t *a = load(text);
		problem_init(&p);
		assert_int_equal(product_type_check_values(type, a, false, "attributes", &p),
				 SOUK_EINVAL);
		static const char *const care[] = {"attributes/care"};
		expect_errors(&p, care, 1);
		json_decref(a);
	}

	/* a variant: its own level's attributes, every option required */
	json_t *v = load("{\"size\":\"m\",\"gtin\":\"4006381333931\"}");
	problem_init(&p);
	assert_int_equal(product_type_check_values(type, v, true, "variants/2/attributes", &p),
			 SOUK_EINVAL);
	static const char *const variant[] = {"variants/2/attributes/colour"};
	expect_errors(&p, variant, 1);
	json_object_set_new(v, "colour", json_string("red"));
	json_object_set_new(v, "material", json_string("silk"));
	problem_init(&p);
	assert_int_equal(product_type_check_values(type, v, true, "variants/2/attributes", &p),
			 SOUK_EINVAL);
	static const char *const level[] = {"variants/2/attributes/material"};
	expect_errors(&p, level, 1);
	json_object_del(v, "material");
	json_object_set_new(v, "size", json_string("xl"));
	problem_init(&p);
	assert_int_equal(product_type_check_values(type, v, true, "variants/2/attributes", &p),
			 SOUK_EINVAL);
	static const char *const size[] = {"variants/2/attributes/size"};
	expect_errors(&p, size, 1);
	json_object_set_new(v, "size", json_string("s"));
	problem_init(&p);
	assert_int_equal(product_type_check_values(type, v, true, "variants/2/attributes", &p), 0);
	json_decref(v);

	/* no attributes at all: only the required ones are missed */
	problem_init(&p);
	assert_int_equal(product_type_check_values(type, NULL, false, "attributes", &p),
			 SOUK_EINVAL);
	static const char *const none[] = {"attributes/material"};
	expect_errors(&p, none, 1);
	json_decref(type);
}

static void test_product_type_dates_are_calendar_days(void **state)
{
	(void)state;
	static const char *const good[] = {"2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31",
					   "2023-04-30"};
	static const char *const bad[] = {"2023-02-29", "1900-02-29", "0000-01-01", "2023-04-31",
					  "2023-13-01", "2023-00-10", "2023-1-01", "2023-01-01T00",
					  "20230101", "2023/01/01", "", "2023-01-0a"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(product_type_date_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (product_type_date_valid(bad[i], strlen(bad[i])))
			fail_msg("'%s' taken for a date", bad[i]);
}

/* ---- the category tree ---- */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

#define GEN_MAX 120

typedef struct {
	size_t n;
	char code[GEN_MAX][16];
	int parent[GEN_MAX]; /* generated index, -1 for a root */
	int64_t rank[GEN_MAX];
	unsigned depth[GEN_MAX];
	json_t *docs[GEN_MAX]; /* in input order */
	size_t gen_of[GEN_MAX]; /* input index -> generated index */
} gen_t;

static void gen_docs(gen_t *g)
{
	size_t order[GEN_MAX];
	for (size_t i = 0; i < g->n; i++)
		order[i] = i;
	for (size_t i = g->n; i > 1; i--) {
		size_t j = rnd((uint32_t)i), t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	for (size_t k = 0; k < g->n; k++) {
		size_t i = order[k];
		json_t *d = json_pack("{sss{ss}sI}", "code", g->code[i], "name", "en", g->code[i],
				      "rank", (json_int_t)g->rank[i]);
		if (g->parent[i] >= 0)
			json_object_set_new(d, "parent", json_string(g->code[g->parent[i]]));
		g->docs[k] = d;
		g->gen_of[k] = i;
	}
}

static void gen_free(gen_t *g)
{
	for (size_t k = 0; k < g->n; k++)
		json_decref(g->docs[k]);
}

/* A random forest: parents among the categories made before (so no
 * cycles), often a chain so that some trees reach the depth bound, codes
 * in another order than the making, ranks with ties. */
static void gen_tree(gen_t *g)
{
	unsigned perm[GEN_MAX];
	g->n = 1 + rnd(GEN_MAX);
	for (size_t i = 0; i < g->n; i++)
		perm[i] = (unsigned)i;
	for (size_t i = g->n; i > 1; i--) {
		size_t j = rnd((uint32_t)i);
		unsigned t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	bool chainy = rnd(4) == 0;
	for (size_t i = 0; i < g->n; i++) {
		snprintf(g->code[i], sizeof(g->code[i]), "c%03u", perm[i]);
		g->rank[i] = rnd(4);
		g->parent[i] = -1;
		if (i > 0 && rnd(6) != 0) {
			int p = chainy ? (int)i - 1 : (int)rnd((uint32_t)i);
			while (p >= 0 && g->depth[p] + 1 >= CATEGORY_DEPTH_MAX)
				p = g->parent[p];
			g->parent[i] = p;
		}
		g->depth[i] = g->parent[i] < 0 ? 0 : g->depth[g->parent[i]] + 1;
	}
	gen_docs(g);
}

static uint32_t node_of(const category_tree_t *t, const gen_t *g, size_t gi)
{
	return category_tree_find(t, g->code[gi], strlen(g->code[gi]));
}

/* Everything about one built tree that can be known from the generator. */
static void check_tree(const category_tree_t *t, const gen_t *g)
{
	uint32_t path[CATEGORY_DEPTH_MAX], kids[GEN_MAX];
	bool seen[GEN_MAX] = {false};
	assert_int_equal(t->n, g->n);
	for (uint32_t i = 0; i < t->n; i++) {
		const category_node_t *c = category_tree_node(t, i);
		size_t gi = g->gen_of[c->doc];
		assert_string_equal(c->code, g->code[gi]);
		assert_int_equal(c->depth, g->depth[gi]);
		assert_int_equal(c->parent, g->parent[gi] < 0 ? CATEGORY_NONE
							      : node_of(t, g, (size_t)g->parent[gi]));
		assert_true(c->pre < t->n);
		assert_false(seen[c->pre]);
		seen[c->pre] = true;
		assert_int_equal(t->by_pre[c->pre], i);
		size_t len = category_tree_path(t, i, path);
		assert_int_equal(len, c->depth + 1);
		assert_int_equal(path[len - 1], i);
		assert_true(path[0] < t->n && t->nodes[path[0]].parent == CATEGORY_NONE);
	}
	/* a descendant range holds exactly the nodes whose path passes
	 * through its category; would_cycle agrees; heights are the deepest
	 * descendant's distance */
	for (uint32_t a = 0; a < t->n; a++) {
		category_range_t r = category_tree_range(t, a);
		uint32_t height = 0, members = 0;
		for (uint32_t c = 0; c < t->n; c++) {
			size_t len = category_tree_path(t, c, path);
			bool below = false;
			for (size_t k = 0; k < len; k++)
				below |= path[k] == a;
			if (category_range_has(r, t->nodes[c].pre) != below)
				fail_msg("%s in range of %s: %d, on its path: %d", t->nodes[c].code,
					 t->nodes[a].code, !below, below);
			assert_int_equal(category_would_cycle(t, t->nodes[a].code, t->nodes[c].code),
					 below);
			if (below) {
				members++;
				if (t->nodes[c].depth - t->nodes[a].depth > height)
					height = t->nodes[c].depth - t->nodes[a].depth;
			}
		}
		assert_int_equal(members, t->nodes[a].size);
		assert_int_equal(height, t->nodes[a].height);
	}
	/* children: the node's own, in (rank, code) order; roots likewise */
	size_t total = 0;
	for (uint32_t i = 0; i <= t->n; i++) {
		uint32_t of = i == t->n ? CATEGORY_NONE : i;
		size_t n = category_tree_children(t, of, kids, GEN_MAX);
		total += n;
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(t->nodes[kids[k]].parent, of);
			if (k == 0)
				continue;
			const category_node_t *x = &t->nodes[kids[k - 1]], *y = &t->nodes[kids[k]];
			assert_true(x->rank < y->rank ||
				    (x->rank == y->rank && strcmp(x->code, y->code) < 0));
			/* siblings' subtrees follow each other in pre-order */
			assert_int_equal(x->pre + x->size, y->pre);
		}
	}
	assert_int_equal(total, t->n);
}

/* A few hundred random trees: ranges, paths, order, heights, and the move
 * check against brute force; a cycle made in each is refused by name. */
static void test_category_tree_random_trees(void **state)
{
	(void)state;
	char why[200];
	rng_state = 0x5eed15c47e9ULL;
	for (int round = 0; round < 300; round++) {
		gen_t g;
		category_tree_t *t = NULL;
		gen_tree(&g);
		int rc = category_tree_build((const json_t *const *)g.docs, g.n, &t, why, sizeof(why));
		if (rc != 0)
			fail_msg("round %d: %s", round, why);
		assert_int_equal(t->magic, CATEGORY_TREE_MAGIC);
		check_tree(t, &g);

		/* moves: a cycle iff the new parent is in the subtree, too deep
		 * iff the subtree would pass the bound, else fine */
		for (int k = 0; k < 20; k++) {
			uint32_t a = rnd((uint32_t)t->n), p = rnd((uint32_t)t->n);
			const category_node_t *na = &t->nodes[a], *np = &t->nodes[p];
			int want = category_range_has(category_tree_range(t, a), np->pre) ? SOUK_EINVAL
			     : np->depth + 1 + na->height >= CATEGORY_DEPTH_MAX	   ? SOUK_ETOOBIG
												   : 0;
			assert_int_equal(category_tree_move_check(t, na->code, np->code, why,
								  sizeof(why)),
					 want);
		}
		category_tree_free(&t);
		assert_null(t);

		/* make a node's ancestor (or itself) its child: a cycle */
		size_t x = rnd((uint32_t)g.n), a = x;
		for (unsigned up = rnd(4); up > 0 && g.parent[a] >= 0; up--)
			a = (size_t)g.parent[a];
		for (size_t k = 0; k < g.n; k++)
			if (g.gen_of[k] == a)
				json_object_set_new(g.docs[k], "parent", json_string(g.code[x]));
		rc = category_tree_build((const json_t *const *)g.docs, g.n, &t, why, sizeof(why));
		assert_int_equal(rc, SOUK_EINVAL);
		assert_null(t);
		assert_non_null(strstr(why, "is its own ancestor"));
		gen_free(&g);
	}
}

static json_t *cat(const char *code, const char *parent, int rank, const char *names)
{
	char text[256];
	snprintf(text, sizeof(text), "{\"code\":\"%s\",\"rank\":%d,\"name\":%s}", code, rank, names);
	json_t *d = load(text);
	if (parent != NULL)
		json_object_set_new(d, "parent", json_string(parent));
	return d;
}

/* What a storefront shows: paths and breadcrumbs in the asked locale with
 * fallbacks; and the refusals, each naming the category. */
static void test_category_tree_breadcrumbs_and_refusals(void **state)
{
	(void)state;
	char why[200];
	const char *names[CATEGORY_DEPTH_MAX], *served[CATEGORY_DEPTH_MAX];
	json_t *docs[4] = {
	    cat("tools", "garden", 0, "{\"de\":\"Werkzeuge\",\"fr\":\"Outils\"}"),
	    cat("home", NULL, 5, "{\"en\":\"Home\",\"de\":\"Zuhause\"}"),
	    cat("garden", "home", 0, "{\"en\":\"Garden\"}"),
	    cat("away", NULL, 5, "{}"),
	};
	category_tree_t *t;
	assert_int_equal(category_tree_build((const json_t *const *)docs, 4, &t, why, sizeof(why)),
			 0);
	uint32_t tools = category_tree_find(t, "toolsXYZ", 5);
	assert_int_equal(tools, category_tree_find(t, "tools", 5));
	assert_int_equal(category_tree_find(t, "tool", 4), CATEGORY_NONE);
	assert_int_equal(t->nodes[tools].doc, 0);
	const char *de_en[] = {"de", "en"};
	size_t n = category_tree_breadcrumbs(t, tools, de_en, 2, names, served);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "Zuhause");
	assert_string_equal(served[0], "de");
	assert_string_equal(names[1], "Garden");
	assert_string_equal(served[1], "en");
	assert_string_equal(names[2], "Werkzeuge");
	const char *fr[] = {"fr"};
	n = category_tree_breadcrumbs(t, tools, fr, 1, names, NULL);
	assert_string_equal(names[0], "Home"); /* its first locale */
	assert_string_equal(names[2], "Outils");
	const char *served_one;
	assert_string_equal(category_tree_name(t, category_tree_find(t, "away", 4), fr, 1,
					       &served_one),
			    "away");
	assert_null(served_one);
	/* roots in (rank, code) order: away before home at equal rank */
	uint32_t roots[4];
	assert_int_equal(category_tree_children(t, CATEGORY_NONE, roots, 4), 2);
	assert_string_equal(t->nodes[roots[0]].code, "away");
	assert_string_equal(t->nodes[roots[1]].code, "home");
	/* moves */
	assert_int_equal(category_tree_move_check(t, "home", "tools", why, sizeof(why)),
			 SOUK_EINVAL);
	assert_non_null(strstr(why, "'tools'"));
	assert_int_equal(category_tree_move_check(t, "home", "home", why, sizeof(why)), SOUK_EINVAL);
	assert_int_equal(category_tree_move_check(t, "home", "attic", why, sizeof(why)),
			 SOUK_ENOENT);
	assert_int_equal(category_tree_move_check(t, "new", "new", why, sizeof(why)), SOUK_EINVAL);
	assert_int_equal(category_tree_move_check(t, "new", "tools", why, sizeof(why)), 0);
	assert_int_equal(category_tree_move_check(t, "home", "away", why, sizeof(why)), 0);
	assert_int_equal(category_tree_move_check(t, "home", NULL, why, sizeof(why)), 0);
	assert_false(category_would_cycle(t, "home", NULL));
	assert_true(category_would_cycle(t, "garden", "tools"));
	assert_false(category_would_cycle(t, "tools", "garden"));
	category_tree_free(&t);

	json_object_set_new(docs[2], "parent", json_string("attic"));
	assert_int_equal(category_tree_build((const json_t *const *)docs, 4, &t, why, sizeof(why)),
			 SOUK_ENOENT);
	assert_string_equal(why, "category 'garden': its parent 'attic' is not a category");
	json_object_set_new(docs[2], "code", json_string("tools"));
	assert_int_equal(category_tree_build((const json_t *const *)docs, 4, &t, why, sizeof(why)),
			 SOUK_EEXIST);
	assert_non_null(strstr(why, "'tools'"));
	json_object_del(docs[2], "code");
	assert_int_equal(category_tree_build((const json_t *const *)docs, 4, &t, why, sizeof(why)),
			 SOUK_EINVAL);
	for (size_t i = 0; i < 4; i++)
		json_decref(docs[i]);
	assert_int_equal(category_tree_build(NULL, 0, &t, why, sizeof(why)), 0);
	assert_int_equal(t->first_root, CATEGORY_NONE);
	assert_int_equal(category_tree_children(t, CATEGORY_NONE, roots, 4), 0);
	category_tree_free(&t);

	/* a chain of CATEGORY_DEPTH_MAX levels is a tree, one more is not */
	json_t *chain[CATEGORY_DEPTH_MAX + 1];
	for (int i = 0; i <= CATEGORY_DEPTH_MAX; i++) {
		char code[16], parent[16];
		snprintf(code, sizeof(code), "l%02d", i);
		snprintf(parent, sizeof(parent), "l%02d", i - 1);
		chain[i] = cat(code, i ? parent : NULL, 0, "{}");
	}
	assert_int_equal(category_tree_build((const json_t *const *)chain, CATEGORY_DEPTH_MAX, &t,
					     why, sizeof(why)),
			 0);
	assert_int_equal(category_tree_move_check(t, "x", "l15", why, sizeof(why)), SOUK_ETOOBIG);
	assert_int_equal(category_tree_move_check(t, "x", "l14", why, sizeof(why)), 0);
	assert_int_equal(category_tree_move_check(t, "l14", "l00", why, sizeof(why)), 0);
	assert_int_equal(category_tree_move_check(t, "l01", "l02", why, sizeof(why)), SOUK_EINVAL);
	category_tree_free(&t);
	assert_int_equal(category_tree_build((const json_t *const *)chain, CATEGORY_DEPTH_MAX + 1,
					     &t, why, sizeof(why)),
			 SOUK_ETOOBIG);
	assert_non_null(strstr(why, "'l16'"));
	for (int i = 0; i <= CATEGORY_DEPTH_MAX; i++)
		json_decref(chain[i]);
}

/* The category kind: slugs per locale, a parent other than itself, rank
 * bounds, defaults. */
static void test_category_kind_rules(void **state)
{
	(void)state;
	problem_t p;
	json_t *doc;
	assert_int_equal(validate(&category_kind,
				  "{\"code\":\"garden\",\"name\":{\"en\":\"Garden\"},"
				  "\"slug\":{\"en\":\"garden-and-tools\"},\"parent\":\"home\"}",
				  &doc, &p),
			 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "rank")), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "active");
	json_decref(doc);
	assert_int_equal(validate(&category_kind,
				  "{\"code\":\"garden\",\"name\":{\"en\":\"Garden\"},"
				  "\"slug\":{\"en\":\"Garden\",\"de\":\"-garten\",\"fr\":\"jardin\"},"
				  "\"parent\":\"garden\"}",
				  &doc, &p),
			 SOUK_EINVAL);
	static const char *const errs[] = {"slug/en", "slug/de", "parent"};
	expect_errors(&p, errs, 3);
	assert_int_equal(validate(&category_kind,
				  "{\"code\":\"g\",\"name\":{\"en\":\"G\"},\"rank\":1000001}", &doc,
				  &p),
			 SOUK_EINVAL);
	static const char *const rank[] = {"rank"};
	expect_errors(&p, rank, 1);
	assert_true(category_slug_valid("a-1", 3));
	assert_false(category_slug_valid("a_1", 3));
	assert_false(category_slug_valid("", 0));
}

/* ---- collections ---- */

static void test_collection_kind_rules(void **state)
{
	(void)state;
	problem_t p;
	json_t *doc;
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"summer\",\"name\":{\"en\":\"Summer\"},\"kind\":\"manual\","
				  "\"products\":[\"00000000000000000000000000000001\","
				  "\"00000000000000000000000000000002\"]}",
				  &doc, &p),
			 0);
	json_decref(doc);
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"summer\",\"name\":{\"en\":\"Summer\"},\"kind\":\"manual\","
				  "\"products\":[\"00000000000000000000000000000001\","
				  "\"00000000000000000000000000000002\","
				  "\"00000000000000000000000000000001\"],\"rule\":{\"category\":\"x\"}}",
				  &doc, &p),
			 SOUK_EINVAL);
	static const char *const manual[] = {"products/2", "rule"};
	expect_errors(&p, manual, 2);
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"kind\":\"rule\","
				  "\"products\":[]}",
				  &doc, &p),
			 SOUK_EINVAL);
	static const char *const rule_missing[] = {"products", "rule"};
	expect_errors(&p, rule_missing, 2);
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"kind\":\"rule\","
				  "\"rule\":{\"price_min\":500,\"price_max\":100}}",
				  &doc, &p),
			 SOUK_EINVAL);
	static const char *const price[] = {"rule/price_min", "rule/currency"};
	expect_errors(&p, price, 2);
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"kind\":\"rule\","
				  "\"rule\":{\"currency\":\"XQQ\",\"price_max\":100}}",
				  &doc, &p),
			 SOUK_EINVAL);
	static const char *const cur[] = {"rule/currency"};
	expect_errors(&p, cur, 1);
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"kind\":\"rule\","
				  "\"rule\":{\"descendants\":false}}",
				  &doc, &p),
			 SOUK_EINVAL);
	static const char *const empty[] = {"rule"};
	expect_errors(&p, empty, 1);
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"kind\":\"rule\","
				  "\"rule\":{\"currency\":\"GBP\"}}",
				  &doc, &p),
			 SOUK_EINVAL);
	static const char *const lone[] = {"rule", "rule/currency"};
	expect_errors(&p, lone, 2);
}

/* A rule against products' facts: the category with or without its
 * descendants by one range, attribute values (one of a list, inside a
 * multi-enum, numbers as given), a price range in its own currency. */
static void test_collection_rule_match(void **state)
{
	(void)state;
	char why[200];
	problem_t p;
	json_t *docs[3] = {cat("home", NULL, 0, "{}"), cat("garden", "home", 0, "{}"),
			   cat("kitchen", NULL, 0, "{}")};
	category_tree_t *t;
	assert_int_equal(category_tree_build((const json_t *const *)docs, 3, &t, why, sizeof(why)),
			 0);
	uint32_t home = t->nodes[category_tree_find(t, "home", 4)].pre;
	uint32_t garden = t->nodes[category_tree_find(t, "garden", 6)].pre;
	uint32_t kitchen = t->nodes[category_tree_find(t, "kitchen", 7)].pre;

	json_t *doc;
	assert_int_equal(validate(&collection_kind,
				  "{\"code\":\"r\",\"name\":{\"en\":\"R\"},\"kind\":\"rule\","
				  "\"rule\":{\"category\":\"home\",\"attributes\":{\"colour\":"
				  "[\"red\",\"blue\"],\"care\":\"iron\",\"weight\":2},"
				  "\"price_min\":1000,\"price_max\":2000,\"currency\":\"GBP\"}}",
				  &doc, &p),
			 0);
	collection_rule_t r;
	assert_int_equal(collection_rule_compile(json_object_get(doc, "rule"), t, &r, why,
						 sizeof(why)),
			 0);
	json_t *attrs = load("{\"colour\":\"blue\",\"care\":[\"wash30\",\"iron\"],\"weight\":2}");
	collection_facts_t f = {.category_pre = garden, .attributes = attrs, .currency = "GBP",
				.price = 1500};
	assert_true(collection_rule_match(&r, &f));
	f.category_pre = home;
	assert_true(collection_rule_match(&r, &f));
	f.category_pre = kitchen;
	assert_false(collection_rule_match(&r, &f));
	f.category_pre = CATEGORY_NONE;
	assert_false(collection_rule_match(&r, &f));
	f.category_pre = garden;
	f.price = 2000;
	assert_true(collection_rule_match(&r, &f)); /* bounds are inclusive */
	f.price = 2001;
	assert_false(collection_rule_match(&r, &f));
	f.price = 999;
	assert_false(collection_rule_match(&r, &f));
	f.price = 1500;
	f.currency = "EUR";
	assert_false(collection_rule_match(&r, &f));
	f.currency = NULL;
	assert_false(collection_rule_match(&r, &f));
	f.currency = "GBP";
	json_object_set_new(attrs, "colour", json_string("green"));
	assert_false(collection_rule_match(&r, &f));
	json_object_set_new(attrs, "colour", json_string("red"));
	assert_true(collection_rule_match(&r, &f));
	json_object_set_new(attrs, "weight", json_real(2.0)); /* as given: 2.0 is not 2 */
	assert_false(collection_rule_match(&r, &f));
	json_object_set_new(attrs, "weight", json_integer(2));
	json_object_del(attrs, "care");
	assert_false(collection_rule_match(&r, &f));
	json_decref(attrs);
	json_decref(doc);

	/* without descendants: the category alone */
	json_t *rule = load("{\"category\":\"home\",\"descendants\":false}");
	assert_int_equal(collection_rule_compile(rule, t, &r, why, sizeof(why)), 0);
	f = (collection_facts_t){.category_pre = home};
	assert_true(collection_rule_match(&r, &f));
	f.category_pre = garden;
	assert_false(collection_rule_match(&r, &f));
	json_decref(rule);
	/* a category the tree does not have matches nothing */
	rule = load("{\"category\":\"attic\"}");
	assert_int_equal(collection_rule_compile(rule, t, &r, why, sizeof(why)), SOUK_ENOENT);
	assert_non_null(strstr(why, "'attic'"));
	f.category_pre = home;
	assert_false(collection_rule_match(&r, &f));
	json_decref(rule);
	assert_int_equal(collection_rule_compile(NULL, t, &r, why, sizeof(why)), SOUK_EINVAL);
	assert_false(collection_rule_match(&r, &f));

	assert_true(collection_value_equal(json_true(), json_true()));
	assert_false(collection_value_equal(json_true(), json_false()));
	category_tree_free(&t);
	for (size_t i = 0; i < 3; i++)
		json_decref(docs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_product_type_rules_between_fields),
	    cmocka_unit_test(test_product_type_values_checked_per_attribute),
	    cmocka_unit_test(test_product_type_dates_are_calendar_days),
	    cmocka_unit_test(test_category_tree_random_trees),
	    cmocka_unit_test(test_category_tree_breadcrumbs_and_refusals),
	    cmocka_unit_test(test_category_kind_rules),
	    cmocka_unit_test(test_collection_kind_rules),
	    cmocka_unit_test(test_collection_rule_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
