#pragma once
/*
 * tests/tools/store_raw.h - the on-disk layout of store entries, for tests
 * that damage a store by editing LMDB directly (store_tamper, test_store).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The history key (kind, NUL, id, version) of the version the change-log
 * entry c names, into hk (64 bytes); returns its length. */
static inline size_t store_raw_hist_key(const uint8_t *c, uint8_t hk[64])
{
	size_t kl = (size_t)(c[2] << 8 | c[3]);
	memcpy(hk, c + 36, kl);
	hk[kl] = 0;
	memcpy(hk + kl + 1, c + 4, 16);
	memcpy(hk + kl + 17, c + 20, 8);
	return kl + 25;
}
