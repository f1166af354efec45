/* SPDX-License-Identifier: Apache-2.0 */
#include "common/strtab.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

uint32_t strtab_put(strtab_t *t, const char *s, size_t n, int *err)
{
	if (*err)
		return 0;
	if (t->len + n + 1 > UINT32_MAX) {
		*err = SOUK_ETOOBIG;
		return 0;
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b) {
			*err = SOUK_ENOMEM;
			return 0;
		}
		t->buf = b;
		t->cap = cap;
	}
	uint32_t off = (uint32_t)t->len;
	if (n)
		memcpy(t->buf + t->len, s, n);
	t->buf[t->len + n] = '\0';
	t->len += n + 1;
	return off;
}

void strtab_free(strtab_t *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}
