/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_openapi.c - docs/openapi.yaml against the route table
 * (fcgi/routes.c), both ways: every route is documented with its method,
 * its security (none for public routes, a scheme for the others) and the
 * status codes its flags make it answer; every documented path and method
 * is a route. (tests/integration/55-openapi.sh checks the document
 * against a running server.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yaml.h>

#include "fcgi/routes.h"

#define SPEC "docs/openapi.yaml"

typedef struct {
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f;
} spec_t;

static void spec_open(spec_t *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->f = fopen(SPEC, "rb");
	assert_non_null(sp->f);
	assert_true(yaml_parser_initialize(&sp->parser));
	yaml_parser_set_input_file(&sp->parser, sp->f);
	assert_true(yaml_parser_load(&sp->parser, &sp->doc));
	assert_non_null(yaml_document_get_root_node(&sp->doc));
}

static void spec_close(spec_t *sp)
{
	yaml_document_delete(&sp->doc);
	yaml_parser_delete(&sp->parser);
	fclose(sp->f);
}

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* the value under key in mapping n, NULL when absent */
static yaml_node_t *get(yaml_document_t *d, yaml_node_t *n, const char *key)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(d, yaml_document_get_node(d, p->key));
		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static void lower(const char *in, char *out, size_t cap)
{
	size_t i = 0;
	for (; in[i] && i + 1 < cap; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
	out[i] = '\0';
}

static yaml_node_t *operation(spec_t *sp, const char *pattern, unsigned method)
{
	yaml_node_t *root = yaml_document_get_root_node(&sp->doc);
	char m[16];
	lower(route_method_name(method), m, sizeof(m));
	return get(&sp->doc, get(&sp->doc, get(&sp->doc, root, "paths"), pattern), m);
}

/* The status codes a route must document, from what it is. */
static size_t codes_of(const route_def_t *rd, const char **out)
{
	size_t n = 0;
	if (rd->perm != PERM_PUBLIC)
		out[n++] = "401", out[n++] = "403";
	if (rd->flags & ROUTE_F_IF_MATCH)
		out[n++] = "412", out[n++] = "428";
	if (rd->flags & ROUTE_F_BODY)
		out[n++] = "413", out[n++] = "422";
	if (rd->flags & ROUTE_F_CACHE)
		out[n++] = "304";
	if (strstr(rd->pattern, "{id}") || strstr(rd->pattern, "{sku}"))
		out[n++] = "404";
	return n;
}

static void test_openapi_documents_every_route(void **state)
{
	(void)state;
	spec_t sp;
	spec_open(&sp);
	unsigned bad = 0;
	for (size_t i = 0; i < route_table_len; i++) {
		const route_def_t *rd = &route_table[i];
		const char *m = route_method_name(rd->method);
		yaml_node_t *op = operation(&sp, rd->pattern, rd->method);
		if (op == NULL) {
			fprintf(stderr, "%s %s is not in " SPEC "\n", m, rd->pattern);
			bad++;
			continue;
		}
		yaml_node_t *sec = get(&sp.doc, op, "security");
		bool secured = sec && sec->type == YAML_SEQUENCE_NODE &&
			       sec->data.sequence.items.top > sec->data.sequence.items.start;
		if (secured != (rd->perm != PERM_PUBLIC)) {
			fprintf(stderr, "%s %s: the route is %s, the document says %s\n", m,
				rd->pattern,
				rd->perm == PERM_PUBLIC ? "public" : perm_name(rd->perm),
				secured ? "it needs credentials" : "it is public");
			bad++;
		}
		yaml_node_t *resp = get(&sp.doc, op, "responses");
		const char *codes[16];
		size_t nc = codes_of(rd, codes);
		for (size_t k = 0; k < nc; k++)
			if (get(&sp.doc, resp, codes[k]) == NULL) {
				fprintf(stderr, "%s %s: the document lacks status %s\n", m,
					rd->pattern, codes[k]);
				bad++;
			}
		if (rd->perm == PERM_PUBLIC &&
		    (get(&sp.doc, resp, "401") || get(&sp.doc, resp, "403"))) {
			fprintf(stderr, "%s %s: public, but the document gives 401/403\n", m,
				rd->pattern);
			bad++;
		}
	}
	spec_close(&sp);
	assert_int_equal(bad, 0);
}

static void test_openapi_documents_only_routes(void **state)
{
	(void)state;
	static const char *const methods[] = {"get",	 "put",	 "post",  "delete",
					      "options", "head", "patch", "trace"};
	spec_t sp;
	spec_open(&sp);
	yaml_node_t *paths = get(&sp.doc, yaml_document_get_root_node(&sp.doc), "paths");
	assert_non_null(paths);
	assert_int_equal(paths->type, YAML_MAPPING_NODE);
	unsigned bad = 0, ops = 0;
	for (yaml_node_pair_t *p = paths->data.mapping.pairs.start;
	     p < paths->data.mapping.pairs.top; p++) {
		const char *path = scalar(&sp.doc, yaml_document_get_node(&sp.doc, p->key));
		yaml_node_t *item = yaml_document_get_node(&sp.doc, p->value);
		assert_non_null(path);
		for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
			if (get(&sp.doc, item, methods[k]) == NULL)
				continue;
			ops++;
			bool found = false;
			for (size_t i = 0; i < route_table_len; i++) {
				char m[16];
				lower(route_method_name(route_table[i].method), m, sizeof(m));
				found |= strcmp(route_table[i].pattern, path) == 0 &&
					 strcmp(m, methods[k]) == 0;
			}
			if (!found) {
				fprintf(stderr, SPEC " documents %s %s, which is no route\n",
					methods[k], path);
				bad++;
			}
		}
	}
	spec_close(&sp);
	assert_int_equal(ops, route_table_len);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_openapi_documents_every_route),
	    cmocka_unit_test(test_openapi_documents_only_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
