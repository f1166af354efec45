/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_plugin_names - plugin_split_names() on arbitrary plugins.load
 * values. Every name it accepts must pass plugin_name_ok() (so none holds
 * '/' or ".." and none could walk out of plugins.dir), fit its buffer, and
 * the count must stay within the bound given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char list[2048], names[8][SOUK_PLUGIN_NAME_MAX], why[256];
	size_t n = 99;

	if (size >= sizeof(list))
		size = sizeof(list) - 1;
	memcpy(list, data, size);
	list[size] = '\0';
	if (plugin_split_names(list, names, 8, &n, why, sizeof(why)) != 0)
		return 0;
	if (n > 8)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!plugin_name_ok(names[i]) || strchr(names[i], '/') || strstr(names[i], ".."))
			abort();
	return 0;
}
