/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: request body parsing and product validation (the path a
 * POST/PATCH body takes, and what `soukctl import` runs per record). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/problem.h"
#include "domain/catalog/product.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	problem_t p;
	json_t *in = NULL, *norm = NULL;
	problem_init(&p);
	if (model_parse_body((const char *)data, size, 32, &in, &p) != 0) {
		char *s = problem_render(&p, NULL);
		if (s == NULL)
			abort();
		free(s);
		return 0;
	}
	for (int partial = 0; partial <= 1; partial++) {
		problem_init(&p);
		if (product_validate(in, partial, &norm, &p) == 0) {
			/* a normalised document validates again to itself */
			json_t *again = NULL;
			problem_t p2;
			problem_init(&p2);
			if (product_validate(norm, partial, &again, &p2) != 0)
				abort();
			if (!json_equal(norm, again))
				abort();
			json_decref(again);
			json_t *merged = model_merge_patch(norm, in);
			json_decref(merged);
			json_decref(norm);
			norm = NULL;
		} else {
			if (p.status != 422 || p.nerrors == 0)
				abort();
			char *s = problem_render(&p, "/api/v1/products");
			if (s == NULL)
				abort();
			free(s);
		}
	}
	json_decref(in);
	return 0;
}
