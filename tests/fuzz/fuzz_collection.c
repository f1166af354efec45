/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_collection.c - the collection reads' outside input: a
 * page cursor (?cursor= of /api/v1/collections/by-code/{code}/products) and
 * the collection section as a worker binds it from an image. The first
 * byte chooses: even, the rest is a cursor (what parses must print back
 * the same, hex in lower case); odd, the rest is a section, bound and, when
 * it binds, read everywhere (names, membership of every member, resuming
 * at every position). Nothing may read outside the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "domain/catalog/collection_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cursor(const char *s, size_t n)
{
	uint32_t pos;
	store_id_t id;
	char out[COL_CURSOR_MAX];
	if (col_cursor_parse(s, n, &pos, &id) != 0)
		return;
	col_cursor_make(pos, &id, out);
	if (strlen(out) > n || col_cursor_parse(out, strlen(out), &pos, &id) != 0)
		abort();
}

static void section(const uint8_t *data, size_t size)
{
	col_view_t v;
	uint64_t *buf = malloc((size / 8 + 1) * 8);
	if (!buf)
		return;
	memcpy(buf, data, size);
	if (col_view_init_mem(buf, size, &v) == 0) {
		for (uint32_t i = 0; i < v.n; i++) {
			const col_rec_t *x = &v.recs[i];
			const char *loc;
			bool rtl;
			if (col_find(&v, col_code(&v, i), x->code_len) != i)
				abort();
			(void)col_name(&v, i, "de,fr", 5, &loc, &rtl);
			(void)col_name(&v, i, NULL, 0, &loc, &rtl);
			for (uint32_t k = 0; k < x->nmembers && k < 4096; k++) {
				const store_id_t *id = &v.members[x->members_first + k];
				uint32_t m = col_member(&v, i, id);
				if (m != COL_IMG_NONE && memcmp(v.members[m].b, id->b, 16) != 0)
					abort();
				uint32_t r = col_resume(&v, i, k, id);
				if (r > x->members_first + x->nmembers)
					abort();
			}
		}
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0)
		cursor((const char *)data + 1, size - 1);
	else
		section(data + 1, size - 1);
	return 0;
}
