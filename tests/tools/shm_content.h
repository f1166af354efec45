/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * tests/tools/shm_content.h - self-checking image content for the shm tests.
 *
 * Section "t.meta" holds {generation, nrec}; "t.rec" holds nrec 64-byte
 * records, each embedding the generation, its index, payload derived from
 * both and a checksum of the rest, so a torn, mixed or stale read shows up
 * as a record that does not verify; "t.idx" is a hash index "k<i>" -> record
 * offset. The record count varies with the generation so sizes change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "shm/shm.h"

typedef struct {
	uint64_t gen;
	uint64_t idx;
	uint64_t payload[5];
	uint64_t csum;
} shm_test_rec_t;

static inline uint64_t shm_test_mix(uint64_t gen, uint64_t idx, uint64_t k)
{
	uint64_t x = gen * 0x9e3779b97f4a7c15ull ^ (idx + 1) * 0xc2b2ae3d27d4eb4full ^ k;
	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ull;
}

static inline uint64_t shm_test_nrec(uint64_t gen)
{
	return 64 + (gen * 7919) % 512;
}

static inline void shm_test_rec_fill(shm_test_rec_t *r, uint64_t gen, uint64_t idx)
{
	r->gen = gen;
	r->idx = idx;
	for (int k = 0; k < 5; k++)
		r->payload[k] = shm_test_mix(gen, idx, (uint64_t)k);
	r->csum = shm_hash64(r, offsetof(shm_test_rec_t, csum), 7);
}

static inline int shm_test_key(uint64_t i, char *buf)
{
	return snprintf(buf, 24, "k%llu", (unsigned long long)i);
}

/* Fill a builder with the test content of its generation; 0 or error. */
static inline int shm_test_build(shm_builder_t *b)
{
	uint64_t gen = shm_builder_generation(b), n = shm_test_nrec(gen), meta[2] = {gen, n};
	shm_hidx_entry_t *e = NULL;
	shm_test_rec_t *rec;
	char *keys = NULL;
	void *idx;
	size_t klen = 0;
	int rc;

	rc = shm_builder_add(b, "t.meta", 8, meta, sizeof(meta));
	if (rc == 0)
		rc = shm_builder_reserve(b, "t.rec", 64, n * sizeof(*rec), (void **)&rec);
	if (rc != 0)
		return rc;
	for (uint64_t i = 0; i < n; i++)
		shm_test_rec_fill(&rec[i], gen, i);
	e = calloc(n, sizeof(*e));
	keys = calloc(n, 24);
	if (e == NULL || keys == NULL) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		int l = shm_test_key(i, keys + i * 24);
		e[i].key = keys + i * 24;
		e[i].key_len = (uint32_t)l;
		e[i].value = i * sizeof(*rec);
		klen += (size_t)l;
	}
	rc = shm_builder_reserve(b, "t.idx", 8, shm_hidx_size(n, klen), &idx);
	if (rc == 0)
		rc = shm_hidx_build(e, n, idx, shm_hidx_size(n, klen));
out:
	free(e);
	free(keys);
	return rc;
}

/* Number of bad things in an image that claims generation gen (0 = good). */
static inline uint64_t shm_test_verify(const shm_image_t *img, uint64_t gen)
{
	const void *m, *r, *x;
	size_t ml, rl, xl;
	const uint64_t *meta;
	const shm_test_rec_t *rec;
	uint64_t bad = 0, n, v;
	char key[24];

	if (shm_image_generation(img) != gen)
		return 1;
	if (shm_image_section(img, "t.meta", &m, &ml) != 0 || ml != 16 ||
	    shm_image_section(img, "t.rec", &r, &rl) != 0 ||
	    shm_image_section(img, "t.idx", &x, &xl) != 0)
		return 1;
	meta = m;
	n = meta[1];
	if (meta[0] != gen || n != shm_test_nrec(gen) || rl != n * sizeof(shm_test_rec_t))
		return 1;
	rec = r;
	for (uint64_t i = 0; i < n; i++) {
		shm_test_rec_t c = rec[i]; /* one copy, then check it */
		if (c.gen != gen || c.idx != i ||
		    c.csum != shm_hash64(&c, offsetof(shm_test_rec_t, csum), 7))
			bad++;
	}
	for (uint64_t i = gen % 7; i < n; i += n / 5 + 1) {
		int l = shm_test_key(i, key);
		if (shm_hidx_lookup(x, xl, key, (uint32_t)l, &v) != 0 || v != i * sizeof(*rec))
			bad++;
	}
	if (shm_hidx_lookup(x, xl, "missing", 7, &v) != SOUK_ENOENT)
		bad++;
	return bad;
}
