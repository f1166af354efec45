/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/strtab.h - a growing table of NUL-terminated strings addressed by
 * offset, for image sections built in soukd (offsets, never pointers).
 */
#include <stddef.h>
#include <stdint.h>

typedef struct {
	char *buf;
	size_t len, cap;
} strtab_t;

/* Append n bytes of s and a NUL: the offset of the copy. Once *err is set
 * (SOUK_ENOMEM, SOUK_ETOOBIG past 4 GiB) nothing more is added and 0 comes
 * back, so a run of puts can be checked once at its end. */
uint32_t strtab_put(strtab_t *t, const char *s, size_t n, int *err);
void strtab_free(strtab_t *t);
