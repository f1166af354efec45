/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_store_checkpoint - the checkpoint text parser (read from files an
 * operator passes to `soukctl audit verify --checkpoint`).
 * A parsed checkpoint must format back to exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	store_checkpoint_t cp;
	char text[STORE_CHECKPOINT_TEXT_MAX];
	if (store_checkpoint_parse((const char *)data, size, &cp) != 0)
		return 0;
	if (store_checkpoint_format(&cp, text, sizeof(text)) != 0)
		abort();
	/* hex accepts upper case and numbers may carry leading zeros, so
	 * compare by parsing the canonical text again */
	store_checkpoint_t again;
	if (store_checkpoint_parse(text, strlen(text), &again) != 0 ||
	    memcmp(&cp, &again, sizeof(cp)) != 0)
		abort();
	return 0;
}
