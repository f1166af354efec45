/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_catalog_filter - catalog_filter_add() (domain/catalog/sections.c) on
 * the ?attr.<code>=value parameters of a list, against a small catalog built
 * once in memory whose "cat.attr" offers enum, bool and number attributes
 * (one of them under two types with different kinds).
 *
 * Input: lines "name=value" (name without "attr."), added in turn to one
 * filter set, then tested against every product. What must hold: a refusal
 * is SOUK_EINVAL with a reason, an acceptance leaves at most
 * CATALOG_FILTERS_MAX codes of at most CATALOG_FILTER_VALUES_MAX values
 * each, and matching never reads outside the image.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "domain/catalog/sections.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
	catalog_hit_t hit[2];
	bool ready;
} g;

static void setup(void)
{
	uint64_t colour = catalog_attr_code_hash("colour", 6);
	uint64_t weight = catalog_attr_code_hash("weight", 6);
	uint64_t shirt = catalog_type_hash("shirt", 5), mug = catalog_type_hash("mug", 3);
	static uint64_t vals[2];
	static catalog_num_t nums[2];
	static catalog_loc_t loc = {.locale = "en", .json = "{}", .json_len = 2};
	vals[0] = catalog_attr_value_hash(colour, "red", 3);
	vals[1] = catalog_attr_value_hash(weight, "heavy", 5);
	if (vals[0] > vals[1]) {
		uint64_t t = vals[0];
		vals[0] = vals[1];
		vals[1] = t;
	}
	nums[0] = (catalog_num_t){weight, 25000};
	nums[1] = (catalog_num_t){weight, 30000};
	catalog_product_t p = {.version = 1, .seq = 1, .sku = "A", .sku_len = 1,
			       .category = "c", .category_len = 1, .locs = &loc, .nloc = 1,
			       .type_hash = shirt, .attr_vals = vals, .nattr_vals = 2,
			       .attr_nums = nums, .nattr_nums = 2};
	catalog_product_t q = p;
	p.id.b[0] = 1;
	q.id.b[0] = 2;
	q.sku = "B";
	q.type_hash = mug;
	const catalog_product_t *arr[2] = {&p, &q};
	catalog_attr_decl_t d[] = {
	    {"colour", 6, shirt, CATALOG_ATTR_ENUM},   {"organic", 7, shirt, CATALOG_ATTR_BOOL},
	    {"weight", 6, shirt, CATALOG_ATTR_NUMBER}, {"weight", 6, mug, CATALOG_ATTR_TEXT},
	    {"w_min", 5, mug, CATALOG_ATTR_NUMBER},
	};
	void *attrs;
	size_t attrs_len;
	if (catalog_attrs_encode(d, sizeof(d) / sizeof(d[0]), &attrs, &attrs_len) != 0 ||
	    catalog_build_mem_with(arr, 2, attrs, attrs_len, 1, g.sec, g.len) != 0 ||
	    catalog_view_init_mem(g.sec, g.len, &g.v) != 0 ||
	    catalog_get_in(&g.v, NULL, &p.id, NULL, &g.hit[0]) != 0 ||
	    catalog_get_in(&g.v, NULL, &q.id, NULL, &g.hit[1]) != 0)
		abort();
	free(attrs);
	g.ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	catalog_filters_t fs = {0};
	const char *s = (const char *)data;
	size_t at = 0;
	if (!g.ready)
		setup();
	while (at < size) {
		const char *nl = memchr(s + at, '\n', size - at);
		size_t end = nl ? (size_t)(nl - s) : size;
		const char *eq = memchr(s + at, '=', end - at);
		size_t klen = (eq ? (size_t)(eq - s) : end) - at;
		const char *val = eq ? eq + 1 : s + end;
		size_t vlen = eq ? end - (size_t)(eq + 1 - s) : 0;
		const char *why = NULL;
		int rc = catalog_filter_add(&g.v, &fs, s + at, klen, val, vlen, &why);
		if (rc != 0 && (rc != SOUK_EINVAL || why == NULL))
			abort();
		if (fs.n > CATALOG_FILTERS_MAX)
			abort();
		for (uint32_t i = 0; i < fs.n; i++)
			if (fs.f[i].nvals > CATALOG_FILTER_VALUES_MAX ||
			    fs.f[i].nnums > CATALOG_FILTER_VALUES_MAX)
				abort();
		at = end + 1;
	}
	(void)catalog_filters_match(&fs, &g.hit[0]);
	(void)catalog_filters_match(&fs, &g.hit[1]);
	return 0;
}
