/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_store_index_cursor - the index page cursor parser (clients send back
 * the cursor of the previous page). A parsed cursor must be value, 0x00,
 * id[16] with no NUL inside the value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[STORE_INDEX_CURSOR_MAX + 8];
	uint8_t out[STORE_KEY_MAX + 17];
	size_t len = 0;
	if (size >= sizeof(hex))
		return 0;
	memcpy(hex, data, size);
	hex[size] = 0;
	if (store_index_cursor_parse(hex, out, sizeof(out), &len) != 0)
		return 0;
	if (len < 17 || len > sizeof(out) || out[len - 17] != 0 || memchr(out, 0, len - 17))
		abort();
	return 0;
}
